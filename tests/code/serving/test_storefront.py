"""Cart top-up, reminders and A/B experiments as a storefront uses them: a real `retention serve` with Redis.

One trained demo shop and one server (one worker, live state in a real redis-server) per module; each test makes
many requests against it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from tests.code.serving.server import (
    ADMIN,
    MARKETER,
    STOREFRONT,
    Redis,
    Server,
    start,
    trained_shop,
)
from tests.shared import small_config
from training.cli.app import app

pytestmark = pytest.mark.integration  # trains, then runs bentoml serve with redis-server

MARGIN = 15.0  # storefront.topup_margin's default


@pytest.fixture(scope="module")
def work(module_registry: Path) -> Path:
    return trained_shop(module_registry, 1000, seed=21)


@pytest.fixture(scope="module")
def server(work: Path, redis: Redis) -> Iterator[Server]:
    running = start(work, work / "data", work / "small.yaml", {"RETENTION_REDIS_URL": redis.url})
    yield running
    running.kill()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client(**STOREFRONT) as client:
        yield client


@pytest.fixture(scope="module")
def items(work: Path) -> pd.DataFrame:
    return pd.read_parquet(work / "data" / "items.parquet").set_index("item_id")


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def reload(http: httpx.Client) -> None:
    assert http.post("/admin/reload", headers=ADMIN).status_code == 202
    while True:  # the reload either finishes or fails; the test's own timeout bounds a hang
        status = ok(http.get("/admin/reload", headers=ADMIN))
        if status["status"] != "loading":
            assert status["status"] == "reloaded", status
            return
        threading.Event().wait(0.5)


def cheap_cart(items: pd.DataFrame, http: httpx.Client) -> list[str]:
    """A cart of one popular, in-stock item under 20 (so a threshold of 60 leaves a gap of 40 or more)."""
    popular = ok(http.post("/recommend", json={"customer_id": "never-seen", "k": 50}))["items"]
    cheap = [i["item_id"] for i in popular if items.at[i["item_id"], "price"] < 20 and items.at[i["item_id"],
                                                                                                "in_stock"]]
    assert cheap, "the demo shop's best sellers include cheap items"
    return cheap[:1]


def test_cart_top_up_closes_the_gap_to_free_delivery(http: httpx.Client, items: pd.DataFrame) -> None:
    cart = cheap_cart(items, http)
    total = round(float(items.loc[cart, "price"].sum()), 2)
    threshold = round(total + 40.0, 2)
    together = {i["item_id"] for i in ok(http.post("/bought_together", json={"item_ids": cart, "k": 100}))["items"]}
    for customer in ("C000003", "never-seen"):  # a known customer and one the model has never seen (cart only)
        answer = ok(http.post("/recommend", json={"customer_id": customer, "k": 8, "cart": cart,
                                                   "free_delivery_threshold": threshold}))
        assert answer["free_delivery"] == {"threshold": threshold, "cart_total": total, "gap": 40.0,
                                           "unpriced_items": []}
        top = [i for i in answer["items"] if i["reason"].endswith(": free delivery")]
        assert 1 <= len(top) <= 3 and answer["items"][:len(top)] == top  # the top-up items lead
        for pick in top:
            price = float(items.at[pick["item_id"], "price"])
            assert 40.0 <= price <= 40.0 + MARGIN and bool(items.at[pick["item_id"], "in_stock"])
            assert pick["reason"] == f"adds {price:.2f}: free delivery" and pick["item_id"] not in cart
            assert pick["item_id"] in together or items.at[pick["item_id"], "category"] in set(
                items.loc[cart, "category"])
        assert len(answer["items"]) == 8 and len({i["item_id"] for i in answer["items"]}) == 8
    assert answer["fallback"] is True
    russian = ok(http.post("/recommend?lang=ru", json={"customer_id": "never-seen", "k": 8, "cart": cart,
                                                        "free_delivery_threshold": threshold}))
    assert russian["items"][0]["reason"].endswith("к корзине: доставка бесплатно")
    assert russian["items"][0]["reason"].startswith("+" + top[0]["reason"].split()[1].rstrip(":"))


def test_a_cart_over_the_threshold_gets_the_usual_picks(http: httpx.Client, items: pd.DataFrame) -> None:
    cart = cheap_cart(items, http)
    usual = ok(http.post("/recommend", json={"customer_id": "C000004", "k": 6, "cart": cart}))
    assert "free_delivery" not in usual  # no threshold sent, none configured
    over = ok(http.post("/recommend", json={"customer_id": "C000004", "k": 6, "cart": cart,
                                             "free_delivery_threshold": 1.0}))
    assert over["free_delivery"]["gap"] == 0.0 and over["items"] == usual["items"]
    unknown = ok(http.post("/recommend", json={"customer_id": "C000004", "k": 6, "cart": [*cart, "no-such-item"],
                                                "free_delivery_threshold": 1.0}))
    assert unknown["free_delivery"]["unpriced_items"] == ["no-such-item"]
    refused = http.post("/recommend", json={"customer_id": "C000004", "free_delivery_threshold": -5})
    assert refused.status_code == 422 and "free_delivery_threshold" in refused.json()["detail"]


def test_the_configured_threshold_applies_and_a_live_cart_counts(http: httpx.Client, work: Path,
                                                                   items: pd.DataFrame) -> None:
    cart = cheap_cart(items, http)
    config = small_config() | {"storefront": {"free_delivery_threshold": 1000.0}}
    (work / "small.yaml").write_text(yaml.safe_dump(config))
    try:
        reload(http)
        ok(http.post("/events", json={"customer_id": "live-cart", "event_type": "cart_add", "item_id": cart[0]}))
        answer = ok(http.post("/recommend", json={"customer_id": "live-cart", "k": 4}))  # the cart is live only
        total = round(float(items.at[cart[0], "price"]), 2)
        assert answer["free_delivery"] == {"threshold": 1000.0, "cart_total": total, "gap": round(1000.0 - total, 2),
                                           "unpriced_items": []}
        marketer = ok(http.post("/customer_picks", headers=MARKETER, json={"customer_id": "live-cart", "k": 4}))
        assert marketer["free_delivery"]["threshold"] == 1000.0
    finally:
        (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
        reload(http)


@pytest.fixture(scope="module")
def history(work: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shop's purchase lines and site events."""
    lines = pd.read_parquet(work / "data" / "transactions.parquet", columns=["customer_id", "item_id", "quantity"])
    events = pd.read_parquet(work / "data" / "events.parquet")
    return lines[lines["quantity"] > 0], events


