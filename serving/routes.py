"""What each endpoint does, given a validated request: the bundle, the live state and the journal in, JSON out.

Handlers raise ``ApiError`` for answers that are not 200; ``fastpath`` turns those into ``{error, detail}``.
"""

from __future__ import annotations

import asyncio
import io
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel

from features.data.io import spreadsheet_safe
from models.inference.score import churn_list
from serving import schemas as S
from serving.bundle import RECOMMENDER, SCORES, Bundle, Holder
from serving.catalog import catalog_frame
from serving.config import Settings
from serving.events import Journal, LiveEvent, naive_local
from serving.experiments import CHALLENGER, CHAMPION, Watch
from serving.journal import JournalError
from serving.language import REQUEST_LANG, Lang, localised, localised_picks
from serving.livestore import MemoryLive, RedisLive
from serving.picks import CACHED_K, UNKNOWN, Memo, Ready, ready, ready_items, recommend_body
from serving.recommender import Picks, item_page_list, personal_picks
from serving.reminders import reminders as reminder_items
from serving.reminders import reminders_audience
from serving.shared import Shared
from serving.timerule import batch_time_problem
from serving.topup import TopUp, leading, top_up


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers


@dataclass
class Context:
    settings: Settings
    holder: Holder
    live: MemoryLive | RedisLive
    journal: Journal
    shared: Shared | None = None  # the reload generation across workers (with Redis)
    experiments: Watch | None = None  # the running A/B experiment of recommender versions, if any


@dataclass(frozen=True)
class Answer:
    body: bytes
    content_type: bytes = b"application/json"
    status: int = 200
    headers: tuple[tuple[bytes, bytes], ...] = ()


# fixed sentences: what went wrong in detail (exception text, URIs, paths) is in the service log, never in a body
LOADING = "the service is still loading the models and the shop; retry in a few seconds"
LOAD_FAILED = ("the service could not load the models or the shop; its operator finds the reason in the service log "
               "(train with `retention train --data DIR`, then POST /admin/reload)")
MISSING = {
    SCORES: "customer scores are not loaded: the churn, golden or value champion is missing or could not be read. "
            "Run `retention train --data DIR` on this shop, then POST /admin/reload (the service log says what "
            "failed)",
    RECOMMENDER: "recommendations are not loaded: the recommender champion is missing or could not be read (a shop "
                 "without item_id has none). Run `retention train --data DIR` on this shop (with item_id), then "
                 "POST /admin/reload (the service log says what failed)",
}


def bundle_with(ctx: Context, part: str | None = None) -> Bundle:
    """Return the current bundle; 503 while the first load runs, 409 when ``part`` could not be loaded."""
    bundle = ctx.holder.bundle
    if bundle is None:
        raise ApiError(503, "not ready", LOAD_FAILED if ctx.holder.error else LOADING)
    if part is not None and part in bundle.missing:
        raise ApiError(409, f"{part} unavailable", MISSING[part])
    return bundle


def json_answer(payload: Any) -> Answer:
    return Answer(orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY))


def memo_of(bundle: Bundle) -> Memo:
    return bundle.memo if bundle.memo is not None else Memo()  # a bundle built without the loader's extras


# storefront ----------------------------------------------------------------------------------------------------
class Arm(NamedTuple):  # a tuple: built on every storefront request, at 40% of a frozen dataclass's cost
    """The recommender a request is answered by: the champion, or the challenger of a running experiment."""

    name: str
    model: Any
    memo: Memo
    version: str
    shown: Path | None = None  # the experiment's shown-lists file (None: no experiment running)


def arm_of(ctx: Context, bundle: Bundle, customer_id: str) -> Arm:
    active = ctx.experiments.active if ctx.experiments is not None else None
    if active is None:
        return Arm(CHAMPION, bundle.recommender, memo_of(bundle), bundle.versions[RECOMMENDER])
    if active.in_challenger_arm(customer_id):
        return Arm(CHALLENGER, active.model, active.memo, active.experiment.challenger, active.shown)
    return Arm(CHAMPION, bundle.recommender, memo_of(bundle), bundle.versions[RECOMMENDER], active.shown)


async def recommend(ctx: Context, req: S.RecommendRequest) -> Answer:
    return await _recommend(ctx, req, shown=True)


async def customer_picks(ctx: Context, req: S.RecommendRequest) -> Answer:
    return await _recommend(ctx, req, shown=False)  # the marketer looking is not the customer shown


