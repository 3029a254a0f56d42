"""The demo shop's catalogue and promotion calendar (the story is told in ``features.demo.shop``).

Items belong to a category, a hidden style (which the brand reveals) and a tier (standard or premium, about
2.6 times the price). Popularity is Zipf-like inside each (category, style, tier) group; ``Catalog.pick`` draws
items from those groups, vectorised. Some items are anchors with one or two partner items that are bought with
them (phone -> case + charger); 30 standard items are bestsellers anyone may pick. The calendar holds the
promotions (a few a year plus Black Friday), the seasonal demand multipliers and the e-mail campaign days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features import columns as C


@dataclass(frozen=True)
class Category:
    name: str
    price: float  # median list price of a standard item
    weight: float  # share of shoppers' attention
    consumable: bool = False  # bought again on a cycle
    returns: float = 1.0  # relative return rate


CATEGORIES = (
    Category("Shoes", 75, 1.0, returns=2.5),
    Category("Running", 60, 0.7, returns=1.5),
    Category("Outdoor", 70, 0.6),
    Category("Electronics", 220, 0.8, returns=1.5),
    Category("Phone accessories", 18, 0.8),
    Category("Coffee", 13, 0.8, consumable=True, returns=0.1),
    Category("Kitchen", 50, 0.7),
    Category("Beauty", 20, 1.0, consumable=True, returns=0.3),
    Category("Books", 14, 0.9, returns=0.3),
    Category("Toys", 28, 0.7),
    Category("Pet food", 30, 0.6, consumable=True, returns=0.1),
    Category("Pet supplies", 22, 0.4),
    Category("Home", 40, 0.6),
    Category("Garden", 45, 0.4),
    Category("Clothing", 38, 1.0, returns=2.5),
    Category("Sports nutrition", 27, 0.4, consumable=True, returns=0.1),
)
CATEGORY_INDEX = {c.name: i for i, c in enumerate(CATEGORIES)}
CATEGORY_WEIGHT = np.array([c.weight for c in CATEGORIES]) / sum(c.weight for c in CATEGORIES)
CONSUMABLE = np.array([c.consumable for c in CATEGORIES])
RETURN_FACTOR = np.array([c.returns for c in CATEGORIES])
# (anchor category, partner category, partners per anchor): phone -> case + charger, coffee machine -> beans,
# running shoes -> socks, dog bed -> dog food, tent -> sleeping bag, shoes -> shoe care, mower -> blades.
COMPLEMENTS = (
    ("Electronics", "Phone accessories", 2),
    ("Kitchen", "Coffee", 1),
    ("Running", "Running", 1),
    ("Pet supplies", "Pet food", 1),
    ("Outdoor", "Outdoor", 1),
    ("Shoes", "Shoes", 1),
    ("Garden", "Garden", 1),
)
ANCHOR_SHARE = 0.4
STYLE_SHARE = np.array([0.4, 0.3, 0.2, 0.1])  # hidden taste clusters; each brand has one style
STYLES = len(STYLE_SHARE)
TIERS = 2
PREMIUM_SHARE = 0.3
PREMIUM_PRICE = 2.6
HITS = 30  # bestsellers everyone may pick
BRANDS = (
    "Aldana", "Brightwell", "Corvale", "Dunmore", "Elsworth", "Fenwick", "Glenhaven", "Harlow", "Ironbark",
    "Juniper", "Kestrel", "Larchmont", "Marlowe", "Northpeak", "Oakridge", "Penrose", "Quillon", "Redfern",
    "Saltmarsh", "Thornbury", "Umbra", "Valecrest", "Westbrook", "Yarrow", "Zephyr", "Ashgrove", "Bramble",
    "Caldera", "Driftwood", "Emberly", "Foxglove", "Granite", "Hollowell", "Islay", "Jasper", "Kinloch"
)


@dataclass
class Catalog:
    """Item attributes as arrays indexed by item number (item_id ``I00001`` is number 0)."""

    category: np.ndarray
    style: np.ndarray
    tier: np.ndarray
    brand: np.ndarray
    price: np.ndarray
    in_stock: np.ndarray
    partners: np.ndarray  # (items, 2), -1 where none
    keys: np.ndarray  # group + cumulative popularity share, items sorted by group
    order: np.ndarray  # item number at each sorted position
    hits: np.ndarray  # the season's bestsellers, most popular first

    def pick(self, rng: np.random.Generator, category: np.ndarray, style: np.ndarray,
             tier: np.ndarray) -> np.ndarray:
        """Return one item per row, drawn by popularity inside its (category, style, tier) group."""
        group = (np.asarray(category, np.int64) * STYLES + style) * TIERS + tier
        pos = np.searchsorted(self.keys, group + rng.random(len(group)), side="right")
        return self.order[pos]

    def pick_hits(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Return ``n`` bestsellers, Zipf-distributed over the hit list."""
        weight = 1.0 / np.arange(1, len(self.hits) + 1)
        return self.hits[np.searchsorted(np.cumsum(weight) / weight.sum(), rng.random(n), side="right")]

    def complement_pairs(self) -> np.ndarray:
        """Return the (anchor, partner) item-number pairs, one row each."""
        anchor = np.repeat(np.arange(len(self.partners)), 2)
        partner = self.partners.ravel()
        return np.column_stack([anchor, partner])[partner >= 0]


