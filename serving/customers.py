"""Customer answers: one JSON-ready record per scored customer, with the suggested action and the rule behind it.

Records are in English; the private keys ``_reasons`` and ``_rule`` keep the reasons and the rule structured, so
``serving.language.localised`` words them in the language a request asks for.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from features.words.catalogue import Lang, say
from models.inference.config import ScoringConfig
from models.inference.score import REASON_LIST

GOLDEN_LIKELY = 0.5  # golden probability from which a customer gets the VIP treatment
REORDER_LIKELY = 0.5  # expected orders in the horizon from which a cross-sell is worth sending


def suggested_action(row: dict[str, Any], scoring: ScoringConfig, horizon_days: int) -> dict[str, str]:
    """Return the action for one customer and the rule that chose it, in English (``action_rule`` has the parts)."""
    action, key, values = action_rule(row, scoring, horizon_days)
    return {"action": action, "rule": say(key, Lang.en, **values)}


def action_rule(row: dict[str, Any], scoring: ScoringConfig, horizon_days: int
                ) -> tuple[str, str, dict[str, Any]]:
    """Return the action, the catalogue key of its rule and the rule's values (the first rule that applies wins)."""
    p, high = row["churn_probability"], scoring.risk_thresholds[1]
    if row.get("dead_contact"):
        return "nothing", "rule.dead_contact", {}
    if p >= high:
        return "reactivation offer", "rule.high_risk", {"p": p, "high": high}
    if row["is_golden_now"]:
        return "VIP perk", "rule.golden_now", {}
    if row["golden_probability"] >= GOLDEN_LIKELY:
        return "VIP perk", "rule.golden_likely", {"p": row["golden_probability"], "bar": GOLDEN_LIKELY}
    if row["expected_orders"] >= REORDER_LIKELY:
        return "cross-sell", "rule.cross_sell", {"orders": row["expected_orders"], "h": horizon_days}
    return "nothing", "rule.nothing", {"risk": row["churn_risk"], "bar": REORDER_LIKELY, "h": horizon_days}


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
            "reasons": [r.text(Lang.en) for r in row.get(REASON_LIST) or ()],
        }
        action, key, values = action_rule({**row, "is_golden_now": record["is_golden_now"]}, scoring, horizon_days)
        record["action"] = {"action": action, "rule": say(key, Lang.en, **values)}
        record["_reasons"], record["_rule"] = tuple(row.get(REASON_LIST) or ()), (key, values)  # worded per request
        records[str(customer_id)] = record
    return records


def _plain(value: Any) -> Any:
    """Return a JSON-ready value: NaN and NA become None, NumPy scalars become Python ones."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    return value.item() if hasattr(value, "item") else value
