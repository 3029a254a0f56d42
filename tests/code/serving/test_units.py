"""Pure parts of the service, without a server: the journal and its merge, actions, errors, keys, settings, docs."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from models.inference.config import ScoringConfig
from serving import schemas as S
from serving.config import Settings, run_sections, settings_from_env
from serving.customers import suggested_action
from serving.events import Journal, LiveEvent, LiveState, merge_journal, naive_local, replay
from serving.fastpath import _parsers, check_key, parse
from serving.openapi import openapi_document
from serving.routes import ROUTES, ApiError, Context


def event(customer: str, kind: str, item: str, minutes: int = 0) -> LiveEvent:
    return LiveEvent(customer, datetime(2026, 11, 2, 10) + timedelta(minutes=minutes), kind, item)


def test_journal_replays_in_time_order(tmp_path: Path) -> None:
    first = Journal(tmp_path)
    first.append([event("c1", "cart_add", "i1", 0), event("c1", "purchase", "i1", 5)])
    first.append([event("c2", "cart_add", "i9", 1), event("c1", "cart_add", "i2", 7)])
    first.close()
    state = LiveState()
    assert replay(tmp_path, state) == 4
    assert list(state.customers["c1"].cart) == ["i2"] and state.customers["c1"].bought == {"i1"}
    assert list(state.customers["c2"].cart) == ["i9"]
    assert json.loads(first.path.read_text().splitlines()[0])["customer_id"] == "c1"  # JSON lines, no header


def test_merge_appends_site_events_once(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    old = pd.DataFrame({"customer_id": ["c0"], "timestamp": pd.to_datetime(["2026-10-01 09:00"]),
                        "event_type": ["view"], "item_id": ["i0"]})
    old.to_parquet(data / "events.parquet", index=False)
    journal = Journal(data / "events_journal")
    journal.append([event("c1", "view", "i1"), event("c1", "purchase", "i1", 1), event("c1", "cart_add", "i2", 2)])
    assert merge_journal(data, data / "events_journal").merged == 2  # purchases stay in the journal
    assert merge_journal(data, data / "events_journal").merged == 0  # nothing twice
    journal.append([event("c3", "cart_remove", "i2", 3)])
    assert merge_journal(data, data / "events_journal").merged == 1  # lines written after a merge come next time
    merged = pd.read_parquet(data / "events.parquet")
    assert list(merged["event_type"]) == ["view", "view", "cart_add", "cart_remove"]
    assert merged["timestamp"].dtype == old["timestamp"].dtype and merged["customer_id"].tolist()[-1] == "c3"


def test_naive_local_time() -> None:
    aware = datetime(2026, 11, 2, 10, tzinfo=UTC)
    assert naive_local(aware).tzinfo is None and naive_local(aware) == aware.astimezone().replace(tzinfo=None)
    assert naive_local(None).tzinfo is None


ROW = {"churn_probability": 0.2, "churn_risk": "low", "is_golden_now": False, "golden_probability": 0.1,
       "expected_orders": 0.1, "dead_contact": False}


@pytest.mark.parametrize(("change", "action", "says"), [
    ({"churn_probability": 0.8, "churn_risk": "high"}, "reactivation offer", "80% is at least"),
    ({"churn_probability": 0.8, "dead_contact": True}, "nothing", "dead contact"),
    ({"is_golden_now": True}, "VIP perk", "golden now"),
    ({"golden_probability": 0.7}, "VIP perk", "70%"),
    ({"expected_orders": 1.5}, "cross-sell", "1.5 orders in the next 90 days"),
    ({}, "nothing", "no action worth its cost"),
])
def test_suggested_action_rules(change: dict, action: str, says: str) -> None:
    chosen = suggested_action({**ROW, **change}, ScoringConfig(), 90)
    assert chosen["action"] == action and says in chosen["rule"]


def parsed(path: str, body: bytes) -> object:
    return parse(_parsers()[("POST", path)][1], body)  # type: ignore[arg-type]


def test_parse_errors_say_what_and_where() -> None:
    with pytest.raises(ApiError) as bad:
        parsed("/recommend", b'{"customer_id": "c", "k": "3"}')
    assert bad.value.status == 422 and bad.value.detail == 'k: Input should be a valid integer (got "3")'
    with pytest.raises(ApiError) as bad:
        parsed("/events", b'{"events": [{"customer_id": "c", "event_type": "wave", "item_id": "i"}]}')
    assert bad.value.detail.startswith("events.0.event_type: Input should be 'view'")
    with pytest.raises(ApiError) as bad:
        parsed("/customer", b"{nope")
    assert bad.value.status == 400
    one = parsed("/events", b'{"customer_id": "c", "event_type": "view", "item_id": "i"}')
    assert isinstance(one, S.Event)


def test_key_check() -> None:
    ctx = Context(Settings(data=Path("."), api_key=SecretStr("k1")), None, LiveState(), None)  # type: ignore[arg-type]
    check_key({"headers": [(b"authorization", b"Bearer k1")]}, "api", ctx)
    check_key({"headers": [(b"x-api-key", b"k1")]}, "api", ctx)
    for headers in ([], [(b"authorization", b"Bearer k2")], [(b"x-api-key", b"k10")], [(b"authorization", b"k1")]):
        with pytest.raises(ApiError) as refused:
            check_key({"headers": headers}, "api", ctx)
        assert refused.value.status == 401
    with pytest.raises(ApiError) as off:
        check_key({"headers": [(b"authorization", b"Bearer k1")]}, "admin", ctx)
    assert "no RETENTION_ADMIN_KEY set" in off.value.detail


def test_settings_from_the_environment(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="RETENTION_DATA is not set"):
        settings_from_env({})
    with pytest.raises(ValueError, match="RETENTION_MAX_BODY"):
        settings_from_env({"RETENTION_DATA": "d", "RETENTION_MAX_BODY": "lots"})
    settings = settings_from_env({"RETENTION_DATA": str(tmp_path), "RETENTION_API_KEY": "k"})
    assert settings.journal == tmp_path / "events_journal" and settings.api_key is not None
    config = tmp_path / "run.yaml"
    config.write_text("registry: {churn_name: c2}\ntraining: {reasons_k: 5, horizon_days: 60}\nmodels: {}\n")
    sections = run_sections(config)
    assert sections.registry.churn_name == "c2" and sections.reasons_k == 5
    config.write_text("scoring: {risk_thresholds: [0.9, 0.1]}\n")
    with pytest.raises(ValueError, match="run.yaml"):
        run_sections(config)


def test_openapi_documents_every_route() -> None:
    doc = openapi_document()
    for route in ROUTES:
        operation = doc["paths"][route.path][route.method.lower()]
        assert str(route.ok) in operation["responses"] and all(str(c) in operation["responses"] for c in route.errors)
        assert ("security" in operation) == (route.key is not None)
    schemas = doc["components"]["schemas"]
    assert schemas["RecommendRequest"]["properties"]["k"]["maximum"] == 100
    assert {"Event", "EventBatch", "Error"} <= set(schemas)
