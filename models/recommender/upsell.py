"""Up-sell: items in the same category at a higher price, ranked by co-view, co-purchase and popularity.

An item's up-sell candidates are the same-category items priced within ``price_band`` times its price that were
viewed or bought together with it, plus the category's most popular items in that band. Candidates score
``coview_weight x co-view + copurchase_weight x co-purchase + popularity_weight x popularity`` (each scaled to
at most 1); the best ``neighbours`` are kept. Without categories and prices there is nothing to up-sell.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from pydantic import Field, field_validator

from models.base import ModelConfig
from models.recommender.copurchase import cooccurrence
from models.recommender.interactions import Interactions
from models.recommender.itemitem import ItemItemRecommender, recency_weights, row_normalised


class UpsellConfig(ModelConfig):
    """Hyperparameters of ``UpsellRecommender``."""

    price_band: tuple[float, float] = (1.15, 3.0)  # candidate price / item price
    coview_weight: float = Field(1.0, ge=0)
    copurchase_weight: float = Field(1.0, ge=0)
    popularity_weight: float = Field(0.5, ge=0)
    pool: int = Field(50, ge=0)  # most popular items per category considered for every item
    neighbours: int = Field(20, ge=1)
    history_half_life_days: float | None = Field(60.0, gt=0)

    @field_validator("price_band")
    @classmethod
    def _ordered(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 1.0 <= value[0] < value[1]:
            raise ValueError(f"price_band must be (low, high) with 1 <= low < high, got {value}")
        return value


class UpsellRecommender(ItemItemRecommender):
    """Same category, pricier. Learned state: ``link_`` (items x items scores), ``history_`` weights."""

    Config = UpsellConfig
    reason_source = "upsell"
    config: UpsellConfig

    def _fit_model(self, data: Interactions) -> None:
        cfg = self.config
        n = data.n_items
        counts = np.bincount(data.line_item, minlength=n).astype(np.float64)
        popularity = counts / max(counts.max(), 1.0)
        parts = [
            cfg.coview_weight * row_normalised(cooccurrence(data.sessions, "confidence", 1, 200)),
            cfg.copurchase_weight * row_normalised(cooccurrence(data.baskets, "confidence", 1, 200)),
            sp.csr_matrix(self._pool(data, popularity) * cfg.popularity_weight),
        ]
        total = sp.csr_matrix(sum(parts[1:], parts[0])).tocoo()
        eligible = self._in_band(data, total.row, total.col)
        row, col, value = total.row[eligible], total.col[eligible], total.data[eligible]
        order = np.lexsort((-value, row))
        row, col, value = row[order], col[order], value[order]
        top = (np.arange(len(row)) - np.searchsorted(row, row)) < cfg.neighbours
        self._set_link(sp.csr_matrix((value[top].astype(np.float32), (row[top], col[top])), shape=(n, n)),
                       recency_weights(data, cfg.history_half_life_days))

    def _pool(self, data: Interactions, popularity: np.ndarray) -> sp.csr_matrix:
        """Items x items: every item paired with its category's ``pool`` most popular items (value = popularity)."""
        rows, cols = [], []
        for code in range(len(data.categories)):
            members = np.flatnonzero(data.item_category == code)
            pool = members[np.argsort(-popularity[members], kind="stable")[:self.config.pool]]
            rows.append(np.repeat(members, len(pool)))
            cols.append(np.tile(pool, len(members)))
        row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
        col = np.concatenate(cols) if cols else np.zeros(0, np.int64)
        return sp.csr_matrix((popularity[col], (row, col)), shape=(data.n_items, data.n_items))

    def _in_band(self, data: Interactions, row: np.ndarray, col: np.ndarray) -> np.ndarray:
        low, high = self.config.price_band
        price, category = data.item_price, data.item_category
        ratio = price[col] / price[row]
        return ((category[row] >= 0) & (category[row] == category[col]) & np.isfinite(ratio)
                & (ratio >= low) & (ratio <= high) & (row != col))
