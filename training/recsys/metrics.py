"""Per-customer ranking metrics, bootstrap confidence intervals, and the choice of the served recommender.

A model's NDCG@10 is a mean over customers, so its noise is the customers': ``bootstrap_ci`` resamples them
(1,000 draws, seeded). Two models scored on the same customers are compared on the per-customer differences
(``paired_ci``), whose interval is much narrower than either model's own. ``choose_model`` serves the best single
source on the holdout, and a composite (the blend, then the LambdaRank ranker over it) only when its paired
interval against the model it would replace lies above 0: the simpler model is cheaper to serve and explain, and
the served NDCG is never below the best single source's.
"""

from __future__ import annotations

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Choice:
    """The served recommender: its name and the sentence that says why it won."""

    name: str
    reason: str


def choose_model(ndcg: dict[str, np.ndarray], candidates: tuple[str, ...] = CANDIDATES) -> Choice:
    """Return the best single source unless a composite (the blend, then the ranker) beats it beyond the noise.

    ``ndcg`` may hold models that never serve alone (buy-again): they are not chosen, but the runner-up named in
    the reason is the real one, whichever model it is.
    """
    means = {c: bootstrap_ci(v, reps=1)[0] for c, v in ndcg.items()}
    scored = [c for c in candidates if c in means and np.isfinite(means[c])]
    if not scored:
        raise ValueError(f"no candidate recommender has a finite NDCG; expected some of {candidates}")
    singles = [c for c in scored if c not in COMPOSITES] or scored[:1]
    chosen = max(singles, key=lambda c: means[c])  # ties: the simpler (earlier) one
    for composite in (c for c in scored if c in COMPOSITES and c != chosen):
        if paired_ci(ndcg[composite], ndcg[chosen])[1] > 0:  # served only when clearly better than what it replaces
            chosen = composite
    return Choice(chosen, _reason(chosen, means, ndcg, singles))


def _reason(chosen: str, means: dict[str, float], ndcg: dict[str, np.ndarray], singles: list[str]) -> str:
    """Say why ``chosen`` serves: its lead over the real runner-up, or the better model it is within the noise of."""
    others = sorted((c for c in means if c != chosen and np.isfinite(means[c])), key=lambda c: -means[c])
    if not others:
        return f"{chosen}: the only candidate (NDCG@10 {means[chosen]:.4f})"
    top = others[0]
    if means[top] > means[chosen] and top not in singles and top not in COMPOSITES:
        diff, low, high = paired_ci(ndcg[top], ndcg[chosen])
        return (f"{chosen}: NDCG@10 {means[chosen]:.4f}, the best of the models that serve; the runner-up {top} "
                f"scores {means[top]:.4f} ({diff:+.4f} [{low:+.4f}, {high:+.4f}]) but does not serve alone")
    if means[top] > means[chosen]:
        diff, low, high = paired_ci(ndcg[top], ndcg[chosen])
        return (f"{chosen}: NDCG@10 {means[chosen]:.4f}; {top} ({means[top]:.4f}) is within the noise of it (paired "
                f"difference {diff:+.4f} [{low:+.4f}, {high:+.4f}]), and {chosen} is the simpler model")
    diff, low, high = paired_ci(ndcg[chosen], ndcg[top])
    serves = "" if top in singles or top in COMPOSITES else f"; {top} does not serve alone"
    rule = ("no blend beats it beyond the noise" if chosen in singles
            else "it beats the best single source beyond the noise")
    return (f"{chosen}: best NDCG@10 {means[chosen]:.4f}; {diff:+.4f} [{low:+.4f}, {high:+.4f}] over the runner-up "
            f"{top} ({means[top]:.4f}){serves}, and {rule}")
