"""build_features: families joined on the RFM population, left out with reasons, typed, and catalogued."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pydantic
import pytest

from features.data.cdnow import cdnow_transactions, read_cdnow
from features.data.reader import shop_from_frames
from features.families.build import FEATURES, build_features, feature_catalogue
from features.families.config import FeaturesConfig

CDNOW_SAMPLE = Path(__file__).parents[2] / "data" / "cdnow_sample.txt"


@pytest.fixture(scope="module")
def cdnow():
    return build_features(shop_from_frames({"transactions": cdnow_transactions(read_cdnow(CDNOW_SAMPLE))}),
                          "1997-10-01")


def full_shop(events_from: str = "2024-02-01"):
    tx = pd.DataFrame(
        [
            ("A", "1", "2024-01-10 09:00", "i1", "10", "2", "0", "web", "mobile", "ads"),
            ("A", "2", "2024-02-10 18:30", "i2", "30", "1", "5", "app", "mobile", "mail"),
            ("B", "3", "2024-01-20 12:00", "i1", "12", "1", "0", "web", "desktop", "ads"),
        ],
        columns=["customer_id", "order_id", "timestamp", "item_id", "price", "quantity", "discount", "channel",
                 "device", "source"],
    )
    events = pd.DataFrame({"customer_id": ["A", "B"], "timestamp": [events_from, "2024-03-05"],
                           "event_type": ["view", "cart_add"]})
    customers = pd.DataFrame({"customer_id": ["A", "B"], "birth_date": ["1990-05-01", None],
                              "signup_date": ["2023-01-01", "2023-06-01"], "gender": ["f", "m"],
                              "city": ["Lyon", "Nice"], "acquisition_source": ["ads", "friend"],
                              "email_opt_in": ["yes", "no"]})
    items = pd.DataFrame({"item_id": ["i1", "i2"], "category": ["X", "Y"]})
    return shop_from_frames({"transactions": tx, "events": events, "customers": customers, "items": items})


def test_transactions_only_shop_leaves_out_what_it_cannot_compute(cdnow) -> None:
    assert set(cdnow.included) == {"rfm", "cadence", "bgnbd", "timing"}
    assert set(cdnow.left_out) == {"basket", "categories", "promotions", "site", "channel", "profile"}
    assert "transactions.item_id" in cdnow.left_out["basket"] and "events" in cdnow.left_out["site"]
    assert any("hour" in note for note in cdnow.notes)  # CDNOW has dates only
    assert not {"distinct_items", "views_30d", "main_device", "preferred_hour"} & set(cdnow.frame.columns)


def test_population_is_everyone_who_ordered_before_the_cutoff(cdnow) -> None:
    lines = cdnow_transactions(read_cdnow(CDNOW_SAMPLE))
    expected = sorted(lines.loc[lines["timestamp"] < "1997-10-01", "customer_id"].unique())
    assert cdnow.frame["customer_id"].tolist() == expected


def test_bgnbd_columns_are_probabilities_and_counts(cdnow) -> None:
    frame = cdnow.frame
    assert frame["bgnbd_p_alive"].between(0, 1).all()
    assert (frame["bgnbd_expected_orders_90d"] >= 0).all()
    # a customer who bought often and recently is likelier alive than one who bought often long ago
    recent = frame.sort_values(["orders", "days_since_last_order"], ascending=[False, True])
    assert recent["bgnbd_p_alive"].iloc[0] > frame.loc[frame.orders > 3].bgnbd_p_alive.min()


def test_every_column_is_catalogued_and_typed() -> None:
    result = build_features(full_shop(), "2024-03-01")
    assert not result.left_out.keys() - {"bgnbd"}  # the fit may fail on two customers; nothing else is missing
    catalogue = feature_catalogue()
    features = [c for c in result.frame.columns if c != "customer_id"]
    assert set(features) <= set(catalogue)
    for column in features:
        dtype = result.frame[column].dtype
        if catalogue[column].kind == "numeric":
            assert dtype == "float64", column
        else:
            assert pd.api.types.is_string_dtype(dtype), column
    assert set(result.family_columns("channel")) == {"main_device", "main_channel", "main_source", "mobile_share"}


def test_catalogue_phrases_read_as_sentences() -> None:
    assert FEATURES["days_since_last_order"].describe(210.4) == "no order for 210 days"
    assert FEATURES["overdue_ratio"].describe(3.0) == "3.0 times their usual gap since the last order"
    assert FEATURES["buys_only_on_sale"].describe(1.0) == "buys only on sale"
    assert FEATURES["email_opt_in"].describe(0.0) == "not opted in to e-mail"
    assert FEATURES["preferred_weekday"].describe("Monday") == "usually orders on Mondays"
    assert FEATURES["discount_order_share"].describe(0.25) == "25% of orders had a discount"
    assert {f.family for f in FEATURES.values()} == set(FeaturesConfig().families)
    assert "orders_7d" in feature_catalogue(FeaturesConfig(windows_days=(7,)))


def test_events_only_after_the_cutoff_leave_the_site_family_out() -> None:
    result = build_features(full_shop(events_from="2024-03-02"), "2024-03-01")
    assert "site" in result.left_out and "views_30d" not in result.frame.columns
    assert "views_30d" in build_features(full_shop(), "2024-03-01").frame.columns


def test_a_cutoff_before_every_order_is_an_error() -> None:
    with pytest.raises(ValueError, match="no purchase order before the cutoff"):
        build_features(full_shop(), "2023-01-01")


def test_config_refuses_unknown_families_and_keys() -> None:
    with pytest.raises(pydantic.ValidationError, match="unknown feature families"):
        FeaturesConfig(families=("rfm", "astrology"))
    with pytest.raises(pydantic.ValidationError):
        FeaturesConfig(window_days=(30,))
    only = build_features(full_shop(), "2024-03-01", FeaturesConfig(families=("promotions",)))
    assert set(only.included) == {"rfm", "promotions"}  # rfm is the population, always built
