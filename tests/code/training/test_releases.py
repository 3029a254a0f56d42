"""Issue 27 (releases) and issue 30 items 1, 8, 10: see, promote and roll back champions, with a real sqlite
registry, real `retention` processes and a real `retention serve`.

One module: the demo shop is trained twice (releases 1 and 2), then every test first puts a known release in place.
A locked registry is a real process holding an exclusive sqlite transaction on mlflow.db; a kill is a real SIGKILL
at a named point (RETENTION_KILL_AT, as in test_kill.py).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from features.demo.shop import write_shop
from models.inference import registry
from tests.code.serving.server import ADMIN_KEY, MARKETER, Server, start
from tests.shared import demo_tables, small_config
from training import tracking
from training.cli.app import app

pytestmark = pytest.mark.integration

NAMES = ("churn", "golden", "value", "recommender")
EXE = Path(sys.executable).parent / "retention"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def work(module_registry: Path) -> Path:
    """The demo shop trained twice: release 1 (v1 of every model) and release 2 (v2, promoted by force)."""
    write_shop(demo_tables(900, seed=5), module_registry / "data", "parquet")
    (module_registry / "small.yaml").write_text(yaml.safe_dump(small_config()))
    for extra in ([], ["--force-promote"]):
        result = CliRunner().invoke(app, ["train", "--data", "data", "--config", "small.yaml", *extra])
        assert result.exit_code == 0, result.output
    return module_registry


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[Server]:
    running = start(work, work / "data", work / "small.yaml", {"RETENTION_REGISTRY_ATTEMPTS": "1"})
    yield running
    running.kill()


def cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def retention(work: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the real command line in ``work`` (its registry) and return what it did."""
    full = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "COLUMNS": "200", **env}
    return subprocess.run([str(EXE), *args], cwd=work, env=full, capture_output=True, text=True, timeout=900)


def served() -> dict[str, str]:
    """The champion version every reader resolves now."""
    found = registry.resolve(NAMES, "champion").versions
    return {n: f["version"] for n, f in found.items() if f is not None}


def release(number: int) -> dict[str, str]:
    return {n: a["champion"] for n, a in tracking.release_history()[number]["aliases"].items()}


def serve_release(number: int) -> None:
    if served() != release(number):
        cli("promote", "--release", str(number), "--data", "data")
    assert served() == release(number)


def reload(server: Server) -> dict:
    with server.client() as client:
        assert client.post("/admin/reload", headers=ADMIN).status_code == 202
        while True:  # the reload finishes or fails; the test's own timeout bounds a hang
            status = client.get("/admin/reload", headers=ADMIN).json()
            if status["status"] != "loading":
                return status
            threading.Event().wait(0.5)


