"""``POST /recommend`` speed with an A/B experiment running next to without one, same run, alternating.

Builds its own small trained shop in a temporary folder (the demo generator, ``retention train`` with the tests'
small config), registers a second recommender version (a copy of the champion's files: the same picks, so only
the experiment's own work differs), copies the shop folder, and serves both copies at once, one worker each:
``with`` runs ``retention experiment start --share 0.5`` (half the customers answered by the challenger, every
answer's shown list logged), ``without`` runs none, both pinned to CPU 0 (left to the scheduler, the one under
load lands beside wrk in some rounds and not others: a swing of 20% that has nothing to do with the experiment).
Then ``wrk -t1 -c32`` (the load of ``serve_speed.py``, pinned to CPU 1) on each in turn, round after round, the
order flipped each round. Target: with / without >= 0.9 (within 10%) over all rounds.

Usage: ``python benchmarks/experiment_speed.py [--customers 3000] [--rounds 8] [--duration 10s]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.serve_speed import BIN, KEYS, LUA, customer_ids, line, wait_ready, wrk  # noqa: E402


def trained_shop(work: Path, customers: int) -> dict[str, str]:
    """Write and train a demo shop in ``work`` with two recommender versions; return the environment to use."""
    from features.demo.shop import write_shop
    from tests.shared import demo_tables, small_config

    env = {**os.environ, **KEYS, "BENTOML_DO_NOT_TRACK": "true", "PYTHONPATH": str(ROOT),
           "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
    write_shop(demo_tables(customers, seed=5), work / "with", "parquet")
    (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
    subprocess.run([str(BIN / "retention"), "train", "--data", "with", "--config", "small.yaml"], cwd=work, env=env,
                   check=True, capture_output=True)
    script = ("from mlflow import MlflowClient; c = MlflowClient(); v = c.get_model_version('recommender', '1'); "
              "c.create_model_version('recommender', v.source, v.run_id)")
    subprocess.run([sys.executable, "-c", script], cwd=work, env=env, check=True, capture_output=True)
    shutil.copytree(work / "with", work / "without")
    subprocess.run([str(BIN / "retention"), "experiment", "start", "--name", "bench", "--challenger", "2", "--data",
                    "with"], cwd=work, env=env, check=True, capture_output=True)
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=3950)
    parser.add_argument("--wrk-cpu", default="1", help="CPU list wrk is pinned to (taskset -c); empty: unpinned")
    parser.add_argument("--server-cpu", default="0", help="CPU list both servers are pinned to; empty: unpinned")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: make wrk")
    work = Path(tempfile.mkdtemp(prefix="experiment-speed-"))
    env = trained_shop(work, args.customers)
    ids = customer_ids(work / "with")
    script = work / "post.lua"
    script.write_text(LUA % ", ".join(f'"{i}"' for i in ids))
    procs = {}
    try:
        for offset, name in ((0, "with"), (1, "without")):
            pin = ["taskset", "-c", args.server_cpu] if args.server_cpu else []
            cmd = [*pin, str(BIN / "retention"), "serve", "--data", name, "--config", "small.yaml", "--port",
                   str(args.port + offset)]
            procs[name] = subprocess.Popen(cmd, cwd=work, env=env, stdout=(work / f"{name}.log").open("w"),
                                           stderr=subprocess.STDOUT, start_new_session=True)
        for offset, name in ((0, "with"), (1, "without")):
            wait_ready(f"http://127.0.0.1:{args.port + offset}/readyz", procs[name])
        print(f"demo shop of {args.customers:,} customers; wrk -t1 -c{args.connections} -d{args.duration} pinned to "
              f"CPU {args.wrk_cpu or 'any'}, the servers to CPU {args.server_cpu or 'any'}; 1 worker each; "
              f"alternating, {args.rounds} rounds")
        ratios, totals = [], {"with": 0.0, "without": 0.0}
        for round_ in range(1, args.rounds + 1):
            order = ((1, "without"), (0, "with")) if round_ % 2 else ((0, "with"), (1, "without"))  # ABBA
            runs = {name: wrk(args.port + offset, script, args.duration, args.connections, args.wrk_cpu)
                    for offset, name in order}
            ratios.append(runs["with"]["rps"] / runs["without"]["rps"])
            for name in totals:
                totals[name] += runs[name]["rps"]
            print(f"round {round_}: {line('no experiment', runs['without'])}")
            print(f"round {round_}: {line('experiment running (50/50)', runs['with'])}  ratio {ratios[-1]:.2f}")
        # one round swings with the machine's noise (the same server varies 20% between rounds): the target is
        # judged on the rounds together, alternating so that drift hits both servers alike
        print(f"all {args.rounds} rounds: {totals['without'] / args.rounds:,.0f} req/s without, "
              f"{totals['with'] / args.rounds:,.0f} req/s with: ratio {totals['with'] / totals['without']:.2f}, "
              f"median of rounds {statistics.median(ratios):.2f} (target >= 0.90)")
        shown = work / "with" / "experiments" / "bench.shown.jsonl"
        print(f"shown lists logged by the experiment: {sum(1 for _ in shown.open()) if shown.exists() else 0:,}")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
