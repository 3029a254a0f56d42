"""Personal picks: implicit ALS (Hu, Koren & Volinsky 2008) on confidence-weighted customer x item signals.

Confidence is ``alpha x`` (purchases + weaker weights for views, wish lists and cart adds), each signal decayed
by its age when ``half_life_days`` is set, returns taking a purchase away. The factorisation is the ``implicit``
library's CPU solver; BLAS is held to one thread while it runs (implicit threads its own loops and warns that
a threaded BLAS slows it down), through a context set inside ``fit`` and scoring, not process-wide.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field
from threadpoolctl import ThreadpoolController

from models.base import ModelConfig
from models.recommender.base import Recommender
from models.recommender.interactions import Interactions

logger = logging.getLogger(__name__)

_THREADPOOLS: ThreadpoolController | None = None  # discovering the loaded BLAS libraries once saves ~1 ms a call


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Hold BLAS to one thread inside the block (implicit's advice); other code keeps its threads."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        _THREADPOOLS = ThreadpoolController()
    with _THREADPOOLS.limit(limits=1, user_api="blas"):
        yield


class ALSConfig(ModelConfig):
    """Hyperparameters of ``ALSRecommender`` (defaults are the tuned demo-shop values; tune per shop)."""

    factors: int = Field(64, ge=1)
    regularization: float = Field(0.1, ge=0)
    alpha: float = Field(10.0, gt=0)
    iterations: int = Field(15, ge=1)
    view_weight: float = Field(0.1, ge=0)
    wishlist_weight: float = Field(0.3, ge=0)
    cart_weight: float = Field(0.3, ge=0)
    half_life_days: float | None = Field(None, gt=0)
    random_state: int = 0
    num_threads: int = Field(0, ge=0)  # implicit's own threads; 0 = all cores

    def event_weights(self) -> dict[str, float]:
        return {"view": self.view_weight, "wishlist_add": self.wishlist_weight, "cart_add": self.cart_weight}


def confidence(data: Interactions, cfg: ALSConfig) -> sp.csr_matrix:
    """Return customers x items confidence (before ``alpha``) for ``cfg``: purchases, events, decay, returns."""
    return data.weighted(purchase=1.0, events=cfg.event_weights(), half_life_days=cfg.half_life_days)


def fit_factors(weights: sp.csr_matrix, cfg: ALSConfig) -> tuple[np.ndarray, np.ndarray]:
    """Return (customer factors, item factors) of implicit's ALS on ``weights`` (customers x items)."""
    from implicit.cpu.als import AlternatingLeastSquares  # heavy import, only where a fit happens

    with single_threaded_blas():  # implicit checks the BLAS threads when the model is built: build it inside
        model = AlternatingLeastSquares(factors=cfg.factors, regularization=cfg.regularization, alpha=cfg.alpha,
                                        iterations=cfg.iterations, random_state=cfg.random_state,
                                        num_threads=cfg.num_threads)
        model.fit(sp.csr_matrix(weights, dtype=np.float32), show_progress=False)
    return np.ascontiguousarray(model.user_factors), np.ascontiguousarray(model.item_factors)


class ALSRecommender(Recommender):
    """Implicit ALS. Learned state: ``user_factors_`` (customers x factors), ``item_factors_`` (items x factors)."""

    Config = ALSConfig
    has_similar_items = True
    config: ALSConfig

    user_factors_: np.ndarray
    item_factors_: np.ndarray
    _item_unit: np.ndarray | None = None

    def _fit_model(self, data: Interactions) -> None:
        self.fit_weights(confidence(data, self.config))

    def fit_weights(self, weights: sp.csr_matrix) -> None:
        """Factorise a ready confidence matrix (customers x items, in ``customers_`` / ``items_`` order)."""
        self.user_factors_, self.item_factors_ = fit_factors(weights, self.config)
        self._item_unit = None

    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        self.check_fitted()
        known = users >= 0
        if known.all():
            with single_threaded_blas():
                return self.user_factors_[users] @ self.item_factors_.T
        out = np.zeros((len(users), len(self.items_)), np.float32)
        if known.any():
            with single_threaded_blas():
                out[known] = self.user_factors_[users[known]] @ self.item_factors_.T
        return out

    def item_scores(self, items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Cosine similarity of item factors to the (weighted) mean of the given items' factors."""
        self.check_fitted()
        if self._item_unit is None:
            norms = np.linalg.norm(self.item_factors_, axis=1, keepdims=True)
            self._item_unit = self.item_factors_ / np.maximum(norms, 1e-12)
        w = np.ones(len(items), np.float32) if weights is None else np.asarray(weights, np.float32)
        query = w @ self._item_unit[np.asarray(items, np.int64)]
        return (self._item_unit @ (query / max(float(np.linalg.norm(query)), 1e-12))).astype(np.float32)

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_arrays(self, arrays: Any) -> None:
        self.user_factors_, self.item_factors_ = arrays["user_factors"], arrays["item_factors"]
        self._item_unit = None
