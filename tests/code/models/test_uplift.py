"""Uplift models on a simulated campaign with known per-customer effects: the simulation, the Qini coefficient,
point-in-time features, reproducible scores, and estimated effects that follow the truth."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features import columns as C
from features.data.reader import shop_from_frames
from features.demo.shop import DemoConfig, generate_shop
from features.demo.uplift import SimulatedCampaign, UpliftSimulation, simulate_uplift_campaign
from models.uplift.compare import Comparison, compare
from models.uplift.data import CampaignData, campaign_data, check_audience
from models.uplift.model import EXTRA_ORDER, EXTRA_REVENUE, UpliftModel
from models.uplift.qini import qini_coefficient
from models.uplift.targeting import UpliftTargeting, target_rows

CUTOFF = datetime(2026, 9, 1)


@pytest.fixture(scope="module")
def shop_tables() -> dict[str, pd.DataFrame]:
    return generate_shop(DemoConfig(customers=5000, seed=3))


@pytest.fixture(scope="module")
def simulated(shop_tables: dict[str, pd.DataFrame]) -> SimulatedCampaign:
    return simulate_uplift_campaign(shop_tables, CUTOFF)


@pytest.fixture(scope="module")
def data(simulated: SimulatedCampaign) -> CampaignData:
    return campaign_data(shop_from_frames(simulated.tables), simulated.manifest, 30, "ordered")


def _truth(simulated: SimulatedCampaign, data: CampaignData) -> np.ndarray:
    return simulated.truth.set_index(C.CUSTOMER_ID).loc[data.features[C.CUSTOMER_ID], "true_effect"].to_numpy()


def test_simulation_adds_orders_only_to_treated_responders_inside_the_window(
        shop_tables: dict[str, pd.DataFrame], simulated: SimulatedCampaign) -> None:
    before = shop_tables["transactions"]
    extra = simulated.tables["transactions"].iloc[len(before):]
    assert len(extra) > 50
    stamps = pd.to_datetime(extra[C.TIMESTAMP])
    assert (stamps >= CUTOFF).all() and (stamps < CUTOFF + timedelta(days=30)).all()
    book = simulated.manifest.set_index(C.CUSTOMER_ID)
    assert not book.loc[extra[C.CUSTOMER_ID], "control"].any()  # the control group gets nothing extra
    effect = simulated.truth.set_index(C.CUSTOMER_ID)["true_effect"]
    assert (effect.loc[extra[C.CUSTOMER_ID]] > 0).all()  # lapsed and loyal customers (effect 0) never respond
    by_segment = simulated.truth.groupby("segment")["true_effect"].first()
    assert by_segment["lapsed"] == by_segment["loyal"] == 0.0 < by_segment["other"] < by_segment["discount_sensitive"]
    again = simulate_uplift_campaign(shop_tables, CUTOFF)
    pd.testing.assert_frame_equal(again.manifest, simulated.manifest)  # seeded: the same draw every time
    other = simulate_uplift_campaign(shop_tables, CUTOFF, UpliftSimulation(seed=1))
    assert (other.manifest["control"] != simulated.manifest["control"]).any()


def test_qini_is_zero_for_random_and_highest_for_the_true_order() -> None:
    rng = np.random.default_rng(0)
    n = 20_000
    effect = rng.choice([0.0, 0.4], n)
    treated = rng.random(n) < 0.5
    outcome = (rng.random(n) < 0.2 + treated * effect).astype(float)
    perfect = qini_coefficient(effect + rng.random(n) * 1e-3, treated, outcome)
    random = np.mean([qini_coefficient(rng.random(n), treated, outcome) for _ in range(20)])
    worst = qini_coefficient(-effect + rng.random(n) * 1e-3, treated, outcome)
    assert perfect > 0.04 and abs(random) < 0.01 and worst < -0.04


def test_refuses_a_campaign_below_the_minimum_audience(simulated: SimulatedCampaign) -> None:
    small = simulated.manifest.iloc[:300]
    why = check_audience(small, minimum=200)
    assert why is not None and "at least 200" in why and "keeps its rule" in why
    assert check_audience(simulated.manifest, minimum=200) is None


def test_no_feature_reads_data_at_or_after_the_campaign_cutoff(simulated: SimulatedCampaign,
                                                               data: CampaignData) -> None:
    tables = dict(simulated.tables)
    lines = tables["transactions"]
    after = pd.to_datetime(lines[C.TIMESTAMP]) >= CUTOFF
    changed = lines[~after].copy()
    moved = lines[after].copy()
    moved[C.PRICE] = moved[C.PRICE] * 10  # rows at or after the cutoff change, some are deleted
    tables["transactions"] = pd.concat([changed, moved.iloc[::2]], ignore_index=True)
    tables["events"] = tables["events"][pd.to_datetime(tables["events"][C.TIMESTAMP]) < CUTOFF]
    again = campaign_data(shop_from_frames(tables), simulated.manifest, 30, "ordered")
    pd.testing.assert_frame_equal(again.features, data.features)
    assert not np.array_equal(again.outcome, data.outcome)  # the outcome does read after the cutoff


def test_scores_are_reproducible_and_survive_save_and_load(data: CampaignData, tmp_path: Path) -> None:
    first = UpliftModel(kind="x").fit(data.features, data.treated, data.outcome).score(data.features)
    model = UpliftModel(kind="x").fit(data.features, data.treated, data.outcome)
    np.testing.assert_array_equal(model.score(data.features), first)
    loaded = UpliftModel.load(model.save(tmp_path / "model"))
    np.testing.assert_allclose(loaded.score(data.features), first, rtol=0, atol=1e-12)


@pytest.fixture(scope="module")
def comparison(simulated: SimulatedCampaign, data: CampaignData) -> Comparison:
    return compare(data, binary=True, truth=_truth(simulated, data))


def test_estimated_effects_follow_the_truth_and_beat_the_baselines(simulated: SimulatedCampaign,
                                                                   data: CampaignData, comparison: Comparison) -> None:
    truth = _truth(simulated, data)
    result = comparison
    estimated = result.models[result.chosen].score(data.features)
    assert np.corrcoef(estimated, truth)[0, 1] > 0.4
    assert result.beats_random and result.beats_churn
    table = result.table.set_index("kind")
    assert table.at[result.chosen, "qini"] >= 0.5 * table.at["truth", "qini"]


def test_chosen_model_says_extra_order_chance_and_extra_revenue_near_the_truth(
        simulated: SimulatedCampaign, data: CampaignData, comparison: Comparison, tmp_path: Path) -> None:
    model = comparison.models[comparison.chosen]
    predicted = model.predict(data.features)
    np.testing.assert_array_equal(predicted[EXTRA_ORDER], predicted["effect"])  # chosen on ordered
    true_revenue = simulated.truth.set_index(C.CUSTOMER_ID).loc[data.features[C.CUSTOMER_ID], "true_revenue_effect"]
    revenue = predicted[EXTRA_REVENUE].to_numpy()
    assert np.corrcoef(revenue, true_revenue)[0, 1] > 0.3
    # the level: an extra order is worth what this customer's order in the window is (a regression), near the truth
    assert 0.5 < revenue.mean() / true_revenue.mean() < 1.5
    assert set(comparison.extra) == {"ordered", "revenue"}
    loaded = UpliftModel.load(model.save(tmp_path / "chosen")).predict(data.features)
    pd.testing.assert_frame_equal(loaded, predicted, check_exact=False, rtol=0, atol=1e-9)


def test_target_rows_drops_the_lowest_effects_on_each_side_of_the_baseline_and_never_moves_a_group() -> None:
    n = 100
    rows = pd.DataFrame({C.CUSTOMER_ID: [f"C{i:03d}" for i in range(n)], "control": np.arange(n) % 7 == 0})
    rng = np.random.default_rng(1)
    predicted = pd.DataFrame({C.CUSTOMER_ID: rows[C.CUSTOMER_ID].iloc[:90], "effect": rng.random(90),
                              EXTRA_REVENUE: rng.random(90), "baseline": rng.random(90)})
    done = target_rows(rows, predicted, UpliftTargeting(drop_sure_things=0.2, drop_lost_causes=0.1))
    assert (done.sure_things, done.lost_causes, done.unscored) == (20, 10, 10)
    kept = done.rows.set_index(C.CUSTOMER_ID)
    assert len(kept) == 70 and (kept["control"] == rows.set_index(C.CUSTOMER_ID).loc[kept.index, "control"]).all()
    effect = kept["predicted_effect"]
    assert effect.iloc[:60].is_monotonic_decreasing and effect.iloc[60:].isna().all()  # unscored: kept, last
    by = predicted.set_index(C.CUSTOMER_ID)
    median = by["baseline"].median()
    gone = by.drop(index=kept.index.intersection(by.index))
    high, low = by[by["baseline"] >= median], by[by["baseline"] < median]
    # the dropped sure things are the lowest effects among the likely buyers, the lost causes among the others
    assert set(gone.index) == set(high.nsmallest(20, "effect").index) | set(low.nsmallest(10, "effect").index)
