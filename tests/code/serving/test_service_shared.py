"""The service as a shop runs it in production: two workers of a real `retention serve` sharing a real redis-server.

Every route refuses without its key and with another role's key; POST bodies must be JSON; no error body says
anything about the machine; an event posted to one worker changes the next answer of the other; a reload asked of
one worker reaches both; kill -9 of a worker and of Redis loses no acknowledged event; 20 reloads under load do
not grow memory past 10%. Which worker answered is in the ``x-retention-worker`` header.
"""

from __future__ import annotations

import ctypes.util
import re
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest

from serving import schemas as S
from serving.routes import ROUTES
from tests.code.serving.server import (
    ADMIN,
    ADMIN_KEY,
    API_KEY,
    MARKETER,
    STOREFRONT,
    STOREFRONT_KEY,
    Redis,
    Server,
    start,
    trained_shop,
)

pytestmark = pytest.mark.integration  # trains, then runs bentoml serve with two workers and redis-server

METRICS_KEY = "test-metrics-key"
PER_MINUTE = 50
KEY_OF = {"storefront": STOREFRONT_KEY, "api": API_KEY, "admin": ADMIN_KEY, "metrics": METRICS_KEY}
WAIT = 120  # seconds for what another worker does in the background (no assertion depends on the time taken)
BODIES = {  # a valid body of each route that takes one
    "/recommend": {"customer_id": "C000001", "k": 3}, "/customer_picks": {"customer_id": "C000001", "k": 3},
    "/bought_together": {"item_ids": ["I00001"]}, "/similar_items": {"item_id": "I00001"},
    "/upsell": {"item_id": "I00001"}, "/events": {"customer_id": "C-keys", "event_type": "view", "item_id": "I00001"},
    "/customer": {"customer_id": "C000001"}, "/churn_risk": {"customer_ids": ["C000001"]},
    "/churn_list": {"limit": 1}, "/reminders": {"customer_id": "C000001", "k": 3},
    "/audiences/reminders": {"limit": 1}}


@pytest.fixture(scope="module")
def work(module_registry: Path) -> Path:
    return trained_shop(module_registry, 600, seed=17)


@pytest.fixture(scope="module")
def server(work: Path, redis: Redis) -> Iterator[Server]:
    extra = {"RETENTION_REDIS_URL": redis.url, "RETENTION_METRICS_KEY": METRICS_KEY,
             "RETENTION_EVENTS_PER_MINUTE": str(PER_MINUTE), "RETENTION_MAX_BODY": "100000"}
    running = start(work, work / "data", work / "small.yaml", extra, workers=2)
    yield running
    running.kill()


def call(server: Server, method: str, path: str, headers: dict[str, str], body: object = None) -> httpx.Response:
    """One request on a fresh connection (so either worker may answer it)."""
    with server.client() as client:
        return client.request(method, path, json=body, headers=headers)


def key(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY_OF[role]}"}


def test_every_route_refuses_without_its_key_and_with_another_roles(server: Server) -> None:
    routes = [(r.method, r.path, r.key) for r in ROUTES] + [("GET", "/metrics", "metrics")]
    for method, path, role in routes:
        body = BODIES.get(path)
        for headers in ({}, {"Authorization": "Bearer nope"}, *(key(other) for other in KEY_OF if other != role)):
            refused = call(server, method, path, headers, body)
            assert refused.status_code == 401, (path, headers, refused.text)
            assert refused.json()["error"] == "unauthorized"
        for header in ({"X-API-Key": KEY_OF[role]}, key(role)):
            taken = call(server, method, path, header, body).status_code
            assert taken in (200, 202) or (path, taken) == ("/admin/reload", 409), (path, header)  # 409: running
    for path in ("/livez", "/readyz", "/docs.json", "/ui/"):  # open
        assert call(server, "GET", path, {}).status_code == 200, path


def test_post_bodies_must_be_json(server: Server) -> None:
    for route in ROUTES:
        if route.request is None:
            continue
        with server.client() as client:
            sent = client.post(route.path, content=b'{"customer_id": "C000001"}',
                               headers={**key(route.key), "Content-Type": "text/plain"})
        assert sent.status_code == 415, (route.path, sent.text)
        assert "application/json" in sent.json()["detail"]


TYPE_NAMES = {m.__name__ for m in vars(S).values() if isinstance(m, type)} | {
    "NoneType", "dict", "tuple", "str", "SecretStr", "ValidationError"}
LEAK = re.compile(r"://|(?:^|[\s'\"(=])/[\w.-]+/[\w./-]*|\.py\b|Traceback|\b\w+(?:Error|Exception)\b|<class")


