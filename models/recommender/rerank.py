"""The second stage: LightGBM LambdaRank over the blend's sources, trained on each customer's last order.

Candidates per customer: each source's top ``per_source`` (ALS, co-purchase, up-sell, favourite categories,
buy-again), the linear blend's own top ``per_source`` and the ``popular`` most popular items, all in stock, a
bought item only when the blend would show it (due to buy again). Features: each source's score and rank, the
blend's score, the item's popularity, trend and price, the customer's orders, days since the last order and
distinct items, and whether they bought the item. The ranker learns on a per-customer split of the data it is
given (each customer's last order held out: ``split.last_orders``), so fitting never reads a later holdout.
The booster is a LightGBM text model next to the blend's folder (no pickle). Few candidates and few small trees
keep it inside the speed targets; training keeps it only when it beats the blend beyond the noise.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import Field

from models.base import ModelConfig
from models.recommender.base import Recommender, top_k
from models.recommender.blend import Blend, BlendConfig
from models.recommender.blend_answers import explain
from models.recommender.interactions import Interactions
from models.recommender.split import last_orders

logger = logging.getLogger(__name__)

SOURCES = ("als", "copurchase", "upsell", "category", "buy_again")
FEATURES = [*(f"score_{s}" for s in SOURCES), *(f"rank_{s}" for s in SOURCES), "score_blend", "rank_blend",
            "popularity", "trending", "price", "orders", "days_since_order", "distinct_items", "bought_before"]
BOOSTER_FILE, STATS_FILE, BLEND_DIR = "ranker.txt", "stats.npz", "blend"


class RerankConfig(ModelConfig):
    """Hyperparameters of ``Reranker`` (the blend's own, the candidates, the LambdaRank trees)."""

    blend: BlendConfig = Field(default_factory=BlendConfig)
    per_source: int = Field(20, ge=1)
    popular: int = Field(20, ge=0)
    rounds: int = Field(80, ge=1)
    num_leaves: int = Field(15, ge=2)
    learning_rate: float = Field(0.05, gt=0)
    min_data_in_leaf: int = Field(50, ge=1)
    max_train_customers: int = Field(5_000, ge=1)
    num_threads: int = Field(2, ge=1)
    seed: int = 0


def customer_stats(data: Interactions) -> np.ndarray:
    """Return customers x 3: orders, days since the last order (999 when none), distinct items bought."""
    n = data.n_customers
    order_customer = np.zeros(data.n_orders, np.int64)
    order_customer[data.line_order] = data.line_customer
    orders = np.bincount(order_customer, minlength=n).astype(np.float32)
    last = np.full(n, 999.0, np.float32)
    np.minimum.at(last, data.line_customer, data.line_age)
    distinct = np.asarray(data.bought.sum(axis=1)).ravel().astype(np.float32)
    return np.column_stack([orders, last, distinct])


def candidates(blend: Blend, stats: np.ndarray, price: np.ndarray, users: np.ndarray, per_source: int, popular: int
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (row, item, features) of every candidate of ``users`` (dense indices; row indexes ``users``)."""
    n = len(blend.items_)
    scores, parts = blend.score_parts(users)
    blend.mask(scores, users, parts)
    allowed = np.isfinite(scores[:, :n])
    source = {"als": blend.als.customer_scores(users), "copurchase": blend.copurchase.history_scores(users).toarray(),
              "upsell": blend.upsell.history_scores(users).toarray(),
              "category": blend.category_scores(users).toarray(), "buy_again": blend.buy_again.customer_scores(users),
              "blend": scores[:, :n]}
    chosen = np.zeros((len(users), n), bool)
    chosen[:, np.argsort(-blend.popular.popularity_, kind="stable")[:popular]] = True
    ranks = {}
    for name, value in source.items():
        usable = allowed & (np.isfinite(value) if name in ("als", "blend") else value > 0)
        best, _ = top_k(np.where(usable, value, -np.inf).astype(np.float32), per_source)
        rank = np.full((len(users), n), per_source, np.float32)
        rows, slots = np.nonzero(best >= 0)
        rank[rows, best[rows, slots]] = slots
        chosen[rows, best[rows, slots]] = True
        ranks[name] = rank
    row, item = np.nonzero(chosen & allowed)
    user = users[row]
    known = user >= 0
    customer = np.where(known[:, None], stats[np.maximum(user, 0)], [[0.0, 999.0, 0.0]])
    bought = np.zeros(len(row), np.float32)
    bought[known] = np.asarray(blend.bought_[user[known], item[known]]).ravel()
    columns = [*(source[s][row, item] for s in SOURCES), *(ranks[s][row, item] for s in SOURCES),
               np.nan_to_num(source["blend"][row, item], neginf=-1e3), ranks["blend"][row, item],
               blend.popular.popularity_[item], blend.popular.trending_[item],
               np.nan_to_num(price[item]), *customer.T, bought]
    return row, item, np.column_stack(columns).astype(np.float32)


class Reranker(Recommender):
    """LambdaRank over the blend. Learned state: ``blend_``, ``booster_`` (LightGBM), ``stats_`` per customer."""

    Config = RerankConfig
    config: RerankConfig
    cold_start = True
    has_similar_items = True
    recommends_bought = True

    blend_: Blend
    booster_: Any  # lightgbm.Booster
    stats_: np.ndarray
    price_: np.ndarray

    def fit(self, data: Interactions, blend: Blend | None = None) -> Reranker:
        """Learn the ranker on ``data``'s last orders and keep ``blend`` (or one fitted on ``data``); return self."""
        return super().fit(data, blend)

    def _fit(self, data: Interactions, blend: Blend | None = None) -> None:
        self._keep_data(data)
        self.price_ = data.item_price.copy()
        train, users, truth = last_orders(data)
        if len(users) > self.config.max_train_customers:
            pick = np.sort(np.random.default_rng(self.config.seed).choice(len(users), self.config.max_train_customers,
                                                                         replace=False))
            users, truth = users[pick], truth[pick]
        self.booster_ = self._train(Blend(self.config.blend).fit(train), customer_stats(train), users, truth)
        self.blend_ = blend if blend is not None else Blend(self.config.blend).fit(data)
        self.stats_ = customer_stats(data)

    def _train(self, blend: Blend, stats: np.ndarray, users: np.ndarray, truth: sp.csr_matrix) -> Any:
        import lightgbm as lgb

        cfg = self.config
        row, item, features = candidates(blend, stats, self.price_, users, cfg.per_source, cfg.popular)
        label = (np.asarray(truth[row, item]).ravel() > 0).astype(np.int32)
        positive = np.bincount(row, weights=label, minlength=len(users)) > 0
        keep = positive[row]  # a customer with no bought item among the candidates teaches LambdaRank nothing
        groups = np.bincount(row[keep], minlength=len(users))
        params = {"objective": "lambdarank", "learning_rate": cfg.learning_rate, "num_leaves": cfg.num_leaves,
                  "min_data_in_leaf": cfg.min_data_in_leaf, "feature_fraction": 0.8, "bagging_fraction": 0.8,
                  "bagging_freq": 1, "lambdarank_truncation_level": 20, "num_threads": cfg.num_threads,
                  "seed": cfg.seed, "deterministic": True, "verbose": -1}
        train = lgb.Dataset(features[keep], label[keep], group=groups[groups > 0], feature_name=FEATURES)
        logger.info("reranker: %s candidate rows of %s customers with a hit", f"{int(keep.sum()):,}",
                    f"{int(positive.sum()):,}")
        return lgb.train(params, train, cfg.rounds)

    def rank_items(self, users: np.ndarray, k: int, *, filter_bought: bool | None = None,
                   excluded: np.ndarray | None = None, batch_size: int = 512) -> tuple[np.ndarray, np.ndarray]:
        self.check_fitted()
        n = len(self.items_)
        best, values = np.full((len(users), k), -1, np.int64), np.full((len(users), k), -np.inf, np.float32)
        for start in range(0, len(users), batch_size):
            chunk = users[start:start + batch_size]
            row, item, features = candidates(self.blend_, self.stats_, self.price_, chunk, self.config.per_source,
                                             self.config.popular)
            scores = np.full((len(chunk), n), -np.inf, np.float32)
            scores[row, item] = self.booster_.predict(features, num_threads=1) if len(row) else 0.0
            if excluded is not None and len(excluded):
                scores[:, excluded] = -np.inf
            top, top_values = top_k(scores, k)
            best[start:start + len(chunk), :top.shape[1]] = top
            values[start:start + len(chunk), :top.shape[1]] = top_values
        return best, values

    def reasons(self, users: np.ndarray, best: np.ndarray) -> list[str]:
        """The blend's reason for each pick (the ranker reorders the blend's sources; it adds none)."""
        return explain(self.blend_, users, best, self.blend_.score_parts(users)[1])

    def similar_items(self, item_ids: Any, k: int = 10, kind: str = "similar") -> Any:
        return self.blend_.similar_items(item_ids, k, kind)

    def _save_state(self, path: Path) -> dict[str, Any]:
        self.blend_.save(path / BLEND_DIR)
        self.booster_.save_model(str(path / BOOSTER_FILE))
        np.savez(path / STATS_FILE, stats=self.stats_, price=self.price_)
        return {"features": FEATURES}

    def _load_state(self, path: Path, state: dict[str, Any]) -> None:
        import lightgbm as lgb

        self.blend_ = Blend.load(path / BLEND_DIR)
        self.items_, self.customers_, self.bought_ = self.blend_.items_, self.blend_.customers_, self.blend_.bought_
        self.in_stock_ = self.blend_.in_stock_
        self.booster_ = lgb.Booster(model_file=str(path / BOOSTER_FILE))
        with np.load(path / STATS_FILE, allow_pickle=False) as arrays:
            self.stats_, self.price_ = arrays["stats"], arrays["price"]
