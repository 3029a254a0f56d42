"""Health of the customer base per month or week, each period computed only from data before its end.

Periods run from the one holding the first order to the one holding the cutoff; each is ``[period_start,
period_end)``, the last one cut at the cutoff (``complete`` is False then). Per period:

- ``new_customers``: first purchase order in the period; ``active_customers``: at least one purchase order;
- ``orders``: purchase orders (a return-only order is not one); ``revenue``: net revenue of every order in the
  period, refunds included; ``avg_check``: purchase orders' net revenue / orders;
  ``purchase_frequency``: orders / active customers;
- ``repeat_customer_share``: active customers with at least two purchases to date / active customers;
  ``repeat_revenue_share``: revenue of purchase orders that are not the customer's first / purchase revenue;
- from the segment snapshots (``features.analytics.segments``) at the period's start and end: ``customers_to_date``,
  ``churned_customers`` (at the end), ``churn_rate`` (customers not churned at the start who are churned at the
  end, over those not churned at the start; empty for the first period), ``reactivated_customers`` (churned at
  the start and bought in the period), ``golden_revenue_share`` (the golden customers' share of the trailing
  ``golden_days`` revenue at the end), ``dead_contact_share`` (dead contacts / customers to date at the end);
- ``avg_check_<Segment>``, one wide column per segment (spaces become underscores, e.g.
  ``avg_check_Needs_attention``): average check of the period's orders by customers in that segment at the
  period's end; empty when the segment placed no order.

The cohort retention table is ``features.analytics.cohorts.cohort_retention``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features import columns as C
from features.analytics.segment_rules import SEGMENTS, SegmentsConfig
from features.analytics.segments import customer_snapshot, default_cutoff, golden_revenue_share, to_datetime
from features.data.reader import Shop
from features.orders import AsOf, money_sum, orders_before

logger = logging.getLogger(__name__)

ACTIVITY_COLUMNS = ("new_customers", "active_customers", "orders", "revenue", "avg_check", "purchase_frequency",
                    "repeat_customer_share", "repeat_revenue_share")
SNAPSHOT_COLUMNS = ("customers_to_date", "churned_customers", "churn_rate", "reactivated_customers",
                    "golden_revenue_share", "dead_contact_share")


class Period(StrEnum):
    month = "month"
    week = "week"


def avg_check_column(segment: str) -> str:
    """Return the wide column name of a segment's average check, e.g. ``avg_check_Needs_attention``."""
    return "avg_check_" + segment.replace(" ", "_")


def period_start(moment: datetime, period: Period) -> datetime:
    """Return the start of the month, or of the ISO week (Monday), holding ``moment``."""
    day = pd.Timestamp(moment).normalize()
    start = day.replace(day=1) if period == Period.month else day - pd.Timedelta(days=day.weekday())
    return start.to_pydatetime()


def period_bounds(first: datetime, cutoff: datetime, period: Period) -> list[tuple[datetime, datetime]]:
    """Return ``(start, end)`` of each period from the one holding ``first`` to the cutoff (last end = cutoff)."""
    step = pd.DateOffset(months=1) if period == Period.month else pd.DateOffset(weeks=1)
    starts = pd.date_range(period_start(first, period), cutoff, freq=step, inclusive="left")
    return [(s.to_pydatetime(), min((s + step).to_pydatetime(), cutoff)) for s in starts]


def customer_periods(transactions: ir.Table, as_of: AsOf, period: Period) -> ir.Table:
    """Return per (period_start, customer): purchase orders, their revenue, first and repeat purchases (unexecuted)."""
    orders = orders_before(transactions, as_of)
    purchases = orders.filter(orders.is_purchase)
    nth = ibis.row_number().over(group_by=C.CUSTOMER_ID, order_by=[purchases[C.TIMESTAMP], purchases[C.ORDER_ID]])
    purchases = purchases.mutate(period_start=purchases[C.TIMESTAMP].truncate(_unit(period)), nth=nth)
    return purchases.group_by("period_start", C.CUSTOMER_ID).aggregate(
        orders=purchases.count(),
        purchase_revenue=money_sum(purchases.revenue_micros),
        first_purchases=(purchases.nth == 0).cast("int64").sum(),
        repeat_orders=(purchases.nth > 0).cast("int64").sum(),
        repeat_revenue=money_sum(purchases.revenue_micros, where=purchases.nth > 0),
    )


def period_revenue(transactions: ir.Table, as_of: AsOf, period: Period) -> ir.Table:
    """Return net revenue of every order (returns included) per period_start (unexecuted)."""
    orders = orders_before(transactions, as_of)
    keyed = orders.mutate(period_start=orders[C.TIMESTAMP].truncate(_unit(period)))
    return keyed.group_by("period_start").aggregate(revenue=money_sum(keyed.revenue_micros))


def _unit(period: Period) -> str:
    return "M" if period == Period.month else "W"


