"""Did it work? Treated against control after the cutoff: conversion, orders, revenue, with 95% intervals.

For each campaign of a manifest, every customer's purchase orders and net revenue in ``[cutoff, cutoff + days)``
are counted (customers without an order count as zero). The effect is the difference of the means, treated minus
control, with a 95% interval from the normal approximation (Welch: the standard error is
sqrt(var_t / n_t + var_c / n_c)); the incremental revenue is the revenue difference per customer times the treated
customers. Because the split is random, the difference estimates what contacting the audience caused.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features import columns as C
from features.words.catalogue import say
from features.words.formats import Lang, language, number

Z95 = 1.959963984540054
MIN_GROUP = 30  # below this, the normal approximation of the interval is rough
METRICS = {"converted": "conversion", "orders": "orders per customer", "revenue": "revenue per customer"}
RESULT_COLUMNS = ("campaign", "cutoff", "days", "treated", "control", "conversion_treated", "conversion_control",
                  "conversion_diff", "conversion_low", "conversion_high", "orders_treated", "orders_control",
                  "orders_diff", "orders_low", "orders_high", "revenue_treated", "revenue_control", "revenue_diff",
                  "revenue_low", "revenue_high", "incremental_revenue", "incremental_low", "incremental_high",
                  "sentence")


def outcomes(manifest: pd.DataFrame, orders: pd.DataFrame, days: int) -> pd.DataFrame:
    """Return the manifest rows with each customer's converted (0/1), orders and revenue in the window.

    ``orders``: one row per order (customer_id, timestamp, revenue, is_purchase), any dates; each manifest row
    counts those in ``[its cutoff, cutoff + days)``.
    """
    rows = manifest[["campaign", "cutoff", C.CUSTOMER_ID, "control"]].copy()
    frames = []
    for cutoff, group in rows.groupby("cutoff"):
        end = pd.Timestamp(cutoff) + timedelta(days=days)
        inside = orders[(orders[C.TIMESTAMP] >= cutoff) & (orders[C.TIMESTAMP] < end)]
        per = inside.groupby(C.CUSTOMER_ID).agg(orders=("is_purchase", "sum"), revenue=(C.REVENUE, "sum"))
        got = per.reindex(group[C.CUSTOMER_ID]).fillna(0.0)
        frames.append(group.assign(orders=got["orders"].to_numpy(dtype="float64"),
                                   revenue=got["revenue"].to_numpy(dtype="float64")))
    out = pd.concat(frames) if frames else rows.assign(orders=[], revenue=[])
    out["converted"] = (out["orders"] > 0).astype("float64")
    return out


def difference(treated: np.ndarray, control: np.ndarray) -> tuple[float, float, float]:
    """Return (mean difference, low, high): treated minus control with its 95% normal-approximation interval."""
    diff = float(treated.mean() - control.mean())
    var_t = treated.var(ddof=1) if len(treated) > 1 else 0.0
    var_c = control.var(ddof=1) if len(control) > 1 else 0.0
    se = math.sqrt(var_t / len(treated) + var_c / len(control))
    return diff, diff - Z95 * se, diff + Z95 * se


def campaign_results(manifest: pd.DataFrame, orders: pd.DataFrame, days: int, lang: str = "en") -> pd.DataFrame:
    """Return one row per campaign of the manifest (``RESULT_COLUMNS``), the sentence included.

    A campaign without a treated or a control customer gets no estimate (NaN) and a sentence saying why.
    """
    data = outcomes(manifest, orders, days)
    records = []
    for campaign, group in data.groupby("campaign", sort=False):
        treated, control = group[~group["control"]], group[group["control"]]
        record: dict[str, object] = {"campaign": campaign, "cutoff": pd.Timestamp(group["cutoff"].iloc[0]).date(),
                                     "days": days, "treated": len(treated), "control": len(control)}
        for column in ("converted", "orders", "revenue"):
            name = "conversion" if column == "converted" else column
            record[f"{name}_treated"] = treated[column].mean() if len(treated) else math.nan
            record[f"{name}_control"] = control[column].mean() if len(control) else math.nan
            estimate = (difference(treated[column].to_numpy(), control[column].to_numpy())
                        if len(treated) and len(control) else (math.nan,) * 3)
            record[f"{name}_diff"], record[f"{name}_low"], record[f"{name}_high"] = estimate
        n = len(treated)
        record["incremental_revenue"] = record["revenue_diff"] * n  # type: ignore[operator]
        record["incremental_low"] = record["revenue_low"] * n  # type: ignore[operator]
        record["incremental_high"] = record["revenue_high"] * n  # type: ignore[operator]
        record["sentence"] = sentence(record, lang)
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(RESULT_COLUMNS))


def sentence(r: dict[str, object], lang: str = "en") -> str:
    """Return the plain result, e.g. "the reactivation campaign brought 3.1 extra orders per 100 customers, 95%
    interval 1.2–5.0; ...", in ``lang`` (the phrase catalogue's ``results.*``)."""
    lang_ = language(lang)
    name = str(r["campaign"]).replace("_", " ")
    treated, control = int(r["treated"]), int(r["control"])  # type: ignore[call-overload]
    if not treated or not control:
        return say("results.unmeasurable", lang_, campaign=name, treated=treated, control=control)
    per100 = [100 * float(r[k]) for k in ("orders_diff", "orders_low", "orders_high")]  # type: ignore[arg-type]
    conv = [100 * float(r[k]) for k in ("conversion_diff", "conversion_low", "conversion_high")]  # type: ignore[arg-type]
    inc = [float(r[k]) for k in ("incremental_revenue", "incremental_low", "incremental_high")]  # type: ignore[arg-type]
    signed = number(conv[0], lang_, 1)
    text = say("results.brought" if per100[0] >= 0 else "results.lost", lang_, campaign=name,
               orders=number(abs(per100[0]), lang_, 1), orders_span=span(per100[1], per100[2], 1, lang_),
               conversion=signed if conv[0] < 0 else "+" + signed, conversion_span=span(conv[1], conv[2], 1, lang_),
               revenue=number(inc[0], lang_), revenue_span=span(inc[1], inc[2], 0, lang_), days=r["days"],
               treated=treated, control=control)
    if per100[1] <= 0 <= per100[2]:
        text += say("results.chance", lang_)
    if min(treated, control) < MIN_GROUP:
        text += say("results.rough", lang_, n=MIN_GROUP)
    return text


