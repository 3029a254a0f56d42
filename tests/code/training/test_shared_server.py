"""Issue 27: a team's shared tracking server. A real `mlflow server` backed by a real PostgreSQL (`make postgres`),
artifacts in a local folder; `train` twice at once, then promote, rollback, score and serve against it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from features.demo.shop import write_shop
from models.inference import registry
from tests.code.serving.server import ADMIN_KEY, Server, start
from tests.code.tracking_server import Postgres, mlflow_server, postgres
from tests.shared import demo_tables, small_config
from training import tracking

pytestmark = pytest.mark.integration

NAMES = ("churn", "golden", "value", "recommender")
EXE = Path(sys.executable).parent / "retention"


@pytest.fixture(scope="module")
def database() -> Iterator[Postgres]:
    with postgres() as db:
        yield db


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory, database: Postgres) -> Iterator[tuple[Path, str]]:
    """A shop folder and the URI of a tracking server on PostgreSQL, MLFLOW_TRACKING_URI pointing at it."""
    work = tmp_path_factory.mktemp("shared")
    write_shop(demo_tables(900, seed=5), work / "data", "parquet")
    (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
    patch = pytest.MonkeyPatch()
    try:
        with mlflow_server(database.uri, work / "artifacts") as url:
            patch.chdir(work)
            patch.setenv("MLFLOW_TRACKING_URI", url)
            yield work, url
    finally:
        patch.undo()


def retention(work: Path, url: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": url, "COLUMNS": "200"}
    return subprocess.Popen([str(EXE), *args], cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    out, err = process.communicate(timeout=1200)
    assert process.returncode == 0, err[-3000:]
    return out, err


def resolved() -> dict[str, str]:
    return {n: f["version"] for n, f in registry.resolve(NAMES, "champion").versions.items() if f is not None}


def test_two_trains_at_once_leave_every_alias_in_one_release_and_no_run_running(shared: tuple[Path, str]) -> None:
    work, url = shared
    runs = [retention(work, url, "train", "--data", "data", "--config", "small.yaml", "--force-promote")
            for _ in range(2)]
    try:
        for run in runs:
            finish(run)
    finally:  # a failure (or Ctrl-C) in one leaves no other train running against a server about to stop
        for run in runs:
            if run.poll() is None:
                run.kill()
                run.wait()
    client = tracking._client()
    release = tracking.current_release()
    assert release is not None and release["state"] == "done"
    every = {n: {a: str(v) for a, v in client.get_registered_model(n).aliases.items()} for n in NAMES}
    recorded = {n: {a: v for a, v in aliases.items() if v is not None} for n, aliases in release["aliases"].items()}
    assert every == recorded  # every alias of every model, not only champion
    raw = {n: every[n]["champion"] for n in NAMES}
    assert raw == resolved()
    made_by = {client.get_model_version(n, v).run_id for n, v in raw.items()}
    assert len(made_by) == 1  # all four champions from one run
    experiments = [e.experiment_id for e in client.search_experiments()]
    assert not client.search_runs(experiments, "attributes.status = 'RUNNING'")
    assert len(client.search_runs(experiments, "attributes.status = 'FINISHED'")) == 2
    assert sorted(tracking.release_history()) == [1, 2]
    # the artifacts went through the server (a teammate's machine loads them over HTTP), none into a local mlruns
    assert {e.artifact_location.split(":")[0] for e in client.search_experiments()} == {"mlflow-artifacts"}
    assert any((work / "artifacts").rglob("MLmodel")) and not (work / "mlruns").exists()


def test_promote_rollback_score_and_serve_on_the_shared_server(shared: tuple[Path, str]) -> None:
    work, url = shared
    history = tracking.release_history()
    first = {n: a["champion"] for n, a in history[1]["aliases"].items()}
    second = {n: a["champion"] for n, a in history[2]["aliases"].items()}
    assert resolved() == second
    server: Server = start(work, work / "data", work / "small.yaml", {"MLFLOW_TRACKING_URI": url})
    try:
        finish(retention(work, url, "rollback", "--data", "data"))
        assert resolved() == first
        out, _ = finish(retention(work, url, "score", "--data", "data", "--out", "scores.csv"))
        assert f"churn v{first['churn']}" in out
        assert _reload(server)["versions"] == first
        finish(retention(work, url, "promote", "--release", "2", "--data", "data"))
        assert resolved() == second and _reload(server)["versions"] == second
        out, _ = finish(retention(work, url, "models", "--history"))
        assert "rollback of 1" in out and "promote of 2" in out
    finally:
        server.kill()


def _reload(server: Server) -> dict:
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with server.client() as client:
        assert client.post("/admin/reload", headers=admin).status_code == 202
        while True:
            status = client.get("/admin/reload", headers=admin).json()
            if status["status"] != "loading":
                assert status["status"] == "reloaded", status
                return status
            threading.Event().wait(0.5)


def test_the_database_itself_is_a_tracking_uri_too(shared: tuple[Path, str], database: Postgres) -> None:
    """``MLFLOW_TRACKING_URI=postgresql://...`` (SQLAlchemy's default driver, psycopg 3) reads the same registry the
    server writes (the server itself runs on ``postgresql+psycopg2://``): the release history is the same."""
    work, url = shared
    direct = database.uri.replace("postgresql+psycopg2://", "postgresql://")
    through_server, _ = finish(retention(work, url, "models", "--history"))
    out, _ = finish(retention(work, direct, "models", "--history"))
    assert out == through_server and "train run" in out
