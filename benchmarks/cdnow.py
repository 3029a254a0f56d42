"""CDNOW benchmark: churn, golden and value models against BG/NBD x Gamma-Gamma, recency and last period.

Two tables from one run, with ``configs/cdnow.yaml`` (horizon 91 days):

1. Internal holdout: trained on the orders before 1997-10-01 only (the shop given to the pipeline holds
   nothing later), evaluated on its last complete window (cutoff 1997-07-02, horizon to 1997-10-01).
2. Forward: the models registered by that run (refitted on windows ending by 1997-10-01) score every customer
   at 1997-10-01, against what really happened in the next 91 days of the master file. The baselines are
   fitted on the same pre-cutoff data. This is the honest table: nothing in it was seen during training.

No MLflow: the pipeline's modelling half (``training.train.fit_and_evaluate``) is called directly.

Example: python benchmarks/cdnow.py --data /work/shared/data/CDNOW_master.txt [--json out/cdnow.json]
The bar: each model at least as good as its best baseline on its gate metric (churn ROC AUC, golden ROC AUC,
value Spearman), in both tables.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from features import columns as C
from features.data.cdnow import cdnow_transactions, read_cdnow
from features.data.reader import shop_from_frames
from models.customer.baselines import BgNbdBaseline, LastPeriodBaseline, RecencyBaseline
from training.config import RetentionConfig, load_config
from training.evaluate import MODEL, Evaluation, evaluate, markdown_table, model_predictor
from training.metrics import LOWER_IS_BETTER
from training.train import TrainOutcome, fit_and_evaluate
from training.windows import WindowBuilder, stacked

ROOT = Path(__file__).resolve().parents[1]
CUTOFF = datetime(1997, 10, 1)
GATES = {"churn": "roc_auc", "golden": "roc_auc", "value": "spearman"}


SHARED_MASTER = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "CDNOW_master.txt"


def forward_evaluation(full_shop_tx: pd.DataFrame, pre_outcome: TrainOutcome, cfg: RetentionConfig) -> Evaluation:
    """Score at the cutoff with the registered models and same-data baselines; compare with the next 91 days."""
    full = shop_from_frames({"transactions": full_shop_tx}, label="CDNOW master")
    now = WindowBuilder(full, cfg).window(CUTOFF)  # inputs read only rows before the cutoff; labels the next 91 days
    pre = shop_from_frames({"transactions": full_shop_tx[full_shop_tx[C.TIMESTAMP] < CUTOFF]}, label="pre-cutoff")
    builder = WindowBuilder(pre, cfg)
    x, y = stacked([builder.window(c) for c in pre_outcome.plan.final_cutoffs])
    h, b = cfg.training.horizon_days, cfg.models.baseline
    models = pre_outcome.models
    predictors = {MODEL: model_predictor(*(models[t].predict(now.inputs) for t in ("churn", "golden", "value")))}
    predictors["bgnbd"] = BgNbdBaseline(b).fit(now.inputs, horizon_days=h).predict(now.inputs)
    predictors["recency"] = RecencyBaseline(b).fit(x, y, horizon_days=h).predict(now.inputs)
    predictors["last_period"] = LastPeriodBaseline(b).fit(x, y, horizon_days=h).predict(now.inputs)
    return evaluate(predictors, now.labels, CUTOFF, cfg.training.golden_share)


def bar_lines(evaluation: Evaluation) -> list[str]:
    """Return one line per model: its gate metric, the best baseline's, and whether the bar is met."""
    out = []
    for task, metric in GATES.items():
        value = evaluation.metric(task, metric)
        name, best = evaluation.best_baseline(task, metric)
        ok = value <= best if metric in LOWER_IS_BETTER else value >= best
        out.append(f"- {task}: {metric} {value:.3f} vs best baseline {name} {best:.3f} "
                   f"({value - best:+.3f}) {'meets the bar' if ok else 'BELOW the bar'}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=SHARED_MASTER,
                        help="CDNOW_master.txt")
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / "cdnow.yaml")
    parser.add_argument("--json", type=Path, default=None, help="Also write both evaluations as JSON here.")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    cfg = load_config(args.config)
    began = time.perf_counter()
    tx = cdnow_transactions(read_cdnow(args.data))
    pre = shop_from_frames({"transactions": tx[tx[C.TIMESTAMP] < CUTOFF]}, label="CDNOW before 1997-10-01")
    outcome = fit_and_evaluate(pre, cfg, CUTOFF)
    trained = time.perf_counter() - began
    forward = forward_evaluation(tx, outcome, cfg)
    print(f"CDNOW, {tx[C.CUSTOMER_ID].nunique():,} customers, horizon {cfg.training.horizon_days} days, "
          f"config {args.config.name}; trained in {trained:.0f} s, {time.perf_counter() - began:.0f} s in all")
    print(f"Windows: {outcome.plan.describe()}\n")
    internal = outcome.evaluation
    print(markdown_table(internal, f"Internal holdout (cutoff {internal.cutoff:%Y-%m-%d}, "
                                   f"{internal.customers:,} customers; trained on data before 1997-10-01)"))
    print("\n".join(["", *bar_lines(internal), ""]))
    print(markdown_table(forward, f"Forward: scored at {CUTOFF:%Y-%m-%d} against the real next "
                                  f"{cfg.training.horizon_days} days ({forward.customers:,} customers)"))
    lines = bar_lines(forward)
    print("\n".join(["", *lines]))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"internal": internal.to_dict(), "forward": forward.to_dict()}, indent=1))
    return 0 if all("meets" in line for line in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
