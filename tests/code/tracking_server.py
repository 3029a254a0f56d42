"""A real shared tracking server for tests: Debian's PostgreSQL (`make postgres` installs it) in a private folder on
a free port, and `mlflow server` on it with artifacts in a local folder. Both are stopped by their process ids.

PostgreSQL refuses to run as root, so as root the cluster belongs to the `postgres` user the Debian package
creates (the folder is made under /tmp, which that user can reach; pytest's tmp_path is private to root).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.code.serving.server import free_port

MLFLOW = str(Path(sys.executable).with_name("mlflow"))
WAIT = 300  # seconds for a server to answer; the machine may be shared


def _pg_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: run `make postgres`")
    return Path(found[-1]).parent


def _as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class Postgres:
    folder: Path
    port: int

    @property
    def uri(self) -> str:
        return f"postgresql+psycopg2://retention@127.0.0.1:{self.port}/mlflow"

    def pid(self) -> int:
        return int((self.folder / "data" / "postmaster.pid").read_text().split()[0])


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM (a CI timeout, a `kill`) into KeyboardInterrupt while the servers run, so the ``finally``
    blocks that stop them still run; by default SIGTERM ends Python at once and would leave both behind."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def postgres() -> Iterator[Postgres]:
    """Start a throwaway PostgreSQL cluster with a database ``mlflow`` owned by ``retention`` (trust auth, local);
    it is stopped on the way out, also on an error, Ctrl-C or SIGTERM."""
    with _terminate_as_interrupt(), _cluster() as db:
        yield db


@contextlib.contextmanager
def _cluster() -> Iterator[Postgres]:
    folder = Path(tempfile.mkdtemp(prefix="lifecycle-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    pg, port = _pg_bin(), free_port()
    db = Postgres(folder, port)
    subprocess.run(_as_owner([str(pg / "initdb"), "-D", str(folder / "data"), "-U", "retention", "-A", "trust",
                              "--no-sync"]), check=True, capture_output=True)
    try:  # inside the try: a start that fails half-way (pg_ctl timed out) still leaves a server to stop
        subprocess.run(_as_owner([str(pg / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w",
                                  "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off",
                                  "start"]), check=True, capture_output=True)
        subprocess.run(_as_owner([str(pg / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "retention",
                                  "mlflow"]), check=True, capture_output=True)
        yield db
    finally:
        _stop_postgres(db)
        shutil.rmtree(folder, ignore_errors=True)


def _stop_postgres(db: Postgres) -> None:
    """Stop the cluster by its postmaster's id: "fast" shutdown (SIGINT), then "immediate" (SIGQUIT), then SIGKILL."""
    try:
        pid = db.pid()
    except (FileNotFoundError, ValueError, IndexError):  # never started
        return
    for sig, wait in ((signal.SIGINT, 60.0), (signal.SIGQUIT, 30.0), (signal.SIGKILL, 10.0)):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


@contextlib.contextmanager
def mlflow_server(backend: str, artifacts: Path) -> Iterator[str]:
    """Run `mlflow server` on ``backend`` with artifacts served from ``artifacts``; yield its http URI."""
    port = free_port()
    log = artifacts.parent / f"mlflow-server-{port}.log"
    process = subprocess.Popen([MLFLOW, "server", "--backend-store-uri", backend, "--artifacts-destination",
                                str(artifacts), "--host", "127.0.0.1", "--port", str(port), "--workers", "2"],
                               stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + WAIT
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server did not start:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            time.sleep(1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(60)
