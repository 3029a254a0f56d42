"""Settings scoring needs, shared by training (which writes the registry) and serving (which reads it)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryConfig(_Section):
    """MLflow experiment, registered model names, aliases and the metric each promotion is judged on."""

    experiment: str = "retention"
    churn_name: str = "churn"
    golden_name: str = "golden"
    value_name: str = "value"
    recommender_name: str = "recommender"
    champion_alias: str = "champion"
    challenger_alias: str = "challenger"
    churn_metric: str = Field("roc_auc", description="Holdout metric of the churn gate (higher is better).")
    golden_metric: str = Field("ranking_blend", description="Holdout metric of the golden gate (higher is better); "
                               "ranking_blend: the mean of ROC AUC and the revenue captured by the top 10% and 20%.")
    value_metric: str = Field("ranking_blend", description="Holdout metric of the value gate (higher is better); "
                              "ranking_blend: the mean of Spearman and the revenue captured by the top 10% and 20%.")
    recommender_metric: str = Field("ndcg@10", description="Holdout metric of the recommender gate.")
    require_beating_baseline: bool = Field(True, description="A candidate must also be at least as good as its best "
                                           "baseline on the gate metric to become champion.")


class ScoringConfig(_Section):
    """How scores are turned into words and lists for marketers."""

    risk_thresholds: tuple[float, float] = Field((0.4, 0.7), description="churn_risk is medium from the first "
                                                 "probability, high from the second.")
    max_reasons: int | None = Field(
        100_000, ge=1, description="The reasons column of `score` explains at most this many customers, those most "
        "at risk of churning (the explanation, LightGBM's per-feature contributions, costs ~0.6 ms a customer: 10 "
        "min at 1M); the others' reasons are empty and the run says so. Churn lists explain their own rows. null: "
        "everyone.")

    @model_validator(mode="after")
    def _ordered(self) -> ScoringConfig:
        low, high = self.risk_thresholds
        if not 0 < low <= high < 1:
            raise ValueError(f"risk_thresholds must be 0 < medium <= high < 1, got {self.risk_thresholds}")
        return self


class StorefrontConfig(_Section):
    """What the storefront routes do beyond ranking: the cart top-up to free delivery, reminders, experiments."""

    free_delivery_threshold: float | None = Field(None, gt=0, description="Cart value from which delivery is free "
                                                  "(the shop's currency); a /recommend request may send its own. "
                                                  "null: no top-up unless the request sends one.")
    topup_margin: float = Field(15.0, ge=0, description="A top-up item costs between the gap and the gap plus this.")
    topup_k: int = Field(3, ge=1, le=20, description="At most this many top-up items lead the picks.")
    reminder_days: int = Field(30, ge=1, le=365, description="Reminders: views and wish-list adds of the last this "
                               "many days (before the shop's last order, plus live events since).")
    reminder_popular_days: int = Field(30, ge=1, le=365, description="Reminders: 'bought by others lately' counts "
                                       "buyers of the last this many days.")
    experiment_window_hours: float = Field(72.0, gt=0, le=24 * 60, description="A/B experiments: cart adds and "
                                           "purchases this long after a shown list count for its arm.")
