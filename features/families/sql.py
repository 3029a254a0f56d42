"""Build every customer feature family on DuckDB in plain SQL: a few scans per cutoff, no Ibis, no pandas.

The same families, columns and reasons as the Ibis build (``features.families.build``, which Spark runs), staged
as temporary tables: the orders before the cutoff (one pass over the lines), every order-level aggregate of every
family per customer (one pass over the orders), the purchase lines once each for basket and categories, the
events once, BG/NBD fitted in scipy on its summary (in a worker thread, ``sql_bgnbd``); then one join. The result
stays in DuckDB: ``write_features`` copies it straight to Parquet (rounded as ``features.data.io.stable_floats``
rounds), ``build_features`` hands it to pandas for the models.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from features import columns as C
from features.data.duck import scalar, settings
from features.families import sql_queries as Q
from features.families.catalogue import feature_catalogue
from features.families.config import FeaturesConfig
from features.families.meta import EMPTY_BEFORE, FAMILY_INFO, OBSERVED_ZERO, family_needs, notes_on_parts, unmet_needs
from features.families.sql_bgnbd import finished_bgnbd, preload_fitters, start_bgnbd
from features.families.sql_build import Build, FeatureTable

if TYPE_CHECKING:
    import pyarrow as pa

    from features.data.reader import Shop

logger = logging.getLogger(__name__)

SIGNIFICANT_DIGITS = 12  # as features.data.io.stable_floats: the same input gives the same bytes
MAX_CODED = 64  # channel values kept as integer codes in the orders (a list lookup per line stays cheap)


def channel_codes(con: duckdb.DuckDBPyConnection, cutoff: datetime, columns: tuple[str, ...]) -> dict[str, str]:
    """Return the channel columns with few values before the cutoff, each with its sorted values (``Q.coded``).

    The orders then carry a small integer per column instead of a string: a shop has a handful of devices,
    channels and sources, and a column with more than MAX_CODED values keeps its strings.
    """
    codes = {}
    for column in (c for c in (C.DEVICE, C.CHANNEL, C.SOURCE) if c in columns):
        values = [row[0] for row in con.execute(
            f"SELECT DISTINCT {column} FROM transactions WHERE {Q.TS} < {Q.literal(cutoff)} AND {column} IS NOT NULL "
            f"ORDER BY 1 LIMIT {MAX_CODED + 1}").fetchall()]
        if 0 < len(values) <= MAX_CODED:
            codes[column] = Q.coded(values)
    return codes


@contextmanager
def feature_table(shop: Shop, cutoff: datetime, cfg: FeaturesConfig | None = None) -> Iterator[FeatureTable]:
    """Yield the features as of ``cutoff`` in a temporary table of ``shop.sql`` (dropped when the block ends).

    Raises
    ------
    ValueError
        When no customer has a purchase order before the cutoff.
    """
    cfg = cfg or FeaturesConfig()
    build = Build(shop, cutoff, cfg)
    try:
        with settings(shop.sql, cfg.duckdb_threads, cfg.duckdb_memory_limit):
            yield _built(build)
    finally:
        build.drop()


def _built(b: Build) -> FeatureTable:
    cutoff, cfg, tx = b.cutoff, b.cfg, b.columns("transactions")
    b.codes = channel_codes(b.con, cutoff, tx)
    result = FeatureTable(f"_features_result_{b.tag}", cutoff)
    names = ["rfm", *[f for f in cfg.families if f != "rfm"]]  # rfm is the population: always first
    wanted = [n for n in names if not _left_out_for_needs(b, n, result)]
    # BG/NBD is numpy on one core while DuckDB keeps both busy: scipy loads and the fit runs in a worker thread
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bgnbd") as worker:
        if "bgnbd" in wanted:
            worker.submit(preload_fitters)
        stages = _item_stages(b, wanted)
        orders = b.table("orders", Q.orders_query(cutoff, tx, b.codes))
        customers = b.table("customers", Q.customers_query(orders, cutoff, cfg, tx, b.codes))
        if not scalar(b.con, f"SELECT count(*) FROM (SELECT 1 FROM {customers} LIMIT 1)"):
            _refuse_cutoff(b)
        with_hour = "timing" in wanted and bool(scalar(b.con, Q.timed_query(cutoff)))
        if {"cadence", "bgnbd"} & set(wanted):
            stages["gaps"] = b.table("gaps", Q.gaps_query(orders))
        fitting = start_bgnbd(b, stages["gaps"], result, worker) if "bgnbd" in wanted else None
        built = {name: _timed_family(b, name, orders, stages, with_hour, result) for name in wanted if name != "bgnbd"}
        if fitting is not None:
            built["bgnbd"] = _scores_family(b, finished_bgnbd(b, fitting, result))
    selected: list[tuple[str, str, str]] = [(C.CUSTOMER_ID, "rfm", f"c.{C.CUSTOMER_ID}")]
    joins: dict[str, str] = {}
    for name in wanted:
        columns, join = built.get(name, (None, {}))
        if columns is None:
            continue
        result.included[name] = FAMILY_INFO[name][0]
        selected += [(column, name, expr) for column, expr in columns]
        joins |= join
    result.notes += notes_on_parts(b.shop.has, result.included, with_hour)
    b.drop(orders)
    result.columns = _create_result(b, result.name, customers, selected, list(joins.values()))
    result.rows = int(scalar(b.con, f"SELECT count(*) FROM {result.name}"))
    logger.info("features as of %s: %d customers, %d columns; left out: %s", cutoff, result.rows,
                len(result.columns) - 1, ", ".join(result.left_out) or "nothing")
    return result


def _left_out_for_needs(b: Build, name: str, result: FeatureTable) -> bool:
    missing = unmet_needs(b.shop.has, family_needs(name))
    if missing:
        result.left_out[name] = f"needs {' and '.join(missing)}, which the data does not have"
    return bool(missing)


def _item_stages(b: Build, wanted: list[str]) -> dict[str, str]:
    """Stage what basket, categories and promotions read of the purchase lines: per-customer totals and the
    categories family."""
    stages: dict[str, str] = {}
    if {"basket", "promotions"} & set(wanted):
        stages["lt"] = b.table("line_totals", Q.line_totals_query(b.cutoff, b.columns("transactions")))
    if "categories" in wanted:
        stages["categories"] = b.table("categories", Q.categories_query(b.cutoff))
    return stages


def _timed_family(b: Build, name: str, orders: str, stages: dict[str, str], with_hour: bool,
                  result: FeatureTable) -> tuple[list[tuple[str, str]] | None, dict[str, str]]:
    began = time.perf_counter()
    family = _family(b, name, orders, stages, with_hour, result)
    logger.debug("%s built in %.1f s", name, time.perf_counter() - began)
    return family


def _scores_family(b: Build, scores: str | None) -> tuple[list[tuple[str, str]] | None, dict[str, str]]:
    if scores is None:
        return None, {}
    return [(c, f"g.{c}") for c in _table_columns(b, scores) if c != C.CUSTOMER_ID], _join(scores, "g")


def _family(b: Build, name: str, orders: str, stages: dict[str, str], with_hour: bool,
            result: FeatureTable) -> tuple[list[tuple[str, str]] | None, dict[str, str]]:
    """Return the family's (column, expression) pairs and the joins that bring its tables, or None if left out."""
    cutoff, cfg = b.cutoff, b.cfg
    if name == "rfm":
        return Q.rfm_columns(cutoff, cfg), {}
    if name == "cadence":
        return Q.cadence_columns(cutoff), _join(stages["gaps"], "gaps")
    if name == "promotions":
        return Q.promotions_columns(cfg), _join(stages["lt"], "lt")
    if name == "basket":
        return [("items_per_order", "CAST(c.items_per_order AS DOUBLE)"),
                ("distinct_items", "coalesce(lt.distinct_items, 0.0)")], _join(stages["lt"], "lt")
    if name == "site":
        return _site(b, orders, result)
    if name == "channel":
        present = [c for c in (C.DEVICE, C.CHANNEL, C.SOURCE) if c in b.columns("transactions")]
        columns: list[tuple[str, str]] = []
        joins: dict[str, str] = {}
        for column in present:
            table = b.table(f"main_{column}", Q.main_value_query(orders, column, b.codes.get(column)))
            columns.append((f"main_{column}", f"m_{column}.main_{column}"))
            joins |= _join(table, f"m_{column}")
        if C.DEVICE in present:
            columns.append(("mobile_share", "CAST(c.mobile_orders AS DOUBLE) / CAST(c.orders AS DOUBLE)"))
        return columns, joins
    if name == "categories":
        table = stages["categories"]
    else:
        table = b.table(name, Q.timing_query(orders, with_hour) if name == "timing"
                        else Q.profile_query(cutoff, b.columns("customers")))
    if name in EMPTY_BEFORE and not scalar(b.con, f"SELECT count(*) FROM {table}"):
        result.left_out[name] = EMPTY_BEFORE[name]
        return None, {}
    alias = f"f_{name}"
    return [(c, f"{alias}.{c}") for c in _table_columns(b, table) if c != C.CUSTOMER_ID], _join(table, alias)


