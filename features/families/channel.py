"""Channel and device family: where and on what a customer usually orders.

Each present column of ``channel``, ``device`` and ``source`` gives its own ``main_*`` feature, the value
on most of the customer's purchase orders (ties go to the most recent, then the alphabetically first); an
absent column is left out. An order's value is the alphabetically first of its lines' non-null values (lines of
one order normally agree; taking the minimum keeps the result independent of row order).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import CHANNEL_COLUMNS, CHANNEL_DOC  # noqa: F401 (re-exported)
from features.orders import AsOf, lines_before


def channel_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None,
                     orders: ir.Table | None = None) -> ir.Table:
    """Return main_device, main_channel, main_source (those present) and mobile_share, keyed by customer_id.

    ``mobile_share`` (needs ``device``) is the share of purchase orders whose device, lower-cased, is one
    of ``cfg.mobile_devices``; orders without a device count in the denominator as not mobile. ``orders``:
    ``order_channels(transactions, as_of)`` already materialised (the build stages it: the family reads it four
    times, and DuckDB would otherwise group the lines by order four times).

    Raises
    ------
    ValueError
        When the transactions carry none of channel, device and source.
    """
    cfg = cfg or FeaturesConfig()
    present = channel_columns(transactions)
    if not present:
        raise ValueError("transactions have no channel, device or source column")
    orders = order_channels(transactions, as_of) if orders is None else orders
    result = orders.group_by(C.CUSTOMER_ID).aggregate(
        orders=orders.count(),
        **({"mobile_orders": orders.count(where=orders[C.DEVICE].lower().isin(cfg.mobile_devices))}
           if C.DEVICE in present else {}),
    )
    for column in present:
        result = result.left_join(main_value(orders, column), C.CUSTOMER_ID).drop(f"{C.CUSTOMER_ID}_right")
    columns: dict[str, ir.Value] = {f"main_{c}": result[f"main_{c}"] for c in present}
    if C.DEVICE in present:
        columns["mobile_share"] = result.mobile_orders.cast("float64") / result.orders
    return result.select(C.CUSTOMER_ID, **columns)


def channel_columns(transactions: ir.Table) -> list[str]:
    """Return which of device, channel and source the transactions carry."""
    return [c for c in CHANNEL_COLUMNS if c in transactions.columns]


def order_channels(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    """Return purchase orders before the cutoff with customer_id, timestamp and each present channel column.

    Its own roll-up of the lines rather than a join onto ``orders_before``: one pass instead of two plus a join.
    """
    present = channel_columns(transactions)
    lines = lines_before(transactions, as_of)
    orders = lines.group_by(C.ORDER_ID).aggregate(
        customer_id=lines[C.CUSTOMER_ID].arbitrary(),
        timestamp=lines[C.TIMESTAMP].min(),
        is_purchase=(lines[C.QUANTITY] > 0).any(),
        **{c: lines[c].min() for c in present},
    )
    return orders.filter(orders.is_purchase)


def main_value(orders: ir.Table, column: str) -> ir.Table:
    """Return ``main_<column>``: the customer's most frequent non-null value of ``column`` over ``orders``."""
    known = orders.filter(orders[column].notnull())
    counts = known.group_by([C.CUSTOMER_ID, column]).aggregate(n=known.count(), last=known[C.TIMESTAMP].max())
    rank = ibis.row_number().over(ibis.window(group_by=C.CUSTOMER_ID,
                                              order_by=[ibis.desc(counts.n), ibis.desc(counts["last"]),
                                                        counts[column]]))
    ranked = counts.mutate(rank=rank)
    top = ranked.filter(ranked["rank"] == 0)
    return top.select(C.CUSTOMER_ID, **{f"main_{column}": top[column]})