async def _recommend(ctx: Context, req: S.RecommendRequest, shown: bool) -> Answer:
    bundle = bundle_with(ctx, RECOMMENDER)
    live = await ctx.live.read(req.customer_id)
    arm = arm_of(ctx, bundle, req.customer_id)
    log = arm.shown if shown and ctx.experiments is not None else None
    top: TopUp | None = None
    if live is None and not (req.cart or req.exclude or req.category) and req.k <= CACHED_K:
        usual = await _usual_picks(bundle, arm, req.customer_id)
        if REQUEST_LANG.get() == Lang.en:  # the ready bytes are English
            if log is not None:
                _log_shown(ctx, log, req.customer_id, arm, usual.ids[:req.k])
            return Answer(recommend_body(req.customer_id, usual, req.k, arm.version, arm.name))
        items, known = ready_items(usual, req.k), usual.known
    else:
        cart, exclude = list(req.cart), list(req.exclude)
        if live is not None:
            cart += [item for item in live.cart if item not in req.cart]
            exclude += list(live.bought)
        threshold = req.free_delivery_threshold or bundle.sections.storefront.free_delivery_threshold
        if threshold is not None and cart:
            top, picks = await _with_top_up(bundle, arm, req, cart, exclude, threshold)
        else:
            picks = await asyncio.to_thread(personal_picks, arm.model, req.customer_id, req.k, cart, exclude,
                                            req.category, bundle.item_category)
        items, known = [{"item_id": i, "score": s, "reason": r} for i, s, r in picks.items], picks.known
    if log is not None:
        _log_shown(ctx, log, req.customer_id, arm, [i["item_id"] for i in items])
    answer = {"customer_id": req.customer_id, "items": localised_picks(items), "model_version": arm.version,
              "fallback": not known, "arm": arm.name}
    if top is not None:
        answer["free_delivery"] = top.answer()
    return json_answer(answer)


def _log_shown(ctx: Context, log: Path, customer_id: str, arm: Arm, items: Sequence[str]) -> None:
    assert ctx.experiments is not None  # a shown-lists file is only set while an experiment runs
    ctx.experiments.log.add(log, customer_id, arm.name, arm.version, items)


async def _with_top_up(bundle: Bundle, arm: Arm, req: S.RecommendRequest, cart: list[str], exclude: list[str],
                       threshold: float) -> tuple[TopUp, Picks]:
    """The picks with the items that close the gap to free delivery first (``serving.topup``)."""
    if not bundle.catalog.has_price:
        raise ApiError(422, "no prices", "a free-delivery top-up needs item prices: the shop's items table has no "
                       "price column; add it (items.price), or send no free_delivery_threshold")
    cfg = bundle.sections.storefront

    def work() -> tuple[TopUp, Picks]:
        top = top_up(arm.model, bundle.catalog, cart, exclude, threshold, cfg.topup_margin, min(cfg.topup_k, req.k))
        taken = exclude + [item for item, _, _ in top.items]
        picks = personal_picks(arm.model, req.customer_id, req.k, cart, taken, req.category, bundle.item_category)
        return top, Picks(leading(top.items, picks.items, req.k), picks.known)

    return await asyncio.to_thread(work)


async def _usual_picks(bundle: Bundle, arm: Arm, customer_id: str) -> Ready:
    """A customer's top CACHED_K picks without cart or live events: precomputed, or computed once into the LRU."""
    key = customer_id if customer_id in bundle.active_customers else UNKNOWN
    found = arm.memo.picks_of(key)
    if found is None:
        found = ready(await asyncio.to_thread(personal_picks, arm.model, customer_id, CACHED_K, (), ()))
        arm.memo.more_picks[key] = found
    return found


async def _item_list(ctx: Context, item_ids: list[str], k: int, kind: str) -> Answer:
    bundle = bundle_with(ctx, RECOMMENDER)
    memo = memo_of(bundle)
    key = (kind, k, *item_ids)
    body = memo.item_lists.get(key)
    if body is None:
        body = await asyncio.to_thread(_item_list_body, bundle, item_ids, k, kind)
        memo.item_lists[key] = body
    return Answer(body)


def _item_list_body(bundle: Bundle, item_ids: list[str], k: int, kind: str) -> bytes:
    known = [i for i in item_ids if i in bundle.item_category] if bundle.item_category else list(item_ids)
    unknown = [i for i in item_ids if i not in known]
    ranked = item_page_list(bundle.recommender, known, k, kind, bundle.item_category) if known else []
    return orjson.dumps({"items": [{"item_id": i, "score": s} for i, s in ranked], "unknown_items": unknown,
                         "model_version": bundle.versions[RECOMMENDER]})


async def reminders(ctx: Context, req: S.RemindersRequest) -> Answer:
    bundle = bundle_with(ctx)
    live = await ctx.live.read(req.customer_id)
    items = reminder_items(bundle.reminders, bundle.catalog, req.customer_id, live, req.k, REQUEST_LANG.get())
    return json_answer({"customer_id": req.customer_id, "items": items})


