"""What the workers of every replica agree on through Redis: the reload generation and a complete live state.

Each worker runs one thread (``Shared.run``) that every ``POLL_SECONDS``:
- reads the generation (``POST /admin/reload`` increments it) and reloads when it is ahead of this worker's, so a
  reload asked of one worker reaches all of them; after a Redis restart that lost the count, it is raised back to
  the highest generation a worker has loaded;
- checks the marker of this replica's journal: when it is gone (Redis lost its data) or an acknowledged event
  did not reach Redis, one worker (a lock in Redis) replays the journal into Redis and sets the marker again.
  So a ``kill -9`` of Redis loses no acknowledged event: the journal has it, fsynced before the answer.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from serving.bundle import Holder
from serving.config import masked
from serving.events import LiveEvent, LiveState, replay
from serving.livestore import RedisLive, queue

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.5
RESYNC_SECONDS = 600  # how often the hinted customers are read again from Redis
FLUSH_EVERY = 2_000  # events per pipeline while replaying the journal into Redis
# raise the stored generation to at least ARGV[1] and return it (one round trip, atomic)
AT_LEAST = """local g = tonumber(redis.call('GET', KEYS[1]) or '0')
local mine = tonumber(ARGV[1])
if g < mine then redis.call('SET', KEYS[1], mine) return mine end
return g"""


class Shared:
    """The generation counter and the journal's rebuild, for one worker."""

    def __init__(self, live: RedisLive, holder: Holder, journal: Path) -> None:
        self.live, self.holder, self.journal = live, holder, journal
        self.generation_key = f"{live.prefix}:generation"
        # one marker per replica's journal folder: each replica rebuilds what only its journal holds
        self.marker = f"{live.prefix}:journal:{socket.gethostname()}:{journal.resolve()}"
        self._warned = 0.0
        self.holder.generation = self._stored_generation()  # a worker starting now loads what is current

    def _stored_generation(self) -> int:
        import redis

        try:
            return int(redis.Redis.from_url(self.live.url, socket_connect_timeout=2).get(self.generation_key) or 0)
        except Exception as exc:  # Redis away at start: the poller catches up once it answers
            logger.warning("Redis failed reading the reload generation: %s", exc)
            return 0

    async def next_generation(self) -> int:
        """Count one more reload (every worker follows it); without Redis, this worker's next."""
        try:
            return int(await self.live.client.incr(self.generation_key))
        except Exception as exc:  # Redis away: this worker reloads alone; the others follow once it is back
            logger.warning("Redis failed counting the reload (%s); this worker reloads alone for now", exc)
            return self.holder.generation + 1

    def start(self) -> None:
        threading.Thread(target=self.run, name="shared-state", daemon=True).start()
        threading.Thread(target=self.listen, name="live-hints", daemon=True).start()

    def listen(self) -> None:
        """Keep ``live.hinted`` current: every customer Redis holds live state of, then each one that changes.

        A thread (not the event loop) takes the messages, so a busy loop does not delay them. Every
        ``RESYNC_SECONDS``, and after each reconnection, the set is read again from Redis (expired customers go).
        """
        import redis

        while True:
            try:
                client = redis.Redis.from_url(self.live.url, socket_connect_timeout=2)
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.live.channel)
                synced = self._resync(client)
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self.live.hinted.update(message["data"].decode().split("\n"))
                    if time.monotonic() - synced > RESYNC_SECONDS:
                        synced = self._resync(client)
            except Exception as exc:  # Redis away: try again; meanwhile hinted customers are read (and fail soft)
                if time.monotonic() - self._warned > 10:
                    self._warned = time.monotonic()
                    logger.warning("Redis failed listening for live changes (%s); retrying", exc)
                time.sleep(1)

    def _resync(self, client: Any) -> float:
        before = set(self.live.hinted)
        found = {key.decode().split(":", 3)[3] for key in client.scan_iter(f"{self.live.prefix}:live:*:*",
                                                                           count=1000)}
        # what arrived during the scan stays; customers neither found nor newly hinted are dropped
        self.live.hinted = found | (self.live.hinted - before)
        return time.monotonic()

    def run(self) -> None:
        import redis

        client = redis.Redis.from_url(self.live.url, socket_timeout=30, socket_connect_timeout=2)
        logger.info("live state and reloads shared through Redis at %s", masked(self.live.url))
        while True:
            try:
                self.tick(client)
            except Exception as exc:  # Redis away or restarting: keep serving, try again next tick
                if time.monotonic() - self._warned > 10:
                    self._warned = time.monotonic()
                    logger.warning("Redis failed (%s); serving without it until it answers", exc)
            time.sleep(POLL_SECONDS)

    def tick(self, client: Any) -> None:
        if self.live.lost or not client.exists(self.marker):
            self.rebuild(client)
        else:
            self.live.ready = True
        self.holder.follow(int(client.eval(AT_LEAST, 1, self.generation_key, self.holder.generation)))

    def rebuild(self, client: Any) -> None:
        """Replay this replica's journal into Redis, once across workers (the others wait for the marker)."""
        lock = f"{self.marker}:rebuilding"
        if not client.set(lock, os.getpid(), nx=True, ex=600):
            return
        try:
            self.live.lost = False
            started = time.perf_counter()
            target = RedisReplay(client, self.live)
            count = replay(self.journal, target)
            target.flush()
            client.set(self.marker, datetime.now().isoformat())
            self.live.ready = True
            logger.info("replayed %d journaled events into Redis in %.1f s", count, time.perf_counter() - started)
        finally:
            client.delete(lock)


class RedisReplay(LiveState):
    """Takes the journal's events from ``replay`` and writes them to Redis in pipelines."""

    def __init__(self, client: Any, live: RedisLive) -> None:
        super().__init__()
        self.client, self.live = client, live
        self.pending: list[LiveEvent] = []
        self.customers: set[str] = set()  # type: ignore[assignment]  # replay() reports len(state.customers)

    def apply(self, event: LiveEvent) -> None:
        self.pending.append(event)
        self.customers.add(event.customer_id)
        if len(self.pending) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            queue(pipe, self.pending, self.live)
            pipe.execute()
        self.pending = []
