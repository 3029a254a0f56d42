"""Where a feature build keeps its intermediate tables: temporary DuckDB tables, or cached Spark views.

Staging the lines and orders before the cutoff and each family once is what keeps the build to a few scans
(see build.py); on Spark the same stages are cached temporary views, unpersisted when the build ends.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from features.data.duck import register_frame, settings
from features.data.reader import Shop
from features.families.config import FeaturesConfig


class Scratch:
    """The temporary tables of one build (DuckDB temp tables, or cached Spark views), dropped together."""

    def __init__(self, shop: Shop) -> None:
        self.shop, self.tag = shop, uuid.uuid4().hex[:12]
        self.names: list[str] = []
        self.frames: dict[str, Any] = {}  # Spark: view name -> its checkpointed DataFrame
        self.spark: Any = getattr(shop.con, "_session", None) if shop.engine == "spark" else None

    def table(self, label: str, expr: ir.Table) -> ir.Table:
        """Execute ``expr`` into a temporary table and return it as an Ibis table."""
        name = f"_features_{label}_{self.tag}"
        if self.spark is not None:
            return self._spark_view(name, expr)
        # raw SQL, because ibis 12's create_table / cache stumble over duckdb 2.0's Python API
        self.shop.sql.execute(f"CREATE TEMP TABLE {name} AS {self.shop.con.compile(expr)}")
        self.names.append(name)
        return self.shop.con.table(name)

    def frame(self, label: str, frame: pd.DataFrame) -> ir.Table:
        """Copy a DataFrame into a temporary table and return it as an Ibis table."""
        view, name = f"_features_frame_{self.tag}", f"_features_{label}_{self.tag}"
        if self.spark is not None:
            return self._spark_view(name, ibis.memtable(frame))
        register_frame(self.shop.sql, view, frame)
        try:
            self.shop.sql.execute(f"CREATE TEMP TABLE {name} AS SELECT * FROM {view}")
        finally:
            self.shop.sql.unregister(view)
        self.names.append(name)
        return self.shop.con.table(name)

    def drop(self, *labels: str) -> None:
        """Drop the tables of these labels (all of them when none is given)."""
        names = [f"_features_{label}_{self.tag}" for label in labels] if labels else list(self.names)
        for name in names:
            if self.spark is not None and name in self.names:
                self.spark.catalog.dropTempView(name)
                self.frames.pop(name).unpersist()
            elif self.spark is None:
                self.shop.sql.execute(f"DROP TABLE IF EXISTS {name}")
            if name in self.names:
                self.names.remove(name)


    def _spark_view(self, name: str, expr: ir.Table) -> ir.Table:
        """A temporary view over a local checkpoint: Spark is lazy and each family reads the stage again, and a
        view defined by SQL would re-read the stages it names after they are dropped; a checkpoint holds rows."""
        con: Any = self.shop.con
        con._run_pre_execute_hooks(expr)  # registers in-memory tables (the BG/NBD scores) with Spark
        frame = self.spark.sql(con.compile(expr)).localCheckpoint(eager=True)
        frame.createOrReplaceTempView(name)
        self.frames[name] = frame
        self.names.append(name)
        return con.table(name)


@contextmanager
def scratch(shop: Shop) -> Iterator[Scratch]:
    """Yield a ``Scratch`` for one build; its tables are dropped however the build ends."""
    tables = Scratch(shop)
    try:
        yield tables
    finally:
        tables.drop()


@contextmanager
def duckdb_settings(shop: Shop, cfg: FeaturesConfig) -> Iterator[None]:
    """Apply the build's DuckDB settings for one query and put the previous ones back (nothing on Spark)."""
    if shop.engine != "duckdb":
        yield
        return
    with settings(shop.sql, cfg.duckdb_threads, cfg.duckdb_memory_limit):
        yield
