"""A/B experiments of recommender versions: where the experiment is kept, who gets which arm, what was shown.

- The experiment (name, challenger version, share, seed, window, status) is kept in Redis when
  ``RETENTION_REDIS_URL`` is set (``retention:experiment:<name>`` and ``retention:experiment:running``), so every
  worker of every replica follows one record; otherwise in ``<shop>/experiments/<name>.json`` beside the journal
  (one machine). ``retention experiment start/stop`` writes it; each worker reads it every ``POLL_SECONDS``.
- A customer's arm is a seeded hash: the challenger when ``draw("experiment:<name>", customer_id, seed) < share``
  (``features.campaigns.control.draw``): stable per customer, independent of anything else, on every worker.
- While one runs, each worker loads the challenger version and its ready picks beside the champion, and every
  storefront ``/recommend`` answer is appended to ``<shop>/experiments/<name>.shown.jsonl`` (time, customer, arm,
  version, items) by a writer thread (whole lines under ``flock``, at most ``FLUSH_SECONDS`` late: a kill -9 may
  lose that last fraction of a second of shown lists, never an event). ``retention experiment results`` joins it
  with the events journal.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import orjson

from features.campaigns.control import draw

logger = logging.getLogger(__name__)

FOLDER = "experiments"
POLL_SECONDS = 1.0
FLUSH_SECONDS = 0.5
CHAMPION, CHALLENGER = "champion", "challenger"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass(frozen=True)
class Experiment:
    name: str
    challenger: str  # the recommender version tested
    champion: str  # the champion's version when it started
    share: float = 0.5  # of customers in the challenger arm
    seed: int = 0
    window_hours: float = 72.0
    started: str = ""
    stopped: str | None = None

    def arm(self, customer_id: str) -> str:
        return CHALLENGER if draw(f"experiment:{self.name}", customer_id, self.seed) < self.share else CHAMPION


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise ValueError(f"experiment name {name!r}: use 1-64 letters, digits, '.', '_' or '-' (it names files)")
    return name


def experiments_folder(data: Path) -> Path:
    """The experiments folder of a shop: beside its tables (next to the file for a DuckDB shop), as the journal."""
    return (data if data.is_dir() else data.parent) / FOLDER


class Store(Protocol):
    def get(self, name: str) -> Experiment | None: ...
    def save(self, experiment: Experiment, running: bool) -> None: ...
    def running(self) -> Experiment | None: ...


class FileStore:
    """Experiments as JSON files in the shop's experiments folder (one machine, any number of workers)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def get(self, name: str) -> Experiment | None:
        path = self.folder / f"{check_name(name)}.json"
        return Experiment(**json.loads(path.read_text())) if path.exists() else None

    def save(self, experiment: Experiment, running: bool) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _replace(self.folder / f"{experiment.name}.json", json.dumps(asdict(experiment), indent=1))
        pointer = self.folder / "running"
        if running:
            _replace(pointer, experiment.name)
        elif pointer.exists() and pointer.read_text().strip() == experiment.name:
            pointer.unlink()

    def running(self) -> Experiment | None:
        pointer = self.folder / "running"
        try:
            name = pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return self.get(name) if name else None


class RedisStore:
    """Experiments in Redis: every worker of every replica reads the same record."""

    def __init__(self, url: str, prefix: str = "retention") -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix

    def get(self, name: str) -> Experiment | None:
        found = self.client.get(f"{self.prefix}:experiment:{check_name(name)}")
        return Experiment(**json.loads(found)) if found else None

    def save(self, experiment: Experiment, running: bool) -> None:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(f"{self.prefix}:experiment:{experiment.name}", json.dumps(asdict(experiment)))
            if running:
                pipe.set(f"{self.prefix}:experiment:running", experiment.name)
            pipe.execute()
        if not running and self.client.get(f"{self.prefix}:experiment:running") == experiment.name.encode():
            self.client.delete(f"{self.prefix}:experiment:running")

    def running(self) -> Experiment | None:
        name = self.client.get(f"{self.prefix}:experiment:running")
        return self.get(name.decode() if isinstance(name, bytes) else str(name)) if name else None


def store_for(data: Path, redis_url: str | None) -> Store:
    return RedisStore(redis_url) if redis_url else FileStore(experiments_folder(data))


