"""The raw ASGI front of every product endpoint, wrapped around BentoML's whole app (``serving.service.FastFront``).

It runs before BentoML's error, tracing and timeout middlewares and its router, so a request costs one body read,
one strict pydantic parse and one orjson dump (``benchmarks/serve_speed.py`` measures it); its own try/except turns
a bug into a fixed 500 sentence. Anything it does not own (``/livez``, the docs page, ``/ui``, 404s) goes on to
BentoML. It also answers ``/readyz``, ``/metrics`` (its own Prometheus counters; BentoML's are switched off for
speed) and ``/docs.json`` (the OpenAPI of these routes, so the Swagger page at ``/`` shows them).
"""

from __future__ import annotations

import hmac
import logging
import os
import time
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics, generate_latest
from pydantic import TypeAdapter, ValidationError

from serving.config import ROLES
from serving.language import set_request_lang
from serving.openapi import openapi_document
from serving.routes import LOAD_FAILED, LOADING, ROUTES, Answer, ApiError, Context, Route

logger = logging.getLogger(__name__)

disable_created_metrics()  # no *_created series: half the scrape, nothing a dashboard reads
METRICS = CollectorRegistry()  # per worker process
REQUESTS = Counter("retention_requests", "Requests answered, by route and status", ["route", "status"],
                   registry=METRICS)
LATENCY = Histogram("retention_request_seconds", "Time to answer, by route", ["route"], registry=METRICS,
                    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0))
_COUNTERS: dict[tuple[str, int], tuple[Any, Any]] = {}
JSON = b"application/json"
UNION_TAGS = {"one", "batch"}  # the tags of the /events body (one event or a batch): not field names
OBJECT_ERRORS = {"model_type", "model_attributes_type", "dataclass_type"}  # pydantic names the class: not for a body
INSECURE = ("started with --insecure-no-auth: routes without a key set answer anyone; set every role's key "
            "before this port is reachable from outside")

ASGIApp = Any
Scope = dict[str, Any]


class BodyTooLargeError(Exception):
    pass


def scrape() -> bytes:
    """Every worker's counters summed: BentoML gives its workers one PROMETHEUS_MULTIPROC_DIR, where
    prometheus_client keeps each process's values in a file; without it (one process, tests) this worker's own."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not folder or not os.path.isdir(folder):
        return bytes(generate_latest(METRICS))
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=folder)
    return bytes(generate_latest(registry))


def _parsers() -> dict[tuple[str, str], tuple[Route, TypeAdapter[Any] | None]]:
    return {(r.method, r.path): (r, TypeAdapter(r.request) if r.request is not None else None) for r in ROUTES}


class FastPath:
    """ASGI middleware: answers the routes of ``serving.routes`` itself, passes everything else on."""

    context: Context | None = None  # set by the service once its settings are read (class-level: one per process)
    worker: tuple[tuple[bytes, bytes], ...] = ()  # x-retention-worker: which worker answered (set by the service)

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
            if path == "/metrics" and self.context is not None:
                return await self.metrics(scope, send)
            if path == "/readyz" and self.context is not None:
                return await self.readyz(send)
            if path == "/docs.json":
                self._docs = self._docs or orjson.dumps(openapi_document())
                return await _send(send, 200, self._docs, JSON)
        return await self.app(scope, receive, send)

    async def metrics(self, scope: Scope, send: Any) -> None:
        assert self.context is not None
        try:
            if self.context.settings.metrics_key is not None:
                check_key(scope, "metrics", self.context)
        except ApiError as exc:
            return await _send(send, exc.status, _error(exc.error, exc.detail), JSON)
        await _send(send, 200, scrape(), b"text/plain; version=0.0.4")

    async def readyz(self, send: Any) -> None:
        """200 once the bundle and the live state are in place (with a warning when keys are off), else 503."""
        ctx = self.context
        assert ctx is not None
        warning = {"warning": INSECURE} if ctx.settings.insecure_no_auth and ctx.settings.unset_keys() else {}
        if ctx.holder.bundle is not None and ctx.live.ready:
            return await _send(send, 200, orjson.dumps({"status": "ready", **warning}), JSON)
        detail = LOAD_FAILED if ctx.holder.error else LOADING
        await _send(send, 503, orjson.dumps({"error": "not ready", "detail": detail, **warning}), JSON)

    async def answer(self, route: Route, parser: TypeAdapter[Any] | None, scope: Scope, receive: Any,
                     send: Any) -> None:
        started = time.perf_counter()
        try:
            answer = await self._handle(route, parser, scope, receive)
        except ApiError as exc:
            answer = Answer(_error(exc.error, exc.detail), JSON, exc.status, exc.headers)
        except Exception:  # a bug, not bad input: logged with its traceback, never sent to the client
            logger.exception("%s %s failed", route.method, route.path)
            answer = Answer(_error("internal error", "the service failed on this request; the log has the details"),
                            JSON, 500)
        status = route.ok if answer.status == 200 else answer.status
        await _send(send, status, answer.body, answer.content_type, answer.headers + self.worker)
        counted = _COUNTERS.get((route.path, status))
        if counted is None:  # labels() takes a lock and builds a key: once per route and status, not per request
            counted = _COUNTERS[route.path, status] = (REQUESTS.labels(route.path, str(status)),
                                                      LATENCY.labels(route.path))
        counted[0].inc()
        counted[1].observe(time.perf_counter() - started)

    async def _handle(self, route: Route, parser: TypeAdapter[Any] | None, scope: Scope, receive: Any) -> Answer:
        ctx = self.context
        if ctx is None:
            raise ApiError(503, "not ready", "the service is still starting; retry in a few seconds")
        check_key(scope, route.key, ctx)
        if parser is not None and not _is_json(scope):
            raise ApiError(415, "not JSON", "send the body as JSON with the header 'Content-Type: application/json'")
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
        message = "Input should be a JSON object" if p["type"] in OBJECT_ERRORS else p["msg"]
        parts.append(f"{where or 'body'}: {message}{shown}")
    more = f"; and {len(problems) - most} more" if len(problems) > most else ""
    return "; ".join(parts) + more


def _dumpable(value: Any) -> bool:
    try:
        orjson.dumps(value)
    except TypeError:
        return False
    return True


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            return value.split(b";", 1)[0].strip().lower() == JSON
    return False


def check_key(scope: Scope, role: str, ctx: Context) -> None:
    """Refuse (401) unless the request carries ``role``'s key, as ``Authorization: Bearer`` or ``X-API-Key``.

    A role whose key is unset is open only when the service was started with --insecure-no-auth (it refuses to
    start otherwise). The key is compared in constant time and never logged.
    """
    expected = ctx.settings.key(role)
    if expected is None and ctx.settings.insecure_no_auth:
        return
    sent = b""
    for name, value in scope["headers"]:
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            sent = value[7:].strip()
        elif name == b"x-api-key" and not sent:
            sent = value.strip()
    if expected is None or not hmac.compare_digest(sent, expected.get_secret_value().encode()):  # constant time
        raise ApiError(401, "unauthorized", f"send the key of {ROLES[role]} as 'Authorization: Bearer <key>' or "
                       "'X-API-Key: <key>'")


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


async def _send(send: Any, status: int, body: bytes, content_type: bytes,
                headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode()),
                            *headers]})
    await send({"type": "http.response.body", "body": body})
