"""Plotly figures of the report, one function per chart, each from a builder DataFrame and the page's language.

Axes that would show dates use category labels formatted by ``Words`` (plotly has no Russian month names
offline), and every figure carries the language's decimal and thousands marks.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from serving.report.i18n import Words

GOLD = "#c9a227"
BLUE = "#2f6db5"
RED = "#c0392b"
GREY = "#9aa5b1"
SCALE = "Blues"
PALETTE = ("#2f6db5", "#c9a227", "#7f8c8d", "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#c0392b")


def _layout(fig: go.Figure, w: Words, title: str, height: int = 380) -> go.Figure:
    fig.update_layout(title={"text": title, "x": 0, "font": {"size": 15}}, height=height,
                      separators=w.plotly_separators,
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, template="plotly_white",
                      legend={"orientation": "h", "y": -0.2}, font={"family": "Segoe UI, Helvetica, Arial, sans-serif"})
    return fig


def pareto(curve: pd.DataFrame, golden_share: float, golden_revenue: float, w: Words) -> go.Figure:
    """The share of revenue by the share of customers, biggest first, with the golden share marked."""
    fig = go.Figure()
    x, y = 100 * curve["customer_share"], 100 * curve["revenue_share"]
    fig.add_scatter(x=x, y=y, mode="lines", line={"color": BLUE, "width": 3}, name=w("share_revenue"),
                    hovertemplate="%{x:.1f}% → %{y:.1f}%<extra></extra>")
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", line={"color": GREY, "dash": "dot"}, showlegend=False,
                    hoverinfo="skip")
    fig.add_vrect(x0=0, x1=100 * golden_share, fillcolor=GOLD, opacity=0.18, line_width=0)
    label = w("golden_marker", share=w.share(golden_share))
    fig.add_scatter(x=[100 * golden_share], y=[100 * golden_revenue], mode="markers+text", name=label,
                    marker={"color": GOLD, "size": 13, "line": {"color": "#333", "width": 1}},
                    text=[f"{label}: {w.share(golden_revenue)}"], textposition="bottom right")
    fig.update_xaxes(title=w("share_customers") + ", %", range=[0, 100])
    fig.update_yaxes(title=w("share_revenue") + ", %", range=[0, 102])
    return _layout(fig, w, w("s_pareto"), 420)


def rfm_heatmaps(grid: pd.DataFrame, column: str, title: str, w: Words) -> go.Figure:
    """Three heatmaps, one per money score: recency (rows, best on top) by frequency (columns), ``column`` in cells."""
    fig = make_subplots(rows=1, cols=3, subplot_titles=[w("m_score", m=m) + f" ({w('money')})" for m in (1, 2, 3)],
                        horizontal_spacing=0.06)
    top = float(grid[column].max()) or 1.0
    for i, m in enumerate((1, 2, 3), start=1):
        cells = grid[grid["m"] == m].pivot(index="r", columns="f", values=column).reindex(index=[3, 2, 1],
                                                                                          columns=[1, 2, 3])
        text = [[w.number(v) for v in row] for row in cells.to_numpy()]
        fig.add_heatmap(z=cells.to_numpy(), x=[w("f_score", f=f) for f in (1, 2, 3)],
                        y=[w("r_score", r=r) for r in (3, 2, 1)], text=text, texttemplate="%{text}", zmin=0, zmax=top,
                        colorscale=SCALE, showscale=i == 3, row=1, col=i,
                        hovertemplate="%{y} %{x}: %{text}<extra></extra>")
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, w, title, 360)
    fig.update_layout(margin={"t": 80})
    return fig


def segments(table: pd.DataFrame, w: Words) -> go.Figure:
    """Per segment: customers, revenue to date and average check, side by side."""
    names = [w.segment(s) for s in table["segment"]][::-1]
    fig = make_subplots(rows=1, cols=3, shared_yaxes=True, horizontal_spacing=0.03,
                        subplot_titles=[w("customers"), w("revenue"), w("avg_check")])
    for i, (column, color) in enumerate((("customers", BLUE), ("revenue", GOLD), ("avg_check", GREY)), start=1):
        values = table[column][::-1]
        text = [w.share(s, 1) for s in table["share"][::-1]] if column == "customers" else [w.money(v) for v in values]
        fig.add_bar(x=values, y=names, orientation="h", marker_color=color, text=text, textposition="auto",
                    showlegend=False, row=1, col=i, hovertemplate="%{y}: %{x:,.0f}<extra></extra>")
    return _layout(fig, w, w("s_segments"), 420)


def migration(matrix: pd.DataFrame, previous_days: float, w: Words) -> go.Figure:
    """Customers moving from each earlier segment (rows) to their segment now (columns)."""
    rows, cols = [w.segment(s) for s in matrix.index], [w.segment(s) for s in matrix.columns]
    text = [[w.number(v) if v else "" for v in row] for row in matrix.to_numpy()]
    fig = go.Figure(go.Heatmap(z=matrix.to_numpy(), x=cols, y=rows, text=text, texttemplate="%{text}",
                               colorscale=SCALE, hovertemplate="%{y} → %{x}: %{z}<extra></extra>"))
    fig.update_yaxes(title=w("from", days=w.number(previous_days)), autorange="reversed")
    fig.update_xaxes(title=w("to"), tickangle=-30)
    return _layout(fig, w, w("s_migration"), 520)


def churn_distribution(scores: pd.DataFrame, w: Words) -> go.Figure:
    """Customers by churn probability, coloured by risk band."""
    fig = go.Figure()
    for risk, color in (("low", BLUE), ("medium", GOLD), ("high", RED)):
        part = scores.loc[scores["churn_risk"] == risk, "churn_probability"]
        fig.add_histogram(x=100 * part, name=w.risk(risk), marker_color=color,
                          xbins={"start": 0, "end": 100, "size": 5})
    fig.update_layout(barmode="stack")
    fig.update_xaxes(title=w("probability") + ", %", range=[0, 100])
    fig.update_yaxes(title=w("customers"))
    return _layout(fig, w, w("churn_distribution"))


def churn_by_segment(by_segment: pd.DataFrame, w: Words) -> go.Figure:
    """Expected lost revenue (churn probability x expected value) summed per segment."""
    table = by_segment.iloc[::-1]
    fig = go.Figure(go.Bar(x=table["expected_lost_value"], y=[w.segment(s) for s in table["segment"]],
                           orientation="h", marker_color=RED, text=[w.money(v) for v in table["expected_lost_value"]],
                           textposition="auto", hovertemplate="%{y}: %{x:,.0f}<extra></extra>"))
    fig.update_xaxes(title=w("expected_lost"))
    return _layout(fig, w, w("churn_by_segment"))


def health_counts(health: pd.DataFrame, w: Words) -> go.Figure:
    """New customers per month."""
    fig = go.Figure(go.Bar(x=[w.month(p) for p in health["period"]], y=health["new_customers"], marker_color=BLUE,
                           name=w("new_customers")))
    fig.update_yaxes(title=w("new_customers"))
    return _layout(fig, w, w("health_counts"))


def health_shares(health: pd.DataFrame, w: Words) -> go.Figure:
    """Repeat customers among the active and dead contacts among all customers, per month."""
    months = [w.month(p) for p in health["period"]]
    fig = go.Figure()
    fig.add_scatter(x=months, y=100 * health["repeat_customer_share"], mode="lines+markers", name=w("repeat_share"),
                    line={"color": BLUE})
    fig.add_scatter(x=months, y=100 * health["dead_contact_share"], mode="lines+markers", name=w("dead_share"),
                    line={"color": RED})
    fig.update_yaxes(title="%", rangemode="tozero")
    return _layout(fig, w, w("health_shares"))


def health_checks(health: pd.DataFrame, segment_names: list[str], w: Words) -> go.Figure:
    """Average check per segment, per month (a segment with no orders in a month leaves a gap)."""
    months = [w.month(p) for p in health["period"]]
    fig = go.Figure()
    for i, segment in enumerate(segment_names):
        column = "avg_check_" + segment.replace(" ", "_")
        if column in health.columns and health[column].notna().any():
            fig.add_scatter(x=months, y=health[column], mode="lines", name=w.segment(segment),
                            line={"color": PALETTE[i % len(PALETTE)]})
    fig.update_yaxes(title=w("avg_check"))
    return _layout(fig, w, w("health_checks"), 420)


def cohorts(table: pd.DataFrame, w: Words, months: int = 13) -> go.Figure:
    """Share of each monthly cohort buying in each month after its first purchase (m0 .. m12)."""
    columns = [c for c in table.columns if c.startswith("m") and c[1:].isdigit()][:months]
    z = 100 * table[columns].to_numpy(dtype="float64")
    text = [["" if pd.isna(v) else w.number(v, 0) for v in row] for row in z]
    labels = [f"{w.month(c)} ({w.number(n)})" for c, n in zip(table["cohort"], table["customers"], strict=True)]
    fig = go.Figure(go.Heatmap(z=z, x=[c[1:] for c in columns], y=labels, text=text, texttemplate="%{text}",
                               colorscale=SCALE, zmin=0, zmax=max(1.0, float(pd.DataFrame(z[:, 1:]).max().max())),
                               hovertemplate="%{y}, +%{x}: %{text}%<extra></extra>"))
    fig.update_xaxes(title=w("months_since"))
    fig.update_yaxes(title=w("cohort"), autorange="reversed")
    return _layout(fig, w, w("s_cohorts"), max(380, 22 * len(labels) + 120))


def abc_xyz(products: pd.DataFrame, w: Words) -> go.Figure:
    """Items per ABC x XYZ class, and each class's share of revenue."""
    count = pd.crosstab(products["abc"], products["xyz"]).reindex(index=list("ABC"), columns=list("XYZ"), fill_value=0)
    revenue = products.pivot_table(index="abc", columns="xyz", values="revenue_share", aggfunc="sum", fill_value=0.0)
    revenue = revenue.reindex(index=list("ABC"), columns=list("XYZ"), fill_value=0.0)
    fig = make_subplots(rows=1, cols=2, subplot_titles=[w("abc_items"), w("abc_revenue")], horizontal_spacing=0.12)
    fig.add_heatmap(z=count.to_numpy(), x=list("XYZ"), y=list("ABC"), text=[[w.number(v) for v in r] for r in
                    count.to_numpy()], texttemplate="%{text}", colorscale=SCALE, showscale=False, row=1, col=1)
    fig.add_heatmap(z=100 * revenue.to_numpy(), x=list("XYZ"), y=list("ABC"), text=[[w.share(v, 1) for v in r] for r in
                    revenue.to_numpy()], texttemplate="%{text}", colorscale="YlOrBr", showscale=False, row=1, col=2)
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, w, w("s_abc"), 340)


