"""The BentoML service: ``bentoml serve serving.service:Retention`` (``retention serve --data DIR`` runs it).

Read top to bottom: settings from the environment; the models packed in a Bento (when built with
``RETENTION_MODELS=bento``); the service class, which loads the bundle in a background thread so ``/livez``
answers at once and ``/readyz`` once everything is in memory; the raw ASGI fast path that answers the product
routes, put in front of BentoML's whole app; and the place where the web page goes (``/ui``).

Tuning, measured in ``benchmarks/serve_speed.py``: the fast path wraps BentoML's app instead of sitting inside its
middlewares (``add_asgi_middleware`` puts it behind the error, OpenTelemetry, timeout and concurrency layers, which
took a fifth of a worker's time under load); BentoML's own metrics and access log are off (the fast path keeps its
own Prometheus counters), tracing samples nothing, and ``traffic.timeout`` is small because the timeout middleware
keeps a timer per request alive that long (1 s: p99 ~20 ms; 10 s: p99 ~100 ms); it now serves only the routes the
fast path passes on (``/livez``, the docs page, ``/ui``).
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import bentoml
from bentoml._internal.context import server_context

from serving.bundle import Holder, load_bundle, packed_loader
from serving.config import Settings, settings_from_env
from serving.events import Journal, replay
from serving.experiments import Watch, challenger_loader, store_for
from serving.fastpath import FastPath
from serving.lifeline import die_with_parent
from serving.livestore import MemoryLive, RedisLive
from serving.page import ui_app
from serving.picks import with_memo
from serving.routes import ROUTES, Context
from serving.shared import Shared
from serving.store import packed, packed_folders

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = float(os.environ.get("RETENTION_TIMEOUT", "1"))
UI_FOLDER = Path(__file__).with_name("ui")  # the marketer's web page, served under /ui when present


@bentoml.service(
    name="retention",
    workers=int(os.environ.get("RETENTION_WORKERS", "1")),
    traffic={"timeout": TIMEOUT_SECONDS},
    metrics={"enabled": False, "namespace": "bentoml_service"},
    logging={"access": {"enabled": False}},
    tracing={"sample_rate": 0.0, "excluded_urls": [*(r.path for r in ROUTES), "/metrics", "/docs.json"]},
)
class Retention:
    """Recommendations, customer scores and lists, live events; one bundle in memory, swapped on reload."""

    # BentoModel references sit at class level so `bentoml build` packs them (None unless RETENTION_MODELS=bento)
    churn_model = packed("churn")
    golden_model = packed("golden")
    value_model = packed("value")
    recommender_model = packed("recommender")

    def __init__(self) -> None:
        die_with_parent()  # kill -9 of `retention serve` must not leave this worker holding the port
        settings = settings_from_env()
        check_keys(settings)
        loader = None
        if settings.models == "bento":  # resolved from the Bento (or the local store), not from MLflow
            models = (self.churn_model, self.golden_model, self.value_model, self.recommender_model)
            loader = packed_loader(packed_folders([m for m in models if m is not None]))
        self.holder = Holder(lambda: with_memo(load_bundle(settings, loader)))
        live: MemoryLive | RedisLive
        shared = None
        if settings.redis_url is not None:
            live = RedisLive(settings)
            shared = Shared(live, self.holder, settings.journal)
            shared.start()
        else:
            live = MemoryLive(settings)
            replay(settings.journal, live)
        self.live = live
        redis_url = settings.redis_url.get_secret_value() if settings.redis_url is not None else None
        watch = Watch(store_for(settings.data, redis_url), settings.data, challenger_loader(self.holder))
        watch.start()
        FastPath.worker = ((b"x-retention-worker", str(server_context.worker_index or 1).encode()),)
        FastPath.context = Context(settings, self.holder, live, Journal(settings.journal), shared, watch)
        threading.Thread(target=self.holder.load_first, name="bundle-load", daemon=True).start()

    def __is_ready__(self) -> bool:
        return self.holder.bundle is not None and self.live.ready


def check_keys(settings: Settings) -> None:
    """Refuse to start while a role's key is unset, unless told to serve those routes without one (logged)."""
    unset = settings.unset_keys()
    if unset and not settings.insecure_no_auth:
        raise RuntimeError(f"{', '.join(unset)} not set: every route needs its role's key. Set them (long random "
                           "strings), or start with --insecure-no-auth to serve those routes without a key")
    if unset:
        logger.warning("INSECURE: serving without %s (--insecure-no-auth): anyone who reaches this port can use "
                       "those routes", ", ".join(unset))


class FastFront(bentoml.Service):
    """The Service BentoML builds, with the fast path in front of its whole ASGI app (see the module's text)."""

    __slots__ = ()  # same layout as the attrs-slotted Service, so the decorated object can take this class

    def to_asgi(self, is_main: bool = True) -> FastPath:
        return FastPath(super().to_asgi(is_main))


# the decorator returns a Service instance: it takes the subclass, so only its to_asgi changes
Retention.__class__ = FastFront  # type: ignore[method-assign]
if UI_FOLDER.is_dir():
    Retention.mount_asgi_app(ui_app(UI_FOLDER), path="/ui", name="ui")  # type: ignore[attr-defined]