def _site(b: Build, orders: str, result: FeatureTable) -> tuple[list[tuple[str, str]] | None, dict[str, str]]:
    site = b.table("site", Q.site_query(orders, b.cutoff, b.cfg))
    if not scalar(b.con, f"SELECT count(*) FROM (SELECT 1 FROM {site} LIMIT 1)"):
        result.left_out["site"] = EMPTY_BEFORE["site"]
        return None, {}
    buyers = f"(SELECT DISTINCT {C.CUSTOMER_ID} FROM {orders})"
    if not scalar(b.con, f"SELECT count(*) FROM (SELECT 1 FROM {site} SEMI JOIN {buyers} AS o "
                         f"USING ({C.CUSTOMER_ID}) LIMIT 1)"):
        seen = scalar(b.con, f"SELECT any_value({C.CUSTOMER_ID}) FROM {site}")
        known = scalar(b.con, f"SELECT any_value({C.CUSTOMER_ID}) FROM {orders}")
        result.left_out["site"] = (f"no event before the cutoff matches a customer who ordered (events name e.g. "
                                   f"{seen!r}, transactions {known!r}): check that both tables use the same "
                                   "customer ids")
        return None, {}
    return Q.site_columns(b.cfg), _join(site, "s")


def _refuse_cutoff(b: Build) -> None:
    first = scalar(b.con, f"SELECT min({Q.TS}) FROM transactions")
    raise ValueError(f"no purchase order before the cutoff {b.cutoff:%Y-%m-%d %H:%M} (the first order is at {first}); "
                     "choose a later --cutoff")


