"""Champions into BentoML's model store, so a Bento carries the models themselves (not a pointer to MLflow).

``export_champions`` copies each champion's saved folder from MLflow into the local BentoML store as
``retention-<name>:v<version>`` (``retention export-models`` / ``make bento`` run it). ``packed`` gives the
service its class-level ``BentoModel`` references, only when ``RETENTION_MODELS=bento`` and the store holds them
(a Bento built then carries them); otherwise the service loads the champions from MLflow and references nothing.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from models.inference import registry
from models.inference.config import RegistryConfig
from models.inference.pyfunc import folder_in

logger = logging.getLogger(__name__)

PREFIX = "retention-"


def registered_names(r: RegistryConfig) -> list[str]:
    return [r.churn_name, r.golden_name, r.value_name, r.recommender_name]


def export_champions(r: RegistryConfig) -> dict[str, str]:
    """Copy every champion into the BentoML model store; return registered name -> BentoML tag.

    A champion that is missing (e.g. no recommender for a shop without item_id) is skipped and logged.
    """
    import bentoml

    tags = {}
    resolved = registry.resolve(registered_names(r), r.champion_alias)  # one release, never two
    for name in registered_names(r):
        found = resolved.versions.get(name)
        if found is None:
            logger.warning("no %s@%s to export", name, r.champion_alias)
            continue
        tag = f"{PREFIX}{name}:v{found['version']}"
        try:
            bentoml.models.get(tag)
        except bentoml.exceptions.NotFound:
            with tempfile.TemporaryDirectory(prefix="retention-export-") as tmp:
                folder = folder_in(registry.download_model(f"models:/{name}/{found['version']}", Path(tmp)))
                with bentoml.models.create(tag, labels={"version": found["version"], "registered_name": name},
                                           metadata={"run_id": found["run_id"]}) as model:
                    shutil.copytree(folder, model.path, dirs_exist_ok=True)
        tags[name] = tag
    return tags


def packed(task: str) -> Any:
    """Return a ``BentoModel`` of the latest exported ``task`` model when RETENTION_MODELS=bento and the store has
    it, else None (the service then loads from MLflow). Used for the service's class attributes."""
    if os.environ.get("RETENTION_MODELS") != "bento":
        return None
    import bentoml
    from bentoml.models import BentoModel

    name = getattr(RegistryConfig(), f"{task}_name")
    try:
        bentoml.models.get(f"{PREFIX}{name}:latest")
    except bentoml.exceptions.NotFound:
        return None
    return BentoModel(f"{PREFIX}{name}:latest")


def packed_folders(stored: list[Any]) -> dict[str, tuple[Path, str]]:
    """Return registered name -> (model folder, registry version) of resolved BentoML models."""
    return {m.info.labels["registered_name"]: (Path(m.path), m.info.labels.get("version", "")) for m in stored}
