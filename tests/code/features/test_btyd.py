"""BG/NBD and Gamma-Gamma fitters against the published CDNOW numbers, plus properties and edge cases.

Published figures: Fader, Hardie & Lee (2005) "Counting Your Customers the Easy Way" (BG/NBD on the 2,357-customer
CDNOW sample, 39-week calibration to 1997-09-30: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4;
customer x = 2, t_x = 30.43, T = 38.86 expects 1.226 purchases in the next 39 weeks), Hardie's BG/NBD spreadsheet
(E[X(t)]), and Fader & Hardie (2013) "The Gamma-Gamma Model of Monetary Value" (the 946 calibration-period
repeaters, monetary = mean spend per repeat purchase day: p = 6.25, q = 3.74, v = 15.44, and its spreadsheet's
expected average spend of the first ten customers).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize, special

from features.btyd.fitters import (
    BetaGeoFitter,
    GammaGammaFitter,
    _BgData,
    _gg_log_likelihood,
    expected_value,
    rfm_summary,
)
from features.data.cdnow import cdnow_transactions, read_cdnow

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "cdnow_sample.txt"
CUTOFF = pd.Timestamp("1997-10-01")  # calibration 1997-01-01 .. 1997-09-30 inclusive
PAPER = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def orders() -> pd.DataFrame:
    """One row per order (all lines of a customer-day), as ``orders_before`` gives them."""
    tx = cdnow_transactions(read_cdnow(SAMPLE))
    return tx.groupby("order_id", as_index=False).agg(
        customer_id=("customer_id", "first"), timestamp=("timestamp", "min"), revenue=("amount", "sum"))


@pytest.fixture(scope="module")
def summary(orders: pd.DataFrame) -> pd.DataFrame:
    return rfm_summary(orders, CUTOFF, unit_days=7.0)


@pytest.fixture(scope="module")
def bg(summary: pd.DataFrame) -> BetaGeoFitter:
    return BetaGeoFitter().fit(summary["frequency"], summary["recency"], summary["T"])


@pytest.fixture(scope="module")
def gg(summary: pd.DataFrame) -> GammaGammaFitter:
    return GammaGammaFitter().fit(summary["frequency"], summary["monetary"])


def paper_bg() -> BetaGeoFitter:
    return BetaGeoFitter.from_dict({"model": "BetaGeoFitter", "params": PAPER})


def columns(frame: pd.DataFrame) -> tuple[np.ndarray, ...]:
    return tuple(frame[c].to_numpy() for c in ("frequency", "recency", "T", "monetary"))


# --- the summary ---------------------------------------------------------------------------------------------


def test_summary_is_hardies_cdnow_summary(summary: pd.DataFrame) -> None:
    # Hardie's cdnowSummary: 2,357 customers, 946 repeaters; customer 1 has x = 2, t_x = 30.43, T = 38.86 weeks
    assert len(summary) == 2357
    assert int((summary["frequency"] > 0).sum()) == 946
    first = summary.loc["00004"]
    assert first["frequency"] == 2
    assert round(first["recency"], 2) == 30.43
    assert round(first["T"], 2) == 38.86  # first purchase day to 1997-09-30, the last observed day
    assert first["monetary"] == pytest.approx((29.73 + 14.96) / 2)


def test_summary_ignores_rows_at_or_after_the_cutoff(orders: pd.DataFrame, summary: pd.DataFrame) -> None:
    later = pd.DataFrame({
        "customer_id": ["00004", "00004", "00018", "99999"],
        "timestamp": pd.to_datetime(["1997-10-01 00:00", "1997-12-24 00:00", "1998-03-01 00:00", "1997-10-01 08:00"]),
        "revenue": [100.0, 5.0, 7.0, 9.0],
    })
    pd.testing.assert_frame_equal(rfm_summary(pd.concat([orders, later]), CUTOFF), summary)


def test_summary_counts_days_and_a_midday_cutoff_observes_that_day() -> None:
    orders = pd.DataFrame({
        "customer_id": ["c", "c", "c", "c", "d"],
        "timestamp": pd.to_datetime(["2024-01-01 09:00", "2024-01-01 18:00", "2024-01-08 00:00", "2024-01-15 10:00",
                                     "2024-01-14 00:00"]),
        "revenue": [10.0, 5.0, 20.0, 40.0, 3.0],
    })
    midnight = rfm_summary(orders, "2024-01-15", unit_days=1.0)
    assert midnight.loc["c"].tolist() == [1.0, 7.0, 13.0, 20.0]  # two orders on Jan 1 are one purchase day
    assert midnight.loc["d"].tolist() == [0.0, 0.0, 0.0, 0.0]
    midday = rfm_summary(orders, "2024-01-15 12:00", unit_days=7.0)
    assert midday.loc["c"].tolist() == pytest.approx([2.0, 2.0, 2.0, 30.0])


def test_summary_of_no_orders_before_the_cutoff_is_empty(orders: pd.DataFrame) -> None:
    empty = rfm_summary(orders, "1990-01-01")
    assert empty.empty and list(empty.columns) == ["frequency", "recency", "T", "monetary"]


def test_summary_refuses_bad_input(orders: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="revenue"):
        rfm_summary(orders.drop(columns="revenue"), CUTOFF)
    with pytest.raises(ValueError, match="unit_days"):
        rfm_summary(orders, CUTOFF, unit_days=0)
    with pytest.raises(ValueError, match="time zone"):
        rfm_summary(orders, pd.Timestamp("1997-10-01", tz="UTC"))


# --- BG/NBD against the paper ----------------------------------------------------------------------------------


def test_bgnbd_fit_reproduces_the_paper(bg: BetaGeoFitter) -> None:
    assert {k: round(v, 3) for k, v in bg.params_.items()} == PAPER
    assert round(bg.log_likelihood_, 1) == -9582.4
    assert bg.n_customers_ == 2357


def test_conditional_expectation_of_the_papers_example() -> None:
    assert paper_bg().expected_orders(39, 2, 30.43, 38.86)[0] == pytest.approx(1.226, abs=5e-4)


def test_fitted_model_matches_hardies_spreadsheet(bg: BetaGeoFitter) -> None:
    assert bg.expected_orders(39, 2, 30.43, 38.86)[0] == pytest.approx(1.226, abs=5e-4)
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    expected = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    actual = bg.expected_orders_new_customer(times)
    np.testing.assert_allclose(actual[:5], expected[:5], atol=5e-5)
    # at t = 78 the exact 2F1 gives 1.85796; the sheet sums a truncated series there (z = 0.95), hence 1.8576
    assert actual[5] == pytest.approx(expected[5], abs=5e-4)


def test_euler_form_equals_the_papers_formula(bg: BetaGeoFitter) -> None:
    r, alpha, a, b = (bg.params_[k] for k in ("r", "alpha", "a", "b"))
    x = np.arange(0, 40, dtype=float)
    t_x, T, t = np.minimum(x, 30.0), np.full_like(x, 38.0), 26.0
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + T + t))
    bracket = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp
    odds = np.where(x > 0, a / np.maximum(b + x - 1, 1e-9) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0.0)
    direct = (a + b + x - 1) / (a - 1) * bracket / (1 + odds)
    np.testing.assert_allclose(bg.expected_orders(t, x, t_x, T), direct, rtol=1e-9)


def test_heavy_buyers_stay_finite_and_near_their_rate(bg: BetaGeoFitter) -> None:
    x = np.array([200.0, 1000.0, 5000.0])
    expected = bg.expected_orders(4.0, x, np.full(3, 38.0), np.full(3, 38.0))
    rate = (bg.params_["r"] + x) / (bg.params_["alpha"] + 38.0) * 4.0
    assert np.isfinite(expected).all()
    # alive for sure now; each of the ~rate purchases ahead carries a dropout chance of about a / (a + b + x)
    assert ((expected < rate) & (expected > 0.95 * rate)).all()


# --- BG/NBD properties -------------------------------------------------------------------------------------------


def test_customers_without_repeat_purchases_are_alive(bg: BetaGeoFitter) -> None:
    assert (bg.probability_alive([0, 0, 0], [0, 0, 0], [0.5, 10, 200]) == 1.0).all()


def test_probability_alive_is_the_alive_branch_of_the_likelihood(bg: BetaGeoFitter, summary: pd.DataFrame) -> None:
    x, t_x, T, _ = columns(summary)
    r, alpha, a, b = (bg.params_[k] for k in ("r", "alpha", "a", "b"))
    rep = x > 0
    alive = special.betaln(a, b + x[rep]) - (r + x[rep]) * np.log(alpha + T[rep])
    gone = special.betaln(a + 1, b + x[rep] - 1) - (r + x[rep]) * np.log(alpha + t_x[rep])
    np.testing.assert_allclose(bg.probability_alive(x, t_x, T)[rep], 1 / (1 + np.exp(gone - alive)), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    x=st.integers(1, 60),
    T=st.floats(1.0, 200.0),
    lo=st.floats(0.0, 1.0),
    hi=st.floats(0.0, 1.0),
)
def test_a_more_recent_last_purchase_means_more_alive_and_more_orders(x: int, T: float, lo: float, hi: float) -> None:
    lo, hi = sorted((lo, hi))
    fitter = paper_bg()
    older, newer = lo * T, hi * T
    p_old, p_new = (fitter.probability_alive([x], [r], [T])[0] for r in (older, newer))
    e_old, e_new = (fitter.expected_orders(13.0, [x], [r], [T])[0] for r in (older, newer))
    assert 0.0 <= p_old <= p_new <= 1.0
    assert 0.0 <= e_old <= e_new
    if hi - lo > 1e-3:
        assert p_old < p_new or p_old < 1e-12 or p_new > 1 - 1e-12


def test_expected_orders_grow_with_the_horizon(bg: BetaGeoFitter, summary: pd.DataFrame) -> None:
    x, t_x, T, _ = columns(summary)
    short, long = bg.expected_orders(4.0, x, t_x, T), bg.expected_orders(52.0, x, t_x, T)
    assert (short > 0).all() and (long > short).all()


def test_fit_recovers_simulated_parameters() -> None:
    rng = np.random.default_rng(7)
    n, (r, alpha, a, b) = 30_000, (0.5, 6.0, 0.7, 3.0)
    T = rng.integers(7, 365, n) / 7.0
    n_all = rng.poisson(rng.gamma(r, 1 / alpha, n) * T)
    x = np.minimum(rng.geometric(rng.beta(a, b, n)), n_all).astype(float)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(n_all - x + 1, 1)), 0.0)
    fitted = BetaGeoFitter().fit(x, t_x, T).params_
    np.testing.assert_allclose([fitted[k] for k in ("r", "alpha", "a", "b")], [r, alpha, a, b], rtol=0.15)


def test_weights_count_customers(summary: pd.DataFrame, bg: BetaGeoFitter) -> None:
    x, t_x, T, _ = columns(summary)
    doubled = BetaGeoFitter().fit(np.r_[x, x], np.r_[t_x, t_x], np.r_[T, T])
    weighted = BetaGeoFitter().fit(x, t_x, T, weights=np.full_like(x, 2.0))
    for k in bg.params_:
        assert weighted.params_[k] == pytest.approx(bg.params_[k], rel=1e-5)
        assert doubled.params_[k] == pytest.approx(weighted.params_[k], rel=1e-6)
    assert weighted.n_customers_ == 2 * 2357


def test_analytic_gradients_match_finite_differences(summary: pd.DataFrame) -> None:
    x, t_x, T, m = columns(summary)
    data = _BgData(x, t_x, T, np.ones_like(x))
    for point in ([0.3, 4.0, 0.8, 2.5], [1.0, 1.0, 1.0, 1.0], [2.0, 20.0, 0.3, 9.0]):
        p = np.array(point)
        numeric = optimize.approx_fprime(p, lambda q: data.log_likelihood(q)[0], 1e-6)
        np.testing.assert_allclose(data.log_likelihood(p)[1], numeric, rtol=1e-4, atol=1e-2)
    rep = x > 0
    for point in ([6.0, 3.5, 15.0], [1.0, 1.0, 1.0]):
        p = np.array(point)
        numeric = optimize.approx_fprime(p, lambda q: _gg_log_likelihood(q, x[rep], m[rep])[0], 1e-6)
        np.testing.assert_allclose(_gg_log_likelihood(p, x[rep], m[rep])[1], numeric, rtol=1e-4, atol=1e-2)


def test_penalizer_shrinks_and_accepts_the_lifetimes_name(summary: pd.DataFrame, bg: BetaGeoFitter) -> None:
    x, t_x, T, _ = columns(summary)
    shrunk = BetaGeoFitter(penalizer=0.01).fit(x, t_x, T)
    alias = BetaGeoFitter(penalizer_coef=0.01).fit(x, t_x, T)
    squares = [sum(v * v for v in f.params_.values()) for f in (bg, shrunk)]
    assert squares[1] < squares[0]
    assert alias.params_ == shrunk.params_


# --- Gamma-Gamma --------------------------------------------------------------------------------------------------


def test_gamma_gamma_fit_reproduces_fader_hardie(gg: GammaGammaFitter) -> None:
    assert {k: round(v, 2) for k, v in gg.params_.items()} == {"p": 6.25, "q": 3.74, "v": 15.44}
    assert gg.n_customers_ == 946


def test_expected_average_value_matches_hardies_spreadsheet(gg: GammaGammaFitter, summary: pd.DataFrame) -> None:
    # the spreadsheet lists customers by their sample id (second column of the file), 1..10
    ids = pd.read_csv(SAMPLE, sep=r"\s+", header=None, dtype=str).drop_duplicates(1).set_index(1)[0]
    first_ten = summary.loc[ids.loc[[f"{i:04d}" for i in range(1, 11)]]]
    expected = [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17]
    values = gg.expected_average_value(first_ten["frequency"], first_ten["monetary"])
    np.testing.assert_allclose(values, expected, atol=0.006)


def test_expected_value_is_orders_times_spend(bg: BetaGeoFitter, gg: GammaGammaFitter, summary: pd.DataFrame) -> None:
    x, t_x, T, m = columns(summary)
    value = expected_value(bg, gg, 39.0, x, t_x, T, m)
    np.testing.assert_allclose(value, bg.expected_orders(39.0, x, t_x, T) * gg.expected_average_value(x, m))
    assert np.allclose(gg.expected_average_value(x, m)[x == 0], gg.population_mean())
    assert (value > 0).all()


# --- saving and errors ---------------------------------------------------------------------------------------------


def test_json_round_trip_keeps_predictions(bg: BetaGeoFitter, gg: GammaGammaFitter, summary: pd.DataFrame) -> None:
    x, t_x, T, m = columns(summary)
    bg2 = BetaGeoFitter.from_dict(json.loads(json.dumps(bg.to_dict())))
    gg2 = GammaGammaFitter.from_dict(json.loads(json.dumps(gg.to_dict())))
    assert np.array_equal(bg2.expected_orders(13.0, x, t_x, T), bg.expected_orders(13.0, x, t_x, T))
    assert np.array_equal(bg2.probability_alive(x, t_x, T), bg.probability_alive(x, t_x, T))
    assert np.array_equal(gg2.expected_average_value(x, m), gg.expected_average_value(x, m))
    assert bg2.log_likelihood_ == bg.log_likelihood_ and repr(bg2) == repr(bg)


def test_bad_inputs_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        BetaGeoFitter().fit([], [], [])
    with pytest.raises(ValueError, match="negative"):
        BetaGeoFitter().fit([1, -1], [1, 1], [2, 2])
    with pytest.raises(ValueError, match="recency exceeds T"):
        BetaGeoFitter().fit([1, 2], [5, 1], [2, 2])
    with pytest.raises(ValueError, match="repeat purchase"):
        BetaGeoFitter().fit([0, 0], [0, 0], [3, 4])
    with pytest.raises(ValueError, match="not fitted"):
        BetaGeoFitter().probability_alive([1], [1], [2])
    with pytest.raises(ValueError, match="Gamma-Gamma needs"):
        GammaGammaFitter().fit([0, 1], [0.0, 5.0])
    with pytest.raises(ValueError, match="not a saved GammaGammaFitter"):
        GammaGammaFitter.from_dict(paper_bg().to_dict())
    with pytest.raises(ValueError, match="penalizer"):
        BetaGeoFitter(penalizer=-1).fit([1, 0], [1, 0], [2, 2])


def test_population_mean_refuses_q_at_most_one() -> None:
    wide = GammaGammaFitter.from_dict({"model": "GammaGammaFitter", "params": {"p": 2.0, "q": 0.9, "v": 5.0}})
    with pytest.raises(ValueError, match="infinite"):
        wide.expected_average_value([0, 2], [0.0, 10.0])
    assert wide.expected_average_value([2], [10.0])[0] == pytest.approx(2.0 * (5 + 20) / (4 + 0.9 - 1))


def test_a_fit_that_does_not_converge_says_what_to_do(monkeypatch: pytest.MonkeyPatch, summary: pd.DataFrame) -> None:
    failed = optimize.OptimizeResult(x=np.zeros(4), fun=np.nan, success=False, message="simulated failure")
    monkeypatch.setattr(optimize, "minimize", lambda *args, **kwargs: failed)
    x, t_x, T, _ = columns(summary)
    with pytest.raises(ValueError, match="did not converge.*penalizer"):
        BetaGeoFitter().fit(x, t_x, T)