def leaks(body: str, folders: list[Path]) -> list[str]:
    """What in an error body tells a stranger about the machine: paths, URIs, Python type names."""
    text = body
    for route in {*(r.path for r in ROUTES), "/ui", "/docs.json", "/readyz", "/livez", "/metrics"}:
        text = text.replace(route, "")
    found = [m.group(0) for m in LEAK.finditer(text)] + [str(f) for f in folders if str(f) in body]
    return found + [name for name in TYPE_NAMES if re.search(rf"\b{name}\b", text)]


def test_error_bodies_are_clean(server: Server, work: Path) -> None:
    json_header = {"Content-Type": "application/json"}
    store, marketer = {**STOREFRONT, **json_header}, {**MARKETER, **json_header}
    cases: list[tuple[int, str, str, dict[str, str], bytes]] = [
        (401, "POST", "/customer", {}, b'{"customer_id": "C000001"}'),
        (401, "GET", "/metrics", {}, b""),
        (415, "POST", "/recommend", {**STOREFRONT, "Content-Type": "text/plain"}, b"{}"),
        (400, "POST", "/recommend", store, b"customer_id=C1"),
        (400, "POST", "/customer", marketer, b""),
        (422, "POST", "/recommend", store, b"[]"),
        (422, "POST", "/recommend", store, b'{"customer_id": 1, "k": false, "x": null}'),
        (422, "POST", "/events", store, b'{"events": [1, {"customer_id": "c"}]}'),
        (422, "POST", "/churn_list", marketer, b'{"segment": "Nope"}'),
        (404, "POST", "/customer", marketer, b'{"customer_id": "/etc/passwd"}'),
        (405, "GET", "/recommend", STOREFRONT, b""),
        (404, "GET", "/no/such/path", {}, b""),
        (413, "POST", "/events", store, b"[" + b" " * 200_000 + b"]"),
    ]
    for status, method, path, headers, body in cases:
        with server.client() as client:
            answer = client.request(method, path, content=body, headers=headers)
        assert answer.status_code == status, (path, answer.text)
        shown = answer.text.replace("/etc/passwd", "")  # the id sent, echoed back: not the machine's
        assert not leaks(shown, [work]), (path, answer.text)


def served_by(response: httpx.Response) -> str:
    return response.headers["x-retention-worker"]


def answers_from_both(server: Server, method: str, path: str, headers: dict[str, str], body: object = None
                      ) -> dict[str, httpx.Response]:
    """Ask on fresh connections until each worker has answered once; return worker -> its answer."""
    seen: dict[str, httpx.Response] = {}
    deadline = time.monotonic() + WAIT
    while len(seen) < 2 and time.monotonic() < deadline:
        response = call(server, method, path, headers, body)
        if response.status_code == 200:  # a worker just restarted answers 503 until it has loaded
            seen.setdefault(served_by(response), response)
    assert len(seen) == 2, f"only worker(s) {sorted(seen)} answered"
    return seen


def test_an_event_on_one_worker_changes_the_next_answer_of_the_other(server: Server) -> None:
    body = {"customer_id": "C000005", "k": 5}
    before = {w: r.json()["items"] for w, r in answers_from_both(server, "POST", "/recommend", STOREFRONT,
                                                                   body).items()}
    top = next(iter(before.values()))[0]["item_id"]
    posted = call(server, "POST", "/events", STOREFRONT, {"customer_id": "C000005", "event_type": "purchase",
                                                          "item_id": top})
    assert posted.status_code == 200 and posted.json() == {"accepted": 1}
    after = answers_from_both(server, "POST", "/recommend", STOREFRONT, body)
    for worker, answer in after.items():  # the worker that did not take the event too, on its next answer
        assert top not in {i["item_id"] for i in answer.json()["items"]}, worker


def similar_items_counted(server: Server) -> float:
    """/similar_items answers with status 200 in the /metrics scrape (whichever worker answers it)."""
    scrape = call(server, "GET", "/metrics", {"Authorization": f"Bearer {METRICS_KEY}"})
    assert scrape.status_code == 200
    line = re.search(r'^retention_requests_total\{route="/similar_items",status="200"\} (\S+)$', scrape.text, re.M)
    return float(line.group(1)) if line else 0.0


def test_metrics_count_the_requests_of_both_workers(server: Server) -> None:
    before = similar_items_counted(server)
    sent, workers = 0, set()
    while len(workers) < 2 or sent < 10:
        answer = call(server, "POST", "/similar_items", STOREFRONT, {"item_id": "I00002"})
        if answer.status_code == 200:
            sent, workers = sent + 1, workers | {served_by(answer)}
        assert sent + len(workers) < 400, "one worker answered every request"
    for _ in range(4):  # every scrape, from either worker, counts both workers' requests
        assert similar_items_counted(server) - before == sent


