"""Uplift training per campaign: refuse small audiences and incomplete windows, compare the candidates, log every
figure to MLflow, and register the chosen model only when it beats random targeting outside the noise.

A campaign's model is registered as ``uplift_<campaign>`` through ``training.register`` (the release record and
the champion gate every model uses); the gate's baseline bar is the best baseline's Qini on the same holdout, and a
champion trained for another outcome or window is replaced rather than compared (``must_match``). A model whose
interval does not clear zero is logged in the run but never registered: the campaign keeps its rule.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from features import columns as C
from features.campaigns.results import check_measurable
from features.data.reader import Shop
from models.uplift.compare import Comparison, compare
from models.uplift.curves import CURVE_FILE, curve_payload
from models.uplift.data import MIN_PER_GROUP, Outcome, campaign_data, campaign_rows, check_audience
from models.uplift.model import registered_name
from training import tracking
from training.register import PromotionDecision, register_candidate

logger = logging.getLogger(__name__)

EXPERIMENT = "uplift"
METRIC = "qini"


@dataclass
class CampaignRun:
    """What happened to one campaign: refused (with why), or compared and maybe registered."""

    campaign: str
    refused: str | None = None
    comparison: Comparison | None = None
    decision: PromotionDecision | None = None
    notes: list[str] = field(default_factory=list)


def train_uplift(shop: Shop, manifest: pd.DataFrame, days: int, outcome: Outcome,
                 minimum: int = MIN_PER_GROUP, campaigns: list[str] | None = None,
                 seed: int = 0) -> list[CampaignRun]:
    """Train, compare and (when it beats random targeting) register an uplift model for each campaign."""
    names = campaigns or list(dict.fromkeys(manifest["campaign"]))
    last = shop.transactions[C.TIMESTAMP].max().execute()
    out = []
    for name in names:
        rows = campaign_rows(manifest, name)
        why = check_audience(rows, minimum)
        if why is not None:
            out.append(CampaignRun(name, refused=why))
            continue
        check_measurable(rows, last, days)  # the whole window must be in the data, or the outcome is cut short
        data = campaign_data(shop, rows, days, outcome)
        comparison = compare(data, binary=outcome != "revenue", seed=seed)
        decision = log_campaign(comparison, outcome, days, data.features.head(5))
        out.append(CampaignRun(name, comparison=comparison, decision=decision, notes=list(data.notes)))
    return out


def log_campaign(c: Comparison, outcome: Outcome, days: int, example: pd.DataFrame) -> PromotionDecision | None:
    """Log the comparison in one MLflow run; register the chosen model when it beats random targeting."""
    tags = {"campaign": c.campaign, "uplift_outcome": outcome, "uplift_days": str(days), "uplift_model": c.chosen}
    with tracking.run(EXPERIMENT, run_name=f"uplift-{c.campaign}", tags=tags):
        tracking.log_params({"campaign": c.campaign, "outcome": outcome, "days": days, "chosen": c.chosen,
                             "holdout_customers": len(c.holdout)})
        metrics: dict[str, float] = {}
        for row in c.table.itertuples(index=False):
            metrics |= {f"{METRIC}_{row.kind}": row.qini, f"{METRIC}_{row.kind}_low": row.low,
                        f"{METRIC}_{row.kind}_high": row.high}
        for name, q in c.extra.items():  # its extra order chance on orders, its extra revenue on revenue
            metrics |= {f"{METRIC}_on_{name}": q.value, f"{METRIC}_on_{name}_low": q.low,
                        f"{METRIC}_on_{name}_high": q.high}
        tracking.log_metrics({**metrics, METRIC: c.chosen_qini})
        tracking.log_dict({"table": c.table.to_dict(orient="records"), "verdict": c.verdict()}, "uplift.json")
        h = c.holdout  # the chosen model's held-out curve: the report's chart and sentence
        tracking.log_dict(curve_payload(h["score"].to_numpy(), h["treated"].to_numpy(), h["outcome"].to_numpy()),
                          CURVE_FILE)
        if not c.beats_random:
            logger.info("%s: %s", c.campaign, c.verdict())
            return None
        model = c.models[c.chosen]
        with tempfile.TemporaryDirectory(prefix="retention-uplift-") as tmp:
            folder = model.save(Path(tmp) / "uplift")
            uri = tracking.log_model_folder("uplift", folder, example, model.predict(example))
        table = c.table.set_index("kind")
        baseline = float(table.loc[["random", "churn"], "qini"].max())
        return register_candidate(registered_name(c.campaign), uri, METRIC, c.chosen_qini, baseline_value=baseline,
                                  tags={**tags, "beats_churn_risk": str(c.beats_churn)},
                                  must_match=("uplift_outcome", "uplift_days"))
