"""Cadence family: how regularly a customer orders and whether the next order is overdue.

Gaps are the days between consecutive purchase orders before the cutoff. A customer with one order has no
gap: their cadence features are missing (NaN), not zero, because nothing about their rhythm was observed.
The BG/NBD part (expected orders, P(alive)) needs a fit in scipy, so ``bgnbd_features`` executes.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
import pandas as pd

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import BGNBD_DOC, CADENCE_DOC  # noqa: F401 (re-exported)
from features.families.rfm import SECONDS_PER_DAY, days_since
from features.orders import AsOf, as_timestamp, purchases_of


def order_gaps(transactions: ir.Table, as_of: AsOf, orders: ir.Table | None = None) -> ir.Table:
    """Return purchase orders before the cutoff with ``gap_days`` since the customer's previous one (NULL first).

    ``orders``, when given, is ``orders_before(transactions, as_of)`` computed once by the caller.
    """
    orders = purchases_of(transactions, as_of, orders)
    ts = orders[C.TIMESTAMP]
    previous = ts.lag().over(ibis.window(group_by=C.CUSTOMER_ID, order_by=[ts, orders[C.ORDER_ID]]))
    gap = (ts.epoch_seconds() - previous.epoch_seconds()).cast("float64") / SECONDS_PER_DAY
    return orders.select(C.CUSTOMER_ID, C.ORDER_ID, C.TIMESTAMP, gap_days=gap)


def cadence_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                     orders: ir.Table | None = None) -> ir.Table:
    """Return the cadence family as an unexecuted Ibis table keyed by customer_id.

    Columns: mean_gap_days, gap_std_days (sample standard deviation, needs two gaps), overdue_ratio
    (days since the last order over the mean gap; above 1 means later than usual), days_until_expected_order
    (mean gap minus days since the last order; negative = overdue) and expected_next_order_date (ISO date).

    Parameters
    ----------
    transactions
        The shop's normalised transactions table.
    as_of
        The cutoff; only rows with ``timestamp < as_of`` are read.
    cfg
        Unused today; taken for the common family signature.
    orders
        ``orders_before(transactions, as_of)`` when the caller has it already.
    """
    gaps = order_gaps(transactions, as_of, orders)
    per_customer = gaps.group_by(C.CUSTOMER_ID).aggregate(
        last_order=gaps[C.TIMESTAMP].max(),
        mean_gap_days=gaps.gap_days.mean(),
        gap_std_days=gaps.gap_days.std(how="sample"),
    )
    mean_gap = per_customer.mean_gap_days
    since_last = days_since(per_customer.last_order, as_of)
    expected = per_customer.last_order + (mean_gap * SECONDS_PER_DAY).round().cast("int64").as_interval("s")
    return per_customer.select(
        C.CUSTOMER_ID,
        mean_gap_days=mean_gap,
        gap_std_days=per_customer.gap_std_days,
        overdue_ratio=ibis.ifelse(mean_gap > 0, since_last / mean_gap, ibis.null("float64")),
        days_until_expected_order=mean_gap - since_last,
        expected_next_order_date=expected.strftime("%Y-%m-%d"),
    )


def bgnbd_summary(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                  orders: ir.Table | None = None) -> ir.Table:
    """Return frequency, recency and T per customer, in ``cfg.bgnbd_unit_days`` units, as an Ibis table.

    The same numbers as ``features.btyd.fitters.rfm_summary`` (a test checks it on CDNOW), computed in DuckDB: shipping
    every order to pandas to summarise it there took 3.5 s of the 1M-customer benchmark, this takes well under
    one. Days are calendar days: several orders on one day are one purchase; observation ends on the day that
    holds the last moment before the cutoff.
    """
    cfg = cfg or FeaturesConfig()
    purchases = purchases_of(transactions, as_of, orders)
    purchases = purchases.mutate(day=purchases[C.TIMESTAMP].date())
    per_customer = purchases.group_by(C.CUSTOMER_ID).aggregate(
        days=purchases.day.nunique(), first=purchases.day.min(), last=purchases.day.max())
    end_day = (as_timestamp(as_of) - ibis.interval(microseconds=1)).date()
    unit = float(cfg.bgnbd_unit_days)
    return per_customer.select(
        C.CUSTOMER_ID,
        frequency=(per_customer.days - 1).cast("float64"),
        recency=per_customer["last"].delta(per_customer["first"], unit="day").cast("float64") / unit,
        T=end_day.delta(per_customer["first"], unit="day").cast("float64") / unit,
    ).order_by(C.CUSTOMER_ID)


def bgnbd_features(transactions: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None, *,
                   orders: ir.Table | None = None) -> pd.DataFrame:
    """Return BG/NBD expected orders in the next ``cfg.bgnbd_horizon_days`` and P(alive), per customer.

    The model is fitted on the purchase orders before the cutoff only (one fit per cutoff) and then scores the
    same customers. Unlike the other families this executes: the fit runs in scipy. We use our own
    ``features.btyd.fitters`` rather than a library: ``lifetimes`` is unmaintained since 2020 and sets process-wide
    pandas options on import; ``pymc-marketing`` is ~760 MB installed and compiles for ~20 s on first fit;
    the model itself is a few dozen lines of maximum likelihood checked against the paper's CDNOW numbers.

    Raises
    ------
    ImportError, RuntimeError, ValueError, ArithmeticError
        When the fitter is unavailable or the fit fails (e.g. too few repeat customers); the caller leaves
        the family out and says why.
    """
    from features.btyd.fitters import BetaGeoFitter

    cfg = cfg or FeaturesConfig()
    summary = bgnbd_summary(transactions, as_of, cfg, orders=orders).execute()
    frequency, recency, T = (summary[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    fitter = BetaGeoFitter(penalizer_coef=cfg.bgnbd_penalizer).fit(frequency, recency, T)
    horizon = cfg.bgnbd_horizon_days / cfg.bgnbd_unit_days
    return pd.DataFrame({
        C.CUSTOMER_ID: summary[C.CUSTOMER_ID].astype("str"),
        f"bgnbd_expected_orders_{cfg.bgnbd_horizon_days}d": fitter.expected_orders(horizon, frequency, recency, T),
        "bgnbd_p_alive": fitter.probability_alive(frequency, recency, T),
    })
