"""The demo shop: the data contract holds, and the generative story shows in the data (thresholds that can fail)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from features import columns as C
from features.data.reader import read_shop, shop_from_frames
from features.demo.shop import DemoConfig, catalogue, generate_shop, write_shop

CFG = DemoConfig(customers=4_000, seed=7)
END = pd.Timestamp(CFG.end_date) + pd.Timedelta(days=1)  # the last day of data is end_date
CONSUMABLES = ("Coffee", "Beauty", "Pet food", "Sports nutrition")


@pytest.fixture(scope="module")
def shop() -> dict[str, pd.DataFrame]:
    return generate_shop(CFG)


@pytest.fixture(scope="module")
def purchases(shop: dict[str, pd.DataFrame]) -> pd.DataFrame:
    tx = shop["transactions"]
    return tx[tx[C.QUANTITY] > 0].assign(revenue=lambda d: d[C.PRICE] * d[C.QUANTITY])


def orders_per_customer(purchases: pd.DataFrame) -> pd.Series:
    return purchases.groupby(C.CUSTOMER_ID)[C.ORDER_ID].nunique()


# --- the contract ---------------------------------------------------------------------------------------------

def test_tables_pass_the_reader_without_warnings(shop: dict[str, pd.DataFrame]) -> None:
    checked = shop_from_frames(shop)
    assert checked.warnings == []
    assert set(checked.columns) == {"transactions", "events", "customers", "items"}
    assert checked.has("transactions", C.DISCOUNT) and checked.has("events", C.SESSION_ID)


def test_columns_and_id_formats(shop: dict[str, pd.DataFrame]) -> None:
    tx, ev, cu, it = (shop[t] for t in ("transactions", "events", "customers", "items"))
    assert list(tx.columns) == [C.CUSTOMER_ID, C.ORDER_ID, C.TIMESTAMP, C.ITEM_ID, C.QUANTITY, C.PRICE, C.DISCOUNT,
                                C.CHANNEL, C.DEVICE, C.SOURCE]
    assert list(ev.columns) == [C.CUSTOMER_ID, C.TIMESTAMP, C.EVENT_TYPE, C.ITEM_ID, C.SESSION_ID]
    for frame, column, pattern in ((tx, C.CUSTOMER_ID, r"C\d{6}"), (tx, C.ORDER_ID, r"O\d{7}"),
                                   (tx, C.ITEM_ID, r"I\d{5}"), (cu, C.CUSTOMER_ID, r"C\d{6}"),
                                   (it, C.ITEM_ID, r"I\d{5}"), (ev, C.SESSION_ID, r"S\d{8}")):
        values = frame[column].dropna()
        assert pd.api.types.is_string_dtype(frame[column]), column
        assert values.str.fullmatch(pattern).all(), (column, values.head())
    assert pd.api.types.is_integer_dtype(tx[C.QUANTITY]) and (tx[C.QUANTITY] != 0).all()
    assert (tx[C.PRICE] >= 0).all() and tx[C.DISCOUNT].between(0, 1).all()
    assert set(tx[C.CHANNEL]) == {"web", "app", "marketplace"}
    assert set(tx[C.DEVICE]) == {"desktop", "mobile", "tablet"}
    assert set(tx[C.SOURCE]) == {"direct", "search", "email", "social", "ads"}
    assert 0.01 < cu[C.GENDER].isna().mean() < 0.1 and set(cu[C.GENDER].dropna()) == {"F", "M"}
    assert 0.55 < cu[C.EMAIL_OPT_IN].mean() < 0.65
    assert 0.01 < 1 - it[C.IN_STOCK].mean() < 0.06
    assert 12 <= it[C.CATEGORY].nunique() <= 20


def test_an_order_has_one_customer_and_one_timestamp(shop: dict[str, pd.DataFrame]) -> None:
    per_order = shop["transactions"].groupby(C.ORDER_ID).agg(
        customers=(C.CUSTOMER_ID, "nunique"), times=(C.TIMESTAMP, "nunique"))
    assert (per_order["customers"] == 1).all() and (per_order["times"] == 1).all()
    assert not shop["transactions"].duplicated([C.ORDER_ID, C.ITEM_ID]).any()


def test_order_ids_follow_time(shop: dict[str, pd.DataFrame]) -> None:
    first = shop["transactions"].groupby(C.ORDER_ID)[C.TIMESTAMP].first().sort_index()
    assert first.is_monotonic_increasing


def test_nothing_after_the_end_date(shop: dict[str, pd.DataFrame]) -> None:
    start = END - pd.Timedelta(days=round(CFG.years * 365.25))
    for name in ("transactions", "events"):
        assert shop[name][C.TIMESTAMP].max() < END, name
        assert shop[name][C.TIMESTAMP].min() >= start, name
    assert shop["customers"][C.SIGNUP_DATE].max() < END
    assert (shop["customers"][C.BIRTH_DATE] < END - pd.DateOffset(years=18)).all()


def test_every_reference_exists(shop: dict[str, pd.DataFrame]) -> None:
    customers, items = set(shop["customers"][C.CUSTOMER_ID]), set(shop["items"][C.ITEM_ID])
    for name in ("transactions", "events"):
        assert set(shop[name][C.CUSTOMER_ID]) <= customers, name
        assert set(shop[name][C.ITEM_ID].dropna()) <= items, name


def test_event_types_and_items(shop: dict[str, pd.DataFrame]) -> None:
    ev = shop["events"]
    assert set(ev[C.EVENT_TYPE]) == set(C.EVENT_TYPES)
    about_items = ev[C.EVENT_TYPE].isin(["view", "cart_add", "cart_remove", "wishlist_add"])
    assert ev.loc[about_items, C.ITEM_ID].notna().all() and ev.loc[~about_items, C.ITEM_ID].isna().all()
    assert ev.loc[ev[C.EVENT_TYPE] == "email_open", C.SESSION_ID].isna().all()
    opted_in = set(shop["customers"].loc[shop["customers"][C.EMAIL_OPT_IN], C.CUSTOMER_ID])
    assert set(ev.loc[ev[C.EVENT_TYPE].str.startswith("email"), C.CUSTOMER_ID]) <= opted_in
    assert ev[C.TIMESTAMP].is_monotonic_increasing


def test_first_order_not_before_signup(shop: dict[str, pd.DataFrame], purchases: pd.DataFrame) -> None:
    first = purchases.groupby(C.CUSTOMER_ID)[C.TIMESTAMP].min().dt.normalize()
    signup = shop["customers"].set_index(C.CUSTOMER_ID)[C.SIGNUP_DATE]
    assert (first >= signup.reindex(first.index)).all()


def test_returns_follow_a_purchase_of_the_same_item(shop: dict[str, pd.DataFrame],
                                                    purchases: pd.DataFrame) -> None:
    tx = shop["transactions"]
    returns = tx[tx[C.QUANTITY] < 0]
    assert (returns.groupby(C.ORDER_ID)[C.QUANTITY].max() < 0).all()  # a return order holds only returns
    keys = [C.CUSTOMER_ID, C.ITEM_ID, C.PRICE]  # the same customer, item and price paid
    bought = purchases[[*keys, C.TIMESTAMP]].reset_index(drop=True)
    matched = returns.reset_index().merge(bought, on=keys, suffixes=("", "_bought"))
    matched = matched[matched[C.TIMESTAMP] - matched[f"{C.TIMESTAMP}_bought"] >= pd.Timedelta(days=3)]
    assert matched["index"].nunique() == len(returns)
    assert 0.01 < returns[C.ORDER_ID].nunique() / purchases[C.ORDER_ID].nunique() < 0.04


# --- the story ------------------------------------------------------------------------------------------------

def test_top_fifth_of_customers_bring_most_revenue(shop: dict[str, pd.DataFrame]) -> None:
    tx = shop["transactions"]
    net = (tx[C.PRICE] * tx[C.QUANTITY]).groupby(tx[C.CUSTOMER_ID]).sum().sort_values(ascending=False)
    top = net.iloc[: round(0.2 * len(net))].sum() / net.sum()
    assert 0.60 <= top <= 0.80


def test_repeat_customers_are_a_plausible_share(purchases: pd.DataFrame) -> None:
    """Between 45% and 70% of buyers order twice or more within the two years."""
    orders = orders_per_customer(purchases)
    assert 0.45 <= (orders >= 2).mean() <= 0.70
    assert 0.80 <= len(orders) / CFG.customers <= 0.95  # some sign-ups never buy


def test_discount_only_customers(purchases: pd.DataFrame) -> None:
    """Among customers with two or more purchase orders, 10-15% (+-2 points) have every purchased line discounted."""
    orders = orders_per_customer(purchases)
    repeaters = purchases[purchases[C.CUSTOMER_ID].isin(orders.index[orders >= 2])]
    always = (repeaters[C.DISCOUNT] > 0).groupby(repeaters[C.CUSTOMER_ID]).all()
    assert 0.08 <= always.mean() <= 0.17
    assert 0.10 <= (purchases[C.DISCOUNT] > 0).mean() <= 0.30  # others buy on discount only sometimes


def test_promotions_lift_orders_on_black_friday(purchases: pd.DataFrame) -> None:
    days = purchases.groupby(purchases[C.TIMESTAMP].dt.normalize())[C.ORDER_ID].nunique()
    black_friday = pd.Timestamp("2025-11-28")
    week = days.loc[black_friday - pd.Timedelta(days=3): black_friday + pd.Timedelta(days=3)].mean()
    before = days.loc[black_friday - pd.Timedelta(days=40): black_friday - pd.Timedelta(days=10)].mean()
    assert week > 1.8 * before


def test_complements_are_bought_together(shop: dict[str, pd.DataFrame], purchases: pd.DataFrame) -> None:
    catalog, _ = catalogue(CFG)
    ids = shop["items"][C.ITEM_ID].to_numpy()
    pairs = pd.DataFrame(ids[catalog.complement_pairs()], columns=["anchor", "partner"])
    basket = purchases[[C.ORDER_ID, C.ITEM_ID]]
    n_orders = basket[C.ORDER_ID].nunique()
    counts = basket[C.ITEM_ID].value_counts()
    together = basket.merge(basket, on=C.ORDER_ID).groupby([f"{C.ITEM_ID}_x", f"{C.ITEM_ID}_y"]).size()
    pairs["both"] = together.reindex(pd.MultiIndex.from_frame(pairs[["anchor", "partner"]]), fill_value=0).values
    pairs["anchor_n"] = pairs["anchor"].map(counts).fillna(0)
    pairs["partner_n"] = pairs["partner"].map(counts).fillna(0)
    seen = pairs[pairs["anchor_n"] >= 5]
    lift = seen["both"] * n_orders / (seen["anchor_n"] * seen["partner_n"])
    assert len(seen) >= 30 and lift.median() > 5
    assert 0.3 < seen["both"].sum() / seen["anchor_n"].sum() < 0.6  # about complement_rate of anchors


def test_consumables_are_bought_again_on_a_cycle(shop: dict[str, pd.DataFrame], purchases: pd.DataFrame) -> None:
    consumable = shop["items"].set_index(C.ITEM_ID)[C.CATEGORY].isin(CONSUMABLES)
    lines = purchases[purchases[C.ITEM_ID].map(consumable)].sort_values(C.TIMESTAMP)
    gaps = lines.groupby([C.CUSTOMER_ID, C.ITEM_ID])[C.TIMESTAMP].diff().dropna().dt.total_seconds() / 86_400
    low, high = CFG.cycle_days
    assert len(gaps) > 1_000 and low <= gaps.median() <= high


def test_high_spenders_buy_premium(shop: dict[str, pd.DataFrame], purchases: pd.DataFrame) -> None:
    items = shop["items"].set_index(C.ITEM_ID)
    median = items.groupby(C.CATEGORY)[C.PRICE].transform("median")
    premium = (items[C.PRICE] > 1.8 * median).reindex(purchases[C.ITEM_ID]).to_numpy()
    revenue = purchases.groupby(C.CUSTOMER_ID)["revenue"].sum()
    share = pd.Series(premium, index=purchases.index).groupby(purchases[C.CUSTOMER_ID]).mean()
    top = revenue >= revenue.quantile(0.8)
    assert share[top].mean() > 1.5 * share[revenue <= revenue.median()].mean()


def ndcg_at_10(recommended: np.ndarray, relevant: list[set[int]]) -> float:
    discounts = 1 / np.log2(np.arange(2, 12))
    scores = []
    for recs, rel in zip(recommended, relevant, strict=True):
        gain = sum(discounts[j] for j, item in enumerate(recs[:10]) if item in rel)
        scores.append(gain / discounts[: min(10, len(rel))].sum())
    return float(np.mean(scores))


def test_personal_taste_beats_popularity(shop: dict[str, pd.DataFrame], purchases: pd.DataFrame) -> None:
    """Each customer's favourite categories predict the last 90 days far better than the global bestsellers."""
    cutoff = END - pd.Timedelta(days=90)
    items = shop["items"]
    item_no = pd.Series(np.arange(len(items)), index=items[C.ITEM_ID])
    cat_no = items[C.CATEGORY].astype("category").cat.codes.to_numpy()
    train, test = purchases[purchases[C.TIMESTAMP] < cutoff], purchases[purchases[C.TIMESTAMP] >= cutoff]
    test = test[test[C.CUSTOMER_ID].isin(train[C.CUSTOMER_ID])]
    truth = test.groupby(C.CUSTOMER_ID)[C.ITEM_ID].agg(lambda s: set(item_no[s]))
    popularity = np.bincount(item_no[train[C.ITEM_ID]], minlength=len(items)).astype(float)
    mine = train[train[C.CUSTOMER_ID].isin(truth.index)]
    taste = pd.crosstab(mine[C.CUSTOMER_ID], cat_no[item_no[mine[C.ITEM_ID]]]).reindex(truth.index)
    taste = taste.reindex(columns=range(cat_no.max() + 1), fill_value=0).to_numpy(float)
    personal = np.argsort(-(taste[:, cat_no] * popularity), axis=1, kind="stable")[:, :10]
    popular = np.tile(np.argsort(-popularity, kind="stable")[:10], (len(truth), 1))
    assert len(truth) > 300
    assert ndcg_at_10(personal, list(truth)) > 1.3 * ndcg_at_10(popular, list(truth))


