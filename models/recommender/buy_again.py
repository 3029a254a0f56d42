"""Buy again: items a customer buys repeatedly, ranked by how due they are on the customer's own cycle.

For each (customer, item) bought, the cycle is the median gap between the customer's purchases of it, shrunk
towards the item's median gap across customers (a customer who bought coffee once is due on the coffee cycle).
The next gap is taken as log-normal around the cycle; the score is the chance of rebuying the item at all times
the chance that the next purchase falls in the coming ``horizon_days`` given none since the last one, damped
once the customer is long overdue (they may have moved on).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import Field
from scipy.special import ndtr

from models.base import ModelConfig
from models.recommender.base import Recommender, load_sparse, save_sparse
from models.recommender.interactions import Interactions


class BuyAgainConfig(ModelConfig):
    """Hyperparameters of ``BuyAgainRecommender``."""

    horizon_days: float = Field(30.0, gt=0)  # how far ahead "due" looks
    spread: float = Field(0.35, gt=0)  # log-normal sigma of the next gap around the cycle
    min_gap_days: float = Field(1.0, ge=0)  # purchases closer than this are one shopping trip
    prior_strength: float = Field(2.0, ge=0)  # pseudo-purchases at the item's repeat rate and cycle
    min_item_repeat_rate: float = Field(0.05, ge=0, le=1)  # items rarely rebought are left out for one-time buyers
    overdue_after: float = Field(2.0, gt=0)  # cycles since the last purchase after which the score fades
    min_score: float = Field(0.01, ge=0)


class BuyAgainRecommender(Recommender):
    """Repeat purchases. Learned state: ``age_``, ``cycle_``, ``propensity_`` (customers x items, same pattern)."""

    Config = BuyAgainConfig
    recommends_bought = True
    reason_source = "buy_again"
    config: BuyAgainConfig

    age_: sp.csr_matrix  # days since last bought, at fit time
    cycle_: sp.csr_matrix  # expected days between purchases
    propensity_: sp.csr_matrix  # chance of buying it again at all
    scores_: sp.csr_matrix

    def _fit_model(self, data: Interactions) -> None:
        cfg = self.config
        pairs = self._pairs(data)
        item_rate, item_cycle = self._item_cycles(pairs, data.n_items)
        k = cfg.prior_strength
        n, gaps = pairs["orders"].to_numpy(), pairs["gaps"].to_numpy()
        rate, cycle = item_rate[pairs["item"].to_numpy()], item_cycle[pairs["item"].to_numpy()]
        blended = self._blended_cycle(pairs["median_gap"].to_numpy(), gaps, cycle)
        propensity = (gaps + k * rate) / (n + k)
        keep = np.isfinite(blended) & ((gaps > 0) | (rate >= cfg.min_item_repeat_rate))
        shape = (data.n_customers, data.n_items)
        rows, cols = pairs["customer"].to_numpy()[keep], pairs["item"].to_numpy()[keep]

        def matrix(values: np.ndarray) -> sp.csr_matrix:
            return sp.csr_matrix((values[keep].astype(np.float32), (rows, cols)), shape=shape)

        self.age_, self.cycle_ = matrix(pairs["age"].to_numpy()), matrix(blended)
        self.propensity_ = matrix(propensity)
        self.scores_ = self.due(0.0)

    def _blended_cycle(self, personal: np.ndarray, gaps: np.ndarray, item_cycle: np.ndarray) -> np.ndarray:
        """Geometric mean of the personal median gap (weight: gaps seen) and the item's (weight: prior strength)."""
        prior = self.config.prior_strength * np.isfinite(item_cycle)
        log_personal = np.log(np.maximum(np.nan_to_num(personal, nan=1.0), 1e-3))
        log_item = np.log(np.maximum(np.nan_to_num(item_cycle, nan=1.0), 1e-3))
        weight = gaps + prior
        blended = np.exp((gaps * log_personal + prior * log_item) / np.maximum(weight, 1e-12))
        return np.where(weight > 0, blended, np.nan)

    def _pairs(self, data: Interactions) -> pd.DataFrame:
        """One row per (customer, item): orders, gaps counted, median gap, days since last purchase."""
        lines = pd.DataFrame({"customer": data.line_customer, "item": data.line_item, "age": data.line_age})
        lines = lines.sort_values(["customer", "item", "age"], ascending=[True, True, False], kind="stable")
        same = (lines["customer"].diff() == 0) & (lines["item"].diff() == 0)
        gap = (-lines["age"].diff()).where(same)
        lines["gap"] = gap.where(gap >= self.config.min_gap_days)
        grouped = lines.groupby(["customer", "item"], sort=False)
        pairs = grouped.agg(age=("age", "min"), gaps=("gap", "count"), median_gap=("gap", "median")).reset_index()
        pairs["orders"] = pairs["gaps"] + 1
        return pairs

    def _item_cycles(self, pairs: pd.DataFrame, n_items: int) -> tuple[np.ndarray, np.ndarray]:
        """Per item: share of buyers who bought it again, and the median of their personal cycles (nan if none)."""
        buyers = np.bincount(pairs["item"], minlength=n_items)
        repeaters = pairs[pairs["gaps"] > 0]
        again = np.bincount(repeaters["item"], minlength=n_items)
        rate = np.divide(again, buyers, out=np.zeros(n_items), where=buyers > 0)
        cycle = np.full(n_items, np.nan)
        medians = repeaters.groupby("item")["median_gap"].median()
        cycle[medians.index.to_numpy()] = medians.to_numpy()
        return rate, cycle

    def due(self, days_later: float = 0.0) -> sp.csr_matrix:
        """Return customers x items scores ``days_later`` days after the fit cutoff (see the module docstring)."""
        cfg = self.config
        age, cycle, propensity = self.age_.data + days_later, self.cycle_.data, self.propensity_.data
        log_cycle, s = np.log(np.maximum(cycle, 1e-3)), cfg.spread
        before = ndtr((np.log(np.maximum(age, 1e-3)) - log_cycle) / s)
        by_end = ndtr((np.log(age + cfg.horizon_days) - log_cycle) / s)
        chance = (by_end - before) / np.maximum(1.0 - before, 1e-6)
        fading = np.exp(-np.maximum(age / cycle - cfg.overdue_after, 0.0))
        score = (propensity * chance * fading).astype(np.float32)
        score[score < cfg.min_score] = 0.0
        matrix = sp.csr_matrix((score, self.age_.indices.copy(), self.age_.indptr.copy()), shape=self.age_.shape)
        matrix.eliminate_zeros()
        return matrix

    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        self.check_fitted()
        out = np.zeros((len(users), len(self.items_)), np.float32)
        known = users >= 0
        if known.any():
            out[known] = self.scores_[users[known]].toarray()
        return out

    def cycle_days(self, user: int, item: int) -> float:
        """Return the expected days between the customer's purchases of the item (nan when not a repeat item)."""
        value = self.cycle_[user, item] if user >= 0 else 0.0
        return float(value) if value else float("nan")

    def _arrays(self) -> dict[str, np.ndarray]:
        arrays: dict[str, np.ndarray] = {}
        for name in ("age", "cycle", "propensity"):
            save_sparse(arrays, name, getattr(self, f"{name}_"))
        return arrays

    def _set_arrays(self, arrays: Any) -> None:
        self.age_, self.cycle_ = load_sparse(arrays, "age"), load_sparse(arrays, "cycle")
        self.propensity_ = load_sparse(arrays, "propensity")
        self.scores_ = self.due(0.0)
