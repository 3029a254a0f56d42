"""`retention monitor`: PSI by hand, then a real training run on the demo shop (its cutoff 90 days before the
last order, so the champions' predictions have their outcomes) monitored on the unchanged shop (exit 0) and on a
copy whose recent orders were shifted: prices x3 and half of the recent customers gone (exit 3)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.demo.shop import write_shop
from models.inference.drift import MonitorConfig, drift_table, psi
from tests.shared import demo_tables, small_config
from training import tracking
from training.cli.app import app

EXE = Path(sys.executable).parent / "retention"


def test_psi_matches_a_hand_worked_example_and_is_zero_for_the_same_population() -> None:
    # reference shares 0.5 / 0.5, now 0.25 / 0.75: (0.25-0.5) ln(0.5) + (0.75-0.5) ln(1.5) = 0.2747
    assert psi(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])) == pytest.approx(0.27465, abs=1e-4)
    values = np.random.default_rng(0).normal(size=2000)
    assert psi(values, values) == pytest.approx(0.0, abs=1e-12)
    assert psi(values, values * 3) > 0.25 > psi(values, np.random.default_rng(1).normal(size=2000))


def test_drift_table_flags_a_shift_and_a_rise_of_missing_values() -> None:
    rng = np.random.default_rng(0)
    then = pd.DataFrame({"a": rng.normal(size=1000), "b": rng.normal(size=1000)})
    now = pd.DataFrame({"a": rng.normal(size=1000) + 2, "b": np.where(rng.random(1000) < 0.3, np.nan,
                                                                       rng.normal(size=1000))})
    table = drift_table(then, now, ["a", "b"], "feature", MonitorConfig()).set_index("name")
    assert table.loc["a", "shifted"] and not table.loc["b", "shifted"]
    assert table.loc["b", "missing_rose"] and not table.loc["a", "missing_rose"]
    assert table.loc["b", "missing_now"] == pytest.approx(0.3, abs=0.05)


@pytest.fixture(scope="module")
def work(module_registry: Path) -> Path:
    data = module_registry / "data"
    write_shop(demo_tables(900, seed=5), data, "parquet")
    (module_registry / "small.yaml").write_text(yaml.safe_dump(small_config()))
    last = pd.read_parquet(data / "transactions.parquet")["timestamp"].max()
    cutoff = (last - pd.Timedelta(days=90)).strftime("%Y-%m-%d")
    result = CliRunner().invoke(app, ["train", "--data", "data", "--config", "small.yaml", "--cutoff", cutoff])
    assert result.exit_code == 0, result.output
    shifted = module_registry / "shifted"
    shutil.copytree(data, shifted, ignore=shutil.ignore_patterns(".retention-*"))
    lines = pd.read_parquet(shifted / "transactions.parquet")
    recent = lines["timestamp"] >= pd.Timestamp(cutoff)
    customers = np.sort(lines.loc[recent, "customer_id"].unique())
    gone = recent & lines["customer_id"].isin(set(customers[::2]))
    lines.loc[recent, "price"] *= 3
    lines[~gone].to_parquet(shifted / "transactions.parquet", index=False)
    events = pd.read_parquet(shifted / "events.parquet")
    late = (events["timestamp"] >= pd.Timestamp(cutoff)) & events["customer_id"].isin(set(customers[::2]))
    events[~late].to_parquet(shifted / "events.parquet", index=False)
    return module_registry


def monitor(work: Path, data: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "COLUMNS": "200"}
    return subprocess.run([str(EXE), "monitor", "--data", data, "--out", f"{data}.csv"], cwd=work, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.mark.integration
def test_monitor_says_nothing_moved_on_the_unchanged_shop(work: Path) -> None:
    done = monitor(work, "data")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Within thresholds" in done.stdout and "churn_probability" in done.stdout
    assert "Realised quality" in done.stdout  # the horizon after the champions' cutoff has passed
    figures = pd.read_csv(work / "data.csv")
    assert {"score", "feature", "realised"} <= set(figures["kind"])
    realised = figures[figures["kind"] == "realised"].set_index("name")
    assert realised.loc["churn", "realised"] > 0.6 and not realised["decayed"].any()


@pytest.mark.integration
def test_monitor_exits_3_on_a_shop_whose_recent_orders_shifted_and_logs_it(work: Path) -> None:
    done = monitor(work, "shifted")
    assert done.returncode == 3, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Retrain:" in done.stdout and "Traceback" not in done.stderr
    figures = pd.read_csv(work / "shifted.csv")
    scores = figures[figures["kind"] == "score"].set_index("name")
    assert scores["psi"].max() > MonitorConfig().score_psi
    client = tracking._client()
    runs = client.search_runs([tracking.experiment_id("retention-monitor")], order_by=["start_time DESC"])
    assert [r.data.tags["retrain"] for r in runs[:2]] == ["true", "false"]
    logged = json.loads(Path(client.download_artifacts(runs[0].info.run_id, "monitor.json", str(work))).read_text())
    assert logged["retrain"] and logged["sentence"].startswith("Retrain")
