"""Read a shop (a folder of CSV/Parquet files, a DuckDB database, or DataFrames), check it, and expose Ibis tables.

Raw files are opened as DuckDB views with a 1-based ``__row`` (CSV is loaded as text first so ids keep their
leading zeros); every contract check runs; the normalised tables (string ids, naive timestamps, numeric money,
``revenue`` per line) are views over the raw ones, queried through Ibis. For a folder they are then kept as
Parquet in ``<folder>/.retention-cache`` (``features.data.checked``), keyed by the files' fingerprint, and the
shop is served from those files: a later read of unchanged files skips every check. Nothing else is written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from features import columns as C
from features.data.checked import CACHE_DIR, SUFFIXES, entry_dir, load_entry, meta_warnings, shop_meta, write_entry
from features.data.checks import (
    column_checks,
    is_typed,
    line_revenue,
    mixed_zone_problem,
    parsed,
    quote,
    scanned_checks,
    trim_changes,
)
from features.data.contract import SPECS, Findings, Kind, Problem, ShopDataError, TableSpec
from features.data.duck import register_frame, scalar
from features.data.files import checked_file, csv_header, csv_select, parquet_columns, read_error
from features.data.integrity import integrity_problems, reference_warnings
from features.data.plausibility import id_rule_checks, refuse_dangling_links
from features.data.zones import parquet_zone_replace

if TYPE_CHECKING:  # Ibis and pandas load on first use: the DuckDB feature build runs plain SQL without them
    import ibis
    import pandas as pd

logger = logging.getLogger(__name__)


@dataclass
class Shop:
    """A checked shop: Ibis tables (on DuckDB, or on Spark), plus what is present and what was warned about.

    ``duck`` is the DuckDB connection that checked the shop; with ``engine == "spark"`` the feature queries run on
    ``con`` (Spark) while the few checks written in SQL still run on ``duck`` over the same checked tables.
    """

    backend: Any  # an Ibis backend, or a DuckDB connection that ``con`` wraps in Ibis on first use
    source: str
    files: dict[str, str]
    columns: dict[str, tuple[str, ...]]
    warnings: list[Problem] = field(default_factory=list)
    duck: duckdb.DuckDBPyConnection | None = None  # None: con is DuckDB itself
    parquet: dict[str, str] = field(default_factory=dict)  # table -> checked Parquet file, when cached
    # table -> SQL of the checked table over its own Parquet file, when checking found nothing to change in it:
    # the cache then keeps this query instead of a copy (features.data.checked)
    views: dict[str, str] = field(default_factory=dict)
    cache_entry: str | None = None  # the checked-table cache entry the shop was served from

    @property
    def con(self) -> ibis.BaseBackend:
        """The Ibis backend the feature expressions run on (Ibis is imported here, on first use)."""
        if isinstance(self.backend, duckdb.DuckDBPyConnection):
            import ibis

            self.backend = ibis.duckdb.from_connection(self.backend)
        return self.backend

    @property
    def engine(self) -> str:
        if self.duck is None:
            return "duckdb"
        return "spark" if self.con.name == "pyspark" else str(self.con.name)

    @property
    def sql(self) -> duckdb.DuckDBPyConnection:
        """Raw DuckDB: for the checks and the feature build written in SQL."""
        if self.duck is not None:
            return self.duck
        if isinstance(self.backend, duckdb.DuckDBPyConnection):
            return self.backend
        return self.con.con

    @property
    def transactions(self) -> ibis.Table:
        return self.con.table("transactions")

    def table(self, name: str) -> ibis.Table | None:
        return self.con.table(name) if name in self.columns else None

    def has(self, table: str, column: str | None = None) -> bool:
        return table in self.columns and (column is None or column in self.columns[table])

    def to_pandas(self, name: str) -> pd.DataFrame:
        return self.sql.execute(f"SELECT * FROM {quote(name)}").df()


def read_shop(path: str | Path, cache: bool = True) -> Shop:
    """Read and check the shop at ``path``: a folder with ``transactions.{csv,parquet}`` etc., or a DuckDB file.

    With ``cache`` a folder's checked tables are kept as Parquet keyed by the files' fingerprint
    (``features.data.checked``): a later read of unchanged files skips the checks and reads those.

    Raises
    ------
    FileNotFoundError
        When the path or the transactions table does not exist.
    ShopDataError
        When any table breaks the contract; the message lists every problem with file, column and rows.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such folder or DuckDB file")
    if path.is_dir():
        refuse_dangling_links(path)
    if cache and path.is_dir():
        meta = load_entry(entry_dir(path))
        if meta is not None:
            logger.info("checked tables from the cache %s (the files have not changed)", entry_dir(path))
            return _cached_shop(entry_dir(path), meta)
    con = duckdb.connect()
    sources = _folder_sources(con, path) if path.is_dir() else _database_sources(con, path)
    shop = _checked_shop(con, sources, str(path))
    if not (cache and path.is_dir()):
        return shop
    try:
        entry = write_entry(con, path, shop_meta(shop.source, shop.files, shop.columns, shop.warnings, shop.views))
    except (OSError, duckdb.Error) as exc:  # e.g. a read-only shop folder: work on, uncached
        logger.warning("could not cache the checked tables in %s (%s)", path / CACHE_DIR, exc)
        return shop
    meta = load_entry(entry)
    if meta is None:  # removed under us (e.g. its files changed meanwhile): work on, uncached
        return shop
    con.close()
    return _cached_shop(entry, meta, replay=False)


