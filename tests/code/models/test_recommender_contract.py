"""The shape every recommender shares: fit returns self, save/load keeps the answers, no pickles, refusals."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pandas as pd
import pytest

from models.base import NotFittedError
from models.recommender import (
    ALSRecommender,
    Blend,
    BlendConfig,
    IdMap,
    PopularRecommender,
    Recommender,
    build_interactions,
    recommend_batch,
    recommend_one,
    top_k,
)
from models.recommender.base import ANSWER_COLUMNS, RECOMMEND_COLUMNS, SIMILAR_COLUMNS

AS_OF = pd.Timestamp("2024-03-01")


def random_shop(seed: int = 0, customers: int = 120, items: int = 40) -> dict[str, pd.DataFrame]:
    """A seeded random shop: each customer prefers one of four item groups, some repeat purchases."""
    rng = np.random.default_rng(seed)
    rows = []
    for c in range(customers):
        group = c % 4
        for o in range(rng.integers(1, 6)):
            picks = rng.choice(np.arange(group * 10, group * 10 + 10), size=rng.integers(1, 4), replace=False)
            when = AS_OF - pd.Timedelta(days=float(rng.uniform(1, 200)))
            rows += [(f"C{c:03d}", f"O{c:03d}-{o}", when, f"I{i:02d}", 1) for i in picks]
    tx = pd.DataFrame(rows, columns=["customer_id", "order_id", "timestamp", "item_id", "quantity"])
    items_frame = pd.DataFrame({"item_id": [f"I{i:02d}" for i in range(items)],
                                "category": [f"cat{i // 10}" for i in range(items)],
                                "price": rng.uniform(5, 100, items).round(2), "in_stock": rng.random(items) > 0.1})
    views = tx.sample(frac=0.5, random_state=seed).assign(event_type="view", session_id=lambda d: d.order_id)
    return {"transactions": tx, "events": views.drop(columns=["order_id", "quantity"]), "items": items_frame}


@pytest.fixture(scope="module")
def data():
    shop = random_shop()
    return build_interactions(shop["transactions"], shop["events"], shop["items"], as_of=AS_OF)


SMALL = {"ALSRecommender": {"factors": 8, "iterations": 5}, "EASERecommender": {"regularization": 10.0},
         "Blend": {"als": {"factors": 8, "iterations": 5}},
         "Reranker": {"blend": {"als": {"factors": 8, "iterations": 5}}, "rounds": 10, "min_data_in_leaf": 5}}


def concrete_recommenders() -> list[type[Recommender]]:
    """Every Recommender subclass with its own Config, found by walking the class tree (new ones join here)."""
    found, todo = [], list(Recommender.__subclasses__())
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.Config is not Recommender.Config:
            found.append(cls)
    return sorted(set(found), key=lambda c: c.__name__)


CLASSES = concrete_recommenders()


def make(cls: type[Recommender]) -> Recommender:
    return cls(cls.Config.model_validate(SMALL.get(cls.__name__, {})))


def test_discovery_finds_every_source_and_the_blend():
    names = {c.__name__ for c in CLASSES}
    assert names >= {"ALSRecommender", "Blend", "BuyAgainRecommender", "CoPurchaseRecommender", "EASERecommender",
                     "PopularRecommender", "Reranker", "UpsellRecommender"}
    assert "ItemItemRecommender" not in names  # the shared base is not a model of its own


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_every_recommender_keeps_the_contract(cls, data, tmp_path):
    model = make(cls)
    assert model.fit(data) is model
    flags = (cls.personal, cls.cold_start, cls.has_similar_items, cls.recommends_bought, cls.takes_cart)
    assert all(isinstance(flag, bool) for flag in flags)
    customers = [*data.customers.external[:30].tolist(), "UNKNOWN"]
    before = model.recommend(customers, k=5)
    assert list(before.columns) == RECOMMEND_COLUMNS
    assert before.groupby("customer_id")["rank"].apply(lambda r: r.tolist() == list(range(1, len(r) + 1))).all()
    assert ("UNKNOWN" in set(before.customer_id)) == cls.cold_start  # the flag says who answers strangers
    out_of_stock = set(data.items.external[~data.item_in_stock])
    assert out_of_stock and not out_of_stock & set(before.item_id)
    if not cls.recommends_bought:
        bought = data.bought.tocoo()
        owned = set(zip(data.customers.to_external(bought.row), data.items.to_external(bought.col), strict=True))
        assert not any(pair in owned for pair in zip(before.customer_id, before.item_id, strict=True))
    answers = recommend_batch(model, customers, k=5)
    assert list(answers.columns) == ANSWER_COLUMNS and (answers.reason.str.len() > 0).all()
    known = answers[answers.customer_id != "UNKNOWN"].reset_index(drop=True)
    pd.testing.assert_frame_equal(known[RECOMMEND_COLUMNS], before[before.customer_id != "UNKNOWN"].reset_index(
        drop=True))  # the reasons ride on the same picks
    stranger = answers[answers.customer_id == "UNKNOWN"]  # served answers never leave a stranger empty-handed
    assert stranger["rank"].tolist() == [1, 2, 3, 4, 5] and not out_of_stock & set(stranger.item_id)
    if not cls.cold_start:
        assert (stranger.reason == "popular right now").all()
        assert recommend_one(model, "UNKNOWN", k=3).to_frame().item_id.tolist() == stranger.item_id.tolist()[:3]
    one = recommend_one(model, customers[0], k=5).to_frame()
    assert one.item_id.tolist() == before[before.customer_id == customers[0]].item_id.tolist()
    similar = model.similar_items(data.items.external, k=3)
    assert list(similar.columns) == SIMILAR_COLUMNS and (len(similar) > 0) == cls.has_similar_items
    assert not out_of_stock & set(similar.similar_item_id) and (similar.item_id != similar.similar_item_id).all()
    model.save(tmp_path / "m")
    loaded = type(model).load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.recommend(customers, k=5), before)
    pd.testing.assert_frame_equal(recommend_batch(loaded, customers, k=5), answers)
    pd.testing.assert_frame_equal(loaded.similar_items(data.items.external, k=3), similar)
    for archive_path in tmp_path.glob("m/**/state.npz"):  # plain arrays: loadable without pickle
        with zipfile.ZipFile(archive_path) as archive:
            assert all(name.endswith(".npy") for name in archive.namelist())
        np.load(archive_path, allow_pickle=False).close()


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_unfitted_model_refuses_and_refit_replaces_state(cls, data):
    model = make(cls)
    with pytest.raises(NotFittedError):
        model.recommend(["C000"])
    small = build_interactions(random_shop(seed=1, customers=30)["transactions"], as_of=AS_OF)
    model.fit(small)
    assert len(model.customers_) == small.n_customers
    model.fit(data)
    assert len(model.customers_) == data.n_customers and model.bought_.shape == (data.n_customers, data.n_items)


@pytest.mark.parametrize("ease", [0.0, 0.5], ids=["without EASE", "with EASE"])
def test_blend_round_trip_single_and_batch_agree(data, tmp_path, ease):
    blend = Blend(BlendConfig.model_validate({"als": {"factors": 8, "iterations": 5}, "weights": {"ease": ease}})
                  ).fit(data)
    assert ("ease" in blend.components_) is (ease > 0)  # EASE (items^2 weights) is fitted only when it counts
    customers = data.customers.external[:40].tolist() + ["UNKNOWN"]
    batch = recommend_batch(blend, customers, k=6)
    assert list(batch.columns) == ["customer_id", "rank", "item_id", "score", "reason"]
    blend.save(tmp_path / "blend")
    manifest = json.loads((tmp_path / "blend" / "model.json").read_text())
    assert manifest["class"] == "models.recommender.blend.Blend" and manifest["config"]["als"]["factors"] == 8
    loaded = Blend.load(tmp_path / "blend")
    assert sorted(loaded.components_) == sorted(blend.components_)
    pd.testing.assert_frame_equal(recommend_batch(loaded, customers, k=6), batch)
    singles = pd.concat([recommend_one(loaded, c, k=6).to_frame() for c in customers], ignore_index=True)
    pd.testing.assert_frame_equal(singles[["customer_id", "rank", "item_id", "reason"]],
                                  batch[["customer_id", "rank", "item_id", "reason"]])
    np.testing.assert_allclose(singles.score, batch.score, rtol=1e-5)
    with pytest.raises(ValueError, match="holds a"):
        ALSRecommender.load(tmp_path / "blend")


def test_loaded_model_refuses_an_edited_config(data, tmp_path):
    PopularRecommender().fit(data).save(tmp_path / "pop")
    manifest = json.loads((tmp_path / "pop" / "model.json").read_text())
    manifest["config"]["half_life_days"] = 1.0
    (tmp_path / "pop" / "model.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="hash"):
        PopularRecommender.load(tmp_path / "pop")


@pytest.mark.parametrize("n", [7, 100, 5_000])
def test_top_k_matches_a_full_sort(n):
    rng = np.random.default_rng(n)
    scores = rng.standard_normal((6, n)).astype(np.float32)
    scores[0, :] = -np.inf  # nothing to recommend
    scores[1, 3:] = -np.inf  # fewer than k candidates
    best, values = top_k(scores, 10)
    for row in range(6):
        finite = np.flatnonzero(np.isfinite(scores[row]))
        expected = finite[np.argsort(-scores[row, finite], kind="stable")][:10]
        got = best[row][best[row] >= 0]
        assert got.tolist() == expected.tolist()
        np.testing.assert_array_equal(values[row][: len(got)], scores[row, expected])


def test_idmap_round_trip_and_unknowns(tmp_path):
    ids = IdMap(["b", "a", "c"])
    assert ids.to_internal(["c", "zz", "b"]).tolist() == [2, -1, 0]
    assert ids.index_of("a") == 1 and ids.index_of("nope") == -1
    assert ids.to_external([1, 2]).tolist() == ["a", "c"]
    ids.save(tmp_path / "ids.npz")
    assert IdMap.load(tmp_path / "ids.npz") == ids
    with pytest.raises(ValueError, match="unique"):
        IdMap(["a", "a"])


def test_interactions_read_only_rows_before_the_cutoff():
    shop = random_shop()
    tx = shop["transactions"]
    base = build_interactions(tx, shop["events"], shop["items"], as_of=AS_OF)
    late = tx.assign(timestamp=AS_OF + pd.Timedelta(days=1), order_id="LATE", customer_id="NEWBIE")
    changed = build_interactions(pd.concat([tx, late]), shop["events"], shop["items"], as_of=AS_OF)
    assert changed.customers == base.customers
    assert (changed.purchases != base.purchases).nnz == 0


def test_returns_take_purchases_away():
    when = AS_OF - pd.Timedelta(days=3)
    tx = pd.DataFrame({"customer_id": ["A", "A", "A"], "order_id": ["1", "1", "2"], "timestamp": [when] * 3,
                       "item_id": ["X", "Y", "X"], "quantity": [1, 1, -1]})
    data = build_interactions(tx, as_of=AS_OF)
    weights = data.weighted().toarray()
    x, y = data.items.to_internal(["X", "Y"])
    assert weights[0, x] == 0 and weights[0, y] == 1
    assert data.bought.toarray()[0, x] == 1  # returned items are not recommended again
    with pytest.raises(ValueError, match="missing column"):
        build_interactions(tx.drop(columns="item_id"))


def test_events_add_weaker_signal_and_decay_with_age():
    when = AS_OF - pd.Timedelta(days=10)
    tx = pd.DataFrame({"customer_id": ["A"], "order_id": ["1"], "timestamp": [when], "item_id": ["X"], "quantity": [1]})
    ev = pd.DataFrame({"customer_id": ["A", "A", "A", "B", "A"], "timestamp": [when, when, when, when, AS_OF],
                       "event_type": ["view", "view", "cart_add", "search", "view"],
                       "item_id": ["Y", "Y", "X", None, "Y"], "session_id": ["s", "s", "s", "t", "u"]})
    data = build_interactions(tx, ev, as_of=AS_OF)
    assert data.customers.external.tolist() == ["A"]  # B only searched: no item signal; the view at AS_OF is late
    x, y = data.items.to_internal(["X", "Y"])
    weights = data.weighted(events={"view": 0.1, "cart_add": 0.5}).toarray()
    assert weights[0, x] == pytest.approx(1.5) and weights[0, y] == pytest.approx(0.2)
    decayed = data.weighted(events={"view": 0.1}, half_life_days=10.0).toarray()
    assert decayed[0, x] == pytest.approx(0.5) and decayed[0, y] == pytest.approx(0.1)


def test_idmap_reads_categorical_columns_as_it_reads_strings() -> None:
    """Big shops hand the recommender categoricals; ids, their order and the codes must not change."""
    raw = pd.Series(["b", None, "a", "b", "c", "a", None], dtype=object)
    cat = raw.astype("category")
    other = pd.Series(["d", "a"], dtype=object)
    plain, from_cat = IdMap.from_values(raw, other), IdMap.from_values(cat, other.astype("category"))
    assert plain == from_cat and from_cat.external.tolist() == ["b", "a", "c", "d"]  # first appearance
    assert from_cat.codes(cat).tolist() == plain.codes(raw).tolist() == [0, -1, 1, 0, 2, 1, -1]
    assert IdMap(["a"]).codes(cat).tolist() == [-1, -1, 0, -1, -1, 0, -1]  # categories unknown to the map
