"""Order-level view of transactions as of a cutoff: the one place the point-in-time filter is applied first.

Every customer feature, segment and metric starts from ``lines_before`` or ``orders_before`` so no query can
forget the cutoff. An order is all lines sharing an ``order_id``; it counts as a purchase when at least one
line has a positive quantity (a return-only order is not a visit to buy, but its refund still nets revenue).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from features import columns as C
from features.cutoff import AsOf, cutoff_datetime

__all__ = ["AsOf", "as_money", "as_timestamp", "cutoff_datetime", "lines_before", "millionths", "money_sum",
           "orders_before", "orders_of", "purchases_before", "purchases_of", "require_purchase_before", "rows_before"]


def millionths(money: ir.NumericValue) -> ir.DecimalValue:
    """``money`` in integer millionths: sums of these are exact, so they do not depend on the order the engine adds
    the lines in (float sums do, in the last bits, from run to run on a large shop or a Spark cluster)."""
    return (money * C.MICROS).cast(dt.Decimal(38, 0))


def as_money(millionths_sum: ir.NumericValue) -> ir.FloatingValue:
    """A sum of ``millionths`` back as a float amount of money."""
    return millionths_sum.cast("float64") / C.MICROS


def money_sum(micros: ir.NumericValue, where: ir.BooleanValue | None = None) -> ir.FloatingValue:
    """The exact sum of ``micros`` (``millionths`` of money, or orders' ``revenue_micros``) as money; with
    ``where``, 0 for a group without such rows."""
    if where is None:
        return as_money(micros.sum())
    return as_money(micros.sum(where=where).fill_null(0))


def orders_of(transactions: ir.Table, as_of: AsOf, orders: ir.Table | None = None) -> ir.Table:
    """Return the orders placed before the cutoff: ``orders_before(transactions, as_of)``, or ``orders`` when the
    caller already has that table (``build_features`` materialises it once for every family)."""
    if orders is None:
        return orders_before(transactions, as_of)
    return orders.filter(orders[C.TIMESTAMP] < as_timestamp(as_of))


def purchases_of(transactions: ir.Table, as_of: AsOf, orders: ir.Table | None = None) -> ir.Table:
    """Return the purchase orders (not return-only ones) placed before the cutoff; see ``orders_of``."""
    placed = orders_of(transactions, as_of, orders)
    return placed.filter(placed.is_purchase)


def as_timestamp(as_of: AsOf) -> ir.TimestampScalar:
    """Return the cutoff as an Ibis timestamp literal (a date means midnight at the start of that day)."""
    return ibis.timestamp(cutoff_datetime(as_of))


def rows_before(table: ir.Table, as_of: AsOf) -> ir.Table:
    """Return the rows strictly before the cutoff: the point-in-time rule."""
    return table.filter(table[C.TIMESTAMP] < as_timestamp(as_of))


def lines_before(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    return rows_before(transactions, as_of)


def orders_before(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    """Return one row per order placed before the cutoff.

    Columns: customer_id, order_id, timestamp (first line's), revenue (net) and revenue_micros (the same in
    exact integer millionths, for sums over orders), units (positive quantities), lines, is_purchase, and
    has_discount when the transactions carry a discount column.
    """
    lines = lines_before(transactions, as_of)
    aggs = {
        C.CUSTOMER_ID: lines[C.CUSTOMER_ID].arbitrary(),
        C.TIMESTAMP: lines[C.TIMESTAMP].min(),
        "revenue_micros": millionths(lines[C.REVENUE]).sum(),
        "units": ibis.greatest(lines[C.QUANTITY], 0).sum(),
        "lines": lines.count(),
        "is_purchase": (lines[C.QUANTITY] > 0).any(),
    }
    if C.DISCOUNT in lines.columns:
        aggs["has_discount"] = (lines[C.DISCOUNT].fill_null(0) > 0).any()
    orders = lines.group_by(C.ORDER_ID).aggregate(**aggs)
    return orders.mutate(**{C.REVENUE: as_money(orders.revenue_micros)}).relocate(C.REVENUE, after=C.TIMESTAMP)


def purchases_before(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    """Return purchase orders (not return-only ones) placed before the cutoff."""
    orders = orders_before(transactions, as_of)
    return orders.filter(orders.is_purchase)


def require_purchase_before(transactions: ir.Table, as_of: AsOf) -> None:
    """Refuse a cutoff before every purchase: features, segments, metrics and scores would all be empty.

    Raises
    ------
    ValueError
        Naming the cutoff and the first order's time.
    """
    if int(purchases_before(transactions, as_of).count().execute()):
        return
    cutoff = cutoff_datetime(as_of)
    first = transactions[C.TIMESTAMP].min().execute()
    if first is not None and first < cutoff:  # orders before it, but only returns: a later cutoff may not help
        raise ValueError(f"no purchase order before the cutoff {cutoff:%Y-%m-%d %H:%M}: every order before it is "
                         "a return (all its lines have a negative quantity); check the sign of quantity in the "
                         "export (a purchase has a positive quantity), or use a cutoff after the first purchase")
    raise ValueError(f"no purchase order before the cutoff {cutoff:%Y-%m-%d %H:%M} (the first order is at "
                     f"{first}); choose a --cutoff after the first order")
