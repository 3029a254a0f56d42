"""Each recommender source and the blend on a tiny hand-made shop whose right answers are known."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.recommender import (
    ALSConfig,
    ALSRecommender,
    Blend,
    BlendConfig,
    BlendWeights,
    BuyAgainConfig,
    BuyAgainRecommender,
    CoPurchaseRecommender,
    EASERecommender,
    PopularRecommender,
    UpsellRecommender,
    build_interactions,
    recommend_batch,
    recommend_one,
)

AS_OF = pd.Timestamp("2024-06-01")
ITEMS = pd.DataFrame({
    "item_id": ["PHONE", "CASE", "CHARGER", "SHOE", "SHOE_PLUS", "SHOE_LUX", "SOCKS", "BEANS", "GONE",
                "BOOK1", "BOOK2", "BOOK3", "BOOK4", "CHEAP_SHOE"],
    "category": ["Electronics", "Accessories", "Accessories", "Shoes", "Shoes", "Shoes", "Running", "Coffee",
                 "Books", "Books", "Books", "Books", "Books", "Shoes"],
    "price": [500, 20, 25, 60, 110, 400, 5, 10, 15, 15, 12, 14, 16, 30],
    "in_stock": [True] * 8 + [False] + [True] * 5,
})


def tiny_shop() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Phones come with cases, shoes with socks, coffee is rebought every 30 days, books and GONE are popular."""
    rows, events = [], []

    def order(customer: str, days_ago: float, *items: str) -> None:
        oid = f"O{len(rows):05d}"
        for item in items:
            rows.append((customer, oid, AS_OF - pd.Timedelta(days=days_ago), item, 1))

    for i in range(30):
        order(f"PH{i:02d}", 60 - i, "PHONE", "CASE", *(["CHARGER"] if i % 2 else []))
    for i in range(20):
        order(f"SH{i:02d}", 50 - i, "SHOE", "SOCKS")
        events.append((f"SH{i:02d}", AS_OF - pd.Timedelta(days=50 - i, hours=1), "view", "SHOE_PLUS", f"S{i}"))
        events.append((f"SH{i:02d}", AS_OF - pd.Timedelta(days=50 - i, hours=1), "view", "SHOE", f"S{i}"))
    for i in range(6):  # shoppers who stepped up from SHOE to SHOE_PLUS
        order(f"UP{i}", 40 - i, "SHOE")
        order(f"UP{i}", 20 - i, "SHOE_PLUS")
    for i, last in enumerate([28, 29, 27, 3, 4, 5]):  # coffee every 30 days; the first three are due
        for n in range(4):
            order(f"CO{i}", last + 30 * n, "BEANS")
    rng = np.random.default_rng(0)
    books = ["BOOK1", "BOOK2", "BOOK3", "BOOK4", "GONE"]
    for i in range(40):
        picked = rng.choice(books, size=2, replace=False, p=[0.3, 0.25, 0.15, 0.1, 0.2])
        order(f"BK{i:02d}", 10 + i % 30, *picked)
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "item_id", "quantity"])
    ev = pd.DataFrame(events, columns=["customer_id", "timestamp", "event_type", "item_id", "session_id"])
    return tx, ev


@pytest.fixture(scope="module")
def data():
    tx, ev = tiny_shop()
    return build_interactions(tx, ev, ITEMS, as_of=AS_OF)


@pytest.fixture(scope="module")
def blend(data):
    config = BlendConfig(als=ALSConfig(factors=8, iterations=10), buy_again=BuyAgainConfig(horizon_days=7))
    return Blend(config).fit(data)


def test_copurchase_finds_the_complement(data):
    model = CoPurchaseRecommender().fit(data)
    together = model.similar_items(["PHONE", "SHOE", "NOPE"], k=2)
    assert together[together.item_id == "PHONE"].similar_item_id.iloc[0] == "CASE"
    assert together[together.item_id == "SHOE"].similar_item_id.iloc[0] == "SOCKS"
    assert "NOPE" not in set(together.item_id)
    lift = CoPurchaseRecommender(measure="lift", min_support=3).fit(data).similar_items(["SOCKS"], k=1)
    assert lift.similar_item_id.tolist() == ["SHOE"]


