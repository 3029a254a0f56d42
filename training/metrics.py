"""Holdout metrics: arrays of predictions and truths in, numbers out; never a model.

Higher is better for every metric except ``brier``, ``mae``, ``orders_mae`` and ``next_order_mae_days``
(see ``LOWER_IS_BETTER``).

Ranking a zero-inflated target (most customers spend nothing in a horizon) needs care: the usual Spearman gives
tied predictions their mean rank, so a coarse predictor that puts most customers in one tie (all with no order
last period, say) matches the truth's own block of zeros and scores high without ranking anyone. ``spearman``
therefore breaks ties in the predictions at random (seeded), which is what happens when the list is cut;
``spearman_tied`` is the textbook value, shown next to it. ``gini`` is the normalised Gini coefficient of
revenue ordered by the prediction (1 = the ideal order, 0 = random), the usual customer-value ranking metric
(e.g. Wang, Liu & Miao 2019, "A Deep Probabilistic Model for Customer Lifetime Value Prediction").

What a marketer acts on is the top of the list: ``revenue_capture_top_decile`` and ``revenue_capture`` are the shares
of the horizon's revenue brought by the top 10% and 20% of customers by the score (golden probability or expected
value). ``ranking_blend`` is the golden and value gate metric: the mean of ROC AUC (golden) or Spearman (value) and
those two captures, so a candidate wins by ranking the whole list and its top.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

LOWER_IS_BETTER = frozenset({"brier", "mae", "orders_mae", "next_order_mae_days"})


def top_mask(score: np.ndarray, share: float) -> np.ndarray:
    """Return a mask of the ``ceil(share x n)`` highest scores (ties by position, so the count is exact)."""
    k = math.ceil(share * len(score) - 1e-9)
    mask = np.zeros(len(score), dtype=bool)
    mask[np.argsort(-np.asarray(score, dtype="float64"), kind="stable")[:k]] = True
    return mask


def _auc(truth: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(truth, score)) if 0 < truth.sum() < len(truth) else float("nan")


def rank_auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Return ROC AUC by the rank-sum formula (ties get mean ranks, as in sklearn); NaN without both classes."""
    n1 = int(positive.sum())
    n0 = len(positive) - n1
    if not n1 or not n0:
        return float("nan")
    ranks = stats.rankdata(score)
    return float((ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _pr_auc(truth: np.ndarray, score: np.ndarray) -> float:
    return float(average_precision_score(truth, score)) if truth.sum() > 0 else float("nan")


def lift(truth: np.ndarray, score: np.ndarray, share: float = 0.1) -> float:
    """Return the positive rate among the top ``share`` by score over the overall positive rate."""
    base = truth.mean()
    return float(truth[top_mask(score, share)].mean() / base) if base > 0 else float("nan")


def revenue_capture(revenue: np.ndarray, score: np.ndarray, share: float) -> float:
    """Return the share of the holdout's net revenue brought by the top ``share`` of customers by score."""
    total = revenue.sum()
    return float(revenue[top_mask(score, share)].sum() / total) if total > 0 else float("nan")


TOP_SHARES = {"revenue_capture_top_decile": 0.1, "revenue_capture": 0.2}  # the marketer's two cuts


def top_captures(revenue: np.ndarray, score: np.ndarray) -> dict[str, float]:
    """Return the revenue captured by the top 10% (``revenue_capture_top_decile``) and 20% (``revenue_capture``)."""
    return {name: revenue_capture(revenue, score, share) for name, share in TOP_SHARES.items()}


def paired_interval(margin: Callable[[np.ndarray], float], n: int, draws: int, seed: int = 0) -> tuple[float, float]:
    """Return the 95% percentile bootstrap interval of ``margin(rows)`` over ``draws`` resamples of ``n`` rows.
    ``margin`` scores both lists on the same rows, so what they share (which customers came) cancels out."""
    rng = np.random.default_rng(seed)
    margins = [margin(rng.integers(0, n, n)) for _ in range(draws)]
    low, high = np.nanpercentile(np.asarray(margins, dtype="float64"), [2.5, 97.5])
    return float(low), float(high)


def ranking_blend(whole_list: float, revenue: np.ndarray, score: np.ndarray) -> float:
    """Return the gate metric of golden and value: the mean of ``whole_list`` (ROC AUC or Spearman) and the revenue
    captured by the top 10% and 20% by ``score``; NaN when any part is."""
    return float(np.mean([whole_list, *top_captures(revenue, score).values()]))


def churn_metrics(probability: np.ndarray, churned: np.ndarray) -> dict[str, float]:
    """Return ROC AUC, PR AUC (churners as positives), Brier score and lift in the top decile."""
    p, y = np.asarray(probability, dtype="float64"), np.asarray(churned, dtype="float64")
    return {"roc_auc": _auc(y, p), "pr_auc": _pr_auc(y, p), "brier": float(brier_score_loss(y, np.clip(p, 0, 1))),
            "lift_top_decile": lift(y, p, 0.1), "mean_predicted": float(p.mean()), "observed_rate": float(y.mean())}


def golden_metrics(probability: np.ndarray, golden: np.ndarray, revenue: np.ndarray, share: float) -> dict[str, float]:
    """Return ROC AUC, PR AUC, the share of holdout revenue captured by the predicted top ``share`` and top 10%, and
    their ``ranking_blend`` with ROC AUC."""
    p, y, r = (np.asarray(a, dtype="float64") for a in (probability, golden, revenue))
    auc = _auc(y, p)
    return {"roc_auc": auc, "pr_auc": _pr_auc(y, p), "revenue_capture": revenue_capture(r, p, share),
            "revenue_capture_top_decile": revenue_capture(r, p, 0.1), "ranking_blend": ranking_blend(auc, r, p),
            "revenue_capture_ideal": revenue_capture(r, r, share)}


def value_metrics(value: np.ndarray, orders: np.ndarray, true_value: np.ndarray, true_orders: np.ndarray,
                  next_days: np.ndarray | None = None, true_next_days: np.ndarray | None = None) -> dict[str, float]:
    """Return Spearman and MAE of revenue and of orders, top 10% and 20% revenue capture, their ``ranking_blend`` with
    Spearman, and next-order error.

    ``next_order_mae_days`` is over customers who did order in the horizon, with predictions capped at the horizon's
    length times two (a far-future date and "never" are both "not soon").
    """
    v, o, tv, to = (np.asarray(a, dtype="float64") for a in (value, orders, true_value, true_orders))
    rho = _spearman(v, tv)
    out = {"spearman": rho, "spearman_tied": _spearman(v, tv, break_ties=False), "gini": gini(tv, v),
           "mae": float(np.abs(v - tv).mean()), **top_captures(tv, v), "ranking_blend": ranking_blend(rho, tv, v),
           "orders_spearman": _spearman(o, to), "orders_mae": float(np.abs(o - to).mean())}
    if next_days is not None and true_next_days is not None:
        known = np.isfinite(true_next_days)
        if known.any():
            horizon = float(np.nanmax(true_next_days)) + 1.0
            pred = np.minimum(np.asarray(next_days, dtype="float64")[known], 2 * horizon)
            out["next_order_mae_days"] = float(np.abs(pred - true_next_days[known]).mean())
    return out


def spearman(prediction: np.ndarray, truth: np.ndarray) -> float:
    """Return Spearman's rho with tied predictions ordered at random (seeded), as the value gate reads it."""
    return _spearman(prediction, truth)


def _spearman(prediction: np.ndarray, truth: np.ndarray, break_ties: bool = True) -> float:
    """Return Spearman's rho; with ``break_ties`` tied predictions are ordered at random (seed 0)."""
    if len(prediction) < 2 or np.ptp(truth) == 0:
        return float("nan")
    if break_ties:
        noise = np.random.default_rng(0).random(len(prediction))
        prediction = np.lexsort((noise, prediction)).argsort().astype("float64")  # ranks, ties in random order
    elif np.ptp(prediction) == 0:
        return float("nan")
    return float(stats.spearmanr(prediction, truth).statistic)


def gini(revenue: np.ndarray, score: np.ndarray) -> float:
    """Return the normalised Gini of ``revenue`` ordered by ``score`` (ties in random order, seed 0).

    The mean of the cumulative revenue share over customers taken in score order, minus 1/2 (random order),
    divided by the same for the ideal order (by revenue itself).
    """
    revenue = np.asarray(revenue, dtype="float64")
    total = revenue.sum()
    if len(revenue) < 2 or total <= 0:
        return float("nan")
    noise = np.random.default_rng(0).random(len(revenue))

    def area(order_by: np.ndarray) -> float:
        order = np.lexsort((noise, -np.asarray(order_by, dtype="float64")))
        return float(np.cumsum(revenue[order]).mean() / total) - 0.5

    ideal = area(revenue)
    return area(score) / ideal if ideal > 0 else float("nan")


def calibration_table(probability: np.ndarray, outcome: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Return, per decile of predicted probability: customers, mean predicted and observed rate."""
    p, y = np.asarray(probability, dtype="float64"), np.asarray(outcome, dtype="float64")
    rank = pd.Series(p).rank(method="first")
    decile = np.ceil(rank / len(p) * bins).clip(1, bins).astype(int).to_numpy() if len(p) else np.array([], int)
    frame = pd.DataFrame({"bin": decile, "predicted": p, "observed": y})
    table = frame.groupby("bin").agg(customers=("predicted", "size"), mean_predicted=("predicted", "mean"),
                                     observed_rate=("observed", "mean"))
    return table.reset_index()


def gains_curve(score: np.ndarray, outcome: np.ndarray, points: int = 20) -> pd.DataFrame:
    """Return the cumulative share of positives (or revenue) captured by the top x% of customers by score."""
    order = np.argsort(-np.asarray(score, dtype="float64"), kind="stable")
    captured = np.cumsum(np.asarray(outcome, dtype="float64")[order])
    total = captured[-1] if len(captured) and captured[-1] > 0 else 1.0
    shares = np.linspace(0, 1, points + 1)
    idx = np.clip((shares * len(order)).astype(int) - 1, -1, len(order) - 1)
    return pd.DataFrame({"customers_share": shares, "captured": np.where(idx >= 0, captured[idx] / total, 0.0)})
