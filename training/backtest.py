"""Backtests a marketer and an engineer can read: the holdout by predicted decile, predicted against what happened.

For each prediction (churn probability, golden probability, expected value, expected orders, days to the next
order) customers are cut into ten equal groups by the prediction (decile 1 = the lowest predictions) and each
group shows its mean prediction next to the mean outcome: the churn rate, the golden share, the revenue, the
orders, and for the next order the mean days among those who did order (with the share who did). A well-ranked,
well-calibrated prediction climbs with the decile and matches the outcome in every row.

Every training run logs this table and its plot for the champions on the holdout; ``retention backtest`` prints
it for the registered champions at a past cutoff (``backtest_champions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from features import columns as C
from features.analytics.segments import default_cutoff
from features.data.reader import Shop
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
from models.inference.inputs import model_inputs
from models.inference.score import Champions
from training.labels import days_to_next_order, make_labels

DECILES = 10
# prediction -> (the outcome it predicts, how a reader names that outcome)
PREDICTIONS = {
    CHURN_PROBABILITY: (CHURN, "churn rate"),
    GOLDEN_PROBABILITY: (GOLDEN, "golden share"),
    EXPECTED_VALUE: (VALUE, "revenue"),
    EXPECTED_ORDERS: (ORDERS, "orders"),
    NEXT_ORDER_DAYS: (NEXT_ORDER_DAYS, "days to next order (those who ordered)"),
}
COLUMNS = ("prediction", "decile", "customers", "mean_predicted", "mean_actual", "actual", "ordered_share")


def deciles(predicted: np.ndarray, bins: int = DECILES) -> np.ndarray:
    """Return each row's decile of the prediction, 1 (lowest) to ``bins``; ties split by position, so the groups
    are equal in size whatever the ties."""
    n = len(predicted)
    if n == 0:
        return np.array([], dtype=int)
    rank = pd.Series(np.asarray(predicted, dtype="float64")).rank(method="first").to_numpy()
    return np.ceil(rank / n * bins).clip(1, bins).astype(int)


def decile_table(predictions: pd.DataFrame, labels: pd.DataFrame, cutoff: datetime) -> pd.DataFrame:
    """Return the backtest: one row per (prediction, decile) with its customers, mean prediction and outcome.

    ``predictions`` holds any of the PREDICTIONS columns, row-aligned with ``labels`` (``training.labels``).
    """
    truth = labels.copy()
    truth[NEXT_ORDER_DAYS] = days_to_next_order(labels, cutoff).to_numpy()
    parts = []
    for column, (outcome, name) in PREDICTIONS.items():
        if column not in predictions.columns:
            continue
        frame = pd.DataFrame({"predicted": predictions[column].to_numpy(dtype="float64"),
                              "actual_value": truth[outcome].to_numpy(dtype="float64")})
        frame["decile"] = deciles(frame["predicted"].to_numpy())
        grouped = frame.groupby("decile")
        table = pd.DataFrame({
            "customers": grouped.size(), "mean_predicted": grouped["predicted"].mean(),
            "mean_actual": grouped["actual_value"].mean(),  # NaN-skipping: next order among those who ordered
            "ordered_share": grouped["actual_value"].apply(lambda s: float(s.notna().mean()))
            if column == NEXT_ORDER_DAYS else np.nan,
        }).reset_index()
        table.insert(0, "prediction", column)
        table.insert(5, "actual", name)
        parts.append(table)
    if not parts:
        return pd.DataFrame(columns=list(COLUMNS))
    return pd.concat(parts, ignore_index=True)[list(COLUMNS)]


def decile_figure(table: pd.DataFrame) -> Any:
    """Return a matplotlib figure: one panel per prediction, predicted and actual mean by decile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(dict.fromkeys(table["prediction"]))
    fig, axes = plt.subplots(1, max(1, len(names)), figsize=(4 * max(1, len(names)), 3.6), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        rows = table[table["prediction"] == name]
        ax.plot(rows["decile"], rows["mean_predicted"], marker="o", label="predicted")
        ax.plot(rows["decile"], rows["mean_actual"], marker="s", label="actual")
        ax.set(title=name, xlabel="decile of the prediction (10 = highest)", ylabel=str(rows["actual"].iloc[0]))
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def champion_predictions(predictors: dict[str, pd.DataFrame], winners: dict[str, str]) -> pd.DataFrame:
    """Return the holdout predictions the registered champions make: each task's columns from its winner."""
    columns = {"churn": (CHURN_PROBABILITY,), "golden": (GOLDEN_PROBABILITY,),
               "value": (EXPECTED_VALUE, EXPECTED_ORDERS, NEXT_ORDER_DAYS)}
    out = pd.DataFrame(index=next(iter(predictors.values())).index)
    for task, names in columns.items():
        source = predictors[winners.get(task, "model")]
        for name in names:
            out[name] = source[name].to_numpy()
    return out


@dataclass
class Backtest:
    """The champions' decile table at a past cutoff."""

    cutoff: datetime
    horizon_days: int
    customers: int
    table: pd.DataFrame


def backtest_champions(shop: Shop, champions: Champions, cutoff: datetime | None = None) -> Backtest:
    """Score every customer at ``cutoff`` with the champions and compare with the next horizon of the data.

    Default cutoff: the last complete horizon (the day after the last order minus the horizon). The champions
    may have trained on windows overlapping that horizon; pick an earlier cutoff for an out-of-sample look.

    Raises
    ------
    ValueError
        When the horizon after ``cutoff`` runs past the data (the outcome is not known yet).
    """
    h = champions.horizon_days
    end = default_cutoff(shop.transactions)
    cutoff = cutoff or end - timedelta(days=h)
    if cutoff + timedelta(days=h) > end:
        raise ValueError(f"--cutoff {cutoff:%Y-%m-%d}: its {h}-day horizon ends {cutoff + timedelta(days=h):%Y-%m-%d},"
                         f" after the data does ({end:%Y-%m-%d}); pick a cutoff on or before "
                         f"{end - timedelta(days=h):%Y-%m-%d}")
    meta = champions.models["golden"].metadata_
    labels = make_labels(shop, cutoff, h, float(meta.get("golden_share", 0.2)), str(meta.get("golden_among", "all")))
    cache: dict[str, pd.DataFrame] = {}
    predicted = pd.DataFrame({C.CUSTOMER_ID: labels[C.CUSTOMER_ID]})
    take = {"churn": (CHURN_PROBABILITY,), "golden": (GOLDEN_PROBABILITY,),
            "value": (EXPECTED_VALUE, EXPECTED_ORDERS, NEXT_ORDER_DAYS)}
    for task, model in champions.models.items():
        inputs = model_inputs(shop, model, cutoff, cache)
        out = model.predict(inputs).set_index(C.CUSTOMER_ID).reindex(labels[C.CUSTOMER_ID])
        for column in take[task]:
            predicted[column] = out[column].to_numpy()
    return Backtest(cutoff, h, len(labels), decile_table(predicted, labels, cutoff))
