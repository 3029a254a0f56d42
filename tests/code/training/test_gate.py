"""The promotion gate on a throwaway MLflow registry: a worse model never takes champion unless forced."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.customer.baselines import RecencyBaseline
from training import tracking
from training.register import Candidate, register_all, register_candidate


@pytest.fixture(scope="module")
def registry(module_registry: Path) -> Iterator[str]:
    """A sqlite registry in a temp dir (never the repo's mlflow.db) holding one logged model; yields its URI."""
    rng = np.random.default_rng(0)
    x = pd.DataFrame({"customer_id": [f"c{i}" for i in range(200)], "days_since_last_order": rng.uniform(0, 300, 200)})
    y = pd.DataFrame({"churn": (x["days_since_last_order"] > 150).astype(int), "golden": 0, "value": 1.0,
                      "orders": 1.0})
    model = RecencyBaseline().fit(x, y, horizon_days=90)
    folder = model.save(module_registry / "model")
    with tracking.run("gate-test"):
        uri = tracking.log_model_folder("m", folder, x.head(3), model.predict(x.head(3)))
    yield uri



def champion(name: str) -> str | None:
    found = tracking.alias_version(name, "champion")
    return found["version"] if found else None


def test_first_version_becomes_champion_and_loads_through_pyfunc(registry: str) -> None:
    decision = register_candidate("first", registry, "roc_auc", 0.70)
    assert (decision.version, decision.alias, decision.promoted) == ("1", "champion", True)
    import mlflow.pyfunc

    loaded = mlflow.pyfunc.load_model("models:/first@champion")
    frame = pd.DataFrame({"customer_id": ["a", "b"], "days_since_last_order": [10.0, 290.0]})
    out = loaded.predict(frame, params={"reasons": True})
    assert out["churn_probability"].iloc[0] < out["churn_probability"].iloc[1]
    assert out["reasons"].tolist() == ["", "no order for 290 days"]  # 10 days without an order is no reason
    # a fresh process loads and predicts without ever importing the training package (serving's situation)
    code = ("import sys, pandas as pd, mlflow.pyfunc\n"
            "m = mlflow.pyfunc.load_model('models:/first@champion')\n"
            "m.predict(pd.DataFrame({'customer_id': ['a'], 'days_since_last_order': [3.0]}))\n"
            "print(sorted({k.split('.')[0] for k in sys.modules} & {'training', 'models'}))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=os.environ.copy(),
                            check=True)
    assert result.stdout.strip().splitlines()[-1] == "['models']"


def test_worse_model_gets_challenger_and_the_champion_stays(registry: str) -> None:
    register_candidate("gate", registry, "roc_auc", 0.70)
    worse = register_candidate("gate", registry, "roc_auc", 0.69)
    assert (worse.alias, worse.promoted, champion("gate")) == ("challenger", False, "1")
    assert "0.6900 vs champion v1's 0.7000 (logged on its own holdout): worse" in worse.reason
    equal = register_candidate("gate", registry, "roc_auc", 0.70)
    assert (equal.alias, champion("gate")) == ("champion", "3")  # at least as good is enough
    forced = register_candidate("gate", registry, "roc_auc", 0.50, force=True)
    assert (forced.alias, champion("gate")) == ("champion", "4") and "--force-promote" in forced.reason


def test_lower_is_better_baseline_and_same_holdout(registry: str) -> None:
    register_candidate("mae", registry, "mae", 10.0, higher_is_better=False)
    assert register_candidate("mae", registry, "mae", 9.0, higher_is_better=False).promoted
    beaten = register_candidate("mae", registry, "mae", 8.0, higher_is_better=False, baseline_value=7.5)
    assert not beaten.promoted and "worse than the best baseline's 7.5000" in beaten.reason
    rescored = register_candidate("mae", registry, "mae", 8.5, higher_is_better=False,
                                  champion_metric=lambda info: 8.4)  # champion v2 rescored on this holdout
    assert not rescored.promoted and "(on the same holdout)" in rescored.reason and rescored.champion_value == 8.4


def test_a_champion_for_another_horizon_is_replaced(registry: str) -> None:
    register_candidate("h", registry, "roc_auc", 0.9, tags={"horizon_days": "273"})
    other = register_candidate("h", registry, "roc_auc", 0.6, tags={"horizon_days": "90"}, must_match=("horizon_days",))
    assert other.promoted and "horizon_days=273 (now 90): not comparable" in other.reason


def test_a_failed_registration_removes_new_versions_and_restores_aliases(registry: str,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("a", "b"):
        register_candidate(name, registry, "roc_auc", 0.5)
    real = tracking.register_version
    calls = []

    def flaky(name: str, uri: str, tags: dict[str, str]) -> str:
        calls.append(name)
        if len(calls) == 2:
            raise RuntimeError("registry went away")
        return real(name, uri, tags)

    monkeypatch.setattr(tracking, "register_version", flaky)
    with pytest.raises(RuntimeError, match="went away"):
        register_all([Candidate("a", registry, "roc_auc", 0.9), Candidate("b", registry, "roc_auc", 0.9)])
    assert tracking.registered_versions("a") == ["1"] and tracking.registered_versions("b") == ["1"]
    assert champion("a") == "1" and champion("b") == "1"
