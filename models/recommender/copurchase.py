"""Bought together: item-item co-occurrence within orders (or within browsing sessions), by lift or confidence.

``link_`` keeps, for each item, its ``neighbours`` best partners that appear together in at least
``min_support`` orders. A customer's score for an item sums the (row-normalised) partner scores of the items
they bought, each weighted down by how long ago they bought it; a cart scores the same way.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.base import ModelConfig
from models.recommender.interactions import Interactions
from models.recommender.itemitem import ItemItemRecommender, recency_weights


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


class CoPurchaseRecommender(ItemItemRecommender):
    """Item-item co-purchase (or co-view). Learned state: ``link_`` (raw measure), ``history_`` weights."""

    Config = CoPurchaseConfig
    has_similar_items = True
    config: CoPurchaseConfig

    def _fit_model(self, data: Interactions) -> None:
        cfg = self.config
        incidence = data.baskets if cfg.source == "orders" else data.sessions
        self._set_link(cooccurrence(incidence, cfg.measure, cfg.min_support, cfg.neighbours, cfg.shrinkage),
                       recency_weights(data, cfg.history_half_life_days))
