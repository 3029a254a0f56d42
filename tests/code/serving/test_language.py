"""Answers in the language a request asks for: Accept-Language or ?lang=, the /customer record and /ui/words.json."""

from __future__ import annotations

from starlette.testclient import TestClient

from features.words.catalogue import page_words, say
from features.words.formats import Lang
from models.customer.reasons import Reason
from models.inference.config import ScoringConfig
from serving.customers import action_rule
from serving.language import lang_of, localised, preferred
from serving.page import ui_app
from serving.service import UI_FOLDER


def test_accept_language_and_query_pick_the_language() -> None:
    assert preferred("ru-RU,ru;q=0.9,en-US;q=0.8") == Lang.ru
    assert preferred("en-GB,en;q=0.9,ru;q=0.8") == Lang.en
    assert preferred("de-DE, fr;q=0.9") == Lang.en and preferred("*;q=0.1, ru;q=0.2") == Lang.ru
    assert preferred("ru;q=nonsense, en;q=0.1") == Lang.en  # a broken weight counts as 0
    assert lang_of({"query_string": b"lang=ru", "headers": [(b"accept-language", b"en")]}) == Lang.ru
    assert lang_of({"query_string": b"", "headers": [(b"accept-language", b"ru")]}) == Lang.ru
    assert lang_of({"query_string": b"", "headers": []}) == Lang.en


def test_a_customer_record_is_worded_per_request_without_its_private_keys() -> None:
    row = {"churn_probability": 0.2, "churn_risk": "low", "is_golden_now": False, "golden_probability": 0.1,
           "expected_orders": 2.0, "dead_contact": False}
    action, key, values = action_rule(row, ScoringConfig(), 90)
    reason = Reason("reason.orders_drop", "orders_trend_90d", (("now", 1), ("before", 4), ("w", 90)))
    record = {"customer_id": "c1", "reasons": [reason.text()], "action": {"action": action, "rule": "English"},
              "_reasons": (reason,), "_rule": (key, values)}
    english, russian = localised(record, Lang.en), localised(record, Lang.ru)
    assert "_reasons" not in english and "_rule" not in russian and english["reasons"] == record["reasons"]
    assert russian["reasons"] == ["за последние 90 дней — 1 заказ, за 90 дней до этого — 4"]
    assert russian["action"] == {"action": "cross-sell", "rule": "ожидается повторный заказ (2 заказа за следующие "
                                 "90 дней), риск не высокий: покажите то, что подходит к покупкам"}


def test_the_page_reads_its_words_from_the_catalogue() -> None:
    client = TestClient(ui_app(UI_FOLDER))
    ru = client.get("/words.json", headers={"Accept-Language": "ru-RU,ru;q=0.9"}).json()
    assert ru == page_words("ru") and ru["names"]["segment"]["At risk"] == "В зоне риска"
    assert client.get("/words.json?lang=en").json()["page"]["s_churn"] == "Churn risk"
    assert "WORDS" not in client.get("/app.js").text  # no second word list in the page's script


def test_recommendation_reasons_in_russian_match_the_recommenders_words() -> None:
    from models.recommender.reasons import PHRASES as PICKS
    from serving.language import localised_picks, pick_reason

    for key, english in PICKS.items():  # the catalogue knows every reason the recommender writes
        assert say(f"pick.{key}", "en", category="Home", anchor="I1") == english.format(category="Home", anchor="I1")
    assert pick_reason("bought together with I00012 in your cart", Lang.ru) == \
        "покупают вместе с I00012 из вашей корзины"
    items = [{"item_id": "I1", "score": 1.0, "reason": "time to buy again"}]
    assert localised_picks(items, Lang.ru) == [{"item_id": "I1", "score": 1.0, "reason": "пора купить снова"}]
    assert localised_picks(items, Lang.en) is items
