"""Products as of a cutoff: ABC by revenue, XYZ by demand variability, popularity and trend.

One row per item with a purchase line in the analysis window ``[cutoff - window_days, cutoff)``:

- ABC: items ranked by net revenue in the window (ties by item_id); ``cum_revenue_share`` is the running share
  including the item (negative revenue counts as 0). A while the running share is at most ``a_share`` (80%),
  B up to ``b_share`` (95%), C after; an item landing exactly on 80% is A, and the top item is always A.
- XYZ: the coefficient of variation (population std / mean) of units sold per week. Weeks count back from the
  cutoff (week 0 = the last 7 days) over the window's whole weeks, starting at the week of the item's first sale
  ever, so a new item is not penalised for weeks before it existed; weeks without sales count as 0.
  X when cv <= ``x_cv`` (0.5), Y when cv <= ``y_cv`` (1.0), Z above. ``abc_xyz`` joins the two, e.g. "AX".
- popularity over the last ``popularity_days``: orders, customers and units;
- trend: units in the last ``trend_weeks`` weeks over the ``trend_weeks`` before, minus 1 (+0.25 = 25% up;
  empty when the earlier weeks sold nothing).

Category and brand come from the items table when it exists. Needs ``transactions.item_id``.
"""

from __future__ import annotations

import logging

import ibis
import ibis.expr.types as ir
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from features import columns as C
from features.data.reader import Shop
from features.families.rfm import days_since
from features.orders import AsOf, millionths, money_sum, rows_before

logger = logging.getLogger(__name__)

NEEDS_ITEM_ID = ("products needs transactions.item_id (which item each order line is); this shop's transactions "
                 "have no item_id column. Add it to the export to get ABC/XYZ, popularity and trends.")


