"""Base-health metrics and cohorts on a three-month shop whose every number was worked out by hand."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.analytics.base_metrics import Period, base_metrics, period_bounds
from features.analytics.cohorts import cohort_retention
from features.analytics.segment_rules import SegmentsConfig
from features.data.reader import Shop, shop_from_frames
from training.cli.app import app

# (customer, order, date, amount, quantity); b's February order is a refund only (not a purchase)
LINES = [
    ("a", "a1", "2024-01-05", 100, 1), ("a", "a2", "2024-02-10", 50, 1), ("a", "a3", "2024-03-15", 30, 1),
    ("b", "b1", "2024-01-20", 40, 1), ("b", "b2", "2024-02-05", -10, -1),
    ("c", "c1", "2024-02-25", 60, 1),
    ("d", "d1", "2024-03-30", 20, 1),
    ("e", "e1", "2024-01-02", 10, 1), ("e", "e2", "2024-03-20", 10, 1),
]
CUTOFF = datetime(2024, 3, 31)  # midnight after the last order: March is cut short
# Fixed thresholds keep segments hand-computable; no floor and a 1-day window make churn and dead contacts visible.
CFG = SegmentsConfig(recency_days=(30, 60), frequency=(1, 2), monetary=(50, 150), new_days=0, min_churn_days=0,
                     reactivation_days=1)
runner = CliRunner()


def shop_of(lines: list[tuple[str, str, str, float, float]]) -> Shop:
    frame = pd.DataFrame(lines, columns=["customer_id", "order_id", "timestamp", "amount", "quantity"])
    return shop_from_frames({"transactions": frame})


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return base_metrics(shop_of(LINES), Period.month, cfg=CFG).set_index("period")


def test_periods_run_from_the_first_order_to_the_cutoff(table: pd.DataFrame) -> None:
    assert table.index.tolist() == ["2024-01", "2024-02", "2024-03"]
    assert table["period_end"].tolist() == [datetime(2024, 2, 1), datetime(2024, 3, 1), CUTOFF]
    assert table["complete"].tolist() == [True, True, False]


def test_order_metrics_per_period(table: pd.DataFrame) -> None:
    assert table["new_customers"].tolist() == [3, 1, 1]
    assert table["active_customers"].tolist() == [3, 2, 3]  # b's refund-only order does not make b active
    assert table["orders"].tolist() == [3, 2, 3]
    assert table["revenue"].tolist() == pytest.approx([150, 100, 60])  # February nets b's refund
    assert table["avg_check"].tolist() == pytest.approx([50, 55, 20])
    assert table["purchase_frequency"].tolist() == pytest.approx([1, 1, 1])
    assert table["repeat_customer_share"].tolist() == pytest.approx([0, 1 / 2, 2 / 3])
    assert table["repeat_revenue_share"].tolist() == pytest.approx([0, 50 / 110, 40 / 60])


def test_snapshot_metrics_per_period(table: pd.DataFrame) -> None:
    assert table["customers_to_date"].tolist() == [3, 4, 5]
    # Feb 1: no repeat gap yet, one-time threshold = 365 days. Mar 1: gaps [36] -> b (41 days), e (59) churned.
    # Mar 31: gaps [36, 34, 78] -> one-time threshold 69.6; only b (71 days) is churned; e came back on Mar 20.
    assert table["churned_customers"].tolist() == [0, 2, 1]
    assert np.isnan(table.loc["2024-01", "churn_rate"])  # nobody was a customer at the start
    assert table.loc[["2024-02", "2024-03"], "churn_rate"].tolist() == pytest.approx([2 / 3, 0])
    assert table["reactivated_customers"].tolist() == [0, 0, 1]
    # golden = top ceil(0.2 n) of window buyers: a each time, over 150, 250 (b nets 30) and 310
    assert table["golden_revenue_share"].tolist() == pytest.approx([100 / 150, 150 / 250, 180 / 310])
    assert table["dead_contact_share"].tolist() == pytest.approx([0, 2 / 4, 1 / 5])


def test_average_check_per_segment_at_the_period_end(table: pd.DataFrame) -> None:
    assert table.loc["2024-01", "avg_check_Promising"] == pytest.approx(50)  # a, b, e: all 3-1-x
    assert table.loc["2024-02", ["avg_check_Active", "avg_check_Promising"]].tolist() == pytest.approx([50, 60])
    march = table.loc["2024-03", ["avg_check_Champions", "avg_check_Active", "avg_check_Promising"]]
    assert march.tolist() == pytest.approx([30, 10, 20])
    assert np.isnan(table.loc["2024-03", "avg_check_Dormant"])


def test_weekly_periods_start_on_monday() -> None:
    bounds = period_bounds(datetime(2024, 1, 3, 15), datetime(2024, 1, 17), Period.week)
    assert bounds == [(datetime(2024, 1, 1), datetime(2024, 1, 8)), (datetime(2024, 1, 8), datetime(2024, 1, 15)),
                      (datetime(2024, 1, 15), datetime(2024, 1, 17))]
    weekly = base_metrics(shop_of(LINES), Period.week, cfg=CFG)
    assert weekly["period"].iloc[0] == "2024-W01" and weekly["orders"].sum() == 8
    assert weekly["revenue"].sum() == pytest.approx(310)


def test_cohort_retention_table() -> None:
    cohorts = cohort_retention(shop_of(LINES).transactions, CUTOFF).set_index("cohort")
    assert cohorts["customers"].tolist() == [3, 1, 1]
    assert cohorts.loc["2024-01", ["m0", "m1", "m2"]].tolist() == pytest.approx([1, 1 / 3, 2 / 3])
    assert cohorts.loc["2024-02", ["m0", "m1"]].tolist() == pytest.approx([1, 0])
    assert np.isnan(cohorts.loc["2024-02", "m2"]) and np.isnan(cohorts.loc["2024-03", "m1"])  # not observed yet


def test_rows_at_or_after_the_cutoff_change_nothing(table: pd.DataFrame) -> None:
    later = [*LINES, ("b", "b3", "2024-03-31", 500, 1), ("f", "f1", "2024-04-10", 70, 1),
             ("a", "a4", "2024-05-01", 80, 1)]
    shop = shop_of(later)
    pd.testing.assert_frame_equal(base_metrics(shop, Period.month, CUTOFF, CFG).set_index("period"), table)
    pd.testing.assert_frame_equal(cohort_retention(shop.transactions, CUTOFF),
                                  cohort_retention(shop_of(LINES).transactions, CUTOFF))


def test_cli_writes_metrics_and_cohorts(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    pd.DataFrame(LINES, columns=["customer_id", "order_id", "timestamp", "amount", "quantity"]).to_csv(
        data / "transactions.csv", index=False)
    out = tmp_path / "out" / "metrics.parquet"
    result = runner.invoke(app, ["metrics", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert pd.read_parquet(out)["orders"].tolist() == [3, 2, 3]
    assert pd.read_parquet(out.with_name("metrics_cohorts.parquet"))["customers"].tolist() == [3, 1, 1]
    assert sorted(p.name for p in out.parent.iterdir()) == ["metrics.parquet", "metrics_cohorts.parquet"]
    result = runner.invoke(app, ["metrics", "--data", str(data), "--out", str(out), "--period", "year"])
    assert result.exit_code == 2 and "expected month or week" in result.output


def test_cli_bad_data_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    pd.DataFrame({"customer_id": ["a"], "order_id": ["1"], "timestamp": ["2024-01-01"], "amount": ["-5"]}
                 ).to_csv(tmp_path / "transactions.csv", index=False)
    result = runner.invoke(app, ["metrics", "--data", str(tmp_path), "--out", str(tmp_path / "out" / "m.csv")])
    assert result.exit_code == 2
    assert not (tmp_path / "out").exists()


def test_each_period_uses_only_data_before_its_end(table: pd.DataFrame) -> None:
    until_march = base_metrics(shop_of(LINES), Period.month, datetime(2024, 3, 1), CFG).set_index("period")
    assert until_march.index.tolist() == ["2024-01", "2024-02"] and until_march["complete"].all()
    pd.testing.assert_frame_equal(until_march, table.loc[["2024-01", "2024-02"]])
