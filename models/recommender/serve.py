"""Answers from a fitted ``Blend``: one customer (with a cart), a batch of customers, and item-page lists.

Only NumPy and SciPy run per call; everything else was prepared at fit or load time. Single calls take ~0.1-1 ms
on a 50,000-item catalogue (``benchmarks/recommender_speed.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features import columns as C
from models.recommender.base import RANK, REASON, SCORE, SIMILAR_ITEM_ID, top_k
from models.recommender.blend import Blend
from models.recommender.reasons import SOURCES, Recommendation, Recommendations, link_lookup, phrase, strongest_anchor

logger = logging.getLogger(__name__)

TRENDING = 1.5  # recent/earlier sales ratio from which a popular pick is called trending


def _known(blend: Blend, item_ids: Iterable[str]) -> tuple[np.ndarray, list[str]]:
    ids = [str(i) for i in item_ids]
    index = np.array([blend.items_.index_of(i) for i in ids], np.int64)
    return index[index >= 0], [i for i, j in zip(ids, index, strict=True) if j < 0]


def rank_items(blend: Blend, users: np.ndarray, k: int, cart: np.ndarray | None = None,
               excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict]:
    """Return (items, scores, sparse parts) of the top ``k`` per dense customer index after every filter."""
    scores, parts = blend.score_parts(users, cart)
    blend.mask(scores, users, parts, cart, excluded)
    best, values = top_k(scores, k)
    return best, values, parts


def recommend_one(blend: Blend, customer_id: str, k: int = 10, cart: Iterable[str] = (),
                  exclude: Iterable[str] = ()) -> Recommendations:
    """Return one customer's top ``k`` picks with reasons; unknown customers get cart-based or popular picks.

    Items of ``cart`` or ``exclude`` the model does not know are ignored and listed in ``unknown_items``.
    """
    blend.check_fitted()
    user = blend.customers_.index_of(customer_id)
    cart_index, unknown_cart = _known(blend, cart)
    excluded, unknown_excluded = _known(blend, exclude)
    users = np.array([user], np.int64)
    best, values, parts = rank_items(blend, users, k, cart_index, excluded)
    keep = best[0] >= 0
    sources, texts = explain(blend, users, best[:, keep], parts, cart_index)
    items = [Recommendation(item_id=str(i), score=float(s), reason=t, source=src) for i, s, t, src in zip(
        blend.items_.to_external(best[0, keep]), values[0, keep], texts, sources, strict=True)]
    unknown = unknown_cart + unknown_excluded
    if unknown:
        logger.debug("customer %s: ignored unknown items %s", customer_id, unknown)
    return Recommendations(customer_id=str(customer_id), known_customer=user >= 0, items=items, unknown_items=unknown)


def recommend_batch(blend: Blend, customer_ids: Iterable[str], k: int = 10, batch_size: int = 1_000
                    ) -> pd.DataFrame:
    """Return customer_id, rank, item_id, score, reason: the top ``k`` for each customer (unknown: popular)."""
    blend.check_fitted()
    ids = np.asarray(list(customer_ids), dtype=object)
    users = blend.customers_.to_internal(ids)
    frames = []
    for start in range(0, len(users), batch_size):
        chunk = users[start:start + batch_size]
        best, values, parts = rank_items(blend, chunk, k)
        _, texts = explain(blend, chunk, best, parts, None)
        keep = best >= 0
        rows, _ = np.nonzero(keep)
        frames.append(pd.DataFrame({
            C.CUSTOMER_ID: ids[start:start + batch_size][rows], RANK: np.cumsum(keep, axis=1)[keep],
            C.ITEM_ID: blend.items_.to_external(best[keep]), SCORE: values[keep].astype(np.float64),
            REASON: texts,
        }))
    if not frames:
        return pd.DataFrame(columns=[C.CUSTOMER_ID, RANK, C.ITEM_ID, SCORE, REASON])
    return pd.concat(frames, ignore_index=True)


def contributions(blend: Blend, users: np.ndarray, rows: np.ndarray, items: np.ndarray, parts: dict,
                  cart: np.ndarray | None) -> np.ndarray:
    """Return each source's share of the score of pairs (row of ``users``, item), one column per ``SOURCES``."""
    w = blend.config.weights
    out = np.zeros((len(rows), len(SOURCES)), np.float32)
    user = users[rows]
    known = user >= 0
    als = blend.als
    out[known, 0] = w.als * np.einsum("ij,ij->i", als.user_factors_[user[known]], als.item_factors_[items[known]])
    category = blend.item_category_[items]
    has = known & (category >= 0)
    out[has, 1] = (w.category * link_lookup(blend.affinity_, user[has], category[has])
                   * blend._category_pop[items[has], category[has]])
    out[:, 2] = w.popular * blend.popular.popularity_[items]
    for column, name in ((3, "copurchase"), (4, "upsell"), (5, "buy_again")):
        if name in parts:
            out[:, column] = link_lookup(parts[name], rows, items)
    if cart is not None and len(cart) and w.cart > 0:
        out[:, 6] = w.cart * blend.copurchase.item_scores(cart, np.ones(len(cart), np.float32))[items]
    return out


