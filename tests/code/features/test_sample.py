"""The customer sample training uses on big shops: whole customers, the same ones every time, items kept whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.data.reader import Shop, read_shop
from features.data.sample import customer_sample
from features.demo.shop import write_shop
from tests.shared import demo_tables


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    folder = tmp_path_factory.mktemp("sample-shop")
    write_shop(demo_tables(400, seed=5, years=1.0), folder, "parquet")
    return read_shop(folder)


def _ids(shop: Shop, table: str) -> set[str]:
    return {r[0] for r in shop.sql.execute(f"SELECT DISTINCT customer_id FROM {table}").fetchall()}


def _count(shop: Shop, table: str) -> int:
    return int(shop.sql.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0])


def test_a_small_shop_is_kept_whole(shop: Shop) -> None:
    sample = customer_sample(shop, 10_000)
    assert sample.shop is shop and sample.is_whole and "every customer" in sample.describe()
    assert customer_sample(shop, None).shop is shop


def test_sample_keeps_every_row_of_the_sampled_customers_and_nobody_else(shop: Shop) -> None:
    total = len(_ids(shop, "transactions"))
    sample = customer_sample(shop, 150, seed=1)
    kept = _ids(sample.shop, "transactions")
    assert len(kept) == 150 == sample.kept and sample.total == total
    assert f"150 of {total:,}" in sample.describe()
    for table in ("transactions", "events", "customers"):
        assert _ids(sample.shop, table) <= kept
        rows = shop.sql.execute(f"SELECT * FROM {table} WHERE customer_id IN (SELECT unnest(?))",
                                [sorted(kept)]).df()
        assert _count(sample.shop, table) == len(rows) > 0  # whole customers: no row of theirs is lost
    assert _count(sample.shop, "items") == _count(shop, "items")
    assert sample.shop.columns == shop.columns


def test_the_same_seed_gives_the_same_customers_and_another_seed_others(shop: Shop) -> None:
    first = _ids(customer_sample(shop, 150, seed=1).shop, "transactions")
    assert _ids(customer_sample(shop, 150, seed=1).shop, "transactions") == first
    assert _ids(customer_sample(shop, 150, seed=2).shop, "transactions") != first


def test_the_sample_does_not_touch_the_shop(shop: Shop, tmp_path: Path) -> None:
    before = _count(shop, "transactions")
    customer_sample(shop, 100)
    assert _count(shop, "transactions") == before
