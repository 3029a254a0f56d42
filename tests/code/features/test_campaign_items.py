"""Item audiences from ranked recommendations: best match first, recent buyers out unless a re-buy is due."""

from __future__ import annotations

import pandas as pd
import pytest

from features.campaigns.items import check_target, item_audience

REBUY = "time to buy again"


def recs() -> pd.DataFrame:
    rows = [("a", 1, "I1", 0.9, "customers like you bought"), ("a", 2, "I2", 0.5, "popular"),
            ("b", 3, "I1", 0.7, "popular"), ("c", 1, "I1", 0.8, REBUY), ("d", 1, "I3", 0.9, "popular in Shoes"),
            ("d", 2, "I2", 0.4, "popular"), ("e", 1, "I1", 0.95, "popular")]
    return pd.DataFrame(rows, columns=["customer_id", "rank", "item_id", "score", "reason"])


def test_item_audience_ranks_by_list_position_and_leaves_out_recent_buyers() -> None:
    recent = pd.DataFrame({"customer_id": ["c", "e"], "item_id": ["I1", "I1"]})  # c is due again, e is not
    out = item_audience(recs(), recent, k=10, item="I1", rebuy_reason=REBUY)
    assert out["customer_id"].tolist() == ["a", "c", "b"]  # rank 1 (by score), rank 1, rank 3; e left out
    assert out["audience_rank"].tolist() == [1, 2, 3] and out["list_rank"].tolist() == [1, 1, 3]
    assert out.at[1, "rule"] == "item I1: #1 of their recommendations, a re-buy that is due"
    assert item_audience(recs(), recent, k=2, item="I1", rebuy_reason=REBUY)["customer_id"].tolist() == ["a", "c"]


def test_category_audience_takes_each_customers_best_item_of_the_category() -> None:
    categories = pd.Series({"I1": "Shoes", "I2": "Bags", "I3": "Shoes"})
    recent = pd.DataFrame({"customer_id": ["a"], "item_id": ["I3"]})  # a bought shoes recently
    out = item_audience(recs(), recent, k=10, category="Bags", item_categories=categories)
    assert out["customer_id"].tolist() == ["a", "d"] and out["item_id"].tolist() == ["I2", "I2"]
    shoes = item_audience(recs(), recent, k=10, category="Shoes", item_categories=categories)
    assert "a" not in shoes["customer_id"].tolist() and shoes.set_index("customer_id").at["d", "item_id"] == "I3"


def test_unknown_targets_are_refused_by_name() -> None:
    items = pd.DataFrame({"item_id": ["I1", "I2"], "category": ["Shoes", "Bags"]})
    with pytest.raises(ValueError, match="--item 'I9' is not an item the recommender knows \\(e.g. I1, I2\\)"):
        check_target(items, ["I1", "I2"], "I9", None)
    with pytest.raises(ValueError, match="--category 'Hats' is not in items.category \\(found: Bags, Shoes\\)"):
        check_target(items, ["I1", "I2"], None, "Hats")
    with pytest.raises(ValueError, match="exactly one"):
        check_target(items, ["I1"], "I1", "Shoes")
    assert check_target(items, ["I1"], None, "Shoes").to_dict() == {"I1": "Shoes", "I2": "Bags"}
