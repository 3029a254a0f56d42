"""Which engine runs the feature queries, and opening a shop on it.

``duckdb`` (embedded, the default) or ``spark`` (Ibis' PySpark backend). Either way DuckDB checks the shop
against the contract; on Spark the checked tables are read from Parquet and every Ibis expression runs there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from features.data.contract import EngineUnavailableError
from features.data.reader import Shop, read_shop

__all__ = ["ENGINES", "Engine", "EngineUnavailableError", "open_shop"]

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")


def open_shop(path: str | Path, engine: Engine = "duckdb", cache: bool = True,
              spark_conf: dict[str, str] | None = None) -> Shop:
    """Read and check the shop at ``path`` (cached checks unless ``cache`` is False) and put it on ``engine``.

    ``path`` is a shop folder or DuckDB file, or with ``engine="spark"`` ``spark:<database>``: the tables
    ``<database>.transactions`` (and events, customers, items) the Spark session's catalogue already has.

    Raises
    ------
    ValueError
        For an unknown engine.
    EngineUnavailableError
        When ``spark`` is asked for without pyspark or Java.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; expected one of {', '.join(ENGINES)}")
    if str(path).startswith("spark:"):  # tables the cluster already has
        if engine != "spark":
            raise ValueError(f"--data {path} names Spark catalogue tables: run it with --engine spark")
        from features.data.spark import catalog_shop, spark_session

        return catalog_shop(str(path), spark_session(spark_conf), cache=cache)
    shop = read_shop(path, cache=cache)
    if engine == "duckdb":
        return shop
    from features.data.spark import spark_session, spark_shop  # pyspark only when asked for

    return spark_shop(shop, spark_session(spark_conf))
