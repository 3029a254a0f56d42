"""The web page ``/ui`` as a marketer uses it: a real `retention serve` on a small trained shop, in headless Chromium.

One training run and one server per module. Every test opens a fresh page and types the API key into the form,
as a person would; the answers on the page are checked against the same API called directly. Every request that
does not go to the service is refused and recorded, so a page that needed the internet would fail here.
Screenshots go to tests/artifacts/ui_en.png and ui_ru.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import yaml
from playwright.sync_api import Browser, Page, Route, expect
from typer.testing import CliRunner

from features.demo.shop import write_shop
from serving.report.i18n import RISK, SEGMENTS_RU, TASKS, Lang, Words
from tests.code.serving.server import API_KEY, Server, start
from tests.shared import ARTIFACTS, demo_tables, small_config
from training.cli.app import app

pytestmark = pytest.mark.integration  # trains, runs bentoml serve and drives a real browser

NBSP = "\u00a0"


@pytest.fixture(scope="module")
def server(module_registry: Path) -> Iterator[Server]:
    """The service on a trained 600-customer demo shop (small models: the machine is shared)."""
    work = module_registry
    write_shop(demo_tables(600, seed=29), work / "data", "parquet")
    (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
    result = CliRunner().invoke(app, ["train", "--data", "data", "--config", "small.yaml"])
    assert result.exit_code == 0, result.output
    running = start(work, work / "data", work / "small.yaml")
    yield running
    running.kill()


@pytest.fixture(scope="module")
def http(server: Server) -> Iterator[httpx.Client]:
    with server.client(Authorization=f"Bearer {API_KEY}") as client:
        yield client


class Visit:
    """One page of the browser, refusing every request that is not to the service; errors collected."""

    def __init__(self, browser: Browser, server: Server) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        self.page: Page = self.context.new_page()
        self.server = server
        self.outside: list[str] = []  # requests to anywhere but the service (refused)
        self.errors: list[str] = []  # uncaught script errors
        self.page.route("**/*", self._only_the_service)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _only_the_service(self, route: Route) -> None:
        if route.request.url.startswith(self.server.url):
            route.continue_()
        else:
            self.outside.append(route.request.url)
            route.abort()

    def open(self, query: str = "") -> Page:
        self.page.goto(f"{self.server.url}/ui{query}", wait_until="load")
        self.page.wait_for_function("document.documentElement.dataset.ready === 'yes'")  # its words are loaded
        return self.page

    def enter_key(self, key: str = API_KEY) -> None:
        self.page.fill("#api-key", key)
        self.submit("#key-form", "/churn_list", "#churn")

    def submit(self, form: str, path: str, section: str) -> None:
        """Submit ``form`` and wait for the answer of ``path`` to be on the page (``section`` no longer busy)."""
        with self.page.expect_response(lambda response: response.url.endswith(path)):
            self.page.click(f"{form} button[type=submit]")
        expect(self.page.locator(section)).to_have_attribute("aria-busy", "false")

    def close(self) -> None:
        self.context.close()
        assert self.outside == [], f"the page asked for more than the service: {self.outside}"
        assert self.errors == [], f"script errors: {self.errors}"


@pytest.fixture
def visit(browser: Browser, server: Server) -> Iterator[Visit]:
    opened = Visit(browser, server)
    yield opened
    opened.close()


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    return response.json()


def table_rows(page: Page) -> list[dict[str, str]]:
    """The churn-risk table as shown: each row's raw values (data-value), by column key."""
    return page.evaluate("""() => {
        const keys = [...document.querySelectorAll('#churn-table th')].map((th) => th.dataset.key);
        return [...document.querySelectorAll('#churn-table tbody tr')].map((tr) =>
            Object.fromEntries([...tr.cells].map((td, i) => [keys[i], td.dataset.value])));
    }""")


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / name
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000


def test_the_service_serves_the_page_and_its_assets(server: Server) -> None:
    with httpx.Client(base_url=server.url, follow_redirects=True) as client:
        page = client.get("/ui")
        assert page.status_code == 200 and page.url.path == "/ui/" and "text/html" in page.headers["content-type"]
        assert '<script src="app.js">' in page.text and 'href="style.css"' in page.text
        for asset, kind in (("app.js", "javascript"), ("style.css", "text/css")):
            answer = client.get(f"/ui/{asset}")
            assert answer.status_code == 200 and kind in answer.headers["content-type"]
            assert "http://" not in answer.text and "https://" not in answer.text  # nothing from elsewhere
        assert client.get("/ui?lang=ru").url.query == b"lang=ru"  # the redirect to /ui/ keeps the language


