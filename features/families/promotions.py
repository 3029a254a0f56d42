"""Promotions family: how much of a customer's buying happens on discount.

A line is promoted when its ``discount`` is above zero; an order is promoted when any of its lines is.
Needs ``transactions.discount``.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features import columns as C
from features.families.basket import purchase_lines
from features.families.config import FeaturesConfig
from features.families.meta import PROMOTIONS_DOC  # noqa: F401 (re-exported)
from features.orders import AsOf, millionths, money_sum, purchases_of


def promotion_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                       orders: ir.Table | None = None) -> ir.Table:
    """Return discount_order_share, discount_revenue_share and buys_only_on_sale, keyed by customer_id.

    ``discount_revenue_share`` is the promoted lines' share of the revenue of purchase lines (NULL when
    that revenue is zero). ``buys_only_on_sale`` is 1.0 when every purchase order had a discount and the
    customer has at least ``cfg.sale_only_min_orders`` of them, else 0.0. ``orders``:
    ``orders_before(transactions, as_of)`` if the caller has it.
    """
    cfg = cfg or FeaturesConfig()
    orders = purchases_of(transactions, as_of, orders)
    per_order = orders.group_by(C.CUSTOMER_ID).aggregate(
        orders=orders.count(),
        promoted_orders=orders.count(where=orders.has_discount),
    )
    lines = purchase_lines(transactions, as_of)
    promoted = lines[C.DISCOUNT].fill_null(0) > 0
    micros = millionths(lines[C.REVENUE])
    per_line = lines.group_by(C.CUSTOMER_ID).aggregate(
        revenue=money_sum(micros), promoted_revenue=money_sum(micros, where=promoted))
    joined = per_order.left_join(per_line, C.CUSTOMER_ID)
    only_on_sale = (joined.promoted_orders == joined.orders) & (joined.orders >= cfg.sale_only_min_orders)
    return joined.select(
        per_order[C.CUSTOMER_ID],
        discount_order_share=joined.promoted_orders.cast("float64") / joined.orders,
        discount_revenue_share=ibis.ifelse(joined.revenue > 0, joined.promoted_revenue / joined.revenue,
                                           ibis.null("float64")),
        buys_only_on_sale=only_on_sale.cast("float64"),
    )
