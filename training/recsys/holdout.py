"""Scoring recommenders on a window: who bought what (the holdout), ranking metrics, and every model side by side.

Tuning (``tune.py``) and the pipeline (``pipeline.py``) both score here, so a weight tried on validation and a
model reported on the holdout are measured the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from features import columns as C
from models.recommender import BlendConfig, EASEConfig, Interactions, Recommender
from models.recommender.reasons import link_lookup
from training.recsys.metrics import bootstrap_ci, per_customer

BASELINES = ("popularity", "copurchase", "ease")


class RecsysConfig(BaseModel):
    """How the recommender is tuned and evaluated (the blend's own hyperparameters are its starting point)."""

    model_config = ConfigDict(extra="forbid")

    k: int = Field(10, ge=1)
    blend: BlendConfig = Field(default_factory=BlendConfig)
    ease: EASEConfig = Field(default_factory=EASEConfig)
    tune: bool = True
    als_trials: int = Field(12, ge=1)
    weight_trials: int = Field(40, ge=1)
    max_eval_customers: int = Field(20_000, ge=1)  # a seeded sample keeps evaluation time flat on big shops
    # tuning fits every trial on the rows of at most this many customers (the validation customers and a seeded
    # sample of the others); the evaluation and the served model fit on everyone. None: tune on everyone.
    max_tune_customers: int | None = Field(100_000, ge=1)
    seed: int = 0
    split: Literal["auto", "time", "per_customer"] = "auto"  # auto: per customer when the time holdout is thin
    min_holdout_customers: int = Field(1_000, ge=1)
    min_holdout_share: float = Field(0.2, ge=0, le=1)  # of the customers active in the year before the holdout
    holdout_orders: int = Field(1, ge=1)  # per-customer split: each customer's last n orders held out
    # below this share of (customer, item) pairs bought on more than one order (films, books, furniture),
    # buy-again is switched off and every model is scored with the already-bought filter
    rare_rebuy_share: float = Field(0.02, ge=0, le=1)
    # also try the LambdaRank second stage (served only when it beats the blend beyond the noise); off by default
    # until it meets the speed targets (benchmarks/recommender_quality.py, README: 100k lists ~44 s, p99 ~16 ms)
    ranker: bool = False


@dataclass
class Holdout:
    """The customers scored on a window and what they bought in it (dense indices of the fitted data)."""

    users: np.ndarray
    truth: sp.csr_matrix  # users x items, 1 = bought in the window
    new_truth: sp.csr_matrix  # the same, without items the customer had bought before
    eligible: int | None = None  # customers who bought in the window before max_eval_customers sampled them

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_eligible(self) -> int:
        """How many customers the window has, sampled or not (what tells whether a time holdout is thin)."""
        return self.n_users if self.eligible is None else self.eligible


def holdout_truth(transactions: pd.DataFrame, data: Interactions, start: object, end: object,
                  max_customers: int | None = None, seed: int = 0) -> Holdout:
    """Return who of ``data``'s buyers bought what in ``[start, end)`` (customers with no purchase before left out).

    Items the fitted data never saw get columns after ``data.n_items``: they count in recall and NDCG's ideal.
    """
    tx = transactions[transactions[C.ITEM_ID].notna()]
    ts = pd.to_datetime(tx[C.TIMESTAMP])
    window = tx[(ts >= pd.Timestamp(start)) & (ts < pd.Timestamp(end))]
    if C.QUANTITY in window.columns:
        window = window[pd.to_numeric(window[C.QUANTITY], errors="coerce").fillna(1.0) > 0]
    users = data.customers.codes(window[C.CUSTOMER_ID]).astype(np.int64)
    items = data.items.codes(window[C.ITEM_ID]).astype(np.int64)
    unseen = items < 0  # items new to the shop count as relevant (no model can find them) after the known ones
    items[unseen] = data.n_items + pd.factorize(window[C.ITEM_ID].astype(str).to_numpy()[unseen])[0]
    width = int(items.max()) + 1 if len(items) else data.n_items
    buyers = np.asarray(data.bought.sum(axis=1)).ravel() > 0
    ok = users >= 0
    ok[ok] &= buyers[users[ok]]
    scored = np.unique(users[ok])
    eligible = len(scored)
    if max_customers is not None and len(scored) > max_customers:
        scored = np.sort(np.random.default_rng(seed).choice(scored, max_customers, replace=False))
    row = np.searchsorted(scored, users[ok])
    inside = (row < len(scored)) & (scored[np.minimum(row, len(scored) - 1)] == users[ok])
    truth = sp.csr_matrix((np.ones(int(inside.sum()), np.float32), (row[inside], items[ok][inside])),
                          shape=(len(scored), max(width, data.n_items)))
    truth.data[:] = 1.0
    seen = sp.hstack([data.bought[scored], sp.csr_matrix((len(scored), truth.shape[1] - data.n_items))]).tocsr()
    new_truth = truth - truth.multiply(seen)
    new_truth.eliminate_zeros()
    return Holdout(users=scored, truth=truth, new_truth=sp.csr_matrix(new_truth), eligible=eligible)


def ranking_metrics(best: np.ndarray, truth: sp.csr_matrix, k: int, n_items: int) -> dict[str, float]:
    """Return precision@k, recall@k, ndcg@k, map@k (means over rows with a non-empty truth) and coverage.

    ``best`` holds each row's recommended item indices, best first (-1 = no pick).
    """
    best = best[:, :k]
    size = np.diff(truth.indptr)
    rows = np.repeat(np.arange(best.shape[0]), best.shape[1])
    hit = (link_lookup(truth, rows, np.maximum(best.ravel(), 0)).reshape(best.shape) > 0) & (best >= 0)
    use = size > 0
    hit, size = hit[use], size[use]
    if not len(size):
        return {f"precision@{k}": np.nan, f"recall@{k}": np.nan, f"ndcg@{k}": np.nan, f"map@{k}": np.nan,
                "coverage": np.nan}
    discount = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = np.cumsum(discount)[np.minimum(size, k) - 1]
    cumulative = np.cumsum(hit, axis=1)
    precision_at = cumulative / np.arange(1, k + 1)
    picked = best[best >= 0]
    return {
        f"precision@{k}": float(hit.sum(axis=1).mean() / k),
        f"recall@{k}": float((hit.sum(axis=1) / size).mean()),
        f"ndcg@{k}": float(((hit * discount).sum(axis=1) / ideal).mean()),
        f"map@{k}": float(((precision_at * hit).sum(axis=1) / np.minimum(size, k)).mean()),
        "coverage": float(len(np.unique(picked)) / n_items) if n_items else np.nan,
    }


def top_items(model: Recommender, users: np.ndarray, k: int, filter_bought: bool | None = None,
              batch_size: int = 2_000) -> np.ndarray:
    """Return each customer's top ``k`` item indices as the model would serve them (-1 pads).

    ``filter_bought`` None: the model's served setting (models that ``recommends_bought`` apply their own).
    """
    parts = [model.rank_items(users[start:start + batch_size], k, filter_bought=filter_bought)[0]
             for start in range(0, len(users), batch_size)]
    return np.vstack(parts) if parts else np.zeros((0, k), np.int64)


@dataclass
class Evaluation:
    """Every model on the same customers: the tables, each model's filter setting, per-customer NDCG."""

    metrics: pd.DataFrame  # rows: models; precision@k, recall@k, ndcg@k (+ 95% interval), map@k, coverage, ...
    metrics_new: pd.DataFrame  # the same on items new to the customer
    filters: dict[str, bool]
    per_customer: dict[str, np.ndarray]  # model -> each holdout customer's ndcg@k (nan: bought nothing)


def evaluate(models: dict[str, Recommender], holdout: Holdout, k: int, n_items: int, rebuys: bool = True
             ) -> Evaluation:
    """Return every model's metrics on the same customers, with a bootstrap 95% interval on NDCG@k.

    Models that do not ``recommends_bought`` are scored with and without the already-bought filter and keep the
    better NDCG (so a baseline, or ALS alone, is never handicapped by a filter that hurts it on repeat-heavy
    shops); buy-again and the blend apply their own rule. With ``rebuys`` False (customers rarely buy an item
    twice) every model filters what the customer bought. ``filters`` says which setting each model's row used.
    """
    rows, rows_new, filters, per = {}, {}, {}, {}
    for name, model in models.items():
        options = (True,) if model.recommends_bought or not rebuys else (True, False)
        results = []
        for filter_bought in options:
            best = top_items(model, holdout.users, k, filter_bought)
            results.append((ranking_metrics(best, holdout.truth, k, n_items), filter_bought, best))
        scored, filter_bought, best = max(results, key=lambda r: np.nan_to_num(r[0][f"ndcg@{k}"], nan=-1.0))
        per[name] = per_customer(best, holdout.truth, k)["ndcg"]
        _, low, high = bootstrap_ci(per[name])
        rows[name] = {**scored, f"ndcg@{k} low": low, f"ndcg@{k} high": high, "customers": holdout.n_users}
        filters[name] = filter_bought
        new = ranking_metrics(top_items(model, holdout.users, k, True), holdout.new_truth, k, n_items)
        rows_new[name] = {**new, "customers": int((np.diff(holdout.new_truth.indptr) > 0).sum())}
    return Evaluation(pd.DataFrame.from_dict(rows, orient="index"), pd.DataFrame.from_dict(rows_new, orient="index"),
                      filters, per)