def timing(table: pd.DataFrame, w: Words) -> go.Figure:
    """Purchase orders by weekday (rows) and hour of day (columns)."""
    grid = table.pivot(index="weekday", columns="hour", values="orders").reindex(index=range(7), columns=range(24))
    fig = go.Figure(go.Heatmap(z=grid.to_numpy(), x=[f"{h:02d}" for h in range(24)], y=list(w.weekdays()),
                               colorscale="YlOrRd", hovertemplate="%{y} %{x}:00: %{z}<extra></extra>"))
    fig.update_xaxes(title=w("hour"))
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, w, w("s_timing"), 340)


def model_metrics(metrics: pd.DataFrame, w: Words) -> go.Figure:
    """Grouped bars: each higher-is-better holdout metric of each task, one bar per predictor."""
    shown = metrics[~metrics["metric"].isin(["brier", "mae"])]
    shown = shown.assign(label=[f"{w.task(t)}: {w.metric(m)}" for t, m in zip(shown["task"], shown["metric"],
                                                                              strict=True)])
    fig = go.Figure()
    for i, (predictor, part) in enumerate(shown.groupby("predictor", sort=False)):
        fig.add_bar(y=part["label"], x=part["value"], name=w.predictor(str(predictor)), orientation="h",
                    marker_color=PALETTE[i % len(PALETTE)], hovertemplate="%{y}: %{x:.3f}<extra></extra>")
    fig.update_layout(barmode="group")
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, w, w("models_metrics"), 120 + 45 * shown["label"].nunique())
    fig.update_layout(margin={"l": 260}, legend={"orientation": "h", "y": -0.06, "yanchor": "top"})
    return fig


