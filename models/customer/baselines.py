"""Baselines behind the CustomerModel interface: BG/NBD x Gamma-Gamma, recency alone, last period's revenue.

Every baseline returns the same outputs as the models together (churn and golden probabilities, expected
value and orders, days to the next order), so one evaluation table puts each metric next to each baseline.

- ``BgNbdBaseline``: BG/NBD expected orders and P(alive), times Gamma-Gamma mean spend, fitted on the
  orders before the cutoff (no labels); its next order is the customer's usual gap, like recency's. It is also
  the fallback when history is too short for LightGBM.
- ``RecencyBaseline``: days since the last order, mapped to each target by isotonic regression fitted on
  the training windows (the best a model can do with recency alone); its next order is "last order + the
  customer's usual gap" (the shop's median gap for one-time buyers), never before the cutoff.
- ``LastPeriodBaseline``: "the next horizon repeats the last one": revenue and orders of the previous
  ``horizon`` days as they are; churn and golden probabilities mapped by isotonic regression.

Each is also a candidate champion: when one beats the LightGBM model on the holdout's gate metric the pipeline
registers it (refitted for scoring) and scores say so in ``model_source`` (``bgnbd``, ``recency_baseline``,
``last_period_baseline``; ``bgnbd_fallback`` when history was too short for LightGBM at all).

Inputs are the columns named below (``training.windows.baseline_inputs`` builds them) next to the features.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from features.analytics.segment_rules import GOLDEN_SHARE
from features.btyd.fitters import BetaGeoFitter, GammaGammaFitter
from models.base import ModelConfig
from models.customer.base import (
    CHURN,
    CHURN_PROBABILITY,
    EXPECTED_ORDERS,
    EXPECTED_VALUE,
    GOLDEN,
    GOLDEN_PROBABILITY,
    NEXT_ORDER_DAYS,
    ORDERS,
    VALUE,
    CustomerModel,
    next_order_days,
)
from models.customer.reasons import Reason, recency_reasons

DAYS_SINCE_LAST = "days_since_last_order"
USUAL_GAP = "mean_gap_days"  # the cadence feature: mean days between the customer's orders
LAST_PERIOD_REVENUE = "last_period_revenue"
LAST_PERIOD_ORDERS = "last_period_orders"
BTYD_COLUMNS = ("btyd_frequency", "btyd_recency", "btyd_T", "btyd_monetary")
BASELINE_OUTPUTS = (CHURN_PROBABILITY, GOLDEN_PROBABILITY, EXPECTED_VALUE, EXPECTED_ORDERS, NEXT_ORDER_DAYS)
STATE_FILE = "baseline.json"

logger = logging.getLogger(__name__)


class BaselineConfig(ModelConfig):
    """Settings of the baselines."""

    unit_days: float = Field(7.0, gt=0, description="Time unit of the BG/NBD summary columns (7 = weeks).")
    penalizer: float = Field(0.0, ge=0, description="L2 penalty of the BG/NBD and Gamma-Gamma fits.")
    golden_share: float = Field(GOLDEN_SHARE, gt=0, lt=1,
                                description="Share of customers the golden heuristic ranks top.")


class _Baseline(CustomerModel):
    """Shared plumbing: all outputs, state as one JSON file."""

    Config = BaselineConfig
    config: BaselineConfig
    outputs = BASELINE_OUTPUTS
    state_: dict[str, Any]

    def _save_state(self, path: Path) -> dict[str, Any]:
        (path / STATE_FILE).write_text(json.dumps(self.state_, indent=1))
        return self._common_state()

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        self._load_common(state)
        self.state_ = json.loads((path / STATE_FILE).read_text())


class BgNbdBaseline(_Baseline):
    """BG/NBD (expected orders, P(alive)) x Gamma-Gamma (spend per order), fitted at the cutoff without labels.

    ``churn_probability`` is 1 - P(at least one order in the horizon), taken as P(alive) x (1 - E[exp(-lambda t)])
    with the customer's posterior purchase rate; it ignores dropout inside the horizon, so it slightly
    understates churn. ``golden_probability`` is a heuristic, not a calibrated probability: P(order) scaled by
    the expected value over the value at the golden rank (capped at 1).
    """

    model_source = "bgnbd"
    needs_labels = False

    def _fit(self, inputs: pd.DataFrame, labels: pd.DataFrame | None) -> None:
        x, t_x, big_t, m = _summary(inputs)
        bg = BetaGeoFitter(penalizer=self.config.penalizer).fit(x, t_x, big_t)
        gg = GammaGammaFitter(penalizer=self.config.penalizer).fit(x, m)
        self.state_ = {"bgnbd": bg.to_dict(), "gamma_gamma": gg.to_dict(), USUAL_GAP: shop_gap(inputs)}

    def _predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        bg = BetaGeoFitter.from_dict(self.state_["bgnbd"])
        gg = GammaGammaFitter.from_dict(self.state_["gamma_gamma"])
        x, t_x, big_t, m = _summary(inputs)
        t = self.horizon_days_ / self.config.unit_days
        alive = bg.probability_alive(x, t_x, big_t)
        r, alpha = bg.params_["r"], bg.params_["alpha"]
        with np.errstate(invalid="ignore"):
            orders = bg.expected_orders(t, x, t_x, big_t)
        broken = ~np.isfinite(orders)
        if broken.any():  # hyp2f1 fails when a and b run into the millions (near-constant dropout)
            logger.warning("BG/NBD expected orders undefined for %d customers (a=%.3g, b=%.3g); using P(alive) x "
                           "rate x t, which ignores dropout within the horizon", broken.sum(), bg.params_["a"],
                           bg.params_["b"])
            orders = np.where(broken, alive * (r + x) / (alpha + big_t) * t, orders)
        buys = alive * (1.0 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x))
        value = orders * gg.expected_average_value(x, m)
        k = max(1, math.ceil(self.config.golden_share * len(value)))
        bar = float(np.sort(value)[::-1][k - 1]) if len(value) else 1.0
        golden = buys * np.clip(value / bar if bar > 0 else 1.0, 0.0, 1.0)
        # The Poisson wait at BG/NBD's rate misses by months (MAE ~120 days on CDNOW); the customer's own rhythm
        # is the better guess of when, BG/NBD stays the guess of whether.
        since = (big_t - t_x) * self.config.unit_days
        days = usual_gap_days(inputs, since, self.state_.get(USUAL_GAP), orders, self.horizon_days_)
        return pd.DataFrame({CHURN_PROBABILITY: 1.0 - buys, GOLDEN_PROBABILITY: golden, EXPECTED_VALUE: value,
                             EXPECTED_ORDERS: orders, NEXT_ORDER_DAYS: days})

    def _reasons(self, inputs: pd.DataFrame, k: int, direction: str) -> list[list[Reason]]:
        _, t_x, big_t, _ = _summary(inputs)
        return recency_reasons((big_t - t_x) * self.config.unit_days, inputs)


def shop_gap(inputs: pd.DataFrame) -> float | None:
    """Return the shop's median usual gap in days (what a one-time buyer is given), None without cadence."""
    if USUAL_GAP not in inputs.columns:
        return None
    gaps = inputs[USUAL_GAP].to_numpy(dtype="float64", na_value=np.nan)
    return float(np.nanmedian(gaps)) if np.isfinite(gaps).any() else None


