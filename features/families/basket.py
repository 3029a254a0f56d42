"""Basket family: how big the orders are, how varied, and how pricey against the category.

Only purchase lines (positive quantity) before the cutoff describe the basket; returns do not. The category
part needs ``items.category``; the items table is a catalogue without timestamps, so it is read as it is.
The category average price is the quantity-weighted unit price of all purchase lines in that category
before the cutoff (from transactions, so it is point-in-time; the catalogue's current price is not).
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import BASKET_DOC, CATEGORY_DOC, SPEND_DIGITS  # noqa: F401 (re-exported)
from features.orders import AsOf, as_money, lines_before, millionths, purchases_of


def purchase_lines(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    """Return the transaction lines before the cutoff with a positive quantity."""
    lines = lines_before(transactions, as_of)
    return lines.filter(lines[C.QUANTITY] > 0)


def basket_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                    orders: ir.Table | None = None) -> ir.Table:
    """Return items_per_order (mean units per purchase order) and distinct_items, keyed by customer_id.

    Needs ``transactions.item_id``. ``orders``: ``orders_before(transactions, as_of)`` if the caller has it.
    """
    orders = purchases_of(transactions, as_of, orders)
    per_order = orders.group_by(C.CUSTOMER_ID).aggregate(items_per_order=orders.units.mean().cast("float64"))
    lines = purchase_lines(transactions, as_of)
    distinct = lines.group_by(C.CUSTOMER_ID).aggregate(
        distinct_items=lines[C.ITEM_ID].nunique().cast("float64"))
    return per_order.left_join(distinct, C.CUSTOMER_ID).select(
        per_order[C.CUSTOMER_ID], per_order.items_per_order,
        distinct_items=distinct.distinct_items.fill_null(0.0))


def category_features(transactions: ir.Table, items: ir.Table, as_of: AsOf,
                      cfg: FeaturesConfig | None = None) -> ir.Table:
    """Return distinct_categories, top_category, top_category_share and price_level, keyed by customer_id.

    ``top_category_share`` is the top category's share of the customer's spend on categorised lines;
    ``price_level`` is what the customer paid over what the same units would cost at their categories'
    average unit prices (1.2 = pays 20% above average). Lines whose item has no category are left out of
    these four; a customer with none gets NULLs. Needs ``transactions.item_id`` and ``items.category``.
    """
    lines = purchase_lines(transactions, as_of)
    catalogue = items.select(items[C.ITEM_ID], items[C.CATEGORY]).filter(items[C.CATEGORY].notnull())
    lines = lines.inner_join(catalogue, C.ITEM_ID).select(C.CUSTOMER_ID, C.CATEGORY, C.QUANTITY,
                                                          micros=millionths(lines[C.REVENUE]))
    spend = lines.group_by([C.CUSTOMER_ID, C.CATEGORY]).aggregate(spend=lines.micros.sum(),
                                                                   units=lines[C.QUANTITY].sum())
    category_price = spend.group_by(C.CATEGORY).aggregate(
        category_unit_price=as_money(spend.spend.sum()) / spend.units.sum())
    spend = spend.inner_join(category_price, C.CATEGORY)
    # spend (exact millionths) compared at SPEND_DIGITS decimals, as the DuckDB build does; ties go by name
    rank = ibis.row_number().over(ibis.window(group_by=C.CUSTOMER_ID,
                                              order_by=[ibis.desc(as_money(spend.spend).round(SPEND_DIGITS)),
                                                        spend[C.CATEGORY]]))
    spend = spend.mutate(rank=rank, at_average=spend.units * spend.category_unit_price)
    per_customer = spend.group_by(C.CUSTOMER_ID).aggregate(
        distinct_categories=spend[C.CATEGORY].count().cast("float64"),
        top_category=spend[C.CATEGORY].arbitrary(where=spend["rank"] == 0),
        top_spend=as_money(spend.spend.sum(where=spend["rank"] == 0)),
        total_spend=as_money(spend.spend.sum()),
        # the floats added smallest first, over the customer's few categories: the same last bit in any row order
        at_average=spend.at_average.collect().sort().sums(),
    )
    return per_customer.select(
        C.CUSTOMER_ID,
        "distinct_categories",
        "top_category",
        top_category_share=_ratio(per_customer.top_spend, per_customer.total_spend),
        price_level=_ratio(per_customer.total_spend, per_customer.at_average),
    )


def _ratio(numerator: ir.NumericValue, denominator: ir.NumericValue) -> ir.FloatingValue:
    """Return numerator / denominator as float, NULL when the denominator is not positive."""
    return ibis.ifelse(denominator > 0, numerator.cast("float64") / denominator, ibis.null("float64"))
