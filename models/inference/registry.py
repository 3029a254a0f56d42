"""Reading the MLflow registry: where it is, which version holds an alias, and loading a registered model.

This is the read side that scoring and the service need; ``training.tracking`` adds the write side (runs,
logging, registering, moving aliases) on top of the same URI rules. The tracking URI comes from
``MLFLOW_TRACKING_URI``; without it, ``sqlite:///<cwd>/mlflow.db`` (MLflow 3 refuses a bare ``./mlruns`` store).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from models.base import ModelBase
from models.inference.pyfunc import folder_in, load_model_folder

logger = logging.getLogger(__name__)

DEFAULT_DB = "mlflow.db"
RELEASE_MODEL = "retention-release"  # a registered model without versions: its tag holds the release record
RELEASE_TAG = "release"


def tracking_uri() -> str:
    """Return MLFLOW_TRACKING_URI, or ``sqlite:///<cwd>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(Path.cwd() / DEFAULT_DB).resolve()}"


def configure() -> str:
    """Point MLflow (tracking and registry) at ``tracking_uri()`` and return it."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no tqdm bars inside our progress
    import mlflow

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # its own INFO chatter, unless debugging
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def client() -> Any:
    """Return an MlflowClient on ``tracking_uri()``."""
    from mlflow import MlflowClient

    configure()
    return MlflowClient()


def store_exists() -> bool:
    """Return False when the tracking URI is a local sqlite file that does not exist (nothing trained yet).

    Readers check this first: asking MLflow anything would create an empty ``mlflow.db`` as a side effect.
    """
    uri = tracking_uri()
    return not uri.startswith("sqlite:///") or Path(uri.removeprefix("sqlite:///")).exists()


def current_release() -> dict[str, Any] | None:
    """Return the release record: which version holds each alias of each model, written in one step by training.

    ``{"run_id": ..., "state": "moving" | "done", "aliases": {name: {alias: version or None}}}``, or None for a
    registry that never had one. It is the truth about champions: a training run killed while moving the
    aliases one by one leaves them mixed, but never the record.
    """
    import json

    from mlflow.exceptions import MlflowException

    if not store_exists():
        return None
    try:
        text = client().get_registered_model(RELEASE_MODEL).tags.get(RELEASE_TAG)
    except MlflowException:
        return None
    return json.loads(text) if text else None


def alias_version(name: str, alias: str) -> dict[str, Any] | None:
    """Return the version holding ``alias`` of the registered model ``name`` (version, run_id, tags), or None.

    The release record decides when it names this model and alias; otherwise the alias itself does.
    """
    from mlflow.exceptions import MlflowException

    if not store_exists():
        return None
    pinned = ((current_release() or {}).get("aliases") or {}).get(name, {})
    try:
        if alias in pinned:
            if pinned[alias] is None:
                return None
            mv = client().get_model_version(name, pinned[alias])
        else:
            mv = client().get_model_version_by_alias(name, alias)
    except MlflowException:
        return None
    return {"version": str(mv.version), "run_id": mv.run_id, "tags": dict(mv.tags), "source": mv.source}


def alias_uri(name: str, alias: str) -> str:
    """Return ``models:/<name>/<version>`` of the version holding ``alias`` (resolved through the release record).

    Raises
    ------
    ValueError
        When there is no such model or alias; the message says to train first.
    """
    found = alias_version(name, alias)
    if found is None:
        raise ValueError(f"no registered model {name!r} with alias {alias!r} at {tracking_uri()}; run `retention "
                         "train --data DIR` first (or set MLFLOW_TRACKING_URI to the registry you trained into)")
    return f"models:/{name}/{found['version']}"


def download_model(uri: str, dst: Path) -> Path:
    """Download a model (``models:/churn@champion``) into ``dst`` and return the local folder."""
    import mlflow

    configure()
    return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(dst)))


def load_registered(uri: str) -> ModelBase:
    """Download a registered model (``models:/churn@champion``, ``models:/churn/3``, ``models:/m-...``), load it.

    The download goes to a temporary folder that is removed once the model is in memory.
    """
    with tempfile.TemporaryDirectory(prefix="retention-model-") as tmp:
        return load_model_folder(folder_in(download_model(uri, Path(tmp))))
