"""The durable-goods profile: a shop of books, films or furniture, where a customer buys each item at most once.

Every recommender source must then find items new to the customer (buy-again has nothing to say), which is the
other half of what a real catalogue looks like next to the default grocery-and-gadgets shop.
"""

from __future__ import annotations

import numpy as np

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
