"""The one item-item base: co-purchase, co-view and up-sell score a customer, a cart or an item page the same way.

A model holds ``link_`` (items x items, its raw measure: what an item page shows), ``normalised_`` (each row
scaled to at most 1) and ``history_`` (customers x items: how much each bought item still counts, fading with
time). A customer's score for an item is ``sum_h history[h] x normalised[h, item] / sum_h history[h]``; a cart
is a history of ones. The batch path is one sparse product; ``history_row`` is the single-customer fast path on
raw CSR slices (no sparse objects per call). ``anchors`` names the bought item behind a pick, for its reason.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from models.recommender.base import Recommender, load_sparse, save_sparse
from models.recommender.interactions import Interactions
from models.recommender.reasons import anchors_of, csr_keys, phrase, strongest_anchor


def top_per_row(matrix: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """Return ``matrix`` keeping each row's ``n`` largest entries (ties: lower column first), indices sorted."""
    coo = sp.csr_matrix(matrix).tocoo()
    order = np.lexsort((coo.col, -coo.data, coo.row))
    row, col, value = coo.row[order], coo.col[order], coo.data[order]
    keep = (np.arange(len(row)) - np.searchsorted(row, row)) < n
    out = sp.csr_matrix((value[keep], (row[keep], col[keep])), shape=matrix.shape, dtype=np.float32)
    out.sort_indices()
    return out


def row_normalised(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Return ``matrix`` with each row divided by its maximum (rows of zeros stay zero)."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    top = np.zeros(matrix.shape[0], np.float32)
    filled = np.diff(matrix.indptr) > 0
    top[filled] = np.maximum.reduceat(matrix.data, matrix.indptr[:-1][filled]) if matrix.nnz else 0.0
    scale = np.divide(1.0, top, out=np.zeros_like(top), where=top > 0)
    matrix = sp.csr_matrix(sp.diags(scale) @ matrix)
    matrix.sort_indices()
    return matrix


def recency_weights(data: Interactions, half_life_days: float | None) -> sp.csr_matrix:
    """Customers x items: 0.5 ** (days since last bought / half life) for each item the customer bought."""
    ages = data.last_bought_age.copy()
    ages.data = np.power(0.5, ages.data / half_life_days).astype(np.float32) if half_life_days else np.ones_like(
        ages.data)
    return ages


def row_of(matrix: sp.csr_matrix, row: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (columns, values) of one CSR row as raw slices."""
    start, end = matrix.indptr[row], matrix.indptr[row + 1]
    return matrix.indices[start:end], matrix.data[start:end]


def spread(items: np.ndarray, weights: np.ndarray, link: sp.csr_matrix) -> np.ndarray:
    """Return the dense vector sum_h weights[h] x link[items[h]] / sum(weights) (raw slices, no sparse objects)."""
    out = np.zeros(link.shape[1], np.float32)
    if not len(items):
        return out
    starts = link.indptr[items]
    counts = link.indptr[items + 1] - starts
    total = int(counts.sum())
    if total:
        position = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        values = link.data[position] * np.repeat(weights, counts)
        np.add.at(out, link.indices[position], values)
    return out / max(float(weights.sum()), 1e-12)


def weighted_rows(weights: sp.csr_matrix, link: sp.csr_matrix) -> sp.csr_matrix:
    """Return ``diag(1 / row sums of weights) @ weights @ link``: each row a weighted mean of link rows."""
    total = np.asarray(weights.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.maximum(total, 1e-12)) @ weights @ link, dtype=np.float32)


class ItemItemRecommender(Recommender):
    """Base of the item-item sources. Learned state: ``link_``, ``normalised_``, ``history_`` (see the module)."""

    has_similar_items = True
    reason_source = "copurchase"

    link_: sp.csr_matrix
    normalised_: sp.csr_matrix
    history_: sp.csr_matrix
    _keys: np.ndarray | None = None

    def _set_link(self, link: sp.csr_matrix, history: sp.csr_matrix) -> None:
        self.link_, self.normalised_, self.history_ = link, row_normalised(link), history
        self._keys = None

    def history_scores(self, users: np.ndarray) -> sp.csr_matrix:
        """Return len(users) x items sparse scores seeded by each customer's history (unknown customers: empty)."""
        self.check_fitted()
        known = np.flatnonzero(users >= 0)
        shape = (len(users), len(self.items_))
        if not len(known):
            return sp.csr_matrix(shape, dtype=np.float32)
        values = weighted_rows(self.history_[users[known]], self.normalised_)
        expand = sp.csr_matrix((np.ones(len(known), np.float32), (known, np.arange(len(known)))),
                               shape=(len(users), len(known)))
        return sp.csr_matrix(expand @ values, dtype=np.float32)

    def history_row(self, user: int) -> np.ndarray:
        """Return one customer's dense scores (zeros for an unknown customer): the single-call fast path."""
        if user < 0:
            return np.zeros(len(self.items_), np.float32)
        items, weights = row_of(self.history_, user)
        return spread(items, weights, self.normalised_)

    def cart_scores(self, items: np.ndarray) -> np.ndarray:
        """Return dense scores seeded by a set of items (a cart), each counting the same."""
        return spread(np.asarray(items, np.int64), np.ones(len(items), np.float32), self.normalised_)

    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        return self.history_scores(users).toarray()

    def item_scores(self, items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Partner scores of a set of items (a product page, a cart); with one item, the raw measure."""
        self.check_fitted()
        items = np.asarray(items, np.int64)
        if len(items) == 1 and weights is None:
            return self.link_[items[0]].toarray().ravel()
        w = np.ones(len(items), np.float32) if weights is None else np.asarray(weights, np.float32)
        return spread(items, w, self.normalised_)

    @property
    def keys(self) -> np.ndarray:
        """Sorted CSR keys of ``normalised_`` (built once) for fast anchor lookups."""
        if self._keys is None:
            self._keys = csr_keys(self.normalised_)
        return self._keys

    def anchors(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """For each (customer, item) pair: the bought item that links most strongly to it, or -1."""
        out = np.full(len(items), -1, np.int64)
        known = np.flatnonzero(users >= 0)
        if len(known):
            out[known] = strongest_anchor(self.history_[users[known]], self.normalised_, np.arange(len(known)),
                                          items[known], self.keys)
        return out

    def anchors_one(self, user: int, items: np.ndarray) -> np.ndarray:
        """``anchors`` for one customer's picks (raw slices: the single-call path)."""
        if user < 0:
            return np.full(len(items), -1, np.int64)
        history, weights = row_of(self.history_, user)
        return anchors_of(history, weights, self.normalised_, items, self.keys)

    def cart_anchors(self, cart: np.ndarray, items: np.ndarray) -> np.ndarray:
        """The cart item that links most strongly to each pick, or -1."""
        return anchors_of(cart, np.ones(len(cart), np.float32), self.normalised_, items, self.keys)

    def reasons(self, users: np.ndarray, best: np.ndarray) -> list[str]:
        rows, columns = np.nonzero(best >= 0)
        anchors = self.anchors(users[rows], best[rows, columns])
        names = self.items_.external
        return [phrase(self.reason_source, anchor=names[a] if a >= 0 else None) for a in anchors.tolist()]

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        save_sparse(arrays, "link", self.link_)
        save_sparse(arrays, "history", self.history_)
        return arrays

    def _set_arrays(self, arrays: Any) -> None:
        self._set_link(load_sparse(arrays, "link"), load_sparse(arrays, "history"))
