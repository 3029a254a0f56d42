"""Releases an ML engineer works with: every registered version, the champions over time, promote and roll back.

A release is the record ``train`` writes in one step: the version of every alias of every model (the commit point
readers go by). Each record has an id, names the release it replaced and is copied into the history, so a past
release can be served again: ``promote`` writes a new record with that release's aliases, ``rollback`` promotes the
release before the current one, and both move all four champions together through the record, exactly as ``train``
does, so a kill at any moment leaves the old release or the new one (the next command completes a record it finds
"moving"). Nothing moves when a version of the release lost its files or its feature families cannot be built on
the shop as it is now: the refusal says which and what to do.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from features.data.reader import Shop
from models.inference.config import RegistryConfig
from training import tracking
from training.register import _checkpoint
from training.registry_lock import release_lock

logger = logging.getLogger(__name__)

BASELINES = ("bgnbd", "recency", "last_period")


@dataclass(frozen=True)
class Moved:
    """What a promote or rollback did: the new release, the one it restored, and the versions that moved."""

    record: dict[str, Any]
    restored: int
    changes: list[str]


def model_names(r: RegistryConfig) -> dict[str, str]:
    """Return task -> registered name, the recommender included."""
    return {"churn": r.churn_name, "golden": r.golden_name, "value": r.value_name, "recommender": r.recommender_name}


def promote(release_id: int, shop: Shop, r: RegistryConfig, kind: str = "promote") -> Moved:
    """Serve release ``release_id`` again: check it, then write a new release record with its aliases and move them.

    Raises
    ------
    ValueError
        When there is no such release, or one of its versions is gone, has lost its files, or needs feature
        families this shop cannot build (nothing moves then).
    """
    history = tracking.release_history()
    if release_id not in history:
        known = ", ".join(str(i) for i in history) or "none yet"
        raise ValueError(f"there is no release {release_id} (releases: {known}); `retention models --history` "
                         "lists them")
    target = history[release_id]
    current = tracking.current_release() or {}
    champions = {name: aliases.get(r.champion_alias) for name, aliases in target["aliases"].items()}
    check_release(release_id, champions, shop, r)
    now = {name: current.get("aliases", {}).get(name, {}).get(r.champion_alias) for name in champions}
    changes = [f"{name} v{now[name]} -> v{v}" for name, v in champions.items() if now[name] != v]
    if not changes and current.get("state") == "done" and not registry_mixed(r):
        return Moved(current, release_id, [])  # already served: no new release
    with release_lock(tracking._client()):  # one writer of the release record at a time, as train
        record = tracking.write_release(target["aliases"], None, kind, restores=release_id, exact=True)
        _checkpoint(f"{kind}:release")
        tracking.complete_release(record, after_move=lambda moved: _checkpoint(f"{kind}:alias:{moved}"))
    logger.debug("release %s: %s of release %s (%s)", record["id"], kind, release_id, ", ".join(changes) or "no change")
    return Moved(record, release_id, changes)


def registry_mixed(r: RegistryConfig) -> bool:
    """True when an alias was moved by hand since the current release (readers follow it and say so)."""
    from models.inference import registry

    return bool(registry.resolve(model_names(r).values(), r.champion_alias).notes)


def rollback_target() -> int:
    """Return the release a rollback restores: the one before the current release (a rollback's own "before" is
    the one before the release it restored, so rolling back twice goes two steps back).

    Raises
    ------
    ValueError
        When there is no release yet, or nothing before the current one.
    """
    history = tracking.release_history()
    current = tracking.current_release()
    if not current or "id" not in current:
        raise ValueError("no release to roll back from: run `retention train --data DIR` first")
    base = current
    while base.get("kind") == "rollback" and base.get("restores") in history:
        base = history[base["restores"]]
    target = base.get("previous")
    if target is None or target not in history:
        raise ValueError(f"release {base['id']} is the first one: there is nothing earlier to roll back to")
    return int(target)


def check_release(release_id: int, champions: dict[str, str | None], shop: Shop, r: RegistryConfig) -> None:
    """Refuse (ValueError) a release whose champions cannot serve this shop: a version deleted, its files gone,
    or a customer model's feature families missing from the shop as it is now."""
    from features.analytics.segments import default_cutoff
    from models.customer.base import CustomerModel
    from models.inference import registry
    from models.inference.inputs import model_inputs

    cutoff: datetime = default_cutoff(shop.transactions)
    cache: dict[str, Any] = {}
    for name, version in champions.items():
        if version is None:
            continue
        found = registry.answered(f"reading {name} v{version}", partial(tracking._client().get_model_version, name,
                                                                        version))
        if found is None:
            raise ValueError(f"release {release_id} cannot be promoted: {name} v{version} no longer exists in the "
                             "registry; choose another release (`retention models --history`)")
        try:
            model = registry.load_registered(f"models:/{name}/{version}")
        except registry.RegistryUnavailableError as exc:
            raise ValueError(f"release {release_id} cannot be promoted: {name} v{version} cannot be loaded ({exc})"
                             ) from None
        if isinstance(model, CustomerModel):
            try:
                model_inputs(shop, model, cutoff, cache)
            except ValueError as exc:
                raise ValueError(f"release {release_id} cannot be promoted on this shop: {name} v{version}: {exc}"
                                 ) from None


