"""Uplift learners on LightGBM, a few dozen lines each (no causalml / scikit-uplift: see the package docstring).

Every learner is a set of LightGBM boosters and a rule that turns their predictions into the effect of the
treatment on the outcome, per customer:

- ``t`` (two-model): one model of the outcome per group; effect = treated model - control model.
- ``x`` (Künzel et al. 2019): the two T models impute each customer's effect (treated: outcome minus the control
  model; control: the treated model minus outcome), one model per group learns those, and the two are blended
  with the treated share (the propensity, constant in a randomised campaign).
- ``ct`` (class transformation, Jaskowski & Jaroszewicz 2012): for a 0/1 outcome a classifier of
  ``z = 1`` when (treated and converted) or (control and not converted), with weights that balance the groups to
  50/50; effect = 2 P(z) - 1. For revenue the transformed outcome ``y (t - p) / (p (1 - p))``, whose expectation
  is the effect, is regressed directly.
- ``churn`` (the baseline "target by churn risk"): the control group's outcome model; the score is minus the
  expected outcome without treatment, so the customers least likely to buy anyway come first.
- ``random`` (the baseline "random targeting"): a seeded uniform score.
"""

from __future__ import annotations

from typing import Literal

import lightgbm as lgb
import numpy as np

from models.base import ModelConfig

Kind = Literal["t", "x", "ct", "churn", "random"]
KINDS: dict[str, str] = {
    "t": "T-learner (LightGBM)", "x": "X-learner (LightGBM)", "ct": "class transformation (LightGBM)",
    "churn": "target by churn risk", "random": "random targeting"}


class LearnerConfig(ModelConfig):
    """LightGBM settings of every booster in a learner (small, regularised: campaigns have few thousand rows)."""

    num_boost_round: int = 150
    learning_rate: float = 0.03
    num_leaves: int = 7
    min_data_in_leaf: int = 40
    feature_fraction: float = 0.8
    lambda_l2: float = 5.0
    seed: int = 0


def train_booster(cfg: LearnerConfig, x: np.ndarray, y: np.ndarray, binary: bool, categorical: list[int],
           weight: np.ndarray | None = None) -> lgb.Booster:
    params = {"objective": "binary" if binary else "regression", "learning_rate": cfg.learning_rate,
              "num_leaves": cfg.num_leaves, "min_data_in_leaf": cfg.min_data_in_leaf,
              "feature_fraction": cfg.feature_fraction, "lambda_l2": cfg.lambda_l2, "seed": cfg.seed,
              "deterministic": True, "force_col_wise": True, "num_threads": 1, "verbosity": -1}
    data = lgb.Dataset(x, label=y, weight=weight, categorical_feature=categorical or "auto", free_raw_data=False)
    return lgb.train(params, data, num_boost_round=cfg.num_boost_round)


def fit_boosters(kind: Kind, cfg: LearnerConfig, x: np.ndarray, treated: np.ndarray, y: np.ndarray, binary: bool,
                 categorical: list[int]) -> tuple[dict[str, lgb.Booster], float]:
    """Return the learner's boosters by role and the treated share (the propensity)."""
    t = np.asarray(treated, bool)
    p = float(t.mean())
    if kind == "random":
        return {}, p
    if kind == "churn":
        return {"m0": train_booster(cfg, x[~t], y[~t], binary, categorical)}, p
    if kind == "ct":
        # the control model m0 is not part of the effect; it says who would buy anyway (sure things vs lost causes)
        m0 = train_booster(cfg, x[~t], y[~t], binary, categorical)
        if binary:
            z = np.where(t, y, 1.0 - y)
            weight = np.where(t, 0.5 / p, 0.5 / (1.0 - p))
            return {"ct": train_booster(cfg, x, z, True, categorical, weight), "m0": m0}, p
        return {"ct": train_booster(cfg, x, y * (t - p) / (p * (1.0 - p)), False, categorical), "m0": m0}, p
    m1 = train_booster(cfg, x[t], y[t], binary, categorical)
    m0 = train_booster(cfg, x[~t], y[~t], binary, categorical)
    if kind == "t":
        return {"m1": m1, "m0": m0}, p
    d1 = y[t] - m0.predict(x[t])
    d0 = m1.predict(x[~t]) - y[~t]
    return {"m1": m1, "m0": m0, "tau1": train_booster(cfg, x[t], d1, False, categorical),
            "tau0": train_booster(cfg, x[~t], d0, False, categorical)}, p


def effect(kind: Kind, boosters: dict[str, lgb.Booster], propensity: float, x: np.ndarray, binary: bool,
           seed: int = 0) -> np.ndarray:
    """Return the learner's score per row: the estimated effect (minus the expected outcome for ``churn``)."""
    def predict(role: str) -> np.ndarray:
        return np.asarray(boosters[role].predict(x), dtype="float64")

    if kind == "random":
        return np.random.default_rng(seed).random(len(x))
    if kind == "churn":
        return -predict("m0")
    if kind == "ct":
        raw = predict("ct")
        return 2.0 * raw - 1.0 if binary else raw
    if kind == "t":
        return predict("m1") - predict("m0")
    return propensity * predict("tau0") + (1.0 - propensity) * predict("tau1")
