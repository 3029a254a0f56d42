"""UpliftModel: one learner (T, X, class transformation, or a baseline) with the model life cycle of ``models.base``.

Saved as plain files: model.json, features.json (the inputs and categorical levels) and one LightGBM text model per
booster, so it is logged and loaded through ``models.inference.pyfunc`` like every other model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features import columns as C
from features.families.build import feature_catalogue
from features.families.config import FeaturesConfig
from models.base import ModelBase, ModelConfig
from models.customer.base import FeatureSpec
from models.uplift.learners import KINDS, Kind, LearnerConfig, effect, fit_boosters


def registered_name(campaign: str) -> str:
    """Return the registered model name of a campaign's uplift model (``uplift_<campaign>``)."""
    return f"uplift_{campaign}"


class UpliftConfig(ModelConfig):
    kind: Kind = "t"
    binary: bool = True  # the outcome is 0/1 (ordered, visited); False for revenue
    learner: LearnerConfig = LearnerConfig()


class UpliftModel(ModelBase):
    """The effect of a campaign's treatment on an outcome, per customer, from point-in-time features.

    Examples
    --------
    >>> model = UpliftModel(kind="x").fit(features, treated, outcome)  # doctest: +SKIP
    >>> model.predict(features).columns.tolist()  # doctest: +SKIP
    ['customer_id', 'effect']
    """

    Config = UpliftConfig
    config: UpliftConfig

    @property
    def title(self) -> str:
        return KINDS[self.config.kind]

    def _fit(self, features: pd.DataFrame, treated: np.ndarray, outcome: np.ndarray) -> None:
        treated = np.asarray(treated, bool)
        if treated.all() or not treated.any():
            raise ValueError("an uplift model needs both treated and control customers")
        self.spec_ = FeatureSpec.from_frame(features, feature_catalogue(FeaturesConfig()))
        x = self.spec_.matrix(features)
        self.boosters_, self.propensity_ = fit_boosters(self.config.kind, self.config.learner, x, treated,
                                                        np.asarray(outcome, "float64"), self.config.binary,
                                                        self.spec_.categorical)

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Return the score per row (the estimated effect; for the baselines their targeting score)."""
        self.check_fitted()
        x = self.spec_.matrix(features)
        return effect(self.config.kind, self.boosters_, self.propensity_, x, self.config.binary,
                      self.config.learner.seed)

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Return customer_id and effect (the expected extra outcome if this customer is treated)."""
        return pd.DataFrame({C.CUSTOMER_ID: features[C.CUSTOMER_ID].astype(str).to_numpy(),
                             "effect": self.score(features)})

    def _save_state(self, path: Path) -> dict[str, Any]:
        self.spec_.save(path)
        for role, booster in self.boosters_.items():
            booster.save_model(str(path / f"{role}.txt"))
        return {"propensity": self.propensity_, "boosters": sorted(self.boosters_), "model_source": self.config.kind}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self.spec_ = FeatureSpec.load(path)
        self.propensity_ = float(state["propensity"])
        self.boosters_ = {role: lgb.Booster(model_file=str(path / f"{role}.txt")) for role in state["boosters"]}
