"""Recommender: the one shape every source and the blend share (the implicit / RecTools habit).

``fit(data)`` returns self; ``recommend(customer_ids, k)`` returns customer_id, item_id, score, rank for every
model; ``similar_items(item_ids, k)`` returns item_id, similar_item_id, score, rank; ``answer`` and
``answer_one`` add a reason to every pick (what ``serve.recommend_batch`` / ``recommend_one`` return, so any
recommender can be the served champion). Capability flags say what a model can do, and callers read them:
``personal`` (scores depend on the customer), ``cold_start`` (unknown customers get picks), ``has_similar_items``,
``recommends_bought`` (its picks may be things the customer bought: no already-bought filter to choose),
``takes_cart``.

A recommender keeps the item and customer id maps, the customers' purchases (to filter what they have) and which
items are in stock, and writes its learned arrays to one ``state.npz`` (no pickle). Subclasses write
``_fit_model``, ``customer_scores`` (customers x items, dense) and optionally ``item_scores`` (scores seeded by
a set of items: similar items, the cart), plus ``_arrays`` / ``_set_arrays`` for persistence.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features import columns as C
from models.base import ModelBase
from models.recommender.idmap import IdMap
from models.recommender.interactions import Interactions
from models.recommender.reasons import Recommendation, Recommendations, phrase

logger = logging.getLogger(__name__)

SCORE, RANK, SIMILAR_ITEM_ID, REASON = "score", "rank", "similar_item_id", "reason"
RECOMMEND_COLUMNS = [C.CUSTOMER_ID, C.ITEM_ID, SCORE, RANK]
ANSWER_COLUMNS = [C.CUSTOMER_ID, RANK, C.ITEM_ID, SCORE, REASON]
SIMILAR_COLUMNS = [C.ITEM_ID, SIMILAR_ITEM_ID, SCORE, RANK]
LIST_KINDS = ("similar", "bought_together", "upsell")  # item-page lists
STATE_FILE, ITEMS_FILE, CUSTOMERS_FILE = "state.npz", "items.npz", "customers.npz"
BLOCK = 64  # columns per group in the exact group-max top-k


def top_k(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return (indices, values) of each row's ``k`` highest finite scores, best first; -1 / -inf pad short rows.

    Wide rows use an exact group-max shortcut: split the columns into groups of 64, and the top ``k`` values lie in
    the ``k`` groups with the highest maxima, so only those ``64 k`` candidates are sorted (a full
    ``argpartition`` of 50,000 columns is ~10x slower). Rows a multiple of 64 wide are not copied.
    """
    scores = np.atleast_2d(scores)
    rows, n = scores.shape
    k = min(k, n)
    if k <= 0 or rows == 0:
        return np.zeros((rows, 0), np.int64), np.zeros((rows, 0), scores.dtype)
    if n > 8 * BLOCK * k:
        pad = (-n) % BLOCK
        padded = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf) if pad else scores
        groups = padded.shape[1] // BLOCK  # group g holds columns g, g + groups, g + 2 groups, ...
        group_max = padded.reshape(rows, BLOCK, groups).max(axis=1)  # contiguous element-wise maxima: SIMD
        chosen = np.argpartition(-group_max, k - 1, axis=1)[:, :k]
        candidates = (chosen[:, :, None] + groups * np.arange(BLOCK)).reshape(rows, -1)
        values = np.take_along_axis(padded, candidates, axis=1)
    else:
        candidates = np.broadcast_to(np.arange(n), (rows, n))
        values = scores
    part = np.argpartition(-values, k - 1, axis=1)[:, :k] if values.shape[1] > k else np.broadcast_to(
        np.arange(values.shape[1]), (rows, values.shape[1]))
    part_values = np.take_along_axis(values, part, axis=1)
    order = np.argsort(-part_values, axis=1, kind="stable")
    best = np.take_along_axis(np.take_along_axis(candidates, part, axis=1), order, axis=1)
    best_values = np.take_along_axis(part_values, order, axis=1)
    best = np.where(np.isfinite(best_values), best, -1)
    return best.astype(np.int64), best_values


