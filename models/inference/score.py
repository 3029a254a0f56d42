"""Scores for every customer from the champion models, and the churn-risk list marketers work from.

``score`` loads the champions of churn, golden and value from the registry (refusing when their horizon is not
the one asked for), builds each model's inputs as of the cutoff with the features config it was trained with,
and writes one row per customer with a purchase before the cutoff. ``churn_list`` ranks them by expected lost
value (churn probability x expected value) with what a marketer needs to act.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features import columns as C
from features.analytics.segment_rules import SegmentsConfig
from features.analytics.segments import default_cutoff, segment_customers
from features.data.reader import Shop
from models.customer.base import (
    CHURN_PROBABILITY,
    EXPECTED_ORDERS,
    EXPECTED_VALUE,
    GOLDEN_PROBABILITY,
    NEXT_ORDER_DAYS,
    REASONS,
    CustomerModel,
)
from models.customer.reasons import texts
from models.inference import registry
from models.inference.config import RegistryConfig, ScoringConfig
from models.inference.inputs import model_inputs

logger = logging.getLogger(__name__)

TASKS = ("churn", "golden", "value")
REASON_LIST = "reason_list"  # the scores' reasons as Reason objects (not written to files)
SCORE_COLUMNS = (C.CUSTOMER_ID, CHURN_PROBABILITY, "churn_risk", "churn_percentile", GOLDEN_PROBABILITY,
                 EXPECTED_VALUE, EXPECTED_ORDERS, "next_order_date", "next_order_probability", "segment", "rfm_cell",
                 "is_golden_now", REASONS, "model_source")
LIST_COLUMNS = (C.CUSTOMER_ID, "expected_lost_value", CHURN_PROBABILITY, "churn_risk", EXPECTED_VALUE, "segment",
                "last_order", "top_category", "preferred_weekday", "preferred_hour", C.EMAIL_OPT_IN, REASONS)


def load_registered(uri: str) -> CustomerModel:
    """Load a registered customer model (``models:/churn@champion``, ``models:/churn/3``, ``models:/m-...``)."""
    model = registry.load_registered(uri)
    if not isinstance(model, CustomerModel):
        raise ValueError(f"{uri} is a {type(model).__name__}, not a customer model")
    return model


@dataclass
class Champions:
    """The champion model of each task, with its registry version."""

    models: dict[str, CustomerModel]
    versions: dict[str, str]
    notes: list[str] = field(default_factory=list)  # e.g. a mixed release: an alias moved by hand in MLflow

    @property
    def horizon_days(self) -> int:
        return self.models["churn"].horizon_days_


def load_champions(r: RegistryConfig, horizon_days: int | None = None,
                   resolved: registry.Resolved | None = None) -> Champions:
    """Load the three champions, all from one read of the release record (``resolved``, when the caller read it
    already for the recommender too); refuse when one is missing or a horizon differs from the one asked for.

    Raises
    ------
    ValueError
        When a champion is missing (train first) or horizons disagree (the message says what to run).
    """
    names = {"churn": r.churn_name, "golden": r.golden_name, "value": r.value_name}
    resolved = resolved or registry.resolve(names.values(), r.champion_alias)
    models, versions = {}, {}
    for task, name in names.items():
        found = resolved.versions.get(name)
        if found is None:
            raise ValueError(f"no registered model {name!r} with alias {r.champion_alias!r} at "
                             f"{registry.shown_uri()}; run `retention train --data DIR` first (or set "
                             "MLFLOW_TRACKING_URI to the registry you trained into)")
        # by version, as the release record names it: every champion from the same complete release
        models[task] = load_registered(f"models:/{name}/{found['version']}")
        versions[task] = found["version"]
    horizons = {task: m.horizon_days_ for task, m in models.items()}
    asked = horizon_days if horizon_days is not None else horizons["churn"]
    wrong = {task: h for task, h in horizons.items() if h != asked}
    if wrong:
        which = ", ".join(f"{names[t]} v{versions[t]} ({h} days)" for t, h in wrong.items())
        raise ValueError(f"the champion(s) {which} were trained for another horizon than the {asked} days asked "
                         f"for; train with `retention train --horizon-days {asked}` or score with "
                         f"--horizon-days {next(iter(wrong.values()))}")
    return Champions(models, versions, list(resolved.notes))


@dataclass
class ScoreResult:
    """Scores of every customer, the inputs they came from, and notes for the person running it."""

    cutoff: datetime
    scores: pd.DataFrame
    inputs: pd.DataFrame
    champions: Champions
    notes: list[str] = field(default_factory=list)
    reasons_k: int = 3



def score(shop: Shop, champions: Champions, cutoff: datetime | None = None, *,
          scoring: ScoringConfig | None = None, segments_cfg: SegmentsConfig | None = None,
          reasons_k: int = 3, lang: str = "en") -> ScoreResult:
    """Return every customer's scores as of ``cutoff`` (default: the day after the last order).

    ``reasons`` is worded in ``lang`` (en or ru); ``reason_list`` keeps the same reasons as ``Reason`` objects, so a
    service can word them in the language each request asks for.
    """
    scoring = scoring or ScoringConfig()
    cutoff = cutoff or default_cutoff(shop.transactions)
    cache: dict[str, pd.DataFrame] = {}
    models = champions.models
    inputs = {task: model_inputs(shop, m, cutoff, cache) for task, m in models.items()}
    base = inputs["churn"]
    out = base[[C.CUSTOMER_ID]].copy()
    for task, m in models.items():
        pred = m.predict(inputs[task]).set_index(C.CUSTOMER_ID).reindex(out[C.CUSTOMER_ID])
        for column in m.outputs:
            if (task, column) in _TAKES:
                out[column] = pred[column].to_numpy()
    notes = []
    explained, note = _reasons(models["churn"], base, out[CHURN_PROBABILITY].to_numpy(), reasons_k,
                               scoring.max_reasons)
    out[REASON_LIST] = explained
    out[REASONS] = texts(list(explained), lang)
    notes += [note] if note else []
    p = out[CHURN_PROBABILITY]
    low, high = scoring.risk_thresholds
    out["churn_risk"] = np.select([p >= high, p >= low], ["high", "medium"], "low")
    out["churn_percentile"] = (p.rank(pct=True, method="average") * 100).round(1)
    out["next_order_date"] = next_order_dates(out.pop(NEXT_ORDER_DAYS).to_numpy(dtype="float64"),
                                              p.to_numpy(dtype="float64"), cutoff)
    out["next_order_probability"] = (1.0 - p).round(4)
    sources = {task: m.source for task, m in models.items()}
    out["model_source"] = model_source_text(sources)
    segments = segment_customers(shop, cutoff, segments_cfg or SegmentsConfig()).customers
    segments = segments.assign(**{C.CUSTOMER_ID: segments[C.CUSTOMER_ID].astype(str)}).set_index(C.CUSTOMER_ID)
    for column in ("segment", "rfm_cell", "is_golden_now"):
        out[column] = segments[column].reindex(out[C.CUSTOMER_ID]).to_numpy()
    out["last_order"] = pd.to_datetime(segments["last_purchase"].reindex(out[C.CUSTOMER_ID])).dt.date.to_numpy()
    if "bgnbd_fallback" in sources.values():
        notes.append("scores come from the statistical fallback (BG/NBD x Gamma-Gamma): the history was too short "
                     "for a complete training window at this horizon")
    logger.info("scored %d customers as of %s", len(out), cutoff)
    return ScoreResult(cutoff, out, base, champions, notes, reasons_k)


def _reasons(churn: CustomerModel, inputs: pd.DataFrame, probability: np.ndarray, k: int, most: int | None
             ) -> tuple[np.ndarray, str | None]:
    """Return every row's reasons (lists of ``Reason``), or with more than ``most`` rows those of the ``most`` most
    at risk (an empty list for the others), and a note saying so."""
    texts = np.empty(len(inputs), dtype=object)
    if most is None or len(inputs) <= most:
        texts[:] = [tuple(r) for r in churn.explain(inputs, k)] if len(inputs) else []
        return texts, None
    top = np.sort(np.argsort(-np.nan_to_num(probability, nan=-1.0), kind="stable")[:most])
    texts[:] = [()] * len(inputs)
    for i, found in zip(top, churn.explain(inputs.iloc[top], k), strict=True):
        texts[i] = tuple(found)
    return texts, (f"reasons are given for the {most:,} customers most at risk of churning, of {len(inputs):,} "
                   "(scoring.max_reasons: each explanation costs LightGBM ~0.6 ms); churn-list explains its own rows")


def model_source_text(sources: dict[str, str]) -> str:
    """Return ``lightgbm`` when every task's champion is of one kind, else ``churn=bgnbd, golden=lightgbm, ...``."""
    kinds = set(sources.values())
    if len(kinds) == 1:
        return kinds.pop()
    return ", ".join(f"{task}={kind}" for task, kind in sources.items())


