"""The catalogue of phrases: every sentence a marketer reads, in English and Russian, under one key.

``say(key, lang, **values)`` fills a phrase. Placeholders are ``{name}`` (the value as text) or
``{name:format}`` with a format from ``features.words.formats``: ``number``, ``short`` (at most one decimal),
``money``, ``share``, ``date``, ``month``, ``in_month``, ``times`` (twice / в 2 раза), a name table
(``segment``, ``risk``, ``task``, ``weekday``, ``action``, ``answer``), or ``count:one|other`` (en) and
``count:one|few|many`` (ru) for a number with its word: "1 order", "5 orders", "1 заказ", "2 заказа", "5 заказов".
The phrases themselves live in ``features.words.phrases`` (reasons, actions, campaigns) and
``features.words.names`` (segments, risk levels, weekdays, the web page's labels).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from features.words import formats as F
from features.words.formats import Lang
from features.words.names import NAMES, PAGE
from features.words.phrases import PHRASES

__all__ = ["Lang", "say", "name", "page_words", "PHRASES", "NAMES"]

_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^{}]*))?\}")
_FORMATS: dict[str, Callable[[Any, Lang], str]] = {
    "number": lambda v, lang: F.number(float(v), lang), "short": lambda v, lang: F.short(float(v), lang),
    "money": lambda v, lang: F.money(float(v), lang),
    "money2": lambda v, lang: F.number(float(v), lang, 2), "share": lambda v, lang: F.share(float(v), lang),
    "date": F.date, "month": F.month, "in_month": F.in_month, "month_from": F.month_from,
    "times": lambda v, lang: F.times(float(v), lang),
}


def say(key: str, lang: Lang | str = Lang.en, /, **values: Any) -> str:
    """Return the phrase ``key`` in ``lang`` with ``values`` filled in.

    Raises
    ------
    KeyError
        When the catalogue has no phrase ``key`` (a typo in code, caught by the tests) or a value is missing.

    Examples
    --------
    >>> say("reason.orders_drop", "en", now=1, before=4, w=90)
    '1 order in the last 90 days after 4 in the 90 before'
    >>> say("reason.orders_drop", "ru", now=2, before=5, w=90)
    'за последние 90 дней — 2 заказа, за 90 дней до этого — 5'
    """
    lang = F.language(lang)
    template = PHRASES[key][lang]
    return _PLACEHOLDER.sub(lambda m: _fill(m.group(1), m.group(2), values, lang), template)


def _fill(field: str, spec: str | None, values: dict[str, Any], lang: Lang) -> str:
    value = values[field]
    if not spec:
        return str(value)
    if spec.startswith("count:"):
        return F.count(float(value), tuple(spec[6:].split("|")), lang)
    if spec in NAMES:
        return name(spec, str(value), lang)
    return _FORMATS[spec](value, lang)


def name(table: str, value: str, lang: Lang | str = Lang.en) -> str:
    """Return a name (segment, risk level, task, weekday, action, yes/no) in ``lang``; unknown names pass unchanged
    (a shop's own segment in a config keeps its name rather than disappear)."""
    lang = F.language(lang)
    return NAMES[table][lang].get(value, value) if lang == Lang.ru else NAMES[table].get(Lang.en, {}).get(value, value)


def page_words(lang: Lang | str) -> dict[str, Any]:
    """Return what the web page needs in one language: its labels and every name table (``/ui/words.json``)."""
    lang = F.language(lang)
    return {"lang": lang.value, "page": {key: texts[lang] for key, texts in PAGE.items()},
            "names": {table: dict(NAMES[table][lang]) for table in NAMES}}