def test_events_per_customer_per_minute_are_limited(server: Server) -> None:
    batch = {"events": [{"customer_id": "C-busy", "event_type": "view", "item_id": "I00001"}] * (PER_MINUTE + 1)}
    refused = call(server, "POST", "/events", STOREFRONT, batch)
    assert refused.status_code == 429 and 1 <= int(refused.headers["retry-after"]) <= 60
    other = {"events": [{"customer_id": "C-calm", "event_type": "view", "item_id": "I00001"}] * PER_MINUTE}
    assert call(server, "POST", "/events", STOREFRONT, other).status_code == 200  # per customer, not global


def wait_reloaded(server: Server, generation: int) -> None:
    """Until both workers say they loaded ``generation`` (a reload asked of one reaches both)."""
    deadline = time.monotonic() + WAIT
    done: set[str] = set()
    while len(done) < 2:
        assert time.monotonic() < deadline, f"only worker(s) {sorted(done)} reloaded generation {generation}"
        answer = call(server, "GET", "/admin/reload", ADMIN)
        status = answer.json()
        if status["generation"] >= generation and status["status"] == "reloaded":
            done.add(served_by(answer))
        else:
            time.sleep(0.2)


def reload_once(server: Server) -> int:
    while True:  # 409 while another reload runs on the worker asked
        asked = call(server, "POST", "/admin/reload", ADMIN)
        if asked.status_code == 202:
            return int(asked.json()["generation"])
        assert asked.status_code == 409, asked.text
        time.sleep(0.5)


def test_a_reload_reaches_both_workers(server: Server) -> None:
    first = answers_from_both(server, "GET", "/admin/reload", ADMIN)
    start_generation = max(r.json()["generation"] for r in first.values())
    reload_once(server)  # a worker still following an earlier reload answers 409 first
    wait_reloaded(server, start_generation + 1)


def rss(server: Server) -> int:
    """Resident memory of the server's processes (the workers and their parent)."""
    processes = [psutil.Process(server.process.pid), *psutil.Process(server.process.pid).children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running())


def test_twenty_reloads_under_load_keep_memory_within_ten_percent(server: Server) -> None:
    stop = threading.Event()
    statuses: list[int] = []

    def load() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            body = {"customer_id": f"C{n % 600:06d}", "k": 5 + n % 10}
            statuses.append(call(server, "POST", "/recommend", STOREFRONT, body).status_code)

    threads = [threading.Thread(target=load) for _ in range(2)]
    for thread in threads:
        thread.start()
    try:
        wait_reloaded(server, reload_once(server))
        after_first = rss(server)
        for _ in range(19):
            wait_reloaded(server, reload_once(server))
        after_twenty = rss(server)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert after_twenty <= 1.10 * after_first, f"{after_first / 2**20:.0f} MB -> {after_twenty / 2**20:.0f} MB"
    assert statuses and set(statuses) == {200}
    if ctypes.util.find_library("jemalloc"):  # `retention serve` preloads it: every worker must have it mapped
        workers = psutil.Process(server.process.pid).children(recursive=True)
        assert workers and all("jemalloc" in Path(f"/proc/{w.pid}/maps").read_text() for w in workers)


def bought_shown(server: Server, customer: str, items: set[str]) -> bool:
    """True while some worker still offers one of ``items`` to ``customer``."""
    answers = answers_from_both(server, "POST", "/recommend", STOREFRONT, {"customer_id": customer, "k": 20})
    return any(items & {i["item_id"] for i in a.json()["items"]} for a in answers.values())


def test_kill_9_of_a_worker_and_of_redis_loses_no_acknowledged_event(server: Server, redis: Redis) -> None:
    customer = "C000009"
    picks = call(server, "POST", "/recommend", STOREFRONT, {"customer_id": customer, "k": 20}).json()["items"]
    first, second = picks[0]["item_id"], picks[1]["item_id"]
    assert call(server, "POST", "/events", STOREFRONT, {"customer_id": customer, "event_type": "purchase",
                                                        "item_id": first}).status_code == 200
    worker = psutil.Process(server.process.pid).children(recursive=True)[-1]
    worker.send_signal(signal.SIGKILL)  # a worker dies; the server starts another
    redis.kill(signal.SIGKILL)  # and Redis loses everything it held
    while_down = call(server, "POST", "/events", STOREFRONT, {"customer_id": customer, "event_type": "purchase",
                                                              "item_id": second})
    assert while_down.status_code == 200  # journaled (fsynced) before the answer, Redis or not
    redis.start()  # empty, on the same port
    deadline = time.monotonic() + WAIT
    while bought_shown(server, customer, {first, second}):  # the journal is replayed into Redis
        assert time.monotonic() < deadline, "the purchases did not come back after Redis restarted"
        time.sleep(0.5)
