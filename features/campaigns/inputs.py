"""What the campaign rules read, as of a cutoff: one row per customer, the purchase orders and the open carts.

This is the only module of the package that queries the shop; every rule downstream is a pure function of the
frames built here (plus the scores the models add). Only rows before the cutoff are read.

Customer columns (``CUSTOMER_COLUMNS``): the segment flags of ``features.analytics.segments`` (segment,
is_golden_now, is_churned, dead_contact, recency_days, churn_threshold_days, frequency, tenure_days), the
usual weekday and hour of ordering (best_weekday, best_hour), e-mail opt-in and days to the next birthday
(customers table), spend in the tier year and the part of it that still counts ``tier_drop_days`` later, days
with a site visit and e-mail opens in their windows (events table). A column whose table is absent is empty.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis
import pandas as pd

from features import columns as C
from features.analytics.segment_rules import SegmentsConfig
from features.analytics.segments import segment_customers
from features.campaigns.config import CampaignsConfig
from features.data.reader import Shop
from features.families.profile import profile_features
from features.families.site import VISIT_EVENTS
from features.families.timing import has_time_of_day, timing_features
from features.orders import millionths, money_sum, orders_before, purchases_before, rows_before

logger = logging.getLogger(__name__)

SEGMENT_COLUMNS = (C.CUSTOMER_ID, "segment", "is_golden_now", "is_churned", "dead_contact", "recency_days",
                   "churn_threshold_days", "frequency", "tenure_days")
CUSTOMER_COLUMNS = (*SEGMENT_COLUMNS, "best_weekday", "best_hour", C.EMAIL_OPT_IN, "days_to_birthday", "year_spend",
                    "kept_spend", "visit_days", "email_opens")
CART_COLUMNS = (C.CUSTOMER_ID, C.TIMESTAMP, C.ITEM_ID)
REMINDER_COLUMNS = (C.CUSTOMER_ID, C.ITEM_ID, "kind", C.TIMESTAMP)
REMINDER_EVENTS = {"cart_add": "cart", "wishlist_add": "wishlist", "view": "viewed"}


@dataclass
class CampaignInputs:
    """Everything the rules read at one cutoff (frames only; see the module docstring)."""

    cutoff: datetime
    dead_after_days: float
    customers: pd.DataFrame
    purchases: pd.DataFrame  # purchase orders before the cutoff: customer_id, timestamp
    cart_adds: pd.DataFrame  # cart adds in the cart window: customer_id, timestamp, item_id
    bought_lines: pd.DataFrame  # purchase lines of those customers since their first cart add: + item_id
    items: pd.DataFrame | None  # item_id, and in_stock / price / category when present
    has_email_events: bool = False
    notes: list[str] = field(default_factory=list)
    reminder_items: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(REMINDER_COLUMNS)))


def campaign_inputs(shop: Shop, cutoff: datetime, cfg: CampaignsConfig,
                    segments_cfg: SegmentsConfig | None = None) -> CampaignInputs:
    """Return the frames every campaign rule reads as of ``cutoff`` (executes a handful of DuckDB queries)."""
    segments_cfg = segments_cfg or SegmentsConfig()
    seg = segment_customers(shop, cutoff, segments_cfg).customers
    frame = seg[list(SEGMENT_COLUMNS)].copy()
    frame[C.CUSTOMER_ID] = frame[C.CUSTOMER_ID].astype(str)
    frame = frame.set_index(C.CUSTOMER_ID)
    notes: list[str] = []
    _add_timing(frame, shop, cutoff)
    _add_profile(frame, shop, cutoff, notes)
    _add_spend(frame, shop, cutoff, cfg)
    email_events = _add_activity(frame, shop, cutoff, cfg, notes)
    purchases = purchases_before(shop.transactions, cutoff).select(C.CUSTOMER_ID, C.TIMESTAMP).execute()
    purchases[C.CUSTOMER_ID] = purchases[C.CUSTOMER_ID].astype(str)
    carts, bought = _carts(shop, cutoff, cfg, notes)
    items = shop.to_pandas("items") if shop.has("items") else None
    if items is not None:
        items[C.ITEM_ID] = items[C.ITEM_ID].astype(str)
    return CampaignInputs(cutoff=cutoff, dead_after_days=segments_cfg.reactivation_days,
                          customers=frame.reset_index()[list(CUSTOMER_COLUMNS)], purchases=purchases,
                          cart_adds=carts, bought_lines=bought, items=items, has_email_events=email_events,
                          notes=notes, reminder_items=reminder_candidates(shop, cutoff, cfg.reminder_days))


def _by_customer(table: ibis.Table) -> pd.DataFrame:
    frame = table.execute()
    frame[C.CUSTOMER_ID] = frame[C.CUSTOMER_ID].astype(str)
    return frame.set_index(C.CUSTOMER_ID)


def _add_timing(frame: pd.DataFrame, shop: Shop, cutoff: datetime) -> None:
    with_hour = has_time_of_day(shop.transactions, cutoff)
    timing = _by_customer(timing_features(shop.transactions, cutoff, with_hour=with_hour))
    frame["best_weekday"] = timing["preferred_weekday"].reindex(frame.index)
    hour = timing["preferred_hour"].reindex(frame.index) if with_hour else pd.Series(pd.NA, index=frame.index)
    frame["best_hour"] = pd.to_numeric(hour).round().astype("Int64")


def _add_profile(frame: pd.DataFrame, shop: Shop, cutoff: datetime, notes: list[str]) -> None:
    frame[C.EMAIL_OPT_IN] = pd.Series(pd.NA, index=frame.index, dtype="boolean")
    frame["days_to_birthday"] = float("nan")
    customers = shop.table("customers")
    if customers is None:
        notes.append("no customers table: e-mail opt-in is unknown and the birthdays audience is empty")
        return
    profile = _by_customer(profile_features(customers, cutoff))
    if C.EMAIL_OPT_IN in profile.columns:
        frame[C.EMAIL_OPT_IN] = profile[C.EMAIL_OPT_IN].reindex(frame.index).map({1.0: True, 0.0: False})
        frame[C.EMAIL_OPT_IN] = frame[C.EMAIL_OPT_IN].astype("boolean")
    if "days_to_birthday" in profile.columns:
        frame["days_to_birthday"] = profile["days_to_birthday"].reindex(frame.index)
    else:
        notes.append("customers has no birth_date: the birthdays audience is empty")


def _add_spend(frame: pd.DataFrame, shop: Shop, cutoff: datetime, cfg: CampaignsConfig) -> None:
    lines = rows_before(shop.transactions, cutoff)
    start = ibis.timestamp(cutoff - timedelta(days=cfg.tier_year_days))
    kept_from = ibis.timestamp(cutoff - timedelta(days=cfg.tier_year_days - cfg.tier_drop_days))
    ts, micros = lines[C.TIMESTAMP], millionths(lines[C.REVENUE])  # exact: a spend right on a tier's bar stays on it
    spend = _by_customer(lines.filter(ts >= start).group_by(C.CUSTOMER_ID).aggregate(
        year_spend=money_sum(micros), kept_spend=money_sum(micros, where=ts >= kept_from)))
    for column in ("year_spend", "kept_spend"):
        frame[column] = spend[column].reindex(frame.index).fillna(0.0)


def _add_activity(frame: pd.DataFrame, shop: Shop, cutoff: datetime, cfg: CampaignsConfig,
                  notes: list[str]) -> bool:
    """Add visit_days and email_opens; return whether the shop logs e-mail opens at all (before the cutoff)."""
    events = shop.table("events")
    if events is None:
        frame["visit_days"], frame["email_opens"] = float("nan"), float("nan")
        notes.append("no events table: contact frequency follows e-mail opt-in only, no abandoned carts")
        return False
    ev = rows_before(events, cutoff)
    ts, kind = ev[C.TIMESTAMP], ev[C.EVENT_TYPE]
    visits = (kind.isin(VISIT_EVENTS)) & (ts >= ibis.timestamp(cutoff - timedelta(days=cfg.visit_days)))
    opens = (kind == "email_open") & (ts >= ibis.timestamp(cutoff - timedelta(days=cfg.email_open_days)))
    per = _by_customer(ev.group_by(C.CUSTOMER_ID).aggregate(
        visit_days=ts.date().nunique(where=visits).cast("float64"),
        email_opens=ev.count(where=opens).cast("float64")))
    frame["visit_days"] = per["visit_days"].reindex(frame.index).fillna(0.0)
    frame["email_opens"] = per["email_opens"].reindex(frame.index).fillna(0.0)
    return bool((kind == "email_open").any().execute())


def _carts(shop: Shop, cutoff: datetime, cfg: CampaignsConfig, notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the cart adds in the cart window and the purchase lines of those customers since the earliest."""
    events = shop.table("events")
    empty = pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c == C.TIMESTAMP else object)
                          for c in CART_COLUMNS})
    if events is None or C.ITEM_ID not in events.columns or not shop.has("transactions", C.ITEM_ID):
        if events is not None:
            notes.append("events or transactions have no item_id: no abandoned carts")
        return empty, empty.copy()
    oldest, newest = (cutoff - timedelta(hours=h) for h in (cfg.cart_hours[1], cfg.cart_hours[0]))
    ev = rows_before(events, cutoff)
    carts = ev.filter(ev[C.EVENT_TYPE] == "cart_add", ev[C.TIMESTAMP] >= ibis.timestamp(oldest),
                      ev[C.TIMESTAMP] <= ibis.timestamp(newest), ev[C.ITEM_ID].notnull())
    lines = rows_before(shop.transactions, cutoff)
    lines = lines.filter(lines[C.QUANTITY] > 0, lines[C.TIMESTAMP] >= ibis.timestamp(oldest),
                         lines[C.CUSTOMER_ID].isin(carts[C.CUSTOMER_ID]))
    frames = []
    for table in (carts, lines):
        frame = table.select(*CART_COLUMNS).execute()
        for column in (C.CUSTOMER_ID, C.ITEM_ID):
            frame[column] = frame[column].astype(str)
        frames.append(frame)
    return frames[0], frames[1]


