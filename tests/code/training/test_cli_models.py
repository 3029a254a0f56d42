"""train, score and churn-list as a person runs them, on a small demo shop and a throwaway MLflow registry."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.demo.shop import DemoConfig, generate_shop, write_shop
from models.inference.score import SCORE_COLUMNS
from tests.shared import demo_tables, small_config, use_registry
from training.cli.app import app

pytestmark = pytest.mark.integration  # runs the CLI and MLflow for real (~25 s)

runner = CliRunner()
SMALL = {"n_estimators": 40, "num_threads": 1}


@pytest.fixture(scope="module")
def workdir(module_registry: Path) -> Iterator[Path]:
    """A working directory with a demo shop in data/, a small config, and MLflow in sqlite there."""
    work = module_registry
    write_shop(demo_tables(1200, seed=9), work / "data", "parquet")
    (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
    yield work


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_train_score_and_churn_list(workdir: Path) -> None:
    out = invoke("train", "--data", "data", "--config", "small.yaml")
    assert all(word in out for word in ("LightGBM", "Gamma-Gamma", "recency", "roc_auc", "spearman"))  # wrapped table
    assert "churn" in out and "champion" in out and (workdir / "mlflow.db").exists()
    assert list((workdir / "mlruns").iterdir())  # artifacts under the working directory's mlruns/
    invoke("score", "--data", "data", "--out", "scores.csv", "--config", "small.yaml")
    scores = pd.read_csv(workdir / "scores.csv")
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert scores["churn_probability"].between(0, 1).all()
    assert scores["churn_risk"].isin(["low", "medium", "high"]).all()
    assert (scores["model_source"] == "lightgbm").all()
    # a reason is what raises the risk: most customers at high risk have one (the others honestly have none)
    assert scores.loc[scores["churn_risk"] == "high", "reasons"].fillna("").str.len().gt(0).mean() > 0.5
    assert scores["customer_id"].is_unique and len(scores) > 500
    invoke("churn-list", "--data", "data", "--out", "list.csv", "--limit", "25", "--min-probability", "0.2")
    churn_list = pd.read_csv(workdir / "list.csv")
    assert len(churn_list) == 25 and churn_list["expected_lost_value"].is_monotonic_decreasing
    assert (churn_list["churn_probability"] >= 0.2).all()
    assert churn_list[["top_category", "preferred_weekday", "email_opt_in", "last_order"]].notna().all().all()


def test_score_explains_the_most_at_risk_up_to_max_reasons(workdir: Path) -> None:
    if not (workdir / "scores.csv").exists():
        invoke("train", "--data", "data", "--config", "small.yaml")
    capped = {**small_config(), "scoring": {"max_reasons": 50}}
    (workdir / "capped.yaml").write_text(yaml.safe_dump(capped))
    out = invoke("score", "--data", "data", "--out", "capped.csv", "--config", "capped.yaml")
    assert "reasons are given for the 50 customers most at risk" in " ".join(out.split())
    scores = pd.read_csv(workdir / "capped.csv", keep_default_na=False)
    explained = scores[scores["reasons"] != ""]
    assert 0 < len(explained) <= 50  # only the 50 most at risk are explained (those with something to say)
    assert explained["churn_probability"].min() >= scores["churn_probability"].nlargest(50).min()


def test_score_refuses_another_horizon(workdir: Path) -> None:
    if not (workdir / "scores.csv").exists():
        invoke("train", "--data", "data", "--config", "small.yaml")
    result = runner.invoke(app, ["score", "--data", "data", "--out", "x.csv", "--horizon-days", "30"])
    assert result.exit_code == 2
    assert "trained for another horizon than the 30 days" in result.output and "--horizon-days 30" in result.output
    assert not (workdir / "x.csv").exists()
    result = runner.invoke(app, ["churn-list", "--data", "data", "--out", "y.csv", "--segment", "Nope"])
    assert result.exit_code == 2 and "segments present" in result.output
    for bar in (["--min-probability", "1.0"], ["--min-value", "1e12"]):  # a filter that matches nobody
        result = runner.invoke(app, ["churn-list", "--data", "data", "--out", "z.csv", *bar])
        assert result.exit_code == 2 and "no customer matches the filters" in result.output, result.output
        assert "Traceback" not in result.output and not (workdir / "z.csv").exists()


def test_score_on_a_shop_that_lost_a_table_names_it(workdir: Path) -> None:
    if not (workdir / "scores.csv").exists():
        invoke("train", "--data", "data", "--config", "small.yaml")
    shutil.copytree(workdir / "data", workdir / "no_events", ignore=shutil.ignore_patterns("events*"))
    result = runner.invoke(app, ["score", "--data", "no_events", "--out", "lost.csv"])
    assert result.exit_code == 2, result.output
    assert "site" in result.output and "events" in result.output and "retention train" in result.output
    assert "Traceback" not in result.output and not (workdir / "lost.csv").exists()


def test_fallback_to_bgnbd_when_no_training_window_fits(workdir: Path) -> None:
    config = yaml.safe_load((workdir / "small.yaml").read_text())
    config["training"]["min_history_horizons"] = 1.5
    config["registry"].update(churn_name="fb_churn", golden_name="fb_golden", value_name="fb_value")
    (workdir / "fallback.yaml").write_text(yaml.safe_dump(config))
    out = invoke("train", "--data", "data", "--config", "fallback.yaml", "--horizon-days", "300")
    assert "model_source = bgnbd_fallback" in out and "fallback)" in out and "LightGBM" not in out
    invoke("score", "--data", "data", "--out", "fb.csv", "--config", "fallback.yaml")
    scores = pd.read_csv(workdir / "fb.csv")
    assert list(scores.columns) == list(SCORE_COLUMNS) and (scores["model_source"] == "bgnbd_fallback").all()
    assert scores[["churn_probability", "golden_probability", "expected_value", "expected_orders"]].notna().all().all()
    said = scores["reasons"].fillna("")
    assert said.str.len().gt(0).mean() > 0.5 and said[said != ""].str.match("no order for|one order only").all()


def test_train_registers_the_recommender_and_recommend_uses_it(workdir: Path) -> None:
    if not (workdir / "mlflow.db").exists():  # run alone: train first
        invoke("train", "--data", "data", "--config", "small.yaml")
    known = pd.read_parquet(workdir / "data" / "transactions.parquet")["customer_id"].iloc[0]
    pd.DataFrame({"customer_id": [known, "NOT-A-CUSTOMER"]}).to_csv(workdir / "who.csv", index=False)
    out = invoke("recommend", "--data", "data", "--customers", "who.csv", "--k", "4", "--out", "recs.csv",
                 "--config", "small.yaml")
    assert "1 unknown to the model" in out
    recs = pd.read_csv(workdir / "recs.csv", dtype={"customer_id": str, "item_id": str})
    assert list(recs.columns) == ["customer_id", "rank", "item_id", "score", "reason"]
    # whichever model won (the blend or a single source), a stranger gets best sellers, never an empty list
    expected = {known: [1, 2, 3, 4], "NOT-A-CUSTOMER": [1, 2, 3, 4]}
    assert recs.groupby("customer_id")["rank"].apply(list).to_dict() == expected
    assert "got popular picks" in out
    assert recs.loc[recs.customer_id == "NOT-A-CUSTOMER", "reason"].isin(["popular right now", "trending now"]).all()
    assert recs["item_id"].str.startswith("I").all() and recs["reason"].str.len().gt(0).all()


def test_recommend_without_a_champion_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    use_registry(monkeypatch, tmp_path)
    write_shop(generate_shop(DemoConfig(customers=150, seed=3, years=1.0)), tmp_path / "data", "csv")
    pd.DataFrame({"customer_id": ["C000001"]}).to_csv(tmp_path / "who.csv", index=False)
    result = runner.invoke(app, ["recommend", "--data", "data", "--customers", "who.csv", "--out", "r.csv"])
    assert result.exit_code == 2 and "no champion recommender" in result.output
    assert not (tmp_path / "r.csv").exists()


def test_registered_recommender_answers_through_mlflow_pyfunc(workdir: Path) -> None:
    import mlflow

    from training import tracking

    if not (workdir / "mlflow.db").exists():  # run alone: train first
        invoke("train", "--data", "data", "--config", "small.yaml")
    tracking.configure()  # another test may have pointed MLflow elsewhere
    model = mlflow.pyfunc.load_model("models:/recommender@champion")
    known = pd.read_parquet(workdir / "data" / "transactions.parquet")["customer_id"].iloc[0]
    answer = model.predict(pd.DataFrame({"customer_id": [known, "NOT-A-CUSTOMER"]}), params={"k": 3})
    assert answer[answer.customer_id == known]["rank"].tolist() == [1, 2, 3] and answer["reason"].str.len().gt(0).all()
    stranger = answer[answer.customer_id == "NOT-A-CUSTOMER"]
    assert stranger["rank"].tolist() == [1, 2, 3]  # whichever model won: best sellers for a stranger
    assert stranger["reason"].isin(["popular right now", "trending now"]).all()


def test_a_baseline_that_wins_the_holdout_is_the_champion_and_score_works(workdir: Path) -> None:
    config = yaml.safe_load((workdir / "small.yaml").read_text())
    stump = {"n_estimators": 1, "num_leaves": 2, "num_threads": 1, "monotone": {}}  # a model no baseline loses to
    config["models"] = {"churn": stump, "golden": stump, "value": stump}
    config["registry"].update(churn_name="bl_churn", golden_name="bl_golden", value_name="bl_value",
                              require_beating_baseline=True)
    (workdir / "stump.yaml").write_text(yaml.safe_dump(config))
    out = invoke("train", "--data", "data", "--config", "stump.yaml")
    assert "the winner of each task is registered" in out and "has the best roc_auc on the holdout" in out
    from training import tracking

    sources = {task: tracking.alias_version(f"bl_{task}", "champion") for task in ("churn", "golden", "value")}
    assert all(v is not None for v in sources.values())  # always a champion
    kinds = {task: v["tags"]["model_source"] for task, v in sources.items() if v is not None}
    assert kinds["churn"] in ("bgnbd", "recency_baseline", "last_period_baseline"), kinds
    invoke("score", "--data", "data", "--out", "bl.csv", "--config", "stump.yaml")
    scores = pd.read_csv(workdir / "bl.csv", dtype={"next_order_date": str})
    assert list(scores.columns) == list(SCORE_COLUMNS)
    assert scores["model_source"].str.contains(f"churn={kinds['churn']}|^{kinds['churn']}$").all()
    assert scores["churn_probability"].between(0, 1).all() and scores["reasons"].notna().any()
    orders = pd.read_parquet(workdir / "data" / "transactions.parquet")
    last = orders["timestamp"].max()
    recent = (last - orders.groupby("customer_id")["timestamp"].max()).dt.days <= 30
    silent = scores.loc[scores["reasons"].isna(), "customer_id"].astype(str)
    assert recent.loc[silent].all()  # a baseline gives no reason only to a recent buyer ("no order for 2 days")
    dated = scores["next_order_date"].dropna()
    assert len(dated) > 0 and (dated > f"{last:%Y-%m-%d}").all()  # never a date in the past
    assert scores.loc[scores["next_order_date"].isna(), "next_order_probability"].le(0.5).all()
    invoke("churn-list", "--data", "data", "--out", "bl_list.csv", "--limit", "10", "--config", "stump.yaml")
    assert len(pd.read_csv(workdir / "bl_list.csv")) == 10
    out = invoke("backtest", "--data", "data", "--config", "stump.yaml", "--out", "bt.csv")
    assert all(word in out for word in ("churn_probability", "churn rate", "decile", "next_order_days", "(bgnbd)"
                                        if kinds["churn"] == "bgnbd" else "churn v"))
    table = pd.read_csv(workdir / "bt.csv")
    assert set(table["prediction"]) == {"churn_probability", "golden_probability", "expected_value",
                                        "expected_orders", "next_order_days"}
    assert (table.groupby("prediction")["decile"].max() == 10).all()
    logged = list(workdir.glob("mlruns/**/backtest_deciles.csv"))
    assert logged and list(workdir.glob("mlruns/**/backtest_deciles.png"))
    assert set(pd.read_csv(logged[0])["prediction"]) == set(table["prediction"])
    late = runner.invoke(app, ["backtest", "--data", "data", "--config", "stump.yaml", "--cutoff", "2099-01-01"])
    assert late.exit_code == 2 and "later than now plus a day" in late.output


def test_churn_list_reasons_raise_the_risk_and_tell_customers_apart(workdir: Path) -> None:
    from features.words.catalogue import PHRASES
    from models.customer.reasons import REFUSED
    from models.inference.config import RegistryConfig
    from models.inference.score import churn_list, load_champions, score
    from training.cli.common import load_shop

    if not (workdir / "scores.csv").exists():
        invoke("train", "--data", "data", "--config", "small.yaml")
    result = score(load_shop(workdir / "data"), load_champions(RegistryConfig()))
    top = churn_list(result, limit=20)
    rows = result.inputs.set_index("customer_id").loc[top["customer_id"]].reset_index()
    churn = result.champions.models["churn"]
    explained = churn.explain(rows, 3)
    contributions = churn.booster_.predict(churn.spec_.matrix(rows), pred_contrib=True)
    for i, reasons in enumerate(explained):
        for reason in reasons:
            assert not REFUSED.fullmatch(reason.feature), reason  # never age, city, gender, source, opt-in...
            assert contributions[i, churn.spec_.columns.index(reason.feature)] > 0, reason  # it raises the risk
            values = dict(reason.values)
            assert all(v >= 0 for v in values.values() if isinstance(v, int | float)), reason  # no negative count
            if "days" in values and reason.key in ("reason.overdue", "reason.no_order", "reason.one_order"):
                assert values["days"] == round(rows.loc[i, "days_since_last_order"])  # the row's own numbers
    texts = top["reasons"].tolist()
    assert texts == ["; ".join(r.text() for r in reasons) for reasons in explained]
    assert sum(bool(t) for t in texts) >= 10
    full = [t for t in texts if t.count("; ") == 2]
    assert len(set(full)) == len(full)  # no two rows share all three reasons word for word
    assert not any(word in " ".join(texts) for word in ("expected", "likely", "years old", "lives in", "came through"))
    assert not any("expect" in PHRASES[key]["en"] for key in PHRASES if key.startswith("reason."))  # facts only
    russian = churn_list(result, limit=20, lang="ru")["reasons"].tolist()
    assert [bool(t) for t in russian] == [bool(t) for t in texts] and russian != texts
    assert not any(word in " ".join(russian) for word in ("order", "days", "spent"))
    invoke("churn-list", "--data", "data", "--limit", "20", "--lang", "ru", "--out", "list_ru.csv")
    shown = pd.read_csv(workdir / "list_ru.csv", keep_default_na=False)
    assert shown["reasons"].tolist() == russian and shown["churn_risk"].isin(["высокий", "средний", "низкий"]).all()
    assert not shown["segment"].isin(["Champions", "Loyal", "At risk", "New", "Dormant"]).any()
    weekdays = {"понедельник", "вторник", "среда", "четверг", "пятница", "суббота", "воскресенье", ""}
    assert set(shown["preferred_weekday"]) <= weekdays and set(shown["email_opt_in"]) <= {"да", "нет", ""}
