"""A four-line shop the command-line tests write, refuse to overwrite and export."""

from __future__ import annotations

from pathlib import Path

import pytest

LINES = ("customer_id,order_id,timestamp,amount,item_id\nC1,O1,2024-01-05,10,I1\nC1,O2,2024-02-05,12.5,I2\n"
         "C2,O3,2024-01-20,7,I1\nC2,O4,2024-03-01,3,I2\n")


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    (tmp_path / "shop").mkdir()
    (tmp_path / "shop" / "transactions.csv").write_text(LINES)
    return tmp_path / "shop"
