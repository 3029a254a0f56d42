"""`retention uplift train` and `retention uplift score` as a person runs them, on a simulated demo campaign with
known effects: refusal below the minimum audience, registration only past random targeting, reproducible scores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.demo.shop import DemoConfig, generate_shop, write_shop
from features.demo.uplift import SimulatedCampaign, simulate_uplift_campaign
from models.inference.registry import alias_version
from training.cli.app import app

pytestmark = pytest.mark.integration  # features, LightGBM and a real MLflow registry

runner = CliRunner()
CUTOFF = datetime(2026, 9, 1)


@pytest.fixture(scope="module")
def workdir(module_registry: Path) -> Iterator[tuple[Path, SimulatedCampaign]]:
    work = module_registry
    simulated = simulate_uplift_campaign(generate_shop(DemoConfig(customers=5000, seed=3)), CUTOFF)
    write_shop(simulated.tables, work / "data", "parquet")
    simulated.manifest.to_csv(work / "manifest.csv", index=False)
    yield work, simulated


def test_refuses_campaigns_below_the_minimum_audience_and_registers_nothing(
        workdir: tuple[Path, SimulatedCampaign]) -> None:
    work, simulated = workdir
    simulated.manifest.iloc[:150].assign(campaign="tiny").to_csv(work / "tiny.csv", index=False)
    result = runner.invoke(app, ["uplift", "train", "--data", "data", "--manifest", "tiny.csv"])
    assert result.exit_code == 2, result.output
    assert "'tiny' has" in result.output and "at least 200 of each" in result.output
    assert "keeps its rule" in result.output
    assert alias_version("uplift_tiny", "champion") is None


def test_train_registers_a_model_that_beats_random_and_scores_are_reproducible(
        workdir: tuple[Path, SimulatedCampaign]) -> None:
    work, simulated = workdir
    result = runner.invoke(app, ["uplift", "train", "--data", "data", "--manifest", "manifest.csv", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "beats random targeting outside the noise" in result.output
    assert "registered uplift_uplift_demo" in result.output
    champion = alias_version("uplift_uplift_demo", "champion")
    assert champion is not None and champion["tags"]["uplift_outcome"] == "ordered"
    outs = []
    for name in ("a.parquet", "b.parquet"):
        scored = runner.invoke(app, ["uplift", "score", "--data", "data", "--campaign", "uplift_demo", "--out", name,
                                     "--cutoff", CUTOFF.date().isoformat()])
        assert scored.exit_code == 0, scored.output
        outs.append(pd.read_parquet(work / name))
    pd.testing.assert_frame_equal(outs[0], outs[1])
    scores = outs[0]
    assert (scores["model_version"] == champion["version"]).all() and scores["effect"].is_monotonic_decreasing
    truth = simulated.truth.set_index("customer_id").loc[scores["customer_id"], "true_effect"].to_numpy()
    assert np.corrcoef(scores["effect"], truth)[0, 1] > 0.4  # the registered model's effects follow the truth
    # per customer both the extra order chance and the extra revenue, from the same registered version
    np.testing.assert_array_equal(scores["extra_order_probability"], scores["effect"])
    true_revenue = simulated.truth.set_index("customer_id").loc[scores["customer_id"], "true_revenue_effect"]
    assert np.corrcoef(scores["extra_revenue"], true_revenue)[0, 1] > 0.3
    assert "extra revenue" in scored.output
