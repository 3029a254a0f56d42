"""Build every customer feature family as of a cutoff: join the Ibis families, execute once on DuckDB.

Each family is a pure function returning an unexecuted Ibis table keyed by customer_id. A family whose
table or column is absent is left out with the reason (never zero-filled as if observed). The population
is every customer with at least one purchase order before the cutoff (the RFM table); the other families
are left-joined onto it. BG/NBD is the one exception to "execute once": its fit runs in scipy, so its
summary is executed, fitted and merged after the main query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

import ibis.expr.types as ir
import pandas as pd

from features import columns as C
from features.basket import BASKET_DOC, CATEGORY_DOC, basket_features, category_features
from features.cadence import BGNBD_DOC, CADENCE_DOC, bgnbd_features, cadence_features
from features.channel import CHANNEL_COLUMNS, CHANNEL_DOC, channel_features
from features.config import FeaturesConfig
from features.orders import AsOf, rows_before
from features.profile import PROFILE_DOC, TEXT_COLUMNS, known_customers, profile_features
from features.promotions import PROMOTIONS_DOC, promotion_features
from features.reader import Shop
from features.rfm import RFM_DOC, cutoff_datetime, rfm_features
from features.site import SITE_DOC, site_features
from features.timing import HOUR_NOTE, TIMING_DOC, has_time_of_day, timing_features

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Context:
    """What a family builder gets: the shop, the cutoff, the settings, and facts found once per build."""

    shop: Shop
    as_of: datetime
    cfg: FeaturesConfig
    with_hour: bool = True  # some order before the cutoff has a time of day


@dataclass(frozen=True)
class Family:
    """One feature family: what it needs from the shop and how to build its Ibis table."""

    name: str
    doc: str
    needs: tuple[str, ...]  # "table" or "table.column"; "a|b" means either will do
    build: Callable[[Context], ir.Table] | None  # None: built apart (BG/NBD executes a fit)
    observed_zero: bool = False  # a customer absent from the family's table truly had none (counts become 0)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("rfm", RFM_DOC, (), lambda x: rfm_features(x.shop.transactions, x.as_of, x.cfg)),
    Family("cadence", CADENCE_DOC, (), lambda x: cadence_features(x.shop.transactions, x.as_of, x.cfg)),
    Family("bgnbd", BGNBD_DOC, (), None),
    Family("basket", BASKET_DOC, ("transactions.item_id",),
           lambda x: basket_features(x.shop.transactions, x.as_of, x.cfg)),
    Family("categories", CATEGORY_DOC, ("transactions.item_id", "items.category"),
           lambda x: category_features(x.shop.transactions, x.shop.table("items"), x.as_of, x.cfg)),
    Family("promotions", PROMOTIONS_DOC, ("transactions.discount",),
           lambda x: promotion_features(x.shop.transactions, x.as_of, x.cfg)),
    Family("site", SITE_DOC, ("events",),
           lambda x: site_features(x.shop.table("events"), x.shop.transactions, x.as_of, x.cfg), observed_zero=True),
    Family("channel", CHANNEL_DOC, ("transactions.channel|transactions.device|transactions.source",),
           lambda x: channel_features(x.shop.transactions, x.as_of, x.cfg)),
    Family("timing", TIMING_DOC, (),
           lambda x: timing_features(x.shop.transactions, x.as_of, x.cfg, with_hour=x.with_hour)),
    Family("profile", PROFILE_DOC, ("customers",),
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
    result = FeatureFrame(pd.DataFrame(), cutoff)
    names = ["rfm", *[f for f in cfg.families if f != "rfm"]]  # rfm is the population: always first
    context = Context(shop, cutoff, cfg, with_hour="timing" in names and has_time_of_day(shop.transactions, cutoff))
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
        result.included[name] = family.doc
        if family.build is not None:
            tables.append((family, family.build(context)))
    result.notes += partial_notes(context, result.included)
    with duckdb_settings(shop, cfg):
        frame = joined(tables, cfg).execute()
    if frame.empty:
        first = shop.sql.execute("SELECT min(timestamp) FROM transactions").fetchone()[0]
        raise ValueError(f"no purchase order before the cutoff {cutoff:%Y-%m-%d %H:%M} (the first order is at {first})")
    frame = typed(frame, tables)
    if "bgnbd" in result.included:
        frame = _with_bgnbd(shop, cutoff, cfg, frame, result)
    logger.info("features as of %s: %d customers, %d columns; left out: %s", cutoff, len(frame),
                frame.shape[1] - 1, ", ".join(result.left_out) or "nothing")
    result.frame = frame.reset_index(drop=True)
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
    """
    catalogue = feature_catalogue(cfg)
    (_, base), *rest = tables
    result = base
    selected: list[ir.Value] = [base[c] for c in base.columns]
    for family, table in rest:
        result = result.left_join(table, base[C.CUSTOMER_ID] == table[C.CUSTOMER_ID])
        for column in table.columns:
            if column == C.CUSTOMER_ID:
                continue
            zero = family.observed_zero and column in catalogue and catalogue[column].unit == "count"
            selected.append((table[column].fill_null(0.0) if zero else table[column]).name(column))
    return result.select(*selected).order_by(C.CUSTOMER_ID)