def _cached_shop(entry: Path, meta: dict[str, Any], replay: bool = True) -> Shop:
    """Return a shop over the checked Parquet files of a cache entry (warnings logged again unless told not)."""
    con = duckdb.connect()
    views = dict(meta["views"])
    parquet = {name: str(entry / f"{name}.parquet") for name in meta["columns"] if name not in views}
    for name, file in parquet.items():
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{file}')")
    for name, query in views.items():
        con.execute(f"CREATE VIEW {name} AS {query}")
    warnings = meta_warnings(meta)
    for warning in warnings if replay else []:
        logger.warning("%s", warning)
    columns = {name: tuple(cols) for name, cols in meta["columns"].items()}
    return Shop(con, meta["source"], meta["files"], columns, warnings, parquet=parquet, views=views,
                cache_entry=str(entry))


def shop_from_frames(tables: dict[str, pd.DataFrame], label: str = "memory") -> Shop:
    """Check and expose DataFrames (tests, the demo shop) exactly as files would be."""
    con = duckdb.connect()
    sources = {}
    for name, frame in tables.items():
        if name not in SPECS:
            raise ValueError(f"unknown table {name!r}; expected some of {', '.join(SPECS)}")
        register_frame(con, f"frame_{name}", frame)
        con.execute(f"CREATE VIEW raw_{name} AS SELECT *, row_number() OVER () AS __row FROM frame_{name}")
        sources[name] = (f"{name} ({label})", "row")
    return _checked_shop(con, sources, label)


def _folder_sources(con: duckdb.DuckDBPyConnection, folder: Path) -> dict[str, tuple[str, str]]:
    sources = {}
    for name in SPECS:
        found = [folder / f"{name}{s}" for s in SUFFIXES if (folder / f"{name}{s}").exists()]
        if len(found) > 1:
            raise ShopDataError([Problem(str(found[0]), None, f"{name} is given twice ({', '.join(map(str, found))})",
                                         "one file per table")])
        if not found:
            continue
        file = found[0]
        checked_file(file)
        try:
            if file.suffix == ".parquet":
                parquet_columns(file)
                zoned = parquet_zone_replace(file)  # a zoned column: its own zone's wall time, as in CSV
                con.execute(f"CREATE VIEW raw_{name} AS SELECT * EXCLUDE (file_row_number){zoned}, file_row_number + 1 "
                            f"AS __row FROM read_parquet('{file}', file_row_number = true)")
                sources[name] = (str(file), "row")
            else:
                # Text columns keep "00001" intact; insertion order is the file's, so rowid + 2 is the line number.
                header, delimiter = csv_header(file)
                con.execute(f"CREATE TABLE text_{name} AS SELECT * FROM {csv_select(file, header, delimiter)}")
                con.execute(f"CREATE VIEW raw_{name} AS SELECT *, rowid + 2 AS __row FROM text_{name}")
                sources[name] = (str(file), "line")
        except duckdb.Error as exc:
            raise read_error(str(file), exc) from None
    if "transactions" not in sources:
        raise FileNotFoundError(f"{folder}: no transactions file; expected transactions.parquet or transactions.csv")
    return sources


def _database_sources(con: duckdb.DuckDBPyConnection, file: Path) -> dict[str, tuple[str, str]]:
    try:
        con.execute(f"ATTACH '{file}' AS src (READ_ONLY)")
    except duckdb.Error as exc:
        raise ShopDataError([Problem(str(file), None, f"not a folder or a DuckDB database ({exc})",
                                     "a folder of CSV/Parquet files or a DuckDB database file")]) from exc
    listed = con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'src'").fetchall()
    tables = {row[0] for row in listed}
    if "transactions" not in tables:
        raise FileNotFoundError(f"{file}: no table 'transactions' (found: {', '.join(sorted(tables)) or 'none'})")
    sources = {}
    for name in SPECS:
        if name in tables:
            con.execute(f"CREATE VIEW raw_{name} AS SELECT *, rowid + 1 AS __row FROM src.{name}")
            sources[name] = (f"{file}:{name}", "row")
    return sources


