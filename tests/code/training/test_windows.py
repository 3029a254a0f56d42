"""Backtest windows: the cutoffs, and no leakage: rows a window may not see never change its data."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from features.data.reader import shop_from_frames
from features.demo.shop import DemoConfig, generate_shop
from training.config import RetentionConfig, TrainingConfig
from training.windows import Window, WindowBuilder, plan_windows

S = datetime(2026, 11, 1)


def test_plan_cutoffs() -> None:
    cfg = TrainingConfig(horizon_days=90, n_windows=3, window_spacing_days=30)
    plan = plan_windows(S, datetime(2024, 1, 1), cfg)
    assert plan.holdout_cutoff == S - timedelta(days=90)
    assert plan.eval_cutoffs == tuple(S - timedelta(days=180 + 30 * k) for k in range(3))
    assert plan.final_cutoffs == tuple(S - timedelta(days=90 + 30 * k) for k in range(3))
    assert all(c + timedelta(days=90) <= plan.holdout_cutoff for c in plan.eval_cutoffs)  # evaluation never sees
    assert all(c + timedelta(days=90) <= S for c in plan.final_cutoffs)  # the holdout; scoring fits never see S
    assert not plan.fallback


def test_plan_drops_cutoffs_before_the_first_order_and_falls_back_when_none_is_left() -> None:
    cfg = TrainingConfig(horizon_days=90, n_windows=4, window_spacing_days=30)
    plan = plan_windows(S, S - timedelta(days=200), cfg)
    assert plan.eval_cutoffs == (S - timedelta(days=180),)
    short = plan_windows(S, S - timedelta(days=180), cfg)  # two horizons exactly: no customer before S - 180
    assert short.eval_cutoffs == () and short.fallback
    assert short.final_cutoffs  # the scoring fit still has windows, but nothing to evaluate them on


@pytest.fixture(scope="module")
def tables() -> dict[str, pd.DataFrame]:
    return generate_shop(DemoConfig(customers=500, seed=11, years=1.5))


def perturbed(tables: dict[str, pd.DataFrame], at: datetime) -> dict[str, pd.DataFrame]:
    """Return the tables with every row at or after ``at`` changed: prices tripled, half the rows dropped, and
    new orders and events added."""
    out = {name: frame.copy() for name, frame in tables.items()}
    rng = np.random.default_rng(0)
    for name in ("transactions", "events"):
        frame = out[name]
        late = frame["timestamp"] >= at
        if name == "transactions":
            frame.loc[late, "price"] = frame.loc[late, "price"] * 3
        added = frame[late].sample(frac=0.3, random_state=1)
        added = added.assign(customer_id=added["customer_id"].iloc[::-1].to_numpy())  # others buy these
        if name == "transactions":
            added = added.assign(order_id=[f"new-{i}" for i in range(len(added))])
        kept = frame[~late | (rng.random(len(frame)) < 0.5)]
        out[name] = pd.concat([kept, added], ignore_index=True)
    return out


def windows(tables: dict[str, pd.DataFrame], cutoffs: list[datetime]) -> list[Window]:
    builder = WindowBuilder(shop_from_frames(tables), RetentionConfig())
    return [builder.window(c) for c in cutoffs]


@pytest.mark.parametrize("boundary", ["holdout", "scoring"])
def test_no_leakage_across_windows(tables: dict[str, pd.DataFrame], boundary: str) -> None:
    cfg = TrainingConfig(horizon_days=90, n_windows=2, window_spacing_days=45)
    plan = plan_windows(S, datetime(2025, 5, 1), cfg)
    at = plan.holdout_cutoff if boundary == "holdout" else S
    # evaluation windows may not see the holdout; scoring windows and the holdout may not see the scoring cutoff
    protected = list(plan.eval_cutoffs) if boundary == "holdout" else [*plan.final_cutoffs]
    original, changed = windows(tables, protected), windows(perturbed(tables, at), protected)
    for a, b in zip(original, changed, strict=True):
        pd.testing.assert_frame_equal(a.inputs, b.inputs)
        pd.testing.assert_frame_equal(a.labels, b.labels)
    if boundary == "holdout":  # the perturbation is real: the holdout's own labels do move
        holdout_a, holdout_b = windows(tables, [at])[0], windows(perturbed(tables, at), [at])[0]
        pd.testing.assert_frame_equal(holdout_a.inputs, holdout_b.inputs)
        assert not holdout_a.labels["value"].equals(holdout_b.labels["value"])
