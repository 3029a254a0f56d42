"""Spark for ``--engine spark``: a session from Spark's own configuration, and a checked shop's tables on it.

DuckDB checks the shop (the contract stays in one place) and its checked, typed tables are Parquet files (the
checked-table cache, or a temporary folder when the cache is off); Spark reads those files and the feature
families' Ibis expressions run on Ibis' PySpark backend. Imported only when the engine is spark: pyspark and
a Java runtime are optional (``pip install 'retention[spark]'``, ``make java``).

Data comes from a shop folder (Parquet/CSV, as for DuckDB) or from tables the cluster already has: ``--data
spark:<database>`` reads ``<database>.transactions`` (and ``events``, ``customers``, ``items`` when they exist)
from the session's catalogue. Those tables are staged once as Parquet for the contract checks (DuckDB, on the
driver) and the checked tables go back to Spark; a problem names ``spark:<database>.<table>``, not the staged file.

Where Spark runs: ``SPARK_REMOTE`` (Spark Connect) or ``SPARK_MASTER`` (a master URL) from the environment, as
Spark itself reads them; otherwise local mode on two cores. On a cluster the Parquet files must be on storage
the executors see (the shop folder on a shared file system).
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ibis

from features.data.contract import SPECS, EngineUnavailableError, Problem, ShopDataError
from features.data.reader import Shop, read_shop

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

logger = logging.getLogger(__name__)

LOCAL_MASTER = "local[2]"
# Small shuffles by default: Spark's 200 partitions cost more than they give on one machine; a cluster
# overrides them in spark_conf.
DEFAULT_CONF = {"spark.ui.enabled": "false", "spark.ui.showConsoleProgress": "false",
                "spark.sql.shuffle.partitions": "4", "spark.sql.session.timeZone": "UTC", "spark.driver.memory": "4g"}


def spark_session(conf: dict[str, str] | None = None) -> SparkSession:
    """Return a Spark session: Spark Connect at ``SPARK_REMOTE``, the master at ``SPARK_MASTER``, else local.

    Raises
    ------
    EngineUnavailableError
        When pyspark is not installed, or no Java runtime is found for a local or classic session.
    """
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise EngineUnavailableError("--engine spark needs pyspark: install it with `pip install 'retention[spark]'` "
                                "(or `make setup`)") from None
    remote = os.environ.get("SPARK_REMOTE")
    if not remote and not (shutil.which("java") or os.environ.get("JAVA_HOME")):
        raise EngineUnavailableError("--engine spark needs a Java runtime (17 or later) on the PATH or in JAVA_HOME: "
                                "install it with `make java` (Debian: apt-get install default-jre-headless)")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark resolves the host name and may warn or hang
    builder = SparkSession.builder.appName("retention")
    builder = builder.remote(remote) if remote else builder.master(os.environ.get("SPARK_MASTER", LOCAL_MASTER))
    for key, value in {**DEFAULT_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # Py4J / JVM start-up errors have no common base class
        raise EngineUnavailableError(f"Spark did not start ({type(exc).__name__}: {str(exc)[:300]}); check Java "
                                "(`make java`) and SPARK_REMOTE / SPARK_MASTER") from None
    if not remote:
        session.sparkContext.setLogLevel("ERROR")  # Spark's own INFO/WARN lines would drown the command's output
    logger.info("Spark %s session on %s", session.version, remote or os.environ.get("SPARK_MASTER", LOCAL_MASTER))
    return session


def spark_shop(shop: Shop, session: SparkSession) -> Shop:
    """Return ``shop`` with its checked tables on Spark; SQL checks keep running on its DuckDB connection."""
    parquet = {**_written(shop, [n for n in shop.columns if n not in shop.parquet]), **shop.parquet}
    for name, file in parquet.items():
        session.read.parquet(file).createOrReplaceTempView(name)
    con = ibis.pyspark.connect(session)
    return Shop(con, shop.source, shop.files, shop.columns, shop.warnings, duck=shop.sql, parquet=parquet)


CATALOG = "spark:"


def catalog_shop(source: str, session: SparkSession, cache: bool = True) -> Shop:
    """Return the shop held by the cluster's tables ``<database>.<table>`` (``source`` is ``spark:<database>``).

    Raises
    ------
    FileNotFoundError
        When the database has no ``transactions`` table (the message lists the tables it has).
    ShopDataError
        When a table breaks the contract; every problem names ``spark:<database>.<table>``.
    """
    database = source.removeprefix(CATALOG)
    if not database:
        raise ValueError("--data spark:<database>: name the database that holds the transactions table")
    try:
        present = {t.name for t in session.catalog.listTables(database) if not t.isTemporary}  # not our views
    except Exception as exc:  # AnalysisException when the database does not exist
        raise FileNotFoundError(f"{source}: no such Spark database ({str(exc).splitlines()[0][:200]})") from None
    if "transactions" not in present:
        raise FileNotFoundError(f"{source}: no table {database}.transactions (found: "
                                f"{', '.join(sorted(present)) or 'none'})")
    folder = Path(tempfile.mkdtemp(prefix="retention-catalog-"))
    atexit.register(shutil.rmtree, folder, True)
    staged = {name: _staged(session, f"{database}.{name}", folder, name) for name in SPECS if name in present}
    logger.info("staged %s from %s for the contract checks", ", ".join(staged), source)
    try:
        shop = read_shop(folder, cache=cache)
    except ShopDataError as exc:
        names = {str(file): f"{CATALOG}{database}.{name}" for name, file in staged.items()}
        raise ShopDataError([_renamed(p, names) for p in exc.problems]) from None
    files = {name: f"{CATALOG}{database}.{name}" for name in staged}
    return spark_shop(dataclasses.replace(shop, source=source, files=files), session)


def _staged(session: SparkSession, table: str, folder: Path, name: str) -> Path:
    """Write one catalogue table as a single Parquet file ``folder/name.parquet``."""
    parts = folder / f".{name}"
    session.table(table).coalesce(1).write.mode("overwrite").parquet(str(parts))
    written = sorted(parts.glob("part-*.parquet"))
    if len(written) != 1:
        raise OSError(f"staging {table} wrote {len(written)} Parquet parts to {parts}; expected one")
    target = folder / f"{name}.parquet"
    written[0].rename(target)
    shutil.rmtree(parts, ignore_errors=True)
    return target


def _renamed(problem: Problem, names: dict[str, str]) -> Problem:
    return dataclasses.replace(problem, file=names.get(problem.file, problem.file))


def _written(shop: Shop, names: list[str]) -> dict[str, str]:
    """Write these checked tables as Parquet for Spark: into the shop's cache entry when it has one (a table the
    cache keeps as a query over its file; written once, then reused), else to a temporary folder (removed at exit).
    """
    if not names:
        return {}
    if shop.cache_entry:
        folder = Path(shop.cache_entry)
    else:
        folder = Path(tempfile.mkdtemp(prefix="retention-checked-"))
        atexit.register(shutil.rmtree, folder, True)
    written = {}
    for name in names:
        file = folder / f"{name}.parquet"
        if not file.exists():
            tmp = folder / f".{name}.{os.getpid()}.parquet.tmp"
            shop.sql.execute(f"COPY (SELECT * FROM {name}) TO '{tmp}' (FORMAT parquet)")
            os.replace(tmp, file)  # a complete file or none, for the next Spark run to reuse
        written[name] = str(file)
    return written


def stop_spark(shop: Shop) -> None:
    """Stop the shop's Spark session (a no-op for a DuckDB shop)."""
    session: Any = getattr(shop.con, "_session", None)
    if shop.engine != "duckdb" and session is not None:
        session.stop()
