"""Opening a shop's files safely: each way a file can be unreadable becomes a Problem naming the file and the fix.

DuckDB's CSV sniffer guesses a header row and a dialect; on a small or ragged file it can pick a data line as
the header and report a "missing column" that the file plainly has. So the header line is read here (strict
UTF-8, the delimiter that splits it best) and DuckDB is told the columns, which makes a ragged row an error
with its line number instead of a silent re-guess. Parquet files are opened by their footer first, so a
truncated file or a text file named ``.parquet`` is reported as such.
"""

from __future__ import annotations

import csv
import gzip
import re
from pathlib import Path

import duckdb

from features.data.contract import Problem, ShopDataError

DELIMITERS = (",", ";", "\t", "|")
UTF8_FIX = "a UTF-8 text file (in Excel: Save As 'CSV UTF-8'; or iconv -f cp1252 -t utf-8)"


def checked_file(file: Path) -> None:
    """Refuse a path that is not a readable, non-empty regular file."""
    if not file.is_file():
        raise ShopDataError([Problem(str(file), None, "is a folder or a special file, not a data file",
                                     "a regular .csv or .parquet file (rename or remove the folder)")])
    if file.stat().st_size == 0:
        raise ShopDataError([Problem(str(file), None, "empty file", "a header line and at least one data row")])


def csv_header(file: Path) -> tuple[list[str], str]:
    """Return the header's column names and the delimiter; refuse non-UTF-8 text and duplicated names."""
    opener = gzip.open if file.name.endswith(".gz") else open
    try:
        with opener(file, "rb") as handle:
            first = handle.readline()
        line = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ShopDataError([Problem(str(file), None, f"the header line is not UTF-8 text (byte "
                                     f"{first[exc.start:exc.start + 1]!r} at position {exc.start + 1})",
                                     UTF8_FIX)]) from None
    except (OSError, EOFError) as exc:
        raise ShopDataError([Problem(str(file), None, f"cannot be read ({exc})", "a readable CSV file")]) from None
    line = line.rstrip("\r\n")
    delimiter = max(DELIMITERS, key=line.count)
    names = next(csv.reader([line], delimiter=delimiter), [])
    duplicated_header(file, names)
    return names, delimiter


def duplicated_header(file: Path, names: list[str]) -> None:
    """Refuse a header naming a column twice: one of the two would be dropped or renamed without a word."""
    seen: dict[str, int] = {}
    twice = []
    for index, name in enumerate(names, start=1):
        key = name.strip()
        if key in seen:
            twice.append(f"'{key}' (columns {seen[key]} and {index})")
        seen.setdefault(key, index)
    if twice:
        raise ShopDataError([Problem(str(file), None, f"duplicated column name in the header: {', '.join(twice)}",
                                     "each column name once (rename or remove the extra column)")])


def csv_select(file: Path, names: list[str], delimiter: str) -> str:
    """Return a DuckDB ``read_csv`` call for ``file`` with the given header, every column read as text."""
    columns = ", ".join(f"'{_sql(n)}': 'VARCHAR'" for n in names)
    return (f"read_csv('{_sql(str(file))}', header = true, auto_detect = false, delim = '{_sql(delimiter)}', "
            f"quote = '\"', escape = '\"', columns = {{{columns}}})")


def parquet_columns(file: Path) -> list[str]:
    """Return the Parquet file's column names; refuse a truncated or non-Parquet file and duplicated names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        names = list(pq.read_schema(file).names)
    except (pa.ArrowException, OSError) as exc:
        raise ShopDataError([Problem(str(file), None, f"not a readable Parquet file ({_first_line(str(exc))})",
                                     "a complete Parquet file (write it again; a .csv file must be named .csv)")]
                            ) from None
    duplicated_header(file, names)
    return names


def read_error(file: str, exc: duckdb.Error) -> ShopDataError:
    """Turn DuckDB's error while reading ``file`` into a Problem with the line and what to do."""
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    where = f" at line {line.group(1)}" if line else ""
    if "Invalid unicode" in text:
        return ShopDataError([Problem(file, None, f"not UTF-8 text{where}", UTF8_FIX)])
    found = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    if found:
        return ShopDataError([Problem(file, None, f"ragged row{where}: {found.group(2)} fields where the header "
                                      f"has {found.group(1)}", "every row with as many fields as the header "
                                      "(quote values that contain the delimiter)")])
    return ShopDataError([Problem(file, None, f"cannot be read{where} ({_first_line(text)})",
                                  "a well-formed CSV or Parquet file")])


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else text


def _sql(text: str) -> str:
    return text.replace("'", "''")
