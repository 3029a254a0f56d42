"""Reminder candidates and the reminders audience on a hand-made shop: windows, bought items, removed carts, stock."""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from features.campaigns import rules
from features.campaigns.config import CampaignsConfig
from features.campaigns.inputs import reminder_candidates
from features.data.reader import Shop, shop_from_frames

CUTOFF = datetime(2026, 10, 1)


def shop() -> Shop:
    lines = pd.DataFrame({"customer_id": ["A", "A", "B"], "order_id": ["o1", "o2", "o3"],
                          "timestamp": pd.to_datetime(["2026-08-01", "2026-09-20", "2026-09-01"]),
                          "item_id": ["I1", "I2", "I9"], "price": [10.0, 20.0, 5.0], "quantity": [1, 1, 1]})
    ev = [("A", "2026-09-25", "view", "I2"),  # bought before the cutoff: never
          ("A", "2026-09-26", "view", "I3"), ("A", "2026-09-27", "view", "I3"),  # once, the latest time
          ("A", "2026-09-28", "wishlist_add", "I4"),
          ("A", "2026-08-01", "view", "I5"),  # before the 30-day window
          ("A", "2026-10-01", "view", "I6"),  # at the cutoff: not read
          ("A", "2026-09-29", "cart_add", "I7"), ("A", "2026-09-30", "cart_remove", "I7"),  # removed again
          ("B", "2026-09-29", "cart_remove", "I8"), ("B", "2026-09-30", "cart_add", "I8"),  # still in the cart
          ("B", "2026-09-29", "view", "I0")]  # out of stock (the audience leaves it out)
    events = pd.DataFrame(ev, columns=["customer_id", "timestamp", "event_type", "item_id"])
    events["timestamp"] = pd.to_datetime(events["timestamp"])
    items = pd.DataFrame({"item_id": [f"I{i}" for i in range(10)], "category": ["c"] * 10,
                          "price": [float(i) for i in range(10)], "in_stock": [i != 0 for i in range(10)]})
    return shop_from_frames({"transactions": lines, "events": events, "items": items})


def test_candidates_follow_the_window_purchases_and_cart_removals() -> None:
    found = reminder_candidates(shop(), CUTOFF, 30)
    got = set(zip(found["customer_id"], found["item_id"], found["kind"], strict=True))
    assert got == {("A", "I3", "viewed"), ("A", "I4", "wishlist"), ("B", "I8", "cart"), ("B", "I0", "viewed")}
    assert found.loc[found["item_id"] == "I3", "timestamp"].item() == pd.Timestamp("2026-09-27")


def test_the_audience_takes_viewed_and_wished_items_in_stock_wish_list_first() -> None:
    s = shop()
    found = reminder_candidates(s, CUTOFF, 30)
    customers = pd.DataFrame({"customer_id": ["A", "B"]})
    chosen = rules.reminders(customers, found, s.to_pandas("items"), CampaignsConfig(), "en")
    assert chosen["customer_id"].tolist() == ["A"]  # B has only a cart item and an out-of-stock view
    assert chosen["first_items"].item() == "I4;I3" and chosen["value_at_stake"].item() == 7.0
    assert chosen["rule"].item() == ("2 items viewed or wished for in the 30 days before the cutoff, in stock, not "
                                     "bought: I4;I3")
