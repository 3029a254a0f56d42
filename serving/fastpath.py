"""The raw ASGI front of every product endpoint, added to the BentoML app with ``add_asgi_middleware``.

It runs inside BentoML's error, tracing and timeout middlewares but before its router, so a request costs one
body read, one strict pydantic parse and one orjson dump (``benchmarks/serve_speed.py`` measures it). Anything it
does not own (``/livez``, ``/readyz``, the docs page, ``/ui``, 404s) goes on to BentoML. It also answers
``/metrics`` (its own Prometheus counters; BentoML's are switched off for speed) and ``/docs.json`` (the OpenAPI of
these routes, so the Swagger page at ``/`` shows them).
"""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from pydantic import TypeAdapter, ValidationError

from serving.language import set_request_lang
from serving.openapi import openapi_document
from serving.routes import ROUTES, Answer, ApiError, Context, Route

logger = logging.getLogger(__name__)

disable_created_metrics()  # no *_created series: half the scrape, nothing a dashboard reads
METRICS = CollectorRegistry()  # per worker process
REQUESTS = Counter("retention_requests", "Requests answered, by route and status", ["route", "status"],
                   registry=METRICS)
LATENCY = Histogram("retention_request_seconds", "Time to answer, by route", ["route"], registry=METRICS,
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
JSON = b"application/json"
UNION_TAGS = {"one", "batch"}  # the tags of the /events body (one event or a batch): not field names
KEY_VARIABLES = {"api": "RETENTION_API_KEY", "admin": "RETENTION_ADMIN_KEY"}

ASGIApp = Any
Scope = dict[str, Any]


class BodyTooLargeError(Exception):
    pass


def _parsers() -> dict[tuple[str, str], tuple[Route, TypeAdapter[Any] | None]]:
    return {(r.method, r.path): (r, TypeAdapter(r.request) if r.request is not None else None) for r in ROUTES}


class FastPath:
    """ASGI middleware: answers the routes of ``serving.routes`` itself, passes everything else on."""

    context: Context | None = None  # set by the service once its settings are read (class-level: one per process)

    def __init__(self, app: ASGIApp, **_: Any) -> None:
        self.app = app
        self.routes = _parsers()
        self.paths = {path for _, path in self.routes}
        self._docs: bytes | None = None

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            found = self.routes.get((scope["method"], path))
            if found is not None:
                return await self.answer(found[0], found[1], scope, receive, send)
            if path in self.paths:
                allowed = ", ".join(m for m, p in self.routes if p == path)
                return await _send(send, 405, _error("method not allowed", f"{path} answers {allowed}"), JSON)
            if path == "/metrics":
                return await _send(send, 200, generate_latest(METRICS), b"text/plain; version=0.0.4")
            if path == "/docs.json":
                self._docs = self._docs or orjson.dumps(openapi_document())
                return await _send(send, 200, self._docs, JSON)
        return await self.app(scope, receive, send)

    async def answer(self, route: Route, parser: TypeAdapter[Any] | None, scope: Scope, receive: Any,
                     send: Any) -> None:
        started = time.perf_counter()
        try:
            answer = await self._handle(route, parser, scope, receive)
        except ApiError as exc:
            answer = Answer(_error(exc.error, exc.detail), JSON, exc.status)
        except Exception:  # a bug, not bad input: logged with its traceback, never sent to the client
            logger.exception("%s %s failed", route.method, route.path)
            answer = Answer(_error("internal error", "the service failed on this request; the log has the details"),
                            JSON, 500)
        status = route.ok if answer.status == 200 else answer.status
        await _send(send, status, answer.body, answer.content_type)
        REQUESTS.labels(route.path, str(status)).inc()
        LATENCY.labels(route.path).observe(time.perf_counter() - started)

    async def _handle(self, route: Route, parser: TypeAdapter[Any] | None, scope: Scope, receive: Any) -> Answer:
        ctx = self.context
        if ctx is None:
            raise ApiError(503, "not ready", "the service is still starting; retry in a few seconds")
        if route.key is not None:
            check_key(scope, route.key, ctx)
        set_request_lang(scope)  # the language of the answer's words (Accept-Language, ?lang=)
        try:
            body = await read_body(scope, receive, ctx.settings.max_body)
        except BodyTooLargeError:
            raise ApiError(413, "body too large", f"the request body is over {ctx.settings.max_body:,} bytes; send "
                           "fewer ids or events per call (limits: 1,000 ids or events, k up to 100)") from None
        request = None
        if parser is not None:
            request = parse(parser, body)
        return await route.handler(ctx, request)


def parse(parser: TypeAdapter[Any], body: bytes) -> Any:
    """Return the validated request; 400 for a body that is not JSON, 422 for one that breaks the schema."""
    try:
        return parser.validate_json(body)
    except ValidationError as exc:
        problems = exc.errors(include_url=False, include_context=False)
        if any(p["type"] == "json_invalid" for p in problems) or not body.strip():
            raise ApiError(400, "not JSON", "the body must be a JSON object (Content-Type: application/json); "
                           f"{problems[0]['msg']}") from None
        raise ApiError(422, "invalid request", describe(problems)) from None


def describe(problems: list[Any], most: int = 5) -> str:
    """Return the schema problems as one sentence: field, what was wrong, the value sent."""
    parts = []
    for p in problems[:most]:
        where = ".".join(str(x) for x in p["loc"] if str(x) not in UNION_TAGS)
        given = p.get("input")
        shown = "" if p["type"] == "missing" else f" (got {orjson.dumps(given).decode()[:60]})" if _dumpable(
            given) else ""
        parts.append(f"{where or 'body'}: {p['msg']}{shown}")
    more = f"; and {len(problems) - most} more" if len(problems) > most else ""
    return "; ".join(parts) + more


def _dumpable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def check_key(scope: Scope, which: str, ctx: Context) -> None:
    """Refuse (401) unless the request carries the key, as ``Authorization: Bearer`` or ``X-API-Key``."""
    expected = ctx.settings.api_key if which == "api" else ctx.settings.admin_key
    sent = b""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            sent = value[7:].strip()
        elif name == b"x-api-key" and not sent:
            sent = value.strip()
    if expected is None:
        raise ApiError(401, "unauthorized", f"this endpoint is off: the server has no {KEY_VARIABLES[which]} set")
    if not hmac.compare_digest(sent, expected.get_secret_value().encode()):  # constant time
        raise ApiError(401, "unauthorized", f"send the key of {KEY_VARIABLES[which]} as 'Authorization: Bearer "
                       "<key>' or 'X-API-Key: <key>'")


async def read_body(scope: Scope, receive: Any, limit: int) -> bytes:
    """Return the whole body; raise BodyTooLargeError as soon as it (or its declared length) is over ``limit``."""
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit() and int(value) > limit:
            raise BodyTooLargeError
    chunks, size = [], 0
    more = True
    while more:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLargeError
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _error(error: str, detail: str) -> bytes:
    return orjson.dumps({"error": error, "detail": detail})


async def _send(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
