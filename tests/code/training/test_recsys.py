"""Recommender evaluation: metrics worked by hand, the holdout split, tuning that never sees the holdout."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from features.demo.config import DemoConfig
from features.demo.durable import ratings_log
from features.demo.shop import generate_shop
from models.recommender import (
    ALSRecommender,
    Blend,
    CoPurchaseRecommender,
    EASERecommender,
    PopularRecommender,
    build_interactions,
    recommend_one,
)
from training.recsys.holdout import RecsysConfig, holdout_truth, ranking_metrics
from training.recsys.pipeline import train_and_evaluate_recommender
from training.recsys.tune import tune

CUTOFF = pd.Timestamp("2024-07-01")
FAST = {"als_trials": 2, "weight_trials": 3, "blend": {"als": {"factors": 8, "iterations": 5}}, "ranker": False}


def shop(seed: int = 0, customers: int = 150) -> dict[str, pd.DataFrame]:
    """Customers of four taste groups order every ~3 weeks for a year; group items 0-2 are staples rebought."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        group, t = c % 4, float(rng.uniform(0, 30))
        while t < 365:
            picks = {group * 10 + int(rng.integers(0, 3))} | {group * 10 + int(i) for i in rng.integers(3, 10, 2)}
            when = CUTOFF - pd.Timedelta(days=365 - t)
            rows += [(f"C{c:03d}", f"O{c:03d}-{t:.0f}", when, f"I{i:02d}", 1) for i in picks]
            t += float(rng.uniform(15, 30))
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "item_id", "quantity"])
    items = pd.DataFrame({"item_id": [f"I{i:02d}" for i in range(40)], "category": [f"g{i // 10}" for i in range(40)],
                          "price": np.linspace(5, 80, 40), "in_stock": True})
    return {"transactions": tx, "items": items}


def test_ranking_metrics_by_hand():
    truth = sp.csr_matrix(np.array([[0, 0, 1, 0, 0, 1], [0, 0, 0, 0, 0, 0], [1, 0, 0, 0, 0, 0]], np.float32))
    best = np.array([[1, 2, 3], [0, 1, 2], [0, -1, -1]])
    got = ranking_metrics(best, truth, k=3, n_items=6)
    # row 0: one hit at rank 2 of two relevant; row 1 has no truth (left out); row 2: hit at rank 1
    dcg0, idcg0 = 1 / math.log2(3), 1 + 1 / math.log2(3)
    assert got["precision@3"] == pytest.approx((1 / 3 + 1 / 3) / 2)
    assert got["recall@3"] == pytest.approx((0.5 + 1.0) / 2)
    assert got["ndcg@3"] == pytest.approx((dcg0 / idcg0 + 1.0) / 2)
    assert got["map@3"] == pytest.approx(((1 / 2) / 2 + 1.0) / 2)
    assert got["coverage"] == pytest.approx(4 / 6)  # items 0, 1, 2, 3 recommended to someone


def test_holdout_truth_scores_returning_buyers_and_marks_new_items():
    day = pd.Timedelta(days=1)
    tx = pd.DataFrame({
        "customer_id": ["A", "A", "A", "B", "NEW", "A"], "order_id": ["1", "2", "2", "3", "4", "5"],
        "timestamp": [CUTOFF - 40 * day, CUTOFF - 5 * day, CUTOFF - 5 * day, CUTOFF - 50 * day, CUTOFF - 2 * day,
                      CUTOFF - 3 * day],
        "item_id": ["X", "X", "Y", "Z", "X", "Z"], "quantity": [1, 1, 1, 1, 1, -1],
    })
    data = build_interactions(tx, as_of=CUTOFF - 30 * day)
    holdout = holdout_truth(tx, data, CUTOFF - 30 * day, CUTOFF)
    assert data.customers.to_external(holdout.users).tolist() == ["A"]  # B bought nothing, NEW nothing before
    x, y, z = data.items.to_internal(["X", "Y", "Z"])
    assert y == -1 and holdout.truth.shape[1] == data.n_items + 1  # Y is new to the shop: a column of its own
    assert holdout.truth.toarray()[0].tolist() == [1, 0, 1]  # X, not Z (the return is no purchase), then Y
    assert holdout.new_truth.toarray()[0].tolist() == [0, 0, 1]


@pytest.fixture(scope="module")
def run():
    tables = shop()
    return train_and_evaluate_recommender(tables["transactions"], None, tables["items"], CUTOFF, 30,
                                          RecsysConfig.model_validate(FAST))


