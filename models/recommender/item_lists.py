"""Item-page lists: bought together (cross-sell), similar items, up-sell, from any recommender.

``item_list(model, item_ids, k, kind)`` is the public entry; a single model answers every kind with its own
item-item scores, the blend picks a source per kind (``blend_answers.blend_item_scores``).
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from models.recommender.base import LIST_KINDS, Recommender

KINDS = LIST_KINDS


def item_list(model: Recommender, item_ids: Iterable[str], k: int, kind: str) -> pd.DataFrame:
    """Item-page lists: ``bought_together`` (co-purchase), ``similar`` (ALS factors + co-views), ``upsell``.

    Out-of-stock items and the item itself are left out; unknown item ids get no rows; a model without
    ``has_similar_items`` gets none either.
    """
    return model.similar_items(item_ids, k, kind=kind)
