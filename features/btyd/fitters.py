"""BG/NBD and Gamma-Gamma fitters: maximum likelihood with scipy over the published log-likelihoods.

Our own rather than ``lifetimes`` (unmaintained since 2020, sets process-wide pandas options on import) or
``pymc-marketing`` (~760 MB, slow first compile): each model is a few dozen lines, checked in the tests against
the papers' CDNOW numbers. Point-in-time features (expected orders, P(alive)) use them; ``models`` wraps them
as baselines. Times are in the summary's unit (weeks by default), see :func:`rfm_summary`.

References
----------
Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the Pareto/NBD Model",
Marketing Science 24(2). Fader, Hardie & Lee (2005b), "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis", Journal of Marketing Research 42(4); Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value".
"""

from __future__ import annotations

import logging
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize, special

from features.btyd.summary import (
    SUMMARY_COLUMNS,
    aggregated_rows,
    checked_array,
    checked_rfm,
    observation_end_day,
    rfm_summary,
)

__all__ = [
    "SUMMARY_COLUMNS",
    "BetaGeoFitter",
    "GammaGammaFitter",
    "expected_value",
    "observation_end_day",
    "rfm_summary",
]

logger = logging.getLogger(__name__)

Array = NDArray[np.float64]
LOG_BOUND = 25.0  # log-parameters live in [-25, 25]: wide enough for any real shop, no exp overflow
BG_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "v")


def _minimise(objective: Any, start: Array, what: str) -> optimize.OptimizeResult:
    """Minimise a smooth objective (returning value and gradient) in log-parameter space, or say what to do."""
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    result = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds,
                               options={"maxiter": 2000, "ftol": 1e-13, "gtol": 1e-8})
    if not (result.success and np.isfinite(result.fun)):
        # L-BFGS-B may stop on a rough patch; Nelder-Mead from its end point needs no gradient
        logger.info("%s: L-BFGS-B stopped (%s); polishing with Nelder-Mead", what, result.message)
        result = optimize.minimize(lambda z: objective(z)[0], result.x if np.isfinite(result.fun) else start,
                                   method="Nelder-Mead", bounds=bounds,
                                   options={"maxiter": 20000, "xatol": 1e-10, "fatol": 1e-13})
    if not (result.success and np.isfinite(result.fun)):
        raise ValueError(f"{what} fit did not converge ({result.message}); set a small penalizer in the config "
                         "(models.baseline.penalizer and features.bgnbd_penalizer, e.g. 0.001), and check with "
                         "`retention validate` for implausible amounts and how many customers ordered more than once")
    at_bound = np.abs(result.x) > LOG_BOUND - 1e-3
    if at_bound.any():
        logger.warning("%s: a parameter reached its bound (log %s); the data barely identify it, consider "
                       "a penalizer", what, np.round(result.x, 2).tolist())
    return result


class _Fitter:
    """Shared plumbing: ``__init__`` only stores its arguments; the fitted check, JSON round trip, repr."""

    _names: tuple[str, ...] = ()
    params_: dict[str, float]
    log_likelihood_: float
    n_customers_: float

    def __init__(self, penalizer: float = 0.0, penalizer_coef: float | None = None) -> None:
        self.penalizer = penalizer
        self.penalizer_coef = penalizer_coef

    def _penalty(self) -> float:
        value = self.penalizer if self.penalizer_coef is None else self.penalizer_coef
        if not value >= 0:
            raise ValueError(f"penalizer must be >= 0, got {value}")
        return float(value)

    def _fitted(self) -> tuple[float, ...]:
        if not hasattr(self, "params_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit(...) first")
        return tuple(self.params_[k] for k in self._names)

    def to_dict(self) -> dict[str, Any]:
        """Return the fitted model as plain JSON-able data."""
        self._fitted()
        return {"model": type(self).__name__, "penalizer": self._penalty(), "params": dict(self.params_),
                "log_likelihood": self.log_likelihood_, "n_customers": self.n_customers_}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Self:
        """Rebuild a fitter saved with :meth:`to_dict`.

        Raises
        ------
        ValueError
            When ``d`` is not a saved model of this class or its parameters are not positive and finite.
        """
        if d.get("model") != cls.__name__:
            raise ValueError(f"not a saved {cls.__name__}: model is {d.get('model')!r}")
        params = d.get("params", {})
        if set(params) != set(cls._names) or not all(0 < float(params[k]) < np.inf for k in cls._names):
            raise ValueError(f"saved {cls.__name__} needs positive finite params {list(cls._names)}, got {params}")
        fitter = cls(penalizer=float(d.get("penalizer", 0.0)))
        fitter.params_ = {k: float(params[k]) for k in cls._names}
        fitter.log_likelihood_ = float(d.get("log_likelihood", np.nan))
        fitter.n_customers_ = float(d.get("n_customers", np.nan))
        return fitter

    def __repr__(self) -> str:
        fitted = ", ".join(f"{k}={v:.4g}" for k, v in self.params_.items()) if hasattr(self, "params_") else "unfitted"
        return f"{type(self).__name__}({fitted})"


