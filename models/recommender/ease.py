"""EASE (Steck 2019, "Embarrassingly Shallow Autoencoders"): the closed-form item-item baseline.

``B = I - P diagMat(1 / diag(P))`` with ``P = (X'X + lambda I)^-1`` and a zero diagonal; a customer's scores are
their history row times ``B``. It is a strong, cheap baseline on catalogues of a few thousand items; beyond
``max_items`` only the most bought items are modelled (the inverse is items^2 in memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.base import ModelConfig
from models.recommender.base import Recommender, load_sparse, save_sparse
from models.recommender.interactions import Interactions


class EASEConfig(ModelConfig):
    """Hyperparameters of ``EASERecommender``."""

    regularization: float = Field(200.0, gt=0)  # lambda
    max_items: int = Field(5_000, ge=1)
    binary: bool = True  # history as 0/1 (the paper) rather than purchase counts


class EASERecommender(Recommender):
    """EASE. Learned state: ``weights_`` (modelled items x modelled items), ``modelled_`` item indices."""

    Config = EASEConfig
    has_similar_items = True
    config: EASEConfig

    weights_: np.ndarray
    modelled_: np.ndarray
    history_: sp.csr_matrix

    def _fit_model(self, data: Interactions) -> None:
        cfg = self.config
        history = data.bought if cfg.binary else data.purchases
        counts = np.asarray(history.sum(axis=0)).ravel()
        modelled = np.flatnonzero(counts > 0)
        if len(modelled) > cfg.max_items:
            modelled = np.sort(np.argsort(-counts, kind="stable")[:cfg.max_items])
        x = sp.csr_matrix(history[:, modelled], dtype=np.float64)
        gram = (x.T @ x).toarray()
        gram[np.diag_indices_from(gram)] += cfg.regularization
        precision = np.linalg.inv(gram)
        weights = -precision / np.diag(precision)
        weights[np.diag_indices_from(weights)] = 0.0
        self.weights_, self.modelled_ = weights.astype(np.float32), modelled
        self.history_ = sp.csr_matrix(history, dtype=np.float32)

    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        self.check_fitted()
        out = np.zeros((len(users), len(self.items_)), np.float32)
        known = users >= 0
        if not known.any():
            return out
        rows = self.history_[users[known]]
        if len(self.modelled_) == rows.shape[1]:  # every item modelled: no column slice, no second copy
            out[known] = rows @ self.weights_
            return out
        scores = np.zeros((int(known.sum()), len(self.items_)), np.float32)
        scores[:, self.modelled_] = np.asarray(rows[:, self.modelled_] @ self.weights_)
        out[known] = scores
        return out

    def pair_scores(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Return the score of each (customer, item) pair (0 for unknown customers and items EASE does not model).

        Only the picked items' columns of the weights are multiplied: what a list's reasons need, far less than
        every item's score.
        """
        self.check_fitted()
        out = np.zeros(len(users), np.float32)
        where = np.clip(np.searchsorted(self.modelled_, items), 0, max(len(self.modelled_) - 1, 0))
        ok = (users >= 0) & (self.modelled_[where] == items) if len(self.modelled_) else np.zeros(len(users), bool)
        if not ok.any():
            return out
        customers, row = np.unique(users[ok], return_inverse=True)
        columns, column = np.unique(where[ok], return_inverse=True)
        history = self.history_[customers]
        if len(self.modelled_) < history.shape[1]:
            history = history[:, self.modelled_]
        out[ok] = np.asarray(history @ self.weights_[:, columns])[row, column]
        return out

    def item_scores(self, items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        self.check_fitted()
        out = np.zeros(len(self.items_), np.float32)
        where = np.searchsorted(self.modelled_, items)
        where = np.clip(where, 0, max(len(self.modelled_) - 1, 0))
        ok = self.modelled_[where] == items if len(self.modelled_) else np.zeros(len(items), bool)
        w = np.ones(len(items), np.float32) if weights is None else np.asarray(weights, np.float32)
        out[self.modelled_] = w[ok] @ self.weights_[where[ok]]
        return out

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays = {"weights": self.weights_, "modelled": self.modelled_}
        save_sparse(arrays, "history", self.history_)
        return arrays

    def _set_arrays(self, arrays: Any) -> None:
        self.weights_, self.modelled_ = arrays["weights"], arrays["modelled"]
        self.history_ = load_sparse(arrays, "history")