def typed(frame: pd.DataFrame, tables: list[tuple[Family, ir.Table]]) -> pd.DataFrame:
    """Return the frame with numeric features as float64 and the others (ids, categories, dates) as strings."""
    schema = {name: dtype for _, table in tables for name, dtype in table.schema().items()}
    out = {}
    for column in frame.columns:
        if column != C.CUSTOMER_ID and schema[column].is_numeric():
            out[column] = frame[column].astype("float64")
        else:
            out[column] = frame[column].astype("str").where(frame[column].notna(), None)
    return pd.DataFrame(out)


def _with_bgnbd(shop: Shop, as_of: datetime, cfg: FeaturesConfig, frame: pd.DataFrame,
                result: FeatureFrame) -> pd.DataFrame:
    try:
        fitted = bgnbd_features(shop.transactions, as_of, cfg)
    except (ImportError, RuntimeError, ValueError, ArithmeticError) as exc:
        del result.included["bgnbd"]
        result.left_out["bgnbd"] = f"the BG/NBD fit failed ({exc})"
        logger.warning("BG/NBD left out: %s", exc)
        return frame
    return frame.merge(fitted, on=C.CUSTOMER_ID, how="left", validate="one_to_one")


def _no_rows_before(context: Context, family: str) -> bool:
    shop, as_of = context.shop, context.as_of
    if family == "site":
        rows = rows_before(shop.table("events"), as_of)
    else:
        rows = known_customers(shop.table("customers"), as_of)
    return int(rows.count().execute()) == 0


@contextmanager
def duckdb_settings(shop: Shop, cfg: FeaturesConfig) -> Iterator[None]:
    """Apply the build's DuckDB settings for one query and put the previous ones back."""
    settings = {"preserve_insertion_order": "false"}  # the result is sorted explicitly; lets DuckDB stream
    if cfg.duckdb_threads:
        settings["threads"] = str(cfg.duckdb_threads)
    previous = {k: shop.sql.execute(f"SELECT current_setting('{k}')").fetchone()[0] for k in settings}
    for key, value in settings.items():
        shop.sql.execute(f"SET {key} = {value}")
    try:
        yield
    finally:
        for key, value in previous.items():
            shop.sql.execute(f"SET {key} = {str(value).lower() if isinstance(value, bool) else value}")


@dataclass(frozen=True)
class Feature:
    """One output column: its family, what it means, its unit and a phrase a marketer reads."""

    name: str
    family: str
    unit: str  # days, count, money, share, ratio, years, hour, flag, category, date
    description: str
    phrase: str  # str.format template with {value}; flags: the phrase when the value is 1
    phrase_if_zero: str = ""  # flags only: the phrase when the value is 0

    @property
    def kind(self) -> str:
        """'categorical' (string), 'date' (ISO string, not a model input) or 'numeric' (float)."""
        return {"category": "categorical", "date": "date"}.get(self.unit, "numeric")

    def describe(self, value: float | str) -> str:
        """Return the phrase for one customer's value, e.g. ``no order for 210 days``."""
        if self.unit == "flag":
            return self.phrase if value else self.phrase_if_zero
        return self.phrase.format(value=value)


