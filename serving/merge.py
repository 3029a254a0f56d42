"""``retention merge-events``: the journal's new site events into the shop's events table, checked first.

Only rows that meet the data contract are appended: a timestamp that is readable, not later than now plus a day
and not before the shop's first order minus a margin (``serving.timerule``), ids of 1-128 characters without
control characters (``features.ids``), a known event type. Every other row is set aside in
``events_journal/set-aside-<when>.csv`` with the file, line and problem, and the command says how many; one bad
event never blocks ``validate`` / ``train`` / ``score`` again.

After a merge, journal files of days before yesterday whose every line is merged are compacted into one
snapshot (``events-compacted-<when>.jsonl``) holding only what replay needs: each customer's open cart lines and
bought items, with their original timestamps. Views and closed cart lines go (they are in the events table).
"""

from __future__ import annotations

import csv
import logging
import os
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd

from features.ids import id_problem
from serving.journal import event_line, journal_files, read_journal
from serving.live import COLUMNS, SITE_EVENTS, LiveEvent
from serving.timerule import event_time_problem, shop_first_order

logger = logging.getLogger(__name__)

MERGED_SUFFIX = ".merged"  # beside a journal file: how many of its lines are already in the events table
KNOWN_TYPES = (*SITE_EVENTS, "purchase")
COMPACT_AFTER = timedelta(days=2)  # a file untouched this long is no worker's current file any more


@dataclass
class MergeResult:
    merged: int = 0
    set_aside: int = 0
    report: Path | None = None
    compacted: int = 0  # journal files folded into a snapshot
    notes: list[str] = field(default_factory=list)


def merge_journal(data: Path, folder: Path, now: datetime | None = None) -> MergeResult:
    """Append the journal's not yet merged, valid site events to the shop's events table; set the rest aside.

    The events file is rewritten to a temporary file and renamed over the old one, so a failure leaves it as it
    was; each journal file then records how many of its lines are merged (lines written later merge next time).
    """
    if not data.is_dir():
        raise ValueError(f"{data}: merging the journal needs a shop folder (a DuckDB shop: insert the rows yourself)")
    now = now or datetime.now()
    found = read_journal(folder)
    result = MergeResult(notes=found.notes())
    first = shop_first_order(data)
    fresh: list[dict[str, str]] = []
    aside: list[dict[str, str]] = []
    done: dict[str, int] = {}
    for name, number, event in found.events:
        done[name] = done.get(name, 0) + 1
        if done[name] <= _merged_count(folder / name):
            continue
        problem = _row_problem(event, now, first)
        if problem is not None:
            aside.append({"file": name, "line": str(number), "problem": problem, **_fields(event)})
        elif event is not None and event.event_type in SITE_EVENTS:
            fresh.append(_fields(event))
    if fresh:
        _append_rows(_events_target(data), pd.DataFrame(fresh, columns=list(COLUMNS)))
    if aside:
        result.report = folder / f"set-aside-{now:%Y%m%dT%H%M%S}.csv"
        _write_report(result.report, aside)
    for name, count in done.items():
        (folder / (name + MERGED_SUFFIX)).write_text(str(count))
    result.merged, result.set_aside = len(fresh), len(aside)
    result.compacted = compact(folder, now)
    return result


def _row_problem(event: LiveEvent | None, now: datetime, first: datetime | None) -> str | None:
    if event is None:
        return "unreadable line (torn or damaged)"
    for column in ("customer_id", "item_id"):
        problem = id_problem(getattr(event, column))
        if problem is not None:
            return f"{column}: {problem}"
    if event.event_type not in KNOWN_TYPES:
        return f"unknown event_type {event.event_type!r}"
    return event_time_problem(event.timestamp.replace(tzinfo=None), now, first)


def _fields(event: LiveEvent | None) -> dict[str, str]:
    if event is None:
        return dict.fromkeys(COLUMNS, "")
    return {"customer_id": event.customer_id, "timestamp": event.timestamp.isoformat(sep=" "),
            "event_type": event.event_type, "item_id": event.item_id}


