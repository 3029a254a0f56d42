"""The durable-goods profile: a shop of books, films or furniture, where a customer buys each item at most once.

Every recommender source must then find items new to the customer (buy-again has nothing to say), which is the
other half of what a real catalogue looks like next to the default grocery-and-gadgets shop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.demo.catalog import Catalog
from features.demo.customers import Profiles, taste_items

Part = tuple[np.ndarray, np.ndarray, np.ndarray]


def once_per_customer(parts: list[Part], cust: np.ndarray, t: np.ndarray, rank: np.ndarray, p: Profiles,
                      catalog: Catalog, rng: np.random.Generator, redraws: int = 3) -> list[Part]:
    """Return the order lines with every (customer, item) pair bought once, quantity 1.

    Taste picks the customer already has are redrawn from their taste (up to ``redraws`` times) so baskets keep
    their size; what still repeats after that, and repeated complements, are dropped. ``parts[0]`` holds the
    taste picks; ``cust``, ``t``, ``rank`` are each order's customer, time and rank; the earliest line of a
    (customer, item) pair is the one kept.
    """
    order = np.concatenate([a for a, _, _ in parts])
    item = np.concatenate([i for _, i, _ in parts]).astype(np.int64)
    taste = np.zeros(len(order), bool)
    taste[:len(parts[0][0])] = True
    n_items = len(catalog.price)
    repeat = np.zeros(len(order), bool)
    for _ in range(redraws + 1):
        key = cust[order] * n_items + item
        sort = np.lexsort((t[order], key))  # per pair, earliest order first
        repeat = np.zeros(len(order), bool)
        repeat[sort[1:]] = key[sort][1:] == key[sort][:-1]
        again = np.flatnonzero(repeat & taste)
        if not len(again):
            break
        item[again] = taste_items(rng, p, catalog, cust[order[again]], rank=rank[order[again]])
    keep = ~repeat
    return [(order[keep], item[keep], np.ones(int(keep.sum()), np.int64))]


def ratings_log(users: int = 2_000, items: int = 1_000, seed: int = 0, factors: int = 12,
                min_per_user: int = 20, mean_per_user: float = 60.0, start: str = "2024-01-01") -> pd.DataFrame:
    """Return a MovieLens-like log as order lines: each "rating" is an order of one item, no item twice per user.

    Like the public movie-ratings sets: every user has at least ``min_per_user`` ratings and a long-tailed count
    (lognormal around ``mean_per_user``, capped at half the catalogue); items have Zipf-like popularity and a
    release day, and a user's taste is a few latent genres (Gumbel top-k draws without replacement from
    ``popularity + taste``). Users rate in sessions over a few months, newly released items more often later, so
    leave-last-n-out per user has the mild drift the real sets have. Columns: the data contract's
    ``customer_id, order_id, timestamp, item_id, quantity, amount``.
    """
    rng = np.random.default_rng(seed)
    genres = rng.normal(size=(8, factors))
    item_genre = rng.integers(0, len(genres), items)
    item_f = genres[item_genre] + 0.6 * rng.normal(size=(items, factors))
    popularity = -0.8 * np.log(np.arange(1, items + 1))[rng.permutation(items)]
    release = rng.uniform(0.0, 1.0, items)  # share of the user's span after which the item exists
    counts = np.clip(rng.lognormal(np.log(mean_per_user), 0.8, users).astype(np.int64) + min_per_user - 10,
                     min_per_user, items // 2)
    rows_user, rows_item, rows_time = [], [], []
    origin = pd.Timestamp(start).value // 10**9
    for u in range(users):  # one user at a time keeps memory at one row of scores
        taste = rng.dirichlet(np.full(len(genres), 0.3)) @ genres + 0.3 * rng.normal(size=factors)
        score = popularity + 0.8 * item_f @ taste + rng.gumbel(size=items)
        picked = np.argsort(-score)[:counts[u]]
        when = np.sort(rng.beta(1.0, 3.0, len(picked)))  # most of a user's ratings come early, as in ML
        order = np.argsort(release[picked] + 1.5 * rng.random(len(picked)))  # newer items tend to come later
        first = origin + int(rng.integers(0, 3 * 365)) * 86_400
        rows_user.append(np.full(len(picked), u))
        rows_item.append(picked[order])
        rows_time.append(first + (when * 120 * 86_400).astype(np.int64) + np.arange(len(picked)))
    user, item, seconds = np.concatenate(rows_user), np.concatenate(rows_item), np.concatenate(rows_time)
    return pd.DataFrame({
        "customer_id": [f"U{u:05d}" for u in user], "order_id": [f"R{n:07d}" for n in range(len(user))],
        "timestamp": pd.to_datetime(seconds, unit="s"), "item_id": [f"M{i:05d}" for i in item],
        "quantity": 1, "amount": 1.0,
    })
