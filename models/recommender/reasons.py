"""Reasons: which source put an item on a customer's list, in words a shopper reads.

Every blended score is a sum of per-source contributions; the largest one names the reason. Co-purchase and
up-sell reasons name the anchor item (the one in the history or cart that links most strongly to the pick).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features import columns as C

SOURCES = ("als", "category", "popular", "copurchase", "upsell", "buy_again", "cart")
PHRASES = {
    "als": "customers like you bought",
    "category": "popular in {category}",
    "popular": "popular right now",
    "trending": "trending now",
    "copurchase": "bought together with {anchor}",
    "upsell": "a step up from {anchor}",
    "buy_again": "time to buy again",
    "cart": "bought together with {anchor} in your cart",
}


@dataclass(frozen=True)
class Recommendation:
    item_id: str
    score: float
    reason: str
    source: str


@dataclass
class Recommendations:
    """One customer's answer: picks best first, plus what the request named that the model does not know."""

    customer_id: str
    known_customer: bool
    items: list[Recommendation] = field(default_factory=list)
    unknown_items: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({
            C.CUSTOMER_ID: self.customer_id, "rank": np.arange(1, len(self.items) + 1, dtype=np.int64),
            C.ITEM_ID: [r.item_id for r in self.items], "score": [r.score for r in self.items],
            "reason": [r.reason for r in self.items],
        })


def link_lookup(link: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Return ``link[rows[j], cols[j]]`` for every j (0 where absent), vectorised on sorted CSR keys."""
    if link.nnz == 0 or len(rows) == 0:
        return np.zeros(len(rows), np.float32)
    if not link.has_sorted_indices:
        link = link.sorted_indices()
    n = link.shape[1]
    keys = np.repeat(np.arange(link.shape[0], dtype=np.int64), np.diff(link.indptr)) * n + link.indices
    wanted = rows.astype(np.int64) * n + cols
    where = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[where] == wanted, link.data[where], 0.0).astype(np.float32)


def strongest_anchor(history: sp.csr_matrix, link: sp.csr_matrix, pair_row: np.ndarray, pair_item: np.ndarray
                     ) -> np.ndarray:
    """For each pair (history row, item): the history item ``h`` maximising weight(h) x link[h, item], or -1."""
    history = sp.csr_matrix(history)
    history.sort_indices()
    counts = np.diff(history.indptr)[pair_row]
    owner = np.repeat(np.arange(len(pair_row)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    position = np.repeat(history.indptr[pair_row], counts) + offsets
    anchor, weight = history.indices[position], history.data[position]
    value = weight * link_lookup(link, anchor, pair_item[owner])
    best = np.full(len(pair_row), -1, np.int64)
    if len(value):
        order = np.lexsort((-value, owner))
        first = np.r_[True, owner[order][1:] != owner[order][:-1]]
        chosen = order[first]
        best[owner[chosen]] = np.where(value[chosen] > 0, anchor[chosen], -1)
    return best


def phrase(source: str, category: str | None = None, anchor: str | None = None) -> str:
    """Return the shopper-facing reason for a source (falls back when the category or anchor is unknown)."""
    if source == "category" and not category:
        source = "popular"
    if not anchor:
        anchor = "items in your cart" if source == "cart" else "what you bought"
        if source == "cart":
            return f"bought together with {anchor}"
    return PHRASES[source].format(category=category, anchor=anchor)
