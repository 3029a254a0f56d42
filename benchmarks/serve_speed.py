"""Serving speed: the BentoML service's ``POST /recommend`` next to a bare Starlette app, alternating, one run.

Both get the same load: ``wrk -t1 -c32 -d10s --latency`` posting ``{"customer_id", "k": 10}`` for the shop's
customers in turn (plus 1 in 10 unknown ids), one worker each. The service answers from the champion
recommender (``retention serve``); the bare app (``benchmarks/bare_app.py``: uvicorn with uvloop and httptools,
orjson, the same strict pydantic request model) answers from a Python dict. Each round prints both lines and the
ratio; the target is a ratio of at least 0.5, p99 at most 20 ms, no non-2xx.

Needs a trained shop (``make run`` gives data/demo and mlflow.db) and ``wrk`` (``make wrk``).
Usage: ``python benchmarks/serve_speed.py [--data data/demo] [--rounds 3] [--duration 10s]``
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

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[1]
LUA = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
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


def wrk(port: int, script: Path, duration: str, connections: int) -> dict[str, float]:
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration}", "--latency", "-s", str(script),
                          f"http://127.0.0.1:{port}"], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p99 = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale[p99.group(2)] if p99 else float("nan"),
            "non2xx": int(non2xx.group(1)) if non2xx else 0, "socket_errors": errors.group(1) if errors else "none"}


def line(name: str, r: dict) -> str:
    return f"{name:<28} {r['rps']:>9,.0f} req/s  p99 {r['p99_ms']:6.1f} ms  non-2xx {r['non2xx']}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "demo")
    parser.add_argument("--config", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", default="10s")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=3900)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: make wrk (apt-get install -y wrk)")
    ids = customer_ids(args.data)
    tmp = Path(tempfile.mkdtemp(prefix="serve-speed-"))
    (tmp / "ids.txt").write_text("\n".join(ids))
    script = tmp / "post.lua"
    script.write_text(LUA % ", ".join(f'"{i}"' for i in ids))
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", "BARE_CUSTOMERS": str(tmp / "ids.txt"),
           "PYTHONPATH": str(ROOT)}
    serve = [str(BIN / "retention"), "serve", "--data", str(args.data), "--port", str(args.port)]
    serve += ["--config", str(args.config)] if args.config else []
    bare_port = args.port + 1
    bare = [str(BIN / "uvicorn"), "benchmarks.bare_app:app", "--port", str(bare_port), "--loop", "uvloop", "--http",
            "httptools", "--no-access-log", "--log-level", "warning", "--workers", "1"]
    procs = [subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=(tmp / f"{name}.log").open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
             for name, cmd in (("service", serve), ("bare", bare))]
    try:
        wait_ready(f"http://127.0.0.1:{args.port}/readyz", procs[0])
        wait_ready(f"http://127.0.0.1:{bare_port}/recommend", procs[1])
        print(f"shop {args.data}: {len(ids):,} customers; wrk -t1 -c{args.connections} -d{args.duration}, "
              f"alternating, {args.rounds} rounds")
        for round_ in range(1, args.rounds + 1):
            base = wrk(bare_port, script, args.duration, args.connections)
            ours = wrk(args.port, script, args.duration, args.connections)
            print(f"round {round_}: {line('bare Starlette (dict)', base)}")
            print(f"round {round_}: {line('BentoML POST /recommend', ours)}  ratio {ours['rps'] / base['rps']:.2f}")
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(60)


if __name__ == "__main__":
    main()
