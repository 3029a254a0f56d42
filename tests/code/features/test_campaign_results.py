"""The control split (stable, the configured share), the manifest, and the results estimate on a simulated
campaign with a known true effect."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.campaigns.control import control_flags, manifest, read_manifest
from features.campaigns.inputs import orders_in
from features.campaigns.results import campaign_results, difference, outcomes
from features.data.reader import shop_from_frames
from features.demo.campaign import simulate_campaign
from features.demo.shop import DemoConfig, generate_shop

CUTOFF = datetime(2026, 10, 1)
IDS = [f"C{i:06d}" for i in range(20_000)]


def test_control_split_has_the_configured_share_and_never_moves() -> None:
    flags = control_flags("reactivation", IDS, 0.1, seed=7)
    assert abs(flags.mean() - 0.1) < 3 * np.sqrt(0.1 * 0.9 / len(IDS))  # within three standard errors
    again = dict(zip(IDS, flags, strict=True))
    subset = IDS[::-3]  # another audience, another order: each customer keeps their group
    assert control_flags("reactivation", subset, 0.1, seed=7).tolist() == [again[c] for c in subset]
    other_seed = control_flags("reactivation", IDS, 0.1, seed=8)
    other_campaign = control_flags("birthdays", IDS, 0.1, seed=7)
    assert (flags != other_seed).any() and (flags != other_campaign).any()
    wider = control_flags("reactivation", IDS, 0.3, seed=7)
    assert (wider | ~flags).all()  # a larger share only adds customers to the control group
    assert not control_flags("reactivation", IDS, 0.0, seed=7).any()


def test_manifest_round_trip_and_bad_manifests(tmp_path: Path) -> None:
    rows = pd.DataFrame({"campaign": ["reactivation", "reactivation", "birthdays"],
                         "customer_id": ["007", "008", "007"], "control": [True, False, False],
                         "rule": ["r1", "r2", "r3"]})
    book = manifest(rows, CUTOFF, 0.1, 3)
    path = tmp_path / "manifest.csv"
    book.to_csv(path, index=False)
    read = read_manifest(path)
    assert read["customer_id"].tolist() == ["007", "008", "007"]  # ids keep their leading zeros
    assert read["control"].tolist() == [True, False, False] and (read["cutoff"] == pd.Timestamp(CUTOFF)).all()
    book.assign(control=["yes", "False", "True"]).to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"column 'control' has 1 bad value\(s\) \(row 2: 'yes'\)"):
        read_manifest(path)
    book.drop(columns="cutoff").to_csv(path, index=False)
    with pytest.raises(ValueError, match="missing column\\(s\\) cutoff"):
        read_manifest(path)
    pd.concat([book, book.iloc[:1]]).to_csv(path, index=False)
    with pytest.raises(ValueError, match="each customer at most once per campaign"):
        read_manifest(path)
    book.iloc[:0].to_csv(path, index=False)
    with pytest.raises(ValueError, match="no rows"):
        read_manifest(path)
    with pytest.raises(FileNotFoundError):
        read_manifest(tmp_path / "nope.csv")


def test_outcomes_count_the_window_only_and_net_returns() -> None:
    book = pd.DataFrame({"campaign": "x", "cutoff": pd.Timestamp(CUTOFF), "customer_id": ["a", "b", "c"],
                         "control": [False, False, True]})
    orders = pd.DataFrame({"customer_id": ["a", "a", "b", "b", "c"],
                           "timestamp": [CUTOFF - timedelta(seconds=1), CUTOFF, CUTOFF + timedelta(days=9.9),
                                         CUTOFF + timedelta(days=10), CUTOFF + timedelta(days=2)],
                           "revenue": [100.0, 30.0, 20.0, 50.0, -15.0], "is_purchase": [True, True, True, True, False]})
    got = outcomes(book, orders, days=10).set_index("customer_id")
    assert got["orders"].to_dict() == {"a": 1.0, "b": 1.0, "c": 0.0}  # [cutoff, cutoff + 10 days)
    assert got["revenue"].to_dict() == {"a": 30.0, "b": 20.0, "c": -15.0}  # a return-only order nets revenue
    assert got["converted"].to_dict() == {"a": 1.0, "b": 1.0, "c": 0.0}


def test_difference_is_welch_normal_interval() -> None:
    diff, low, high = difference(np.array([1.0, 0.0, 1.0, 1.0]), np.array([0.0, 1.0, 0.0]))
    se = np.sqrt(0.25 / 4 + (1 / 3) / 3)
    assert diff == pytest.approx(0.75 - 1 / 3)
    assert (low, high) == pytest.approx((diff - 1.959964 * se, diff + 1.959964 * se))


@pytest.fixture(scope="module")
def demo() -> dict[str, pd.DataFrame]:
    return generate_shop(DemoConfig(customers=3000, seed=5, years=1.5))


def audience_of(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every customer who bought before the cutoff, half held back."""
    tx = tables["transactions"]
    ids = sorted(tx.loc[tx["timestamp"] < CUTOFF, "customer_id"].unique())
    rows = pd.DataFrame({"campaign": "reactivation", "customer_id": ids, "rule": "bought before"})
    rows["control"] = control_flags("reactivation", ids, 0.5, seed=11)
    return manifest(rows, CUTOFF, 0.5, 11).assign(cutoff=pd.Timestamp(CUTOFF))


