"""Popular and trending items, overall and per category: the cold-start answer and the first baseline.

Popularity counts distinct buyers, each purchase decayed by its age (``half_life_days``), so last season's hit
fades. Trending compares the last ``trending_days`` with the period before, shrunk towards 1 for small counts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from models.base import ModelConfig
from models.recommender.base import Recommender
from models.recommender.interactions import Interactions
from models.recommender.reasons import TRENDING, phrase


class PopularConfig(ModelConfig):
    """Hyperparameters of ``PopularRecommender``."""

    half_life_days: float | None = Field(60.0, gt=0)  # None: every purchase counts the same
    trending_days: float = Field(14.0, gt=0)
    trending_prior: float = Field(5.0, ge=0)  # pseudo-buyers that keep a 1-buyer item from "trending"


class PopularRecommender(Recommender):
    """The same list for everyone (minus what they bought): the items most bought lately.

    Learned state: ``popularity_`` (max 1), ``trending_`` (recent / earlier rate ratio), ``item_category_``.
    """

    Config = PopularConfig
    personal = False
    cold_start = True
    reason_source = "popular"
    config: PopularConfig

    popularity_: np.ndarray
    trending_: np.ndarray
    item_category_: np.ndarray
    categories_: tuple[str, ...]

    def _fit_model(self, data: Interactions) -> None:
        cfg = self.config
        # one vote per (customer, item, order); decayed by age
        weight = np.power(0.5, data.line_age / cfg.half_life_days) if cfg.half_life_days else np.ones(
            len(data.line_age))
        counts = np.bincount(data.line_item, weights=weight, minlength=data.n_items)
        self.popularity_ = (counts / max(counts.max(), 1e-12)).astype(np.float32)
        recent = data.line_age < cfg.trending_days
        earlier = (data.line_age >= cfg.trending_days) & (data.line_age < 5 * cfg.trending_days)
        now = np.bincount(data.line_item[recent], minlength=data.n_items)
        before = np.bincount(data.line_item[earlier], minlength=data.n_items) / 4.0  # same length of time
        self.trending_ = ((now + cfg.trending_prior) / (before + cfg.trending_prior)).astype(np.float32)
        self.item_category_ = data.item_category.copy()
        self.categories_ = data.categories

    def customer_scores(self, users: np.ndarray) -> np.ndarray:
        self.check_fitted()
        return np.broadcast_to(self.popularity_, (len(users), len(self.popularity_)))

    def reasons(self, users: np.ndarray, best: np.ndarray) -> list[str]:
        items = best[best >= 0]
        return [phrase("trending" if t >= TRENDING else "popular") for t in self.trending_[items].tolist()]

    def popular_in(self, category: str | None = None, k: int = 10, trending: bool = False) -> np.ndarray:
        """Return dense indices of the ``k`` most popular (or trending) items, overall or in one category."""
        self.check_fitted()
        score = (self.trending_ * (self.popularity_ > 0)) if trending else self.popularity_.copy()
        if category is not None:
            code = self.categories_.index(category) if category in self.categories_ else -2
            score = np.where(self.item_category_ == code, score, -np.inf)
        order = np.argsort(-score, kind="stable")[:k]
        return order[np.isfinite(score[order]) & (score[order] > 0)]

    def _arrays(self) -> dict[str, np.ndarray]:
        return {"popularity": self.popularity_, "trending": self.trending_, "item_category": self.item_category_,
                "categories": np.asarray(self.categories_, dtype=str)}

    def _set_arrays(self, arrays: Any) -> None:
        self.popularity_, self.trending_ = arrays["popularity"], arrays["trending"]
        self.item_category_ = arrays["item_category"]
        self.categories_ = tuple(str(c) for c in arrays["categories"])