def capped_top_k(scores: np.ndarray, k: int, rebuy_rows: np.ndarray, rebuy_items: np.ndarray, cap: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Return ``top_k(scores, k)`` with at most ``cap`` of the entries (rebuy_rows, rebuy_items) per row.

    The re-buys are taken out of ``scores`` (in place), the best ``cap`` of each row ranked back in by score.
    """
    values = scores[rebuy_rows, rebuy_items]
    ok = np.isfinite(values)
    rows, items, values = rebuy_rows[ok], rebuy_items[ok], values[ok]
    scores[rows, items] = -np.inf
    best, best_values = top_k(scores, k)
    order = np.lexsort((-values, rows))
    rows, items, values = rows[order], items[order], values[order]
    slot = np.arange(len(rows)) - np.searchsorted(rows, rows)
    keep = slot < cap
    extra = np.full((len(scores), cap), -1, np.int64)
    extra_values = np.full((len(scores), cap), -np.inf, np.float32)
    extra[rows[keep], slot[keep]] = items[keep]
    extra_values[rows[keep], slot[keep]] = values[keep]
    merged, merged_values = np.hstack([best, extra]), np.hstack([best_values, extra_values])
    order = np.argsort(-merged_values, axis=1, kind="stable")[:, :k]
    merged_values = np.take_along_axis(merged_values, order, axis=1)
    merged = np.where(np.isfinite(merged_values), np.take_along_axis(merged, order, axis=1), -1)
    return merged, merged_values


def save_sparse(arrays: dict[str, np.ndarray], name: str, matrix: sp.csr_matrix) -> None:
    """Put a CSR matrix's parts into ``arrays`` under ``name.*``."""
    matrix = sp.csr_matrix(matrix)
    arrays.update({f"{name}.data": matrix.data, f"{name}.indices": matrix.indices, f"{name}.indptr": matrix.indptr,
                   f"{name}.shape": np.asarray(matrix.shape, np.int64)})


def load_sparse(arrays: Any, name: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{name}.shape"])
    return sp.csr_matrix((arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape)


class Recommender(ModelBase):
    """Base of every recommender. Learned state: ``items_``, ``customers_``, ``bought_``, ``in_stock_`` and the
    subclass's arrays; ``filter_bought_`` is the served already-bought setting (the evaluation chooses it).
    """

    personal: ClassVar[bool] = True  # scores depend on the customer
    cold_start: ClassVar[bool] = False  # unknown customers get picks (popular ones)
    has_similar_items: ClassVar[bool] = False
    recommends_bought: ClassVar[bool] = False  # its picks may be things the customer bought (buy again, the blend)
    takes_cart: ClassVar[bool] = False  # ``answer_one`` ranks by the cart, not only excludes it
    reason_source: ClassVar[str] = "als"  # the reasons.PHRASES key of its picks

    items_: IdMap
    customers_: IdMap
    bought_: sp.csr_matrix
    in_stock_: np.ndarray
    filter_bought_: bool = True

    def _fit(self, data: Interactions) -> None:
        self._keep_data(data)
        self._fit_model(data)

    def _keep_data(self, data: Interactions) -> None:
        self.items_, self.customers_ = data.items, data.customers
        self.bought_ = data.bought.astype(np.float32)
        self.in_stock_ = data.item_in_stock.copy()

    def _fit_model(self, data: Interactions) -> None:
        raise NotImplementedError

    def serve_filter(self, filter_bought: bool) -> Recommender:
        """Set the already-bought filter the served model applies by default (the evaluation's better one)."""
        self.filter_bought_ = bool(filter_bought)
        return self

    # scoring hooks -------------------------------------------------------------------------------------------
    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        """Return dense scores (len(users) x items) for dense customer indices (-1 = unknown customer)."""
        raise NotImplementedError

    def item_scores(self, items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Return dense scores (items of the catalogue) seeded by ``items`` (dense indices), e.g. a cart."""
        return np.zeros(len(self.items_), np.float32)

    def reasons(self, users: np.ndarray, best: np.ndarray) -> list[str]:
        """Return the reason of every valid pick of ``best`` (row-major order), in a shopper's words."""
        return [phrase(self.reason_source)] * int((best >= 0).sum())

    # public API ----------------------------------------------------------------------------------------------
    def recommend(self, customer_ids: Iterable[str], k: int = 10, *, filter_bought: bool | None = None,
                  exclude: Iterable[str] = (), batch_size: int = 2_000) -> pd.DataFrame:
        """Return the top ``k`` items per customer as customer_id, item_id, score, rank (1 = best).

        Unknown customers get the model's cold-start answer (nothing when ``cold_start`` is False; the served
        ``answer`` gives them best sellers either way).
        """
        self.check_fitted()
        ids = np.asarray(list(customer_ids) if not isinstance(customer_ids, np.ndarray) else customer_ids, object)
        users = self.customers_.to_internal(ids)
        excluded = self.items_.to_internal(list(exclude))
        excluded = excluded[excluded >= 0]
        frames = [self._frame(ids[start:start + batch_size],
                              *self.rank_items(users[start:start + batch_size], k, filter_bought=filter_bought,
                                               excluded=excluded))
                  for start in range(0, len(users), batch_size)]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=RECOMMEND_COLUMNS)

    def rank_items(self, users: np.ndarray, k: int, *, filter_bought: bool | None = None,
                   excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (item indices, scores) of the top ``k`` per dense customer index, best first (-1 pads).

        Out-of-stock items are never picked; ``filter_bought`` (default: the served setting) drops what the
        customer bought, unless the model ``recommends_bought``.
        """
        self.check_fitted()
        scores = self.customer_scores(users).astype(np.float32, copy=True)
        drop = self.filter_bought_ if filter_bought is None else filter_bought
        self._mask(scores, users, drop and not self.recommends_bought,
                   excluded if excluded is not None else np.zeros(0, np.int64))
        return top_k(scores, k)

    def answer(self, users: np.ndarray, k: int, excluded: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Return (items, scores, reasons) of the served top ``k`` per dense customer index.

        A model without its own cold start still answers a stranger: with the shop's best sellers in stock (a
        storefront never shows an empty list), each saying so.
        """
        # served lists never repeat a purchase unless the model's pick is a due re-buy (buy-again, the blend),
        # even when the holdout scored this model better without the filter
        best, values = self.rank_items(users, k, filter_bought=True, excluded=excluded)
        strangers = users < 0
        if self.cold_start or not strangers.any():
            return best, values, self.reasons(users, best)
        popular_best, popular_values = self._popular_top(k, excluded)
        best, values = best.copy(), values.copy()
        best[strangers], values[strangers] = popular_best, popular_values
        known_texts = iter(self.reasons(users[~strangers], best[~strangers]))
        texts = [phrase("popular") if stranger else next(known_texts)
                 for row, stranger in enumerate(strangers) for item in best[row] if item >= 0]
        return best, values, texts

    def _popular_top(self, k: int, excluded: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """Return the top ``k`` items by buyers (in stock, not excluded) as one row of (indices, scores)."""
        buyers = np.asarray((self.bought_ > 0).sum(axis=0), np.float32).ravel()
        scores = np.where(self.in_stock_[: len(buyers)] & (buyers > 0), buyers / max(buyers.max(), 1.0), -np.inf)
        if excluded is not None and len(excluded):
            scores[excluded] = -np.inf
        return top_k(scores.astype(np.float32)[None, :], k)

    def answer_one(self, customer_id: str, k: int = 10, cart: Iterable[str] = (), exclude: Iterable[str] = ()
                   ) -> Recommendations:
        """Return one customer's top ``k`` with reasons; cart and excluded items are left out of the list."""
        self.check_fitted()
        user = self.customers_.index_of(customer_id)
        named = [str(i) for i in [*cart, *exclude]]
        index = np.array([self.items_.index_of(i) for i in named], np.int64)
        best, values, texts = self.answer(np.array([user]), k, excluded=index[index >= 0])
        keep = best[0] >= 0
        items = [Recommendation(item_id=str(i), score=float(s), reason=t, source=self.reason_source)
                 for i, s, t in zip(self.items_.to_external(best[0, keep]), values[0, keep], texts, strict=True)]
        return Recommendations(customer_id=str(customer_id), known_customer=user >= 0, items=items,
                               unknown_items=[i for i, j in zip(named, index, strict=True) if j < 0])

    def similar_items(self, item_ids: Iterable[str], k: int = 10, kind: str = "similar") -> pd.DataFrame:
        """Return up to ``k`` in-stock items like each item as item_id, similar_item_id, score, rank.

        Unknown ids, and models without ``has_similar_items``, get no rows. A single model answers every
        ``kind`` of item-page list with its own item-item scores (the blend picks a source per kind).
        """
        self.check_fitted()
        if kind not in LIST_KINDS:
            raise ValueError(f"unknown list kind {kind!r}; expected one of {', '.join(LIST_KINDS)}")
        if not self.has_similar_items:
            return pd.DataFrame(columns=SIMILAR_COLUMNS)
        return self._item_lists(item_ids, k, lambda item: self.item_scores(np.array([item])))

    def _item_lists(self, item_ids: Iterable[str], k: int, score: Any) -> pd.DataFrame:
        rows = []
        for external in item_ids:
            item = self.items_.index_of(external)
            if item < 0:
                continue
            scores = np.asarray(score(item), np.float32)
            scores = np.where(self.in_stock_ & (scores > 0), scores, -np.inf).astype(np.float32)
            scores[item] = -np.inf
            best, values = top_k(scores[None, :], k)
            keep = best[0] >= 0
            rows.append(pd.DataFrame({C.ITEM_ID: str(external),
                                      SIMILAR_ITEM_ID: self.items_.to_external(best[0][keep]),
                                      SCORE: values[0][keep].astype(np.float64), RANK: np.arange(1, keep.sum() + 1)}))
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=SIMILAR_COLUMNS)

    def pyfunc_predict(self, frame: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        """MLflow pyfunc entry: top ``params["k"]`` (default 10) with reasons for each ``customer_id`` of ``frame``."""
        k = int((params or {}).get("k", 10))
        return self.answer_frame(frame[C.CUSTOMER_ID].astype(str).tolist(), k)

    def answer_frame(self, customer_ids: Iterable[str], k: int = 10, batch_size: int = 1_000) -> pd.DataFrame:
        """Return customer_id, rank, item_id, score, reason: the served top ``k`` of each customer."""
        self.check_fitted()
        ids = np.asarray(list(customer_ids), dtype=object)
        users = self.customers_.to_internal(ids)
        frames = []
        for start in range(0, len(users), batch_size):
            best, values, texts = self.answer(users[start:start + batch_size], k)
            frame = self._frame(ids[start:start + batch_size], best, values)
            frame[REASON] = texts
            frames.append(frame[ANSWER_COLUMNS])
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=ANSWER_COLUMNS)

    def _mask(self, scores: np.ndarray, users: np.ndarray, filter_bought: bool, excluded: np.ndarray) -> None:
        n = len(self.items_)
        scores[:, :n][:, ~self.in_stock_] = -np.inf
        if not self.cold_start:  # a personal model knows nothing of a stranger: no arbitrary zero-score picks
            scores[users < 0] = -np.inf
        if filter_bought:
            known = np.flatnonzero(users >= 0)
            seen = self.bought_[users[known]].tocoo()
            scores[known[seen.row], seen.col] = -np.inf
        if len(excluded):
            scores[:, excluded] = -np.inf

    def _frame(self, ids: np.ndarray, best: np.ndarray, values: np.ndarray) -> pd.DataFrame:
        keep = best >= 0
        rows, _ = np.nonzero(keep)
        return pd.DataFrame({
            C.CUSTOMER_ID: ids[rows], C.ITEM_ID: self.items_.to_external(best[keep]),
            SCORE: values[keep].astype(np.float64), RANK: (np.cumsum(keep, axis=1)[keep]).astype(np.int64),
        })

    # persistence ---------------------------------------------------------------------------------------------
    def _arrays(self) -> dict[str, np.ndarray]:
        """Return the learned arrays to save (numbers only)."""
        return {}

    def _set_arrays(self, arrays: Any) -> None:
        """Restore learned state from the arrays ``_arrays`` wrote."""

    def _save_state(self, path: Path) -> dict[str, Any]:
        arrays = self._arrays()
        save_sparse(arrays, "bought", self.bought_)
        arrays["in_stock"] = self.in_stock_
        np.savez(path / STATE_FILE, **arrays)  # type: ignore[arg-type]
        self.items_.save(path / ITEMS_FILE)
        self.customers_.save(path / CUSTOMERS_FILE)
        return {"items": len(self.items_), "customers": len(self.customers_), "filter_bought": self.filter_bought_}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self.items_ = IdMap.load(path / ITEMS_FILE)
        self.customers_ = IdMap.load(path / CUSTOMERS_FILE)
        self.filter_bought_ = bool(state.get("filter_bought", True))
        with np.load(path / STATE_FILE, allow_pickle=False) as arrays:
            self.bought_ = load_sparse(arrays, "bought")
            self.in_stock_ = arrays["in_stock"]
            self._set_arrays(arrays)
