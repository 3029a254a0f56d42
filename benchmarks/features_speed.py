"""Time ``retention features`` against a bare DuckDB RFM group-by over the same Parquet shop, in one run.

The shop is the demo generator's (``features.demo.shop``), cached under ``--workdir`` so later runs reuse it. Both
sides run as subprocesses under ``/usr/bin/time -v`` (wall time and peak memory): the real CLI (read and
validate every table, build every family, fit BG/NBD, write Parquet) and a bare query (customer_id: max
timestamp, count distinct orders, sum revenue, written to Parquet with DuckDB's COPY). With ``--breakdown`` a
third subprocess times the CLI's phases (read and validate / build / write) in-process. With
``--transactions-only`` the CLI also runs on the same shop without events, customers and items (what the bare
query reads), so both comparisons are printed.

The CLI runs three times: with the checked-table cache off (``--no-cache``: every table read and validated), cold
(cache emptied first: validated, then the checked tables written as Parquet) and warm (the checked tables read
back, no validation); every figure is printed next to the bare query of the same run.

Example: python benchmarks/features_speed.py --customers 1000000 --workdir /tmp/retention-bench
Targets (2 cores, issue 25), for the transactions alone and for the whole shop: warm (checked tables cached, what a
shop sees day to day) <= 3x the bare query, cold (the first run after the files change, which a daily export causes
every day) <= 6x, peak memory <= 2 GB.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PYTHON = sys.executable
RETENTION = str(Path(sys.executable).parent / "retention")
MAX_WARM, MAX_COLD, MAX_PEAK_GB = 3.0, 6.0, 2.0

GENERATE = """
import sys
from features.demo.shop import DemoConfig, generate_shop, write_shop
customers, seed, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
write_shop(generate_shop(DemoConfig(customers=customers, seed=seed)), out, "parquet")
"""

BARE = """
import sys, duckdb
path, cutoff, out, threads = sys.argv[1:5]
con = duckdb.connect()
if threads != "0":
    con.execute(f"SET threads = {threads}")
columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()}
revenue = "price * coalesce(quantity, 1)" if "price" in columns else "amount"
con.execute(f'''COPY (SELECT customer_id, max(timestamp) AS last_order, count(DISTINCT order_id) AS orders,
                sum({revenue}) AS revenue FROM read_parquet('{path}') WHERE timestamp < TIMESTAMP '{cutoff}'
                GROUP BY customer_id) TO '{out}' (FORMAT parquet)''')
"""

BREAKDOWN = """
import json, sys, time
from pathlib import Path
from features.families.config import FeaturesConfig
from features.families.sql import feature_table, write_parquet
from features.data.reader import read_shop
data, cutoff, out, threads, cache = sys.argv[1:6]
from datetime import datetime
cutoff = datetime.fromisoformat(cutoff)
t0 = time.perf_counter(); shop = read_shop(data, cache=cache == "1"); t1 = time.perf_counter()
cfg = FeaturesConfig(duckdb_threads=int(threads) or None)
with feature_table(shop, cutoff, cfg) as table:
    t2 = time.perf_counter()
    write_parquet(shop, table, Path(out)); t3 = time.perf_counter()
rows = {name: shop.sql.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] for name in shop.columns}
print(json.dumps({"read_and_validate_s": t1 - t0, "build_s": t2 - t1, "write_s": t3 - t2, "rows": rows,
                  "customers": table.rows, "columns": len(table.columns) - 1}))
"""


def timed(command: list[str]) -> dict[str, float]:
    """Run ``command`` under /usr/bin/time -v; return wall seconds and peak resident memory in GB."""
    began = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    wall = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr[-3000:]}")
    peak_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1))
    return {"seconds": wall, "peak_gb": peak_kb / 1024**2}


def demo_shop(workdir: Path, customers: int, seed: int) -> Path:
    """Return the cached demo shop folder, generating it (in a subprocess) when it is not there yet."""
    folder = workdir / f"demo-{customers}-seed{seed}"
    if (folder / "transactions.parquet").exists():
        print(f"reusing {folder}")
        return folder
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-", dir=workdir))
    print(f"generating a {customers:,}-customer demo shop in {folder} ...", flush=True)
    began = time.perf_counter()
    subprocess.run([PYTHON, "-c", GENERATE, str(customers), str(seed), str(tmp)], check=True)
    shutil.rmtree(folder, ignore_errors=True)
    tmp.rename(folder)
    print(f"generated in {time.perf_counter() - began:.0f} s")
    return folder


def cache_runs(shop: Path, cutoff: str, out: Path, extra: list[str], bare: list[str]) -> dict[str, dict[str, float]]:
    """Time the CLI with the checked-table cache off, cold (emptied first) and warm (the run right after), each
    right after a run of the bare query (``bare_s``): on a shared machine only adjacent runs compare."""
    command = [RETENTION, "features", "--data", str(shop), "--cutoff", cutoff, "--out", str(out), *extra]
    runs = {}
    for label, options in (("cache off", ["--no-cache"]), ("cache cold", []), ("cache warm", [])):
        if label == "cache cold":
            shutil.rmtree(shop / ".retention-cache", ignore_errors=True)
        baseline = timed(bare)
        runs[label] = {**timed([*command, *options]), "bare_s": baseline["seconds"]}
    return runs


def transactions_only(workdir: Path, shop: Path) -> Path:
    """Return a folder holding only the shop's transactions (a symlink): what the bare query reads."""
    folder = workdir / f"{shop.name}-transactions-only"
    folder.mkdir(exist_ok=True)
    link = folder / "transactions.parquet"
    if not link.exists():
        link.symlink_to(shop / "transactions.parquet")
    return folder


