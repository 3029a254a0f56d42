"""Everything the service answers from, loaded at start: an immutable ``Bundle`` swapped whole on reload.

A request takes ``holder.bundle`` once and works on that object to the end, so a reload (one reference
assignment) never changes the answer of a request in flight. What is worked out once per bundle (ready picks,
the segments, bounded LRUs) sits in ``memo`` (``serving.picks``). After each swap the collector is unfrozen,
the old bundle collected, and what is left frozen again, so a reload frees the old bundle. A part that cannot
load (no champion, no recommender, a shop without ``item_id``) is recorded in ``missing`` with a sentence saying
what to train (for the log); the endpoints that need it answer 409 and the rest keep working.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from features.analytics.segments import Segmentation, segment_counts, segment_customers
from features.data.reader import Shop, read_shop
from models.inference import registry
from models.inference.score import Champions, ScoreResult, load_champions, score
from serving.catalog import ItemCatalog, load_catalog
from serving.config import RunSections, Settings, run_sections
from serving.customers import customer_records
from serving.reminders import ShopReminders, load_reminders

logger = logging.getLogger(__name__)

SCORES, RECOMMENDER = "scores", "recommender"


@dataclass(frozen=True)
class Bundle:
    """The shop's state and the champions, as of ``loaded_at``; never mutated after loading."""

    loaded_at: datetime
    cutoff: datetime
    sections: RunSections
    versions: dict[str, str]
    missing: dict[str, str]
    segmentation: Segmentation
    scores: ScoreResult | None = None
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    recommender: Any = None
    item_category: dict[str, str] = field(default_factory=dict)
    active_customers: frozenset[str] = frozenset()
    catalog: ItemCatalog = field(default_factory=ItemCatalog)  # prices, stock, best sellers (serving.catalog)
    reminders: ShopReminders = field(default_factory=ShopReminders)  # the shop's side of /reminders
    # answers worked out by the loader thread, and bounded LRUs of pure answers (serving.picks; the mutable part)
    memo: Any = None

    def segments_answer(self) -> dict[str, Any]:
        """The ``GET /segments`` answer: size, revenue share and average check of every segment."""
        customers = self.segmentation.customers
        counts = segment_counts(customers)
        orders = customers.groupby("segment")["frequency"].sum().reindex(counts.index, fill_value=0)
        money = customers.groupby("segment")["monetary"].sum().reindex(counts.index, fill_value=0.0)
        total = float(counts["window_revenue"].sum())
        rows = [{"segment": str(name), "customers": int(row["customers"]), "share": round(float(row["share"]), 4),
                 "revenue": round(float(row["window_revenue"]), 2),
                 "revenue_share": round(float(row["window_revenue"]) / total, 4) if total > 0 else 0.0,
                 "average_check": round(float(money[name]) / int(orders[name]), 2) if orders[name] > 0 else None}
                for name, row in counts.iterrows()]
        return {"segments": rows, "cutoff": self.cutoff.date().isoformat(),
                "golden_revenue_share": round(self.segmentation.golden_revenue_share, 4)}


ModelLoader = Callable[[str, str], tuple[Any, str]]  # (registered name, alias) -> (model, version)


def release_loader(resolved: registry.Resolved) -> ModelLoader:
    """A loader of the versions one read of the release record named (never two releases in one bundle)."""

    def load(name: str, alias: str) -> tuple[Any, str]:
        found = resolved.versions.get(name)
        if found is None:
            raise LookupError(f"no registered model {name!r} with alias {alias!r} at {registry.shown_uri()}")
        return registry.load_registered(f"models:/{name}/{found['version']}"), found["version"]

    return load


