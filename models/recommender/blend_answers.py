"""The blend's answers with reasons: one customer on raw slices, a batch's reasons, item-page scores.

A single call runs on raw NumPy slices of the fitted arrays (no sparse-matrix objects are built per call): about
1 ms on a 50,000-item, 64-factor catalogue, half of it reading the item factors once. The batch path works on
chunks of customers with one dense matrix product each (``benchmarks/recommender_speed.py`` measures both).
The functions read the blend through ``BlendParts``, what they need of it, so the blend imports this module and
nothing here imports the blend.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Protocol

import numpy as np
import scipy.sparse as sp

from models.recommender.als import ALSRecommender, single_threaded_blas
from models.recommender.base import capped_top_k, top_k
from models.recommender.blend_config import BlendConfig
from models.recommender.buy_again import BuyAgainRecommender
from models.recommender.copurchase import CoPurchaseRecommender
from models.recommender.ease import EASERecommender
from models.recommender.idmap import IdMap
from models.recommender.itemitem import row_of, spread
from models.recommender.popular import PopularRecommender
from models.recommender.reasons import SOURCES, TRENDING, Recommendation, Recommendations, phrase, sample
from models.recommender.upsell import UpsellRecommender

logger = logging.getLogger(__name__)


class BlendParts(Protocol):
    """What the answers read of a fitted blend (``models.recommender.blend.Blend`` has all of it)."""

    config: BlendConfig
    items_: IdMap
    customers_: IdMap
    bought_: sp.csr_matrix
    in_stock_: np.ndarray
    affinity_: sp.csr_matrix
    categories_: tuple[str, ...]
    item_category_: np.ndarray
    category_items_: sp.csr_matrix
    item_side_: np.ndarray
    item_bias_: np.ndarray

    @property
    def als(self) -> ALSRecommender: ...

    @property
    def popular(self) -> PopularRecommender: ...

    @property
    def copurchase(self) -> CoPurchaseRecommender: ...

    @property
    def coview(self) -> CoPurchaseRecommender: ...

    @property
    def upsell(self) -> UpsellRecommender: ...

    @property
    def buy_again(self) -> BuyAgainRecommender: ...

    @property
    def ease(self) -> EASERecommender: ...

    def ease_scores(self, users: np.ndarray) -> np.ndarray | None: ...

    def check_fitted(self) -> None: ...


def _known(blend: BlendParts, item_ids: Iterable[str]) -> tuple[np.ndarray, list[str]]:
    ids = [str(i) for i in item_ids]
    index = np.array([blend.items_.index_of(i) for i in ids], np.int64)
    return index[index >= 0], [i for i, j in zip(ids, index, strict=True) if j < 0]


def _one_user_parts(blend: BlendParts, user: int, cart: np.ndarray) -> dict[str, np.ndarray]:
    """Return the weighted sparse sources of one customer as dense vectors (only the ones switched on)."""
    w = blend.config.weights
    parts: dict[str, np.ndarray] = {}
    if user >= 0:
        if w.category > 0:
            categories, share = row_of(blend.affinity_, user)
            parts["category"] = w.category * spread(categories, share, blend.category_items_)
        for name, source, weight in (("copurchase", blend.copurchase, w.copurchase),
                                     ("upsell", blend.upsell, w.upsell)):
            if weight > 0:
                parts[name] = weight * source.history_row(user)
        if w.buy_again > 0:
            items, due = row_of(blend.buy_again.scores_, user)
            parts["buy_again"] = np.zeros(len(blend.items_), np.float32)
            parts["buy_again"][items] = w.buy_again * due
        ease = blend.ease_scores(np.array([user]))
        if ease is not None:  # a collaborative score like ALS's: it shares ALS's reason
            parts["ease"] = ease[0]
    if len(cart) and w.cart > 0:
        parts["cart"] = w.cart * blend.copurchase.cart_scores(cart)
    return parts


def blend_one(blend: BlendParts, customer_id: str, k: int = 10, cart: Iterable[str] = (), exclude: Iterable[str] = ()
              ) -> Recommendations:
    """The blend's single-customer answer on raw slices (see ``recommend_one``)."""
    blend.check_fitted()
    user = blend.customers_.index_of(customer_id)
    cart_index, unknown_cart = _known(blend, cart)
    excluded, unknown_excluded = _known(blend, exclude)
    scores = blend.item_bias_.copy()
    n = len(blend.items_)
    factors = blend.als.user_factors_[user] if user >= 0 else None
    if factors is not None:
        with single_threaded_blas():
            scores += blend.item_side_ @ factors
    else:  # cold start ranks by popularity even when the tuned blend weighs it at zero
        scores[:n] += blend.popular.popularity_
    parts = _one_user_parts(blend, user, cart_index)
    for part in parts.values():
        scores[:n] += part
    if user >= 0:  # bought before: out, or ranked by buy-again alone when due (as ``Blend.mask``)
        bought, _ = row_of(blend.bought_, user)
        rebuy = parts["buy_again"][bought] if "buy_again" in parts else np.zeros(len(bought), np.float32)
        due = (rebuy >= blend.config.rebuy_threshold * blend.config.weights.buy_again) & (rebuy > 0)
        scores[bought] = np.where(due & blend.in_stock_[bought], rebuy, -np.inf)
    else:
        bought, due = np.zeros(0, np.int64), np.zeros(0, bool)
    scores[cart_index] = -np.inf
    scores[excluded] = -np.inf
    cap = blend.config.max_rebuys
    best, values = (top_k(scores[None, :], k) if cap is None else
                    capped_top_k(scores[None, :], k, np.zeros(int(due.sum()), np.int64), bought[due], cap))
    keep = best[0] >= 0
    picks, values = best[0, keep], values[0, keep]
    sources, texts = _explain_one(blend, user, factors, picks, parts, cart_index)
    items = [Recommendation(item_id=str(i), score=float(s), reason=t, source=src) for i, s, t, src in zip(
        blend.items_.to_external(picks), values, texts, sources, strict=True)]
    unknown = unknown_cart + unknown_excluded
    if unknown:
        logger.debug("customer %s: ignored unknown items %s", customer_id, unknown)
    return Recommendations(customer_id=str(customer_id), known_customer=user >= 0, items=items, unknown_items=unknown)


