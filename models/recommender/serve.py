"""Answers with reasons from any recommender: ``recommend_one`` and ``recommend_batch``.

These are the public entries (the CLI, the service and campaigns call them); they ask the model
(``Recommender.answer_frame`` / ``answer_one``), so a single source serves as well as the blend, whose own
answers are in ``blend_answers.py``.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from models.recommender.base import Recommender
from models.recommender.reasons import Recommendations


def recommend_batch(model: Recommender, customer_ids: Iterable[str], k: int = 10, batch_size: int = 1_000
                    ) -> pd.DataFrame:
    """Return customer_id, rank, item_id, score, reason: the top ``k`` for each customer (unknown: popular)."""
    return model.answer_frame(customer_ids, k, batch_size)


def recommend_one(model: Recommender, customer_id: str, k: int = 10, cart: Iterable[str] = (),
                  exclude: Iterable[str] = ()) -> Recommendations:
    """Return one customer's top ``k`` picks with reasons; unknown customers get cart-based or popular picks.

    Filtered out: items bought before (unless due to buy again), in the cart, out of stock, in ``exclude``.
    Items of ``cart`` or ``exclude`` the model does not know are ignored and listed in ``unknown_items``.
    """
    return model.answer_one(customer_id, k, cart, exclude)
