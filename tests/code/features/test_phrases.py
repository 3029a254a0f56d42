"""The phrase catalogue: one vocabulary, two languages, plural forms, numbers and dates per language."""

from __future__ import annotations

import re

import pytest

from features.families.catalogue import feature_catalogue
from features.words.catalogue import NAMES, PHRASES, name, page_words, say
from features.words.formats import Lang, count, number, plural_form

ORDER_FORMS = ("заказ", "заказа", "заказов")


@pytest.mark.parametrize(("n", "text"), [(1, "1 заказ"), (2, "2 заказа"), (5, "5 заказов"), (11, "11 заказов"),
                                         (21, "21 заказ"), (22, "22 заказа"), (112, "112 заказов"),
                                         (2.5, "2,5 заказа")])
def test_russian_plural_forms(n: float, text: str) -> None:
    assert count(n, ORDER_FORMS, Lang.ru) == text


def test_english_plural_and_numbers() -> None:
    assert count(1, ("order", "orders"), Lang.en) == "1 order" and count(0, ("order", "orders"), Lang.en) == "0 orders"
    assert number(1234567.891, Lang.en, 2) == "1,234,567.89"
    assert number(-1234.5, Lang.ru, 1) == "−1\u00a0234,5"
    assert plural_form(1, ("день", "дня", "дней"), Lang.ru) == "день"


def test_every_phrase_has_both_languages_with_the_same_placeholders() -> None:
    field = re.compile(r"\{(\w+)")
    for key, texts in PHRASES.items():
        assert set(texts) == {Lang.en, Lang.ru}, key
        assert set(field.findall(texts[Lang.en])) == set(field.findall(texts[Lang.ru])), key
    for table, langs in NAMES.items():
        assert set(langs[Lang.ru]) >= set(langs[Lang.en]), table
    assert set(page_words("en")["page"]) == set(page_words("ru")["page"])
    for key in (k for k in PHRASES if k.startswith("reason.")):  # "; " joins a row's reasons: never inside one
        assert "; " not in PHRASES[key][Lang.en] and "; " not in PHRASES[key][Lang.ru], key


def test_phrases_fill_numbers_dates_and_names_per_language() -> None:
    assert say("reason.overdue", "en", days=51, ratio=51 / 25, gap=25) == \
        "no order for 51 days, twice their usual 25-day gap"
    assert say("reason.overdue", "ru", days=51, ratio=51 / 25, gap=25) == \
        "нет заказов 51 день — в 2 раза дольше обычного интервала (25 дней)"
    assert say("reason.email_stopped", "en", when="2026-10-04", rate=6) == \
        "stopped opening e-mails in October after opening 6 a month"
    assert say("reason.email_stopped", "ru", when="2026-10-04", rate=6) == \
        "не открывает письма с октября, а до этого — 6 в месяц"
    assert say("reason.spend_drop", "ru", pct=0.6, w=90) == "траты за последние 90 дней на 60\u00a0% ниже, чем за 90 " \
        "дней до этого"
    assert say("rule.nothing", "ru", risk="low", bar=0.5, h=90).startswith("риск оттока низкий")
    assert name("segment", "At risk", "ru") == "В зоне риска" and name("segment", "My own", "ru") == "My own"
    assert say("reason.orders_drop", "ru-RU", now=1, before=4, w=90) == \
        "за последние 90 дней — 1 заказ, за 90 дней до этого — 4"  # a locale tag picks its language


def test_the_feature_catalogue_still_words_a_value() -> None:
    assert feature_catalogue()["orders"].describe(1.0) == "1 order in all"
    assert feature_catalogue()["days_until_expected_order"].describe(-61.0) == "next order overdue by 61 days"
