"""Evaluation on the holdout: every metric of the models next to every baseline, tables, JSON and plots.

A predictor is a frame with the customer-model outputs (churn_probability, golden_probability, expected_value,
expected_orders, next_order_days), row-aligned with the holdout labels. The models' three frames are joined
into one predictor called ``model``; each baseline is its own predictor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd

from models.customer.base import (
    CHURN,
    CHURN_PROBABILITY,
    EXPECTED_ORDERS,
    EXPECTED_VALUE,
    GOLDEN,
    GOLDEN_PROBABILITY,
    NEXT_ORDER_DAYS,
    ORDERS,
    VALUE,
)
from training.labels import days_to_next_order
from training.metrics import (
    LOWER_IS_BETTER,
    calibration_table,
    churn_metrics,
    gains_curve,
    golden_metrics,
    revenue_capture,
    value_metrics,
)

MODEL = "model"
TASKS = ("churn", "golden", "value")
PREDICTOR_LABELS = {MODEL: "model (LightGBM)", "bgnbd": "BG/NBD x Gamma-Gamma", "recency": "recency alone",
                    "last_period": "last period"}


@dataclass
class Evaluation:
    """Metrics per task (rows: predictors, columns: metrics) and the churn calibration tables."""

    cutoff: datetime
    customers: int
    tables: dict[str, pd.DataFrame]
    calibration: dict[str, pd.DataFrame] = field(default_factory=dict)
    gains: dict[str, pd.DataFrame] = field(default_factory=dict)
    model_label: str = PREDICTOR_LABELS[MODEL]
    # what the tables were computed from, so the gate can resample it (empty for a hand-made evaluation)
    predictions: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)
    truth: Truth | None = field(default=None, repr=False)
    golden_share: float = 0.2

    def label(self, predictor: str) -> str:
        """Return the display name of a predictor."""
        return self.model_label if predictor == MODEL else PREDICTOR_LABELS.get(predictor, predictor)

    def metric(self, task: str, metric: str, predictor: str = MODEL) -> float:
        return float(self.tables[task].loc[predictor, metric])

    def best_baseline(self, task: str, metric: str) -> tuple[str, float]:
        """Return the best baseline on one metric (name, value); NaNs are ignored."""
        column = self.tables[task][metric].drop([MODEL, "lightgbm"], errors="ignore").dropna()  # candidates
        if column.empty:
            return "", float("nan")
        name = column.idxmin() if metric in LOWER_IS_BETTER else column.idxmax()
        return str(name), float(column[name])

    def flat(self) -> dict[str, float]:
        """Return ``{task}_{metric}`` (model) and ``{task}_{metric}__{baseline}`` numbers, NaNs left out."""
        out = {}
        for task, table in self.tables.items():
            for predictor, row in table.iterrows():
                suffix = "" if predictor == MODEL else f"__{predictor}"
                out.update({f"{task}_{m}{suffix}": float(v) for m, v in row.items() if np.isfinite(v)})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"holdout_cutoff": self.cutoff.isoformat(), "customers": self.customers,
                "metrics": {task: _records(t) for task, t in self.tables.items()},
                "churn_calibration": {p: t.to_dict(orient="records") for p, t in self.calibration.items()}}


def _records(table: pd.DataFrame) -> dict[str, dict[str, float | None]]:
    return {str(p): {m: (None if not math.isfinite(v) else float(v)) for m, v in row.items()}
            for p, row in table.iterrows()}


@dataclass(frozen=True)
class Truth:
    """What the holdout's customers did, one array per target, row-aligned with the predictors."""

    churn: np.ndarray
    golden: np.ndarray
    value: np.ndarray
    orders: np.ndarray
    next_days: np.ndarray

    @classmethod
    def of(cls, labels: pd.DataFrame, cutoff: datetime) -> Truth:
        return cls(labels[CHURN].to_numpy(), labels[GOLDEN].to_numpy(), labels[VALUE].to_numpy(dtype="float64"),
                   labels[ORDERS].to_numpy(dtype="float64"),
                   days_to_next_order(labels, cutoff).to_numpy(dtype="float64"))

    def __len__(self) -> int:
        return len(self.churn)

    def take(self, rows: np.ndarray) -> Truth:
        return Truth(*(getattr(self, f)[rows] for f in ("churn", "golden", "value", "orders", "next_days")))


def predictor_metrics(p: pd.DataFrame, truth: Truth, golden_share: float) -> dict[str, dict[str, float]]:
    """Return every metric of one predictor, by task."""
    return {task: task_metrics(task, p, truth, golden_share) for task in TASKS}


def task_metrics(task: str, p: pd.DataFrame, truth: Truth, golden_share: float) -> dict[str, float]:
    """Return one task's metrics of one predictor."""
    if task == "churn":
        return churn_metrics(p[CHURN_PROBABILITY].to_numpy(dtype="float64"), truth.churn)
    if task == "golden":
        golden = golden_metrics(p[GOLDEN_PROBABILITY].to_numpy(), truth.golden, truth.value, golden_share)
        # the same top share ranked by expected value: the bar BG/NBD x Gamma-Gamma sets for golden
        golden["revenue_capture_by_value"] = revenue_capture(truth.value, p[EXPECTED_VALUE].to_numpy(), golden_share)
        return golden
    return value_metrics(p[EXPECTED_VALUE].to_numpy(), p[EXPECTED_ORDERS].to_numpy(), truth.value, truth.orders,
                         p[NEXT_ORDER_DAYS].to_numpy(), truth.next_days)