class ProductsConfig(BaseModel):
    """ABC/XYZ boundaries and the windows of the product table."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_days: int = Field(364, ge=7, description="Window for ABC revenue and XYZ weekly demand (52 weeks).")
    a_share: float = Field(0.80, gt=0, lt=1, description="A = items up to this running share of revenue.")
    b_share: float = Field(0.95, gt=0, le=1, description="B = items up to this running share, after A.")
    x_cv: float = Field(0.5, gt=0, description="X = weekly demand cv at most this.")
    y_cv: float = Field(1.0, gt=0, description="Y = weekly demand cv at most this (after X); Z above.")
    popularity_days: int = Field(30, gt=0, description="Window for orders, customers and units.")
    trend_weeks: int = Field(4, gt=0, description="Trend compares the last N weeks with the N weeks before.")

    @model_validator(mode="after")
    def _ordered(self) -> ProductsConfig:
        if self.a_share >= self.b_share or self.x_cv >= self.y_cv:
            raise ValueError("need a_share < b_share and x_cv < y_cv")
        return self


def item_lines(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    """Return lines before the cutoff with item_id, units (positive quantity) and days_ago (unexecuted)."""
    if C.ITEM_ID not in transactions.columns:
        raise ValueError(NEEDS_ITEM_ID)
    lines = rows_before(transactions, as_of)
    return lines.mutate(units=ibis.greatest(lines[C.QUANTITY], 0), days_ago=days_since(lines[C.TIMESTAMP], as_of))


def abc_classes(lines: ir.Table, cfg: ProductsConfig) -> ir.Table:
    """Return item_id, revenue, revenue_share, cum_revenue_share and abc for items sold in the window."""
    window = lines.filter(lines.days_ago <= cfg.window_days)
    per = window.group_by(C.ITEM_ID).aggregate(revenue=money_sum(millionths(window[C.REVENUE])),
                                                units=window.units.sum().cast("float64"))
    per = per.filter(per.units > 0)
    order = [ibis.desc(per.revenue), per[C.ITEM_ID]]
    positive = ibis.greatest(per.revenue, 0)
    total = positive.sum().over()
    cum = positive.cumsum(order_by=order) / total
    rank = ibis.row_number().over(order_by=order)
    eps = 1e-9  # float sums that should land exactly on a boundary
    abc = ibis.cases((rank == 0, "A"), (cum <= cfg.a_share + eps, "A"), (cum <= cfg.b_share + eps, "B"), else_="C")
    return per.mutate(revenue_share=positive / total, cum_revenue_share=cum, abc=abc)


def xyz_classes(lines: ir.Table, cfg: ProductsConfig) -> ir.Table:
    """Return item_id, weeks, mean_weekly_units, weekly_cv and xyz (see the module docstring)."""
    n_weeks = cfg.window_days // 7
    week = (lines.days_ago / 7).ceil().cast("int64") - 1  # days_ago in (0, 7] is week 0, the last 7 days
    keyed = lines.mutate(week=week)
    first_week = keyed.group_by(C.ITEM_ID).aggregate(oldest=keyed.week.max(where=keyed.units > 0))
    recent = keyed.filter(keyed.week < n_weeks)
    weekly = recent.group_by(C.ITEM_ID, "week").aggregate(w=recent.units.sum().cast("float64"))
    sums = weekly.group_by(C.ITEM_ID).aggregate(s1=weekly.w.sum(), s2=(weekly.w * weekly.w).sum())
    sums = sums.join(first_week, C.ITEM_ID)
    weeks = ibis.least(sums.oldest + 1, n_weeks).cast("float64")
    mean = sums.s1 / weeks
    std = ibis.greatest(sums.s2 / weeks - mean * mean, 0).sqrt()
    cv = ibis.ifelse(mean > 0, std / mean, ibis.null("float64"))
    xyz = ibis.cases((cv <= cfg.x_cv, "X"), (cv <= cfg.y_cv, "Y"), else_="Z")
    return sums.select(C.ITEM_ID, weeks=weeks.cast("int64"), mean_weekly_units=mean, weekly_cv=cv, xyz=xyz)


def popularity(lines: ir.Table, cfg: ProductsConfig) -> ir.Table:
    """Return item_id with orders/customers/units in the last popularity_days, and the weekly trend."""
    bought = lines.units > 0
    recent = bought & (lines.days_ago <= cfg.popularity_days)
    last = bought & (lines.days_ago <= 7 * cfg.trend_weeks)
    before = bought & (lines.days_ago > 7 * cfg.trend_weeks) & (lines.days_ago <= 14 * cfg.trend_weeks)
    d = cfg.popularity_days
    per = lines.group_by(C.ITEM_ID).aggregate(**{
        f"orders_{d}d": lines[C.ORDER_ID].nunique(where=recent),
        f"customers_{d}d": lines[C.CUSTOMER_ID].nunique(where=recent),
        f"units_{d}d": lines.units.sum(where=recent).fill_null(0).cast("float64"),
        "units_last_weeks": lines.units.sum(where=last).fill_null(0).cast("float64"),
        "units_previous_weeks": lines.units.sum(where=before).fill_null(0).cast("float64"),
    })
    prev = per.units_previous_weeks
    return per.mutate(trend=ibis.ifelse(prev > 0, per.units_last_weeks / prev - 1, ibis.null("float64")))


def product_classes(shop: Shop, as_of: AsOf, cfg: ProductsConfig | None = None) -> pd.DataFrame:
    """Return the product table (one row per item sold in the window, best revenue first).

    Raises
    ------
    ValueError
        When the transactions have no item_id column (``NEEDS_ITEM_ID`` says what is needed).
    """
    cfg = cfg or ProductsConfig()
    lines = item_lines(shop.transactions, as_of)
    table = abc_classes(lines, cfg).join(xyz_classes(lines, cfg), C.ITEM_ID).join(popularity(lines, cfg), C.ITEM_ID)
    table = table.mutate(abc_xyz=table.abc.concat(table.xyz))
    items = shop.table("items")
    if items is not None:
        extra = [c for c in (C.CATEGORY, C.BRAND) if c in items.columns]
        if extra:
            table = table.left_join(items.select(C.ITEM_ID, *extra), C.ITEM_ID).drop(f"{C.ITEM_ID}_right")
    frame = table.order_by([ibis.desc("revenue"), C.ITEM_ID]).execute()
    logger.debug("classified %d items sold in the %d days before %s", len(frame), cfg.window_days, as_of)
    return frame[[c for c in _column_order(cfg) if c in frame.columns]]


def _column_order(cfg: ProductsConfig) -> list[str]:
    d = cfg.popularity_days
    return [C.ITEM_ID, C.CATEGORY, C.BRAND, "abc_xyz", "abc", "xyz", "revenue", "revenue_share", "cum_revenue_share",
            "units", "weeks", "mean_weekly_units", "weekly_cv", f"orders_{d}d", f"customers_{d}d", f"units_{d}d",
            "units_last_weeks", "units_previous_weeks", "trend"]