def activity_metrics(per_customer: pd.DataFrame, revenue: pd.DataFrame) -> pd.DataFrame:
    """Return the order-based metrics per period_start from ``customer_periods`` and ``period_revenue`` frames."""
    g = per_customer.groupby("period_start")
    table = pd.DataFrame({
        "new_customers": g["first_purchases"].sum(),
        "active_customers": g.size(),
        "orders": g["orders"].sum(),
        "purchase_revenue": g["purchase_revenue"].sum(),
        "repeat_revenue": g["repeat_revenue"].sum(),
        # with a non-first purchase in the period <=> two or more purchases to date
        "repeat_customers": g["repeat_orders"].apply(lambda s: int((s > 0).sum())),
    })
    table = table.join(revenue.set_index("period_start")["revenue"], how="outer").fillna(0.0)
    table["avg_check"] = _ratio(table["purchase_revenue"], table["orders"])
    table["purchase_frequency"] = _ratio(table["orders"], table["active_customers"])
    table["repeat_customer_share"] = _ratio(table["repeat_customers"], table["active_customers"])
    table["repeat_revenue_share"] = _ratio(table["repeat_revenue"], table["purchase_revenue"])
    return table


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den != 0)).astype("float64")


def snapshot_metrics(start: pd.DataFrame, end: pd.DataFrame, buyers: pd.DataFrame) -> dict[str, float]:
    """Return churn, reactivation, golden and dead-contact metrics of one period and per-segment average checks.

    ``start`` and ``end`` are ``customer_snapshot`` frames at the period's bounds; ``buyers`` is the period's
    rows of ``customer_periods``.
    """
    was_churned = start.set_index(C.CUSTOMER_ID)["is_churned"].astype(bool)
    now_churned = end.set_index(C.CUSTOMER_ID)["is_churned"].astype(bool)
    alive = was_churned.index[~was_churned.to_numpy()]
    bought = set(buyers[C.CUSTOMER_ID])
    values = {
        "customers_to_date": float(len(end)),
        "churned_customers": float(now_churned.sum()),
        "churn_rate": float(now_churned.reindex(alive).mean()) if len(alive) else np.nan,
        "reactivated_customers": float(sum(c in bought for c in was_churned.index[was_churned.to_numpy()])),
        "golden_revenue_share": golden_revenue_share(end) if len(end) else np.nan,
        "dead_contact_share": float(end["dead_contact"].mean()) if len(end) else np.nan,
    }
    by_segment = buyers.merge(end[[C.CUSTOMER_ID, "segment"]], on=C.CUSTOMER_ID).groupby("segment")
    sums = by_segment[["purchase_revenue", "orders"]].sum()
    for segment in SEGMENTS:
        ok = segment in sums.index and sums.loc[segment, "orders"] > 0
        values[avg_check_column(segment)] = float(sums.loc[segment, "purchase_revenue"] / sums.loc[segment, "orders"]
                                                  ) if ok else np.nan
    return values


def base_metrics(shop: Shop, period: Period = Period.month, as_of: AsOf | None = None,
                 cfg: SegmentsConfig | None = None,
                 progress: Callable[[int, int], None] | None = None) -> pd.DataFrame:
    """Return one row of base-health metrics per period (see the module docstring for each column).

    Parameters
    ----------
    shop
        A checked shop.
    period
        ``month`` or ``week`` (ISO weeks, starting on Monday).
    as_of
        The cutoff; defaults to midnight after the last order's day.
    cfg
        Segment, golden and churn settings used by the snapshots.
    progress
        Called with (done, total) after each period's snapshot; the CLI draws a bar with it.
    """
    cfg = cfg or SegmentsConfig()
    cutoff = to_datetime(as_of) if as_of is not None else default_cutoff(shop.transactions)
    first = shop.transactions[C.TIMESTAMP].min().execute()
    if first is None or pd.isna(first) or pd.Timestamp(first) >= cutoff:
        raise ValueError(f"no orders before the cutoff {cutoff:%Y-%m-%d}")
    bounds = period_bounds(pd.Timestamp(first).to_pydatetime(), cutoff, period)
    per_customer = customer_periods(shop.transactions, cutoff, period).execute()
    activity = activity_metrics(per_customer, period_revenue(shop.transactions, cutoff, period).execute())
    snapshot, _ = customer_snapshot(shop, bounds[0][0], cfg)
    rows = []
    for i, (start, end) in enumerate(bounds):
        after, _ = customer_snapshot(shop, end, cfg)
        buyers = per_customer[per_customer["period_start"] == pd.Timestamp(start)]
        row = {"period": _label(start, period), "period_start": start, "period_end": end,
               "complete": end == _next_start(start, period)}
        row.update(activity.loc[pd.Timestamp(start)].to_dict() if pd.Timestamp(start) in activity.index else {})
        row.update(snapshot_metrics(snapshot, after, buyers))
        rows.append(row)
        snapshot = after
        if progress is not None:
            progress(i + 1, len(bounds))
    table = pd.DataFrame(rows)
    counts = ["new_customers", "active_customers", "orders", "customers_to_date", "churned_customers",
              "reactivated_customers"]
    table[counts] = table[counts].fillna(0).astype("int64")
    table["revenue"] = table["revenue"].fillna(0.0)
    columns = ["period", "period_start", "period_end", "complete", *ACTIVITY_COLUMNS, *SNAPSHOT_COLUMNS,
               *(avg_check_column(s) for s in SEGMENTS)]
    return table[columns]


def _label(start: datetime, period: Period) -> str:
    return f"{start:%Y-%m}" if period == Period.month else f"{start:%G-W%V}"


def _next_start(start: datetime, period: Period) -> datetime:
    step = pd.DateOffset(months=1) if period == Period.month else pd.DateOffset(weeks=1)
    return (pd.Timestamp(start) + step).to_pydatetime()
