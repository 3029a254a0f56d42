"""The service's settings, read from the environment once per process (``retention serve`` sets them).

- ``RETENTION_DATA``: the shop folder (or DuckDB file) whose current state is served (required).
- ``RETENTION_CONFIG``: run configuration (YAML); its ``registry``, ``scoring``, ``segments``, ``storefront``,
  ``campaigns`` and ``training.reasons_k`` are read (default: the built-in defaults).
- Keys, one per role (``Authorization: Bearer <key>`` or ``X-API-Key: <key>``): ``RETENTION_STOREFRONT_KEY``
  (``/recommend``, ``/reminders``, ``/bought_together``, ``/similar_items``, ``/upsell``, ``/events``),
  ``RETENTION_API_KEY`` (the marketer: ``/customer``, ``/customer_picks``, ``/churn_risk``, ``/churn_list``,
  ``/audiences/reminders``, ``/segments``),
  ``RETENTION_ADMIN_KEY`` (``/admin/*``) and, optional, ``RETENTION_METRICS_KEY`` (``/metrics``; unset: open).
  The service refuses to start while a role's key is unset, unless ``RETENTION_INSECURE_NO_AUTH=1``
  (``retention serve --insecure-no-auth``): then the routes of the unset keys are open, and it says so.
- ``RETENTION_REDIS_URL``: the Redis that holds the live state and the reload generation for every worker and
  replica (unset: one process keeps them in memory; ``--workers`` over 1 needs it).
- ``RETENTION_LIVE_TTL_DAYS`` (7): how long a live cart, recent views and purchases are kept after their last
  change; ``RETENTION_LIVE_MAX_ITEMS`` (100): most items per customer per list (the oldest go first).
- ``RETENTION_EVENTS_PER_MINUTE`` (120): most events per customer per minute on ``/events`` (then 429).
- ``RETENTION_MAX_BODY``: largest request body in bytes (default 1,000,000).
- ``RETENTION_MODELS``: ``mlflow`` (champions from ``MLFLOW_TRACKING_URI``, the default) or ``bento`` (the models
  packed in the Bento).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from features.analytics.segment_rules import SegmentsConfig
from features.campaigns.config import CampaignsConfig
from models.inference.config import RegistryConfig, ScoringConfig, StorefrontConfig

JOURNAL_FOLDER = "events_journal"


class RunSections(BaseModel):
    """The parts of a run configuration the service needs (the rest of the file is training's business)."""

    model_config = ConfigDict(frozen=True)

    registry: RegistryConfig = RegistryConfig()
    scoring: ScoringConfig = ScoringConfig()
    segments: SegmentsConfig = SegmentsConfig()
    storefront: StorefrontConfig = StorefrontConfig()
    campaigns: CampaignsConfig = CampaignsConfig()
    reasons_k: int = Field(3, ge=1, le=10)


ROLES = {"storefront": "RETENTION_STOREFRONT_KEY", "api": "RETENTION_API_KEY", "admin": "RETENTION_ADMIN_KEY",
         "metrics": "RETENTION_METRICS_KEY"}
REQUIRED_ROLES = ("storefront", "api", "admin")  # /metrics' key is optional: unset, Prometheus scrapes it freely


class Settings(BaseModel):
    """Everything the service reads from the environment."""

    model_config = ConfigDict(frozen=True)

    data: Path
    config: Path | None = None
    storefront_key: SecretStr | None = None
    api_key: SecretStr | None = None
    admin_key: SecretStr | None = None
    metrics_key: SecretStr | None = None
    insecure_no_auth: bool = False
    redis_url: SecretStr | None = None  # may carry a password: never logged as is (see ``masked``)
    live_ttl_days: float = Field(7.0, gt=0, le=3650)
    live_max_items: int = Field(100, ge=1, le=10_000)
    events_per_minute: int = Field(120, ge=1)
    max_body: int = Field(1_000_000, ge=1_000)
    models: Literal["mlflow", "bento"] = "mlflow"

    @property
    def journal(self) -> Path:
        """The folder of the live-events journal: beside the shop's tables (next to the file for a DuckDB shop)."""
        base = self.data if self.data.is_dir() else self.data.parent
        return base / JOURNAL_FOLDER

    def key(self, role: str) -> SecretStr | None:
        return getattr(self, f"{role}_key")

    def unset_keys(self) -> list[str]:
        """The variables of the required roles whose key is not set."""
        return [ROLES[role] for role in REQUIRED_ROLES if self.key(role) is None]


def clean_key(name: str, value: str) -> str:
    """Return a key without surrounding whitespace; refuse one that is blank or has whitespace inside."""
    key = value.strip()
    if not key or any(c.isspace() for c in key):
        raise ValueError(f"{name} must be one word without spaces (got a value of {len(value)} characters with "
                         "blanks); set it to a long random string, e.g. `openssl rand -hex 24`")
    return key


def masked(uri: str) -> str:
    """Return ``uri`` with its password replaced by ``***`` (for the log)."""
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", uri)


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
    for key, name in (("config", "RETENTION_CONFIG"), ("models", "RETENTION_MODELS"),
                      ("redis_url", "RETENTION_REDIS_URL")):
        if env.get(name):
            values[key] = env[name].strip()
    for role, name in ROLES.items():
        if env.get(name) is not None and env[name] != "":
            values[f"{role}_key"] = clean_key(name, env[name])
    values["insecure_no_auth"] = env.get("RETENTION_INSECURE_NO_AUTH", "").strip().lower() in ("1", "true", "yes")
    for key, name, kind in (("max_body", "RETENTION_MAX_BODY", int),
                            ("live_ttl_days", "RETENTION_LIVE_TTL_DAYS", float),
                            ("live_max_items", "RETENTION_LIVE_MAX_ITEMS", int),
                            ("events_per_minute", "RETENTION_EVENTS_PER_MINUTE", int)):
        if env.get(name):
            try:
                values[key] = kind(env[name])
            except ValueError:
                raise ValueError(f"{name} must be a number, got {env[name]!r}") from None
    try:
        return Settings(**values)
    except ValidationError as exc:
        problem = exc.errors(include_url=False)[0]
        raise ValueError(f"RETENTION_{str(problem['loc'][0]).upper()}: {problem['msg']}") from None


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
    picked = {key: raw[key] for key in ("registry", "scoring", "segments", "storefront", "campaigns")
              if key in raw}
    training = raw.get("training") or {}
    if isinstance(training, dict) and "reasons_k" in training:
        picked["reasons_k"] = training["reasons_k"]
    try:
        return RunSections(**picked)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None