def test_site_events_follow_activity(shop: dict[str, pd.DataFrame], purchases: pd.DataFrame) -> None:
    """Customers who buy in the next 90 days browsed more in the 30 days before than those who do not."""
    cutoff = END - pd.Timedelta(days=90)
    ev = shop["events"]
    views = ev[(ev[C.EVENT_TYPE] == "view") & (ev[C.TIMESTAMP] < cutoff)
               & (ev[C.TIMESTAMP] >= cutoff - pd.Timedelta(days=30))].groupby(C.CUSTOMER_ID).size()
    past = purchases.loc[purchases[C.TIMESTAMP] < cutoff, C.CUSTOMER_ID].unique()
    future = set(purchases.loc[purchases[C.TIMESTAMP] >= cutoff, C.CUSTOMER_ID])
    active = pd.Series([c in future for c in past], index=past)
    per_customer = views.reindex(past, fill_value=0)
    assert per_customer[active.to_numpy()].mean() > 2 * per_customer[~active.to_numpy()].mean()


def test_items_are_viewed_and_carted_before_purchase(shop: dict[str, pd.DataFrame],
                                                     purchases: pd.DataFrame) -> None:
    ev = shop["events"]
    carts = ev[ev[C.EVENT_TYPE] == "cart_add"]
    keys = [C.CUSTOMER_ID, C.ITEM_ID]
    sample = purchases.sample(2_000, random_state=0)
    joined = sample.merge(carts[[*keys, C.TIMESTAMP]], on=keys, suffixes=("", "_cart"))
    lead = joined[C.TIMESTAMP] - joined[f"{C.TIMESTAMP}_cart"]
    found = joined[(lead >= pd.Timedelta(0)) & (lead <= pd.Timedelta(hours=1))].drop_duplicates([C.ORDER_ID,
                                                                                                  C.ITEM_ID])
    assert len(found) >= 0.99 * len(sample)
    abandoned = carts.merge(purchases[keys].drop_duplicates(), on=keys, how="left", indicator=True)
    assert (abandoned["_merge"] == "left_only").mean() > 0.05


