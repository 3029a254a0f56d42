"""Each customer's last orders held out: the per-customer split (training evaluates on it, the reranker learns on it).

Not point-in-time across customers (one customer's held-out order may be older than another's training lines):
it ranks models against each other; it does not forecast next quarter's figure.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp

from models.recommender.interactions import Interactions


def _order_facts(data: Interactions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per order: its customer, its age (days before as_of) and its rank within the customer (0 = newest)."""
    order_age = np.full(data.n_orders, np.inf, np.float32)
    np.minimum.at(order_age, data.line_order, data.line_age)
    order_customer = np.zeros(data.n_orders, np.int64)
    order_customer[data.line_order] = data.line_customer
    sort = np.lexsort((order_age, order_customer))
    first = np.r_[True, order_customer[sort][1:] != order_customer[sort][:-1]] if len(sort) else np.zeros(0, bool)
    start = np.maximum.accumulate(np.where(first, np.arange(len(sort)), 0)) if len(sort) else sort
    rank = np.empty(data.n_orders, np.int64)
    rank[sort] = np.arange(len(sort)) - start
    return order_customer, order_age, rank


def last_orders(data: Interactions, n: int = 1, event_margin_days: float = 1.0
                ) -> tuple[Interactions, np.ndarray, sp.csr_matrix]:
    """Hold out each customer's last ``n`` orders (customers with more than ``n`` orders).

    Returns (train, users, truth): the training side, the held-out customers' dense indices (sorted) and
    users x items, 1 where the customer bought the item in a held-out order.

    The training side drops the held-out lines and that customer's item events from ``event_margin_days`` before
    the first held-out order on (shops log views and cart adds just before a purchase: keeping them would leak
    the answer). Held-out customers' ages are re-based to their first held-out order, so recency and buy-again
    due-ness are measured at *their* "now". Both sides keep ``data``'s dense indices.
    """
    order_customer, order_age, rank = _order_facts(data)
    counts = np.bincount(order_customer, minlength=data.n_customers)
    eligible = counts > n
    held_order = (rank < n) & eligible[order_customer]
    held_line = held_order[data.line_order]
    now = np.zeros(data.n_customers, np.float32)  # each held-out customer's "now": their oldest held-out order
    np.maximum.at(now, order_customer[held_order], order_age[held_order])
    keep = ~held_line
    events = ~(eligible[data.event_customer] & (data.event_age < now[data.event_customer] + event_margin_days))
    train = dataclasses.replace(
        data, line_customer=data.line_customer[keep], line_item=data.line_item[keep],
        line_order=data.line_order[keep], line_quantity=data.line_quantity[keep],
        line_age=(data.line_age[keep] - now[data.line_customer[keep]]).astype(np.float32),
        event_customer=data.event_customer[events], event_item=data.event_item[events],
        event_kind=data.event_kind[events], event_session=data.event_session[events],
        event_age=np.maximum(data.event_age[events] - now[data.event_customer[events]], 0.01).astype(np.float32),
        notes=list(data.notes),
    )
    users = np.flatnonzero(eligible)
    row = np.searchsorted(users, data.line_customer[held_line])
    truth = sp.csr_matrix((np.ones(int(held_line.sum()), np.float32), (row, data.line_item[held_line])),
                          shape=(len(users), data.n_items))
    truth.data[:] = 1.0
    return train, users, truth
