"""The gate, in the order a training run meets it: which candidate a task registers, which recommender is served,
what each registry candidate is, and whether it takes ``champion`` from the current one.

1. **Model against baselines** (``choose_winner``). A shop must always have a champion it can score with, so the
   gate does not stop at "is the model better than its best baseline?": each candidate of a task (the LightGBM
   model, BG/NBD x Gamma-Gamma, recency alone, last period) is scored on the same holdout on the task's gate
   metric, and the best of them is registered, refitted for scoring. Ties go to the model (it sees what the
   baselines see and more), and so does a baseline's lead that the holdout cannot tell from noise: the model stays
   unless the 95% bootstrap interval of the baseline's lead (the same customers resampled for both) lies above
   zero. On CDNOW a lead inside the noise at the longer horizons was a loss on what customers did next.
2. **The recommender's choice** (``choose_model``): the best single source on the holdout, and a composite (the
   blend, then the LambdaRank ranker over it) only when its paired interval against the model it would replace lies
   above 0: the simpler model is cheaper to serve and explain, and the served NDCG is never below the best single
   source's. The reason names the real runner-up, whichever model it is.
3. **Registry candidates** (``task_candidate``, ``recommender_candidate``): the winner's gate metric, and the
   baseline bar only where a baseline could still beat it.
4. **Challenger against champion** (``decide``): a new version takes ``champion`` only when its holdout metric is
   at least the champion's, compared on the same holdout when the caller can score the champion on it fairly,
   else against the champion's logged metric; otherwise ``challenger``, and the reason says why.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from models.customer.base import CHURN_PROBABILITY, EXPECTED_VALUE, GOLDEN_PROBABILITY
from models.inference.config import RegistryConfig
from training.evaluate import MODEL, Evaluation, Truth, task_metrics
from training.metrics import LOWER_IS_BETTER, paired_interval, rank_auc, ranking_blend, spearman
from training.recsys.metrics import CANDIDATES, COMPOSITES, bootstrap_ci, paired_ci

if TYPE_CHECKING:
    from training.config import RetentionConfig
    from training.recsys.run import RecommenderRun

logger = logging.getLogger(__name__)

TASKS = ("churn", "golden", "value")
DRAWS = 200  # bootstrap resamples of the holdout for a baseline's lead over the model
CHAMPION, CHALLENGER = "champion", "challenger"
METRIC_TAG, VALUE_TAG, REASON_TAG = "gate_metric", "gate_value", "promotion_reason"


# --- 1. model against baselines: the candidate each task registers ---------------------------------------------


@dataclass(frozen=True)
class Winner:
    """The candidate a task registers: which predictor, on which metric, and against whom."""

    task: str
    predictor: str
    metric: str
    value: float
    runner_up: str
    runner_up_value: float
    label: str
    runner_up_label: str
    noise: tuple[float, float] | None = None  # 95% interval of the leading baseline's lead, when it was kept out

    @property
    def is_model(self) -> bool:
        return self.predictor == MODEL

    @property
    def reason(self) -> str:
        if not math.isfinite(self.value):
            return f"{self.metric} is not a number for any candidate on the holdout: the model is kept"
        if not self.runner_up:
            return f"{self.label}: {self.metric} {self.value:.4f}, the only candidate"
        if self.noise is not None:
            low, high = self.noise
            return (f"{self.label} is kept: {self.runner_up_label}'s {self.metric} {self.runner_up_value:.4f} vs "
                    f"{self.value:.4f} is a lead inside the noise (95% interval {low:+.4f} to {high:+.4f})")
        tie = " (tie: the model is preferred)" if self.value == self.runner_up_value and self.is_model else ""
        return (f"{self.label} has the best {self.metric} on the holdout: {self.value:.4f} vs "
                f"{self.runner_up_label} {self.runner_up_value:.4f}{tie}")


def gate_metrics(r: RegistryConfig) -> dict[str, str]:
    """Return the gate metric of each task."""
    return {"churn": r.churn_metric, "golden": r.golden_metric, "value": r.value_metric}


def choose_winners(evaluation: Evaluation, r: RegistryConfig) -> dict[str, Winner]:
    """Return the winner of each task on its gate metric."""
    return {task: choose_winner(evaluation, task, metric) for task, metric in gate_metrics(r).items()}


def choose_winner(evaluation: Evaluation, task: str, metric: str) -> Winner:
    """Return the best predictor of one task on ``metric`` (the model on ties; NaNs never win)."""
    table = evaluation.tables[task]
    if metric not in table.columns:
        raise ValueError(f"registry.{task}_metric {metric!r} is not a {task} metric; choose one of "
                         f"{list(table.columns)}")
    column = table[metric].dropna()
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    # the model first so that a tie keeps it; then by value, best first
    ranked = sorted(column.items(), key=lambda kv: (-sign * float(kv[1]), kv[0] != MODEL))
    if not ranked:
        return Winner(task, MODEL, metric, float("nan"), "", float("nan"), evaluation.label(MODEL), "")
    (best, value), rest = ranked[0], ranked[1:]
    model_value = float(column.get(MODEL, float("nan")))
    if best != MODEL and math.isfinite(model_value) and evaluation.predictions:
        low, high = lead_interval(evaluation, task, metric, str(best))
        if low <= 0:
            return Winner(task, MODEL, metric, model_value, str(best), float(value), evaluation.label(MODEL),
                          evaluation.label(str(best)), (low, high))
    second, second_value = (str(rest[0][0]), float(rest[0][1])) if rest else ("", float("nan"))
    return Winner(task, str(best), metric, float(value), second, second_value, evaluation.label(str(best)),
                  evaluation.label(second) if second else "")


def lead_interval(evaluation: Evaluation, task: str, metric: str, challenger: str, draws: int = DRAWS,
                  seed: int = 0) -> tuple[float, float]:
    """Return the 95% bootstrap interval of ``challenger``'s lead over the model on ``metric`` (> 0: better)."""
    truth = evaluation.truth
    assert truth is not None  # evaluations with predictions always carry their truth
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    ours, theirs = evaluation.predictions[MODEL], evaluation.predictions[challenger]

    def lead(rows: np.ndarray) -> float:
        sample = truth.take(rows)
        a = _metric(task, metric, theirs.iloc[rows], sample, evaluation.golden_share)
        b = _metric(task, metric, ours.iloc[rows], sample, evaluation.golden_share)
        return sign * (a - b)

    return paired_interval(lead, len(truth), draws, seed)


