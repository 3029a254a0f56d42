"""The point-in-time rule, as a property: rows at or after the cutoff never move any feature of any customer.

"Rows at or after the cutoff" means: transaction lines and events with ``timestamp >= cutoff`` (including
lines added to an order that started before the cutoff, and new customers), and customers rows whose
``signup_date >= cutoff`` (the customers table is a snapshot; its only time is the sign-up). Each example
draws the rows before the cutoff once and two independent sets of rows at or after it; between the two
shops every such row may be added, changed or deleted. The items catalogue has no time and is shared.
Twenty examples keep the file near 30 s on two busy cores (each example reads and builds two shops, BG/NBD fit
included); 120 examples passed when the test was written (``max_examples=120``, about 4 minutes).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from features.columns import EVENT_TYPES
from features.data.reader import shop_from_frames
from features.families.build import build_features

CUTOFF = datetime(2024, 6, 1)
CUSTOMERS = [f"c{i}" for i in range(5)]
ITEMS = pd.DataFrame({"item_id": ["i0", "i1", "i2", "i3"], "category": ["X", "X", "Y", None]})

# Times crowd near the cutoff (where a leak would show: the last day's carts, windows' edges) and spread wide.
before = st.one_of(st.integers(1, 48 * 60), st.integers(1, 400 * 24 * 60)).map(
    lambda m: CUTOFF - timedelta(minutes=m))
at_or_after = st.one_of(st.just(0), st.integers(0, 48 * 60), st.integers(0, 90 * 24 * 60)).map(
    lambda m: CUTOFF + timedelta(minutes=m))


def line(when: st.SearchStrategy[datetime]) -> st.SearchStrategy[dict]:
    customer = st.sampled_from(CUSTOMERS + ["new"])
    return st.fixed_dictionaries({
        "customer_id": customer, "order": st.integers(0, 4), "timestamp": when,
        "item_id": st.sampled_from(["i0", "i1", "i2", "i3"]), "price": st.sampled_from([5.0, 10.0, 24.5]),
        "quantity": st.sampled_from([1, 1, 2, 3, -1]), "discount": st.sampled_from([0.0, 0.0, 2.0]),
        "device": st.sampled_from(["mobile", "desktop", None]), "channel": st.sampled_from(["web", "app"]),
    })


def event(when: st.SearchStrategy[datetime]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({"customer_id": st.sampled_from(CUSTOMERS), "timestamp": when,
                                  "event_type": st.sampled_from(("cart_add", "view", *EVENT_TYPES))})


def profile(signup: st.SearchStrategy[datetime | None]) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({
        "signup_date": signup, "birth_date": st.sampled_from(["1980-02-29", "1995-06-01", "2001-12-31", None]),
        "gender": st.sampled_from(["f", "m", None]), "city": st.sampled_from(["Lyon", "Nice"]),
        "email_opt_in": st.sampled_from(["yes", "no"]),
    })


@st.composite
def shops(draw: st.DrawFn) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """Return two shops that agree on every row before the cutoff and differ freely at or after it."""
    lines_before = draw(st.lists(line(before), min_size=1, max_size=25))
    events_before = draw(st.lists(event(before), max_size=15))
    known = {c: draw(profile(st.one_of(st.none(), before))) for c in CUSTOMERS[:3]}
    shop_pair = []
    for _ in range(2):
        later_lines = draw(st.lists(line(at_or_after), max_size=10))
        later_events = draw(st.lists(event(at_or_after), max_size=8))
        # customers c3, c4 (and a brand-new one) have no row, or one that signs up at or after the cutoff
        later = {c: draw(profile(at_or_after)) for c in [*CUSTOMERS[3:], "n1"] if draw(st.booleans())}
        shop_pair.append(tables(lines_before + later_lines, events_before + later_events, known | later))
    return shop_pair[0], shop_pair[1]


def tables(lines: list[dict], events: list[dict], customers: dict[str, dict]) -> dict[str, pd.DataFrame]:
    tx = pd.DataFrame(lines)
    tx["order_id"] = tx["customer_id"] + "-" + tx.pop("order").astype(str)  # an order keeps one customer
    frames = {"transactions": tx, "items": ITEMS}
    if events:
        frames["events"] = pd.DataFrame(events)
    frames["customers"] = pd.DataFrame([{"customer_id": c, **row} for c, row in customers.items()])
    return frames


def features_of(frames: dict[str, pd.DataFrame]) -> tuple[pd.DataFrame | None, dict[str, str]]:
    """Return the feature frame (None when no one ordered before the cutoff) and the left-out families."""
    try:
        result = build_features(shop_from_frames(frames), CUTOFF)
    except ValueError as exc:
        assert "no purchase order before the cutoff" in str(exc)
        return None, {}
    return result.frame, result.left_out


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(shops())
def test_rows_at_or_after_the_cutoff_change_no_feature(pair: tuple[dict, dict]) -> None:
    first, second = pair
    frame, left_out = features_of(first)
    other, other_left_out = features_of(second)
    if frame is None:
        assert other is None
        return
    assert other is not None
    assert left_out.keys() == other_left_out.keys()  # events may be absent in both, or present in both
    pd.testing.assert_frame_equal(frame, other, check_exact=False, rtol=1e-9)
