"""RetentionConfig: the whole configuration of a training and scoring run, validated, loaded from YAML.

Loading has no side effects (no folders, no MLflow URI, no logging set-up): the entry points do that. Every
section forbids unknown keys, so a typo in a YAML file is an error naming the key, not a silent default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from features.analytics.products import ProductsConfig
from features.analytics.segment_rules import GOLDEN_SHARE, SegmentsConfig
from features.campaigns.config import CampaignsConfig
from features.families.config import FeaturesConfig
from models.base import config_hash
from models.customer.baselines import BaselineConfig
from models.customer.churn import ChurnConfig, GoldenConfig
from models.customer.value import ValueConfig
from models.inference.config import RegistryConfig, ScoringConfig, StorefrontConfig
from models.inference.drift import MonitorConfig
from training.recsys.holdout import RecsysConfig


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ModelsConfig(_Section):
    """Hyperparameters of each model; each section is that model's own config."""

    churn: ChurnConfig = ChurnConfig()
    golden: GoldenConfig = GoldenConfig()
    value: ValueConfig = ValueConfig()
    baseline: BaselineConfig = BaselineConfig()


class TrainingConfig(_Section):
    """Labels, backtest windows and the minimum data needed.

    The holdout is the last complete window (cutoff = scoring cutoff - horizon). The models evaluated on it are
    trained on ``n_windows`` cutoffs ``window_spacing_days`` apart whose horizons end on or before the holdout
    cutoff; the models registered for scoring are then refitted the same way one horizon later (horizons end
    on or before the scoring cutoff), so the holdout measures exactly the procedure that produced them.
    """

    horizon_days: int = Field(90, ge=1, description="Labels look at [cutoff, cutoff + horizon_days).")
    n_windows: int = Field(4, ge=1, description="Training cutoffs per fit.")
    window_spacing_days: int = Field(30, ge=1, description="Days between consecutive training cutoffs.")
    min_customers: int = Field(500, ge=1, description="Refuse to train with fewer customers with a purchase.")
    min_history_horizons: float = Field(2.0, gt=0, description="Refuse with less history than this many horizons.")
    min_window_customers: int = Field(100, ge=1, description="A training cutoff with fewer customers is skipped.")
    min_window_population_share: float = Field(
        0.5, ge=0, le=1, description="A training cutoff with fewer customers than this share of the holdout's (or, "
        "for the scoring fit, the scoring cutoff's) is skipped: early windows of a young shop are nearly all new "
        "customers. The latest cutoff is kept if it has min_window_customers.")
    golden_share: float = Field(GOLDEN_SHARE, gt=0, lt=1,
                                description="Golden = this top share of customers by horizon revenue.")
    golden_among: Literal["all", "buyers"] = Field(
        "buyers", description="buyers: golden = the top share of the customers who bought in the horizon (as "
        "segments' is_golden_now), the few who bring most of the revenue whatever the shop's rhythm; all: the top "
        "share of every customer at the cutoff, which collapses into 'buys at all' (churn) when fewer than that "
        "share buy in a horizon. Either way golden needs revenue > 0.")
    refit_for_scoring: bool = Field(True, description="Refit on the windows ending at the scoring cutoff (True) or "
                                    "register the models evaluated on the holdout as they are (False).")
    reasons_k: int = Field(3, ge=1, le=10, description="Drivers per customer in the reasons column.")
    max_customers: int | None = Field(
        200_000, ge=100, description="The training windows, the holdout and the gate use at most this many "
        "customers: a seeded sample, the same customers in every window (features.data.sample). Scoring and the "
        "recommender always use every customer. null: every customer, whatever the shop's size.")
    sample_seed: int = Field(0, description="Which customers the sample holds (the same seed, the same customers).")




class RecommenderSection(_Section):
    """Whether ``train`` also trains the recommender (when transactions carry item_id), and how it is tuned."""

    enabled: bool = True
    tuning: RecsysConfig = RecsysConfig()


class RetentionConfig(_Section):
    """The whole run: features, segments, models, training windows, registry and scoring."""

    features: FeaturesConfig = FeaturesConfig()
    segments: SegmentsConfig = SegmentsConfig()
    products: ProductsConfig = ProductsConfig()
    models: ModelsConfig = ModelsConfig()
    training: TrainingConfig = TrainingConfig()
    registry: RegistryConfig = RegistryConfig()
    scoring: ScoringConfig = ScoringConfig()
    recommender: RecommenderSection = RecommenderSection()
    campaigns: CampaignsConfig = CampaignsConfig()
    monitor: MonitorConfig = MonitorConfig()
    storefront: StorefrontConfig = StorefrontConfig()

    def with_horizon(self, horizon_days: int | None) -> RetentionConfig:
        """Return a copy with another horizon (None: unchanged)."""
        if horizon_days is None:
            return self
        return self.model_copy(update={"training": self.training.model_copy(update={"horizon_days": horizon_days})})

    def hash(self) -> str:
        """Return a short SHA-256 of the resolved config, logged with every run."""
        return config_hash(self)


def load_config(path: str | Path | None = None) -> RetentionConfig:
    """Return the config in a YAML file, or the defaults (configs/default.yaml holds the same) when None.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When the YAML is malformed or a value or key is invalid; the message names the key.
    """
    if path is None:
        return RetentionConfig()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of sections (features, models, training, ...)")
    try:
        return RetentionConfig(**data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ValueError(f"{path}: {problems}") from None
