"""Live state: each customer's cart, recent views and purchases since training, in memory or in Redis.

One process without ``RETENTION_REDIS_URL`` keeps it in memory (``MemoryLive``); with it, every worker of every
replica reads and writes the same Redis (``RedisLive``), so an event posted to one worker changes the next answer
of any other. Either way each list keeps at most ``live_max_items`` items per customer and forgets an item
``live_ttl_days`` after it happened (purchases: ``BOUGHT_TTL_FACTOR`` times longer, since the models only learn
them at the next training). The journal (``serving.events``) stays the durable record: the memory store is
replayed from it at start, and Redis is rebuilt from it whenever its marker key is gone (a Redis restart that lost
data), so an acknowledged event is never lost.

Lists are generic (``KINDS``), so another per-customer list (e.g. what was shown) is one more entry there.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from serving.config import Settings
from serving.live import LiveEvent, LiveState

logger = logging.getLogger(__name__)

KINDS = ("cart", "views", "bought", "wishlist")
BOUGHT_TTL_FACTOR = 4  # purchases stay 4 x the cart TTL (default 28 days): a bought item is not offered again
# what each event does to the lists: (operation, list)
OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "view": (("add", "views"),), "cart_add": (("add", "cart"),), "cart_remove": (("remove", "cart"),),
    "wishlist_add": (("add", "wishlist"),),
    "purchase": (("add", "bought"), ("remove", "cart"), ("remove", "wishlist")),
}


@dataclass(frozen=True)
class Live:
    """One customer's live lists as read: cart, views and wish list oldest first, bought as a set."""

    cart: tuple[str, ...] = ()
    views: tuple[str, ...] = ()
    bought: frozenset[str] = frozenset()
    wishlist: tuple[str, ...] = ()


def ttl_seconds(settings: Settings) -> dict[str, float]:
    day = 86_400.0
    return {"cart": settings.live_ttl_days * day, "views": settings.live_ttl_days * day,
            "bought": settings.live_ttl_days * day * BOUGHT_TTL_FACTOR,
            "wishlist": settings.live_ttl_days * day * BOUGHT_TTL_FACTOR}


def epoch(moment: datetime) -> float:
    """Seconds since the epoch (naive = the shop's local time, as the journal writes it); a time the journal could
    not parse (NaT) is -inf, so the event changes no list (a removal still removes)."""
    try:
        return float(moment.timestamp())
    except (ValueError, AttributeError, OverflowError):
        return float("-inf")


