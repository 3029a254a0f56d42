"""Recommender: the shape every recommender shares (fit, recommend, similar_items, save, load).

A recommender fits on an ``Interactions``; it keeps the item and customer id maps and the customers' purchases
(to filter what they already have), and writes its learned arrays to one ``state.npz`` (no pickle). Subclasses
write ``_fit_model``, ``customer_scores`` (customers x items, dense) and optionally ``item_scores`` (scores
seeded by a set of items: similar items, the cart), plus ``_arrays`` / ``_set_arrays`` for persistence.
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

logger = logging.getLogger(__name__)

SCORE, RANK, SIMILAR_ITEM_ID, REASON = "score", "rank", "similar_item_id", "reason"
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


def save_sparse(arrays: dict[str, np.ndarray], name: str, matrix: sp.csr_matrix) -> None:
    """Put a CSR matrix's parts into ``arrays`` under ``name.*``."""
    matrix = sp.csr_matrix(matrix)
    arrays.update({f"{name}.data": matrix.data, f"{name}.indices": matrix.indices, f"{name}.indptr": matrix.indptr,
                   f"{name}.shape": np.asarray(matrix.shape, np.int64)})


def load_sparse(arrays: Any, name: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in arrays[f"{name}.shape"])
    return sp.csr_matrix((arrays[f"{name}.data"], arrays[f"{name}.indices"], arrays[f"{name}.indptr"]), shape=shape)


class Recommender(ModelBase):
    """Base of the recommenders. Learned state: ``items_``, ``customers_``, ``bought_`` and the subclass's arrays.

    Capabilities are class flags: ``personal`` (scores depend on the customer), ``has_similar_items``,
    ``recommends_bought``.
    """

    personal: ClassVar[bool] = True
    has_similar_items: ClassVar[bool] = False
    recommends_bought: ClassVar[bool] = False  # its picks are things the customer already bought (buy again)

    items_: IdMap
    customers_: IdMap
    bought_: sp.csr_matrix

    def _fit(self, data: Interactions) -> None:
        self.items_, self.customers_ = data.items, data.customers
        self.bought_ = data.bought.astype(np.float32)
        self._fit_model(data)

    def _fit_model(self, data: Interactions) -> None:
        raise NotImplementedError

    # scoring hooks -------------------------------------------------------------------------------------------
    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        """Return dense scores (len(users) x items) for dense customer indices (-1 = unknown customer)."""
        raise NotImplementedError

    def item_scores(self, items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        """Return dense scores (items of the catalogue) seeded by ``items`` (dense indices), e.g. a cart."""
        return np.zeros(len(self.items_), np.float32)

    # public API ----------------------------------------------------------------------------------------------
    def recommend(self, customer_ids: Iterable[str], k: int = 10, *, filter_bought: bool = True,
                  exclude: Iterable[str] = (), batch_size: int = 2_000) -> pd.DataFrame:
        """Return the top ``k`` items per customer as customer_id, item_id, score, rank (1 = best).

        Unknown customers get the model's cold-start answer (nothing for purely personal models).
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
        return pd.concat(frames, ignore_index=True) if frames else self._frame(ids, *top_k(np.zeros((0, 0)), k))

    def rank_items(self, users: np.ndarray, k: int, *, filter_bought: bool = True,
                   excluded: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Return (item indices, scores) of the top ``k`` per dense customer index, best first (-1 pads)."""
        scores = self.customer_scores(users).astype(np.float32, copy=True)
        self._mask(scores, users, filter_bought and not self.recommends_bought,
                   excluded if excluded is not None else np.zeros(0, np.int64))
        return top_k(scores, k)

    def similar_items(self, item_ids: Iterable[str], k: int = 10) -> pd.DataFrame:
        """Return up to ``k`` items like each item as item_id, similar_item_id, score, rank; unknown ids get none."""
        self.check_fitted()
        ids = np.asarray(list(item_ids), object)
        rows = []
        for external, item in zip(ids, self.items_.to_internal(ids), strict=True):
            if item < 0:
                continue
            scores = self.item_scores(np.array([item])).astype(np.float32, copy=True)
            scores[item] = -np.inf
            scores[scores <= 0] = -np.inf
            best, values = top_k(scores[None, :], k)
            keep = best[0] >= 0
            rows.append(pd.DataFrame({C.ITEM_ID: external, SIMILAR_ITEM_ID: self.items_.to_external(best[0][keep]),
                                      SCORE: values[0][keep], RANK: np.arange(1, keep.sum() + 1)}))
        columns = [C.ITEM_ID, SIMILAR_ITEM_ID, SCORE, RANK]
        return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=columns)

    def _mask(self, scores: np.ndarray, users: np.ndarray, filter_bought: bool, excluded: np.ndarray) -> None:
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
        np.savez(path / STATE_FILE, **arrays)  # type: ignore[arg-type]
        self.items_.save(path / ITEMS_FILE)
        self.customers_.save(path / CUSTOMERS_FILE)
        return {"items": len(self.items_), "customers": len(self.customers_)}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self.items_ = IdMap.load(path / ITEMS_FILE)
        self.customers_ = IdMap.load(path / CUSTOMERS_FILE)
        with np.load(path / STATE_FILE, allow_pickle=False) as arrays:
            self.bought_ = load_sparse(arrays, "bought")
            self._set_arrays(arrays)
