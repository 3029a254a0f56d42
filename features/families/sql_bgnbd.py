"""BG/NBD in the DuckDB build: fitted in scipy on the distinct (frequency, recency, T), in a worker thread.

The fit is numpy on one core while DuckDB keeps both busy, so the build hands it to a worker and stages the
other families meanwhile (``start_bgnbd``), then joins the scores back in SQL (``finished_bgnbd``): no customer
id goes through Python, and each customer takes the scores of its triple.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from features import columns as C
from features.data.duck import scalar
from features.families import sql_queries as Q
from features.families.config import FeaturesConfig

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from features.families.sql_build import Build, FeatureTable

logger = logging.getLogger(__name__)

FIT_FAILURES = (ImportError, RuntimeError, ValueError, ArithmeticError)


@dataclass
class Fitting:
    """A BG/NBD fit under way: the summary table it reads and the worker's future scores."""

    summary: str
    scores: Future[pa.Table]


def preload_fitters() -> None:
    """Import scipy's fitters (about half a second) while DuckDB stages the first tables."""
    import features.btyd.fitters  # noqa: F401


def start_bgnbd(b: Build, gaps: str, result: FeatureTable, worker: ThreadPoolExecutor) -> Fitting | None:
    """Stage the purchase summary and start the fit on its triples; None (and why) when there is too little data."""
    needed = b.cfg.bgnbd_min_repeat_customers
    # more than one purchase order (not day): the gaps table has a gap for every purchase order after the first
    repeaters = int(scalar(b.con, f"SELECT count(*) FROM {gaps} WHERE mean_gap_days IS NOT NULL"))
    if repeaters < needed:
        result.left_out["bgnbd"] = (f"too little data: {repeaters} customer(s) bought more than once before the "
                                    f"cutoff; BG/NBD needs at least {needed} (features.bgnbd_min_repeat_customers)")
        return None
    summary = b.table("bgnbd_summary", Q.bgnbd_summary_query(gaps, b.cutoff, b.cfg))
    triples = b.con.sql(Q.bgnbd_triples_query(summary)).to_arrow_table()
    return Fitting(summary, worker.submit(bgnbd_scores, triples, b.cfg))


def finished_bgnbd(b: Build, fitting: Fitting, result: FeatureTable) -> str | None:
    """Wait for the fit and return the table of each customer's scores; None (and why) when it cannot be used."""
    try:
        try:
            scores = fitting.scores.result()
        except FIT_FAILURES as exc:
            _left_out(result, f"the BG/NBD fit failed ({exc})")
            return None
        absurd = absurd_scores(scores.column(3).to_numpy(), scores.column(4).to_numpy())
        if absurd:
            _left_out(result, f"the BG/NBD fit is not usable ({absurd})")
            return None
        view = f"_features_scores_{b.tag}"
        b.con.register(view, scores)
        try:  # the scores are a function of (frequency, recency, T): each customer takes those of its triple
            names = ", ".join(f"t.{c}" for c in scores.column_names[3:])
            return b.table("bgnbd", f"SELECT s.{C.CUSTOMER_ID}, {names} FROM {fitting.summary} AS s "
                                    f'JOIN {view} AS t USING (frequency, recency, "T")')
        finally:
            b.con.unregister(view)
    finally:
        b.drop(fitting.summary)


def _left_out(result: FeatureTable, why: str) -> None:
    result.left_out["bgnbd"] = why
    logger.warning("BG/NBD left out: %s", why)


def bgnbd_scores(triples: pa.Table, cfg: FeaturesConfig) -> pa.Table:
    """Return frequency, recency, T, BG/NBD expected orders in the horizon and P(alive) for each distinct
    (frequency, recency, T), fitted with each weighted by its number of customers."""
    import pyarrow as pa

    from features.btyd.fitters import BetaGeoFitter

    frequency, recency, T = (triples.column(c).to_numpy().astype("float64") for c in ("frequency", "recency", "T"))
    customers = triples.column("customers").to_numpy().astype("float64")
    fitter = BetaGeoFitter(penalizer_coef=cfg.bgnbd_penalizer).fit(frequency, recency, T, weights=customers)
    horizon = cfg.bgnbd_horizon_days / cfg.bgnbd_unit_days
    return pa.table({"frequency": frequency, "recency": recency, "T": T,
                     f"bgnbd_expected_orders_{cfg.bgnbd_horizon_days}d":
                         fitter.expected_orders(horizon, frequency, recency, T),
                     "bgnbd_p_alive": fitter.probability_alive(frequency, recency, T)})


def absurd_scores(expected: np.ndarray, alive: np.ndarray) -> str | None:
    """Return why fitted BG/NBD scores cannot be right (not finite, a probability outside [0, 1]), or None."""
    import numpy as np

    if not (np.isfinite(expected).all() and np.isfinite(alive).all()):
        return "some scores are not finite numbers"
    if not ((alive >= 0) & (alive <= 1)).all() or (expected < 0).any():
        return "a probability outside [0, 1] or negative expected orders"
    return None
