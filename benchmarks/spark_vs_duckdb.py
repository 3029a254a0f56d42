"""Time ``retention features`` on DuckDB and on local Spark (Ibis' PySpark backend) over the same demo shop.

Both engines run the same CLI as subprocesses under ``/usr/bin/time -v`` (wall time, peak memory of the Python
process; Spark's JVM is a child, counted by ``time`` only when it is the largest), after one run that fills the
checked-table cache, so both read the same checked Parquet files and neither validates. An in-process run on
Spark splits session start, feature build and the pull of the result to the driver. The two outputs are
compared (same customers, largest difference of any numeric feature).

Example: python benchmarks/spark_vs_duckdb.py --customers 200000 --workdir /tmp/retention-bench
"""

from __future__ import annotations

import argparse
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from features_speed import BARE, PYTHON, RETENTION, demo_shop, timed

SPARK_PHASES = """
import json, sys, time
from features.data.engine import open_shop
from features.data.spark import spark_session, spark_shop
from features.families.build import build_features
data, cutoff, master = sys.argv[1:4]
import os; os.environ["SPARK_MASTER"] = master
t0 = time.perf_counter(); session = spark_session(); t1 = time.perf_counter()
shop = spark_shop(open_shop(data), session); t2 = time.perf_counter()
result = build_features(shop, cutoff); t3 = time.perf_counter()
print(json.dumps({"session_start_s": t1 - t0, "read_checked_s": t2 - t1, "build_s": t3 - t2,
                  "customers": len(result.frame)}))
"""


def compare(duck: Path, spark: Path) -> dict[str, Any]:
    """Return whether both outputs hold the same customers and the largest numeric difference."""
    a = pd.read_parquet(duck).sort_values("customer_id").reset_index(drop=True)
    b = pd.read_parquet(spark).sort_values("customer_id").reset_index(drop=True)
    same = a["customer_id"].tolist() == b["customer_id"].tolist() and list(a.columns) == list(b.columns)
    numeric = [c for c in a.columns if pd.api.types.is_float_dtype(a[c])]
    diff = max((float(np.nanmax(np.abs(a[c].to_numpy() - b[c].to_numpy()), initial=0.0)) for c in numeric),
               default=0.0)
    return {"same_customers_and_columns": same, "max_abs_diff": diff, "customers": len(a), "columns": a.shape[1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/retention-bench"))
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cutoff", default="2026-08-01", help="The demo shop ends on 2026-10-31.")
    parser.add_argument("--master", default="local[2]", help="Spark master for the Spark side (SPARK_MASTER).")
    parser.add_argument("--json", type=Path, default=None, help="Result file (default: WORKDIR/spark_vs_duckdb.json).")
    args = parser.parse_args()

    shop = demo_shop(args.workdir, args.customers, args.seed)
    out = args.workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    command = [RETENTION, "features", "--data", str(shop), "--cutoff", args.cutoff]
    subprocess.run([*command, "--out", str(out / "warmup.parquet")], check=True, capture_output=True)  # fills cache
    bare = timed([PYTHON, "-c", BARE, str(shop / "transactions.parquet"), args.cutoff, str(out / "bare.parquet"), "0"])
    duck = timed([*command, "--out", str(out / "duckdb.parquet"), "--engine", "duckdb"])
    spark = timed([*command, "--out", str(out / "spark.parquet"), "--engine", "spark"])
    done = subprocess.run([PYTHON, "-c", SPARK_PHASES, str(shop), args.cutoff, args.master], capture_output=True,
                          text=True, check=True)
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    same = compare(out / "duckdb.parquet", out / "spark.parquet")
    report = {"customers": args.customers, "cutoff": args.cutoff, "master": args.master, "bare_rfm_query": bare,
              "duckdb": duck, "spark": spark, "spark_over_duckdb": spark["seconds"] / duck["seconds"],
              "spark_phases": phases, "outputs": same}
    print(f"\n{'':40}{'wall s':>10}{'peak GB':>10}{'x bare':>9}")
    for label, run in (("bare DuckDB RFM group-by", bare), ("features --engine duckdb", duck),
                       (f"features --engine spark ({args.master})", spark)):
        print(f"{label:40}{run['seconds']:>10.1f}{run['peak_gb']:>10.2f}{run['seconds'] / bare['seconds']:>9.1f}")
    print(f"spark / duckdb: {report['spark_over_duckdb']:.1f}x; Spark in-process: session start "
          f"{phases['session_start_s']:.1f} s, read checked Parquet {phases['read_checked_s']:.1f} s, build "
          f"{phases['build_s']:.1f} s")
    print(f"outputs: {same['customers']:,} customers x {same['columns'] - 1} features, same customers and columns: "
          f"{same['same_customers_and_columns']}, largest numeric difference {same['max_abs_diff']:.2e}")
    path = args.json or args.workdir / "spark_vs_duckdb.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
