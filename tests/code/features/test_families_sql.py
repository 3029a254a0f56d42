"""The DuckDB SQL build (features.families.sql) gives the Ibis families' table: same customers, columns, values,
families in and out with the same reasons; and the CLI writes it as stable_floats would."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.data.cdnow import cdnow_transactions, read_cdnow
from features.data.io import write_frame
from features.data.reader import Shop, read_shop, shop_from_frames
from features.demo.shop import write_shop
from features.families.build import FeatureFrame, build_features, ibis_features
from features.families.config import FeaturesConfig
from features.families.sql import MAX_CODED, channel_codes
from tests.shared import demo_tables

CDNOW_SAMPLE = Path(__file__).parents[2] / "data" / "cdnow_sample.txt"


def _reasons(frame: FeatureFrame) -> dict[str, str]:
    """Why each family is left out, with example ids (any one of several) masked."""
    return {family: re.sub(r"'[^']*'", "<id>", why) for family, why in frame.left_out.items()}


def assert_same(sql: FeatureFrame, ibis: FeatureFrame) -> None:
    assert sql.included == ibis.included and _reasons(sql) == _reasons(ibis) and sql.notes == ibis.notes
    a, b = sql.frame, ibis.frame
    assert list(a.columns) == list(b.columns) and len(a) == len(b) > 0
    assert a["customer_id"].tolist() == b["customer_id"].tolist()
    for column in a.columns[1:]:
        assert a[column].dtype == b[column].dtype, column
        if pd.api.types.is_float_dtype(b[column]):  # sums in another order differ in the last bits only
            np.testing.assert_allclose(a[column].to_numpy(), b[column].to_numpy(), rtol=1e-9, atol=1e-9,
                                       equal_nan=True, err_msg=column)
        else:
            assert a[column].fillna("<null>").tolist() == b[column].fillna("<null>").tolist(), column


@pytest.fixture(scope="module")
def demo() -> Shop:
    return shop_from_frames(demo_tables(400, seed=5))


@pytest.mark.parametrize("cutoff", ["2026-03-01", "2026-08-01 13:30"])
def test_every_family_equals_the_ibis_build_on_the_demo_shop(demo: Shop, cutoff: str) -> None:
    sql = build_features(demo, cutoff)
    assert set(sql.included) == {"rfm", "cadence", "bgnbd", "basket", "categories", "promotions", "site",
                                 "channel", "timing", "profile"}
    assert_same(sql, ibis_features(demo, cutoff))


def test_a_transactions_only_shop_with_dates_and_returns_equals_the_ibis_build() -> None:
    lines = cdnow_transactions(read_cdnow(CDNOW_SAMPLE))
    lines.loc[lines.index[::7], "quantity"] = -1  # return lines: return-only orders leave the population
    shop = shop_from_frames({"transactions": lines})
    sql = build_features(shop, "1997-10-01")
    assert "timing: hour of ordering left out: no order before the cutoff has a time of day" in sql.notes
    assert_same(sql, ibis_features(shop, "1997-10-01"))


def test_other_windows_and_a_subset_of_families_equal_the_ibis_build(demo: Shop) -> None:
    cfg = FeaturesConfig(families=("rfm", "site", "channel", "timing"), windows_days=(7, 60), trend_days=45,
                         recent_events_days=14, contact_days=30, bgnbd_min_repeat_customers=10**6)
    assert_same(build_features(demo, "2026-06-15", cfg), ibis_features(demo, "2026-06-15", cfg))


def test_channel_values_mixed_within_orders_in_any_case_and_many_sources_equal_the_ibis_build() -> None:
    """The orders carry integer codes for columns with few values and strings for one with more than MAX_CODED:
    the first value of a mixed order, 'Mobile' counted as mobile and the main value must not depend on which."""
    lines = demo_tables(300, seed=8)["transactions"]
    rng = np.random.default_rng(8)
    lines["device"] = rng.choice(["Mobile", "desktop", "mobile", "tablet"], size=len(lines))  # mixed per order
    lines["source"] = [f"partner-{i:03d}" for i in rng.integers(0, MAX_CODED + 30, size=len(lines))]
    shop = shop_from_frames({"transactions": lines})
    assert set(channel_codes(shop.sql, pd.Timestamp("2026-08-01"), shop.columns["transactions"])) == {
        "device", "channel"}
    cfg = FeaturesConfig(families=("rfm", "channel"))
    sql = build_features(shop, "2026-08-01", cfg)
    assert sql.frame["main_source"].str.startswith("partner-").all() and sql.frame["mobile_share"].between(0, 1).all()
    assert_same(sql, ibis_features(shop, "2026-08-01", cfg))


def test_the_features_do_not_depend_on_the_order_of_the_lines() -> None:
    """Money is summed exactly (integer millionths), so the order an engine adds lines in (which DuckDB's threads
    and Spark's partitions change from run to run on a large shop) cannot move a last bit: a customer who returned
    everything has a net revenue of exactly 0, not -7e-15, and every share and price level comes out the same."""
    tables = demo_tables(300, seed=9)
    lines = tables["transactions"]
    returned = lines.iloc[[0] * 6].copy()  # one customer's lines that cancel out: bought 0.6, returned 0.6
    returned["customer_id"], returned["order_id"] = "C-returns", [f"O-r{k}" for k in range(6)]
    returned["quantity"], returned["price"] = [1, 1, 1, -1, 3, 1], [0.1, 0.2, 0.3, 0.6, 0.7, 1.1]
    lines = pd.concat([lines, returned], ignore_index=True)
    assert sum([0.1, 0.2, 0.3, -0.6]) != sum([-0.6, 0.3, 0.2, 0.1])  # floats: the order shows in the last bits
    shops = [shop_from_frames({**tables, "transactions": frame})
             for frame in (lines, lines.iloc[::-1].reset_index(drop=True))]
    for build in (build_features, ibis_features):  # the Ibis families (the Spark engine's) sum the same way
        forward, backward = (build(shop, "2026-08-01").frame.set_index("customer_id").sort_index() for shop in shops)
        pd.testing.assert_frame_equal(forward, backward, check_exact=True)
        assert forward.loc["C-returns", "net_revenue"] == 3.2  # 0.1 + 0.2 + 0.3 - 0.6 + 3 x 0.7 + 1.1, exactly


def test_missing_columns_and_unmatched_events_leave_out_the_same_families(demo: Shop) -> None:
    tables = demo_tables(200, seed=6)
    tables["transactions"] = tables["transactions"].drop(columns=["discount", "device", "source"])
    tables["events"]["customer_id"] = "nobody-" + tables["events"]["customer_id"]
    tables["customers"] = tables["customers"].drop(columns=["birth_date", "email_opt_in"])
    shop = shop_from_frames(tables)
    sql = build_features(shop, "2026-08-01", FeaturesConfig(bgnbd_min_repeat_customers=10**6))
    assert {"promotions", "site", "bgnbd"} <= set(sql.left_out)
    assert_same(sql, ibis_features(shop, "2026-08-01", FeaturesConfig(bgnbd_min_repeat_customers=10**6)))


def test_the_cli_writes_what_stable_floats_writes(tmp_path: Path) -> None:
    """`retention features` copies the table from DuckDB to Parquet, rounded in SQL: the same file content as
    pandas after stable_floats (the path every other command takes)."""
    from typer.testing import CliRunner

    from training.cli.app import app

    write_shop(demo_tables(300, seed=7), tmp_path / "shop", "parquet")
    out = tmp_path / "features.parquet"
    result = CliRunner().invoke(app, ["features", "--data", str(tmp_path / "shop"), "--cutoff", "2026-08-01",
                                      "--out", str(out)])
    assert result.exit_code == 0, result.output
    expected = tmp_path / "expected.parquet"
    write_frame(build_features(read_shop(tmp_path / "shop"), "2026-08-01").frame, expected)
    written, wanted = pd.read_parquet(out), pd.read_parquet(expected)
    assert list(written.columns) == list(wanted.columns) and written.dtypes.equals(wanted.dtypes)
    numeric = [c for c in written.columns if pd.api.types.is_float_dtype(written[c])]
    rounded = written[numeric].to_numpy() == wanted[numeric].to_numpy()
    both_null = written[numeric].isna().to_numpy() & wanted[numeric].isna().to_numpy()
    assert (rounded | both_null).all()
    text = [c for c in written.columns if c not in numeric]
    pd.testing.assert_frame_equal(written[text], wanted[text])
