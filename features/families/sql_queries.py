"""The feature families as DuckDB SQL: the same definitions as the Ibis families, staged in fewer scans.

Each function returns SQL text; ``features.families.sql`` runs it. The semantics are those of the Ibis modules
(rfm.py, cadence.py, ...: read their docstrings for what each column means), written so that the transaction
lines are read a few times per cutoff (the order roll-up, the line totals, the category spend) and the events
once, instead of once per family: every order-level family is one aggregate over the orders. A test builds
both and compares them column by column (tests/code/features/test_families_sql.py), and the Spark engine, which
runs the Ibis families, gives the same table (tests/code/features/test_spark_engine.py).
"""

from __future__ import annotations

from datetime import datetime

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import CONTACT_EVENTS, COUNTED_EVENTS, SPEND_DIGITS, VISIT_EVENTS

TS = f'"{C.TIMESTAMP}"'


def literal(cutoff: datetime) -> str:
    """Return the cutoff as a DuckDB timestamp literal."""
    return f"TIMESTAMP '{cutoff:%Y-%m-%d %H:%M:%S.%f}'"


def days_since(value: str, cutoff: datetime) -> str:
    """Fractional days from ``value`` (a timestamp expression) to the cutoff, as rfm.days_since."""
    return (f"CAST(epoch(CAST({literal(cutoff)} AS TIMESTAMP)) - epoch(CAST({value} AS TIMESTAMP)) AS DOUBLE) "
            "/ 86400.0")


def since(cutoff: datetime, days: int, column: str = TS) -> str:
    """``column >= cutoff - days``: inside the window ``[cutoff - days, cutoff)``."""
    return f"{column} >= ({literal(cutoff)} - INTERVAL '{days}' DAY)"


def millionths(money: str) -> str:
    """``money`` in integer millionths: sums of these are exact, so they do not depend on the order DuckDB's
    threads add the lines in (float sums do, in the last bits, from run to run on a large shop)."""
    return f"CAST(round({money} * {C.MICROS}) AS HUGEINT)"


def as_money(millionths_sum: str) -> str:
    """A sum of ``millionths`` back as a DOUBLE amount of money."""
    return f"(CAST({millionths_sum} AS DOUBLE) / {C.MICROS})"


