"""Holdout metrics on hand-worked arrays, and the evaluation table around them."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from training.evaluate import MODEL, evaluate, markdown_table
from training.metrics import (
    calibration_table,
    churn_metrics,
    gains_curve,
    gini,
    golden_metrics,
    lift,
    ranking_blend,
    revenue_capture,
    top_mask,
    value_metrics,
)


def test_top_mask_takes_exactly_ceil_share_even_with_ties() -> None:
    assert top_mask(np.array([1.0, 1.0, 1.0, 1.0, 0.0]), 0.5).sum() == 3
    assert top_mask(np.array([0.1, 0.9, 0.5]), 0.34).tolist() == [False, True, True]


def test_lift_and_revenue_capture_by_hand() -> None:
    churned = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0])
    score = np.array([0.9, 0.1, 0.8, 0.2, 0.3, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert lift(churned, score, 0.2) == pytest.approx(0.5 / 0.2)  # top 2 hold one of two churners
    revenue = np.array([50.0, 0, 30, 0, 20, 0, 0, 0, 0, 0])
    assert revenue_capture(revenue, score, 0.2) == pytest.approx(80 / 100)
    assert np.isnan(revenue_capture(np.zeros(10), score, 0.2))


def test_churn_metrics_perfect_and_inverted() -> None:
    y = np.array([0, 0, 1, 1])
    perfect = churn_metrics(np.array([0.0, 0.1, 0.9, 1.0]), y)
    assert perfect["roc_auc"] == 1.0 and perfect["pr_auc"] == 1.0
    assert perfect["brier"] == pytest.approx((0 + 0.01 + 0.01 + 0) / 4)
    assert churn_metrics(np.array([1.0, 0.9, 0.1, 0.0]), y)["roc_auc"] == 0.0


def test_spearman_breaks_prediction_ties_so_a_coarse_predictor_gains_nothing() -> None:
    rng = np.random.default_rng(1)
    truth = np.where(rng.random(2000) < 0.8, 0.0, rng.gamma(2.0, 50.0, 2000))  # zero-inflated, like a horizon
    coarse = (truth > 0).astype(float) * (rng.random(2000) < 0.5)  # "bought last period": mostly one big tie
    m = value_metrics(coarse, coarse, truth, truth)
    assert m["spearman_tied"] == pytest.approx(stats.spearmanr(coarse, truth).statistic)
    assert m["spearman"] < m["spearman_tied"] - 0.1  # the tie block no longer counts as agreement
    exact = value_metrics(truth, truth, truth, truth)
    # breaking ties lowers the ceiling for everyone alike (here ~0.7): the exact prediction still tops it
    assert exact["spearman"] > m["spearman"] + 0.3 and exact["spearman_tied"] == pytest.approx(1.0)
    assert exact["gini"] == pytest.approx(1.0)


def test_gini_ideal_random_and_reversed() -> None:
    revenue = np.array([0.0, 0, 0, 10, 40, 100])
    assert gini(revenue, revenue) == pytest.approx(1.0)
    assert gini(revenue, -revenue) < 0
    assert abs(gini(revenue, np.zeros(6))) < 0.6  # all tied: random order, far from ideal


def test_golden_metrics_capture_and_ideal() -> None:
    revenue = np.array([100.0, 50, 0, 0, 10])
    golden = (revenue >= 50).astype(int)
    m = golden_metrics(np.array([0.9, 0.2, 0.8, 0.1, 0.3]), golden, revenue, 0.4)
    assert m["revenue_capture"] == pytest.approx(100 / 160)
    assert m["revenue_capture_ideal"] == pytest.approx(150 / 160)


def test_top_captures_and_the_ranking_blend_by_hand() -> None:
    # 10 customers: the top 10% is one customer, the top 20% two
    revenue = np.array([100.0, 0, 50, 0, 0, 30, 0, 0, 20, 0])
    score = np.array([0.9, 0.8, 0.7, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1])  # 2nd best spends nothing
    golden = (revenue >= 50).astype(int)
    m = golden_metrics(score, golden, revenue, 0.2)
    assert m["revenue_capture_top_decile"] == pytest.approx(100 / 200)
    assert m["revenue_capture"] == pytest.approx(100 / 200)
    assert m["ranking_blend"] == pytest.approx((m["roc_auc"] + 0.5 + 0.5) / 3)
    assert ranking_blend(0.4, revenue, revenue) == pytest.approx((0.4 + 0.5 + 0.75) / 3)
    v = value_metrics(score, score, revenue, revenue)
    assert v["revenue_capture"] == pytest.approx(0.5) and v["revenue_capture_top_decile"] == pytest.approx(0.5)
    assert v["ranking_blend"] == pytest.approx((v["spearman"] + 0.5 + 0.5) / 3)
    assert np.isnan(ranking_blend(0.4, np.zeros(10), score))  # no revenue: no capture, no blend


def test_calibration_table_and_gains() -> None:
    p = np.linspace(0.05, 0.95, 100)
    y = (np.arange(100) >= 50).astype(int)
    table = calibration_table(p, y, bins=4)
    assert table["customers"].tolist() == [25, 25, 25, 25]
    assert table["observed_rate"].tolist() == [0.0, 0.0, 1.0, 1.0]
    curve = gains_curve(p, y, points=4)
    assert curve["captured"].tolist() == pytest.approx([0.0, 0.5, 1.0, 1.0, 1.0])


def test_evaluate_puts_every_metric_next_to_every_baseline() -> None:
    labels = pd.DataFrame({"customer_id": list("abcd"), "churn": [1, 0, 0, 1], "golden": [0, 1, 0, 0],
                           "value": [0.0, 80, 20, 0], "orders": [0.0, 2, 1, 0],
                           "next_order_date": pd.to_datetime([None, "2024-01-05", "2024-01-20", None])})
    good = pd.DataFrame({"churn_probability": [0.9, 0.1, 0.3, 0.8], "golden_probability": [0.0, 0.9, 0.2, 0.1],
                         "expected_value": [1.0, 70, 25, 2], "expected_orders": [0.1, 1.8, 1.1, 0.1],
                         "next_order_days": [900.0, 5, 15, 800]})
    bad = good.assign(churn_probability=1 - good["churn_probability"], expected_value=good["expected_value"] * 2)
    ev = evaluate({MODEL: good, "recency": bad}, labels, datetime(2024, 1, 1), 0.25)
    assert ev.metric("churn", "roc_auc") == 1.0 and ev.metric("churn", "roc_auc", "recency") == 0.0
    assert ev.best_baseline("value", "mae") == ("recency", pytest.approx((2 + 60 + 30 + 4) / 4))
    assert ev.metric("value", "next_order_mae_days") == pytest.approx((1 + 4) / 2)  # 4 and 19 days, predicted 5, 15
    assert "churn_roc_auc__recency" in ev.flat() and "| churn | roc_auc | 1.000 | 0.000 |" in markdown_table(ev)


def test_rank_auc_is_sklearns_with_ties() -> None:
    from sklearn.metrics import roc_auc_score

    from training.metrics import rank_auc

    rng = np.random.default_rng(3)
    positive = rng.random(2000) < 0.3
    score = np.round(rng.random(2000) + positive * 0.3, 2)  # many ties
    assert rank_auc(positive, score) == pytest.approx(roc_auc_score(positive, score), abs=1e-12)
    assert np.isnan(rank_auc(np.zeros(5, bool), score[:5]))
