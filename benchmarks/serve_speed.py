"""Serving speed: the service's ``POST /recommend`` next to a bare Starlette app, and two workers next to one.

Same load for each: ``wrk -t1 -c32 -d10s --latency`` posting ``{"customer_id", "k": 10}`` for the shop's
customers in turn (plus 1 in 10 unknown ids), with the storefront key. wrk is pinned to CPU 1 (``taskset -c 1``,
``--wrk-cpu``) in every run, so on a 2-core machine it takes the same share of the cores from every server; the
servers are not pinned. Four servers run at once and are measured in turn, round after round:
- the bare app (``benchmarks/bare_app.py``: uvicorn with uvloop and httptools, orjson, the same strict pydantic
  request model, answers from a Python dict) and the service with one worker (live state in memory):
  targets ratio >= 0.8, p99 <= 10 ms, no non-2xx;
- the service with one worker and with two workers, both sharing a private redis-server (``RETENTION_REDIS_URL``):
  target two / one >= 1.4.
Then memory: 20 reloads (``POST /admin/reload``, each waited for on both workers) of the two-worker server under
wrk load; the resident memory of its processes after the first and after the twentieth (target within 10%).

Needs a trained shop (``make run`` gives data/demo and mlflow.db), ``wrk`` (``make wrk``) and ``redis-server``
(``make redis``). Usage: ``python benchmarks/serve_speed.py [--data data/demo] [--rounds 3] [--duration 10s]``
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
import psutil

from training.cli.serve import with_allocator

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
KEYS = {"RETENTION_STOREFRONT_KEY": "bench-storefront", "RETENTION_API_KEY": "bench-api",
        "RETENTION_ADMIN_KEY": "bench-admin"}
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer bench-storefront"
local ids = {%s}
local n = 0
request = function()
  n = n + 1
  local id = ids[(n %% #ids) + 1]
  if n %% 10 == 0 then id = "unknown-" .. n end
  return wrk.format(nil, "/recommend", nil, '{"customer_id": "' .. id .. '", "k": 10}')
end
"""


def customer_ids(data: Path, most: int = 5_000) -> list[str]:
    lines = pd.read_parquet(data / "transactions.parquet", columns=["customer_id"]) if (
        data / "transactions.parquet").exists() else pd.read_csv(data / "transactions.csv", dtype=str,
                                                                  usecols=["customer_id"])
    return sorted(lines["customer_id"].astype(str).unique())[:most]


def wait_ready(url: str, process: subprocess.Popen, seconds: float = 900) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the server exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=5).status_code in (200, 405):
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url}: not ready after {seconds:.0f} s")