def test_key_errors_are_sentences_and_the_key_opens_the_segments(visit: Visit, http: httpx.Client) -> None:
    page = visit.open()
    expect(page.locator("#message")).to_contain_text("Enter the API key")
    visit.enter_key("not-the-key")
    for section in ("#segments", "#churn"):
        expect(page.locator(f"{section} .problem")).to_contain_text(
            "The service answered 401 (unauthorized): send the key of RETENTION_API_KEY")
        expect(page.locator(f"{section} .problem")).to_contain_text("Check the API key above.")
    visit.enter_key()
    expected = ok(http.get("/segments"))
    rows = page.locator("#segments-table tbody tr")
    expect(rows).to_have_count(len(expected["segments"]))
    expect(page.locator("#segments .problem")).to_be_hidden()
    shown = page.evaluate("[...document.querySelectorAll('#segments-table tbody tr')].map((tr) => "
                          "[tr.cells[0].dataset.value, Number(tr.cells[1].dataset.value)])")
    assert shown == [[s["segment"], s["customers"]] for s in expected["segments"]]
    golden = round(100 * expected["golden_revenue_share"])
    expect(page.locator("#segments-reading")).to_contain_text(f"the golden customers (top 20%) bring {golden}%")
    assert page.evaluate("sessionStorage.getItem('retention.apiKey')") == API_KEY
    page.reload()  # the key is kept for the tab: the page loads again without asking
    expect(rows).to_have_count(len(expected["segments"]))
    page.route(f"{visit.server.url}/segments", lambda route: route.abort())  # the service gone, for this call
    visit.enter_key()
    expect(page.locator("#segments .problem")).to_contain_text("Could not reach the service")
    expect(rows).to_have_count(0)  # nothing left over from the earlier answer
    page.click("#key-forget")
    expect(page.locator("#message")).to_contain_text("Enter the API key")
    expect(page.locator("#churn-table tbody tr")).to_have_count(0)
    assert page.evaluate("sessionStorage.getItem('retention.apiKey')") is None


def test_churn_list_filters_sorts_and_downloads_the_csv(visit: Visit, http: httpx.Client) -> None:
    everyone = pd.DataFrame(ok(http.post("/churn_list", json={"limit": 10_000}))["customers"])
    risky = everyone[everyone["churn_probability"] >= 0.3]
    segment = risky["segment"].value_counts().index[0]  # the filter that keeps the most rows to check
    min_value = float(risky.loc[risky["segment"] == segment, "expected_value"].median())
    query = {"min_probability": 0.3, "segment": segment, "min_value": min_value, "limit": 10_000}
    expected = ok(http.post("/churn_list", json=query))["customers"]
    assert 3 <= len(expected) < len(everyone)

    page = visit.open()
    visit.enter_key()
    expect(page.locator("#segment option")).not_to_have_count(1)  # filled from /segments
    page.fill("#min-probability", "0.3")
    page.select_option("#segment", segment)
    page.fill("#min-value", repr(min_value))
    page.fill("#limit", "10000")
    visit.submit("#churn-form", "/churn_list", "#churn")
    rows = table_rows(page)
    assert sorted(r["customer_id"] for r in rows) == sorted(r["customer_id"] for r in expected)
    assert all(float(r["churn_probability"]) >= 0.3 and r["segment"] == segment
               and float(r["expected_value"]) >= min_value for r in rows)
    expect(page.locator("#churn-reading")).to_contain_text(f"{len(expected)} customers match")

    header = page.locator('#churn-table th[data-key="churn_probability"]')
    header.click()  # a number column sorts largest first
    probabilities = [float(r["churn_probability"]) for r in table_rows(page)]
    assert probabilities == sorted(probabilities, reverse=True) and header.get_attribute("aria-sort") == "descending"
    header.click()
    probabilities = [float(r["churn_probability"]) for r in table_rows(page)]
    assert probabilities == sorted(probabilities) and header.get_attribute("aria-sort") == "ascending"
    page.locator('#churn-table th[data-key="customer_id"]').click()
    ids = [r["customer_id"] for r in table_rows(page)]
    assert ids == sorted(ids)

    with page.expect_download() as download:
        page.click("#csv")
    assert download.value.suggested_filename.startswith("churn_list_")
    csv = pd.read_csv(download.value.path(), dtype={"customer_id": str}, float_precision="round_trip")
    assert sorted(csv["customer_id"]) == sorted(ids)
    assert (csv["churn_probability"] >= 0.3).all() and (csv["segment"] == segment).all()
    assert (csv["expected_value"] >= min_value).all()

    page.fill("#min-probability", "1.5")
    page.click("#churn-form button[type=submit]")
    expect(page.locator("#churn .problem")).to_have_text("minimum churn probability must be a number from 0 to 1.")
    expect(page.locator("#churn-table tbody tr")).to_have_count(len(expected))  # the last good list stays