def orders_in(shop: Shop, start: datetime, end: datetime) -> pd.DataFrame:
    """Return the orders placed in ``[start, end)``: customer_id, timestamp, revenue (net), is_purchase."""
    orders = orders_before(shop.transactions, end)
    orders = orders.filter(orders[C.TIMESTAMP] >= ibis.timestamp(start))
    frame = orders.select(C.CUSTOMER_ID, C.TIMESTAMP, C.REVENUE, "is_purchase").execute()
    frame[C.CUSTOMER_ID] = frame[C.CUSTOMER_ID].astype(str)
    frame[C.REVENUE] = frame[C.REVENUE].astype("float64")
    return frame


def reminder_candidates(shop: Shop, cutoff: datetime, days: float) -> pd.DataFrame:
    """Return what each customer looked at, wished for or left in the cart in ``[cutoff - days, cutoff)`` and has
    not bought before the cutoff: customer_id, item_id, kind (cart, wishlist, viewed), timestamp (the latest), one
    row per customer, item and kind, newest first. A cart item removed again after its last add is not a cart item.
    """
    empty = pd.DataFrame({c: pd.Series(dtype="datetime64[us]" if c == C.TIMESTAMP else object)
                          for c in REMINDER_COLUMNS})
    events = shop.table("events")
    if events is None or C.ITEM_ID not in events.columns or not shop.has("transactions", C.ITEM_ID):
        return empty
    ev = rows_before(events, cutoff)
    ev = ev.filter(ev[C.EVENT_TYPE].isin([*REMINDER_EVENTS, "cart_remove"]), ev[C.ITEM_ID].notnull(),
                   ev[C.TIMESTAMP] >= ibis.timestamp(cutoff - timedelta(days=days)))
    last = ev.group_by([C.CUSTOMER_ID, C.ITEM_ID, C.EVENT_TYPE]).aggregate(**{C.TIMESTAMP: ev[C.TIMESTAMP].max()})
    lines = rows_before(shop.transactions, cutoff)
    lines = lines.filter(lines[C.QUANTITY] > 0, lines[C.CUSTOMER_ID].isin(ev[C.CUSTOMER_ID]))
    bought = lines.select(C.CUSTOMER_ID, C.ITEM_ID).distinct()
    frame = last.anti_join(bought, [C.CUSTOMER_ID, C.ITEM_ID]).execute()
    if frame.empty:
        return empty
    for column in (C.CUSTOMER_ID, C.ITEM_ID):
        frame[column] = frame[column].astype(str)
    removed = frame[frame[C.EVENT_TYPE] == "cart_remove"].set_index([C.CUSTOMER_ID, C.ITEM_ID])[C.TIMESTAMP]
    frame = frame[frame[C.EVENT_TYPE] != "cart_remove"]
    when_removed = removed.reindex(pd.MultiIndex.from_frame(frame[[C.CUSTOMER_ID, C.ITEM_ID]])).to_numpy()
    still = ~((frame[C.EVENT_TYPE] == "cart_add").to_numpy() & (when_removed >= frame[C.TIMESTAMP].to_numpy()))
    frame = frame[still].assign(kind=lambda f: f[C.EVENT_TYPE].map(REMINDER_EVENTS))
    frame = frame.sort_values([C.CUSTOMER_ID, C.TIMESTAMP, C.ITEM_ID], ascending=[True, False, True])
    return frame[list(REMINDER_COLUMNS)].reset_index(drop=True)
