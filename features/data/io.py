"""Write result tables all-or-nothing: a temp file in the target folder, renamed into place when complete."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

FORMATS = (".csv", ".parquet")


def output_format(path: str | Path) -> str:
    """Return the file's suffix when we can write it; raise a clear error otherwise (before any work is done)."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unsupported output format {suffix or '(none)'}; expected a .csv or .parquet file")
    return suffix


def write_frame(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write ``frame`` to ``path`` (.csv or .parquet) atomically and return the path."""
    path = Path(path)
    suffix = output_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are for the team to read
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path
