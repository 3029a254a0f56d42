"""Recommender training and evaluation: the split, tuning, every candidate side by side, the served champion.

``train_and_evaluate_recommender`` is what the pipeline calls. With the holdout ``[cutoff - horizon, cutoff)`` it

1. chooses the split (``split.py``): the time holdout, or, when that is thin, each customer's last order held
   out (and the one before for validation); the run's notes say which and why,
2. measures re-buys (the share of (customer, item) pairs bought on more than one order): under
   ``rare_rebuy_share`` (films, books, furniture) buy-again is switched off and every model filters what the
   customer bought; the share goes into the run's notes and ``info["rebuy_share"]``,
3. tunes every source and the blend (EASE among its members) on the validation side (``tune.py``; never the
   holdout),
4. scores the candidates (popularity, co-purchase, EASE, ALS, the blend, the LambdaRank second stage over the
   blend; buy-again alone for reference) on the holdout customers, each NDCG@k with a bootstrap 95% interval,
5. chooses the served model (``gate.choose_model``): the best single source on the holdout unless the blend
   (or the ranker) beats it beyond the noise, and refits that one on everything before ``cutoff``.

Metrics (``@k``): precision, recall, NDCG and MAP over customers who bought in the holdout and bought before it
(binary relevance: the items they bought), plus catalogue coverage (share of items recommended to anyone).
``metrics`` counts every holdout purchase (repeats too); ``metrics_new`` only items new to the customer.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from models.recommender import (
    ALSRecommender,
    Blend,
    BlendConfig,
    CoPurchaseRecommender,
    EASEConfig,
    EASERecommender,
    Interactions,
    PopularRecommender,
    Recommender,
    RerankConfig,
    Reranker,
    build_interactions,
)
from training.gate import choose_model
from training.recsys.holdout import Holdout, RecsysConfig, evaluate, holdout_truth
from training.recsys.metrics import CANDIDATES
from training.recsys.run import RecommenderRun
from training.recsys.split import choose_split, split_last_orders, subsample
from training.recsys.tune import rebuys_common, tune_on

logger = logging.getLogger(__name__)


@dataclass
class Split:
    """The data the models fit on and the customers they are scored on, for validation and for the holdout."""

    kind: str
    note: str
    valid_data: Interactions
    valid: Holdout
    data: Interactions
    holdout: Holdout


def evaluation_split(transactions: pd.DataFrame, events: pd.DataFrame | None, items: pd.DataFrame | None,
                     cutoff: pd.Timestamp, horizon: pd.Timedelta, cfg: RecsysConfig) -> Split:
    """Return the time split, or the per-customer split when the config asks or the time holdout is thin."""
    data = build_interactions(transactions, events, items, as_of=cutoff - horizon)
    holdout = holdout_truth(transactions, data, cutoff - horizon, cutoff, cfg.max_eval_customers, cfg.seed)
    choice = choose_split(holdout, data, cfg.min_holdout_customers, cfg.min_holdout_share)
    kind = choice.kind if cfg.split == "auto" else cfg.split
    if kind == "time":
        valid_data = build_interactions(transactions, events, items, as_of=cutoff - 2 * horizon)
        valid = holdout_truth(transactions, valid_data, cutoff - 2 * horizon, cutoff - horizon,
                              cfg.max_eval_customers, cfg.seed)
        return Split("time", choice.note if cfg.split == "auto" else "time holdout (set in the config)",
                     valid_data, valid, data, holdout)
    full = build_interactions(transactions, events, items, as_of=cutoff)
    data, holdout = split_last_orders(full, cfg.holdout_orders)
    valid_data, valid = split_last_orders(data, cfg.holdout_orders)
    note = choice.note if cfg.split == "auto" else "per-customer split (set in the config)"
    return Split("per_customer", note, valid_data, subsample(valid, cfg.max_eval_customers, cfg.seed), data,
                 subsample(holdout, cfg.max_eval_customers, cfg.seed))


def candidates(data: Interactions, blend: Blend, ease: EASEConfig) -> dict[str, Recommender]:
    """Return the fitted comparison models (the blend's own sources where it has them) and the blend."""
    ease_model = blend.components_.get("ease")
    if ease_model is None or ease_model.config != ease:
        ease_model = EASERecommender(ease).fit(data)
    return {
        "popularity": blend.popular, "copurchase": blend.copurchase, "ease": ease_model, "als": blend.als,
        "buy_again": blend.buy_again, "blend": blend,
    }


def rebuy_check(data: Interactions, cfg: RecsysConfig) -> tuple[bool, str]:
    """Return whether re-buys are common enough for buy-again, and the sentence the run logs and prints."""
    share, rebuys = data.rebuy_share, rebuys_common(data, cfg)
    note = (f"re-buys: {share:.1%} of (customer, item) pairs were bought on more than one order"
            + ("" if rebuys else f" (under {cfg.rare_rebuy_share:.0%}: buy-again off, every model filters what the "
                                 "customer bought)"))
    logger.info("recommender %s", note)
    return rebuys, note


def served_model(name: str, blend: BlendConfig, ease: EASEConfig) -> Recommender:
    """Return an unfitted model of candidate ``name`` with the tuned hyperparameters."""
    models: dict[str, Recommender] = {
        "popularity": PopularRecommender(blend.popular), "copurchase": CoPurchaseRecommender(blend.copurchase),
        "ease": EASERecommender(ease), "als": ALSRecommender(blend.als), "blend": Blend(blend),
        "ranker": Reranker(RerankConfig(blend=blend)),
    }
    return models[name]


@dataclass
class Fitted:
    """The tuned configs and every candidate fitted on the split's training side."""

    blend: BlendConfig
    ease: EASEConfig
    trials: dict[str, Any]
    rebuys: bool  # customers buy items again often enough for buy-again (``rebuy_check``)
    note: str  # the re-buy share, as the run prints it
    models: dict[str, Recommender]

    @property
    def blend_model(self) -> Blend:
        model = self.models["blend"]
        assert isinstance(model, Blend)
        return model


def fit_candidates(split: Split, cfg: RecsysConfig, horizon_days: int) -> Fitted:
    """Measure re-buys, tune on the validation side (when ``cfg.tune``), fit the blend and its comparison models."""
    rebuys, note = rebuy_check(split.data, cfg)
    blend_cfg, ease_cfg, trials = (tune_on(split.valid_data, split.valid, cfg, horizon_days, rebuys) if cfg.tune
                                   else (cfg.blend, cfg.ease, {}))
    if not rebuys:  # also untuned: buy-again has nothing to say where nobody buys twice
        blend_cfg = blend_cfg.model_copy(update={"weights": blend_cfg.weights.model_copy(update={"buy_again": 0.0})})
    blend = Blend(blend_cfg).fit(split.data)
    return Fitted(blend_cfg, ease_cfg, trials, rebuys, note, candidates(split.data, blend, ease_cfg))


def train_and_evaluate_recommender(transactions: pd.DataFrame, events: pd.DataFrame | None,
                                   items: pd.DataFrame | None, cutoff: object, horizon_days: int,
                                   config: RecsysConfig | None = None) -> RecommenderRun:
    """Choose the split, tune, evaluate every candidate, and refit the winner on everything before ``cutoff``.

    Raises
    ------
    ValueError
        When no customer can be scored (nothing bought in the holdout by a customer who bought before).
    """
    cfg = config or RecsysConfig()
    cutoff = pd.Timestamp(cutoff)
    horizon = pd.Timedelta(days=horizon_days)
    began = time.perf_counter()
    split = evaluation_split(transactions, events, items, cutoff, horizon, cfg)
    if split.holdout.n_users == 0:
        raise ValueError(f"no customer bought in [{cutoff - horizon}, {cutoff}) after buying before it, and none has "
                         "two orders to hold one out: nothing to evaluate the recommender on; choose an earlier "
                         "cutoff or a longer horizon")
    fitted = fit_candidates(split, cfg, horizon_days)
    blend_cfg, ease_cfg, trials, models = fitted.blend, fitted.ease, fitted.trials, fitted.models
    if cfg.ranker:  # learns on the training side's own last orders, never on the holdout
        models["ranker"] = Reranker(RerankConfig(blend=blend_cfg)).fit(split.data, blend=fitted.blend_model)
    result = evaluate(models, split.holdout, cfg.k, split.data.n_items, fitted.rebuys)
    choice = choose_model(result.per_customer, CANDIDATES)
    metrics = result.metrics.assign(chosen=lambda m: m.index == choice.name)
    logger.info("recommender holdout (%s customers, %s split):\n%s\nserved: %s", split.holdout.n_users, split.kind,
                metrics.round(4).to_string(), choice.reason)
    evaluated = {"holdout_customers": split.holdout.n_users, "split": split.kind,
                 "note": f"{split.note}; {fitted.note}"}
    split_rebuy_share = round(split.data.rebuy_share, 4)
    del split, fitted, models  # the evaluation's data and models (GBs at 1M customers) before the served fit
    full = build_interactions(transactions, events, items, as_of=cutoff)
    served = served_model(choice.name, blend_cfg, ease_cfg).fit(full)
    served.serve_filter(result.filters.get(choice.name, True))
    params = {"blend": blend_cfg.model_dump(mode="json"), "ease": ease_cfg.model_dump(mode="json")}
    info = {"seconds": round(time.perf_counter() - began, 1), "holdout_customers": evaluated["holdout_customers"],
            "split": evaluated["split"], "holdout_start": str(cutoff - horizon), "cutoff": str(cutoff),
            "filter_bought": result.filters, "rebuy_share": split_rebuy_share, "chosen": choice.name,
            "why": choice.reason,
            "notes": [*full.notes, evaluated["note"]], "trials": trials}
    return RecommenderRun(model=served, metrics=metrics, metrics_new=result.metrics_new, params=params, info=info)
