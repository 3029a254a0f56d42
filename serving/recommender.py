"""The one place the service touches the recommender: its public functions and nothing of the Blend's insides.

If ``recommend_one`` or ``item_list`` change signature, this module is the only one to follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from models.recommender.item_lists import item_list
from models.recommender.serve import recommend_one

# how many more picks to draw when a category filter will drop some (the catalogue's share of that category)
CATEGORY_WIDEN = 20


@dataclass(frozen=True)
class Picks:
    """Best first: (item_id, score, reason); ``known`` is False for a customer the model has never seen."""

    items: list[tuple[str, float, str]]
    known: bool


def personal_picks(model: Any, customer_id: str, k: int, cart: Iterable[str], exclude: Iterable[str],
                   category: str | None = None, item_category: Mapping[str, str] | None = None) -> Picks:
    """Return a customer's top ``k`` picks (only of ``category`` when given, by the shop's items table)."""
    wanted = k if category is None else k * CATEGORY_WIDEN
    cart, exclude = list(cart), list(exclude)
    answer = recommend_one(model, customer_id, wanted, cart, exclude)
    rows = [(r.item_id, float(r.score), r.reason) for r in answer.items]
    if cart and not getattr(model, "takes_cart", False):
        rows = _with_cart(model, rows, cart, exclude, wanted)
    if category is not None:
        lookup = item_category or {}
        rows = [row for row in rows if lookup.get(row[0]) == category]
    return Picks(rows[:k], bool(answer.known_customer))


def _with_cart(model: Any, rows: list[tuple[str, float, str]], cart: list[str], exclude: list[str], k: int
               ) -> list[tuple[str, float, str]]:
    """Put what goes with the cart first when the model itself ranks without it (a single-source champion)."""
    taken = set(cart) | set(exclude)
    picks: list[tuple[str, float, str]] = []
    for anchor in cart:
        frame = item_list(model, [anchor], k, "bought_together")
        for item, score in zip(frame["similar_item_id"].astype(str), frame["score"].astype(float), strict=True):
            if item not in taken:
                taken.add(item)
                picks.append((item, score, f"bought together with {anchor} in your cart"))
    picks.sort(key=lambda row: -row[1])
    return (picks + [row for row in rows if row[0] not in taken])[:k]


def item_page_list(model: Any, item_ids: list[str], k: int, kind: str,
                   item_category: Mapping[str, str] | None = None) -> list[tuple[str, float]]:
    """Return (item_id, score) best first for ``kind`` (bought_together, similar, upsell).

    Several anchors (a cart) are merged: an item's score is its best score over the anchors; anchors are left out.
    """
    # a single-source champion answers every kind with its own item-item scores: an up-sell stays in the anchor's
    # category (the blend's own up-sell source already does)
    same_category = kind == "upsell" and not getattr(model, "takes_cart", False) and bool(item_category)
    lookup = item_category or {}
    frame = item_list(model, item_ids, (k + len(item_ids)) * (CATEGORY_WIDEN if same_category else 1), kind)
    best: dict[str, float] = {}
    anchors = set(item_ids)
    for anchor, similar, score in zip(frame["item_id"].astype(str), frame["similar_item_id"].astype(str),
                                      frame["score"].astype(float), strict=True):
        if same_category and lookup.get(similar) != lookup.get(anchor):
            continue
        if similar not in anchors:
            best[similar] = max(score, best.get(similar, float("-inf")))
    return sorted(best.items(), key=lambda pair: (-pair[1], pair[0]))[:k]


def batch_picks(model: Any, customer_ids: Iterable[str], k: int) -> dict[str, Picks]:
    """Return the plain picks (no cart, nothing excluded) of each customer: what ``personal_picks`` answers."""
    return {customer: personal_picks(model, customer, k, (), ()) for customer in customer_ids}
