"""Customer segments as of a cutoff: RFM cells, named segments, golden customers, churned and dead contacts.

One row per customer with a purchase order before the cutoff, built as Ibis expressions over
``features.orders`` (only rows with ``timestamp < cutoff`` are read) and executed once on DuckDB. The cell and
segment rules are in ``features.analytics.segment_rules``; this module adds the flags:

- ``is_golden_now``: among customers with a purchase in ``[cutoff - golden_days, cutoff)``, the top
  ``ceil(golden_share x n)`` by net revenue in that window (ties broken by customer_id), revenue > 0.
  ``golden_revenue_share`` is their share of the window's net revenue (the same value on every row).
- ``is_churned``: days since the last purchase exceed ``churn_threshold_days`` = k x the customer's median gap
  between consecutive purchases; one-time buyers use the shop's ``one_time_gap_quantile`` of all such gaps
  (``fallback_churn_days`` when nobody repeated). No threshold is below ``min_churn_days``.
- ``dead_contact``: churned for longer than the reactivation window, i.e. already churned at
  ``cutoff - reactivation_days`` and no order since (days since the last purchase exceed threshold + window);
  when the shop has events, a customer who opened or clicked an email in that window is not dead.
- ``previous_segment``: the same rules at ``cutoff - previous_days`` (empty when not yet a customer then), so
  ``migration_matrix`` shows who moved where.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import ibis
import ibis.expr.types as ir
import pandas as pd

from features import columns as C
from features.analytics.segment_rules import CELL_SEGMENTS, NEW, SEGMENTS, RfmThresholds, SegmentsConfig
from features.data.reader import Shop
from features.families.cadence import order_gaps
from features.families.rfm import days_since
from features.orders import AsOf, money_sum, orders_before

logger = logging.getLogger(__name__)

NOT_A_CUSTOMER = "(not a customer yet)"
ENGAGED_EVENTS = ("email_open", "email_click")
OUTPUT_COLUMNS = (
    C.CUSTOMER_ID, "rfm_cell", "segment", "previous_segment", "r", "f", "m", "recency_days", "frequency",
    "monetary", "tenure_days", "first_purchase", "last_purchase", "window_revenue", "is_golden_now",
    "usual_gap_days", "churn_threshold_days", "is_churned", "dead_contact", "golden_revenue_share",
)


@dataclass(frozen=True)
class Segmentation:
    """Customers' segments and flags at one cutoff, with the thresholds used and the golden revenue share."""

    cutoff: datetime
    customers: pd.DataFrame
    thresholds: RfmThresholds
    golden_revenue_share: float


def to_datetime(as_of: AsOf) -> datetime:
    """Return the cutoff as a naive datetime (a date means midnight at its start)."""
    return pd.Timestamp(as_of).to_pydatetime()


def default_cutoff(transactions: ir.Table) -> datetime:
    """Return midnight after the day of the last order in the data, so every order is before the cutoff."""
    last = transactions[C.TIMESTAMP].max().execute()
    if last is None or pd.isna(last):
        raise ValueError("transactions is empty: no orders to compute segments from")
    return (pd.Timestamp(last).normalize() + pd.Timedelta(days=1)).to_pydatetime()


def days_before(as_of: AsOf, days: float) -> ir.TimestampScalar:
    """Return the start of the window ``[cutoff - days, cutoff)`` as a literal (days may be fractional)."""
    return ibis.timestamp(to_datetime(as_of) - timedelta(days=days))


def customer_rfm(transactions: ir.Table, as_of: AsOf, cfg: SegmentsConfig) -> ir.Table:
    """Return recency, frequency, money, tenure and golden-window revenue per customer (unexecuted).

    Frequency counts purchase orders; money is net revenue of all orders (refunds count against it).
    """
    orders = orders_before(transactions, as_of)
    bought, ts, micros = orders.is_purchase, orders[C.TIMESTAMP], orders.revenue_micros  # exact sums
    in_window = ts >= days_before(as_of, cfg.golden_days)
    per = orders.group_by(C.CUSTOMER_ID).aggregate(
        first_purchase=ts.min(where=bought),
        last_purchase=ts.max(where=bought),
        frequency=bought.cast("int64").sum(),
        monetary=money_sum(micros),
        window_revenue=money_sum(micros, where=in_window),
        window_purchases=(bought & in_window).cast("int64").sum(),
    )
    per = per.filter(per.frequency > 0)
    return per.mutate(recency_days=days_since(per.last_purchase, as_of),
                      tenure_days=days_since(per.first_purchase, as_of))