async def bought_together(ctx: Context, req: S.BoughtTogetherRequest) -> Answer:
    return await _item_list(ctx, list(dict.fromkeys(req.item_ids)), req.k, "bought_together")


async def similar_items(ctx: Context, req: S.ItemRequest) -> Answer:
    return await _item_list(ctx, [req.item_id], req.k, "similar")


async def upsell(ctx: Context, req: S.ItemRequest) -> Answer:
    return await _item_list(ctx, [req.item_id], req.k, "upsell")


async def events(ctx: Context, req: S.Event | S.EventBatch) -> Answer:
    batch = req.events if isinstance(req, S.EventBatch) else [req]
    wait = await ctx.live.over_limit(Counter(e.customer_id for e in batch), ctx.settings.events_per_minute)
    if wait:
        raise ApiError(429, "too many events", f"at most {ctx.settings.events_per_minute} events per customer per "
                       f"minute; retry after {wait} s", ((b"retry-after", str(wait).encode()),))
    live = [LiveEvent(e.customer_id, naive_local(e.timestamp), e.event_type, e.item_id) for e in batch]
    refused = batch_time_problem([e.timestamp for e in live], ctx.holder.bundle)  # the contract's time rule
    if refused is not None:
        raise ApiError(422, "invalid request", refused)
    try:
        await asyncio.to_thread(ctx.journal.append, live)  # on disk (fsync) before the answer, whole or not at all
    except JournalError as exc:  # 507 full disk, 503 read-only journal: a sentence, nothing kept
        raise ApiError(exc.status, exc.error, exc.detail) from None
    await ctx.live.add(live)
    return json_answer({"accepted": len(live)})


# customers -----------------------------------------------------------------------------------------------------
async def customer(ctx: Context, req: S.CustomerRequest) -> Answer:
    bundle = bundle_with(ctx, SCORES)
    record = bundle.customers.get(req.customer_id)
    if record is None:
        raise ApiError(404, "unknown customer", f"no customer {req.customer_id!r} with a purchase before "
                       f"{bundle.cutoff:%Y-%m-%d} in the served shop; check the id (ids are strings: 00042 is not 42)")
    return json_answer(localised(record))


async def churn_risk(ctx: Context, req: S.ChurnRiskRequest) -> Answer:
    bundle = bundle_with(ctx, SCORES)
    ids = list(dict.fromkeys(req.customer_ids))
    return json_answer({"customers": [localised(bundle.customers[i]) for i in ids if i in bundle.customers],
                        "unknown": [i for i in ids if i not in bundle.customers]})


async def churn_list_route(ctx: Context, req: S.ChurnListRequest) -> Answer:
    bundle = bundle_with(ctx, SCORES)
    assert bundle.scores is not None  # present whenever SCORES is not missing
    try:
        answer = await asyncio.to_thread(_churn_list_answer, bundle, req)  # to_thread carries the request's language
    except ValueError as exc:  # an unknown segment: the message lists the segments present
        raise ApiError(422, "invalid request", str(exc).replace("--segment", "segment")) from None
    return answer


def _churn_list_answer(bundle: Bundle, req: S.ChurnListRequest) -> Answer:
    assert bundle.scores is not None
    table = churn_list(bundle.scores, req.min_probability, req.segment, req.min_value, req.limit,
                       lang=REQUEST_LANG.get())
    table = table.assign(last_order=table["last_order"].astype(str).where(table["last_order"].notna(), None))
    if req.format == "csv":
        buffer = io.StringIO()
        spreadsheet_safe(table).to_csv(buffer, index=False)  # a list for people: '=...' ids never run as formulas
        return Answer(buffer.getvalue().encode(), b"text/csv; charset=utf-8")
    rows = table.astype(object).where(table.notna(), None).to_dict("records")
    for row in rows:
        row["preferred_hour"] = None if row["preferred_hour"] is None else int(row["preferred_hour"])
    return json_answer({"customers": rows, "cutoff": bundle.cutoff.date().isoformat()})


async def reminders_audience_route(ctx: Context, req: S.AudienceRequest) -> Answer:
    bundle = bundle_with(ctx)
    customers = bundle.segmentation.customers[["customer_id"]].astype(str)
    answer = await asyncio.to_thread(reminders_audience, bundle.reminders, customers, catalog_frame(bundle.catalog),
                                     bundle.cutoff, bundle.sections.campaigns, req.limit, REQUEST_LANG.get())
    return json_answer(answer)


async def segments(ctx: Context, req: None) -> Answer:
    bundle = bundle_with(ctx)
    memo = memo_of(bundle)
    if memo.segments is None:  # the loader works it out; a bundle built without it computes it once, off the loop
        memo.segments = orjson.dumps(await asyncio.to_thread(bundle.segments_answer))
    return Answer(memo.segments)


