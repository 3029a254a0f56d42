"""The data commands as a person runs them: exit codes, printed summaries, nothing written on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from training.cli.app import app

SAMPLE = Path(__file__).parents[2] / "data" / "cdnow_sample.txt"
runner = CliRunner()


def test_installed_entry_point_lists_commands() -> None:
    exe = Path(sys.executable).parent / "retention"
    result = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True)
    for command in ("validate", "demo-data", "import-cdnow"):
        assert command in result.stdout


def test_import_cdnow_sample_then_validate(tmp_path: Path) -> None:
    result = runner.invoke(app, ["import-cdnow", str(SAMPLE), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "6,919 lines, 2,357 customers, 6,696 orders" in result.output
    result = runner.invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "1997-01-01 to 1998-06-30" in result.output
    assert "48.3% ordered more than once" in result.output
    assert "recommendations: needs transactions.item_id" in result.output


def test_import_cdnow_master_layout_with_header_and_crlf(tmp_path: Path) -> None:
    master = tmp_path / "master.txt"
    master.write_bytes(b"customer_id date number_of_cds dollar_value\r\n"
                       b" 00001 19970101  1   11.77\r\n 00002 19970112  1   12.00\r\n 00002 19970112  5   77.00\r\n")
    result = runner.invoke(app, ["import-cdnow", str(master), "--out", str(tmp_path / "out"), "--format", "csv"])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(tmp_path / "out" / "transactions.csv", dtype=str)
    assert frame["customer_id"].tolist() == ["00001", "00002", "00002"]
    assert frame["order_id"].nunique() == 2  # two lines on one customer-day are one order


def test_import_cdnow_rejects_other_layouts_and_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("00001 19970101 1\n00002 19970112 1\n")
    result = runner.invoke(app, ["import-cdnow", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "expected 4 fields" in result.output
    assert not (tmp_path / "out").exists()


def test_validate_bad_data_exits_2_with_every_problem(tmp_path: Path) -> None:
    pd.DataFrame({"customer_id": ["1", "2"], "order_id": ["a", "b"], "timestamp": ["2024-01-01", "soon"],
                  "amount": ["5", "x"]}).to_csv(tmp_path / "transactions.csv", index=False)
    result = runner.invoke(app, ["validate", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "2 problem(s)" in result.output
    assert "column 'timestamp': unparseable timestamp in 1 row: line 3: 'soon'" in result.output
    assert "column 'amount': non-numeric value in 1 row: line 3: 'x'" in result.output


def test_validate_missing_folder_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", "--data", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "no such folder" in result.output


def test_validate_no_cache_checks_again_and_writes_no_cache(tmp_path: Path) -> None:
    runner.invoke(app, ["import-cdnow", str(SAMPLE), "--out", str(tmp_path)])
    result = runner.invoke(app, ["validate", "--data", str(tmp_path), "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "2,357" in result.output
    assert not (tmp_path / ".retention-cache").exists()
    assert runner.invoke(app, ["validate", "--data", str(tmp_path)]).exit_code == 0
    assert (tmp_path / ".retention-cache").exists()  # the default keeps the checked tables for later commands
