"""Per-customer frequency / recency / T / monetary summary as of a cutoff, the input of BG/NBD and Gamma-Gamma,
and the checks and row merging the fitters apply to such summaries.

Time is counted in whole days, as in Fader, Hardie & Lee (2005) and ``lifetimes`` with ``freq="D"``: a purchase
on day ``d`` happens "at" ``d``, several orders on one day are one purchase, and the observation ends on the
last day before the cutoff (the day holding ``cutoff - 1 ns``). For the paper's calibration period
(1997-01-01 .. 1997-09-30, cutoff 1997-10-01) this gives exactly Hardie's ``cdnowSummary``: customer 1 has
``x = 2, t_x = 30.43, T = 38.86`` weeks. Measuring ``T`` to the cutoff itself would add one day to every
customer's exposure while no purchase could ever fall on it (recency < T always), which biases the fit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from features import columns as C

if TYPE_CHECKING:  # pandas is imported where a frame is made: the SQL feature build fits BG/NBD without it
    import pandas as pd

SUMMARY_COLUMNS = ("frequency", "recency", "T", "monetary")
Array = NDArray[np.float64]


def observation_end_day(cutoff: pd.Timestamp | datetime | date | str) -> np.datetime64:
    """Return the last whole day observed before ``cutoff`` (midnight cutoffs end on the previous day).

    Raises
    ------
    ValueError
        When the cutoff is missing or carries a time zone.
    """
    import pandas as pd

    stamp = pd.Timestamp(cutoff)
    if stamp is pd.NaT or pd.isna(stamp):
        raise ValueError("cutoff is missing (NaT); give the first moment NOT included, e.g. '1997-10-01'")
    if stamp.tzinfo is not None:
        raise ValueError(f"cutoff {stamp} has a time zone; give it in the shop's local time, without one")
    return (stamp - pd.Timedelta(1, "ns")).to_datetime64().astype("datetime64[D]")


def rfm_summary(orders: pd.DataFrame, cutoff: pd.Timestamp | datetime | str, unit_days: float = 7.0) -> pd.DataFrame:
    """Return the BG/NBD / Gamma-Gamma summary of each customer who bought before ``cutoff``.

    Parameters
    ----------
    orders
        One row per order with ``customer_id``, ``timestamp`` and ``revenue`` (net order revenue). Rows at or
        after ``cutoff`` are ignored (the point-in-time rule).
    cutoff
        First moment not observed; a date means midnight at its start.
    unit_days
        Length of the model's time unit in days (7: weeks, as in the paper).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id`` (sorted); columns ``frequency`` (distinct purchase days minus one), ``recency``
        (first to last purchase day), ``T`` (first purchase day to the last observed day), both in units, and
        ``monetary`` (mean revenue per repeat purchase day; 0 when ``frequency == 0``, as in ``lifetimes``).
        Empty (same columns) when nobody bought before the cutoff.

    Raises
    ------
    ValueError
        When a column is missing, ``unit_days`` is not positive, or a timestamp or revenue is missing.
    """
    import pandas as pd

    missing = [c for c in (C.CUSTOMER_ID, C.TIMESTAMP, C.REVENUE) if c not in orders.columns]
    if missing:
        raise ValueError(f"orders lack column(s) {missing}; expected one row per order with customer_id, "
                         f"timestamp, revenue (got {list(orders.columns)})")
    if not unit_days > 0:
        raise ValueError(f"unit_days must be > 0 (7 = weeks), got {unit_days}")
    end_day = observation_end_day(cutoff)
    stamps = pd.to_datetime(orders[C.TIMESTAMP])
    if stamps.isna().any() or orders[C.REVENUE].isna().any():
        bad = orders.index[stamps.isna() | orders[C.REVENUE].isna()][:5].tolist()
        raise ValueError(f"orders have a missing timestamp or revenue (rows {bad}); drop or fix them first")
    day = stamps.to_numpy().astype("datetime64[D]")
    keep = day <= end_day
    days = pd.DataFrame({
        C.CUSTOMER_ID: orders[C.CUSTOMER_ID].to_numpy()[keep],
        "day": day[keep],
        C.REVENUE: orders[C.REVENUE].to_numpy(dtype="float64")[keep],
    })
    days = days.groupby([C.CUSTOMER_ID, "day"], sort=True).sum()  # several orders on one day: one purchase
    return _summary_from_days(days, end_day, unit_days)


def _summary_from_days(days: pd.DataFrame, end_day: np.datetime64, unit_days: float) -> pd.DataFrame:
    """Summarise a frame indexed by (customer_id, day), sorted, with one ``revenue`` per purchase day."""
    import pandas as pd

    if days.empty:
        empty = pd.Index(days.index.get_level_values(0), name=C.CUSTOMER_ID)
        return pd.DataFrame({c: np.array([], dtype="float64") for c in SUMMARY_COLUMNS}, index=empty)
    customers = days.index.get_level_values(0)
    day = days.index.get_level_values(1).to_numpy().astype("datetime64[D]")
    revenue = days[C.REVENUE].to_numpy()
    starts = np.flatnonzero(np.r_[True, customers[1:] != customers[:-1]])
    counts = np.diff(np.r_[starts, len(days)])
    first, last = day[starts], day[starts + counts - 1]
    frequency = (counts - 1).astype("float64")
    repeat_revenue = np.add.reduceat(revenue, starts) - revenue[starts]
    monetary = np.divide(repeat_revenue, frequency, out=np.zeros_like(repeat_revenue), where=frequency > 0)
    unit = np.float64(unit_days)
    return pd.DataFrame(
        {
            "frequency": frequency,
            "recency": (last - first).astype("float64") / unit,
            "T": (end_day - first).astype("float64") / unit,
            "monetary": monetary,
        },
        index=pd.Index(customers[starts], name=C.CUSTOMER_ID),
    )


def checked_array(name: str, values: ArrayLike) -> Array:
    """Return ``values`` as a 1-d float array, refusing missing, infinite or negative entries."""
    arr = np.atleast_1d(np.asarray(values, dtype="float64"))
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} has {int((~np.isfinite(arr)).sum())} missing or infinite value(s)")
    if (arr < 0).any():
        raise ValueError(f"{name} has {int((arr < 0).sum())} negative value(s), e.g. {arr[arr < 0][:3].tolist()}")
    return arr


def checked_rfm(frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> tuple[Array, Array, Array]:
    """Return frequency, recency and T as float arrays of one length, with ``recency <= T``, or raise ValueError."""
    x, t_x, big_t = checked_array("frequency", frequency), checked_array("recency", recency), checked_array("T", T)
    if not len(x) == len(t_x) == len(big_t):
        raise ValueError(f"frequency, recency and T differ in length: {len(x)}, {len(t_x)}, {len(big_t)}")
    if (t_x > big_t + 1e-9).any():
        raise ValueError(f"recency exceeds T for {int((t_x > big_t + 1e-9).sum())} customer(s); "
                         "recency is first-to-last purchase, T first purchase to the end of observation")
    return x, t_x, big_t


def aggregated_rows(x: Array, t_x: Array, big_t: Array, w: Array) -> tuple[Array, Array, Array, Array]:
    """Return distinct (x, t_x, T) rows with summed weights: same likelihood, far fewer rows on day-level data."""
    order = np.lexsort((big_t, t_x, x))
    xs, ts, bs = x[order], t_x[order], big_t[order]
    starts = np.flatnonzero(np.r_[True, (xs[1:] != xs[:-1]) | (ts[1:] != ts[:-1]) | (bs[1:] != bs[:-1])])
    return xs[starts], ts[starts], bs[starts], np.add.reduceat(np.asarray(w, dtype="float64")[order], starts)
