"""Every candidate of a task on the same holdout: the LightGBM model and each baseline; the best one wins.

A shop must always have a champion it can score with. So the gate does not stop at "is the model better than
its best baseline?": each candidate (the model, BG/NBD x Gamma-Gamma, recency alone, last period) is scored on the
same holdout on the task's gate metric, and the best of them is what gets registered, refitted for scoring. Ties
go to the model (it sees what the baselines see and more), and so does a baseline's lead that the holdout cannot
tell from noise: the model stays unless the 95% bootstrap interval of the baseline's lead (the same customers
resampled for both) lies above zero. On CDNOW a lead inside the noise at the longer horizons was a loss on what
customers did next. The winner's reason says which won and by how much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.customer.base import CHURN_PROBABILITY, EXPECTED_VALUE, GOLDEN_PROBABILITY
from models.inference.config import RegistryConfig
from training.evaluate import MODEL, Evaluation, Truth, task_metrics
from training.metrics import LOWER_IS_BETTER, rank_auc, ranking_blend, spearman

TASKS = ("churn", "golden", "value")
DRAWS = 200  # bootstrap resamples of the holdout for a baseline's lead over the model


@dataclass(frozen=True)
class Winner:
    """The candidate a task registers: which predictor, on which metric, and against whom."""

    task: str
    predictor: str
    metric: str
    value: float
    runner_up: str
    runner_up_value: float
    label: str
    runner_up_label: str
    noise: tuple[float, float] | None = None  # 95% interval of the leading baseline's lead, when it was kept out

    @property
    def is_model(self) -> bool:
        return self.predictor == MODEL

    @property
    def reason(self) -> str:
        if not math.isfinite(self.value):
            return f"{self.metric} is not a number for any candidate on the holdout: the model is kept"
        if not self.runner_up:
            return f"{self.label}: {self.metric} {self.value:.4f}, the only candidate"
        if self.noise is not None:
            low, high = self.noise
            return (f"{self.label} is kept: {self.runner_up_label}'s {self.metric} {self.runner_up_value:.4f} vs "
                    f"{self.value:.4f} is a lead inside the noise (95% interval {low:+.4f} to {high:+.4f})")
        tie = " (tie: the model is preferred)" if self.value == self.runner_up_value and self.is_model else ""
        return (f"{self.label} has the best {self.metric} on the holdout: {self.value:.4f} vs "
                f"{self.runner_up_label} {self.runner_up_value:.4f}{tie}")


def gate_metrics(r: RegistryConfig) -> dict[str, str]:
    """Return the gate metric of each task."""
    return {"churn": r.churn_metric, "golden": r.golden_metric, "value": r.value_metric}


def choose_winner(evaluation: Evaluation, task: str, metric: str) -> Winner:
    """Return the best predictor of one task on ``metric`` (the model on ties; NaNs never win)."""
    table = evaluation.tables[task]
    if metric not in table.columns:
        raise ValueError(f"registry.{task}_metric {metric!r} is not a {task} metric; choose one of "
                         f"{list(table.columns)}")
    column = table[metric].dropna()
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    # the model first so that a tie keeps it; then by value, best first
    ranked = sorted(column.items(), key=lambda kv: (-sign * float(kv[1]), kv[0] != MODEL))
    if not ranked:
        return Winner(task, MODEL, metric, float("nan"), "", float("nan"), evaluation.label(MODEL), "")
    (best, value), rest = ranked[0], ranked[1:]
    model_value = float(column.get(MODEL, float("nan")))
    if best != MODEL and math.isfinite(model_value) and evaluation.predictions:
        low, high = lead_interval(evaluation, task, metric, str(best))
        if low <= 0:
            return Winner(task, MODEL, metric, model_value, str(best), float(value), evaluation.label(MODEL),
                          evaluation.label(str(best)), (low, high))
    second, second_value = (str(rest[0][0]), float(rest[0][1])) if rest else ("", float("nan"))
    return Winner(task, str(best), metric, float(value), second, second_value, evaluation.label(str(best)),
                  evaluation.label(second) if second else "")


def lead_interval(evaluation: Evaluation, task: str, metric: str, challenger: str, draws: int = DRAWS,
                  seed: int = 0) -> tuple[float, float]:
    """Return the 95% bootstrap interval of ``challenger``'s lead over the model on ``metric`` (> 0: better)."""
    truth = evaluation.truth
    assert truth is not None  # evaluations with predictions always carry their truth
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    ours, theirs = evaluation.predictions[MODEL], evaluation.predictions[challenger]
    rng = np.random.default_rng(seed)
    leads = []
    for _ in range(draws):
        rows = rng.integers(0, len(truth), len(truth))
        sample = truth.take(rows)
        a = _metric(task, metric, theirs.iloc[rows], sample, evaluation.golden_share)
        b = _metric(task, metric, ours.iloc[rows], sample, evaluation.golden_share)
        leads.append(sign * (a - b))
    low, high = np.nanpercentile(np.asarray(leads, dtype="float64"), [2.5, 97.5])
    return float(low), float(high)


def _metric(task: str, metric: str, p: pd.DataFrame, truth: Truth, share: float) -> float:
    """Return one metric; the usual gate metrics directly (200 resamples of every metric would take minutes)."""
    if metric == "roc_auc" and task in ("churn", "golden"):
        column, positive = (CHURN_PROBABILITY, truth.churn) if task == "churn" else (GOLDEN_PROBABILITY, truth.golden)
        return rank_auc(np.asarray(positive, dtype=bool), p[column].to_numpy(dtype="float64"))
    if metric == "spearman" and task == "value":
        return spearman(p[EXPECTED_VALUE].to_numpy(dtype="float64"), truth.value)
    if metric == "ranking_blend" and task in ("golden", "value"):
        score = p[GOLDEN_PROBABILITY if task == "golden" else EXPECTED_VALUE].to_numpy(dtype="float64")
        golden = np.asarray(truth.golden, dtype=bool)
        whole = rank_auc(golden, score) if task == "golden" else spearman(score, truth.value)
        return ranking_blend(whole, truth.value, score)
    return task_metrics(task, p, truth, share).get(metric, math.nan)


def choose_winners(evaluation: Evaluation, r: RegistryConfig) -> dict[str, Winner]:
    """Return the winner of each task on its gate metric."""
    return {task: choose_winner(evaluation, task, metric) for task, metric in gate_metrics(r).items()}
