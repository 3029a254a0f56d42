"""Backtest windows: which cutoffs train, which one is the holdout, and the data of each window.

With scoring cutoff ``S``, horizon ``H``, ``n`` windows ``D`` days apart:

- holdout: the last complete window, cutoff ``S - H`` (its horizon ends at ``S``);
- evaluation fit: cutoffs ``S - 2H - kD`` (k = 0..n-1), whose horizons end on or before the holdout cutoff, so
  no training label reads a day of the holdout's horizon;
- scoring fit: the same one horizon later, cutoffs ``S - H - kD``, whose horizons end on or before ``S``.

A cutoff with fewer than ``min_window_customers`` customers before it is dropped. When no evaluation cutoff is
left the history is too short for LightGBM at this horizon and the pipeline falls back to BG/NBD.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pandas as pd

from features import columns as C
from features.data.reader import Shop
from features.families.build import FeatureFrame, build_features
from features.families.config import FeaturesConfig
from models.customer.baselines import with_btyd_features
from models.inference.inputs import baseline_inputs
from training.config import RetentionConfig, TrainingConfig
from training.labels import make_labels

logger = logging.getLogger(__name__)


class NotEnoughDataError(ValueError):
    """The shop has too few customers or too short a history to train; the message says how much more."""


@dataclass(frozen=True)
class WindowPlan:
    """The cutoffs of one training run."""

    scoring_cutoff: datetime
    horizon_days: int
    holdout_cutoff: datetime
    eval_cutoffs: tuple[datetime, ...]
    final_cutoffs: tuple[datetime, ...]

    @property
    def fallback(self) -> bool:
        """True when no complete training window exists before the holdout: LightGBM cannot be evaluated."""
        return not self.eval_cutoffs

    def describe(self) -> str:
        def days(cs: tuple[datetime, ...]) -> str:
            return ", ".join(f"{c:%Y-%m-%d}" for c in cs) or "none"

        return (f"horizon {self.horizon_days} days; scoring cutoff {self.scoring_cutoff:%Y-%m-%d}; holdout cutoff "
                f"{self.holdout_cutoff:%Y-%m-%d}; evaluation training cutoffs {days(self.eval_cutoffs)}; "
                f"scoring training cutoffs {days(self.final_cutoffs)}")


def check_enough_data(customers: int, first_order: datetime, scoring_cutoff: datetime, cfg: TrainingConfig) -> None:
    """Refuse (NotEnoughDataError) with fewer than ``min_customers`` buyers or history under the minimum."""
    problems = []
    if customers < cfg.min_customers:
        problems.append(f"{customers:,} customers have a purchase before {scoring_cutoff:%Y-%m-%d}; training needs "
                        f"at least {cfg.min_customers:,} ({cfg.min_customers - customers:,} more)")
    history = (scoring_cutoff - first_order).total_seconds() / 86_400.0
    needed = cfg.min_history_horizons * cfg.horizon_days
    if history < needed:
        problems.append(f"the history is {history:.0f} days ({first_order:%Y-%m-%d} to {scoring_cutoff:%Y-%m-%d}); "
                        f"a {cfg.horizon_days}-day horizon needs {needed:.0f} days ({cfg.min_history_horizons:g} "
                        f"horizons), {needed - history:.0f} more days, or a horizon of at most "
                        f"{int(history // cfg.min_history_horizons)} days")
    if problems:
        raise NotEnoughDataError("not enough data to train: " + "; ".join(problems)
                                 + " (thresholds: training.min_customers, training.min_history_horizons)")


def plan_windows(scoring_cutoff: datetime, first_order: datetime, cfg: TrainingConfig) -> WindowPlan:
    """Return the cutoffs (see the module docstring); cutoffs at or before the first order are dropped."""
    h, d = timedelta(days=cfg.horizon_days), timedelta(days=cfg.window_spacing_days)
    holdout = scoring_cutoff - h

    def series(last: datetime) -> tuple[datetime, ...]:
        return tuple(c for c in (last - k * d for k in range(cfg.n_windows)) if c > first_order)

    return WindowPlan(scoring_cutoff, cfg.horizon_days, holdout, series(holdout - h), series(holdout))


def features_config(cfg: RetentionConfig) -> FeaturesConfig:
    """Return the features config of a run: its BG/NBD feature looks one horizon ahead."""
    return cfg.features.model_copy(update={"bgnbd_horizon_days": cfg.training.horizon_days})



@dataclass
class Window:
    """One cutoff's data: model inputs (features and baseline inputs) and, when asked, labels, row-aligned."""

    cutoff: datetime
    inputs: pd.DataFrame
    labels: pd.DataFrame | None
    features: FeatureFrame


@dataclass
class WindowBuilder:
    """Builds (and caches) the data of each cutoff for one shop and config."""

    shop: Shop
    cfg: RetentionConfig
    cache: dict[tuple[datetime, bool], Window] = field(default_factory=dict)

    def window(self, cutoff: datetime, with_labels: bool = True) -> Window:
        key = (cutoff, with_labels)
        if key not in self.cache:
            self.cache[key] = self._build(cutoff, with_labels)
        return self.cache[key]

    def _build(self, cutoff: datetime, with_labels: bool) -> Window:
        t = self.cfg.training
        built = build_features(self.shop, cutoff, features_config(self.cfg))
        extra = baseline_inputs(self.shop, cutoff, t.horizon_days, self.cfg.models.baseline.unit_days)
        inputs = with_btyd_features(built.frame.merge(extra, on=C.CUSTOMER_ID, how="left", validate="one_to_one"),
                                    t.horizon_days, self.cfg.models.baseline)
        labels = None
        if with_labels:
            labels = make_labels(self.shop, cutoff, t.horizon_days, t.golden_share, t.golden_among)
            if len(labels) != len(inputs) or not labels[C.CUSTOMER_ID].isin(inputs[C.CUSTOMER_ID]).all():
                raise RuntimeError(f"features and labels at {cutoff:%Y-%m-%d} cover different customers")
            labels = labels.set_index(C.CUSTOMER_ID).loc[inputs[C.CUSTOMER_ID]].reset_index()
        logger.info("window %s: %d customers", f"{cutoff:%Y-%m-%d}", len(inputs))
        return Window(cutoff, inputs, labels, built)


def stacked(windows: list[Window]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the inputs and labels of several windows, one row per (customer, cutoff)."""
    inputs = pd.concat([w.inputs for w in windows], ignore_index=True)
    labels = pd.concat([w.labels for w in windows], ignore_index=True)
    return inputs, labels
