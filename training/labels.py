"""Labels of one backtest window: what each customer did in ``[cutoff, cutoff + horizon)``.

The population is every customer with a purchase order before the cutoff (the same customers as the
features). Every query reads only rows before ``cutoff + horizon`` (``features.orders.rows_before``), so a
window never sees data a later cutoff would not have had.

- ``churn``: 1 when the customer placed no purchase order in the horizon.
- ``value``: net revenue in the horizon (return lines count against it).
- ``orders``: purchase orders in the horizon.
- ``golden``: 1 when among the top ``golden_share`` of customers by ``value``, with ``value > 0``; the share is of
  those who bought in the horizon (``golden_among="buyers"``, the default) or of every customer at the cutoff
  (``"all"``). "Buyers" keeps golden the Pareto few whatever the shop's rhythm: when fewer than 20% of customers
  buy in a horizon, "the top 20% of all" is every buyer, and the golden model becomes the churn model reversed.
  Ties are broken by customer_id, so exactly ``ceil(share x n)`` customers can be golden.
- ``next_order_date``: the first purchase order in the horizon (NaT when none); ``next_order_days``: days from
  the cutoff to it (NaN when none), what the value model's next-order booster learns.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pandas as pd

from features import columns as C
from features.analytics.segment_rules import GOLDEN_SHARE
from features.data.reader import Shop
from features.orders import purchases_before
from models.customer.base import CHURN, GOLDEN, NEXT_ORDER_DATE, NEXT_ORDER_DAYS, ORDERS, VALUE
from models.inference.inputs import window_totals

LABEL_COLUMNS = (C.CUSTOMER_ID, CHURN, GOLDEN, VALUE, ORDERS, NEXT_ORDER_DATE, NEXT_ORDER_DAYS)


def population(shop: Shop, cutoff: datetime) -> pd.Series:
    """Return the sorted customer ids (strings) with a purchase order before the cutoff."""
    ids = purchases_before(shop.transactions, cutoff).select(C.CUSTOMER_ID).distinct().execute()[C.CUSTOMER_ID]
    return ids.astype(str).sort_values(ignore_index=True)



def make_labels(shop: Shop, cutoff: datetime, horizon_days: int, golden_share: float = GOLDEN_SHARE,
                golden_among: str = "all") -> pd.DataFrame:
    """Return the labels of every customer with a purchase order before ``cutoff``, sorted by customer_id.

    Parameters
    ----------
    shop
        A checked shop.
    cutoff
        Start of the horizon; the population bought before it.
    horizon_days
        Length of the horizon.
    golden_share
        Top share of customers that is golden.
    golden_among
        ``all`` (share of the whole population) or ``buyers`` (share of customers who bought in the horizon).

    Returns
    -------
    pandas.DataFrame
        customer_id, churn (0/1), golden (0/1), value, orders, next_order_date, next_order_days.
    """
    ids = population(shop, cutoff)
    totals = window_totals(shop, cutoff, cutoff + timedelta(days=horizon_days)).reindex(ids)
    value = totals[VALUE].fillna(0.0).to_numpy()
    orders = totals[ORDERS].fillna(0.0).to_numpy()
    frame = pd.DataFrame({C.CUSTOMER_ID: ids, CHURN: (orders == 0).astype("int64"), VALUE: value, ORDERS: orders,
                          NEXT_ORDER_DATE: pd.to_datetime(totals["first_order"]).to_numpy()})
    frame.insert(2, GOLDEN, golden_flags(frame, golden_share, golden_among))
    frame[NEXT_ORDER_DAYS] = days_to_next_order(frame, cutoff).to_numpy()
    return frame[list(LABEL_COLUMNS)]


def golden_flags(frame: pd.DataFrame, share: float, among: str) -> pd.Series:
    """Return 0/1: the top ``ceil(share x base)`` customers by value (ties by customer_id) with value > 0."""
    if among not in ("all", "buyers"):
        raise ValueError(f"golden_among must be 'all' or 'buyers', got {among!r}")
    base = frame if among == "all" else frame[frame[ORDERS] > 0]
    k = math.ceil(share * len(base) - 1e-9)
    ranked = base.sort_values([VALUE, C.CUSTOMER_ID], ascending=[False, True], kind="stable")
    top = ranked.index[:k][ranked[VALUE].to_numpy()[:k] > 0]
    flags = pd.Series(0, index=frame.index, dtype="int64")
    flags[top] = 1
    return flags


def days_to_next_order(labels: pd.DataFrame, cutoff: datetime) -> pd.Series:
    """Return days from the cutoff to each customer's next order (NaN when none in the horizon)."""
    delta = pd.to_datetime(labels[NEXT_ORDER_DATE]) - pd.Timestamp(cutoff)
    return (delta.dt.total_seconds() / 86_400.0).rename(NEXT_ORDER_DAYS)
