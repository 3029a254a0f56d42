"""The bare reference app of ``serve_speed.py``: Starlette on uvicorn (uvloop, httptools), orjson, one worker.

It answers ``POST /recommend`` with the service's request schema (strict pydantic, same limits) from a Python dict
of ready answers, so the gap to the real service is the framework plus the recommender's own work.
Run: ``uvicorn benchmarks.bare_app:app --loop uvloop --http httptools`` with BARE_CUSTOMERS=<file of ids>.
"""

from __future__ import annotations

import gc
import os
from pathlib import Path

import orjson
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from serving.schemas import RecommendRequest

POPULAR = [{"item_id": f"I{j:05d}", "score": 0.5, "reason": "popular"} for j in range(100)]


def answers(ids: list[str]) -> dict[str, list[dict]]:
    return {c: [{"item_id": f"I{(i * 7 + j) % 5000:05d}", "score": round(1.0 - j * 0.01, 4),
                 "reason": "customers like you bought"} for j in range(100)] for i, c in enumerate(ids)}


IDS = Path(os.environ["BARE_CUSTOMERS"]).read_text().split() if os.environ.get("BARE_CUSTOMERS") else []
TABLE = answers(IDS)
gc.freeze()  # as the service does after loading


async def recommend(request: Request) -> Response:
    try:
        req = RecommendRequest.model_validate_json(await request.body())
    except ValidationError as exc:
        return Response(orjson.dumps({"error": "invalid request", "detail": str(exc)}), 422,
                        media_type="application/json")
    items = TABLE.get(req.customer_id)
    body = {"customer_id": req.customer_id, "items": (items or POPULAR)[:req.k], "model_version": "bare",
            "fallback": items is None}
    return Response(orjson.dumps(body), media_type="application/json")


app = Starlette(routes=[Route("/recommend", recommend, methods=["POST"])])