async def reload(ctx: Context, req: None) -> Answer:
    if ctx.holder.loading:
        raise ApiError(409, "reload running", "a reload is already running; GET /admin/reload says when it is done")
    generation = await ctx.shared.next_generation() if ctx.shared is not None else ctx.holder.generation + 1
    if not ctx.holder.start_reload(generation):
        raise ApiError(409, "reload running", "a reload is already running; GET /admin/reload says when it is done")
    return Answer(_reload_body(ctx), status=202)


async def reload_status(ctx: Context, req: None) -> Answer:
    return Answer(_reload_body(ctx))


def _reload_body(ctx: Context) -> bytes:
    status = ctx.holder.reload_status
    versions = ctx.holder.bundle.versions if ctx.holder.bundle else {}
    return orjson.dumps({"status": status.status, "detail": status.detail, "versions": versions,
                         "generation": ctx.holder.generation})


Handler = Callable[[Context, Any], Awaitable[Answer]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    request: Any  # a pydantic model class, a union of them, or None (no body)
    response: type[BaseModel]
    summary: str
    key: str = "storefront"  # the role whose key it needs: storefront, api (the marketer) or admin
    errors: tuple[int, ...] = ()
    ok: int = 200


_BODY = (400, 401, 413, 415, 422, 503)
_STOREFRONT = "; needs RETENTION_STOREFRONT_KEY"
_MARKETER = "; needs RETENTION_API_KEY"
ROUTES = (
    Route("POST", "/recommend", recommend, S.RecommendRequest, S.RecommendResponse,
          "A customer's next items, with a reason each (unknown customers: cart-based or popular, fallback true)"
          + _STOREFRONT, key="storefront", errors=(*_BODY, 409)),
    Route("POST", "/reminders", reminders, S.RemindersRequest, S.RemindersResponse,
          "What the customer left in the cart, wished for or viewed and did not buy, then what others buy lately in "
          "their favourite category (in stock, never already bought; live events count at once)" + _STOREFRONT,
          key="storefront", errors=(*_BODY,)),
    Route("POST", "/bought_together", bought_together, S.BoughtTogetherRequest, S.ItemListResponse,
          "Items bought together with these (a cart)" + _STOREFRONT, key="storefront", errors=(*_BODY, 409)),
    Route("POST", "/similar_items", similar_items, S.ItemRequest, S.ItemListResponse,
          "Items similar to this one" + _STOREFRONT, key="storefront", errors=(*_BODY, 409)),
    Route("POST", "/upsell", upsell, S.ItemRequest, S.ItemListResponse,
          "Pricier items of the same category" + _STOREFRONT, key="storefront", errors=(*_BODY, 409)),
    Route("POST", "/events", events, S.Events, S.EventsResponse,
          "Live events (one, or {events: [...]} up to 1,000); journaled before the answer" + _STOREFRONT,
          key="storefront", errors=(*_BODY, 429, 507)),
    Route("POST", "/customer", customer, S.CustomerRequest, S.CustomerScores,
          "One customer's segment, scores, reasons and suggested action" + _MARKETER, key="api",
          errors=(*_BODY, 404, 409)),
    Route("POST", "/customer_picks", customer_picks, S.RecommendRequest, S.RecommendResponse,
          "What /recommend shows this customer, for the marketer's page" + _MARKETER, key="api",
          errors=(*_BODY, 409)),
    Route("POST", "/churn_risk", churn_risk, S.ChurnRiskRequest, S.ChurnRiskResponse,
          "Scores of up to 1,000 customers" + _MARKETER, key="api", errors=(*_BODY, 409)),
    Route("POST", "/churn_list", churn_list_route, S.ChurnListRequest, S.ChurnListResponse,
          "The customers worth saving first (JSON or CSV)" + _MARKETER, key="api", errors=(*_BODY, 409)),
    Route("POST", "/audiences/reminders", reminders_audience_route, S.AudienceRequest, S.AudienceResponse,
          "The reminders campaign audience (viewed or wished for, not bought) with its seeded control group, as "
          "`retention campaigns` writes it" + _MARKETER, key="api", errors=_BODY),
    Route("GET", "/segments", segments, None, S.SegmentsResponse,
          "Segment sizes, revenue shares and average check" + _MARKETER, key="api", errors=(401, 503)),
    Route("POST", "/admin/reload", reload, None, S.ReloadResponse,
          "Load new champions and the shop's state in the background, on every worker; needs RETENTION_ADMIN_KEY",
          key="admin", errors=(401, 409), ok=202),
    Route("GET", "/admin/reload", reload_status, None, S.ReloadResponse,
          "How the last reload went on the worker that answers; needs RETENTION_ADMIN_KEY", key="admin",
          errors=(401,)),
)
