"""Each audience rule on hand-made customers, including its boundaries (pure functions, no shop needed)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
import pytest

from features.campaigns import rules
from features.campaigns.config import CampaignsConfig

CFG = CampaignsConfig()
CUTOFF = datetime(2026, 10, 1)
DEAD_AFTER = 90.0  # segments.reactivation_days: churned this long past the boundary = dead contact


def customer(cid: str, **values: object) -> dict:
    row = {"customer_id": cid, "segment": "Active", "is_golden_now": False, "is_churned": False,
           "dead_contact": False, "recency_days": 10.0, "churn_threshold_days": 60.0, "frequency": 3,
           "tenure_days": 300.0, "best_weekday": "Monday", "best_hour": 9, "email_opt_in": True,
           "days_to_birthday": 100.0, "year_spend": 300.0, "kept_spend": 300.0, "visit_days": 0.0,
           "email_opens": 1.0, "churn_probability": 0.5, "golden_probability": 0.1, "expected_value": 100.0}
    row.update(values)
    return row


def frame(*rows: dict) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    out["email_opt_in"] = out["email_opt_in"].astype("boolean")
    return out


def churned(cid: str, past: float, **values: object) -> dict:
    """A churned customer ``past`` days beyond a 60-day boundary."""
    return customer(cid, is_churned=past > 0, recency_days=60.0 + past, **values)


def ids(selection: pd.DataFrame) -> list[str]:
    return selection["customer_id"].tolist()


def test_reactivation_and_win_back_split_the_churned_by_days_past_the_boundary() -> None:
    base = frame(churned("fresh", 1), churned("edge", 60), churned("winback", 60.5), churned("last", 90),
                 churned("dead", 91, dead_contact=True), churned("not_yet", 0), churned("engaged", 120))
    # 60 = 90 - winback_days(30): the last day of reactivation; win-back is (60, 90]
    assert sorted(ids(rules.reactivation(base, CFG, DEAD_AFTER))) == ["edge", "fresh"]
    assert sorted(ids(rules.win_back(base, CFG, DEAD_AFTER))) == ["last", "winback"]
    assert ids(rules.suppression(base)) == ["dead"]
    words = rules.reactivation(base, CFG, DEAD_AFTER).set_index("customer_id")["rule"]
    assert words["fresh"].startswith("no order for 61 days: 1 days past their own churn boundary of 60 days (about "
                                     "twice their usual gap)")
    assert "a dead contact in 0 days" in rules.win_back(base, CFG, DEAD_AFTER).set_index("customer_id").at[
        "last", "rule"]


def test_reactivation_needs_enough_expected_lost_value_and_ranks_by_it() -> None:
    base = frame(churned("small", 10, expected_value=10.0), churned("big", 10, expected_value=400.0),
                 churned("exact", 10, expected_value=100.0))  # lost = 0.5 x value
    cfg = CampaignsConfig(reactivation_min_value=50.0)
    selection = rules.reactivation(base, cfg, DEAD_AFTER)
    assert ids(selection) == ["big", "exact"]  # 50 is enough (inclusive), 5 is not
    assert selection["value_at_stake"].tolist() == [200.0, 50.0]


def test_second_order_window_comes_from_the_shops_own_gaps() -> None:
    rows = []
    for i, gap in enumerate(range(1, 101)):  # second orders 1..100 days after the first
        rows += [(f"r{i:03d}", datetime(2025, 1, 1)), (f"r{i:03d}", datetime(2025, 1, 1) + pd.Timedelta(days=gap))]
    purchases = pd.DataFrame(rows, columns=["customer_id", "timestamp"])
    lo, hi, repeaters = rules.second_order_window(purchases, CFG)
    assert repeaters == 100 and (lo, hi) == (10.0, 81.0)  # quantiles 0.1 and 0.8 of 1..100: 10.9 -> 10, 80.2 -> 81
    few = purchases[purchases["customer_id"] < "r005"]
    assert rules.second_order_window(few, CFG) == (7.0, 60.0, 5)  # the fallback and how many it had


def test_second_order_takes_one_time_buyers_inside_the_window_only() -> None:
    base = frame(customer("early", frequency=1, tenure_days=9.9), customer("first_day", frequency=1, tenure_days=10),
                 customer("last_day", frequency=1, tenure_days=81), customer("late", frequency=1, tenure_days=81.1),
                 customer("repeat", frequency=2, tenure_days=30),
                 customer("churned", frequency=1, tenure_days=30, is_churned=True))
    selection = rules.second_order(base, (10.0, 81.0, 100), CFG)
    assert sorted(ids(selection)) == ["first_day", "last_day"]
    assert "10% to 80% of this shop's 100 second orders came 10 to 81 days after the first" in selection["rule"][0]


def test_vip_care_keeps_the_golden_and_grows_the_likely_golden() -> None:
    base = frame(customer("gold", is_golden_now=True, golden_probability=0.2),
                 customer("likely", golden_probability=0.5), customer("unlikely", golden_probability=0.49),
                 customer("gone", golden_probability=0.9, is_churned=True))
    selection = rules.vip_care(base, CFG)
    assert ids(selection) == ["gold", "likely"]
    assert selection["offer_key"].tolist() == ["vip_care/keep", "vip_care/grow"]
    assert "50% likely to be golden next period" in selection["rule"][1]


def test_abandoned_carts_are_24_to_72_hours_old_in_stock_and_not_bought_since() -> None:
    base = frame(*(customer(c) for c in ("a", "b", "c", "d", "e")))
    h = pd.Timedelta(hours=1)
    adds = pd.DataFrame({"customer_id": ["a", "b", "c", "d", "e"],
                         "timestamp": [CUTOFF - 24 * h, CUTOFF - 72 * h, CUTOFF - 30 * h, CUTOFF - 30 * h,
                                       CUTOFF - 30 * h],
                         "item_id": ["I1", "I1", "I2", "I1", "I1"]})
    bought = pd.DataFrame({"customer_id": ["d", "e"], "timestamp": [CUTOFF - 29 * h, CUTOFF - 31 * h],
                           "item_id": ["I1", "I1"]})  # d bought after the add, e only before it
    items = pd.DataFrame({"item_id": ["I1", "I2"], "in_stock": [True, False], "price": [20.0, 5.0]})
    selection = rules.abandoned_carts(base, adds, bought, items, CUTOFF)
    assert sorted(ids(selection)) == ["a", "b", "e"]  # c: out of stock; d: bought since
    assert set(selection["first_items"]) == {"I1"} and set(selection["value_at_stake"]) == {20.0}
    assert "added to the cart 24 hours before the cutoff" in selection.set_index("customer_id").at["a", "rule"]


def test_birthdays_in_the_next_n_days_golden_and_loyal_first() -> None:
    base = frame(customer("today", days_to_birthday=0.0), customer("last", days_to_birthday=13.0),
                 customer("out", days_to_birthday=14.0), customer("none", days_to_birthday=float("nan")),
                 customer("loyal", days_to_birthday=5.0, segment="Loyal"),
                 customer("gold", days_to_birthday=9.0, is_golden_now=True))
    selection = rules.birthdays(base, CFG)
    assert ids(selection) == ["gold", "loyal", "today", "last"]
    assert selection["rule"].tolist()[:3] == ["birthday in 9 days (golden customer)",
                                              "birthday in 5 days (loyal customer)", "birthday today (customer)"]


def test_tier_progress_within_reach_and_about_to_drop_out() -> None:
    base = frame(customer("reach", year_spend=880.0), customer("edge", year_spend=750.0),
                 customer("far", year_spend=749.99), customer("premier", year_spend=1200.0, kept_spend=1100.0),
                 customer("dropping", year_spend=1150.0, kept_spend=940.0),
                 customer("exact", year_spend=1000.0, kept_spend=999.0))
    selection = rules.tier_progress(base, CFG, CUTOFF).set_index("customer_id")
    assert list(selection.index) == ["reach", "edge", "exact", "dropping"]
    assert selection.at["reach", "rule"].startswith("spend 120.00 more to reach Premier (880.00 of 1,000")
    assert "880 points" in selection.at["reach", "rule"]
    assert selection.at["dropping", "rule"].endswith("only 940.00 of it still counts on 2026-10-31: spend 60.00 by "
                                                     "then to stay Premier")
    assert selection.at["exact", "offer_key"] == "tier_progress/keep"


def test_contact_frequency_follows_activity_and_never_opening() -> None:
    base = frame(customer("quiet", visit_days=0.0), customer("busy", visit_days=9.0),
                 customer("max", visit_days=30.0), customer("never_opens", visit_days=9.0, email_opens=0.0),
                 customer("opted_out", visit_days=9.0, email_opt_in=False),
                 customer("dead", dead_contact=True, visit_days=9.0))
    count = rules.messages_per_month(base, CFG, has_email_events=True).set_axis(base["customer_id"])
    assert count.to_dict() == {"quiet": 2, "busy": 5, "max": 8, "never_opens": 1, "opted_out": 0, "dead": 0}
    without = rules.messages_per_month(base, CFG, has_email_events=False).set_axis(base["customer_id"])
    assert without["never_opens"] == 5  # a shop that logs no opens cannot tell who never opens
    selection = rules.contact_frequency(base, CFG, has_email_events=True)
    assert "dead" not in ids(selection) and ids(selection)[0] == "max"
    words = selection.set_index("customer_id")["rule"]
    assert words["busy"] == "visited on 9 of the last 30 days; opened 1 e-mail in 90 days: 5 a month"
    russian = rules.contact_frequency(base, CFG, has_email_events=True, lang="ru").set_index("customer_id")["rule"]
    assert russian["busy"] == "заходил на сайт в 9 из последних 30 дн.; 1 открытое письмо за 90 дней: 5 в месяц"
    assert words["opted_out"] == "no e-mail opt-in: 0 a month"


@pytest.mark.parametrize("bad", [{"second_order_shares": (0.8, 0.1)}, {"cart_hours": (72, 24)},
                                 {"messages_min": 3, "messages_base": 2}, {"offers": {"nope": "x"}}])
def test_config_refuses_inconsistent_settings(bad: dict) -> None:
    with pytest.raises(ValueError):
        CampaignsConfig(**bad)


def test_default_yaml_holds_the_campaign_defaults() -> None:
    from pathlib import Path

    from training.config import load_config

    config = load_config(Path(__file__).parents[3] / "configs" / "default.yaml")
    assert config.campaigns == CampaignsConfig() and config.campaigns.offer("birthdays").startswith("birthday")
