"""Site-behaviour family (events) on a tiny shop with hand-worked expected values."""

from __future__ import annotations

import pandas as pd
import pytest

from features.data.reader import shop_from_frames
from features.families.build import build_features
from features.families.config import FeaturesConfig
from features.families.site import abandoned_carts, site_features

CUTOFF = "2024-03-01"


def shop():
    tx = pd.DataFrame(
        [
            ("A", "1", "2024-02-10 12:00", "10"),
            ("A", "2", "2024-02-29 20:00", "10"),
            ("B", "3", "2024-01-05", "10"),
        ],
        columns=["customer_id", "order_id", "timestamp", "amount"],
    )
    events = pd.DataFrame(
        [
            ("A", "2024-01-20", "view"),  # before the 30-day window (it starts 31 January)
            ("A", "2024-02-05", "view"),
            ("A", "2024-02-10 10:00", "view"),
            ("A", "2024-02-10 11:00", "cart_add"),  # ordered an hour later: not abandoned
            ("A", "2024-02-20", "cart_add"),  # no order within 24 h: abandoned
            ("A", "2024-02-28 23:00", "cart_add"),  # judged (25 h before the cutoff); ordered 21 h later
            ("A", "2024-02-29 10:00", "cart_add"),  # under 24 h before the cutoff: not judged
            ("A", "2024-02-15", "wishlist_add"),
            ("A", "2024-02-27", "search"),
            ("A", "2024-02-29 23:00", "email_open"),  # a contact, not a visit
            ("A", "2024-01-01", "callback"),  # inside the 90-day contact window
            ("A", "2023-11-01", "chat"),  # outside it
            ("A", "2024-03-01", "view"),  # at the cutoff: never read
            ("C", "2024-02-20", "view"),  # no order: not in the population
        ],
        columns=["customer_id", "timestamp", "event_type"],
    )
    return shop_from_frames({"transactions": tx, "events": events})


def test_site_counts_visits_and_contacts() -> None:
    s = shop()
    a = site_features(s.table("events"), s.transactions, CUTOFF).execute().set_index("customer_id").loc["A"]
    assert (a.views_30d, a.cart_adds_30d, a.wishlist_adds_30d) == (2.0, 4.0, 1.0)
    assert (a.email_opens_30d, a.email_clicks_30d) == (1.0, 0.0)
    assert (a.callbacks_90d, a.chats_90d) == (1.0, 0.0)
    assert a.abandoned_carts_30d == 1.0
    assert a.orders_per_view_30d == pytest.approx(2 / 2)
    assert a.days_since_last_visit == pytest.approx(14 / 24)  # the cart add at 10:00 the day before


def test_abandoned_carts_never_judge_the_last_day() -> None:
    s = shop()
    # with a 48-hour rule the 28 February 23:00 cart add is no longer judged either; 20 February still is
    cfg = FeaturesConfig(abandoned_cart_hours=48)
    frame = abandoned_carts(s.table("events"), s.transactions, CUTOFF, cfg).execute()
    assert frame.set_index("customer_id").abandoned_carts.to_dict() == {"A": 1.0}
    # at noon on 20 February that day's cart add is 12 h old and cannot be judged yet; 24 h old, it can
    assert abandoned_carts(s.table("events"), s.transactions, "2024-02-20 12:00").execute().empty
    assert len(abandoned_carts(s.table("events"), s.transactions, "2024-02-21").execute()) == 1


def test_customers_without_events_get_zero_counts_and_missing_recency() -> None:
    result = build_features(shop(), CUTOFF, FeaturesConfig(families=("rfm", "site")))
    frame = result.frame.set_index("customer_id")
    assert frame.index.tolist() == ["A", "B"]  # C browsed but never ordered
    b = frame.loc["B"]
    assert (b.views_30d, b.cart_adds_30d, b.abandoned_carts_30d, b.callbacks_90d) == (0.0, 0.0, 0.0, 0.0)
    assert pd.isna(b.days_since_last_visit) and pd.isna(b.orders_per_view_30d)
