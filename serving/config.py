"""The service's settings, read from the environment once per process (``retention serve`` sets them).

- ``RETENTION_DATA``: the shop folder (or DuckDB file) whose current state is served (required).
- ``RETENTION_CONFIG``: run configuration (YAML); its ``registry``, ``scoring``, ``segments`` and
  ``training.reasons_k`` are read (default: the built-in defaults).
- ``RETENTION_API_KEY``: key of the customer-list endpoints (``/churn_list``, ``/segments``); unset: they answer 401.
- ``RETENTION_ADMIN_KEY``: key of ``/admin/reload``; unset: it answers 401.
- ``RETENTION_MAX_BODY``: largest request body in bytes (default 1,000,000).
- ``RETENTION_MODELS``: ``mlflow`` (champions from ``MLFLOW_TRACKING_URI``, the default) or ``bento`` (the models
  packed in the Bento).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from features.analytics.segment_rules import SegmentsConfig
from models.inference.config import RegistryConfig, ScoringConfig

JOURNAL_FOLDER = "events_journal"


class RunSections(BaseModel):
    """The parts of a run configuration the service needs (the rest of the file is training's business)."""

    model_config = ConfigDict(frozen=True)

    registry: RegistryConfig = RegistryConfig()
    scoring: ScoringConfig = ScoringConfig()
    segments: SegmentsConfig = SegmentsConfig()
    reasons_k: int = Field(3, ge=1, le=10)


class Settings(BaseModel):
    """Everything the service reads from the environment."""

    model_config = ConfigDict(frozen=True)

    data: Path
    config: Path | None = None
    api_key: SecretStr | None = None
    admin_key: SecretStr | None = None
    max_body: int = Field(1_000_000, ge=1_000)
    models: Literal["mlflow", "bento"] = "mlflow"

    @property
    def journal(self) -> Path:
        """The folder of the live-events journal: beside the shop's tables (next to the file for a DuckDB shop)."""
        base = self.data if self.data.is_dir() else self.data.parent
        return base / JOURNAL_FOLDER


def settings_from_env(env: dict[str, str] | None = None) -> Settings:
    """Return the settings from ``env`` (default ``os.environ``).

    Raises
    ------
    ValueError
        When RETENTION_DATA is missing or a value has the wrong form (the message names the variable).
    """
    env = dict(os.environ if env is None else env)
    if not env.get("RETENTION_DATA"):
        raise ValueError("RETENTION_DATA is not set: point it at the shop folder to serve (retention serve --data DIR "
                         "sets it)")
    values: dict[str, Any] = {"data": Path(env["RETENTION_DATA"])}
    for key, name in (("config", "RETENTION_CONFIG"), ("api_key", "RETENTION_API_KEY"),
                      ("admin_key", "RETENTION_ADMIN_KEY"), ("models", "RETENTION_MODELS")):
        if env.get(name):
            values[key] = env[name]
    if env.get("RETENTION_MAX_BODY"):
        if not env["RETENTION_MAX_BODY"].isdigit():
            raise ValueError(f"RETENTION_MAX_BODY must be a number of bytes, got {env['RETENTION_MAX_BODY']!r}")
        values["max_body"] = int(env["RETENTION_MAX_BODY"])
    return Settings(**values)


def run_sections(path: Path | None) -> RunSections:
    """Return the registry, scoring and segments sections of the run configuration at ``path`` (None: defaults).

    Raises
    ------
    ValueError
        When the file is missing, not YAML, or a section breaks its schema (the message names the file).
    """
    if path is None:
        return RunSections()
    if not path.exists():
        raise ValueError(f"{path}: no such run configuration (RETENTION_CONFIG / --config)")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected a YAML mapping of sections, got {type(raw).__name__}")
    picked = {key: raw[key] for key in ("registry", "scoring", "segments") if key in raw}
    training = raw.get("training") or {}
    if isinstance(training, dict) and "reasons_k" in training:
        picked["reasons_k"] = training["reasons_k"]
    try:
        return RunSections(**picked)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