def test_customer_lookup_shows_profile_reasons_and_recommendations(visit: Visit, http: httpx.Client) -> None:
    page_filters = {"limit": 1, "min_probability": 0.5}  # the page's default filters
    top = ok(http.post("/churn_list", json=page_filters))["customers"][0]["customer_id"]
    record = ok(http.post("/customer", json={"customer_id": top}))
    picks = ok(http.post("/customer_picks", json={"customer_id": top, "k": 10}))
    assert picks["items"]

    page = visit.open()
    visit.enter_key()
    page.locator("#churn-table tbody tr").first.locator("button").click()  # the list's first id opens the lookup
    expect(page.locator("#customer")).to_be_visible()
    expect(page.locator("#customer-id")).to_have_value(top)
    expect(page.locator("#picks tbody tr")).to_have_count(len(picks["items"]))
    expect(page.locator('#profile dd[data-field="segment"]')).to_have_text(record["segment"])
    expect(page.locator('#profile dd[data-field="risk"]')).to_have_text(record["churn_risk"])
    expect(page.locator('#profile dd[data-field="action"]')).to_contain_text(record["action"]["action"])
    expect(page.locator("#reasons li")).to_have_text(record["reasons"] or [page.evaluate("words.en.page.no_reasons")])
    shown = page.evaluate("[...document.querySelectorAll('#picks tbody tr')].map((tr) => tr.cells[0].dataset.value)")
    assert shown == [item["item_id"] for item in picks["items"]]
    expect(page.locator("#picks tbody tr").first).to_contain_text(picks["items"][0]["reason"])
    screenshot(page, "ui_en.png")

    page.fill("#customer-id", "NO-SUCH-CUSTOMER")
    visit.submit("#lookup-form", "/customer", "#lookup")
    expect(page.locator("#lookup .problem")).to_contain_text(
        "The service answered 404 (unknown customer): no customer 'NO-SUCH-CUSTOMER'")
    expect(page.locator("#customer")).to_be_hidden()


def test_russian_page_uses_the_reports_words_and_russian_numbers(visit: Visit, http: httpx.Client) -> None:
    segments = ok(http.get("/segments"))["segments"]
    top = ok(http.post("/churn_list", json={"limit": 1}))["customers"][0]["customer_id"]
    record = ok(http.post("/customer", json={"customer_id": top}))

    russian = ok(http.post("/customer", json={"customer_id": top}, headers={"Accept-Language": "ru-RU,ru;q=0.9"}))
    ru_picks = ok(http.post("/customer_picks", json={"customer_id": top, "k": 10}, headers={"Accept-Language": "ru"}))
    page = visit.open("?lang=ru")
    words = page.evaluate("words")  # the catalogue's, from /ui/words.json: the page has no word list of its own
    names = words["ru"]["names"]
    assert names["segment"] == SEGMENTS_RU and names["risk"] == RISK[Lang.ru] and names["task"] == TASKS[Lang.ru]
    for lang in Lang:  # a label the page shares with the report reads the same in both
        shared = set(words[lang]["page"]) & set(Words(lang).text)
        assert len(shared) >= 10 and all(words[lang]["page"][k] == Words(lang).text[k] for k in shared)
    assert set(words["en"]["page"]) == set(words["ru"]["page"])
    labels = page.evaluate("[...document.querySelectorAll('[data-t]')].map((node) => node.dataset.t)")
    assert set(labels) <= set(words["en"]["page"])

    visit.enter_key()
    assert page.evaluate("document.documentElement.lang") == "ru"
    expect(page.locator("#segments h2")).to_have_text("Сегменты")
    expect(page.locator("#churn h2")).to_have_text("Риск оттока")
    expect(page.locator("#lookup h2")).to_have_text("Поиск клиента")
    expect(page.locator("#segments-table tbody tr")).to_have_count(len(segments))
    names = page.locator("#segments-table tbody tr td:first-child").all_inner_texts()
    assert names == [SEGMENTS_RU.get(s["segment"], s["segment"]) for s in segments] and "Чемпионы" in names
    champions = next(s for s in segments if s["segment"] == "Champions")
    row = page.locator('#segments-table tbody tr[data-segment="Champions"]')
    assert row.locator("td").nth(3).inner_text() == f"{round(champions['revenue']):,}".replace(",", NBSP)
    assert row.locator("td").nth(4).inner_text().endswith(f"{NBSP}%")
    expect(page.locator("#segments-reading")).to_contain_text(f"золотые клиенты (верхние 20{NBSP}%) приносят")

    page.fill("#customer-id", top)
    visit.submit("#lookup-form", "/customer_picks", "#lookup")
    expect(page.locator("#picks tbody tr").first).to_be_visible()
    expect(page.locator('#profile dd[data-field="risk"]')).to_have_text(RISK[Lang.ru][record["churn_risk"]])
    expect(page.locator("#picks tbody tr").first).to_contain_text(ru_picks["items"][0]["reason"])
    assert not ru_picks["items"][0]["reason"].isascii()  # the recommender's reason in Russian too
    expect(page.locator("#lookup dt").first).to_have_text("клиент")
    if russian["reasons"]:  # the service's reasons and rule, in Russian because the page asked in Russian
        expect(page.locator("#reasons li")).to_have_text(russian["reasons"])
        assert russian["reasons"] != record["reasons"]
    expect(page.locator('#profile dd[data-field="action"]')).to_contain_text(russian["action"]["rule"])
    assert russian["action"]["rule"] != record["action"]["rule"]
    screenshot(page, "ui_ru.png")

    page.click("#lang-en")  # the switch: English labels, the same data, the language in the address
    expect(page.locator("#segments h2")).to_have_text("Segments")
    expect(page.locator('#profile dd[data-field="risk"]')).to_have_text(record["churn_risk"])
    assert page.url.endswith("?lang=en")
    page.click("#lang-ru")
    expect(page.locator("#churn h2")).to_have_text("Риск оттока")
