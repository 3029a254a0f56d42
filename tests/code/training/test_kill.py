"""Issue 19, half-written state: `train` killed with SIGKILL at several moments of registration leaves the old
champions or the new ones, all four together; the next command marks the dead run FAILED and tidies up.

The kill is real (the process sends itself SIGKILL at a named point, RETENTION_KILL_AT, since no timing could hit
the moment between two alias moves reliably); the registry is a real sqlite MLflow store in a temp folder.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from features.demo.shop import write_shop
from tests.shared import demo_tables, small_config, use_registry
from training import tracking
from training.cli.app import app

pytestmark = pytest.mark.integration

NAMES = ("churn", "golden", "value", "recommender")
EXE = Path(sys.executable).parent / "retention"


@pytest.fixture(scope="module")
def work(module_registry: Path) -> Iterator[Path]:
    write_shop(demo_tables(900, seed=5), module_registry / "data", "parquet")
    (module_registry / "small.yaml").write_text(yaml.safe_dump(small_config()))
    yield module_registry


def train(work: Path, kill_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "COLUMNS": "200"}
    if kill_at:
        env["RETENTION_KILL_AT"] = kill_at
    return subprocess.run([str(EXE), "train", "--data", "data", "--config", "small.yaml", "--force-promote"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)


def champions() -> dict[str, tuple[str, str]]:
    """Return, per model, the champion version readers resolve and the run that made it."""
    found = {n: tracking.alias_version(n, "champion") for n in NAMES}
    return {n: (f["version"], f["run_id"]) for n, f in found.items() if f is not None}


def raw_aliases() -> dict[str, str]:
    return {n: str(tracking._client().get_registered_model(n).aliases.get("champion")) for n in NAMES}


def run_status(run_id: str) -> str:
    return str(tracking._client().get_run(run_id).info.status)


@pytest.mark.parametrize("kill_at", ["version:2", "release", "alias:2"])
def test_kill_during_registration_leaves_all_old_or_all_new(work: Path, kill_at: str,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    use_registry(monkeypatch, work)
    if len(champions()) < len(NAMES):
        first = train(work)
        assert first.returncode == 0, first.stderr[-3000:]
    before = champions()
    assert len({run for _, run in before.values()}) == 1  # one complete set to start from

    killed = train(work, kill_at)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    after = champions()
    runs = {run for _, run in after.values()}
    assert len(after) == len(NAMES) and len(runs) == 1, after  # never a mix of two runs
    dead = tracking._client().search_runs([tracking.experiment_id("retention")], order_by=["start_time DESC"],
                                          max_results=1)[0]
    if kill_at.startswith("version"):
        assert after == before  # killed before the release record: the old set
    else:
        assert runs == {dead.info.run_id}  # killed after it: the new set, whole
    assert run_status(dead.info.run_id) == "RUNNING"

    notes = tracking.recover()  # what the next command does first
    assert run_status(dead.info.run_id) == "FAILED"
    assert any("marked FAILED" in n for n in notes)
    assert champions() == after  # repair changes nothing readers see
    assert raw_aliases() == {n: v for n, (v, _) in after.items()}  # and the aliases now agree with the record
    pending = [mv for n in NAMES for mv in tracking._client().search_model_versions(f"name = '{n}'")
               if tracking.PENDING_TAG in mv.tags]
    assert pending == []  # orphans of a release that never happened are gone


def test_score_on_an_empty_registry_creates_no_database(work: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    result = CliRunner().invoke(app, ["score", "--data", str(work / "data"), "--out", "scores.csv"])
    assert result.exit_code == 2, result.output
    assert "run `retention train --data DIR` first" in " ".join(result.output.split())
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no mlflow.db, no mlruns, no scores.csv
