"""Build every customer feature family as of a cutoff on DuckDB: one row per customer, one column per feature.

Each family is a pure function returning an unexecuted Ibis table keyed by customer_id. A family whose
table or column is absent is left out with the reason (never zero-filled as if observed). The population
is every customer with at least one purchase order before the cutoff (the RFM table); the other families
are left-joined onto it.

Execution is staged in temporary DuckDB tables, dropped at the end: first the transaction lines before the
cutoff and the orders made of them (every family starts there; without this DuckDB redid them per family,
45 s of build on the 1M-customer demo instead of ~19 s, see benchmarks/features_speed.py), then each family,
then one join. A single query over all families was slower than the sum of its families and peaked at
3.9 GB against 2.5 GB staged. BG/NBD is fitted in scipy on its summary and joined like a family.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features import columns as C
from features.data.contract import CAPABILITIES
from features.data.reader import Shop
from features.families.basket import BASKET_DOC, CATEGORY_DOC, basket_features, category_features
from features.families.cadence import BGNBD_DOC, CADENCE_DOC, bgnbd_features, cadence_features
from features.families.catalogue import FEATURES, Feature, feature_catalogue
from features.families.channel import CHANNEL_COLUMNS, CHANNEL_DOC, channel_features, order_channels
from features.families.config import FeaturesConfig
from features.families.profile import PROFILE_DOC, TEXT_COLUMNS, known_customers, profile_features
from features.families.promotions import PROMOTIONS_DOC, promotion_features
from features.families.rfm import RFM_DOC, rfm_features
from features.families.scratch import Scratch, duckdb_settings, scratch
from features.families.site import SITE_DOC, site_features
from features.families.sql import feature_arrow, feature_table
from features.families.timing import HOUR_NOTE, TIMING_DOC, has_time_of_day, timing_features
from features.orders import AsOf, cutoff_datetime, orders_before, require_purchase_before, rows_before

logger = logging.getLogger(__name__)

__all__ = ["FEATURES", "FAMILIES", "Feature", "FeatureFrame", "build_features", "feature_catalogue"]


@dataclass(frozen=True)
class Context:
    """What a family builder gets: the shop, the cutoff, the settings, and facts found once per build."""

    shop: Shop
    as_of: datetime
    cfg: FeaturesConfig
    lines: ir.Table  # transaction lines before the cutoff (materialised)
    orders: ir.Table  # orders_before(lines) (materialised)
    scratch: Scratch  # where the build keeps its temporary tables
    with_hour: bool = True  # some order before the cutoff has a time of day


@dataclass(frozen=True)
class Family:
    """One feature family: what it needs from the shop and how to build its Ibis table."""

    name: str
    doc: str
    needs: tuple[str, ...]  # "table" or "table.column"; "a|b" means either will do
    build: Callable[[Context], ir.Table] | None  # None: built apart (BG/NBD executes a fit)
    observed_zero: bool = False  # a customer absent from the family's table truly had none (counts become 0)


def _needs(capability: str) -> tuple[str, ...]:
    return CAPABILITIES[capability].needs  # the one table of what optional data enables what


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("rfm", RFM_DOC, _needs("rfm"), lambda x: rfm_features(x.lines, x.as_of, x.cfg, orders=x.orders)),
    Family("cadence", CADENCE_DOC, _needs("cadence"),
           lambda x: cadence_features(x.lines, x.as_of, x.cfg, orders=x.orders)),
    Family("bgnbd", BGNBD_DOC, _needs("cadence"), None),
    Family("basket", BASKET_DOC, _needs("basket"),
           lambda x: basket_features(x.lines, x.as_of, x.cfg, orders=x.orders)),
    Family("categories", CATEGORY_DOC, _needs("categories"),
           lambda x: category_features(x.lines, x.shop.table("items"), x.as_of, x.cfg)),
    Family("promotions", PROMOTIONS_DOC, _needs("promotions"),
           lambda x: promotion_features(x.lines, x.as_of, x.cfg, orders=x.orders)),
    Family("site", SITE_DOC, _needs("site"),
           lambda x: site_features(x.shop.table("events"), x.lines, x.as_of, x.cfg, orders=x.orders),
           observed_zero=True),
    Family("channel", CHANNEL_DOC, _needs("channel"),
           lambda x: channel_features(x.lines, x.as_of, x.cfg,
                                      orders=x.scratch.table("order_channels", order_channels(x.lines, x.as_of)))),
    Family("timing", TIMING_DOC, _needs("timing"),
           lambda x: timing_features(x.lines, x.as_of, x.cfg, with_hour=x.with_hour, orders=x.orders)),
    Family("profile", PROFILE_DOC, _needs("profile"),
           lambda x: profile_features(x.shop.table("customers"), x.as_of, x.cfg)),
)}


# An optional table with no row before the cutoff tells nothing yet: its family is left out rather than
# reported as zero counts, so that rows at or after the cutoff cannot switch a family on.
EMPTY_BEFORE = {"site": "the events table has no row before the cutoff",
                "profile": "no customers row is known before the cutoff (all sign up at or after it)"}


@dataclass
class FeatureFrame:
    """The features of every customer as of a cutoff, and which families are in or left out, and why."""

    frame: pd.DataFrame
    as_of: datetime
    included: dict[str, str] = field(default_factory=dict)  # family -> what it describes
    left_out: dict[str, str] = field(default_factory=dict)  # family -> why it was left out
    notes: list[str] = field(default_factory=list)  # parts of included families that were left out

    def family_columns(self, family: str) -> list[str]:
        """Return the output columns of one family."""
        catalogue = feature_catalogue()
        return [c for c in self.frame.columns if c in catalogue and catalogue[c].family == family]


def build_features(shop: Shop, as_of: AsOf, cfg: FeaturesConfig | None = None) -> FeatureFrame:
    """Return one row per customer with a purchase order before ``as_of``, every available family joined.

    Parameters
    ----------
    shop
        A checked shop (``read_shop`` or ``shop_from_frames``).
    as_of
        The cutoff: only rows with ``timestamp < as_of`` are read (customers rows: ``signup_date < as_of``).
    cfg
        Windows, thresholds and the families to build.

    Returns
    -------
    FeatureFrame
        ``frame`` holds customer_id (string), numeric features as float64 and categorical ones as strings,
        sorted by customer_id; ``included`` / ``left_out`` / ``notes`` say what is in and what is not.

    Raises
    ------
    ValueError
        When no customer has a purchase order before the cutoff.
    """
    cfg = cfg or FeaturesConfig()
    cutoff = cutoff_datetime(as_of)
    if shop.engine == "duckdb":  # the same families in plain SQL, a few scans per cutoff (features.families.sql)
        with feature_table(shop, cutoff, cfg) as table:
            frame = feature_arrow(shop, table).to_pandas()
        return FeatureFrame(frame, cutoff, table.included, table.left_out, table.notes)
    return ibis_features(shop, cutoff, cfg)


def ibis_features(shop: Shop, as_of: AsOf, cfg: FeaturesConfig | None = None) -> FeatureFrame:
    """``build_features`` through the Ibis families: what Spark runs (and, in the tests, the reference for the
    DuckDB SQL build)."""
    cfg = cfg or FeaturesConfig()
    cutoff = cutoff_datetime(as_of)
    began = time.perf_counter()
    with duckdb_settings(shop, cfg), scratch(shop) as tmp:
        keep = [c for c in shop.transactions.columns if c not in (C.AMOUNT, C.PRICE)]  # revenue replaces them
        lines = tmp.table("lines", rows_before(shop.transactions, cutoff).select(*keep))
        orders = tmp.table("orders", orders_before(lines, cutoff))
        logger.debug("lines and orders before the cutoff materialised in %.1f s", time.perf_counter() - began)
        context = Context(shop, cutoff, cfg, lines, orders, tmp, with_hour=has_time_of_day(lines, cutoff))
        return _built(context)


def _built(context: Context) -> FeatureFrame:
    shop, cutoff, cfg = context.shop, context.as_of, context.cfg
    result = FeatureFrame(pd.DataFrame(), cutoff)
    names = ["rfm", *[f for f in cfg.families if f != "rfm"]]  # rfm is the population: always first
    tables: list[tuple[Family, ir.Table]] = []
    for name in names:
        family = FAMILIES[name]
        missing = missing_needs(shop, family.needs)
        if missing:
            result.left_out[name] = f"needs {' and '.join(missing)}, which the data does not have"
            continue
        if name in EMPTY_BEFORE and _no_rows_before(context, name):
            result.left_out[name] = EMPTY_BEFORE[name]
            continue
        unmatched = _events_matching_nobody(context) if name == "site" else None
        if unmatched:
            result.left_out[name] = unmatched
            continue
        began = time.perf_counter()
        table = context.scratch.table(name, family.build(context)) if family.build else _bgnbd_table(context, result)
        logger.debug("%s built in %.1f s", name, time.perf_counter() - began)
        if table is None:
            continue
        if name == "rfm" and not int(table.count().execute()):
            require_purchase_before(shop.transactions, cutoff)
        result.included[name] = family.doc
        tables.append((family, table))
    result.notes += partial_notes(context, result.included)
    context.scratch.drop("lines", "orders", "order_channels")  # frees ~1 GB at 1M customers before the join
    # Arrow to pandas ourselves: ibis' own conversion took 3 s more at 1M rows; numbers are cast in the query.
    result.frame = joined(tables, cfg).to_pyarrow().to_pandas()
    logger.info("features as of %s: %d customers, %d columns; left out: %s", cutoff, len(result.frame),
                result.frame.shape[1] - 1, ", ".join(result.left_out) or "nothing")
    return result


def missing_needs(shop: Shop, needs: tuple[str, ...]) -> list[str]:
    """Return the needs (``table`` / ``table.column`` / alternatives ``a|b``) the shop does not meet."""
    def met(one: str) -> bool:
        table, _, column = one.partition(".")
        return shop.has(table, column or None)

    return [need.replace("|", " or ") for need in needs if not any(met(one) for one in need.split("|"))]


def partial_notes(context: Context, included: dict[str, str]) -> list[str]:
    """Return notes on parts of included families that are left out (absent columns, no times of day)."""
    shop, notes = context.shop, []
    if "timing" in included and not context.with_hour:
        notes.append(f"timing: {HOUR_NOTE}")
    if "channel" in included:
        absent = [c for c in CHANNEL_COLUMNS if not shop.has("transactions", c)]
        notes += [f"channel: main_{c} left out: transactions have no {c} column" for c in absent]
        if C.DEVICE in absent:
            notes.append("channel: mobile_share left out: transactions have no device column")
    if "profile" in included:
        wanted = (C.BIRTH_DATE, C.SIGNUP_DATE, *TEXT_COLUMNS, C.EMAIL_OPT_IN)
        absent = [c for c in wanted if not shop.has("customers", c)]
        notes += [f"profile: features from {c} left out: customers have no {c} column" for c in absent]
    return notes


def joined(tables: list[tuple[Family, ir.Table]], cfg: FeaturesConfig) -> ir.Table:
    """Left-join every family onto the first (the RFM population), sorted by customer_id.

    A customer missing from a family's table gets NULLs, except the counts of ``observed_zero`` families.
    Numeric features come out as float64, the others (categories, dates) as strings.
    """
    catalogue = feature_catalogue(cfg)
    (_, base), *rest = tables
    result = base
    selected: list[ir.Value] = [base[C.CUSTOMER_ID]]
    for index, (family, table) in enumerate(tables):
        if index:
            result = result.left_join(table, base[C.CUSTOMER_ID] == table[C.CUSTOMER_ID])
        for column in table.columns:
            if column == C.CUSTOMER_ID:
                continue
            value = table[column]
            if value.type().is_numeric():
                zero = family.observed_zero and column in catalogue and catalogue[column].unit == "count"
                value = (value.fill_null(0.0) if zero else value).cast("float64")
            else:
                value = value.cast("string")
            selected.append(value.name(column))
    return result.select(*selected).order_by(C.CUSTOMER_ID)


def _bgnbd_table(context: Context, result: FeatureFrame) -> ir.Table | None:
    """Fit BG/NBD on the orders before the cutoff and keep its scores as a scratch table; None if the fit fails."""
    needed = context.cfg.bgnbd_min_repeat_customers
    repeaters = repeat_customers(context.orders)
    if repeaters < needed:
        result.left_out["bgnbd"] = (f"too little data: {repeaters} customer(s) bought more than once before the "
                                    f"cutoff; BG/NBD needs at least {needed} (features.bgnbd_min_repeat_customers)")
        return None
    try:
        fitted = bgnbd_features(context.lines, context.as_of, context.cfg, orders=context.orders)
    except (ImportError, RuntimeError, ValueError, ArithmeticError) as exc:
        result.left_out["bgnbd"] = f"the BG/NBD fit failed ({exc})"
        logger.warning("BG/NBD left out: %s", exc)
        return None
    absurd = absurd_scores(fitted)
    if absurd:
        result.left_out["bgnbd"] = f"the BG/NBD fit is not usable ({absurd})"
        logger.warning("BG/NBD left out: %s", absurd)
        return None
    return context.scratch.frame("bgnbd", fitted)


def repeat_customers(orders: ir.Table) -> int:
    """Return how many customers placed more than one purchase order (the data BG/NBD learns from)."""
    purchases = orders.filter(orders.is_purchase)
    per_customer = purchases.group_by(C.CUSTOMER_ID).aggregate(n=purchases.count())
    return int(per_customer.filter(per_customer.n > 1).count().execute())


def absurd_scores(fitted: pd.DataFrame) -> str | None:
    """Return why fitted BG/NBD scores cannot be right (not finite, a probability outside [0, 1]), or None."""
    scores = fitted.drop(columns=[C.CUSTOMER_ID])
    if not np.isfinite(scores.to_numpy(dtype="float64")).all():
        return "some scores are not finite numbers"
    alive = fitted["bgnbd_p_alive"]
    if not alive.between(0, 1).all() or (scores.drop(columns=["bgnbd_p_alive"]) < 0).to_numpy().any():
        return "a probability outside [0, 1] or negative expected orders"
    return None


def _events_matching_nobody(context: Context) -> str | None:
    """Return why site features would be all zeros: no event before the cutoff names a customer who ordered."""
    events = rows_before(context.shop.table("events"), context.as_of)
    buyers = context.orders.select(C.CUSTOMER_ID).distinct()
    if _any_row(events.semi_join(buyers, C.CUSTOMER_ID)):
        return None
    seen = events[C.CUSTOMER_ID].arbitrary().execute()
    known = buyers[C.CUSTOMER_ID].arbitrary().execute()
    return (f"no event before the cutoff matches a customer who ordered (events name e.g. {seen!r}, transactions "
            f"{known!r}): check that both tables use the same customer ids")


def _no_rows_before(context: Context, family: str) -> bool:
    shop, as_of = context.shop, context.as_of
    if family == "site":
        rows = rows_before(shop.table("events"), as_of)
    else:
        rows = known_customers(shop.table("customers"), as_of)
    return not _any_row(rows)


def _any_row(table: ir.Table) -> bool:
    """Return whether ``table`` has a row; stops at the first (a count would read 41M events at 1M customers)."""
    return int(table.limit(1).count().execute()) > 0
