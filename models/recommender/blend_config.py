"""The blend's settings: every source's hyperparameters, the weights that mix them, and the list filters.

Kept apart from ``blend.py`` so the blend's answering code (``blend_answers.py``) can name them without importing
the blend back.
"""

from __future__ import annotations

from pydantic import Field

from models.base import ModelConfig
from models.recommender.als import ALSConfig
from models.recommender.buy_again import BuyAgainConfig
from models.recommender.copurchase import CoPurchaseConfig
from models.recommender.ease import EASEConfig
from models.recommender.popular import PopularConfig
from models.recommender.upsell import UpsellConfig


class BlendWeights(ModelConfig):
    """How much each source counts in the blended score (0 switches a source off)."""

    als: float = Field(1.0, ge=0)
    category: float = Field(0.3, ge=0)
    popular: float = Field(0.05, ge=0)
    copurchase: float = Field(0.3, ge=0)
    upsell: float = Field(0.05, ge=0)
    buy_again: float = Field(1.0, ge=0)
    cart: float = Field(1.0, ge=0)
    ease: float = Field(0.0, ge=0)  # EASE (fitted only when > 0): strong where nobody re-buys (films, books)


class BlendConfig(ModelConfig):
    """Every source's hyperparameters plus the blend weights and filters."""

    als: ALSConfig = Field(default_factory=ALSConfig)
    popular: PopularConfig = Field(default_factory=PopularConfig)
    copurchase: CoPurchaseConfig = Field(default_factory=CoPurchaseConfig)
    coview: CoPurchaseConfig = Field(default_factory=lambda: CoPurchaseConfig(source="sessions"))
    upsell: UpsellConfig = Field(default_factory=UpsellConfig)
    buy_again: BuyAgainConfig = Field(default_factory=BuyAgainConfig)
    ease: EASEConfig = Field(default_factory=EASEConfig)
    weights: BlendWeights = Field(default_factory=BlendWeights)
    category_half_life_days: float | None = Field(180.0, gt=0)
    max_categories: int = Field(3, ge=1)  # a customer's favourite categories that get "popular in ..." picks
    category_top_items: int = Field(100, ge=1)  # the most popular items of each category considered there
    rebuy_threshold: float = Field(0.05, ge=0)  # buy-again score from which a bought item may be shown again
    max_rebuys: int | None = Field(None, ge=0)  # due re-buys allowed on one list (None: as many as score)
