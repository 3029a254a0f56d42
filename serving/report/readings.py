"""One line in words under each chart: what a marketer should take away, computed from the section's data."""

from __future__ import annotations

import numpy as np
import pandas as pd

from serving.report.builder import ChurnData, ModelQuality, ReportData
from serving.report.i18n import Lang, Words

WEEKDAY_SENTENCE = {Lang.en: ("on Monday", "on Tuesday", "on Wednesday", "on Thursday", "on Friday", "on Saturday",
                              "on Sunday"),
                    Lang.ru: ("в понедельник", "во вторник", "в среду", "в четверг", "в пятницу", "в субботу",
                              "в воскресенье")}


def pareto(data: ReportData, w: Words) -> str:
    cfg = data.settings.segments
    return w("r_pareto", top=w.share(cfg.golden_share), share=w.share(data.segmentation.golden_revenue_share),
             days=w.number(cfg.golden_days))


def rfm(data: ReportData, w: Words) -> str:
    grid = data.rfm
    busiest, richest = grid.loc[grid["customers"].idxmax()], grid.loc[grid["revenue"].idxmax()]
    total = grid["revenue"].sum()
    return w("r_rfm", cell=_cell(busiest), n=w.number(busiest["customers"]), rich_cell=_cell(richest),
             rich_share=w.share(richest["revenue"] / total if total else 0.0))


def _cell(row: pd.Series) -> str:
    return f"R{int(row['r'])}-F{int(row['f'])}-M{int(row['m'])}"


def segments(data: ReportData, w: Words) -> str:
    table = data.segments
    top, rich = table.loc[table["customers"].idxmax()], table.loc[table["revenue"].idxmax()]
    return w("r_segments", top=w.segment(top["segment"]), share=w.share(top["share"]),
             rich=w.segment(rich["segment"]), rich_share=w.share(rich["revenue_share"]))


def migration(data: ReportData, w: Words) -> str:
    matrix = data.migration
    earlier = matrix.loc[[s for s in matrix.index if s in matrix.columns]]
    stayed = int(sum(earlier.loc[s, s] for s in earlier.index))
    moves = earlier.copy()
    for s in moves.index:
        moves.loc[s, s] = 0
    src, dst = np.unravel_index(int(np.argmax(moves.to_numpy())), moves.shape)
    return w("r_migration", stayed=w.number(stayed), known=w.number(int(earlier.to_numpy().sum())),
             src=w.segment(moves.index[src]), dst=w.segment(moves.columns[dst]),
             n=w.number(int(moves.to_numpy()[src, dst])))


def churn(churn: ChurnData, w: Words) -> str:
    s = churn.scores
    high = s[s["churn_risk"] == "high"]
    worst = churn.by_segment.iloc[0]["segment"] if len(churn.by_segment) else "-"
    return w("r_churn", high=w.number(len(high)), lost=w.money(float(high["expected_lost_value"].sum())),
             segment=w.segment(str(worst)))


def health(data: ReportData, w: Words) -> str:
    complete = data.health[data.health["complete"]]
    row = (complete if len(complete) else data.health).iloc[-1]
    return w("r_health", month=w.month(row["period"]), new=w.number(row["new_customers"]),
             repeat=w.share(row["repeat_customer_share"]), dead=w.share(row["dead_contact_share"]))


def cohorts(data: ReportData, w: Words) -> str:
    table = data.cohorts

    def mean(column: str) -> float:
        return float(table[column].mean()) if column in table.columns and table[column].notna().any() else np.nan

    return w("r_cohorts", m1=w.share(mean("m1"), 1), m3=w.share(mean("m3"), 1))


def abc(products: pd.DataFrame, w: Words) -> str:
    a = products[products["abc"] == "A"]
    return w("r_abc", a_items=w.number(len(a)), a_share=w.share(len(a) / max(len(products), 1)),
             a_rev=w.share(float(a["revenue_share"].sum())), ax=w.number(int((a["xyz"] == "X").sum())))


def timing(data: ReportData, w: Words) -> str:
    best = data.timing.loc[data.timing["orders"].idxmax()]
    return w("r_timing", weekday=WEEKDAY_SENTENCE[w.lang][int(best["weekday"])], hour=f"{int(best['hour']):02d}",
             n=w.number(best["orders"]))


def models(quality: ModelQuality, w: Words) -> str:
    auc = quality.metrics[(quality.metrics["task"] == "churn") & (quality.metrics["metric"] == "roc_auc")]
    model = auc[auc["predictor"] == "model"]["value"]
    baselines = auc[auc["predictor"] != "model"].sort_values("value", ascending=False)
    if model.empty or baselines.empty:
        return ""
    holdout = w.date(quality.holdout_cutoff) if quality.holdout_cutoff else "-"
    best = baselines.iloc[0]
    return w("r_models", auc=w.number(float(model.iloc[0]), 3), holdout=holdout,
             baseline=w.predictor(str(best["predictor"])), base_auc=w.number(float(best["value"]), 3))


def campaigns(table: pd.DataFrame, w: Words) -> str:
    if table.empty:
        return ""
    top = table.iloc[0]
    return w("r_campaigns", n=w.number(len(table)), total=w.number(int(table["audience_size"].sum())),
             top=top["campaign"], size=w.number(top["audience_size"]))
