"""Target a campaign by its uplift model: rank the audience by predicted effect, drop sure things and lost causes.

The audience is what the campaign's rule chose; its control group is the seeded hash draw of
``features.campaigns.control`` (a customer's group depends only on the campaign, the customer and the seed), so
targeting never redraws it: every kept customer keeps the group the rule run gave them. Customers are dropped from
both groups alike, on features from before the cutoff only, so treated and control stay comparable and
``campaign-results`` still measures the campaign on the customers it kept.

Who is dropped. The model says per customer the extra chance of an order if contacted (``effect``) and the chance
of an order without contact (``baseline``, its control-group model). Among the customers whose baseline is at or
above the audience's median, the ``drop_sure_things`` share of the audience with the lowest effect goes: they
would buy anyway. Among those below the median, the ``drop_lost_causes`` share with the lowest effect goes: they
will not buy whatever we send. Customers the model cannot score (no purchase before the cutoff) are kept, last.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features import columns as C
from features.campaigns.audiences import Audiences
from features.data.reader import Shop
from features.families.build import build_features
from features.families.config import FeaturesConfig
from models.uplift.model import EXTRA_REVENUE, registered_name
from models.uplift.score import champion_uplift

logger = logging.getLogger(__name__)

TARGET_COLUMNS = ("predicted_effect", EXTRA_REVENUE, "baseline_chance")


class UpliftTargeting(BaseModel):
    """How much of each audience to drop, as shares of the audience (0 keeps everyone, only ranks)."""

    model_config = ConfigDict(extra="forbid")

    drop_sure_things: float = Field(0.1, ge=0.0, le=0.5)
    drop_lost_causes: float = Field(0.1, ge=0.0, le=0.5)


@dataclass(frozen=True)
class Targeted:
    """One audience after targeting: the kept rows ranked by effect, and how many of each kind were dropped."""

    rows: pd.DataFrame
    sure_things: int
    lost_causes: int
    unscored: int


def target_rows(rows: pd.DataFrame, predicted: pd.DataFrame, targeting: UpliftTargeting) -> Targeted:
    """Return the audience ranked by predicted effect with the sure things and lost causes dropped.

    ``predicted``: customer_id, effect, extra_revenue, baseline (one row per customer the model scored).
    """
    found = predicted.set_index(C.CUSTOMER_ID).reindex(rows[C.CUSTOMER_ID].astype(str))
    out = rows.assign(predicted_effect=found["effect"].to_numpy(), extra_revenue=found[EXTRA_REVENUE].to_numpy(),
                      baseline_chance=found["baseline"].to_numpy())
    scored = out["predicted_effect"].notna().to_numpy()
    n = len(out)
    base, effect = out["baseline_chance"].to_numpy(), out["predicted_effect"].to_numpy()
    median = float(np.nanmedian(base)) if scored.any() else 0.0
    drop = np.zeros(n, bool)
    counts = []
    for side, share in ((scored & (base >= median), targeting.drop_sure_things),
                        (scored & (base < median), targeting.drop_lost_causes)):
        k = min(int(round(share * n)), int(side.sum()))
        lowest = np.flatnonzero(side)[np.argsort(effect[side], kind="stable")[:k]]
        drop[lowest] = True
        counts.append(k)
    kept = out[~drop].sort_values("predicted_effect", ascending=False, kind="stable", na_position="last")
    return Targeted(kept.reset_index(drop=True), counts[0], counts[1], int((~scored).sum()))


def predicted_effects(shop: Shop, campaign: str, cutoff: datetime) -> tuple[pd.DataFrame, str]:
    """Return per customer the campaign's champion's effect, extra revenue and baseline chance, and its version."""
    model, info = champion_uplift(campaign)
    features = build_features(shop, cutoff, FeaturesConfig()).frame
    out = model.predict(features)
    baseline = model.baseline(features)
    out["baseline"] = np.nan if baseline is None else baseline
    if EXTRA_REVENUE not in out:
        out[EXTRA_REVENUE] = np.nan
    return out, f"{registered_name(campaign)} v{info['version']}"


def missing_models(campaigns: list[str]) -> list[str]:
    """Return the campaigns of ``campaigns`` without a registered (champion) uplift model."""
    from models.inference.registry import alias_version

    return [c for c in campaigns if alias_version(registered_name(c), "champion") is None]


def target_audiences(audiences: Audiences, shop: Shop, campaigns: list[str],
                     targeting: UpliftTargeting) -> Audiences:
    """Return the audiences with ``campaigns`` targeted by their uplift models (the others keep their rule); the
    manifest records per row the targeting (model and version, shares dropped) and the summary the new sizes."""
    rows, notes = dict(audiences.rows), list(audiences.notes)
    book = audiences.manifest.assign(targeting="rule", drop_sure_things=0.0, drop_lost_causes=0.0)
    summary = audiences.summary.copy()
    for name in campaigns:
        predicted, model = predicted_effects(shop, name, audiences.cutoff)
        done = target_rows(rows[name], predicted, targeting)
        rows[name] = done.rows
        kept = set(done.rows[C.CUSTOMER_ID].astype(str))
        mine = book["campaign"] == name
        book = book[~mine | book[C.CUSTOMER_ID].astype(str).isin(kept)]
        mine = book["campaign"] == name
        book.loc[mine, "targeting"] = model
        book.loc[mine, ["drop_sure_things", "drop_lost_causes"]] = (targeting.drop_sure_things,
                                                                  targeting.drop_lost_causes)
        note = (f"{name}: targeted by {model}, ranked by predicted effect; dropped {done.sure_things:,} sure things "
                f"and {done.lost_causes:,} lost causes, kept {len(done.rows):,}")
        if done.unscored:
            note += f" ({done.unscored:,} without a purchase before the cutoff kept unscored, last)"
        notes.append(note)
        summary = _resize(summary, name, done.rows, note)
        logger.info(note)
    return replace(audiences, rows=rows, manifest=book.reset_index(drop=True), summary=summary, notes=notes)


def _resize(summary: pd.DataFrame, name: str, rows: pd.DataFrame, note: str) -> pd.DataFrame:
    at = summary.index[summary["campaign"] == name]
    control = int(rows["control"].sum())
    summary.loc[at, ["customers", "treated", "control"]] = (len(rows), len(rows) - control, control)
    summary.loc[at, "opted_in"] = int((rows[C.EMAIL_OPT_IN] == "yes").sum())
    summary.loc[at, "value_at_stake"] = round(float(rows["value_at_stake"].sum()), 2)
    summary.loc[at, "note"] = note
    return summary
