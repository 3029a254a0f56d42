"""Live events: appended to a journal and fsynced before they are acknowledged, replayed at start.

The journal is ``<data>/events_journal/events-<start>-<pid>.csv`` (one file per server process, so workers never
interleave lines), with the events table's columns: ``customer_id, timestamp, event_type, item_id``. A purchase
makes the item leave the customer's picks and ends its cart line; ``cart_add`` / ``cart_remove`` keep a live cart
that drives bought-together picks. ``merge_journal`` appends the site events (view, cart_add, cart_remove) to the
shop's events table so the next ``retention train`` reads them (``retention merge-events --data DIR``); purchases
stay in the journal, since the order export carries them with their order id and price.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd

logger = logging.getLogger(__name__)

COLUMNS = ("customer_id", "timestamp", "event_type", "item_id")
SITE_EVENTS = ("view", "cart_add", "cart_remove")
MERGED_SUFFIX = ".merged"  # beside a journal file: how many of its lines are already in the events table


@dataclass(frozen=True)
class LiveEvent:
    customer_id: str
    timestamp: datetime
    event_type: str
    item_id: str


def naive_local(moment: datetime | None) -> datetime:
    """Return ``moment`` as the shop's naive local time (the data contract's form); None means now."""
    if moment is None:
        return datetime.now().replace(microsecond=0)
    return moment.astimezone().replace(tzinfo=None) if moment.tzinfo is not None else moment


class Journal:
    """Append-only CSV of one process; ``append`` returns only once the lines are on disk (fsync)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"events-{datetime.now():%Y%m%dT%H%M%S}-{os.getpid()}.csv"
        self._lock = threading.Lock()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if os.fstat(self._fd).st_size == 0:
            self._write([list(COLUMNS)])

    def append(self, events: Iterable[LiveEvent]) -> None:
        self._write([[e.customer_id, e.timestamp.isoformat(sep=" "), e.event_type, e.item_id] for e in events])

    def _write(self, rows: list[list[str]]) -> None:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        data = buffer.getvalue().encode()
        with self._lock:
            written = 0
            while written < len(data):
                written += os.write(self._fd, data[written:])
            os.fsync(self._fd)

    def close(self) -> None:
        os.close(self._fd)


@dataclass
class CustomerLive:
    cart: dict[str, None] = field(default_factory=dict)  # insertion-ordered set
    bought: set[str] = field(default_factory=set)


class LiveState:
    """Each customer's live cart and items bought since the models were trained (replayed from the journal)."""

    def __init__(self) -> None:
        self.customers: dict[str, CustomerLive] = {}

    def apply(self, event: LiveEvent) -> None:
        live = self.customers.setdefault(event.customer_id, CustomerLive())
        if event.event_type == "cart_add":
            live.cart[event.item_id] = None
        elif event.event_type == "cart_remove":
            live.cart.pop(event.item_id, None)
        elif event.event_type == "purchase":
            live.bought.add(event.item_id)
            live.cart.pop(event.item_id, None)

    def of(self, customer_id: str) -> CustomerLive | None:
        return self.customers.get(customer_id)


def read_journal(folder: Path) -> pd.DataFrame:
    """Return every journal line in the folder, oldest file first (ids stay strings)."""
    files = sorted(folder.glob("events-*.csv")) if folder.exists() else []
    frames = [pd.read_csv(f, dtype=str, keep_default_na=False).assign(_file=f.name) for f in files]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=[*COLUMNS, "_file"])
    return pd.concat(frames, ignore_index=True)


def replay(folder: Path, state: LiveState) -> int:
    """Apply every journaled event to ``state`` in time order; return how many."""
    frame = read_journal(folder)
    if not len(frame):
        return 0
    moment = pd.to_datetime(frame["timestamp"], errors="coerce")
    order = moment.sort_values(kind="stable").index
    for at, customer, kind, item in zip(moment[order], frame.loc[order, "customer_id"],
                                        frame.loc[order, "event_type"], frame.loc[order, "item_id"], strict=True):
        state.apply(LiveEvent(str(customer), at, str(kind), str(item)))
    logger.info("replayed %d journaled events of %d customers", len(frame), len(state.customers))
    return len(frame)


def merge_journal(data: Path, folder: Path) -> int:
    """Append the journal's not yet merged site events to the shop's events table; return how many rows.

    The events file is rewritten to a temporary file and renamed over the old one, so a failure leaves it as it
    was; each journal file then records how many of its lines are merged (lines written later merge next time).
    """
    files = sorted(folder.glob("events-*.csv")) if folder.exists() else []
    if not data.is_dir():
        raise ValueError(f"{data}: merging the journal needs a shop folder (a DuckDB shop: insert the rows yourself)")
    target = next((data / f"events{s}" for s in (".parquet", ".csv") if (data / f"events{s}").exists()), None)
    if target is None:
        target = data / ("events.csv" if (data / "transactions.csv").exists() else "events.parquet")
    fresh, done = [], {}
    for file in files:
        lines = pd.read_csv(file, dtype=str, keep_default_na=False)
        marker = file.with_name(file.name + MERGED_SUFFIX)
        already = int(marker.read_text()) if marker.exists() else 0
        fresh.append(lines.iloc[already:])
        done[marker] = len(lines)
    new = pd.concat(fresh, ignore_index=True) if fresh else pd.DataFrame(columns=list(COLUMNS))
    new = new[new["event_type"].isin(SITE_EVENTS)]
    if len(new):
        _append_rows(target, new)
    for marker, count in done.items():
        marker.write_text(str(count))
    return len(new)


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
