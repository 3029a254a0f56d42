"""Is today's data still like the data the champions learnt from, and were their past predictions right?

``monitor`` compares two cutoffs of the shop as it is now: the champions' own cutoff (``scoring_cutoff``: the data
they were trained and promoted on ends there) and now (the day after the last order). For every
feature the champions read and for each champion's score it gives the population stability index and the share
of missing values (``models.inference.drift``). Once the horizon after the champions' scoring cutoff has passed,
it also scores the champions at that cutoff, as they scored in production, and compares with what customers then
did: the realised gate metric next to the holdout figure the version was promoted on. Retrain when a score
shifted, too many features shifted, a feature's missing share rose, or the realised metric fell too far.
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pandas as pd

from features import columns as C
from features.analytics.segments import default_cutoff
from features.data.reader import Shop
from models.customer.base import CHURN_PROBABILITY, EXPECTED_VALUE, GOLDEN_PROBABILITY
from models.customer.baselines import BTYD_FEATURES
from models.inference.drift import MonitorConfig, drift_table
from models.inference.inputs import model_inputs
from models.inference.score import Champions, load_champions
from training.config import RetentionConfig
from training.evaluate import task_metric
from training.gate import VALUE_TAG, gate_metrics
from training.labels import make_labels
from training.metrics import LOWER_IS_BETTER

logger = logging.getLogger(__name__)

SCORES = {"churn": CHURN_PROBABILITY, "golden": GOLDEN_PROBABILITY, "value": EXPECTED_VALUE}
EXPERIMENT_SUFFIX = "-monitor"
RETRAIN_EXIT = 3


@dataclass
class MonitorResult:
    """The drift table, the realised quality of past predictions, and the verdict in one sentence."""

    reference: datetime
    now: datetime
    versions: dict[str, str]
    drift: pd.DataFrame
    realised: pd.DataFrame
    reasons: list[str] = field(default_factory=list)  # why retrain; empty: within thresholds
    notes: list[str] = field(default_factory=list)

    @property
    def retrain(self) -> bool:
        return bool(self.reasons)

    @property
    def sentence(self) -> str:
        span = f"the champions' cutoff {self.reference:%Y-%m-%d} against {self.now:%Y-%m-%d}"
        if self.reasons:
            return f"Retrain: {'; '.join(self.reasons)} ({span})."
        return f"Within thresholds: no score or feature shifted beyond the limits and no decay ({span})."

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference.isoformat(), "now": self.now.isoformat(), "versions": self.versions,
                "retrain": self.retrain, "sentence": self.sentence, "reasons": self.reasons, "notes": self.notes,
                "drift": json.loads(self.drift.to_json(orient="records")),
                "realised": json.loads(self.realised.to_json(orient="records"))}


def monitor(shop: Shop, cfg: RetentionConfig) -> MonitorResult:
    """Compare the champions' training window with now on this shop; see the module docstring (thresholds:
    the config's ``monitor`` section)."""
    m = cfg.monitor
    champions = load_champions(cfg.registry)
    reference = datetime.fromisoformat(champions.models["churn"].metadata_["scoring_cutoff"])
    now = default_cutoff(shop.transactions)
    if now <= reference:
        empty = pd.DataFrame(columns=["kind", "name", "psi", "missing_then", "missing_now", "shifted", "missing_rose"])
        return MonitorResult(reference, now, dict(champions.versions), empty, pd.DataFrame(), [], [
            *champions.notes, f"the shop has no orders after the champions' cutoff {reference:%Y-%m-%d}: nothing "
            "has had time to drift yet"])
    then_inputs, now_inputs = _inputs(shop, champions, reference), _inputs(shop, champions, now)
    features = _feature_columns(champions, now_inputs)
    drift = pd.concat([
        drift_table(_scores(champions, then_inputs), _scores(champions, now_inputs), list(SCORES.values()), "score",
                    m),
        drift_table(then_inputs["all"], now_inputs["all"], features, "feature", m)], ignore_index=True)
    realised, notes = _realised(shop, cfg, champions, now)
    reasons = _reasons(drift, realised, m)
    return MonitorResult(reference, now, dict(champions.versions), drift, realised, reasons,
                         [*champions.notes, *notes])


def _inputs(shop: Shop, champions: Champions, cutoff: datetime) -> dict[str, pd.DataFrame]:
    """Return each champion's inputs at ``cutoff`` (keyed by task) and, under "all", every column of them."""
    cache: dict[str, pd.DataFrame] = {}  # one cutoff: the models share their feature build
    out = {task: model_inputs(shop, model, cutoff, cache) for task, model in champions.models.items()}
    out["all"] = out["churn"]
    return out


def _feature_columns(champions: Champions, inputs: dict[str, pd.DataFrame]) -> list[str]:
    """The features the champions read (every numeric input when all of them are baselines)."""
    columns: list[str] = []
    for model in champions.models.values():
        spec = getattr(model, "spec_", None)
        for c in getattr(spec, "columns", None) or []:
            if c not in columns:
                columns.append(c)
    if not columns:
        frame = inputs["all"]
        columns = [c for c in frame.columns if c != C.CUSTOMER_ID and pd.api.types.is_numeric_dtype(frame[c])]
    # BG/NBD x GG's outputs are refitted at every cutoff: a refit moves a value many customers share (the
    # population's spend for one-time buyers) from one PSI bin to the next; their drift shows in the scores
    return [c for c in columns if c not in BTYD_FEATURES]


