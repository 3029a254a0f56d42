"""Labels of one window on a tiny hand-made shop: churn, value, orders, golden, next order, boundaries."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from features.data.reader import Shop, shop_from_frames
from training.labels import golden_flags, make_labels, window_totals

CUTOFF = datetime(2024, 1, 1)

# customer, order, timestamp, quantity, amount (line revenue; negative quantity = return)
LINES = [
    ("A", "a1", "2023-12-01", 1, 10.0),
    ("A", "a2", "2024-01-05 10:00", 1, 50.0),
    ("A", "a3", "2024-01-20", 2, 30.0),
    ("A", "a3", "2024-01-20", -1, -5.0),  # a return line inside a purchase order
    ("B", "b1", "2023-11-01", 1, 20.0),  # nothing after the cutoff: churned
    ("C", "c1", "2023-12-15", 1, 5.0),
    ("C", "c2", "2024-01-31", 1, 100.0),  # exactly cutoff + 30 days: outside [cutoff, cutoff + 30 days)
    ("D", "d1", "2024-01-10", 1, 60.0),  # first order after the cutoff: not in the population
    ("E", "e1", "2023-06-01", 1, 15.0),
    ("E", "e2", "2024-01-02", 1, 5.0),
    ("F", "f1", "2023-12-01", 1, 40.0),
    ("F", "f2", "2024-01-10", -1, -40.0),  # return-only order: no purchase, negative value
    ("G", "g1", "2023-10-01", 1, 8.0),
    ("G", "g2", "2024-01-01 00:00", 1, 7.0),  # at the cutoff: inside the horizon
]


def shop(lines: list[tuple] = LINES) -> Shop:
    frame = pd.DataFrame(lines, columns=["customer_id", "order_id", "timestamp", "quantity", "amount"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], format="ISO8601")
    return shop_from_frames({"transactions": frame})


def test_labels_by_hand() -> None:
    labels = make_labels(shop(), CUTOFF, 30, golden_share=0.2).set_index("customer_id")
    assert list(labels.index) == ["A", "B", "C", "E", "F", "G"]  # D bought only after the cutoff
    assert labels["churn"].to_dict() == {"A": 0, "B": 1, "C": 1, "E": 0, "F": 1, "G": 0}
    assert labels["value"].to_dict() == pytest.approx({"A": 75.0, "B": 0.0, "C": 0.0, "E": 5.0, "F": -40.0, "G": 7.0})
    assert labels["orders"].to_dict() == {"A": 2.0, "B": 0.0, "C": 0.0, "E": 1.0, "F": 0.0, "G": 1.0}
    assert labels.loc["A", "next_order_date"] == pd.Timestamp("2024-01-05 10:00")
    assert labels.loc["G", "next_order_date"] == pd.Timestamp("2024-01-01")
    assert pd.isna(labels.loc["B", "next_order_date"]) and pd.isna(labels.loc["F", "next_order_date"])
    # top ceil(0.2 x 6) = 2 of all customers by value: A (75) and G (7)
    assert labels.index[labels["golden"] == 1].tolist() == ["A", "G"]


def test_golden_among_buyers_and_revenue_must_be_positive() -> None:
    labels = make_labels(shop(), CUTOFF, 30, golden_share=0.2, golden_among="buyers").set_index("customer_id")
    assert labels.index[labels["golden"] == 1].tolist() == ["A"]  # ceil(0.2 x 3 buyers) = 1
    frame = pd.DataFrame({"customer_id": ["x", "y", "z"], "value": [0.0, 0.0, -3.0], "orders": [0.0, 0, 0]})
    assert golden_flags(frame, 0.5, "all").sum() == 0  # nobody with revenue > 0 is golden
    with pytest.raises(ValueError, match="golden_among"):
        golden_flags(frame, 0.5, "everyone")


def test_golden_ties_broken_by_customer_id_for_an_exact_count() -> None:
    frame = pd.DataFrame({"customer_id": ["b", "a", "c", "d"], "value": [10.0, 10.0, 10.0, 1.0],
                          "orders": [1.0, 1, 1, 1]})
    flags = golden_flags(frame, 0.5, "all")
    assert flags.tolist() == [1, 1, 0, 0]  # a and b of the three tied at 10


def test_labels_never_read_at_or_after_the_horizon_end() -> None:
    before = make_labels(shop(), CUTOFF, 30)
    later = [*LINES, ("A", "a9", "2024-01-31", 1, 999.0), ("B", "b9", "2024-02-15", 1, 1.0)]
    changed = [(c, o, t, q, a * 3) if t >= "2024-01-31" else (c, o, t, q, a) for c, o, t, q, a in later]
    pd.testing.assert_frame_equal(before, make_labels(shop(changed), CUTOFF, 30))


def test_window_totals_are_half_open() -> None:
    totals = window_totals(shop(), datetime(2024, 1, 1), datetime(2024, 1, 10))
    assert set(totals.index) == {"A", "E", "G"}  # F's return on 01-10 and D's order on 01-10 are outside
    assert totals.loc["A", "value"] == 50.0 and totals.loc["A", "orders"] == 1.0


def test_window_totals_add_money_exactly_so_ties_stay_ties() -> None:
    """Two customers with the same horizon revenue, one in 0.10 lines, one in a single line: as floats the first
    sums to 1000.0000000001588 and would win the golden tie (and the cut) on a last bit; exactly, they tie."""
    tenths = [("H", f"h{k}", "2024-01-05", 1, 0.1) for k in range(10_000)]
    assert sum(line[-1] for line in tenths) != 1000.0
    totals = window_totals(shop([*LINES, *tenths, ("I", "i1", "2024-01-06", 1, 1000.0)]), CUTOFF,
                           datetime(2024, 1, 31))
    assert totals.loc["H", "value"] == totals.loc["I", "value"] == 1000.0


def test_default_golden_is_the_pareto_few_never_the_churn_label_reversed() -> None:
    from tests.shared import demo_tables
    from training.config import TrainingConfig

    t = TrainingConfig()
    demo = shop_from_frames(demo_tables(400, seed=5, years=1.0))
    cutoff = pd.Timestamp(demo.transactions.timestamp.max().execute()).to_pydatetime() - pd.Timedelta(days=60)
    for horizon in (14, 60):  # 14 days: far fewer than 20% of customers buy at all
        labels = make_labels(demo, cutoff, horizon, t.golden_share, t.golden_among)
        buyers, golden = 1 - labels["churn"], labels["golden"]
        assert 0 < golden.sum() <= np.ceil(0.2 * buyers.sum()) and (golden <= buyers).all()
        assert np.corrcoef(golden, buyers)[0, 1] < 0.95  # "buys at all" would be 1.0
        top = labels.loc[golden == 1, "value"].sum() / labels["value"].clip(lower=0).sum()
        assert top > 0.2 * 2  # the golden few bring far more than their share of the revenue
