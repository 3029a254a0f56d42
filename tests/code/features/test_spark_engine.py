"""The same feature pipeline on DuckDB and on Spark (Ibis' PySpark backend, local[2]) gives the same table.

One small demo shop (300 customers, every table and family), one Spark session for the module. Spark needs
pyspark (the project's `spark` extra, installed by `make setup`) and Java (`make java`, a dependency of `make test`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from features.data.contract import ShopDataError
from features.data.engine import open_shop
from features.data.reader import Shop
from features.data.spark import spark_session, spark_shop
from features.demo.shop import write_shop
from features.families.build import FeatureFrame, build_features
from features.families.config import FeaturesConfig
from tests.shared import demo_tables

CUTOFF = "2026-08-01"
# one shuffle partition: the shop is tiny, and Spark's per-task overhead is what a test would measure
SMALL = {"spark.sql.shuffle.partitions": "1", "spark.default.parallelism": "2"}


@pytest.fixture(scope="module")
def shop_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark-shop")
    write_shop(demo_tables(300, seed=1), folder, "parquet")
    return folder


@pytest.fixture(scope="module")
def spark(shop_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    warehouse = tmp_path_factory.mktemp("spark-warehouse")  # catalogue tables live there, not in the work tree
    session = spark_session({**SMALL, "spark.sql.warehouse.dir": str(warehouse)})
    yield session
    session.stop()


@pytest.fixture(scope="module")
def both(shop_dir: Path, spark: Any) -> tuple[FeatureFrame, FeatureFrame]:
    duck = open_shop(shop_dir)
    on_spark = spark_shop(open_shop(shop_dir), spark)
    return build_features(duck, CUTOFF), build_features(on_spark, CUTOFF)


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sample(frac=1.0, random_state=0).sort_values("customer_id").reset_index(drop=True)


def test_spark_shop_reads_the_checked_parquet(shop_dir: Path, spark: Any) -> None:
    shop: Shop = spark_shop(open_shop(shop_dir), spark)
    assert shop.engine == "spark" and shop.con.name == "pyspark"
    assert all(Path(f).is_relative_to(shop_dir / ".retention-cache") for f in shop.parquet.values())
    assert int(shop.transactions.count().execute()) == int(shop.sql.execute("SELECT count(*) FROM transactions")
                                                          .fetchone()[0])


def test_every_family_is_built_on_both_engines(both: tuple[FeatureFrame, FeatureFrame]) -> None:
    duck, spark = both
    assert set(duck.included) == set(spark.included) == {"rfm", "cadence", "bgnbd", "basket", "categories",
                                                          "promotions", "site", "channel", "timing", "profile"}
    assert duck.left_out == spark.left_out == {}
    assert duck.notes == spark.notes


def test_features_are_equal_up_to_float_tolerance_and_row_order(both: tuple[FeatureFrame, FeatureFrame]) -> None:
    duck, spark = (_sorted(f.frame) for f in both)
    assert list(duck.columns) == list(spark.columns)
    assert len(duck) == len(spark) > 100
    assert duck["customer_id"].tolist() == spark["customer_id"].tolist()
    numeric = [c for c in duck.columns if pd.api.types.is_float_dtype(duck[c])]
    assert len(numeric) > 30
    for column in numeric:
        np.testing.assert_allclose(spark[column].to_numpy(), duck[column].to_numpy(), rtol=1e-9, atol=1e-9,
                                   equal_nan=True, err_msg=column)
    for column in (c for c in duck.columns if c not in numeric):
        assert duck[column].fillna("<null>").tolist() == spark[column].fillna("<null>").tolist(), column


def test_money_is_the_same_to_the_last_bit_on_both_engines(both: tuple[FeatureFrame, FeatureFrame]) -> None:
    """Revenue is summed in exact integer millionths on both engines, so the sums do not depend on how Spark
    partitions the lines or how DuckDB's threads add them: equal bits, not equal up to a tolerance."""
    duck, spark = (_sorted(f.frame) for f in both)
    money = ["net_revenue", *[c for c in duck.columns if c.startswith("revenue_")]]
    assert len(money) >= 4
    pd.testing.assert_frame_equal(spark[money], duck[money], check_exact=True)


