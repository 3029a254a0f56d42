"""CustomerModel: the shape of every per-customer model (churn, golden, value and the statistical baselines).

A customer model reads one row per customer (``customer_id`` plus inputs) and returns one row per customer
(``customer_id`` plus its ``outputs``). ``fit(inputs, labels, horizon_days=...)`` learns, ``predict(inputs)``
scores, ``reasons(inputs)`` says in words why, and ``save`` / ``load`` write a plain folder (model.json, JSON,
LightGBM text models). The folder is all serving needs: nothing here imports training code.

Also here, shared by the LightGBM models: ``FeatureSpec`` (which columns, categorical code maps, the phrases
reasons use) and ``Calibrator`` (isotonic or Platt, stored as JSON arrays).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Self

import numpy as np
import pandas as pd
from pydantic import Field

from features import columns as C
from models.base import ModelBase, ModelConfig

if TYPE_CHECKING:
    import lightgbm as lgb

logger = logging.getLogger(__name__)

CHURN_PROBABILITY = "churn_probability"
GOLDEN_PROBABILITY = "golden_probability"
EXPECTED_VALUE = "expected_value"  # net revenue expected in the horizon
EXPECTED_ORDERS = "expected_orders"
NEXT_ORDER_DAYS = "next_order_days"
REASONS = "reasons"
FEATURES_FILE = "features.json"
PROBABILITY_FLOOR = 0.001
# added times the raw score to a calibrated probability: isotonic calibration is flat within each step, and a list cut
# inside a step (the top 20%) would then order its customers by row position; this keeps the model's own order
TIE_BREAK = 1e-6

# label columns (training/labels.py writes them; models read them)
CHURN, GOLDEN, VALUE, ORDERS, NEXT_ORDER_DATE = "churn", "golden", "value", "orders", "next_order_date"


class CustomerModel(ModelBase):
    """Base of per-customer models. Subclasses set ``outputs`` and write ``_fit`` / ``_predict``.

    Attributes
    ----------
    horizon_days_ : int
        The label horizon the model was fitted for; scoring at another horizon is refused by the caller.
    metadata_ : dict
        What the pipeline wants kept with the model (e.g. the features config); JSON-able, saved in model.json.
    """

    outputs: ClassVar[tuple[str, ...]] = ()
    model_source: ClassVar[str] = "lightgbm"  # what scores say produced them (metadata "model_source" overrides)
    needs_labels: ClassVar[bool] = True  # False for models fitted on the inputs alone (BG/NBD)

    horizon_days_: int
    metadata_: dict[str, Any]

    def fit(self, inputs: pd.DataFrame, labels: pd.DataFrame | None = None, *, horizon_days: int,
            metadata: dict[str, Any] | None = None) -> Self:
        """Learn from ``inputs`` (one row per customer and window) and ``labels`` (aligned rows); returns self.

        Raises
        ------
        ValueError
            When labels are needed but missing, or do not align with the inputs.
        """
        if labels is not None and len(labels) != len(inputs):
            raise ValueError(f"labels have {len(labels)} rows, inputs {len(inputs)}; they must align row by row")
        if labels is None and self.needs_labels:
            raise ValueError(f"{type(self).__name__} is supervised: pass labels")
        self.horizon_days_ = int(horizon_days)
        self.metadata_ = dict(metadata or {})
        return super().fit(inputs, labels)

    def predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        """Return ``customer_id`` and the model's ``outputs``, one row per input row, in input order."""
        self.check_fitted()
        out = self._predict(inputs)
        out.insert(0, C.CUSTOMER_ID, inputs[C.CUSTOMER_ID].to_numpy())
        return out.reset_index(drop=True)

    def _predict(self, inputs: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def reasons(self, inputs: pd.DataFrame, k: int = 3, direction: str = "up", lang: str = "en") -> pd.DataFrame:
        """Return ``customer_id`` and ``reasons``: up to ``k`` reasons in ``lang``, joined by "; ".

        Reasons only ever name what raises the score (``direction`` "up", the one accepted): for churn what puts
        the customer at risk, for golden and value what makes them likely to be golden or worth much. A customer
        with nothing worth saying gets an empty text. See ``models.customer.reasons``.
        """
        from models.customer.reasons import texts

        return pd.DataFrame({C.CUSTOMER_ID: inputs[C.CUSTOMER_ID].to_numpy(),
                             REASONS: texts(self.explain(inputs, k, direction), lang)})

    def explain(self, inputs: pd.DataFrame, k: int = 3, direction: str = "up") -> list[list[Any]]:
        """Return each row's reasons as ``models.customer.reasons.Reason`` objects (worded in any language later)."""
        self.check_fitted()
        if direction != "up":
            raise ValueError(f"direction must be 'up' (a reason is what raises the score), got {direction!r}")
        if not len(inputs):
            return []
        return self._reasons(inputs, k, self.reason_kind)

    @property
    def reason_kind(self) -> str:
        """``risk`` for a churn probability (what raises the risk), ``value`` for the others."""
        return "risk" if self.outputs and self.outputs[0] == CHURN_PROBABILITY else "value"

    def _reasons(self, inputs: pd.DataFrame, k: int, direction: str) -> list[list[Any]]:
        """Return the rows' ``Reason`` lists; ``direction`` is the kind (``risk`` or ``value``)."""
        raise NotImplementedError

    @property
    def source(self) -> str:
        """Return what produced this model's scores: the class's kind, or the one its metadata names (a BG/NBD
        fitted as the fallback says ``bgnbd_fallback``, the same class as a holdout winner says ``bgnbd``)."""
        return str(getattr(self, "metadata_", {}).get("model_source") or self.model_source)

    def _common_state(self) -> dict[str, Any]:
        return {"horizon_days": self.horizon_days_, "metadata": self.metadata_, "model_source": self.source}

    def _load_common(self, state: dict[str, Any]) -> None:
        self.horizon_days_ = int(state["horizon_days"])
        self.metadata_ = dict(state.get("metadata", {}))


# --- features: which columns, how categoricals become codes, what phrases describe them ------------------------


@dataclass
class FeatureSpec:
    """The model's input columns in order, the levels of each categorical and the phrases for reasons.

    LightGBM gets integer codes (MLflow pyfunc refuses pandas ``category`` columns); an unseen level becomes
    missing (NaN), which LightGBM routes like any missing value.
    """

    columns: list[str]
    levels: dict[str, list[str]] = field(default_factory=dict)
    phrases: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, catalogue: dict[str, Any], exclude: tuple[str, ...] = (),
                   extra: dict[str, dict[str, str]] | None = None) -> FeatureSpec:
        """Pick the model inputs from ``frame``: catalogue features that are numeric or categorical (not dates),
        and the numeric columns named in ``extra`` (made by the models, e.g. BG/NBD outputs: name -> phrase)."""
        columns, levels, phrases = [], {}, {}
        for name in frame.columns:
            if extra and name in extra and name not in exclude:
                columns.append(name)
                phrases[name] = dict(extra[name])
                continue
            feature = catalogue.get(name)
            if name == C.CUSTOMER_ID or name in exclude or feature is None or feature.kind == "date":
                continue
            columns.append(name)
            if feature.kind == "categorical":
                levels[name] = sorted(frame[name].dropna().astype(str).unique().tolist())
            phrases[name] = {"phrase": feature.phrase, "unit": feature.unit, "if_zero": feature.phrase_if_zero}
        if not columns:
            raise ValueError(f"no model input among the columns {list(frame.columns)[:10]}...")
        return cls(columns, levels, phrases)

    @property
    def categorical(self) -> list[int]:
        return [i for i, c in enumerate(self.columns) if c in self.levels]

    def matrix(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the float matrix LightGBM reads; a missing input column is an error naming it."""
        missing = [c for c in self.columns if c not in frame.columns]
        if missing:
            raise ValueError(f"inputs lack the model's feature column(s) {missing}; build features with the "
                             "config the model was trained with")
        out = np.empty((len(frame), len(self.columns)), dtype="float64")
        for j, name in enumerate(self.columns):
            if name in self.levels:
                codes = pd.Categorical(frame[name].astype("string"), categories=self.levels[name]).codes
                out[:, j] = np.where(codes < 0, np.nan, codes)
            else:
                out[:, j] = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return out

    def save(self, path: Path) -> None:
        (path / FEATURES_FILE).write_text(json.dumps(
            {"columns": self.columns, "levels": self.levels, "phrases": self.phrases}, indent=1))

    @classmethod
    def load(cls, path: Path) -> FeatureSpec:
        d = json.loads((path / FEATURES_FILE).read_text())
        return cls(d["columns"], d["levels"], d["phrases"])


def catalogue_for(metadata: dict[str, Any]) -> dict[str, Any]:
    """Return the feature catalogue under the features config kept in ``metadata`` (default config otherwise)."""
    from features.families.build import feature_catalogue  # training-time only: serving reads the saved phrases
    from features.families.config import FeaturesConfig

    return feature_catalogue(FeaturesConfig(**metadata.get("features_config", {})))


def group_split(customer_ids: pd.Series, share: float, seed: int) -> np.ndarray:
    """Return a boolean mask of validation rows: a ``share`` of customers, all their windows together.

    Keeping a customer's windows on one side stops the validation score (and so early stopping and the
    calibration) from rewarding memorised customers. The side is a hash of the customer id (and the seed), so
    it does not depend on row order and a customer stays on the same side in every window and run.
    """
    hashed = pd.util.hash_array(customer_ids.astype(str).to_numpy(dtype=object), hash_key=f"{seed:016d}"[-16:])
    return (hashed % 1_000_000) < share * 1_000_000


# --- calibration ----------------------------------------------------------------------------------------------


@dataclass
class Calibrator:
    """Maps a raw probability to a calibrated one: isotonic (piecewise linear) or Platt (logistic on the logit)."""

    kind: str = "identity"
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    a: float = 1.0
    b: float = 0.0

    @classmethod
    def fit(cls, raw: np.ndarray, target: np.ndarray, method: str = "auto",
            min_isotonic_rows: int = 2000) -> Calibrator:
        """Fit on held-out raw probabilities; ``auto`` takes isotonic with enough rows of each class, else Platt."""
        positives, negatives = int(target.sum()), int(len(target) - target.sum())
        if positives == 0 or negatives == 0:
            logger.warning("calibration set has one class only; probabilities stay uncalibrated")
            return cls()
        if method == "auto":
            method = "isotonic" if min(positives, negatives) >= min_isotonic_rows // 4 and \
                len(target) >= min_isotonic_rows else "platt"
        if method == "isotonic":
            from sklearn.isotonic import IsotonicRegression

            iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(raw, target)
            return cls("isotonic", iso.X_thresholds_.tolist(), iso.y_thresholds_.tolist())
        from sklearn.linear_model import LogisticRegression

        logit = _logit(raw).reshape(-1, 1)
        lr = LogisticRegression(C=1e6).fit(logit, target)
        return cls("platt", a=float(lr.coef_[0, 0]), b=float(lr.intercept_[0]))

    def apply(self, raw: np.ndarray) -> np.ndarray:
        """Return calibrated probabilities, kept within [0.001, 0.999]: a validation bin with no exception is
        evidence of a high rate, not of certainty. Customers an isotonic step (or the bounds) would tie keep the
        raw order: the result moves by at most ``TIE_BREAK`` and is strictly increasing in ``raw``."""
        raw = np.asarray(raw, dtype="float64")
        if self.kind == "isotonic":
            p = np.interp(raw, self.x, self.y)
        elif self.kind == "platt":
            p = 1.0 / (1.0 + np.exp(-(self.a * _logit(raw) + self.b)))
        else:
            p = raw
        return np.clip(p, PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR - TIE_BREAK) + TIE_BREAK * np.clip(raw, 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "x": self.x, "y": self.y, "a": self.a, "b": self.b}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Calibrator:
        return cls(d["kind"], list(d["x"]), list(d["y"]), float(d["a"]), float(d["b"]))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype="float64"), 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def next_order_days(expected_orders: np.ndarray, horizon_days: int, cap_days: float = 3650.0) -> np.ndarray:
    """Return the median days to the next order if orders arrive as a Poisson process at the expected rate.

    With ``E`` orders expected in ``H`` days the wait is exponential with mean ``H / E``; its median is
    ``H ln 2 / E``. Capped at ``cap_days`` (ten years) for customers expected to place almost no order.
    """
    rate = np.asarray(expected_orders, dtype="float64") / horizon_days
    with np.errstate(divide="ignore"):
        days = np.where(rate > 0, math.log(2) / rate, np.inf)
    return np.minimum(days, cap_days)


# --- LightGBM ---------------------------------------------------------------------------------------------------


class LgbmConfig(ModelConfig):
    """LightGBM settings shared by the churn, golden and value models; defaults suit 10k-1M rows."""

    # small, regularised trees: on CDNOW-sized shops (tens of thousands of customers, a handful of strong
    # signals) bigger trees fit noise and lose to BG/NBD on real outcomes
    num_leaves: int = Field(15, ge=2)
    learning_rate: float = Field(0.05, gt=0, le=1)
    n_estimators: int = Field(500, ge=1, description="Most boosting rounds; early stopping usually ends sooner.")
    early_stopping_rounds: int = Field(40, ge=1)
    min_child_samples: int = Field(200, ge=1)
    feature_fraction: float = Field(0.8, gt=0, le=1)
    bagging_fraction: float = Field(0.8, gt=0, le=1)
    lambda_l2: float = Field(10.0, ge=0)
    validation_share: float = Field(0.2, gt=0, lt=1, description="Customers held out for early stopping and "
                                    "calibration (all their windows together).")
    num_threads: int = Field(0, ge=0, description="0 = LightGBM's default (all cores).")
    seed: int = 0
    monotone: dict[str, int] = Field(default_factory=dict, description="Feature -> +1 (the prediction never falls "
                                     "as it grows) or -1 (never rises); features absent from the data are ignored.")


def train_booster(cfg: LgbmConfig, objective: dict[str, Any], x: np.ndarray, y: np.ndarray, valid: np.ndarray,
                  categorical: list[int], names: list[str], offset: np.ndarray | None = None) -> lgb.Booster:
    """Train one booster on the rows not in ``valid``, early-stopping on the rows in ``valid``.

    ``offset`` (raw score per row, e.g. the log of a baseline's estimate) is where boosting starts: the trees learn
    a correction of it, and predictions must add it back (``predict(x, raw_score=True) + offset``).
    """
    import lightgbm as lgb

    params = {
        **objective, "num_leaves": cfg.num_leaves, "learning_rate": cfg.learning_rate,
        "min_child_samples": cfg.min_child_samples, "feature_fraction": cfg.feature_fraction,
        "bagging_fraction": cfg.bagging_fraction, "bagging_freq": 1, "lambda_l2": cfg.lambda_l2,
        "num_threads": cfg.num_threads, "seed": cfg.seed, "deterministic": True, "verbosity": -1,
    }
    if any(cfg.monotone.get(n, 0) for n in names):
        params["monotone_constraints"] = [int(cfg.monotone.get(n, 0)) for n in names]
        params["monotone_constraints_method"] = "advanced"
    safe = [n.replace(" ", "_") for n in names]
    start = {} if offset is None else {"init_score": offset[~valid]}
    train = lgb.Dataset(x[~valid], y[~valid], feature_name=safe, categorical_feature=categorical or "auto",
                        free_raw_data=True, **start)
    val = lgb.Dataset(x[valid], y[valid], reference=train, **({} if offset is None else {"init_score": offset[valid]}))
    booster = lgb.train(params, train, num_boost_round=cfg.n_estimators, valid_sets=[val],
                        callbacks=[lgb.early_stopping(cfg.early_stopping_rounds, verbose=False)])
    best = booster.best_iteration or booster.current_iteration()
    logger.debug("%s: best of %d rounds is %d", objective.get("objective"), booster.current_iteration(), best)
    # keep only the best trees, so in memory and after save/load the model is the same
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=best))


def load_booster(path: Path) -> lgb.Booster:
    import lightgbm as lgb

    return lgb.Booster(model_file=str(path))


def importance_frame(booster: lgb.Booster, columns: list[str]) -> pd.DataFrame:
    """Return gain importance per feature, largest first (share of the total gain)."""
    gain = booster.feature_importance("gain")
    total = gain.sum() or 1.0
    frame = pd.DataFrame({"feature": columns, "gain_share": gain / total})
    return frame.sort_values("gain_share", ascending=False, ignore_index=True)