def evaluate(predictors: dict[str, pd.DataFrame], labels: pd.DataFrame, cutoff: datetime,
             golden_share: float, model_label: str = PREDICTOR_LABELS[MODEL]) -> Evaluation:
    """Return every metric of every predictor against the holdout labels."""
    truth = Truth.of(labels, cutoff)
    rows: dict[str, dict[str, dict[str, float]]] = {task: {} for task in TASKS}
    evaluation = Evaluation(cutoff, len(labels), {}, model_label=model_label, predictions=dict(predictors),
                            truth=truth, golden_share=golden_share)
    for name, p in predictors.items():
        if len(p) != len(labels):
            raise ValueError(f"predictor {name} has {len(p)} rows, the holdout {len(labels)}")
        for task, metrics in predictor_metrics(p, truth, golden_share).items():
            rows[task][name] = metrics
        churn = p[CHURN_PROBABILITY].to_numpy(dtype="float64")
        evaluation.calibration[name] = calibration_table(churn, truth.churn)
        evaluation.gains[name] = gains_curve(churn, truth.churn)
    evaluation.tables = {task: pd.DataFrame.from_dict(r, orient="index") for task, r in rows.items()}
    return evaluation


def task_metric(task: str, metric: str, outputs: pd.DataFrame, labels: pd.DataFrame, cutoff: datetime,
                golden_share: float) -> float:
    """Return one metric of one task from a model's outputs (only the task's columns are needed)."""
    frame = outputs.copy()
    for column in (CHURN_PROBABILITY, GOLDEN_PROBABILITY, EXPECTED_VALUE, EXPECTED_ORDERS, NEXT_ORDER_DAYS):
        if column not in frame.columns:
            frame[column] = 0.0  # other tasks' columns: filler, their metrics are not read
    return evaluate({MODEL: frame}, labels, cutoff, golden_share).metric(task, metric)


def model_predictor(churn: pd.DataFrame, golden: pd.DataFrame, value: pd.DataFrame) -> pd.DataFrame:
    """Join the three models' outputs (row-aligned) into one predictor frame."""
    return pd.concat([churn[[CHURN_PROBABILITY]], golden[[GOLDEN_PROBABILITY]],
                      value[[EXPECTED_VALUE, EXPECTED_ORDERS, NEXT_ORDER_DAYS]]], axis=1)


def comparison_rows(evaluation: Evaluation, metrics: dict[str, tuple[str, ...]]) -> list[tuple[str, str, dict]]:
    """Return (task, metric, {predictor: value}) rows for printing a model-against-baselines table."""
    out = []
    for task, names in metrics.items():
        table = evaluation.tables[task]
        for metric in names:
            if metric in table.columns:
                out.append((task, metric, table[metric].to_dict()))
    return out


SUMMARY_METRICS = {
    "churn": ("roc_auc", "pr_auc", "brier", "lift_top_decile"),
    "golden": ("roc_auc", "pr_auc", "revenue_capture", "revenue_capture_by_value"),
    "value": ("spearman", "spearman_tied", "gini", "mae", "revenue_capture_top_decile", "orders_spearman", "orders_mae",
              "next_order_mae_days"),
}


def markdown_table(evaluation: Evaluation, title: str = "") -> str:
    """Return the summary metrics as a markdown table: one row per (task, metric), one column per predictor."""
    predictors = list(evaluation.tables["churn"].index)
    head = "| task | metric | " + " | ".join(evaluation.label(p) for p in predictors) + " |"
    lines = ([f"**{title}**", ""] if title else []) + [head, "|" + " --- |" * (len(predictors) + 2)]
    for task, metric, values in comparison_rows(evaluation, SUMMARY_METRICS):
        arrow = " (lower is better)" if metric in LOWER_IS_BETTER else ""
        cells = " | ".join(_fmt(values.get(p)) for p in predictors)
        lines.append(f"| {task} | {metric}{arrow} | {cells} |")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.3f}" if abs(value) < 100 else f"{value:,.0f}"


def figures(evaluation: Evaluation, importances: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """Return matplotlib figures: churn calibration, churn gains (lift), feature importance of each model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs: dict[str, Any] = {}
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, table in evaluation.calibration.items():
        ax.plot(table["mean_predicted"], table["observed_rate"], marker="o", label=evaluation.label(name))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="predicted churn probability (decile mean)", ylabel="observed churn rate", title="Churn calibration")
    ax.legend(fontsize=8)
    figs["churn_calibration.png"] = fig
    fig, ax = plt.subplots(figsize=(5, 5))
    for name, table in evaluation.gains.items():
        ax.plot(table["customers_share"], table["captured"], label=evaluation.label(name))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set(xlabel="share of customers, highest churn risk first", ylabel="share of churners found",
           title="Churn gains (lift)")
    ax.legend(fontsize=8)
    figs["churn_gains.png"] = fig
    for model, table in importances.items():
        top = table.head(15).iloc[::-1]
        fig, ax = plt.subplots(figsize=(6, 5))
        ax.barh(top["feature"], top["gain_share"])
        ax.set(xlabel="share of total gain", title=f"{model}: feature importance")
        fig.tight_layout()
        figs[f"{model}_importance.png"] = fig
    return figs
