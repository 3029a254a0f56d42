"""Customer answers: one JSON-ready record per scored customer, with the suggested action and the rule behind it."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from models.inference.config import ScoringConfig

GOLDEN_LIKELY = 0.5  # golden probability from which a customer gets the VIP treatment
REORDER_LIKELY = 0.5  # expected orders in the horizon from which a cross-sell is worth sending


def suggested_action(row: dict[str, Any], scoring: ScoringConfig, horizon_days: int) -> dict[str, str]:
    """Return the action for one customer and the rule that chose it (the first rule that applies wins)."""
    p, high = row["churn_probability"], scoring.risk_thresholds[1]
    if row.get("dead_contact"):
        return {"action": "nothing", "rule": "dead contact: churned for longer than the reactivation window, so "
                "an offer is unlikely to pay; keep them on the suppression list"}
    if p >= high:
        return {"action": "reactivation offer", "rule": f"churn probability {p:.2f} is at least the high-risk "
                f"threshold {high:.2f}"}
    if row["is_golden_now"] or row["golden_probability"] >= GOLDEN_LIKELY:
        why = "golden now (top 20% by recent revenue)" if row["is_golden_now"] else (
            f"golden probability {row['golden_probability']:.2f} is at least {GOLDEN_LIKELY}")
        return {"action": "VIP perk", "rule": why}
    if row["expected_orders"] >= REORDER_LIKELY:
        return {"action": "cross-sell", "rule": f"expected to order again ({row['expected_orders']:.1f} orders in "
                f"the next {horizon_days} days) and not at high risk: show what goes with their purchases"}
    return {"action": "nothing", "rule": f"churn risk {row['churn_risk']}, not golden, fewer than {REORDER_LIKELY} "
            f"expected orders in {horizon_days} days: no action worth its cost"}


def customer_records(scores: pd.DataFrame, segments: pd.DataFrame, inputs: pd.DataFrame, scoring: ScoringConfig,
                     horizon_days: int) -> dict[str, dict[str, Any]]:
    """Return customer_id -> the ``/customer`` answer, for every scored customer."""
    seg = segments.set_index("customer_id")
    extra = inputs.set_index("customer_id")
    frame = scores.set_index("customer_id")
    for column in ("previous_segment", "dead_contact"):
        frame[column] = seg[column].reindex(frame.index)
    for column, source in (("best_weekday", "preferred_weekday"), ("best_hour", "preferred_hour")):
        frame[column] = extra[source].reindex(frame.index) if source in extra.columns else None
    records = {}
    for customer_id, values in zip(frame.index, frame.to_dict("records"), strict=True):
        row = {key: _plain(value) for key, value in values.items()}
        record = {
            "customer_id": str(customer_id), "segment": row["segment"], "rfm_cell": row["rfm_cell"],
            "previous_segment": row["previous_segment"], "is_golden_now": bool(row["is_golden_now"]),
            "churn_probability": row["churn_probability"], "churn_risk": row["churn_risk"],
            "golden_probability": row["golden_probability"], "expected_value": row["expected_value"],
            "expected_orders": row["expected_orders"], "next_order_date": row["next_order_date"],
            "best_weekday": row["best_weekday"],
            "best_hour": None if row["best_hour"] is None else int(round(row["best_hour"])),
            "reasons": [r for r in str(row["reasons"] or "").split("; ") if r],
        }
        record["action"] = suggested_action({**row, "is_golden_now": record["is_golden_now"]}, scoring, horizon_days)
        records[str(customer_id)] = record
    return records


def _plain(value: Any) -> Any:
    """Return a JSON-ready value: NaN and NA become None, NumPy scalars become Python ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    return value.item() if hasattr(value, "item") else value
