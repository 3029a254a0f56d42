"""An experiment's arms and shown lines as a worker serves them: the same answers as the slow, obvious way."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from serving.experiments import CHALLENGER, Active, Experiment, ShownLog
from training.experiments import read_shown


def test_arms_drawn_at_load_match_the_per_request_draw() -> None:
    experiment = Experiment(name="ab", challenger="2", champion="1", share=0.3, seed=7)
    known = [f"C{i:05d}" for i in range(2_000)]
    memo = SimpleNamespace(picks=dict.fromkeys(known))
    active = Active(experiment, None, memo, Path("x"),
                    frozenset(c for c in known if experiment.arm(c) == CHALLENGER))
    strangers = [f"new-{i}" for i in range(2_000)]
    for customer in known + strangers:
        assert active.in_challenger_arm(customer) == (experiment.arm(customer) == CHALLENGER), customer
    share = sum(active.in_challenger_arm(c) for c in known) / len(known)
    assert 0.25 < share < 0.35


def test_shown_lines_read_back_as_written(tmp_path: Path) -> None:
    log, path = ShownLog(), tmp_path / "experiments" / "ab.shown.jsonl"
    before = datetime.now()
    log.add(path, 'C"1', "challenger", "2", ("I1", "I2"))
    log.add(path, "C2", "champion", "1", ["I3"])
    log.flush()
    shown = read_shown(path)
    assert shown[["customer_id", "arm", "version"]].values.tolist() == [['C"1', "challenger", "2"],
                                                                        ["C2", "champion", "1"]]
    assert shown["items"].tolist() == [["I1", "I2"], ["I3"]]
    assert all(before.replace(microsecond=0) <= t <= datetime.now() for t in shown["time"])
    assert path.read_bytes().count(b"\n") == 2
