"""A run that fails registers nothing and moves no alias; through the pipeline, a worse model stays challenger.

The modelling half is fitted once on a small demo shop and reused: these tests are about the MLflow half.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from features.data.reader import Shop, shop_from_frames
from tests.shared import demo_tables, small_config
from training import tracking
from training import train as train_module
from training.config import RetentionConfig
from training.train import TrainOutcome, fit_and_evaluate, train

NAMES = ("churn", "golden", "value", "recommender")  # the demo shop has item_id: all four register together
SMALL = {"n_estimators": 40, "num_threads": 1}


@pytest.fixture(scope="module")
def setup(module_registry: Path) -> tuple[Shop, RetentionConfig, TrainOutcome]:
    shop = shop_from_frames(demo_tables(900, seed=5))
    # a tiny shop: the registry is under test (no baseline bar); the recommender registers with the others, untuned
    cfg = RetentionConfig(**small_config())
    return shop, cfg, fit_and_evaluate(shop, cfg)


def state() -> dict[str, tuple[list[str], str | None, str | None]]:
    """Return, per model: its versions, and the versions holding champion and challenger."""
    def alias(name: str, which: str) -> str | None:
        found = tracking.alias_version(name, which)
        return found["version"] if found else None

    return {n: (tracking.registered_versions(n), alias(n, "champion"), alias(n, "challenger")) for n in NAMES}


def run_with(outcome: TrainOutcome, setup: tuple, monkeypatch: pytest.MonkeyPatch, **kwargs: object) -> object:
    shop, cfg, _ = setup
    monkeypatch.setattr(train_module, "fit_and_evaluate", lambda *a, **k: outcome)
    return train(shop, cfg, **kwargs)


def last_run_status() -> str:
    import mlflow

    runs = mlflow.search_runs(experiment_names=["retention"], order_by=["start_time DESC"], max_results=1)
    return str(runs.iloc[0]["status"])


def test_failures_leave_the_registry_as_it_was(setup: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, outcome = setup
    first = run_with(outcome, setup, monkeypatch)
    assert [d.alias for d in first.decisions] == ["champion"] * len(NAMES)
    before = state()
    assert before == {n: (["1"], "1", None) for n in NAMES}

    # a failure after the models are logged (plots, say) and before registration
    def broken_plots(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full while logging plots")

    monkeypatch.setattr(tracking, "log_figures", broken_plots)
    with pytest.raises(RuntimeError, match="disk full"):
        run_with(outcome, setup, monkeypatch)
    assert state() == before and last_run_status() == "FAILED"
    monkeypatch.undo()

    # a failure in the middle of registering the four models
    real, calls = tracking.register_version, []

    def third_fails(name: str, uri: str, tags: dict[str, str]) -> str:
        calls.append(name)
        if len(calls) == 3:
            raise RuntimeError("registry unavailable")
        return real(name, uri, tags)

    monkeypatch.setattr(tracking, "register_version", third_fails)
    with pytest.raises(RuntimeError, match="registry unavailable"):
        run_with(outcome, setup, monkeypatch)
    assert state() == before and last_run_status() == "FAILED"


def test_worse_model_stays_challenger_unless_forced(setup: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, outcome = setup
    if state()["churn"][1] is None:  # run alone: make a champion first
        run_with(outcome, setup, monkeypatch)
    champions = {n: state()[n][1] for n in NAMES}
    worse = copy.deepcopy(outcome)
    worse.evaluation.tables["churn"].loc["model", "roc_auc"] -= 0.05
    result = run_with(worse, setup, monkeypatch)
    by_name = {d.name: d for d in result.decisions}
    assert by_name["churn"].alias == "challenger" and not by_name["churn"].promoted
    assert "worse" in by_name["churn"].reason
    assert state()["churn"][1] == champions["churn"]  # the champion did not move
    assert by_name["golden"].alias == "champion"  # equal metrics: at least as good
    forced = {d.name: d for d in run_with(worse, setup, monkeypatch, force_promote=True).decisions}
    assert forced["churn"].alias == "champion" and state()["churn"][1] == forced["churn"].version
