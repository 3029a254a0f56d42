"""Column checks and parsing as DuckDB SQL: each column kind gives a parse expression and a 'bad value' test.

All checks of one table run as one scan (``count(*) FILTER (WHERE bad)`` per check); example rows are fetched
only for checks that failed, so a clean 10M-line file costs one pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import duckdb

from features import columns as C
from features.data.contract import BOOL_FALSE, BOOL_TRUE, MAX_SHOWN_ROWS, SPECS, Kind, Problem, TableSpec

MAX_LINE_REVENUE = 1e15  # in millionths 1e21 a line: sums of millions of lines stay far inside HUGEINT
TRANSACTIONS = SPECS["transactions"]
# An offset only counts after a time of day, so the "-01" of "2024-03-01" is not read as a zone.
_OFFSET = r"[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)$"
_STRIP_OFFSET = r"([T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_TEMPORAL = ("TIMESTAMP", "DATE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S")
_NUMERIC = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE", "UTINYINT", "USMALLINT",
            "UINTEGER", "UBIGINT")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_list(values: tuple[str, ...]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


@dataclass(frozen=True)
class Check:
    """One 'bad value' condition on a raw table, with the message parts for a Problem."""

    column: str | None
    condition: str
    what: str
    expected: str
    value: str  # SQL expression shown for each offending row


def text_of(column: str) -> str:
    return f"trim(CAST({quote(column)} AS VARCHAR))"


def may_trim(column: str) -> str:
    """SQL true for the VARCHAR values trimming might change, a cheap test run before the trim itself.

    DuckDB's trim strips the space and a dozen non-ASCII spaces (U+00A0, U+1680, U+2000-U+200A, U+202F, U+205F,
    U+3000): an ASCII value can only change when it starts or ends with a space, and the byte and character
    lengths differ only for non-ASCII text. Trimming just those rows spares trimming every row of a 40M-row table.
    """
    col = quote(column)
    return f"(starts_with({col}, ' ') OR ends_with({col}, ' ') OR strlen({col}) <> length({col}))"


def trimmed(column: str, duck_type: str) -> str:
    """SQL for the column's text with the spaces around it trimmed: ``text_of``, trimming only where it may
    change something when the column is VARCHAR."""
    if duck_type != "VARCHAR":
        return text_of(column)
    col = quote(column)
    return f"CASE WHEN {may_trim(column)} THEN trim({col}) ELSE {col} END"


def trim_changes(column: str) -> str:
    """SQL true when trimming the VARCHAR ``column`` changes it."""
    col = quote(column)
    return f"CASE WHEN {may_trim(column)} THEN trim({col}) <> {col} ELSE FALSE END"


def blank(column: str, duck_type: str) -> str:
    """SQL true when the raw value is missing or only spaces (what ``parsed`` reads as no value)."""
    col = quote(column)
    if duck_type == "VARCHAR":
        return f"({col} IS NULL OR {col} = '' OR CASE WHEN {may_trim(column)} THEN trim({col}) = '' ELSE FALSE END)"
    if duck_type.startswith("DECIMAL") or duck_type in (*_NUMERIC, *_TEMPORAL, "BOOLEAN"):
        return f"{col} IS NULL"  # a number, time or flag never reads as blank text
    return f"({col} IS NULL OR {text_of(column)} = '')"


def parsed(column: str, kind: Kind, duck_type: str) -> str:
    """SQL for the column's normalised value, NULL where the raw value cannot be read as ``kind``."""
    col, text = quote(column), trimmed(column, duck_type)
    is_numeric = duck_type.startswith("DECIMAL") or duck_type in _NUMERIC
    if kind is Kind.ID:
        return f"nullif({text}, '')"
    if kind is Kind.TIMESTAMP:
        if duck_type in _TEMPORAL:
            return f"CAST({col} AS TIMESTAMP)"
        if duck_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"CAST(timezone('UTC', {col}) AS TIMESTAMP)"  # one zone per column: keep its wall time in UTC
        return f"TRY_CAST(regexp_replace({text}, '{_STRIP_OFFSET}', '\\1') AS TIMESTAMP)"
    if kind in (Kind.MONEY, Kind.NUMBER):
        return f"CAST({col} AS DOUBLE)" if is_numeric else f"TRY_CAST(nullif({text}, '') AS DOUBLE)"
    if kind is Kind.BOOL:
        if duck_type == "BOOLEAN":
            return col
        low = f"lower({text})"
        yes, no = sql_list(BOOL_TRUE), sql_list(BOOL_FALSE)
        return f"CASE WHEN {low} IN ({yes}) THEN TRUE WHEN {low} IN ({no}) THEN FALSE END"
    if kind is Kind.EVENT_TYPE:
        return f"lower({text})"
    return f"nullif({text}, '')"