@pytest.mark.parametrize("lift", [0.0, 0.15])
def test_results_recover_a_simulated_effect_within_the_interval(demo: dict[str, pd.DataFrame], lift: float) -> None:
    book = audience_of(demo)
    shop = shop_from_frames(simulate_campaign(demo, book, lift=lift, days=30, seed=2))
    orders = orders_in(shop, CUTOFF, CUTOFF + timedelta(days=30))
    row = campaign_results(book, orders, days=30).iloc[0]
    assert row["treated"] > 900 and row["control"] > 900
    assert row["orders_low"] <= lift <= row["orders_high"]  # the true extra orders per customer
    items = demo["items"][demo["items"]["in_stock"]]
    true_revenue = lift * items["price"].mean()
    assert row["revenue_low"] <= true_revenue <= row["revenue_high"]
    if lift > 0:
        assert row["orders_low"] > 0  # the effect is found, not only allowed (revenue is too noisy at this size)
        assert row["sentence"].startswith(f"the reactivation campaign brought {100 * row['orders_diff']:.1f} extra "
                                          "orders per 100 customers, 95% interval ")
        assert "cannot yet be told apart" not in row["sentence"]
    else:
        assert "cannot yet be told apart from chance" in row["sentence"]


def test_simulation_adds_orders_only_to_treated_customers_after_the_cutoff(demo: dict[str, pd.DataFrame]) -> None:
    book = audience_of(demo)
    tables = simulate_campaign(demo, book, lift=0.2, days=30, seed=2)
    extra = tables["transactions"].iloc[len(demo["transactions"]):]
    treated = set(book.loc[~book["control"], "customer_id"])
    assert set(extra["customer_id"]) <= treated and abs(len(extra) / len(treated) - 0.2) < 0.05
    assert extra["timestamp"].between(CUTOFF, CUTOFF + timedelta(days=30), inclusive="left").all()
    assert extra["order_id"].str.startswith("SIM").all() and len(tables["customers"]) == len(demo["customers"])
    with pytest.raises(ValueError, match="lift must be a probability"):
        simulate_campaign(demo, book, lift=1.5, days=30)


def test_nothing_measured_yet_is_refused_with_the_days_of_data() -> None:
    from features.campaigns.results import TooEarlyError, check_measurable, days_of_data

    rows = pd.DataFrame({"campaign": ["win_back", "win_back", "vip_care"], "customer_id": ["1", "2", "3"],
                         "control": [True, False, False], "rule": ["r"] * 3})
    book = manifest(rows, CUTOFF, 0.1, 3)
    assert days_of_data(CUTOFF, CUTOFF - timedelta(hours=1)) == 0 and days_of_data(CUTOFF, CUTOFF) == 1
    with pytest.raises(TooEarlyError, match=r"win back, vip care: no order after the cutoff 1 Oct 2026 yet \(the "
                       r"data ends 30 Sep 2026\)"):
        check_measurable(book, CUTOFF - timedelta(hours=1), 7)
    with pytest.raises(TooEarlyError, match="only 3 days of data after the cutoff 1 Oct 2026 .* at least 7 days"):
        check_measurable(book, CUTOFF + timedelta(days=2, hours=5), 7)
    with pytest.raises(TooEarlyError, match="есть данные лишь за 3 дня .* не меньше 7 дней"):
        check_measurable(book, CUTOFF + timedelta(days=2), 7, "ru")
    check_measurable(book, CUTOFF + timedelta(days=2), 3)  # enough for a minimum of 3: no error


def test_the_result_sentence_in_russian() -> None:
    from features.campaigns.results import sentence

    record = {"campaign": "win_back", "treated": 900, "control": 100, "days": 30, "orders_diff": 0.031,
              "orders_low": -0.012, "orders_high": 0.074, "conversion_diff": 0.02, "conversion_low": -0.01,
              "conversion_high": 0.05, "incremental_revenue": 1234.0, "incremental_low": -500.0,
              "incremental_high": 3000.0}
    assert sentence(record).startswith("the win back campaign brought 3.1 extra orders per 100 customers, 95% "
                                       "interval -1.2 to 7.4; +2.0 points of conversion")
    russian = sentence(record, "ru")
    assert russian.startswith("кампания «win back» принесла 3,1 доп. заказа на 100 клиентов")
    assert "за 30 дней: 900 получивших против 100 в контроле" in russian and "случайности" in russian
