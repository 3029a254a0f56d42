"""MLflow pyfunc wrapper: a registered model is a saved model folder plus this file, no training code.

``training.tracking`` logs models "from code": MLflow copies ``pyfunc_entry.py`` (three lines that name
``ModelFolderPyfunc`` with ``set_model``) into the logged model and runs it when the model is loaded; this module
itself does nothing on import. The folder written by a model's
``save`` travels as the artifact ``model``; ``load_context`` reads it with the class named in its model.json
(only classes of this ``models`` package are accepted). So ``mlflow.pyfunc.load_model("models:/churn@champion")``
works in a process that never imported ``training``, and so does the faster path serving uses:
``load_model_folder(folder_in(mlflow.artifacts.download_artifacts(uri)))``.

``predict`` returns the model's output frame. A model may define ``pyfunc_predict(frame, params)`` for another
call shape (the recommender does); customer models also answer ``params={"reasons": True}``.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from models.base import MANIFEST, ModelBase

ARTIFACT_KEY = "model"
PACKAGE = "models."


def load_model_folder(path: str | Path) -> ModelBase:
    """Load a saved model folder with the class its model.json names (a class of the ``models`` package).

    Raises
    ------
    ValueError
        When model.json names a class outside the ``models`` package.
    FileNotFoundError
        When the folder has no model.json.
    """
    path = Path(path)
    manifest = path / MANIFEST
    if not manifest.exists():
        raise FileNotFoundError(f"{path}: no {MANIFEST}; expected a folder written by a model's save()")
    qualified = json.loads(manifest.read_text())["class"]
    module_name, _, class_name = qualified.rpartition(".")
    if not module_name.startswith(PACKAGE):
        raise ValueError(f"{path}: refusing to load {qualified!r}; only classes of the models package are allowed")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls.load(path)


def folder_in(root: str | Path) -> Path:
    """Return the model folder inside a downloaded pyfunc model (``<root>/artifacts/<folder>/model.json``)."""
    root = Path(root)
    if (root / MANIFEST).exists():
        return root
    found = sorted(p.parent for p in (root / "artifacts").glob(f"*/{MANIFEST}"))
    if len(found) != 1:
        raise FileNotFoundError(f"{root}: expected one model folder under artifacts/, found {len(found)}")
    return found[0]


def model_source(path: str | Path) -> str:
    """Return what produced a saved model (``lightgbm``, ``bgnbd_fallback``, ...) from its model.json."""
    state = json.loads((Path(path) / MANIFEST).read_text()).get("state", {})
    return str(state.get("model_source", "unknown"))


class ModelFolderPyfunc(mlflow.pyfunc.PythonModel):  # type: ignore[name-defined]
    """Serve a saved model folder through MLflow's pyfunc interface."""

    def load_context(self, context: Any) -> None:
        self.model = load_model_folder(folder_in(context.artifacts[ARTIFACT_KEY]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        params = params or {}
        custom = getattr(self.model, "pyfunc_predict", None)
        if custom is not None:
            return custom(model_input, params)
        model: Any = self.model  # a customer model: predict and reasons (the recommender took the branch above)
        out = model.predict(model_input)
        if params.get("reasons"):
            out["reasons"] = model.reasons(model_input)["reasons"].to_numpy()
        return out

