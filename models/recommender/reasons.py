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

TRENDING = 1.5  # recent/earlier sales ratio from which a popular pick is called trending
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


def csr_keys(link: sp.csr_matrix) -> np.ndarray:
    """Return the sorted ``row x n_cols + col`` keys of a CSR matrix's stored entries (for ``link_lookup``)."""
    if not link.has_sorted_indices:
        link.sort_indices()
    rows = np.repeat(np.arange(link.shape[0], dtype=np.int64), np.diff(link.indptr))
    return rows * link.shape[1] + link.indices


def link_lookup(link: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray, keys: np.ndarray | None = None
                ) -> np.ndarray:
    """Return ``link[rows[j], cols[j]]`` for every j (0 where absent), vectorised on sorted CSR keys.

    ``keys`` (from ``csr_keys``) can be cached by callers that look up the same matrix often.
    """
    if link.nnz == 0 or len(rows) == 0:
        return np.zeros(len(rows), np.float32)
    if keys is None:
        keys = csr_keys(link)
    wanted = np.asarray(rows, np.int64) * link.shape[1] + cols
    where = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
    return np.where(keys[where] == wanted, link.data[where], 0.0).astype(np.float32)


def sample(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Return ``matrix[rows[j], cols[j]]`` for every j (0 where absent); fine for unsorted, freshly built CSR."""
    if matrix.nnz == 0 or len(rows) == 0:
        return np.zeros(len(rows), np.float32)
    return np.asarray(matrix[rows, cols], dtype=np.float32).ravel()


def anchors_of(history_items: np.ndarray, history_weights: np.ndarray, link: sp.csr_matrix, items: np.ndarray,
               keys: np.ndarray | None = None) -> np.ndarray:
    """For one customer: for each item, the history item ``h`` maximising weight(h) x link[h, item], or -1."""
    if not len(history_items) or not len(items):
        return np.full(len(items), -1, np.int64)
    h = np.tile(history_items, len(items))
    value = (np.tile(history_weights, len(items))
             * link_lookup(link, h, np.repeat(items, len(history_items)), keys)).reshape(len(items), -1)
    best = np.argmax(value, axis=1)
    return np.where(value[np.arange(len(items)), best] > 0, history_items[best], -1)


def strongest_anchor(history: sp.csr_matrix, link: sp.csr_matrix, pair_row: np.ndarray, pair_item: np.ndarray,
                     keys: np.ndarray | None = None) -> np.ndarray:
    """For each pair (history row, item): the history item ``h`` maximising weight(h) x link[h, item], or -1."""
    history = sp.csr_matrix(history)
    history.sort_indices()
    counts = np.diff(history.indptr)[pair_row]
    owner = np.repeat(np.arange(len(pair_row)), counts)
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    position = np.repeat(history.indptr[pair_row], counts) + offsets
    anchor, weight = history.indices[position], history.data[position]
    value = weight * link_lookup(link, anchor, pair_item[owner], keys)
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