def test_cli_features_with_the_config_engine_spark(shop_dir: Path, spark: Any, tmp_path: Path,
                                                   both: tuple[FeatureFrame, FeatureFrame]) -> None:
    """features.engine: spark in a run config reaches the command (RFM only: the families are compared above)."""
    from typer.testing import CliRunner

    from training.cli.app import app

    config, out = tmp_path / "spark.yaml", tmp_path / "features.parquet"
    config.write_text("features:\n  engine: spark\n  families: [rfm]\n")
    result = CliRunner().invoke(app, ["features", "--data", str(shop_dir), "--cutoff", CUTOFF, "--out", str(out),
                                      "--config", str(config)])  # the session of this module is reused
    assert result.exit_code == 0, result.output
    written = _sorted(pd.read_parquet(out))
    expected = _sorted(both[0].frame)[list(written.columns)]
    pd.testing.assert_frame_equal(written, expected, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-9)


def test_spark_without_java_is_refused_with_a_sentence(shop_dir: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from training.cli.app import app

    monkeypatch.setenv("PATH", str(tmp_path))  # no java on it
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.delenv("SPARK_REMOTE", raising=False)
    result = CliRunner().invoke(app, ["segments", "--data", str(shop_dir), "--out", str(tmp_path / "s.csv"),
                                      "--engine", "spark"])
    assert result.exit_code == 2
    assert "needs a Java runtime" in result.output and "make java" in result.output


def test_an_unknown_engine_is_refused(shop_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training.cli.app import app

    result = CliRunner().invoke(app, ["products", "--data", str(shop_dir), "--out", str(tmp_path / "p.csv"),
                                      "--engine", "snowflake"])
    assert result.exit_code == 2 and "expected duckdb or spark" in result.output


def test_spark_without_pyspark_is_refused_with_a_sentence(shop_dir: Path, tmp_path: Path) -> None:
    """A Python where pyspark cannot be imported (as without the spark extra) gets exit 2 and what to install."""
    import subprocess
    import sys

    script = ("import sys; sys.modules['pyspark'] = None; sys.modules['pyspark.sql'] = None\n"
              "from training.cli.app import app; app()")
    done = subprocess.run([sys.executable, "-c", script, "products", "--data", str(shop_dir), "--out",
                           str(tmp_path / "p.csv"), "--engine", "spark"], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    assert done.returncode == 2, done.stderr
    assert "needs pyspark" in done.stderr and "retention[spark]" in done.stderr


@pytest.fixture(scope="module")
def catalog(shop_dir: Path, spark: Any) -> str:
    """The demo shop's raw files as tables of a Spark database, as a cluster would hold them."""
    spark.sql("CREATE DATABASE IF NOT EXISTS shop_db")
    for name in ("transactions", "events", "customers", "items"):
        spark.read.parquet(str(shop_dir / f"{name}.parquet")).createOrReplaceTempView(f"raw_{name}")
        spark.sql(f"CREATE TABLE shop_db.{name} USING parquet AS SELECT * FROM raw_{name}")
    return "spark:shop_db"


def test_tables_the_cluster_has_give_the_same_features(catalog: str, both: tuple[FeatureFrame, FeatureFrame]) -> None:
    shop = open_shop(catalog, "spark")
    assert shop.engine == "spark" and shop.source == catalog
    assert shop.files["transactions"] == "spark:shop_db.transactions" and set(shop.files) == set(shop.columns)
    from_catalog = _sorted(build_features(shop, CUTOFF, FeaturesConfig(families=("rfm", "cadence"))).frame)
    expected = _sorted(both[0].frame)[list(from_catalog.columns)]
    pd.testing.assert_frame_equal(from_catalog, expected, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-9)


def test_a_bad_catalogue_table_names_the_table_not_the_staged_file(spark: Any, catalog: str) -> None:
    spark.sql("CREATE DATABASE IF NOT EXISTS bad_db")
    spark.sql("CREATE TABLE bad_db.transactions USING parquet AS SELECT customer_id, order_id, "
              "CAST('soon' AS STRING) AS timestamp, price FROM shop_db.transactions LIMIT 5")
    with pytest.raises(ShopDataError) as raised:
        open_shop("spark:bad_db", "spark")
    assert "spark:bad_db.transactions, column 'timestamp': unparseable timestamp in 5 rows" in str(raised.value)
    with pytest.raises(FileNotFoundError, match=r"spark:nowhere: no such Spark database"):
        open_shop("spark:nowhere", "spark")
    spark.sql("CREATE DATABASE IF NOT EXISTS empty_db")
    with pytest.raises(FileNotFoundError, match=r"no table empty_db.transactions \(found: none\)"):
        open_shop("spark:empty_db", "spark")
    with pytest.raises(ValueError, match="run it with --engine spark"):
        open_shop("spark:shop_db", "duckdb")