def explain(blend: Blend, users: np.ndarray, best: np.ndarray, parts: dict, cart: np.ndarray | None
            ) -> tuple[list[str], list[str]]:
    """Return (source, reason) for every valid pick in ``best`` (row-major order)."""
    rows, columns = np.nonzero(best >= 0)
    items = best[rows, columns]
    source = np.asarray(SOURCES)[np.argmax(contributions(blend, users, rows, items, parts, cart), axis=1)]
    anchors = np.full(len(items), -1, np.int64)
    for name, model in (("copurchase", blend.copurchase), ("upsell", blend.upsell)):
        pick = np.flatnonzero((source == name) & (users[rows] >= 0))
        if len(pick):
            anchors[pick] = strongest_anchor(model.history_[users[rows[pick]]], model.normalised_,
                                             np.arange(len(pick)), items[pick])
    pick = np.flatnonzero(source == "cart")
    if len(pick) and cart is not None:
        cart_row = np.zeros((1, len(blend.items_)), np.float32)
        cart_row[0, cart] = 1.0
        anchors[pick] = strongest_anchor(sp.csr_matrix(cart_row), blend.copurchase.normalised_,
                                         np.zeros(len(pick), np.int64), items[pick])
    names = blend.items_.external
    categories = blend.categories_
    trending = blend.popular.trending_
    texts = []
    for src, item, anchor in zip(source.tolist(), items.tolist(), anchors.tolist(), strict=True):
        if src == "popular" and trending[item] >= TRENDING:
            src = "trending"
        code = int(blend.item_category_[item])
        texts.append(phrase(src, categories[code] if code >= 0 else None, names[anchor] if anchor >= 0 else None))
    return source.tolist(), texts


def item_list(blend: Blend, item_ids: Iterable[str], k: int, kind: str) -> pd.DataFrame:
    """Item-page lists: ``bought_together`` (co-purchase), ``similar`` (ALS factors + co-views), ``upsell``.

    Out-of-stock items and the item itself are left out; unknown item ids get no rows.
    """
    blend.check_fitted()
    rows = []
    for external in item_ids:
        item = blend.items_.index_of(external)
        if item < 0:
            continue
        one = np.array([item])
        if kind == "bought_together":
            scores = blend.copurchase.item_scores(one).copy()
        elif kind == "similar":
            scores = 0.5 * np.maximum(blend.als.item_scores(one), 0) + 0.5 * blend.coview.normalised_[item].toarray()[0]
        elif kind == "upsell":
            scores = blend.upsell.item_scores(one).copy()
        else:
            raise ValueError(f"unknown list kind {kind!r}; expected bought_together, similar or upsell")
        scores = np.where(blend.in_stock_ & (scores > 0), scores, -np.inf).astype(np.float32)
        scores[item] = -np.inf
        best, values = top_k(scores[None, :], k)
        keep = best[0] >= 0
        rows.append(pd.DataFrame({C.ITEM_ID: str(external), SIMILAR_ITEM_ID: blend.items_.to_external(best[0, keep]),
                                  SCORE: values[0, keep].astype(np.float64), RANK: np.arange(1, keep.sum() + 1)}))
    if not rows:
        return pd.DataFrame(columns=[C.ITEM_ID, SIMILAR_ITEM_ID, SCORE, RANK])
    return pd.concat(rows, ignore_index=True)
