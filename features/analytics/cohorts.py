"""Cohort retention: customers grouped by the month of their first purchase, and the share buying again each month.

``cohort_retention`` returns one row per cohort: ``cohort`` ("YYYY-MM"), ``customers`` (cohort size) and
``m0``, ``m1``, ... the share of the cohort with a purchase order in the k-th calendar month after the first
(``m0`` is 1 by construction). Months not yet observed at the cutoff are empty (NaN), not zero; the month
holding the cutoff counts as observed even if partial. Only rows with ``timestamp < cutoff`` are read.
"""

from __future__ import annotations

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from features import columns as C
from features.orders import AsOf, purchases_before


def month_index(timestamp: ir.TimestampValue) -> ir.IntegerValue:
    """Return a running month number (year x 12 + month), so differences count calendar months."""
    return timestamp.year() * 12 + timestamp.month()


def cohort_activity(transactions: ir.Table, as_of: AsOf) -> ir.Table:
    """Return distinct buying customers per (cohort month index, months since the first purchase), unexecuted."""
    purchases = purchases_before(transactions, as_of)
    month = month_index(purchases[C.TIMESTAMP])
    first = month.min().over(group_by=C.CUSTOMER_ID)
    active = purchases.select(C.CUSTOMER_ID, cohort_month=first, months_since=month - first)
    return active.group_by("cohort_month", "months_since").aggregate(customers=active[C.CUSTOMER_ID].nunique())


def cohort_retention(transactions: ir.Table, as_of: AsOf) -> pd.DataFrame:
    """Return the wide cohort retention table (see the module docstring); empty when nobody bought yet."""
    counts = cohort_activity(transactions, as_of).execute()
    if counts.empty:
        return pd.DataFrame(columns=["cohort", "customers", "m0"])
    last = pd.Timestamp(as_of) - pd.Timedelta(microseconds=1)  # the month holding the last instant before cutoff
    last_month = last.year * 12 + last.month
    wide = counts.pivot(index="cohort_month", columns="months_since", values="customers").sort_index()
    horizon = range(last_month - int(wide.index.min()) + 1)
    wide = wide.reindex(columns=list(horizon)).fillna(0.0)
    size = wide[0]
    observed = (wide.index.to_numpy()[:, None] + np.arange(len(horizon))[None, :]) <= last_month
    shares = wide.div(size, axis=0).where(observed)
    shares.columns = [f"m{k}" for k in horizon]
    months = wide.index.to_numpy() - 1  # back to 0-based months for the label
    labels = [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in months]
    table = pd.DataFrame({"cohort": labels, "customers": size.astype("int64").to_numpy()})
    return pd.concat([table, shares.reset_index(drop=True)], axis=1)
