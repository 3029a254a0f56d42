"""The data behind every section of the marketer's report, as DataFrames, computed once from a shop at a cutoff.

Each section reads only orders before the cutoff (through ``features``) and, where models are involved, the
champions and their runs in the MLflow registry (through ``models.inference``). A section that cannot be built
(no champions yet, no item_id, no campaign summary) is None and ``ReportData.missing`` says why in a key of
``serving.report.i18n.TEXT``, so the page tells the reader what to run instead of showing an empty chart.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features import columns as C
from features.analytics.base_metrics import Period, base_metrics
from features.analytics.cohorts import cohort_retention
from features.analytics.products import ProductsConfig, product_classes
from features.analytics.segment_rules import SEGMENTS, SegmentsConfig
from features.analytics.segments import Segmentation, default_cutoff, migration_matrix, segment_customers, to_datetime
from features.data.reader import Shop
from features.orders import money_sum, orders_before, purchases_before
from models.inference import registry
from models.inference.config import RegistryConfig, ScoringConfig
from models.uplift.curves import UpliftCurve, champion_curves
from serving.report.campaigns import read_campaigns

logger = logging.getLogger(__name__)

TOP_OF_LIST = 20
PARETO_POINTS = 400
TASK_METRICS = {"churn": ("roc_auc", "pr_auc", "brier", "lift_top_decile"),
                "golden": ("roc_auc", "pr_auc", "revenue_capture"),
                "value": ("spearman", "gini", "mae", "revenue_capture_top_decile")}
SECTIONS = ("pareto", "rfm", "segments", "migration", "churn", "health", "cohorts", "abc", "timing", "models",
            "campaigns", "uplift")


@dataclass(frozen=True)
class ReportSettings:
    """What the report reads besides the shop: the cutoff, segment rules, registry names and campaign folder."""

    cutoff: datetime | None = None
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    campaigns_dir: Path | None = None
    shop_name: str = "shop"
    result_days: int = 30  # campaign results: days after the cutoff counted
    min_result_days: int = 7  # fewer days of orders after the cutoff: nothing measured, the report says so


@dataclass
class ChurnData:
    """Churn scores of every customer, expected lost revenue per segment, and the top of the churn-risk list."""

    scores: pd.DataFrame
    by_segment: pd.DataFrame
    top: pd.DataFrame
    versions: dict[str, str]


@dataclass
class ModelQuality:
    """Champions' holdout metrics next to their baselines (long table) and the churn calibration by decile."""

    metrics: pd.DataFrame
    calibration: pd.DataFrame
    holdout_cutoff: str
    versions: dict[str, str]
    drift: dict[str, Any] | None = None  # the newest `retention monitor` figures (serving.report.monitoring)


@dataclass
class ReportData:
    """Everything the page shows; a None section has its reason (a TEXT key and its values) in ``missing``."""

    settings: ReportSettings
    cutoff: datetime
    overview: dict[str, float]
    segmentation: Segmentation
    pareto: pd.DataFrame
    rfm: pd.DataFrame
    segments: pd.DataFrame
    migration: pd.DataFrame
    health: pd.DataFrame
    cohorts: pd.DataFrame
    timing: pd.DataFrame
    products: pd.DataFrame | None = None
    churn: ChurnData | None = None
    models: ModelQuality | None = None
    campaigns: pd.DataFrame | None = None
    campaign_results: dict[str, list[str]] = field(default_factory=dict)  # language -> sentences (or why none)
    uplift: list[UpliftCurve] = field(default_factory=list)  # champion uplift models' held-out Qini curves
    missing: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)


def overview(shop: Shop, cutoff: datetime) -> dict[str, float]:
    """Return customers, orders and net revenue before the cutoff."""
    orders = orders_before(shop.transactions, cutoff)
    row = orders.aggregate(customers=orders[C.CUSTOMER_ID].nunique(), orders=orders.is_purchase.cast("int64").sum(),
                           revenue=money_sum(orders.revenue_micros)).execute().iloc[0]
    return {k: float(v) for k, v in row.items()}


def pareto_curve(customers: pd.DataFrame, golden_days: float, points: int = PARETO_POINTS) -> pd.DataFrame:
    """Return the cumulative share of the window's revenue by the share of window buyers, biggest first.

    Window buyers are customers whose last purchase is within ``golden_days``; the curve starts at (0, 0) and has
    at most ``points`` + 1 rows (evenly spaced customers), enough for a smooth line without thousands of points.
    """
    buyers = customers[customers["recency_days"] <= golden_days]
    revenue = np.sort(buyers["window_revenue"].clip(lower=0).to_numpy(dtype="float64"))[::-1]
    if len(revenue) == 0 or revenue.sum() <= 0:
        return pd.DataFrame({"customer_share": [0.0, 1.0], "revenue_share": [0.0, 1.0]})
    cumulative = np.cumsum(revenue) / revenue.sum()
    take = np.unique(np.linspace(0, len(revenue) - 1, min(points, len(revenue))).round().astype(int))
    return pd.DataFrame({"customer_share": np.r_[0.0, (take + 1) / len(revenue)],
                         "revenue_share": np.r_[0.0, cumulative[take]]})


