"""What a shop holds, in the numbers a person checks first: size, dates, revenue, repeat share, what is present."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from features.data.contract import ALWAYS_ON, FEATURE_NEEDS, SPECS
from features.data.duck import row, scalar
from features.data.reader import Shop


class ShopSummary(BaseModel):
    source: str
    lines: int
    orders: int
    customers: int
    items: int | None
    first_order: datetime
    last_order: datetime
    net_revenue: float
    return_lines: int
    repeat_customer_share: float
    tables: dict[str, int]
    optional_columns: dict[str, list[str]]
    missing_columns: dict[str, list[str]]
    absent_tables: list[str]
    enabled: list[str]
    disabled: list[str]


def shop_summary(shop: Shop) -> ShopSummary:
    """Return the shop's summary; one SQL pass over transactions plus a row count per table."""
    has_items = shop.has("transactions", "item_id")
    lines, orders, customers, items, first, last, revenue, returns = row(
        shop.sql,
        "SELECT count(*), count(DISTINCT order_id), count(DISTINCT customer_id), "
        f"{'count(DISTINCT item_id)' if has_items else 'NULL'}, min(timestamp), max(timestamp), sum(revenue), "
        "count(*) FILTER (WHERE quantity < 0) FROM transactions")
    repeat = scalar(
        shop.sql, "SELECT avg(CASE WHEN n > 1 THEN 1.0 ELSE 0.0 END) FROM "
        "(SELECT customer_id, count(DISTINCT order_id) AS n FROM transactions GROUP BY customer_id)")
    enabled, disabled = feature_availability(shop)
    return ShopSummary(
        source=shop.source, lines=lines, orders=orders, customers=customers, items=items, first_order=first,
        last_order=last, net_revenue=float(revenue or 0.0), return_lines=returns,
        repeat_customer_share=float(repeat or 0.0),
        tables={name: scalar(shop.sql, f"SELECT count(*) FROM {name}") for name in shop.columns},
        optional_columns={n: [c for c in SPECS[n].optional if shop.has(n, c)] for n in shop.columns},
        missing_columns={n: [c for c in SPECS[n].optional if not shop.has(n, c)] for n in shop.columns},
        absent_tables=[n for n in SPECS if n not in shop.columns],
        enabled=enabled, disabled=disabled,
    )


def feature_availability(shop: Shop) -> tuple[list[str], list[str]]:
    """Split FEATURE_NEEDS into what this shop's tables and columns enable and what they leave out (with why)."""
    enabled, disabled = list(ALWAYS_ON), []
    for feature, needs in FEATURE_NEEDS.items():
        missing = [need for need in needs if not any(_present(shop, alt) for alt in need.split("|"))]
        if missing:
            disabled.append(f"{feature}: needs {' and '.join(m.replace('|', ' or ') for m in missing)}")
        else:
            enabled.append(feature)
    return enabled, disabled


def _present(shop: Shop, need: str) -> bool:
    table, _, column = need.partition(".")
    return shop.has(table, column or None)
