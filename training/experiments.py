"""Results of an A/B experiment of recommender versions: the shown lists joined with the events that followed.

A customer belongs to the arm their seeded hash gave (``serving.experiments``); they count once they were shown a
list. What follows a shown list within the experiment's window is attributed to the arm: a cart add of an item of
that list is a click; every purchase is counted for conversion and revenue (at the items table's list price;
the journal's purchase events carry no price). Per arm: customers, lists shown, click-through (clicks per list
shown), conversion (customers with a purchase), revenue per customer. The challenger's difference to the champion
comes with a 95% interval (Welch's normal approximation, ``features.campaigns.results.difference``); the relative
figure divides by the champion's mean (taken as known, so its interval is a little too narrow for small arms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pandas as pd

from features.campaigns.results import difference
from serving.experiments import CHALLENGER, CHAMPION, Experiment, shown_file
from serving.journal import read_journal

MIN_ARM = 30  # fewer customers in an arm: the interval is only a rough guide


@dataclass
class Results:
    experiment: Experiment
    arms: dict[str, dict[str, float]]
    differences: dict[str, tuple[float, float, float]]  # metric -> (challenger - champion, low, high)
    relative: tuple[float, float, float] | None  # revenue per customer, relative to the champion's
    sentence: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"experiment": self.experiment.name, "arms": self.arms,
                "differences": {k: list(v) for k, v in self.differences.items()},
                "relative_revenue": list(self.relative) if self.relative else None, "sentence": self.sentence}


def read_shown(path: Path) -> pd.DataFrame:
    """Read the shown lists (a torn last line of a killed worker is skipped)."""
    rows = []
    if path.exists():
        for line in path.read_bytes().splitlines():
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                continue
    frame = pd.DataFrame(rows, columns=["time", "customer_id", "arm", "version", "items"])
    frame["time"] = pd.to_datetime(frame["time"], format="ISO8601")
    return frame


def read_events(journal: Path) -> pd.DataFrame:
    events = [e for _, _, e in read_journal(journal, quarantine=False).events if e is not None]
    frame = pd.DataFrame([(e.customer_id, e.timestamp, e.event_type, e.item_id) for e in events],
                         columns=["customer_id", "timestamp", "event_type", "item_id"])
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    return frame


def outcomes(shown: pd.DataFrame, events: pd.DataFrame, prices: dict[str, float], window_hours: float
             ) -> pd.DataFrame:
    """Return one row per shown customer: arm, lists, clicks, purchases, revenue in the windows after their lists."""
    window = timedelta(hours=window_hours)
    shown = shown.assign(time=shown["time"].dt.floor("s"))  # the journal keeps whole seconds of events sent now
    per = shown.groupby("customer_id").agg(arm=("arm", "first"), lists=("time", "size")).reset_index()
    lists = shown[["customer_id", "time", "items"]].explode("items").rename(columns={"items": "item_id"})
    carts = events[events["event_type"] == "cart_add"].merge(lists, on=["customer_id", "item_id"])
    carts = carts[(carts["timestamp"] >= carts["time"]) & (carts["timestamp"] <= carts["time"] + window)]
    clicks = carts.drop_duplicates(["customer_id", "item_id", "timestamp"]).groupby("customer_id").size()
    bought = events[events["event_type"] == "purchase"].merge(shown[["customer_id", "time"]], on="customer_id")
    bought = bought[(bought["timestamp"] >= bought["time"]) & (bought["timestamp"] <= bought["time"] + window)]
    bought = bought.drop_duplicates(["customer_id", "item_id", "timestamp"])
    bought = bought.assign(revenue=bought["item_id"].map(prices).fillna(0.0))
    money = bought.groupby("customer_id")["revenue"].sum()
    per["clicks"] = per["customer_id"].map(clicks).fillna(0).astype(float)
    per["purchases"] = per["customer_id"].map(bought.groupby("customer_id").size()).fillna(0).astype(float)
    per["revenue"] = per["customer_id"].map(money).fillna(0.0)
    per["converted"] = (per["purchases"] > 0).astype(float)
    return per


def results(experiment: Experiment, shown: pd.DataFrame, events: pd.DataFrame, prices: dict[str, float]) -> Results:
    per = outcomes(shown, events, prices, experiment.window_hours)
    arms = {}
    for arm in (CHAMPION, CHALLENGER):
        mine = per[per["arm"] == arm]
        lists = float(mine["lists"].sum())
        arms[arm] = {"customers": float(len(mine)), "lists_shown": lists,
                     "click_through": float(mine["clicks"].sum() / lists) if lists else 0.0,
                     "conversion": float(mine["converted"].mean()) if len(mine) else 0.0,
                     "revenue_per_customer": float(mine["revenue"].mean()) if len(mine) else 0.0}
    a, b = (per[per["arm"] == arm] for arm in (CHALLENGER, CHAMPION))
    notes: list[str] = []
    if min(len(a), len(b)) < 2:
        return Results(experiment, arms, {}, None, "not enough customers shown a list yet to compare the arms",
                       notes)
    diffs = {metric: difference(a[metric].to_numpy(float), b[metric].to_numpy(float))
             for metric in ("converted", "revenue")}
    base = float(b["revenue"].mean())
    d, lo, hi = diffs["revenue"]
    relative = (d / base, lo / base, hi / base) if base > 0 else None
    if min(len(a), len(b)) < MIN_ARM:
        notes.append(f"fewer than {MIN_ARM} customers in an arm: the interval is only a rough guide")
    return Results(experiment, arms, diffs, relative, sentence(diffs["revenue"], relative), notes)


def sentence(revenue: tuple[float, float, float], relative: tuple[float, float, float] | None) -> str:
    """'the challenger sells 4.1% more per customer, 95% interval -1.2% to 9.4%: not yet clear'."""
    diff, low, high = relative if relative is not None else revenue
    fmt = (lambda v: f"{v * 100:.1f}%") if relative is not None else (lambda v: f"{v:.2f}")
    verdict = ("the challenger is better" if low > 0 else "the champion is better" if high < 0 else "not yet clear")
    more = "more" if diff >= 0 else "less"
    return (f"the challenger sells {fmt(abs(diff))} {more} per customer, 95% interval {fmt(low)} to {fmt(high)}: "
            f"{verdict}")


def winner(found: Results) -> str | None:
    """The arm that is better outside the noise on revenue per customer, else None."""
    if "revenue" not in found.differences:
        return None
    _, low, high = found.differences["revenue"]
    return CHALLENGER if low > 0 else CHAMPION if high < 0 else None


def experiment_results(experiment: Experiment, data: Path, journal: Path, prices: dict[str, float]) -> Results:
    return results(experiment, read_shown(shown_file(data, experiment.name)), read_events(journal), prices)
