"""Site-behaviour family, from the events table: browsing, carts, visits and contacts before the cutoff.

Abandoned carts and the point-in-time rule: whether a cart add at time t was abandoned depends on orders
in ``[t, t + 24 h)``. For a cart add less than 24 hours before the cutoff that window reaches past the
cutoff, which we must not read. So only cart adds made at least ``abandoned_cart_hours`` before the cutoff
are judged; the last day's cart adds are not counted either way (they are still in ``cart_adds_30d``).

A "visit" is any browsing event (view, cart add or remove, wishlist add, search); e-mail opens and clicks,
callbacks and chats are contacts, not visits. Customers with orders but no events get zero counts (the
events table exists and shows nothing for them) and a missing days_since_last_visit.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import CONTACT_EVENTS, COUNTED_EVENTS, SITE_DOC, VISIT_EVENTS  # noqa: F401 (re-exported)
from features.families.rfm import days_since, window_start
from features.orders import AsOf, as_timestamp, purchases_of, rows_before


def site_features(events: ir.Table, transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                  orders: ir.Table | None = None) -> ir.Table:
    """Return the site family keyed by customer_id (customers with at least one event before the cutoff).

    Columns, with R = ``cfg.recent_events_days`` and K = ``cfg.contact_days``: views_Rd, cart_adds_Rd,
    wishlist_adds_Rd, email_opens_Rd, email_clicks_Rd, abandoned_carts_Rd, orders_per_view_Rd (purchase
    orders over views in the window, NULL without views), days_since_last_visit, callbacks_Kd, chats_Kd, and
    email_opens_Kd (when K > R) with the date of the last e-mail opened (``last_email_open``, not a model input).
    """
    cfg = cfg or FeaturesConfig()
    r, k = cfg.recent_events_days, cfg.contact_days
    ev = rows_before(events, as_of)
    kind, ts = ev[C.EVENT_TYPE], ev[C.TIMESTAMP]
    recent, contact_window = ts >= window_start(as_of, r), ts >= window_start(as_of, k)
    aggs: dict[str, ir.Value] = {  # count(where=...) compiles to FILTER, much faster than summing a cast
        f"{name}_{r}d": ev.count(where=recent & (kind == value)).cast("float64")
        for name, value in COUNTED_EVENTS.items()
    }
    aggs |= {f"{name}_{k}d": ev.count(where=contact_window & (kind == value)).cast("float64")
             for name, value in CONTACT_EVENTS.items()}
    if k > r:  # the e-mail habit before the recent window: a reason says "stopped opening e-mails in October"
        aggs[f"email_opens_{k}d"] = ev.count(where=contact_window & (kind == "email_open")).cast("float64")
    aggs["last_email_open"] = ts.max(where=kind == "email_open")
    aggs["last_visit"] = ts.max(where=kind.isin(VISIT_EVENTS))
    per_customer = ev.group_by(C.CUSTOMER_ID).aggregate(**aggs)

    abandoned = abandoned_carts(events, transactions, as_of, cfg, orders=orders)
    recent_orders = _recent_orders(purchases_of(transactions, as_of, orders), as_of, r)
    joined = (per_customer.left_join(abandoned, C.CUSTOMER_ID)
              .left_join(recent_orders, per_customer[C.CUSTOMER_ID] == recent_orders[C.CUSTOMER_ID]))
    views = joined[f"views_{r}d"]
    return joined.select(
        per_customer[C.CUSTOMER_ID],
        *[joined[name] for name in aggs if name not in ("last_visit", "last_email_open")],
        **{
            f"abandoned_carts_{r}d": joined.abandoned_carts.fill_null(0.0),
            f"orders_per_view_{r}d": ibis.ifelse(views > 0, joined.recent_orders.fill_null(0.0) / views,
                                                 ibis.null("float64")),
            "days_since_last_visit": days_since(joined.last_visit, as_of),
            "last_email_open": joined.last_email_open.cast("date"),
        },
    )


def abandoned_carts(events: ir.Table, transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                    orders: ir.Table | None = None) -> ir.Table:
    """Return ``abandoned_carts`` per customer: cart adds in the recent window, judged only when 24 h old.

    A cart add at t (with ``cutoff - R days <= t <= cutoff - H hours``) is abandoned when the customer placed
    no purchase order in ``[t, t + H hours)``; that interval ends before the cutoff, so no later row is read.
    """
    cfg = cfg or FeaturesConfig()
    hours = ibis.interval(hours=cfg.abandoned_cart_hours)
    ev = rows_before(events, as_of)
    carts = ev.filter(ev[C.EVENT_TYPE] == "cart_add", ev[C.TIMESTAMP] >= window_start(as_of, cfg.recent_events_days),
                      ev[C.TIMESTAMP] <= as_timestamp(as_of) - hours)
    carts = carts.select(C.CUSTOMER_ID, cart_time=carts[C.TIMESTAMP])
    orders = purchases_of(transactions, as_of, orders)
    orders = orders.select(order_customer=orders[C.CUSTOMER_ID], order_time=orders[C.TIMESTAMP])
    unbought = carts.anti_join(orders, [carts[C.CUSTOMER_ID] == orders.order_customer,
                                        orders.order_time >= carts.cart_time,
                                        orders.order_time < carts.cart_time + hours])
    return unbought.group_by(C.CUSTOMER_ID).aggregate(abandoned_carts=unbought.count().cast("float64"))


def _recent_orders(orders: ir.Table, as_of: AsOf, days: int) -> ir.Table:
    orders = orders.filter(orders[C.TIMESTAMP] >= window_start(as_of, days))
    return orders.group_by(C.CUSTOMER_ID).aggregate(recent_orders=orders.count().cast("float64"))
