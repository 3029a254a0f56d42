"""The blend: one answer to "what should this customer see next?", with a reason for every pick.

A pick's score is a weighted sum of the sources: ALS (customers like you), the customer's favourite categories'
popular items, overall popularity, co-purchase with what they bought, up-sell from what they bought, buy-again
due-ness and, when a cart is given, co-purchase with the cart. The dense part is one matrix product per batch
(``user factors @ (w x item factors)'``); the sparse parts (favourite categories' popular items, co-purchase,
up-sell, buy-again) are added on top. Filters: already bought (unless due to buy again, then ranked by that
alone), in the cart, out of stock, explicitly excluded; ``max_rebuys`` caps the due re-buys on one list so
items new to the customer keep their slots. Weights are tuned on a validation split (``training/recsys/tune.py``);
the blend is a ``Recommender`` like its sources (``serve.recommend_batch`` / ``recommend_one`` answer for any).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from models.recommender.als import ALSRecommender, single_threaded_blas
from models.recommender.base import (
    BLOCK,
    CUSTOMERS_FILE,
    ITEMS_FILE,
    LIST_KINDS,
    STATE_FILE,
    Recommender,
    capped_top_k,
    load_sparse,
    save_sparse,
    top_k,
)
from models.recommender.blend_answers import blend_item_scores, blend_one, explain
from models.recommender.blend_config import BlendConfig, BlendWeights
from models.recommender.buy_again import BuyAgainRecommender
from models.recommender.copurchase import CoPurchaseRecommender
from models.recommender.ease import EASERecommender
from models.recommender.idmap import IdMap
from models.recommender.interactions import Interactions
from models.recommender.itemitem import top_per_row
from models.recommender.popular import PopularRecommender
from models.recommender.reasons import Recommendations, sample
from models.recommender.upsell import UpsellRecommender

logger = logging.getLogger(__name__)

COMPONENTS: dict[str, type[Recommender]] = {
    "als": ALSRecommender, "popular": PopularRecommender, "copurchase": CoPurchaseRecommender,
    "coview": CoPurchaseRecommender, "upsell": UpsellRecommender, "buy_again": BuyAgainRecommender,
    "ease": EASERecommender,
}
OPTIONAL = ("ease",)  # fitted (and saved) only when its weight is on: EASE holds items^2 weights


class Blend(Recommender):
    """The storefront recommender. Learned state: the fitted sources, ``affinity_``, the item side of the score.

    Examples
    --------
    >>> blend = Blend().fit(build_interactions(transactions, events, items))  # doctest: +SKIP
    >>> blend.recommend(["C000042"], k=5)  # doctest: +SKIP
    >>> recommend_one(blend, "C000042", k=5, cart=["I00017"]).to_frame()  # doctest: +SKIP
    """

    Config = BlendConfig
    config: BlendConfig
    cold_start = True
    has_similar_items = True
    recommends_bought = True  # due re-buys, ranked by buy-again alone
    takes_cart = True

    components_: dict[str, Recommender]
    affinity_: sp.csr_matrix  # customers x categories: share of purchases in their top categories
    categories_: tuple[str, ...]
    item_category_: np.ndarray
    category_items_: sp.csr_matrix  # categories x items: the item's popularity within its category (max 1)
    item_side_: np.ndarray  # padded items x factors: w_als x ALS item factors
    item_bias_: np.ndarray  # padded items: w_popular x popularity, -inf for padding and out of stock

    def fit(self, data: Interactions, fitted: dict[str, Recommender] | None = None) -> Blend:
        """Fit every source on ``data`` (reusing any in ``fitted``, e.g. from tuning) and return self."""
        return super().fit(data, fitted)

    def _fit(self, data: Interactions, fitted: dict[str, Recommender] | None = None) -> None:
        fitted = dict(fitted or {})
        for name, cls in COMPONENTS.items():
            if name not in fitted and (name not in OPTIONAL or getattr(self.config.weights, name) > 0):
                fitted[name] = cls(getattr(self.config, name)).fit(data)
        self.components_ = fitted
        self._keep_data(data)
        self.categories_, self.item_category_ = data.categories, data.item_category.copy()
        self.affinity_ = self._affinity(data)
        self._prepare()

    def _affinity(self, data: Interactions) -> sp.csr_matrix:
        """Customers x categories: recency-weighted share of the customer's purchases in each category."""
        category = data.item_category[data.line_item]
        ok = category >= 0
        half_life = self.config.category_half_life_days
        weight = np.power(0.5, data.line_age[ok] / half_life) if half_life else np.ones(int(ok.sum()))
        shape = (data.n_customers, max(len(data.categories), 1))
        matrix = sp.csr_matrix((weight.astype(np.float32), (data.line_customer[ok], category[ok])), shape=shape)
        total = np.asarray(matrix.sum(axis=1)).ravel()
        share = sp.csr_matrix(sp.diags(1.0 / np.maximum(total, 1e-12)) @ matrix, dtype=np.float32)
        return top_per_row(share, self.config.max_categories)

    def _prepare(self) -> None:
        """Build the item side of the score from the fitted state and the weights.

        The dense part is ``w_als x item factors`` with the items padded to a multiple of ``BLOCK`` (padding and
        out-of-stock items get a -inf bias, so ``top_k`` never copies); the category term is sparse
        (customers like a few categories).
        """
        w = self.config.weights
        n = len(self.items_)
        n_padded = -(-n // BLOCK) * BLOCK
        popularity = self.popular.popularity_
        has = np.flatnonzero(self.item_category_ >= 0)
        codes = self.item_category_[has]
        top = np.zeros(self.affinity_.shape[1], np.float32)
        np.maximum.at(top, codes, popularity[has])
        within = np.zeros(n, np.float32)
        within[has] = popularity[has] / np.where(top[codes] > 0, top[codes], 1.0)
        self.category_items_ = top_per_row(sp.csr_matrix((within[has], (codes, has)),
                                                         shape=(self.affinity_.shape[1], n)),
                                           self.config.category_top_items)
        self.item_side_ = np.zeros((n_padded, self.als.item_factors_.shape[1]), np.float32)
        self.item_side_[:n] = w.als * self.als.item_factors_
        self.item_bias_ = np.full(n_padded, -np.inf, np.float32)
        self.item_bias_[:n] = np.where(self.in_stock_, w.popular * popularity, -np.inf)
        self.affinity_.sort_indices()

    def with_weights(self, weights: BlendWeights, **filters: Any) -> Blend:
        """Return a copy that shares the fitted sources but blends them with other weights or filters (tuning).

        ``filters``: ``rebuy_threshold`` and/or ``max_rebuys``.
        """
        self.check_fitted()
        missing = [name for name in OPTIONAL if getattr(weights, name) > 0 and name not in self.components_]
        if missing:
            raise ValueError(f"the blend was fitted without {', '.join(missing)}: fit it with them (a weight > 0 or "
                             "passed in fitted=) before weighing them in")
        clone = copy.copy(self)
        update: dict[str, Any] = {"weights": weights, **filters}
        clone.config = self.config.model_copy(update=update)
        clone._prepare()
        return clone

    # sources --------------------------------------------------------------------------------------------------
    @property
    def als(self) -> ALSRecommender:
        return self.components_["als"]  # type: ignore[return-value]

    @property
    def popular(self) -> PopularRecommender:
        return self.components_["popular"]  # type: ignore[return-value]

    @property
    def copurchase(self) -> CoPurchaseRecommender:
        return self.components_["copurchase"]  # type: ignore[return-value]

    @property
    def coview(self) -> CoPurchaseRecommender:
        return self.components_["coview"]  # type: ignore[return-value]

    @property
    def upsell(self) -> UpsellRecommender:
        return self.components_["upsell"]  # type: ignore[return-value]

    @property
    def buy_again(self) -> BuyAgainRecommender:
        return self.components_["buy_again"]  # type: ignore[return-value]

    @property
    def ease(self) -> EASERecommender:
        return self.components_["ease"]  # type: ignore[return-value]

    def ease_scores(self, users: np.ndarray) -> np.ndarray | None:
        """Return w_ease x EASE's scores (len(users) x items; 0 for unknown customers), None when EASE is off."""
        weight = self.config.weights.ease
        if weight <= 0:
            return None
        return weight * self.ease.customer_scores(users)

    # scoring ----------------------------------------------------------------------------------------------------
    def score_parts(self, users: np.ndarray) -> tuple[np.ndarray, dict[str, sp.csr_matrix]]:
        """Return blended scores (len(users) x padded items, before filters) and the sparse sources' parts."""
        self.check_fitted()
        w = self.config.weights
        known = np.flatnonzero(users >= 0)
        left = np.zeros((len(users), self.item_side_.shape[1]), np.float32)
        left[known] = self.als.user_factors_[users[known]]
        with single_threaded_blas():
            scores = left @ self.item_side_.T
        scores += self.item_bias_
        ease = self.ease_scores(users)
        if ease is not None:
            scores[:, :ease.shape[1]] += ease
        unknown = np.flatnonzero(users < 0)
        if len(unknown):  # cold start ranks by popularity even when the tuned blend weighs it at zero
            popularity = self.popular.popularity_
            scores[np.ix_(unknown, np.arange(len(popularity)))] += popularity.astype(np.float32)
        parts = {name: self._sparse_part(name, users, known, weight) for name, weight in (
            ("category", w.category), ("copurchase", w.copurchase), ("upsell", w.upsell),
            ("buy_again", w.buy_again)) if weight > 0}
        for part in parts.values():
            coo = part.tocoo()
            scores[coo.row, coo.col] += coo.data
        return scores, parts

    def category_scores(self, users: np.ndarray) -> sp.csr_matrix:
        """Return len(users) x items: the popularity of items within each customer's favourite categories."""
        return self._sparse_part("category", users, np.flatnonzero(users >= 0), 1.0)

    def _sparse_part(self, name: str, users: np.ndarray, known: np.ndarray, weight: float) -> sp.csr_matrix:
        if name in ("copurchase", "upsell"):
            source = self.copurchase if name == "copurchase" else self.upsell
            return sp.csr_matrix(weight * source.history_scores(users), dtype=np.float32)
        shape = (len(users), len(self.items_))
        if not len(known):
            return sp.csr_matrix(shape, dtype=np.float32)
        if name == "buy_again":
            values = self.buy_again.scores_[users[known]]
        else:  # category
            values = self.affinity_[users[known]] @ self.category_items_
        expand = sp.csr_matrix((np.ones(len(known), np.float32), (known, np.arange(len(known)))),
                               shape=(len(users), len(known)))
        return sp.csr_matrix(weight * (expand @ values), dtype=np.float32)

    def mask(self, scores: np.ndarray, users: np.ndarray, parts: dict[str, sp.csr_matrix]
             ) -> tuple[np.ndarray, np.ndarray]:
        """Filter in place what customers bought before: -inf, or, when due to buy again, the buy-again score alone.

        A bought item's ALS or co-purchase score mostly echoes the purchase itself, so only its due-ness ranks it.
        Out-of-stock items stay at -inf (they are -inf in the bias). Returns (rows, items) of the due re-buys.
        """
        known = np.flatnonzero(users >= 0)
        seen = self.bought_[users[known]].tocoo()
        rows, cols = known[seen.row], seen.col
        rebuy = parts.get("buy_again")
        value = sample(rebuy, rows, cols) if rebuy is not None else np.zeros(len(rows), np.float32)
        due = value >= self.config.rebuy_threshold * self.config.weights.buy_again
        due &= value > 0
        scores[rows[due], cols[due]] = value[due] + np.where(self.in_stock_[cols[due]], 0.0, -np.inf)
        scores[rows[~due], cols[~due]] = -np.inf
        return rows[due], cols[due]

    def rank_with_parts(self, users: np.ndarray, k: int, excluded: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray, dict[str, sp.csr_matrix]]:
        """Return (items, scores, sparse parts) of the top ``k`` per dense customer index after every filter."""
        scores, parts = self.score_parts(users)
        rebuy_rows, rebuy_items = self.mask(scores, users, parts)
        if excluded is not None and len(excluded):
            scores[:, excluded] = -np.inf
        if self.config.max_rebuys is None:
            return (*top_k(scores, k), parts)
        return (*capped_top_k(scores, k, rebuy_rows, rebuy_items, self.config.max_rebuys), parts)

    def rank_items(self, users: np.ndarray, k: int, *, filter_bought: bool | None = None,
                   excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The served top ``k`` (the blend applies its own already-bought rule, so ``filter_bought`` is ignored)."""
        self.check_fitted()
        best, values, _ = self.rank_with_parts(users, k, excluded)
        return best, values

    # persistence --------------------------------------------------------------------------------------------
    def _save_state(self, path: Path) -> dict[str, Any]:
        for name, component in self.components_.items():
            component.save(path / name)
        arrays: dict[str, np.ndarray] = {"item_category": self.item_category_, "in_stock": self.in_stock_,
                                         "categories": np.asarray(self.categories_, dtype=str)}
        save_sparse(arrays, "bought", self.bought_)
        save_sparse(arrays, "affinity", self.affinity_)
        np.savez(path / STATE_FILE, **arrays)  # type: ignore[arg-type]
        self.items_.save(path / ITEMS_FILE)
        self.customers_.save(path / CUSTOMERS_FILE)
        return {"components": sorted(self.components_), "items": len(self.items_), "customers": len(self.customers_)}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self.components_ = {name: cls.load(path / name) for name, cls in COMPONENTS.items()
                            if name not in OPTIONAL or (path / name).exists()}
        self.items_, self.customers_ = IdMap.load(path / ITEMS_FILE), IdMap.load(path / CUSTOMERS_FILE)
        self.filter_bought_ = True
        for component in self.components_.values():  # one id map in memory, not seven
            component.items_, component.customers_ = self.items_, self.customers_
        with np.load(path / STATE_FILE, allow_pickle=False) as arrays:
            self.bought_, self.affinity_ = load_sparse(arrays, "bought"), load_sparse(arrays, "affinity")
            self.item_category_, self.in_stock_ = arrays["item_category"], arrays["in_stock"]
            self.categories_ = tuple(str(c) for c in arrays["categories"])
        self.is_fitted = True
        self._prepare()

    # answers (in blend_answers.py, kept apart to hold this module to one job) ---------------------------------
    def answer(self, users: np.ndarray, k: int, excluded: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Return (items, scores, reasons) of the top ``k`` per dense customer index (see ``blend_answers.explain``)."""
        if excluded is not None and len(excluded):
            raise ValueError("the blend takes excluded items through answer_one (with the cart), not in batches")
        best, values, parts = self.rank_with_parts(users, k)
        return best, values, explain(self, users, best, parts)

    def answer_one(self, customer_id: str, k: int = 10, cart: Iterable[str] = (), exclude: Iterable[str] = ()
                   ) -> Recommendations:
        """Return a customer's top ``k`` picks with reasons, ranked with the cart (see ``blend_answers.blend_one``)."""
        return blend_one(self, customer_id, k, cart, exclude)

    def similar_items(self, item_ids: Iterable[str], k: int = 10, kind: str = "similar") -> pd.DataFrame:
        """Return item-page lists: ``similar``, ``bought_together`` or ``upsell`` (see ``blend_item_scores``)."""
        if kind not in LIST_KINDS:
            raise ValueError(f"unknown list kind {kind!r}; expected one of {', '.join(LIST_KINDS)}")
        self.check_fitted()
        return self._item_lists(item_ids, k, lambda item: blend_item_scores(self, item, kind))

