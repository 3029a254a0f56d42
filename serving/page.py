"""The marketer's web page under ``/ui``: its static files, and ``/ui/words.json``, the phrase catalogue's labels
and names in the language asked for (``?lang=ru`` or ``Accept-Language``), so the page and the report share one
vocabulary (``features.words``) rather than two word lists."""

from __future__ import annotations

from pathlib import Path

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from features.words.catalogue import page_words
from serving.language import lang_of


async def words(request: Request) -> Response:
    body = orjson.dumps(page_words(lang_of(request.scope)))
    return Response(body, media_type="application/json", headers={"Cache-Control": "max-age=300",
                                                                  "Vary": "Accept-Language"})


def ui_app(folder: Path) -> Starlette:
    """Return the ``/ui`` app: ``words.json`` and the static files of ``folder`` (index.html at ``/ui/``)."""
    return Starlette(routes=[Route("/words.json", words), Mount("/", StaticFiles(directory=folder, html=True))])
