"""The training pipeline: backtest windows, models and baselines, holdout evaluation, MLflow, gated registration.

``fit_and_evaluate`` does the modelling and touches no MLflow (the benchmark uses it directly); ``train`` wraps it
in an MLflow run, logs configuration, data fingerprint, metrics, plots and models, and registers the models
last, so a run that fails anywhere registers nothing and moves no alias.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from features import columns as C
from features.analytics.segment_rules import GOLDEN_SHARE
from features.analytics.segments import default_cutoff
from features.data.reader import Shop
from features.data.sample import customer_sample
from models.customer.base import CustomerModel
from models.customer.baselines import BgNbdBaseline, LastPeriodBaseline, RecencyBaseline
from models.customer.churn import ChurnModel
from models.customer.golden import GoldenModel
from models.customer.value import ValueModel
from training.backtest import champion_predictions, decile_figure, decile_table
from training.config import RetentionConfig, TrainingConfig
from training.evaluate import MODEL, Evaluation, evaluate, model_predictor, task_metric
from training.gate import Winner, choose_winner, choose_winners, gate_metrics
from training.windows import (
    Window,
    WindowBuilder,
    WindowPlan,
    check_enough_data,
    features_config,
    plan_windows,
    stacked,
)

if TYPE_CHECKING:
    from training.gate import Candidate

logger = logging.getLogger(__name__)

TASKS = ("churn", "golden", "value")
FALLBACK_NOTE = ("history too short for a complete training window at a {h}-day horizon: churn, golden and value "
                 "come from the statistical models (BG/NBD x Gamma-Gamma), model_source = bgnbd_fallback")
Step = Callable[[str], None]


@dataclass
class TrainOutcome:
    """Everything a training run produced before it touches MLflow."""

    plan: WindowPlan
    evaluation: Evaluation
    models: dict[str, CustomerModel]  # task -> the model to register (fitted for scoring)
    holdout: Window
    fingerprint: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    importances: dict[str, pd.DataFrame] = field(default_factory=dict)
    golden_share: float = GOLDEN_SHARE  # the golden share the holdout labels used
    winners: dict[str, Winner] = field(default_factory=dict)  # task -> the candidate registered for it
    lightgbm: dict[str, CustomerModel] = field(default_factory=dict)  # the LightGBM models, won or not
    backtest: pd.DataFrame | None = None  # the champions' holdout by predicted decile (training.backtest)
    builder: WindowBuilder | None = field(default=None, repr=False)  # with keep_windows: the built windows

    @property
    def fallback(self) -> bool:
        return self.plan.fallback


def data_fingerprint(shop: Shop, cutoff: datetime) -> dict[str, Any]:
    """Return rows, orders, customers, date range and an order-independent content hash of lines before the cutoff."""
    row = shop.sql.execute(
        "SELECT count(*), count(DISTINCT order_id), count(DISTINCT customer_id), min(timestamp), max(timestamp), "
        "sum(hash(customer_id::VARCHAR, order_id, timestamp, revenue, quantity)::HUGEINT) % 18446744073709551557 "
        "FROM transactions WHERE timestamp < ?", [cutoff]).fetchall()[0]  # fetchall: leaves no open result
    return {"rows": int(row[0]), "orders": int(row[1]), "customers": int(row[2]),
            "first_order": str(row[3]), "last_order": str(row[4]), "content_hash": f"{int(row[5] or 0):x}",
            "cutoff": cutoff.isoformat()}


def checked_data(shop: Shop, cfg: RetentionConfig, cutoff: datetime | None) -> tuple[datetime, dict[str, Any]]:
    """Return the scoring cutoff and the data fingerprint, or raise NotEnoughDataError (before any MLflow run)."""
    scoring = cutoff or default_cutoff(shop.transactions)
    fingerprint = data_fingerprint(shop, scoring)
    if fingerprint["rows"] == 0:
        raise ValueError(f"no order before the cutoff {scoring:%Y-%m-%d}")
    buyers = int(shop.sql.execute("SELECT count(DISTINCT customer_id) FROM transactions WHERE timestamp < ? AND "
                                  "quantity > 0", [scoring]).fetchall()[0][0])
    check_enough_data(buyers, pd.Timestamp(fingerprint["first_order"]).to_pydatetime(), scoring, cfg.training)
    return scoring, fingerprint


def total_steps(plan: WindowPlan, refit: bool = True) -> int:
    """Return the number of progress steps ``fit_and_evaluate`` reports for a plan (before windows are dropped)."""
    steps = len(plan.eval_cutoffs) + 2  # evaluation windows, holdout, baselines
    if plan.fallback:
        return steps + 1
    return steps + 3 + (len(plan.final_cutoffs) + 3 if refit else 0)


def fit_and_evaluate(shop: Shop, cfg: RetentionConfig, cutoff: datetime | None = None,
                     step: Step | None = None, on_plan: Callable[[WindowPlan], None] | None = None,
                     keep_windows: bool = False) -> TrainOutcome:
    """Fit models and baselines on backtest windows, evaluate them on the holdout, refit for scoring.

    ``step(description)`` is called before each long step and ``on_plan(plan)`` once the cutoffs are known
    (for progress bars). With no complete training window the BG/NBD fallback is evaluated and returned.
    ``keep_windows`` keeps the window builder (and its built windows) in the outcome, for a caller that scores the
    same windows again (the CDNOW benchmark); off by default, so a run frees them.

    Raises
    ------
    NotEnoughDataError
        When there are too few customers or too little history (the message says how much more is needed).
    """
    step = step or (lambda _: None)
    t, h = cfg.training, cfg.training.horizon_days
    scoring, fingerprint = checked_data(shop, cfg, cutoff)
    plan = plan_windows(scoring, pd.Timestamp(fingerprint["first_order"]).to_pydatetime(), t)
    if on_plan is not None:
        on_plan(plan)
    sample = customer_sample(shop, t.max_customers, t.sample_seed)
    builder = WindowBuilder(sample.shop, cfg)
    train_windows = _windows(builder, usable_cutoffs(shop, plan.eval_cutoffs, plan.holdout_cutoff, t), step)
    plan = WindowPlan(scoring, h, plan.holdout_cutoff, tuple(w.cutoff for w in train_windows),
                      plan.final_cutoffs if train_windows else ())
    logger.info("windows: %s", plan.describe())
    step(f"holdout window {plan.holdout_cutoff:%Y-%m-%d}")
    holdout = builder.window(plan.holdout_cutoff)
    meta = {**_metadata(cfg, plan), "training_customers": sample.kept, "shop_customers": sample.total}
    notes = [f"left out of the features: {k} ({v})" for k, v in holdout.features.left_out.items()]
    if not sample.is_whole:
        notes.append(f"trained and evaluated on {sample.describe()} (training.max_customers); scoring uses every "
                     "customer")
    step("baselines")
    try:
        bgnbd: BgNbdBaseline | None = BgNbdBaseline(cfg.models.baseline).fit(holdout.inputs, horizon_days=h,
                                                                              metadata=meta)
    except ValueError as exc:  # e.g. Gamma-Gamma on absurd amounts: the baseline drops out, the run goes on
        if plan.fallback:
            raise  # BG/NBD is the only candidate of a short history: nothing to compare or register without it
        bgnbd = None
        notes.append(DROPPED_BASELINE.format(name="bgnbd", exc=exc))
        logger.warning(notes[-1])
    if plan.fallback and bgnbd is not None:
        return _fallback(builder, plan, holdout, bgnbd, fingerprint, notes, meta)
    baselines: dict[str, CustomerModel] = {"bgnbd": bgnbd} if bgnbd is not None else {}
    x, y = stacked(train_windows)
    for name, cls in (("recency", RecencyBaseline), ("last_period", LastPeriodBaseline)):
        baselines[name] = cls(cfg.models.baseline).fit(x, y, horizon_days=h, metadata=meta)
    models = _fit_models(cfg, x, y, meta, step, "evaluation fit")
    predicted = [m.predict(holdout.inputs) for m in models.values()]
    predictors = {MODEL: model_predictor(*predicted), **_baseline_predictions(baselines, holdout, notes)}
    evaluation = evaluate(predictors, holdout.labels, plan.holdout_cutoff, t.golden_share)
    winners = choose_winners(evaluation, cfg.registry)
    backtest = decile_table(champion_predictions(predictors, {k: w.predictor for k, w in winners.items()}),
                            holdout.labels, plan.holdout_cutoff)
    final_cutoffs = usable_cutoffs(shop, plan.final_cutoffs, plan.scoring_cutoff, t)
    refit = t.refit_for_scoring and bool(final_cutoffs)
    final = _windows(builder, final_cutoffs, step) if refit else train_windows
    if refit:
        models = _fit_models(cfg, *stacked(final), meta, step, "scoring fit")
    importances = {task: getattr(m, "importance_", None) for task, m in models.items()}
    champions = _with_baseline_winners(models, winners, builder, plan, final, meta, refit, baselines)
    return TrainOutcome(plan, evaluation, champions, holdout, fingerprint, notes, importances, t.golden_share,
                        winners, models, backtest, builder if keep_windows else None)


def _with_baseline_winners(models: dict[str, CustomerModel], winners: dict[str, Winner], builder: WindowBuilder,
                           plan: WindowPlan, final: list[Window], meta: dict[str, Any], refit: bool,
                           evaluated: dict[str, CustomerModel]) -> dict[str, CustomerModel]:
    """Return the models to register: a task whose baseline won gets that baseline, refitted like the model."""
    cfg, h = builder.cfg, builder.cfg.training.horizon_days
    out, fitted = dict(models), dict[str, CustomerModel]()
    for task, winner in winners.items():
        name = winner.predictor
        if winner.is_model:
            continue
        if name not in fitted:
            if not refit:
                fitted[name] = evaluated[name]
            elif name == "bgnbd":  # no labels needed: fitted on every order before the scoring cutoff
                now = builder.window(plan.scoring_cutoff, with_labels=False)
                fitted[name] = BgNbdBaseline(cfg.models.baseline).fit(now.inputs, horizon_days=h, metadata=meta)
            else:
                cls = RecencyBaseline if name == "recency" else LastPeriodBaseline
                fitted[name] = cls(cfg.models.baseline).fit(*stacked(final), horizon_days=h, metadata=meta)
        out[task] = fitted[name]
        logger.info("%s: %s", task, winner.reason)
    return out


def _fallback(builder: WindowBuilder, plan: WindowPlan, holdout: Window, bgnbd: BgNbdBaseline,
              fingerprint: dict[str, Any], notes: list[str], meta: dict[str, Any]) -> TrainOutcome:
    """Evaluate BG/NBD x Gamma-Gamma as the model, then fit it at the scoring cutoff for all three tasks."""
    cfg, h = builder.cfg, plan.horizon_days
    notes.insert(0, FALLBACK_NOTE.format(h=h))
    logger.warning(notes[0])
    predicted = bgnbd.predict(holdout.inputs)
    evaluation = evaluate({MODEL: predicted, "bgnbd": predicted}, holdout.labels, plan.holdout_cutoff,
                          cfg.training.golden_share, "model (BG/NBD fallback)")
    now = builder.window(plan.scoring_cutoff, with_labels=False)  # BG/NBD needs no labels: fit on all the data
    fallback = BgNbdBaseline(cfg.models.baseline).fit(now.inputs, horizon_days=h,
                                                      metadata={**meta, "model_source": "bgnbd_fallback"})
    return TrainOutcome(plan, evaluation, dict.fromkeys(TASKS, fallback), holdout, fingerprint, notes,
                        golden_share=cfg.training.golden_share,
                        backtest=decile_table(predicted, holdout.labels, plan.holdout_cutoff))


def usable_cutoffs(shop: Shop, cutoffs: tuple[datetime, ...], target: datetime,
                   t: TrainingConfig) -> tuple[datetime, ...]:
    """Return the training cutoffs worth learning from for a window at ``target`` (the holdout or scoring cutoff).

    A cutoff needs ``min_window_customers`` customers, and at least ``min_window_population_share`` of the
    target's: a young shop's early windows hold almost only brand-new customers and teach a model (and a gate)
    a different shop than the one it will score. The latest cutoff is kept when it has enough customers at all.
    """
    counts = {c: _customers_before(shop, c) for c in (*cutoffs, target)}
    floor = max(t.min_window_customers, t.min_window_population_share * counts[target])
    keep = tuple(c for c in cutoffs if counts[c] >= floor)
    if not keep and cutoffs and counts[max(cutoffs)] >= t.min_window_customers:
        keep = (max(cutoffs),)
    for c in cutoffs:
        if c not in keep:
            logger.info("window %s skipped: %d customers (target %s has %d)", f"{c:%Y-%m-%d}", counts[c],
                        f"{target:%Y-%m-%d}", counts[target])
    return keep


def _customers_before(shop: Shop, cutoff: datetime) -> int:
    return int(shop.sql.execute("SELECT count(DISTINCT customer_id) FROM transactions WHERE timestamp < ? AND "
                                "quantity > 0", [cutoff]).fetchall()[0][0])


def _windows(builder: WindowBuilder, cutoffs: tuple[datetime, ...], step: Step) -> list[Window]:
    out = []
    for cutoff in cutoffs:
        step(f"window {cutoff:%Y-%m-%d}")
        out.append(builder.window(cutoff))
    return out


def _fit_models(cfg: RetentionConfig, x: pd.DataFrame, y: pd.DataFrame, meta: dict[str, Any], step: Step,
                what: str) -> dict[str, CustomerModel]:
    h = cfg.training.horizon_days
    models: dict[str, CustomerModel] = {}
    for task, cls, model_cfg in (("churn", ChurnModel, cfg.models.churn), ("golden", GoldenModel, cfg.models.golden),
                                 ("value", ValueModel, cfg.models.value)):
        step(f"{what}: {task} on {len(x):,} rows")
        models[task] = cls(model_cfg).fit(x, y, horizon_days=h, metadata=meta)
    return models


DROPPED_BASELINE = ("the {name} baseline failed and is left out of the comparison ({exc}); `retention validate` "
                    "warns about implausible amounts")


def _baseline_predictions(baselines: dict[str, CustomerModel], window: Window,
                          notes: list[str]) -> dict[str, pd.DataFrame]:
    """Return each baseline's predictions; a baseline that fails (Gamma-Gamma on absurd amounts) drops out of
    the comparison with a note instead of aborting the run, since the model and the other baselines still stand."""
    out = {}
    for name, baseline in list(baselines.items()):
        try:
            out[name] = baseline.predict(window.inputs)
        except ValueError as exc:
            notes.append(DROPPED_BASELINE.format(name=name, exc=exc))
            logger.warning(notes[-1])
            del baselines[name]  # never a winner to refit
    return out


def _metadata(cfg: RetentionConfig, plan: WindowPlan) -> dict[str, Any]:
    """What scoring needs to rebuild a model's inputs, and what a reader of the model wants to know."""
    return {"features_config": features_config(cfg).model_dump(mode="json"),
            "baseline_unit_days": cfg.models.baseline.unit_days, "golden_share": cfg.training.golden_share,
            "golden_among": cfg.training.golden_among, "config_hash": cfg.hash(),
            "scoring_cutoff": plan.scoring_cutoff.isoformat(), "holdout_cutoff": plan.holdout_cutoff.isoformat(),
            "training_cutoffs": [c.isoformat() for c in plan.final_cutoffs]}


