"""ValueModel: net revenue and purchase orders expected in the horizon, and the days to the next order.

Two LightGBM regressors on the same features: revenue with a Tweedie loss (most customers spend nothing in a
horizon, a few spend a lot: a point mass at zero plus a skewed tail, which Tweedie with power in (1, 2) models)
and orders with a Poisson loss (counts). The revenue booster starts from BG/NBD x Gamma-Gamma's expected value
(its log is the booster's offset; ``start_from_bgnbd``) and learns a correction of it, with a monotone constraint
on that value: the top of the list starts in the baseline's order. Tweedie needs non-negative targets, so a
horizon whose net revenue is negative (returns exceed purchases) trains as 0. The days to the next order come from
a third, conditional regressor: trained only on the rows that did order in their horizon, with an L1 loss (the
median wait), on the days from the cutoff to that order; predictions are clipped to [0, horizon], so never a date
in the past. Whether the customer orders at all is the churn model's job (scores show a date only when it is
likely). With too few ordering rows the median Poisson wait at the expected order rate stands in
(``next_order_days``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from features import columns as C
from models.customer.base import (
    EXPECTED_ORDERS,
    EXPECTED_VALUE,
    NEXT_ORDER_DAYS,
    ORDERS,
    VALUE,
    CustomerModel,
    FeatureSpec,
    LgbmConfig,
    catalogue_for,
    group_split,
    importance_frame,
    load_booster,
    next_order_days,
    train_booster,
)
from models.customer.baselines import BTYD_FEATURES, log_bgnbd_value
from models.customer.churn import VALUE_MONOTONE
from models.customer.reasons import top_reasons

REVENUE_FILE = "revenue_booster.txt"
ORDERS_FILE = "orders_booster.txt"
NEXT_FILE = "next_order_booster.txt"
MIN_NEXT_ROWS = 50  # ordering rows the conditional next-order booster needs


class ValueConfig(LgbmConfig):
    """LightGBM settings plus the Tweedie variance power of the revenue model."""

    tweedie_variance_power: float = Field(1.5, gt=1, lt=2, description="Near 1: Poisson-like; near 2: gamma-like.")
    monotone: dict[str, int] = Field(default_factory=lambda: dict(VALUE_MONOTONE))
    start_from_bgnbd: bool = Field(True, description="The revenue booster learns a correction of BG/NBD x "
                                   "Gamma-Gamma's expected value (its log as the offset), not of the mean.")


class ValueModel(CustomerModel):
    """Expected net revenue (Tweedie) and orders (Poisson) in ``[cutoff, cutoff + horizon)``.

    Reasons explain the revenue estimate: what raised or lowered it against the average customer.
    """

    Config = ValueConfig
    config: ValueConfig
    outputs = (EXPECTED_VALUE, EXPECTED_ORDERS, NEXT_ORDER_DAYS)

    spec_: FeatureSpec
    revenue_: Any
    orders_: Any
    next_: Any  # the conditional next-order booster, or None
    importance_: pd.DataFrame
    offset_fill_: float | None  # the revenue a row without BG/NBD's value starts from; None: no offset

    def _fit(self, inputs: pd.DataFrame, labels: pd.DataFrame) -> None:
        cfg = self.config
        self.spec_ = FeatureSpec.from_frame(inputs, catalogue_for(self.metadata_), extra=BTYD_FEATURES)
        x = self.spec_.matrix(inputs)
        valid = group_split(inputs[C.CUSTOMER_ID], cfg.validation_share, cfg.seed)
        revenue = np.clip(labels[VALUE].to_numpy(dtype="float64"), 0.0, None)
        orders = labels[ORDERS].to_numpy(dtype="float64")
        if not (revenue > 0).any():
            raise ValueError("no training row has revenue in its horizon; use more or longer windows")
        tweedie = {"objective": "tweedie", "tweedie_variance_power": cfg.tweedie_variance_power}
        self.offset_fill_ = float(revenue.mean()) if cfg.start_from_bgnbd else None
        self.revenue_ = train_booster(cfg, tweedie, x, revenue, valid, self.spec_.categorical, self.spec_.columns,
                                      offset=self._offset(inputs))
        self.orders_ = train_booster(cfg, {"objective": "poisson"}, x, orders, valid, self.spec_.categorical,
                                     self.spec_.columns)
        self.next_ = self._fit_next(x, labels, valid)
        self.importance_ = importance_frame(self.revenue_, self.spec_.columns)

    def _fit_next(self, x: np.ndarray, labels: pd.DataFrame, valid: np.ndarray) -> Any:
        """Return the L1 booster of days to the next order on the rows that ordered (None with too few)."""
        if NEXT_ORDER_DAYS not in labels.columns:
            return None
        days = labels[NEXT_ORDER_DAYS].to_numpy(dtype="float64")
        ordered = np.isfinite(days)
        if ordered[~valid].sum() < MIN_NEXT_ROWS or ordered[valid].sum() < MIN_NEXT_ROWS // 5:
            return None
        cfg = self.config.model_copy(update={"monotone": {}})  # the value directions say nothing about timing
        return train_booster(cfg, {"objective": "regression_l1"}, x[ordered], days[ordered], valid[ordered],
                             self.spec_.categorical, self.spec_.columns)

    def _offset(self, inputs: pd.DataFrame) -> np.ndarray | None:
        return None if self.offset_fill_ is None else log_bgnbd_value(inputs, self.offset_fill_)

    def _revenue(self, inputs: pd.DataFrame, x: np.ndarray) -> np.ndarray:
        """Return the expected revenue: the booster's correction applied to its start (BG/NBD's value or the mean)."""
        offset = self._offset(inputs)
        if offset is None:
            return self.revenue_.predict(x)
        return np.exp(self.revenue_.predict(x, raw_score=True) + offset)

    def _predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        x = self.spec_.matrix(inputs)
        orders = self.orders_.predict(x)
        if self.next_ is not None:
            days = np.clip(self.next_.predict(x), 0.0, float(self.horizon_days_))
        else:
            days = next_order_days(orders, self.horizon_days_)
        return pd.DataFrame({EXPECTED_VALUE: self._revenue(inputs, x), EXPECTED_ORDERS: orders,
                             NEXT_ORDER_DAYS: days})

    def _reasons(self, inputs: pd.DataFrame, k: int, direction: str) -> list[list[Any]]:
        contributions = self.revenue_.predict(self.spec_.matrix(inputs), pred_contrib=True)
        return top_reasons(contributions, inputs, self.spec_.columns, self.spec_.phrases, k, direction)

    def _save_state(self, path: Path) -> dict[str, Any]:
        self.revenue_.save_model(str(path / REVENUE_FILE))
        self.orders_.save_model(str(path / ORDERS_FILE))
        if self.next_ is not None:
            self.next_.save_model(str(path / NEXT_FILE))
        self.spec_.save(path)
        return {**self._common_state(), "offset_fill": self.offset_fill_}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self._load_common(state)
        self.offset_fill_ = state.get("offset_fill")  # absent in models saved before the offset: none
        self.revenue_ = load_booster(path / REVENUE_FILE)
        self.orders_ = load_booster(path / ORDERS_FILE)
        self.next_ = load_booster(path / NEXT_FILE) if (path / NEXT_FILE).exists() else None
        self.spec_ = FeatureSpec.load(path)
        self.importance_ = importance_frame(self.revenue_, self.spec_.columns)
