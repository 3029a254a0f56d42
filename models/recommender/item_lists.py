"""Item-page lists: bought together (cross-sell), similar items, up-sell, from any recommender.

``item_list(model, item_ids, k, kind)`` is the public entry; a single model answers every kind with its own
item-item scores, the blend picks a source per kind (``blend_item_scores``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from models.recommender.base import LIST_KINDS, Recommender

if TYPE_CHECKING:  # the blend calls into this module, so only type checkers import it back
    from models.recommender.blend import Blend

KINDS = LIST_KINDS


def item_list(model: Recommender, item_ids: Iterable[str], k: int, kind: str) -> pd.DataFrame:
    """Item-page lists: ``bought_together`` (co-purchase), ``similar`` (ALS factors + co-views), ``upsell``.

    Out-of-stock items and the item itself are left out; unknown item ids get no rows; a model without
    ``has_similar_items`` gets none either.
    """
    return model.similar_items(item_ids, k, kind=kind)


def blend_item_scores(blend: Blend, item: int, kind: str) -> np.ndarray:
    """Return the blend's scores of every item for the page of ``item`` (dense index) and list ``kind``."""
    one = np.array([item])
    if kind == "bought_together":
        return blend.copurchase.item_scores(one)
    if kind == "similar":
        return 0.5 * np.maximum(blend.als.item_scores(one), 0) + 0.5 * blend.coview.normalised_[item].toarray()[0]
    return blend.upsell.item_scores(one)
