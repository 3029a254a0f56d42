"""Contract of every CustomerModel (models and baselines), calibration, feature codes, reasons, the pyfunc loader."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from models.base import NotFittedError
from models.customer.base import Calibrator, CustomerModel, FeatureSpec, next_order_days
from models.customer.baselines import BgNbdBaseline, LastPeriodBaseline, RecencyBaseline
from models.customer.churn import ChurnModel
from models.customer.golden import GoldenModel
from models.customer.reasons import REFUSED, top_reasons
from models.customer.value import ValueModel
from models.inference.pyfunc import folder_in, load_model_folder, model_source

SMALL = {"n_estimators": 60, "num_threads": 1}
MODELS: list[tuple[type[CustomerModel], dict]] = [
    (ChurnModel, SMALL), (GoldenModel, SMALL), (ValueModel, SMALL),
    (BgNbdBaseline, {}), (RecencyBaseline, {}), (LastPeriodBaseline, {}),
]


def customers(n: int = 2000, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return inputs and labels of ``n`` synthetic customers: recent, frequent buyers buy again."""
    rng = np.random.default_rng(seed)
    since = rng.uniform(1, 400, n)
    orders = 1 + rng.poisson(3, n)
    aov = rng.gamma(4, 15, n)
    tenure = since + rng.uniform(0, 300, n)
    p_buy = 1 / (1 + np.exp(-(1.5 - since / 60 + 0.25 * orders)))
    horizon_orders = (rng.random(n) < p_buy) * (1 + rng.poisson(0.6, n))
    value = horizon_orders * aov * rng.gamma(5, 0.2, n)
    x = pd.DataFrame({
        "customer_id": [f"c{seed}-{i}" for i in range(n)],
        "days_since_last_order": since, "days_since_first_order": tenure, "orders": orders.astype(float),
        "net_revenue": orders * aov, "avg_order_value": aov,
        "mean_gap_days": np.where(orders > 1, (tenure - since) / np.maximum(orders - 1, 1), np.nan),
        "preferred_weekday": rng.choice(["Monday", "Friday", "Sunday"], n), "email_opt_in": rng.integers(0, 2, n) * 1.0,
        "btyd_frequency": orders - 1.0, "btyd_recency": (tenure - since) / 7, "btyd_T": tenure / 7,
        "btyd_monetary": np.where(orders > 1, aov, 0.0),
        "last_period_revenue": np.where(since < 90, aov, 0.0), "last_period_orders": (since < 90) * 1.0,
    })
    golden = np.zeros(n, dtype=int)
    golden[np.argsort(-value)[: n // 5]] = 1
    y = pd.DataFrame({"customer_id": x["customer_id"], "churn": (horizon_orders == 0).astype(int),
                      "golden": golden * (value > 0), "value": value, "orders": horizon_orders.astype(float)})
    return x, y


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, pd.DataFrame]:
    return customers()


def fitted(cls: type[CustomerModel], params: dict, data: tuple[pd.DataFrame, pd.DataFrame]) -> CustomerModel:
    x, y = data
    return cls(**params).fit(x, None if not cls.needs_labels else y, horizon_days=90, metadata={"run": "test"})


@pytest.mark.parametrize(("cls", "params"), MODELS, ids=lambda v: getattr(v, "__name__", ""))
def test_contract(cls: type[CustomerModel], params: dict, data: tuple, tmp_path: Path) -> None:
    x, _ = data
    with pytest.raises(NotFittedError):
        cls(**params).predict(x)
    model = fitted(cls, params, data)
    assert model.is_fitted and model.horizon_days_ == 90
    out = model.predict(x.head(300))
    assert list(out.columns) == ["customer_id", *cls.outputs]
    assert out["customer_id"].tolist() == x["customer_id"].head(300).tolist()
    assert np.isfinite(out[list(cls.outputs)].to_numpy()).all()
    folder = model.save(tmp_path / "m")
    loaded = load_model_folder(folder)
    assert type(loaded) is cls and loaded.metadata_ == {"run": "test"} and loaded.horizon_days_ == 90
    pd.testing.assert_frame_equal(loaded.predict(x.head(300)), out)
    assert model_source(folder) == cls.model_source
    assert not list(folder.glob("*.pkl")) and json.loads((folder / "model.json").read_text())["class"].endswith(
        cls.__name__)
    assert cls.from_config(model.get_config()).config == model.config
    reasons = model.reasons(x.head(50))["reasons"]
    assert len(reasons) == 50 and reasons.str.count("; ").le(2).all()
    assert reasons.str.len().gt(0).any()  # some rows have something to say (others may honestly have nothing)


@pytest.mark.parametrize(("cls", "params"), MODELS[:3], ids=lambda v: getattr(v, "__name__", ""))
def test_refit_replaces_state(cls: type[CustomerModel], params: dict, data: tuple) -> None:
    model = fitted(cls, params, data)
    x2, y2 = customers(1500, seed=7)
    first = model.predict(x2)
    y2 = y2.assign(churn=1 - y2["churn"], golden=1 - y2["golden"], value=y2["value"][::-1].to_numpy())
    second = model.fit(x2, y2, horizon_days=30).predict(x2)
    assert model.horizon_days_ == 30
    assert not np.allclose(first.iloc[:, 1].to_numpy(), second.iloc[:, 1].to_numpy())


def test_churn_is_calibrated_and_directional(data: tuple) -> None:
    x, y = data
    model = fitted(ChurnModel, SMALL, data)
    p = model.predict(x)["churn_probability"]
    assert abs(p.mean() - y["churn"].mean()) < 0.05
    assert ((p >= 0.001) & (p <= 0.999)).all()
    recent, lapsed = x.assign(days_since_last_order=5.0), x.assign(days_since_last_order=350.0)
    assert model.predict(recent)["churn_probability"].mean() < model.predict(lapsed)["churn_probability"].mean() - 0.2


def test_value_model_ranks_spenders(data: tuple) -> None:
    x, y = data
    out = fitted(ValueModel, SMALL, data).predict(x)
    assert np.corrcoef(out["expected_value"], y["value"])[0, 1] > 0.3
    assert (out["next_order_days"] > 0).all()
    assert next_order_days(np.array([1.0, 0.0]), 90)[0] == pytest.approx(90 * np.log(2))


@pytest.mark.parametrize("cls", [BgNbdBaseline, RecencyBaseline])
def test_baselines_next_order_is_the_customers_usual_gap_never_past(cls: type[CustomerModel], data: tuple) -> None:
    x, _ = data
    days = fitted(cls, {}, data).predict(x)["next_order_days"].to_numpy()
    since = x["days_since_last_order"].to_numpy() if cls is RecencyBaseline else (x["btyd_T"] - x["btyd_recency"]) * 7
    gap = x["mean_gap_days"].fillna(x["mean_gap_days"].median()).to_numpy()
    assert (days >= 0).all()
    assert days == pytest.approx(np.clip(gap - since, 0, None))
    blind = fitted(cls, {}, (x.drop(columns="mean_gap_days"), data[1])).predict(x.drop(columns="mean_gap_days"))
    assert (blind["next_order_days"] > 0).all()  # without cadence: the Poisson wait at the expected rate


def test_reasons_name_the_drivers_in_words(data: tuple) -> None:
    x, _ = data
    model = fitted(ChurnModel, SMALL, data)
    lapsed = x.assign(days_since_last_order=380.0).head(20)
    up = model.reasons(lapsed, k=2, direction="up")["reasons"]
    assert up.str.contains("380 days").mean() > 0.8
    assert model.reasons(lapsed, k=2, lang="ru")["reasons"].str.contains("380 дней").mean() > 0.8
    with pytest.raises(ValueError, match="direction"):
        model.reasons(lapsed, direction="down")


def test_top_reasons_only_what_raises_the_risk_never_a_profile_attribute() -> None:
    columns = ["age_years", "days_since_last_order", "mean_gap_days", "orders_trend_90d", "email_opt_in"]
    raw = pd.DataFrame({"age_years": [21.0, 40.0], "days_since_last_order": [51.0, 10.0], "mean_gap_days": [25.0, 30.0],
                        "orders": [6.0, 4.0], "orders_90d": [0.0, 3.0], "orders_trend_90d": [-2.0, 1.0],
                        "email_opt_in": [0.0, 1.0]})
    contrib = np.array([[0.9, 0.5, 0.1, 0.3, 0.7, 0.0],   # age and opt-in raise it most: never reasons
                        [0.9, -0.5, -0.1, 0.3, 0.7, 0.0]])  # recency lowers it: not a reason; the trend rose: none
    found = top_reasons(contrib, raw, columns, k=3)
    assert [r.text() for r in found[0]] == ["no order for 51 days, twice their usual 25-day gap",
                                            "0 orders in the last 90 days after 2 in the 90 before"]
    assert [r.feature for r in found[0]] == ["days_since_last_order", "orders_trend_90d"]  # one reason for recency+gap
    assert found[1] == []
    assert found[0][0].text("ru") == "нет заказов 51 день — в 2 раза дольше обычного интервала (25 дней)"
    assert all(REFUSED.fullmatch(c) for c in ("age_years", "city", "gender", "acquisition_source", "email_opt_in"))


def test_feature_spec_codes_and_unknown_levels(data: tuple) -> None:
    from features.families.build import FEATURES

    x, _ = data
    spec = FeatureSpec.from_frame(x, FEATURES)
    assert "btyd_T" not in spec.columns and "preferred_weekday" in spec.levels  # baseline inputs are not features
    matrix = spec.matrix(x.assign(preferred_weekday="Caturday").head(3))
    assert np.isnan(matrix[:, spec.columns.index("preferred_weekday")]).all()
    with pytest.raises(ValueError, match="avg_order_value"):
        spec.matrix(x.drop(columns="avg_order_value"))


def test_calibrator_kinds() -> None:
    rng = np.random.default_rng(0)
    raw = rng.random(5000)
    target = (rng.random(5000) < raw**2).astype(float)
    iso = Calibrator.fit(raw, target)
    assert iso.kind == "isotonic" and abs(iso.apply(np.array([0.5]))[0] - 0.25) < 0.07
    platt = Calibrator.fit(raw[:300], target[:300])
    assert platt.kind == "platt"
    assert Calibrator.from_dict(platt.to_dict()).apply(raw[:5]).tolist() == platt.apply(raw[:5]).tolist()
    assert Calibrator.fit(raw[:10], np.ones(10)).kind == "identity"


def test_isotonic_steps_keep_the_raw_order() -> None:
    rng = np.random.default_rng(1)
    raw = rng.random(5000)
    iso = Calibrator.fit(raw, (rng.random(5000) < raw).astype(float))
    grid = np.linspace(0, 1, 2001)
    p = iso.apply(grid)
    assert (np.diff(p) > 0).all()  # strictly increasing: a cut inside a step follows the model's order
    assert np.abs(p - np.clip(np.interp(grid, iso.x, iso.y), 0.001, 0.999)).max() <= 2e-6  # calibration unchanged


def test_golden_stacked_on_bgnbd_value_ranks_the_top_and_both_modes_save_and_load(data: tuple, tmp_path: Path) -> None:
    from training.metrics import revenue_capture

    x, y = data
    revenue = y["value"].to_numpy()
    # a BG/NBD x GG value column that knows the horizon's revenue: the stacked list must follow it at the top
    informed = x.assign(bg_value=revenue + 1.0)
    top_decile = {}
    for ranking in ("stacked", "classifier"):
        model = GoldenModel(**SMALL, ranking=ranking).fit(informed, y, horizon_days=90)
        p = model.predict(informed)["golden_probability"].to_numpy()
        assert ((p > 0) & (p < 1)).all() and (model.revenue_ is None) == (ranking == "classifier")
        loaded = load_model_folder(model.save(tmp_path / ranking))
        assert np.array_equal(loaded.predict(informed)["golden_probability"].to_numpy(), p)
        assert loaded.reasons(informed.head(5))["reasons"].str.len().gt(0).all()
        top_decile[ranking] = revenue_capture(revenue, p, 0.1)
    ideal = revenue_capture(revenue, revenue, 0.1)
    assert top_decile["stacked"] > 0.9 * ideal and top_decile["stacked"] > top_decile["classifier"] + 0.03


def test_value_starts_from_bgnbd_value_and_fills_where_it_is_missing(data: tuple) -> None:
    from models.customer.baselines import log_bgnbd_value

    x, y = data
    assert log_bgnbd_value(x, 20.0) == pytest.approx(np.full(len(x), np.log(20.0)))  # no column: the fill
    partial = x.assign(bg_value=np.where(np.arange(len(x)) % 2 == 0, np.nan, 0.0))
    assert log_bgnbd_value(partial, 20.0)[:2] == pytest.approx([np.log(20.0), np.log(0.01)])
    informed = x.assign(bg_value=y["value"].to_numpy() + 1.0)
    started = ValueModel(**SMALL).fit(informed, y, horizon_days=90).predict(informed)["expected_value"]
    plain = ValueModel(**SMALL, start_from_bgnbd=False).fit(informed, y, horizon_days=90).predict(informed)
    assert np.corrcoef(started, y["value"])[0, 1] > np.corrcoef(plain["expected_value"], y["value"])[0, 1]


def test_pyfunc_loader_refuses_foreign_classes(tmp_path: Path) -> None:
    (tmp_path / "model.json").write_text(json.dumps({"class": "os.system", "config": {}, "state": {}}))
    with pytest.raises(ValueError, match="only classes of the models package"):
        load_model_folder(tmp_path)
    with pytest.raises(FileNotFoundError):
        folder_in(tmp_path / "nothing")


def test_reasons_never_show_a_negative_count() -> None:
    columns = ["orders_trend_90d", "revenue_trend_90d"]
    raw = pd.DataFrame({"orders_90d": [1.0], "orders_trend_90d": [-4.0], "revenue_90d": [120.0],
                        "revenue_trend_90d": [-180.0]})
    found = top_reasons(np.array([[0.4, 0.3, 0.0]]), raw, columns, k=3)
    text = "; ".join(r.text() for r in found[0])
    assert text == "1 order in the last 90 days after 5 in the 90 before"  # one reason for the activity drop
    assert "-" not in text


@pytest.mark.parametrize("cls", [GoldenModel, ValueModel])
def test_golden_and_value_reasons_say_why_the_customer_is_worth_much(cls: type[CustomerModel], data: tuple) -> None:
    x, _ = data
    model = fitted(cls, SMALL, data)
    assert model.reason_kind == "value"
    rows = x.head(200)
    found = model.explain(rows, 3)
    booster = model.booster_ if cls is GoldenModel else model.revenue_  # type: ignore[attr-defined]
    contributions = booster.predict(model.spec_.matrix(rows), pred_contrib=True)  # type: ignore[attr-defined]
    columns = model.spec_.columns  # type: ignore[attr-defined]
    assert sum(bool(r) for r in found) > 50
    for i, reasons in enumerate(found):
        for reason in reasons:
            assert contributions[i, columns.index(reason.feature)] > 0 and not REFUSED.fullmatch(reason.feature)
            assert reason.key in ("reason.regular", "reason.big_check", "reason.orders_recent", "reason.spend_recent",
                                  "reason.spend_growth"), reason
