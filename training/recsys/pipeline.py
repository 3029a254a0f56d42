"""Recommender training and evaluation: temporal holdout, ranking metrics, baselines side by side, the served blend.

``train_and_evaluate_recommender`` is what the pipeline calls. With the holdout ``[cutoff - horizon, cutoff)`` it

1. tunes every source and the blend weights on a validation window carved from the training data
   (``[cutoff - 2 horizon, cutoff - horizon)``, models fitted on what came before; ``training/recsys_tune.py``),
2. refits with the chosen parameters on everything before the holdout and scores the blend and the baselines
   (popularity, item-item co-purchase, EASE, ALS alone, buy-again alone) on the holdout customers,
3. refits the blend on everything before ``cutoff`` for serving.

Metrics (``@k``): precision, recall, NDCG and MAP over customers who bought in the holdout and bought before it
(binary relevance: the items they bought), plus catalogue coverage (share of items recommended to anyone).
``metrics`` counts every holdout purchase (repeats too); ``metrics_new`` only items new to the customer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.recommender import (
    Blend,
    EASEConfig,
    EASERecommender,
    Interactions,
    Recommender,
    build_interactions,
)
from training.recsys.holdout import (
    RecsysConfig,
    evaluate,
    holdout_truth,
)
from training.recsys.tune import tune

logger = logging.getLogger(__name__)

@dataclass
class RecommenderRun:
    """What the pipeline logs and registers: the served blend, the evaluation tables and the tuned parameters."""

    blend: Blend
    metrics: pd.DataFrame  # rows: models; columns: precision@k, recall@k, ndcg@k, map@k, coverage, customers
    metrics_new: pd.DataFrame
    params: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)


def baselines(data: Interactions, blend: Blend, ease: EASEConfig) -> dict[str, Recommender]:
    """Return the fitted comparison models: popularity and co-purchase (the blend's own), EASE, ALS, buy-again."""
    return {
        "popularity": blend.popular, "copurchase": blend.copurchase,
        "ease": EASERecommender(ease).fit(data), "als": blend.als, "buy_again": blend.buy_again,
    }


def train_and_evaluate_recommender(transactions: pd.DataFrame, events: pd.DataFrame | None,
                                   items: pd.DataFrame | None, cutoff: object, horizon_days: int,
                                   config: RecsysConfig | None = None) -> RecommenderRun:
    """Tune on validation, evaluate on ``[cutoff - horizon, cutoff)`` against baselines, refit for serving.

    Raises
    ------
    ValueError
        When there is no purchase before the validation window or no scorable customer in the holdout.
    """

    cfg = config or RecsysConfig()
    cutoff = pd.Timestamp(cutoff)
    horizon = pd.Timedelta(days=horizon_days)
    began = time.perf_counter()
    blend_cfg, ease_cfg = cfg.blend, cfg.ease
    trials: dict[str, Any] = {}
    if cfg.tune:
        blend_cfg, ease_cfg, trials = tune(transactions, events, items, cutoff - horizon, horizon_days, cfg)
    data = build_interactions(transactions, events, items, as_of=cutoff - horizon)
    holdout = holdout_truth(transactions, data, cutoff - horizon, cutoff, cfg.max_eval_customers, cfg.seed)
    if holdout.n_users == 0:
        raise ValueError(f"no customer bought in [{cutoff - horizon}, {cutoff}) after buying before it: "
                         "nothing to evaluate the recommender on; choose an earlier cutoff or a longer horizon")
    blend = Blend(blend_cfg).fit(data)
    models: dict[str, Recommender | Blend] = {**baselines(data, blend, ease_cfg), "blend": blend}
    metrics, metrics_new, filters = evaluate(models, holdout, cfg.k, data.n_items)
    logger.info("recommender holdout (%s customers):\n%s", holdout.n_users, metrics.round(4).to_string())
    serving = Blend(blend_cfg).fit(build_interactions(transactions, events, items, as_of=cutoff))
    params = {"blend": blend_cfg.model_dump(mode="json"), "ease": ease_cfg.model_dump(mode="json")}
    info = {"seconds": round(time.perf_counter() - began, 1), "holdout_customers": holdout.n_users,
            "holdout_start": str(cutoff - horizon), "cutoff": str(cutoff), "filter_bought": filters,
            "notes": data.notes, "trials": trials}
    return RecommenderRun(blend=serving, metrics=metrics, metrics_new=metrics_new, params=params, info=info)
