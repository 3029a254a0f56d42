"""Basket, category and promotion families on a tiny shop with hand-worked expected values."""

from __future__ import annotations

import pandas as pd
import pytest

from features.data.reader import shop_from_frames
from features.families.basket import basket_features, category_features
from features.families.config import FeaturesConfig
from features.families.promotions import promotion_features

CUTOFF = "2024-03-01"


def shop():
    tx = pd.DataFrame(
        [  # customer, order, time, item, unit price, quantity, discount
            ("A", "1", "2024-01-10", "i1", "10", "2", "0"),
            ("A", "1", "2024-01-10", "i2", "30", "1", "5"),
            ("A", "2", "2024-02-10", "i1", "10", "1", "0"),
            ("A", "2", "2024-02-10", "i3", "4", "1", "0"),  # i3 has no category
            ("A", "3", "2024-02-20", "i2", "30", "-1", "0"),  # a return: not part of the basket
            ("A", "6", "2024-03-05", "i2", "30", "10", "0"),  # after the cutoff
            ("B", "4", "2024-01-15", "i1", "14", "1", "2"),
            ("B", "5", "2024-02-15", "i2", "18", "2", "1"),
        ],
        columns=["customer_id", "order_id", "timestamp", "item_id", "price", "quantity", "discount"],
    )
    items = pd.DataFrame({"item_id": ["i1", "i2", "i3"], "category": ["X", "Y", None]})
    return shop_from_frames({"transactions": tx, "items": items})


def by_customer(table) -> pd.DataFrame:
    return table.execute().set_index("customer_id").sort_index()


def test_items_per_order_and_distinct_items() -> None:
    frame = by_customer(basket_features(shop().transactions, CUTOFF))
    assert frame.loc["A"].items_per_order == pytest.approx((3 + 2) / 2)  # order 3 is return-only
    assert frame.loc["A"].distinct_items == 3.0
    assert frame.loc["B"].items_per_order == pytest.approx(1.5)
    assert frame.loc["B"].distinct_items == 2.0


def test_categories_top_share_and_price_level() -> None:
    s = shop()
    frame = by_customer(category_features(s.transactions, s.table("items"), CUTOFF))
    # category unit prices before the cutoff: X = (20 + 10 + 14) / 4 units = 11, Y = (30 + 36) / 3 units = 22
    a, b = frame.loc["A"], frame.loc["B"]
    assert a.distinct_categories == 2.0  # i3 has no category and is left out
    assert a.top_category == "X"  # X and Y tie at 30: alphabetical
    assert a.top_category_share == pytest.approx(0.5)
    assert a.price_level == pytest.approx(60 / (3 * 11 + 1 * 22))
    assert b.top_category == "Y"
    assert b.top_category_share == pytest.approx(36 / 50)
    assert b.price_level == pytest.approx(50 / (1 * 11 + 2 * 22))


def test_promotion_shares_and_sale_only_flag() -> None:
    frame = by_customer(promotion_features(shop().transactions, CUTOFF))
    a, b = frame.loc["A"], frame.loc["B"]
    assert a.discount_order_share == pytest.approx(0.5)
    assert a.discount_revenue_share == pytest.approx(30 / (20 + 30 + 10 + 4))
    assert a.buys_only_on_sale == 0.0
    assert (b.discount_order_share, b.discount_revenue_share, b.buys_only_on_sale) == (1.0, 1.0, 1.0)


def test_sale_only_flag_needs_enough_orders() -> None:
    cfg = FeaturesConfig(sale_only_min_orders=3)
    frame = by_customer(promotion_features(shop().transactions, CUTOFF, cfg))
    assert frame.loc["B"].buys_only_on_sale == 0.0
