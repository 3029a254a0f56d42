"""Issue 30, the command line as a hostile user drives it: no command overwrites the shop it reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.code.training.conftest import LINES
from training.cli.app import app

runner = CliRunner()


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


def absurd_shop(folder: Path, lines: int = 50) -> Path:
    """The demo shop with ``lines`` order lines priced at 1e12 (finite, so the contract lets them in)."""
    from features.demo.shop import write_shop
    from tests.shared import demo_tables

    tables = demo_tables(1000, seed=13)
    tx = tables["transactions"]
    tx.loc[tx.sample(lines, random_state=1).index, "amount"] = 1e12
    tables["customers"].loc[tables["customers"].index[:2], "birth_date"] = pd.Timestamp("1800-01-01")
    write_shop(tables, folder, "parquet")
    return folder


def test_validate_warns_about_absurd_amounts_and_birth_dates(tmp_path: Path) -> None:
    shop = absurd_shop(tmp_path / "shop")
    result = runner.invoke(app, ["validate", "--data", str(shop)])
    assert result.exit_code == 0, result.output
    text = said(result.output)
    assert "50 line(s) with an amount far beyond the shop's usual" in text and "1e+12" in text
    assert "2 birth_date(s) before" in text and "1800-01-01" in text
    lenient = runner.invoke(app, ["validate", "--data", str(shop), "--max-amount-z", "1000"])
    assert "far beyond" not in said(lenient.output)  # the threshold is the user's


def test_a_cutoff_far_in_the_future_is_refused(shop: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["segments", "--data", str(shop), "--cutoff", "2999-01-01",
                                 "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 2, result.output
    assert "cutoff '2999-01-01' is later than now plus a day" in said(result.output)


@pytest.mark.integration
def test_a_failing_baseline_drops_out_and_train_goes_on(temp_registry: Path) -> None:
    import yaml

    from tests.shared import small_config

    shop = absurd_shop(temp_registry / "shop")
    (temp_registry / "small.yaml").write_text(yaml.safe_dump(small_config()))
    result = runner.invoke(app, ["train", "--data", str(shop), "--config", str(temp_registry / "small.yaml")])
    assert result.exit_code == 0, result.output
    assert "the bgnbd baseline failed and is left out of the comparison (Gamma-Gamma" in said(result.output)


def test_exports_for_people_neutralise_formulas_and_parquet_keeps_the_raw_id(tmp_path: Path) -> None:
    shop = tmp_path / "formula"
    shop.mkdir()
    (shop / "transactions.csv").write_text(LINES.replace("C1,", "=HYPERLINK(1),").replace("C2,", "-2,"))
    for suffix in ("csv", "parquet"):
        result = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(tmp_path / f"s.{suffix}")])
        assert result.exit_code == 0, result.output
    as_text = pd.read_csv(tmp_path / "s.csv", dtype=str)["customer_id"]
    assert sorted(as_text) == ["'-2", "'=HYPERLINK(1)"]
    assert sorted(pd.read_parquet(tmp_path / "s.parquet")["customer_id"]) == ["-2", "=HYPERLINK(1)"]


def test_a_dangling_table_link_is_reported_not_silently_missing(shop: Path) -> None:
    (shop / "items.parquet").symlink_to(shop / "gone" / "items.parquet")
    result = runner.invoke(app, ["validate", "--data", str(shop)])
    assert result.exit_code == 2, result.output
    text = said(result.output)
    assert "a symbolic link to" in text and "items table would be silently missing" in text


def test_serve_with_malformed_yaml_is_a_sentence(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("registry: [unclosed\n  - x: :\n")
    result = runner.invoke(app, ["serve", "--data", str(shop), "--config", str(tmp_path / "bad.yaml")])
    assert result.exit_code == 2, result.output
    assert "bad.yaml: not valid YAML at line 2" in said(result.output)
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_advice_names_the_fix_that_applies(tmp_path: Path) -> None:
    import numpy as np

    from features.btyd.fitters import BetaGeoFitter

    returns = tmp_path / "returns"
    returns.mkdir()
    (returns / "transactions.csv").write_text("customer_id,order_id,timestamp,amount,quantity\n"
                                              "C1,O1,2024-01-05,10,-1\nC2,O2,2024-03-05,10,1\n")
    result = runner.invoke(app, ["segments", "--data", str(returns), "--cutoff", "2024-02-01",
                                 "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 2, result.output
    assert "every order before it is a return" in said(result.output) and "later --cutoff" not in result.output
    with pytest.raises(ValueError) as no_repeat:
        BetaGeoFitter().fit(np.zeros(5), np.zeros(5), np.full(5, 10.0))
    assert "a later cutoff" in str(no_repeat.value) and "calibration period" not in str(no_repeat.value)
