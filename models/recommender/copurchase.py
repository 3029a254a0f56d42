"""Bought together: item-item co-occurrence within orders (or within browsing sessions), by lift or confidence.

``neighbours_`` keeps, for each item, its ``neighbours`` best partners that appear together in at least
``min_support`` orders. A customer's score for an item sums the (row-normalised) partner scores of the items
they bought, each weighted down by how long ago they bought it; a cart scores the same way.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.base import ModelConfig
from models.recommender.base import Recommender, load_sparse, save_sparse
from models.recommender.interactions import Interactions


class CoPurchaseConfig(ModelConfig):
    """Hyperparameters of ``CoPurchaseRecommender``."""

    measure: Literal["lift", "confidence"] = "confidence"
    min_support: int = Field(2, ge=1)  # orders holding both items
    neighbours: int = Field(50, ge=1)  # partners kept per item
    source: Literal["orders", "sessions"] = "orders"  # sessions: co-views
    shrinkage: float = Field(5.0, ge=0)  # confidence is co / (support + shrinkage): rare anchors count less
    history_half_life_days: float | None = Field(90.0, gt=0)  # how fast a past purchase stops seeding picks


def cooccurrence(incidence: sp.csr_matrix, measure: str, min_support: int, neighbours: int,
                 shrinkage: float = 0.0) -> sp.csr_matrix:
    """Return items x items partner scores from a baskets x items 0/1 matrix, top ``neighbours`` per row.

    confidence(i -> j) = co(i, j) / (support(i) + shrinkage); lift(i, j) = co(i, j) n / (support(i) support(j)).
    """
    incidence = sp.csr_matrix(incidence, dtype=np.float32)
    incidence.data[:] = 1.0
    support = np.asarray(incidence.sum(axis=0)).ravel()
    co = (incidence.T @ incidence).tocoo()
    keep = (co.row != co.col) & (co.data >= min_support)
    row, col, count = co.row[keep], co.col[keep], co.data[keep].astype(np.float64)
    if measure == "lift":
        value = count * incidence.shape[0] / (support[row] * support[col])
    else:
        value = count / (support[row] + shrinkage)
    order = np.lexsort((-value, row))
    row, col, value = row[order], col[order], value[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)
    top = rank < neighbours
    n = incidence.shape[1]
    matrix = sp.csr_matrix((value[top].astype(np.float32), (row[top], col[top])), shape=(n, n))
    matrix.sort_indices()
    return matrix


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


class CoPurchaseRecommender(Recommender):
    """Item-item co-purchase (or co-view). Learned state: ``neighbours_`` (raw measure), ``history_`` weights."""

    Config = CoPurchaseConfig
    has_similar_items = True
    config: CoPurchaseConfig

    neighbours_: sp.csr_matrix
    normalised_: sp.csr_matrix
    history_: sp.csr_matrix

    def _fit_model(self, data: Interactions) -> None:
        cfg = self.config
        incidence = data.baskets if cfg.source == "orders" else data.sessions
        self.neighbours_ = cooccurrence(incidence, cfg.measure, cfg.min_support, cfg.neighbours, cfg.shrinkage)
        self.normalised_ = row_normalised(self.neighbours_)
        self.history_ = recency_weights(data, cfg.history_half_life_days)

    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        self.check_fitted()
        known = users >= 0
        out = np.zeros((len(users), len(self.items_)), np.float32)
        if known.any():
            weights = self.history_[users[known]]
            total = np.asarray(weights.sum(axis=1)).ravel()
            scores = (sp.diags(1.0 / np.maximum(total, 1e-12)) @ weights @ self.normalised_).toarray()
            out[known] = scores
        return out

    def item_scores(self, items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Partner scores of a set of items (a product page, a cart); with one item, the raw measure."""
        self.check_fitted()
        items = np.asarray(items, np.int64)
        if len(items) == 1 and weights is None:
            return self.neighbours_[items[0]].toarray().ravel()
        w = np.ones(len(items), np.float32) if weights is None else np.asarray(weights, np.float32)
        return np.asarray(self.normalised_[items].T @ w).ravel().astype(np.float32) / max(float(w.sum()), 1e-12)

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        save_sparse(arrays, "neighbours", self.neighbours_)
        save_sparse(arrays, "history", self.history_)
        return arrays

    def _set_arrays(self, arrays: Any) -> None:
        self.neighbours_ = load_sparse(arrays, "neighbours")
        self.normalised_ = row_normalised(self.neighbours_)
        self.history_ = load_sparse(arrays, "history")
