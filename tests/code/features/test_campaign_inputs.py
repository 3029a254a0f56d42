"""The campaign inputs read from a hand-made shop, and the audiences assembled from them with given scores."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from features.campaigns.audiences import CONTROL_OFFER, ROW_COLUMNS, assemble, audience_ids, select_audiences
from features.campaigns.config import CAMPAIGNS, CampaignsConfig
from features.campaigns.inputs import CampaignInputs, campaign_inputs
from features.data.reader import shop_from_frames

CUTOFF = datetime(2026, 10, 1)


def shop_tables() -> dict[str, pd.DataFrame]:
    lines = [  # customer, order, timestamp, item, price
        ("A", "o1", "2025-10-01 00:00", "I1", 500.0),  # exactly a tier year before the cutoff: counts
        ("A", "o2", "2026-09-01 10:00", "I2", 400.0),
        ("A", "o0", "2025-09-30 23:59", "I1", 999.0),  # a minute earlier: outside the tier year
        ("B", "o3", "2024-01-01 10:00", "I1", 50.0),
        ("B", "o4", "2024-02-01 10:00", "I1", 50.0),
        ("C", "o5", "2026-09-20 18:00", "I1", 80.0),
        ("D", "o6", "2026-09-10 18:00", "I2", 30.0),
        ("D", "o7", "2026-09-30 09:00", "I1", 20.0),  # bought the carted item after the cart add
        ("E", "o8", "2026-11-01 09:00", "I1", 20.0),  # after the cutoff: never read
    ]
    tx = pd.DataFrame(lines, columns=["customer_id", "order_id", "timestamp", "item_id", "price"])
    tx["timestamp"] = pd.to_datetime(tx["timestamp"])
    tx["quantity"] = 1
    events = pd.DataFrame([
        ("A", "2026-09-15 08:00", "email_open", None), ("A", "2026-09-20 08:00", "view", "I1"),
        ("A", "2026-09-20 09:00", "view", "I2"), ("A", "2026-09-25 09:00", "view", "I2"),
        ("A", "2026-08-25 09:00", "view", "I2"),  # more than 30 days before: not a recent visit day
        ("C", "2026-09-29 12:00", "cart_add", "I2"), ("D", "2026-09-29 00:00", "cart_add", "I1"),
        ("C", "2026-09-30 12:00", "cart_add", "I1"),  # 12 hours old: too fresh to call abandoned
    ], columns=["customer_id", "timestamp", "event_type", "item_id"])
    events["timestamp"] = pd.to_datetime(events["timestamp"])
    customers = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "email_opt_in": [True, True, False, True],
                              "birth_date": pd.to_datetime(["1980-01-01", "1970-06-01", "1990-10-05", "1985-10-15"])})
    items = pd.DataFrame({"item_id": ["I1", "I2"], "in_stock": [True, True], "price": [20.0, 35.0]})
    return {"transactions": tx, "events": events, "customers": customers, "items": items}


@pytest.fixture(scope="module")
def inputs() -> CampaignInputs:
    return campaign_inputs(shop_from_frames(shop_tables()), CUTOFF, CampaignsConfig())


def test_customer_frame_as_of_the_cutoff(inputs: CampaignInputs) -> None:
    frame = inputs.customers.set_index("customer_id")
    assert sorted(frame.index) == ["A", "B", "C", "D"]  # E bought only after the cutoff
    assert frame.at["A", "year_spend"] == 900.0 and frame.at["A", "kept_spend"] == 400.0
    assert frame.at["A", "visit_days"] == 2.0 and frame.at["A", "email_opens"] == 1.0
    assert frame.at["C", "days_to_birthday"] == 4.0 and not frame.at["C", "email_opt_in"]
    assert frame.at["C", "best_hour"] == 18 and frame.at["C", "best_weekday"] == "Sunday"
    assert bool(frame.at["B", "is_churned"]) and inputs.has_email_events


def test_carts_come_from_the_window_and_purchases_since(inputs: CampaignInputs) -> None:
    assert sorted(zip(inputs.cart_adds["customer_id"], inputs.cart_adds["item_id"], strict=True)) == [
        ("C", "I2"), ("D", "I1")]
    assert inputs.bought_lines[["customer_id", "item_id"]].values.tolist() == [["D", "I1"]]


def scored(inputs: CampaignInputs) -> pd.DataFrame:
    return inputs.customers.assign(churn_probability=0.5, golden_probability=0.1, expected_value=100.0)


def test_audiences_from_the_inputs(inputs: CampaignInputs) -> None:
    cfg = CampaignsConfig(control_share=0.0)
    customers = scored(inputs)
    selections, window = select_audiences(customers, inputs, cfg)
    assert selections["abandoned_carts"]["customer_id"].tolist() == ["C"]
    assert selections["tier_progress"]["customer_id"].tolist() == ["A"]
    assert selections["birthdays"]["customer_id"].tolist() == ["C"]
    assert window == (7.0, 60.0, 3)  # only A, B and D ever ordered twice: fewer than 20, so the fallback window
    items = pd.Series({"C": "I1;I9;I8;I7", "A": "I5"})
    audiences = assemble(selections, customers, items, inputs, window, cfg)
    carts = audiences.rows["abandoned_carts"]
    assert list(carts.columns) == list(ROW_COLUMNS)
    assert carts.at[0, "items"] == "I2;I1;I9;I8"  # the cart first, then three personal picks
    assert carts.at[0, "email_opt_in"] == "no" and carts.at[0, "messages_per_month"] == 0
    assert set(audiences.manifest["campaign"]) <= set(CAMPAIGNS)  # the suppression list is not a campaign
    assert set(audience_ids(selections)) >= {"A", "C"}


def test_suppression_share_and_saving_in_the_summary(inputs: CampaignInputs) -> None:
    customers = scored(inputs)
    customers["dead_contact"] = customers["customer_id"].isin(["B", "D"])
    cfg = CampaignsConfig(message_cost=0.25, messages_per_month=4)
    selections, window = select_audiences(customers, inputs, cfg)
    audiences = assemble(selections, customers, pd.Series(dtype=object), inputs, window, cfg)
    row = audiences.summary.set_index("campaign").loc["suppression"]
    assert (row["customers"], row["treated"], row["control"]) == (2, 0, 0)
    assert row["note"].startswith("50.0% of the 4 customers are dead contacts; not messaging them saves 2.00 a month")
    assert "B" not in set(audiences.rows["contact_frequency"]["customer_id"])


def test_control_rows_are_marked_and_get_nothing_to_send(inputs: CampaignInputs) -> None:
    cfg = CampaignsConfig(control_share=0.5, seed=8)  # holds back A and C of contact_frequency, not D
    customers = scored(inputs)
    selections, window = select_audiences(customers, inputs, cfg)
    audiences = assemble(selections, customers, pd.Series({c: "I1" for c in "ABCD"}), inputs, window, cfg)
    rows = audiences.rows["contact_frequency"]
    held = rows[rows["control"]]
    assert len(held) and (held["offer"] == CONTROL_OFFER).all() and (held["items"] == "").all()
    assert (rows.loc[~rows["control"], "offer"] != CONTROL_OFFER).all()
    book = audiences.manifest[audiences.manifest["campaign"] == "contact_frequency"]
    assert book.set_index("customer_id")["control"].to_dict() == rows.set_index("customer_id")["control"].to_dict()


def test_winback_window_must_fit_inside_the_reactivation_window(inputs: CampaignInputs) -> None:
    with pytest.raises(ValueError, match="winback_days \\(90\\) must be shorter than segments.reactivation_days"):
        select_audiences(scored(inputs), inputs, CampaignsConfig(winback_days=90))


def test_a_spend_right_on_the_premier_bar_is_exactly_on_it() -> None:
    """10,000 lines of 0.10 are 1,000.00, the Premier bar: summed as floats they come out a hair off it (above or
    below with the order of addition), which would put a Premier customer "within reach" of what she has."""
    tables = shop_tables()
    bar = CampaignsConfig().premier_threshold
    lines = pd.DataFrame({"customer_id": "P", "order_id": [f"p{k}" for k in range(10_000)],
                          "timestamp": pd.Timestamp("2026-09-15 12:00"), "item_id": "I1", "price": 0.1,
                          "quantity": 1})
    assert sum(lines["price"]) != bar  # what a float sum gives
    tables["transactions"] = pd.concat([tables["transactions"], lines], ignore_index=True)
    got = campaign_inputs(shop_from_frames(tables), CUTOFF, CampaignsConfig()).customers.set_index("customer_id")
    assert got.at["P", "year_spend"] == bar and got.at["P", "kept_spend"] == bar