def feature_catalogue(cfg: FeaturesConfig | None = None) -> dict[str, Feature]:
    """Return every feature the build can output under ``cfg`` (windowed names follow its windows)."""
    cfg = cfg or FeaturesConfig()
    r, k, t, h = cfg.recent_events_days, cfg.contact_days, cfg.trend_days, cfg.bgnbd_horizon_days
    rows = [
        ("rfm", "days_since_last_order", "days", "days since the last purchase order", "no order for {value:.0f} days"),
        ("rfm", "days_since_first_order", "days", "tenure: days since the first purchase order",
         "a customer for {value:.0f} days"),
        ("rfm", "orders", "count", "purchase orders before the cutoff", "{value:.0f} orders in all"),
        ("rfm", "net_revenue", "money", "net revenue, returns deducted", "spent {value:,.2f} in all"),
        ("rfm", "avg_order_value", "money", "net revenue per purchase order", "spends {value:,.2f} per order"),
        *[("rfm", f"orders_{d}d", "count", f"purchase orders in the last {d} days",
           f"{{value:.0f}} orders in the last {d} days") for d in cfg.windows_days],
        *[("rfm", f"revenue_{d}d", "money", f"net revenue in the last {d} days",
           f"spent {{value:,.2f}} in the last {d} days") for d in cfg.windows_days],
        ("rfm", f"orders_trend_{t}d", "count", f"orders in the last {t} days minus the {t} days before",
         f"{{value:+.0f}} orders in the last {t} days against the {t} before"),
        ("rfm", f"revenue_trend_{t}d", "money", f"net revenue in the last {t} days minus the {t} days before",
         f"spent {{value:+,.2f}} in the last {t} days against the {t} before"),
        ("cadence", "mean_gap_days", "days", "mean days between consecutive orders",
         "usually orders every {value:.0f} days"),
        ("cadence", "gap_std_days", "days", "standard deviation of the days between orders",
         "the gap between orders varies by {value:.0f} days"),
        ("cadence", "overdue_ratio", "ratio", "days since the last order over the usual gap (above 1 = overdue)",
         "{value:.1f} times their usual gap since the last order"),
        ("cadence", "days_until_expected_order", "days", "usual gap minus days since the last order (< 0 = overdue)",
         "next order expected {value:+.0f} days from the cutoff"),
        ("cadence", "expected_next_order_date", "date", "last order date plus the usual gap",
         "next order expected around {value}"),
        ("bgnbd", f"bgnbd_expected_orders_{h}d", "count", f"BG/NBD expected purchase orders in the next {h} days",
         f"expected to place {{value:.1f}} orders in the next {h} days"),
        ("bgnbd", "bgnbd_p_alive", "share", "BG/NBD probability that the customer is still active",
         "{value:.0%} likely to still be an active customer"),
        ("basket", "items_per_order", "count", "mean units per purchase order", "buys {value:.1f} items per order"),
        ("basket", "distinct_items", "count", "distinct items bought", "has bought {value:.0f} different items"),
        ("categories", "distinct_categories", "count", "distinct categories bought",
         "buys from {value:.0f} categories"),
        ("categories", "top_category", "category", "the category with the most spend", "buys mostly {value}"),
        ("categories", "top_category_share", "share", "the top category's share of spend",
         "{value:.0%} of spend in one category"),
        ("categories", "price_level", "ratio", "prices paid over the category average (1 = average)",
         "pays {value:.2f} times the category's average price"),
        ("promotions", "discount_order_share", "share", "share of purchase orders with a discount",
         "{value:.0%} of orders had a discount"),
        ("promotions", "discount_revenue_share", "share", "share of spend on discounted lines",
         "{value:.0%} of spend was on discount"),
        ("promotions", "buys_only_on_sale", "flag", f"1 when every order (at least {cfg.sale_only_min_orders}) "
         "had a discount", "buys only on sale", "also buys at full price"),
        *[("site", f"{name}_{r}d", "count", f"{name.replace('_', ' ')} in the last {r} days",
           f"{{value:.0f}} {name.replace('_', ' ')} in the last {r} days")
          for name in ("views", "cart_adds", "wishlist_adds", "email_opens", "email_clicks")],
        ("site", f"abandoned_carts_{r}d", "count", f"cart adds in the last {r} days with no order within "
         f"{cfg.abandoned_cart_hours} h", f"left {{value:.0f}} carts without ordering in the last {r} days"),
        ("site", f"orders_per_view_{r}d", "ratio", f"purchase orders per product view in the last {r} days",
         f"{{value:.2f}} orders per product view in the last {r} days"),
        ("site", "days_since_last_visit", "days", "days since the last browsing event",
         "no visit for {value:.0f} days"),
        ("site", f"callbacks_{k}d", "count", f"callback requests in the last {k} days",
         f"asked for {{value:.0f}} callbacks in the last {k} days"),
        ("site", f"chats_{k}d", "count", f"chats in the last {k} days", f"{{value:.0f}} chats in the last {k} days"),
        ("channel", "main_device", "category", "device of most orders", "usually orders on {value}"),
        ("channel", "main_channel", "category", "channel of most orders", "usually orders through {value}"),
        ("channel", "main_source", "category", "traffic source of most orders", "usually comes from {value}"),
        ("channel", "mobile_share", "share", "share of orders placed on mobile", "{value:.0%} of orders on mobile"),
        ("timing", "preferred_weekday", "category", "weekday of most orders", "usually orders on {value}s"),
        ("timing", "preferred_weekday_share", "share", "share of orders on the preferred weekday",
         "{value:.0%} of orders on their usual weekday"),
        ("timing", "preferred_hour", "hour", "hour of day (0-23) of most orders",
         "usually orders around {value:02.0f}:00"),
        ("timing", "preferred_hour_share", "share", "share of orders in the preferred hour",
         "{value:.0%} of orders in their usual hour"),
        ("profile", "age_years", "years", "age in whole years at the cutoff", "{value:.0f} years old"),
        ("profile", "days_to_birthday", "days", "days from the cutoff to the next birthday",
         "birthday in {value:.0f} days"),
        ("profile", "days_since_signup", "days", "days since sign-up", "signed up {value:.0f} days ago"),
        ("profile", "gender", "category", "gender as given", "gender {value}"),
        ("profile", "city", "category", "city", "lives in {value}"),
        ("profile", "acquisition_source", "category", "how the customer was acquired", "came through {value}"),
        ("profile", "email_opt_in", "flag", "1 when the customer accepts marketing e-mail", "opted in to e-mail",
         "not opted in to e-mail"),
    ]
    return {row[1]: Feature(row[1], row[0], *row[2:]) for row in rows}


FEATURES = feature_catalogue()
"""The catalogue under the default ``FeaturesConfig``: column name -> Feature."""