@dataclass
class TrainResult:
    """A finished run: the outcome, the MLflow run id and what the gate decided for each model."""

    outcome: TrainOutcome
    run_id: str
    decisions: list[Any]
    recommender: Any = None  # the RecommenderRun, when the data has item_id


def train(shop: Shop, cfg: RetentionConfig, cutoff: datetime | None = None, force_promote: bool = False,
          step: Step | None = None, on_plan: Callable[[WindowPlan], None] | None = None) -> TrainResult:
    """Run ``fit_and_evaluate`` inside an MLflow run, log everything, then register and gate the three models."""
    from training import tracking
    from training.gate import recommender_candidate
    from training.recsys.register import fit_recommender, log_recommender
    from training.register import register_all

    checked_data(shop, cfg, cutoff)  # refuse too little data before a run exists
    with tracking.run(cfg.registry.experiment, tags={"horizon_days": str(cfg.training.horizon_days)}) as run_id:
        outcome = fit_and_evaluate(shop, cfg, cutoff, step, on_plan)
        recommender = fit_recommender(shop, cfg, outcome.plan.scoring_cutoff, outcome.plan.horizon_days)
        uris = log_outcome(outcome, cfg)
        candidates = candidates_for(outcome, cfg, uris)
        if recommender is not None:
            uri = log_recommender(recommender, cfg)
            candidates.append(recommender_candidate(recommender, uri, cfg, {
                "horizon_days": str(outcome.plan.horizon_days), "config_hash": cfg.hash(),
                "scoring_cutoff": f"{outcome.plan.scoring_cutoff:%Y-%m-%d}",
                "data_content_hash": outcome.fingerprint["content_hash"]}))
        decisions = register_all(candidates, force_promote, cfg.registry.champion_alias,
                                 cfg.registry.challenger_alias)
        tracking.set_tags({f"{d.name}_alias": d.alias for d in decisions})
    return TrainResult(outcome, run_id, decisions, recommender)