def _scores(champions: Champions, inputs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return pd.DataFrame({column: champions.models[task].predict(inputs[task])[column].to_numpy()
                         for task, column in SCORES.items()})


def _realised(shop: Shop, cfg: RetentionConfig, champions: Champions, now: datetime) -> tuple[pd.DataFrame, list[str]]:
    """Score the champions at their scoring cutoff and compare with what happened in the horizon after it."""
    columns = ["task", "metric", "realised", "promoted_on", "drop", "decayed"]
    meta = champions.models["churn"].metadata_
    scored_at = datetime.fromisoformat(meta["scoring_cutoff"])
    horizon = champions.horizon_days
    if scored_at + timedelta(days=horizon) > now:
        done = scored_at + timedelta(days=horizon)
        return pd.DataFrame(columns=columns), [
            f"realised quality: the champions' predictions at {scored_at:%Y-%m-%d} have their outcomes on "
            f"{done:%Y-%m-%d} ({(done - now).days} days of data to go); not judged yet"]
    share = float(meta.get("golden_share", cfg.training.golden_share))
    labels = make_labels(shop, scored_at, horizon, share, str(meta.get("golden_among", cfg.training.golden_among)))
    rows, cache = [], dict[str, pd.DataFrame]()
    for task, metric in gate_metrics(cfg.registry).items():
        model = champions.models[task]
        inputs = model_inputs(shop, model, scored_at, cache)
        aligned = labels.set_index(C.CUSTOMER_ID).reindex(inputs[C.CUSTOMER_ID].astype(str)).reset_index()
        value = task_metric(task, metric, model.predict(inputs), aligned, scored_at, share)
        promoted = _promoted_value(cfg, task)
        sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
        drop = sign * (promoted - value) if promoted is not None else float("nan")
        rows.append({"task": task, "metric": metric, "realised": value, "promoted_on": promoted, "drop": drop,
                     "decayed": bool(math.isfinite(drop) and drop > cfg.monitor.max_metric_drop)})
    return pd.DataFrame(rows, columns=columns), []


def _promoted_value(cfg: RetentionConfig, task: str) -> float | None:
    from models.inference import registry

    r = cfg.registry
    name = {"churn": r.churn_name, "golden": r.golden_name, "value": r.value_name}[task]
    found = registry.alias_version(name, r.champion_alias)
    value = (found or {}).get("tags", {}).get(VALUE_TAG)
    return float(value) if value is not None else None


def _reasons(drift: pd.DataFrame, realised: pd.DataFrame, m: MonitorConfig) -> list[str]:
    reasons = []
    scores = drift[(drift["kind"] == "score") & drift["shifted"]]
    if len(scores):
        reasons.append("champion scores shifted: " + ", ".join(f"{r.name} PSI {r.psi:.2f}" for r in
                                                                scores.itertuples()) + f" (limit {m.score_psi})")
    features = drift[drift["kind"] == "feature"]
    shifted = features[features["shifted"]]
    if len(features) and len(shifted) / len(features) > m.max_shifted_share:
        top = shifted.sort_values("psi", ascending=False).head(3)
        reasons.append(f"{len(shifted)} of {len(features)} features shifted (PSI over {m.feature_psi}; most: "
                       + ", ".join(f"{r.name} {r.psi:.2f}" for r in top.itertuples()) + ")")
    rose = features[features["missing_rose"]]
    if len(rose):
        reasons.append("missing values rose in " + ", ".join(
            f"{r.name} ({r.missing_then:.0%} -> {r.missing_now:.0%})" for r in rose.head(3).itertuples()))
    for r in realised[realised["decayed"]].itertuples() if len(realised) else []:
        reasons.append(f"{r.task} {r.metric} realised {r.realised:.3f} against {r.promoted_on:.3f} on the holdout")
    return reasons


def log_monitor(result: MonitorResult, cfg: RetentionConfig) -> str:
    """Log the figures into a run of ``<experiment>-monitor`` and return its id."""
    from training import tracking

    with tracking.run(cfg.registry.experiment + EXPERIMENT_SUFFIX, run_name=f"monitor {result.now:%Y-%m-%d}",
                      tags={"retrain": str(result.retrain).lower(),
                            **{f"{k}_version": v for k, v in result.versions.items()}}) as run_id:
        metrics = {f"{r.kind}_psi.{r.name}": r.psi for r in result.drift.itertuples() if math.isfinite(r.psi)}
        metrics |= {f"missing_now.{r.name}": r.missing_now for r in result.drift.itertuples()}
        metrics |= {f"realised.{r.task}_{r.metric}": r.realised for r in result.realised.itertuples()
                    if math.isfinite(r.realised)}
        tracking.log_metrics(metrics)
        tracking.log_dict(result.to_dict(), "monitor.json")
        tracking.set_tags({"sentence": result.sentence[:500]})
    return run_id
