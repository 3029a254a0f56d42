"""`retention report` as a marketer runs it, and the page opened in headless Chromium, in English and Russian.

One small demo shop and one training run serve every test: a report before training (the model sections say
what to run), then reports in both languages with champions and a campaign summary. The browser is Debian's
chromium (``make browser``) driven by Playwright with every network request refused, so a chart that needed the
internet would not render. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import yaml
from playwright.sync_api import Browser, Page, Route
from typer.testing import CliRunner

from features.demo.shop import write_shop
from serving.report.i18n import NBSP, Words
from tests.shared import ARTIFACTS, demo_tables, small_config
from training.cli.app import app

pytestmark = pytest.mark.integration  # trains, builds three reports, drives a real browser (~2 min)

CHARTS = 16  # pareto, 2 RFM, segments, migration, 2 churn, 3 health, cohorts, ABC/XYZ, timing, 2 models, campaigns
CHARTS_WITHOUT_MODELS = 11  # no churn charts, no model quality charts, no campaigns
# each chart's drawn width against its box (the grid cell), and whether its axis titles lie inside that box
MEASURE = """() => Array.from(document.querySelectorAll('div.plotly-graph-div'), (div) => {
  const box = div.parentElement.getBoundingClientRect();
  const drawn = div.querySelector('svg.main-svg').getBoundingClientRect();
  const titles = Array.from(div.querySelectorAll('.g-xtitle text, .g-ytitle text'), (t) => t.getBoundingClientRect());
  const inside = titles.every((t) => t.left >= box.left - 1 && t.right <= box.right + 1 && t.top >= box.top - 1
                                     && t.bottom <= box.bottom + 1);
  return {id: div.id, box: box.width, drawn: drawn.width, titles: titles.length, inside};
})"""
runner = CliRunner()


def invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def reports(module_registry: Path) -> Iterator[dict[str, Path]]:
    """Reports of one small shop: ``before`` (no champions yet), then ``en`` and ``ru`` after training."""
    work = module_registry
    write_shop(demo_tables(700, seed=21), work / "data", "parquet")
    (work / "small.yaml").write_text(yaml.safe_dump(small_config()))
    campaigns = work / "campaigns"
    campaigns.mkdir()
    pd.DataFrame({"campaign": ["win-back", "vip care", "second order"], "audience_size": [120, 45, 80],
                  "control_size": [12, 5, 8], "expected_value_at_stake": [5400.5, 9100.0, 1200.0],
                  "suggested_offer": ["10% off", "early access", "free delivery"]}).to_csv(campaigns / "summary.csv",
                                                                                            index=False)
    out = invoke("report", "--data", "data", "--config", "small.yaml", "--out", "before.html")
    assert "note: No campaign audiences: run `retention campaigns`" in out and "wrote before.html" in out
    assert not (work / "mlflow.db").exists()
    invoke("train", "--data", "data", "--config", "small.yaml")
    for lang in ("en", "ru"):
        invoke("report", "--data", "data", "--config", "small.yaml", "--lang", lang, "--campaigns", "campaigns",
               "--out", f"out/report_{lang}.html")
    yield {"before": work / "before.html", "en": work / "out/report_en.html", "ru": work / "out/report_ru.html"}


def test_report_is_one_self_contained_page_with_every_section(reports: dict[str, Path]) -> None:
    page = reports["en"].read_text(encoding="utf-8")
    assert page.count('class="plotly-graph-div"') == CHARTS
    assert "<link" not in page and "<script src" not in page and "@import" not in page  # nothing fetched
    for section in ("pareto", "rfm", "segments", "migration", "churn", "health", "cohorts", "abc", "timing",
                    "models", "campaigns"):
        assert f'<section id="{section}">' in page
    assert "The top 20% of customers (the golden customers) bring " in page
    assert "customers are at high risk of churn" in page and "Top of the churn-risk list" in page
    assert "The churn champion scores ROC AUC 0." in page and "BG/NBD x Gamma-Gamma" in page
    assert "3 campaigns reach 245 customers; the largest is win-back (120)." in page
    assert "No churn model yet" not in page and "No campaign audiences" not in page


def test_russian_report_uses_shop_words_and_russian_numbers(reports: dict[str, Path]) -> None:
    page = reports["ru"].read_text(encoding="utf-8")
    assert '<html lang="ru">' in page and page.count('class="plotly-graph-div"') == CHARTS
    for words in ("Отчёт о клиентской базе", "Чемпионы", "Отток", "Золотые клиенты", "Риск оттока",
                  "Лучшее время для рассылки", "Верхние 20\u00a0% клиентов (золотые клиенты) приносят"):
        assert words in page, words
    assert "Champions" not in page.split("<main>")[1].split("<script")[0]  # no English segment names in the text
    assert f"5{NBSP}400,50" in page or f"5{NBSP}400" in page  # the campaign's value at stake, Russian digits
    assert '"separators":",\\u00a0"' in page or f'"separators":",{NBSP}"' in page


def test_report_before_training_says_what_to_run(reports: dict[str, Path]) -> None:
    page = reports["before"].read_text(encoding="utf-8")
    assert page.count('class="plotly-graph-div"') == CHARTS_WITHOUT_MODELS
    assert "No churn model yet: no MLflow registry at sqlite:///" in page  # and none was created to find out
    assert "Run `retention train --data DIR`, then build this report again." in page
    assert "No champion models in the MLflow registry" in page and "No campaign audiences: run" in page


@pytest.mark.parametrize("args, message", [
    (("--lang", "de"), "--lang 'de': expected en or ru"),
    (("--campaigns", "nowhere"), "--campaigns nowhere: no such folder"),
    (("--cutoff", "2026-13-01"), "2026-13-01"),
])
def test_bad_input_exits_2_and_writes_nothing(reports: dict[str, Path], args: tuple[str, ...], message: str) -> None:
    result = runner.invoke(app, ["report", "--data", "data", "--out", "bad.html", *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert not Path("bad.html").exists() and not list(Path.cwd().glob(".bad.html.*"))
    result = runner.invoke(app, ["report", "--data", "data", "--out", "report.pdf"])
    assert result.exit_code == 2 and "expected an .html file" in result.output


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_chart_renders_offline_in_chromium(reports: dict[str, Path], browser: Browser, lang: str) -> None:
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    fetched: list[str] = []

    def refuse(route: Route) -> None:
        fetched.append(route.request.url)
        route.abort()

    page.route("http*://**/*", refuse)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(reports[lang].as_uri(), wait_until="load")
    charts = page.locator("div.plotly-graph-div")
    assert charts.count() == CHARTS
    for i in range(CHARTS):
        chart = charts.nth(i)
        assert chart.locator("svg.main-svg").count() >= 1, chart.get_attribute("id")
        box = chart.bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 200, chart.get_attribute("id")
    readings = page.locator("p.reading").all_inner_texts()
    assert len(readings) == 11 and all(len(text) > 30 for text in readings)
    assert fetched == [] and errors == []
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / f"report_{lang}.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 100_000
    page.close()


def opened(browser: Browser, page_file: Path, width: int) -> Page:
    """Return the report open at ``width`` px with the internet refused, once every chart is fitted to its box."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.route("http*://**/*", lambda route: route.abort())
    page.goto(page_file.as_uri(), wait_until="load")
    page.wait_for_function("document.body.dataset.fitted === 'yes'")
    return page