def build_catalog(n_items: int, rng: np.random.Generator) -> Catalog:
    """Return a catalogue of ``n_items`` (at least one item in every category, style and tier)."""
    n_groups = len(CATEGORIES) * STYLES * TIERS
    if n_items < n_groups:
        raise ValueError(f"the demo catalogue needs at least {n_groups} items, got {n_items}")
    base = STYLES * TIERS
    counts = base + rng.multinomial(n_items - len(CATEGORIES) * base, CATEGORY_WEIGHT)
    category = np.repeat(np.arange(len(CATEGORIES)), counts)
    within = np.arange(n_items) - np.repeat(np.cumsum(counts) - counts, counts)
    # The first items of each category cover every (style, tier); the rest are drawn.
    style = np.where(within < base, within % STYLES, rng.choice(STYLES, n_items, p=STYLE_SHARE))
    tier = np.where(within < base, within // STYLES, rng.random(n_items) < PREMIUM_SHARE).astype(np.int64)
    median = np.array([c.price for c in CATEGORIES])[category]
    price = median * np.exp(rng.normal(0.0, 0.35, n_items)) * np.where(tier == 1, PREMIUM_PRICE, 1.0)
    price = np.maximum(np.round(price) - 0.01, 0.99)
    brand_of = rng.integers(0, len(BRANDS), (len(CATEGORIES), STYLES, 2))
    brand = brand_of[category, style, rng.integers(0, 2, n_items)]
    # Shuffle so that item numbers (and ids) say nothing about the category.
    perm = rng.permutation(n_items)
    category, style, tier, brand, price = (a[perm] for a in (category, style, tier, brand, price))
    group = (category * STYLES + style) * TIERS + tier
    order = np.lexsort((rng.random(n_items), group))
    sizes = np.bincount(group, minlength=n_groups)
    rank = np.arange(n_items) - np.repeat(np.cumsum(sizes) - sizes, sizes) + 1
    weight = rank ** -1.1  # Zipf inside the group
    cum = np.cumsum(weight)
    group_sorted = group[order]
    group_start = np.cumsum(sizes) - sizes
    before = np.where(group_start > 0, cum[np.maximum(group_start - 1, 0)], 0.0)
    total = np.repeat(cum[np.cumsum(sizes) - 1] - before, sizes)
    share = (cum - np.repeat(before, sizes)) / total
    share[np.minimum(np.cumsum(sizes) - 1, n_items - 1)] = 1.0  # exact upper edge of each group
    weight_by_item = np.empty(n_items)
    weight_by_item[order] = weight * (tier[order] == 0)  # bestsellers are standard items, popular in their group
    return Catalog(
        category=category, style=style, tier=tier, brand=brand, price=price,
        in_stock=rng.random(n_items) >= 0.03,
        partners=_partners(category, rng),
        keys=group_sorted + share, order=order,
        hits=rng.choice(n_items, HITS, replace=False, p=weight_by_item / weight_by_item.sum()),
    )


def _partners(category: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    partners = np.full((len(category), 2), -1, dtype=np.int64)
    anchor = np.zeros(len(category), dtype=bool)
    for anchor_cat, _, _ in COMPLEMENTS:
        members = category == CATEGORY_INDEX[anchor_cat]
        anchor |= members & (rng.random(len(category)) < ANCHOR_SHARE)
    for anchor_cat, partner_cat, k in COMPLEMENTS:
        anchors = np.flatnonzero(anchor & (category == CATEGORY_INDEX[anchor_cat]))
        pool = np.flatnonzero(~anchor & (category == CATEGORY_INDEX[partner_cat]))
        if len(pool) < k or not len(anchors):
            continue
        for j in range(k):
            partners[anchors, j] = rng.choice(pool, len(anchors))
        if k == 2:  # a phone's case and charger are two different items
            same = partners[:, 0] == partners[:, 1]
            partners[same & (partners[:, 1] >= 0), 1] = -1
    return partners


@dataclass
class Calendar:
    """Day-indexed promotions and demand multipliers; day 0 is ``start``."""

    start: date
    days: int
    promo: np.ndarray  # promotion number per day, -1 when none
    rates: np.ndarray  # discount rate per promotion
    promo_categories: np.ndarray  # (promotions, categories) bool
    regular: np.ndarray  # order intensity multiplier of ordinary shoppers per day
    hunter: np.ndarray  # order intensity multiplier of discount hunters per day
    campaigns: np.ndarray  # e-mail campaign send times (days, fractional)

    def weekday(self, day: np.ndarray) -> np.ndarray:
        """Return the weekday (Monday = 0) of day numbers."""
        return (self.start.weekday() + day) % 7


# (name, month, day, length in days, categories or None for all, discount rate)
PROMOTIONS = (
    ("winter sale", 1, 2, 11, ("Clothing", "Shoes", "Outdoor", "Home"), 0.30),
    ("spring days", 4, 20, 7, ("Garden", "Outdoor", "Running", "Sports nutrition"), 0.20),
    ("summer sale", 7, 1, 10, ("Clothing", "Shoes", "Running", "Toys", "Books"), 0.25),
    ("back to school", 8, 28, 7, ("Electronics", "Phone accessories", "Books"), 0.15),
)


def build_calendar(start: date, days: int, rng: np.random.Generator) -> Calendar:
    """Return the promotion calendar: fixed sales, Black Friday week, three flash sales a year."""
    promo = np.full(days, -1, dtype=np.int64)
    rates: list[float] = []
    cats: list[np.ndarray] = []
    black_friday = np.zeros(days, dtype=bool)

    def add(first: date, length: int, names: tuple[str, ...] | None, rate: float) -> None:
        lo = (first - start).days
        span = np.arange(max(lo, 0), min(lo + length, days))
        span = span[promo[span] < 0]
        if not len(span):
            return
        promo[span] = len(rates)
        rates.append(rate)
        member = np.ones(len(CATEGORIES), bool) if names is None else np.isin(
            np.arange(len(CATEGORIES)), [CATEGORY_INDEX[n] for n in names])
        cats.append(member)

    last = start + timedelta(days=days - 1)
    for year in range(start.year, last.year + 1):
        nov1 = date(year, 11, 1)
        friday = nov1 + timedelta(days=(3 - nov1.weekday()) % 7 + 21 + 1)  # day after the 4th Thursday
        lo = (friday - start).days - 3
        black_friday[max(lo, 0):max(min(lo + 7, days), 0)] = True
        add(friday - timedelta(days=3), 7, None, 0.25)
        for _, promo_month, promo_day, length, names, rate in PROMOTIONS:
            add(date(year, promo_month, promo_day), length, names, rate)
        for _ in range(3):
            flash = date(year, 2, 1) + timedelta(days=int(rng.integers(0, 270)))
            add(flash, 3, tuple(CATEGORIES[i].name for i in rng.choice(len(CATEGORIES), 2, replace=False)), 0.20)
    dates = np.datetime64(start) + np.arange(days)
    month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
    dom = (dates - dates.astype("datetime64[M]").astype("datetime64[D]")).astype(np.int64) + 1
    regular = np.ones(days)
    regular[(month == 12) & (dom <= 22)] = 1.3  # Christmas shopping
    regular[(month == 12) & (dom >= 24) & (dom <= 26)] = 0.5
    regular[(month == 7) | (month == 8)] *= 0.9
    regular[promo >= 0] = 1.5
    regular[black_friday] = 2.5
    hunter = np.where(promo >= 0, 6.0, 0.03)
    hunter[black_friday] = 9.0
    weekday0 = start.weekday()
    first_tuesday = (1 - weekday0) % 7
    campaigns = np.arange(first_tuesday, days, 14) + 10 / 24
    starts = np.flatnonzero((promo >= 0) & (np.r_[-1, promo[:-1]] != promo)) + 9 / 24
    return Calendar(
        start=start, days=days, promo=promo, rates=np.array(rates),
        promo_categories=np.array(cats).reshape(len(rates), len(CATEGORIES)),
        regular=regular, hunter=hunter, campaigns=np.sort(np.r_[campaigns, starts]),
    )


def id_strings(prefix: str, n: int, width: int) -> pa.Array:
    """Return ``prefix`` + zero-padded 1..n as an Arrow string array (fast for millions of ids)."""
    numbers = pa.array(np.arange(1, n + 1, dtype=np.int64)).cast(pa.string())
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(numbers, width, "0"), "")


def take_strings(values: pa.Array | tuple[str, ...], index: np.ndarray) -> pd.Series:
    """Return ``values[index]`` as a pandas string column; a negative index gives a missing value."""
    values = values if isinstance(values, pa.Array) else pa.array(values)
    return values.take(pa.array(index, mask=index < 0)).to_pandas()


def timestamps(cal: Calendar, t: np.ndarray) -> np.ndarray:
    """Return naive datetimes (whole seconds) for times in days since the calendar's start."""
    seconds = np.floor(t * 86_400).astype(np.int64).astype("timedelta64[s]")
    return (np.datetime64(cal.start, "s") + seconds).astype("datetime64[us]")


def width(n: int, least: int) -> int:
    """Return the digits an id needs: ``least``, more when ``n`` has more."""
    return max(least, len(str(n)))


def items_frame(catalog: Catalog) -> pd.DataFrame:
    """Return the items table."""
    n = len(catalog.price)
    return pd.DataFrame({
        C.ITEM_ID: take_strings(id_strings("I", n, width(n, 5)), np.arange(n)),
        C.CATEGORY: take_strings(tuple(c.name for c in CATEGORIES), catalog.category),
        C.BRAND: take_strings(BRANDS, catalog.brand),
        C.PRICE: catalog.price,
        C.IN_STOCK: catalog.in_stock,
    })