class MemoryLive(LiveState):
    """The live state of one process; customers in order of last change, so expiry pops from the front."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        self.ttl = ttl_seconds(settings)
        self.most = settings.live_max_items
        self.lists: OrderedDict[str, dict[str, dict[str, float]]] = OrderedDict()
        self.customers = self.lists  # type: ignore[assignment]  # replay() reports len(state.customers)
        self.minute: dict[str, int] = {}
        self.minute_started = 0
        self.ready = True

    def apply(self, event: LiveEvent) -> None:  # replay() feeds this
        at = epoch(event.timestamp)
        now = time.time()
        lists = self.lists.get(event.customer_id)
        if lists is None:
            lists = self.lists[event.customer_id] = {kind: {} for kind in KINDS}
        else:
            self.lists.move_to_end(event.customer_id)
        for operation, kind in OPERATIONS.get(event.event_type, ()):
            if operation == "remove":
                lists[kind].pop(event.item_id, None)
            elif now - at < self.ttl[kind]:
                lists[kind].pop(event.item_id, None)  # re-added: now the newest
                lists[kind][event.item_id] = at
                while len(lists[kind]) > self.most:
                    lists[kind].pop(next(iter(lists[kind])))
        if not any(lists.values()):
            del self.lists[event.customer_id]
        self._expire(now)

    def _expire(self, now: float) -> None:
        """Drop customers whose newest item is older than every TTL (the front of the order is the stalest)."""
        longest = max(self.ttl.values())
        while self.lists:
            customer, lists = next(iter(self.lists.items()))
            newest = max((max(items.values()) for items in lists.values() if items), default=0.0)
            if newest and now - newest < longest:
                break
            del self.lists[customer]

    async def read(self, customer_id: str) -> Live | None:
        lists = self.lists.get(customer_id)
        if lists is None:
            return None
        now = time.time()
        fresh = {kind: [i for i, at in items.items() if now - at < self.ttl[kind]] for kind, items in lists.items()}
        if not any(fresh.values()):
            return None
        return Live(tuple(fresh["cart"]), tuple(fresh["views"]), frozenset(fresh["bought"]), tuple(fresh["wishlist"]))

    async def add(self, events: list[LiveEvent]) -> None:
        for event in events:
            self.apply(event)

    async def over_limit(self, counts: dict[str, int], limit: int) -> int:
        """Count these events per customer in this minute; return seconds to wait when one is over ``limit``."""
        minute = int(time.time() // 60)
        if minute != self.minute_started:
            self.minute, self.minute_started = {}, minute
        totals = {c: self.minute.get(c, 0) + n for c, n in counts.items()}
        if any(total > limit for total in totals.values()):
            return 60 - int(time.time()) % 60
        self.minute.update(totals)
        return 0


class RedisLive:
    """The live state in Redis: one sorted set per customer and list (score = when), expiring with its TTL."""

    def __init__(self, settings: Settings, prefix: str = "retention") -> None:
        import redis.asyncio

        assert settings.redis_url is not None
        self.url = settings.redis_url.get_secret_value()
        self.client: Any = redis.asyncio.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=1)
        self.ttl = ttl_seconds(settings)
        self.most = settings.live_max_items
        self.prefix = prefix
        self.ready = False  # True once the journal is known to be in Redis (see serving.shared)
        self.lost = False  # an acknowledged event did not reach Redis: rebuild from the journal when it is back
        self.channel = f"{prefix}:live:changed"
        # customers who may have live state: filled from Redis and kept current by a subscriber thread
        # (serving.shared.listen), so a request for anyone else costs no round trip
        self.hinted: set[str] = set()
        self._warned = 0.0

    def key(self, customer_id: str, kind: str) -> str:
        return f"{self.prefix}:live:{kind}:{customer_id}"

    async def read(self, customer_id: str) -> Live | None:
        if customer_id not in self.hinted:
            return None
        now = time.time()
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for kind in KINDS:
                    pipe.zrangebyscore(self.key(customer_id, kind), now - self.ttl[kind], "+inf")
                cart, views, bought, wishlist = await pipe.execute()
        except Exception as exc:  # Redis away: answer without live events rather than not at all
            self._warn("reading the live state", exc)
            return None
        if not (cart or views or bought or wishlist):
            return None
        return Live(tuple(i.decode() for i in cart), tuple(i.decode() for i in views),
                    frozenset(i.decode() for i in bought), tuple(i.decode() for i in wishlist))

    async def add(self, events: list[LiveEvent]) -> None:
        self.hinted.update(e.customer_id for e in events)
        try:
            async with self.client.pipeline(transaction=True) as pipe:
                queue(pipe, events, self)
                await pipe.execute()
        except Exception as exc:  # journaled already: the rebuild brings it back once Redis answers
            self.lost = True
            self._warn("writing live events (they are journaled; Redis is rebuilt from the journal)", exc)

    async def over_limit(self, counts: dict[str, int], limit: int) -> int:
        minute = int(time.time() // 60)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                for customer, n in counts.items():
                    key = f"{self.prefix}:rate:{minute}:{customer}"
                    pipe.incrby(key, n)
                    pipe.expire(key, 120)
                totals = (await pipe.execute())[::2]
        except Exception as exc:  # no count without Redis: let the events through (they are journaled)
            self._warn("counting events per minute", exc)
            return 0
        return 60 - int(time.time()) % 60 if any(t > limit for t in totals) else 0

    def _warn(self, what: str, exc: Exception) -> None:
        if time.monotonic() - self._warned > 10:  # at most one line every 10 s while Redis is away
            self._warned = time.monotonic()
            logger.warning("Redis failed %s: %s", what, exc)


def queue(pipe: Any, events: list[LiveEvent], store: RedisLive | Any) -> set[str]:
    """Queue the commands of ``events`` on a Redis pipeline (sync or async); return the keys touched."""
    now = time.time()
    touched: dict[str, str] = {}
    for event in events:
        at = epoch(event.timestamp)
        for operation, kind in OPERATIONS.get(event.event_type, ()):
            key = store.key(event.customer_id, kind)
            if operation == "remove":
                pipe.zrem(key, event.item_id)
            elif now - at < store.ttl[kind]:
                pipe.zadd(key, {event.item_id: at})
                touched[key] = kind
    for key, kind in touched.items():
        pipe.zremrangebyscore(key, "-inf", now - store.ttl[kind])
        pipe.zremrangebyrank(key, 0, -store.most - 1)  # keep the newest ``most``
        pipe.expire(key, int(store.ttl[kind]) + 1)
    if events:  # every worker's subscriber hears which customers changed
        pipe.publish(store.channel, "\n".join(dict.fromkeys(e.customer_id for e in events)))
    return set(touched)
