"""Small typed helpers over DuckDB results (``fetchone`` may return None; these say what was expected)."""

from __future__ import annotations

from typing import Any

import duckdb


def row(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[Any, ...]:
    """Return the first row of a query that always yields one (an aggregate)."""
    found = con.execute(sql).fetchone()
    if found is None:
        raise RuntimeError(f"expected one row from: {sql}")
    return found


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    """Return the first value of a query that always yields one row."""
    return row(con, sql)[0]