def _replace(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` in one step (a reader sees the old file or the new one, never half)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def shown_file(data: Path, name: str) -> Path:
    return experiments_folder(data) / f"{check_name(name)}.shown.jsonl"


class ShownLog:
    """Collects shown lists as ready lines; a thread appends them to the experiment's file every ``FLUSH_SECONDS``.

    A line is a few byte joins on the request path (the time's seconds are formatted once a second); the thread
    only joins and writes, so it holds the interpreter lock for well under a millisecond and never stalls the loop.
    """

    def __init__(self) -> None:
        # lines of bytes only: nothing the collector tracks piles up between flushes (tuples did, and the
        # collections they set off cost more than the lines themselves)
        self.pending: dict[Path, list[bytes]] = {}
        self._lock = threading.Lock()
        self._second, self._stamp = -1, b""
        threading.Thread(target=self._run, name="shown-log", daemon=True).start()

    def add(self, path: Path, customer_id: str, arm: str, version: str, items: Sequence[str]) -> None:
        at = time.time()
        second = int(at)
        if second != self._second:  # two requests racing here write the same stamp: no lock needed
            self._stamp = datetime.fromtimestamp(second).isoformat(sep=" ").encode()
            self._second = second
        line = b"".join((b'{"time":"', self._stamp, b".%03d" % int((at - second) * 1000), b'","customer_id":',
                         orjson.dumps(customer_id), b',"arm":"', arm.encode(), b'","version":', orjson.dumps(version),
                         b',"items":', orjson.dumps(items), b"}\n"))
        with self._lock:  # uncontended but for the flush's swap, which must not lose a line appended meanwhile
            lines = self.pending.get(path)
            if lines is None:
                self.pending[path] = [line]
            else:
                lines.append(line)

    def _run(self) -> None:
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                self.flush()
            except OSError as exc:  # a full disk: the lists are dropped and said so; answers go on
                logger.warning("could not write shown lists: %s", exc)

    def flush(self) -> None:
        with self._lock:
            taken, self.pending = self.pending, {}
        for path, lines in taken.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)  # several workers append to one file: whole lines only
                os.write(fd, b"".join(lines))
            finally:
                os.close(fd)


@dataclass(frozen=True)
class Active:
    """A running experiment as one worker serves it: the challenger model and its ready picks."""

    experiment: Experiment
    model: Any
    memo: Any
    shown: Path
    challengers: frozenset[str] = frozenset()  # the known customers in the challenger arm, drawn once at load

    def in_challenger_arm(self, customer_id: str) -> bool:
        if customer_id in self.challengers:
            return True
        # a known customer not in the set is a champion; only ids the loader never saw are drawn per request
        return customer_id not in self.memo.picks and self.experiment.arm(customer_id) == CHALLENGER


class Watch:
    """One worker's view of the running experiment: polls the store, loads the challenger, logs shown lists."""

    def __init__(self, store: Store, data: Path, load: Any) -> None:
        self.store, self.data, self.load = store, data, load  # load(experiment) -> (model, memo)
        self.active: Active | None = None
        self.log = ShownLog()
        self._warned = 0.0

    def start(self) -> None:
        threading.Thread(target=self.run, name="experiment-watch", daemon=True).start()

    def run(self) -> None:
        while True:
            try:
                self.tick()
            except Exception as exc:  # the store or the registry away: keep serving what is loaded, say so
                if time.monotonic() - self._warned > 30:
                    self._warned = time.monotonic()
                    logger.warning("experiment watch failed (%s); serving as before", exc)
            time.sleep(POLL_SECONDS)

    def tick(self) -> None:
        from serving.bundle import refreeze  # here: the CLI imports this module and needs none of the bundle

        running = self.store.running()
        now = self.active.experiment if self.active else None
        if running == now:
            return
        if running is None or running.stopped:
            self.active = None
            refreeze()  # the challenger was frozen with the rest: let it go
            logger.info("experiment %s stopped: every customer gets the champion", now.name if now else "?")
            return
        model, memo = self.load(running)
        if model is None:  # the bundle is not loaded yet: try again next tick
            return
        challengers = frozenset(c for c in memo.picks if running.arm(c) == CHALLENGER)
        self.active = Active(running, model, memo, shown_file(self.data, running.name), challengers)
        refreeze()  # as after a reload: collections under load skip the challenger's objects
        logger.info("experiment %s running: %.0f%% of customers get recommender v%s", running.name,
                    running.share * 100, running.challenger)


def challenger_loader(holder: Any) -> Any:
    """Return ``load(experiment) -> (model, memo)``: the challenger version from the registry and its ready picks
    for the bundle's customers; (None, None) while no bundle is loaded."""

    def load(experiment: Experiment) -> tuple[Any, Any]:
        from models.inference import registry
        from serving.picks import Memo, precompute

        bundle = holder.bundle
        if bundle is None:
            return None, None
        name = bundle.sections.registry.recommender_name
        model = registry.load_registered(f"models:/{name}/{experiment.challenger}")
        return model, Memo(picks=precompute(model, bundle.active_customers))

    return load
