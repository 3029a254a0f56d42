"""Fit every uplift candidate on part of a campaign's customers and score them on the rest by the Qini coefficient.

The held-out part is a hashed share of customer ids (``models.customer.base.group_split``), so it does not depend
on row order. Candidates: the T-learner, the X-learner, class transformation, and the baselines "random targeting"
and "target by churn risk". Every Qini carries a bootstrap interval; the same bootstrap weights serve every
candidate, so "beats churn risk" is the paired interval of the difference. Random targeting's expected Qini is
zero by construction (its curve is the diagonal), so a model beats it when its own interval lies above zero. The
row "random targeting" shows the mean and the 2.5-97.5% range of the Qini of ``RANDOM_ORDERS`` random orders of
the same held-out customers: the noise a model has to rise above.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from features import columns as C
from models.customer.base import group_split
from models.uplift.data import CampaignData
from models.uplift.learners import KINDS, Kind, LearnerConfig
from models.uplift.model import EXTRA_ORDER, EXTRA_REVENUE, UpliftConfig, UpliftModel
from models.uplift.qini import Qini, bootstrap_weights, interval, qini_coefficient, qini_with_interval, share_of_gain

logger = logging.getLogger(__name__)

MODELS: tuple[Kind, ...] = ("t", "x", "ct")
BASELINES: tuple[Kind, ...] = ("churn",)
RANDOM_ORDERS = 200
HOLDOUT_SHARE = 0.4


@dataclass
class Comparison:
    """Every candidate's Qini on the held-out customers, the chosen model and whether it beats the baselines."""

    campaign: str
    table: pd.DataFrame  # candidate, kind, qini, low, high, vs_churn_low, vs_churn_high, top30_share
    models: dict[str, UpliftModel]
    chosen: str
    beats_random: bool
    beats_churn: bool
    holdout: pd.DataFrame  # customer_id, treated, outcome, and the chosen model's score
    notes: list[str] = field(default_factory=list)
    # the chosen model's held-out Qini of its extra order chance (on ordered) and extra revenue (on revenue)
    extra: dict[str, Qini] = field(default_factory=dict)

    @property
    def chosen_qini(self) -> float:
        return float(self.table.set_index("kind").at[self.chosen, "qini"])

    def verdict(self) -> str:
        """Return one sentence: is the chosen model worth registering, and why."""
        row = self.table.set_index("kind").loc[self.chosen]
        span = f"Qini {row['qini']:.4f} (95% {row['low']:.4f} to {row['high']:.4f})"
        if not self.beats_random:
            return f"{KINDS[self.chosen]}: {span} does not beat random targeting outside the noise; not registered"
        return f"{KINDS[self.chosen]}: {span} beats random targeting outside the noise"


def holdout_mask(data: CampaignData, share: float = HOLDOUT_SHARE, seed: int = 0) -> np.ndarray:
    """Return True for the held-out customers (a hashed share of ids, stable across runs and row orders)."""
    mask = group_split(data.features[C.CUSTOMER_ID], share, seed)
    for part in (mask, ~mask):  # both groups on both sides, or no learner can be fitted / scored
        if data.treated[part].all() or not data.treated[part].any():
            raise ValueError(f"campaign {data.campaign!r}: the held-out split left a side without treated or "
                             "control customers; the campaign is too small")
    return mask


def compare(data: CampaignData, binary: bool, learner: LearnerConfig | None = None, draws: int = 300,
            seed: int = 0, truth: np.ndarray | None = None) -> Comparison:
    """Fit every candidate on the training part and score it on the held-out part.

    ``truth``: the true effect per row of ``data`` (simulations only); adds the row "true effect (ceiling)".
    """
    learner = learner or LearnerConfig(seed=seed)
    held = holdout_mask(data, seed=seed)
    train, test = data.features[~held], data.features[held]
    t_test, y_test = data.treated[held], data.outcome[held]
    weights = bootstrap_weights(int(held.sum()), draws, seed)
    models: dict[str, UpliftModel] = {}
    scores: dict[str, np.ndarray] = {}
    for kind in (*MODELS, *BASELINES):
        model = UpliftModel(UpliftConfig(kind=kind, binary=binary, learner=learner, outcome=data.outcome_name))
        models[kind] = model.fit(train, data.treated[~held], data.outcome[~held])
        scores[kind] = model.score(test)
    if truth is not None:
        scores["truth"] = np.asarray(truth, "float64")[held]
    results: dict[str, tuple[Qini, np.ndarray]] = {
        k: qini_with_interval(s, t_test, y_test, weights) for k, s in scores.items()}
    random_draws = np.array([qini_coefficient(r, t_test, y_test)
                             for r in np.random.default_rng(seed).random((RANDOM_ORDERS, len(t_test)))])
    results["random"] = (interval(float(random_draws.mean()), random_draws), random_draws)
    churn_draws = results["churn"][1]
    rows = []
    for name, (q, d) in results.items():
        # the random row holds permutations, not bootstrap draws: a paired difference means nothing there
        diff = (Qini(float("nan"), float("nan"), float("nan")) if name == "random"
                else interval(q.value - results["churn"][0].value, d - churn_draws))
        rows.append({"candidate": KINDS.get(name, "true effect (ceiling)"), "kind": name, "qini": q.value,
                     "low": q.low, "high": q.high, "vs_churn_low": diff.low, "vs_churn_high": diff.high,
                     "top30_share": 0.3 if name == "random" else share_of_gain(scores[name], t_test, y_test, 0.3)})
    table = pd.DataFrame(rows)
    chosen = max(MODELS, key=lambda k: results[k][0].value)
    row = table.set_index("kind").loc[chosen]
    holdout = pd.DataFrame({C.CUSTOMER_ID: test[C.CUSTOMER_ID].to_numpy(), "treated": t_test, "outcome": y_test,
                            "score": scores[chosen]})
    return Comparison(data.campaign, table, models, chosen, bool(row["low"] > 0), bool(row["vs_churn_low"] > 0),
                      holdout, list(data.notes), complete(models[chosen], data, held, learner, weights))


def complete(model: UpliftModel, data: CampaignData, held: np.ndarray, learner: LearnerConfig,
             weights: np.ndarray) -> dict[str, Qini]:
    """Give the chosen model what it needs to say both the extra order chance and the extra revenue (an ``ordered``
    companion of its kind, the order-value model), fitted on the training part; return the held-out Qini of each
    of its columns on its own outcome (``extra_order_probability`` on ordered, ``extra_revenue`` on revenue)."""
    train, test = data.features[~held], data.features[held]
    if data.outcome_name != "ordered":
        companion = UpliftModel(UpliftConfig(kind=model.config.kind, binary=True, learner=learner, outcome="ordered"))
        model.with_companion(companion.fit(train, data.treated[~held], data.outcomes["ordered"][~held]))
    if data.outcome_name != "revenue":
        model.with_order_value(train, data.outcomes["orders"][~held], data.outcomes["revenue"][~held])
    predicted = model.predict(test)
    return {name: qini_with_interval(predicted[column].to_numpy(), data.treated[held], data.outcomes[name][held],
                                     weights)[0]
            for name, column in (("ordered", EXTRA_ORDER), ("revenue", EXTRA_REVENUE))}
