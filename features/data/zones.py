"""One rule for time zones in every format: a zoned timestamp means its wall-clock time in its own zone.

A CSV value ``2024-03-01 10:00+09:00`` has always been read as 10:00 (the offset dropped: the shop's local time
as the shop wrote it). A Parquet column of type ``timestamp[tz=Asia/Tokyo]`` holds the same instant, but DuckDB
reads it as an instant and the old rule took its UTC wall time, 01:00: preferred hours 9 hours apart for the
same orders. So a zoned Parquet column is converted to the wall time of its own zone (named zones through
DuckDB's ICU, fixed offsets such as ``+09:00`` by adding them), and both formats give 10:00. A file that mixes
zones cannot exist in Parquet (one zone per column); in CSV it is refused (``checks.mixed_zone_problem``).
"""

from __future__ import annotations

import re
from pathlib import Path

_FIXED = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def parquet_zone_replace(file: Path) -> str:
    """Return a ``REPLACE (...)`` clause turning each zoned timestamp column into its zone's wall time ('' if none)."""
    import pyarrow.parquet as pq

    replaced = []
    for field in pq.read_schema(file):
        zone = getattr(field.type, "tz", None)
        if zone:
            name = '"' + field.name.replace('"', '""') + '"'
            replaced.append(f"{wall_time(name, zone)} AS {name}")
    return f" REPLACE ({', '.join(replaced)})" if replaced else ""


def wall_time(column: str, zone: str) -> str:
    """SQL for the naive wall time of a TIMESTAMPTZ ``column`` in ``zone`` (an IANA name or a fixed offset)."""
    fixed = _FIXED.match(zone)
    if fixed is None:
        return f"timezone('{zone.replace(chr(39), '')}', {column})"
    sign, hours, minutes = fixed.groups()
    offset = (int(hours) * 60 + int(minutes)) * (-1 if sign == "-" else 1)
    return f"(CAST(timezone('UTC', {column}) AS TIMESTAMP) + INTERVAL ({offset}) MINUTE)"
