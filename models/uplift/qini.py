"""The Qini curve and coefficient of an uplift score, with bootstrap intervals (pure NumPy).

Customers are sorted by score, highest first. After the top ``k`` the curve is the campaign's extra outcomes had
only those ``k`` been treated: ``Y_t(k) - Y_c(k) * N_t(k) / N_c(k)`` (treated outcomes minus control outcomes
scaled to the treated count), divided by the number of treated customers in the whole set, so that the curve
ends at the average treatment effect. Random targeting is the straight line from 0 to that end. The Qini
coefficient is the area between the curve and that line: zero for random targeting, larger when the customers who
respond come first. Units: outcome per customer (extra orders per customer for ``ordered``).

The interval comes from a Poisson bootstrap of the customers (each weighted by a Poisson(1) count) with the sort
order fixed; comparing two scores uses the same weights for both (a paired interval of the difference).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DRAWS = 300


@dataclass(frozen=True)
class Qini:
    """A Qini coefficient with its bootstrap interval (``level`` two-sided)."""

    value: float
    low: float
    high: float


def order_by(score: np.ndarray) -> np.ndarray:
    """Return the indices sorted by score, highest first; ties keep the row order (deterministic)."""
    return np.argsort(-np.asarray(score, dtype="float64"), kind="stable")


def qini_curve(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray,
               weights: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (share of customers targeted, extra outcome per treated customer) after each customer by score."""
    order = order_by(score)
    return _curve(order, np.asarray(treated, bool), np.asarray(outcome, "float64"), weights)


def _curve(order: np.ndarray, treated: np.ndarray, outcome: np.ndarray,
           weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    w = np.ones(len(order)) if weights is None else np.asarray(weights, "float64")
    t, y, w = treated[order], outcome[order], w[order] if weights is not None else w
    n_t, n_c = np.cumsum(w * t), np.cumsum(w * ~t)
    y_t, y_c = np.cumsum(w * t * y), np.cumsum(w * ~t * y)
    gain = y_t - np.divide(y_c * n_t, n_c, out=np.zeros_like(y_c), where=n_c > 0)
    total = n_t[-1] if n_t[-1] > 0 else 1.0
    share = np.cumsum(w) / max(float(w.sum()), 1e-12)
    return share, gain / total


def _coefficient(share: np.ndarray, gain: np.ndarray) -> float:
    """Return the area between the curve and the random line (trapezoids over the targeted share, from 0)."""
    x = np.concatenate([[0.0], share])
    above = np.concatenate([[0.0], gain - share * gain[-1]])
    return float(np.sum((above[1:] + above[:-1]) * np.diff(x)) / 2.0)


def qini_coefficient(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray) -> float:
    """Return the Qini coefficient of a score: 0 for random targeting, higher is better."""
    return _coefficient(*qini_curve(score, treated, outcome))


def bootstrap_weights(n: int, draws: int = DRAWS, seed: int = 0) -> np.ndarray:
    """Return ``draws`` x ``n`` Poisson(1) weights: the same ones for every candidate, so comparisons are paired."""
    return np.random.default_rng(seed).poisson(1.0, size=(draws, n)).astype("float64")


def qini_draws(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Return the Qini coefficient under each row of bootstrap ``weights``."""
    order = order_by(score)
    t, y = np.asarray(treated, bool), np.asarray(outcome, "float64")
    return np.array([_coefficient(*_curve(order, t, y, w)) for w in weights])


def interval(value: float, draws: np.ndarray, level: float = 0.95) -> Qini:
    """Return the value with the percentile interval of its bootstrap draws."""
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return Qini(float(value), float(low), float(high))


def qini_with_interval(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray, weights: np.ndarray,
                       level: float = 0.95) -> tuple[Qini, np.ndarray]:
    """Return the Qini coefficient with its interval, and its bootstrap draws (for paired comparisons)."""
    draws = qini_draws(score, treated, outcome, weights)
    return interval(qini_coefficient(score, treated, outcome), draws, level), draws


def share_of_gain(score: np.ndarray, treated: np.ndarray, outcome: np.ndarray, top: float) -> float:
    """Return the share of the whole campaign's extra outcomes that treating only the ``top`` share would get."""
    share, gain = qini_curve(score, treated, outcome)
    if gain[-1] <= 0:
        return float("nan")
    k = int(np.searchsorted(share, top, side="left"))
    return float(gain[min(k, len(gain) - 1)] / gain[-1])
