"""Issue 19: a family the data cannot support is left out with the reason, never filled with NaN or zeros."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from features.data.reader import shop_from_frames
from features.families import sql_bgnbd
from features.families.build import build_features
from features.families.config import FeaturesConfig
from tests.shared import demo_tables


def tiny_transactions(customers: int) -> pd.DataFrame:
    rows = [(f"C{c}", f"O{c}-{k}", f"2024-0{1 + k}-1{c % 9}", 10.0 + k) for c in range(customers) for k in range(3)]
    return pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "amount"])


def test_too_few_repeat_customers_leave_bgnbd_out_and_say_why() -> None:
    result = build_features(shop_from_frames({"transactions": tiny_transactions(10)}), "2024-06-01")
    assert "bgnbd" not in result.included
    assert "too little data: 10 customer(s) bought more than once" in result.left_out["bgnbd"]
    assert not [c for c in result.frame.columns if c.startswith("bgnbd")]


def test_one_customer_gets_no_bgnbd_fit() -> None:
    result = build_features(shop_from_frames({"transactions": tiny_transactions(1)}), "2024-06-01")
    assert "too little data" in result.left_out["bgnbd"] and len(result.frame) == 1


def test_enough_repeat_customers_keep_bgnbd() -> None:
    tables = demo_tables(300, seed=4, years=1.0)
    result = build_features(shop_from_frames({"transactions": tables["transactions"]}), "2026-09-01")
    assert "bgnbd" in result.included
    assert result.frame["bgnbd_p_alive"].between(0, 1).all()


def _fit_that(outcome: str):  # noqa: ANN202 - a stand-in for the worker's fit
    def fit(triples: pa.Table, cfg: FeaturesConfig) -> pa.Table:
        if outcome == "raises":
            raise ValueError("BG/NBD fit did not converge")
        n = triples.num_rows
        return pa.table({"frequency": triples.column("frequency"), "recency": triples.column("recency"),
                         "T": triples.column("T"), "bgnbd_expected_orders_90d": np.full(n, np.nan),
                         "bgnbd_p_alive": np.full(n, 0.5)})
    return fit


@pytest.mark.parametrize(("outcome", "reason"), [("raises", "the BG/NBD fit failed (BG/NBD fit did not converge)"),
                                                 ("not finite", "the BG/NBD fit is not usable (some scores are not")])
def test_a_failed_fit_in_the_worker_leaves_bgnbd_out_and_no_table_behind(monkeypatch: pytest.MonkeyPatch,
                                                                       outcome: str, reason: str) -> None:
    monkeypatch.setattr(sql_bgnbd, "bgnbd_scores", _fit_that(outcome))
    tables = demo_tables(300, seed=4, years=1.0)
    shop = shop_from_frames({"transactions": tables["transactions"]})
    result = build_features(shop, "2026-09-01")
    assert reason in result.left_out["bgnbd"] and "cadence" in result.included
    assert not [c for c in result.frame.columns if c.startswith("bgnbd")]
    assert not shop.sql.execute("SELECT table_name FROM duckdb_tables() WHERE table_name LIKE '_features_%'").fetchall()


def test_events_matching_no_customer_leave_site_out() -> None:
    events = pd.DataFrame({"customer_id": ["X1", "X2"], "timestamp": ["2024-01-02", "2024-02-03"],
                           "event_type": ["view", "cart_add"]})
    shop = shop_from_frames({"transactions": tiny_transactions(3), "events": events})
    result = build_features(shop, "2024-06-01")
    assert "site" not in result.included
    assert "no event before the cutoff matches a customer who ordered" in result.left_out["site"]
    assert "'X" in result.left_out["site"] and "'C" in result.left_out["site"]
