"""Reading the campaign summary that ``retention campaigns`` writes, for the report's audiences section.

The summary is one CSV in the campaigns folder (``summary.csv``, or the one file whose name holds "summary"),
one row per campaign. Column names vary little between versions, so each role accepts a few names; a file
without a campaign name and an audience size is refused with the columns it has and the ones expected.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ROLES = {
    "campaign": ("campaign", "name", "audience"),
    "audience_size": ("audience_size", "size", "customers", "audience_customers"),
    "control": ("control_size", "control", "control_customers"),
    "at_stake": ("expected_value_at_stake", "value_at_stake", "expected_value", "at_stake"),
    "offer": ("suggested_offer", "offer"),
}
REQUIRED = ("campaign", "audience_size")


def summary_file(folder: Path) -> Path:
    """Return the summary CSV in ``folder``; FileNotFoundError names the folder and what was looked for."""
    if not folder.is_dir():
        raise FileNotFoundError(f"--campaigns {folder}: no such folder (expected the output folder of "
                                "`retention campaigns`)")
    exact = folder / "summary.csv"
    if exact.exists():
        return exact
    found = sorted(p for p in folder.glob("*.csv") if "summary" in p.name.lower())
    if len(found) != 1:
        listed = ", ".join(p.name for p in found) or "none"
        raise FileNotFoundError(f"--campaigns {folder}: expected one summary CSV (summary.csv, or one file named "
                                f"*summary*.csv); found {listed}")
    return found[0]


def read_campaigns(folder: Path) -> pd.DataFrame:
    """Return campaign, audience_size and whichever of control, at_stake, offer exist, largest audience first.

    Raises
    ------
    ValueError
        When the summary lacks a campaign name or audience size column, or a size is not a whole number >= 0.
    """
    path = summary_file(folder)
    raw = pd.read_csv(path)
    picked = {}
    for role, names in ROLES.items():
        column = next((c for c in names if c in raw.columns), None)
        if column is not None:
            picked[role] = raw[column]
    absent = [r for r in REQUIRED if r not in picked]
    if absent:
        wanted = "; ".join(f"{r}: one of {', '.join(ROLES[r])}" for r in absent)
        raise ValueError(f"{path}: columns {list(raw.columns)} lack {wanted}")
    table = pd.DataFrame(picked)
    sizes = pd.to_numeric(table["audience_size"], errors="coerce")
    bad = table[sizes.isna() | (sizes < 0) | (sizes % 1 != 0)]
    if len(bad):
        rows = ", ".join(f"row {i + 2}: {v!r}" for i, v in bad["audience_size"].head(5).items())
        raise ValueError(f"{path}: audience size must be a whole number >= 0; {rows}")
    table["audience_size"] = sizes.astype("int64")
    table["campaign"] = table["campaign"].astype(str)
    return table.sort_values("audience_size", ascending=False, ignore_index=True)
