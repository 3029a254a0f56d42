"""The cutoff of a point-in-time computation: a naive datetime in the shop's local time.

Kept apart from ``features.orders`` (which builds Ibis expressions) so that the DuckDB paths parse a cutoff
without importing Ibis.
"""

from __future__ import annotations

import re
from datetime import date, datetime

AsOf = date | datetime | str
_ZONE = re.compile(r"[+\-zZ]|UTC", re.IGNORECASE)


def cutoff_datetime(as_of: AsOf) -> datetime:
    """Return the cutoff as a naive datetime (a date or date string means midnight at the start of that day).

    Raises
    ------
    ValueError
        When the string is not an ISO date or datetime, or the cutoff carries a time zone.
    """
    if isinstance(as_of, str):
        text = as_of.strip()
        # Python reads "2025-06-01+05:00" as 05:00 local time: any zone after the date part is refused here
        if _ZONE.search(text[10:]):
            raise ValueError(f"cutoff {text!r} has a time zone; give it in the shop's local time, without one "
                             "(e.g. 2025-06-01 or 2025-06-01T12:00)")
        try:
            as_of = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"cutoff {as_of!r} is not an ISO date or datetime such as 2024-01-01 or "
                             "2024-01-01T06:00") from None
        if as_of.tzinfo is None:
            from features.data.checks import latest_allowed  # here: the DuckDB paths parse cutoffs on a light import

            if as_of > latest_allowed():  # a typed cutoff (--cutoff) in the future
                raise ValueError(f"cutoff {text!r} is later than now plus a day ({latest_allowed():%Y-%m-%d %H:%M}): "
                                 "no order exists after it, and every customer would look long gone; give a past date "
                                 "(the default is the day after the last order)")
    elif not isinstance(as_of, datetime):
        as_of = datetime(as_of.year, as_of.month, as_of.day)
    if as_of.tzinfo is not None:
        raise ValueError(f"cutoff {as_of.isoformat()} has a time zone; give it in the shop's local time, without one")
    return as_of