def _metric(task: str, metric: str, p: pd.DataFrame, truth: Truth, share: float) -> float:
    """Return one metric; the usual gate metrics directly (200 resamples of every metric would take minutes)."""
    if metric == "roc_auc" and task in ("churn", "golden"):
        column, positive = (CHURN_PROBABILITY, truth.churn) if task == "churn" else (GOLDEN_PROBABILITY, truth.golden)
        return rank_auc(np.asarray(positive, dtype=bool), p[column].to_numpy(dtype="float64"))
    if metric == "spearman" and task == "value":
        return spearman(p[EXPECTED_VALUE].to_numpy(dtype="float64"), truth.value)
    if metric == "ranking_blend" and task in ("golden", "value"):
        score = p[GOLDEN_PROBABILITY if task == "golden" else EXPECTED_VALUE].to_numpy(dtype="float64")
        golden = np.asarray(truth.golden, dtype=bool)
        whole = rank_auc(golden, score) if task == "golden" else spearman(score, truth.value)
        return ranking_blend(whole, truth.value, score)
    return task_metrics(task, p, truth, share).get(metric, math.nan)


# --- 2. the recommender's choice among its candidates ------------------------------------------------------------


@dataclass(frozen=True)
class Choice:
    """The served recommender: its name and the sentence that says why it won."""

    name: str
    reason: str