def load_bundle(settings: Settings, loader: ModelLoader | None = None) -> Bundle:
    """Read the shop, segment it, load the champions and score every customer as of now.

    Raises
    ------
    FileNotFoundError, ShopDataError, ValueError
        When the shop or the run configuration cannot be read (nothing can be served then).
    """
    started = time.perf_counter()
    sections = run_sections(settings.config)
    shop = read_shop(settings.data)
    segmentation = segment_customers(shop, cfg=sections.segments)
    missing: dict[str, str] = {}
    versions: dict[str, str] = {}
    r = sections.registry
    # every champion from one read of the release record; a registry that does not answer raises (the old bundle
    # keeps serving), only "no such model" leaves a part missing
    resolved = None if loader is not None else registry.resolve(
        (r.churn_name, r.golden_name, r.value_name, r.recommender_name), r.champion_alias)
    for note in resolved.notes if resolved else []:
        logger.warning("%s", note)
    result, records = _scores(shop, sections, segmentation, loader, missing, versions, resolved)
    recommender = _recommender(shop, sections, loader if resolved is None else release_loader(resolved), missing,
                               versions)
    store = sections.storefront
    catalog = load_catalog(shop, segmentation.cutoff, store.reminder_popular_days)
    bundle = Bundle(datetime.now(), segmentation.cutoff, sections, versions, missing, segmentation, result, records,
                    recommender, _item_categories(shop), _active_customers(shop, segmentation), catalog,
                    load_reminders(shop, segmentation.cutoff, store.reminder_days, catalog))
    logger.info("loaded the bundle in %.1f s: %d customers scored, versions %s, missing %s",
                time.perf_counter() - started, len(records), versions, sorted(missing) or "none")
    return bundle


def _scores(shop: Shop, sections: RunSections, segmentation: Segmentation, loader: ModelLoader | None,
            missing: dict[str, str], versions: dict[str, str],
            resolved: registry.Resolved | None = None) -> tuple[ScoreResult | None, dict[str, dict]]:
    r = sections.registry
    try:
        if loader is None:
            champions = load_champions(r, resolved=resolved)
        else:
            loaded = {task: loader(name, r.champion_alias) for task, name in
                      (("churn", r.churn_name), ("golden", r.golden_name), ("value", r.value_name))}
            champions = Champions({t: m for t, (m, _) in loaded.items()}, {t: v for t, (_, v) in loaded.items()})
    except (ValueError, LookupError, OSError) as exc:
        logger.warning("customer scores unavailable: %s", exc)
        missing[SCORES] = (f"customer scores need the churn, golden and value champions: {exc}. Run `retention train "
                           "--data DIR` on this shop, then POST /admin/reload")
        return None, {}
    result = score(shop, champions, segmentation.cutoff, scoring=sections.scoring, segments_cfg=sections.segments,
                   reasons_k=sections.reasons_k)
    versions.update(champions.versions)
    records = customer_records(result.scores, segmentation.customers, result.inputs, sections.scoring,
                               champions.horizon_days)
    return result, records


def _recommender(shop: Shop, sections: RunSections, loader: ModelLoader | None, missing: dict[str, str],
                 versions: dict[str, str]) -> Any:
    if not shop.has("transactions", "item_id"):
        missing[RECOMMENDER] = ("recommendations need item_id in the transactions table; add it and run `retention "
                                "train --data DIR`")
        return None
    r = sections.registry
    try:
        assert loader is not None  # given, or made from the release record
        model, version = loader(r.recommender_name, r.champion_alias)
    except registry.RegistryUnavailableError:
        raise  # not "no recommender": the reload fails and the old bundle keeps serving
    except Exception as exc:  # MLflow raises its own types for a missing model, alias or artifact
        logger.warning("recommender unavailable: %s", exc)
        missing[RECOMMENDER] = (f"no champion recommender ({type(exc).__name__}: {exc}); run `retention train --data "
                                "DIR` on this shop (with item_id), then POST /admin/reload")
        return None
    versions[RECOMMENDER] = version
    return model


