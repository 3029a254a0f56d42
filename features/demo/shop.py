"""The demo shop: a seeded, believable online shop whose behaviour models can learn (and baselines can miss).

The story, in the order the generator tells it:

- Customers sign up over the last ``years`` years, a little more each month. 90% buy: ordinary customers at
  sign-up or within days, discount hunters (13%) at the next sale; the rest only browse. Each buyer has a
  gamma-distributed order rate and an exponential lifetime with a gamma-distributed hazard (Pareto/NBD),
  shorter for ad and social sign-ups, without e-mail opt-in, and for customers who return a lot. In the
  last 45 days before leaving a customer orders less (down to a third), browsing fades from 60 days
  ahead, then buying stops and browsing and e-mail opens trickle out.
- Spend level is lognormal per customer: high spenders fill bigger baskets and pick premium items (same
  category, about 2.6x the price); 30% of customers move to premium order after order. The top 20% of
  customers bring about 70% of net revenue.
- The catalogue has 16 categories with brands, hidden styles and Zipf-like popularity, plus 30 bestsellers.
  Each customer prefers 1-3 categories (Dirichlet weights; 75% of picks) and a style (about half of picks):
  the signal that lets personal recommendations beat popularity.
- Anchors bring partners into the same order (phone -> case + charger, coffee machine -> beans, running
  shoes -> socks, ...), each with probability ``complement_rate``.
- Consumables (coffee, beauty, pet food, sports nutrition): about half of the buyers who like one refill a
  favourite item every 25-45 days (a personal cycle, jittered, sometimes skipped) while active.
- Promotions (winter, spring, summer, back to school, three flash sales a year, Black Friday week) discount
  some categories and lift everyone's orders, Christmas too. Discount hunters buy almost only during sales,
  mostly what is on sale, and every line they buy is discounted (a coupon when the category is not on
  sale). E-mail coupons and birthday coupons (opted-in customers, the week after the birthday) exist too.
- Orders follow each customer's habits: main channel and device, favourite weekday and hour. About 2-3% of
  orders see lines returned 3-45 days later, in a separate order with negative quantities.
- Site events follow activity: views and a cart add of every bought item just before the purchase,
  browsing sessions with abandoned carts, wish lists and searches, e-mail opens and clicks for opted-in
  customers, chats and call-backs around returns.

Everything is drawn from ``numpy.random.Generator`` streams spawned from ``seed``; the last day of data is
``end_date`` (every timestamp is before ``end_date + 1 day``). Work is vectorised: no loop per customer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from features import columns as C
from features.data.contract import SPECS
from features.data.io import replace_folder
from features.demo.catalog import (
    RETURN_FACTOR,
    Calendar,
    Catalog,
    build_calendar,
    build_catalog,
    id_strings,
    items_frame,
    take_strings,
    timestamps,
    width,
)
from features.demo.config import DemoConfig
from features.demo.customers import (
    CHANNEL_SHARE,
    CHANNELS,
    DEVICE_BY_CHANNEL,
    DEVICES,
    Profiles,
    clock,
    customers_frame,
    draw_profiles,
    draw_rows,
    taste_items,
)
from features.demo.durable import once_per_customer
from features.demo.events import Activity, events_frame, simulate_events

logger = logging.getLogger(__name__)

REGULAR, REFILL, BIRTHDAY, RETURN = 0, 1, 2, 3
SOURCES = ("direct", "search", "email", "social", "ads")
SOURCE_WEIGHT = np.array([0.40, 0.22, 0.15, 0.10, 0.13])
FIRST_SOURCE = np.array([1, 3, 4, 0, 0])  # acquisition search/social/ads/referral/direct -> order source
FADE_DAYS = 45.0



@dataclass
class Orders:
    """One row per order (times in days since the calendar's start)."""

    cust: np.ndarray
    t: np.ndarray
    kind: np.ndarray
    rank: np.ndarray  # the customer's how-manieth order (0 = first)
    channel: np.ndarray | None = None
    device: np.ndarray | None = None
    source: np.ndarray | None = None


@dataclass
class Lines:
    """One row per order line."""

    order: np.ndarray
    item: np.ndarray
    quantity: np.ndarray
    discount: np.ndarray | None = None


def generate_shop(cfg: DemoConfig) -> dict[str, pd.DataFrame]:
    """Return the demo shop's tables: transactions, events, customers, items (see the module docstring).

    Examples
    --------
    >>> tables = generate_shop(DemoConfig(customers=200, seed=1))
    >>> sorted(tables)
    ['customers', 'events', 'items', 'transactions']
    """
    began = time.perf_counter()
    cust_rng, order_rng, return_rng, event_rng = (np.random.default_rng(s) for s in _seeds(cfg)[1:])
    catalog, calendar = catalogue(cfg)
    profiles = draw_profiles(cfg, calendar, catalog, cust_rng)
    orders = purchase_orders(profiles, calendar, order_rng)
    lines = basket_lines(cfg, orders, profiles, catalog, calendar, order_rng)
    orders, lines = with_returns(orders, lines, profiles, catalog, calendar, return_rng)
    bought = lines.quantity > 0
    activity = Activity(cust=orders.cust, t=orders.t, refill=orders.kind == REFILL, returned=orders.kind == RETURN,
                        line_order=lines.order[bought], line_item=lines.item[bought])
    events = simulate_events(cfg, profiles, catalog, calendar, activity, event_rng)
    tables = {
        "transactions": _transactions_frame(orders, lines, catalog, calendar, cfg.customers),
        "events": events_frame(events, calendar, cfg.customers, len(catalog.price)),
        "customers": customers_frame(profiles, calendar),
        "items": items_frame(catalog),
    }
    logger.info("demo shop: %s customers, %s lines, %s events in %.1f s", f"{cfg.customers:,}",
                f"{len(tables['transactions']):,}", f"{len(tables['events']):,}", time.perf_counter() - began)
    return tables


def catalogue(cfg: DemoConfig) -> tuple[Catalog, Calendar]:
    """Return the shop's catalogue (with its complement pairs) and promotion calendar, as ``generate_shop`` uses."""
    rng = np.random.default_rng(_seeds(cfg)[0])
    days = max(1, round(cfg.years * 365.25))
    start = cfg.end_date + timedelta(days=1 - days)
    return build_catalog(cfg.catalogue_size, rng), build_calendar(start, days, rng)


def _seeds(cfg: DemoConfig) -> list[np.random.SeedSequence]:
    """Independent streams: catalogue, customers, orders, returns, events (changing one leaves the others)."""
    return np.random.SeedSequence(cfg.seed).spawn(5)


def write_shop(tables: dict[str, pd.DataFrame], out: Path, fmt: Literal["parquet", "csv"]) -> list[Path]:
    """Write the tables as ``out/<table>.<fmt>``, all at once (a folder swapped in whole); return the paths.

    A folder already holding a shop in this format is replaced; one holding anything else is refused.
    """
    if fmt not in ("parquet", "csv"):
        raise ValueError(f"unsupported format {fmt!r}; expected 'parquet' or 'csv'")
    return replace_folder(tables, Path(out), f".{fmt}", tuple(f"{name}.{fmt}" for name in SPECS))


def fade(left: np.ndarray) -> np.ndarray:
    """Return the order-rate multiplier ``left`` days before leaving: 1, falling to 0.35 in the last 45 days."""
    return np.clip(0.35 + 0.65 * left / FADE_DAYS, 0.35, 1.0)


def purchase_orders(p: Profiles, cal: Calendar, rng: np.random.Generator) -> Orders:
    """Return first, regular, refill and birthday orders, sorted by customer and time."""
    first = np.flatnonzero(np.isfinite(p.first))
    parts = [(first, p.first[first], REGULAR), (*_regular_orders(p, cal, rng), REGULAR),
             (*_refill_orders(p, cal, rng), REFILL), (*_birthday_orders(p, cal, rng), BIRTHDAY)]
    cust = np.concatenate([c for c, _, _ in parts])
    t = np.concatenate([t for _, t, _ in parts])
    kind = np.concatenate([np.full(len(c), k, np.int8) for c, _, k in parts])
    order = np.lexsort((t, cust))
    cust, t, kind = cust[order], t[order], kind[order]
    rank = np.arange(len(cust)) - np.searchsorted(cust, cust)
    return Orders(cust=cust, t=t, kind=kind, rank=rank)


def _regular_orders(p: Profiles, cal: Calendar, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Thinned Poisson orders after the first: season, promotions, weekday habit and the fade before leaving."""
    start = p.first
    stop = np.minimum(p.death, cal.days)
    active = np.isfinite(start) & (stop > start)
    start = np.where(active, start, 0.0)
    span = np.where(active, stop - start, 0.0)
    bound = np.where(p.hunter, cal.hunter.max(), cal.regular.max())
    cust = np.repeat(np.arange(len(span)), rng.poisson(p.rate * bound * span))
    day = np.floor(start[cust] + rng.random(len(cust)) * span[cust]).astype(np.int64)
    shift = (p.weekday[cust] - cal.weekday(day) + 3) % 7 - 3
    day = np.where(rng.random(len(cust)) < p.weekday_habit[cust], day + shift, day)
    inside = (day >= np.floor(start[cust])) & (day < stop[cust])
    d = np.clip(day, 0, cal.days - 1)
    level = np.where(p.hunter[cust], cal.hunter[d], cal.regular[d]) * fade(p.death[cust] - d)
    keep = inside & (rng.random(len(cust)) * bound[cust] < level)
    cust, day = cust[keep], day[keep]
    return cust, day + clock(rng, p.hour[cust])


def _refill_orders(p: Profiles, cal: Calendar, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Refills of the favourite consumable every personal cycle (jittered), some skipped, more when fading."""
    who = np.flatnonzero(p.refill_item >= 0)
    stop = np.minimum(p.death[who], cal.days)
    count = np.ceil(np.clip(stop - p.first[who], 0, None) / (0.7 * p.cycle[who])).astype(np.int64) + 1
    cust = np.repeat(who, count)
    gap = p.cycle[cust] * np.exp(rng.normal(0.0, 0.12, len(cust)))
    total = np.cumsum(gap)
    before = np.r_[0.0, total][np.cumsum(count) - count]
    t = p.first[cust] + total - np.repeat(before, count)
    keep = (t < np.minimum(p.death[cust], cal.days)) & (rng.random(len(cust)) < 0.9 * fade(p.death[cust] - t))
    cust, day = cust[keep], np.floor(t[keep])
    return cust, day + clock(rng, p.hour[cust])


def _birthday_orders(p: Profiles, cal: Calendar, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A quarter of opted-in active buyers use their birthday coupon in the week after the birthday."""
    month = p.birth.astype("datetime64[M]")
    day_of_month = (p.birth - month.astype("datetime64[D]")).astype(np.int64)
    birth_year = p.birth.astype("datetime64[Y]").astype(np.int64) + 1970
    last = cal.start + timedelta(days=cal.days - 1)
    custs, times = [], []
    for year in range(cal.start.year, last.year + 1):
        birthday = (month + 12 * (year - birth_year)).astype("datetime64[D]") + day_of_month  # 29 Feb -> 1 Mar
        day = (birthday - np.datetime64(cal.start)).astype(np.int64) + rng.integers(0, 7, len(month))
        ok = (p.opt_in & (day >= np.floor(p.first)) & (day < np.minimum(p.death, cal.days))
              & (rng.random(len(month)) < 0.25))
        custs.append(np.flatnonzero(ok))
        times.append(day[ok] + clock(rng, p.hour[ok]))
    return np.concatenate(custs), np.concatenate(times)


def basket_lines(cfg: DemoConfig, o: Orders, p: Profiles, catalog: Catalog, cal: Calendar,
                 rng: np.random.Generator) -> Lines:
    """Fill the orders: taste picks, the refill item, complements; set channel, device, source and discounts."""
    promo = cal.promo[np.floor(o.t).astype(np.int64)]
    order, item, quantity = _taste_lines(o, p, catalog, cal, promo, rng)
    refill = np.flatnonzero((o.kind == REFILL) | ((o.rank == 0) & (p.refill_item[o.cust] >= 0)))
    refill_quantity = 1 + (rng.random(len(refill)) < 0.35) + (rng.random(len(refill)) < 0.1)
    parts = [(order, item, quantity), (refill, p.refill_item[o.cust[refill]], refill_quantity)]
    for j in range(2):
        partner = catalog.partners[item, j]
        brought = np.flatnonzero((partner >= 0) & (rng.random(len(item)) < cfg.complement_rate))
        parts.append((order[brought], partner[brought], np.ones(len(brought), np.int64)))
    if cfg.profile == "durable":
        parts = once_per_customer(parts, o.cust, o.t, o.rank, p, catalog, rng)
    n_items = len(catalog.price)  # one line per (order, item): quantities of repeated picks add up
    key, inverse = np.unique(np.concatenate([a * n_items + i for a, i, _ in parts]), return_inverse=True)
    quantity = np.bincount(inverse, weights=np.concatenate([q for _, _, q in parts])).astype(np.int64)
    lines = Lines(order=key // n_items, item=key % n_items, quantity=quantity)
    coupon = _order_context(o, p, cal, promo, rng)
    lines.discount = _discounts(lines, promo, coupon, catalog, cal, rng)
    return lines


def _taste_lines(o: Orders, p: Profiles, catalog: Catalog, cal: Calendar, promo: np.ndarray,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (order, item, quantity) of the picks by taste: more and pricier for high spenders."""
    spend = p.spend[o.cust]
    picks = np.where(o.kind == REFILL, rng.random(len(o.cust)) < 0.3, 1 + rng.poisson(np.exp(0.3 * spend)))
    order = np.repeat(np.arange(len(o.cust)), picks)
    cust = o.cust[order]
    item = taste_items(rng, p, catalog, cust, rank=o.rank[order])
    hunting = np.flatnonzero(p.hunter[cust] & (promo[order] >= 0) & (rng.random(len(cust)) < 0.6))
    if len(hunting):  # in a sale, hunters mostly pick from the categories on sale
        on_sale = draw_rows(rng, cal.promo_categories[promo[order[hunting]]].astype(np.float64))
        item[hunting] = taste_items(rng, p, catalog, cust[hunting], on_sale, o.rank[order[hunting]])
    quantity = 1 + (rng.random(len(item)) < 0.08 * np.exp(0.3 * spend[order]))
    return order, item, quantity


def _order_context(o: Orders, p: Profiles, cal: Calendar, promo: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Set each order's channel, device and source from the customer's habits; return its coupon rate."""
    m, c = len(o.cust), o.cust
    o.channel = np.where(rng.random(m) < 0.85, p.channel[c], rng.choice(len(CHANNELS), m, p=CHANNEL_SHARE))
    same_device = (o.channel == p.channel[c]) & (rng.random(m) < 0.85)
    o.device = np.where(same_device, p.device[c], draw_rows(rng, DEVICE_BY_CHANNEL[o.channel]))
    weight = np.tile(SOURCE_WEIGHT, (m, 1))
    weight[:, 2] *= p.opt_in[c] * np.where(promo >= 0, 2.5, 1.0)  # sale newsletters
    weight[:, 4] *= np.where(promo >= 0, 1.5, 1.0)
    weight[:, 0] *= np.where(o.kind == REFILL, 2.0, 1.0)
    o.source = np.where(o.rank == 0, FIRST_SOURCE[p.acquisition[c]], draw_rows(rng, weight))
    coupon = np.where(o.kind == BIRTHDAY, 0.15, np.where(p.hunter[c], 0.10, 0.0))
    email_coupon = (o.source == 2) & (o.kind == REGULAR) & (rng.random(m) < 0.4)
    return np.where(email_coupon, np.maximum(coupon, 0.10), coupon)


def _discounts(lines: Lines, promo: np.ndarray, coupon: np.ndarray, catalog: Catalog, cal: Calendar,
               rng: np.random.Generator) -> np.ndarray:
    """Return each line's discount rate: the sale's rate (+-5 points) when its category is on sale, or the coupon."""
    sale = promo[lines.order]
    rate = np.zeros(len(sale))
    if len(cal.rates):
        on = (sale >= 0) & cal.promo_categories[np.maximum(sale, 0), catalog.category[lines.item]]
        jitter = rng.choice([-0.05, 0.0, 0.05], len(sale))
        rate = np.where(on, cal.rates[np.maximum(sale, 0)] + jitter, 0.0)
    return np.round(np.maximum(rate, coupon[lines.order]), 2)


def with_returns(o: Orders, lines: Lines, p: Profiles, catalog: Catalog, cal: Calendar,
                 rng: np.random.Generator) -> tuple[Orders, Lines]:
    """Add return orders: some lines come back 3-45 days later, in a new order with negative quantity."""
    assert o.channel is not None and o.device is not None and o.source is not None, "order context comes first"
    assert lines.discount is not None, "discounts come first"
    chance = p.returns[o.cust[lines.order]] * RETURN_FACTOR[catalog.category[lines.item]]
    back = np.flatnonzero(rng.random(len(chance)) < chance)
    source, which = np.unique(lines.order[back], return_inverse=True)
    when = np.floor(o.t[source]) + 4 + np.floor(np.minimum(rng.exponential(6.0, len(source)), 41))  # >= 3 days
    when += rng.uniform(9, 18, len(source)) / 24  # returns are handled in business hours
    kept = when < cal.days
    new_order = len(o.cust) + np.cumsum(kept) - 1
    back, which = back[kept[which]], new_order[which[kept[which]]]
    source, when = source[kept], when[kept]
    orders = Orders(
        cust=np.r_[o.cust, o.cust[source]], t=np.r_[o.t, when], kind=np.r_[o.kind, np.full(len(when), RETURN)],
        rank=np.r_[o.rank, np.full(len(when), -1)], channel=np.r_[o.channel, o.channel[source]],
        device=np.r_[o.device, o.device[source]], source=np.r_[o.source, np.zeros(len(when), np.int64)],
    )
    return orders, Lines(order=np.r_[lines.order, which], item=np.r_[lines.item, lines.item[back]],
                         quantity=np.r_[lines.quantity, -lines.quantity[back]],
                         discount=np.r_[lines.discount, lines.discount[back]])


def _transactions_frame(o: Orders, lines: Lines, catalog: Catalog, cal: Calendar, customers: int) -> pd.DataFrame:
    assert o.channel is not None and o.device is not None and o.source is not None and lines.discount is not None
    number = np.empty(len(o.t), np.int64)
    number[np.lexsort((o.cust, o.t))] = np.arange(len(o.t))  # order ids follow time
    sort = np.lexsort((lines.item, number[lines.order]))
    order, item, discount = lines.order[sort], lines.item[sort], lines.discount[sort]
    n_items = len(catalog.price)
    return pd.DataFrame({
        C.CUSTOMER_ID: take_strings(id_strings("C", customers, width(customers, 6)), o.cust[order]),
        C.ORDER_ID: take_strings(id_strings("O", len(o.t), width(len(o.t), 7)), number[order]),
        C.TIMESTAMP: timestamps(cal, o.t[order]),
        C.ITEM_ID: take_strings(id_strings("I", n_items, width(n_items, 5)), item),
        C.QUANTITY: lines.quantity[sort],
        C.PRICE: np.round(catalog.price[item] * (1.0 - discount), 2),
        C.DISCOUNT: discount,
        C.CHANNEL: take_strings(CHANNELS, o.channel[order]),
        C.DEVICE: take_strings(DEVICES, o.device[order]),
        C.SOURCE: take_strings(SOURCES, o.source[order]),
    })
