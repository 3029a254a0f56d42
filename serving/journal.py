"""The live-events journal: JSON lines, one file a day shared by every worker, appended whole or not at all.

``<data>/events_journal/events-YYYY-MM-DD.jsonl`` (the shop's local date) holds one JSON object a line:
``{"customer_id", "timestamp", "event_type", "item_id"}``. Every process appends to the same day's file with one
``os.write`` of whole lines on an ``O_APPEND`` descriptor, under an exclusive ``flock`` and followed by ``fsync``,
so lines of several workers never interleave and a batch is on disk before it is acknowledged. A write that
fails (a full disk, a file-size limit) is cut back to where it started: the batch is journaled whole or not at
all, and ``JournalError`` says why (507 for a full disk, 503 for a folder that cannot be written).

Reading is forgiving, because a journal that cannot be replayed would keep the service from starting: a torn or
unreadable line is skipped and reported, a file that cannot be read at all (a folder named like a journal file,
no permission) is moved to ``quarantine/`` and reported. Journals of older versions (``events-<start>-<pid>.csv``)
are read too.
"""

from __future__ import annotations

import csv
import errno
import fcntl
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import orjson

from serving.live import COLUMNS, LiveEvent, LiveState

logger = logging.getLogger(__name__)

QUARANTINE = "quarantine"
FULL_DISK = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)  # EFBIG: a file-size limit (RLIMIT_FSIZE) was reached


class JournalError(Exception):
    """The journal could not take a batch; nothing of it was kept. ``status``: the HTTP answer to give."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail = status, error, detail


def day_file(folder: Path, day: date) -> Path:
    return folder / f"events-{day.isoformat()}.jsonl"


def event_line(event: LiveEvent) -> bytes:
    return orjson.dumps({"customer_id": event.customer_id, "timestamp": event.timestamp.isoformat(sep=" "),
                         "event_type": event.event_type, "item_id": event.item_id}) + b"\n"


class Journal:
    """Appends batches of events to today's file; ``append`` returns once they are on disk (fsync).

    A folder that cannot be created or written (a read-only shop) does not stop the service: ``read_only`` then
    holds the reason and every ``append`` raises ``JournalError`` (503) with it.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._day: date | None = None
        self.read_only: str | None = None
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._file_for(date.today())
        except OSError as exc:
            self.read_only = (f"the live-events journal {folder} cannot be written ({exc.strerror or exc}); the "
                              "service runs read-only: events are not taken until the folder is writable and the "
                              "service restarted")
            logger.warning("%s", self.read_only)

    @property
    def path(self) -> Path:
        return day_file(self.folder, self._day or date.today())

    def append(self, events: Iterable[LiveEvent]) -> None:
        """Write every event or none of them, then fsync.

        Raises
        ------
        JournalError
            507 when the disk (or the file-size limit) is full, 503 when the journal cannot be written at all.
        """
        data = b"".join(event_line(e) for e in events)
        if self.read_only is not None:
            raise JournalError(503, "read-only", self.read_only)
        with self._lock:
            try:
                fd = self._file_for(date.today())
            except OSError as exc:
                raise _journal_error(exc, self.folder) from None
            fcntl.flock(fd, fcntl.LOCK_EX)  # one writer at a time across processes: a failed batch can be cut back
            try:
                _write_whole(fd, data, self.path)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _file_for(self, day: date) -> int:
        """Return the descriptor of ``day``'s file, switching files when the day has changed."""
        if self._fd is not None and self._day == day:
            return self._fd
        fd = os.open(day_file(self.folder, day), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        if self._fd is not None:
            os.close(self._fd)
        self._fd, self._day = fd, day
        return fd

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _write_whole(fd: int, data: bytes, path: Path) -> None:
    size = os.fstat(fd).st_size
    if size and os.pread(fd, 1, size - 1) != b"\n":
        data = b"\n" + data  # a torn line left by a killed writer stays a line of its own (skipped on replay)
    try:
        written = 0
        while written < len(data):
            written += os.write(fd, data[written:])
        os.fsync(fd)
    except OSError as exc:
        try:
            os.ftruncate(fd, size)  # the batch whole or not at all
            os.fsync(fd)
        except OSError:
            logger.exception("could not cut %s back to %d bytes after a failed write", path, size)
        raise _journal_error(exc, path) from None


def _journal_error(exc: OSError, where: Path) -> JournalError:
    if exc.errno in FULL_DISK:
        return JournalError(507, "insufficient storage", f"the disk holding the live-events journal {where} is full "
                            f"({exc.strerror}); none of these events was kept: free space, then send them again")
    return JournalError(503, "journal unavailable", f"the live-events journal {where} cannot be written "
                        f"({exc.strerror or exc}); none of these events was kept: send them again later")


def unwritable(folder: Path) -> str | None:
    """Return why the journal folder cannot be written (tried for real: a probe file), or None when it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


# reading ---------------------------------------------------------------------------------------------------------
@dataclass
class JournalRead:
    """What a read of the journal found: the events in file order, and what was skipped or moved aside."""

    events: list[tuple[str, int, LiveEvent | None]] = field(default_factory=list)  # (file, line, event or None)
    skipped: dict[str, list[int]] = field(default_factory=dict)  # file -> line numbers that could not be read
    quarantined: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        notes = [f"{name}: skipped unreadable line(s) {', '.join(map(str, lines[:5]))}"
                 f"{' ...' if len(lines) > 5 else ''} (a torn last line is what a crash or a full disk leaves)"
                 for name, lines in self.skipped.items()]
        moved = [f"{name}: cannot be read as a journal file; moved to {QUARANTINE}/" for name in self.quarantined]
        return notes + moved


def journal_files(folder: Path) -> list[Path]:
    """Return the journal's files, oldest first (today's JSON lines and older versions' CSV files)."""
    if not folder.is_dir():
        return []
    return sorted(p for pattern in ("events-*.jsonl", "events-*.csv") for p in folder.glob(pattern))


def read_journal(folder: Path, quarantine: bool = True) -> JournalRead:
    """Read every journal file; skip unreadable lines, move unreadable files to ``quarantine/`` (when allowed)."""
    found = JournalRead()
    for file in journal_files(folder):
        try:
            lines = list(_file_events(file))
        except (OSError, UnicodeDecodeError, csv.Error, ValueError) as exc:
            logger.warning("journal file %s cannot be read (%s)", file, exc)
            found.quarantined.append(file.name)
            if quarantine:
                _move_aside(file)
            continue
        for number, event in lines:
            found.events.append((file.name, number, event))
            if event is None:
                found.skipped.setdefault(file.name, []).append(number)
    return found


def _move_aside(file: Path) -> None:
    target = file.parent / QUARANTINE / f"{datetime.now():%Y%m%dT%H%M%S}-{file.name}"
    try:
        target.parent.mkdir(exist_ok=True)
        file.rename(target)
    except OSError as exc:  # a read-only folder: it stays and is skipped again next time
        logger.warning("could not move %s aside (%s)", file, exc)


def _file_events(file: Path) -> Iterator[tuple[int, LiveEvent | None]]:
    """Yield (line number, event or None for an unreadable line) of one file; raise when the file is no journal."""
    with file.open("rb") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)  # never half of a batch a worker is writing (merge counts lines)
        raw = handle.read()
    if file.suffix == ".csv":
        yield from _csv_events(raw)
        return
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if number == len(lines):  # after the last newline: empty, or a torn line
            if line.strip():
                yield number, None
            return
        if line.strip():
            yield number, _json_event(line)


