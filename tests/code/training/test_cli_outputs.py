"""Issue 19, outputs: a path that cannot be written is a sentence (exit 2), files of one command are written as a
set, and demo-data swaps a whole shop in at once."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.data.io import replace_folder, write_frames
from features.data.reader import read_shop
from training.cli.app import app

runner = CliRunner()


def test_out_naming_an_existing_folder_is_refused(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "taken.csv").mkdir()
    result = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(tmp_path / "taken.csv")])
    assert result.exit_code == 2, result.output
    assert "taken.csv is a folder; --out names the file to write" in " ".join(result.output.split())


def test_out_below_a_file_is_refused(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("x")
    result = runner.invoke(app, ["metrics", "--data", str(shop), "--out", str(tmp_path / "plain" / "m.csv")])
    assert result.exit_code == 2, result.output
    assert "is a file, not a folder" in " ".join(result.output.split())


def test_unwritable_folder_is_a_sentence(shop: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the tests run as root, for whom no folder is read-only: the OS refusal is simulated where it would happen
    def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied", str(tmp_path / "out"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    result = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(tmp_path / "out" / "s.csv")])
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output and "Permission denied" in result.output
    assert "Traceback" not in result.output


def test_second_file_failing_leaves_the_first_untouched(tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    first.write_text("old\n")
    (tmp_path / "b.csv").mkdir()  # in the way of the second file
    with pytest.raises(ValueError):
        write_frames({first: pd.DataFrame({"x": [1]}), tmp_path / "b.csv": pd.DataFrame({"y": [2]})})
    assert first.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.csv"]  # no temp file left behind


def test_segments_with_migration_writes_both_or_neither(shop: Path, tmp_path: Path) -> None:
    (tmp_path / "moves.csv").mkdir()
    out = tmp_path / "seg.csv"
    result = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(out), "--migration",
                                 str(tmp_path / "moves.csv")])
    assert result.exit_code == 2
    assert not out.exists()


def test_demo_data_out_naming_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "shop.csv").write_text("x")
    result = runner.invoke(app, ["demo-data", "--out", str(tmp_path / "shop.csv"), "--customers", "100"])
    assert result.exit_code == 2, result.output
    assert "is a file; give a folder" in result.output
    assert (tmp_path / "shop.csv").read_text() == "x"


def test_demo_data_refuses_a_folder_holding_another_shop(shop: Path) -> None:
    result = runner.invoke(app, ["demo-data", "--out", str(shop), "--customers", "100"])
    assert result.exit_code == 2, result.output
    assert "holds other files (transactions.csv)" in " ".join(result.output.split())
    assert sorted(p.name for p in shop.iterdir()) == ["transactions.csv"]


def test_replace_folder_swaps_the_whole_shop(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    frame = pd.DataFrame({"customer_id": ["1"], "order_id": ["a"], "timestamp": ["2024-01-01"], "amount": [1.0]})
    owned = ("transactions.csv", "customers.csv")
    replace_folder({"transactions": frame, "customers": pd.DataFrame({"customer_id": ["1"]})}, out, ".csv", owned)
    replace_folder({"transactions": frame.assign(amount=2.0)}, out, ".csv", owned)
    assert sorted(p.name for p in out.iterdir()) == ["transactions.csv"]  # the old set is gone as a whole
    assert read_shop(out).to_pandas("transactions")["amount"].tolist() == [2.0]
    assert [p.name for p in tmp_path.iterdir()] == ["shop"]  # no temporary folder left beside it


def test_piped_output_is_not_wrapped_at_80_columns(shop: Path) -> None:
    import os
    import subprocess
    import sys

    (shop / "customers.csv").write_text("customer_id,signup_date,birth_date,gender,city,acquisition_source,"
                                        "email_opt_in\nC1,2023-01-01,1980-01-01,f,Köln,ads,yes\n")
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    exe = Path(sys.executable).parent / "retention"
    result = subprocess.run([str(exe), "validate", "--data", str(shop)], capture_output=True, text=True, env=env,
                            check=True)
    wanted = "signup_date, birth_date, gender, city, acquisition_source, email_opt_in"
    assert any(wanted in line for line in result.stdout.splitlines()), result.stdout


def test_sums_that_differ_in_the_last_bits_are_written_alike() -> None:
    from features.data.io import stable_floats

    one = stable_floats(pd.DataFrame({"x": [960.2500000000002, 1e-9 + 1e-25, float("nan"), 0.0, -3.3300000000000005]}))
    two = stable_floats(pd.DataFrame({"x": [960.2500000000001, 1e-9, float("nan"), 0.0, -3.33]}))
    assert one.to_csv() == two.to_csv()
    assert one["x"].iloc[1] == 1e-9  # small values keep their digits (significant, not decimal, rounding)


def test_segments_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    from features.demo.shop import write_shop
    from tests.shared import demo_tables

    write_shop(demo_tables(800, seed=3), tmp_path / "shop", "parquet")
    outputs = []
    for i in range(3):
        out = tmp_path / f"s{i}.csv"
        result = runner.invoke(app, ["segments", "--data", str(tmp_path / "shop"), "--out", str(out), "--migration",
                                     str(tmp_path / f"m{i}.csv")])
        assert result.exit_code == 0, result.output
        outputs.append((out.read_bytes(), (tmp_path / f"m{i}.csv").read_bytes()))
    assert outputs[0] == outputs[1] == outputs[2]


def test_segments_metrics_products_and_features_read_config(shop: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("segments: {golden_share: 0.5}\nproducts: {window_days: 30}\nfeatures: {windows_days: [7]}\n")
    out = runner.invoke(app, ["segments", "--data", str(shop), "--out", str(tmp_path / "s.csv"), "--config",
                              str(config)]).output
    assert "(top 50% of last" in " ".join(out.split())
    out = runner.invoke(app, ["products", "--data", str(shop), "--out", str(tmp_path / "p.csv"), "--config",
                              str(config), "--cutoff", "2024-03-05"]).output
    assert "in the 30 days before" in " ".join(out.split())
    result = runner.invoke(app, ["features", "--data", str(shop), "--out", str(tmp_path / "f.csv"), "--config",
                                 str(config), "--cutoff", "2024-06-01"])
    assert result.exit_code == 0, result.output
    assert "orders_7d" in pd.read_csv(tmp_path / "f.csv").columns
    bad = tmp_path / "bad.yaml"
    bad.write_text("segments: {golden_shar: 0.5}\n")
    result = runner.invoke(app, ["metrics", "--data", str(shop), "--out", str(tmp_path / "m.csv"), "--config",
                                 str(bad)])
    assert result.exit_code == 2 and "golden_shar" in result.output
