"""Channel / device and timing families on a tiny shop with hand-worked expected values."""

from __future__ import annotations

import pandas as pd
import pytest

from features.data.reader import shop_from_frames
from features.families.build import build_features
from features.families.channel import channel_features
from features.families.config import FeaturesConfig
from features.families.timing import has_time_of_day, timing_features

CUTOFF = "2024-03-01"


def shop(with_times: bool = True):
    tx = pd.DataFrame(
        [  # 5 and 12 February 2024 are Mondays, 14 February a Wednesday, 10 February a Saturday
            ("A", "1", "2024-02-05 09:15", "Mobile", "web"),
            ("A", "2", "2024-02-12 09:40", "desktop", "web"),
            ("A", "3", "2024-02-14 20:00", None, "app"),
            ("A", "3", "2024-02-14 20:00", "desktop", "app"),  # the order's device comes from its other line
            ("B", "4", "2024-02-10 14:00", "tablet", None),
            ("C", "5", "2024-02-06 10:00", "desktop", "web"),  # Tuesday
            ("C", "6", "2024-02-08 11:00", "mobile", "app"),  # Thursday: ties go to the most recent
            ("A", "7", "2024-03-04 09:00", "mobile", "app"),  # after the cutoff
        ],
        columns=["customer_id", "order_id", "timestamp", "device", "channel"],
    )
    tx["amount"] = "10"
    if not with_times:
        tx["timestamp"] = tx["timestamp"].str[:10]
    return shop_from_frames({"transactions": tx})


def by_customer(table) -> pd.DataFrame:
    return table.execute().set_index("customer_id").sort_index()


def test_main_device_and_channel_and_mobile_share() -> None:
    frame = by_customer(channel_features(shop().transactions, CUTOFF))
    assert "main_source" not in frame.columns  # no source column: left out, not faked
    a, b, c = frame.loc["A"], frame.loc["B"], frame.loc["C"]
    assert (a.main_device, a.main_channel) == ("desktop", "web")
    assert a.mobile_share == pytest.approx(1 / 3)  # "Mobile" counts, case-insensitively
    assert b.main_device == "tablet" and pd.isna(b.main_channel)
    assert b.mobile_share == 1.0
    assert (c.main_device, c.main_channel) == ("mobile", "app")  # one order each: the most recent wins


def test_preferred_weekday_and_hour_with_shares() -> None:
    frame = by_customer(timing_features(shop().transactions, CUTOFF))
    a, c = frame.loc["A"], frame.loc["C"]
    assert (a.preferred_weekday, a.preferred_weekday_share) == ("Monday", pytest.approx(2 / 3))
    assert (a.preferred_hour, a.preferred_hour_share) == (9.0, pytest.approx(2 / 3))
    assert (c.preferred_weekday, c.preferred_weekday_share) == ("Thursday", 0.5)
    assert c.preferred_hour == 11.0


def test_hour_is_left_out_when_timestamps_are_dates() -> None:
    dated = shop(with_times=False)
    assert not has_time_of_day(dated.transactions, CUTOFF)
    assert has_time_of_day(shop().transactions, CUTOFF)
    result = build_features(dated, CUTOFF, FeaturesConfig(families=("rfm", "timing", "channel")))
    assert "preferred_hour" not in result.frame.columns
    assert result.frame.set_index("customer_id").loc["A", "preferred_weekday"] == "Monday"
    assert any("hour" in note for note in result.notes)
    assert any("main_source" in note for note in result.notes)


def test_channel_family_needs_one_of_its_columns() -> None:
    tx = pd.DataFrame({"customer_id": ["A"], "order_id": ["1"], "timestamp": ["2024-01-01"], "amount": ["5"]})
    with pytest.raises(ValueError, match="channel, device or source"):
        channel_features(shop_from_frames({"transactions": tx}).transactions, CUTOFF)
