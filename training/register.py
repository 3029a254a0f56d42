"""Registering candidates, generic over models (churn, golden, value, recommender, ...); the decisions come from
``training.gate`` (``decide``: a new version takes ``champion`` only when its holdout metric is at least the
champion's; otherwise ``challenger``; ``force`` promotes regardless).

``register_all`` registers several candidates as one unit: every version is created first, then one release
record names the version of every alias (the commit point readers go by), then the aliases follow it. An error
before the commit deletes the versions just created, so a failed run leaves the registry as it was; a kill
at any moment leaves the old release or the new one, which the next command tidies (``tracking.recover``).
"""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from training import tracking
from training.gate import CHALLENGER, CHAMPION, METRIC_TAG, REASON_TAG, VALUE_TAG, Candidate, decide
from training.registry_lock import release_lock

__all__ = ["CHALLENGER", "CHAMPION", "METRIC_TAG", "REASON_TAG", "VALUE_TAG", "Candidate", "PromotionDecision",
           "register_all", "register_candidate"]

logger = logging.getLogger(__name__)

KILL_AT_ENV = "RETENTION_KILL_AT"


@dataclass(frozen=True)
class PromotionDecision:
    """What happened to one candidate: its version, the alias it got and why."""

    name: str
    version: str
    alias: str
    promoted: bool
    reason: str
    metric_name: str
    metric_value: float
    champion_version: str | None = None
    champion_value: float | None = None


def register_all(candidates: list[Candidate], force: bool = False, champion_alias: str = CHAMPION,
                 challenger_alias: str = CHALLENGER) -> list[PromotionDecision]:
    """Register every candidate and move the aliases as one unit: all old champions or all new, even under kill -9.

    1. every new version is registered, marked pending (an error here deletes them again and re-raises);
    2. the release record naming the version of every alias is written in one step: the commit point, after
       which every reader (``alias_version``) sees the new set whole;
    3. the aliases are moved one by one to match it, the pending marks cleared, the release marked done.
    A process killed in 1 leaves pending versions the next command deletes; killed in 3, a release the next
    command completes (``tracking.recover``).
    """
    for note in tracking.recover():
        logger.warning("%s", note)
    with release_lock(tracking._client()):  # one writer of the release record at a time (registry_lock)
        created: list[tuple[str, str]] = []
        try:
            champions = {c.name: tracking.alias_version(c.name, champion_alias) for c in candidates}
            plans = [(c, *decide(c, champions[c.name], force)) for c in candidates]
            versions = []
            for c, _, reason, _ in plans:
                tags = {**c.tags, METRIC_TAG: c.metric_name, VALUE_TAG: repr(float(c.metric_value)),
                        REASON_TAG: reason, tracking.PENDING_TAG: "true"}
                version = tracking.register_version(c.name, c.model_uri, tags)
                created.append((c.name, version))
                versions.append(version)
                _checkpoint(f"version:{len(created)}")
            targets: dict[str, dict[str, str | None]] = {}
            for (c, promote, _, _), version in zip(plans, versions, strict=True):
                targets.setdefault(c.name, {})[champion_alias if promote else challenger_alias] = version
            record = tracking.write_release(targets, _active_run_id())
        except BaseException:
            _undo(created)
            raise
        _checkpoint("release")
        tracking.complete_release(record, after_move=lambda moved: _checkpoint(f"alias:{moved}"))
    decisions = []
    for (c, promote, reason, old), version in zip(plans, versions, strict=True):
        alias = champion_alias if promote else challenger_alias
        champion = champions[c.name]
        decisions.append(PromotionDecision(c.name, version, alias, promote, reason, c.metric_name,
                                           float(c.metric_value), champion["version"] if champion else None, old))
        logger.info("%s v%s -> %s: %s", c.name, version, alias, reason)
    return decisions


def _active_run_id() -> str | None:
    import mlflow

    active = mlflow.active_run()
    return active.info.run_id if active else None


def _checkpoint(point: str) -> None:
    """Die here, as ``kill -9`` would, when RETENTION_KILL_AT names this point: how the kill test reaches moments
    between two registry writes that no timing could hit reliably."""
    if os.environ.get(KILL_AT_ENV) == point:
        os.kill(os.getpid(), signal.SIGKILL)


def _undo(created: list[tuple[str, str]]) -> None:
    for name, version in reversed(created):
        try:
            tracking.delete_version(name, version)
        except Exception:
            logger.exception("could not delete %s v%s after a failed registration", name, version)
    if created:
        logger.warning("registration failed: removed %d new version(s); no alias was moved", len(created))


def register_candidate(name: str, model_uri: str, metric_name: str, metric_value: float,
                       higher_is_better: bool = True, force: bool = False, *,
                       champion_metric: Callable[[dict[str, Any]], float | None] | None = None,
                       baseline_value: float | None = None, tags: dict[str, str] | None = None,
                       must_match: tuple[str, ...] = ()) -> PromotionDecision:
    """Register one model version and run the promotion gate; return what happened.

    Parameters
    ----------
    name
        Registered model name, e.g. ``recommender``.
    model_uri
        A logged model (``models:/m-...`` from ``tracking.log_model_folder``, or ``runs:/<id>/<name>``).
    metric_name, metric_value
        The holdout metric the gate compares, e.g. ``ndcg_at_10`` and its value.
    higher_is_better
        Direction of the metric.
    force
        Promote to champion whatever the comparison says.
    champion_metric
        Optional: score the current champion on the same holdout (receives its version info).
    baseline_value
        Optional: the best baseline's metric on the same holdout; a worse candidate is not promoted.
    tags
        Extra version tags.
    must_match
        Tags that must equal the champion's for a comparison; when one differs the candidate replaces it.

    Examples
    --------
    >>> uri = tracking.log_model_folder("recommender", folder, example, output)  # doctest: +SKIP
    >>> register_candidate("recommender", uri, "ndcg_at_10", 0.31).alias  # doctest: +SKIP
    'champion'
    """
    candidate = Candidate(name, model_uri, metric_name, metric_value, higher_is_better, champion_metric,
                          baseline_value, dict(tags or {}), must_match)
    return register_all([candidate], force)[0]