def log_outcome(outcome: TrainOutcome, cfg: RetentionConfig) -> dict[str, str]:
    """Log config, fingerprint, metrics, plots and the three models into the active run; return model URIs."""
    from training import tracking
    from training.evaluate import figures, markdown_table

    plan = outcome.plan
    tracking.log_params({"horizon_days": plan.horizon_days, "scoring_cutoff": f"{plan.scoring_cutoff:%Y-%m-%d}",
                         "holdout_cutoff": f"{plan.holdout_cutoff:%Y-%m-%d}", "config_hash": cfg.hash(),
                         "n_windows": len(plan.final_cutoffs), "fallback": plan.fallback,
                         "data_content_hash": outcome.fingerprint["content_hash"]})
    tracking.set_tags({f"{task}_model_source": m.source for task, m in outcome.models.items()})
    tracking.set_tags({f"{task}_winner_reason": w.reason[:250] for task, w in outcome.winners.items()})
    tracking.log_dict(cfg.model_dump(mode="json"), "config.json")
    tracking.log_dict(outcome.fingerprint, "data_fingerprint.json")
    tracking.log_dict({"plan": plan.describe(), "notes": outcome.notes}, "run_notes.json")
    tracking.log_metrics(outcome.evaluation.flat())
    tracking.log_dict(outcome.evaluation.to_dict(), "evaluation.json")
    tracking.log_text(markdown_table(outcome.evaluation, "Holdout metrics"), "evaluation.md")
    figs = figures(outcome.evaluation, outcome.importances)
    if outcome.backtest is not None:  # the champions' holdout by predicted decile: predicted against actual
        tracking.log_text(outcome.backtest.to_csv(index=False), "backtest_deciles.csv")
        tracking.log_dict({"deciles": outcome.backtest.to_dict(orient="records")}, "backtest_deciles.json")
        figs["backtest_deciles.png"] = decile_figure(outcome.backtest)
    tracking.log_figures(figs)
    names = {"churn": cfg.registry.churn_name, "golden": cfg.registry.golden_name, "value": cfg.registry.value_name}
    example = outcome.holdout.inputs.head(5)
    uris = {}
    with tempfile.TemporaryDirectory(prefix="retention-models-") as tmp:
        for task, model in outcome.models.items():
            folder = model.save(Path(tmp) / task)
            columns = getattr(getattr(model, "spec_", None), "columns", None)
            inputs = example[[C.CUSTOMER_ID, *columns]] if columns else example
            uris[task] = tracking.log_model_folder(names[task], folder, inputs, model.predict(inputs),
                                                   params={"reasons": False})
    return uris


