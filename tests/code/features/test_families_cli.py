"""``retention features`` as a person runs it: the file, the families it says it left out, exit 2 on bad input.

(It tests a command from training/; it lives with the feature tests because it checks the families' report.)
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from features.data.cdnow import cdnow_transactions, read_cdnow
from training.cli.app import app

SAMPLE = Path(__file__).parents[2] / "data" / "cdnow_sample.txt"
runner = CliRunner()


@pytest.fixture(scope="module")
def cdnow_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cdnow")
    cdnow_transactions(read_cdnow(SAMPLE)).to_parquet(folder / "transactions.parquet", index=False)
    return folder


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_features_writes_one_row_per_customer_and_says_what_is_left_out(cdnow_folder: Path, tmp_path: Path,
                                                                        suffix: str) -> None:
    out = tmp_path / f"features{suffix}"
    result = runner.invoke(app, ["features", "--data", str(cdnow_folder), "--cutoff", "1997-10-01", "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_csv(out, dtype={"customer_id": str})
    assert frame["customer_id"].is_unique and frame["customer_id"].iloc[0] == "00004"  # ids keep their zeros
    assert {"days_since_last_order", "mean_gap_days", "bgnbd_p_alive"} <= set(frame.columns)
    text = " ".join(result.output.split())
    for family in ("basket", "site", "profile", "channel", "promotions"):
        assert family in text
    assert "left out" in text and "needs events" in text and "hour of ordering left out" in text
    assert f"wrote {out}" in text.replace("\n", "")


def test_invalid_data_writes_nothing_and_exits_2(tmp_path: Path) -> None:
    data = tmp_path / "shop"
    data.mkdir()
    pd.DataFrame({"customer_id": ["1"], "order_id": ["A"], "timestamp": ["yesterday"], "amount": ["3"]}).to_csv(
        data / "transactions.csv", index=False)
    out = tmp_path / "features.parquet"
    result = runner.invoke(app, ["features", "--data", str(data), "--cutoff", "2024-01-01", "--out", str(out)])
    assert result.exit_code == 2
    assert "unparseable timestamp" in result.output and "Nothing was written" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == [data]


@pytest.mark.parametrize(("cutoff", "out_name", "message"), [
    ("1997-10-01", "features.xlsx", "unsupported output format"),
    ("first of October", "features.csv", "is not an ISO date"),
    ("1990-01-01", "features.csv", "no purchase order before the cutoff"),
])
def test_bad_arguments_exit_2_before_writing(cdnow_folder: Path, tmp_path: Path, cutoff: str, out_name: str,
                                            message: str) -> None:
    out = tmp_path / out_name
    result = runner.invoke(app, ["features", "--data", str(cdnow_folder), "--cutoff", cutoff, "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()