def test_cart_brings_its_complement_with_a_reason(blend):
    answer = recommend_one(blend, "NEW_CUSTOMER", k=3, cart=["PHONE", "NOPE"])
    assert not answer.known_customer
    assert answer.items[0].item_id in {"CASE", "CHARGER"}
    assert answer.items[0].reason == "bought together with PHONE in your cart"
    assert "PHONE" not in [r.item_id for r in answer.items]
    assert answer.unknown_items == ["NOPE"]


def test_filters_bought_out_of_stock_and_excluded(blend, data):
    customers = [c for c in data.customers.external if c.startswith(("PH", "SH", "BK"))]
    batch = recommend_batch(blend, customers, k=5)
    bought = data.bought.tocoo()
    owned = set(zip(data.customers.to_external(bought.row), data.items.to_external(bought.col), strict=True))
    assert not any((c, i) in owned for c, i in zip(batch.customer_id, batch.item_id, strict=True))
    assert "GONE" not in set(batch.item_id)  # out of stock, though popular
    answer = recommend_one(blend, "PH00", k=5, exclude=["SOCKS"])
    assert "SOCKS" not in [r.item_id for r in answer.items]
    assert {"PHONE", "CASE"}.isdisjoint(r.item_id for r in answer.items)


def test_buy_again_follows_the_cycle(data, blend):
    model = BuyAgainRecommender(horizon_days=7).fit(data)
    user = data.customers.to_internal(["CO0", "CO3"])
    beans = data.items.index_of("BEANS")
    assert model.cycle_days(int(user[0]), beans) == pytest.approx(30.0, abs=1.0)
    due, fresh = model.customer_scores(user)[:, beans]
    assert due > 0.3 and fresh < 0.01  # last bought 28 vs 3 days ago, on a 30-day cycle
    answer = recommend_one(blend, "CO0", k=3)
    assert answer.items[0].item_id == "BEANS"
    assert answer.items[0].reason == "time to buy again"
    assert "BEANS" not in [r.item_id for r in recommend_one(blend, "CO3", k=3).items]  # just bought: not due this week


def test_cold_start_gets_popular_picks(blend):
    answer = recommend_one(blend, "NEVER_SEEN", k=4)
    assert not answer.known_customer and len(answer.items) == 4
    assert answer.items[0].item_id in {"PHONE", "CASE"}  # the most bought items (in stock)
    assert all(r.source in {"popular", "category"} for r in answer.items)
    assert "GONE" not in [r.item_id for r in answer.items]


def test_popular_overall_and_per_category(data):
    model = PopularRecommender(half_life_days=None).fit(data)
    books = data.items.to_external(model.popular_in("Books", k=10)).tolist()
    assert set(books) <= {"BOOK1", "BOOK2", "BOOK3", "BOOK4", "GONE"} and books[0] == "BOOK1"
    assert data.items.to_external(model.popular_in(k=1)).tolist() == ["PHONE"]  # tied with CASE, listed first
    assert model.popular_in("No such category").size == 0


def test_upsell_same_category_within_the_price_band(data, blend):
    model = UpsellRecommender(price_band=(1.2, 3.0)).fit(data)
    picks = model.similar_items(["SHOE"], k=5).similar_item_id.tolist()
    assert picks[0] == "SHOE_PLUS"
    assert "SHOE_LUX" not in picks and "CHEAP_SHOE" not in picks and "SOCKS" not in picks
    assert blend.similar_items(["SHOE"], k=3, kind="upsell").similar_item_id.iloc[0] == "SHOE_PLUS"


