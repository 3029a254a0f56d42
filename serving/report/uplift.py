"""The report's uplift section: per campaign with a champion uplift model, its held-out Qini curve and the sentence
"targeting the top 30% by predicted effect gets 80% of the campaign's extra orders".

Chart and sentence read the same points (``models.uplift.curves``): the sentence's share is the curve's value at
30%, and the chart marks that point, so they cannot disagree.
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from features.words.catalogue import say
from models.uplift.curves import TOP, UpliftCurve, captured_at
from serving.report.charts import BLUE, GREY, _layout
from serving.report.i18n import Words


def sentence(curve: UpliftCurve, lang: str) -> str:
    """Return the campaign's sentence in ``lang``: what the top share gets, or why no share can be said."""
    what = say(f"uplift.what.{curve.outcome}", lang)
    got = captured_at(curve, TOP)
    if math.isnan(got):
        return say("uplift.none_extra", lang, campaign=curve.campaign, n=curve.holdout, what=what,
                   version=curve.version)
    model = say(f"uplift.kind.{curve.model}", lang) if f"uplift.kind.{curve.model}" in _kinds() else curve.model
    text = say("uplift.top", lang, campaign=curve.campaign, top=TOP, got=got, what=what, model=model,
               version=curve.version, n=curve.holdout)
    return text + say("uplift.more_than_all", lang) if got > 1.0 else text


def _kinds() -> set[str]:
    from features.words.catalogue import PHRASES

    return {k for k in PHRASES if k.startswith("uplift.kind.")}


def chart(curve: UpliftCurve, w: Words) -> go.Figure:
    """The campaign's Qini curve as shares (targeted -> share of the extra outcome), random targeting's diagonal,
    and the sentence's point marked."""
    lang = w.lang.value
    fig = go.Figure()
    fig.add_scatter(x=100 * curve.share, y=100 * curve.captured, mode="lines", line={"color": BLUE, "width": 3},
                    name=say("uplift.model", lang), hovertemplate="%{x:.0f}% → %{y:.0f}%<extra></extra>")
    fig.add_scatter(x=[0, 100], y=[0, 100], mode="lines", line={"color": GREY, "dash": "dot"},
                    name=say("uplift.random", lang), hoverinfo="skip")
    got = captured_at(curve, TOP)
    if not math.isnan(got):
        fig.add_scatter(x=[100 * TOP], y=[100 * got], mode="markers+text", marker={"color": BLUE, "size": 10},
                        text=[f"{w.share(TOP)} → {w.share(got)}"], textposition="bottom right", showlegend=False,
                        hoverinfo="skip")
    what = say(f"uplift.what.{curve.outcome}", lang)
    fig.update_xaxes(title=say("uplift.x", lang), ticksuffix="%", range=[0, 100])
    fig.update_yaxes(title=say("uplift.y", lang, what=what), ticksuffix="%")
    return _layout(fig, w, say("uplift.chart", lang, campaign=curve.campaign, n=curve.holdout))


def section_parts(curves: list[UpliftCurve], w: Words) -> tuple[str, list[go.Figure]]:
    """Return the section's reading (one sentence per campaign) and one chart per campaign."""
    lang = w.lang.value
    return " ".join(sentence(c, lang) for c in curves), [chart(c, w) for c in curves]