def versions_table(r: RegistryConfig, only: str | None = None) -> list[dict[str, Any]]:
    """Return one row per registered version: run, training cutoff, data fingerprint, holdout metric next to the
    baselines, model_source, the alias it holds now and the releases in which it was champion."""
    from models.inference import registry

    client = tracking._client()
    names = model_names(r)
    if only is not None and only not in names and only not in names.values():
        raise ValueError(f"--model {only!r}: expected one of {', '.join(names)}")
    history = tracking.release_history()
    resolved = registry.resolve(names.values(), r.champion_alias)
    current = (resolved.release or {}).get("aliases", {})
    rows = []
    for task, name in names.items():
        if only not in (None, task, name):
            continue
        versions = registry.answered(f"listing {name}", partial(client.search_model_versions, f"name = '{name}'"))
        for mv in sorted(versions or [], key=lambda m: int(m.version)):
            v, tags = str(mv.version), dict(mv.tags)
            held = [a for a, x in current.get(name, {}).items() if x == v]
            if (resolved.versions.get(name) or {}).get("version") == v and r.champion_alias not in held:
                held.append(f"{r.champion_alias} (moved by hand)")
            rows.append({"model": name, "version": v, "run": (mv.run_id or "")[:8],
                         "cutoff": tags.get("scoring_cutoff", ""), "data": tags.get("data_content_hash", "")[:10],
                         "holdout": _holdout(client, task, mv.run_id, tags),
                         "source": tags.get("model_source") or tags.get("recommender_model", ""),
                         "alias": ", ".join(held) or ("pending" if tracking.PENDING_TAG in tags else ""),
                         "releases": _releases(history, name, v, r.champion_alias)})
    return rows


def _holdout(client: Any, task: str, run_id: str | None, tags: dict[str, str]) -> str:
    """Return the gate metric on the holdout next to every baseline's, from the run that registered the version."""
    metric = tags.get("gate_metric", "")
    value = float(tags.get("gate_value", "nan"))
    if not run_id or not metric:
        return ""
    metrics = client.get_run(run_id).data.metrics
    if task == "recommender":
        others = {k.split(".")[1]: x for k, x in metrics.items()
                  if k.startswith("recommender.") and k.endswith("." + metric.replace("@", "_at_"))}
        chosen = tags.get("recommender_model", "")
        rest = ", ".join(f"{k} {x:.3f}" for k, x in sorted(others.items()) if k != chosen)
    else:
        rest = ", ".join(f"{b} {metrics[f'{task}_{metric}__{b}']:.3f}" for b in BASELINES
                         if f"{task}_{metric}__{b}" in metrics)
    shown = f"{metric} {value:.3f}" if math.isfinite(value) else f"{metric} -"
    return f"{shown} (vs {rest})" if rest else shown


def _releases(history: dict[int, dict[str, Any]], name: str, version: str, alias: str) -> str:
    ids = [str(i) for i, rec in history.items() if rec.get("aliases", {}).get(name, {}).get(alias) == version]
    return ", ".join(ids)


def champions_over_time(r: RegistryConfig) -> list[dict[str, Any]]:
    """Return one row per release, oldest first: when, what made it, and the champion version of every model."""
    names = model_names(r)
    current = (tracking.current_release() or {}).get("id")
    rows = []
    for rid, rec in tracking.release_history().items():
        what = rec.get("kind", "train")
        if rec.get("restores") is not None:
            what += f" of {rec['restores']}"
        elif rec.get("run_id"):
            what += f" run {str(rec['run_id'])[:8]}"
        row = {"release": f"{rid}{' *' if rid == current else ''}", "time": str(rec.get("time", ""))[:19],
               "made by": what}
        for task, name in names.items():
            version = rec.get("aliases", {}).get(name, {}).get(r.champion_alias)
            row[task] = f"v{version}" if version else "-"
        rows.append(row)
    return rows
