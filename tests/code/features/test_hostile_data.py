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
