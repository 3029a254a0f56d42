"""Which customers and purchases the recommender is scored on: the time holdout, or each customer's last orders.

The time holdout (``holdout.holdout_truth``) is the honest one: fit before a date, score what customers bought
after it. On a thin shop it holds too few customers to tell models apart (a hundred customers give NDCG@10 a 95%
interval of about +-0.065), so ``choose_split`` switches to a per-customer split when the time holdout has under
``min_customers`` customers or under ``min_share`` of the customers active in the year before it: each
customer's last ``n`` orders are held out (``split_last_orders``), and the same again for validation. That split
is not point-in-time across customers (one customer's held-out order may be older than another's training
lines), so it ranks models against each other; it does not forecast next quarter's figure.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from models.recommender import Interactions
from models.recommender.split import last_orders
from training.recsys.holdout import Holdout

logger = logging.getLogger(__name__)

ACTIVE_DAYS = 365.0  # "active": bought in the year before the holdout


@dataclass(frozen=True)
class SplitChoice:
    """Which split the run uses and why (the why goes into the run's notes)."""

    kind: str  # "time" or "per_customer"
    note: str


def choose_split(time_holdout: Holdout, data: Interactions, min_customers: int, min_share: float) -> SplitChoice:
    """Return the time split unless its holdout is thin (few customers, or a small share of the active ones)."""
    active = len(np.unique(data.line_customer[data.line_age < ACTIVE_DAYS]))
    n = time_holdout.n_eligible  # before max_eval_customers: the cap keeps evaluation fast, the holdout is not thin
    if n >= min_customers and n >= min_share * active:
        return SplitChoice("time", f"time holdout: {n:,} customers ({n / max(active, 1):.0%} of {active:,} active)")
    note = (f"per-customer split: the time holdout has only {n:,} customers (needs {min_customers:,} and "
            f"{min_share:.0%} of the {active:,} active in the year before it), too few to tell models apart; "
            "each customer's last order is held out instead (and the one before for validation)")
    logger.warning("recommender: %s", note)
    return SplitChoice("per_customer", note)


def split_last_orders(data: Interactions, n: int = 1, event_margin_days: float = 1.0) -> tuple[Interactions, Holdout]:
    """Hold out each customer's last ``n`` orders (see ``models.recommender.split.last_orders``); (train, holdout)."""
    train, users, truth = last_orders(data, n, event_margin_days)
    new = truth - truth.multiply(train.bought[users])
    new.eliminate_zeros()
    return train, Holdout(users=users, truth=truth, new_truth=sp.csr_matrix(new))


def subsample(holdout: Holdout, n: int | None, seed: int = 0) -> Holdout:
    """Return at most ``n`` of the holdout's customers (a seeded sample keeps evaluation time flat)."""
    if n is None or n >= holdout.n_users:
        return holdout
    pick = np.sort(np.random.default_rng(seed).choice(holdout.n_users, n, replace=False))
    return Holdout(users=holdout.users[pick], truth=holdout.truth[pick], new_truth=holdout.new_truth[pick])
