"""The segment rules: RFM scores 1-3, the mapping of the 27 RFM cells to named segments, and their settings.

Each customer with a purchase before the cutoff gets three scores, 3 = best:

- R (recency, days since the last purchase): 3 when at most the first threshold, 2 when at most the second, else 1;
- F (frequency, purchase orders to date): 1 when at most the first threshold, 2 when at most the second, else 3;
- M (money, net revenue to date): as F.

Thresholds are the tertiles (1/3 and 2/3 quantiles, linear interpolation) over the *active base* (customers with
a purchase in the last ``active_days``), unless ``SegmentsConfig`` gives them explicitly. With many one-time
buyers both F thresholds can be 1, and then F2 is empty: F1 = one order, F3 = two or more.

The cell "R-F-M" maps to one segment (``CELL_SEGMENTS``; every one of the 27 cells maps to exactly one):

======  ==================  ==================  ==================
cell     F3                  F2                  F1
======  ==================  ==================  ==================
R3 M3    Champions           Loyal               Promising
R3 M2    Champions           Active              Promising
R3 M1    Loyal               Active              Promising
R2 M3    Loyal               Needs attention     Needs attention
R2 M2    Loyal               Needs attention     Almost lost
R2 M1    Needs attention     Needs attention     Almost lost
R1 M3    At risk             At risk             Dormant
R1 M2    At risk             Previously loyal    Dormant
R1 M1    Previously loyal    Previously loyal    Dormant
======  ==================  ==================  ==================

"New" is not a cell: it depends on tenure. A customer whose first purchase is less than ``new_days`` before the
cutoff is New whatever their cell, because a few weeks of history cannot yet be compared with the base.
"""

from __future__ import annotations

import math

from pydantic import BaseModel, ConfigDict, Field, model_validator

NEW = "New"
SEGMENTS = ("Champions", "Loyal", "Active", "Promising", NEW, "Needs attention", "At risk", "Previously loyal",
            "Almost lost", "Dormant")
"""Every segment name, from the best to the most lost (the display order)."""

SEGMENT_DESCRIPTIONS = {
    "Champions": "bought recently, often, and spent the most",
    "Loyal": "buy often; recent or big spenders",
    "Active": "recent, several orders, modest spend",
    "Promising": "recent one-time (or few-order) buyers past their first weeks",
    NEW: "first purchase less than new_days ago (tenure rule, not a cell)",
    "Needs attention": "middle recency; were regular or spent a lot, now slowing down",
    "At risk": "long since the last order, but were frequent and spent well",
    "Previously loyal": "long since the last order, were regular, spent little",
    "Almost lost": "one order a while ago, small spend",
    "Dormant": "one order long ago",
}

_BY_R_M = {  # (r, m) -> segment for f = 3, 2, 1; the table in the module docstring
    (3, 3): ("Champions", "Loyal", "Promising"),
    (3, 2): ("Champions", "Active", "Promising"),
    (3, 1): ("Loyal", "Active", "Promising"),
    (2, 3): ("Loyal", "Needs attention", "Needs attention"),
    (2, 2): ("Loyal", "Needs attention", "Almost lost"),
    (2, 1): ("Needs attention", "Needs attention", "Almost lost"),
    (1, 3): ("At risk", "At risk", "Dormant"),
    (1, 2): ("At risk", "Previously loyal", "Dormant"),
    (1, 1): ("Previously loyal", "Previously loyal", "Dormant"),
}


def cell_name(r: int, f: int, m: int) -> str:
    """Return the cell label "R-F-M", e.g. ``"3-3-3"``."""
    return f"{r}-{f}-{m}"


CELL_SEGMENTS: dict[str, str] = {
    cell_name(r, f, m): _BY_R_M[(r, m)][3 - f] for r in (3, 2, 1) for f in (3, 2, 1) for m in (3, 2, 1)
}
"""The 27 RFM cells "R-F-M" and the segment each maps to."""


def segment_table_markdown() -> str:
    """Return the cell-to-segment mapping as a Markdown table (for the README and the report)."""
    rows = ["| cell (R-F-M) | segment | who |", "| --- | --- | --- |"]
    rows += [f"| {cell} | {seg} | {SEGMENT_DESCRIPTIONS[seg]} |" for cell, seg in CELL_SEGMENTS.items()]
    rows.append(f"| (tenure < new_days) | {NEW} | {SEGMENT_DESCRIPTIONS[NEW]} |")
    return "\n".join(rows)


Pair = tuple[float, float]


# "golden" is the Pareto few: the top fifth of customers by revenue, who bring most of it (one number, used everywhere)
GOLDEN_SHARE = 0.2

class SegmentsConfig(BaseModel):
    """Settings of RFM cells, segments, golden customers and churn flags; the defaults suit a typical shop.

    Windows are half-open, ``[cutoff - days, cutoff)``. Explicit thresholds are pairs ``(low, high)`` with
    ``low <= high``; leave them out to use the active base's tertiles.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    active_days: float = Field(365, gt=0, description="Customers with a purchase in these days set the tertiles.")
    recency_days: Pair | None = Field(None, description="R3 when days since last purchase <= [0], R2 when <= [1].")
    frequency: Pair | None = Field(None, description="F1 when purchase orders <= [0], F2 when <= [1], else F3.")
    monetary: Pair | None = Field(None, description="M1 when net revenue <= [0], M2 when <= [1], else M3.")
    new_days: float = Field(30, ge=0, description="Customers whose first purchase is this recent are New.")
    previous_days: float = Field(90, gt=0, description="previous_segment is computed at cutoff minus this.")
    golden_share: float = Field(GOLDEN_SHARE, gt=0, lt=1,
                                description="Golden = this top share of customers by revenue.")
    golden_days: float = Field(365, gt=0, description="Revenue window that ranks golden customers.")
    churn_k: float = Field(2.0, gt=0, description="Churned after k x the customer's own median gap without order.")
    one_time_gap_quantile: float = Field(0.9, gt=0, lt=1, description="One-time buyers: this quantile of the "
                                         "shop's gaps between consecutive orders is their churn threshold.")
    min_churn_days: float = Field(30, ge=0, description="No churn threshold is shorter than this (same-week "
                                  "repeat orders would otherwise churn a customer within days).")
    fallback_churn_days: float = Field(365, gt=0, description="One-time threshold when the shop has no repeat gap.")
    reactivation_days: float = Field(90, gt=0, description="Dead contact: churned for longer than this window "
                                     "(and, with email events, no open or click in it).")

    @model_validator(mode="after")
    def _ordered_pairs(self) -> SegmentsConfig:
        for name in ("recency_days", "frequency", "monetary"):
            pair = getattr(self, name)
            if pair is not None and not (math.isfinite(pair[0]) and math.isfinite(pair[1]) and pair[0] <= pair[1]):
                raise ValueError(f"{name} thresholds must be two finite numbers, low <= high; got {pair}")
        return self


class RfmThresholds(BaseModel):
    """The thresholds in use at one cutoff, each ``(low, high)``; see the module docstring for the scoring."""

    model_config = ConfigDict(frozen=True)

    recency_days: Pair
    frequency: Pair
    monetary: Pair
    base_customers: int = Field(description="Customers in the active base the tertiles came from (0 = configured).")
