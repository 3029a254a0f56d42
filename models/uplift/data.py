"""One campaign's training data: point-in-time features at its cutoff, the group, and the outcome after it.

Features come from ``features.families.build.build_features`` at the campaign's cutoff, so they read only rows
before it; the outcome reads ``[cutoff, cutoff + days)``: ``ordered`` (placed a purchase order, 0/1),
``revenue`` (net revenue) or ``visited`` (any site event, 0/1; needs the events table).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import ibis
import numpy as np
import pandas as pd

from features import columns as C
from features.campaigns.inputs import orders_in
from features.campaigns.results import outcomes
from features.data.reader import Shop
from features.families.build import build_features
from features.families.config import FeaturesConfig

logger = logging.getLogger(__name__)

Outcome = Literal["ordered", "revenue", "visited"]
OUTCOMES: tuple[str, ...] = ("ordered", "revenue", "visited")
MIN_PER_GROUP = 200  # fewer treated or control customers than this and no uplift model is learnt


@dataclass
class CampaignData:
    """Features (one row per customer of the campaign), the group and the outcome, aligned row by row."""

    campaign: str
    cutoff: datetime
    features: pd.DataFrame  # customer_id + point-in-time features at the cutoff
    treated: np.ndarray  # bool
    outcome: np.ndarray  # float: 0/1 for ordered and visited, revenue otherwise
    notes: list[str] = field(default_factory=list)
    # every outcome measured in the window by name (ordered, revenue and orders always, visited when asked for), so the
    # conversion and the revenue effect are both learnt from one read of the orders
    outcomes: dict[str, np.ndarray] = field(default_factory=dict)
    outcome_name: str = "ordered"  # which of ``outcomes`` is ``outcome``


def campaign_rows(manifest: pd.DataFrame, campaign: str) -> pd.DataFrame:
    """Return the manifest rows of one campaign; an unknown name or several cutoffs is an error naming them."""
    rows = manifest[manifest["campaign"] == campaign]
    if rows.empty:
        raise ValueError(f"campaign {campaign!r} is not in the manifest (campaigns: "
                         f"{', '.join(sorted(manifest['campaign'].unique()))})")
    if rows["cutoff"].nunique() != 1:
        raise ValueError(f"campaign {campaign!r} has several cutoffs in the manifest "
                         f"({', '.join(str(c) for c in rows['cutoff'].unique()[:5])}); expected one")
    return rows


def check_audience(rows: pd.DataFrame, minimum: int = MIN_PER_GROUP) -> str | None:
    """Return why the campaign is too small to learn from (a sentence), or None when it is large enough."""
    control = int(rows["control"].sum())
    treated = len(rows) - control
    if min(treated, control) >= minimum:
        return None
    return (f"campaign {rows['campaign'].iloc[0]!r} has {treated:,} treated and {control:,} control customers; an "
            f"uplift model needs at least {minimum:,} of each, so it keeps its rule")


def campaign_data(shop: Shop, rows: pd.DataFrame, days: int, outcome: Outcome,
                  cfg: FeaturesConfig | None = None) -> CampaignData:
    """Return one campaign's features at its cutoff, its groups and the outcome in ``[cutoff, cutoff + days)``."""
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    name = str(rows["campaign"].iloc[0])
    cutoff = pd.Timestamp(rows["cutoff"].iloc[0]).to_pydatetime()
    built = build_features(shop, cutoff, cfg or FeaturesConfig())
    frame = built.frame.copy()
    frame[C.CUSTOMER_ID] = frame[C.CUSTOMER_ID].astype(str)
    book = rows.assign(**{C.CUSTOMER_ID: rows[C.CUSTOMER_ID].astype(str)})
    known = book[C.CUSTOMER_ID].isin(frame[C.CUSTOMER_ID])
    notes = []
    if not known.all():  # no purchase before the cutoff: no features, so the model cannot say anything of them
        notes.append(f"{int((~known).sum()):,} customers of {name!r} had no purchase before the cutoff and are left "
                     "out of the uplift model")
    book = book[known].reset_index(drop=True)
    features = frame.set_index(C.CUSTOMER_ID).loc[book[C.CUSTOMER_ID]].reset_index()
    measured = _orders(shop, book, cutoff, days)
    if outcome == "visited":
        measured["visited"] = _visited(shop, book, cutoff, days)
    return CampaignData(name, cutoff, features, ~book["control"].to_numpy(bool), measured[outcome], notes, measured,
                        outcome)


def _orders(shop: Shop, book: pd.DataFrame, cutoff: datetime, days: int) -> dict[str, np.ndarray]:
    """Return ordered (0/1), revenue and number of orders per customer of ``book`` in ``[cutoff, cutoff + days)``."""
    got = outcomes(book.assign(cutoff=pd.Timestamp(cutoff)), orders_in(shop, cutoff, cutoff + timedelta(days=days)),
                   days)
    return {name: got[column].to_numpy(dtype="float64")
            for name, column in (("ordered", "converted"), ("revenue", "revenue"), ("orders", "orders"))}


def _visited(shop: Shop, book: pd.DataFrame, cutoff: datetime, days: int) -> np.ndarray:
    """Return 1.0 for the customers of ``book`` with any site event in ``[cutoff, cutoff + days)``, else 0.0."""
    end = cutoff + timedelta(days=days)
    events = shop.table("events")
    if events is None:
        raise ValueError("--outcome visited needs the events table (customer_id, timestamp, event_type); this "
                         "shop has none: use --outcome ordered or revenue")
    inside = events.filter((events[C.TIMESTAMP] >= ibis.timestamp(cutoff)) & (events[C.TIMESTAMP] < end))
    visitors = set(inside.select(C.CUSTOMER_ID).distinct().execute()[C.CUSTOMER_ID].astype(str))
    return book[C.CUSTOMER_ID].isin(visitors).to_numpy(dtype="float64")
