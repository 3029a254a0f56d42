"""Issue 19, bad values and unreadable files: each is refused with exit 2, a sentence naming file, column and rows
(or the path and what to do), no traceback, and nothing written."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from features.orders import cutoff_datetime
from training.cli.app import app

runner = CliRunner()
HEADER = "customer_id,order_id,timestamp,amount\n"
GOOD = ["C1,O1,2024-01-05,10.0", "C1,O2,2024-02-05,12.5", "C2,O3,2024-01-20,7.0", "C2,O4,2024-03-01,3.0"]


def csv_shop(folder: Path, lines: list[str], header: str = HEADER, name: str = "transactions.csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    return folder


def with_line(index: int, line: str) -> list[str]:
    return [line if i == index else good for i, good in enumerate(GOOD)]


def parquet_shop(folder: Path, table: pa.Table) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "transactions.parquet")
    return folder


def _parquet_with(price: float) -> pa.Table:
    return pa.table({"customer_id": ["C1", "C2"], "order_id": ["O1", "O2"],
                     "timestamp": pd.to_datetime(["2024-01-01", "2024-01-02"]), "price": [5.0, price]})


def _cp1252(folder: Path) -> Path:
    folder.mkdir(parents=True)
    text = HEADER + "\n".join(GOOD) + "\n"
    (folder / "transactions.csv").write_text(text, encoding="utf-8")
    (folder / "customers.csv").write_bytes("customer_id,city\nC1,Köln\nC2,Müller\n".encode("cp1252"))
    return folder


def _truncated_parquet(folder: Path) -> Path:
    parquet_shop(folder, _parquet_with(3.0))
    file = folder / "transactions.parquet"
    file.write_bytes(file.read_bytes()[:-20])
    return folder


def _text_as_parquet(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "transactions.parquet").write_text(HEADER + GOOD[0])
    return folder


def _folder_as_csv(folder: Path) -> Path:
    (folder / "transactions.csv").mkdir(parents=True)
    return folder


def _duplicated_parquet(folder: Path) -> Path:
    table = _parquet_with(3.0)
    return parquet_shop(folder, table.rename_columns(["customer_id", "order_id", "timestamp", "customer_id"]))


def _gz_duplicated(folder: Path) -> Path:
    folder.mkdir(parents=True)
    with gzip.open(folder / "transactions.csv.gz", "wt") as handle:
        handle.write("customer_id,order_id,timestamp,amount,amount\nC1,O1,2024-01-01,1,2\n")
    return folder


CASES: dict[str, tuple[Callable[[Path], Path], list[str]]] = {
    "far-future timestamp": (lambda d: csv_shop(d, with_line(2, "C2,O3,2099-01-20,7.0")),
                             ["column 'timestamp': timestamp later than the time of this run",
                              "line 4: '2099-01-20'"]),
    "NaN amount": (lambda d: csv_shop(d, with_line(1, "C1,O2,2024-02-05,NaN")),
                   ["column 'amount': not a finite number", "line 3: 'NaN'"]),
    "1e309 amount": (lambda d: csv_shop(d, with_line(0, "C1,O1,2024-01-05,1e309")),
                     ["column 'amount': not a finite number", "line 2: '1e309'"]),
    "+inf amount": (lambda d: csv_shop(d, with_line(3, "C2,O4,2024-03-01,inf")),
                    ["column 'amount': not a finite number", "line 5: 'inf'"]),
    "-inf amount": (lambda d: csv_shop(d, with_line(3, "C2,O4,2024-03-01,-inf")),
                    ["column 'amount': not a finite number", "line 5: '-inf'"]),
    "2e15 amount": (lambda d: csv_shop(d, with_line(1, "C1,O2,2024-02-05,2e15")),
                    ["column 'amount': line revenue beyond 1e+15 in 1 row: line 3: '2e15'", "cents as units"]),
    "price x quantity beyond any float": (
        lambda d: csv_shop(d, ["C1,O1,2024-01-05,1e200,1e200", "C2,O2,2024-01-06,3.5,2"],
                           "customer_id,order_id,timestamp,price,quantity\n"),
        ["column 'price': line revenue beyond 1e+15 in 1 row: line 2: '1e200 x 1e200'"]),
    "empty amount": (lambda d: csv_shop(d, with_line(2, "C2,O3,2024-01-20,")),
                     ["column 'amount': empty amount in 1 row: line 4"]),
    "Parquet price inf": (lambda d: parquet_shop(d, _parquet_with(float("inf"))),
                          ["column 'price': not a finite number in 1 row: row 2: 'inf'"]),
    "Parquet price NaN": (lambda d: parquet_shop(d, _parquet_with(float("nan"))),
                          ["column 'price': not a finite number in 1 row: row 2"]),
    "duplicated CSV header": (lambda d: csv_shop(d, [g + ",1" for g in GOOD], HEADER.strip() + ",amount\n"),
                              ["duplicated column name in the header: 'amount' (columns 4 and 5)"]),
    "duplicated Parquet column": (_duplicated_parquet, ["'customer_id' (columns 1 and 4)"]),
    "duplicated gzip CSV header": (_gz_duplicated, ["transactions.csv.gz", "'amount' (columns 4 and 5)"]),
    "ragged row": (lambda d: csv_shop(d, with_line(1, "C1,O2,2024-02-05,12.5,oops")),
                   ["ragged row at line 3: 5 fields where the header has 4"]),
    "short row": (lambda d: csv_shop(d, with_line(2, "C2,O3,2024-01-20")),
                  ["ragged row at line 4: 3 fields where the header has 4"]),
    "cp1252 CSV": (_cp1252, ["customers.csv: not UTF-8 text", "CSV UTF-8"]),
    "truncated Parquet": (_truncated_parquet, ["transactions.parquet: not a readable Parquet file"]),
    "text named .parquet": (_text_as_parquet, ["transactions.parquet: not a readable Parquet file"]),
    "folder named transactions.csv": (_folder_as_csv, ["transactions.csv: is a folder"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_file_is_refused_with_a_sentence_and_nothing_written(case: str, tmp_path: Path) -> None:
    make, expected = CASES[case]
    shop = make(tmp_path / "shop")
    out = tmp_path / "out" / "segments.csv"
    for args in (["validate", "--data", str(shop)], ["segments", "--data", str(shop), "--out", str(out)]):
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (case, result.output)
        assert "Traceback" not in result.output
        text = " ".join(result.output.split())
        for part in expected:
            assert part in text, (case, text)
    assert not out.parent.exists()


def test_empty_amount_with_a_price_is_priced(tmp_path: Path) -> None:
    header = "customer_id,order_id,timestamp,amount,price\n"
    shop = csv_shop(tmp_path / "shop", ["C1,O1,2024-01-05,,4.0", "C1,O2,2024-02-05,6.0,"], header)
    result = runner.invoke(app, ["validate", "--data", str(shop)])
    assert result.exit_code == 0, result.output
    assert "10.00" in result.output  # net revenue: the priced line counts, the amount line too


@pytest.mark.parametrize("text", ["2025-06-01+05:00", "2025-06-01 12:00+02:00", "2025-06-01T00:00Z",
                                  "2025-06-01-03:00"])
def test_cutoff_with_a_zone_is_refused_in_every_form(text: str) -> None:
    with pytest.raises(ValueError, match="has a time zone"):
        cutoff_datetime(text)


def test_cutoff_without_a_zone_reads_as_local_time() -> None:
    assert cutoff_datetime("2025-06-01") == cutoff_datetime("2025-06-01T00:00")
    assert cutoff_datetime("2025-06-01 12:30").hour == 12


@pytest.mark.parametrize("command", ["segments", "metrics", "products", "features"])
def test_cutoff_before_all_data_is_refused_by_every_command(command: str, tmp_path: Path) -> None:
    shop = csv_shop(tmp_path / "shop", [g + ",I1" for g in GOOD], HEADER.strip() + ",item_id\n")
    out = tmp_path / "out" / "result.csv"
    result = runner.invoke(app, [command, "--data", str(shop), "--cutoff", "2023-01-01", "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert "no purchase order before the cutoff 2023-01-01 00:00" in " ".join(result.output.split())
    assert not out.parent.exists()
