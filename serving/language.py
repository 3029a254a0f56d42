"""The language of an answer: ``Accept-Language`` (or ``?lang=``) on each request, and answers worded in it.

The fast path sets ``REQUEST_LANG`` from the request before the handler runs (``set_request_lang``); handlers that
return words (``/customer``, ``/churn_risk``, ``/churn_list``) read it. English unless the request prefers Russian.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qs

from features.words.catalogue import say
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