# --- determinism, sizes, writing -------------------------------------------------------------------------------

def test_same_seed_same_shop_other_seed_other_shop() -> None:
    small = DemoConfig(customers=500, seed=3)
    one, two = generate_shop(small), generate_shop(small)
    for name in one:
        pd.testing.assert_frame_equal(one[name], two[name])
    other = generate_shop(small.model_copy(update={"seed": 4}))
    assert not one["transactions"].equals(other["transactions"])
    assert not one["customers"].equals(other["customers"])


@pytest.mark.parametrize("customers", [1, 30])
def test_tiny_shops_work(customers: int) -> None:
    tables = generate_shop(DemoConfig(customers=customers, seed=1))
    assert len(tables["customers"]) == customers and len(tables["items"]) == 200
    shop_from_frames({k: v for k, v in tables.items() if len(v)} | {"transactions": tables["transactions"]})


def test_end_date_and_years_set_the_window() -> None:
    tables = generate_shop(DemoConfig(customers=300, seed=2, end_date=date(2024, 3, 31), years=0.5))
    tx = tables["transactions"]
    assert tx[C.TIMESTAMP].max() < pd.Timestamp("2024-04-01")
    assert tx[C.TIMESTAMP].min() >= pd.Timestamp(date(2024, 4, 1) - timedelta(days=183))


def test_config_rejects_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        DemoConfig(customer=10)
    with pytest.raises(ValidationError, match="cycle_days"):
        DemoConfig(cycle_days=(40, 20))


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_write_shop_round_trips_through_the_reader(tmp_path: Path, fmt: str) -> None:
    tables = generate_shop(DemoConfig(customers=200, seed=5))
    out = tmp_path / "nested" / "demo"
    paths = write_shop(tables, out, fmt)
    assert sorted(p.name for p in paths) == sorted(f"{name}.{fmt}" for name in tables)
    assert sorted(p.name for p in out.iterdir()) == sorted(p.name for p in paths)  # no temp files left
    shop = read_shop(out)
    assert shop.warnings == []
    back = shop.to_pandas("transactions")
    assert len(back) == len(tables["transactions"])
    assert set(back[C.ORDER_ID]) == set(tables["transactions"][C.ORDER_ID])


def test_write_shop_rejects_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="format"):
        write_shop({}, tmp_path, "xlsx")  # type: ignore[arg-type]
