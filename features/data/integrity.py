"""Checks across rows and tables: an order belongs to one customer, keys are unique, references resolve.

Broken references from optional tables are warnings (a customer may browse before buying, an item may have
left the catalogue); an order shared by two customers or a duplicated key is an error.
"""

from __future__ import annotations

import duckdb

from features import columns as C
from features.data.checks import quote
from features.data.contract import MAX_SHOWN_ROWS, SPECS, Problem


def integrity_problems(con: duckdb.DuckDBPyConnection, files: dict[str, str],
                       sources: dict[str, tuple[str, str]]) -> list[Problem]:
    """Return errors: an order_id with two customers; a duplicated customer_id / item_id in its own table."""
    problems = []
    shared = con.execute(
        # min <> max finds the same orders as count(DISTINCT) > 1 without a hash set per order
        "SELECT order_id, min(__row) AS first_row FROM norm_transactions GROUP BY order_id "
        "HAVING min(customer_id) <> max(customer_id) ORDER BY first_row"
    ).fetchall()
    if shared:
        orders = tuple(o for o, _ in shared[:MAX_SHOWN_ROWS])
        rows = con.execute(
            "SELECT min(__row), order_id || ' -> customers ' || "
            "string_agg(DISTINCT customer_id, ', ' ORDER BY customer_id) "
            f"FROM norm_transactions WHERE order_id IN ({', '.join('?' for _ in orders)}) GROUP BY order_id "
            "ORDER BY min(__row)", list(orders)).fetchall()
        problems.append(Problem(files["transactions"], C.ORDER_ID, "order_id belongs to more than one customer",
                                "all lines of one order_id to carry the same customer_id",
                                tuple((int(r), v) for r, v in rows), len(shared), sources["transactions"][1]))
    for name in ("customers", "items"):
        if name not in files:
            continue
        key = SPECS[name].key
        assert key is not None, f"{name} has a key column"
        dupes = con.execute(
            f"SELECT min(__row), {quote(key)}, count(*) FROM norm_{name} GROUP BY {quote(key)} HAVING count(*) > 1 "
            "ORDER BY min(__row)").fetchall()
        if dupes:
            problems.append(Problem(files[name], key, f"duplicated {key}", f"one row per {key}",
                                    tuple((int(r), f"{k} ({n} rows)") for r, k, n in dupes[:MAX_SHOWN_ROWS]),
                                    len(dupes), sources[name][1]))
    return problems


def reference_warnings(con: duckdb.DuckDBPyConnection, files: dict[str, str],
                       present: dict[str, dict[str, str]]) -> list[Problem]:
    """Return warnings for optional-table rows whose customer_id or item_id is unknown."""
    known_customers = "SELECT DISTINCT customer_id AS id FROM transactions"
    if "customers" in files:
        known_customers += " UNION SELECT customer_id FROM customers"
    references = []
    if "events" in files:
        expected = "a customer_id found in transactions or customers"
        references.append(("events", C.CUSTOMER_ID, known_customers, expected))
    known_items = "SELECT DISTINCT item_id AS id FROM items"  # distinct: each join stays one row per row
    if "items" in files:
        for name in ("transactions", "events"):
            if name in files and C.ITEM_ID in present[name]:
                references.append((name, C.ITEM_ID, known_items, "an item_id listed in items"))
    warnings = []
    for name in dict.fromkeys(r[0] for r in references):
        mine = [r for r in references if r[0] == name]
        counts = _unknown_counts(con, name, [(column, known) for _, column, known, _ in mine])
        for (_, column, known, expected), count in zip(mine, counts, strict=True):
            if not count:
                continue
            # An anti join over the distinct known ids: NOT IN over a nullable subquery would be a slow mark join.
            unknown = (f"FROM norm_{name} AS t ANTI JOIN ({known}) AS k ON t.{quote(column)} = k.id "
                       f"WHERE t.{quote(column)} IS NOT NULL")
            rows = con.execute(f"SELECT t.__row, t.{quote(column)} {unknown} "
                               f"ORDER BY t.__row LIMIT {MAX_SHOWN_ROWS}").fetchall()
            row_label = "line" if files[name].endswith((".csv", ".csv.gz")) else "row"
            warnings.append(Problem(files[name], column, f"unknown {column} (kept, but not linked)", expected,
                                    tuple((int(r), str(v)) for r, v in rows), count, row_label))
    return warnings


def _unknown_counts(con: duckdb.DuckDBPyConnection, name: str, references: list[tuple[str, str]]) -> list[int]:
    """Count the rows of ``norm_<name>`` whose column value is not among the known ids, for each (column, known
    ids query) pair: an anti join per reference, which DuckDB counts without building the joined rows (faster
    than one pass of left joins: 2.6 s instead of 3.3 s over 41.6M events)."""
    return [int(con.execute(f"SELECT count(*) FROM norm_{name} AS t ANTI JOIN ({known}) AS k "
                            f"ON t.{quote(column)} = k.id WHERE t.{quote(column)} IS NOT NULL").fetchall()[0][0])
            for column, known in references]
