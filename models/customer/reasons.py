"""Each customer's reasons, in words a marketer can act on, from LightGBM's per-feature contributions.

For every customer the contributions (``pred_contrib=True``: one column per feature plus the bias) say how far
each feature moved the score. A reason is a feature that **raises** the score for this customer (its contribution
is positive: churn risk for the churn model, the chance of being golden or the expected value for the others),
phrased as the customer's own behaviour against their own norm: "no order for 51 days, twice their usual 25-day
gap", "spent 60% less in the last 90 days than in the 90 before", "stopped opening e-mails in October after
opening 6 a month". Features that describe who the customer is rather than what they do (age, gender, city,
birthday, acquisition source, opt-in, device, preferred weekday) are never reasons: a marketer cannot act on them.
A reason states observed facts only, never another model's estimate (BG/NBD's expected orders next to the value
model's would contradict the score): BG/NBD's outputs, which weigh recency against frequency, are explained by
those facts. A feature whose fact does not hold for the row (a recency that is not overdue, a trend that
rose) gives no reason; related features (recency, gap, overdue ratio) give one reason between them.

Reasons are structured (``Reason``: a phrase key, the feature behind it, the numbers) and worded in any language
of the phrase catalogue (``features.words``) when shown.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from features.words.catalogue import Lang, say

SEPARATOR = "; "
KINDS = ("risk", "value")


@dataclass(frozen=True)
class Reason:
    """One reason: the catalogue phrase ``key``, the model input ``feature`` behind it and the phrase's values."""

    key: str
    feature: str
    values: tuple[tuple[str, Any], ...] = ()

    def text(self, lang: Lang | str = Lang.en) -> str:
        return say(self.key, lang, **dict(self.values))


def texts(reasons: list[list[Reason]] | list[tuple[Reason, ...]], lang: Lang | str = Lang.en) -> list[str]:
    """Return each row's reasons worded in ``lang`` and joined by "; "."""
    return [SEPARATOR.join(r.text(lang) for r in row) for row in reasons]


class Row:
    """One customer's inputs by name (NaN for a missing or absent column), and the windows the names carry."""

    def __init__(self, columns: dict[str, np.ndarray], windows: dict[str, int]) -> None:
        self.columns, self.windows, self.i = columns, windows, 0

    def __call__(self, name: str) -> float:
        column = self.columns.get(name)
        if column is None:
            return math.nan
        value = column[self.i]
        try:
            return float(value)
        except (TypeError, ValueError):
            return math.nan

    def raw(self, name: str) -> Any:
        column = self.columns.get(name)
        return None if column is None else column[self.i]


def _ok(*values: float) -> bool:
    return all(math.isfinite(v) for v in values)


# --- why the churn risk is up ---------------------------------------------------------------------------------
def _overdue(row: Row, feature: str) -> Reason | None:
    days, orders, gap = row("days_since_last_order"), row("orders"), row("mean_gap_days")
    if not _ok(days):
        return None
    if orders == 1:
        return Reason("reason.one_order", feature, (("days", round(days)),))
    if orders >= 3 and _ok(gap) and gap > 0 and days >= 1.2 * gap:  # two orders make one gap: no "usual" yet
        return Reason("reason.overdue", feature, (("days", round(days)), ("ratio", days / gap), ("gap", round(gap))))
    if orders == 2 and days >= 30:
        return Reason("reason.no_order", feature, (("days", round(days)),))
    return None


def _irregular(row: Row, feature: str) -> Reason | None:
    gap, spread, orders = row("mean_gap_days"), row("gap_std_days"), row("orders")
    if not _ok(gap, spread) or orders < 3 or spread < 0.5 * gap:
        return None
    return Reason("reason.irregular", feature, (("gap", round(gap)), ("spread", round(spread))))


def _orders_drop(row: Row, feature: str) -> Reason | None:
    w = row.windows.get("trend")
    if w is None:
        return None
    now, trend = row(f"orders_{w}d"), row(f"orders_trend_{w}d")
    if not _ok(now, trend) or trend >= 0 or now > 0.75 * (now - trend):  # one order fewer of six is no change
        return None
    return Reason("reason.orders_drop", feature, (("now", round(now)), ("before", round(now - trend)), ("w", w)))


def _year_slowdown(row: Row, feature: str) -> Reason | None:
    if row("orders") == 1:
        return _overdue(row, feature)
    year, orders, tenure = row("orders_365d"), row("orders"), row("days_since_first_order")
    if not _ok(year, orders, tenure) or tenure < 455:
        return None
    usual = (orders - year) / ((tenure - 365) / 365)
    if usual < 1 or year > 0.67 * usual:
        return None
    return Reason("reason.year_slowdown", feature, (("now", round(year)), ("usual", usual)))


