"""campaigns, audience and campaign-results as a person runs them: a small demo shop trained with the small
config, audiences at a cutoff a month before the data ends, then a simulated campaign measured against control."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from features.campaigns.audiences import CONTROL_OFFER, ROW_COLUMNS, SUMMARY_COLUMNS
from features.campaigns.config import CAMPAIGNS, SUPPRESSION
from features.campaigns.control import MANIFEST_COLUMNS, read_manifest
from features.demo.campaign import simulate_campaign
from features.demo.shop import write_shop
from tests.shared import demo_tables, small_config
from training.cli.app import app

pytestmark = pytest.mark.integration  # trains, scores and recommends for real through MLflow

runner = CliRunner()
CUTOFF = "2026-10-01"
LIFT = 0.3


@pytest.fixture(scope="module")
def workdir(module_registry: Path) -> Iterator[Path]:
    """A trained small demo shop, and the campaigns written at the cutoff."""
    work = module_registry
    tables = demo_tables(1200, seed=9)
    write_shop(tables, work / "data", "parquet")
    (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
    invoke("train", "--data", "data", "--config", "small.yaml")
    yield work


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"customer_id": str, "items": str}, keep_default_na=False)


def test_campaigns_write_every_audience_with_control_groups_and_a_manifest(workdir: Path) -> None:
    out = invoke("campaigns", "--data", "data", "--config", "small.yaml", "--cutoff", CUTOFF, "--out", "camp")
    assert "Campaign audiences at 2026-10-01" in out and "dead contacts" in out
    summary = read(workdir / "camp" / "summary.csv")
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert summary["campaign"].tolist() == [*CAMPAIGNS, SUPPRESSION]
    sizes = summary.set_index("campaign")["customers"]
    assert (sizes[["reactivation", "second_order", "vip_care", "birthdays", "contact_frequency"]] > 0).all()
    book = read_manifest(workdir / "camp" / "manifest.csv")
    assert list(book.columns) == list(MANIFEST_COLUMNS) and (book["cutoff"] == pd.Timestamp(CUTOFF)).all()
    for campaign in CAMPAIGNS:
        rows = read(workdir / "camp" / f"{campaign}.csv")
        assert list(rows.columns) == list(ROW_COLUMNS) and len(rows) == sizes[campaign]
        assert rows["rule"].str.len().gt(10).all() and rows["email_opt_in"].isin(["yes", "no"]).all()
        mine = book[book["campaign"] == campaign].set_index("customer_id")["control"]
        assert rows.set_index("customer_id")["control"].to_dict() == mine.to_dict()  # the manifest is the split
        treated = rows[~rows["control"]]
        assert (rows.loc[rows["control"], "offer"] == CONTROL_OFFER).all() and (treated["offer"] != "").all()
        assert treated["items"].str.len().gt(0).all()  # personal items from the champion recommender
    contact = read(workdir / "camp" / "contact_frequency.csv")
    assert 0.04 < contact["control"].mean() < 0.18  # about the default 10%
    suppressed = set(read(workdir / "camp" / "suppression.csv")["customer_id"])
    assert suppressed and not suppressed & set(contact["customer_id"])  # dead contacts get no messages


def test_campaigns_never_redraw_a_split(workdir: Path) -> None:
    if not (workdir / "camp" / "manifest.csv").exists():
        invoke("campaigns", "--data", "data", "--config", "small.yaml", "--cutoff", CUTOFF, "--out", "camp")
    before = (workdir / "camp" / "manifest.csv").read_bytes()
    result = runner.invoke(app, ["campaigns", "--data", "data", "--config", "small.yaml", "--out", "camp"])
    assert result.exit_code == 2 and "never redrawn" in result.output
    assert (workdir / "camp" / "manifest.csv").read_bytes() == before


def test_item_audience(workdir: Path) -> None:
    recs = invoke("recommend", "--data", "data", "--customers", "data/customers.parquet", "--k", "1", "--out",
                  "top1.csv", "--config", "small.yaml")
    assert "wrote" in recs
    item = read(workdir / "top1.csv")["item_id"].value_counts().index[0]
    out = invoke("audience", "--data", "data", "--item", item, "--k", "40", "--out", "aud.csv", "--config",
                 "small.yaml", "--cutoff", CUTOFF)
    assert f"item:{item}" in out
    audience = read(workdir / "aud.csv")
    assert 0 < len(audience) <= 40 and (audience["item_id"] == item).all()
    assert audience["audience_rank"].tolist() == list(range(1, len(audience) + 1))
    book = read_manifest(workdir / "aud.manifest.csv")
    assert book["customer_id"].tolist() == audience["customer_id"].tolist()
    result = runner.invoke(app, ["audience", "--data", "data", "--item", "NOPE", "--out", "bad.csv"])
    assert result.exit_code == 2 and "'NOPE' is not an item" in result.output and not (workdir / "bad.csv").exists()


def test_campaign_results_find_a_simulated_effect(workdir: Path) -> None:
    if not (workdir / "camp" / "manifest.csv").exists():
        invoke("campaigns", "--data", "data", "--config", "small.yaml", "--cutoff", CUTOFF, "--out", "camp")
    book = read_manifest(workdir / "camp" / "manifest.csv")
    tables = demo_tables(1200, seed=9)
    write_shop(simulate_campaign(tables, book, lift=LIFT, days=30, seed=4, campaign="contact_frequency"),
               workdir / "data_after", "parquet")
    out = invoke("campaign-results", "--data", "data_after", "--manifest", "camp/manifest.csv", "--days", "30",
                 "--out", "results.csv")
    assert "The contact frequency campaign brought" in out.replace("\n", " ")
    results = pd.read_csv(workdir / "results.csv").set_index("campaign")
    row = results.loc["contact_frequency"]
    assert row["orders_low"] <= LIFT <= row["orders_high"] and row["orders_low"] > 0
    assert row["treated"] + row["control"] == (book["campaign"] == "contact_frequency").sum()
    bad = workdir / "bad_manifest.csv"
    bad.write_text("campaign,customer_id\nx,1\n")
    result = runner.invoke(app, ["campaign-results", "--data", "data", "--manifest", str(bad)])
    assert result.exit_code == 2 and "missing column(s) cutoff, control" in result.output


def test_campaign_results_refuse_to_estimate_before_there_is_data(workdir: Path) -> None:
    if not (workdir / "camp" / "manifest.csv").exists():
        invoke("campaigns", "--data", "data", "--config", "small.yaml", "--cutoff", CUTOFF, "--out", "camp")
    book = read_manifest(workdir / "camp" / "manifest.csv")
    last = pd.read_parquet(workdir / "data" / "transactions.parquet")["timestamp"].max()
    for name, cutoff in (("none", last.normalize() + pd.Timedelta(days=1)), ("three", last.normalize() - pd.Timedelta(
            days=2))):
        book.assign(cutoff=cutoff).to_csv(workdir / f"{name}.csv", index=False)
    result = runner.invoke(app, ["campaign-results", "--data", "data", "--manifest", "none.csv", "--out", "r.csv"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "no order after the cutoff" in said and "nothing is measured" in said
    assert "extra orders" not in said and not (workdir / "r.csv").exists()  # no confident-looking zero
    result = runner.invoke(app, ["campaign-results", "--data", "data", "--manifest", "three.csv"])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "only 3 days of data after the cutoff" in said and "at least 7 days" in said
    result = runner.invoke(app, ["campaign-results", "--data", "data", "--manifest", "three.csv", "--lang", "ru"])
    assert result.exit_code == 2 and "есть данные лишь за 3 дня" in " ".join(result.output.split())
    out = invoke("campaign-results", "--data", "data", "--manifest", "three.csv", "--min-days", "3", "--lang", "ru")
    assert "на 100 клиентов" in " ".join(out.split())  # measured once the minimum is met, in Russian
    assert "данные есть лишь за 3 дня из 30" in " ".join(out.split())  # and it says the window is not over