def rfm_thresholds(rfm: ir.Table, cfg: SegmentsConfig) -> RfmThresholds:
    """Return configured thresholds, or the tertiles over the active base (executes one small query).

    The active base is customers with a purchase in the last ``active_days``; when it is empty, all customers.
    """
    if cfg.recency_days and cfg.frequency and cfg.monetary:
        return RfmThresholds(recency_days=cfg.recency_days, frequency=cfg.frequency, monetary=cfg.monetary,
                             base_customers=0)
    base = rfm.filter(rfm.recency_days <= cfg.active_days)
    values = _tertiles(base)
    if values["n"] == 0:
        logger.debug("no customer bought in the last %s days; RFM tertiles come from all customers", cfg.active_days)
        values = _tertiles(rfm)

    def pair(name: str) -> tuple[float, float]:
        return (float(values[f"{name}_lo"] or 0.0), float(values[f"{name}_hi"] or 0.0))

    return RfmThresholds(recency_days=cfg.recency_days or pair("recency_days"),
                         frequency=cfg.frequency or pair("frequency"), monetary=cfg.monetary or pair("monetary"),
                         base_customers=int(values["n"]))


def _tertiles(base: ir.Table) -> dict[str, float]:
    aggs = {"n": base.count()}
    for name in ("recency_days", "frequency", "monetary"):
        aggs[f"{name}_lo"] = base[name].cast("float64").quantile(1 / 3)
        aggs[f"{name}_hi"] = base[name].cast("float64").quantile(2 / 3)
    return base.aggregate(**aggs).execute().iloc[0].to_dict()


def rfm_cells(rfm: ir.Table, th: RfmThresholds, cfg: SegmentsConfig) -> ir.Table:
    """Add the scores r, f, m (3 = best), ``rfm_cell`` "R-F-M" and ``segment`` (New by tenure, else the cell's)."""
    def low_is_best(value: ir.NumericValue, pair: tuple[float, float]) -> ir.IntegerValue:
        return ibis.cases((value <= pair[0], 3), (value <= pair[1], 2), else_=1)

    def high_is_best(value: ir.NumericValue, pair: tuple[float, float]) -> ir.IntegerValue:
        return ibis.cases((value <= pair[0], 1), (value <= pair[1], 2), else_=3)

    scored = rfm.mutate(r=low_is_best(rfm.recency_days, th.recency_days), f=high_is_best(rfm.frequency, th.frequency),
                        m=high_is_best(rfm.monetary, th.monetary))
    cell = scored.r.cast("string").concat("-", scored.f.cast("string"), "-", scored.m.cast("string"))
    segment = ibis.ifelse(scored.tenure_days < cfg.new_days, NEW, cell.substitute(CELL_SEGMENTS))
    return scored.mutate(rfm_cell=cell, segment=segment)


def golden_flags(rfm: ir.Table, cfg: SegmentsConfig) -> ir.Table:
    """Add ``is_golden_now``: top ``golden_share`` of window buyers by window revenue (ties by customer_id)."""
    in_base = rfm.window_purchases > 0
    rank = ibis.row_number().over(order_by=[ibis.desc(in_base), ibis.desc(rfm.window_revenue), rfm[C.CUSTOMER_ID]])
    n_golden = (in_base.cast("int64").sum().over() * cfg.golden_share - 1e-9).ceil()
    return rfm.mutate(is_golden_now=in_base & (rank < n_golden) & (rfm.window_revenue > 0))


def churn_flags(transactions: ir.Table, as_of: AsOf, cfg: SegmentsConfig, events: ir.Table | None) -> ir.Table:
    """Return customer_id, usual_gap_days (median gap), churn_threshold_days, is_churned, dead_contact (unexecuted)."""
    gaps = order_gaps(transactions, as_of)
    base_gap = gaps.gap_days.quantile(cfg.one_time_gap_quantile).as_scalar().fill_null(cfg.fallback_churn_days)
    per = gaps.group_by(C.CUSTOMER_ID).aggregate(usual_gap_days=gaps.gap_days.median(),
                                                 last_purchase=gaps[C.TIMESTAMP].max())
    own = per.usual_gap_days * cfg.churn_k
    threshold = ibis.greatest(ibis.ifelse(per.usual_gap_days.isnull(), base_gap, own), cfg.min_churn_days)
    recency = days_since(per.last_purchase, as_of)
    flags = per.mutate(churn_threshold_days=threshold.cast("float64"), is_churned=recency > threshold,
                       dead=recency > threshold + cfg.reactivation_days)
    engaged = _engaged_customers(events, as_of, cfg)
    if engaged is not None:
        flags = flags.left_join(engaged, C.CUSTOMER_ID).drop(f"{C.CUSTOMER_ID}_right")
        flags = flags.mutate(dead=flags.dead & flags.engaged.isnull())
    return flags.select(C.CUSTOMER_ID, "usual_gap_days", "churn_threshold_days", "is_churned", dead_contact="dead")


