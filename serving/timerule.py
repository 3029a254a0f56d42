"""The data contract's time rule for live events: not later than now plus a day, not long before the shop began.

A live event stamped 2999-01-01 would, once merged, make every later ``validate``, ``train`` and ``score`` refuse
the shop ("timestamp later than the time of this run"); one stamped 1970 is a client's clock gone wrong. So
``POST /events`` refuses both (422) and ``retention merge-events`` sets such rows aside. The earliest accepted
time is the shop's first order minus ``EARLIEST_MARGIN`` (a visitor may browse before the first order, not for
years); until the shop's first order is known (the models still loading), only the upper bound applies.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from features.data.checks import latest_allowed

logger = logging.getLogger(__name__)

EARLIEST_MARGIN = timedelta(days=365)


def event_time_problem(moment: datetime, now: datetime | None = None, first_order: datetime | None = None
                       ) -> str | None:
    """Return why a (naive, shop-local) event time breaks the contract's time rule, or None when it is fine."""
    latest = latest_allowed(now)
    if moment > latest:
        return (f"timestamp {moment:%Y-%m-%d %H:%M} is later than now plus a day ({latest:%Y-%m-%d %H:%M}); send "
                "the time the event happened (or none: the time it is received)")
    if first_order is not None and moment < first_order - EARLIEST_MARGIN:
        earliest = first_order - EARLIEST_MARGIN
        return (f"timestamp {moment:%Y-%m-%d %H:%M} is before {earliest:%Y-%m-%d} (the shop's first order "
                f"{first_order:%Y-%m-%d} minus {EARLIEST_MARGIN.days} days); check the sender's clock")
    return None


def shop_first_order(data: Path) -> datetime | None:
    """Return the time of the shop's first order, or None when the shop cannot be read (then no lower bound)."""
    try:
        from features.data.reader import read_shop

        shop = read_shop(data)
        first = shop.sql.execute("SELECT min(timestamp) FROM transactions").fetchone()
    except Exception as exc:  # a broken or absent shop: the upper bound still protects it
        logger.warning("no lower time bound for the journal's events: %s cannot be read (%s)", data, exc)
        return None
    return first[0] if first and first[0] is not None else None


class FirstOrder:
    """The served bundle's first order time, computed once per bundle (one slot: the bundle swaps whole)."""

    def __init__(self) -> None:
        self._bundle: Any = None
        self._first: datetime | None = None

    def of(self, bundle: Any) -> datetime | None:
        if bundle is None:
            return None
        if bundle is not self._bundle:
            customers = getattr(getattr(bundle, "segmentation", None), "customers", None)
            first = customers["first_purchase"].min() if customers is not None and len(customers) else None
            self._first = None if first is None or first != first else pd.Timestamp(first).to_pydatetime()
            self._bundle = bundle
        return self._first


FIRST_ORDER = FirstOrder()


def batch_time_problem(moments: list[datetime], bundle: Any) -> str | None:
    """Return the first event of a batch that breaks the time rule, as a sentence naming it, or None."""
    first = FIRST_ORDER.of(bundle)
    for index, moment in enumerate(moments):
        problem = event_time_problem(moment, first_order=first)
        if problem is not None:
            where = f"events[{index}]: " if len(moments) > 1 else ""
            return f"{where}{problem}; nothing of this request was kept"
    return None
