"""Recommender quality: every source and the blend on three catalogues, side by side from one run each.

For each shop (default: the demo shop, its durable profile, both generated on the fly when no folder is given, and
a MovieLens-like ratings log split leave-last-5-out per user, ``features.demo.durable.ratings_log``) the
recommender pipeline's own pieces run as ``retention train`` runs them: the split (time holdout, or per customer
when that is thin), tuning on the validation side, every candidate fitted on the training side and scored on the
same holdout customers. Printed per model: NDCG@10 with its bootstrap 95% interval, recall@10, catalogue
coverage, NDCG@10 on items new to the customer, for the sources, the blend, the LambdaRank second stage
and blend variants with capped re-buy slots or EASE left out (measured here,
not assumed), the blend's ratio to its best single source, its new-item NDCG against ALS alone, and which model
the run would serve and why, the re-buy share (pairs bought on more than one order; under 2% buy-again is off and
every model filters what the customer bought) and the served model against the best single source.

Targets (issue 15): blend NDCG@10 >= 1.1 x the best single source on both profiles; new-item NDCG >= ALS alone.
Target (issue 25): the served model's NDCG@10 >= the best single source's on the durable shop and leave-last-5.

Example: python benchmarks/recommender_quality.py [--shop data/demo --durable data/durable] [--no-tune]
    [--only durable,ratings]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from features.demo.durable import ratings_log
from features.demo.shop import DemoConfig, generate_shop
from models.recommender import RerankConfig, Reranker
from training.gate import choose_model
from training.recsys.holdout import RecsysConfig, evaluate
from training.recsys.metrics import CANDIDATES, paired_ci
from training.recsys.pipeline import evaluation_split, fit_candidates

SOURCES = ("popularity", "copurchase", "ease", "als", "buy_again")
PIPELINE = (*SOURCES, "blend", "ranker")  # what ``retention train`` scores (the blend variants are measured only)
HORIZON_DAYS = 90
HELD_OUT = 5  # the ratings log: each user's last 5 ratings held out (and the 5 before for validation)


def load(folder: Path | None, profile: str, customers: int, ratings: tuple[int, int, float] = (3_000, 1_500, 60.0)
         ) -> dict[str, pd.DataFrame]:
    """Return a shop's tables from ``folder``, or a freshly generated demo shop of ``profile``; ``ratings``: the
    ratings log's users, items and mean ratings per user."""
    if profile == "ratings":
        users, items, mean = ratings
        return {"transactions": ratings_log(users=users, items=items, mean_per_user=mean)}
    if folder is None:
        return generate_shop(DemoConfig.model_validate({"customers": customers, "profile": profile}))
    found = {p.stem: p for p in folder.iterdir() if p.suffix in (".parquet", ".csv")}
    ids = {"customer_id": str, "item_id": str, "order_id": str}
    return {name: pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=ids)
            for name, path in found.items()}


def quality(tables: dict[str, pd.DataFrame], tune: bool, leave_last: int | None = None
            ) -> tuple[pd.DataFrame, str, dict[str, np.ndarray]]:
    """Return the table (one row per model and blend variant), the split note and per-customer NDCG.

    ``leave_last``: the per-customer split with each customer's last ``leave_last`` orders held out.
    """
    tx = tables["transactions"]
    tx = tx.assign(timestamp=pd.to_datetime(tx["timestamp"]))
    cutoff = tx["timestamp"].max().normalize() + pd.Timedelta(days=1)
    cfg = (RecsysConfig(tune=tune) if leave_last is None else
           RecsysConfig(tune=tune, split="per_customer", holdout_orders=leave_last))
    split = evaluation_split(tx, tables.get("events"), tables.get("items"), cutoff,
                             pd.Timedelta(days=HORIZON_DAYS), cfg)
    fitted = fit_candidates(split, cfg, HORIZON_DAYS)
    blend_cfg, models = fitted.blend, fitted.models
    blend = fitted.blend_model
    began = time.perf_counter()
    models["ranker"] = Reranker(RerankConfig(blend=blend_cfg)).fit(split.data, blend=blend)
    ranker_seconds = time.perf_counter() - began
    for cap in (None, 3, 1, 0):
        models[f"blend, re-buys <= {cap}" if cap is not None else "blend, re-buys uncapped"] = blend.with_weights(
            blend_cfg.weights, max_rebuys=cap)
    if blend_cfg.weights.ease > 0:  # what EASE as a member adds, on the same fitted sources
        models["blend, EASE off"] = blend.with_weights(blend_cfg.weights.model_copy(update={"ease": 0.0}))
    result = evaluate(models, split.holdout, 10, split.data.n_items, fitted.rebuys)
    table = pd.DataFrame({
        "ndcg@10": result.metrics["ndcg@10"],
        "95% interval": [f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(result.metrics["ndcg@10 low"],
                                                                  result.metrics["ndcg@10 high"], strict=True)],
        "recall@10": result.metrics["recall@10"], "coverage": result.metrics["coverage"],
        "new-item ndcg@10": result.metrics_new["ndcg@10"],
    })
    weights = ", ".join(f"{k} {v:.2g}" for k, v in blend_cfg.weights.model_dump().items())
    note = (f"{split.note}; {fitted.note}; tuned blend max_rebuys={blend_cfg.max_rebuys}, weights {weights}; "
            f"ranker fit {ranker_seconds:.0f} s")
    return table, note, result.per_customer