def test_reminders_from_the_shop(http: httpx.Client, items: pd.DataFrame,
                                 history: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    lines, events = history
    bought = lines.groupby("customer_id")["item_id"].agg(set)
    recent = events[events["timestamp"] >= events["timestamp"].max() - pd.Timedelta(days=25)]
    viewers = sorted(set(recent.loc[recent["event_type"] == "view", "customer_id"]) & set(bought.index))[:30]
    kinds_seen: set[str] = set()
    for customer in viewers:
        answer = ok(http.post("/reminders", json={"customer_id": customer, "k": 8}))
        mine = events[events["customer_id"] == customer]
        ranks = [("cart", "wishlist", "viewed", "popular").index(i["kind"]) for i in answer["items"]]
        assert ranks == sorted(ranks) and answer["items"], customer  # cart, wish list, viewed, then popular
        for item in answer["items"]:
            kinds_seen.add(item["kind"])
            assert item["item_id"] not in bought[customer] and bool(items.at[item["item_id"], "in_stock"])
            done = {"cart": "cart_add", "wishlist": "wishlist_add", "viewed": "view"}.get(item["kind"])
            if done is not None:
                assert item["item_id"] in set(mine.loc[mine["event_type"] == done, "item_id"])
            assert item["reason"] == {"cart": "still in your cart", "wishlist": "on your wish list",
                                      "viewed": "you looked at it recently"}.get(
                item["kind"], f"bought by others lately in {items.at[item['item_id'], 'category']}")
    assert {"viewed", "popular"} <= kinds_seen


def test_reminders_follow_live_events_at_once(http: httpx.Client, items: pd.DataFrame) -> None:
    in_stock = items.index[items["in_stock"].astype(bool)].tolist()
    viewed, wished, carted = in_stock[:3]
    gone = items.index[~items["in_stock"].astype(bool)][0]
    customer = "reminded-live"
    assert ok(http.post("/reminders", json={"customer_id": customer}))["items"] == []  # nothing known yet
    events = [{"customer_id": customer, "event_type": t, "item_id": i} for t, i in (
        ("view", gone), ("view", viewed), ("wishlist_add", wished), ("cart_add", carted))]
    ok(http.post("/events", json={"events": events}))
    answer = ok(http.post("/reminders", json={"customer_id": customer, "k": 5}))["items"]
    assert [(i["item_id"], i["kind"]) for i in answer[:3]] == [(carted, "cart"), (wished, "wishlist"),
                                                                (viewed, "viewed")]
    assert gone not in {i["item_id"] for i in answer}  # out of stock: never
    assert all(i["kind"] == "popular" for i in answer[3:])
    ok(http.post("/events", json={"customer_id": customer, "event_type": "purchase", "item_id": wished}))
    after = ok(http.post("/reminders?lang=ru", json={"customer_id": customer, "k": 5}))["items"]
    assert wished not in {i["item_id"] for i in after}  # bought: gone at once
    assert [i["reason"] for i in after[:2]] == ["всё ещё в вашей корзине", "вы недавно смотрели"]
    assert http.post("/reminders", json={"customer_id": customer}, headers={"Authorization": "Bearer x"}
                     ).status_code == 401


def test_the_reminders_audience_matches_the_cli(http: httpx.Client, work: Path) -> None:
    assert http.post("/audiences/reminders", json={}).status_code == 401  # the marketer's key, not the storefront's
    served = ok(http.post("/audiences/reminders", headers=MARKETER, json={"limit": 5000}))
    assert served["campaign"] == "reminders" and served["total"] == len(served["customers"]) > 20
    held = [row["control"] for row in served["customers"]]
    assert 0 < sum(held) < len(held) and all(row["items"] == "" for row in served["customers"] if row["control"])
    values = [row["value_at_stake"] for row in served["customers"]]
    assert values == sorted(values, reverse=True)
    result = CliRunner().invoke(app, ["campaigns", "--data", "data", "--out", "campaigns", "--config", "small.yaml"])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(work / "campaigns" / "reminders.csv", dtype={"customer_id": str, "items": str},
                          keep_default_na=False)
    manifest = pd.read_csv(work / "campaigns" / "manifest.csv", dtype=str)
    assert written["customer_id"].tolist() == [row["customer_id"] for row in served["customers"]]
    assert written["control"].tolist() == held
    assert set(manifest.loc[manifest["campaign"] == "reminders", "customer_id"]) == set(written["customer_id"])
    for row, items in zip(served["customers"], written["items"], strict=True):
        assert items.startswith(row["items"])  # the CLI adds personal picks after the reminded items


def test_an_experiment_finds_the_better_challenger_and_promotes_it(http: httpx.Client, work: Path, redis: Redis,
                                                                    items: pd.DataFrame) -> None:
    """The simulated shoppers of the challenger's arm follow its picks twice as often; the results must find the
    known effect inside their 95% interval, and stop --promote must make it the champion."""
    import json

    import numpy as np
    from mlflow import MlflowClient

    from features.campaigns.control import draw

    client = MlflowClient()
    first = client.get_model_version("recommender", "1")
    client.create_model_version("recommender", first.source, first.run_id)  # version 2: the challenger
    env = {"RETENTION_REDIS_URL": redis.url}  # the experiment lives where the service reads it
    runner = CliRunner()
    started = runner.invoke(app, ["experiment", "start", "--name", "sim", "--challenger", "2", "--share", "0.5",
                                  "--data", "data"], env=env)
    assert started.exit_code == 0, started.output
    again = runner.invoke(app, ["experiment", "start", "--name", "other", "--challenger", "2", "--data", "data"],
                          env=env)
    assert again.exit_code != 0 and "is still running" in again.output
    customers = sorted(pd.read_parquet(work / "data" / "transactions.parquet")["customer_id"].unique())[:800]
    arm_of = {c: "challenger" if draw("experiment:sim", c, 0) < 0.5 else "champion" for c in customers}
    probe = next(c for c in customers if arm_of[c] == "challenger")
    while ok(http.post("/recommend", json={"customer_id": probe}))["arm"] != "challenger":
        threading.Event().wait(0.5)  # every worker follows the store within a second (the test's timeout bounds it)
    follow = {"champion": 0.2, "challenger": 0.4}  # how often a shopper buys the first pick
    rng = np.random.default_rng(7)
    expected: dict[str, list[float]] = {"champion": [], "challenger": []}
    shown = {"champion": 0, "challenger": 1}  # the probe that saw the challenger was shown a list
    catalogue = items.index[items["in_stock"].astype(bool)].tolist()
    for customer in customers:
        answer = ok(http.post("/recommend", json={"customer_id": customer, "k": 5}))
        arm = answer["arm"]
        assert arm == arm_of[customer] and answer["model_version"] == {"champion": "1", "challenger": "2"}[arm]
        shown[arm] += 1
        first_pick = answer["items"][0]["item_id"]
        other = catalogue[int(rng.integers(len(catalogue)))]
        expected[arm].append(follow[arm] * items.at[first_pick, "price"] + 0.1 * items.at[other, "price"])
        events = []
        if rng.random() < follow[arm]:
            events += [{"customer_id": customer, "event_type": t, "item_id": first_pick} for t in ("cart_add",
                                                                                                      "purchase")]
        if rng.random() < 0.1:  # a purchase the picks did not cause, in both arms
            events.append({"customer_id": customer, "event_type": "purchase", "item_id": other})
        if events:
            ok(http.post("/events", json={"events": events}))
    ok(http.post("/customer_picks", headers=MARKETER, json={"customer_id": probe}))  # not a list shown
    threading.Event().wait(1.5)  # the shown lists reach their file within FLUSH_SECONDS
    found = runner.invoke(app, ["experiment", "results", "--name", "sim", "--data", "data", "--json"], env=env)
    assert found.exit_code == 0, found.output
    figures = json.loads(found.output)
    arms = figures["arms"]
    assert {arm: arms[arm]["lists_shown"] for arm in shown} == shown
    assert arms["challenger"]["click_through"] > arms["champion"]["click_through"] > 0
    truth = float(np.mean(expected["challenger"]) / np.mean(expected["champion"]) - 1)
    _, low, high = figures["relative_revenue"]
    assert low <= truth <= high and low > 0, (truth, figures)
    assert figures["sentence"].startswith("the challenger sells") and figures["sentence"].endswith(
        ": the challenger is better")
    stopped = runner.invoke(app, ["experiment", "stop", "--name", "sim", "--data", "data", "--promote"], env=env)
    assert stopped.exit_code == 0 and "recommender v2 is the champion" in stopped.output, stopped.output
    assert str(client.get_model_version_by_alias("recommender", "champion").version) == "2"
    while ok(http.post("/recommend", json={"customer_id": probe}))["arm"] != "champion":
        threading.Event().wait(0.5)  # stopped: everyone gets the champion again
    reload(http)
    assert ok(http.post("/recommend", json={"customer_id": probe}))["model_version"] == "2"
