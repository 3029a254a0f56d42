"""The durable demo profile (books, films, furniture): nobody buys the same item twice, yet it is still a shop."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features import columns as C
from features.data.reader import shop_from_frames
from features.demo.shop import DemoConfig, generate_shop


@pytest.fixture(scope="module")
def durable() -> dict[str, pd.DataFrame]:
    return generate_shop(DemoConfig(customers=2_000, seed=3, years=1.5, profile="durable"))


def test_durable_profile_has_no_rebuys(durable: dict[str, pd.DataFrame]) -> None:
    tx = durable["transactions"]
    bought = tx[tx[C.QUANTITY] > 0]
    assert (bought[C.QUANTITY] == 1).all()
    orders_per_pair = bought.groupby([C.CUSTOMER_ID, C.ITEM_ID])[C.ORDER_ID].nunique()
    assert orders_per_pair.max() == 1
    # still a shop with returning customers and several items per customer (the recommender has work to do)
    orders = bought.groupby(C.CUSTOMER_ID)[C.ORDER_ID].nunique()
    assert (orders >= 2).mean() > 0.3 and bought.groupby(C.CUSTOMER_ID)[C.ITEM_ID].nunique().mean() > 3


def test_default_profile_does_rebuy_and_durable_keeps_the_contract(durable: dict[str, pd.DataFrame]) -> None:
    shop = generate_shop(DemoConfig(customers=2_000, seed=3, years=1.5))
    tx = shop["transactions"]
    bought = tx[tx[C.QUANTITY] > 0]
    assert bought.groupby([C.CUSTOMER_ID, C.ITEM_ID])[C.ORDER_ID].nunique().max() > 1
    assert shop_from_frames(durable).warnings == []


def test_demo_data_command_writes_the_durable_profile(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from training.cli.app import app

    result = CliRunner().invoke(app, ["demo-data", "--out", str(tmp_path), "--customers", "300", "--profile",
                                      "durable", "--format", "csv"])
    assert result.exit_code == 0, result.output
    tx = pd.read_csv(tmp_path / "transactions.csv", dtype=str)
    bought = tx[tx[C.QUANTITY].astype(int) > 0]
    assert bought.groupby([C.CUSTOMER_ID, C.ITEM_ID])[C.ORDER_ID].nunique().max() == 1
    bad = CliRunner().invoke(app, ["demo-data", "--out", str(tmp_path / "x"), "--profile", "books"])
    assert bad.exit_code == 2 and "durable" in bad.output
