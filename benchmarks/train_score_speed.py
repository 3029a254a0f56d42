"""Time ``retention train`` and ``retention score`` on a big demo shop, next to the bare DuckDB query and
``retention features`` from the same run.

The shop is the demo generator's, cached under ``--workdir`` (the same folder as features_speed.py, so a 1M shop
is generated once). Every command runs as a subprocess under ``/usr/bin/time -v`` (wall time, peak memory),
MLflow in a fresh sqlite store under the work folder. The order: the bare RFM query, ``retention features`` at
the scoring cutoff (what score builds anyway), ``retention train`` (the default config: training on a seeded
sample of ``training.max_customers`` customers, the recommender tuned on its own samples, the three models,
the gate) and ``retention score`` of every customer with the champions it registered.

Example: python benchmarks/train_score_speed.py --customers 1000000 --workdir /tmp/retention-bench
Targets (2 cores, 24 GB): train <= 20 min, score <= 3 min, peak memory <= 8 GB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from features_speed import BARE, PYTHON, RETENTION, demo_shop, timed  # noqa: E402  (a sibling script)

TARGETS = {"train": 20 * 60.0, "score": 3 * 60.0}
MAX_PEAK_GB = 8.0


def run_all(shop: Path, workdir: Path, cutoff: str, train: bool = True) -> dict[str, dict[str, float]]:
    out = workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    store = workdir / "mlflow-train-score"
    if train:
        shutil.rmtree(store, ignore_errors=True)
    store.mkdir(parents=True, exist_ok=True)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    os.chdir(store)  # MLflow's artifacts land next to its store, not in the caller's folder
    runs = {"bare DuckDB RFM group-by": timed([PYTHON, "-c", BARE, str(shop / "transactions.parquet"), cutoff,
                                                str(out / "bare.parquet"), "0"])}
    runs["retention features"] = timed([RETENTION, "features", "--data", str(shop), "--cutoff", cutoff, "--out",
                                        str(out / "features.parquet")])
    if train:
        runs["retention train"] = timed([RETENTION, "train", "--data", str(shop), "--cutoff", cutoff])
    runs["retention score"] = timed([RETENTION, "score", "--data", str(shop), "--cutoff", cutoff, "--out",
                                     str(out / "scores.parquet")])
    return runs


def print_report(runs: dict[str, dict[str, float]]) -> None:
    bare = runs["bare DuckDB RFM group-by"]["seconds"]
    print(f"\n{'':30}{'wall s':>10}{'wall min':>10}{'peak GB':>10}{'x bare':>10}")
    for label, run in runs.items():
        print(f"{label:30}{run['seconds']:>10.1f}{run['seconds'] / 60:>10.1f}{run['peak_gb']:>10.2f}"
              f"{run['seconds'] / bare:>10.1f}")
    for step, limit in TARGETS.items():
        if f"retention {step}" not in runs:
            continue
        run = runs[f"retention {step}"]
        ok = run["seconds"] <= limit and run["peak_gb"] <= MAX_PEAK_GB
        print(f"{step}: {run['seconds'] / 60:.1f} min (target <= {limit / 60:.0f}), peak {run['peak_gb']:.2f} GB "
              f"(target <= {MAX_PEAK_GB:.0f}): {'met' if ok else 'NOT met'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/retention-bench"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cutoff", default="2026-11-01", help="The demo shop ends on 2026-10-31: score today.")
    parser.add_argument("--train", action=argparse.BooleanOptionalAction, default=True,
                        help="--no-train: score with the champions a previous run of this script registered.")
    parser.add_argument("--json", type=Path, default=None, help="Result file (default: WORKDIR/train_score.json).")
    args = parser.parse_args()
    workdir = args.workdir.resolve()
    shop = demo_shop(workdir, args.customers, args.seed)
    runs = run_all(shop, workdir, args.cutoff, args.train)
    print_report(runs)
    report = {"customers": args.customers, "seed": args.seed, "cutoff": args.cutoff, "runs": runs,
              "targets": {"seconds": TARGETS, "max_peak_gb": MAX_PEAK_GB}}
    path = args.json or workdir / ("train_score.json" if args.train else "score.json")
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
