"""What a recommender training run hands on: the model to register and its evaluation (read by the pipeline that
makes it, the gate that turns it into a registry candidate, and the MLflow logging)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from models.recommender import Recommender


@dataclass
class RecommenderRun:
    """What the pipeline logs and registers: the served model, the evaluation tables and the tuned parameters."""

    model: Recommender  # the champion candidate: the blend or a single source, refitted on everything
    metrics: pd.DataFrame  # rows: models; precision@k, recall@k, ndcg@k (+ interval), map@k, coverage, chosen
    metrics_new: pd.DataFrame
    params: dict[str, Any]
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def chosen(self) -> str:
        return str(self.info["chosen"])
