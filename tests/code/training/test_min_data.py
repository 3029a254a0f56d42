"""Minimum data: training refuses too few customers or too short a history, saying how much more is needed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from training.cli.app import app
from training.config import TrainingConfig
from training.windows import NotEnoughDataError, check_enough_data

S = datetime(2024, 7, 1)


def test_too_few_customers_says_how_many_more() -> None:
    with pytest.raises(NotEnoughDataError, match=r"120 customers .* at least 500 \(380 more\)"):
        check_enough_data(120, datetime(2022, 1, 1), S, TrainingConfig())


def test_too_short_history_says_how_many_more_days_or_which_horizon() -> None:
    with pytest.raises(NotEnoughDataError, match=r"history is 100 days .* needs 180 days .* 80 more days, or a "
                                                 r"horizon of at most 50 days"):
        check_enough_data(5000, datetime(2024, 3, 23), S, TrainingConfig(horizon_days=90))


def test_enough_data_passes_and_thresholds_are_configurable() -> None:
    check_enough_data(500, datetime(2024, 1, 3), S, TrainingConfig())  # 180 days, 500 customers: just enough
    check_enough_data(50, datetime(2024, 6, 1), S, TrainingConfig(min_customers=10, min_history_horizons=1,
                                                                   horizon_days=30))


def test_cli_refuses_with_exit_2_and_writes_no_mlflow_run(temp_registry: Path) -> None:
    tmp_path = temp_registry
    days = pd.date_range("2024-01-01", periods=60, freq="D")
    frame = pd.DataFrame({"customer_id": [f"c{i % 40}" for i in range(60)], "order_id": [f"o{i}" for i in range(60)],
                          "timestamp": days, "amount": 10.0})
    frame.to_csv(tmp_path / "transactions.csv", index=False)
    result = CliRunner().invoke(app, ["train", "--data", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "not enough data to train" in result.output
    assert "40 customers" in result.output and "460 more" in result.output
    assert not (tmp_path / "mlruns").exists()  # refused before any run or artifact