def candidates_for(outcome: TrainOutcome, cfg: RetentionConfig, uris: dict[str, str]) -> list[Candidate]:
    """Return the registration candidates: each model's gate metric, best baseline and champion scorer."""
    from training.gate import task_candidate

    r, evaluation = cfg.registry, outcome.evaluation
    names = {"churn": r.churn_name, "golden": r.golden_name, "value": r.value_name}
    out = []
    for task, metric in gate_metrics(r).items():
        winner = outcome.winners.get(task) or choose_winner(evaluation, task, metric)
        tags = {"horizon_days": str(outcome.plan.horizon_days), "model_source": outcome.models[task].source,
                "scoring_cutoff": f"{outcome.plan.scoring_cutoff:%Y-%m-%d}", "config_hash": cfg.hash(),
                "data_content_hash": outcome.fingerprint["content_hash"]}
        out.append(task_candidate(names[task], uris[task], evaluation, winner, r,
                                  _champion_scorer(outcome, task, metric), tags))
    return out


def _champion_scorer(outcome: TrainOutcome, task: str, metric: str) -> Callable[[dict[str, Any]], float | None]:
    """Return a function scoring a registered champion on this run's holdout (None when it cannot)."""

    def score(champion: dict[str, Any]) -> float | None:
        from models.inference.score import load_registered

        model = load_registered(champion["source"])
        same_features = model.metadata_.get("features_config") == outcome.models[task].metadata_["features_config"]
        seen_until = model.metadata_.get("scoring_cutoff")
        if model.horizon_days_ != outcome.plan.horizon_days or not same_features:
            return None  # not comparable on these inputs: the gate uses its logged metric
        if seen_until is None or datetime.fromisoformat(seen_until) > outcome.plan.holdout_cutoff:
            return None  # its training read days of this holdout: scoring it here would flatter it
        holdout = outcome.holdout
        return task_metric(task, metric, model.predict(holdout.inputs), holdout.labels, outcome.plan.holdout_cutoff,
                           outcome.golden_share)

    return score
