"""RFM and cadence families on a tiny shop with hand-worked expected values."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from features.data.reader import shop_from_frames
from features.families.cadence import cadence_features
from features.families.config import FeaturesConfig
from features.families.rfm import rfm_features
from features.orders import cutoff_datetime

CUTOFF = "2024-07-01"


def shop():
    # A: three purchase orders and a return-only order before the cutoff, one order exactly at the cutoff.
    # B: one order 396 days before the cutoff. C: orders only after. D: a return-only order only.
    tx = pd.DataFrame(
        [
            ("A", "O1", "2024-01-03", "60", "1"),
            ("A", "O1", "2024-01-03", "40", "1"),
            ("A", "O2", "2024-04-02 12:00", "50", "1"),
            ("A", "O3", "2024-06-21", "30", "1"),
            ("A", "O4", "2024-06-25", "20", "-1"),
            ("A", "O5", "2024-07-01", "500", "1"),
            ("B", "O6", "2023-06-01", "20", "1"),
            ("C", "O7", "2024-08-01", "20", "1"),
            ("D", "O8", "2024-05-01", "20", "-1"),
        ],
        columns=["customer_id", "order_id", "timestamp", "amount", "quantity"],
    )
    return shop_from_frames({"transactions": tx})


def by_customer(table) -> pd.DataFrame:
    return table.execute().set_index("customer_id").sort_index()


def test_rfm_population_is_customers_with_a_purchase_before_the_cutoff() -> None:
    frame = by_customer(rfm_features(shop().transactions, CUTOFF))
    assert frame.index.tolist() == ["A", "B"]


def test_rfm_recency_frequency_money_tenure() -> None:
    a = by_customer(rfm_features(shop().transactions, CUTOFF)).loc["A"]
    assert a.days_since_last_order == pytest.approx(10.0)  # 21 June -> 1 July
    assert a.days_since_first_order == pytest.approx(180.0)  # 3 January -> 1 July (leap year)
    assert a.orders == 3.0  # the return-only order O4 is not a purchase; O5 is at the cutoff
    assert a.net_revenue == pytest.approx(100 + 50 + 30 - 20)  # the refund nets revenue
    assert a.avg_order_value == pytest.approx(160 / 3)


def test_rfm_windows_and_trend() -> None:
    a = by_customer(rfm_features(shop().transactions, CUTOFF)).loc["A"]
    assert (a.orders_30d, a.revenue_30d) == (1.0, pytest.approx(30 - 20))
    # the 90-day window starts 2 April 00:00, so O2 (2 April 12:00) is in it
    assert (a.orders_90d, a.revenue_90d) == (2.0, pytest.approx(50 + 30 - 20))
    # the 180-day window starts 3 January 00:00: O1 sits exactly on its (inclusive) start
    assert (a.orders_180d, a.revenue_180d) == (3.0, pytest.approx(160))
    assert a.orders_trend_90d == 2.0 - 1.0
    assert a.revenue_trend_90d == pytest.approx(60 - 100)


def test_rfm_old_customer_falls_out_of_every_window() -> None:
    b = by_customer(rfm_features(shop().transactions, CUTOFF)).loc["B"]
    assert b.days_since_last_order == pytest.approx(396.0)
    assert (b.orders_365d, b.revenue_365d, b.orders_trend_90d) == (0.0, 0.0, 0.0)


def test_rfm_windows_follow_the_config() -> None:
    cfg = FeaturesConfig(windows_days=(7, 200), trend_days=30)
    frame = by_customer(rfm_features(shop().transactions, CUTOFF, cfg))
    assert {"orders_7d", "revenue_200d", "orders_trend_30d"} <= set(frame.columns)
    assert "orders_90d" not in frame.columns
    assert frame.loc["A", "orders_200d"] == 3.0


def test_cadence_gaps_overdue_and_expected_date() -> None:
    frame = by_customer(cadence_features(shop().transactions, CUTOFF))
    a = frame.loc["A"]
    # gaps: 3 Jan -> 2 Apr 12:00 = 90.5 days, 2 Apr 12:00 -> 21 Jun = 79.5 days
    assert a.mean_gap_days == pytest.approx(85.0)
    assert a.gap_std_days == pytest.approx(11.0 / math.sqrt(2))
    assert a.overdue_ratio == pytest.approx(10.0 / 85.0)
    assert a.days_until_expected_order == pytest.approx(75.0)
    assert a.expected_next_order_date == "2024-09-14"  # 21 June + 85 days


def test_cadence_of_a_one_order_customer_is_missing_not_zero() -> None:
    b = by_customer(cadence_features(shop().transactions, CUTOFF)).loc["B"]
    assert pd.isna(b.mean_gap_days) and pd.isna(b.overdue_ratio) and pd.isna(b.expected_next_order_date)


def test_cutoff_parsing() -> None:
    assert cutoff_datetime("2024-07-01").isoformat() == "2024-07-01T00:00:00"
    assert cutoff_datetime("2024-07-01T06:30").hour == 6
    with pytest.raises(ValueError, match="time zone"):
        cutoff_datetime("2024-07-01T00:00+02:00")
    with pytest.raises(ValueError):
        cutoff_datetime("yesterday")


def test_bgnbd_summary_in_duckdb_matches_btyd_rfm_summary() -> None:
    from features.btyd.fitters import rfm_summary
    from features.families.cadence import bgnbd_summary
    from features.orders import purchases_before

    tx = pd.DataFrame({
        "customer_id": ["A", "A", "A", "B", "B", "C"],
        "order_id": ["1", "2", "3", "4", "5", "6"],
        "timestamp": ["2024-01-03 23:59", "2024-01-03 08:00", "2024-03-01 10:00", "2024-02-10", "2024-06-30 23:00",
                      "2024-06-30 12:00"],
        "amount": ["5", "6", "7", "8", "9", "10"],
    })
    s = shop_from_frames({"transactions": tx})
    for cutoff, unit in (("2024-07-01", 7.0), ("2024-06-30 12:00", 1.0)):
        ours = bgnbd_summary(s.transactions, cutoff, FeaturesConfig(bgnbd_unit_days=unit)).execute()
        theirs = rfm_summary(purchases_before(s.transactions, cutoff).execute(), cutoff, unit)
        assert ours["customer_id"].tolist() == theirs.index.tolist()
        for column in ("frequency", "recency", "T"):
            assert ours[column].to_numpy() == pytest.approx(theirs[column].to_numpy()), (cutoff, column)
