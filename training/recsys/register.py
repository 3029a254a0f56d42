"""The recommender inside a training run: fit and evaluate it, log it to MLflow (its registry candidate is
``gate.recommender_candidate``).

``train`` calls these when the transactions carry ``item_id``. The candidate is the model the evaluation chose
(``gate.choose_model``: the blend, or a single source when it wins or the blend is not clearly better), so the
comparison with the baselines is already made, noise-aware, and the candidate never fails it; the gate then
compares it with the current champion (NDCG@10). It registers together with the other models, so a failed run
registers none.
"""

from __future__ import annotations

import logging
import tempfile
from datetime import datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa

from features import columns as C
from features.data.reader import Shop
from models.recommender.interactions import EVENT_KINDS
from models.recommender.serve import recommend_batch
from training.config import RetentionConfig
from training.recsys.pipeline import train_and_evaluate_recommender
from training.recsys.run import RecommenderRun

logger = logging.getLogger(__name__)


def recommender_tables(shop: Shop, cutoff: datetime) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame | None]:
    """Return transactions and the item events the recommender reads before the cutoff (the point-in-time rule,
    filtered in the database) and the items table.

    Only the columns the recommender reads, and its text columns as pandas categoricals (about 4 bytes a value
    instead of a Python string each): at 1M customers that is 8M order lines and 34M item events (views, cart and
    wish-list adds), ~9 GB as Python strings.
    """
    wanted = [c for c in (C.CUSTOMER_ID, C.ORDER_ID, C.TIMESTAMP, C.ITEM_ID, C.QUANTITY)
              if c in shop.columns["transactions"]]
    transactions = _categorical(shop.sql.sql(
        f"SELECT {', '.join(wanted)} FROM transactions WHERE timestamp < $at AND {C.ITEM_ID} IS NOT NULL",
        params={"at": cutoff}).to_arrow_table())
    events = None
    if shop.has("events", C.ITEM_ID):
        wanted = [c for c in (C.CUSTOMER_ID, C.TIMESTAMP, C.EVENT_TYPE, C.ITEM_ID, C.SESSION_ID)
                  if c in shop.columns["events"]]
        kinds = ", ".join(f"'{k}'" for k in EVENT_KINDS)
        events = _categorical(shop.sql.sql(
            f"SELECT {', '.join(wanted)} FROM events WHERE timestamp < $at AND {C.EVENT_TYPE} IN ({kinds}) AND "
            f"{C.ITEM_ID} IS NOT NULL", params={"at": cutoff}).to_arrow_table())
    items = shop.to_pandas("items") if shop.has("items") else None
    return transactions, events, items


def _categorical(table: pa.Table) -> pd.DataFrame:
    """Return ``table`` as pandas with its text columns dictionary-encoded (categoricals)."""
    import pyarrow.compute as pc

    text = (pa.types.is_string, pa.types.is_large_string, pa.types.is_string_view)
    columns = [pc.dictionary_encode(c) if any(t(c.type) for t in text) else c for c in table.columns]
    return pa.table(columns, names=table.column_names).to_pandas()


def fit_recommender(shop: Shop, cfg: RetentionConfig, cutoff: datetime, horizon_days: int) -> RecommenderRun | None:
    """Tune, evaluate and refit the recommender; None (with a log line) when the data has no item_id."""
    if not cfg.recommender.enabled:
        logger.info("recommender: switched off in the config (recommender.enabled: false)")
        return None
    if not shop.has("transactions", C.ITEM_ID):
        logger.info("recommender: left out, transactions have no item_id column")
        return None
    transactions, events, items = recommender_tables(shop, cutoff)
    return train_and_evaluate_recommender(transactions, events, items, cutoff, horizon_days, cfg.recommender.tuning)


def log_recommender(run: RecommenderRun, cfg: RetentionConfig) -> str:
    """Log the evaluation table, tuned parameters and the served blend into the active run; return its URI."""
    from training import tracking

    metrics = {f"recommender.{model}.{name}": float(value)
               for model, row in run.metrics.iterrows() for name, value in row.items()}
    tracking.log_metrics(metrics)
    tracking.log_dict({"params": run.params, "info": run.info}, "recommender/tuning.json")
    tracking.log_text(evaluation_text(run), "recommender/evaluation.txt")
    tracking.set_tags({"recommender_model": run.chosen, "recommender_split": str(run.info["split"])})
    customers = [str(c) for c in run.model.customers_.to_external([0, 1])]
    example = pd.DataFrame({C.CUSTOMER_ID: customers})
    output = recommend_batch(run.model, customers, k=3)
    with tempfile.TemporaryDirectory(prefix="retention-recommender-") as tmp:
        folder = run.model.save(Path(tmp) / "recommender")
        return tracking.log_model_folder(cfg.registry.recommender_name, folder, example, output, params={"k": 10})


def evaluation_text(run: RecommenderRun) -> str:
    """Return the run's table (every candidate, NDCG with its 95% interval, the chosen one) and why it won."""
    return (f"{run.info['notes'][-1]}\n\n{run.metrics.round(4).to_string()}\n\nitems new to the customer:\n"
            f"{run.metrics_new.round(4).to_string()}\n\nserved: {run.info['why']}\n")
