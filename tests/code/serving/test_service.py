"""The BentoML service as a storefront and a marketer use it: a real `retention serve` on a small trained shop.

One training run and one server per module; the last test kills the server with SIGKILL and starts it again.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest
import yaml

from serving.journal import read_journal
from serving.routes import ROUTES
from tests.code.serving.server import (
    ADMIN,
    ADMIN_KEY,
    API_KEY,
    BENTOML,
    KEYS,
    MARKETER,
    RETENTION,
    STOREFRONT,
    STOREFRONT_KEY,
    Server,
    free_port,
    launch,
    start,
    trained_shop,
)

pytestmark = pytest.mark.integration  # trains, then runs bentoml serve for real

MAX_BODY = 300_000
REPOSITORY = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def work(module_registry: Path) -> Path:
    return trained_shop(module_registry, 1000, seed=13)


@pytest.fixture(scope="module")
def server(work: Path) -> Iterator[Server]:
    running = start(work, work / "data", work / "small.yaml", {"RETENTION_MAX_BODY": str(MAX_BODY)})
    yield running
    running.kill()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client(**STOREFRONT) as client:  # the storefront's key; marketer and admin calls name theirs
        yield client


@pytest.fixture(scope="module")
def bought(work: Path) -> dict[str, set[str]]:
    lines = pd.read_parquet(work / "data" / "transactions.parquet", columns=["customer_id", "item_id"])
    return lines.groupby("customer_id")["item_id"].agg(set).to_dict()


@pytest.fixture(scope="module")
def categories(work: Path) -> dict[str, str]:
    items = pd.read_parquet(work / "data" / "items.parquet")
    return dict(zip(items["item_id"], items["category"], strict=True))


def ok(response: httpx.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def test_health_docs_and_metrics(http: httpx.Client) -> None:
    assert http.get("/livez").status_code == 200 and http.get("/readyz").status_code == 200
    docs = ok(http.get("/docs.json"))
    assert {r.path for r in ROUTES} <= set(docs["paths"]) and "RecommendRequest" in docs["components"]["schemas"]
    http.post("/recommend", json={"customer_id": "C000001"})
    metrics = http.get("/metrics").text  # no RETENTION_METRICS_KEY set: open to the scraper
    assert 'retention_requests_total{route="/recommend",status="200"}' in metrics
    assert "retention_request_seconds_bucket" in metrics


def test_recommend_a_known_customer(http: httpx.Client, bought: dict[str, set[str]]) -> None:
    customers = sorted(bought)[:20]
    for customer in customers:
        answer = ok(http.post("/recommend", json={"customer_id": customer, "k": 5}))
        assert answer["customer_id"] == customer and answer["fallback"] is False and answer["model_version"] == "1"
        assert len(answer["items"]) == 5 and all(item["reason"] for item in answer["items"])
        scores = [item["score"] for item in answer["items"]]
        assert scores == sorted(scores, reverse=True)
        again = [i for i in answer["items"] if i["item_id"] in bought[customer]]
        assert all(i["reason"] == "time to buy again" for i in again)  # a bought item only as a due re-buy


def test_unknown_customer_gets_cart_based_or_popular_picks(http: httpx.Client, categories: dict[str, str]) -> None:
    popular = ok(http.post("/recommend", json={"customer_id": "never-seen", "k": 4}))
    assert popular["fallback"] is True and len(popular["items"]) == 4
    cart = ok(http.post("/bought_together", json={"item_ids": [popular["items"][0]["item_id"]], "k": 1}))["items"]
    anchor = popular["items"][0]["item_id"]
    with_cart = ok(http.post("/recommend", json={"customer_id": "never-seen", "k": 4, "cart": [anchor]}))
    assert with_cart["fallback"] is True and anchor not in {i["item_id"] for i in with_cart["items"]}
    assert any(anchor in i["reason"] for i in with_cart["items"]) or not cart
    category = categories[popular["items"][0]["item_id"]]
    only = ok(http.post("/recommend", json={"customer_id": "never-seen", "k": 3, "category": category}))
    assert only["items"] and all(categories[i["item_id"]] == category for i in only["items"])


def test_item_page_lists(http: httpx.Client, categories: dict[str, str]) -> None:
    anchor = ok(http.post("/recommend", json={"customer_id": "nobody", "k": 1}))["items"][0]["item_id"]
    for path, body in (("/bought_together", {"item_ids": [anchor, "no-such-item"], "k": 3}),
                       ("/similar_items", {"item_id": anchor, "k": 3}), ("/upsell", {"item_id": anchor, "k": 3})):
        answer = ok(http.post(path, json=body))
        assert 0 < len(answer["items"]) <= 3 and anchor not in {i["item_id"] for i in answer["items"]}
        assert answer["model_version"] == "1"
    assert ok(http.post("/bought_together", json={"item_ids": [anchor, "no-such-item"]}))["unknown_items"] == [
        "no-such-item"]
    upsell = ok(http.post("/upsell", json={"item_id": anchor, "k": 3}))["items"]
    assert all(categories[i["item_id"]] == categories[anchor] for i in upsell)


def test_events_change_the_next_answer_and_are_journaled(http: httpx.Client, work: Path) -> None:
    customer = "C000007"
    first = ok(http.post("/recommend", json={"customer_id": customer, "k": 5}))["items"]
    top = first[0]["item_id"]
    assert ok(http.post("/events", json={"customer_id": customer, "event_type": "purchase", "item_id": top}))[
        "accepted"] == 1
    after = ok(http.post("/recommend", json={"customer_id": customer, "k": 5}))["items"]
    assert top not in {i["item_id"] for i in after}
    cart_item = first[1]["item_id"]
    batch = {"events": [{"customer_id": customer, "event_type": "view", "item_id": cart_item},
                        {"customer_id": customer, "event_type": "cart_add", "item_id": cart_item,
                         "timestamp": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}]}
    assert ok(http.post("/events", json=batch))["accepted"] == 2
    with_cart = ok(http.post("/recommend", json={"customer_id": customer, "k": 10}))["items"]
    assert cart_item not in {i["item_id"] for i in with_cart}
    assert any(cart_item in i["reason"] for i in with_cart)  # the live cart drives bought-together picks
    journal = [e for _, _, e in read_journal(work / "data" / "events_journal").events if e is not None]
    mine = [e for e in journal if e.customer_id == customer]
    assert [e.event_type for e in mine] == ["purchase", "view", "cart_add"] and mine[0].item_id == top


def test_customer_and_churn_risk(http: httpx.Client) -> None:
    one = ok(http.post("/customer", json={"customer_id": "C000003"}, headers=MARKETER))
    assert 0 <= one["churn_probability"] <= 1 and one["churn_risk"] in ("low", "medium", "high")
    assert one["segment"] and one["reasons"] and one["action"]["action"] in (
        "reactivation offer", "VIP perk", "cross-sell", "nothing") and one["action"]["rule"]
    for field in ("rfm_cell", "previous_segment", "is_golden_now", "golden_probability", "expected_value",
                  "expected_orders", "next_order_date", "best_weekday", "best_hour"):
        assert field in one
    missing = http.post("/customer", json={"customer_id": "nobody-here"}, headers=MARKETER)
    assert missing.status_code == 404 and "nobody-here" in missing.json()["detail"]
    many = ok(http.post("/churn_risk", json={"customer_ids": ["C000003", "C000004", "ghost"]}, headers=MARKETER))
    assert [c["customer_id"] for c in many["customers"]] == ["C000003", "C000004"] and many["unknown"] == ["ghost"]
    assert many["customers"][0] == one


@pytest.mark.parametrize(("headers", "status"), [
    ({}, 401), ({"Authorization": "Bearer wrong"}, 401), ({"X-API-Key": "wrong"}, 401),
    ({"Authorization": f"Bearer {ADMIN_KEY}"}, 401), ({"X-API-Key": STOREFRONT_KEY}, 401),
    ({"Authorization": f"Bearer {API_KEY}"}, 200),
    ({"X-API-Key": API_KEY}, 200)])
def test_customer_lists_need_the_key(server: Server, headers: dict[str, str], status: int) -> None:
    with server.client() as bare:  # only the headers of this case
        listed = bare.post("/churn_list", json={"limit": 5, "min_probability": 0.2}, headers=headers)
        segments = bare.get("/segments", headers=headers)
    assert listed.status_code == status and segments.status_code == status
    if status == 401:
        assert "RETENTION_API_KEY" in listed.json()["detail"]
        return
    rows = listed.json()["customers"]
    assert len(rows) == 5 and all(r["churn_probability"] >= 0.2 for r in rows)
    assert [r["expected_lost_value"] for r in rows] == sorted((r["expected_lost_value"] for r in rows), reverse=True)
    table = segments.json()["segments"]
    assert abs(sum(s["share"] for s in table) - 1) < 0.01 and abs(sum(s["revenue_share"] for s in table) - 1) < 0.01


def test_churn_list_as_csv_and_filters(http: httpx.Client) -> None:
    key = MARKETER  # replaces the client's storefront Authorization header
    csv = http.post("/churn_list", json={"limit": 3, "format": "csv"}, headers=key)
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("customer_id,expected_lost_value") and len(csv.text.splitlines()) == 4
    assert ok(http.post("/churn_list", json={"min_probability": 1}, headers=key))["customers"] == []
    wrong = http.post("/churn_list", json={"segment": "Nope"}, headers=key)
    assert wrong.status_code == 422 and "segments present" in wrong.json()["detail"]


ID = "C000001"
BAD = [
    ("missing field", "/recommend", {"k": 3}, 422, "customer_id: Field required"),
    ("wrong type", "/recommend", {"customer_id": 42}, 422, "customer_id"),
    ("false is not a number", "/recommend", {"customer_id": ID, "k": False}, 422, "k: Input should be a valid int"),
    ("k=0", "/recommend", {"customer_id": ID, "k": 0}, 422, "greater than or equal to 1"),
    ("k=1000", "/similar_items", {"item_id": "I00001", "k": 1000}, 422, "less than or equal to 100"),
    ("extra key", "/customer", {"customer_id": ID, "admin": True}, 422, "Extra inputs are not permitted"),
    ("10,000 ids", "/churn_risk", {"customer_ids": [f"C{i:06d}" for i in range(10_000)]}, 422, "at most 1000"),
    ("unknown event type", "/events", {"customer_id": ID, "event_type": "dance", "item_id": "I1"}, 422, "'view'"),
    ("1,001 events", "/events", {"events": [{"customer_id": ID, "event_type": "view", "item_id": "I1"}] * 1001},
     422, "at most 1000"),
    ("not JSON", "/recommend", b"customer_id=C000001", 400, "JSON"),
    ("not an object", "/recommend", b"[]", 422, "body: Input should be a JSON object"),
    ("empty body", "/customer", b"", 400, "JSON"),
    ("oversized body", "/events", b"[" + b" " * (MAX_BODY + 10) + b"]", 413, "300,000 bytes"),
]


@pytest.mark.parametrize(("path", "body", "status", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_gets_its_4xx(http: httpx.Client, path: str, body: object, status: int, says: str) -> None:
    key = MARKETER if path in ("/customer", "/churn_risk") else STOREFRONT
    response = http.post(path, content=body, headers={**key, "Content-Type": "application/json"}) if isinstance(
        body, bytes) else http.post(path, json=body, headers=key)
    assert response.status_code == status, response.text
    answer = response.json()
    assert set(answer) == {"error", "detail"} and says in answer["detail"] and "Traceback" not in answer["detail"]


def test_wrong_method_and_unknown_path(http: httpx.Client) -> None:
    assert http.get("/recommend").status_code == 405 and http.post("/nowhere", json={}).status_code == 404


def test_reload_under_concurrent_load_fails_no_request(http: httpx.Client, server: Server) -> None:
    admin = ADMIN
    assert http.post("/admin/reload").status_code == 401
    statuses: list[int] = []
    stop = threading.Event()

    def hammer(customer: str) -> None:
        with server.client() as client:
            while not stop.is_set():
                statuses.append(client.post("/recommend", json={"customer_id": customer, "k": 5},
                                            headers=STOREFRONT).status_code)
                statuses.append(client.post("/customer", json={"customer_id": "C000003"},
                                            headers=MARKETER).status_code)

    threads = [threading.Thread(target=hammer, args=(f"C{i:06d}",)) for i in range(1, 5)]
    for thread in threads:
        thread.start()
    try:
        started = http.post("/admin/reload", headers=admin)
        assert started.status_code == 202 and started.json()["status"] == "loading"
        assert http.post("/admin/reload", headers=admin).status_code == 409  # one at a time
        status = _wait_reload(http, admin)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert status["status"] == "reloaded" and status["versions"]["churn"] == "1"
    assert len(statuses) > 8 and set(statuses) == {200}


def _wait_reload(http: httpx.Client, admin: dict[str, str]) -> dict:
    while True:  # the reload either finishes or fails; the test's own timeout bounds a hang
        status = ok(http.get("/admin/reload", headers=admin))
        if status["status"] != "loading":
            return status
        threading.Event().wait(0.5)


@pytest.mark.parametrize(("key", "paths"), [
    (STOREFRONT_KEY, "^/(recommend|bought_together|similar_items|upsell|events)$"),
    (API_KEY, "^/(customer|customer_picks|churn_risk|churn_list|segments)$")], ids=["storefront", "marketer"])
def test_schemathesis_finds_no_server_error_and_no_schema_break(server: Server, key: str, paths: str) -> None:
    """Each role's routes with that role's key (the other routes answer 401 to it, which the tests below check)."""
    st = str(Path(sys.executable).with_name("st"))
    run = subprocess.run([st, "run", f"{server.url}/docs.json", "--checks", "not_a_server_error,"
                          "response_schema_conformance,status_code_conformance,content_type_conformance",
                          "-H", f"Authorization: Bearer {key}", "--max-examples", "8", "--workers", "1",
                          "--include-path-regex", paths, "--seed", "1"], capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "passed" in run.stdout


def test_events_survive_kill_9_and_a_model_missing_answers_409(work: Path, server: Server) -> None:
    with server.client(**STOREFRONT) as client:
        top = ok(client.post("/recommend", json={"customer_id": "C000011", "k": 3}))["items"][0]["item_id"]
        ok(client.post("/events", json={"customer_id": "C000011", "event_type": "purchase", "item_id": top}))
    server.kill(signal.SIGKILL)
    config = yaml.safe_load((work / "small.yaml").read_text())
    config["registry"]["churn_name"] = "never_trained"
    (work / "no_churn.yaml").write_text(yaml.safe_dump(config))
    again = start(work, work / "data", work / "no_churn.yaml")
    try:
        with again.client(**STOREFRONT) as client:
            picks = ok(client.post("/recommend", json={"customer_id": "C000011", "k": 10}))["items"]
            assert top not in {i["item_id"] for i in picks}  # the journaled purchase was replayed
            missing = client.post("/customer", json={"customer_id": "C000003"}, headers=MARKETER)
            assert missing.status_code == 409 and "retention train" in missing.json()["detail"]
            assert "never_trained" not in missing.text and "never_trained" in again.log.read_text()  # log only
            assert client.get("/segments", headers=MARKETER).status_code == 200
    finally:
        again.kill()


def test_a_bento_carries_the_champions_and_serves_offline(work: Path) -> None:
    """`make bento`'s two steps, then the Bento served with MLflow out of reach: the models come from the Bento."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}", "BENTOML_HOME": str(work / "bento"),
           "BENTOML_DO_NOT_TRACK": "true", "RETENTION_MODELS": "bento"}
    for args, cwd in (([RETENTION, "export-models", "--config", str(work / "small.yaml")], work),
                      ([BENTOML, "build", "-f", "serving/bentofile.yaml", "."], REPOSITORY)):
        done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    shown = subprocess.run([BENTOML, "get", "retention:latest", "-o", "json"], env=env, capture_output=True, text=True)
    packed = {model["tag"].split(":")[0] for service in json.loads(shown.stdout)["services"]
              for model in service["models"]}
    assert packed == {"retention-churn", "retention-golden", "retention-value", "retention-recommender"}
    port = free_port()
    offline = {**env, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'no_such_folder' / 'mlflow.db'}",
               "RETENTION_DATA": str(work / "data"), "RETENTION_CONFIG": str(work / "small.yaml"), **KEYS}
    bento = launch([BENTOML, "serve", "retention:latest", "--port", str(port)], work, offline, port)
    try:
        with bento.client(**STOREFRONT) as client:
            assert ok(client.post("/recommend", json={"customer_id": "C000011", "k": 3}))["items"]
            assert ok(client.post("/customer", json={"customer_id": "C000011"}, headers=MARKETER))["churn_risk"] in (
                "low", "medium", "high")
    finally:
        bento.kill()
    assert not (work / "no_such_folder").exists()  # MLflow was never opened
