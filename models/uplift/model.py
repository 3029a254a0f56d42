"""UpliftModel: one learner (T, X, class transformation, or a baseline) with the model life cycle of ``models.base``.

Saved as plain files: model.json, features.json (the inputs and categorical levels) and one LightGBM text model per
booster, so it is logged and loaded through ``models.inference.pyfunc`` like every other model.

A registered campaign model answers two questions a marketer asks of an offer: how much more likely is this
customer to order, and how much more will they spend. ``predict`` gives both:

- ``extra_order_probability``: the effect itself when the model was chosen on ``ordered``; otherwise a
  *companion* of the same kind fitted on ``ordered`` in the same window (saved in a sub-folder);
- ``extra_revenue``: the effect itself when the model was chosen on ``revenue``; otherwise the extra chance of an
  order times what an extra order is worth for this customer (a LightGBM regression of the window's revenue per
  order on the customers who ordered, ``with_order_value``). Why not a second
  uplift model on revenue: on the simulated demo campaign (``benchmarks/uplift.py``) T-, X- and
  transformed-outcome learners fitted on revenue correlate 0.09-0.38 with the true revenue effect and their Qini on
  revenue is inside the noise, because what customers would spend anyway drowns the offer's effect; the product
  (correlation 0.72) keeps the well-measured part, the chance of an order.
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
from models.uplift.learners import KINDS, Kind, LearnerConfig, effect, fit_boosters, train_booster


def registered_name(campaign: str) -> str:
    """Return the registered model name of a campaign's uplift model (``uplift_<campaign>``)."""
    return f"uplift_{campaign}"


class UpliftConfig(ModelConfig):
    kind: Kind = "t"
    binary: bool = True  # the outcome is 0/1 (ordered, visited); False for revenue
    learner: LearnerConfig = LearnerConfig()
    outcome: str = "ordered"  # what the effect is on: ordered, revenue or visited


EXTRA_ORDER, EXTRA_REVENUE = "extra_order_probability", "extra_revenue"


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
        x = self._matrix(features)
        self.boosters_, self.propensity_ = fit_boosters(self.config.kind, self.config.learner, x, treated,
                                                        np.asarray(outcome, "float64"), self.config.binary,
                                                        self.spec_.categorical)
        self.companions_: dict[str, UpliftModel] = {}
        self.value_: lgb.Booster | None = None

    def with_companion(self, model: UpliftModel) -> UpliftModel:
        """Attach a fitted model of another outcome (its ``config.outcome``); returns self."""
        self.check_fitted()
        model.check_fitted()
        if model.config.outcome == self.config.outcome:
            raise ValueError(f"a companion must model another outcome than {self.config.outcome!r}")
        self.companions_[model.config.outcome] = model
        return self

    def with_order_value(self, features: pd.DataFrame, orders: np.ndarray, revenue: np.ndarray) -> UpliftModel:
        """Learn what an order in the window is worth per customer (a regression of the net revenue per order on the
        customers, of both groups, who ordered); returns self.

        Not scaled to the campaign's own treated-minus-control revenue per extra order: that ratio of two noisy
        differences moved the mean extra revenue 2x away from the truth on a 5,000-customer simulated campaign,
        while the regression's level stayed within 10-15% of it (the offer's discount is what it misses).
        """
        self.check_fitted()
        n, rev = np.asarray(orders, "float64"), np.asarray(revenue, "float64")
        buyers = n > 0
        if buyers.sum() < self.config.learner.min_data_in_leaf:
            raise ValueError(f"only {int(buyers.sum())} customers ordered in the window; too few to learn what an "
                             "order is worth")
        x = self._matrix(features)[buyers]
        self.value_ = train_booster(self.config.learner, x, rev[buyers] / n[buyers], False, self.spec_.categorical)
        return self

    def _matrix(self, features: pd.DataFrame) -> np.ndarray:
        """Return the model's inputs, rounded to 1e-6: DuckDB's parallel sums differ run to run in the 15th digit,
        and one such difference on a LightGBM bin edge changed a fitted model (and its Qini in the 4th decimal)."""
        return np.round(self.spec_.matrix(features), 6)

    def score(self, features: pd.DataFrame) -> np.ndarray:
        """Return the score per row (the estimated effect; for the baselines their targeting score)."""
        self.check_fitted()
        x = self._matrix(features)
        return effect(self.config.kind, self.boosters_, self.propensity_, x, self.config.binary,
                      self.config.learner.seed)

    def baseline(self, features: pd.DataFrame) -> np.ndarray | None:
        """Return the expected outcome without the treatment per row (the control model), or None without one."""
        self.check_fitted()
        if "m0" not in self.boosters_:
            return None
        return np.asarray(self.boosters_["m0"].predict(self._matrix(features)), dtype="float64")

    def predict(self, features: pd.DataFrame) -> pd.DataFrame:
        """Return customer_id, effect (the expected extra outcome if this customer is treated) and, when the model
        can say them, extra_order_probability and extra_revenue (see the module's docstring)."""
        out = pd.DataFrame({C.CUSTOMER_ID: features[C.CUSTOMER_ID].astype(str).to_numpy(),
                            "effect": self.score(features)})
        if self.config.outcome == "ordered":
            out[EXTRA_ORDER] = out["effect"]
        elif "ordered" in self.companions_:
            out[EXTRA_ORDER] = self.companions_["ordered"].score(features)
        if self.config.outcome == "revenue":
            out[EXTRA_REVENUE] = out["effect"]
        elif EXTRA_ORDER in out and self.value_ is not None:
            value = np.clip(self.value_.predict(self._matrix(features)), 0.0, None)
            out[EXTRA_REVENUE] = out[EXTRA_ORDER] * value
        return out

    def _save_state(self, path: Path) -> dict[str, Any]:
        self.spec_.save(path)
        for role, booster in self.boosters_.items():
            booster.save_model(str(path / f"{role}.txt"))
        for outcome, companion in self.companions_.items():
            companion.save(path / f"companion_{outcome}")
        if self.value_ is not None:
            self.value_.save_model(str(path / "order_value.txt"))
        return {"order_value": self.value_ is not None,
                "propensity": self.propensity_,
                "boosters": sorted(self.boosters_), "model_source": self.config.kind,
                "companions": sorted(self.companions_)}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self.spec_ = FeatureSpec.load(path)
        self.propensity_ = float(state["propensity"])
        self.boosters_ = {role: lgb.Booster(model_file=str(path / f"{role}.txt")) for role in state["boosters"]}
        self.companions_ = {outcome: UpliftModel.load(path / f"companion_{outcome}")
                            for outcome in state.get("companions", [])}
        self.value_ = lgb.Booster(model_file=str(path / "order_value.txt")) if state.get("order_value") else None