def choose_model(ndcg: dict[str, np.ndarray], candidates: tuple[str, ...] = CANDIDATES) -> Choice:
    """Return the best single source unless a composite (the blend, then the ranker) beats it beyond the noise.

    ``ndcg`` may hold models that never serve alone (buy-again): they are not chosen, but the runner-up named in
    the reason is the real one, whichever model it is.
    """
    means = {c: bootstrap_ci(v, reps=1)[0] for c, v in ndcg.items()}
    scored = [c for c in candidates if c in means and np.isfinite(means[c])]
    if not scored:
        raise ValueError(f"no candidate recommender has a finite NDCG; expected some of {candidates}")
    singles = [c for c in scored if c not in COMPOSITES] or scored[:1]
    chosen = max(singles, key=lambda c: means[c])  # ties: the simpler (earlier) one
    for composite in (c for c in scored if c in COMPOSITES and c != chosen):
        if paired_ci(ndcg[composite], ndcg[chosen])[1] > 0:  # served only when clearly better than what it replaces
            chosen = composite
    return Choice(chosen, _reason(chosen, means, ndcg, singles))


def _reason(chosen: str, means: dict[str, float], ndcg: dict[str, np.ndarray], singles: list[str]) -> str:
    """Say why ``chosen`` serves: its lead over the real runner-up, or the better model it is within the noise of."""
    others = sorted((c for c in means if c != chosen and np.isfinite(means[c])), key=lambda c: -means[c])
    if not others:
        return f"{chosen}: the only candidate (NDCG@10 {means[chosen]:.4f})"
    top = others[0]
    if means[top] > means[chosen] and top not in singles and top not in COMPOSITES:
        diff, low, high = paired_ci(ndcg[top], ndcg[chosen])
        return (f"{chosen}: NDCG@10 {means[chosen]:.4f}, the best of the models that serve; the runner-up {top} "
                f"scores {means[top]:.4f} ({diff:+.4f} [{low:+.4f}, {high:+.4f}]) but does not serve alone")
    if means[top] > means[chosen]:
        diff, low, high = paired_ci(ndcg[top], ndcg[chosen])
        return (f"{chosen}: NDCG@10 {means[chosen]:.4f}; {top} ({means[top]:.4f}) is within the noise of it (paired "
                f"difference {diff:+.4f} [{low:+.4f}, {high:+.4f}]), and {chosen} is the simpler model")
    diff, low, high = paired_ci(ndcg[chosen], ndcg[top])
    serves = "" if top in singles or top in COMPOSITES else f"; {top} does not serve alone"
    rule = ("no blend beats it beyond the noise" if chosen in singles
            else "it beats the best single source beyond the noise")
    return (f"{chosen}: best NDCG@10 {means[chosen]:.4f}; {diff:+.4f} [{low:+.4f}, {high:+.4f}] over the runner-up "
            f"{top} ({means[top]:.4f}){serves}, and {rule}")


