"""Training on a customer sample (training.max_customers): windows and holdout hold only sampled customers, the
run says so, and the models still score every customer."""

from __future__ import annotations

from features.data.reader import shop_from_frames
from tests.shared import demo_tables, small_config
from training.config import RetentionConfig
from training.train import fit_and_evaluate


def test_a_run_over_the_cap_trains_on_the_sample_and_says_so() -> None:
    shop = shop_from_frames(demo_tables(1200, seed=9))
    raw = small_config()
    raw["training"] = {**raw["training"], "max_customers": 600, "sample_seed": 3}
    outcome = fit_and_evaluate(shop, RetentionConfig(**raw))
    holdout = outcome.holdout
    assert 0 < len(holdout.inputs) <= 600  # buyers before the holdout cutoff, among the 600 sampled
    note = next(n for n in outcome.notes if "seeded sample" in n)
    assert "600 of " in note and "scoring uses every customer" in note
    churn = outcome.models["churn"]
    assert churn.metadata_["training_customers"] == 600 and churn.metadata_["shop_customers"] > 600
    everyone = shop.sql.execute("SELECT count(DISTINCT customer_id) FROM transactions").fetchall()[0][0]
    assert everyone > 600  # the shop itself is untouched: scoring reads it whole