def usual_gap_days(inputs: pd.DataFrame, since: np.ndarray, shop_gap_days: float | None, orders: np.ndarray,
                   horizon_days: int) -> np.ndarray:
    """Return last order + the customer's usual gap (the shop's median gap for one-time buyers), from the
    cutoff, at least 0; without the cadence features, the Poisson wait at the expected order rate."""
    if USUAL_GAP not in inputs.columns or shop_gap_days is None:
        return next_order_days(orders, horizon_days)
    usual = inputs[USUAL_GAP].to_numpy(dtype="float64", na_value=np.nan)
    return np.clip(np.where(np.isfinite(usual), usual, shop_gap_days) - np.asarray(since, dtype="float64"), 0.0, None)


class RecencyBaseline(_Baseline):
    """Days since the last order alone, mapped to each target by isotonic regression on the training windows."""

    model_source = "recency_baseline"

    def _fit(self, inputs: pd.DataFrame, labels: pd.DataFrame) -> None:
        signal = _column(inputs, DAYS_SINCE_LAST)
        self.state_ = {
            CHURN_PROBABILITY: _isotonic(signal, labels[CHURN], increasing=True),
            GOLDEN_PROBABILITY: _isotonic(signal, labels[GOLDEN], increasing=False),
            EXPECTED_VALUE: _isotonic(signal, labels[VALUE], increasing=False),
            EXPECTED_ORDERS: _isotonic(signal, labels[ORDERS], increasing=False),
        }
        self.state_[USUAL_GAP] = shop_gap(inputs)

    def _predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        signal = _column(inputs, DAYS_SINCE_LAST)
        out = pd.DataFrame({name: np.interp(signal, *self.state_[name]) for name in BASELINE_OUTPUTS[:4]})
        out[NEXT_ORDER_DAYS] = usual_gap_days(inputs, signal, self.state_.get(USUAL_GAP),
                                              out[EXPECTED_ORDERS].to_numpy(), self.horizon_days_)
        return out

    def _reasons(self, inputs: pd.DataFrame, k: int, direction: str) -> list[list[Reason]]:
        return recency_reasons(_column(inputs, DAYS_SINCE_LAST), inputs)


