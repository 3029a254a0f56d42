"""Product classes on constructed shops: ABC boundaries, XYZ on known weekly series, popularity, trend, cutoff."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from features.analytics.products import ProductsConfig, product_classes
from features.data.reader import Shop, shop_from_frames
from training.cli.app import app

CUTOFF = datetime(2024, 7, 1)
runner = CliRunner()
Line = tuple[str, float, float, float, str, str]  # item, days before CUTOFF, quantity, price, customer, order


def line(item: str, days_ago: float, quantity: float = 1, price: float = 10, customer: str = "u",
         order: str | None = None) -> Line:
    return (item, days_ago, quantity, price, customer, order or f"{item}-{days_ago}-{quantity}")


def frame_of(lines: list[Line]) -> pd.DataFrame:
    return pd.DataFrame({
        "item_id": [x[0] for x in lines], "timestamp": [CUTOFF - timedelta(days=x[1]) for x in lines],
        "quantity": [x[2] for x in lines], "price": [x[3] for x in lines],
        "customer_id": [x[4] for x in lines], "order_id": [x[5] for x in lines],
    })


def shop_of(lines: list[Line], items: pd.DataFrame | None = None) -> Shop:
    tables = {"transactions": frame_of(lines)}
    if items is not None:
        tables["items"] = items
    return shop_from_frames(tables)


def classes(lines: list[Line], cfg: ProductsConfig | None = None) -> pd.DataFrame:
    return product_classes(shop_of(lines), CUTOFF, cfg).set_index("item_id")


def test_abc_boundaries_include_an_item_exactly_at_80_and_95_percent() -> None:
    got = classes([line("i1", 5, price=50), line("i2", 5, price=30), line("i3", 5, price=15), line("i4", 5, price=5)])
    assert got.index.tolist() == ["i1", "i2", "i3", "i4"]
    assert got["cum_revenue_share"].tolist() == pytest.approx([0.5, 0.8, 0.95, 1.0])
    assert got["abc"].tolist() == ["A", "A", "B", "C"]
    assert got["revenue_share"].tolist() == pytest.approx([0.5, 0.3, 0.15, 0.05])


def test_the_top_item_is_always_a_and_old_sales_are_outside_the_window() -> None:
    got = classes([line("big", 5, price=90), line("s1", 5, price=6), line("s2", 5, price=4),
                   line("s2", 400, price=1000), line("gone", 400, price=1000)])
    assert got["abc"].to_dict() == {"big": "A", "s1": "C", "s2": "C"}  # 90%, 96%, 100%; "gone" sold nothing lately
    assert got.loc["s2", "revenue"] == pytest.approx(4)


XYZ_CFG = ProductsConfig(window_days=28, popularity_days=7, trend_weeks=1)


def weekly(item: str, units: list[float]) -> list[Line]:
    """Lines selling ``units[k]`` in week k before the cutoff (week 0 = the last 7 days)."""
    return [line(item, 7 * k + 3, quantity=u) for k, u in enumerate(units) if u]


def test_xyz_from_the_cv_of_weekly_units() -> None:
    lines = [*weekly("steady", [2, 2, 2, 2]), *weekly("mid", [1, 3, 1, 3]), *weekly("lumpy", [0, 0, 0, 8]),
             *weekly("oldy", [2, 2, 0, 0]), line("oldy", 100), *weekly("fresh", [3])]
    got = classes(lines, XYZ_CFG)
    # population cv: steady 0; mid 1/2; oldy (sold before the window, so all 4 weeks count) 1/1; lumpy sqrt(12)/2
    expected_cv = {"steady": 0, "mid": 0.5, "oldy": 1.0, "lumpy": 3**0.5, "fresh": 0}
    assert got["weekly_cv"].to_dict() == pytest.approx(expected_cv)
    assert got["xyz"].to_dict() == {"steady": "X", "mid": "X", "oldy": "Y", "lumpy": "Z", "fresh": "X"}
    assert got.loc["fresh", "weeks"] == 1 and got.loc["lumpy", "weeks"] == 4  # a new item counts from its first week
    assert got.loc["mid", "mean_weekly_units"] == pytest.approx(2)
    assert got.loc["lumpy", "abc_xyz"] == got.loc["lumpy", "abc"] + "Z"
    strict = classes(lines, ProductsConfig(window_days=28, x_cv=0.4, y_cv=0.9))
    assert strict.loc[["mid", "oldy"], "xyz"].tolist() == ["Y", "Z"]


def test_popularity_and_trend() -> None:
    lines = [line("p", 2, 1, customer="u1", order="o1"), line("p", 2, 2, customer="u1", order="o1"),
             line("p", 4, 1, customer="u1", order="o2"), line("p", 6, 1, customer="u2", order="o3"),
             line("p", 6, -1, customer="u2", order="o4"), line("p", 10, 2, customer="u3", order="o5"),
             *weekly("steady", [2, 2]), *weekly("mid", [1, 3]), *weekly("fresh", [3])]
    got = classes(lines, XYZ_CFG)
    assert got.loc["p", ["orders_7d", "customers_7d", "units_7d"]].tolist() == [3, 2, 5]  # the refund is no order
    assert got.loc["p", ["units_last_weeks", "units_previous_weeks"]].tolist() == [5, 2]
    assert got.loc[["p", "steady", "mid"], "trend"].tolist() == pytest.approx([1.5, 0, 1 / 3 - 1])
    assert np.isnan(got.loc["fresh", "trend"])  # nothing sold the week before


def test_category_and_brand_come_from_items() -> None:
    items = pd.DataFrame({"item_id": ["i1", "i2"], "category": ["shoes", "bags"], "brand": ["acme", "zeta"]})
    got = product_classes(shop_of([line("i1", 5), line("i2", 6), line("i3", 7)], items), CUTOFF).set_index("item_id")
    assert got.loc[["i1", "i2"], "category"].tolist() == ["shoes", "bags"]
    assert got.loc["i2", "brand"] == "zeta" and pd.isna(got.loc["i3", "category"])


def test_rows_at_or_after_the_cutoff_change_nothing() -> None:
    lines = [*weekly("mid", [1, 3, 1, 3]), line("i1", 5, price=50), line("i2", 30)]
    later = [*lines, line("mid", 0, quantity=40), line("i2", -3, price=999), line("new", -10)]
    pd.testing.assert_frame_equal(classes(lines, XYZ_CFG), classes(later, XYZ_CFG))


def test_without_item_id_products_explain_what_is_needed(tmp_path: Path) -> None:
    frame = frame_of([line("i1", 5)]).drop(columns="item_id")
    with pytest.raises(ValueError, match="needs transactions.item_id"):
        product_classes(shop_from_frames({"transactions": frame}), CUTOFF)
    frame.to_csv(tmp_path / "transactions.csv", index=False)
    out = tmp_path / "out" / "products.csv"
    result = runner.invoke(app, ["products", "--data", str(tmp_path), "--out", str(out)])
    assert result.exit_code == 2
    assert "needs transactions.item_id" in " ".join(result.output.split())
    assert not out.parent.exists()


def test_cli_writes_the_product_table(tmp_path: Path) -> None:
    frame_of([*weekly("mid", [1, 3, 1, 3]), line("i1", 5, price=50)]).to_csv(tmp_path / "transactions.csv",
                                                                            index=False)
    out = tmp_path / "out" / "products.csv"
    result = runner.invoke(app, ["products", "--data", str(tmp_path), "--out", str(out), "--cutoff", "2024-07-01"])
    assert result.exit_code == 0, result.output
    written = pd.read_csv(out)
    assert written["item_id"].tolist() == ["mid", "i1"] and written["abc"].tolist() == ["A", "C"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["products.csv"]
    result = runner.invoke(app, ["products", "--data", str(tmp_path), "--out", str(out), "--cutoff", "July"])
    assert result.exit_code == 2 and "is not an ISO date" in result.output