def _checked_shop(con: duckdb.DuckDBPyConnection, sources: dict[str, tuple[str, str]], label: str) -> Shop:
    findings = Findings()
    present: dict[str, dict[str, str]] = {}
    views: dict[str, str] = {}
    for name, (file, row_label) in sources.items():
        try:
            types = _column_types(con, f"raw_{name}")
            present[name] = {c: t for c, t in types.items() if c in SPECS[name].kinds}
            problems, kept = _table_problems(con, SPECS[name], present[name], file, row_label)
            findings.errors += problems
        except duckdb.Error as exc:  # e.g. a Parquet file cut short inside its data pages
            raise read_error(file, exc) from None
        if kept is not None and file.endswith(".parquet"):
            source = "read_parquet('" + str(Path(file).resolve()).replace("'", "''") + "')"
            views[name] = _normalised_select(SPECS[name], present[name], source, kept, row=False)
    findings.raise_if_any()
    for name in sources:
        con.execute(f"CREATE VIEW norm_{name} AS {_normalised_select(SPECS[name], present[name], f'raw_{name}')}")
        con.execute(f"CREATE VIEW {name} AS SELECT * EXCLUDE (__row) FROM norm_{name}")
    files = {name: file for name, (file, _) in sources.items()}
    findings.errors += integrity_problems(con, files, sources)
    findings.raise_if_any()
    findings.warnings += reference_warnings(con, files, present)
    for warning in findings.warnings:
        logger.warning("%s", warning)
    columns = {name: tuple(_column_types(con, name)) for name in present}
    return Shop(con, label, files, columns, findings.warnings, views=views)


def _column_types(con: duckdb.DuckDBPyConnection, relation: str) -> dict[str, str]:
    rows = con.execute(f"DESCRIBE {relation}").fetchall()
    return {r[0]: r[1] for r in rows if r[0] != "__row"}


def _table_problems(con: duckdb.DuckDBPyConnection, spec: TableSpec, present: dict[str, str], file: str,
                    row_label: str) -> tuple[list[Problem], frozenset[str] | None]:
    """Return the table's problems, and the text columns that checking leaves as they are stored when no column
    needs parsing or changing (so the checked table is a plain query over the file), else None."""
    missing = [c for c in spec.required if c not in present]
    if spec.name == "transactions" and C.AMOUNT not in present and C.PRICE not in present:
        missing.append("amount or price")
    if missing:
        found = ", ".join(_column_types(con, f"raw_{spec.name}")) or "none"
        return [Problem(file, name, "missing required column", f"columns {', '.join(spec.required)} "
                        f"(found: {found})") for name in missing], None
    relation = f"raw_{spec.name}"
    if not scalar(con, f"SELECT count(*) FROM {relation}"):
        return [Problem(file, None, "empty file: a header but no data rows", "at least one data row")], None
    probes = _unchanged_probes(spec, present)
    problems, changed = scanned_checks(con, relation, column_checks(spec, present) + id_rule_checks(spec, present),
                                        file, row_label, probes or {})
    for column, duck_type in present.items():
        if spec.kinds[column].value == "timestamp":
            mixed = mixed_zone_problem(con, relation, column, duck_type, file, row_label)
            problems += [mixed] if mixed else []
    kept = frozenset(changed) if probes is not None and not any(changed.values()) else None
    return problems, kept


def _unchanged_probes(spec: TableSpec, present: dict[str, str]) -> dict[str, str] | None:
    """Conditions counting the rows whose text value checking would change (trimmed, emptied, lower-cased), for
    the text columns; None when a column must be parsed on every read (text timestamps, numbers or flags)."""
    probes = {}
    for column, duck_type in present.items():
        kind = spec.kinds[column]
        if is_typed(kind, duck_type):
            continue
        if duck_type != "VARCHAR" or kind not in (Kind.ID, Kind.TEXT, Kind.EVENT_TYPE):
            return None
        col = quote(column)
        if kind is Kind.EVENT_TYPE:  # read as lower(trim(value))
            probes[column] = f"{col} IS NOT NULL AND ({trim_changes(column)} OR lower({col}) <> {col})"
        else:  # read as nullif(trim(value), '')
            probes[column] = f"{col} IS NOT NULL AND ({col} = '' OR {trim_changes(column)})"
    return probes


def _normalised_select(spec: TableSpec, present: dict[str, str], source: str, kept: frozenset[str] = frozenset(),
                       row: bool = True) -> str:
    """The checked table's query over ``source``: parsed columns (``kept`` ones as stored), revenue, ``__row``."""
    cols = [quote(c) if c in kept else f"{parsed(c, spec.kinds[c], t)} AS {quote(c)}" for c, t in present.items()]
    if spec.name == "transactions":
        if C.QUANTITY not in present:
            cols.append(f"CAST(1 AS DOUBLE) AS {C.QUANTITY}")
        cols.append(f"{line_revenue(present)} AS {C.REVENUE}")
    return f"SELECT {', '.join(cols)}{', __row' if row else ''} FROM {source}"
