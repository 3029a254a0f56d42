"""Recommender quality: every source and the blend on both demo profiles, side by side from one run each.

For each shop (default: the demo shop and its durable profile, generated on the fly when no folder is given) the
recommender pipeline's own pieces run as ``retention train`` runs them: the split (time holdout, or per customer
when that is thin), tuning on the validation side, every candidate fitted on the training side and scored on the
same holdout customers. Printed per model: NDCG@10 with its bootstrap 95% interval, recall@10, catalogue
coverage, NDCG@10 on items new to the customer, for the sources, the blend, the LambdaRank second stage
and blend variants with capped re-buy slots (measured here,
not assumed), the blend's ratio to its best single source, its new-item NDCG against ALS alone, and which model
the run would serve and why.

Targets (issue 15): blend NDCG@10 >= 1.1 x the best single source on both profiles; new-item NDCG >= ALS alone.

Example: python benchmarks/recommender_quality.py [--shop data/demo --durable data/durable] [--no-tune]
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from features.demo.shop import DemoConfig, generate_shop
from models.recommender import Blend, Recommender, RerankConfig, Reranker
from training.gate import choose_model
from training.recsys.holdout import RecsysConfig, evaluate
from training.recsys.metrics import CANDIDATES, paired_ci
from training.recsys.pipeline import candidates, evaluation_split
from training.recsys.tune import tune_on

SOURCES = ("popularity", "copurchase", "ease", "als", "buy_again")
HORIZON_DAYS = 90


def load(folder: Path | None, profile: str, customers: int) -> dict[str, pd.DataFrame]:
    """Return a shop's tables from ``folder``, or a freshly generated demo shop of ``profile``."""
    if folder is None:
        return generate_shop(DemoConfig.model_validate({"customers": customers, "profile": profile}))
    found = {p.stem: p for p in folder.iterdir() if p.suffix in (".parquet", ".csv")}
    ids = {"customer_id": str, "item_id": str, "order_id": str}
    return {name: pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=ids)
            for name, path in found.items()}


def quality(tables: dict[str, pd.DataFrame], tune: bool) -> tuple[pd.DataFrame, str, dict[str, np.ndarray]]:
    """Return the table (one row per model and blend variant), the split note and per-customer NDCG."""
    tx = tables["transactions"]
    tx = tx.assign(timestamp=pd.to_datetime(tx["timestamp"]))
    cutoff = tx["timestamp"].max().normalize() + pd.Timedelta(days=1)
    cfg = RecsysConfig(tune=tune)
    split = evaluation_split(tx, tables.get("events"), tables.get("items"), cutoff,
                             pd.Timedelta(days=HORIZON_DAYS), cfg)
    blend_cfg, ease_cfg = cfg.blend, cfg.ease
    if tune:
        blend_cfg, ease_cfg, _ = tune_on(split.valid_data, split.valid, cfg, HORIZON_DAYS)
    blend = Blend(blend_cfg).fit(split.data)
    models: dict[str, Recommender] = candidates(split.data, blend, ease_cfg)
    began = time.perf_counter()
    models["ranker"] = Reranker(RerankConfig(blend=blend_cfg)).fit(split.data, blend=blend)
    ranker_seconds = time.perf_counter() - began
    for cap in (None, 3, 1, 0):
        models[f"blend, re-buys <= {cap}" if cap is not None else "blend, re-buys uncapped"] = blend.with_weights(
            blend_cfg.weights, max_rebuys=cap)
    result = evaluate(models, split.holdout, 10, split.data.n_items)
    table = pd.DataFrame({
        "ndcg@10": result.metrics["ndcg@10"],
        "95% interval": [f"{lo:.3f}-{hi:.3f}" for lo, hi in zip(result.metrics["ndcg@10 low"],
                                                                  result.metrics["ndcg@10 high"], strict=True)],
        "recall@10": result.metrics["recall@10"], "coverage": result.metrics["coverage"],
        "new-item ndcg@10": result.metrics_new["ndcg@10"],
    })
    note = f"{split.note}; tuned blend max_rebuys={blend_cfg.max_rebuys}; ranker fit {ranker_seconds:.0f} s"
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
    choice = choose_model({c: per[c] for c in CANDIDATES if c in per})
    print(f"served: {choice.reason}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shop", type=Path, help="the demo shop folder (default: generate 20,000 customers)")
    parser.add_argument("--durable", type=Path, help="the durable demo shop folder (default: generate one)")
    parser.add_argument("--customers", type=int, default=20_000, help="size of generated shops")
    parser.add_argument("--no-tune", action="store_true", help="default hyperparameters (faster)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    pd.set_option("display.width", 200)
    for name, folder, profile in (("demo shop", args.shop, "shop"), ("durable demo shop", args.durable, "durable")):
        began = time.perf_counter()
        table, note, per = quality(load(folder, profile, args.customers), not args.no_tune)
        report(name, table, note, per, time.perf_counter() - began)


if __name__ == "__main__":
    main()
