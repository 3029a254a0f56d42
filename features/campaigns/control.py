"""Control groups and the manifest: who each campaign contacts and who it holds back, recorded so it never moves.

A customer is in the control group of a campaign when a seeded hash of (campaign, customer_id, seed) falls below
the control share. The draw depends on nothing else: not on the other customers in the audience, the order of
the rows, the day it runs or the machine, so rerunning ``campaigns`` gives the same split, and each customer's
chance of being held back is exactly the share. The manifest records every row (campaign, cutoff, customer,
group, rule, share, seed); ``campaign-results`` reads only the manifest, never a redrawn split.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features import columns as C

MANIFEST_COLUMNS = ("campaign", "cutoff", C.CUSTOMER_ID, "control", "rule", "control_share", "seed")
_SCALE = float(2**64)


def draw(campaign: str, customer_id: str, seed: int) -> float:
    """Return the customer's uniform draw in [0, 1) for this campaign and seed (the first 8 bytes of a SHA-256)."""
    digest = hashlib.sha256(f"{campaign}\x1f{customer_id}\x1f{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _SCALE


def control_flags(campaign: str, customer_ids: pd.Series | list[str], share: float, seed: int) -> np.ndarray:
    """Return True for the customers held back as the campaign's control group (draw < share)."""
    return np.array([draw(campaign, str(c), seed) < share for c in customer_ids], dtype=bool)


def manifest(rows: pd.DataFrame, cutoff: datetime, share: float, seed: int) -> pd.DataFrame:
    """Return the manifest of audience rows (campaign, customer_id, control, rule) at this cutoff."""
    out = rows[["campaign", C.CUSTOMER_ID, "control", "rule"]].copy()
    out.insert(1, "cutoff", cutoff.isoformat(sep=" ") if cutoff.time() != datetime.min.time()
               else cutoff.date().isoformat())
    out["control_share"], out["seed"] = share, seed
    return out[list(MANIFEST_COLUMNS)].reset_index(drop=True)


def read_manifest(path: Path) -> pd.DataFrame:
    """Read a manifest written by ``retention campaigns`` (or ``audience``) and check it.

    Raises
    ------
    FileNotFoundError
        When the file does not exist.
    ValueError
        When a column is missing, ``control`` is not true/false, a cutoff is not a date, or a customer appears
        twice in one campaign; the message names the file, the column and up to five offending rows.
    """
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such manifest (written by `retention campaigns --out DIR`)")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("campaign", "cutoff", C.CUSTOMER_ID, "control") if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; a manifest has "
                         f"{', '.join(MANIFEST_COLUMNS)} (found: {', '.join(frame.columns)})")
    if frame.empty:
        raise ValueError(f"{path}: the manifest has no rows (every audience was empty): nothing to measure")
    flag = frame["control"].str.strip().str.lower()
    bad = ~flag.isin(["true", "false", "1", "0"])
    _refuse(path, "control", frame, bad, "true or false")
    frame["control"] = flag.isin(["true", "1"])
    when = pd.to_datetime(frame["cutoff"], errors="coerce", format="ISO8601")
    _refuse(path, "cutoff", frame, when.isna(), "an ISO date such as 2026-10-01")
    frame["cutoff"] = when
    _refuse(path, C.CUSTOMER_ID, frame, frame.duplicated(["campaign", C.CUSTOMER_ID], keep=False),
            "each customer at most once per campaign")
    return frame


def _refuse(path: Path, column: str, frame: pd.DataFrame, bad: pd.Series, expected: str) -> None:
    if bad.any():
        rows = frame.index[bad.to_numpy()][:5]
        shown = "; ".join(f"row {i + 2}: {frame.at[i, column]!r}" for i in rows)
        raise ValueError(f"{path}: column {column!r} has {int(bad.sum())} bad value(s) ({shown}); expected {expected}")
