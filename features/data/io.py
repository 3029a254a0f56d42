"""Write result tables all-or-nothing: temp files in the target folder, renamed into place once all are complete.

A command that writes several files (segments and their migration matrix, metrics and cohorts) writes them
as a set: every temp file first, the renames only at the end, so a failure on the second file leaves the
first untouched. A whole folder (the demo shop) is built beside the target and swapped in with one atomic
exchange of directory entries, so a kill at any moment leaves the old shop or the new one, never a mix.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from features.data.checked import CACHE_DIR

if TYPE_CHECKING:  # pandas and numpy load when a frame is written: checking a path does not need them
    import pandas as pd

FORMATS = (".csv", ".parquet")
SIGNIFICANT_DIGITS = 12  # far beyond any money or probability we report, far above the ~16th digit that varies
_RENAME_EXCHANGE = 2  # renameat2 flag (Linux >= 3.15): swap two paths atomically
_AT_FDCWD = -100


def output_format(path: str | Path) -> str:
    """Return the file's suffix when we can write it there; raise a clear error otherwise (before any work)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(f"{path}: unsupported output format {suffix or '(none)'}; expected a .csv or .parquet file")
    if path.is_dir():
        raise ValueError(f"{path} is a folder; --out names the file to write, e.g. {path / ('result' + suffix)}")
    writable_folder(path.parent)
    return suffix


def writable_folder(folder: Path) -> None:
    """Refuse a folder that cannot be created or written to (checked before any work is done)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"cannot write into {folder}: {existing} is a file, not a folder; choose another path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write into {folder}: {existing} is read-only for this user; choose a folder you "
                         "can write to")


FORMULA_STARTS = ("=", "+", "-", "@")  # a spreadsheet runs a cell starting with one of these as a formula


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` with every text cell that starts like a formula prefixed with a quote (``'=1+2``).

    A customer id ``=HYPERLINK(...)`` in a churn list opened in Excel would run; the quote makes the cell text
    (OWASP's advice for CSV injection). Only CSV meant for people gets this; Parquet keeps the raw id, and our
    readers of our own CSV (``recommend --customers``) take the quote off again (``raw_text``).
    """
    import pandas as pd  # here: the feature paths write Arrow without importing pandas

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if values.dtype == object or pd.api.types.is_string_dtype(values):
            text = values.astype("string")
            risky = text.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
            if risky.any():
                out[column] = values.astype(object).where(~risky, "'" + text.astype(object))
    return out


def raw_text(values: pd.Series) -> pd.Series:
    """Undo ``spreadsheet_safe`` on a column read back from one of our CSV files."""
    text = values.astype("string")
    quoted = text.str.match(r"^'[=+\-@]").fillna(False).astype(bool)
    return values.where(~quoted, text.str[1:].astype(object))


def write_frame(frame: pd.DataFrame, path: str | Path, for_people: bool = True) -> Path:
    """Write ``frame`` to ``path`` (.csv or .parquet) atomically and return the path (``for_people``: a CSV's
    formula-like text is neutralised, see ``spreadsheet_safe``; False for files tools read back, e.g. manifests)."""
    return write_frames({Path(path): frame}, for_people)[0]


def write_frames(frames: dict[Path, pd.DataFrame], for_people: bool = True) -> list[Path]:
    """Write every frame to its path as one set: all temp files first, then the renames; return the paths.

    Raises
    ------
    ValueError
        When a path has an unsupported suffix or cannot be written (read-only folder, a folder in the way);
        no target file has then been touched.
    """
    temps: dict[Path, str] = {}
    try:
        for path, frame in frames.items():
            path = Path(path)
            suffix = output_format(path)
            safe = spreadsheet_safe(frame) if for_people and suffix == ".csv" else frame
            temps[path] = _written_temp(safe, path, suffix)
        for path, tmp in temps.items():
            os.replace(tmp, path)
    except OSError as exc:
        raise ValueError(f"cannot write {exc.filename or ', '.join(map(str, frames))}: {exc.strerror or exc}; "
                         "choose a folder you can write to") from None
    finally:
        for tmp in temps.values():
            if os.path.exists(tmp):
                os.remove(tmp)
    return list(temps)


def stable_floats(frame: pd.DataFrame, digits: int = SIGNIFICANT_DIGITS) -> pd.DataFrame:
    """Return ``frame`` with float columns rounded to ``digits`` significant digits.

    DuckDB sums doubles in parallel, in an order that varies from run to run, so the last bits of a sum differ
    (960.2500000000002 one run, 960.2500000000001 the next); rounded, the same input gives the same bytes.
    """
    import numpy as np
    import pandas as pd

    out = frame.copy()
    for column in out.columns:
        values = out[column]
        if pd.api.types.is_float_dtype(values):
            x = values.to_numpy(dtype="float64", na_value=np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                exponent = np.floor(np.log10(np.abs(x)))
            scale = 10.0 ** (digits - 1 - np.where(np.isfinite(exponent), exponent, 0.0))
            rounded = np.where(np.isfinite(x) & (x != 0), np.round(x * scale) / scale, x)
            out[column] = pd.Series(rounded, index=values.index).astype(values.dtype)
    return out


def _written_temp(frame: pd.DataFrame, path: Path, suffix: str) -> str:
    frame = stable_floats(frame)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; results are for the team to read
    except BaseException:
        os.remove(tmp)
        raise
    return tmp


def replace_folder(frames: dict[str, pd.DataFrame], out: Path, suffix: str, owned: tuple[str, ...]) -> list[Path]:
    """Make ``out`` hold exactly ``<name><suffix>`` for each frame, swapping the whole folder in at once.

    ``owned`` are the file names this writer may replace; a folder holding anything else (another shop's
    CSV files when writing Parquet, the user's own files) is refused rather than mixed or deleted.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file; give a folder to write the tables to")
    writable_folder(out.parent)
    if out.is_dir():
        # the checked-table cache belongs to the old files and leaves with them
        foreign = sorted(p.name for p in out.iterdir() if p.name not in (*owned, CACHE_DIR))
        if foreign:
            raise ValueError(f"{out} holds other files ({', '.join(foreign[:5])}); it would be replaced as a whole: "
                             "choose a new or empty folder, or the format it already holds")
    out.parent.mkdir(parents=True, exist_ok=True)
    new = Path(tempfile.mkdtemp(prefix=f".{out.name}.new-", dir=out.parent))
    try:
        for name, frame in frames.items():
            (frame.to_csv if suffix == ".csv" else frame.to_parquet)(new / f"{name}{suffix}", index=False)
        new.chmod(0o755)
        if not out.exists():
            os.rename(new, out)
        else:
            _exchange(new, out)  # `new` now holds the old shop
    finally:
        shutil.rmtree(new, ignore_errors=True)
    return [out / f"{name}{suffix}" for name in frames]


def _exchange(a: Path, b: Path) -> None:
    """Swap two directory entries atomically (Linux renameat2); elsewhere, two renames."""
    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None and renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b),
                                           _RENAME_EXCHANGE) == 0:
        return
    aside = a.with_name(a.name + ".old")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)