# --- 3. registry candidates --------------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One model to register.

    ``champion_metric``, when given, scores the current champion on this run's holdout (it receives the
    champion's version info and returns the metric, or None when it cannot); ``baseline_value`` is the best
    baseline's metric on the same holdout.
    """

    name: str
    model_uri: str
    metric_name: str
    metric_value: float
    higher_is_better: bool = True
    champion_metric: Callable[[dict[str, Any]], float | None] | None = None
    baseline_value: float | None = None
    tags: dict[str, str] = field(default_factory=dict)
    must_match: tuple[str, ...] = ()  # tags (e.g. horizon_days) that must equal the champion's to compare at all


def task_candidate(name: str, uri: str, evaluation: Evaluation, winner: Winner, r: RegistryConfig,
                   champion_metric: Callable[[dict[str, Any]], float | None] | None,
                   tags: dict[str, str]) -> Candidate:
    """Return the registry candidate of a customer task: its winner's gate metric, read from the holdout table.

    The winner is the best candidate on this holdout, so the baseline bar only matters for the model, and not when
    the gate kept it because a baseline's lead was inside the noise.
    """
    task, metric = winner.task, winner.metric
    bar = r.require_beating_baseline and winner.is_model and winner.noise is None
    baseline = evaluation.best_baseline(task, metric)[1] if bar else None
    value = evaluation.metric(task, metric, winner.predictor)
    return Candidate(name, uri, metric, value, metric not in LOWER_IS_BETTER, champion_metric, baseline,
                     {**tags, "holdout_winner": winner.reason[:250]}, must_match=("horizon_days",))


def recommender_candidate(run: RecommenderRun, uri: str, cfg: RetentionConfig, tags: dict[str, str]) -> Candidate:
    """Return the recommender's registry candidate: the chosen model's gate metric (it was chosen against the
    baselines by ``choose_model``, so it never fails that bar); compared with the champion only on the same
    horizon and split."""
    metric = cfg.registry.recommender_metric
    if metric not in run.metrics.columns:
        raise ValueError(f"registry.recommender_metric {metric!r} is not a recommender metric; choose one of "
                         f"{list(run.metrics.columns)}")
    tags = {**tags, "recommender_model": run.chosen, "recommender_split": str(run.info["split"])}
    return Candidate(cfg.registry.recommender_name, uri, metric, float(run.metrics.loc[run.chosen, metric]), True,
                     None, None, tags, must_match=("horizon_days", "recommender_split"))


# --- 4. challenger against champion ------------------------------------------------------------------------------


def _at_least(a: float, b: float, higher_is_better: bool) -> bool:
    return a >= b - 1e-12 if higher_is_better else a <= b + 1e-12


def decide(c: Candidate, champion: dict[str, Any] | None, force: bool) -> tuple[bool, str, float | None]:
    """Return (promote, reason, champion's value) for one candidate against the current champion."""
    from training import tracking

    value, metric = c.metric_value, c.metric_name
    if not math.isfinite(value):
        why = f"{metric} is not a number on the holdout"
        return force, why + ("; promoted anyway (--force-promote)" if force else ""), None
    if c.baseline_value is not None and math.isfinite(c.baseline_value) and \
            not _at_least(value, c.baseline_value, c.higher_is_better):
        why = f"{metric} {value:.4f} is worse than the best baseline's {c.baseline_value:.4f}"
        return force, why + ("; promoted anyway (--force-promote)" if force else ""), None
    if champion is None:
        return True, f"first version: no {CHAMPION} yet ({metric} {value:.4f})", None
    differ = [k for k in c.must_match if champion["tags"].get(k) not in (None, c.tags.get(k))]
    if differ:
        was = ", ".join(f"{k}={champion['tags'][k]} (now {c.tags.get(k)})" for k in differ)
        return True, f"the {CHAMPION} v{champion['version']} was trained with {was}: not comparable, replaced", None
    old, where = None, ""
    if c.champion_metric is not None:
        try:
            old = c.champion_metric(champion)
            where = "on the same holdout"
        except Exception as exc:  # a champion that cannot be scored here falls back to its logged metric
            logger.warning("could not score %s v%s on this holdout (%s); using its logged metric", c.name,
                           champion["version"], exc)
    if old is None:
        logged = champion["tags"].get(VALUE_TAG) if champion["tags"].get(METRIC_TAG) == metric else None
        old = float(logged) if logged is not None else tracking.run_metric(champion.get("run_id"), metric)
        where = "logged on its own holdout"
    if old is None or not math.isfinite(old):
        return True, f"the {CHAMPION} v{champion['version']} has no {metric} to compare with", old
    better = _at_least(value, old, c.higher_is_better)
    text = f"{metric} {value:.4f} vs {CHAMPION} v{champion['version']}'s {old:.4f} ({where})"
    if better:
        return True, text + ": at least as good", old
    return force, text + (": worse; promoted anyway (--force-promote)" if force else ": worse"), old