def _spend_drop(row: Row, feature: str) -> Reason | None:
    w = row.windows.get("trend")
    if w is None:
        return None
    now, trend = row(f"revenue_{w}d"), row(f"revenue_trend_{w}d")
    before = now - trend
    if not _ok(now, trend) or trend >= 0 or before <= 0:
        return None
    if now <= 0:
        return Reason("reason.spend_stopped", feature, (("before", before), ("w", w)))
    drop = -trend / before
    return Reason("reason.spend_drop", feature, (("pct", drop), ("w", w))) if drop >= 0.2 else None


def _email_stopped(row: Row, feature: str) -> Reason | None:
    r, k = row.windows.get("recent"), row.windows.get("contact")
    if r is None or k is None or k <= r:
        return None
    recent, wider, last = row(f"email_opens_{r}d"), row(f"email_opens_{k}d"), row.raw("last_email_open")
    if not _ok(recent, wider) or recent > 0 or last is None or pd.isna(last):
        return None
    rate = wider / ((k - r) / 30.0)  # opens a month before the recent window went quiet
    if rate < 1:
        return None
    return Reason("reason.email_stopped", feature, (("when", str(last)[:10]), ("rate", rate)))


def _no_visit(row: Row, feature: str) -> Reason | None:
    days, r = row("days_since_last_visit"), row.windows.get("recent", 30)
    return Reason("reason.no_visit", feature, (("days", round(days)),)) if _ok(days) and days >= r else None


def _counted(key: str, window: str) -> Callable[[Row, str], Reason | None]:
    def build(row: Row, feature: str) -> Reason | None:
        w = row.windows.get(window)
        n = row(feature)
        return Reason(key, feature, (("n", round(n)), ("w", w))) if w is not None and _ok(n) and n >= 1 else None
    return build


def _discounts(row: Row, feature: str) -> Reason | None:
    if row("buys_only_on_sale") == 1:
        return Reason("reason.sale_only", feature)
    share = row("discount_order_share")
    return Reason("reason.discount_share", feature, (("pct", share),)) if _ok(share) and share >= 0.5 else None


# --- why the customer is likely to be golden, or worth much ---------------------------------------------------
def _spend_up(row: Row, feature: str) -> Reason | None:
    w = row.windows.get("trend")
    if w is None:
        return None
    now, trend = row(f"revenue_{w}d"), row(f"revenue_trend_{w}d")
    if not _ok(now) or now <= 0:
        return None
    before = now - trend if _ok(trend) else math.nan
    if _ok(before) and before > 0 and trend / before >= 0.2:
        return Reason("reason.spend_growth", feature, (("pct", trend / before), ("w", w)))
    return Reason("reason.spend_recent", feature, (("amount", now), ("w", w)))


def _orders_recent(row: Row, feature: str) -> Reason | None:
    w = row.windows.get("trend")
    n = row(f"orders_{w}d") if w is not None else math.nan
    return Reason("reason.orders_recent", feature, (("n", round(n)), ("w", w))) if _ok(n) and n >= 1 else None


def _regular(row: Row, feature: str) -> Reason | None:
    gap, days, orders = row("mean_gap_days"), row("days_since_last_order"), row("orders")
    if not _ok(gap, days) or orders < 2 or days > 1.2 * gap:
        return None
    return Reason("reason.regular", feature, (("gap", round(gap)), ("days", round(days))))


def _big_check(row: Row, feature: str) -> Reason | None:
    amount = row("avg_order_value")
    return Reason("reason.big_check", feature, (("amount", amount),)) if _ok(amount) and amount > 0 else None


Builder = Callable[[Row, str], Reason | None]
# feature name pattern -> (group, builder); the first pattern that matches a feature decides. A feature matched by
# no pattern is never a reason (profile, channel, timing, categories, models' estimates).
RISK: list[tuple[str, str, Builder]] = [
    # BG/NBD's outputs weigh recency against frequency: the reason is those facts, never BG/NBD's own numbers
    (r"days_since_last_order|overdue_ratio|days_until_expected_order|mean_gap_days|bg_buy|bg_orders|bgnbd_.*",
     "recency", _overdue),
    (r"gap_std_days", "irregular", _irregular),
    (r"orders_trend_\d+d|orders_(30|90)d", "activity", _orders_drop),
    (r"orders|orders_(180|365)d|days_since_first_order", "year", _year_slowdown),
    (r"revenue_trend_\d+d|revenue_\d+d|net_revenue", "activity", _spend_drop),
    (r"email_(opens|clicks)_\d+d", "email", _email_stopped),
    (r"days_since_last_visit|views_\d+d|cart_adds_\d+d|wishlist_adds_\d+d|orders_per_view_\d+d", "visits", _no_visit),
    (r"abandoned_carts_\d+d", "carts", _counted("reason.abandoned", "recent")),
    (r"buys_only_on_sale|discount_order_share|discount_revenue_share", "discounts", _discounts),
    (r"callbacks_\d+d", "callbacks", _counted("reason.callbacks", "contact")),
    (r"chats_\d+d", "chats", _counted("reason.chats", "contact")),
]
VALUE: list[tuple[str, str, Builder]] = [
    (r"revenue_trend_\d+d|revenue_\d+d|net_revenue|bg_value", "spend", _spend_up),
    (r"orders_trend_\d+d|orders_\d+d|orders", "orders", _orders_recent),
    (r"days_since_last_order|overdue_ratio|days_until_expected_order|mean_gap_days|gap_std_days|bg_buy|bg_orders|"
     r"bgnbd_.*", "rhythm", _regular),
    (r"avg_order_value|gg_spend", "check", _big_check),
    (r"views_\d+d|cart_adds_\d+d|days_since_last_visit", "views", _counted("reason.views", "recent")),
    (r"email_opens_\d+d|email_clicks_\d+d", "opens", _counted("reason.opens", "recent")),
]
# who the customer is, not what they do: never a reason, whatever the model says (the tests check it)
REFUSED = re.compile(r"age_years|days_to_birthday|days_since_signup|gender|city|acquisition_source|email_opt_in|"
                     r"main_(device|channel|source)|mobile_share|preferred_(weekday|hour)(_share)?")