def is_typed(kind: Kind, duck_type: str) -> bool:
    """True when the column's storage type already is the kind's type, so no value can be unreadable."""
    if kind is Kind.TIMESTAMP:
        return duck_type in _TEMPORAL or duck_type.startswith("TIMESTAMP WITH TIME ZONE")
    if kind in (Kind.MONEY, Kind.NUMBER):
        return duck_type.startswith("DECIMAL") or duck_type in _NUMERIC
    return kind is Kind.BOOL and duck_type == "BOOLEAN"


def column_checks(spec: TableSpec, present: dict[str, str]) -> list[Check]:
    """Return the value checks for every present column of ``spec`` (``present`` maps column -> DuckDB type)."""
    checks: list[Check] = []
    for column, duck_type in present.items():
        kind = spec.kinds.get(column)
        if kind is None:
            continue
        raw, value, text = quote(column), parsed(column, kind, duck_type), text_of(column)
        typed = is_typed(kind, duck_type)
        if column in spec.required:
            empty = f"{raw} IS NULL" if typed else blank(column, duck_type)
            checks.append(Check(column, empty, "empty value", "a value on every row", text))
        # A typed column (Parquet timestamps, numbers, booleans) is readable by construction: only text is parsed.
        unreadable = "FALSE" if typed else f"{raw} IS NOT NULL AND {text} <> '' AND ({value}) IS NULL"
        if kind is Kind.TIMESTAMP:
            checks.append(Check(column, unreadable, "unparseable timestamp",
                                "an ISO 8601 date or datetime such as 2024-03-01 or 2024-03-01T14:05:00", text))
            latest = latest_allowed()
            checks.append(Check(column, f"({value}) > TIMESTAMP '{latest:%Y-%m-%d %H:%M:%S}'",
                                "timestamp later than the time of this run",
                                f"a time in the past (at the latest {latest:%Y-%m-%d %H:%M}: now plus a day for "
                                "time zones); a typo such as 2099 would move every default cutoff", text))
        elif kind in (Kind.MONEY, Kind.NUMBER):
            checks.append(Check(column, unreadable, "non-numeric value", "a plain decimal number such as 12.50", text))
            # NaN and +-inf parse as numbers (and 1e309 overflows to inf) but would poison every sum they enter
            checks.append(Check(column, f"NOT isfinite(CAST(({value}) AS DOUBLE))", "not a finite number",
                                "a plain decimal number such as 12.50 (not NaN, inf or beyond 1e308)", text))
            if kind is Kind.MONEY:
                checks.append(Check(column, f"({value}) < 0", "negative value", "a number >= 0", text))
        elif kind is Kind.BOOL:
            checks.append(Check(column, unreadable, "unreadable yes/no value",
                                f"one of {', '.join(BOOL_TRUE + BOOL_FALSE)}", text))
        elif kind is Kind.EVENT_TYPE:
            checks.append(Check(column, f"{raw} IS NOT NULL AND ({value}) NOT IN ({sql_list(C.EVENT_TYPES)})",
                                "unknown event_type", f"one of {', '.join(C.EVENT_TYPES)}", text))
    if spec.name == "transactions":
        checks += revenue_checks(present)
    if spec.name == "transactions" and C.AMOUNT in present:
        amount = parsed(C.AMOUNT, Kind.NUMBER, present[C.AMOUNT])
        quantity = parsed(C.QUANTITY, Kind.NUMBER, present[C.QUANTITY]) if C.QUANTITY in present else "1"
        quantity_text = text_of(C.QUANTITY) if C.QUANTITY in present else "NULL"
        checks.append(Check(C.AMOUNT, f"({amount}) < 0 AND coalesce(({quantity}) >= 0, TRUE)",
                            "negative amount on a line that is not a return",
                            "amount >= 0, or a negative quantity marking the line as a return",
                            f"{text_of(C.AMOUNT)} || ' (quantity ' || coalesce({quantity_text}, 'none') || ')'"))
    return checks


def latest_allowed(now: datetime | None = None) -> datetime:
    """Return the latest timestamp a shop may hold: the time of the run plus a day (a naive timestamp is the
    shop's local time, which may be up to 14 hours ahead of this machine's)."""
    return (now or datetime.now()).replace(microsecond=0) + timedelta(days=1)


def revenue_checks(present: dict[str, str]) -> list[Check]:
    """Return the checks that every transaction line has a revenue: an amount, else a price (an empty one would
    drop the line's money silently), of at most MAX_LINE_REVENUE in size (the feature build sums money exactly,
    in integer millionths, and a larger line is an export error anyway)."""
    sources = [c for c in (C.AMOUNT, C.PRICE) if c in present]
    if not sources:
        return []
    empty = " AND ".join(blank(c, present[c]) for c in sources)
    shown = " || ' / ' || ".join(f"coalesce({text_of(c)}, '')" for c in sources)
    names = " or ".join(sources)
    revenue = line_revenue(present)
    quantity = f" || ' x ' || coalesce({text_of(C.QUANTITY)}, '1')" if C.QUANTITY in present else ""
    # NaN is reported by the number checks; an infinite product of two finite numbers is reported here
    return [Check(sources[0], empty, f"empty {names}", f"a line revenue on every line ({names})", f"'' || {shown}"),
            Check(sources[0], f"abs({revenue}) > {MAX_LINE_REVENUE:g} AND NOT isnan({revenue})",
                  f"line revenue beyond {MAX_LINE_REVENUE:g}",
                  f"a line revenue ({names}{' x quantity' if C.PRICE in sources else ''}) of at most "
                  f"{MAX_LINE_REVENUE:g} in size: larger is an export error (cents as units, a typo in an exponent)",
                  f"'' || {shown}{quantity}")]


