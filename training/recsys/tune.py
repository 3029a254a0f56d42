"""Recommender tuning on a validation window carved from the training data (never the holdout).

Models are fitted on everything before ``holdout_start - horizon`` and scored on what customers bought in
``[holdout_start - horizon, holdout_start)``. In order: ALS (a seeded random search over factors,
regularisation, alpha, iterations, event weights and decay, scored on items new to the customer, which is ALS's
job in the blend), small grids for co-purchase, popularity, buy-again and EASE, then the blend weights (EASE
alone first, so it wins ties, each source alone, a random search, then one pass of coordinate moves), scored on
everything bought. The first trial of every search is the starting configuration, so tuning never returns
something worse on validation. Where customers rarely buy an item twice (``rebuys`` False) buy-again stays off
and its re-buy filters are not tuned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from models.recommender import (
    ALSConfig,
    ALSRecommender,
    Blend,
    BlendConfig,
    BlendWeights,
    BuyAgainRecommender,
    CoPurchaseRecommender,
    EASEConfig,
    EASERecommender,
    Interactions,
    PopularRecommender,
    Recommender,
    build_interactions,
)
from models.recommender.interactions import customer_rows
from training.recsys.holdout import Holdout, RecsysConfig, holdout_truth, ranking_metrics, top_items

logger = logging.getLogger(__name__)

ALS_SPACE: dict[str, list[Any]] = {
    "factors": [32, 64, 128],
    "regularization": [0.01, 0.1, 1.0, 5.0],
    "alpha": [1.0, 5.0, 10.0, 20.0, 40.0],
    "iterations": [10, 15, 25],
    "view_weight": [0.0, 0.05, 0.2],
    "wishlist_weight": [0.0, 0.3],
    "cart_weight": [0.0, 0.3, 1.0],
    "half_life_days": [None, 90.0, 180.0, 365.0],
}
WEIGHT_RANGE: dict[str, tuple[float, float]] = {  # log-uniform ranges of the blend weights
    "ease": (0.2, 3.0), "als": (0.2, 3.0), "category": (0.02, 2.0), "popular": (0.005, 1.0),
    "copurchase": (0.02, 2.0), "upsell": (0.005, 0.5), "buy_again": (0.1, 5.0),
}
NO_REBUY_WEIGHTS = tuple(name for name in WEIGHT_RANGE if name != "buy_again")  # buy-again stays off
REBUY_THRESHOLDS = (0.02, 0.05, 0.1, 0.2)
REBUY_CAPS = (None, 5, 3)  # due re-buys allowed on one list


def ndcg(model: Recommender, holdout: Holdout, k: int, new: bool = False, filter_bought: bool = True) -> float:
    """Return NDCG@k of ``model`` on ``holdout`` (``new``: only items new to the customer count)."""

    best = top_items(model, holdout.users, k, filter_bought)
    truth = holdout.new_truth if new else holdout.truth
    return float(np.nan_to_num(ranking_metrics(best, truth, k, truth.shape[1])[f"ndcg@{k}"], nan=0.0))


def best_of(candidates: list[Any], score: Callable[[Any], float], what: str) -> tuple[Any, float, list[dict]]:
    """Return (best candidate, its score, the trial log); ties keep the earlier candidate."""
    trials, best, best_score = [], None, -np.inf
    for candidate in candidates:
        value = score(candidate)
        trials.append({"params": _params(candidate), "ndcg": round(value, 5)})
        if value > best_score:
            best, best_score = candidate, value
    logger.info("tuned %s: ndcg %.4f with %s (%d trials)", what, best_score, _params(best), len(candidates))
    return best, best_score, trials


def _params(candidate: Any) -> Any:
    return candidate.model_dump(mode="json") if hasattr(candidate, "model_dump") else candidate


def als_candidates(start: ALSConfig, trials: int, rng: np.random.Generator) -> list[ALSConfig]:
    """Return ``start`` and ``trials - 1`` distinct random draws from ``ALS_SPACE``."""
    out, seen = [start], {start.model_dump_json()}
    for _ in range(50 * trials):
        if len(out) >= trials:
            break
        draw = start.model_copy(update={name: values[rng.integers(len(values))] for name, values in ALS_SPACE.items()})
        if draw.model_dump_json() not in seen:
            seen.add(draw.model_dump_json())
            out.append(draw)
    return out


def weight_candidates(start: BlendWeights, trials: int, rng: np.random.Generator,
                      names: tuple[str, ...] = tuple(WEIGHT_RANGE)) -> list[BlendWeights]:
    """Return EASE alone, ``start``, every other source alone, and random log-uniform weights of ``names``.

    A source alone is a candidate so the tuned blend is never below its best source on validation; EASE alone
    comes first, so it wins ties (the simplest strong answer where nobody re-buys). Weights not in ``names`` keep
    their ``start`` value (the cart's; buy-again's when it is off); every other draw leaves EASE off, so the
    search also learns whether the blend needs it (it costs items^2 memory when served).
    """
    alone = [start.model_copy(update={name: float(name == only) for name in names}) for only in names]
    out = [*alone[:1], start, *alone[1:]] if names[0] == "ease" else [start, *alone]
    for trial in range(trials - 1):
        draw = {name: float(np.exp(rng.uniform(np.log(WEIGHT_RANGE[name][0]), np.log(WEIGHT_RANGE[name][1]))))
                for name in names}
        if "ease" in draw and trial % 2:
            draw["ease"] = 0.0
        out.append(start.model_copy(update=draw))
    return out


def tune_weights(blend: Blend, valid: Holdout, k: int, trials: int, rng: np.random.Generator,
                 names: tuple[str, ...] = tuple(WEIGHT_RANGE)) -> tuple[BlendWeights, float, list[dict]]:
    """Random search over the blend weights ``names``, then coordinate moves (x0.5, x2, off) from the best."""
    def score(weights: BlendWeights) -> float:
        return ndcg(blend.with_weights(weights), valid, k)

    candidates = weight_candidates(blend.config.weights, trials, rng, names)
    best, best_score, log = best_of(candidates, score, "blend weights")
    for name in names:
        current = getattr(best, name)
        for value in ((current * 0.5, current * 2.0, 0.0) if current > 0 else (1.0,)):
            candidate = best.model_copy(update={name: value})
            value_score = score(candidate)
            log.append({"params": candidate.model_dump(mode="json"), "ndcg": round(value_score, 5)})
            if value_score > best_score:
                best, best_score = candidate, value_score
    logger.info("blend weights after coordinate moves: ndcg %.4f with %s", best_score, best.model_dump())
    return best, best_score, log


def tune_sources(data: Interactions, valid: Holdout, start: BlendConfig, cfg: RecsysConfig,
                 rng: np.random.Generator, rebuys: bool = True
                 ) -> tuple[BlendConfig, dict[str, Recommender], dict[str, Any]]:
    """Tune each source alone on validation; return the config, the fitted sources and the trial logs.

    ``rebuys`` False (customers rarely buy an item twice): buy-again keeps its starting config, untried.
    """
    k, fitted, logs = cfg.k, {}, {}

    def fit_score(cls: type[Recommender], new: bool, filter_bought: bool = True) -> Callable[[Any], float]:
        def score(config: Any) -> float:
            model = cls(config).fit(data)
            fitted[(cls.__name__, config.model_dump_json())] = model
            return ndcg(model, valid, k, new=new, filter_bought=filter_bought)
        return score

    als, _, logs["als"] = best_of(als_candidates(start.als, cfg.als_trials, rng), fit_score(ALSRecommender, True),
                                  "ALS")
    copurchase_grid = [start.copurchase] + [start.copurchase.model_copy(update={"measure": m, "min_support": s})
                                 for m in ("confidence", "lift") for s in (1, 2, 3)]
    copurchase, _, logs["copurchase"] = best_of(copurchase_grid, fit_score(CoPurchaseRecommender, True), "co-purchase")
    popular_grid = [start.popular] + [start.popular.model_copy(update={"half_life_days": h})
                                      for h in (None, 14.0, 30.0, 90.0)]
    popular, _, logs["popular"] = best_of(popular_grid, fit_score(PopularRecommender, False), "popularity")
    buy_again_grid = [start.buy_again] + [start.buy_again.model_copy(update={"spread": s, "overdue_after": o})
                                for s in (0.25, 0.5) for o in (1.5, 3.0)]
    if not rebuys:
        buy_again_grid = buy_again_grid[:1]
    buy_again, _, logs["buy_again"] = best_of(buy_again_grid, fit_score(BuyAgainRecommender, False, False), "buy-again")
    tuned = start.model_copy(update={"als": als, "copurchase": copurchase, "popular": popular,
                                     "buy_again": buy_again})
    models = {name: fitted[(cls.__name__, getattr(tuned, name).model_dump_json())] for name, cls in (
        ("als", ALSRecommender), ("copurchase", CoPurchaseRecommender), ("popular", PopularRecommender),
        ("buy_again", BuyAgainRecommender))}
    return tuned, models, logs


def tune_ease(data: Interactions, valid: Holdout, start: EASEConfig, k: int, rebuys: bool = True
              ) -> tuple[EASERecommender, list[dict]]:
    """Return the fitted EASE whose regularisation scores best on validation (with its better filter setting;
    only the already-bought filter when ``rebuys`` is False)."""
    kept: list[tuple[float, EASERecommender]] = []  # only the best so far: each EASE holds items^2 weights

    def score(config: EASEConfig) -> float:
        model = EASERecommender(config).fit(data)
        filters = (True, False) if rebuys else (True,)
        value = max(ndcg(model, valid, k, filter_bought=f) for f in filters)
        if not kept or value > kept[0][0]:  # as ``best_of``: ties keep the earlier one
            kept[:] = [(value, model)]
        return value

    grid = [start] + [start.model_copy(update={"regularization": r}) for r in (10.0, 50.0, 200.0, 500.0, 2000.0)]
    _, _, log = best_of(grid, score, "EASE")
    return kept[0][1], log


def tune(transactions: pd.DataFrame, events: pd.DataFrame | None, items: pd.DataFrame | None,
         holdout_start: pd.Timestamp, horizon_days: int, cfg: RecsysConfig
         ) -> tuple[BlendConfig, EASEConfig, dict[str, Any]]:
    """Tune on the time validation window ``[holdout_start - horizon, holdout_start)`` (see ``tune_on``)."""
    valid_start = holdout_start - pd.Timedelta(days=horizon_days)
    data = build_interactions(transactions, events, items, as_of=valid_start)
    valid = holdout_truth(transactions, data, valid_start, holdout_start, cfg.max_eval_customers, cfg.seed)
    tuned, ease, logs = tune_on(data, valid, cfg, horizon_days)
    logs.setdefault("validation", {}).update({"start": str(valid_start), "end": str(holdout_start)})
    return tuned, ease, logs


def tune_on(data: Interactions, valid: Holdout, cfg: RecsysConfig, horizon_days: int, rebuys: bool | None = None
            ) -> tuple[BlendConfig, EASEConfig, dict[str, Any]]:
    """Return the tuned blend and EASE configs and the trial logs (starting configs when validation is empty).

    ``data`` is what the models fit on, ``valid`` what they are scored on (a time window or each customer's
    last order); the holdout is never read here. ``rebuys`` False (None: measured on ``data``, see
    ``rebuys_common``): customers rarely buy an item twice, so buy-again is switched off (weight 0, untuned) and
    the blend's re-buy filters are not tuned.
    """
    began = time.perf_counter()
    rebuys = rebuys_common(data, cfg) if rebuys is None else rebuys
    start = cfg.blend.model_copy(update={
        "buy_again": cfg.blend.buy_again.model_copy(update={"horizon_days": float(horizon_days)})})
    if not rebuys:
        start = start.model_copy(update={"weights": start.weights.model_copy(update={"buy_again": 0.0})})
    if valid.n_users == 0:
        logger.warning("no customer to validate on: recommender left untuned")
        return start, cfg.ease, {"skipped": "empty validation"}
    data, sampled = tuning_sample(data, valid, cfg.max_tune_customers, cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    tuned, models, logs = tune_sources(data, valid, start, cfg, rng, rebuys)
    ease_model, logs["ease"] = tune_ease(data, valid, cfg.ease, cfg.k, rebuys)
    models["ease"], ease = ease_model, ease_model.config
    tuned = tuned.model_copy(update={"ease": ease})
    blend = Blend(tuned).fit(data, fitted=models)
    names = tuple(WEIGHT_RANGE) if rebuys else NO_REBUY_WEIGHTS
    weights, _, logs["weights"] = tune_weights(blend, valid, cfg.k, cfg.weight_trials, rng, names)
    if not rebuys:
        tuned = tuned.model_copy(update={"weights": weights})
        logs["validation"] = {"customers": valid.n_users, "fitted_customers": sampled, "rebuys": False,
                              "seconds": round(time.perf_counter() - began, 1)}
        return tuned, ease, logs
    tuned_blend = blend.with_weights(weights)
    threshold, _, logs["rebuy_threshold"] = best_of(
        [tuned.rebuy_threshold, *REBUY_THRESHOLDS],
        lambda t: ndcg(tuned_blend.with_weights(weights, rebuy_threshold=t), valid, cfg.k), "rebuy threshold")
    cap, _, logs["max_rebuys"] = best_of(
        [tuned.max_rebuys, *REBUY_CAPS],
        lambda c: ndcg(tuned_blend.with_weights(weights, rebuy_threshold=threshold, max_rebuys=c), valid, cfg.k),
        "re-buy slots")
    tuned = tuned.model_copy(update={"weights": weights, "rebuy_threshold": threshold, "max_rebuys": cap})
    logs["validation"] = {"customers": valid.n_users, "fitted_customers": sampled, "rebuys": True,
                          "seconds": round(time.perf_counter() - began, 1)}
    return tuned, ease, logs


def rebuys_common(data: Interactions, cfg: RecsysConfig) -> bool:
    """Return whether customers buy items again often enough for buy-again to have a say (``rare_rebuy_share``)."""
    return data.rebuy_share >= cfg.rare_rebuy_share


def tuning_sample(data: Interactions, valid: Holdout, max_customers: int | None, seed: int
                  ) -> tuple[Interactions, int]:
    """Return ``data`` with only the rows of at most ``max_customers`` customers, and how many that is.

    The validation customers are always kept (the models must know them to rank for them); the rest is a seeded
    sample of the other customers with a row. Indices do not change: the matrices keep their shape, the left-out
    customers' rows are empty. Trials then cost what they cost on a shop of that size; hyperparameters found on
    100,000 customers carry over (what the models learn is per item: factors, co-purchases, popularity).
    """
    active = np.unique(np.concatenate([data.line_customer, data.event_customer]))
    if max_customers is None or len(active) <= max_customers:
        return data, len(active)
    keep = np.zeros(data.n_customers, bool)
    keep[valid.users] = True
    others = active[~keep[active]]
    room = max(0, max_customers - int(keep.sum()))
    keep[np.random.default_rng(seed + 1).choice(others, min(room, len(others)), replace=False)] = True
    logger.info("recommender tuning: trials fit on %s of %s customers (max_tune_customers)",
                f"{int(keep.sum()):,}", f"{len(active):,}")
    return customer_rows(data, keep), int(keep.sum())
