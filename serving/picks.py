"""Answers worked out once per bundle, in the loader thread, so the event loop only joins bytes.

- Every known customer's plain picks (no cart, no live events), top ``CACHED_K``, as ready-to-send JSON bytes:
  a ``/recommend`` for k up to ``CACHED_K`` is one slice and one join, and computing them warms the model's id
  maps before ``/readyz`` says yes. At most ``RETENTION_PRECOMPUTE`` customers (default 200,000; about 2 KB each);
  the rest go through a bounded LRU.
- ``/segments``' answer (group-bys over every customer) as bytes.
- A bounded LRU of item-page lists (``/similar_items``, ``/upsell``, ``/bought_together``).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from cachetools import LRUCache

from serving.recommender import Picks, batch_picks

logger = logging.getLogger(__name__)

CACHED_K = 20  # a plain request with k up to this is served from the ready bytes
UNKNOWN = "\x00unknown"  # key of every customer without an order or event: they all get the same picks
PRECOMPUTE = int(os.environ.get("RETENTION_PRECOMPUTE", "200000"))
LRU_SIZE = 50_000  # customers beyond PRECOMPUTE, and item-page lists: the most recently asked are kept


@dataclass(frozen=True)
class Ready:
    """A customer's top picks as JSON: ``blob`` holds the items joined by commas, ``ends[k - 1]`` ends the k-th."""

    blob: bytes
    ends: tuple[int, ...]
    known: bool
    ids: tuple[str, ...] = ()  # the items' ids in order, for an A/B experiment's shown list (interned: shared)


def ready(picks: Picks) -> Ready:
    parts = [orjson.dumps({"item_id": i, "score": s, "reason": r}) for i, s, r in picks.items]
    ends, total = [], -1
    for part in parts:
        total += len(part) + 1
        ends.append(total)
    return Ready(b",".join(parts), tuple(ends), picks.known, tuple(sys.intern(i) for i, _, _ in picks.items))


def recommend_body(customer_id: str, picks: Ready, k: int, version: str, arm: str = "champion") -> bytes:
    """The ``/recommend`` answer for the first ``k`` picks (the same bytes ``orjson.dumps`` of the dict gives)."""
    n = min(k, len(picks.ends))
    items = picks.blob[:picks.ends[n - 1]] if n else b""
    return b"".join((b'{"customer_id":', orjson.dumps(customer_id), b',"items":[', items, b'],"model_version":',
                     orjson.dumps(version), b',"fallback":true' if not picks.known else b',"fallback":false',
                     b',"arm":"', arm.encode(), b'"}'))


def ready_items(picks: Ready, k: int) -> list[dict[str, Any]]:
    """The first ``k`` picks as dicts (for an answer that rewrites them, e.g. in another language)."""
    n = min(k, len(picks.ends))
    return orjson.loads(b"[" + picks.blob[:picks.ends[n - 1]] + b"]") if n else []


@dataclass
class Memo:
    """What a bundle answers without computing: ready picks, the segments, and bounded LRUs for the rest."""

    picks: dict[str, Ready] = field(default_factory=dict)
    segments: bytes | None = None
    more_picks: LRUCache[str, Ready] = field(default_factory=lambda: LRUCache(LRU_SIZE))
    item_lists: LRUCache[tuple[Any, ...], bytes] = field(default_factory=lambda: LRUCache(LRU_SIZE // 5))

    def picks_of(self, key: str) -> Ready | None:
        return self.picks.get(key) or self.more_picks.get(key)


def precompute(model: Any, customers: frozenset[str], limit: int = PRECOMPUTE) -> dict[str, Ready]:
    """Return the ready picks of up to ``limit`` customers (and of ``UNKNOWN``), computed in batches."""
    started = time.perf_counter()
    ids = sorted(customers)[:limit]
    answers = {customer: ready(picks) for customer, picks in batch_picks(model, ids, CACHED_K).items()}
    answers[UNKNOWN] = ready(batch_picks(model, [UNKNOWN], CACHED_K)[UNKNOWN])
    logger.info("worked out the picks of %d customers in %.1f s (%d not precomputed: LRU)", len(ids),
                time.perf_counter() - started, max(0, len(customers) - limit))
    return answers


def with_memo(bundle: Any) -> Any:
    """Return ``bundle`` with its memo: ready picks of the known customers and the segments' answer, as bytes."""
    from dataclasses import replace

    memo = Memo(segments=orjson.dumps(bundle.segments_answer()))
    if bundle.recommender is not None:
        memo.picks = precompute(bundle.recommender, bundle.active_customers)
    return replace(bundle, memo=memo)
