"""Pure parts of the service, without a server: the journal and its merge, actions, errors, keys, settings, docs."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from models.inference.config import ScoringConfig
from serving import schemas as S
from serving.config import Settings, masked, run_sections, settings_from_env
from serving.customers import suggested_action
from serving.events import Journal, LiveEvent, LiveState, merge_journal, naive_local, replay
from serving.fastpath import _parsers, check_key, parse
from serving.livestore import MemoryLive
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
    settings = Settings(data=Path("."), api_key=SecretStr("k1"), storefront_key=SecretStr("s1"))
    ctx = Context(settings, None, None, None)  # type: ignore[arg-type]
    check_key({"headers": [(b"authorization", b"Bearer k1")]}, "api", ctx)
    check_key({"headers": [(b"x-api-key", b"k1")]}, "api", ctx)
    for headers in ([], [(b"authorization", b"Bearer k2")], [(b"x-api-key", b"k10")], [(b"authorization", b"k1")],
                    [(b"authorization", b"Bearer s1")]):  # the storefront's key is not the marketer's
        with pytest.raises(ApiError) as refused:
            check_key({"headers": headers}, "api", ctx)
        assert refused.value.status == 401 and "k1" not in refused.value.detail
    with pytest.raises(ApiError) as off:  # a role without a key is closed, unless started --insecure-no-auth
        check_key({"headers": [(b"authorization", b"Bearer k1")]}, "admin", ctx)
    assert "RETENTION_ADMIN_KEY" in off.value.detail
    insecure = Context(settings.model_copy(update={"insecure_no_auth": True}), None, None, None)  # type: ignore
    check_key({"headers": []}, "admin", insecure)
    with pytest.raises(ApiError):
        check_key({"headers": []}, "api", insecure)  # a key that is set is still asked for


def test_keys_from_the_environment_are_trimmed_or_refused() -> None:
    env = {"RETENTION_DATA": "d", "RETENTION_STOREFRONT_KEY": " s1\n", "RETENTION_API_KEY": "m1"}
    settings = settings_from_env(env)
    assert settings.storefront_key is not None and settings.storefront_key.get_secret_value() == "s1"
    assert settings.unset_keys() == ["RETENTION_ADMIN_KEY"] and "m1" not in repr(settings)
    for bad in ("   ", "two words"):
        with pytest.raises(ValueError, match="RETENTION_API_KEY must be one word"):
            settings_from_env({**env, "RETENTION_API_KEY": bad})
    assert masked("redis://:secret@host:6379/0") == "redis://:***@host:6379/0"
    with pytest.raises(ValueError, match="RETENTION_LIVE_TTL_DAYS"):
        settings_from_env({**env, "RETENTION_LIVE_TTL_DAYS": "-1"})


def test_memory_live_state_expires_and_is_bounded() -> None:
    live = MemoryLive(Settings(data=Path("."), live_ttl_days=1, live_max_items=3))
    now = datetime.now()
    live.apply(LiveEvent("c1", now - timedelta(days=2), "cart_add", "old"))  # older than the TTL: not kept
    for i in range(5):
        live.apply(LiveEvent("c1", now - timedelta(minutes=10 - i), "cart_add", f"i{i}"))
    live.apply(LiveEvent("c1", now, "purchase", "i4"))
    live.apply(LiveEvent("c1", now - timedelta(days=2), "purchase", "p-old"))  # purchases are kept 4 x longer
    got = asyncio.run(live.read("c1"))
    assert got is not None and got.cart == ("i2", "i3") and got.bought == {"i4", "p-old"}  # the newest 3, less i4
    assert asyncio.run(live.read("nobody")) is None
    live.apply(LiveEvent("c2", now - timedelta(days=30), "view", "v"))
    assert "c2" not in live.lists  # nothing fresh: forgotten at once
    live.apply(LiveEvent("c3", pd.NaT, "cart_add", "x"))  # a journal time replay() could not parse
    assert "c3" not in live.lists


def test_memory_rate_limit_counts_per_customer() -> None:
    live = MemoryLive(Settings(data=Path(".")))
    assert asyncio.run(live.over_limit({"a": 3}, 5)) == 0
    wait = asyncio.run(live.over_limit({"a": 3, "b": 1}, 5))
    assert 1 <= wait <= 60 and asyncio.run(live.over_limit({"b": 5}, 5)) == 0


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