def calibration(table: pd.DataFrame, w: Words) -> go.Figure:
    """Observed churn rate against the predicted probability, per decile, for every predictor of the holdout."""
    fig = go.Figure()
    for i, (predictor, part) in enumerate(table.groupby("predictor", sort=False)):
        fig.add_scatter(x=part["mean_predicted"], y=part["observed_rate"], mode="lines+markers",
                        name=w.predictor(str(predictor)), line={"color": PALETTE[i % len(PALETTE)]})
    fig.add_scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": GREY, "dash": "dot"}, showlegend=False)
    fig.update_xaxes(title=w("predicted"), range=[0, 1])
    fig.update_yaxes(title=w("observed"), range=[0, 1])
    return _layout(fig, w, w("models_calibration"), 420)


def campaigns(table: pd.DataFrame, w: Words) -> go.Figure:
    """Audience size per campaign (and its control group, when the summary has one)."""
    rows = table.iloc[::-1]
    fig = go.Figure(go.Bar(x=rows["audience_size"], y=rows["campaign"], orientation="h", marker_color=BLUE,
                           name=w("audience_size"), text=[w.number(v) for v in rows["audience_size"]],
                           textposition="auto"))
    if "control" in rows.columns:
        fig.add_bar(x=pd.to_numeric(rows["control"], errors="coerce"), y=rows["campaign"], orientation="h",
                    marker_color=GREY, name=w("control"))
        fig.update_layout(barmode="group")
    fig.update_xaxes(title=w("customers"))
    return _layout(fig, w, w("s_campaigns"), max(320, 40 * len(rows) + 120))
