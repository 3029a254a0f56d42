"""`retention uplift train` and `retention uplift score` as a person runs them, on a simulated demo campaign with
known effects: refusal below the minimum audience, registration only past random targeting, reproducible scores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.demo.shop import DemoConfig, generate_shop, write_shop
from features.demo.uplift import SimulatedCampaign, UpliftSimulation, simulate_uplift_campaign
from models.inference.registry import alias_version
from tests.shared import small_config
from training.cli.app import app

pytestmark = pytest.mark.integration  # features, LightGBM and a real MLflow registry

runner = CliRunner()
CUTOFF = datetime(2026, 9, 1)


@pytest.fixture(scope="module")
def workdir(module_registry: Path) -> Iterator[tuple[Path, SimulatedCampaign]]:
    work = module_registry
    # named after a real audience, so `retention campaigns --target uplift` finds its model
    simulated = simulate_uplift_campaign(generate_shop(DemoConfig(customers=5000, seed=3)), CUTOFF,
                                         UpliftSimulation(campaign="reactivation"))
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
    assert "its extra revenue, Qini on revenue" in result.output
    assert "registered uplift_reactivation" in result.output
    champion = alias_version("uplift_reactivation", "champion")
    assert champion is not None and champion["tags"]["uplift_outcome"] == "ordered"
    outs = []
    for name in ("a.parquet", "b.parquet"):
        scored = runner.invoke(app, ["uplift", "score", "--data", "data", "--campaign", "reactivation", "--out", name,
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


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str, "items": str}, keep_default_na=False)


def test_campaigns_target_uplift_ranks_drops_and_keeps_the_control_draw(
        workdir: tuple[Path, SimulatedCampaign]) -> None:
    work, simulated = workdir
    refused = runner.invoke(app, ["campaigns", "--data", "data", "--out", "none", "--target", "uplift",
                                  "--uplift-campaign", "win_back"])
    assert refused.exit_code != 0 and "no uplift model is registered for win_back" in refused.output
    assert not (work / "none" / "manifest.csv").exists()
    if alias_version("uplift_reactivation", "champion") is None:  # run alone: register the model first
        trained = runner.invoke(app, ["uplift", "train", "--data", "data", "--manifest", "manifest.csv"])
        assert trained.exit_code == 0, trained.output
    (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
    trained = runner.invoke(app, ["train", "--data", "data", "--config", "small.yaml"])
    assert trained.exit_code == 0, trained.output
    common = ["campaigns", "--data", "data", "--config", "small.yaml", "--cutoff", "2026-10-01"]
    rule = runner.invoke(app, [*common, "--out", "rule"])
    assert rule.exit_code == 0, rule.output
    uplift = runner.invoke(app, [*common, "--out", "uplift", "--target", "uplift", "--drop-sure-things", "0.2",
                                 "--drop-lost-causes", "0.1"])
    assert uplift.exit_code == 0, uplift.output
    assert "reactivation: targeted by uplift_reactivation v" in uplift.output
    before, after = read(work / "rule" / "reactivation.csv"), read(work / "uplift" / "reactivation.csv")
    version = alias_version("uplift_reactivation", "champion")["version"]  # type: ignore[index]
    # every kept customer keeps the group the rule run drew: the control draw never moves
    groups = before.set_index("customer_id")["control"]
    assert set(after["customer_id"]) < set(groups.index)
    assert (after.set_index("customer_id")["control"] == groups.loc[after["customer_id"]]).all()
    dropped = len(before) - len(after)
    assert abs(dropped - round(0.2 * len(before)) - round(0.1 * len(before))) <= 2
    scored = after["predicted_effect"].replace("", np.nan).astype(float).dropna()
    assert scored.is_monotonic_decreasing and len(scored) > 0.5 * len(after)
    # the dropped ones are those the offer moves least: the kept audience's true effect is higher than the rule's
    truth = simulated.truth.set_index("customer_id")["true_effect"]
    assert truth.reindex(after["customer_id"]).mean() > truth.reindex(before["customer_id"]).mean()
    book = read(work / "uplift" / "manifest.csv")
    mine = book[book["campaign"] == "reactivation"]
    assert set(mine["customer_id"]) == set(after["customer_id"])
    assert (mine["targeting"] == f"uplift_reactivation v{version}").all()
    assert (mine["drop_sure_things"].astype(float) == 0.2).all()
    assert (mine["drop_lost_causes"].astype(float) == 0.1).all()
    others = book[book["campaign"] != "reactivation"]
    assert (others["targeting"] == "rule").all()  # campaigns without a model keep their rule
    rule_book = read(work / "rule" / "manifest.csv")
    pd.testing.assert_frame_equal(others[rule_book.columns].reset_index(drop=True),
                                  rule_book[rule_book["campaign"] != "reactivation"].reset_index(drop=True))


def test_report_shows_each_campaigns_qini_curve_and_its_sentence_from_the_same_points(
        workdir: tuple[Path, SimulatedCampaign]) -> None:
    from models.uplift.curves import TOP, captured_at, champion_curves
    from serving.report.i18n import Words
    from serving.report.uplift import chart, sentence

    work, _ = workdir
    if alias_version("uplift_reactivation", "champion") is None:  # run alone: register the model first
        trained = runner.invoke(app, ["uplift", "train", "--data", "data", "--manifest", "manifest.csv"])
        assert trained.exit_code == 0, trained.output
    curves = champion_curves()
    assert [c.campaign for c in curves] == ["reactivation"]
    curve = curves[0]
    got = captured_at(curve, TOP)
    assert curve.captured[0] == 0 and abs(curve.captured[-1] - 1) < 1e-6 and got > TOP  # better than random
    figure = chart(curve, Words("en"))
    marked = [t for t in figure.data if t.mode == "markers+text"][0]
    assert marked.x[0] == 100 * TOP and abs(marked.y[0] - 100 * got) < 1e-9  # the chart's point is the sentence's
    for lang, words in (("en", f"targeting the top 30% by predicted effect gets {Words('en').share(got)} of the "
                               "campaign's extra orders"),
                        ("ru", f"предложение 30\u00a0% клиентов с наибольшим ожидаемым эффектом даёт "
                               f"{Words('ru').share(got)} дополнительных заказов кампании")):
        assert words in sentence(curve, lang)
        result = runner.invoke(app, ["report", "--data", "data", "--lang", lang, "--out", f"report_{lang}.html"])
        assert result.exit_code == 0, result.output
        page = (work / f"report_{lang}.html").read_text(encoding="utf-8")
        assert '<section id="uplift">' in page and escape(words) in page