def test_evaluation_table_has_every_model_side_by_side(run):
    assert list(run.metrics.index) == ["popularity", "copurchase", "ease", "als", "buy_again", "blend"]
    assert {"precision@10", "recall@10", "ndcg@10", "map@10", "coverage", "chosen"} <= set(run.metrics.columns)
    assert run.metrics["customers"].nunique() == 1 and run.metrics["customers"].iloc[0] > 100
    assert (run.metrics["ndcg@10 low"] <= run.metrics["ndcg@10"]).all()
    assert (run.metrics["ndcg@10"] <= run.metrics["ndcg@10 high"]).all()
    assert run.metrics["chosen"].sum() == 1 and run.metrics.index[run.metrics["chosen"]][0] == run.chosen
    assert ((run.metrics[["ndcg@10", "coverage"]] >= 0) & (run.metrics[["ndcg@10", "coverage"]] <= 1)).all().all()
    # staples rebought on a cycle and group tastes: the blend must beat plain popularity clearly
    assert run.metrics.loc["blend", "ndcg@10"] > 1.3 * run.metrics.loc["popularity", "ndcg@10"]
    assert set(run.params) == {"blend", "ease"} and "weights" in run.params["blend"]
    assert any("no item views" in note for note in run.info["notes"])  # the shop has no events table


def test_thin_time_holdout_switches_to_the_per_customer_split_and_says_so(run):
    # 150 customers: the last 30 days hold far fewer than 1,000 buyers
    assert run.info["split"] == "per_customer"
    assert any(note.startswith("per-customer split: the time holdout has only") for note in run.info["notes"])


def test_served_model_is_the_chosen_one_fitted_on_everything_before_the_cutoff(run, tmp_path):
    served = {"blend": Blend, "als": ALSRecommender, "ease": EASERecommender, "popularity": PopularRecommender,
              "copurchase": CoPurchaseRecommender}[run.chosen]
    assert type(run.model) is served and run.chosen in run.info["why"]
    assert run.model.customers_.index_of("C000") >= 0
    assert pd.Timestamp(run.info["holdout_start"]) == CUTOFF - pd.Timedelta(days=30)
    answer = run.model.save(tmp_path / "served")
    assert recommend_one(served.load(answer), "C000", k=3).items


def test_tuning_never_reads_the_holdout():
    tables = shop(seed=3, customers=80)
    tx = tables["transactions"]
    cfg = RecsysConfig.model_validate(FAST)
    start = CUTOFF - pd.Timedelta(days=30)
    tuned, _, _ = tune(tx, None, tables["items"], start, 30, cfg)
    scrambled = tx.copy()
    late = scrambled["timestamp"] >= start
    scrambled.loc[late, "item_id"] = scrambled.loc[late, "item_id"].sample(frac=1.0, random_state=1).to_numpy()
    again, _, _ = tune(scrambled, None, tables["items"], start, 30, cfg)
    assert again == tuned


def test_empty_holdout_is_refused():
    tables = shop(customers=20)
    with pytest.raises(ValueError, match="no customer bought"):  # the time split, asked for, is empty
        train_and_evaluate_recommender(tables["transactions"], None, None, CUTOFF + pd.Timedelta(days=400), 30,
                                       RecsysConfig(tune=False, split="time"))
    once = tables["transactions"].drop_duplicates("customer_id")  # one order each: nothing to hold out either
    with pytest.raises(ValueError, match="none has two orders"):
        train_and_evaluate_recommender(once, None, None, CUTOFF + pd.Timedelta(days=400), 30, RecsysConfig(tune=False))


def test_tuning_sample_keeps_the_validation_customers_and_whole_customers() -> None:
    from training.recsys.tune import tuning_sample

    tables = shop(seed=3, customers=200)
    data = build_interactions(tables["transactions"], as_of=CUTOFF - pd.Timedelta(days=60))
    valid = holdout_truth(tables["transactions"], data, CUTOFF - pd.Timedelta(days=60), CUTOFF, max_customers=30)
    sampled, n = tuning_sample(data, valid, 80, seed=0)
    kept = np.unique(sampled.line_customer)
    assert n == 80 == len(kept) and set(valid.users) <= set(kept)
    assert sampled.n_customers == data.n_customers and sampled.n_items == data.n_items  # same indices
    whole = np.isin(data.line_customer, kept)
    assert len(sampled.line_customer) == int(whole.sum())  # every line of a kept customer, no other
    np.testing.assert_array_equal(sampled.line_item, data.line_item[whole])
    assert tuning_sample(data, valid, 80, seed=0)[1] == n and np.array_equal(
        np.unique(tuning_sample(data, valid, 80, seed=0)[0].line_customer), kept)  # seeded
    same, everyone = tuning_sample(data, valid, 10_000, seed=0)
    assert same is data and everyone == data.n_customers