@contextlib.contextmanager
def locked(db: Path) -> Iterator[None]:
    """Hold an exclusive transaction on the sqlite file from another process, as a stuck writer would."""
    holder = subprocess.Popen([sys.executable, "-c", "import sqlite3, sys, time\n"
                               f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
                               "c.execute('BEGIN EXCLUSIVE'); print('locked', flush=True); time.sleep(600)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        yield
    finally:
        holder.kill()
        holder.wait()


def test_models_lists_every_version_and_the_champions_over_time(work: Path) -> None:
    serve_release(2)
    table = cli("models")
    for name in NAMES:
        assert table.count(f"│ {name} ") == 2, table  # v1 and v2 of each
    assert "roc_auc" in table and "bgnbd" in table and "lightgbm" in table and "champion" in table
    assert cli("models", "--model", "churn").count("│ churn ") == 2
    history = cli("models", "--history")
    assert "train run" in history and "│ 1 " in history
    assert "rollback" not in history or "*" in history


def test_promote_and_rollback_move_what_score_and_a_running_service_use(work: Path, server: Server) -> None:
    serve_release(2)
    assert reload(server)["versions"]["churn"] == release(2)["churn"]
    rolled = retention(work, "rollback", "--data", "data")
    assert rolled.returncode == 0, rolled.stderr[-3000:]
    assert served() == release(1) and "rollback of release" in rolled.stdout
    scored = retention(work, "score", "--data", "data", "--out", "scores.csv")
    assert scored.returncode == 0 and f"churn v{release(1)['churn']}" in scored.stdout, scored.stderr[-3000:]
    status = reload(server)
    assert status["status"] == "reloaded" and status["versions"] == {
        "churn": release(1)["churn"], "golden": release(1)["golden"], "value": release(1)["value"],
        "recommender": release(1)["recommender"]}
    newest = max(tracking.release_history())
    back = retention(work, "promote", "--release", "2", "--data", "data")
    assert back.returncode == 0, back.stderr[-3000:]
    assert served() == release(2) and max(tracking.release_history()) == newest + 1
    assert f"churn v{release(2)['churn']}" in retention(work, "score", "--data", "data", "--out", "s.csv").stdout
    assert reload(server)["versions"]["churn"] == release(2)["churn"]


def test_kill_9_during_promote_leaves_one_release_and_a_reload_never_mixes_two(work: Path, server: Server) -> None:
    serve_release(2)
    killed = retention(work, "promote", "--release", "1", "--data", "data", RETENTION_KILL_AT="promote:alias:2")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    raw = {n: str(tracking._client().get_registered_model(n).aliases["champion"]) for n in NAMES}
    assert raw != release(1) and raw != release(2)  # the aliases are half moved ...
    assert served() == release(1)  # ... but every reader goes by the record: the new release, whole
    status = reload(server)  # issue 30.8: the service resolves all four from one read of the record
    assert status["status"] == "reloaded" and status["versions"] == release(1), status
    tidy = retention(work, "models", "--history")  # the next command completes the release
    assert tidy.returncode == 0 and "completed release" in tidy.stderr, tidy.stderr[-3000:]
    assert {n: str(tracking._client().get_registered_model(n).aliases["champion"]) for n in NAMES} == release(1)


def test_an_alias_moved_by_hand_is_followed_and_called_a_mixed_release(work: Path) -> None:
    serve_release(2)
    tracking.set_alias("churn", "champion", release(1)["churn"])  # what a click in MLflow's UI does
    scored = retention(work, "score", "--data", "data", "--out", "scores.csv")
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert f"churn v{release(1)['churn']}" in scored.stdout and "mixed release" in scored.stdout
    assert "retention promote --release" in scored.stdout
    fixed = retention(work, "promote", "--release", "2", "--data", "data")
    assert fixed.returncode == 0 and served() == release(2) and not registry.resolve(NAMES, "champion").notes


def test_promote_refuses_a_release_the_shop_cannot_serve_and_moves_nothing(work: Path) -> None:
    serve_release(2)
    before = (tracking.current_release() or {})["id"]
    shutil.copytree(work / "data", work / "no_events", ignore=shutil.ignore_patterns("events.*", ".retention-*"))
    refused = retention(work, "promote", "--release", "1", "--data", "no_events")
    assert refused.returncode == 2 and "release 1 cannot be promoted on this shop" in refused.stderr
    assert "feature families this shop no longer has" in refused.stderr and "Traceback" not in refused.stderr
    (work / "mlruns").rename(work / "mlruns-away")
    try:
        gone = retention(work, "promote", "--release", "1", "--data", "data")
    finally:
        (work / "mlruns-away").rename(work / "mlruns")
    assert gone.returncode == 2 and "cannot be loaded" in gone.stderr and "missing from the artifact store" in \
        gone.stderr, gone.stderr[-2000:]
    unknown = retention(work, "promote", "--release", "99", "--data", "data")
    assert unknown.returncode == 2 and "there is no release 99" in unknown.stderr
    assert served() == release(2) and (tracking.current_release() or {})["id"] == before


def test_score_on_a_locked_registry_exits_with_a_sentence(work: Path) -> None:
    """Issue 30.10: no raw SQLAlchemy traceback; a busy store is retried (here once), then a sentence."""
    with locked(work / "mlflow.db"):
        scored = retention(work, "score", "--data", "data", "--out", "locked.csv", RETENTION_REGISTRY_ATTEMPTS="1")
    assert scored.returncode == 2
    assert "the MLflow registry did not answer" in scored.stderr and "database is locked" in scored.stderr
    assert "Traceback" not in scored.stderr + scored.stdout and "SELECT" not in scored.stderr
    assert not (work / "locked.csv").exists()


def test_a_reload_that_cannot_read_the_registry_keeps_the_old_models(work: Path, server: Server) -> None:
    """Issue 30.1: a locked mlflow.db, then artifacts moved away: 'failed', the old bundle keeps serving, and the
    status says why without the store's location."""
    serve_release(2)
    assert reload(server)["status"] == "reloaded"
    with locked(work / "mlflow.db"):
        status = reload(server)
    assert status["status"] == "failed" and "the MLflow registry did not answer" in status["detail"], status
    assert str(work) not in str(status) and "sqlite" not in str(status)
    assert status["versions"]["churn"] == release(2)["churn"]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.post("/customer", json={"customer_id": "C000003"}, headers=MARKETER).status_code == 200
    (work / "mlruns").rename(work / "mlruns-away")
    try:
        status = reload(server)
    finally:
        (work / "mlruns-away").rename(work / "mlruns")
    assert status["status"] == "failed" and "keeps serving" in status["detail"], status
    assert str(work) not in status["detail"]
    with httpx.Client(base_url=server.url, timeout=60) as client:
        assert client.post("/customer", json={"customer_id": "C000003"}, headers=MARKETER).status_code == 200
    assert reload(server)["status"] == "reloaded"