def span(low: float, high: float, decimals: int, lang: Lang = Lang.en) -> str:
    """Return "1.2–5.0", or "-3.0 to 5.0" when a bound is negative (a dash next to a minus sign misreads)."""
    sep = "–" if low >= 0 else (" to " if lang == Lang.en else " до ")
    return f"{number(low, lang, decimals)}{sep}{number(high, lang, decimals)}"


class TooEarlyError(ValueError):
    """Not enough data after a campaign's cutoff to estimate anything: the message says how much there is."""


def days_of_data(cutoff: datetime | pd.Timestamp, last_order: datetime | pd.Timestamp | None) -> int:
    """Return the whole days from ``cutoff`` through the day of ``last_order`` (0 when nothing is after the cutoff).

    Examples
    --------
    >>> days_of_data(pd.Timestamp("2026-11-01"), pd.Timestamp("2026-11-05 13:00")), days_of_data("2026-11-01", None)
    (5, 0)
    """
    if last_order is None or pd.isna(last_order) or pd.Timestamp(last_order) < pd.Timestamp(cutoff):
        return 0
    return int((pd.Timestamp(last_order).normalize() - pd.Timestamp(cutoff).normalize()).days) + 1


def check_measurable(manifest: pd.DataFrame, last_order: datetime | pd.Timestamp | None, min_days: int,
                     lang: str = "en") -> None:
    """Raise TooEarlyError unless every cutoff of the manifest has at least ``min_days`` days of data after it.

    With no order after the cutoff, or fewer days than ``min_days``, any difference is noise that looks like a
    result ("0.0 extra orders, interval 0.0-0.0"): refused with how many days there are, never estimated.
    """
    problems = []
    for cutoff, group in manifest.groupby("cutoff", sort=True):
        have = days_of_data(cutoff, last_order)
        if have >= min_days:
            continue
        names = ", ".join(str(c).replace("_", " ") for c in dict.fromkeys(group["campaign"]))
        values = {"campaign": names, "cutoff": pd.Timestamp(cutoff), "last": pd.Timestamp(last_order)
                  if last_order is not None and not pd.isna(last_order) else pd.Timestamp(cutoff)}
        problems.append(say("results.no_data", lang, **values) if have == 0 else
                        say("results.too_early", lang, days=have, need=min_days, **values))
    if problems:
        raise TooEarlyError(" ".join(problems))


def window_end(manifest: pd.DataFrame, days: int) -> datetime:
    """Return the end of the latest campaign's window (the data must reach it for a complete answer)."""
    return (pd.Timestamp(manifest["cutoff"].max()) + timedelta(days=days)).to_pydatetime()
