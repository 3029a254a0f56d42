"""Issue 30, the live-events journal under faults: torn and unreadable files, odd ids, a full disk, several
writers at once, merge that sets bad rows aside, compaction that keeps what replay needs.

The full-disk and concurrency cases run in real child processes (a file-size limit set with setrlimit in the
child makes the disk "full" at a chosen size without root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.data.reader import read_shop
from serving.events import Journal, LiveEvent, LiveState, replay
from serving.fastpath import _parsers, parse
from serving.journal import read_journal
from serving.merge import merge_journal
from serving.routes import ApiError
from serving.timerule import event_time_problem

NOW = datetime.now().replace(microsecond=0)


def event(customer: str, kind: str, item: str, minutes: int = 0) -> LiveEvent:
    return LiveEvent(customer, NOW - timedelta(hours=1) + timedelta(minutes=minutes), kind, item)


def state_of(folder: Path) -> dict[str, tuple[list[str], set[str]]]:
    state = LiveState()
    replay(folder, state)
    return {c: (list(live.cart), set(live.bought)) for c, live in state.customers.items() if live.cart or live.bought}


def two_customer_shop(tmp_path: Path) -> tuple[Path, datetime]:
    """A shop of two customers whose one order each was 30 days ago; returns it and that first order's time."""
    shop = tmp_path / "shop"
    shop.mkdir()
    first = NOW - timedelta(days=30)
    pd.DataFrame({"customer_id": ["c1", "c2"], "order_id": ["o1", "o2"], "timestamp": [first, first],
                  "amount": [10.0, 5.0]}).to_parquet(shop / "transactions.parquet", index=False)
    return shop, first


def test_ids_with_control_characters_come_back_whole_and_are_refused_at_the_door(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    odd = ["a\rb", "c\nd", "e,f", 'g"h', "=1+2", "ü"]
    journal.append([event(c, "cart_add", f"i{n}", n) for n, c in enumerate(odd)]
                   + [event(f"c{n}", "view", "x", n) for n in range(11)])
    found = read_journal(tmp_path)
    assert len(found.events) == 17 and not found.skipped  # 17 events written, 17 read: no line split
    assert set(state_of(tmp_path)) >= set(odd)
    parser = _parsers()[("POST", "/events")][1]
    with pytest.raises(ApiError) as refused:
        parse(parser, b'{"customer_id": "a\\rb", "event_type": "view", "item_id": "x"}')  # type: ignore[arg-type]
    assert refused.value.status == 422 and "control character" in refused.value.detail


def test_a_damaged_journal_is_replayed_around_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    journal = Journal(tmp_path)
    journal.append([event("c1", "cart_add", "i1"), event("c2", "purchase", "i2", 1)])
    with journal.path.open("ab") as handle:
        handle.write(b'{"customer_id": "c3", "timestamp": "2026-')  # what a full disk or kill -9 leaves
    (tmp_path / "events-1999-01-01.jsonl").mkdir()  # a folder named like a journal file
    (tmp_path / "events-20260101T000000-1.csv").write_bytes(b"customer_id,timestamp,event_type,item_id\n\xff\xfe,x\n")
    assert state_of(tmp_path) == {"c1": (["i1"], set()), "c2": ([], {"i2"})}
    said = caplog.text
    assert "skipped unreadable line(s) 3" in said and "moved to quarantine/" in said
    assert sorted(p.name.split("-", 1)[1] for p in (tmp_path / "quarantine").iterdir()) == [
        "events-1999-01-01.jsonl", "events-20260101T000000-1.csv"]
    journal.append([event("c4", "cart_add", "i4", 2)])  # the next batch does not glue onto the torn line
    assert state_of(tmp_path)["c4"] == (["i4"], set())


FULL_DISK = textwrap.dedent("""
    import resource, sys
    from datetime import datetime
    from pathlib import Path
    from serving.events import Journal, LiveEvent, JournalError
    journal = Journal(Path(sys.argv[1]))
    now = datetime.now().replace(microsecond=0)
    journal.append([LiveEvent("small", now, "view", "i1")])
    size = journal.path.stat().st_size
    resource.setrlimit(resource.RLIMIT_FSIZE, (size + 4000, resource.RLIM_INFINITY))
    try:
        journal.append([LiveEvent("c" * 100, now, "view", "i" * 100) for _ in range(100)])
    except JournalError as exc:
        print(exc.status, exc.detail)
    print(journal.path.stat().st_size == size)
    journal.append([LiveEvent("after", now, "view", "i2")])
""")


def test_a_full_disk_keeps_none_of_the_batch(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-c", FULL_DISK, str(tmp_path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[3])
    assert done.returncode == 0, done.stderr
    status, same_size = done.stdout.splitlines()
    assert status.startswith("507 ") and "is full" in status and "none of these events was kept" in status
    assert same_size == "True"  # the part of the batch that fit was cut back
    assert [e.customer_id for _, _, e in read_journal(tmp_path).events if e] == ["small", "after"]


WRITER = textwrap.dedent("""
    import sys
    from datetime import datetime
    from pathlib import Path
    from serving.events import Journal, LiveEvent
    journal, me = Journal(Path(sys.argv[1])), sys.argv[2]
    for batch in range(150):
        journal.append([LiveEvent(f"{me}-{batch}", datetime(2026, 1, 1), "view", f"i{n}") for n in range(7)])
""")


def test_several_processes_append_to_one_file_without_mixing_lines(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[3]
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"w{n}"], cwd=root) for n in range(4)]
    assert [w.wait(300) for w in writers] == [0, 0, 0, 0]
    files = list(tmp_path.glob("events-*.jsonl"))
    assert [f.name for f in files] == [f"events-{date.today().isoformat()}.jsonl"]  # one file a day, shared
    found = read_journal(tmp_path)
    assert len(found.events) == 4 * 150 * 7 and not found.skipped
    ids = [e.customer_id for _, _, e in found.events if e]
    batches = [ids[i:i + 7] for i in range(0, len(ids), 7)]
    assert all(len(set(b)) == 1 for b in batches)  # each batch's lines stayed together