def _engaged_customers(events: ir.Table | None, as_of: AsOf, cfg: SegmentsConfig) -> ir.Table | None:
    """Customers who opened or clicked an email in the reactivation window, or None without events."""
    if events is None:
        return None
    window = events.filter(events[C.TIMESTAMP] >= days_before(as_of, cfg.reactivation_days),
                           events[C.TIMESTAMP] < ibis.timestamp(to_datetime(as_of)),
                           events[C.EVENT_TYPE].isin(ENGAGED_EVENTS))
    return window.select(C.CUSTOMER_ID).distinct().mutate(engaged=ibis.literal(True))


def customer_snapshot(shop: Shop, as_of: AsOf, cfg: SegmentsConfig | None = None) -> tuple[pd.DataFrame, RfmThresholds]:
    """Return every customer's cells, segment and flags at one cutoff (no previous_segment), and the thresholds."""
    cfg = cfg or SegmentsConfig()
    rfm = customer_rfm(shop.transactions, as_of, cfg)
    thresholds = rfm_thresholds(rfm, cfg)
    table = golden_flags(rfm_cells(rfm, thresholds, cfg), cfg)
    churn = churn_flags(shop.transactions, as_of, cfg, shop.table("events"))
    table = table.join(churn, C.CUSTOMER_ID)
    frame = table.order_by(C.CUSTOMER_ID).execute()
    return frame, thresholds


def golden_revenue_share(customers: pd.DataFrame) -> float:
    """Return the golden customers' share of the window's net revenue (0 when the window has none)."""
    total = customers["window_revenue"].sum()
    golden = customers.loc[customers["is_golden_now"], "window_revenue"].sum()
    return float(golden / total) if total > 0 else 0.0


def segment_customers(shop: Shop, as_of: AsOf | None = None, cfg: SegmentsConfig | None = None) -> Segmentation:
    """Return segments, flags and previous_segment for every customer with a purchase before the cutoff.

    Parameters
    ----------
    shop
        A checked shop (``read_shop`` or ``shop_from_frames``).
    as_of
        The cutoff; defaults to midnight after the last order's day.
    cfg
        Thresholds and windows; defaults to ``SegmentsConfig()``.
    """
    cfg = cfg or SegmentsConfig()
    cutoff = to_datetime(as_of) if as_of is not None else default_cutoff(shop.transactions)
    now, thresholds = customer_snapshot(shop, cutoff, cfg)
    before, _ = customer_snapshot(shop, cutoff - timedelta(days=cfg.previous_days), cfg)
    previous = before.set_index(C.CUSTOMER_ID)["segment"]
    now["previous_segment"] = now[C.CUSTOMER_ID].map(previous)
    share = golden_revenue_share(now)
    now["golden_revenue_share"] = share
    logger.debug("segmented %d customers at %s; golden customers bring %.1f%% of the last %g days' revenue",
                len(now), cutoff, 100 * share, cfg.golden_days)
    return Segmentation(cutoff, now[list(OUTPUT_COLUMNS)], thresholds, share)


def migration_matrix(customers: pd.DataFrame, before: str = "previous_segment", after: str = "segment") -> pd.DataFrame:
    """Return customer counts moving from each segment (rows) to each segment (columns), all segments shown.

    Customers without a previous segment fall in the row ``NOT_A_CUSTOMER``.
    """
    rows = customers[before].fillna(NOT_A_CUSTOMER)
    counts = pd.crosstab(rows, customers[after])
    counts = counts.reindex(index=[*SEGMENTS, NOT_A_CUSTOMER], columns=list(SEGMENTS), fill_value=0)
    counts.index.name, counts.columns.name = before, after
    return counts.astype("int64")


def segment_counts(customers: pd.DataFrame) -> pd.DataFrame:
    """Return customers, their share and net window revenue per segment, in display order."""
    grouped = customers.groupby("segment")
    table = pd.DataFrame({"customers": grouped.size(), "window_revenue": grouped["window_revenue"].sum()})
    table = table.reindex(list(SEGMENTS), fill_value=0)
    table.insert(1, "share", table["customers"] / max(len(customers), 1))
    table.index.name = "segment"
    return table
