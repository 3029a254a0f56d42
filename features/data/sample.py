"""A seeded sample of a shop's customers: each table keyed by customer_id keeps only the sampled customers' rows.

Training learns population-level patterns, but its cost grows with the customers in every window (a feature
build per cutoff, LightGBM on each (customer, cutoff) row, the gate's bootstrap of the holdout); scoring must
see everyone. A sample of a few hundred thousand customers keeps training flat on a big shop. It is fixed by
an MD5 of (seed, customer_id), so it is the same customers in every window, every run and every engine, and it
does not depend on row order; the items table is kept whole.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb
import ibis

from features import columns as C
from features.data.reader import Shop

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Sample:
    """A shop restricted to a sample of its customers, and how many it kept out of how many."""

    shop: Shop
    kept: int
    total: int

    @property
    def is_whole(self) -> bool:
        return self.kept == self.total

    def describe(self) -> str:
        if self.is_whole:
            return f"every customer ({self.total:,})"
        return f"a seeded sample of {self.kept:,} of {self.total:,} customers ({self.kept / self.total:.0%})"


def customer_sample(shop: Shop, max_customers: int | None, seed: int = 0) -> Sample:
    """Return the shop restricted to at most ``max_customers`` customers of its transactions (None: all of them).

    Every table with a customer_id column keeps the rows of the sampled customers; other tables are kept whole.
    The sampled tables are held in memory by a new DuckDB connection (on Spark they are handed to the same
    session), so the windows built from it do not re-read the shop's files.
    """
    total = int(shop.sql.execute(f"SELECT count(DISTINCT {C.CUSTOMER_ID}) FROM transactions").fetchall()[0][0])
    if max_customers is None or total <= max_customers:
        return Sample(shop, total, total)
    kept = shop.sql.sql(
        f"SELECT {C.CUSTOMER_ID} FROM (SELECT DISTINCT {C.CUSTOMER_ID} FROM transactions) "
        f"ORDER BY md5($seed || ':' || {C.CUSTOMER_ID}), {C.CUSTOMER_ID} LIMIT $n",
        params={"seed": str(seed), "n": max_customers}).to_arrow_table()
    con = duckdb.connect()
    shop.sql.register("__sampled_customers", kept)
    try:
        for name, columns in shop.columns.items():
            where = (f" WHERE {C.CUSTOMER_ID} IN (SELECT {C.CUSTOMER_ID} FROM __sampled_customers)"
                     if C.CUSTOMER_ID in columns else "")
            con.register("__rows", shop.sql.sql(f"SELECT * FROM {name}{where}").to_arrow_reader())
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM __rows")  # streamed batch by batch, never held twice
            con.unregister("__rows")
    finally:
        shop.sql.unregister("__sampled_customers")
    sampled = Shop(ibis.duckdb.from_connection(con), f"{shop.source} (sample)", shop.files, shop.columns,
                   shop.warnings)
    if shop.engine == "spark":
        from features.data.spark import spark_shop

        sampled = spark_shop(sampled, shop.con._session)
    logger.info("training on a seeded sample of %d of %d customers", max_customers, total)
    return Sample(sampled, max_customers, total)
