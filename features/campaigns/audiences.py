"""Campaign audiences put together: every rule's selection, the contact columns, the control split, the summary.

``select_audiences`` runs the rules (``features.campaigns.rules``) on the customer frame with scores;
``assemble`` turns the selections into the rows a marketer sends from (``ROW_COLUMNS``), holds back each
campaign's control group, and returns the manifest and the summary table. Personal items come in as a mapping
customer_id -> "item;item;..." from whoever ranks them (the recommender, in ``models.inference.campaigns``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from features import columns as C
from features.campaigns import rules
from features.campaigns.config import CAMPAIGNS, SUPPRESSION, CampaignsConfig
from features.campaigns.control import control_flags, manifest
from features.campaigns.inputs import CampaignInputs
from features.words.catalogue import say

ROW_COLUMNS = ("campaign", C.CUSTOMER_ID, "control", "rule", "offer", "value_at_stake", "expected_value",
               C.EMAIL_OPT_IN, "best_weekday", "best_hour", "messages_per_month", "items")
SUMMARY_COLUMNS = ("campaign", "customers", "treated", "control", "opted_in", "value_at_stake", "suggested_offer",
                   "note")
CONTROL_OFFER = "control group: do not contact"
SCORE_COLUMNS = ("churn_probability", "golden_probability", "expected_value")


@dataclass
class Audiences:
    """One frame of rows per campaign (and the suppression list), the manifest and the summary table."""

    cutoff: datetime
    rows: dict[str, pd.DataFrame]
    manifest: pd.DataFrame
    summary: pd.DataFrame
    second_order_days: tuple[float, float]
    notes: list[str] = field(default_factory=list)


def select_audiences(customers: pd.DataFrame, inputs: CampaignInputs, cfg: CampaignsConfig, lang: str = "en"
                     ) -> tuple[dict[str, pd.DataFrame], tuple[float, float, int]]:
    """Return each campaign's selection (``rules.SELECTION_COLUMNS``, rules worded in ``lang``) and the second-order
    window used.

    ``customers`` is ``inputs.customers`` with the scores (``SCORE_COLUMNS``) added.
    """
    missing = [c for c in SCORE_COLUMNS if c not in customers.columns]
    if missing:
        raise ValueError(f"the customer frame lacks the score column(s) {', '.join(missing)}")
    if cfg.winback_days >= inputs.dead_after_days:
        raise ValueError(f"campaigns.winback_days ({cfg.winback_days:g}) must be shorter than "
                         f"segments.reactivation_days ({inputs.dead_after_days:g}), the time from churned to dead")
    window = rules.second_order_window(inputs.purchases, cfg)
    selections = {
        "reactivation": rules.reactivation(customers, cfg, inputs.dead_after_days, lang),
        "win_back": rules.win_back(customers, cfg, inputs.dead_after_days, lang),
        "second_order": rules.second_order(customers, window, cfg, lang),
        "vip_care": rules.vip_care(customers, cfg, lang),
        "abandoned_carts": rules.abandoned_carts(customers, inputs.cart_adds, inputs.bought_lines, inputs.items,
                                                 inputs.cutoff, lang),
        "reminders": rules.reminders(customers, inputs.reminder_items, inputs.items, cfg, lang),
        "birthdays": rules.birthdays(customers, cfg, lang),
        "tier_progress": rules.tier_progress(customers, cfg, inputs.cutoff, lang),
        "contact_frequency": rules.contact_frequency(customers, cfg, inputs.has_email_events, lang),
        SUPPRESSION: rules.suppression(customers, inputs.has_email_events, lang),
    }
    return selections, window


def offer_text(cfg: CampaignsConfig, key: str, lang: str = "en") -> str:
    """Return the offer of a campaign key: the shop's own (configured) text, else the default in ``lang``."""
    return cfg.offers[key] if key in cfg.offers else say(f"offer.{key}", lang)


def audience_ids(selections: dict[str, pd.DataFrame]) -> list[str]:
    """Return every customer in some audience (the ones that need personal items), sorted."""
    ids = {c for name, s in selections.items() if name != SUPPRESSION for c in s[C.CUSTOMER_ID]}
    return sorted(ids)


