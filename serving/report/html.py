"""The report page: one self-contained HTML file (plotly.js, styles and data inline; nothing fetched from anywhere).

Sections follow the marketer's questions: who brings the revenue, who the customers are, who moves where, who is
leaving, how the base is doing, which products carry it, when to send, how good the models are, which campaigns
are ready. Each has a title, one line in words and its charts or tables; a section without its data says what
to run instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

import pandas as pd
import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from features.words.catalogue import say
from serving.report import charts, readings, uplift
from serving.report.builder import ReportData
from serving.report.i18n import Lang, Words
from serving.report.monitoring import drift_html

STYLE = """
body{font-family:"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{background:#1f3a5f;color:#fff;padding:24px 40px}header h1{margin:0 0 6px}header p{margin:2px 0;opacity:.9}
nav{padding:10px 40px;background:#fff;border-bottom:1px solid #d9e2ec}nav a{margin-right:16px;color:#1f3a5f}
main{padding:10px 40px 40px}section{background:#fff;border-radius:8px;padding:16px 24px;margin:18px 0;
box-shadow:0 1px 3px rgba(0,0,0,.08)}h2{margin:4px 0 6px;color:#1f3a5f}
p.reading{font-size:1.1em;margin:4px 0 12px;color:#243b53}p.missing{color:#8d2b0b;font-size:1.05em}
.grid{display:grid;grid-template-columns:minmax(0,1fr);gap:12px}.grid>div{min-width:0}
.grid.two{grid-template-columns:repeat(2,minmax(0,1fr))}
@media (max-width:1100px){.grid.two{grid-template-columns:minmax(0,1fr)}}
table{border-collapse:collapse;font-size:.9em;margin:8px 0}th,td{padding:4px 10px;border-bottom:1px solid #e4e7eb;
text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}th{background:#f0f4f8}
"""
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
# Each chart is drawn as the page is parsed, before the charts after it exist; a grid that sized its columns by
# its items then gave the first chart the whole row, and it overflowed its half once the second arrived. The
# columns are fixed (two, one on a narrow screen), and once the page is laid out every chart is fitted again.
FIT_CHARTS = ("<script>window.addEventListener('load',function(){Promise.all(Array.from(document.querySelectorAll("
              "'div.plotly-graph-div'),function(d){return Plotly.Plots.resize(d);})).then(function(){"
              "document.body.dataset.fitted='yes';});});</script>")  # the browser test waits for "fitted"


@dataclass
class Section:
    """One block of the page: its anchor, title, reading, figures and tables (or the sentence saying why not)."""

    key: str
    title: str
    reading: str = ""
    figures: list[go.Figure] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    missing: str = ""
    wide: bool = False


def table_html(frame: pd.DataFrame, numeric: Sequence[str] = ()) -> str:
    """Return an HTML table of already formatted cells; ``numeric`` columns are right-aligned."""
    head = "".join(f"<th>{escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cells = "".join(f'<td class="num">{escape(str(v))}</td>' if c in numeric else f"<td>{escape(str(v))}</td>"
                        for c, v in zip(frame.columns, values, strict=True))
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def segments_table(data: ReportData, w: Words) -> str:
    t = data.segments
    frame = pd.DataFrame({w("segment"): [w.segment(s) for s in t["segment"]],
                          w("customers"): [w.number(v) for v in t["customers"]],
                          w("share"): [w.share(v, 1) for v in t["share"]],
                          w("revenue"): [w.money(v) for v in t["revenue"]],
                          w("share_revenue"): [w.share(v, 1) for v in t["revenue_share"]],
                          w("avg_check"): [w.money(v) if pd.notna(v) else "-" for v in t["avg_check"]]})
    return table_html(frame, list(frame.columns[1:]))


def churn_table(top: pd.DataFrame, w: Words) -> str:
    frame = pd.DataFrame({w("customer_id"): top["customer_id"].astype(str),
                          w("expected_lost"): [w.money(v) for v in top["expected_lost_value"]],
                          w("probability"): [w.share(v) for v in top["churn_probability"]],
                          w("risk"): [w.risk(v) for v in top["churn_risk"]],
                          w("segment"): [w.segment(str(v)) for v in top["segment"]],
                          w("last_order"): [w.date(v) if pd.notna(v) else "-" for v in top["last_order"]],
                          w("reasons"): top.get(f"reasons_{w.lang.value}", top["reasons"]).astype(str)})
    return table_html(frame, list(frame.columns[1:3]))


def metrics_table(metrics: pd.DataFrame, w: Words) -> str:
    wide = metrics.pivot_table(index=["task", "metric"], columns="predictor", values="value", sort=False)
    predictors = ["model", *[p for p in wide.columns if p != "model"]] if "model" in wide.columns else list(wide)
    rows = {w("task"): [w.task(t) for t, _ in wide.index], w("metric"): [w.metric(m) for _, m in wide.index]}
    for p in predictors:
        rows[w.predictor(p)] = [w.number(v, 3) for v in wide[p]]
    frame = pd.DataFrame(rows)
    return table_html(frame, list(frame.columns[2:]))


def campaigns_table(table: pd.DataFrame, w: Words) -> str:
    frame = pd.DataFrame({w("campaign"): table["campaign"], w("audience_size"): [w.number(v) for v in
                                                                                  table["audience_size"]]})
    if "control" in table.columns:
        frame[w("control")] = [w.number(float(v)) for v in pd.to_numeric(table["control"], errors="coerce")]
    if "at_stake" in table.columns:
        frame[w("at_stake")] = [w.money(float(v)) for v in pd.to_numeric(table["at_stake"], errors="coerce")]
    if "offer" in table.columns:
        frame[w("offer")] = table["offer"].fillna("").astype(str)
    return table_html(frame, [c for c in frame.columns if c not in (w("campaign"), w("offer"))])


def sections(data: ReportData, w: Words) -> list[Section]:
    """Return every section of the page in reading order."""
    cfg = data.settings.segments

    def missing(key: str) -> str:
        text_key, values = data.missing[key]
        return w(text_key, **values)

    out = [
        Section("pareto", w("s_pareto"), readings.pareto(data, w),
                [charts.pareto(data.pareto, cfg.golden_share, data.segmentation.golden_revenue_share, w)]),
        Section("rfm", w("s_rfm"), readings.rfm(data, w),
                [charts.rfm_heatmaps(data.rfm, "customers", w("rfm_customers"), w),
                 charts.rfm_heatmaps(data.rfm, "revenue", w("rfm_revenue"), w)]),
        Section("segments", w("s_segments"), readings.segments(data, w), [charts.segments(data.segments, w)],
                [segments_table(data, w)]),
        Section("migration", w("s_migration"), readings.migration(data, w),
                [charts.migration(data.migration, cfg.previous_days, w)]),
    ]
    if data.churn is not None:
        out.append(Section("churn", w("s_churn"), readings.churn(data.churn, w),
                           [charts.churn_distribution(data.churn.scores, w),
                            charts.churn_by_segment(data.churn.by_segment, w)],
                           [f"<h3>{escape(w('churn_top'))}</h3>" + churn_table(data.churn.top, w)]))
    else:
        out.append(Section("churn", w("s_churn"), missing=missing("churn")))
    segment_names = [s for s in data.segments["segment"]]
    out += [
        Section("health", w("s_health"), readings.health(data, w),
                [charts.health_counts(data.health, w), charts.health_shares(data.health, w),
                 charts.health_checks(data.health, segment_names, w)]),
        Section("cohorts", w("s_cohorts"), readings.cohorts(data, w), [charts.cohorts(data.cohorts, w)]),
    ]
    if data.products is not None and len(data.products):
        out.append(Section("abc", w("s_abc"), readings.abc(data.products, w), [charts.abc_xyz(data.products, w)]))
    else:
        out.append(Section("abc", w("s_abc"), missing=missing("abc") if "abc" in data.missing else w("no_items")))
    out.append(Section("timing", w("s_timing"), readings.timing(data, w), [charts.timing(data.timing, w)]))
    if data.models is not None:
        figs = [charts.model_metrics(data.models.metrics, w)]
        if not data.models.calibration.empty:
            figs.append(charts.calibration(data.models.calibration, w))
        drift = [drift_html(data.models.drift, w.lang.value)] if data.models.drift else []
        out.append(Section("models", w("s_models"), readings.models(data.models, w), figs,
                           [metrics_table(data.models.metrics, w), *drift], wide=True))
    else:
        out.append(Section("models", w("s_models"), missing=missing("models")))
    if data.campaigns is not None:
        results = data.campaign_results.get(w.lang.value, [])
        listed = (f"<h3>{escape(w('campaign_results', days=w.number(data.settings.result_days)))}</h3><ul>"
                  + "".join(f"<li>{escape(text)}</li>" for text in results) + "</ul>") if results else ""
        out.append(Section("campaigns", w("s_campaigns"), readings.campaigns(data.campaigns, w),
                           [charts.campaigns(data.campaigns, w)], [campaigns_table(data.campaigns, w) + listed]))
    else:
        out.append(Section("campaigns", w("s_campaigns"), missing=missing("campaigns")))
    title = say("uplift.title", w.lang.value)
    if data.uplift:
        reading, figures = uplift.section_parts(data.uplift, w)
        out.append(Section("uplift", title, reading, figures, wide=len(figures) == 1))
    else:
        out.append(Section("uplift", title, missing=say("uplift.missing", w.lang.value)))
    return out


def section_html(section: Section) -> str:
    parts = [f'<section id="{section.key}"><h2>{escape(section.title)}</h2>']
    if section.missing:
        parts.append(f'<p class="missing">{escape(section.missing)}</p>')
    if section.reading:
        parts.append(f'<p class="reading">{escape(section.reading)}</p>')
    if section.figures:
        divs = [f.to_html(include_plotlyjs=False, full_html=False, config=FIGURE_CONFIG,
                          div_id=f"chart-{section.key}-{i}") for i, f in enumerate(section.figures)]
        cells = "".join(f'<div class="chart">{d}</div>' for d in divs)
        two = len(section.figures) > 1 and not section.wide
        parts.append(f'<div class="grid{" two" if two else ""}">{cells}</div>')
    parts.extend(section.tables)
    parts.append("</section>")
    return "".join(parts)


def render(data: ReportData, lang: Lang | str = Lang.en) -> str:
    """Return the whole page as one HTML string, plotly.js included once, inline."""
    w = Words(lang)
    o = data.overview
    blocks = sections(data, w)
    subtitle = w("subtitle", shop=data.settings.shop_name, cutoff=w.date(data.cutoff),
                 customers=w.number(o["customers"]), orders=w.number(o["orders"]), revenue=w.money(o["revenue"]))
    nav = "".join(f'<a href="#{s.key}">{escape(s.title)}</a>' for s in blocks)
    return (f'<!DOCTYPE html><html lang="{w.lang.value}"><head><meta charset="utf-8">'
            f"<title>{escape(w('title'))}</title><style>{STYLE}</style>"
            f'<script type="text/javascript">{get_plotlyjs()}</script></head><body>'
            f"<header><h1>{escape(w('title'))}</h1><p>{escape(subtitle)}</p><p>{escape(w('generated'))}</p></header>"
            f"<nav>{nav}</nav><main>{''.join(section_html(s) for s in blocks)}</main>{FIT_CHARTS}</body></html>")
