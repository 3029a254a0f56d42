"""Per-customer ranking metrics, bootstrap confidence intervals, and the choice of the served recommender.

A model's NDCG@10 is a mean over customers, so its noise is the customers': ``bootstrap_ci`` resamples them
(1,000 draws, seeded). Two models scored on the same customers are compared on the per-customer differences
(``paired_ci``), whose interval is much narrower than either model's own. ``training.gate.choose_model`` uses
them to choose the served recommender.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from models.recommender.reasons import link_lookup

CANDIDATES = ("popularity", "copurchase", "ease", "als", "blend", "ranker")  # simplest first
COMPOSITES = ("blend", "ranker")  # built from the single sources: served only when clearly better than them
REPS, LEVEL = 1_000, 0.95


def per_customer(best: np.ndarray, truth: sp.csr_matrix, k: int) -> dict[str, np.ndarray]:
    """Return each customer's ndcg@k and recall@k (nan where the customer bought nothing in the window)."""
    best = best[:, :k]
    size = np.diff(truth.indptr)
    rows = np.repeat(np.arange(best.shape[0]), best.shape[1])
    hit = (link_lookup(truth, rows, np.maximum(best.ravel(), 0)).reshape(best.shape) > 0) & (best >= 0)
    discount = 1.0 / np.log2(np.arange(2, best.shape[1] + 2))
    ideal = np.cumsum(1.0 / np.log2(np.arange(2, k + 2)))[np.clip(np.minimum(size, k) - 1, 0, None)]
    with np.errstate(invalid="ignore", divide="ignore"):
        ndcg = np.where(size > 0, (hit * discount).sum(axis=1) / ideal, np.nan)
        recall = np.where(size > 0, hit.sum(axis=1) / np.maximum(size, 1), np.nan)
    return {"ndcg": ndcg, "recall": recall}


def bootstrap_ci(values: np.ndarray, reps: int = REPS, seed: int = 0) -> tuple[float, float, float]:
    """Return (mean, low, high): the mean over customers and its 95% percentile bootstrap interval."""
    v = values[~np.isnan(values)]
    if not len(v):
        return float("nan"), float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(v), (reps, len(v)))
    means = v[draws].mean(axis=1)
    tail = 100 * (1 - LEVEL) / 2
    return float(v.mean()), float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def paired_ci(a: np.ndarray, b: np.ndarray, reps: int = REPS, seed: int = 0) -> tuple[float, float, float]:
    """Return (mean, low, high) of ``a - b`` over the customers both were scored on."""
    return bootstrap_ci(a - b, reps, seed)
