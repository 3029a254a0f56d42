"""Campaign audiences from the champions: scores, segments and personal items turned into lists to send.

The rules are pure functions in ``features.campaigns``; this module adds what needs the models: each customer's
churn probability, golden probability and expected value from the champion customer models
(``models.inference.score``) and personal items from the champion recommender (``recommend_batch``). The batch
command and the service both call these functions, so every list is the same wherever it is asked for.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import ibis
import pandas as pd

from features import columns as C
from features.analytics.segment_rules import SegmentsConfig
from features.analytics.segments import default_cutoff
from features.campaigns.audiences import Audiences, assemble, audience_ids, select_audiences
from features.campaigns.config import CampaignsConfig
from features.campaigns.control import control_flags, manifest
from features.campaigns.inputs import campaign_inputs, orders_in
from features.campaigns.items import check_target, item_audience
from features.campaigns.results import campaign_results, check_measurable, days_of_data, window_end
from features.data.reader import Shop
from features.orders import rows_before
from features.words.catalogue import say
from models.customer.base import CHURN_PROBABILITY, EXPECTED_VALUE, GOLDEN_PROBABILITY
from models.inference import registry
from models.inference.config import RegistryConfig, ScoringConfig
from models.inference.score import Champions, score
from models.recommender.base import Recommender
from models.recommender.reasons import PHRASES
from models.recommender.serve import recommend_batch

logger = logging.getLogger(__name__)

ITEM_CONTACT_COLUMNS = (C.EMAIL_OPT_IN, "best_weekday", "best_hour")


def load_recommender(r: RegistryConfig) -> Recommender | None:
    """Return the champion recommender, or None when there is none (the shop has no item_id, or never trained)."""
    if registry.alias_version(r.recommender_name, r.champion_alias) is None:
        return None
    model = registry.load_registered(registry.alias_uri(r.recommender_name, r.champion_alias))
    if not isinstance(model, Recommender):
        raise ValueError(f"models:/{r.recommender_name}@{r.champion_alias} is a {type(model).__name__}, "
                         "not a recommender")
    return model


def personal_items(blend: Recommender | None, customer_ids: list[str], k: int) -> pd.Series:
    """Return customer_id -> "item;item;..." (the top ``k`` picks), empty without a recommender or for k = 0."""
    if blend is None or k == 0 or not customer_ids:
        return pd.Series("", index=pd.Index(customer_ids, name=C.CUSTOMER_ID), dtype=object)
    recs = recommend_batch(blend, customer_ids, k=k)
    return recs.groupby(C.CUSTOMER_ID, sort=False)[C.ITEM_ID].agg(";".join)


@dataclass
class CampaignSettings:
    """The parts of the run configuration the audiences read."""

    campaigns: CampaignsConfig = field(default_factory=CampaignsConfig)
    segments: SegmentsConfig = field(default_factory=SegmentsConfig)
    scoring: ScoringConfig = field(default_factory=ScoringConfig)
    lang: str = "en"  # the language of the rules and the default offers


def build_campaigns(shop: Shop, champions: Champions, recommender: Recommender | None, cutoff: datetime | None = None,
                    settings: CampaignSettings | None = None) -> Audiences:
    """Return every campaign audience as of ``cutoff`` (default: the day after the last order)."""
    settings = settings or CampaignSettings()
    cfg = settings.campaigns
    cutoff = cutoff or default_cutoff(shop.transactions)
    scored = score(shop, champions, cutoff, scoring=settings.scoring, segments_cfg=settings.segments).scores
    inputs = campaign_inputs(shop, cutoff, cfg, settings.segments)
    scores = scored.set_index(C.CUSTOMER_ID)[[CHURN_PROBABILITY, GOLDEN_PROBABILITY, EXPECTED_VALUE]]
    customers = inputs.customers.join(scores, on=C.CUSTOMER_ID)
    customers[list(scores.columns)] = customers[list(scores.columns)].fillna(0.0)
    selections, window = select_audiences(customers, inputs, cfg, settings.lang)
    items = personal_items(recommender, audience_ids(selections), cfg.items_per_customer)
    audiences = assemble(selections, customers, items, inputs, window, cfg, settings.lang)
    if recommender is None:
        audiences.notes.append("no champion recommender: the items column holds only abandoned-cart items")
    logger.info("campaign audiences at %s: %s", cutoff, dict(audiences.summary[["campaign", "customers"]].values))
    return audiences


def campaign_summary(audiences: Audiences) -> pd.DataFrame:
    """Return the summary table (one row per campaign and the suppression list), as the report shows it."""
    return audiences.summary.copy()


@dataclass
class ItemAudience:
    """An item (or category) audience with its control split and manifest."""

    name: str
    rows: pd.DataFrame
    manifest: pd.DataFrame


def build_item_audience(shop: Shop, recommender: Recommender, *, item: str | None = None, category: str | None = None,
                        k: int = 1000, cutoff: datetime | None = None, cfg: CampaignsConfig | None = None,
                        segments_cfg: SegmentsConfig | None = None) -> ItemAudience:
    """Return the ``k`` customers most likely to buy the item (or category) next, with contact columns and control.

    Candidates are every customer with a purchase before the cutoff; the recommender ranks ``audience_depth``
    items for each (bought items stay out unless a re-buy is due).
    """
    cfg = cfg or CampaignsConfig()
    cutoff = cutoff or default_cutoff(shop.transactions)
    items = shop.to_pandas("items") if shop.has("items") else None
    categories = check_target(items, list(recommender.items_.external), item, category)
    inputs = campaign_inputs(shop, cutoff, cfg, segments_cfg)
    ids = inputs.customers[C.CUSTOMER_ID].tolist()
    recs = recommend_batch(recommender, ids, k=min(cfg.audience_depth, len(recommender.items_.external)))
    lines = rows_before(shop.transactions, cutoff)
    lines = lines.filter(lines[C.QUANTITY] > 0,
                         lines[C.TIMESTAMP] >= ibis.timestamp(cutoff - timedelta(days=cfg.audience_recent_days)))
    recent = lines.select(C.CUSTOMER_ID, C.ITEM_ID).execute().astype(str)
    rows = item_audience(recs, recent, k, item=item, category=category, item_categories=categories,
                         rebuy_reason=PHRASES["buy_again"])
    contact = inputs.customers.set_index(C.CUSTOMER_ID)[list(ITEM_CONTACT_COLUMNS)]
    rows = rows.join(contact, on=C.CUSTOMER_ID)
    rows[C.EMAIL_OPT_IN] = rows[C.EMAIL_OPT_IN].map({True: "yes", False: "no"}).astype(object)
    name = f"item:{item}" if item is not None else f"category:{category}"
    rows.insert(1, "control", control_flags(name, rows[C.CUSTOMER_ID], cfg.control_share, cfg.seed))
    book = manifest(rows.assign(campaign=name), cutoff, cfg.control_share, cfg.seed)
    return ItemAudience(name, rows, book)


@dataclass
class Results:
    """Treated against control per campaign, and notes (a window the data does not cover yet)."""

    table: pd.DataFrame
    notes: list[str]


def measure_campaigns(shop: Shop, book: pd.DataFrame, days: int, min_days: int = 7, lang: str = "en") -> Results:
    """Return the results of every campaign in the manifest ``book`` over ``days`` after its cutoff.

    Raises
    ------
    TooEarlyError
        (a ValueError) when a cutoff has fewer than ``min_days`` days of orders after it; the message says how many.
    """
    last = shop.transactions[C.TIMESTAMP].max().execute()
    check_measurable(book, last, min_days, lang)
    start = pd.Timestamp(book["cutoff"].min()).to_pydatetime()
    end = window_end(book, days)
    orders = orders_in(shop, start, end)
    notes = []
    if last is not None and pd.Timestamp(last) < pd.Timestamp(end) - timedelta(days=1):
        have = days_of_data(book["cutoff"].max(), last)
        notes.append(say("results.window_open", lang, have=have, days=days, last=pd.Timestamp(last), end=end))
    return Results(campaign_results(book, orders, days, lang), notes)
