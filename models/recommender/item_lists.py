"""Item-page lists from a fitted ``Blend``: bought together (cross-sell), similar items, up-sell."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from features import columns as C
from models.recommender.base import RANK, SCORE, SIMILAR_ITEM_ID, top_k

if TYPE_CHECKING:  # the blend calls into this module, so only type checkers import it back
    from models.recommender.blend import Blend

KINDS = ("bought_together", "similar", "upsell")


def item_list(blend: Blend, item_ids: Iterable[str], k: int, kind: str) -> pd.DataFrame:
    """Item-page lists: ``bought_together`` (co-purchase), ``similar`` (ALS factors + co-views), ``upsell``.

    Out-of-stock items and the item itself are left out; unknown item ids get no rows.
    """
    blend.check_fitted()
    rows = []
    for external in item_ids:
        item = blend.items_.index_of(external)
        if item < 0:
            continue
        one = np.array([item])
        if kind == "bought_together":
            scores = blend.copurchase.item_scores(one).copy()
        elif kind == "similar":
            scores = 0.5 * np.maximum(blend.als.item_scores(one), 0) + 0.5 * blend.coview.normalised_[item].toarray()[0]
        elif kind == "upsell":
            scores = blend.upsell.item_scores(one).copy()
        else:
            raise ValueError(f"unknown list kind {kind!r}; expected bought_together, similar or upsell")
        scores = np.where(blend.in_stock_ & (scores > 0), scores, -np.inf).astype(np.float32)
        scores[item] = -np.inf
        best, values = top_k(scores[None, :], k)
        keep = best[0] >= 0
        rows.append(pd.DataFrame({C.ITEM_ID: str(external), SIMILAR_ITEM_ID: blend.items_.to_external(best[0, keep]),
                                  SCORE: values[0, keep].astype(np.float64), RANK: np.arange(1, keep.sum() + 1)}))
    if not rows:
        return pd.DataFrame(columns=[C.ITEM_ID, SIMILAR_ITEM_ID, SCORE, RANK])
    return pd.concat(rows, ignore_index=True)