SINGLE_SOURCES = ["popularity", "copurchase", "ease", "als"]


def test_ratings_log_is_movielens_like():
    tx = ratings_log(users=200, items=150, seed=2)
    assert not tx.duplicated(["customer_id", "item_id"]).any() and tx["order_id"].is_unique  # one film an order
    per_user = tx.groupby("customer_id").size()
    assert len(per_user) == 200 and per_user.min() >= 20 and per_user.max() <= 75  # at most half the catalogue
    top = tx["item_id"].value_counts()
    assert top.iloc[0] > 5 * top.iloc[-1]  # popular films and a long tail
    assert tx.groupby("customer_id")["timestamp"].apply(lambda t: t.is_monotonic_increasing).all()
    assert ratings_log(users=200, items=150, seed=2).equals(tx)  # seeded


@pytest.fixture(scope="module")
def ratings_run():
    """A MovieLens-like ratings log (nobody rates a film twice), each user's last 5 ratings held out."""
    tx = ratings_log(users=600, items=300, seed=1)
    cfg = RecsysConfig.model_validate({**FAST, "split": "per_customer", "holdout_orders": 5})
    return train_and_evaluate_recommender(tx, None, None, tx["timestamp"].max() + pd.Timedelta(days=1), 30, cfg)


def test_leave_last_5_without_rebuys_serves_at_least_the_best_single_source(ratings_run):
    run, ndcg = ratings_run, ratings_run.metrics["ndcg@10"]
    assert run.info["rebuy_share"] == 0.0 and "re-buys: 0.0% of (customer, item) pairs" in run.info["notes"][-1]
    assert run.params["blend"]["weights"]["buy_again"] == 0.0  # nothing to buy again: switched off, not tuned
    assert "rebuy_threshold" not in run.info["trials"] and run.info["trials"]["validation"]["rebuys"] is False
    assert all(run.info["filter_bought"].values())  # every model filters what the customer bought
    assert run.metrics["customers"].iloc[0] == 600  # everyone has 20+ ratings: 5 held out each
    assert ndcg[run.chosen] >= ndcg[SINGLE_SOURCES].max()
    assert ndcg["ease"] > 1.3 * ndcg["popularity"]  # taste matters, as in the real ratings sets


def test_durable_demo_shop_serves_at_least_the_best_single_source():
    tables = generate_shop(DemoConfig(customers=2_000, seed=3, years=1.5, profile="durable"))
    tx = tables["transactions"]
    cutoff = pd.Timestamp(tx["timestamp"].max()).normalize() + pd.Timedelta(days=1)
    run = train_and_evaluate_recommender(tx, tables["events"], tables["items"], cutoff, 90,
                                         RecsysConfig.model_validate(FAST))
    ndcg = run.metrics["ndcg@10"]
    assert run.info["rebuy_share"] < 0.02 and run.params["blend"]["weights"]["buy_again"] == 0.0
    assert ndcg[run.chosen] >= ndcg[SINGLE_SOURCES].max()
    assert run.info["why"].startswith(f"{run.chosen}: ")


def test_a_shop_with_rebuys_keeps_buy_again(run):
    assert run.info["rebuy_share"] > 0.02 and "buy-again off" not in run.info["notes"][-1]
    assert "rebuy_threshold" in run.info["trials"] and run.info["trials"]["validation"]["rebuys"] is True


def test_weight_search_starts_with_ease_alone_and_keeps_buy_again_off_without_rebuys():
    from models.recommender import BlendWeights
    from training.recsys.tune import NO_REBUY_WEIGHTS, weight_candidates

    start = BlendWeights(buy_again=0.0)
    tried = weight_candidates(start, 9, np.random.default_rng(0), NO_REBUY_WEIGHTS)
    first = tried[0]
    assert first.ease == 1.0 and first.cart == start.cart  # EASE alone first: it wins ties
    assert all(getattr(first, name) == 0.0 for name in NO_REBUY_WEIGHTS if name != "ease")
    assert tried[1] == start and all(w.buy_again == 0.0 for w in tried)
    drawn = tried[1 + len(NO_REBUY_WEIGHTS):]
    assert len(drawn) == 8 and sum(w.ease == 0.0 for w in drawn) == 4  # half the draws leave EASE out
