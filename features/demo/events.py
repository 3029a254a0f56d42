"""Site events of the demo shop: they follow each customer's activity, so behaviour predicts buying and leaving.

- Every purchase is preceded by a session: views and a cart add of each bought item, a look at alternatives,
  often a search.
- Browsing-only sessions come at a rate proportional to the customer's order rate. They fade in the 60 days
  before the customer leaves and trickle out after. Some end with an abandoned cart (sometimes emptied
  again), a wish-list add or a chat.
- Opted-in customers get campaign e-mails every two weeks and at each sale; they open fewer as they fade.
- Returns come with chats and call-backs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features import columns as C
from features.demo.catalog import Calendar, Catalog, id_strings, take_strings, timestamps, width
from features.demo.customers import Profiles, taste_items

if TYPE_CHECKING:
    from features.demo.config import DemoConfig

VIEW, CART_ADD, CART_REMOVE, WISHLIST_ADD, SEARCH, CALLBACK, CHAT, EMAIL_OPEN, EMAIL_CLICK = range(9)
MINUTE = 1 / 1440
BROWSE_FADE_DAYS = 60.0
AFTERLIFE_DAYS = 120.0  # browsing and e-mail opens go on for a while after the last purchase


@dataclass
class Activity:
    """What happened in the shop that the events must reflect (times in days since the calendar's start)."""

    cust: np.ndarray  # per order
    t: np.ndarray
    refill: np.ndarray  # a refill: little browsing before it
    returned: np.ndarray  # a return order
    line_order: np.ndarray  # per purchase line
    line_item: np.ndarray


@dataclass
class _Events:
    parts: list[tuple[np.ndarray, ...]] = field(default_factory=list)
    session_starts: list[np.ndarray] = field(default_factory=list)
    sessions: int = 0

    def new_sessions(self, starts: np.ndarray) -> np.ndarray:
        """Open sessions starting at ``starts``; return their numbers."""
        numbers = self.sessions + np.arange(len(starts))
        self.sessions += len(starts)
        self.session_starts.append(starts)
        return numbers

    def add(self, cust: np.ndarray, t: np.ndarray, kind: int, item: np.ndarray | None = None,
            session: np.ndarray | None = None) -> None:
        n = len(cust)
        self.parts.append((cust.astype(np.int32), t, np.full(n, kind, np.int8),
                           np.full(n, -1, np.int32) if item is None else item.astype(np.int32),
                           np.full(n, -1, np.int32) if session is None else session.astype(np.int32)))


def simulate_events(cfg: DemoConfig, p: Profiles, catalog: Catalog, cal: Calendar, act: Activity,
                    rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Return event arrays (cust, t, kind, item, session; -1 = none), sorted by time, sessions numbered by start."""
    ev = _Events()
    _purchase_sessions(ev, p, catalog, act, rng)
    _browse_sessions(ev, p, catalog, cal, rng)
    _emails(ev, p, catalog, cal, rng)
    _service_contacts(ev, act, rng)
    t = np.concatenate([part[1] for part in ev.parts])
    order = np.flatnonzero((t >= 0) & (t < cal.days))
    order = order[time_order(t[order])]
    renumber = np.empty(ev.sessions, np.int32)
    renumber[time_order(np.concatenate(ev.session_starts))] = np.arange(ev.sessions)
    columns = {"t": t[order]}
    del t
    for name, i in (("cust", 0), ("kind", 2), ("item", 3), ("session", 4)):
        columns[name] = np.concatenate([part[i] for part in ev.parts])[order]
    ev.parts.clear()  # the parts are as big as the result: free them before the frame is built
    session = columns["session"]
    columns["session"] = np.where(session >= 0, renumber[np.maximum(session, 0)], -1).astype(np.int32)
    return columns


def time_order(t: np.ndarray) -> np.ndarray:
    """Return the permutation sorting ``t`` (days), ties in input order, with a fast unstable integer sort.

    Keys are unique (whole seconds in the high bits, position in the low 37 bits), so every sort algorithm
    gives the same answer on every machine.
    """
    seconds = np.floor((t - t.min(initial=0.0)) * 86_400).astype(np.int64)
    return np.argsort((seconds << 37) | np.arange(len(t), dtype=np.int64))


def _purchase_sessions(ev: _Events, p: Profiles, catalog: Catalog, act: Activity, rng: np.random.Generator) -> None:
    bought = np.flatnonzero(~act.returned)
    length = rng.uniform(3, 30, len(bought)) * MINUTE
    session = np.full(len(act.t), -1)
    session[bought] = ev.new_sessions(act.t[bought] - length)
    span = np.zeros(len(act.t))
    span[bought] = length
    o, item = act.line_order, act.line_item
    views = np.where(act.refill[o], rng.poisson(0.3, len(o)), 1 + rng.poisson(0.6, len(o)))
    vo, vi = np.repeat(o, views), np.repeat(item, views)
    ev.add(act.cust[vo], act.t[vo] - span[vo] * rng.uniform(0.3, 1.0, len(vo)), VIEW, vi, session[vo])
    ev.add(act.cust[o], act.t[o] - span[o] * rng.uniform(0.02, 0.3, len(o)), CART_ADD, item, session[o])
    browsing = bought[~act.refill[bought]]
    alt = np.repeat(browsing, rng.poisson(0.6, len(browsing)))
    ev.add(act.cust[alt], act.t[alt] - span[alt] * rng.uniform(0.3, 1.0, len(alt)), VIEW,
           taste_items(rng, p, catalog, act.cust[alt]), session[alt])
    searched = browsing[rng.random(len(browsing)) < 0.4]
    ev.add(act.cust[searched], act.t[searched] - span[searched], SEARCH, session=session[searched])


def browse_level(p: Profiles, cust: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Return the browsing multiplier at ``t``: 1, fading 60 days before leaving, then trickling out."""
    left = p.death[cust] - t
    before = np.clip(0.15 + 0.85 * left / BROWSE_FADE_DAYS, 0.15, 1.0)
    return np.where(left >= 0, before, 0.25 * np.exp(np.minimum(left, 0) / 30.0))


def _browse_sessions(ev: _Events, p: Profiles, catalog: Catalog, cal: Calendar, rng: np.random.Generator) -> None:
    stop = np.minimum(p.death + AFTERLIFE_DAYS, cal.days)
    span = np.clip(stop - p.signup, 0.0, None)
    cust = np.repeat(np.arange(len(span)), rng.poisson(p.browse * span))
    t = p.signup[cust] + rng.random(len(cust)) * span[cust]
    keep = rng.random(len(cust)) < browse_level(p, cust, t)
    cust, t = cust[keep], np.floor(t[keep]) + (p.hour[cust[keep]] + rng.normal(0, 2.0, keep.sum())) % 24 / 24
    session = ev.new_sessions(t)
    n_views = rng.geometric(0.45, len(cust))
    at = np.repeat(np.arange(len(cust)), n_views)
    gaps = rng.exponential(1.5 * MINUTE, len(at))
    total = np.cumsum(gaps)
    offset = total - np.repeat(np.r_[0.0, total][np.cumsum(n_views) - n_views], n_views)
    items = taste_items(rng, p, catalog, cust[at])
    ev.add(cust[at], t[at] + offset, VIEW, items, session[at])
    last = np.cumsum(n_views) - 1  # the last view of each session
    end = t + offset[last]
    cart = np.flatnonzero(rng.random(len(cust)) < 0.2)  # abandoned carts
    ev.add(cust[cart], end[cart] + MINUTE, CART_ADD, items[last[cart]], session[cart])
    emptied = cart[rng.random(len(cart)) < 0.35]
    ev.add(cust[emptied], end[emptied] + 2 * MINUTE, CART_REMOVE, items[last[emptied]], session[emptied])
    wish = np.flatnonzero(rng.random(len(cust)) < 0.06)
    ev.add(cust[wish], end[wish] + 0.5 * MINUTE, WISHLIST_ADD, items[last[wish] - n_views[wish] + 1],
           session[wish])
    searched = np.flatnonzero(rng.random(len(cust)) < 0.35)
    ev.add(cust[searched], t[searched] - 0.5 * MINUTE, SEARCH, session=session[searched])
    for kind, chance in ((CHAT, 0.01), (CALLBACK, 0.004)):
        asked = np.flatnonzero(rng.random(len(cust)) < chance)
        ev.add(cust[asked], end[asked] + 3 * MINUTE, kind, session=session[asked])


def _emails(ev: _Events, p: Profiles, catalog: Catalog, cal: Calendar, rng: np.random.Generator) -> None:
    who = np.flatnonzero(p.opt_in)
    first = np.searchsorted(cal.campaigns, p.signup[who])
    count = len(cal.campaigns) - first
    cust = np.repeat(who, count)
    index = np.arange(len(cust)) - np.repeat(np.cumsum(count) - count, count) + np.repeat(first, count)
    sent = cal.campaigns[index]
    left = p.death[cust] - sent
    engaged = np.where(left >= 0, np.clip(left / BROWSE_FADE_DAYS, 0.2, 1.0),
                       0.3 * np.exp(np.minimum(left, 0) / 90.0))
    opened = rng.random(len(cust)) < 0.35 * engaged
    cust, t = cust[opened], sent[opened] + rng.exponential(0.25, opened.sum())
    ev.add(cust, t, EMAIL_OPEN)
    clicked = rng.random(len(cust)) < 0.25
    cust, t = cust[clicked], t[clicked] + rng.uniform(0.5, 3.0, clicked.sum()) * MINUTE
    session = ev.new_sessions(t)
    ev.add(cust, t, EMAIL_CLICK, session=session)
    ev.add(cust, t + 0.5 * MINUTE, VIEW, taste_items(rng, p, catalog, cust), session)


def _service_contacts(ev: _Events, act: Activity, rng: np.random.Generator) -> None:
    returns = np.flatnonzero(act.returned)
    for kind, chance in ((CHAT, 0.3), (CALLBACK, 0.1)):
        asked = returns[rng.random(len(returns)) < chance]
        t = act.t[asked] - rng.uniform(0.1, 2.0, len(asked))
        ev.add(act.cust[asked], t, kind, session=ev.new_sessions(t))


def events_frame(ev: dict[str, np.ndarray], cal: Calendar, customers: int, items: int) -> pd.DataFrame:
    """Return the events table from ``simulate_events`` arrays, which it consumes (to spare memory)."""
    sessions = int(ev["session"].max()) + 1 if len(ev["session"]) else 0
    frame = pd.DataFrame({C.CUSTOMER_ID: take_strings(id_strings("C", customers, width(customers, 6)),
                                                      ev.pop("cust"))})
    frame[C.TIMESTAMP] = timestamps(cal, ev.pop("t"))
    frame[C.EVENT_TYPE] = take_strings(C.EVENT_TYPES, ev.pop("kind").astype(np.int64))
    frame[C.ITEM_ID] = take_strings(id_strings("I", items, width(items, 5)), ev.pop("item"))
    frame[C.SESSION_ID] = take_strings(id_strings("S", sessions, width(sessions, 8)), ev.pop("session"))
    return frame
