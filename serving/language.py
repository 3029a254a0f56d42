"""The language of an answer: ``Accept-Language`` (or ``?lang=``) on each request, and answers worded in it.

The fast path sets ``REQUEST_LANG`` from the request before the handler runs (``set_request_lang``); handlers that
return words (``/customer``, ``/churn_risk``, ``/churn_list``) read it. English unless the request prefers Russian.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs

from features.words.catalogue import PHRASES, say
from features.words.formats import Lang, language

REQUEST_LANG: ContextVar[Lang] = ContextVar("request_lang", default=Lang.en)
PRIVATE = "_"  # record keys starting with it are kept for wording again, never sent


def preferred(accept_language: str) -> Lang:
    """Return en or ru, whichever ``Accept-Language`` ranks higher (en when it names neither).

    Examples
    --------
    >>> preferred("ru-RU,ru;q=0.9,en-US;q=0.8"), preferred("de, en;q=0.5, ru;q=0.4"), preferred("")
    (<Lang.ru: 'ru'>, <Lang.en: 'en'>, <Lang.en: 'en'>)
    """
    best, best_q = Lang.en, -1.0
    for part in accept_language.split(","):
        tag, _, params = part.strip().partition(";")
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        code = tag.strip().lower()[:2]
        if code in ("en", "ru") and q > best_q:
            best, best_q = Lang(code), q
    return best


def lang_of(scope: Mapping[str, Any]) -> Lang:
    """Return the language a request asks for: ``?lang=`` first, then ``Accept-Language``."""
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("lang")
    if query:
        return language(query[0])
    for name, value in scope.get("headers", ()):
        if name == b"accept-language":
            return preferred(value.decode("latin-1"))
    return Lang.en


def set_request_lang(scope: dict[str, Any]) -> None:
    REQUEST_LANG.set(lang_of(scope))


def localised(record: dict[str, Any], lang: Lang | None = None) -> dict[str, Any]:
    """Return a ``/customer`` record for sending: reasons and the action's rule in ``lang`` (default: the
    request's), without the private keys that keep them structured."""
    lang = lang or REQUEST_LANG.get()
    out = {k: v for k, v in record.items() if not k.startswith(PRIVATE)}
    if lang != Lang.en:
        out["reasons"] = [r.text(lang) for r in record.get("_reasons", ())]
        key, values = record["_rule"]
        out["action"] = {**record["action"], "rule": say(key, lang, **values)}
    return out


def _pick_patterns() -> list[tuple[re.Pattern[str], str]]:
    """Return (English pattern, key) for every recommendation reason; ``{anchor}`` and the like match any text."""
    out = []
    for key, texts in PHRASES.items():
        if key.startswith("pick."):
            pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+)", re.escape(texts[Lang.en]))
            out.append((re.compile(f"^{pattern}$"), key))
    return sorted(out, key=lambda p: -len(p[0].pattern))  # "bought together with X in your cart" before "... X"


PICK_PATTERNS = _pick_patterns()


def pick_reason(text: str, lang: Lang) -> str:
    """Return a recommendation's English reason in ``lang`` (unchanged when it is not one of the catalogue's)."""
    if lang == Lang.en:
        return text
    for pattern, key in PICK_PATTERNS:
        found = pattern.match(text)
        if found:
            return say(key, lang, **found.groupdict())
    return text


def localised_picks(items: list[dict[str, Any]], lang: Lang | None = None) -> list[dict[str, Any]]:
    """Return ``/recommend`` items with their reasons in ``lang`` (default: the request's); English as they are."""
    lang = lang or REQUEST_LANG.get()
    if lang == Lang.en:
        return items
    return [{**item, "reason": pick_reason(item["reason"], lang)} for item in items]