class BetaGeoFitter(_Fitter):
    """BG/NBD model: Poisson purchases at gamma(r, alpha) rates, geometric dropout with beta(a, b) probability.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters added to the mean negative log-likelihood (as ``lifetimes``'
        ``penalizer_coef``); 0 is the paper's plain maximum likelihood.
    penalizer_coef
        Alias of ``penalizer`` with ``lifetimes``' name; when given it wins.

    Attributes
    ----------
    params_ : dict[str, float]
        ``r``, ``alpha``, ``a``, ``b``.
    log_likelihood_ : float
        Total log-likelihood at ``params_`` (without the penalty).
    n_customers_ : float
        Number (sum of weights) of customers fitted.

    Notes
    -----
    ``fit`` merges identical (frequency, recency, T) rows first: on day-level summaries 1M customers shrink to
    a few hundred thousand rows, and the likelihood is unchanged.
    """

    _names = BG_PARAMS

    def fit(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike,
            weights: ArrayLike | None = None) -> BetaGeoFitter:
        """Fit by maximum likelihood; ``weights`` counts customers per row (aggregated summaries).

        Raises
        ------
        ValueError
            When the inputs are empty, negative, inconsistent, or the fit does not converge.
        """
        x, t_x, big_t = checked_rfm(frequency, recency, T)
        w = np.ones_like(x) if weights is None else checked_array("weights", weights)
        if len(w) != len(x):
            raise ValueError(f"weights has {len(w)} rows, the summary {len(x)}")
        keep = w > 0
        x, t_x, big_t, w = x[keep], t_x[keep], big_t[keep], w[keep]
        if len(x) == 0:
            raise ValueError("no customers to fit the BG/NBD model on; the summary is empty")
        if not (x > 0).any():
            raise ValueError("no customer made a repeat purchase before the cutoff; BG/NBD models repeat purchases, "
                             "so it needs some: a later cutoff (more history before it), or a shop whose customers "
                             "buy more than once")
        penalty = self._penalty()
        data = _BgData(*aggregated_rows(x, t_x, big_t, w))

        def objective(log_params: Array) -> tuple[float, Array]:
            params = np.exp(log_params)
            ll, grad = data.log_likelihood(params)
            total = w.sum()
            value = -ll / total + penalty * float(params @ params)
            return value, -grad * params / total + 2.0 * penalty * params * params

        result = _minimise(objective, np.zeros(4), "BG/NBD")
        params = np.exp(result.x)
        self.params_ = dict(zip(BG_PARAMS, params.tolist(), strict=True))
        self.log_likelihood_ = float(data.log_likelihood(params)[0])
        self.n_customers_ = float(w.sum())
        logger.info("BG/NBD fitted on %d customers: %s", round(self.n_customers_), self.params_)
        return self

    def _log_dropout_odds(self, x: Array, t_x: Array, big_t: Array) -> Array:
        """Return log of a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x) for x > 0, -inf for x == 0 (never active)."""
        r, alpha, a, b = self._fitted()
        out = np.full_like(x, -np.inf)
        rep = x > 0
        out[rep] = (np.log(a) - np.log(b + x[rep] - 1)
                    + (r + x[rep]) * (np.log(alpha + big_t[rep]) - np.log(alpha + t_x[rep])))
        return out

    def probability_alive(self, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Array:
        """Return P(still active at T | x, t_x, T) (FHL 2005, eq. 11); 1 for customers with no repeat purchase."""
        x, t_x, big_t = checked_rfm(frequency, recency, T)
        return special.expit(-self._log_dropout_odds(x, t_x, big_t))

    def expected_orders(self, t: ArrayLike, frequency: ArrayLike, recency: ArrayLike, T: ArrayLike) -> Array:
        """Return E[purchases in (T, T + t] | x, t_x, T] (FHL 2005, eq. 10), vectorised over customers.

        The Gauss hypergeometric term is taken after Euler's transformation,
        ``(1-z)^(r+x) 2F1(r+x, b+x; a+b+x-1; z) = (1-z)^(a-1) 2F1(a+b-1-r, a-1; a+b+x-1; z)``, whose first two
        arguments do not grow with ``x``: stable for heavy buyers.
        """
        x, t_x, big_t = checked_rfm(frequency, recency, T)
        t = np.broadcast_to(checked_array("t", t), x.shape)
        r, alpha, a, b = self._fitted()
        c = a + b + x - 1
        z = t / (alpha + big_t + t)
        tail = (1 - z) ** (a - 1) * special.hyp2f1(a + b - 1 - r, a - 1, c, z)
        return c / (a - 1) * (1 - tail) * special.expit(-self._log_dropout_odds(x, t_x, big_t))

    def expected_orders_new_customer(self, t: ArrayLike) -> Array:
        """Return E[X(t)], the purchases a customer makes in their first ``t`` units (FHL 2005, eq. 9)."""
        t_arr = checked_array("t", t)
        zeros = np.zeros_like(t_arr)
        return self.expected_orders(t_arr, zeros, zeros, zeros)


class _BgData:
    """BG/NBD log-likelihood (FHL 2005, eq. 6) and its gradient for fixed data.

    Terms that depend on the parameters and ``x`` only are computed once per distinct ``x`` (a few hundred
    values even for millions of customers); per customer only logs remain, so a fit of 1M customers takes
    seconds.
    """

    def __init__(self, x: Array, t_x: Array, big_t: Array, w: Array) -> None:
        self.ux, self.inv = np.unique(x, return_inverse=True)
        self.x, self.t_x, self.big_t, self.w = x, t_x, big_t, w
        self.rep_u = self.ux > 0

    def log_likelihood(self, params: Array) -> tuple[float, Array]:
        r, alpha, a, b = params
        ux, inv, rep_u, x, w = self.ux, self.inv, self.rep_u, self.x, self.w
        beta_ab = special.betaln(a, b)
        dig_ab = special.digamma(a + b)
        dig_abx = special.digamma(a + b + ux)
        bm1 = np.where(rep_u, b + ux - 1, 1.0)  # b+x-1 only matters for repeaters; 1.0 keeps logs finite
        lead = special.gammaln(r + ux) - special.gammaln(r) + r * np.log(alpha)
        one = special.betaln(a, b + ux) - beta_ab
        two = np.where(rep_u, special.betaln(a + 1, bm1) - beta_ab, -np.inf)
        log_at, log_atx = np.log(alpha + self.big_t), np.log(alpha + self.t_x)
        t1 = one[inv] - (r + x) * log_at
        t2 = two[inv] - (r + x) * log_atx
        mix = np.logaddexp(t1, t2)
        w1 = np.exp(t1 - mix)  # share of the "still alive at T" branch
        w2 = 1.0 - w1
        ll = float(np.sum(w * (lead[inv] + mix)))
        # d/dparam of each branch; betaln derivative is digamma(p) - digamma(p + q)
        d_r = (special.digamma(r + ux) - special.digamma(r))[inv] + np.log(alpha) - w1 * log_at - w2 * log_atx
        d_alpha = r / alpha - (r + x) * (w1 / (alpha + self.big_t) + w2 / (alpha + self.t_x))
        d_beta_a, d_beta_b = special.digamma(a) - dig_ab, special.digamma(b) - dig_ab
        d_one_a = special.digamma(a) - dig_abx - d_beta_a
        d_two_a = special.digamma(a + 1) - dig_abx - d_beta_a
        d_one_b = special.digamma(b + ux) - dig_abx - d_beta_b
        d_two_b = special.digamma(bm1) - dig_abx - d_beta_b
        d_a = w1 * d_one_a[inv] + w2 * d_two_a[inv]
        d_b = w1 * d_one_b[inv] + w2 * d_two_b[inv]
        # sums, not `w @ v`: OpenBLAS threads its dot product and stalls 50x on a busy 2-core machine
        grad = np.array([np.sum(w * d_r), np.sum(w * d_alpha), np.sum(w * d_a), np.sum(w * d_b)])
        return ll, grad


class GammaGammaFitter(_Fitter):
    """Gamma-Gamma model of mean spend per repeat purchase: gamma(p, nu) spend, nu ~ gamma(q, v) per customer.

    Parameters
    ----------
    penalizer
        L2 penalty on the parameters added to the mean negative log-likelihood; 0 is plain maximum likelihood.
    penalizer_coef
        Alias of ``penalizer`` with ``lifetimes``' name; when given it wins.

    Attributes
    ----------
    params_ : dict[str, float]
        ``p``, ``q``, ``v``.
    log_likelihood_ : float
        Total log-likelihood at ``params_`` (Fader & Hardie 2013's LL, without the penalty).
    n_customers_ : float
        Customers fitted (frequency > 0 and monetary > 0).
    """

    _names = GG_PARAMS

    def fit(self, frequency: ArrayLike, monetary: ArrayLike) -> GammaGammaFitter:
        """Fit on customers with ``frequency > 0`` and ``monetary > 0`` (others are ignored).

        Raises
        ------
        ValueError
            When fewer than two such customers exist, inputs are invalid, or the fit does not converge.
        """
        x, m = checked_array("frequency", frequency), np.asarray(monetary, dtype="float64").ravel()
        if len(x) != len(m) or not np.isfinite(m).all():
            raise ValueError(f"monetary must be finite and as long as frequency ({len(m)} vs {len(x)} rows)")
        keep = (x > 0) & (m > 0)
        if keep.sum() < 2:
            raise ValueError(f"Gamma-Gamma needs customers with repeat purchases and positive spend; found "
                             f"{int(keep.sum())} of {len(x)}")
        x, m = x[keep], m[keep]
        penalty = self._penalty()

        def objective(log_params: Array) -> tuple[float, Array]:
            params = np.exp(log_params)
            ll, grad = _gg_log_likelihood(params, x, m)
            return -ll / len(x) + penalty * float(params @ params), -grad * params / len(x) + 2 * penalty * params**2

        result = _minimise(objective, np.zeros(3), "Gamma-Gamma")
        self.params_ = dict(zip(GG_PARAMS, np.exp(result.x).tolist(), strict=True))
        self.log_likelihood_ = _gg_log_likelihood(np.exp(result.x), x, m)[0]
        self.n_customers_ = float(len(x))
        logger.info("Gamma-Gamma fitted on %d customers: %s", self.n_customers_, self.params_)
        return self

    def population_mean(self) -> float:
        """Return the mean spend per purchase across customers, p v / (q - 1).

        Raises
        ------
        ValueError
            When ``q <= 1``: the fitted spread is so wide that the mean is infinite.
        """
        p, q, v = self._fitted()
        if q <= 1:
            raise ValueError(f"Gamma-Gamma q = {q:.3g} <= 1: the population mean spend is infinite; refit with "
                             "a penalizer or cap extreme order values")
        return p * v / (q - 1)

    def expected_average_value(self, frequency: ArrayLike, monetary: ArrayLike) -> Array:
        """Return E[mean spend per purchase | x, m_x] (FHL 2005b, eq. 5); the population mean when x == 0."""
        x, m = checked_array("frequency", frequency), np.asarray(monetary, dtype="float64").ravel()
        if len(x) != len(m) or not np.isfinite(m).all():
            raise ValueError(f"monetary must be finite and as long as frequency ({len(m)} vs {len(x)} rows)")
        p, q, v = self._fitted()
        with np.errstate(invalid="ignore", divide="ignore"):
            individual = p * (v + m * x) / (p * x + q - 1)
        if (x == 0).any():
            individual = np.where(x > 0, individual, self.population_mean())
        return individual


def _gg_log_likelihood(params: Array, x: Array, m: Array) -> tuple[float, Array]:
    """Return the Gamma-Gamma log-likelihood of mean spends ``m`` over ``x`` purchases, and its gradient."""
    p, q, v = params
    px = p * x
    log_vmx, log_m, log_x = np.log(v + m * x), np.log(m), np.log(x)
    ll = (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q) + q * np.log(v)
          + (px - 1) * log_m + px * log_x - (px + q) * log_vmx)
    dig = special.digamma(px + q)
    grad = np.array([
        np.sum(x * (dig - special.digamma(px) + log_m + log_x - log_vmx)),
        (dig - special.digamma(q) + np.log(v) - log_vmx).sum(),
        (q / v - (px + q) / (v + m * x)).sum(),
    ])
    return float(ll.sum()), grad


def expected_value(bg: BetaGeoFitter, gg: GammaGammaFitter, t: ArrayLike, frequency: ArrayLike,
                   recency: ArrayLike, T: ArrayLike, monetary: ArrayLike) -> Array:
    """Return expected revenue in the next ``t`` units, undiscounted: expected orders x expected order value."""
    return bg.expected_orders(t, frequency, recency, T) * gg.expected_average_value(frequency, monetary)