def assemble(selections: dict[str, pd.DataFrame], customers: pd.DataFrame, items: pd.Series,
             inputs: CampaignInputs, window: tuple[float, float, int], cfg: CampaignsConfig, lang: str = "en"
             ) -> Audiences:
    """Return the rows of every campaign with contact columns and control flags, the manifest and the summary; the
    default offers in ``lang`` (a shop's own offer text stays as configured)."""
    contact = _contact_columns(customers, cfg, inputs.has_email_events)
    out = {}
    for name in (*CAMPAIGNS, SUPPRESSION):
        chosen = selections[name]
        rows = chosen.join(contact, on=C.CUSTOMER_ID)
        rows.insert(0, "campaign", name)
        rows["control"] = (control_flags(name, rows[C.CUSTOMER_ID], cfg.control_share, cfg.seed)
                           if name != SUPPRESSION else False)
        rows["offer"] = ["" if k == SUPPRESSION else offer_text(cfg, k, lang) for k in rows["offer_key"]]
        personal = items.reindex(rows[C.CUSTOMER_ID]).fillna("").to_numpy()
        rows["items"] = [_join_items(first, more, cfg.items_per_customer)
                         for first, more in zip(rows["first_items"], personal, strict=True)]
        held = rows["control"].to_numpy(dtype=bool)
        rows.loc[held, "offer"], rows.loc[held, "items"] = say("offer.control", lang), ""  # held back: nothing to send
        if name == SUPPRESSION:
            rows["items"] = ""
        out[name] = rows[list(ROW_COLUMNS)].reset_index(drop=True)
    treated = pd.concat([out[name] for name in CAMPAIGNS], ignore_index=True)
    book = manifest(treated, inputs.cutoff, cfg.control_share, cfg.seed)
    summary = summary_table(out, len(customers), cfg)
    return Audiences(inputs.cutoff, out, book, summary, (window[0], window[1]), list(inputs.notes))


def _contact_columns(customers: pd.DataFrame, cfg: CampaignsConfig, has_email_events: bool) -> pd.DataFrame:
    frame = customers.set_index(C.CUSTOMER_ID)
    out = pd.DataFrame(index=frame.index)
    out["expected_value"] = frame["expected_value"].round(2)
    out[C.EMAIL_OPT_IN] = frame[C.EMAIL_OPT_IN].map({True: "yes", False: "no"}).astype(object)
    out["best_weekday"] = frame["best_weekday"]
    out["best_hour"] = frame["best_hour"]
    out["messages_per_month"] = rules.messages_per_month(frame, cfg, has_email_events)
    return out


def _join_items(first: str, more: str, k: int) -> str:
    """Return the items to show: the campaign's own (a cart) first, then personal picks, ``k`` personal at most."""
    own = [i for i in first.split(";") if i]
    picks = [i for i in more.split(";") if i and i not in own][:k]
    return ";".join(own + picks)


def summary_table(rows: dict[str, pd.DataFrame], base_size: int, cfg: CampaignsConfig) -> pd.DataFrame:
    """Return one row per campaign and one for the suppression list: size, control, opted in, value at stake,
    the suggested offer, and a note (the suppression list's share of the base and what not messaging it saves)."""
    records = []
    for name, frame in rows.items():
        control = int(frame["control"].sum())
        offers = frame.loc[~frame["control"].astype(bool), "offer"].replace("", np.nan).dropna().unique()
        note = ""
        if name == SUPPRESSION:
            saving = len(frame) * cfg.messages_per_month * cfg.message_cost
            note = (f"{len(frame) / max(base_size, 1):.1%} of the {base_size:,} customers are dead contacts; not "
                    f"messaging them saves {saving:,.2f} a month ({cfg.messages_per_month:g} messages at "
                    f"{cfg.message_cost:g} each)")
        treated = 0 if name == SUPPRESSION else len(frame) - control  # nobody on the suppression list is contacted
        records.append({"campaign": name, "customers": len(frame), "treated": treated,
                        "control": control, "opted_in": int((frame[C.EMAIL_OPT_IN] == "yes").sum()),
                        "value_at_stake": round(float(frame["value_at_stake"].sum()), 2),
                        "suggested_offer": " | ".join(offers) if name != SUPPRESSION else "stop messaging",
                        "note": note})
    return pd.DataFrame.from_records(records, columns=list(SUMMARY_COLUMNS))
