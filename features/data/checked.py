"""The checked-table cache: validate a shop folder once, keep its checked, typed tables as Parquet.

An entry lives in ``<shop>/.retention-cache/<key>/`` where the key hashes every table file's path, size and
modification time (ns) and the cache format. It holds one Parquet file per table (the normalised tables the
contract checks produced: string ids, naive timestamps, numeric money, ``revenue``) and ``meta.json`` (source
names, columns, the warnings to repeat). A Parquet table in which checking changes no value (typed columns, text
already trimmed) is not copied: the entry keeps the query that reads it as checked (``views`` in ``meta.json``;
casts and ``revenue`` are computed as it is read), which spares the cold run a full rewrite of the largest tables;
the key guarantees the file is the one that was checked. An entry is written to a temporary folder and renamed
into place, so a killed write never leaves an entry that looks complete. A changed or touched file changes the
key; an entry that does not read back (missing or cut-short file, bad ``meta.json``) is removed and the shop is
checked again.

The same Parquet files are what the Spark engine reads: DuckDB checks, Spark computes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import duckdb

from features.data.contract import SPECS, Problem
from features.data.duck import scalar

logger = logging.getLogger(__name__)

CACHE_DIR = ".retention-cache"
FORMAT = 3  # bump when the normalised tables change (2: zoned Parquet as wall time; 3: their new shape)
SUFFIXES = (".parquet", ".csv", ".csv.gz")
STALE_TMP_S = 3600.0  # a temporary folder older than this was left by a killed write


def table_files(folder: Path) -> list[Path]:
    """Return the shop's table files in ``folder`` (every known table, every accepted suffix)."""
    return [folder / f"{name}{s}" for name in SPECS for s in SUFFIXES if (folder / f"{name}{s}").exists()]


def cache_key(folder: Path) -> str:
    """Return the fingerprint of the shop's files: path, size and mtime_ns of each, plus the cache format."""
    parts: list[Any] = [FORMAT]
    for file in table_files(folder):
        stat = file.stat()
        parts.append([str(file.resolve()), stat.st_size, stat.st_mtime_ns])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]


def entry_dir(folder: Path) -> Path:
    """Return where the cache entry of the shop's current files lives (it may not exist)."""
    return folder / CACHE_DIR / cache_key(folder)


def load_entry(entry: Path) -> dict[str, Any] | None:
    """Return the entry's metadata when every table in it reads back, else None (and remove the entry)."""
    if not entry.is_dir():
        return None
    try:
        meta = json.loads((entry / "meta.json").read_text())
        probe = duckdb.connect()
        for name in meta["columns"]:
            file = entry / f"{name}.parquet"
            source = f"({meta['views'][name]})" if name in meta["views"] else f"read_parquet('{file}')"
            described = probe.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
            if [r[0] for r in described] != list(meta["columns"][name]):
                raise ValueError(f"{file}: columns differ from meta.json")
            if probe.execute(f"SELECT count(*) FROM {source}").fetchall() != [(meta["rows"][name],)]:
                raise ValueError(f"{file}: row count differs from meta.json")
        probe.close()
        return dict(meta)
    except (OSError, ValueError, KeyError, TypeError, duckdb.Error) as exc:
        logger.warning("checked-table cache %s is unusable (%s); checking the shop again", entry, exc)
        shutil.rmtree(entry, ignore_errors=True)
        return None


def write_entry(con: duckdb.DuckDBPyConnection, folder: Path, meta: dict[str, Any]) -> Path:
    """Write the checked tables (views named as the tables in ``con``) and ``meta`` as the current entry.

    Other entries of the folder are stale (their files changed) and are removed.
    """
    entry = entry_dir(folder)
    root = entry.parent
    root.mkdir(exist_ok=True)
    tmp = root / f".tmp-{uuid.uuid4().hex[:12]}"
    tmp.mkdir()
    try:
        rows = {}
        for name in meta["columns"]:
            if name in meta["views"]:  # nothing to change: the entry keeps the query, not a copy
                rows[name] = scalar(con, f"SELECT count(*) FROM ({meta['views'][name]})")
                continue
            file = tmp / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM {name}) TO '{file}' (FORMAT parquet)")
            rows[name] = scalar(con, f"SELECT count(*) FROM read_parquet('{file}')")
        (tmp / "meta.json").write_text(json.dumps({**meta, "rows": rows}))
        for stale in root.iterdir():
            # another command may be writing its own .tmp- folder right now; only an old one is a leftover
            busy = stale.name.startswith(".tmp-") and time.time() - stale.stat().st_mtime < STALE_TMP_S
            if stale not in (tmp, entry) and not busy:  # ``entry``: another command just cached the same files
                shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, entry)  # atomic on one file system: an entry is complete or absent
        except OSError:
            if not entry.is_dir():
                raise
            shutil.rmtree(tmp, ignore_errors=True)  # a concurrent command wrote the same entry first: keep it
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("checked tables cached in %s", entry)
    return entry


def shop_meta(source: str, files: dict[str, str], columns: dict[str, tuple[str, ...]],
              warnings: list[Problem], views: dict[str, str] | None = None) -> dict[str, Any]:
    """Return what an entry records besides the tables (``views``: the tables kept as a query over their file)."""
    return {"source": source, "files": files, "columns": {k: list(v) for k, v in columns.items()},
            "warnings": [asdict(w) for w in warnings], "views": dict(views or {})}


def meta_warnings(meta: dict[str, Any]) -> list[Problem]:
    """Return the warnings recorded in an entry as Problems again."""
    return [Problem(**{**w, "rows": tuple(tuple(r) for r in w["rows"])}) for w in meta["warnings"]]