def _merged_count(file: Path) -> int:
    marker = file.with_name(file.name + MERGED_SUFFIX)
    try:
        return int(marker.read_text()) if marker.exists() else 0
    except ValueError:
        return 0


def _write_report(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["file", "line", "problem", *COLUMNS], quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)


def _events_target(data: Path) -> Path:
    target = next((data / f"events{s}" for s in (".parquet", ".csv") if (data / f"events{s}").exists()), None)
    if target is None:
        target = data / ("events.csv" if (data / "transactions.csv").exists() else "events.parquet")
    return target


def _append_rows(target: Path, new: pd.DataFrame) -> None:
    csv_file = target.suffix == ".csv"
    old = (pd.read_csv(target, dtype=str, keep_default_na=False) if csv_file else pd.read_parquet(target)
           ) if target.exists() else pd.DataFrame(columns=list(COLUMNS))
    add = new[list(COLUMNS)].copy()
    if not csv_file:
        add["timestamp"] = pd.to_datetime(add["timestamp"])
        if "timestamp" in old.columns and len(old):
            add["timestamp"] = add["timestamp"].astype(old["timestamp"].dtype)
    merged = pd.concat([old, add], ignore_index=True)
    tmp = target.with_name(f".{target.name}.tmp")
    if csv_file:
        merged.to_csv(tmp, index=False)
    else:
        merged.to_parquet(tmp, index=False)
    tmp.replace(target)


# compaction --------------------------------------------------------------------------------------------------
def compact(folder: Path, now: datetime) -> int:
    """Fold fully merged journal files no worker writes any more into one snapshot; return how many were folded."""
    found = read_journal(folder, quarantine=False)
    counts: dict[str, int] = {}
    for name, _, _ in found.events:
        counts[name] = counts.get(name, 0) + 1
    old = [f for f in journal_files(folder) if _compactable(f, counts.get(f.name, 0), now)]
    if len(old) < 2 and not any(f.suffix == ".csv" for f in old):
        return 0  # one file alone is already as small as it gets (an older version's CSV is still converted)
    names = {f.name for f in old}
    events = sorted((e for n, _, e in found.events if n in names and e is not None),
                    key=lambda e: e.timestamp.replace(tzinfo=None))
    snapshot = folder / f"events-compacted-{now:%Y%m%dT%H%M%S}.jsonl"
    lines = _snapshot_lines(events)
    tmp = snapshot.with_name(f".{snapshot.name}.tmp")
    with tmp.open("wb") as handle:
        handle.write(b"".join(lines))
        handle.flush()
        os.fsync(handle.fileno())
    tmp.replace(snapshot)
    (folder / (snapshot.name + MERGED_SUFFIX)).write_text(str(len(lines)))
    for file in old:
        file.unlink()
        file.with_name(file.name + MERGED_SUFFIX).unlink(missing_ok=True)
    return len(old)


def _compactable(file: Path, lines: int, now: datetime) -> bool:
    if _merged_count(file) < lines or now.timestamp() - file.stat().st_mtime < COMPACT_AFTER.total_seconds():
        return False
    day = file.stem.removeprefix("events-")
    try:
        return date.fromisoformat(day) < now.date() - timedelta(days=1)
    except ValueError:
        return True  # an older version's file or a snapshot: its age decides


def _snapshot_lines(events: list[LiveEvent]) -> list[bytes]:
    """Return the fewest events that replay to the same carts and bought items (each with its timestamp)."""
    cart: dict[tuple[str, str], LiveEvent] = {}
    bought: dict[tuple[str, str], LiveEvent] = {}
    for event in events:
        key = (event.customer_id, event.item_id)
        if event.event_type == "cart_add":
            cart[key] = event
        elif event.event_type in ("cart_remove", "purchase"):
            cart.pop(key, None)
            if event.event_type == "purchase":
                bought[key] = event
    kept = sorted([*cart.values(), *bought.values()], key=lambda e: e.timestamp.replace(tzinfo=None))
    return [event_line(e) for e in kept]
