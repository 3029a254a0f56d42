"""Issue 30, the data contract against odd input: time zones in every format, absurd amounts, odd ids and dates."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.data.reader import read_shop

STAMPS = ["2024-03-01 10:00:00", "2024-03-02 23:30:00", "2024-03-05 08:15:00"]


def orders(stamps: object) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["c1", "c2", "c1"], "order_id": ["o1", "o2", "o3"], "timestamp": stamps,
                         "amount": [10.0, 20.0, 30.0]})


def local_times(folder: Path) -> list[pd.Timestamp]:
    table = read_shop(folder, cache=False).to_pandas("transactions").sort_values("order_id")
    return list(table["timestamp"])


@pytest.mark.parametrize("zone", ["Asia/Tokyo", "+09:00"])
def test_the_same_zoned_instants_as_csv_and_parquet_give_the_same_local_times(tmp_path: Path, zone: str) -> None:
    (tmp_path / "csv").mkdir()
    orders([f"{s}+09:00" for s in STAMPS]).to_csv(tmp_path / "csv" / "transactions.csv", index=False)
    (tmp_path / "parquet").mkdir()
    zoned = pd.to_datetime(STAMPS).tz_localize("Asia/Tokyo")
    if zone != "Asia/Tokyo":
        zoned = zoned.tz_convert(zone)
    orders(zoned).to_parquet(tmp_path / "parquet" / "transactions.parquet", index=False)
    expected = list(pd.to_datetime(STAMPS))
    assert local_times(tmp_path / "csv") == expected
    assert local_times(tmp_path / "parquet") == expected  # 10:00 in Tokyo stays 10:00, not 01:00 UTC


def test_ids_the_service_would_refuse_are_refused_in_the_files(tmp_path: Path) -> None:
    from features.data.contract import ShopDataError

    lines = orders(STAMPS).assign(customer_id=["c1", "a\rb", "x" * 129])
    lines.to_parquet(tmp_path / "transactions.parquet", index=False)
    with pytest.raises(ShopDataError) as refused:
        read_shop(tmp_path, cache=False)
    said = str(refused.value)
    assert "id breaking the id rule" in said and "in 2 rows" in said and "row 2: 'a\\rb'" in said
    assert "1 to 128 characters without control characters" in said


@pytest.mark.parametrize(("bad", "why"), [("a\u0085b", "a C1 control character (non-ASCII)"),
                                          ("a\tb", "a tab"), (" " + "é" * 129, "129 characters after trimming")])
def test_ids_are_judged_whole_not_by_the_cheap_tests_in_front(tmp_path: Path, bad: str, why: str) -> None:
    from features.data.contract import ShopDataError

    orders(STAMPS).assign(customer_id=["c1", bad, "c1"]).to_parquet(tmp_path / "transactions.parquet", index=False)
    with pytest.raises(ShopDataError, match="id breaking the id rule") as refused:
        read_shop(tmp_path, cache=False)
    assert "in 1 row" in str(refused.value), why


def test_ids_the_rule_allows_pass_however_they_are_spelled(tmp_path: Path) -> None:
    fine = ["Jürgen-ßtraße", "  " + "x" * 128 + "  ", "客户-1"]  # non-ASCII; 128 characters once trimmed
    orders(STAMPS).assign(customer_id=fine).to_parquet(tmp_path / "transactions.parquet", index=False)
    table = read_shop(tmp_path, cache=False).to_pandas("transactions").sort_values("order_id")
    assert list(table["customer_id"]) == [fine[0], "x" * 128, fine[2]]


@pytest.mark.parametrize("space", [" ", "\u00a0", "\u3000", "\u2009"])
def test_ids_padded_with_any_space_trim_strips_are_trimmed_in_the_cache_too(tmp_path: Path, space: str) -> None:
    # the cache keeps a plain query over the file only when no value would change: a padded id must be seen
    padded = orders(STAMPS).assign(customer_id=["c1", f"{space}c2", f"c1{space}"])
    padded.to_parquet(tmp_path / "transactions.parquet", index=False)
    for _ in range(2):  # cold (checked, then cached), then warm (from the cache)
        shop = read_shop(tmp_path, cache=True)
        assert sorted(shop.to_pandas("transactions")["customer_id"]) == ["c1", "c1", "c2"]


@pytest.mark.parametrize("blank", ["", "   ", "\u00a0", "\u3000 "])
def test_blank_ids_are_empty_values_whatever_the_spaces(tmp_path: Path, blank: str) -> None:
    from features.data.contract import ShopDataError

    orders(STAMPS).assign(customer_id=["c1", blank, "c1"]).to_parquet(tmp_path / "transactions.parquet", index=False)
    with pytest.raises(ShopDataError, match="empty value"):
        read_shop(tmp_path, cache=False)