def _explain_one(blend: BlendParts, user: int, factors: np.ndarray | None, picks: np.ndarray,
                 parts: dict[str, np.ndarray], cart: np.ndarray) -> tuple[list[str], list[str]]:
    w = blend.config.weights
    share = np.zeros((len(picks), len(SOURCES)), np.float32)
    if factors is not None:
        share[:, 0] = w.als * (blend.als.item_factors_[picks] @ factors)
    if "ease" in parts:
        share[:, 0] += parts["ease"][picks]
    share[:, 2] = w.popular * blend.popular.popularity_[picks]
    for column, name in enumerate(SOURCES):
        if name in parts:
            share[:, column] = parts[name][picks]
    if user < 0:  # an unknown customer's picks are the cart's where it adds to them, else the popular ones
        share[:, 2] = np.maximum(share[:, 2], 1e-6 * blend.popular.popularity_[picks])
    source = np.asarray(SOURCES)[np.argmax(share, axis=1)]
    source[share[:, 5] > 0] = "buy_again"  # only items bought before have a buy-again score; it alone ranks them
    anchors = np.full(len(picks), -1, np.int64)
    for name, model in (("copurchase", blend.copurchase), ("upsell", blend.upsell)):
        pick = np.flatnonzero(source == name)
        if len(pick):
            anchors[pick] = model.anchors_one(user, picks[pick])
    pick = np.flatnonzero(source == "cart")
    if len(pick):
        anchors[pick] = blend.copurchase.cart_anchors(cart, picks[pick])
    return source.tolist(), _texts(blend, source, picks, anchors)


def _texts(blend: BlendParts, source: np.ndarray, items: np.ndarray, anchors: np.ndarray) -> list[str]:
    names, categories, trending = blend.items_.external, blend.categories_, blend.popular.trending_
    texts = []
    for src, item, anchor in zip(source.tolist(), items.tolist(), anchors.tolist(), strict=True):
        if src == "popular" and trending[item] >= TRENDING:
            src = "trending"
        code = int(blend.item_category_[item])
        texts.append(phrase(src, categories[code] if code >= 0 else None, names[anchor] if anchor >= 0 else None))
    return texts


def explain(blend: BlendParts, users: np.ndarray, best: np.ndarray, parts: dict) -> list[str]:
    """Return the reason of every valid pick in ``best`` (row-major order) for a batch of customers."""
    w = blend.config.weights
    rows, columns = np.nonzero(best >= 0)
    items = best[rows, columns]
    share = np.zeros((len(rows), len(SOURCES)), np.float32)
    user = users[rows]
    known = user >= 0
    als = blend.als
    share[known, 0] = w.als * np.einsum("ij,ij->i", als.user_factors_[user[known]], als.item_factors_[items[known]])
    if w.ease > 0:  # EASE is collaborative like ALS: its share counts towards "customers like you bought"
        share[:, 0] += w.ease * blend.ease.pair_scores(user, items)
    share[:, 2] = w.popular * blend.popular.popularity_[items]
    for column, name in ((1, "category"), (3, "copurchase"), (4, "upsell"), (5, "buy_again")):
        if name in parts:
            share[:, column] = sample(parts[name], rows, items)
    share[~known] = 0.0
    share[~known, 2] = 1.0  # an unknown customer's picks are the popular ones, whatever the weights
    source = np.asarray(SOURCES)[np.argmax(share, axis=1)]
    source[share[:, 5] > 0] = "buy_again"  # only items bought before have a buy-again score; it alone ranks them
    anchors = np.full(len(items), -1, np.int64)
    for name, model in (("copurchase", blend.copurchase), ("upsell", blend.upsell)):
        pick = np.flatnonzero((source == name) & known)
        if len(pick):
            anchors[pick] = model.anchors(user[pick], items[pick])
    return _texts(blend, source, items, anchors)


def blend_item_scores(blend: BlendParts, item: int, kind: str) -> np.ndarray:
    """Return the blend's scores of every item for the page of ``item`` (dense index) and list ``kind``."""
    one = np.array([item])
    if kind == "bought_together":
        return blend.copurchase.item_scores(one)
    if kind == "similar":
        return 0.5 * np.maximum(blend.als.item_scores(one), 0) + 0.5 * blend.coview.normalised_[item].toarray()[0]
    return blend.upsell.item_scores(one)
