"""Numbers, money, shares, dates, months and plural forms in English and Russian: the one place values become text.

The report, the web page's data (``/ui/words.json``), the reasons, the campaign rules and sentences all format
through these functions, so "1 234,5" and "2 декабря 2026 г." are written the same way everywhere.
"""

from __future__ import annotations

import datetime as dt
import math
from enum import StrEnum

import pandas as pd


class Lang(StrEnum):
    en = "en"
    ru = "ru"


NBSP = "\u00a0"
MONTHS = {Lang.en: ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
          Lang.ru: ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")}
MONTHS_FULL = {Lang.en: ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                         "October", "November", "December"),
               Lang.ru: ("январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
                         "октябрь", "ноябрь", "декабрь")}
MONTHS_GENITIVE_RU = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                      "октября", "ноября", "декабря")
MONTHS_IN_RU = ("январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре", "октябре",
                "ноябре", "декабре")  # "в октябре"


def language(value: str | Lang | None) -> Lang:
    """Return the language for ``en``, ``ru``, ``ru-RU`` or ``RU``; anything else is English."""
    text = str(value or "").strip().lower()[:2]
    return Lang.ru if text == "ru" else Lang.en


def number(value: float | None, lang: Lang, decimals: int = 0) -> str:
    """Return ``12,345.6`` (en) or ``12 345,6`` (ru, non-breaking space, minus sign); '-' for a missing value."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    text = f"{value:,.{decimals}f}"
    if lang == Lang.ru:
        text = text.replace(",", NBSP).replace(".", ",")
        text = "−" + text[1:] if text.startswith("-") else text
    return text


def short(value: float, lang: Lang) -> str:
    """Return a number with at most one decimal and none when whole: ``2``, ``3.4`` / ``3,4``."""
    rounded = round(float(value), 1)
    return number(rounded, lang, 0 if rounded == int(rounded) else 1)


def money(value: float, lang: Lang) -> str:
    """Return an amount: whole units from 100 up, two decimals below (an average check of 7.50)."""
    return number(value, lang, 0 if abs(value) >= 100 else 2)


def share(value: float | None, lang: Lang, decimals: int = 0) -> str:
    """Return a share as a percentage: ``66%`` (en) or ``66 %`` (ru)."""
    if value is None or not math.isfinite(value):
        return "-"
    return number(100 * value, lang, decimals) + ("%" if lang == Lang.en else NBSP + "%")


def date(value: dt.date | dt.datetime | pd.Timestamp | str, lang: Lang) -> str:
    """Return ``2 Dec 2026`` (en) or ``2 декабря 2026 г.`` (ru)."""
    day = pd.Timestamp(value)
    if lang == Lang.en:
        return f"{day.day} {MONTHS[Lang.en][day.month - 1]} {day.year}"
    return f"{day.day} {MONTHS_GENITIVE_RU[day.month - 1]} {day.year} г."


def month(value: dt.date | dt.datetime | pd.Timestamp | str, lang: Lang) -> str:
    """Return a month label, ``Mar 2026`` or ``мар 2026`` (a "YYYY-MM" string is read as that month)."""
    day = pd.Timestamp(f"{value}-01") if isinstance(value, str) and len(value) == 7 else pd.Timestamp(value)
    return f"{MONTHS[lang][day.month - 1]} {day.year}"


def in_month(value: dt.date | dt.datetime | pd.Timestamp | str, lang: Lang) -> str:
    """Return "in October" / "в октябре"."""
    day = pd.Timestamp(value)
    return f"in {MONTHS_FULL[Lang.en][day.month - 1]}" if lang == Lang.en else f"в {MONTHS_IN_RU[day.month - 1]}"


def month_from(value: dt.date | dt.datetime | pd.Timestamp | str, lang: Lang) -> str:
    """Return the month after "since": "October" (en), "октября" (ru, "с октября")."""
    day = pd.Timestamp(value)
    return MONTHS_FULL[Lang.en][day.month - 1] if lang == Lang.en else MONTHS_GENITIVE_RU[day.month - 1]


def plural_form(n: float, forms: tuple[str, ...], lang: Lang) -> str:
    """Return the word form for ``n``: en (one, other); ru (one, few, many): 1 заказ, 2 заказа, 5 заказов.

    A fraction takes the "few" form in Russian ("2,5 заказа") and the plural in English.

    Examples
    --------
    >>> [plural_form(n, ("заказ", "заказа", "заказов"), Lang.ru) for n in (1, 2, 5, 11, 21, 22, 25, 111)]
    ['заказ', 'заказа', 'заказов', 'заказов', 'заказ', 'заказа', 'заказов', 'заказов']
    """
    if lang == Lang.en or len(forms) < 3:
        return forms[0] if float(n) == 1 else forms[-1]
    if float(n) != int(n):
        return forms[1]
    k = abs(int(n))
    if k % 10 == 1 and k % 100 != 11:
        return forms[0]
    if 2 <= k % 10 <= 4 and not 12 <= k % 100 <= 14:
        return forms[1]
    return forms[2]


def count(n: float, forms: tuple[str, ...], lang: Lang) -> str:
    """Return the number and its word: ``1 order``, ``5 orders``, ``1 заказ``, ``5 заказов``, ``2,5 заказа``."""
    shown = round(float(n), 1)
    shown = int(shown) if shown == int(shown) else shown
    return f"{short(shown, lang)} {plural_form(shown, forms, lang)}"


def times(ratio: float, lang: Lang) -> str:
    """Return a ratio as a multiple: "twice" / "3.4 times" (en), "в 2 раза" / "в 3,4 раза" (ru)."""
    r = round(float(ratio), 1)
    if lang == Lang.en:
        return "twice" if r == 2 else f"{short(r, lang)} times"
    return f"в {short(r, lang)} {plural_form(r, ('раз', 'раза', 'раз'), lang)}"