def report(name: str, table: pd.DataFrame, note: str, per: dict[str, np.ndarray], seconds: float) -> None:
    print(f"\n== {name} ({seconds:.0f} s) -- {note}")
    print(table.round(4).to_string())
    best = max(SOURCES, key=lambda s: table.loc[s, "ndcg@10"])
    diff, low, high = paired_ci(per["blend"], per[best])
    print(f"blend / best source ({best}): {table.loc['blend', 'ndcg@10'] / table.loc[best, 'ndcg@10']:.3f}x "
          f"(target >= 1.1x); paired difference {diff:+.4f} [{low:+.4f}, {high:+.4f}]")
    print(f"blend new-item NDCG {table.loc['blend', 'new-item ndcg@10']:.4f} vs ALS alone "
          f"{table.loc['als', 'new-item ndcg@10']:.4f} (target: at least ALS)")
    diff, low, high = paired_ci(per["ranker"], per["blend"])
    print(f"LambdaRank second stage - blend: {diff:+.4f} [{low:+.4f}, {high:+.4f}]")
    ranked = choose_model({c: per[c] for c in PIPELINE if c in per}, CANDIDATES)
    choice = choose_model({c: per[c] for c in PIPELINE if c in per and c != "ranker"}, CANDIDATES)
    print(f"served (retention train's default, ranker off): {choice.reason}")
    print(f"served with the ranker switched on (recommender.tuning.ranker): {ranked.reason}")
    single = max((s for s in SOURCES if s in CANDIDATES), key=lambda s: table.loc[s, "ndcg@10"])
    served, top = table.loc[choice.name], table.loc[single]
    diff, low, high = paired_ci(per[choice.name], per[single])
    print(f"served {choice.name} NDCG@10 {served['ndcg@10']:.4f} [{served['95% interval']}] vs best single source "
          f"{single} {top['ndcg@10']:.4f} [{top['95% interval']}]: paired {diff:+.4f} [{low:+.4f}, {high:+.4f}]; "
          f"{'meets' if served['ndcg@10'] >= top['ndcg@10'] else 'MISSES'} the target (served >= best single); "
          f"popularity {table.loc['popularity', 'ndcg@10']:.4f}, served / popularity "
          f"{served['ndcg@10'] / table.loc['popularity', 'ndcg@10']:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shop", type=Path, help="the demo shop folder (default: generate 20,000 customers)")
    parser.add_argument("--durable", type=Path, help="the durable demo shop folder (default: generate one)")
    parser.add_argument("--customers", type=int, default=20_000, help="size of generated shops")
    parser.add_argument("--no-tune", action="store_true", help="default hyperparameters (faster)")
    parser.add_argument("--ratings", default="3000,1500,60", help="the ratings log: users,items,mean ratings a user")
    parser.add_argument("--only", default="shop,durable,ratings", help="which of shop, durable, ratings to run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pd.set_option("display.width", 200)
    wanted = set(args.only.split(","))
    for name, folder, profile in (("demo shop", args.shop, "shop"), ("durable demo shop", args.durable, "durable"),
                                  (f"MovieLens-like ratings, leave-last-{HELD_OUT}-out", None, "ratings")):
        if profile not in wanted:
            continue
        began = time.perf_counter()
        users, items, mean = (float(x) for x in args.ratings.split(","))
        tables = load(folder, profile, args.customers, (int(users), int(items), mean))
        table, note, per = quality(tables, not args.no_tune,
                                   HELD_OUT if profile == "ratings" else None)
        report(name, table, note, per, time.perf_counter() - began)


if __name__ == "__main__":
    main()
