"""Every candidate of a task on the same holdout: the LightGBM model and each baseline; the best one wins.

A shop must always have a champion it can score with. So the gate does not stop at "is the model better than
its best baseline?": each candidate (the model, BG/NBD x Gamma-Gamma, recency alone, last period) is scored on the
same holdout on the task's gate metric, and the best of them is what gets registered, refitted for scoring. Ties
go to the model (it sees what the baselines see and more). The winner's reason says which won and by how much.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from models.inference.config import RegistryConfig
from training.evaluate import MODEL, Evaluation
from training.metrics import LOWER_IS_BETTER

TASKS = ("churn", "golden", "value")


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

    @property
    def is_model(self) -> bool:
        return self.predictor == MODEL

    @property
    def reason(self) -> str:
        if not math.isfinite(self.value):
            return f"{self.metric} is not a number for any candidate on the holdout: the model is kept"
        if not self.runner_up:
            return f"{self.label}: {self.metric} {self.value:.4f}, the only candidate"
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
    second, second_value = (str(rest[0][0]), float(rest[0][1])) if rest else ("", float("nan"))
    return Winner(task, str(best), metric, float(value), second, second_value, evaluation.label(str(best)),
                  evaluation.label(second) if second else "")


def choose_winners(evaluation: Evaluation, r: RegistryConfig) -> dict[str, Winner]:
    """Return the winner of each task on its gate metric."""
    return {task: choose_winner(evaluation, task, metric) for task, metric in gate_metrics(r).items()}