def _active_customers(shop: Shop, segmentation: Segmentation) -> frozenset[str]:
    """Customers with an order or a site event: the only ones a recommender can know (the rest get one answer)."""
    ids = set(segmentation.customers["customer_id"].astype(str))
    events = shop.table("events")
    if events is not None:
        ids |= set(events.select("customer_id").distinct().execute()["customer_id"].astype(str))
    return frozenset(ids)


def _item_categories(shop: Shop) -> dict[str, str]:
    if not shop.has("items", "category"):
        return {}
    items = shop.to_pandas("items")[["item_id", "category"]].dropna()
    return dict(zip(items["item_id"].astype(str), items["category"].astype(str), strict=True))


@dataclass
class ReloadStatus:
    status: str = "idle"  # idle | loading | reloaded | failed
    detail: str = "no reload asked for since start"


class Holder:
    """The current bundle, swapped whole; loads run in a thread so requests keep being answered.

    ``generation`` counts reloads: with several workers each follows the shared count (``serving.shared``).
    """

    def __init__(self, load: Callable[[], Bundle]) -> None:
        self._load = load
        self.bundle: Bundle | None = None
        self.error: str | None = None
        self.generation = 0
        self.reload_status = ReloadStatus()
        self._lock = threading.Lock()

    @property
    def loading(self) -> bool:
        return self._lock.locked()

    def load_first(self) -> None:
        """Load the first bundle (at start, in a background thread); a failure is kept for /readyz to say."""
        try:
            self._swap(self._load())
        except Exception as exc:  # any failure: the service stays live and says why it is not ready
            logger.exception("the service could not load its bundle")
            self.error = f"{type(exc).__name__}: {exc}"

    def start_reload(self, generation: int) -> bool:
        """Start loading a new bundle in a thread; False when a reload is already running."""
        if not self._lock.acquire(blocking=False):
            return False
        self.reload_status = ReloadStatus("loading", f"loading a new bundle since {datetime.now():%H:%M:%S}")
        threading.Thread(target=self._reload, args=(generation,), name="bundle-reload", daemon=True).start()
        return True

    def follow(self, generation: int) -> None:
        """Reload when the shared count is ahead of this worker (another worker was asked to reload)."""
        if generation > self.generation and not self.loading and self.bundle is not None:
            self.start_reload(generation)

    def _reload(self, generation: int) -> None:
        try:
            fresh = self._load()
        except Exception as exc:  # the old bundle keeps serving; the status says so, the log says why
            logger.exception("reload failed; the old bundle keeps serving")
            # a registry that did not answer is said in a sentence made to be shown (no URI, no credentials)
            why = f": {exc}" if isinstance(exc, registry.RegistryUnavailableError) else "; the service log says why"
            self.reload_status = ReloadStatus("failed", f"the new bundle did not load, the old one keeps serving{why}")
        else:
            self._swap(fresh)
            self.error = None
            self.reload_status = ReloadStatus("reloaded", f"reloaded at {fresh.loaded_at:%Y-%m-%d %H:%M:%S}")
        finally:
            self.generation = max(self.generation, generation)  # a failed reload is not retried in a loop
            self._lock.release()

    def _swap(self, fresh: Bundle) -> None:
        """Serve ``fresh``; then let the collector free the old bundle and freeze what stays (fewer, shorter
        collections under load). Freezing before the swap would pin the old bundle for good."""
        self.bundle = fresh
        refreeze()


def refreeze() -> None:
    """Free what is no longer held and freeze what stays, so collections under load skip the loaded models."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def packed_loader(folders: dict[str, tuple[Path, str]]) -> ModelLoader:
    """A loader of models packed in a Bento: registered name -> (model folder, version)."""
    from models.inference.pyfunc import load_model_folder

    def load(name: str, alias: str) -> tuple[Any, str]:
        if name not in folders:
            raise LookupError(f"the Bento carries no model {name!r} (packed: {', '.join(sorted(folders)) or 'none'})")
        path, version = folders[name]
        return load_model_folder(path), version

    return load
