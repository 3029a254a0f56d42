"""The checked-table cache: a second read skips the checks, a changed file or a corrupt entry is never trusted."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd
import pytest

from features.data.checked import CACHE_DIR, entry_dir, shop_meta, write_entry
from features.data.reader import read_shop
from features.demo.shop import write_shop
from tests.shared import demo_tables

HIT = "checked tables from the cache"


@pytest.fixture
def shop_dir(tmp_path: Path) -> Path:
    write_shop(demo_tables(200, seed=3, years=1.0), tmp_path, "csv")
    return tmp_path


def _table(folder: Path, name: str = "transactions") -> pd.DataFrame:
    frame = read_shop(folder).to_pandas(name)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_second_read_uses_the_cache_and_gives_the_same_tables(shop_dir: Path,
                                                                caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="features.data.reader")
    first = _table(shop_dir)
    assert HIT not in caplog.text and entry_dir(shop_dir).is_dir()
    caplog.clear()
    second = _table(shop_dir)
    assert HIT in caplog.text
    pd.testing.assert_frame_equal(first, second)
    assert read_shop(shop_dir).parquet["transactions"].startswith(str(shop_dir / CACHE_DIR))


def test_a_touched_file_invalidates_the_entry(shop_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    read_shop(shop_dir)
    old = entry_dir(shop_dir)
    file = shop_dir / "customers.csv"
    stat = file.stat()
    os.utime(file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    caplog.set_level(logging.INFO, logger="features.data.reader")
    read_shop(shop_dir)
    assert HIT not in caplog.text
    assert entry_dir(shop_dir) != old and not old.exists()  # the stale entry is gone


def test_a_changed_file_is_read_again(shop_dir: Path) -> None:
    read_shop(shop_dir)
    file = shop_dir / "transactions.csv"
    lines = file.read_text().splitlines(keepends=True)
    file.write_text("".join(lines[:-5]))  # five order lines fewer
    assert len(_table(shop_dir)) == len(lines) - 1 - 5


def test_a_changed_file_that_breaks_the_contract_is_refused_not_served_from_the_cache(shop_dir: Path) -> None:
    read_shop(shop_dir)
    file = shop_dir / "transactions.csv"
    header, first, *rest = file.read_text().splitlines(keepends=True)
    file.write_text(header + first.replace(first.split(",")[0], "", 1) + "".join(rest))  # empty customer_id
    with pytest.raises(ValueError, match="customer_id"):
        read_shop(shop_dir)


@pytest.mark.parametrize("damage", ["truncate", "delete", "meta"])
def test_a_corrupt_entry_is_rebuilt_not_trusted(shop_dir: Path, caplog: pytest.LogCaptureFixture,
                                                damage: str) -> None:
    expected = _table(shop_dir)
    entry = entry_dir(shop_dir)
    target = entry / ("meta.json" if damage == "meta" else "transactions.parquet")
    if damage == "delete":
        target.unlink()
    else:
        target.write_bytes(target.read_bytes()[: target.stat().st_size // 2])
    caplog.set_level(logging.INFO)
    pd.testing.assert_frame_equal(_table(shop_dir), expected)
    assert "unusable" in caplog.text and HIT not in caplog.text
    assert (entry / "meta.json").exists()  # written again


def test_no_cache_checks_every_time_and_writes_nothing(shop_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="features.data.reader")
    read_shop(shop_dir, cache=False)
    read_shop(shop_dir, cache=False)
    assert HIT not in caplog.text and not (shop_dir / CACHE_DIR).exists()


def test_a_new_demo_shop_replaces_a_cached_one(shop_dir: Path) -> None:
    read_shop(shop_dir)
    write_shop(demo_tables(100, seed=4, years=1.0), shop_dir, "csv")  # the cache does not count as foreign files
    assert not (shop_dir / CACHE_DIR).exists()


def _all_tables(folder: Path, cache: bool = True) -> dict[str, pd.DataFrame]:
    shop = read_shop(folder, cache=cache)
    return {name: shop.to_pandas(name).sort_values(list(shop.columns[name])).reset_index(drop=True)
            for name in shop.columns}


def test_a_parquet_shop_checking_changes_nothing_in_is_kept_as_queries_not_copies(tmp_path: Path) -> None:
    """Typed Parquet with clean text: the entry holds no copy of any table, and serves the tables a check gives."""
    write_shop(demo_tables(200, seed=3, years=1.0), tmp_path, "parquet")
    checked = _all_tables(tmp_path, cache=False)
    first, second = _all_tables(tmp_path), _all_tables(tmp_path)  # the second read comes from the entry
    entry = entry_dir(tmp_path)
    assert not list(entry.glob("*.parquet")) and read_shop(tmp_path).parquet == {}
    for name, frame in checked.items():
        pd.testing.assert_frame_equal(first[name], frame)
        pd.testing.assert_frame_equal(second[name], frame)


def test_a_parquet_table_whose_text_checking_trims_is_copied_as_checked(tmp_path: Path) -> None:
    tables = demo_tables(100, seed=3, years=1.0)
    tables["transactions"].loc[0, "customer_id"] = "  " + tables["transactions"].loc[0, "customer_id"] + " "
    write_shop(tables, tmp_path, "parquet")
    read_shop(tmp_path)
    shop = read_shop(tmp_path)
    assert set(shop.parquet) == {"transactions"}  # the other tables are kept as queries over their files
    ids = shop.to_pandas("transactions")["customer_id"]
    assert not ids.str.startswith(" ").any() and tables["transactions"].loc[0, "customer_id"].strip() in set(ids)


def test_a_second_writer_of_the_same_files_keeps_the_entry_another_command_is_reading(shop_dir: Path) -> None:
    """Two commands started at once on a cold shop both check it and both write the entry: the second must not
    delete the first's entry (the first reads it back right after writing it), and leaves no temporary folder."""
    expected = _table(shop_dir)  # the first command's entry
    entry = entry_dir(shop_dir)
    first = entry.stat().st_ino
    other = read_shop(shop_dir, cache=False)  # the second command missed the cache and checked the files itself
    written = write_entry(other.sql, shop_dir, shop_meta(other.source, other.files, other.columns, other.warnings,
                                                         other.views))
    assert written == entry and entry.stat().st_ino == first
    assert [p.name for p in (shop_dir / CACHE_DIR).iterdir()] == [entry.name]
    pd.testing.assert_frame_equal(_table(shop_dir), expected)