def line_revenue(present: dict[str, str]) -> str:
    """Net line revenue: amount, or price x quantity; return lines (negative quantity) count against revenue."""
    quantity = parsed(C.QUANTITY, TRANSACTIONS.kinds[C.QUANTITY], present[C.QUANTITY]) \
        if C.QUANTITY in present else "CAST(1 AS DOUBLE)"
    by_price = None
    if C.PRICE in present:
        price = parsed(C.PRICE, TRANSACTIONS.kinds[C.PRICE], present[C.PRICE])
        by_price = f"{price} * coalesce({quantity}, 1)"
    if C.AMOUNT not in present:
        return str(by_price)
    amount = parsed(C.AMOUNT, TRANSACTIONS.kinds[C.AMOUNT], present[C.AMOUNT])
    by_amount = f"CASE WHEN coalesce({quantity}, 1) < 0 THEN -abs({amount}) ELSE {amount} END"
    # a line with an empty amount but a price is priced (the contract check refuses lines with neither)
    return f"coalesce({by_amount}, {by_price})" if by_price else by_amount


def failed_checks(con: duckdb.DuckDBPyConnection, relation: str, checks: list[Check], file: str,
                  row_label: str) -> list[Problem]:
    """Run every check in one scan of ``relation``; return a Problem with example rows for each that failed."""
    return scanned_checks(con, relation, checks, file, row_label)[0]


def scanned_checks(con: duckdb.DuckDBPyConnection, relation: str, checks: list[Check], file: str, row_label: str,
                   counted: dict[str, str] | None = None) -> tuple[list[Problem], dict[str, int]]:
    """``failed_checks``, and in the same scan the number of rows meeting each of ``counted``'s conditions."""
    checks = [c for c in checks if c.condition != "FALSE"]
    counted = counted or {}
    if not checks and not counted:
        return [], {}
    conditions = [c.condition for c in checks] + list(counted.values())
    counts_sql = ", ".join(f"count(*) FILTER (WHERE {condition})" for condition in conditions)
    found = con.execute(f"SELECT {counts_sql} FROM {relation}").fetchall()
    counts = found[0][:len(checks)]
    extra = dict(zip(counted, (int(n) for n in found[0][len(checks):]), strict=True))
    return _problems(con, relation, checks, counts, file, row_label), extra


def _problems(con: duckdb.DuckDBPyConnection, relation: str, checks: list[Check], counts: tuple[int, ...],
              file: str, row_label: str) -> list[Problem]:
    problems = []
    for check, count in zip(checks, counts, strict=True):
        if not count:
            continue
        # "IS TRUE" keeps DuckDB from pushing the filter into Parquet statistics, which skip NaN row groups
        rows = con.execute(
            f"SELECT __row, {check.value} FROM {relation} WHERE ({check.condition}) IS TRUE "
            f"ORDER BY __row LIMIT {MAX_SHOWN_ROWS}"
        ).fetchall()
        problems.append(Problem(file, check.column, check.what, check.expected,
                                tuple((int(r), "" if v is None else str(v)) for r, v in rows), int(count), row_label))
    return problems


def mixed_zone_problem(con: duckdb.DuckDBPyConnection, relation: str, column: str, duck_type: str, file: str,
                       row_label: str) -> Problem | None:
    """Return a Problem when a text timestamp column mixes zones (naive with offsets, or several offsets)."""
    if duck_type != "VARCHAR":
        return None
    zone = f"coalesce(nullif(regexp_extract({text_of(column)}, '{_OFFSET}', 1), ''), 'no zone')"
    rows = con.execute(
        f"SELECT zone, min(__row) AS first_row FROM (SELECT {zone} AS zone, __row FROM {relation} "
        f"WHERE {quote(column)} IS NOT NULL) GROUP BY zone ORDER BY first_row LIMIT 6"
    ).fetchall()
    if len(rows) < 2:
        return None
    zones = ", ".join(z for z, _ in rows)
    examples = con.execute(
        f"SELECT __row, {text_of(column)} FROM {relation} WHERE __row IN ({', '.join(str(r) for _, r in rows)}) "
        f"ORDER BY __row LIMIT {MAX_SHOWN_ROWS}"
    ).fetchall()
    return Problem(file, column, f"mixed time zones ({zones})",
                   "every timestamp in one zone: all without an offset (shop local time) or all with the same offset",
                   tuple((int(r), str(v)) for r, v in examples), len(examples), row_label)
