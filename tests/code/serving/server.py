"""A real `retention serve` subprocess (and a real redis-server) for the serving tests: start, wait, kill."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import yaml
from typer.testing import CliRunner

from features.demo.shop import write_shop
from tests.shared import demo_tables, small_config

RETENTION = str(Path(sys.executable).with_name("retention"))
BENTOML = str(Path(sys.executable).with_name("bentoml"))
READY_WAIT = 900  # seconds; the machine may be shared, so generous (no assertion depends on it)
STOREFRONT_KEY, API_KEY, ADMIN_KEY = "test-storefront-key", "test-api-key", "test-admin-key"
KEYS = {"RETENTION_STOREFRONT_KEY": STOREFRONT_KEY, "RETENTION_API_KEY": API_KEY, "RETENTION_ADMIN_KEY": ADMIN_KEY}
STOREFRONT = {"Authorization": f"Bearer {STOREFRONT_KEY}"}
MARKETER = {"Authorization": f"Bearer {API_KEY}"}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def trained_shop(folder: Path, customers: int, seed: int) -> Path:
    """A demo shop trained in `folder`: data/, small.yaml and an MLflow registry with every champion."""
    from training.cli.app import app  # imported here: only the tests that train pay for it

    write_shop(demo_tables(customers, seed=seed), folder / "data", "parquet")
    (folder / "small.yaml").write_text(yaml.safe_dump(small_config()))
    result = CliRunner().invoke(app, ["train", "--data", "data", "--config", "small.yaml"])
    assert result.exit_code == 0, result.output
    return folder


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path

    def client(self, **headers: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Signal the whole process group (bentoml serve and its workers) and wait for the leader."""
        if self.process.poll() is None:
            workers = psutil.Process(self.process.pid).children(recursive=True)  # each in its own process group
            os.killpg(self.process.pid, sig)
            for worker in workers:
                with contextlib.suppress(psutil.NoSuchProcess):
                    worker.send_signal(sig)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(60)


def start(work: Path, data: Path, config: Path | None = None, extra: dict[str, str] | None = None,
          workers: int = 1) -> Server:
    """Start `retention serve` in ``work`` (its MLflow registry) and return once /readyz answers 200."""
    port = free_port()
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", **KEYS,
           "BENTOML_HOME": str(work / "bentoml"), **(extra or {})}
    args = [RETENTION, "serve", "--data", str(data), "--port", str(port), "--workers", str(workers)]
    if config is not None:
        args += ["--config", str(config)]
    return launch(args, work, env, port)


def launch(args: list[str], cwd: Path, env: dict[str, str], port: int) -> Server:
    """Run ``args`` (a server listening on ``port``) in ``cwd`` and return once /readyz answers 200."""
    log = cwd / f"serve-{port}.log"
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    server = Server(process, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + READY_WAIT
    while time.monotonic() < deadline:
        if process.poll() is not None or "Application startup failed" in log.read_text():
            server.kill(signal.SIGKILL)
            raise RuntimeError(f"retention serve failed to start:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=5).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(1)
    server.kill(signal.SIGKILL)
    raise RuntimeError(f"retention serve not ready after {READY_WAIT} s:\n{log.read_text()[-3000:]}")


@dataclass
class Redis:
    """A private redis-server (no persistence: a kill loses everything, as the tests want) on a free port."""

    folder: Path
    port: int
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> Redis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder), "--save", "",
             "--appendonly", "no", "--protected-mode", "no", "--daemonize", "no"],
            stdout=(self.folder / "redis.log").open("a"), stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return self
            time.sleep(0.1)
        raise RuntimeError(f"redis-server did not start:\n{(self.folder / 'redis.log').read_text()[-2000:]}")

    def kill(self, sig: int = signal.SIGTERM) -> None:
        """Stop this redis-server by its process id."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)


def redis_server(folder: Path) -> Redis:
    return Redis(folder, free_port()).start()