def _json_event(line: bytes) -> LiveEvent | None:
    try:
        row = orjson.loads(line)
        return LiveEvent(str(row["customer_id"]), datetime.fromisoformat(row["timestamp"]), str(row["event_type"]),
                         str(row["item_id"]))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
        return None


def _csv_events(raw: bytes) -> Iterator[tuple[int, LiveEvent | None]]:
    """Older versions' CSV journal: header line, then one event a record (each record counts, as merge counted)."""
    text = raw.decode("utf-8")  # a file that is not UTF-8 is quarantined whole (older versions wrote it raw)
    rows = list(csv.reader(text.splitlines(keepends=True)))
    if not rows or tuple(rows[0]) != COLUMNS:
        raise ValueError("no journal header")
    torn = not text.endswith("\n")
    for number, row in enumerate(rows[1:], start=2):
        good = len(row) == len(COLUMNS) and not (torn and number == len(rows))
        yield number, _csv_event(row) if good else None


def _csv_event(row: list[str]) -> LiveEvent | None:
    try:
        return LiveEvent(row[0], datetime.fromisoformat(row[1]), row[2], row[3])
    except ValueError:
        return None


def replay(folder: Path, state: LiveState) -> int:
    """Apply every readable journaled event to ``state`` in time order; return how many. Never raises for a
    damaged journal: unreadable lines are skipped and unreadable files quarantined, each reported in the log."""
    found = read_journal(folder)
    events = sorted((e for _, _, e in found.events if e is not None), key=lambda e: e.timestamp.replace(tzinfo=None))
    for event in events:
        state.apply(event)
    for note in found.notes():
        logger.warning("journal replay: %s", note)
    logger.info("replayed %d journaled events of %d customers", len(events), len(state.customers))
    return len(events)
