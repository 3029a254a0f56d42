"""Where a command may write: never over the shop it reads (a table, a table it would add, its cache, its journal).

``retention segments --data shop --out shop/transactions.csv`` would otherwise replace the order history with a
segment table and exit 0. Every command with ``--data`` and ``--out`` calls ``refuse_shop_paths`` before any work;
the ValueError becomes exit 2 with the sentence (``bad_input_exits``).
"""

from __future__ import annotations

from pathlib import Path

TABLES = ("transactions", "events", "customers", "items")
TABLE_SUFFIXES = (".csv", ".parquet", ".csv.gz")
SHOP_FOLDERS = (".retention-cache", "events_journal")  # the checked-table cache and the live-events journal


def refuse_shop_paths(data: Path, *outputs: Path | None) -> None:
    """Refuse any output path that names or would shadow one of the shop's tables, or lies in its cache/journal.

    A file named like a table in the shop folder is refused whether the table exists or not: writing
    ``events.csv`` beside ``events.parquet`` makes the shop ambiguous, and a new ``customers.csv`` would become
    the shop's customers table. A DuckDB shop file is refused as an output too.

    Raises
    ------
    ValueError
        Naming the option's path, the table or folder it would hit, and what to do instead.
    """
    shop = data.resolve()
    folder = shop if shop.is_dir() else shop.parent
    for output in outputs:
        if output is None:
            continue
        target = output.resolve()
        if target == shop:
            raise ValueError(f"--out {output} is the shop itself ({data}): it would overwrite the shop's data; "
                             "write the results outside the data folder, e.g. out/")
        if target.parent == folder and shop.is_dir():
            table = _table_named(target.name)
            if table is not None:
                raise ValueError(f"--out {output} would overwrite or shadow the shop's {table} table in {data}; "
                                 "write the results outside the data folder, e.g. out/" + target.name)
        for name in SHOP_FOLDERS:
            inner = folder / name
            if target == inner or inner in target.parents:
                raise ValueError(f"--out {output} lies in {inner}, which the tools manage ({_role(name)}); write "
                                 "the results outside the data folder, e.g. out/" + target.name)


def _table_named(name: str) -> str | None:
    lowered = name.lower()
    return next((t for t in TABLES for s in TABLE_SUFFIXES if lowered == f"{t}{s}"), None)


def _role(name: str) -> str:
    return "the checked-table cache" if name == ".retention-cache" else "the live-events journal"
