"""Issue 30, the command line as a hostile user drives it: no command overwrites the shop it reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from training.cli.app import app

runner = CliRunner()
LINES = ("customer_id,order_id,timestamp,amount,item_id\nC1,O1,2024-01-05,10,I1\nC1,O2,2024-02-05,12.5,I2\n"
         "C2,O3,2024-01-20,7,I1\nC2,O4,2024-03-01,3,I2\n")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "transactions.csv").write_text(LINES)
    return tmp_path / "shop"


def said(output: str) -> str:
    return " ".join(output.split())


@pytest.mark.parametrize("args, out", [
    (["segments"], "transactions.csv"),  # names the order history itself
    (["features", "--cutoff", "2024-03-01"], "events.csv"),  # would add an events table
    (["metrics"], "customers.parquet"),  # would add a customers table to the shop
    (["products"], ".retention-cache/x.csv"),  # inside the checked-table cache
    (["segments"], "events_journal/events-x.csv"),  # inside the live journal
])
def test_out_over_the_shops_own_tables_is_refused(shop: Path, args: list[str], out: str) -> None:
    before = {p.name: p.read_bytes() for p in shop.iterdir() if p.is_file()}
    result = runner.invoke(app, [*args, "--data", str(shop), "--out", str(shop / out)])
    assert result.exit_code == 2, result.output
    assert "write the results outside the data folder" in said(result.output)
    assert {p.name: p.read_bytes() for p in shop.iterdir() if p.is_file()} == before
    assert out in before or not (shop / out).exists()


def test_out_through_another_spelling_of_the_folder_is_refused(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "link").symlink_to(shop)
    result = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(tmp_path / "link" / "transactions.csv")])
    assert result.exit_code == 2, result.output
    assert "would overwrite or shadow the shop's transactions table" in said(result.output)
    assert (shop / "transactions.csv").read_text() == LINES


def test_migration_and_other_files_in_the_shop_folder_are_checked_too(shop: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(tmp_path / "s.csv"),
                                 "--migration", str(shop / "items.csv")])
    assert result.exit_code == 2, result.output
    assert "shop's items table" in said(result.output)
    ok = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(shop / "segments.csv")])
    assert ok.exit_code == 0, ok.output  # a file that is not a table may sit beside the tables
