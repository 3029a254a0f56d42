"""Helpers the tests share (the fixtures built on them are in conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.demo.shop import DemoConfig, generate_shop

# Debian's chromium (`make browser`), driven by Playwright; Playwright's own browser download is never used
CHROMIUM = "/usr/lib/chromium/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"  # screenshots of the browser tests (git-ignored)

# LightGBM small enough for a test to train four models in seconds, one thread so parallel tests do not fight
SMALL_MODEL = {"n_estimators": 40, "num_threads": 1}
SMALL_TRAINING = {"n_windows": 2, "window_spacing_days": 45, "min_customers": 200}


def small_config() -> dict:
    """A config for a ~1,000-customer demo shop: short windows, small models, untuned recommender, no baseline bar."""
    return {"training": dict(SMALL_TRAINING), "models": {"churn": SMALL_MODEL, "golden": SMALL_MODEL,
                                                          "value": SMALL_MODEL},
            "registry": {"require_beating_baseline": False},
            "recommender": {"tuning": {"tune": False}}}


def use_registry(patch: pytest.MonkeyPatch, work: Path) -> str:
    """Work in ``work`` with MLflow in ``work/mlflow.db`` (never the repository's); return the URI."""
    patch.chdir(work)
    uri = f"sqlite:///{work / 'mlflow.db'}"
    patch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def demo_tables(customers: int, seed: int, years: float = 1.5) -> dict[str, pd.DataFrame]:
    """Return a small demo shop's four tables."""
    return generate_shop(DemoConfig(customers=customers, seed=seed, years=years))