def test_merge_sets_aside_rows_that_would_break_the_contract(tmp_path: Path) -> None:
    shop, first = two_customer_shop(tmp_path)
    folder = shop / "events_journal"
    journal = Journal(folder)
    journal.append([event("c1", "view", "i1"), LiveEvent("c2", datetime(2999, 1, 1), "view", "i2"),
                    LiveEvent("c2", datetime(1970, 1, 1), "cart_add", "i2")])
    with journal.path.open("ab") as handle:  # what an older version let in: a carriage return in an id
        handle.write(json.dumps({"customer_id": "a\rb", "timestamp": str(NOW), "event_type": "view",
                                 "item_id": "i3"}).encode() + b"\n")
    result = merge_journal(shop, folder)
    assert (result.merged, result.set_aside) == (1, 3)
    assert result.report is not None
    report = pd.read_csv(result.report, dtype=str)
    assert report["problem"].str.contains("later than now plus a day").sum() == 1
    assert report["problem"].str.contains("before .* first order", regex=True).sum() == 1
    assert report["problem"].str.contains("control character").sum() == 1
    checked = read_shop(shop, cache=False)  # the shop still meets the contract after the merge
    assert checked.to_pandas("events")["customer_id"].tolist() == ["c1"]
    assert merge_journal(shop, folder).set_aside == 0  # set aside once, not reported again


def test_the_time_rule_at_the_door() -> None:
    first = datetime(2024, 1, 1)
    assert event_time_problem(NOW, first_order=first) is None
    assert "later than now plus a day" in str(event_time_problem(datetime(2999, 1, 1), first_order=first))
    assert "first order 2024-01-01" in str(event_time_problem(datetime(2020, 1, 1), first_order=first))
    assert event_time_problem(datetime(2020, 1, 1)) is None  # first order not known yet: only the upper bound


def test_merge_compacts_old_merged_files_and_replay_sees_the_same_state(tmp_path: Path) -> None:
    shop = tmp_path / "shop"
    shop.mkdir()
    folder = shop / "events_journal"
    folder.mkdir()
    old = NOW - timedelta(days=5)
    days = [(old + timedelta(days=n)) for n in range(3)]
    for n, day in enumerate(days):
        later = day + timedelta(minutes=1)
        lines = [LiveEvent("c1", day, "view", "i0"), LiveEvent("c1", later, "cart_add", f"i{n}"),
                 LiveEvent("c2", day, "cart_add", "i9"), LiveEvent("c2", later, "cart_remove", "i9"),
                 LiveEvent("c3", day, "purchase", f"p{n}")]
        path = folder / f"events-{day.date().isoformat()}.jsonl"
        path.write_bytes(b"".join(json.dumps({"customer_id": e.customer_id, "timestamp": str(e.timestamp),
                                              "event_type": e.event_type, "item_id": e.item_id}).encode() + b"\n"
                                  for e in lines))
        os.utime(path, (old.timestamp(), old.timestamp()))
    before = state_of(folder)
    result = merge_journal(shop, folder)
    assert result.merged == 12 and result.compacted == 3
    assert [p.name.startswith("events-compacted-") for p in folder.glob("events-*.jsonl")] == [True]
    assert state_of(folder) == before
    assert len(read_journal(folder).events) == 3 + 3  # c1's open cart lines and c3's purchases, nothing else
    assert merge_journal(shop, folder).merged == 0  # the snapshot is not merged again


def test_an_older_csv_journal_with_a_torn_quoted_line_is_still_replayed(tmp_path: Path) -> None:
    (tmp_path / "events-20260101T000000-1.csv").write_bytes(
        b'customer_id,timestamp,event_type,item_id\nc1,2026-01-01 10:00:00,cart_add,i1\nc2,2026-01-01 10:00:00,'
        b'cart_add,"i2')  # what the full disk left of the older CSV journal
    assert state_of(tmp_path) == {"c1": (["i1"], set())}
    assert read_journal(tmp_path).skipped == {"events-20260101T000000-1.csv": [3]}


def test_merge_events_says_what_it_set_aside_and_validate_still_passes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training.cli.app import app

    shop, first = two_customer_shop(tmp_path)
    folder = shop / "events_journal"
    folder.mkdir()
    # an older version's CSV journal, its first event already merged (marker), then one from the year 2999
    (folder / "events-20260101T000000-1.csv").write_text(
        f"customer_id,timestamp,event_type,item_id\nc1,{first},view,i0\nc1,{NOW},view,i1\n"
        "c2,2999-01-01 00:00:00,view,i2\n")
    (folder / "events-20260101T000000-1.csv.merged").write_text("1")
    runner = CliRunner()
    merged = runner.invoke(app, ["merge-events", "--data", str(shop)])
    assert merged.exit_code == 0, merged.output
    text = " ".join(merged.output.split())
    assert "merged 1 journaled events" in text and "set aside: 1 journaled rows would break the data contract" in text
    assert runner.invoke(app, ["validate", "--data", str(shop)]).exit_code == 0
    assert pd.read_parquet(shop / "events.parquet")["item_id"].tolist() == ["i1"]  # not i0 again, not i2
