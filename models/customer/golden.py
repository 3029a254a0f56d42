"""GoldenModel: probability that a customer is golden in the horizon (top share of customers by net revenue).

A marketer acts on the top of the golden list (the top 10-20% of customers), and there the classifier alone ranked
no better than BG/NBD x Gamma-Gamma's expected value: the golden label is rare (the top 20% of the horizon's
buyers), so the classifier learns "who is very likely golden" and orders the rest of the top 20% loosely. The
default ``ranking: stacked`` therefore ranks by two boosters fitted on the same rows:

- the calibrated classifier's shape (``ChurnModel``'s LightGBM, on the ``golden`` label), in log-odds;
- a Tweedie revenue booster that starts from BG/NBD x Gamma-Gamma's expected value (its log as the offset) and
  learns a correction of it, so the baseline's order at the top is where it begins, not something to rediscover.

Each score is standardised on the validation customers and the two are summed; the calibrator (isotonic or Platt,
as for churn) maps the sum to P(golden) on the same validation customers. ``ranking: classifier`` keeps the
classifier alone. Reasons add the two boosters' per-feature contributions, each scaled like its score.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.customer.base import (
    GOLDEN,
    GOLDEN_PROBABILITY,
    VALUE,
    Calibrator,
    importance_frame,
    load_booster,
    train_booster,
)
from models.customer.baselines import log_bgnbd_value
from models.customer.churn import GoldenConfig, LgbmClassifier
from models.customer.reasons import top_reasons

REVENUE_FILE = "revenue_booster.txt"
STACK_FILE = "stack.json"


class GoldenModel(LgbmClassifier):
    """P(among the top share of customers by net revenue in ``[cutoff, cutoff + horizon)``), calibrated.

    Attributes
    ----------
    revenue_ : lightgbm.Booster or None
        The stacked Tweedie revenue booster (None with ``ranking: classifier``).
    stack_ : dict
        ``mean`` and ``sd`` of the two scores on the validation customers, and ``fill``: the log revenue a row
        without BG/NBD's expected value starts from.
    """

    Config = GoldenConfig
    config: GoldenConfig
    target = GOLDEN
    outputs = (GOLDEN_PROBABILITY,)

    revenue_: Any
    stack_: dict[str, Any]

    def _fit(self, inputs: pd.DataFrame, labels: pd.DataFrame) -> None:
        cfg = self.config
        if cfg.ranking == "classifier":
            super()._fit(inputs, labels)
            self.revenue_, self.stack_ = None, {}
            return
        x, y, valid = self._training_rows(inputs, labels)
        revenue = np.clip(labels[VALUE].to_numpy(dtype="float64"), 0.0, None)
        fill = float(revenue.mean()) if revenue.mean() > 0 else 1.0
        offset = log_bgnbd_value(inputs, fill)
        self.booster_ = train_booster(cfg, {"objective": "binary"}, x, y, valid, self.spec_.categorical,
                                      self.spec_.columns)
        tweedie = {"objective": "tweedie", "tweedie_variance_power": cfg.tweedie_variance_power}
        self.revenue_ = train_booster(cfg, tweedie, x, revenue, valid, self.spec_.categorical, self.spec_.columns,
                                      offset=offset)
        scores = self._scores(x[valid], offset[valid])
        self.stack_ = {"mean": scores.mean(axis=0).tolist(), "sd": np.maximum(scores.std(axis=0), 1e-9).tolist(),
                       "fill": fill}
        raw = self._stacked(x[valid], offset[valid])
        self.calibrator_ = (Calibrator() if cfg.calibration == "none"
                            else Calibrator.fit(raw, y[valid], cfg.calibration, cfg.min_isotonic_rows))
        self.importance_ = importance_frame(self.booster_, self.spec_.columns)

    def _scores(self, x: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Return the two scores per row: the classifier's log-odds and the log of the expected revenue."""
        log_odds = self.booster_.predict(x, raw_score=True)
        return np.column_stack([log_odds, self.revenue_.predict(x, raw_score=True) + offset])

    def _stacked(self, x: np.ndarray, offset: np.ndarray) -> np.ndarray:
        """Return the stacked score in (0, 1): the logistic of the sum of the standardised scores."""
        z = ((self._scores(x, offset) - np.asarray(self.stack_["mean"])) / np.asarray(self.stack_["sd"])).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-z))

    def _predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        if self.revenue_ is None:
            return super()._predict(inputs)
        raw = self._stacked(self.spec_.matrix(inputs), log_bgnbd_value(inputs, self.stack_["fill"]))
        return pd.DataFrame({self.outputs[0]: self.calibrator_.apply(raw)})

    def _reasons(self, inputs: pd.DataFrame, k: int, direction: str) -> list[list[Any]]:
        if self.revenue_ is None:
            return super()._reasons(inputs, k, direction)
        x = self.spec_.matrix(inputs)
        sd = self.stack_["sd"]
        contributions = (self.booster_.predict(x, pred_contrib=True) / sd[0]
                         + self.revenue_.predict(x, pred_contrib=True) / sd[1])
        return top_reasons(contributions, inputs, self.spec_.columns, self.spec_.phrases, k, direction)

    def _save_state(self, path: Path) -> dict[str, Any]:
        state = super()._save_state(path)
        if self.revenue_ is not None:
            self.revenue_.save_model(str(path / REVENUE_FILE))
            (path / STACK_FILE).write_text(json.dumps(self.stack_))
        return state

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        super()._load_state(path, state)
        stacked = (path / REVENUE_FILE).exists()
        self.revenue_ = load_booster(path / REVENUE_FILE) if stacked else None
        self.stack_ = json.loads((path / STACK_FILE).read_text()) if stacked else {}