def builder_of(feature: str, kind: str) -> tuple[str, Builder] | None:
    """Return the (group, builder) that phrases ``feature`` for reasons of ``kind``, None when it is never one."""
    if REFUSED.fullmatch(feature):
        return None
    for pattern, group, build in RISK if kind == "risk" else VALUE:
        if re.fullmatch(pattern, feature):
            return group, build
    return None


def windows_of(columns: list[str] | pd.Index) -> dict[str, int]:
    """Return the trend, recent-events and contact windows the column names carry (``orders_trend_90d`` -> 90)."""
    found = {}
    for key, pattern in (("trend", r"orders_trend_(\d+)d"), ("recent", r"abandoned_carts_(\d+)d|views_(\d+)d"),
                         ("contact", r"callbacks_(\d+)d|chats_(\d+)d")):
        for name in columns:
            m = re.fullmatch(pattern, str(name))
            if m:
                found[key] = int(next(g for g in m.groups() if g))
                break
    return found


def recency_reasons(days_since: np.ndarray, inputs: pd.DataFrame) -> list[list[Reason]]:
    """Return the statistical baselines' one reason: recency against the customer's usual gap where it is known
    ("no order for 51 days, twice their usual 25-day gap"), else the plain recency from 30 days ("no order for 51
    days"); a recent buyer gets none."""
    values = {c: inputs[c].to_numpy() for c in ("orders", "mean_gap_days") if c in inputs.columns}
    values["days_since_last_order"] = np.asarray(days_since, dtype="float64")
    row = Row(values, {})
    out = []
    for i, days in enumerate(values["days_since_last_order"]):
        row.i = i
        reason = _overdue(row, "days_since_last_order")
        if reason is None and _ok(float(days)) and days >= 30:  # "no order for 2 days" is no reason
            reason = Reason("reason.no_order", "days_since_last_order", (("days", round(float(days))),))
        out.append([reason] if reason is not None else [])
    return out


def top_reasons(contributions: np.ndarray, raw: pd.DataFrame, columns: list[str],
                phrases: dict[str, dict[str, str]] | None = None, k: int = 3, direction: str = "risk"
                ) -> list[list[Reason]]:
    """Return, per row, up to ``k`` reasons from the features that raise the row's score most.

    Parameters
    ----------
    contributions
        ``(n, p + 1)`` array from ``Booster.predict(X, pred_contrib=True)``; the last column is the bias.
    raw
        The rows' inputs (every model column, plus ``last_email_open`` when present), in the same order.
    columns
        The features in the order of the contribution columns.
    phrases
        The model's saved feature phrases (kept for models saved before the catalogue; not used).
    k
        Reasons per customer, at most.
    direction
        ``risk`` (churn: what raises the risk) or ``value`` (golden, value: what raises the chance or the value).
    """
    if direction not in KINDS:
        raise ValueError(f"reasons are of kind risk or value, got {direction!r}")
    contrib = np.asarray(contributions, dtype="float64")[:, : len(columns)]
    builders = [builder_of(c, direction) for c in columns]
    usable = np.array([b is not None for b in builders])
    signed = np.where(usable[None, :] & (contrib > 0), contrib, 0.0)
    order = np.argsort(-signed, axis=1, kind="stable")
    row = Row({str(c): raw[c].to_numpy() for c in raw.columns}, windows_of(list(raw.columns)))
    out: list[list[Reason]] = []
    for i in range(len(raw)):
        row.i = i
        found: list[Reason] = []
        groups: set[str] = set()
        for j in order[i]:
            if len(found) == k or signed[i, j] <= 0:
                break
            group, build = builders[j] or ("", _overdue)  # never None here: signed is 0 for unusable features
            if group in groups:
                continue
            reason = build(row, columns[j])
            if reason is not None and all(r.key != reason.key for r in found):
                found.append(reason)
                groups.add(group)
        out.append(found)
    return out
