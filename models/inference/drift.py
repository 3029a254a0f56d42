"""Drift between two populations: population stability index (PSI) and the share of missing values per column.

PSI is computed here with NumPy rather than with evidently: it is fifteen lines, the bins are the reference's
deciles (so every bin starts with about a tenth of the reference), a hand-worked example checks it, and evidently
0.7 would bring a large dependency tree and an API that has changed with every minor version for one formula.
``PSI = sum((now - ref) * ln(now / ref))`` over the bins, with empty bins floored at 1e-4. The usual reading:
under 0.1 stable, 0.1 to 0.25 moving, over 0.25 shifted.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

FLOOR = 1e-4  # share given to an empty bin, so the logarithm stays finite


class MonitorConfig(BaseModel):
    """Thresholds of ``retention monitor``: when drift or decay says retrain."""

    model_config = ConfigDict(extra="forbid")

    bins: int = Field(10, ge=2, le=100, description="PSI bins: quantiles of the reference.")
    feature_psi: float = Field(0.25, gt=0, description="A feature with a larger PSI has shifted.")
    max_shifted_share: float = Field(0.25, ge=0, le=1, description="Retrain when more than this share of the "
                                     "champions' features has shifted.")
    score_psi: float = Field(0.2, gt=0, description="Retrain when a champion's score has a larger PSI (stricter "
                             "than for features: the scores are what campaigns act on).")
    missing_rise: float = Field(0.10, ge=0, le=1, description="Retrain when a feature's missing share rose by more.")
    max_metric_drop: float = Field(0.05, ge=0, description="Retrain when the realised gate metric of past "
                                   "predictions is this much below the holdout figure the champion was promoted on.")


def psi(reference: np.ndarray, current: np.ndarray, bins: int = 10) -> float:
    """Return the population stability index of ``current`` against ``reference`` (missing values left out).

    A column with few distinct values (flags, counts, categories) gets one bin per value; others the reference's
    quantiles. Values outside the reference's range fall into the first or last bin.

    Examples
    --------
    >>> round(psi(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])), 4)  # shares 0.5/0.5 -> 0.25/0.75
    0.2747
    """
    ref = pd.Series(reference).dropna()
    now = pd.Series(current).dropna()
    if ref.empty or now.empty:
        return float("nan")
    if not pd.api.types.is_numeric_dtype(ref) or ref.nunique() <= bins:
        values = pd.Index(pd.unique(pd.concat([ref, now]).astype(str)))
        a = ref.astype(str).value_counts().reindex(values, fill_value=0).to_numpy(dtype="float64")
        b = now.astype(str).value_counts().reindex(values, fill_value=0).to_numpy(dtype="float64")
    else:
        edges = np.unique(np.quantile(ref.to_numpy(dtype="float64"), np.linspace(0, 1, bins + 1)[1:-1]))
        a = np.bincount(np.searchsorted(edges, ref.to_numpy(dtype="float64"), side="right"), minlength=len(edges) + 1)
        b = np.bincount(np.searchsorted(edges, now.to_numpy(dtype="float64"), side="right"), minlength=len(edges) + 1)
    p = np.maximum(a / a.sum(), FLOOR)
    q = np.maximum(b / b.sum(), FLOOR)
    return float(np.sum((q - p) * np.log(q / p)))


def drift_table(reference: pd.DataFrame, current: pd.DataFrame, columns: list[str], kind: str,
                cfg: MonitorConfig) -> pd.DataFrame:
    """Return one row per column: PSI, the missing share then and now, and whether it shifted."""
    limit = cfg.score_psi if kind == "score" else cfg.feature_psi
    rows = []
    for column in columns:
        ref = reference[column] if column in reference else pd.Series(dtype="float64")
        now = current[column] if column in current else pd.Series(dtype="float64")
        value = psi(ref.to_numpy(), now.to_numpy(), cfg.bins)
        missing_ref = float(ref.isna().mean()) if len(ref) else 1.0
        missing_now = float(now.isna().mean()) if len(now) else 1.0
        rows.append({"kind": kind, "name": column, "psi": value, "missing_then": missing_ref,
                     "missing_now": missing_now, "shifted": bool(value > limit),
                     "missing_rose": bool(missing_now - missing_ref > cfg.missing_rise)})
    return pd.DataFrame(rows, columns=["kind", "name", "psi", "missing_then", "missing_now", "shifted",
                                       "missing_rose"])