def strings(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def coded(values: list[str]) -> str:
    """Return a sorted list of a column's values as a DuckDB list literal: a value's code is its 1-based place."""
    return f"[{strings(tuple(values))}]"


def orders_query(cutoff: datetime, columns: tuple[str, ...], codes: dict[str, str] | None = None) -> str:
    """One row per order placed before the cutoff (orders.orders_before) with the first of each channel column.

    A channel column in ``codes`` (its sorted values, ``coded``) is kept as the code of its first value: the
    smallest code is the smallest value, and an integer minimum costs a fraction of a string one.
    """
    has, codes = set(columns), codes or {}
    aggs = [f"any_value({C.CUSTOMER_ID}) AS {C.CUSTOMER_ID}", f"min({TS}) AS {TS}",
            f"sum({millionths(C.REVENUE)}) AS revenue", f"sum(greatest({C.QUANTITY}, 0)) AS units",
            f"bool_or({C.QUANTITY} > 0) AS is_purchase"]
    if C.DISCOUNT in has:
        aggs.append(f"bool_or(coalesce({C.DISCOUNT}, 0) > 0) AS has_discount")
    aggs += [f"min(list_position({codes[c]}, {c})) AS {c}" if c in codes else f"min({c}) AS {c}"
             for c in (C.DEVICE, C.CHANNEL, C.SOURCE) if c in has]
    return (f"SELECT {C.ORDER_ID}, {', '.join(aggs)} FROM transactions WHERE {TS} < {literal(cutoff)} "
            f"GROUP BY {C.ORDER_ID}")


def timed_query(cutoff: datetime) -> str:
    """A line before the cutoff with a time of day other than midnight (stops at the first)."""
    return (f"SELECT count(*) FROM (SELECT 1 FROM transactions WHERE {TS} < {literal(cutoff)} AND "
            f"(hour({TS}) <> 0 OR minute({TS}) <> 0 OR second({TS}) <> 0) LIMIT 1)")


def line_totals_query(cutoff: datetime, columns: tuple[str, ...]) -> str:
    """Per customer, over the purchase lines (positive quantity) before the cutoff: distinct items, revenue and its
    discounted part (what basket and promotions read of the lines)."""
    items = f"count(DISTINCT {C.ITEM_ID})" if C.ITEM_ID in columns else "0"
    promoted = (as_money(f"coalesce(sum({millionths(C.REVENUE)}) FILTER (WHERE coalesce({C.DISCOUNT}, 0) > 0), 0)")
                if C.DISCOUNT in columns else "0.0")
    return (f"SELECT {C.CUSTOMER_ID}, CAST({items} AS DOUBLE) AS distinct_items, "
            f"{as_money(f'sum({millionths(C.REVENUE)})')} AS line_revenue, {promoted} AS promoted_revenue "
            f"FROM transactions WHERE {TS} < {literal(cutoff)} AND {C.QUANTITY} > 0 "
            f"GROUP BY {C.CUSTOMER_ID}")


def gaps_query(orders: str) -> str:
    """Per customer, over purchase orders in time order: the mean and spread of the days between consecutive ones
    (cadence), and the distinct purchase days with the first and last (BG/NBD)."""
    gap = (f"CAST(epoch(CAST({TS} AS TIMESTAMP)) - epoch(CAST(lag({TS}) OVER w AS TIMESTAMP)) AS DOUBLE) "
           "/ 86400.0")
    ordered = (f"SELECT {C.CUSTOMER_ID}, CAST({TS} AS DATE) AS day, lag(CAST({TS} AS DATE)) OVER w AS previous_day, "
               f"{gap} AS gap_days FROM {orders} WHERE is_purchase "
               f"WINDOW w AS (PARTITION BY {C.CUSTOMER_ID} ORDER BY {TS})")
    # in time order the days never go back, so a day unlike the previous one is a new distinct day
    return (f"SELECT {C.CUSTOMER_ID}, avg(gap_days) AS mean_gap_days, stddev_samp(gap_days) AS gap_std_days, "
            "count(*) FILTER (WHERE previous_day IS DISTINCT FROM day) AS purchase_days, min(day) AS first_day, "
            f"max(day) AS last_day FROM ({ordered}) GROUP BY {C.CUSTOMER_ID}")


def customers_query(orders: str, cutoff: datetime, cfg: FeaturesConfig, columns: tuple[str, ...],
                    codes: dict[str, str] | None = None) -> str:
    """One row per customer with a purchase order before the cutoff: the order-level aggregates of every family
    (RFM, items per order, promoted orders, recent orders, mobile orders)."""
    bought = "is_purchase"
    aggs = [f"max({TS}) FILTER (WHERE {bought}) AS last_order", f"min({TS}) FILTER (WHERE {bought}) AS first_order",
            f"count(*) FILTER (WHERE {bought}) AS orders", "sum(revenue) AS net_revenue"]
    for days in sorted({*cfg.windows_days, cfg.trend_days, 2 * cfg.trend_days}):
        aggs += [f"count(*) FILTER (WHERE {bought} AND {since(cutoff, days)}) AS orders_{days}d",
                 f"coalesce(sum(revenue) FILTER (WHERE {since(cutoff, days)}), 0) AS revenue_{days}d"]
    aggs += [f"avg(units) FILTER (WHERE {bought}) AS items_per_order",
             f"count(*) FILTER (WHERE {bought} AND {since(cutoff, cfg.recent_events_days)}) AS recent_orders"]
    if C.DISCOUNT in columns:
        aggs.append(f"count(*) FILTER (WHERE {bought} AND has_discount) AS promoted_orders")
    if C.DEVICE in columns:
        values = (codes or {}).get(C.DEVICE)
        device = f"{values}[{C.DEVICE}]" if values else C.DEVICE
        aggs.append(f"count(*) FILTER (WHERE {bought} AND lower({device}) IN ({strings(cfg.mobile_devices)})) "
                    "AS mobile_orders")
    return (f"SELECT {C.CUSTOMER_ID}, {', '.join(aggs)} FROM {orders} GROUP BY {C.CUSTOMER_ID} "
            f"HAVING count(*) FILTER (WHERE {bought}) > 0")


def rfm_columns(cutoff: datetime, cfg: FeaturesConfig) -> list[tuple[str, str]]:
    """(name, expression over the customers table ``c``) of the RFM family, in its order."""
    t = cfg.trend_days
    columns = [("days_since_last_order", days_since("c.last_order", cutoff)),
               ("days_since_first_order", days_since("c.first_order", cutoff)),
               ("orders", "CAST(c.orders AS DOUBLE)"), ("net_revenue", as_money("c.net_revenue")),
               ("avg_order_value", f"{as_money('c.net_revenue')} / CAST(c.orders AS DOUBLE)")]
    columns += [(f"orders_{d}d", f"CAST(c.orders_{d}d AS DOUBLE)") for d in cfg.windows_days]
    columns += [(f"revenue_{d}d", as_money(f"c.revenue_{d}d")) for d in cfg.windows_days]
    recent, earlier = f"CAST(c.orders_{t}d AS DOUBLE)", f"CAST(c.orders_{2 * t}d AS DOUBLE)"
    spent, spent_earlier = f"c.revenue_{t}d", f"c.revenue_{2 * t}d"
    return [*columns, (f"orders_trend_{t}d", f"{recent} - ({earlier} - {recent})"),
            (f"revenue_trend_{t}d", as_money(f"{spent} - ({spent_earlier} - {spent})"))]


def cadence_columns(cutoff: datetime) -> list[tuple[str, str]]:
    mean, since_last = "gaps.mean_gap_days", days_since("c.last_order", cutoff)
    expected = f"c.last_order + to_seconds(CAST(round({mean} * 86400.0, 0) AS BIGINT))"
    return [("mean_gap_days", mean), ("gap_std_days", "gaps.gap_std_days"),
            ("overdue_ratio", f"CASE WHEN {mean} > 0 THEN ({since_last}) / {mean} ELSE CAST(NULL AS DOUBLE) END"),
            ("days_until_expected_order", f"{mean} - ({since_last})"),
            ("expected_next_order_date", f"strftime({expected}, '%Y-%m-%d')")]


def bgnbd_summary_query(gaps: str, cutoff: datetime, cfg: FeaturesConfig) -> str:
    """frequency, recency and T per customer, as cadence.bgnbd_summary."""
    unit = float(cfg.bgnbd_unit_days)
    end_day = f"CAST({literal(cutoff)} - INTERVAL '1' MICROSECOND AS DATE)"
    return (f"SELECT {C.CUSTOMER_ID}, CAST(purchase_days - 1 AS DOUBLE) AS frequency, "
            f"CAST(date_diff('DAY', first_day, last_day) AS DOUBLE) / {unit} AS recency, "
            f"CAST(date_diff('DAY', first_day, {end_day}) AS DOUBLE) / {unit} AS \"T\" FROM {gaps}")


def bgnbd_triples_query(summary: str) -> str:
    """The distinct (frequency, recency, T) of the summary with their number of customers, in a fixed order: BG/NBD
    is fitted and scored on these (day-level data has a few thousand where there are a million customers)."""
    return (f"SELECT frequency, recency, \"T\", count(*) AS customers FROM {summary} GROUP BY ALL "
            "ORDER BY frequency, recency, \"T\"")


def categories_query(cutoff: datetime) -> str:
    """basket.category_features: spend per category, its average unit price, the top category (ties: by name);
    straight from the purchase lines before the cutoff (the items table is small: the join is a lookup)."""
    spend = (f"SELECT l.{C.CUSTOMER_ID}, i.{C.CATEGORY}, sum({millionths(f'l.{C.REVENUE}')}) AS spend, "
             f"sum(l.{C.QUANTITY}) AS units FROM transactions AS l JOIN items AS i ON l.{C.ITEM_ID} = i.{C.ITEM_ID} "
             f"WHERE l.{TS} < {literal(cutoff)} AND l.{C.QUANTITY} > 0 AND i.{C.CATEGORY} IS NOT NULL GROUP BY 1, 2")
    price = f"SELECT {C.CATEGORY}, {as_money('sum(spend)')} / sum(units) AS unit_price FROM spend GROUP BY 1"
    ratio = "CASE WHEN {d} > 0 THEN CAST({n} AS DOUBLE) / {d} ELSE CAST(NULL AS DOUBLE) END"
    # spend is in exact millionths; the price level's floats are added over the customer's few categories in a
    # fixed order, smallest first (in whatever order the rows come, the last bits would move from run to run; a
    # sorted list is a third of the cost of an ordered aggregate)
    at_price = "list_sum(list_sort(list(units * unit_price)))"
    return (f"WITH spend AS MATERIALIZED ({spend}), price AS ({price}) "
            f"SELECT {C.CUSTOMER_ID}, CAST(count({C.CATEGORY}) AS DOUBLE) AS distinct_categories, "
            f"arg_min({C.CATEGORY}, (-round({as_money('spend')}, {SPEND_DIGITS}), {C.CATEGORY})) AS top_category, "
            f"{ratio.format(n='max(spend)', d='sum(spend)')} AS top_category_share, "
            f"{ratio.format(n=as_money('sum(spend)'), d=at_price)} AS price_level "
            f"FROM spend JOIN price USING ({C.CATEGORY}) GROUP BY {C.CUSTOMER_ID}")


def promotions_columns(cfg: FeaturesConfig) -> list[tuple[str, str]]:
    orders = "CAST(c.orders AS DOUBLE)"
    return [("discount_order_share", f"CAST(c.promoted_orders AS DOUBLE) / {orders}"),
            ("discount_revenue_share", "CASE WHEN lt.line_revenue > 0 THEN lt.promoted_revenue / lt.line_revenue "
                                       "ELSE CAST(NULL AS DOUBLE) END"),
            ("buys_only_on_sale", f"CAST(c.promoted_orders = c.orders AND c.orders >= {cfg.sale_only_min_orders} "
                                  "AS DOUBLE)")]


def site_query(orders: str, cutoff: datetime, cfg: FeaturesConfig) -> str:
    """site.site_features without orders_per_view (the build divides the customers' recent orders by views)."""
    r, k, at = cfg.recent_events_days, cfg.contact_days, literal(cutoff)
    kind = C.EVENT_TYPE
    aggs = [f"CAST(count(*) FILTER (WHERE {since(cutoff, r)} AND {kind} = '{value}') AS DOUBLE) AS {name}_{r}d"
            for name, value in COUNTED_EVENTS.items()]
    aggs += [f"CAST(count(*) FILTER (WHERE {since(cutoff, k)} AND {kind} = '{value}') AS DOUBLE) AS {name}_{k}d"
             for name, value in CONTACT_EVENTS.items()]
    if k > r:  # the e-mail habit before the recent window (site.site_features)
        aggs.append(f"CAST(count(*) FILTER (WHERE {since(cutoff, k)} AND {kind} = 'email_open') AS DOUBLE) "
                    f"AS email_opens_{k}d")
    aggs.append(f"max({TS}) FILTER (WHERE {kind} = 'email_open') AS last_email_open")
    aggs.append(f"max({TS}) FILTER (WHERE {kind} IN ({strings(VISIT_EVENTS)})) AS last_visit")
    hours = f"INTERVAL '{cfg.abandoned_cart_hours}' HOUR"
    carts = (f"SELECT {C.CUSTOMER_ID}, {TS} AS cart_time FROM events WHERE {TS} < {at} AND {kind} = 'cart_add' "
             f"AND {since(cutoff, r)} AND {TS} <= ({at} - {hours})")
    bought = f"SELECT {C.CUSTOMER_ID} AS order_customer, {TS} AS order_time FROM {orders} WHERE is_purchase"
    abandoned = (f"SELECT a.{C.CUSTOMER_ID}, CAST(count(*) AS DOUBLE) AS abandoned_carts FROM ({carts}) AS a "
                 f"ANTI JOIN ({bought}) AS o ON a.{C.CUSTOMER_ID} = o.order_customer AND o.order_time >= a.cart_time "
                 f"AND o.order_time < (a.cart_time + {hours}) GROUP BY 1")
    counts = f"SELECT {C.CUSTOMER_ID}, {', '.join(aggs)} FROM events WHERE {TS} < {at} GROUP BY {C.CUSTOMER_ID}"
    names = _site_counts(cfg)
    return (f"SELECT e.{C.CUSTOMER_ID}, {', '.join('e.' + n for n in names)}, "
            f"coalesce(a.abandoned_carts, 0.0) AS abandoned_carts_{r}d, "
            f"{days_since('e.last_visit', cutoff)} AS days_since_last_visit, "
            "CAST(e.last_email_open AS DATE) AS last_email_open "
            f"FROM ({counts}) AS e LEFT JOIN ({abandoned}) AS a ON e.{C.CUSTOMER_ID} = a.{C.CUSTOMER_ID}")


def site_columns(cfg: FeaturesConfig) -> list[tuple[str, str]]:
    """(name, expression over the site table ``s`` and the customers ``c``) in the site family's order."""
    r = cfg.recent_events_days
    counted = _site_counts(cfg)
    views = f"s.views_{r}d"
    per_view = (f"CASE WHEN {views} > 0 THEN CAST(c.recent_orders AS DOUBLE) / {views} "
                "ELSE CAST(NULL AS DOUBLE) END")
    return [*[(n, f"s.{n}") for n in counted], (f"abandoned_carts_{r}d", f"s.abandoned_carts_{r}d"),
            (f"orders_per_view_{r}d", per_view), ("days_since_last_visit", "s.days_since_last_visit"),
            ("last_email_open", "s.last_email_open")]


def _site_counts(cfg: FeaturesConfig) -> list[str]:
    """The site family's counted columns, in its order."""
    r, k = cfg.recent_events_days, cfg.contact_days
    return ([f"{n}_{r}d" for n in COUNTED_EVENTS] + [f"{n}_{k}d" for n in CONTACT_EVENTS]
            + ([f"email_opens_{k}d"] if k > r else []))


def main_value_query(orders: str, column: str, values: str | None = None) -> str:
    """channel.main_value: the value on most purchase orders (ties: the most recent, then the first by name).

    With ``values`` (the column's ``coded`` list) the orders hold codes, in the values' order: decoded at the end.
    """
    counts = (f"SELECT {C.CUSTOMER_ID}, {column}, count(*) AS n, max({TS}) AS last FROM {orders} "
              f"WHERE is_purchase AND {column} IS NOT NULL GROUP BY 1, 2")
    key = f"(-n, -epoch_us(last), {column})"  # the smallest key: most orders, then latest, then first by name
    main = f"arg_min({column}, {key})"
    return (f"SELECT {C.CUSTOMER_ID}, {f'{values}[{main}]' if values else main} AS main_{column} "
            f"FROM ({counts}) GROUP BY 1")


def timing_query(orders: str, with_hour: bool) -> str:
    """timing.timing_features: the weekday (and hour) of most purchase orders, ties to the latest."""
    slots = f"SELECT {C.CUSTOMER_ID}, {TS}, (dayofweek({TS}) + 6) % 7 AS weekday, hour({TS}) AS hour FROM {orders} " \
            "WHERE is_purchase"

    def preferred(slot: str) -> str:
        counts = f"SELECT {C.CUSTOMER_ID}, {slot}, count(*) AS n, max({TS}) AS last FROM slots GROUP BY 1, 2"
        key = "(n * 100000000000) + CAST(epoch(CAST(last AS TIMESTAMP)) AS BIGINT)"
        return (f"SELECT {C.CUSTOMER_ID}, arg_max({slot}, {key}) AS {slot}, max(n) AS {slot}_n, "
                f"sum(n) AS orders FROM ({counts}) GROUP BY 1")

    days = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    name = " ".join(f"WHEN {i} THEN '{d}'" for i, d in enumerate(days))
    columns = [f"CASE w.weekday {name} ELSE NULL END AS preferred_weekday",
               "CAST(w.weekday_n AS DOUBLE) / w.orders AS preferred_weekday_share"]
    source = f"({preferred('weekday')}) AS w"
    if with_hour:
        columns += ["CAST(h.hour AS DOUBLE) AS preferred_hour", "CAST(h.hour_n AS DOUBLE) / w.orders AS "
                    "preferred_hour_share"]
        source += f" JOIN ({preferred('hour')}) AS h ON w.{C.CUSTOMER_ID} = h.{C.CUSTOMER_ID}"
    return f"WITH slots AS ({slots}) SELECT w.{C.CUSTOMER_ID}, {', '.join(columns)} FROM {source}"


def profile_query(cutoff: datetime, columns: tuple[str, ...]) -> str:
    """profile.profile_features over the customers rows known at the cutoff (no sign-up date, or one before it)."""
    at, has = literal(cutoff), set(columns)
    selected = [C.CUSTOMER_ID]
    if C.BIRTH_DATE in has:
        b = C.BIRTH_DATE
        age = (f"(year({at}) - year({b}) - CAST(month({at}) < month({b}) OR (month({at}) = month({b}) AND "
               f"day({at}) < day({b})) AS BIGINT))")
        this_year = f"CAST({b} + to_years({age}) AS DATE)"
        following = f"CAST({b} + to_years({age} + 1) AS DATE)"
        today = f"CAST({at} AS DATE)"
        upcoming = f"CASE WHEN {this_year} >= {today} THEN {this_year} ELSE {following} END"
        selected += [f"CASE WHEN {b} < {at} THEN CAST({age} AS DOUBLE) ELSE CAST(NULL AS DOUBLE) END AS age_years",
                     f"CASE WHEN {b} < {at} THEN CAST(date_diff('DAY', {today}, {upcoming}) AS DOUBLE) "
                     "ELSE CAST(NULL AS DOUBLE) END AS days_to_birthday"]
    if C.SIGNUP_DATE in has:
        selected.append(f"{days_since(C.SIGNUP_DATE, cutoff)} AS days_since_signup")
    selected += [c for c in (C.GENDER, C.CITY, C.ACQUISITION_SOURCE) if c in has]
    if C.EMAIL_OPT_IN in has:
        selected.append(f"CAST({C.EMAIL_OPT_IN} AS DOUBLE) AS email_opt_in")
    known = f" WHERE {C.SIGNUP_DATE} IS NULL OR {C.SIGNUP_DATE} < {at}" if C.SIGNUP_DATE in has else ""
    return f"SELECT {', '.join(selected)} FROM customers{known}"
