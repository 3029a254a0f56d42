"""The recommender inside a training run: fit and evaluate it, log it to MLflow, make it a registry candidate.

``train`` calls these when the transactions carry ``item_id``; the recommender is gated like the other models
(NDCG@10 on the holdout, at least the champion's and at least the best baseline's: popularity, co-purchase,
EASE), and registers together with them, so a failed run registers none.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd

from features import columns as C
from features.data.reader import Shop
from models.recommender.serve import recommend_batch
from training.config import RetentionConfig
from training.recsys.holdout import BASELINES
from training.recsys.pipeline import RecommenderRun, train_and_evaluate_recommender
from training.register import Candidate

logger = logging.getLogger(__name__)


def recommender_tables(shop: Shop, cutoff: datetime) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Return transactions and events before the cutoff (the point-in-time rule) and the items table."""
    at = pd.Timestamp(cutoff)

    def before(name: str) -> pd.DataFrame | None:
        if not shop.has(name):
            return None
        frame = shop.to_pandas(name)
        return frame[frame[C.TIMESTAMP] < at].reset_index(drop=True)

    items = shop.to_pandas("items") if shop.has("items") else None
    return before("transactions"), before("events"), items


def fit_recommender(shop: Shop, cfg: RetentionConfig, cutoff: datetime, horizon_days: int) -> RecommenderRun | None:
    """Tune, evaluate and refit the recommender; None (with a log line) when the data has no item_id."""
    if not cfg.recommender.enabled:
        logger.info("recommender: switched off in the config (recommender.enabled: false)")
        return None
    if not shop.has("transactions", C.ITEM_ID):
        logger.info("recommender: left out, transactions have no item_id column")
        return None
    transactions, events, items = recommender_tables(shop, cutoff)
    return train_and_evaluate_recommender(transactions, events, items, cutoff, horizon_days, cfg.recommender.tuning)


def log_recommender(run: RecommenderRun, cfg: RetentionConfig) -> str:
    """Log the evaluation table, tuned parameters and the served blend into the active run; return its URI."""
    from training import tracking

    metrics = {f"recommender.{model}.{name}": float(value)
               for model, row in run.metrics.iterrows() for name, value in row.items()}
    tracking.log_metrics(metrics)
    tracking.log_dict({"params": run.params, "info": run.info}, "recommender/tuning.json")
    tracking.log_text(run.metrics.round(4).to_string(), "recommender/evaluation.txt")
    customers = [str(c) for c in run.blend.customers_.to_external([0, 1])]
    example = pd.DataFrame({C.CUSTOMER_ID: customers})
    output = recommend_batch(run.blend, customers, k=3)
    with tempfile.TemporaryDirectory(prefix="retention-recommender-") as tmp:
        folder = run.blend.save(Path(tmp) / "recommender")
        return tracking.log_model_folder(cfg.registry.recommender_name, folder, example, output, params={"k": 10})


def recommender_candidate(run: RecommenderRun, uri: str, cfg: RetentionConfig, tags: dict[str, str]) -> Candidate:
    """Return the registry candidate: the blend's gate metric next to the best baseline's from the same run."""

    metric = cfg.registry.recommender_metric
    if metric not in run.metrics.columns:
        raise ValueError(f"registry.recommender_metric {metric!r} is not a recommender metric; choose one of "
                         f"{list(run.metrics.columns)}")
    best_baseline = max(float(run.metrics.loc[b, metric]) for b in BASELINES if b in run.metrics.index)
    return Candidate(cfg.registry.recommender_name, uri, metric, float(run.metrics.loc["blend", metric]), True,
                     None, best_baseline if cfg.registry.require_beating_baseline else None, tags,
                     must_match=("horizon_days",))

