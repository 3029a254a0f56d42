"""Segments on tiny shops with hand-worked answers: thresholds, cells, New, golden, churn, dead contacts, moves."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from features.analytics.segment_rules import CELL_SEGMENTS, NEW, SEGMENTS, SegmentsConfig, segment_table_markdown
from features.analytics.segments import NOT_A_CUSTOMER, default_cutoff, migration_matrix, segment_customers
from features.data.reader import Shop, shop_from_frames
from training.cli.app import app

CUTOFF = datetime(2024, 7, 1)
runner = CliRunner()


def shop_of(orders: list[tuple[str, float, float]], events: pd.DataFrame | None = None) -> Shop:
    """Build a shop from (customer, days before CUTOFF, amount); one order per tuple."""
    frame = pd.DataFrame({
        "customer_id": [c for c, _, _ in orders],
        "order_id": [f"o{i}" for i in range(len(orders))],
        "timestamp": [CUTOFF - timedelta(days=d) for _, d, _ in orders],
        "amount": [a for _, _, a in orders],
    })
    tables = {"transactions": frame} if events is None else {"transactions": frame, "events": events}
    return shop_from_frames(tables)


def by_customer(shop: Shop, cfg: SegmentsConfig | None = None, as_of: datetime = CUTOFF) -> pd.DataFrame:
    return segment_customers(shop, as_of, cfg).customers.set_index("customer_id")


# Six active customers (recency <= 365 days) and one long gone who must not move the tertiles.
RFM_ORDERS = [
    ("c1", 10, 100), ("c1", 40, 100), ("c1", 70, 100),
    ("c2", 20, 50), ("c2", 50, 50),
    ("c3", 60, 30),
    ("c4", 100, 200), ("c4", 130, 200),
    ("c5", 200, 10),
    ("c6", 300, 20), ("c6", 330, 20), ("c6", 360, 20),
    ("c7", 500, 1000),
]


def test_every_one_of_the_27_cells_maps_to_exactly_one_named_segment() -> None:
    cells = {f"{r}-{f}-{m}" for r in (1, 2, 3) for f in (1, 2, 3) for m in (1, 2, 3)}
    assert set(CELL_SEGMENTS) == cells
    assert set(CELL_SEGMENTS.values()) == set(SEGMENTS) - {NEW}  # New is the tenure rule, never a cell
    assert CELL_SEGMENTS["3-3-3"] == "Champions" and CELL_SEGMENTS["1-1-1"] == "Dormant"
    assert CELL_SEGMENTS["1-3-3"] == "At risk"
    assert segment_table_markdown().count("\n") == 27 + 2  # header, rule, 27 cells, the New row


def test_tertile_thresholds_and_cells_from_the_active_base() -> None:
    result = segment_customers(shop_of(RFM_ORDERS), CUTOFF)
    th = result.thresholds
    assert th.base_customers == 6  # c7 bought 500 days ago: outside the 365-day active base
    # numpy-style linear quantiles of [10, 20, 60, 100, 200, 300], [1, 1, 2, 2, 3, 3], [10, 30, 60, 100, 300, 400]
    assert th.recency_days == pytest.approx((20 + 40 * 2 / 3, 100 + 100 / 3))
    assert th.frequency == pytest.approx((1 + 2 / 3, 2 + 1 / 3))
    assert th.monetary == pytest.approx((50, 100 + 200 / 3))
    got = result.customers.set_index("customer_id")
    expected = {"c1": ("3-3-3", "Champions"), "c2": ("3-2-2", "Active"), "c3": ("2-1-1", "Almost lost"),
                "c4": ("2-2-3", "Needs attention"), "c5": ("1-1-1", "Dormant"), "c6": ("1-3-2", "At risk"),
                "c7": ("1-1-3", "Dormant")}
    assert {c: (got.loc[c, "rfm_cell"], got.loc[c, "segment"]) for c in expected} == expected
    assert got.loc["c1", "recency_days"] == pytest.approx(10) and got.loc["c6", "frequency"] == 3
    assert got.loc["c4", "monetary"] == pytest.approx(400)


def test_configured_thresholds_replace_the_tertiles() -> None:
    cfg = SegmentsConfig(recency_days=(30, 90), frequency=(1, 2), monetary=(50, 150))
    result = segment_customers(shop_of(RFM_ORDERS), CUTOFF, cfg)
    assert result.thresholds.base_customers == 0
    cells = result.customers.set_index("customer_id")["rfm_cell"]
    assert cells[["c1", "c2", "c3", "c4"]].tolist() == ["3-3-3", "3-2-2", "2-1-1", "1-2-3"]
    with pytest.raises(ValidationError, match="low <= high"):
        SegmentsConfig(recency_days=(90, 30))


def test_new_depends_on_tenure_not_on_the_cell() -> None:
    shop = shop_of([*RFM_ORDERS, ("n1", 5, 500), ("n1", 2, 500)])
    fixed = {"recency_days": (30, 90), "frequency": (1, 2), "monetary": (50, 150)}
    assert by_customer(shop, SegmentsConfig(**fixed)).loc["n1", "segment"] == NEW  # first order 5 days ago < 30
    late = by_customer(shop, SegmentsConfig(**fixed, new_days=5)).loc["n1"]  # tenure 5 is not < 5: the cell decides
    assert late["rfm_cell"] == "3-2-3" and late["segment"] == "Loyal"


def test_golden_is_the_top_share_of_window_buyers_and_their_revenue_share() -> None:
    orders = [(f"g{i:02d}", 30, 10.0 * i) for i in range(1, 11)] + [("old", 400, 1000.0)]
    result = segment_customers(shop_of(orders), CUTOFF)
    golden = result.customers.loc[result.customers["is_golden_now"], "customer_id"].tolist()
    assert golden == ["g09", "g10"]  # ceil(0.2 x 10 window buyers) = 2; "old" is outside the 365 days
    assert result.golden_revenue_share == pytest.approx(190 / 550)
    assert result.customers["golden_revenue_share"].eq(result.golden_revenue_share).all()
    # 0.3 x 10 is 3.0000000000000004 in floats: still 3 golden, not 4
    wider = segment_customers(shop_of(orders), CUTOFF, SegmentsConfig(golden_share=0.3)).customers
    assert int(wider["is_golden_now"].sum()) == 3


def test_golden_ties_break_by_customer_id() -> None:
    result = segment_customers(shop_of([("b", 30, 50.0), ("a", 30, 50.0), ("c", 30, 10.0)]), CUTOFF)
    assert result.customers.loc[result.customers["is_golden_now"], "customer_id"].tolist() == ["a"]


CHURN_ORDERS = [("a", 100, 10), ("a", 90, 10), ("a", 80, 10), ("a", 40, 10),  # gaps 10, 10, 40
                ("b", 50, 10), ("b", 20, 10),  # gap 30
                ("c", 60, 10), ("d", 30, 10)]  # one-time buyers


def test_churn_by_k_times_own_median_gap_and_the_one_time_threshold() -> None:
    got = by_customer(shop_of(CHURN_ORDERS), SegmentsConfig(churn_k=2, min_churn_days=0))
    assert got.loc[["a", "b"], "usual_gap_days"].tolist() == pytest.approx([10, 30])
    assert got.loc[["c", "d"], "usual_gap_days"].isna().all()
    # one-time buyers: the 0.9 quantile of all gaps [10, 10, 30, 40] = 30 + 0.7 x 10
    assert got["churn_threshold_days"].tolist() == pytest.approx([20, 60, 37, 37])
    assert got["is_churned"].tolist() == [True, False, True, False]


def test_churn_threshold_has_a_floor_and_a_fallback_without_repeat_buyers() -> None:
    floored = by_customer(shop_of(CHURN_ORDERS), SegmentsConfig(min_churn_days=45))
    assert floored["churn_threshold_days"].tolist() == pytest.approx([45, 60, 45, 45])
    assert floored["is_churned"].tolist() == [False, False, True, False]
    lonely = by_customer(shop_of([("x", 400, 10), ("y", 10, 10)]))
    assert lonely["churn_threshold_days"].tolist() == pytest.approx([365, 365])
    assert lonely["is_churned"].tolist() == [True, False]


def test_dead_contact_is_churned_for_longer_than_the_reactivation_window() -> None:
    short = by_customer(shop_of(CHURN_ORDERS), SegmentsConfig(min_churn_days=0, reactivation_days=15))
    assert short["dead_contact"].tolist() == [True, False, True, False]  # a: 40 > 20 + 15, c: 60 > 37 + 15
    long = by_customer(shop_of(CHURN_ORDERS), SegmentsConfig(min_churn_days=0, reactivation_days=25))
    assert not long["dead_contact"].any()  # a: 40 < 45, c: 60 < 62
    assert long["is_churned"].tolist() == [True, False, True, False]


def test_an_email_open_in_the_reactivation_window_keeps_a_contact_alive() -> None:
    events = pd.DataFrame({"customer_id": ["c", "a", "a"], "event_type": ["email_open", "email_click", "view"],
                           "timestamp": [CUTOFF - timedelta(days=10), CUTOFF - timedelta(days=30),
                                         CUTOFF - timedelta(days=1)]})
    got = by_customer(shop_of(CHURN_ORDERS, events), SegmentsConfig(min_churn_days=0, reactivation_days=15))
    # c opened an email 10 days ago (inside the 15 days); a clicked 30 days ago (outside) and only viewed since
    assert got["dead_contact"].tolist() == [True, False, False, False]


MOVES_CFG = SegmentsConfig(recency_days=(30, 90), frequency=(1, 2), monetary=(50, 150), previous_days=60, new_days=0)


def test_previous_segment_and_migration_matrix() -> None:
    shop = shop_of([("x", 100, 100), ("x", 10, 100), ("y", 200, 20), ("z", 30, 60)])
    got = by_customer(shop, MOVES_CFG)
    # 60 days earlier x had one order 40 days old (2-1-2), y was as dormant as now, z had not bought yet
    assert got.loc["x", ["previous_segment", "segment"]].tolist() == ["Almost lost", "Loyal"]
    assert got.loc["y", ["previous_segment", "segment"]].tolist() == ["Dormant", "Dormant"]
    assert pd.isna(got.loc["z", "previous_segment"]) and got.loc["z", "segment"] == "Promising"
    matrix = migration_matrix(got.reset_index())
    assert matrix.shape == (len(SEGMENTS) + 1, len(SEGMENTS))
    assert matrix.loc["Almost lost", "Loyal"] == 1 and matrix.loc["Dormant", "Dormant"] == 1
    assert matrix.loc[NOT_A_CUSTOMER, "Promising"] == 1 and matrix.to_numpy().sum() == 3


def test_rows_at_or_after_the_cutoff_change_nothing() -> None:
    before = segment_customers(shop_of(RFM_ORDERS), CUTOFF).customers
    later = [*RFM_ORDERS, ("c5", 0, 999), ("c3", -5, 50), ("zz", -30, 10_000)]  # at the cutoff and after it
    after = segment_customers(shop_of(later), CUTOFF).customers
    pd.testing.assert_frame_equal(before, after)


def test_default_cutoff_is_midnight_after_the_last_order() -> None:
    shop = shop_from_frames({"transactions": pd.DataFrame({
        "customer_id": ["a", "b"], "order_id": ["1", "2"], "timestamp": ["2024-06-01", "2024-06-30 15:45"],
        "amount": [1.0, 2.0]})})
    assert default_cutoff(shop.transactions) == datetime(2024, 7, 1)


def test_cli_writes_segments_and_migration(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    pd.DataFrame({"customer_id": ["a", "a", "b"], "order_id": ["1", "2", "3"],
                  "timestamp": ["2024-01-05", "2024-03-01", "2024-02-10"], "amount": [10, 20, 30]}
                 ).to_csv(data / "transactions.csv", index=False)
    out, moves = tmp_path / "out" / "segments.csv", tmp_path / "out" / "moves.csv"
    result = runner.invoke(app, ["segments", "--data", str(data), "--out", str(out), "--migration", str(moves)])
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # rich wraps at the terminal width
    assert "Cutoff 2024-03-02: 2 customers" in said and "bring 50.0% of that revenue" in said  # a and b tie at 30
    frame = pd.read_csv(out, dtype={"customer_id": str})
    assert frame["customer_id"].tolist() == ["a", "b"] and "golden_revenue_share" in frame.columns
    assert pd.read_csv(moves).shape == (len(SEGMENTS) + 1, len(SEGMENTS) + 1)
    assert sorted(p.name for p in out.parent.iterdir()) == ["moves.csv", "segments.csv"]  # no temp files left


def test_cli_bad_data_exits_2_and_keeps_the_old_file(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    pd.DataFrame({"customer_id": ["a"], "order_id": ["1"], "timestamp": ["someday"], "amount": ["x"]}
                 ).to_csv(data / "transactions.csv", index=False)
    out = tmp_path / "segments.csv"
    out.write_text("old")
    result = runner.invoke(app, ["segments", "--data", str(data), "--out", str(out)])
    assert result.exit_code == 2
    assert "Nothing was written" in result.output
    assert out.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["segments.csv", "shop"]
    result = runner.invoke(app, ["segments", "--data", str(data), "--out", str(tmp_path / "x.txt")])
    assert result.exit_code == 2 and "unsupported output format" in result.output