def wrk(port: int, script: Path, duration: str, connections: int, cpu: str) -> dict[str, float]:
    pin = ["taskset", "-c", cpu] if cpu else []
    out = subprocess.run([*pin, "wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "none"}


def line(name: str, r: dict) -> str:
    return f"{name:<34} {r['rps']:>9,.0f} req/s  p99 {r['p99_ms']:6.1f} ms  non-2xx {r['non2xx']}"


def rss_mb(pid: int) -> float:
    leader = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [leader, *leader.children(recursive=True)]) / 2**20


def reload_everywhere(url: str, workers: int) -> None:
    """Ask one worker to reload and wait until every worker has loaded that generation."""
    admin = {"Authorization": f"Bearer {KEYS['RETENTION_ADMIN_KEY']}"}
    while (asked := httpx.post(f"{url}/admin/reload", headers=admin, timeout=30)).status_code == 409:
        time.sleep(0.5)
    generation, done = asked.json()["generation"], set()
    while len(done) < workers:
        with httpx.Client(timeout=30) as fresh:  # a new connection: either worker may answer
            status = fresh.get(f"{url}/admin/reload", headers=admin)
        if status.json()["generation"] >= generation and status.json()["status"] == "reloaded":
            done.add(status.headers["x-retention-worker"])
        else:
            time.sleep(0.3)


def memory_under_reloads(url: str, pid: int, script: Path, connections: int, cpu: str, reloads: int = 20
                         ) -> dict[int, float]:
    """Resident memory (MB) after reload 1, every fifth and the last of ``reloads`` reloads under wrk load."""
    pin = ["taskset", "-c", cpu] if cpu else []
    load = subprocess.Popen([*pin, "wrk", "-t1", f"-c{connections}", "-d3600s", "-s", str(script), url],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    seen = {}
    try:
        for n in range(1, reloads + 1):
            reload_everywhere(url, 2)
            if n == 1 or n % 5 == 0 or n == reloads:
                seen[n] = rss_mb(pid)
        return seen
    finally:
        load.terminate()
        load.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=3900)
    parser.add_argument("--wrk-cpu", default="1", help="CPU list wrk is pinned to (taskset -c); empty: unpinned")
    parser.add_argument("--reloads", type=int, default=20)
    args = parser.parse_args()
    for tool in ("wrk", "redis-server"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed: make wrk / make redis")
    ids = customer_ids(args.data)
    tmp = Path(tempfile.mkdtemp(prefix="serve-speed-"))
    (tmp / "ids.txt").write_text("\n".join(ids))
    script = tmp / "post.lua"
    script.write_text(LUA % ", ".join(f'"{i}"' for i in ids))
    redis_port = args.port + 9
    env = {**os.environ, **KEYS, "BENTOML_DO_NOT_TRACK": "true", "BARE_CUSTOMERS": str(tmp / "ids.txt"),
           "PYTHONPATH": str(ROOT)}
    shared = {**env, "RETENTION_REDIS_URL": f"redis://127.0.0.1:{redis_port}/0"}

    def serve(port: int, workers: int) -> list[str]:
        cmd = [str(BIN / "retention"), "serve", "--data", str(args.data), "--port", str(port), "--workers",
               str(workers)]
        return cmd + (["--config", str(args.config)] if args.config else [])

    bare = [str(BIN / "uvicorn"), "benchmarks.bare_app:app", "--port", str(args.port), "--loop", "uvloop", "--http",
            "httptools", "--no-access-log", "--log-level", "warning", "--workers", "1"]
    redis = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--dir", str(tmp), "--save", "",
             "--appendonly", "no"]
    # the bare app gets the allocator `retention serve` gives its workers (jemalloc when present): same footing
    plan = {"redis": (redis, env), "bare": (bare, with_allocator(dict(env))), "one": (serve(args.port + 1, 1), env),
            "one_redis": (serve(args.port + 2, 1), shared), "two_redis": (serve(args.port + 3, 2), shared)}
    procs = {}
    try:
        for name, (cmd, environment) in plan.items():
            procs[name] = subprocess.Popen(cmd, cwd=ROOT, env=environment, stdout=(tmp / f"{name}.log").open("w"),
                                           stderr=subprocess.STDOUT, start_new_session=True)
            if name == "redis":
                time.sleep(1)
        wait_ready(f"http://127.0.0.1:{args.port}/recommend", procs["bare"])
        for offset, name in ((1, "one"), (2, "one_redis"), (3, "two_redis")):
            wait_ready(f"http://127.0.0.1:{args.port + offset}/readyz", procs[name])
        print(f"shop {args.data}: {len(ids):,} customers; wrk -t1 -c{args.connections} -d{args.duration} pinned to "
              f"CPU {args.wrk_cpu or 'any'} (taskset), servers unpinned, {os.cpu_count()} CPUs, alternating, "
              f"{args.rounds} rounds")
        for round_ in range(1, args.rounds + 1):
            runs = {name: wrk(args.port + offset, script, args.duration, args.connections, args.wrk_cpu)
                    for offset, name in ((0, "bare"), (1, "one"), (2, "one_redis"), (3, "two_redis"))}
            print(f"round {round_}: {line('bare Starlette (dict)', runs['bare'])}")
            print(f"round {round_}: {line('service, 1 worker', runs['one'])}  "
                  f"ratio {runs['one']['rps'] / runs['bare']['rps']:.2f} (target >= 0.8, p99 <= 10 ms)")
            print(f"round {round_}: {line('service, 1 worker + Redis', runs['one_redis'])}")
            print(f"round {round_}: {line('service, 2 workers + Redis', runs['two_redis'])}  "
                  f"ratio {runs['two_redis']['rps'] / runs['one_redis']['rps']:.2f} vs 1 worker + Redis, "
                  f"{runs['two_redis']['rps'] / runs['one']['rps']:.2f} vs 1 worker (target >= 1.4)")
        if args.reloads < 2:
            return
        seen = memory_under_reloads(f"http://127.0.0.1:{args.port + 3}", procs["two_redis"].pid, script,
                                    args.connections, args.wrk_cpu, args.reloads)
        first, last = seen[1], seen[args.reloads]
        print("memory of the 2-worker server under load, after reload: "
              + ", ".join(f"{n}: {mb:,.0f} MB" for n, mb in seen.items()))
        print(f"memory of the 2-worker server under load: {first:,.0f} MB after reload 1, {last:,.0f} MB after "
              f"reload {args.reloads}: {last / first:.3f} x (target <= 1.10)")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)


if __name__ == "__main__":
    main()
