"""The one model shape every model shares: keyword hyperparameters, ``fit`` returns self, plain-file save/load.

A model's hyperparameters are a pydantic ``XxxConfig``; its learned state lives in attributes ending in ``_``.
``save`` writes ``model.json`` (class, config, config hash, package version) next to the model's own native
artifacts (``.npz`` arrays, LightGBM text models, JSON); ``load`` refuses a folder whose hash or class does not
match. Nothing is pickled, so a saved model is readable, diffable and safe to load.
"""

from __future__ import annotations

import hashlib
import json
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict

logger = logging.getLogger(__name__)

MANIFEST = "model.json"


class ModelConfig(BaseModel):
    """Base of every model's hyperparameters: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class NotFittedError(RuntimeError):
    """A model was asked to predict, recommend or save before ``fit``."""


def config_hash(config: BaseModel) -> str:
    """Return a short, stable SHA-256 of a config's JSON form."""
    payload = json.dumps(config.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def package_version() -> str:
    try:
        return version("retention")
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "0+unknown"


class ModelBase:
    """Shared life cycle. Subclasses set ``Config``, and write ``_fit``, ``_save_state`` and ``_load_state``."""

    Config: ClassVar[type[ModelConfig]] = ModelConfig

    def __init__(self, config: ModelConfig | None = None, **params: Any) -> None:
        if config is not None and params:
            raise TypeError("pass either a config or keyword hyperparameters, not both")
        self.config = config if config is not None else self.Config(**params)
        self.is_fitted = False

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.config.model_dump().items())
        return f"{type(self).__name__}({params})"

    # configuration ---------------------------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    @classmethod
    def from_config(cls, config: dict[str, Any] | ModelConfig) -> Self:
        return cls(config if isinstance(config, ModelConfig) else cls.Config(**config))

    # life cycle ------------------------------------------------------------------------------------------------
    def fit(self, *args: Any, **kwargs: Any) -> Self:
        """Learn from the data; a refit replaces all learned state. Returns self."""
        self._fit(*args, **kwargs)
        self.is_fitted = True
        return self

    def _fit(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError

    def check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(...) first")

    # persistence -----------------------------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the model into the folder ``path`` (created) and return it."""
        self.check_fitted()
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        extra = self._save_state(path) or {}
        manifest = {
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
            "config": self.get_config(),
            "config_hash": config_hash(self.config),
            "package_version": package_version(),
            "state": extra,
        }
        (path / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True, default=str))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Self:
        """Read a model saved by ``save``; refuse one of another class or with a tampered config."""
        path = Path(path)
        manifest_file = path / MANIFEST
        if not manifest_file.exists():
            raise FileNotFoundError(f"{path}: no {MANIFEST}; expected a folder written by {cls.__name__}.save()")
        manifest = json.loads(manifest_file.read_text())
        expected_class = f"{cls.__module__}.{cls.__qualname__}"
        if manifest["class"] != expected_class:
            raise ValueError(f"{path}: holds a {manifest['class']}, not a {expected_class}")
        model = cls.from_config(manifest["config"])
        if config_hash(model.config) != manifest["config_hash"]:
            raise ValueError(f"{path}: config hash mismatch; the saved config was edited or is corrupt")
        model._load_state(path, manifest.get("state", {}))
        model.is_fitted = True
        return model

    def _save_state(self, path: Path) -> dict[str, Any] | None:
        """Write learned state as native files under ``path``; return small JSON-able extras for the manifest."""
        raise NotImplementedError

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        raise NotImplementedError
