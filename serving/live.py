"""Live events and the live state they build: each customer's cart and the items bought since the models were trained.

A purchase makes the item leave the customer's picks and ends its cart line; ``cart_add`` / ``cart_remove`` keep a
live cart that drives bought-together picks. The journal that keeps the events on disk is ``serving.journal``;
``serving.merge`` appends the site events (view, cart_add, cart_remove, wishlist_add) to the shop's events table so
the next ``retention train`` reads them; purchases stay in the journal, since the order export carries them with their
order id and price.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

logger = logging.getLogger(__name__)

COLUMNS = ("customer_id", "timestamp", "event_type", "item_id")
SITE_EVENTS = ("view", "cart_add", "cart_remove", "wishlist_add")


@dataclass(frozen=True)
class LiveEvent:
    customer_id: str
    timestamp: datetime
    event_type: str
    item_id: str


def naive_local(moment: datetime | None) -> datetime:
    """Return ``moment`` as the shop's naive local time (the data contract's form); None means now."""
    if moment is None:
        return datetime.now().replace(microsecond=0)
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo is not None else moment


@dataclass
class CustomerLive:
    cart: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    bought: set[str] = field(default_factory=set)


class LiveState:
    """Each customer's live cart and items bought since the models were trained (replayed from the journal)."""

    def __init__(self) -> None:
        self.customers: dict[str, CustomerLive] = {}

    def apply(self, event: LiveEvent) -> None:
        live = self.customers.setdefault(event.customer_id, CustomerLive())
        if event.event_type == "cart_add":
            live.cart[event.item_id] = None
        elif event.event_type == "cart_remove":
            live.cart.pop(event.item_id, None)
        elif event.event_type == "purchase":
            live.bought.add(event.item_id)
            live.cart.pop(event.item_id, None)

    def of(self, customer_id: str) -> CustomerLive | None:
        return self.customers.get(customer_id)
