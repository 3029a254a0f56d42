"""RFM family: recency, frequency, money, tenure, windowed orders and revenue, and the 90-day trend.

One row per customer with at least one purchase order before the cutoff (a return-only order is not a
visit to buy, so a customer whose only order is a return is not in the population; its refund still nets
revenue for customers who are). Days are fractional (``timestamp`` may carry a time of day).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import RFM_DOC  # noqa: F401 (re-exported)
from features.orders import AsOf, as_money, as_timestamp, orders_of

SECONDS_PER_DAY = 86_400.0



def days_since(timestamp: ir.TimestampValue, as_of: AsOf) -> ir.FloatingValue:
    """Return the fractional days from ``timestamp`` to the cutoff (positive for rows before it)."""
    return (as_timestamp(as_of).epoch_seconds() - timestamp.epoch_seconds()).cast("float64") / SECONDS_PER_DAY


def window_start(as_of: AsOf, days: int) -> ir.TimestampScalar:
    """Return the start of the window ``[cutoff - days, cutoff)``."""
    return as_timestamp(as_of) - ibis.interval(days=days)


def rfm_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                 orders: ir.Table | None = None) -> ir.Table:
    """Return the RFM family as an unexecuted Ibis table keyed by customer_id.

    Columns: days_since_last_order, days_since_first_order (tenure), orders, net_revenue, avg_order_value,
    orders_{N}d and revenue_{N}d for each window, orders_trend_{T}d and revenue_trend_{T}d (last T days
    minus the T days before). Revenue is net: return lines count against it.

    Parameters
    ----------
    transactions
        The shop's normalised transactions table (``Shop.transactions``).
    as_of
        The cutoff; only rows with ``timestamp < as_of`` are read.
    cfg
        Windows and trend length; defaults to ``FeaturesConfig()``.
    orders
        ``orders_before(transactions, as_of)`` when the caller has it already (saves a pass over the lines).
    """
    cfg = cfg or FeaturesConfig()
    orders = orders_of(transactions, as_of, orders)
    bought = orders.is_purchase
    ts = orders[C.TIMESTAMP]
    aggs: dict[str, ir.Value] = {
        "last_order": ts.max(where=bought),
        "first_order": ts.min(where=bought),
        "orders": orders.count(where=bought).cast("float64"),
        "net_revenue": orders.revenue_micros.sum(),
    }
    for days in sorted({*cfg.windows_days, cfg.trend_days, 2 * cfg.trend_days}):
        since = ts >= window_start(as_of, days)
        aggs[f"orders_{days}d"] = orders.count(where=bought & since).cast("float64")
        aggs[f"revenue_{days}d"] = orders.revenue_micros.sum(where=since).fill_null(0)
    per_customer = orders.group_by(C.CUSTOMER_ID).aggregate(**aggs)
    per_customer = per_customer.filter(per_customer.orders > 0)

    t = cfg.trend_days
    recent_orders, recent_revenue = per_customer[f"orders_{t}d"], per_customer[f"revenue_{t}d"]
    before_orders = per_customer[f"orders_{2 * t}d"] - recent_orders
    before_revenue = per_customer[f"revenue_{2 * t}d"] - recent_revenue
    features = {
        C.CUSTOMER_ID: per_customer[C.CUSTOMER_ID],
        "days_since_last_order": days_since(per_customer.last_order, as_of),
        "days_since_first_order": days_since(per_customer.first_order, as_of),
        "orders": per_customer.orders,
        "net_revenue": as_money(per_customer.net_revenue),
        "avg_order_value": as_money(per_customer.net_revenue) / per_customer.orders,
        **{f"orders_{d}d": per_customer[f"orders_{d}d"] for d in cfg.windows_days},
        **{f"revenue_{d}d": as_money(per_customer[f"revenue_{d}d"]) for d in cfg.windows_days},
        f"orders_trend_{t}d": recent_orders - before_orders,
        f"revenue_trend_{t}d": as_money(recent_revenue - before_revenue),
    }
    return per_customer.select(**features)
