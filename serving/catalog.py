"""The shop's items as the storefront routes need them: price, stock, category, best sellers, loaded per bundle.

Prices and stock come from the ``items`` table (``price``: the list price a cart is charged, ``in_stock``); an
item without a price there has none here (a cart top-up cannot count it and says so). Best sellers are ranked by
purchase lines before the bundle's cutoff; "lately" by distinct buyers in the last ``days`` before it (the
reminders' "bought by others lately"). Out-of-stock items are never in either list.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis
import pandas as pd

from features import columns as C
from features.data.reader import Shop
from features.orders import rows_before

TOP_PER_CATEGORY = 200  # best sellers kept per category (top-up and reminder candidates)


@dataclass(frozen=True)
class ItemCatalog:
    """Prices, stock and categories of the shop's items, and each category's best sellers (in stock only)."""

    price: Mapping[str, float] = field(default_factory=dict)
    out_of_stock: frozenset[str] = frozenset()
    category: Mapping[str, str] = field(default_factory=dict)
    best_sellers: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # all time, most lines first
    lately: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # most buyers in the last days first
    has_price: bool = False

    def sellable(self, item: str) -> bool:
        return item not in self.out_of_stock


def load_catalog(shop: Shop, cutoff: datetime, days: int) -> ItemCatalog:
    """Return the catalogue of ``shop`` as of ``cutoff`` (purchase lines before it; ``days``: "lately")."""
    if not shop.has("transactions", C.ITEM_ID):
        return ItemCatalog()
    items = shop.to_pandas("items") if shop.has("items") else pd.DataFrame({C.ITEM_ID: []})
    items[C.ITEM_ID] = items[C.ITEM_ID].astype(str)
    price: dict[str, float] = {}
    if C.PRICE in items.columns:
        priced = items[[C.ITEM_ID, C.PRICE]].dropna()
        price = dict(zip(priced[C.ITEM_ID], priced[C.PRICE].astype(float), strict=True))
    out: frozenset[str] = frozenset()
    if C.IN_STOCK in items.columns:
        out = frozenset(items.loc[~items[C.IN_STOCK].fillna(True).astype(bool), C.ITEM_ID])
    category: dict[str, str] = {}
    if C.CATEGORY in items.columns:
        named = items[[C.ITEM_ID, C.CATEGORY]].dropna()
        category = dict(zip(named[C.ITEM_ID], named[C.CATEGORY].astype(str), strict=True))
    lines = rows_before(shop.transactions, cutoff)
    lines = lines.filter(lines[C.QUANTITY] > 0, lines[C.ITEM_ID].notnull())
    recent = lines[C.TIMESTAMP] >= ibis.timestamp(cutoff - timedelta(days=days))
    counts = lines.group_by(C.ITEM_ID).aggregate(lines=lines.count(),
                                                 buyers=lines[C.CUSTOMER_ID].nunique(where=recent)).execute()
    counts[C.ITEM_ID] = counts[C.ITEM_ID].astype(str)
    counts = counts[~counts[C.ITEM_ID].isin(out)]
    counts["category"] = counts[C.ITEM_ID].map(category)
    return ItemCatalog(price, out, category, _ranked(counts, "lines"), _ranked(counts[counts["buyers"] > 0], "buyers"),
                       bool(price))


def _ranked(counts: pd.DataFrame, by: str) -> dict[str, tuple[str, ...]]:
    ranked = counts.dropna(subset=["category"]).sort_values([by, C.ITEM_ID], ascending=[False, True])
    return {str(name): tuple(group[C.ITEM_ID].head(TOP_PER_CATEGORY))
            for name, group in ranked.groupby("category", sort=False)}


def catalog_frame(catalog: ItemCatalog) -> pd.DataFrame:
    """Return the catalogue as the campaign rules read the items table: item_id, price, in_stock."""
    ids = sorted(set(catalog.price) | set(catalog.category) | catalog.out_of_stock)
    return pd.DataFrame({C.ITEM_ID: ids, C.PRICE: [catalog.price.get(i, float("nan")) for i in ids],
                         C.IN_STOCK: [i not in catalog.out_of_stock for i in ids]})
