"""Cart top-up to free delivery: what closes the gap between the cart and the shop's free-delivery threshold.

The cart's value is the sum of its items' list prices (``serving.catalog``; one of each: the storefront sends ids,
not quantities). Below the threshold, the gap is ``threshold - value`` and a top-up item is one that costs between
the gap and the gap plus a margin (it gets the cart over the line without much more), is in stock, is not in the
cart nor excluded, and goes with the cart: bought together with a cart item (best co-purchase score first), then
the best sellers of the cart's categories. Those lead the picks, each with the reason "adds 12.40: free delivery".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from features.words.catalogue import say
from serving.catalog import ItemCatalog
from serving.recommender import item_page_list

BOUGHT_TOGETHER_DEPTH = 200  # co-purchase neighbours of the cart looked at for a price that fits


@dataclass(frozen=True)
class TopUp:
    """The cart's value, the gap to free delivery (0 when over it), the top-up picks and the unpriced cart items."""

    threshold: float
    cart_total: float
    gap: float
    items: list[tuple[str, float, str]]
    unpriced: list[str]

    def answer(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "cart_total": self.cart_total, "gap": self.gap,
                "unpriced_items": self.unpriced}


def reason(price: float) -> str:
    return say("pick.topup", "en", amount=f"{price:.2f}")  # English; the route words it in the request's language


def top_up(model: Any, catalog: ItemCatalog, cart: list[str], exclude: Iterable[str], threshold: float,
           margin: float, k: int) -> TopUp:
    """Return the gap of ``cart`` to ``threshold`` and up to ``k`` items that close it (none when over it)."""
    total = round(sum(catalog.price.get(item, 0.0) for item in cart), 2)
    unpriced = [item for item in cart if item not in catalog.price]
    gap = round(max(threshold - total, 0.0), 2)
    if gap == 0 or not cart:
        return TopUp(threshold, total, gap, [], unpriced)
    taken = set(cart) | set(exclude)
    picks: list[tuple[str, float, str]] = []

    def fits(item: str) -> bool:
        price = catalog.price.get(item)
        return (item not in taken and price is not None and gap <= price <= gap + margin
                and catalog.sellable(item))

    for item, score in item_page_list(model, cart, BOUGHT_TOGETHER_DEPTH, "bought_together"):
        if len(picks) < k and fits(item):
            taken.add(item)
            picks.append((item, score, reason(catalog.price[item])))
    for category in dict.fromkeys(catalog.category[i] for i in cart if i in catalog.category):
        for item in catalog.best_sellers.get(category, ()):
            if len(picks) < k and fits(item):
                taken.add(item)
                picks.append((item, 0.0, reason(catalog.price[item])))
    return TopUp(threshold, total, gap, picks, unpriced)


def leading(top: list[tuple[str, float, str]], usual: list[tuple[str, float, str]], k: int
            ) -> list[tuple[str, float, str]]:
    """Return the top-up items first, then the usual picks not among them, ``k`` in all."""
    seen = {item for item, _, _ in top}
    return (top + [row for row in usual if row[0] not in seen])[:k]