def test_als_and_ease_recommend_within_the_taste_group():
    rows = []
    for c in range(40):  # two groups with disjoint tastes; each customer misses one item of their group
        group = "A" if c < 20 else "B"
        for j in range(5):
            if j != c % 5:
                rows.append((f"{group}{c}", f"O{c}", AS_OF - pd.Timedelta(days=10), f"{group}item{j}", 1))
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "item_id", "quantity"])
    data = build_interactions(tx, as_of=AS_OF)
    for model in (ALSRecommender(factors=4, iterations=15, regularization=0.01), EASERecommender(regularization=1.0)):
        picks = model.fit(data).recommend(["A0", "B21"], k=1)
        assert picks.item_id.tolist() == ["Aitem0", "Bitem1"], type(model).__name__


def test_similar_items_from_factors_and_coviews(blend):
    similar = blend.similar_items(["SHOE"], k=3, kind="similar").similar_item_id.tolist()
    assert "SHOE_PLUS" in similar and "SHOE" not in similar
    with pytest.raises(ValueError, match="unknown list kind"):
        blend.similar_items(["SHOE"], kind="nonsense")


def test_cold_start_is_popular_even_when_tuning_weighs_popularity_at_zero(data):
    weights = BlendWeights(popular=0.0)
    config = BlendConfig(als=ALSConfig(factors=8, iterations=10), buy_again=BuyAgainConfig(horizon_days=7),
                         weights=weights)
    blend = Blend(config).fit(data)
    single = recommend_one(blend, "NEVER_SEEN", k=2)
    assert [r.item_id for r in single.items][0] in {"PHONE", "CASE"}
    assert all(r.source == "popular" for r in single.items)
    batch = recommend_batch(blend, ["NEVER_SEEN"], k=2)
    assert batch["item_id"].iloc[0] in {"PHONE", "CASE"} and batch["score"].gt(0).all()
    assert batch["reason"].str.startswith("popular").all()


def test_rebuy_share_counts_pairs_bought_on_more_than_one_order(data):
    purchases = data.purchases.toarray()
    bought = purchases > 0
    # by hand on the tiny shop: coffee drinkers (4 orders of BEANS each) are the only re-buyers
    assert data.rebuy_share == pytest.approx((purchases > 1).sum() / bought.sum())
    beans = data.items.to_internal(["BEANS"])[0]
    assert (purchases[:, beans] > 1).sum() == 6 == (purchases > 1).sum()


def test_blend_weighs_ease_in_and_refuses_it_when_not_fitted(data):
    config = BlendConfig.model_validate({"als": {"factors": 8, "iterations": 5}})
    plain = Blend(config).fit(data)
    ease_only = BlendWeights.model_validate({name: 0.0 for name in BlendWeights.model_fields} | {"ease": 1.0})
    with pytest.raises(ValueError, match="fitted without ease"):
        plain.with_weights(ease_only)
    ease = EASERecommender(config.ease).fit(data)
    blend = Blend(config).fit(data, fitted={"ease": ease}).with_weights(ease_only)
    users = np.arange(data.n_customers)
    # EASE alone in the blend ranks as EASE with the already-bought filter (the blend drops what was bought)
    np.testing.assert_array_equal(blend.rank_items(users, 3)[0], ease.rank_items(users, 3, filter_bought=True)[0])
    picks = recommend_batch(blend, data.customers.external[:20].tolist(), k=3)
    assert (picks.reason == "customers like you bought").all()  # EASE is collaborative: ALS's reason


def test_ease_pair_scores_are_its_customer_scores_at_those_pairs(data):
    ease = EASERecommender().fit(data)
    rng = np.random.default_rng(0)
    users = np.r_[rng.integers(0, data.n_customers, 200), -1]  # -1: an unknown customer scores 0
    items = rng.integers(0, data.n_items, len(users))
    expected = ease.customer_scores(users)[np.arange(len(users)), items]
    np.testing.assert_allclose(ease.pair_scores(users, items), expected, rtol=1e-5, atol=1e-6)
    assert expected[-1] == 0 and np.abs(expected).max() > 0
