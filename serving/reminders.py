"""Reminders: what a customer looked at, wished for or left in the cart and did not buy, then what others buy lately.

Per bundle, from the shop (``features.campaigns.inputs.reminder_candidates``: the last ``storefront.reminder_days``
before the cutoff): each customer's cart, wish-list and viewed items not bought, every item they ever bought, and
their favourite category (most purchase lines). Per request, the live state comes on top, newest first: live cart
adds, wish-list adds and views are reminded at once, live purchases are left out at once. The order is: cart,
wish list, viewed (newest first in each), then "bought by others lately" in the favourite category (or the
categories of the items above). Out-of-stock and already-bought items are never reminded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from features import columns as C
from features.campaigns import rules
from features.campaigns.config import CampaignsConfig
from features.campaigns.control import control_flags
from features.campaigns.inputs import REMINDER_COLUMNS, reminder_candidates
from features.data.reader import Shop
from features.orders import rows_before
from features.words.catalogue import say
from features.words.formats import Lang
from serving.catalog import ItemCatalog
from serving.livestore import Live

KINDS = ("cart", "wishlist", "viewed", "popular")


@dataclass(frozen=True)
class ShopReminders:
    """The shop's side of the reminders, as of the bundle's cutoff."""

    candidates: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(REMINDER_COLUMNS)))
    by_customer: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # (kind, item), in order
    bought: Mapping[str, frozenset[str]] = field(default_factory=dict)
    favourite: Mapping[str, str] = field(default_factory=dict)


def load_reminders(shop: Shop, cutoff: datetime, days: int, catalog: ItemCatalog) -> ShopReminders:
    """Return the shop's reminder candidates, bought items and favourite categories as of ``cutoff``."""
    if not shop.has("transactions", C.ITEM_ID):
        return ShopReminders()
    candidates = reminder_candidates(shop, cutoff, days)
    order = candidates.assign(rank=candidates["kind"].map({kind: i for i, kind in enumerate(KINDS)}))
    order = order.sort_values([C.CUSTOMER_ID, "rank", C.TIMESTAMP], ascending=[True, True, False])
    by_customer = {str(c): tuple(zip(g["kind"], g[C.ITEM_ID], strict=True))
                   for c, g in order.groupby(C.CUSTOMER_ID, sort=False)}
    lines = rows_before(shop.transactions, cutoff)
    lines = lines.filter(lines[C.QUANTITY] > 0, lines[C.ITEM_ID].notnull())
    pairs = lines.group_by([C.CUSTOMER_ID, C.ITEM_ID]).aggregate(n=lines.count()).execute()
    pairs[C.CUSTOMER_ID], pairs[C.ITEM_ID] = pairs[C.CUSTOMER_ID].astype(str), pairs[C.ITEM_ID].astype(str)
    bought = {str(c): frozenset(g[C.ITEM_ID]) for c, g in pairs.groupby(C.CUSTOMER_ID, sort=False)}
    pairs["category"] = pairs[C.ITEM_ID].map(catalog.category)
    per = pairs.dropna(subset=["category"]).groupby([C.CUSTOMER_ID, "category"])["n"].sum().reset_index()
    per = per.sort_values([C.CUSTOMER_ID, "n", "category"], ascending=[True, False, True])
    favourite = dict(zip(per.drop_duplicates(C.CUSTOMER_ID)[C.CUSTOMER_ID],
                         per.drop_duplicates(C.CUSTOMER_ID)["category"], strict=True))
    return ShopReminders(candidates, by_customer, bought, favourite)


def reminders(shop: ShopReminders, catalog: ItemCatalog, customer_id: str, live: Live | None, k: int,
              lang: Lang) -> list[dict[str, str]]:
    """Return up to ``k`` reminders of one customer: item_id, kind and reason (in ``lang``)."""
    bought = shop.bought.get(customer_id, frozenset()) | (live.bought if live else frozenset())
    seen: set[str] = set()
    out: list[dict[str, str]] = []
    for kind, item in _candidates(shop, catalog, customer_id, live):
        if item in seen or item in bought or not catalog.sellable(item):
            continue
        seen.add(item)
        words = say(f"reminder.{kind}", lang, category=catalog.category.get(item, ""))
        out.append({"item_id": item, "kind": kind, "reason": words})
        if len(out) == k:
            break
    return out


def _candidates(shop: ShopReminders, catalog: ItemCatalog, customer_id: str, live: Live | None
                ) -> Iterator[tuple[str, str]]:
    """(kind, item) in reminder order: live then shop for each of cart, wish list and views; then the popular."""
    stored = shop.by_customer.get(customer_id, ())
    looked: list[str] = []
    for kind, fresh in (("cart", live.cart if live else ()), ("wishlist", live.wishlist if live else ()),
                        ("viewed", live.views if live else ())):
        for item in (*reversed(fresh), *(i for k, i in stored if k == kind)):  # live lists are oldest first
            looked.append(item)
            yield kind, item
    yield from (("popular", item) for item in _popular(catalog, shop.favourite.get(customer_id), looked))


def _popular(catalog: ItemCatalog, favourite: str | None, looked: Iterable[str]) -> Iterator[str]:
    categories = [favourite] if favourite else list(dict.fromkeys(catalog.category[i] for i in looked
                                                                  if i in catalog.category))
    for category in categories:
        yield from catalog.lately.get(category, ())


def reminders_audience(shop: ShopReminders, customers: pd.DataFrame, items: pd.DataFrame | None, cutoff: datetime,
                       cfg: CampaignsConfig, limit: int, lang: Lang) -> dict[str, Any]:
    """Return the ``reminders`` campaign audience as ``retention campaigns`` draws it (same rule, same seeded
    control split): most value first, at most ``limit`` rows, the control group's items left empty."""
    chosen = rules.reminders(customers, shop.candidates, items, cfg, lang.value)
    held = control_flags("reminders", chosen[C.CUSTOMER_ID], cfg.control_share, cfg.seed)
    rows = [{"customer_id": c, "control": bool(h), "rule": r, "items": "" if h else i, "value_at_stake": float(v)}
            for c, h, r, i, v in zip(chosen[C.CUSTOMER_ID], held, chosen["rule"], chosen["first_items"],
                                     chosen["value_at_stake"], strict=True)]
    return {"campaign": "reminders", "cutoff": cutoff.date().isoformat(), "control_share": cfg.control_share,
            "seed": cfg.seed, "customers": rows[:limit], "total": len(rows)}
