"""The report's uplift sentence and chart from a campaign's held-out Qini curve: the same points, both languages."""

from __future__ import annotations

import numpy as np

from models.uplift.curves import UpliftCurve, captured_at, curve_payload, from_payload
from serving.report.i18n import Words
from serving.report.uplift import chart, sentence


def _curve(treated_gain: float, rest: float = 0.0, seed: int = 0) -> UpliftCurve:
    rng = np.random.default_rng(seed)
    n = 4000
    effect = np.where(np.arange(n) < n // 4, treated_gain, rest)  # a quarter of the customers respond
    treated = rng.random(n) < 0.5
    outcome = (rng.random(n) < 0.1 + treated * effect).astype(float)
    return from_payload(curve_payload(effect + rng.random(n) * 1e-6, treated, outcome), "win_back", "3", "ordered",
                        "x")


def test_sentence_and_chart_read_the_same_point_in_both_languages() -> None:
    curve = _curve(0.4)
    got = captured_at(curve, 0.3)
    assert curve.captured[0] == 0 and abs(curve.captured[-1] - 1) < 1e-9 and got > 0.6
    en, ru = sentence(curve, "en"), sentence(curve, "ru")
    assert f"targeting the top 30% by predicted effect gets {Words('en').share(got)} of the campaign's extra " \
           "orders (X-learner, uplift_win_back v3, measured on 4,000 held-out customers)" in en
    assert f"даёт {Words('ru').share(got)} дополнительных заказов кампании" in ru and "X-learner" in ru
    marked = [t for t in chart(curve, Words("ru")).data if t.mode == "markers+text"][0]
    assert (marked.x[0], marked.y[0]) == (30.0, 100 * got)
    assert "More than all" not in en


def test_more_than_all_the_extra_orders_is_said_and_explained() -> None:
    curve = _curve(0.4, rest=-0.05)  # the others are put off by the offer: the top quarter gets more than the whole
    got = captured_at(curve, 0.3)
    assert got > 1
    en = sentence(curve, "en")
    assert f"gets {Words('en').share(got)} of the campaign's extra orders" in en and "More than all of them" in en
    assert "Больше, чем все" in sentence(curve, "ru")


def test_a_campaign_without_extra_orders_gets_no_share_but_a_sentence_saying_so() -> None:
    curve = _curve(-0.05, rest=-0.02)  # the offer puts customers off: no extra orders to share out
    assert np.isnan(captured_at(curve, 0.3))
    assert "brought no measurable extra orders, so no share can be said" in sentence(curve, "en")
    assert "не принесла измеримых дополнительных заказов" in sentence(curve, "ru")
    assert len([t for t in chart(curve, Words("en")).data if t.mode == "markers+text"]) == 0
