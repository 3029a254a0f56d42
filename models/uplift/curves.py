"""The Qini curve a campaign's uplift model earned on its held-out customers, for the report's chart and sentence.

Training logs the chosen model's curve with its run (``uplift_curve.json``): after targeting each share of the
held-out customers, highest predicted effect first, the share of the campaign's extra outcome (extra orders,
revenue or visits) those customers bring (``qini.qini_curve`` divided by its end point). The report reads the
champion's curve back, draws it and says what the top 30% get, both from the same points (``captured_at``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.uplift.qini import qini_curve

logger = logging.getLogger(__name__)

CURVE_FILE = "uplift_curve.json"
POINTS = 100
TOP = 0.3  # the share the report's sentence speaks of


@dataclass(frozen=True)
class UpliftCurve:
    """One campaign's held-out Qini curve: targeted share -> share of the campaign's extra outcome."""

    campaign: str
    version: str
    outcome: str  # ordered, revenue or visited
    model: str  # the learner's kind: t, x or ct
    holdout: int
    share: np.ndarray  # 0 .. 1, POINTS + 1 points
    captured: np.ndarray  # share of the extra outcome; NaN when the held-out campaign brought none
    total: float  # the extra outcome per treated held-out customer (the curve's end before dividing)


def curve_payload(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray, points: int = POINTS
                  ) -> dict[str, Any]:
    """Return the curve sampled at ``points`` + 1 evenly spaced shares (JSON-ready)."""
    share, gain = qini_curve(score, treated, outcome)
    grid = np.linspace(0.0, 1.0, points + 1)
    at = np.interp(grid, np.r_[0.0, share], np.r_[0.0, gain])
    total = float(gain[-1])
    captured = at / total if total > 0 else np.full_like(at, np.nan)
    return {"share": grid.round(4).tolist(), "captured": [None if np.isnan(v) else round(float(v), 5)
                                                          for v in captured],
            "total": total, "holdout": int(len(score))}


def captured_at(curve: UpliftCurve, top: float = TOP) -> float:
    """Return the share of the campaign's extra outcome that targeting the ``top`` share gets (NaN if none)."""
    return float(np.interp(top, curve.share, curve.captured))


def from_payload(payload: dict[str, Any], campaign: str, version: str, outcome: str, model: str) -> UpliftCurve:
    captured = np.array([np.nan if v is None else float(v) for v in payload["captured"]])
    return UpliftCurve(campaign, version, outcome, model, int(payload["holdout"]),
                       np.asarray(payload["share"], "float64"), captured, float(payload["total"]))


def champion_curves() -> list[UpliftCurve]:
    """Return the held-out curve of every campaign's champion uplift model in the registry, by campaign name.

    A champion whose run has no curve (trained before curves were logged) is skipped with a log line.
    """
    import mlflow

    from models.inference.registry import alias_version, client

    names = sorted(m.name for m in client().search_registered_models(filter_string="name LIKE 'uplift_%'"))
    out = []
    for name in names:
        found = alias_version(name, "champion")
        if found is None or not found.get("run_id"):
            continue
        try:
            payload = mlflow.artifacts.load_dict(f"runs:/{found['run_id']}/{CURVE_FILE}")
        except Exception as exc:  # noqa: BLE001 - an old run without the file: no curve, not a failed report
            logger.info("%s v%s: no %s in its run (%s)", name, found["version"], CURVE_FILE, exc)
            continue
        tags = found["tags"]
        out.append(from_payload(payload, name.removeprefix("uplift_"), str(found["version"]),
                                tags.get("uplift_outcome", "ordered"), tags.get("uplift_model", "")))
    return out
