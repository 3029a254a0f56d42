"""Checks beyond the column types: the one id rule (an error) and values that are possible but implausible
(warnings from ``retention validate``): absurd line amounts, birth dates no living customer has.

Amounts are judged per line with a robust z-score on the log scale, ``|log10(r) - median| / (1.4826 x MAD)``:
order values spread over orders of magnitude, so the log scale keeps a 2,000 order in a shop of 50 orders
plausible, while 1e12 stands out whatever the spread. The threshold is ``validate --max-amount-z`` (default 8).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

import duckdb

from features import columns as C
from features.data.checks import Check, quote, text_of
from features.data.contract import MAX_SHOWN_ROWS, SPECS, Kind, Problem, ShopDataError, TableSpec
from features.ids import ID_RULE, MAX_ID_LENGTH

MAX_AMOUNT_Z = 8.0
OLDEST_AGE_YEARS = 120
_CONTROL_RE = r"[\x00-\x1f\x7f-\x9f]"


def id_rule_checks(spec: TableSpec, present: dict[str, str]) -> list[Check]:
    """Return a check for every id column: a value the service would refuse (too long, control characters) is an
    error. They run in the table's one scan of value checks (``features.data.checks.scanned_checks``)."""
    checks = []
    for column, duck_type in present.items():
        if spec.kinds.get(column) is not Kind.ID:
            continue
        checks.append(Check(column, _id_rule_broken(column, duck_type),
                            "id breaking the id rule (too long or with a control character)",
                            f"ids of {ID_RULE}, as the service accepts them", f"left({text_of(column)}, 60)"))
    return checks


def _id_rule_broken(column: str, duck_type: str) -> str:
    col, text = quote(column), text_of(column)
    if duck_type != "VARCHAR":
        return f"{col} IS NOT NULL AND (length({text}) > {MAX_ID_LENGTH} OR regexp_matches({text}, '{_CONTROL_RE}'))"
    # The cheap tests first, the costly ones (trim, the regular expression) only on the rows they leave: the byte
    # length bounds the trimmed character length, and url_encode keeps a value unchanged only when it is made of
    # letters, digits and "-_.~" alone (it encodes every control character), so most ids never meet the regex.
    too_long = f"CASE WHEN strlen({col}) > {MAX_ID_LENGTH} THEN length({text}) > {MAX_ID_LENGTH} ELSE FALSE END"
    control = f"CASE WHEN url_encode({col}) <> {col} THEN regexp_matches({col}, '{_CONTROL_RE}') ELSE FALSE END"
    return f"{col} IS NOT NULL AND ({too_long} OR {control})"


def plausibility_warnings(con: duckdb.DuckDBPyConnection, tables: set[str], max_amount_z: float = MAX_AMOUNT_Z,
                          now: datetime | None = None) -> list[str]:
    """Return warnings, each a sentence, for implausible amounts and birth dates in the checked tables."""
    warnings = amount_warnings(con, max_amount_z)
    if "customers" in tables and C.BIRTH_DATE in _columns(con, "customers"):
        warnings += birth_date_warnings(con, now or datetime.now())
    return warnings


def amount_warnings(con: duckdb.DuckDBPyConnection, max_z: float) -> list[str]:
    found = con.execute(f"""
        WITH lines AS (SELECT customer_id, order_id, {C.REVENUE} AS r, log10(abs({C.REVENUE})) AS l
                       FROM transactions WHERE {C.REVENUE} <> 0),
             centre AS (SELECT median(l) AS med FROM lines),
             spread AS (SELECT median(abs(l - med)) AS mad, any_value(med) AS med FROM lines, centre)
        SELECT count(*) FILTER (WHERE abs(l - med) / greatest(1.4826 * mad, 0.05) > {max_z}),
               list(order_id || ' (' || customer_id || '): ' || printf('%.6g', r) ORDER BY abs(r) DESC)
                   FILTER (WHERE abs(l - med) / greatest(1.4826 * mad, 0.05) > {max_z}),
               any_value(power(10, med))
        FROM lines, spread""").fetchone()
    if not found or not found[0]:
        return []
    count, shown, typical = found
    return [f"transactions: {count:,} line(s) with an amount far beyond the shop's usual (robust z-score over "
            f"{max_z:g} on the log scale; a typical line is {typical:,.2f}): {', '.join(shown[:MAX_SHOWN_ROWS])}"
            f"{' ...' if count > MAX_SHOWN_ROWS else ''}; check the export (cents as units, a test order), since "
            "such lines dominate every value model and can make the Gamma-Gamma baseline fail"]


def birth_date_warnings(con: duckdb.DuckDBPyConnection, now: datetime) -> list[str]:
    oldest = now.replace(year=now.year - OLDEST_AGE_YEARS, month=1, day=1)
    found = con.execute(f"""
        SELECT count(*), list(customer_id || ': ' || CAST({C.BIRTH_DATE} AS DATE) ORDER BY {C.BIRTH_DATE})
        FROM customers WHERE {C.BIRTH_DATE} < TIMESTAMP '{oldest:%Y-%m-%d}' OR {C.BIRTH_DATE} > TIMESTAMP
        '{now:%Y-%m-%d %H:%M:%S}'""").fetchone()
    if not found or not found[0]:
        return []
    count, shown = found
    return [f"customers: {count:,} birth_date(s) before {oldest:%Y} or in the future: "
            f"{', '.join(shown[:MAX_SHOWN_ROWS])}{' ...' if count > MAX_SHOWN_ROWS else ''}; these customers' age "
            "and birthday are treated as given (fix them in the export, or leave the date empty)"]


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}


def refuse_dangling_links(folder: Path) -> None:
    """Refuse a table file that is a symbolic link to nothing: it would count, silently, as a missing table."""
    from features.data.checked import SUFFIXES

    dangling = [folder / f"{name}{s}" for name in SPECS for s in SUFFIXES
                if (folder / f"{name}{s}").is_symlink() and not (folder / f"{name}{s}").exists()]
    if dangling:
        raise ShopDataError([Problem(str(link), None, f"a symbolic link to {os.readlink(link)}, which does not exist "
                                     f"(the {link.name.split('.')[0]} table would be silently missing)",
                                     "the link pointing at the table's file, or no link (then the table is absent)")
                             for link in dangling])
