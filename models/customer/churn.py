"""ChurnModel: probability that a customer places no purchase order in the horizon (LightGBM, calibrated).

The calibrated classifier shape lives here too (``LgbmClassifier``), since GoldenModel is the same model
with another target. Training rows are (customer, cutoff) pairs from several backtest windows. A share of
customers (all their windows) is held out: LightGBM early-stops on it, and the calibrator (isotonic with
enough rows, Platt otherwise) is fitted on its predictions, never on the holdout window the pipeline scores.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pydantic import Field

from features import columns as C
from models.customer.base import (
    CHURN,
    CHURN_PROBABILITY,
    Calibrator,
    CustomerModel,
    FeatureSpec,
    LgbmConfig,
    catalogue_for,
    group_split,
    importance_frame,
    load_booster,
    train_booster,
)
from models.customer.baselines import BTYD_FEATURES
from models.customer.reasons import top_reasons

BOOSTER_FILE = "booster.txt"
CALIBRATOR_FILE = "calibrator.json"


class ClassifierConfig(LgbmConfig):
    """LightGBM settings plus how the probabilities are calibrated."""

    calibration: Literal["auto", "isotonic", "platt", "none"] = Field(
        "auto", description="auto: isotonic with enough validation rows (min_isotonic_rows), else Platt.")
    min_isotonic_rows: int = Field(2000, ge=10)


# directions known in advance: a longer time since the last order never lowers the churn risk, more orders and a
# higher P(alive) never raise it (golden and value get the opposite signs)
CHURN_MONOTONE = {"days_since_last_order": 1, "bgnbd_p_alive": -1, "orders": -1, "orders_365d": -1}
# value and golden also never fall as BG/NBD x Gamma-Gamma's expected value grows: the trees refine the baseline's
# order at the top of the list instead of reshuffling it
VALUE_MONOTONE = {**{name: -sign for name, sign in CHURN_MONOTONE.items()}, "bg_value": 1}


class ChurnConfig(ClassifierConfig):
    """The churn model's settings: the classifier's, with the churn directions as monotone constraints."""

    monotone: dict[str, int] = Field(default_factory=lambda: dict(CHURN_MONOTONE))


class GoldenConfig(ClassifierConfig):
    """The golden model's settings: the classifier's, with the value directions as monotone constraints, and how its
    list is ranked (see ``models.customer.golden``)."""

    monotone: dict[str, int] = Field(default_factory=lambda: dict(VALUE_MONOTONE))
    ranking: Literal["stacked", "classifier"] = Field(
        "stacked", description="stacked: the classifier's log-odds plus a Tweedie revenue booster that starts from "
        "BG/NBD x Gamma-Gamma's expected value, each standardised, then calibrated; classifier: the classifier alone.")
    tweedie_variance_power: float = Field(1.5, gt=1, lt=2, description="Of the stacked revenue booster.")


class LgbmClassifier(CustomerModel):
    """A calibrated LightGBM binary classifier of one label column; subclasses set ``target`` and ``outputs``."""

    Config = ClassifierConfig
    config: ClassifierConfig
    target: ClassVar[str] = ""

    spec_: FeatureSpec
    booster_: Any
    calibrator_: Calibrator
    importance_: pd.DataFrame

    def _training_rows(self, inputs: pd.DataFrame, labels: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Set the feature spec; return the input matrix, the target and the validation mask."""
        self.spec_ = FeatureSpec.from_frame(inputs, catalogue_for(self.metadata_), extra=BTYD_FEATURES)
        y = labels[self.target].to_numpy(dtype="float64")
        if len(np.unique(y)) < 2:
            raise ValueError(f"every training row has {self.target} = {y[0] if len(y) else '?'}; a classifier needs "
                             "both outcomes (use more or longer windows)")
        return self.spec_.matrix(inputs), y, group_split(inputs[C.CUSTOMER_ID], self.config.validation_share,
                                                         self.config.seed)

    def _fit(self, inputs: pd.DataFrame, labels: pd.DataFrame) -> None:
        cfg = self.config
        x, y, valid = self._training_rows(inputs, labels)
        self.booster_ = train_booster(cfg, {"objective": "binary"}, x, y, valid, self.spec_.categorical,
                                      self.spec_.columns)
        raw = self.booster_.predict(x[valid])
        self.calibrator_ = (Calibrator() if cfg.calibration == "none"
                            else Calibrator.fit(raw, y[valid], cfg.calibration, cfg.min_isotonic_rows))
        self.importance_ = importance_frame(self.booster_, self.spec_.columns)

    def _predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        raw = self.booster_.predict(self.spec_.matrix(inputs))
        return pd.DataFrame({self.outputs[0]: self.calibrator_.apply(raw)})

    def _reasons(self, inputs: pd.DataFrame, k: int, direction: str) -> list[list[Any]]:
        contributions = self.booster_.predict(self.spec_.matrix(inputs), pred_contrib=True)
        return top_reasons(contributions, inputs, self.spec_.columns, self.spec_.phrases, k, direction)

    def _save_state(self, path: Path) -> dict[str, Any]:
        self.booster_.save_model(str(path / BOOSTER_FILE))
        self.spec_.save(path)
        (path / CALIBRATOR_FILE).write_text(json.dumps(self.calibrator_.to_dict()))
        return {**self._common_state(), "target": self.target}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self._load_common(state)
        self.booster_ = load_booster(path / BOOSTER_FILE)
        self.spec_ = FeatureSpec.load(path)
        self.calibrator_ = Calibrator.from_dict(json.loads((path / CALIBRATOR_FILE).read_text()))
        self.importance_ = importance_frame(self.booster_, self.spec_.columns)


class ChurnModel(LgbmClassifier):
    """P(no purchase order in ``[cutoff, cutoff + horizon)``), calibrated; reasons explain the risk.

    Examples
    --------
    >>> model = ChurnModel(n_estimators=200).fit(features, labels, horizon_days=90)  # doctest: +SKIP
    >>> model.predict(features_now).columns.tolist()  # doctest: +SKIP
    ['customer_id', 'churn_probability']
    """

    Config = ChurnConfig
    config: ChurnConfig
    target = CHURN
    outputs = (CHURN_PROBABILITY,)
