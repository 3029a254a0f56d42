"""Small typed helpers over DuckDB results (``fetchone`` may return None; these say what was expected)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import pandas as pd


def row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """Return the first row of a query that always yields one (an aggregate)."""
    found = con.execute(sql).fetchall()  # all, not fetchone: DuckDB 2 keeps a half-read result open
    if not found:
        raise RuntimeError(f"expected one row from: {sql}")
    return tuple(found[0])


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """Return the first value of a query that always yields one row."""
    return row(con, sql)[0]


def register_frame(con: duckdb.DuckDBPyConnection, name: str, frame: pd.DataFrame) -> None:
    """Register a DataFrame as a view, copying it first when a numeric column runs backwards in memory.

    DuckDB 2.0 fails with "std::bad_cast" when it scans a numpy column with a negative stride (``df.iloc[::-1]``);
    the copy gives such columns their natural order in memory and leaves every other frame uncopied.
    """
    import numpy as np  # here, not at the top: the CLI imports this module at start-up, and frames bring numpy

    backwards = any(isinstance(column.dtype, np.dtype) and column.to_numpy(copy=False).strides[0] < 0
                    for _, column in frame.items())
    con.register(name, frame.copy() if backwards else frame)


@contextmanager
def settings(con: duckdb.DuckDBPyConnection, threads: int | None = None,
             memory_limit: str | None = None) -> Iterator[None]:
    """Apply a feature build's DuckDB settings and put the previous ones back when it ends."""
    wanted = {"preserve_insertion_order": "false"}  # results are sorted explicitly; lets DuckDB stream
    if threads:
        wanted["threads"] = str(threads)
    if memory_limit:
        wanted["memory_limit"] = f"'{memory_limit}'"
    previous = {k: scalar(con, f"SELECT current_setting('{k}')") for k in wanted}
    for key, value in wanted.items():
        con.execute(f"SET {key} = {value}")
    try:
        yield
    finally:
        for key, value in previous.items():
            con.execute(f"SET {key} = {_setting_literal(value)}")


def _setting_literal(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else "'" + str(value).replace("'", "''") + "'"