@pytest.mark.parametrize("width", [1280, 1920])
@pytest.mark.parametrize("lang", ["en", "ru"])
def test_every_chart_fits_its_box_with_its_axis_titles_inside(reports: dict[str, Path], browser: Browser,
                                                               lang: str, width: int) -> None:
    page = opened(browser, reports[lang], width)
    measured = page.evaluate(MEASURE)
    assert len(measured) == CHARTS
    for chart in measured:
        assert chart["drawn"] <= chart["box"] + 1, chart  # the churn histogram once drew 1,152 px in a 570 px half
        assert chart["inside"], chart
    assert sum(chart["titles"] for chart in measured) >= 10  # the axis titles were there to check
    half = next(chart for chart in measured if chart["id"] == "chart-churn-0")
    assert half["box"] < 0.6 * width  # two charts side by side at these widths
    page.close()


@pytest.mark.parametrize("lang", ["en", "ru"])
def test_the_sentences_count_what_the_charts_draw(reports: dict[str, Path], browser: Browser, lang: str) -> None:
    page = opened(browser, reports[lang], 1280)
    # the customers the histogram draws in its high-risk bars (plotly's own bins), against the sentence above it
    high = page.evaluate("""(name) => { const gd = document.getElementById('chart-churn-0');
        return gd._fullData.reduce((n, t, i) => t.name === name ? n + gd.calcdata[i].reduce((m, b) => m + b.s, 0) : n,
                                   0); }""", Words(lang).risk("high"))
    reading = page.locator("#churn p.reading").inner_text()
    n = Words(lang).number(high)
    said = {"en": f"{n} customers are at high risk", "ru": f"У {n} клиентов высокий риск"}
    assert high > 0 and reading.startswith(said[lang]), (high, reading)
    golden = page.evaluate("document.getElementById('chart-pareto-0')._fullData.find((t) => t.mode === 'markers+text')"
                           ".y[0]")
    assert Words(lang).share(golden / 100) in page.locator("#pareto p.reading").inner_text()
    reasons = page.locator("#churn table tbody tr td:last-child").all_inner_texts()
    if lang == "ru":  # the reasons are worded in the page's language
        assert any(text for text in reasons) and not any("order" in text for text in reasons)
    page.close()