class LastPeriodBaseline(_Baseline):
    """The next horizon repeats the last: its revenue and orders as they were; probabilities by isotonic maps."""

    model_source = "last_period_baseline"

    def _fit(self, inputs: pd.DataFrame, labels: pd.DataFrame) -> None:
        self.state_ = {
            CHURN_PROBABILITY: _isotonic(_column(inputs, LAST_PERIOD_ORDERS), labels[CHURN], increasing=False),
            GOLDEN_PROBABILITY: _isotonic(_column(inputs, LAST_PERIOD_REVENUE), labels[GOLDEN], increasing=True),
        }

    def _predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        revenue, orders = _column(inputs, LAST_PERIOD_REVENUE), _column(inputs, LAST_PERIOD_ORDERS)
        return pd.DataFrame({
            CHURN_PROBABILITY: np.interp(orders, *self.state_[CHURN_PROBABILITY]),
            GOLDEN_PROBABILITY: np.interp(revenue, *self.state_[GOLDEN_PROBABILITY]),
            EXPECTED_VALUE: revenue, EXPECTED_ORDERS: orders,
            NEXT_ORDER_DAYS: next_order_days(orders, self.horizon_days_),
        })

    def _reasons(self, inputs: pd.DataFrame, k: int, direction: str) -> list[list[Reason]]:
        h = self.horizon_days_
        return [[Reason("reason.last_period", LAST_PERIOD_REVENUE, (("amount", r), ("n", o), ("h", h)))]
                for r, o in zip(_column(inputs, LAST_PERIOD_REVENUE), _column(inputs, LAST_PERIOD_ORDERS), strict=True)]


# BG/NBD x Gamma-Gamma outputs as model inputs: the model sees what BG/NBD sees and more. Each window fits them at
# its own cutoff without labels, so they are point-in-time; phrases as the feature catalogue writes them.
BTYD_FEATURES: dict[str, dict[str, str]] = {
    "bg_buy": {"phrase": "{value:.0%} likely to order in the next period (BG/NBD)", "unit": "share", "if_zero": ""},
    "bg_orders": {"phrase": "about {value:.1f} orders expected next period (BG/NBD)", "unit": "count",
                  "if_zero": ""},
    "bg_value": {"phrase": "expected to spend {value:,.2f} next period (BG/NBD x Gamma-Gamma)", "unit": "money",
                 "if_zero": ""},
    "gg_spend": {"phrase": "usually spends about {value:,.2f} per order", "unit": "money", "if_zero": ""},
}


def log_bgnbd_value(inputs: pd.DataFrame, fill: float) -> np.ndarray:
    """Return log(BG/NBD x Gamma-Gamma expected value) per row: where the revenue boosters start (their offset).

    A row without it (the column absent, or the fit failed at that cutoff) starts from ``fill`` (the training rows'
    mean revenue); values are floored at 0.01 so a customer BG/NBD gives up on stays finite in log space.
    """
    value = inputs["bg_value"].to_numpy(dtype="float64", na_value=np.nan) if "bg_value" in inputs.columns else \
        np.full(len(inputs), np.nan)
    return np.log(np.clip(np.where(np.isfinite(value), value, fill), 0.01, None))


def with_btyd_features(inputs: pd.DataFrame, horizon_days: int, cfg: BaselineConfig | None = None) -> pd.DataFrame:
    """Return ``inputs`` plus the BTYD_FEATURES columns, fitted on these rows (one cutoff) without labels.

    A fit that fails (too few repeat buyers at a young shop's first cutoffs) leaves the columns missing (NaN),
    which LightGBM treats as unknown rather than as a number.
    """
    out = inputs.copy()
    try:
        p = BgNbdBaseline(cfg or BaselineConfig()).fit(inputs, horizon_days=horizon_days).predict(inputs)
        orders = p[EXPECTED_ORDERS].to_numpy(dtype="float64")
        values = {"bg_buy": 1.0 - p[CHURN_PROBABILITY].to_numpy(dtype="float64"), "bg_orders": orders,
                  "bg_value": p[EXPECTED_VALUE].to_numpy(dtype="float64")}
        with np.errstate(divide="ignore", invalid="ignore"):
            values["gg_spend"] = np.where(orders > 0, values["bg_value"] / orders, np.nan)
    except Exception as exc:  # noqa: BLE001 -- any fitting failure means "unknown here", never a crash
        logger.warning("BG/NBD features left missing at this cutoff: %s", exc)
        values = {name: np.full(len(inputs), np.nan) for name in BTYD_FEATURES}
    for name, column in values.items():
        out[name] = column
    return out


def _column(inputs: pd.DataFrame, name: str) -> np.ndarray:
    if name not in inputs.columns:
        raise ValueError(f"baseline input column {name!r} is missing; build inputs with training.windows")
    return inputs[name].to_numpy(dtype="float64", na_value=np.nan)


def _summary(inputs: pd.DataFrame) -> tuple[np.ndarray, ...]:
    x, t_x, big_t, m = (_column(inputs, c) for c in BTYD_COLUMNS)
    return x, t_x, big_t, np.clip(m, 0.0, None)  # net spend can dip below zero with returns


def _isotonic(signal: np.ndarray, target: pd.Series, increasing: bool) -> tuple[list[float], list[float]]:
    """Fit isotonic regression of ``target`` on ``signal``; return its knots (x, y) for ``np.interp``."""
    from sklearn.isotonic import IsotonicRegression

    y = target.to_numpy(dtype="float64")
    keep = np.isfinite(signal)
    iso = IsotonicRegression(increasing=increasing, out_of_bounds="clip").fit(signal[keep], y[keep])
    return iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist()
