"""A customer model's inputs as of a cutoff: the features its config asks for plus the baselines' inputs.

Training (every backtest window) and scoring (the service, the batch command) build inputs here, so a model
sees exactly the columns at scoring that it saw in training. Nothing reads a row at or after the cutoff.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import ibis
import pandas as pd

from features import columns as C
from features.btyd.fitters import rfm_summary
from features.data.reader import Shop
from features.families.build import FeatureFrame, build_features
from features.families.catalogue import feature_catalogue
from features.families.config import FeaturesConfig
from features.orders import millionths, money_sum, orders_before, purchases_before, rows_before
from models.customer.base import ORDERS, VALUE, CustomerModel
from models.customer.baselines import (
    BTYD_COLUMNS,
    LAST_PERIOD_ORDERS,
    LAST_PERIOD_REVENUE,
    BaselineConfig,
    with_btyd_features,
)


def window_totals(shop: Shop, start: datetime, end: datetime) -> pd.DataFrame:
    """Return per customer with activity in ``[start, end)``: ``value`` (net revenue), ``orders`` (purchase orders)
    and ``first_order`` (first purchase order's timestamp); reads no row at or after ``end``."""
    tx = shop.transactions
    lines = rows_before(tx, end)
    lines = lines.filter(lines[C.TIMESTAMP] >= ibis.timestamp(start))
    # exact sums: the golden label is a cut of these, and a last bit that moved would move a customer across it
    revenue = lines.group_by(C.CUSTOMER_ID).aggregate(**{VALUE: money_sum(millionths(lines[C.REVENUE]))})
    orders = orders_before(tx, end)
    orders = orders.filter(orders.is_purchase & (orders[C.TIMESTAMP] >= ibis.timestamp(start)))
    counts = orders.group_by(C.CUSTOMER_ID).aggregate(**{ORDERS: orders.count().cast("float64"),
                                                         "first_order": orders[C.TIMESTAMP].min()})
    joined = revenue.outer_join(counts, revenue[C.CUSTOMER_ID] == counts[C.CUSTOMER_ID])
    frame = joined.select(
        ibis.coalesce(revenue[C.CUSTOMER_ID], counts[C.CUSTOMER_ID]).cast("string").name(C.CUSTOMER_ID),
        revenue[VALUE].fill_null(0.0).name(VALUE), counts[ORDERS].fill_null(0.0).name(ORDERS),
        counts.first_order.name("first_order"),
    ).execute()
    return frame.set_index(C.CUSTOMER_ID)


def baseline_inputs(shop: Shop, cutoff: datetime, horizon_days: int, unit_days: float) -> pd.DataFrame:
    """Return the baselines' inputs per customer: last period's revenue and orders, and the BG/NBD summary."""
    last = window_totals(shop, cutoff - timedelta(days=horizon_days), cutoff)
    orders = purchases_before(shop.transactions, cutoff).select(C.CUSTOMER_ID, C.TIMESTAMP, C.REVENUE).execute()
    orders[C.CUSTOMER_ID] = orders[C.CUSTOMER_ID].astype(str)
    summary = rfm_summary(orders, cutoff, unit_days)
    summary.columns = list(BTYD_COLUMNS)
    summary[LAST_PERIOD_REVENUE] = last[VALUE].reindex(summary.index).fillna(0.0).to_numpy()
    summary[LAST_PERIOD_ORDERS] = last[ORDERS].reindex(summary.index).fillna(0.0).to_numpy()
    summary.index = summary.index.astype(str)
    return summary.rename_axis(C.CUSTOMER_ID).reset_index()


def model_inputs(shop: Shop, model: CustomerModel, cutoff: datetime, cache: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Return a model's inputs as of the cutoff: features with its config plus the baselines' inputs."""
    features_cfg = model.metadata_.get("features_config", {})
    key = json.dumps([features_cfg, model.horizon_days_], sort_keys=True)
    if key not in cache:
        cfg = FeaturesConfig(**features_cfg)
        built = build_features(shop, cutoff, cfg)
        _refuse_lost_families(model, built, cfg)
        extra = baseline_inputs(shop, cutoff, model.horizon_days_, float(model.metadata_.get("baseline_unit_days", 7)))
        merged = built.frame.merge(extra, on=C.CUSTOMER_ID, how="left", validate="one_to_one")
        unit = BaselineConfig(unit_days=float(model.metadata_.get("baseline_unit_days", 7)))
        cache[key] = with_btyd_features(merged, model.horizon_days_, unit)
    return cache[key]


def _refuse_lost_families(model: CustomerModel, built: FeatureFrame, cfg: FeaturesConfig) -> None:
    """Refuse when the shop no longer has a table the model learnt from, naming the family and what to do.

    Without this the model would fail deep in LightGBM on a list of column names a shop owner cannot act on.
    """
    spec = getattr(model, "spec_", None)
    if spec is None:  # the baselines read only the always-present BG/NBD inputs
        return
    missing = [c for c in spec.columns if c not in built.frame.columns]
    catalogue = feature_catalogue(cfg)
    lost = {catalogue.get(c) for c in missing}
    families = sorted({f.family for f in lost if f is not None and f.family in built.left_out})
    if not families:
        return
    why = "; ".join(f"{name}: {built.left_out[name]}" for name in families)
    raise ValueError(f"the {type(model).__name__.removesuffix('Model').lower()} champion was trained with feature "
                     f"families this shop no longer has ({why}); add the missing data back, or retrain on this "
                     "shop with `retention train` so the models learn from what it has")
