"""The report's parts on hand-made data: languages and formats, the section tables, the campaign summary."""

from __future__ import annotations

import string
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.analytics.segment_rules import SEGMENTS
from features.data.reader import shop_from_frames
from serving.report.builder import build_report, order_timing, pareto_curve, rfm_grid, segment_table
from serving.report.campaigns import read_campaigns
from serving.report.html import render, table_html
from serving.report.i18n import NBSP, TEXT, Lang, Words
from serving.report.output import write_page
from tests.shared import demo_tables


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_languages_have_every_key_with_the_same_placeholders() -> None:
    assert set(TEXT[Lang.en]) == set(TEXT[Lang.ru])
    for key, english in TEXT[Lang.en].items():
        assert placeholders(english) == placeholders(TEXT[Lang.ru][key]), key
        literal = "".join(text for text, _, _, _ in string.Formatter().parse(english))
        assert TEXT[Lang.ru][key] != english or literal in ("R", "F", "M"), key  # only the RFM letters stay


def test_russian_uses_shop_words_for_every_segment_and_churn() -> None:
    ru = Words("ru")
    names = [ru.segment(s) for s in SEGMENTS]
    assert "Чемпионы" in names and "В зоне риска" in names and "Спящие" in names
    assert all(n != s for n, s in zip(names, SEGMENTS, strict=True))  # every segment translated
    assert ru.task("churn") == "Отток" and ru.task("golden") == "Золотые клиенты"
    assert ru.segment("Our own segment") == "Our own segment"  # unknown names pass through


def test_numbers_shares_and_dates_per_language() -> None:
    en, ru = Words("en"), Words("ru")
    assert en.number(1234567.891, 2) == "1,234,567.89"
    assert ru.number(1234567.891, 2) == f"1{NBSP}234{NBSP}567,89"
    assert en.share(0.6642) == "66%" and ru.share(0.6642, 1) == f"66,4{NBSP}%"
    assert en.money(7.5) == "7.50" and en.money(1500.4) == "1,500"
    assert en.date(datetime(2026, 12, 2)) == "2 Dec 2026" and ru.date(datetime(2026, 12, 2)) == "2 декабря 2026 г."
    assert en.month("2026-03") == "Mar 2026" and ru.month("2026-03") == "мар 2026"
    assert en.number(float("nan")) == "-" and en.plotly_separators == ".," and ru.plotly_separators == "," + NBSP


def test_pareto_curve_runs_from_zero_to_all_revenue_biggest_first() -> None:
    customers = pd.DataFrame({"recency_days": [1, 2, 3, 4, 400], "window_revenue": [10.0, 60.0, 20.0, 10.0, 999.0]})
    curve = pareto_curve(customers, golden_days=365)
    assert curve.iloc[0].tolist() == [0.0, 0.0]
    assert curve["customer_share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]  # the customer 400 days ago is out
    assert curve["revenue_share"].tolist() == pytest.approx([0.0, 0.6, 0.8, 0.9, 1.0])
    assert len(pareto_curve(pd.DataFrame({"recency_days": range(5000), "window_revenue": 1.0}), 1e9, 100)) <= 101


def test_rfm_grid_has_all_27_cells_and_segment_table_sums_up() -> None:
    customers = pd.DataFrame({"r": [3, 3, 1], "f": [3, 3, 1], "m": [3, 3, 1], "monetary": [100.0, 300.0, 50.0],
                              "frequency": [4, 6, 1], "segment": ["Champions", "Champions", "Dormant"]})
    grid = rfm_grid(customers)
    assert len(grid) == 27 and grid["customers"].sum() == 3
    assert grid.set_index(["r", "f", "m"]).loc[(3, 3, 3)].tolist() == [2, 400.0]
    table = segment_table(customers).set_index("segment")
    assert list(table.index) == ["Champions", "Dormant"]  # display order, only present segments
    assert table.loc["Champions", "avg_check"] == pytest.approx(40.0)  # 400 over 10 orders
    assert table["share"].sum() == pytest.approx(1.0)
    assert table.loc["Dormant", "revenue_share"] == pytest.approx(50 / 450)


def test_order_timing_counts_purchases_by_weekday_and_hour_before_the_cutoff() -> None:
    monday_9 = datetime(2026, 3, 2, 9, 15)
    frame = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "order_id": ["1", "2", "3", "4"],
                          "timestamp": [monday_9, monday_9 + timedelta(days=7), monday_9 + timedelta(days=2, hours=5),
                                        datetime(2026, 4, 1, 9)],
                          "amount": [10.0, 20.0, 30.0, 40.0]})
    timing = order_timing(shop_from_frames({"transactions": frame}), datetime(2026, 3, 20)).set_index(["weekday",
                                                                                                      "hour"])
    assert len(timing) == 7 * 24 and timing["orders"].sum() == 3  # the April order is after the cutoff
    assert timing.loc[(0, 9), "orders"] == 2 and timing.loc[(2, 14), "orders"] == 1