def _create_result(b: Build, name: str, customers: str, selected: list[tuple[str, str, str]],
                   joins: list[str]) -> dict[str, str]:
    """Join every family onto the customers (the RFM population): numbers as DOUBLE, the rest as VARCHAR."""
    catalogue = feature_catalogue(b.cfg)
    columns, exprs = {}, []
    for column, family, expr in selected:
        feature = catalogue.get(column)
        kind = "VARCHAR" if column == C.CUSTOMER_ID or (feature and feature.kind != "numeric") else "DOUBLE"
        if family in OBSERVED_ZERO and feature and feature.unit == "count":
            expr = f"coalesce({expr}, 0.0)"
        exprs.append(f"CAST({expr} AS {kind}) AS {column}")
        columns[column] = kind
    b.con.execute(f"CREATE TEMP TABLE {name} AS SELECT {', '.join(exprs)} FROM {customers} AS c {' '.join(joins)}")
    b.tables.append(name)
    return columns


def _join(table: str, alias: str) -> dict[str, str]:
    return {alias: f"LEFT JOIN {table} AS {alias} ON {alias}.{C.CUSTOMER_ID} = c.{C.CUSTOMER_ID}"}


def _table_columns(b: Build, table: str) -> list[str]:
    return [r[0] for r in b.con.execute(f"DESCRIBE {table}").fetchall()]


def feature_arrow(shop: Shop, table: FeatureTable) -> pa.Table:
    """Return the feature table as Arrow, sorted by customer_id."""
    return shop.sql.sql(f"SELECT * FROM {table.name} ORDER BY {C.CUSTOMER_ID}").to_arrow_table()


def stable(column: str) -> str:
    """SQL rounding a DOUBLE to SIGNIFICANT_DIGITS as ``stable_floats`` does (NaN becomes NULL, as pandas writes)."""
    scale = f"pow(10.0, {SIGNIFICANT_DIGITS - 1} - floor(log10(abs({column}))))"
    # Most features are counts and days: an integer with at most SIGNIFICANT_DIGITS digits rounds to itself
    # exactly, so the cheap test in front skips the log10/pow for them (same bytes, ~25% faster write).
    return (f"CASE WHEN {column} = round({column}) AND abs({column}) < 1e{SIGNIFICANT_DIGITS} THEN {column} "
            f"WHEN isnan({column}) THEN NULL WHEN isinf({column}) OR {column} = 0 THEN {column} "
            f"ELSE round_even({column} * {scale}, 0) / {scale} END")


def write_parquet(shop: Shop, table: FeatureTable, path: Path) -> Path:
    """Write the feature table to ``path`` as Parquet straight from DuckDB, all-or-nothing (a temp file renamed).

    Raises
    ------
    ValueError
        When the folder cannot be written to (the sentence names the file).
    """
    selected = [stable(c) + f" AS {c}" if kind == "DOUBLE" else c for c, kind in table.columns.items()]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        shop.sql.execute(f"COPY (SELECT {', '.join(selected)} FROM {table.name} ORDER BY {C.CUSTOMER_ID}) "
                         f"TO '{_quoted(tmp)}' (FORMAT parquet)")
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are for the team to read
        os.replace(tmp, path)
    except (OSError, duckdb.IOException) as exc:
        raise ValueError(f"cannot write {path}: {exc}; choose a folder you can write to") from None
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def _quoted(text: str) -> str:
    return text.replace("'", "''")

