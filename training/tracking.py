"""Every MLflow call of the project, as small functions: URI, experiment, run, logging, registry, download.

The tracking URI comes from ``MLFLOW_TRACKING_URI``; without it, ``sqlite:///<cwd>/mlflow.db`` (MLflow 3 refuses a
bare ``./mlruns`` store). Experiments on a local store get an explicit artifact location, ``<cwd>/mlruns``, since
with a sqlite URI MLflow would otherwise put artifacts relative to whatever directory a later run starts in.
Models are logged "from code" (``models/pyfunc.py``) with their saved folder as the artifact, explicit pip
requirements (inferring them costs seconds) and a signature inferred from an input example.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import pandas as pd

# the read side lives with inference (serving needs it too); re-exported so training has one tracking module
from models.inference.registry import alias_version as alias_version
from models.inference.registry import client as _client
from models.inference.registry import configure as configure
from models.inference.registry import current_release as current_release
from models.inference.registry import store_exists as store_exists
from models.inference.registry import tracking_uri as tracking_uri
from training.registry_lock import LOCK_MODEL, try_lock

logger = logging.getLogger(__name__)

ARTIFACT_DIR = "mlruns"
PID_TAG, HOST_TAG = "retention.pid", "retention.host"
HISTORY_PREFIX = "history."  # tags of the release model: one copy of every release record, by id
PENDING_TAG = "release_pending"  # on versions registered by a run whose release is not complete yet
RUNTIME_PACKAGES = ("lightgbm", "numpy", "pandas", "scipy", "scikit-learn", "pydantic", "mlflow")




def _is_local(uri: str) -> bool:
    return uri.startswith(("sqlite:", "file:", "/")) or "://" not in uri




def experiment_id(name: str) -> str:
    """Return the id of the experiment ``name``, creating it (local stores: artifacts in ``<cwd>/mlruns/<name>``)."""
    import mlflow

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    folder = re.sub(r"[^A-Za-z0-9_.-]+", "-", name)
    location = (Path.cwd() / ARTIFACT_DIR / folder).resolve().as_uri() if _is_local(tracking_uri()) else None
    try:
        return str(mlflow.create_experiment(name, artifact_location=location))
    except Exception as exc:  # another process (a second train on the same server) created it first
        again = mlflow.get_experiment_by_name(name)
        if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS" or again is None:
            raise
        return str(again.experiment_id)


@contextmanager
def run(experiment: str, run_name: str | None = None, tags: dict[str, str] | None = None) -> Iterator[str]:
    """Start a run and yield its id; an exception inside marks the run FAILED and propagates.

    The run carries this process's id and host, so that a later command can tell a run still going from one
    whose process was killed (``recover`` marks those FAILED).
    """
    import mlflow

    configure()
    owner = {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    with mlflow.start_run(experiment_id=experiment_id(experiment), run_name=run_name,
                          tags={**(tags or {}), **owner}) as active:
        yield active.info.run_id


def log_params(params: dict[str, Any]) -> None:
    import mlflow

    mlflow.log_params({k: str(v)[:500] for k, v in params.items()})


def log_metrics(metrics: dict[str, float]) -> None:
    import mlflow

    mlflow.log_metrics({k.replace("@", "_at_"): float(v) for k, v in metrics.items()})


def log_dict(data: dict[str, Any], file_name: str) -> None:
    import mlflow

    mlflow.log_dict(json.loads(json.dumps(data, default=str)), file_name)


def log_text(text: str, file_name: str) -> None:
    import mlflow

    mlflow.log_text(text, file_name)


def log_figures(figures: dict[str, Any], folder: str = "plots") -> None:
    import matplotlib.pyplot as plt
    import mlflow

    for name, fig in figures.items():
        mlflow.log_figure(fig, f"{folder}/{name}")
        plt.close(fig)


def set_tags(tags: dict[str, str]) -> None:
    import mlflow

    mlflow.set_tags(tags)


def pip_requirements() -> list[str]:
    """Return pinned requirements of a logged model: what loading and predicting needs, as installed here."""
    out = []
    for name in RUNTIME_PACKAGES:
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            out.append(name)
    return out


def log_model_folder(name: str, folder: Path, input_example: pd.DataFrame, output_example: pd.DataFrame,
                     params: dict[str, Any] | None = None) -> str:
    """Log a saved model folder as a pyfunc model in the active run; return its model URI (``models:/m-...``).

    ``params`` are the inference parameters the signature declares (default: ``reasons``, a bool asking customer
    models for their reasons).
    """
    import mlflow
    from mlflow.models import infer_signature

    import models.inference.pyfunc as pyfunc_module

    signature = infer_signature(input_example, output_example, params=params or {"reasons": False})
    info = mlflow.pyfunc.log_model(
        name=name, python_model=str(Path(pyfunc_module.__file__).with_name("pyfunc_entry.py")),
        artifacts={pyfunc_module.ARTIFACT_KEY: str(folder)},
        signature=signature, input_example=input_example, pip_requirements=pip_requirements(),
    )
    return str(info.model_uri)


# --- registry ---------------------------------------------------------------------------------------------------






def registered_versions(name: str) -> list[str]:
    """Return the versions of a registered model (empty when it does not exist)."""
    return sorted((str(mv.version) for mv in _client().search_model_versions(f"name = '{name}'")), key=int)


def register_version(name: str, model_uri: str, tags: dict[str, str]) -> str:
    """Register ``model_uri`` as a new version of ``name`` (created when absent); return the version."""
    from mlflow.exceptions import MlflowException

    client = _client()
    try:
        client.get_registered_model(name)
    except MlflowException:
        client.create_registered_model(name)
    run_id = model_id = None
    if model_uri.startswith("models:/m-"):  # a logged model: a tracking server accepts it only with its id
        model_id = model_uri.removeprefix("models:/")
        run_id = client.get_logged_model(model_id).source_run_id
    mv = client.create_model_version(name, model_uri, run_id=run_id, tags=tags, model_id=model_id)
    return str(mv.version)


def delete_version(name: str, version: str) -> None:
    client = _client()
    client.delete_model_version(name, version)
    if not registered_versions(name):
        client.delete_registered_model(name)


def set_alias(name: str, alias: str, version: str | None) -> None:
    """Point ``alias`` at ``version``; None removes the alias."""
    client = _client()
    if version is None:
        client.delete_registered_model_alias(name, alias)
    else:
        client.set_registered_model_alias(name, alias, version)


def set_version_tags(name: str, version: str, tags: dict[str, str]) -> None:
    client = _client()
    for key, value in tags.items():
        client.set_model_version_tag(name, version, key, value)


def run_metric(run_id: str | None, key: str) -> float | None:
    """Return a metric logged in a run, or None."""
    if not run_id:
        return None
    value = _client().get_run(run_id).data.metrics.get(key)
    return None if value is None else float(value)


# --- releases: all models' aliases as one unit -------------------------------------------------------------------


def write_release(targets: dict[str, dict[str, str | None]], run_id: str | None, kind: str = "train",
                  restores: int | None = None, exact: bool = False) -> dict[str, Any]:
    """Write the release record in one step (the commit point of a registration or a promotion) and return it.

    ``targets`` maps model name -> alias -> version; the models this run does not touch keep their entries
    (``exact``: a model named in ``targets`` gets exactly those aliases, its others removed: a promotion). Every
    record gets the next id and names the one it replaced (``previous``), and a copy goes into the history
    (``release_history``), which ``retention models --history``, ``promote`` and ``rollback`` read.
    """
    from datetime import UTC, datetime

    from mlflow.exceptions import MlflowException

    from models.inference.registry import RELEASE_MODEL, RELEASE_TAG

    client = _client()
    try:
        client.get_registered_model(RELEASE_MODEL)
    except MlflowException:
        client.create_registered_model(RELEASE_MODEL, description="The release record of `retention train`: "
                                       "which version holds each alias of each model, written in one step.")
    previous = current_release() or {}
    history = release_history()
    if previous and "id" not in previous:  # a record from before ids: keep it in the history, so rollback finds it
        previous = {**previous, "id": max(history, default=0) + 1, "kind": "train"}
        _write_history(previous)
        history[previous["id"]] = previous
    aliases = {**previous.get("aliases", {})}
    for name, moves in targets.items():
        now = _current_aliases(name, aliases.get(name, {}))
        aliases[name] = {**(dict.fromkeys(now) if exact else now), **moves}
    record = {"id": max([*history, previous.get("id", 0)], default=0) + 1, "previous": previous.get("id"),
              "kind": kind, "restores": restores, "time": datetime.now(UTC).isoformat(timespec="seconds"),
              "run_id": run_id, "state": "moving", "aliases": aliases}
    client.set_registered_model_tag(RELEASE_MODEL, RELEASE_TAG, json.dumps(record, sort_keys=True))
    _write_history(record)
    return record


def release_history() -> dict[int, dict[str, Any]]:
    """Return every release record written since releases had ids, by id (oldest first)."""
    from models.inference.registry import RELEASE_MODEL

    try:
        tags = _client().get_registered_model(RELEASE_MODEL).tags
    except Exception as exc:
        if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return {}
        raise
    found = {int(k.removeprefix(HISTORY_PREFIX)): json.loads(v) for k, v in tags.items()
             if k.startswith(HISTORY_PREFIX) and k.removeprefix(HISTORY_PREFIX).isdigit()}
    return dict(sorted(found.items()))


def _write_history(record: dict[str, Any]) -> None:
    from models.inference.registry import RELEASE_MODEL

    entry = {k: v for k, v in record.items() if k != "state"}
    _client().set_registered_model_tag(RELEASE_MODEL, f"{HISTORY_PREFIX}{record['id']}",
                                       json.dumps(entry, sort_keys=True))


def _current_aliases(name: str, pinned: dict[str, str | None]) -> dict[str, str | None]:
    """Return the aliases a model has now (for a registry that had no record yet, read from the aliases)."""
    try:
        found = _client().get_registered_model(name).aliases
    except Exception:  # a model registered for the first time by this run
        return dict(pinned)
    return {**{str(alias): str(version) for alias, version in found.items()}, **pinned}


def complete_release(record: dict[str, Any], after_move: Callable[[int], None] | None = None) -> None:
    """Move every alias to where ``record`` says, clear the pending marks, and mark the release done.

    Idempotent: a command that finds a release still "moving" (its run was killed) calls it again.
    """
    from models.inference.registry import RELEASE_MODEL, RELEASE_TAG

    client = _client()
    moved = 0
    for name, aliases in record["aliases"].items():
        current = _current_aliases(name, {})
        for alias, target in aliases.items():
            if current.get(alias) != target:
                set_alias(name, alias, target)
                moved += 1
                if after_move is not None:
                    after_move(moved)
            if target is not None and PENDING_TAG in client.get_model_version(name, target).tags:
                client.delete_model_version_tag(name, target, PENDING_TAG)
    client.set_registered_model_tag(RELEASE_MODEL, RELEASE_TAG, json.dumps({**record, "state": "done"},
                                                                           sort_keys=True))


def recover() -> list[str]:
    """Repair what a killed ``train`` left: runs still RUNNING whose process is gone are marked FAILED, a release
    interrupted while moving aliases is completed, and versions registered for a release that never happened
    are deleted. Returns one sentence per repair. Touches nothing when there is no registry yet."""
    if not store_exists():
        return []
    notes = _failed_dead_runs()
    release = current_release()
    if release and release.get("state") == "moving" and try_lock(_client()):  # else: its writer is still at it
        try:
            release = current_release()
            if release and release.get("state") == "moving":
                complete_release(release)
                notes.append(f"completed release {release.get('id', '')} ({release.get('kind', 'train')} of run "
                             f"{release.get('run_id')}), interrupted while moving aliases")
            if release and "id" in release and release["id"] not in release_history():
                _write_history(release)  # killed between the commit and its copy in the history
        finally:
            _client().delete_registered_model(LOCK_MODEL)
    notes += _deleted_orphans(release)
    return notes


def _failed_dead_runs() -> list[str]:
    client, notes, host = _client(), [], socket.gethostname()
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    for found in client.search_runs(experiments, "attributes.status = 'RUNNING'"):
        pid = found.data.tags.get(PID_TAG)
        if pid and found.data.tags.get(HOST_TAG) == host and not _alive(int(pid)):
            client.set_terminated(found.info.run_id, "FAILED")
            notes.append(f"run {found.info.run_id} was interrupted (process {pid} is gone): marked FAILED")
    return notes


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _deleted_orphans(release: dict[str, Any] | None) -> list[str]:
    """Delete versions still marked pending whose run has ended: their release was never written."""
    from models.inference.registry import RELEASE_MODEL

    client, notes = _client(), []
    kept = {(n, v) for n, aliases in ((release or {}).get("aliases") or {}).items() for v in aliases.values()}
    for model in client.search_registered_models():
        if model.name in (RELEASE_MODEL, LOCK_MODEL):
            continue
        for mv in client.search_model_versions(f"name = '{model.name}'"):
            if PENDING_TAG not in mv.tags or (model.name, str(mv.version)) in kept:
                continue
            if mv.run_id and client.get_run(mv.run_id).info.status == "RUNNING":
                continue  # a registration in progress
            delete_version(model.name, str(mv.version))
            notes.append(f"deleted {model.name} v{mv.version}: registered by an interrupted run, never released")
    return notes

