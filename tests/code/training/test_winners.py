"""The gate compares every candidate on the same holdout: the best wins, ties go to the model, NaNs never win."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd
import pytest

from models.inference.config import RegistryConfig
from training.evaluate import Evaluation
from training.gate import choose_winner, choose_winners


def evaluation(churn: dict[str, float], golden: dict[str, float], value: dict[str, float]) -> Evaluation:
    tables = {"churn": pd.DataFrame({"roc_auc": churn, "brier": {k: 1 - v for k, v in churn.items()}}),
              "golden": pd.DataFrame({"roc_auc": golden}), "value": pd.DataFrame({"spearman": value})}
    return Evaluation(datetime(2024, 1, 1), 100, tables)


def test_the_best_candidate_wins_each_task() -> None:
    e = evaluation({"model": 0.736, "bgnbd": 0.737, "recency": 0.70, "last_period": 0.65},
                   {"model": 0.85, "bgnbd": 0.82, "recency": 0.80, "last_period": float("nan")},
                   {"model": 0.30, "bgnbd": 0.29, "recency": 0.31, "last_period": 0.31})
    winners = choose_winners(e, RegistryConfig(golden_metric="roc_auc", value_metric="spearman"))
    assert {t: w.predictor for t, w in winners.items()} == {"churn": "bgnbd", "golden": "model", "value": "recency"}
    assert winners["churn"].reason == ("BG/NBD x Gamma-Gamma has the best roc_auc on the holdout: 0.7370 vs "
                                       "model (LightGBM) 0.7360")
    assert not winners["churn"].is_model and winners["golden"].is_model
    assert winners["value"].runner_up == "last_period"  # equal values: order is stable, the first stays ahead


def test_ties_go_to_the_model_lower_is_better_and_nan() -> None:
    e = evaluation({"model": 0.70, "bgnbd": 0.70, "recency": float("nan"), "last_period": 0.60},
                   {"model": float("nan"), "bgnbd": 0.8, "recency": 0.7, "last_period": 0.6},
                   {"model": float("nan"), "bgnbd": float("nan"), "recency": float("nan"), "last_period": float("nan")})
    tie = choose_winner(e, "churn", "roc_auc")
    assert tie.predictor == "model" and "tie: the model is preferred" in tie.reason
    assert choose_winner(e, "churn", "brier").predictor == "model"  # 0.30 is the lowest Brier (shared)
    assert choose_winner(e, "golden", "roc_auc").predictor == "bgnbd"  # a NaN model cannot win
    none = choose_winner(e, "value", "spearman")
    assert none.predictor == "model" and "not a number for any candidate" in none.reason


def test_default_yaml_is_the_built_in_default() -> None:
    from pathlib import Path

    from training.config import RetentionConfig, load_config

    root = Path(__file__).resolve().parents[3]
    cfg = load_config(root / "configs" / "default.yaml")
    assert cfg == RetentionConfig()
    assert cfg.training.golden_among == "buyers" and cfg.models.churn.monotone["days_since_last_order"] == 1


def holdout_evaluation(model_noise: float, baseline_noise: float, n: int = 3000, seed: int = 1) -> Evaluation:
    """A holdout where the model and BG/NBD see the same signal through noise of the given sizes."""
    from training.evaluate import evaluate

    rng = np.random.default_rng(seed)
    churned = (rng.random(n) < 0.5).astype(int)
    labels = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "churn": churned, "golden": 1 - churned,
                           "value": (1 - churned) * rng.gamma(2, 50, n), "orders": 1.0 - churned,
                           "next_order_date": pd.Timestamp("2024-01-01") + pd.to_timedelta(
                               np.where(churned == 1, np.nan, rng.integers(0, 90, n)), unit="D")})

    def predictor(noise: float) -> pd.DataFrame:
        churn = 1 / (1 + np.exp(-(churned - 0.5 + rng.normal(0, noise, n))))
        return pd.DataFrame({"churn_probability": churn, "golden_probability": 1 - churn,
                             "expected_value": 1 - churn, "expected_orders": 1 - churn, "next_order_days": 30.0})

    return evaluate({"model": predictor(model_noise), "bgnbd": predictor(baseline_noise)}, labels,
                    datetime(2024, 1, 1), 0.2)


def test_a_baseline_lead_inside_the_noise_keeps_the_model_a_clear_one_wins() -> None:
    slight = next(e for e in (holdout_evaluation(1.0, 1.0, seed=s) for s in range(20))
                  if e.metric("churn", "roc_auc", "bgnbd") > e.metric("churn", "roc_auc"))  # BG/NBD leads by luck
    kept = choose_winner(slight, "churn", "roc_auc")
    assert kept.is_model and kept.noise is not None and kept.noise[0] <= 0 < kept.noise[1]
    assert "inside the noise" in kept.reason and "BG/NBD" in kept.reason
    clear = choose_winner(holdout_evaluation(1.0, 0.5), "churn", "roc_auc")
    assert clear.predictor == "bgnbd" and clear.noise is None and "has the best roc_auc" in clear.reason


def test_golden_and_value_are_gated_on_the_ranking_blend_and_its_resample_matches_the_table() -> None:
    from training.gate import _metric, gate_metrics

    assert gate_metrics(RegistryConfig()) == {"churn": "roc_auc", "golden": "ranking_blend", "value": "ranking_blend"}
    e = holdout_evaluation(1.0, 0.6, seed=2)
    rows = np.arange(len(e.truth))
    for task in ("golden", "value"):
        for name, p in e.predictions.items():  # the fast path the bootstrap uses is the table's number
            assert _metric(task, "ranking_blend", p, e.truth.take(rows), 0.2) == pytest.approx(
                e.metric(task, "ranking_blend", name))
    winner = choose_winners(e, RegistryConfig())["golden"]
    assert winner.metric == "ranking_blend" and winner.predictor == "bgnbd"  # less noise: a clear lead