def test_campaign_summary_is_read_by_role_and_bad_files_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    pd.DataFrame({"campaign": ["winback", "vip"], "audience_size": [40, 300], "control_size": [4, 30],
                  "suggested_offer": ["10% off", "early access"]}).to_csv(folder / "summary.csv", index=False)
    table = read_campaigns(folder)
    assert table["campaign"].tolist() == ["vip", "winback"] and table["control"].tolist() == [30, 4]
    pd.DataFrame({"name": ["x"], "size": ["many"]}).to_csv(folder / "summary.csv", index=False)
    with pytest.raises(ValueError, match=r"summary.csv: audience size must be a whole number >= 0; row 2: 'many'"):
        read_campaigns(folder)
    pd.DataFrame({"segment": ["x"]}).to_csv(folder / "summary.csv", index=False)
    with pytest.raises(ValueError, match=r"lack campaign: one of campaign, name, audience; audience_size: one of"):
        read_campaigns(folder)
    with pytest.raises(FileNotFoundError, match="no such folder"):
        read_campaigns(tmp_path / "nowhere")


def test_tables_escape_cells_and_pages_are_written_whole(tmp_path: Path) -> None:
    html = table_html(pd.DataFrame({"name": ["<b>x</b>"], "n": ["1"]}), ["n"])
    assert "&lt;b&gt;" in html and '<td class="num">1</td>' in html
    out = write_page("<html>é</html>", tmp_path / "sub" / "r.html")
    assert out.read_text(encoding="utf-8") == "<html>é</html>" and list(out.parent.iterdir()) == [out]


def test_thin_shop_without_items_or_models_still_gets_a_page_that_says_what_is_missing(temp_registry: Path) -> None:
    tables = demo_tables(150, seed=4, years=0.5)
    tables = {"transactions": tables["transactions"].drop(columns=["item_id"])}
    data = build_report(shop_from_frames(tables))
    assert data.products is None and data.churn is None and data.models is None and data.campaigns is None
    assert set(data.missing) == {"abc", "churn", "models", "campaigns"}
    assert not (temp_registry / "mlflow.db").exists()  # looking for champions created no empty registry
    page = render(data, "ru")
    assert page.count('class="plotly-graph-div"') == 10  # pareto, 2 RFM, segments, migration, 3 health, cohorts, timing
    assert "Раздела о товарах нет: в transactions нет колонки item_id." in page
    assert "Модели оттока пока нет" in page and "запустите `retention train --data DIR`" in page
    assert data.rfm["customers"].sum() == len(data.segmentation.customers) == data.overview["customers"]


def test_campaign_results_in_the_report_say_when_nothing_is_measured_yet(tmp_path: Path) -> None:
    from features.campaigns.control import manifest
    from serving.report.builder import ReportSettings, campaign_outcomes

    tables = demo_tables(150, seed=4, years=0.5)
    shop = shop_from_frames(tables)
    last = pd.Timestamp(tables["transactions"]["timestamp"].max())
    ids = tables["transactions"]["customer_id"].astype(str).unique()[:40]
    rows = pd.DataFrame({"campaign": "win_back", "customer_id": ids, "control": [i % 5 == 0 for i in range(len(ids))],
                         "rule": "r"})
    for cutoff, en, ru in ((last.normalize() + timedelta(days=1), "no order after the cutoff", "заказов ещё нет"),
                           (last.normalize() - timedelta(days=2), "only 3 days of data", "лишь за 3 дня")):
        manifest(rows, cutoff.to_pydatetime(), 0.2, 1).to_csv(tmp_path / "manifest.csv", index=False)
        said = campaign_outcomes(shop, tmp_path / "manifest.csv", ReportSettings())
        assert len(said["en"]) == 1 and en in said["en"][0] and "extra orders" not in said["en"][0]
        assert ru in said["ru"][0]
    manifest(rows, (last.normalize() - timedelta(days=40)).to_pydatetime(), 0.2, 1).to_csv(
        tmp_path / "manifest.csv", index=False)
    said = campaign_outcomes(shop, tmp_path / "manifest.csv", ReportSettings())
    assert said["en"][0].startswith("The win back campaign") and "на 100 клиентов" in said["ru"][0]