def rfm_grid(customers: pd.DataFrame) -> pd.DataFrame:
    """Return customers and revenue to date per (r, f, m) for all 27 cells, empty cells as zeros."""
    grouped = customers.groupby(["r", "f", "m"])
    table = pd.DataFrame({"customers": grouped.size(), "revenue": grouped["monetary"].sum()})
    cells = pd.MultiIndex.from_product([[1, 2, 3]] * 3, names=["r", "f", "m"])
    return table.reindex(cells, fill_value=0).reset_index()


def segment_table(customers: pd.DataFrame) -> pd.DataFrame:
    """Return per segment in display order: customers, share, revenue to date, orders, average check, revenue share."""
    grouped = customers.groupby("segment")
    table = pd.DataFrame({"customers": grouped.size(), "revenue": grouped["monetary"].sum(),
                          "orders": grouped["frequency"].sum()})
    order = [s for s in SEGMENTS if s in table.index] + sorted(set(table.index) - set(SEGMENTS))
    table = table.reindex(order)
    table["share"] = table["customers"] / max(len(customers), 1)
    table["avg_check"] = table["revenue"] / table["orders"].where(table["orders"] > 0)
    table["revenue_share"] = table["revenue"] / table["revenue"].sum() if table["revenue"].sum() else 0.0
    table.index.name = "segment"
    return table.reset_index()


def order_timing(shop: Shop, cutoff: datetime) -> pd.DataFrame:
    """Return purchase orders per (weekday 0 = Monday, hour), all 7 x 24 cells, before the cutoff."""
    orders = purchases_before(shop.transactions, cutoff)
    ts = orders[C.TIMESTAMP]
    counts = orders.group_by(weekday=ts.day_of_week.index(), hour=ts.hour()).aggregate(orders=orders.count())
    frame = counts.execute().set_index(["weekday", "hour"])["orders"]
    cells = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    return frame.reindex(cells, fill_value=0).astype("int64").reset_index()


def registry_missing() -> str | None:
    """Return a sentence when the registry is a sqlite file that does not exist yet, else None.

    Opening it through MLflow would create an empty database (and take seconds of migrations) just to learn
    that nothing was trained; a report must not leave an ``mlflow.db`` behind in the marketer's folder.
    """
    uri = registry.tracking_uri()
    if uri.startswith("sqlite:///") and not Path(uri.removeprefix("sqlite:///")).exists():
        return f"no MLflow registry at {uri} yet"
    return None


def churn_data(shop: Shop, cutoff: datetime, s: ReportSettings) -> ChurnData:
    """Score every customer with the champions; ValueError (with what to run) when there are none."""
    from models.inference.score import churn_list, load_champions, score

    absent = registry_missing()
    if absent is not None:
        raise ValueError(absent)
    champions = load_champions(s.registry)
    result = score(shop, champions, cutoff, scoring=s.scoring, segments_cfg=s.segments)
    scores = result.scores.copy()
    scores["expected_lost_value"] = scores["churn_probability"] * scores["expected_value"].clip(lower=0)
    grouped = scores.groupby("segment")
    by_segment = pd.DataFrame({"expected_lost_value": grouped["expected_lost_value"].sum(),
                               "customers": grouped.size(),
                               "high_risk": grouped["churn_risk"].apply(lambda r: int((r == "high").sum()))})
    by_segment = by_segment.sort_values("expected_lost_value", ascending=False).reset_index()
    top = churn_list(result, limit=TOP_OF_LIST)
    for lang in ("en", "ru"):  # the page is built in one language later: the reasons are worded in both now
        top[f"reasons_{lang}"] = churn_list(result, limit=TOP_OF_LIST, lang=lang)["reasons"].to_numpy()
    return ChurnData(scores, by_segment, top, dict(champions.versions))


