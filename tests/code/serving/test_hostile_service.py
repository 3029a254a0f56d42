"""Issue 30 against a real `retention serve`: a damaged journal, events outside the contract, a full disk, a
read-only shop and kill -9 of the serving process.

The shop is untrained (the scoring routes answer 409; /events needs no model). The "full disk" is a file-size
limit (RLIMIT_FSIZE) set in the server's process before it starts, inherited by its workers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from features.demo.shop import write_shop
from tests.code.serving.server import KEYS, RETENTION, STOREFRONT, Server, free_port, launch
from tests.shared import demo_tables

pytestmark = pytest.mark.integration

FILE_LIMIT = 256_000  # bytes: a batch of 1,000 events with long ids is larger
WITH_LIMIT = ("import os, resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), "
              "resource.RLIM_INFINITY)); os.execv(sys.argv[2], sys.argv[2:])")


def serve(work: Path, data: Path, prefix: list[str] | None = None) -> Server:
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", **KEYS,
           "BENTOML_HOME": str(work / "bentoml")}
    return launch([*(prefix or []), RETENTION, "serve", "--data", str(data), "--port", str(port)], work, env, port)


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("hostile")
    write_shop(demo_tables(300, seed=5), work / "data", "parquet")
    journal = work / "data" / "events_journal"
    journal.mkdir()
    (journal / "events-2026-01-01.jsonl").write_bytes(
        b'{"customer_id": "C000001", "timestamp": "2026-01-01 10:00:00", "event_type": "cart_add", '
        b'"item_id": "I00001"}\n{"customer_id": "C000002", "timest')  # torn by a full disk
    (journal / "events-2026-01-02.jsonl").mkdir()  # a folder named like a journal file
    (journal / "events-20260103T000000-7.csv").write_bytes(b"customer_id,timestamp,event_type,item_id\n\xff,x,y,z\n")
    return work


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[Server]:
    running = serve(work, work / "data", [sys.executable, "-c", WITH_LIMIT, str(FILE_LIMIT)])
    yield running
    running.kill(signal.SIGKILL)


def journal_bytes(work: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (work / "data" / "events_journal").glob("events-*.jsonl") if p.is_file()}


def test_a_damaged_journal_does_not_stop_the_service(server: Server, work: Path) -> None:
    assert httpx.get(f"{server.url}/livez", timeout=30).status_code == 200
    log = server.log.read_text()
    assert "events-2026-01-01.jsonl: skipped unreadable line(s) 2" in log
    assert "events-2026-01-02.jsonl: cannot be read as a journal file; moved to quarantine/" in log
    assert len(list((work / "data" / "events_journal" / "quarantine").iterdir())) == 2


@pytest.mark.parametrize("body, says", [
    ({"customer_id": "C1", "event_type": "view", "item_id": "I1", "timestamp": "2999-01-01T00:00:00"},
     "later than now plus a day"),
    ({"customer_id": "C1", "event_type": "view", "item_id": "I1", "timestamp": "1971-01-01T00:00:00"},
     "the shop's first order"),
    ({"events": [{"customer_id": "C1", "event_type": "view", "item_id": "I1"},
                 {"customer_id": "C1", "event_type": "view", "item_id": "I1", "timestamp": "2999-01-01T00:00:00"}]},
     "events[1]: timestamp 2999-01-01"),
    ({"customer_id": "a\rb", "event_type": "view", "item_id": "I1"}, "control character"),
    ({"customer_id": "C1", "event_type": "view", "item_id": "I\x00"}, "control character"),
])
def test_events_that_would_break_the_contract_are_refused(server: Server, work: Path, body: dict, says: str) -> None:
    before = journal_bytes(work)
    answer = httpx.post(f"{server.url}/events", json=body, headers=STOREFRONT, timeout=60)
    assert answer.status_code == 422, answer.text
    assert says in answer.json()["detail"]
    assert journal_bytes(work) == before  # nothing of the request was journaled


def test_a_full_disk_answers_507_and_keeps_none_of_the_batch(server: Server, work: Path) -> None:
    with server.client(**STOREFRONT) as client:
        assert client.post("/events", json={"customer_id": "C000003", "event_type": "view",
                                            "item_id": "I00001"}).status_code == 200
        before = journal_bytes(work)
        big = {"events": [{"customer_id": f"C{n:0>127}", "event_type": "view", "item_id": "I" * 128}
                          for n in range(1000)]}
        full = client.post("/events", json=big)
        assert full.status_code == 507, full.text
        assert "is full" in full.json()["detail"] and "none of these events was kept" in full.json()["detail"]
        assert journal_bytes(work) == before
        after = client.post("/events", json={"customer_id": "C000004", "event_type": "view", "item_id": "I00002"})
        assert after.status_code == 200, after.text
    assert b"C000004" in b"".join(journal_bytes(work).values())


def test_kill_9_of_serve_leaves_no_worker_holding_the_port(server: Server) -> None:
    workers = psutil.Process(server.process.pid).children(recursive=True)
    assert workers, "bentoml serve runs its workers as child processes"
    os.kill(server.process.pid, signal.SIGKILL)
    server.process.wait(60)
    gone, alive = psutil.wait_procs(workers, timeout=120)
    assert not alive, f"workers still running after the serving process was killed: {[p.pid for p in alive]}"
    port = int(server.url.rsplit(":", 1)[1])
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # the port is free again


@contextlib.contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make ``folder`` read-only for this process: a read-only bind mount as root (root ignores modes)."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(folder), str(folder)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(folder)], check=True)
            yield
        finally:
            for _ in range(30):
                if subprocess.run(["umount", str(folder)]).returncode == 0:
                    break
                time.sleep(1)
    else:
        modes = {p: p.stat().st_mode for p in [folder, *folder.rglob("*")]}
        for path in modes:
            path.chmod(modes[path] & ~0o222)
        try:
            yield
        finally:
            for path, mode in modes.items():
                path.chmod(mode)


def test_a_read_only_shop_is_served_read_only(tmp_path: Path) -> None:
    write_shop(demo_tables(300, seed=6), tmp_path / "data", "parquet")
    with read_only(tmp_path / "data"):
        running = serve(tmp_path, tmp_path / "data")  # ready, not restarting
        try:
            with running.client(**STOREFRONT) as client:
                answer = client.post("/events", json={"customer_id": "C1", "event_type": "view", "item_id": "I1"})
                assert answer.status_code == 503, answer.text
                assert "runs read-only" in answer.json()["detail"]
                assert client.get("/livez").status_code == 200
            assert "serving read-only: POST /events answers 503" in " ".join(running.log.read_text().split())
        finally:
            running.kill(signal.SIGKILL)
