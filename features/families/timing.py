"""Timing family: the weekday and hour a customer usually orders at, for "best time to send".

Times are the shop's local time as stored (naive timestamps). When no order before the cutoff has a time
of day (every timestamp at midnight, e.g. CDNOW's dates), the hour features are left out, not faked as 0.
"""

from __future__ import annotations

import ibis.expr.types as ir

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import HOUR_NOTE, TIMING_DOC  # noqa: F401 (re-exported)
from features.orders import AsOf, lines_before, purchases_of


def timing_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None,
                    with_hour: bool = True, *, orders: ir.Table | None = None) -> ir.Table:
    """Return preferred_weekday (e.g. "Monday"), preferred_weekday_share and, with ``with_hour``,
    preferred_hour (0-23) and preferred_hour_share, keyed by customer_id.

    Ties go to the slot ordered in most recently. ``orders``:
    ``orders_before(transactions, as_of)`` if the caller has it.
    """
    orders = purchases_of(transactions, as_of, orders)
    ts = orders[C.TIMESTAMP]
    orders = orders.select(C.CUSTOMER_ID, C.TIMESTAMP, weekday=ts.day_of_week.index(), hour=ts.hour())
    result = _preferred(orders, "weekday")
    columns: dict[str, ir.Value] = {
        "preferred_weekday": _weekday_name(result.weekday),
        "preferred_weekday_share": result.weekday_n.cast("float64") / result.orders,
    }
    if with_hour:
        hour = _preferred(orders, "hour")
        result = result.inner_join(hour, C.CUSTOMER_ID)
        columns |= {"preferred_hour": result.hour.cast("float64"),
                    "preferred_hour_share": result.hour_n.cast("float64") / result.orders}
    return result.select(C.CUSTOMER_ID, **columns)


def has_time_of_day(transactions: ir.Table, as_of: AsOf) -> bool:
    """Return whether any line before the cutoff has a time other than midnight (executes one scalar query)."""
    lines = lines_before(transactions, as_of)
    ts = lines[C.TIMESTAMP]
    timed = lines.filter((ts.hour() != 0) | (ts.minute() != 0) | (ts.second() != 0))
    return int(timed.limit(1).count().execute()) > 0  # stops at the first such line


def _preferred(orders: ir.Table, slot: str) -> ir.Table:
    """Return per customer the slot with most orders (ties: the latest order), its count and all orders.

    One arg-max over a key that sorts by count, then by the slot's latest order: no window, no join. Two slots
    cannot tie on both, since one timestamp has one weekday and one hour.
    """
    counts = orders.group_by([C.CUSTOMER_ID, slot]).aggregate(n=orders.count(), last=orders[C.TIMESTAMP].max())
    key = counts.n.cast("int64") * 10**11 + counts["last"].epoch_seconds().cast("int64")
    return counts.group_by(C.CUSTOMER_ID).aggregate(
        **{slot: counts[slot].argmax(key), f"{slot}_n": counts.n.max(), "orders": counts.n.sum()})


def _weekday_name(index: ir.IntegerValue) -> ir.StringValue:
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    return index.cases(*[(i, name) for i, name in enumerate(names)])
