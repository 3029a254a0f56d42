"""Item audiences: who should get the e-mail about this product (or category). Pure functions of DataFrames.

The candidates are the recommender's ranked lists (``customer_id, rank, item_id, score, reason``, as
``models.recommender.serve.recommend_batch`` returns them, deep enough to reach beyond the first screen). A
customer qualifies when the item (or an item of the category) is on their list; the best-ranked match counts.
Customers who bought the item (or the category) in the recent window are left out unless the match is a re-buy
that is due (its reason is the recommender's buy-again phrase).
"""

from __future__ import annotations

import pandas as pd

from features import columns as C

AUDIENCE_COLUMNS = ("audience_rank", C.CUSTOMER_ID, C.ITEM_ID, "list_rank", "score", "reason", "rule")


def item_audience(recs: pd.DataFrame, recent_lines: pd.DataFrame, k: int, *, item: str | None = None,
                  category: str | None = None, item_categories: pd.Series | None = None,
                  rebuy_reason: str = "time to buy again") -> pd.DataFrame:
    """Return the ``k`` customers most likely to buy the item (or category) next, best first.

    Parameters
    ----------
    recs
        Ranked recommendations per customer.
    recent_lines
        Purchase lines in the recent window: customer_id, item_id.
    item, category
        Exactly one: the item id, or the category name (then ``item_categories`` maps item_id -> category).
    rebuy_reason
        The reason text of a due re-buy; such matches stay even when bought recently.
    """
    if (item is None) == (category is None):
        raise ValueError("give exactly one of item or category")
    if category is not None and item_categories is None:
        raise ValueError("an audience for a category needs the items table's category column")
    wanted = _matches(recs[C.ITEM_ID].astype(str), item, category, item_categories)
    matched = recs[wanted].sort_values(["rank", "score"], ascending=[True, False])
    best = matched.drop_duplicates(C.CUSTOMER_ID).copy()
    bought = recent_lines[_matches(recent_lines[C.ITEM_ID].astype(str), item, category, item_categories)]
    recent = best[C.CUSTOMER_ID].isin(set(bought[C.CUSTOMER_ID].astype(str)))
    due = best["reason"] == rebuy_reason
    best = best[~recent | due].head(k)
    what = f"item {item}" if item is not None else f"{category}"
    words = [f"{what}: #{r} of their recommendations" + (", a re-buy that is due" if d else f" ({why})")
             for r, why, d in zip(best["rank"], best["reason"], best["reason"] == rebuy_reason, strict=True)]
    out = best.rename(columns={"rank": "list_rank"}).assign(rule=words)
    out.insert(0, "audience_rank", range(1, len(out) + 1))
    return out[list(AUDIENCE_COLUMNS)].reset_index(drop=True)


def _matches(item_ids: pd.Series, item: str | None, category: str | None,
             item_categories: pd.Series | None) -> pd.Series:
    if item is not None:
        return item_ids == item
    assert item_categories is not None
    return item_ids.map(item_categories).eq(category).fillna(False).astype(bool)


def check_target(items: pd.DataFrame | None, known_items: list[str], item: str | None,
                 category: str | None) -> pd.Series | None:
    """Return item_id -> category (None for an item audience); refuse an unknown item or category by name.

    Raises
    ------
    ValueError
        When the item is not in the shop (or the recommender's catalogue), or the category is absent; the
        message gives a few known values.
    """
    if (item is None) == (category is None):
        raise ValueError("give exactly one of --item ID or --category NAME")
    if item is not None:
        if item not in set(known_items):
            raise ValueError(f"--item {item!r} is not an item the recommender knows (e.g. "
                             f"{', '.join(sorted(known_items)[:5])})")
        return None
    if items is None or C.CATEGORY not in items.columns:
        raise ValueError("--category needs an items table with a category column; use --item ID")
    categories = items.set_index(items[C.ITEM_ID].astype(str))[C.CATEGORY].astype(str)
    if category not in set(categories):
        raise ValueError(f"--category {category!r} is not in items.category (found: "
                         f"{', '.join(sorted(set(categories))[:10])})")
    return categories
