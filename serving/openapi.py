"""The OpenAPI document of the service, built from the same pydantic classes that validate the requests."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from serving import schemas as S

REF = "#/components/schemas/{model}"
REASONS = {200: "OK", 202: "Accepted: the reload runs in the background", 400: "Not JSON", 401: "Missing or wrong key",
           404: "Unknown customer", 405: "Wrong method", 409: "A model this endpoint needs is not loaded (says what "
           "to train) or a reload is already running", 413: "Body too large",
           415: "The body is not sent as application/json",
           422: "The body breaks the schema (field, problem, value sent)",
           429: "Too many events for one customer this minute (see Retry-After)",
           503: "Still loading, or (/events) the shop is served read-only",
           507: "The disk holding the events journal is full: nothing of the request was kept"}


def _schemas() -> dict[str, Any]:
    from serving.routes import ROUTES

    models: set[type[BaseModel]] = {S.Error}
    for route in ROUTES:
        models.add(route.response)
        if isinstance(route.request, type):
            models.add(route.request)
    models |= {S.Event, S.EventBatch}
    _, defs = models_json_schema([(m, "validation") for m in sorted(models, key=lambda m: m.__name__)],
                                 ref_template=REF)
    return dict(defs.get("$defs", {}))


def _request_schema(request: Any) -> dict[str, Any]:
    if isinstance(request, type):
        return {"$ref": REF.format(model=request.__name__)}
    schema = TypeAdapter(request).json_schema(ref_template=REF)
    schema.pop("$defs", None)  # the models it names are in components/schemas already
    return schema


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3.1 document: every product route, its request, its answers, its key."""
    from serving.routes import ROUTES

    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        error = {"application/json": {"schema": {"$ref": REF.format(model="Error")}}}
        ok_schema = {"$ref": REF.format(model=route.response.__name__)}
        ok_content: dict[str, Any] = {"application/json": {"schema": ok_schema}}
        if route.path == "/churn_list":
            ok_content["text/csv"] = {"schema": {"type": "string"}}
        responses = {str(route.ok): {"description": REASONS[route.ok], "content": ok_content}}
        responses |= {str(code): {"description": REASONS[code], "content": error} for code in sorted(route.errors)}
        operation: dict[str, Any] = {"summary": route.summary, "operationId": route.path.strip("/").replace("/", "_")
                                     + ("_status" if route.method == "GET" and route.path == "/admin/reload" else ""),
                                     "responses": responses}
        if route.request is not None:
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": _request_schema(route.request)}}}
        operation["security"] = [{f"{route.key}_bearer": []}, {f"{route.key}_header": []}]
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    for path, what in (("/livez", "The process is up"), ("/readyz", "The models and the shop are loaded")):
        paths[path] = {"get": {"summary": what, "operationId": path.strip("/"), "responses": {
            "200": {"description": "yes"}, "503": {"description": "not yet"}}}}
    paths["/metrics"] = {"get": {
        "summary": "Prometheus counters of this worker; needs RETENTION_METRICS_KEY when it is set",
        "operationId": "metrics", "security": [{}, {"metrics_bearer": []}, {"metrics_header": []}],
        "responses": {"200": {"description": "text exposition format",
                              "content": {"text/plain": {"schema": {"type": "string"}}}},
                      "401": {"description": REASONS[401], "content": {"application/json": {
                          "schema": {"$ref": REF.format(model="Error")}}}}}}}
    security = {f"{key}_{kind}": ({"type": "http", "scheme": "bearer"} if kind == "bearer" else
                                  {"type": "apiKey", "in": "header", "name": "X-API-Key"})
                for key in ("storefront", "api", "admin", "metrics") for kind in ("bearer", "header")}
    return {"openapi": "3.1.0", "info": {"title": "retention", "version": "1", "description": (
        "Recommendations for the storefront, customer scores and lists for marketers, live events. Every route "
        "but /livez, /readyz, /ui and this document needs its role's key: RETENTION_STOREFRONT_KEY, "
        "RETENTION_API_KEY (marketer) or RETENTION_ADMIN_KEY. Errors are JSON {error, detail}.")}, "paths": paths,
        "components": {"schemas": _schemas(), "securitySchemes": security}}
