"""The decile backtest on hand-made holdouts: groups, means and the next-order days among those who ordered."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from training.backtest import champion_predictions, decile_table, deciles

CUTOFF = datetime(2024, 1, 1)


def holdout(n: int = 20) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customer i has churn probability i/n; the last half ordered, on day i - 10 after the cutoff."""
    i = np.arange(n)
    ordered = i >= n // 2
    predictions = pd.DataFrame({"churn_probability": 1 - i / n, "golden_probability": i / n,
                                "expected_value": i * 10.0, "expected_orders": i / 10, "next_order_days": i * 1.0})
    labels = pd.DataFrame({"customer_id": [f"c{k}" for k in i], "churn": (~ordered).astype(int),
                           "golden": (i >= n - 2).astype(int), "value": np.where(ordered, i * 10.0, 0.0),
                           "orders": ordered.astype(float),
                           "next_order_date": [CUTOFF + pd.Timedelta(days=int(k) - n // 2) if o else pd.NaT
                                               for k, o in zip(i, ordered, strict=True)]})
    return predictions, labels


def test_deciles_are_equal_groups_even_with_ties() -> None:
    assert deciles(np.zeros(20)).tolist() == [k for k in range(1, 11) for _ in range(2)]
    assert deciles(np.array([3.0, 1.0, 2.0, 0.0]), bins=2).tolist() == [2, 1, 2, 1]


def test_decile_table_on_a_hand_made_holdout() -> None:
    predictions, labels = holdout()
    table = decile_table(predictions, labels, CUTOFF)
    assert list(dict.fromkeys(table["prediction"])) == ["churn_probability", "golden_probability", "expected_value",
                                                        "expected_orders", "next_order_days"]
    churn = table[table["prediction"] == "churn_probability"].set_index("decile")
    assert churn["customers"].tolist() == [2] * 10
    # the highest churn probabilities (decile 10: customers 0 and 1) all churned; the lowest (18, 19) none did
    assert churn.loc[10, "mean_actual"] == 1.0 and churn.loc[1, "mean_actual"] == 0.0
    assert np.isclose(churn.loc[10, "mean_predicted"], 1 - 0.5 / 20)
    value = table[table["prediction"] == "expected_value"].set_index("decile")
    assert value.loc[10, "mean_actual"] == 185.0 and value.loc[1, "mean_actual"] == 0.0
    nxt = table[table["prediction"] == "next_order_days"].set_index("decile")
    # customers 18 and 19 ordered on days 8 and 9; customers 0 and 1 did not order at all
    assert nxt.loc[10, "mean_actual"] == 8.5 and nxt.loc[10, "ordered_share"] == 1.0
    assert np.isnan(nxt.loc[1, "mean_actual"]) and nxt.loc[1, "ordered_share"] == 0.0


def test_champion_predictions_take_each_task_from_its_winner() -> None:
    predictions, _ = holdout(4)
    other = predictions * 0 + 7.0
    out = champion_predictions({"model": predictions, "bgnbd": other}, {"churn": "bgnbd", "golden": "model",
                                                                        "value": "model"})
    assert (out["churn_probability"] == 7.0).all()
    assert out["golden_probability"].tolist() == predictions["golden_probability"].tolist()