def next_order_dates(days: np.ndarray, churn: np.ndarray, cutoff: datetime) -> list[str | None]:
    """Return each customer's expected next order date, or None when not expected back within the horizon.

    A date is shown only to customers more likely than not to order in the horizon (churn probability < 0.5):
    for the others a date would be a guess, and the probability (``next_order_probability``) says more. Days are
    clipped at 0, so a date is never before the cutoff (an "overdue" customer is due now, not in the past).
    """
    days = np.clip(np.nan_to_num(days, nan=np.inf), 0.0, None)
    return [(cutoff + timedelta(days=float(d))).date().isoformat() if c < 0.5 and np.isfinite(d) and d < 3650
            else None for d, c in zip(days, churn, strict=True)]


# which champion provides which column
_TAKES = {("churn", CHURN_PROBABILITY), ("golden", GOLDEN_PROBABILITY), ("value", EXPECTED_VALUE),
          ("value", EXPECTED_ORDERS), ("value", NEXT_ORDER_DAYS)}


def score_table(result: ScoreResult) -> pd.DataFrame:
    """Return the scores file: the documented columns in order."""
    return result.scores[list(SCORE_COLUMNS)]


def churn_list(result: ScoreResult, min_probability: float = 0.0, segment: str | None = None,
               min_value: float = 0.0, limit: int | None = None, refuse_empty: bool = False,
               lang: str = "en") -> pd.DataFrame:
    """Return the customers worth saving first: by expected lost value (churn probability x expected value).

    Filters: churn probability at least ``min_probability``, in ``segment`` (when given), expected value at least
    ``min_value``; at most ``limit`` rows. Contact columns absent from the data (no items table, no customers
    table) are left empty. Reasons (what puts each customer at risk) are worded in ``lang``.
    """
    s = result.scores.copy()
    s["expected_lost_value"] = s[CHURN_PROBABILITY] * s[EXPECTED_VALUE].clip(lower=0)
    extra = result.inputs.set_index(C.CUSTOMER_ID)
    for column in ("top_category", "preferred_weekday", "preferred_hour", C.EMAIL_OPT_IN):
        s[column] = extra[column].reindex(s[C.CUSTOMER_ID]).to_numpy() if column in extra.columns else None
    if C.EMAIL_OPT_IN in extra.columns:
        s[C.EMAIL_OPT_IN] = s[C.EMAIL_OPT_IN].map({1.0: "yes", 0.0: "no"})
    keep = (s[CHURN_PROBABILITY] >= min_probability) & (s[EXPECTED_VALUE] >= min_value)
    if segment is not None:
        known = sorted(s["segment"].dropna().unique())
        if segment not in known:
            raise ValueError(f"--segment {segment!r} matches no customer; segments present: {', '.join(known)}")
        keep &= s["segment"] == segment
    if "preferred_hour" in extra.columns:
        s["preferred_hour"] = pd.to_numeric(s["preferred_hour"]).round().astype("Int64")
    ranked = s[keep].sort_values(["expected_lost_value", C.CUSTOMER_ID], ascending=[False, True], ignore_index=True)
    ranked = ranked.head(limit) if limit else ranked
    if ranked.empty and refuse_empty:  # the CLI says why rather than write an empty file; the API answers []
        raise ValueError(f"no customer matches the filters (--min-probability {min_probability:g}, --min-value "
                         f"{min_value:g}{f', --segment {segment}' if segment else ''}): the highest churn probability "
                         f"is {s[CHURN_PROBABILITY].max():.3f} and the highest expected value "
                         f"{s[EXPECTED_VALUE].max():,.2f}; lower a threshold")
    # on the list, the reasons are what puts each customer at risk (the scores explain either way)
    if not len(ranked):  # nobody passes the filters (LightGBM cannot explain zero rows)
        return ranked.assign(**{REASONS: pd.Series(dtype=object)})[list(LIST_COLUMNS)]
    rows = result.inputs.set_index(C.CUSTOMER_ID).loc[ranked[C.CUSTOMER_ID]].reset_index()
    explained = result.champions.models["churn"].explain(rows, result.reasons_k)
    ranked[REASONS] = texts(explained, lang)
    return ranked[list(LIST_COLUMNS)]
