"""GoldenModel: probability that a customer is golden in the horizon (top share of customers by net revenue)."""

from __future__ import annotations

from models.customer.base import GOLDEN, GOLDEN_PROBABILITY
from models.customer.churn import GoldenConfig, LgbmClassifier


class GoldenModel(LgbmClassifier):
    """P(among the top share of customers by net revenue in ``[cutoff, cutoff + horizon)``), calibrated.

    Same calibrated LightGBM as ChurnModel (see ``models.customer.churn``), fitted on the ``golden`` label.
    """

    Config = GoldenConfig
    config: GoldenConfig
    target = GOLDEN
    outputs = (GOLDEN_PROBABILITY,)
