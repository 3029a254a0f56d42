"""Cadence family: how regularly a customer orders and whether the next order is overdue.

Gaps are the days between consecutive purchase orders before the cutoff. A customer with one order has no
gap: their cadence features are missing (NaN), not zero, because nothing about their rhythm was observed.
The BG/NBD part (expected orders, P(alive)) needs a fit in scipy, so ``bgnbd_features`` executes.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features import columns as C
from features.config import FeaturesConfig
from features.orders import AsOf, purchases_before
from features.rfm import SECONDS_PER_DAY, days_since

CADENCE_DOC = "mean and spread of days between orders, overdue ratio, days until and date of the expected next order"


def order_gaps(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    """Return purchase orders before the cutoff with ``gap_days`` since the customer's previous one (NULL first)."""
    orders = purchases_before(transactions, as_of)
    ts = orders[C.TIMESTAMP]
    previous = ts.lag().over(ibis.window(group_by=C.CUSTOMER_ID, order_by=[ts, orders[C.ORDER_ID]]))
    gap = (ts.epoch_seconds() - previous.epoch_seconds()).cast("float64") / SECONDS_PER_DAY
    return orders.select(C.CUSTOMER_ID, C.ORDER_ID, C.TIMESTAMP, gap_days=gap)


def cadence_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None) -> ir.Table:
    """Return the cadence family as an unexecuted Ibis table keyed by customer_id.

    Columns: mean_gap_days, gap_std_days (sample standard deviation, needs two gaps), overdue_ratio
    (days since the last order over the mean gap; above 1 means later than usual), days_until_expected_order
    (mean gap minus days since the last order; negative = overdue) and expected_next_order_date (ISO date).

    Parameters
    ----------
    transactions
        The shop's normalised transactions table.
    as_of
        The cutoff; only rows with ``timestamp < as_of`` are read.
    cfg
        Unused today; taken for the common family signature.
    """
    gaps = order_gaps(transactions, as_of)
    per_customer = gaps.group_by(C.CUSTOMER_ID).aggregate(
        last_order=gaps[C.TIMESTAMP].max(),
        mean_gap_days=gaps.gap_days.mean(),
        gap_std_days=gaps.gap_days.std(how="sample"),
    )
    mean_gap = per_customer.mean_gap_days
    since_last = days_since(per_customer.last_order, as_of)
    expected = per_customer.last_order + (mean_gap * SECONDS_PER_DAY).round().cast("int64").as_interval("s")
    return per_customer.select(
        C.CUSTOMER_ID,
        mean_gap_days=mean_gap,
        gap_std_days=per_customer.gap_std_days,
        overdue_ratio=ibis.ifelse(mean_gap > 0, since_last / mean_gap, ibis.null("float64")),
        days_until_expected_order=mean_gap - since_last,
        expected_next_order_date=expected.strftime("%Y-%m-%d"),
    )