def model_quality(r: RegistryConfig) -> ModelQuality | None:
    """Return the champions' logged holdout metrics and churn calibration, or None when there is no champion."""
    if registry_missing() is not None:
        return None
    names = {"churn": r.churn_name, "golden": r.golden_name, "value": r.value_name}
    versions = {task: registry.alias_version(name, r.champion_alias) for task, name in names.items()}
    found = {task: v for task, v in versions.items() if v is not None}
    if not found:
        return None
    client = registry.client()
    rows, holdout = [], ""
    for task, version in found.items():
        run = client.get_run(version["run_id"])
        metrics, params = run.data.metrics, run.data.params
        holdout = holdout or params.get("holdout_cutoff", "")
        for metric in TASK_METRICS[task]:
            for name, value in metrics.items():
                predictor = _predictor(name, f"{task}_{metric}")
                if predictor is not None:
                    rows.append({"task": task, "metric": metric, "predictor": predictor, "value": float(value)})
    calibration = _calibration(client, found["churn"]["run_id"]) if "churn" in found else pd.DataFrame()
    from serving.report.monitoring import latest_monitor

    return ModelQuality(pd.DataFrame(rows, columns=["task", "metric", "predictor", "value"]), calibration, holdout,
                        {task: v["version"] for task, v in found.items()}, latest_monitor(r))


def _predictor(logged: str, key: str) -> str | None:
    """Return which predictor a logged metric is for: ``churn_roc_auc`` -> model, ``..__bgnbd`` -> bgnbd."""
    if logged == key:
        return "model"
    if logged.startswith(key + "__"):
        return logged[len(key) + 2:]
    return None


def _calibration(client: Any, run_id: str) -> pd.DataFrame:
    """Return the churn calibration deciles of every predictor from the run's evaluation.json (empty if absent)."""
    with tempfile.TemporaryDirectory(prefix="retention-report-") as tmp:
        try:
            path = client.download_artifacts(run_id, "evaluation.json", tmp)
        except Exception as exc:  # an older run without the artifact: the section shows the metrics alone
            logger.debug("no evaluation.json in run %s: %s", run_id, exc)
            return pd.DataFrame()
        evaluation = json.loads(Path(path).read_text())
    frames = [pd.DataFrame(records).assign(predictor=name)
              for name, records in evaluation.get("churn_calibration", {}).items()]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def build_report(shop: Shop, settings: ReportSettings | None = None,
                 step: Callable[[str], None] | None = None) -> ReportData:
    """Return the data of every section; ``step`` is told the name of each section as it starts."""
    s = settings or ReportSettings()
    say = step or (lambda _: None)
    campaigns = read_campaigns(s.campaigns_dir) if s.campaigns_dir is not None else None  # bad folder: fail first
    cutoff = to_datetime(s.cutoff) if s.cutoff is not None else default_cutoff(shop.transactions)
    say("segments")
    seg = segment_customers(shop, cutoff, s.segments)
    customers = seg.customers
    say("base health")
    data = ReportData(
        settings=s, cutoff=cutoff, overview=overview(shop, cutoff), segmentation=seg,
        pareto=pareto_curve(customers, s.segments.golden_days), rfm=rfm_grid(customers),
        segments=segment_table(customers), migration=migration_matrix(customers),
        health=base_metrics(shop, Period.month, cutoff, s.segments),
        cohorts=cohort_retention(shop.transactions, cutoff),
        timing=order_timing(shop, cutoff))
    say("products")
    if shop.has("transactions", "item_id"):
        data.products = product_classes(shop, cutoff, ProductsConfig())
    else:
        data.missing["abc"] = ("no_items", {})
    say("churn risk")
    try:
        data.churn = churn_data(shop, cutoff, s)
    except ValueError as exc:
        data.missing["churn"] = ("no_champions", {"why": str(exc).split(";")[0] + "."})
    say("model quality")
    data.models = model_quality(s.registry)
    if data.models is None:
        data.missing["models"] = ("no_models", {"uri": registry.shown_uri()})
    data.campaigns = campaigns
    if campaigns is None:
        data.missing["campaigns"] = ("no_campaigns", {})
    elif s.campaigns_dir is not None and (s.campaigns_dir / "manifest.csv").exists():
        say("campaign results")
        data.campaign_results = campaign_outcomes(shop, s.campaigns_dir / "manifest.csv", s)
    say("uplift")
    if registry_missing() is None:
        data.uplift = registry.answered("reading the uplift models' curves", champion_curves) or []
    return data


def campaign_outcomes(shop: Shop, manifest_path: Path, s: ReportSettings) -> dict[str, list[str]]:
    """Return, per language, each campaign's result sentence, or the sentence saying why nothing is measured yet
    (as ``retention campaign-results`` says it: the same library call)."""
    from features.campaigns.control import read_manifest
    from features.campaigns.results import TooEarlyError
    from models.inference.campaigns import measure_campaigns

    book = read_manifest(manifest_path)
    out = {}
    for lang in ("en", "ru"):
        try:
            table = measure_campaigns(shop, book, s.result_days, s.min_result_days, lang).table
            out[lang] = [f"{text[0].upper()}{text[1:]}." for text in table["sentence"]]
        except TooEarlyError as exc:
            out[lang] = [str(exc)]
    return out
