"""Every validation case of the data contract: the message names the file, the column, the rows and the values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.data.contract import ShopDataError
from features.data.reader import read_shop, shop_from_frames


def good_transactions() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": ["00001", "00001", "00002", "00003", "00003"],
        "order_id": ["A1", "A1", "B1", "C1", "C2"],
        "timestamp": ["2024-01-05", "2024-01-05", "2024-02-01T10:30:00", "2024-02-03 09:00", "2024-03-01"],
        "item_id": ["I1", "I2", "I1", "I3", "I3"],
        "price": ["10.00", "5.50", "10.00", "20", "20"],
        "quantity": ["1", "2", "1", "1", "-1"],
    })


def write_csv(folder: Path, name: str, frame: pd.DataFrame) -> Path:
    path = folder / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def problems_of(folder: Path) -> str:
    with pytest.raises(ShopDataError) as info:
        read_shop(folder)
    return str(info.value)


def test_ids_stay_strings_and_returns_net_revenue(tmp_path: Path) -> None:
    write_csv(tmp_path, "transactions", good_transactions())
    shop = read_shop(tmp_path)
    frame = shop.to_pandas("transactions")
    assert frame["customer_id"].tolist()[:3] == ["00001", "00001", "00002"]
    # 10 + 2 x 5.50 + 10 + 20 - 20: the return line nets against revenue
    assert frame["revenue"].sum() == pytest.approx(31.0)
    assert frame.loc[frame["order_id"] == "C2", "revenue"].item() == pytest.approx(-20.0)


def test_missing_required_column_names_file_and_column(tmp_path: Path) -> None:
    path = write_csv(tmp_path, "transactions", good_transactions().drop(columns=["order_id"]))
    message = problems_of(tmp_path)
    assert str(path) in message and "'order_id'" in message and "missing required column" in message


def test_amount_or_price_is_required(tmp_path: Path) -> None:
    write_csv(tmp_path, "transactions", good_transactions().drop(columns=["price"]))
    assert "amount or price" in problems_of(tmp_path)


def test_unparseable_timestamp_lists_lines_and_values(tmp_path: Path) -> None:
    frame = good_transactions()
    frame.loc[1, "timestamp"] = "05/01/2024"
    frame.loc[3, "timestamp"] = "yesterday"
    path = write_csv(tmp_path, "transactions", frame)
    message = problems_of(tmp_path)
    # CSV rows are reported as file lines: the header is line 1, so data row 1 (0-based) is line 3
    assert f"{path}, column 'timestamp': unparseable timestamp in 2 rows: line 3: '05/01/2024', line 5: 'yesterday'" \
        in message
    assert "expected an ISO 8601 date" in message


def test_non_numeric_and_negative_price(tmp_path: Path) -> None:
    frame = good_transactions()
    frame.loc[0, "price"] = "ten"
    frame.loc[2, "price"] = "-3"
    write_csv(tmp_path, "transactions", frame)
    message = problems_of(tmp_path)
    assert "column 'price': non-numeric value in 1 row: line 2: 'ten'" in message
    assert "column 'price': negative value in 1 row: line 4: '-3'" in message


def test_negative_amount_only_on_return_lines(tmp_path: Path) -> None:
    frame = good_transactions().drop(columns=["price"]).assign(amount=["10", "11", "-10", "20", "-20"])
    write_csv(tmp_path, "transactions", frame)
    message = problems_of(tmp_path)
    assert "column 'amount': negative amount on a line that is not a return in 1 row: line 4: '-10 (quantity 1)'" \
        in message
    assert "line 6" not in message  # -20 with quantity -1 is a return: allowed


def test_empty_file_and_header_only_file(tmp_path: Path) -> None:
    (tmp_path / "transactions.csv").write_text("")
    assert "empty file" in problems_of(tmp_path)
    (tmp_path / "transactions.csv").write_text("customer_id,order_id,timestamp,amount\n")
    message = problems_of(tmp_path)
    assert "transactions.csv" in message and "empty file" in message


def test_unknown_event_type(tmp_path: Path) -> None:
    write_csv(tmp_path, "transactions", good_transactions())
    events = pd.DataFrame({"customer_id": ["00001"] * 3, "timestamp": ["2024-01-01"] * 3,
                           "event_type": ["view", "purchase", "click"]})
    path = write_csv(tmp_path, "events", events)
    message = problems_of(tmp_path)
    assert f"{path}, column 'event_type': unknown event_type in 2 rows: line 3: 'purchase', line 4: 'click'" in message
    assert "expected one of view, cart_add" in message


def test_order_with_two_customers(tmp_path: Path) -> None:
    frame = good_transactions()
    frame.loc[2, "order_id"] = "A1"  # A1 already belongs to 00001
    path = write_csv(tmp_path, "transactions", frame)
    message = problems_of(tmp_path)
    assert f"{path}, column 'order_id': order_id belongs to more than one customer" in message
    assert "A1 -> customers 00001, 00002" in message


def test_mixed_time_zones(tmp_path: Path) -> None:
    frame = good_transactions()
    frame.loc[2, "timestamp"] = "2024-02-01T10:30:00+02:00"
    write_csv(tmp_path, "transactions", frame)
    message = problems_of(tmp_path)
    assert "column 'timestamp': mixed time zones (no zone, +02:00)" in message and "line 4" in message


def test_one_zone_everywhere_keeps_wall_time(tmp_path: Path) -> None:
    frame = good_transactions().assign(timestamp=["2024-01-05T08:00:00Z"] * 5)
    write_csv(tmp_path, "transactions", frame)
    stamps = read_shop(tmp_path).to_pandas("transactions")["timestamp"]
    assert (stamps == pd.Timestamp("2024-01-05 08:00:00")).all()


def test_unknown_ids_in_optional_tables_warn_but_load(tmp_path: Path) -> None:
    write_csv(tmp_path, "transactions", good_transactions())
    write_csv(tmp_path, "items", pd.DataFrame({"item_id": ["I1", "I2"], "category": ["Shoes", "Socks"]}))
    write_csv(tmp_path, "events", pd.DataFrame({"customer_id": ["00001", "99999"], "timestamp": ["2024-01-01"] * 2,
                                                "event_type": ["view", "view"]}))
    shop = read_shop(tmp_path)
    warnings = [str(w) for w in shop.warnings]
    assert any("events.csv, column 'customer_id': unknown customer_id" in w and "'99999'" in w for w in warnings)
    assert any("transactions.csv, column 'item_id': unknown item_id" in w and "'I3'" in w for w in warnings)


def test_duplicate_item_key(tmp_path: Path) -> None:
    write_csv(tmp_path, "transactions", good_transactions())
    path = write_csv(tmp_path, "items", pd.DataFrame({"item_id": ["I1", "I1", "I2", "I3"]}))
    assert f"{path}, column 'item_id': duplicated item_id" in problems_of(tmp_path)


def test_parquet_reports_rows_and_duckdb_file_reads(tmp_path: Path) -> None:
    frame = good_transactions()
    frame.loc[4, "quantity"] = "lots"
    frame.to_parquet(tmp_path / "transactions.parquet")
    assert "transactions.parquet, column 'quantity': non-numeric value in 1 row: row 5: 'lots'" in problems_of(tmp_path)

    import duckdb

    db = tmp_path / "shop.duckdb"
    with duckdb.connect(str(db)) as con:
        good = good_transactions()  # noqa: F841 - read by DuckDB's replacement scan
        con.execute("CREATE TABLE transactions AS SELECT * FROM good")
    assert read_shop(db).transactions.count().execute() == 5


def test_frames_get_the_same_checks() -> None:
    frame = good_transactions()
    frame.loc[0, "customer_id"] = None
    with pytest.raises(ShopDataError, match=r"column 'customer_id': empty value in 1 row: row 1"):
        shop_from_frames({"transactions": frame})


def test_boolean_columns_accept_yes_no(tmp_path: Path) -> None:
    write_csv(tmp_path, "transactions", good_transactions())
    write_csv(tmp_path, "customers", pd.DataFrame({"customer_id": ["00001", "00002"], "email_opt_in": ["yes", "0"]}))
    assert read_shop(tmp_path).to_pandas("customers")["email_opt_in"].tolist() == [True, False]
    write_csv(tmp_path, "customers", pd.DataFrame({"customer_id": ["00001"], "email_opt_in": ["maybe"]}))
    assert "column 'email_opt_in': unreadable yes/no value in 1 row: line 2: 'maybe'" in problems_of(tmp_path)


def test_frames_taken_in_reverse_are_read_like_any_other() -> None:
    """``df.iloc[::-1]`` leaves numeric columns running backwards in memory, which DuckDB 2.0's scan cannot cast
    (std::bad_cast); the shop reads the same lines whatever their layout."""
    lines = good_transactions().assign(price=[10.0, 5.5, 10.0, 20.0, 20.0], quantity=[1, 2, 1, 1, -1])
    reversed_lines = lines.iloc[::-1]
    assert reversed_lines["price"].to_numpy(copy=False).strides[0] < 0  # the layout this test is about
    read = [shop_from_frames({"transactions": frame}).sql.execute(
                "SELECT order_id, item_id, price, quantity FROM transactions ORDER BY ALL").fetchall()
            for frame in (lines, reversed_lines)]
    assert read[1] == read[0]
    assert len(read[0]) == 5