def breakdown(shop: Path, cutoff: str, out: Path, threads: str, cache: bool) -> dict[str, Any]:
    """Time the CLI's phases in-process (read and validate or read the cache / build / write)."""
    done = subprocess.run([PYTHON, "-c", BREAKDOWN, str(shop), cutoff, str(out / "phases.parquet"), threads,
                           "1" if cache else "0"], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def print_report(bare: dict[str, float], runs: dict[str, dict[str, float]],
                 tx_only: dict[str, dict[str, float]] | None, phases: dict[str, Any] | None) -> None:
    print(f"\n{'':42}{'wall s':>10}{'peak GB':>10}{'bare s':>9}{'x bare':>9}")
    print(f"{'bare DuckDB RFM group-by (first run)':42}{bare['seconds']:>10.1f}{bare['peak_gb']:>10.2f}")
    for title, group in (("features, whole shop", runs), ("features, transactions only", tx_only or {})):
        for label, run in group.items():
            print(f"{title + ', ' + label:42}{run['seconds']:>10.1f}{run['peak_gb']:>10.2f}{run['bare_s']:>9.1f}"
                  f"{run['seconds'] / run['bare_s']:>9.1f}")
    for title, group in (("whole shop", runs), ("transactions only", tx_only or {})):
        for label, run in group.items():
            if label == "cache off":
                continue
            ratio, target = run["seconds"] / run["bare_s"], MAX_WARM if label == "cache warm" else MAX_COLD
            print(f"{title}, {label.removeprefix('cache ')}: {ratio:.1f}x the bare query of the same run (target <= "
                  f"{target:.0f}x: {'met' if ratio <= target else 'NOT met'}); peak {run['peak_gb']:.2f} GB "
                  f"(target <= {MAX_PEAK_GB:.0f} GB: {'met' if run['peak_gb'] <= MAX_PEAK_GB else 'NOT met'})")
    for label, p in (phases or {}).items():
        print(f"CLI phases in-process, {label}: read {p['read_and_validate_s']:.1f} s, build {p['build_s']:.1f} s, "
              f"write {p['write_s']:.1f} s; {p['customers']:,} customers x {p['columns']} features")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/retention-bench"))
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cutoff", default="2026-08-01", help="The demo shop ends on 2026-10-31.")
    parser.add_argument("--threads", type=int, default=0, help="DuckDB threads on both sides (0 = all cores).")
    parser.add_argument("--breakdown", action=argparse.BooleanOptionalAction, default=True,
                        help="Also time the CLI's phases (read and validate / build / write) in-process.")
    parser.add_argument("--transactions-only", action=argparse.BooleanOptionalAction, default=True,
                        help="Also run the CLI on the transactions table alone (like for like with the bare query).")
    parser.add_argument("--json", type=Path, default=None, help="Result file (default: WORKDIR/features_speed.json).")
    args = parser.parse_args()

    shop = demo_shop(args.workdir, args.customers, args.seed)
    out = args.workdir / "out"
    out.mkdir(parents=True, exist_ok=True)
    threads = str(args.threads)
    bare_command = [PYTHON, "-c", BARE, str(shop / "transactions.parquet"), args.cutoff, str(out / "bare.parquet"),
                    threads]
    bare = timed(bare_command)
    extra = ["--threads", threads] if args.threads else []
    runs = cache_runs(shop, args.cutoff, out / "features.parquet", extra, bare_command)
    tx_only = None
    if args.transactions_only:
        tx_only = cache_runs(transactions_only(args.workdir, shop), args.cutoff,
                             out / "features-transactions-only.parquet", extra, bare_command)
    phases = None
    if args.breakdown:
        phases = {label: breakdown(shop, args.cutoff, out, threads, cache) for label, cache in
                  (("cache off", False), ("cache warm", True))}
    ratios = {title: {label: run["seconds"] / run["bare_s"] for label, run in group.items()}
              for title, group in (("whole_shop", runs), ("transactions_only", tx_only or {}))}
    peaks = [run["peak_gb"] for group in (runs, tx_only or {}) for run in group.values()]
    report = {"customers": args.customers, "seed": args.seed, "cutoff": args.cutoff, "threads": args.threads,
              "bare_rfm_query": bare, "retention_features": runs, "ratios": ratios, "phases": phases,
              "transactions_only": tx_only,
              "targets": {"max_warm": MAX_WARM, "max_cold": MAX_COLD, "max_peak_gb": MAX_PEAK_GB,
                          "met": all(r.get("cache warm", 0) <= MAX_WARM and r.get("cache cold", 0) <= MAX_COLD
                                     for r in ratios.values()) and max(peaks) <= MAX_PEAK_GB}}
    print_report(bare, runs, tx_only, phases)
    path = args.json or args.workdir / "features_speed.json"
    path.write_text(json.dumps(report, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
