"""Customer profiles of the demo shop: when they arrive, how often and how long they buy, and what they like.

Every latent trait is an array indexed by customer number (customer_id ``C000001`` is number 0), drawn once;
``features.demo.shop`` turns them into orders and ``features.demo.events`` into site behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features import columns as C
from features.demo.catalog import (
    CATEGORIES,
    CATEGORY_INDEX,
    CATEGORY_WEIGHT,
    CONSUMABLE,
    STYLE_SHARE,
    STYLES,
    Calendar,
    Catalog,
    id_strings,
    take_strings,
    width,
)

if TYPE_CHECKING:
    from features.demo.config import DemoConfig

ACQUISITION = ("search", "social", "ads", "referral", "direct")
ACQUISITION_SHARE = (0.30, 0.15, 0.20, 0.10, 0.25)
ACQUISITION_LIFETIME = np.array([1.0, 0.75, 0.7, 1.5, 1.1])  # referred customers stay, ad clicks leave
CHANNELS = ("web", "app", "marketplace")
CHANNEL_SHARE = np.array([0.55, 0.30, 0.15])
DEVICES = ("desktop", "mobile", "tablet")
DEVICE_BY_CHANNEL = np.array([[0.5, 0.4, 0.1], [0.0, 0.9, 0.1], [0.4, 0.6, 0.0]])
GENDERS = ("F", "M")
CITIES = (
    "London", "Birmingham", "Manchester", "Leeds", "Glasgow", "Liverpool", "Bristol", "Sheffield", "Edinburgh",
    "Leicester", "Cardiff", "Belfast", "Nottingham", "Newcastle", "Brighton", "Southampton", "Oxford", "Cambridge",
    "York", "Aberdeen"
)
WEEKDAY_SHARE = np.array([0.13, 0.13, 0.13, 0.14, 0.13, 0.15, 0.19])
HOUR_MODES = np.array([8.0, 12.5, 16.0, 20.5, 22.5])  # before work, lunch, afternoon, evening, late
HOUR_SHARE = np.array([0.12, 0.22, 0.14, 0.38, 0.14])
PREFERRED_SHARE = 0.75  # share of a customer's picks from their own 1-3 categories
HIT_SHARE = 0.04  # share of picks that are bestsellers, whatever the taste


@dataclass
class Profiles:
    """Latent traits of every customer (times are in days since the calendar's start)."""

    signup: np.ndarray
    first: np.ndarray  # first order time; inf for customers who never buy on their own
    death: np.ndarray  # when the customer stops buying (often after the end)
    rate: np.ndarray  # orders per day while active
    browse: np.ndarray  # browsing sessions per day while active
    hunter: np.ndarray  # buys only on discount
    spend: np.ndarray  # standard-normal spend level: premium items, bigger baskets
    upgrader: np.ndarray  # moves to premium items order after order
    style: np.ndarray
    loyalty: np.ndarray  # probability of picking the own style
    prefs: np.ndarray  # (n, 3) preferred category numbers
    pref_cum: np.ndarray  # (n, 3) cumulative weights over prefs
    refill_item: np.ndarray  # consumable bought again on a cycle; -1 when none
    cycle: np.ndarray  # days between refills
    returns: np.ndarray  # per-line return propensity
    channel: np.ndarray
    device: np.ndarray
    weekday: np.ndarray
    weekday_habit: np.ndarray  # probability an order moves to the favourite weekday
    hour: np.ndarray
    opt_in: np.ndarray
    acquisition: np.ndarray
    gender: np.ndarray  # index into GENDERS; 2 = not given
    birth: np.ndarray  # datetime64[D]
    city: np.ndarray


def draw_profiles(cfg: DemoConfig, cal: Calendar, catalog: Catalog, rng: np.random.Generator) -> Profiles:
    """Return the latent traits of ``cfg.customers`` customers over the calendar's window."""
    n, days = cfg.customers, cal.days
    hour = rng.choice(HOUR_MODES, n, p=HOUR_SHARE) + rng.normal(0.0, 0.7, n)
    growth = cfg.acquisition_growth
    signup_day = np.floor(days / growth * np.log1p(rng.random(n) * np.expm1(growth)))
    signup = signup_day + clock(rng, hour)
    hunter = rng.random(n) < cfg.hunter_share
    buyer = rng.random(n) < cfg.buyer_share
    delay = np.where(rng.random(n) < 0.75, 0.0, rng.exponential(12.0, n))
    first = np.where(delay == 0, signup, np.floor(signup + delay) + clock(rng, hour))
    # Discount hunters sign up, then wait for the next sale to place their first order.
    sale_days = np.r_[np.flatnonzero(cal.promo >= 0), np.inf]
    next_sale = sale_days[np.searchsorted(sale_days, signup_day)]
    first = np.where(hunter, next_sale + clock(rng, hour), first)
    first = np.where(buyer & (first < days), first, np.inf)
    acquisition = rng.choice(len(ACQUISITION), n, p=ACQUISITION_SHARE)
    opt_in = rng.random(n) < cfg.opt_in_share
    returns = rng.beta(0.8, 60.0, n)
    lifetime = (cfg.lifetime_days * ACQUISITION_LIFETIME[acquisition] * np.where(opt_in, 1.2, 0.85)
                / (1.0 + 15.0 * returns))
    hazard = rng.gamma(2.0, 1.0 / lifetime)  # E[1 / hazard] = lifetime
    death = np.where(np.isfinite(first), first, signup) + rng.exponential(1.0 / hazard)
    rate = rng.gamma(cfg.rate_shape, cfg.orders_per_year / 365.25 / cfg.rate_shape, n)
    age = np.clip(18 + rng.gamma(3.0, 7.0, n), 18, 85)
    gender = rng.choice(3, n, p=[0.52, 0.43, 0.05])
    prefs, pref_cum = _category_taste(rng, gender, age)
    spend = rng.normal(0.0, 1.0, n)
    style = rng.choice(STYLES, n, p=STYLE_SHARE)
    profiles = Profiles(
        signup=signup, first=first, death=death, rate=rate,
        browse=rate * cfg.browse_sessions_per_order * rng.lognormal(0.0, 0.5, n) + 0.003,
        hunter=hunter, spend=spend, upgrader=rng.random(n) < 0.3, style=style, loyalty=rng.beta(2.5, 2.5, n),
        prefs=prefs, pref_cum=pref_cum, refill_item=np.full(n, -1), cycle=rng.uniform(*cfg.cycle_days, n),
        returns=returns, channel=rng.choice(len(CHANNELS), n, p=CHANNEL_SHARE), device=np.zeros(n, np.int64),
        weekday=rng.choice(7, n, p=WEEKDAY_SHARE), weekday_habit=np.where(hunter, 0.0, rng.beta(2.0, 3.0, n)),
        hour=hour % 24, opt_in=opt_in, acquisition=acquisition, gender=gender,
        birth=_birth_dates(cfg.end_date, age, rng), city=rng.choice(len(CITIES), n, p=_zipf(len(CITIES))),
    )
    profiles.device = draw_rows(rng, DEVICE_BY_CHANNEL[profiles.channel])
    # A consumable among the preferred categories makes about half of the buyers regular refillers.
    consumable = CONSUMABLE[prefs] & (pref_cum > np.c_[np.zeros(n), pref_cum[:, :2]])
    share = 0.0 if cfg.profile == "durable" else cfg.refill_share  # durable goods: nothing to refill
    refills = np.flatnonzero(~hunter & np.isfinite(first) & consumable.any(axis=1) & (rng.random(n) < share))
    category = prefs[refills, consumable[refills].argmax(axis=1)]
    profiles.refill_item[refills] = catalog.pick(rng, category, style[refills],
                                                 rng.random(len(refills)) < premium_chance(profiles, refills))
    return profiles


def _category_taste(rng: np.random.Generator, gender: np.ndarray, age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each customer's 1-3 preferred categories (Gumbel top-k by popularity) and cumulative weights."""
    n = len(gender)
    log_weight = np.tile(np.log(CATEGORY_WEIGHT), (n, 1))
    log_weight[:, CATEGORY_INDEX["Beauty"]] += np.where(gender == 0, 0.9, -0.5)
    log_weight[:, CATEGORY_INDEX["Electronics"]] += np.where(gender == 1, 0.5, 0.0)
    log_weight[:, CATEGORY_INDEX["Toys"]] += np.where((age >= 28) & (age <= 45), 0.8, -0.3)
    log_weight[:, CATEGORY_INDEX["Garden"]] += np.where(age >= 55, 0.8, 0.0)
    scores = log_weight + rng.gumbel(size=log_weight.shape)
    prefs = np.argsort(-scores, axis=1)[:, :3]
    k = rng.choice([1, 2, 3], n, p=[0.3, 0.45, 0.25])
    weight = rng.gamma(1.0, size=(n, 3)) * (np.arange(3) < k[:, None])  # Dirichlet over the first k
    cum = np.cumsum(weight, axis=1) / weight.sum(axis=1, keepdims=True)
    return prefs, cum


def _birth_dates(end: date, age: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    days_old = (age * 365.25).astype(np.int64) + rng.integers(0, 365, len(age))
    return np.datetime64(end + timedelta(days=1)) - days_old


def _zipf(k: int) -> np.ndarray:
    w = 1.0 / np.arange(1, k + 1)
    return w / w.sum()


def clock(rng: np.random.Generator, hour: np.ndarray) -> np.ndarray:
    """Return a time of day (fraction of a day) near each customer's usual hour."""
    return ((hour + rng.normal(0.0, 1.2, len(hour))) % 24) / 24


def draw_rows(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """Return one category index per row of a (rows, k) probability matrix."""
    cum = np.cumsum(probs, axis=1)
    return (rng.random(len(probs))[:, None] > cum[:, :-1] / cum[:, -1:]).sum(axis=1)


def premium_chance(p: Profiles, cust: np.ndarray, rank: np.ndarray | int = 0) -> np.ndarray:
    """Return the chance a pick is premium: high spenders more, upgraders more with each order."""
    logit = -1.3 + 1.1 * p.spend[cust] + 0.35 * p.upgrader[cust] * np.minimum(rank, 6)
    return 1.0 / (1.0 + np.exp(-logit))


def taste_categories(rng: np.random.Generator, p: Profiles, cust: np.ndarray) -> np.ndarray:
    """Return one category per pick: mostly the customer's own, otherwise by overall popularity."""
    u = rng.random(len(cust))
    own = p.prefs[cust, (u > p.pref_cum[cust, 0]).astype(np.int64) + (u > p.pref_cum[cust, 1])]
    other = rng.choice(len(CATEGORIES), len(cust), p=CATEGORY_WEIGHT)
    return np.where(rng.random(len(cust)) < PREFERRED_SHARE, own, other)


def taste_items(rng: np.random.Generator, p: Profiles, catalog: Catalog, cust: np.ndarray,
                category: np.ndarray | None = None, rank: np.ndarray | int = 0) -> np.ndarray:
    """Return one item per pick, following the customer's categories, style and spend level."""
    hit = np.zeros(len(cust), bool)
    if category is None:
        category = taste_categories(rng, p, cust)
        hit = rng.random(len(cust)) < HIT_SHARE
    own_style = rng.random(len(cust)) < p.loyalty[cust]
    style = np.where(own_style, p.style[cust], rng.choice(STYLES, len(cust), p=STYLE_SHARE))
    tier = (rng.random(len(cust)) < premium_chance(p, cust, rank)).astype(np.int64)
    item = catalog.pick(rng, category, style, tier)
    item[hit] = catalog.pick_hits(rng, int(hit.sum()))
    return item


def customers_frame(p: Profiles, cal: Calendar) -> pd.DataFrame:
    """Return the customers table."""
    n = len(p.signup)
    signup = np.datetime64(cal.start) + np.floor(p.signup).astype(np.int64)
    return pd.DataFrame({
        C.CUSTOMER_ID: take_strings(id_strings("C", n, width(n, 6)), np.arange(n)),
        C.SIGNUP_DATE: signup.astype("datetime64[us]"),
        C.BIRTH_DATE: p.birth.astype("datetime64[us]"),
        C.GENDER: take_strings(GENDERS, np.where(p.gender < len(GENDERS), p.gender, -1)),
        C.CITY: take_strings(CITIES, p.city),
        C.ACQUISITION_SOURCE: take_strings(ACQUISITION, p.acquisition),
        C.EMAIL_OPT_IN: p.opt_in,
    })
