"""The audience rules: who goes into each campaign and why, in words. Pure functions of DataFrames.

Every rule reads the customer frame of ``features.campaigns.inputs`` (one row per customer with a purchase before
the cutoff) with the model scores added (``churn_probability``, ``golden_probability``, ``expected_value``) and
returns ``SELECTION_COLUMNS``: customer_id, the rule that put the customer there in words, the offer key, the
value at stake, and any items to show first (abandoned carts). Rows come out in the order a marketer should work
through them (most value first). Boundaries are inclusive unless a docstring says otherwise.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from features import columns as C
from features.campaigns.config import CampaignsConfig
from features.words.catalogue import name, say

SELECTION_COLUMNS = (C.CUSTOMER_ID, "rule", "offer_key", "value_at_stake", "first_items")
LOYAL_SEGMENTS = ("Champions", "Loyal")


def _selection(rows: pd.DataFrame, rule: pd.Series | list[str], offer_key: str | pd.Series, value: pd.Series,
               first_items: pd.Series | str = "") -> pd.DataFrame:
    out = pd.DataFrame({C.CUSTOMER_ID: rows[C.CUSTOMER_ID].astype(str).to_numpy()})
    out["rule"] = list(rule)
    out["offer_key"] = offer_key if isinstance(offer_key, str) else offer_key.to_numpy()
    out["value_at_stake"] = np.asarray(value, dtype="float64").round(2)
    out["first_items"] = first_items if isinstance(first_items, str) else first_items.to_numpy()
    return out[list(SELECTION_COLUMNS)]


def _by_value(frame: pd.DataFrame, value: pd.Series) -> pd.DataFrame:
    return frame.assign(_v=value).sort_values(["_v", C.CUSTOMER_ID], ascending=[False, True]).drop(columns="_v")


def expected_lost_value(customers: pd.DataFrame) -> pd.Series:
    """Return churn probability x expected value (negative values count as 0), as the churn list ranks."""
    return customers["churn_probability"] * customers["expected_value"].clip(lower=0)


def _days_past(customers: pd.DataFrame) -> pd.Series:
    return customers["recency_days"] - customers["churn_threshold_days"]


def reactivation(customers: pd.DataFrame, cfg: CampaignsConfig, dead_after_days: float, lang: str = "en"
                 ) -> pd.DataFrame:
    """Churned customers who crossed their own churn boundary at most ``dead_after_days - winback_days`` days ago
    (0 < days past the boundary <= that), not dead contacts, with expected lost value >= the configured minimum."""
    past = _days_past(customers)
    lost = expected_lost_value(customers)
    keep = (customers["is_churned"] & ~customers["dead_contact"] & (past > 0)
            & (past <= dead_after_days - cfg.winback_days) & (lost >= cfg.reactivation_min_value))
    rows = _by_value(customers[keep], lost[keep])
    lost, past = lost[rows.index], past[rows.index]
    why = {True: say("campaign.boundary_repeat", lang), False: say("campaign.boundary_one_time", lang)}
    words = [say("campaign.reactivation", lang, days=round(r), past=round(p), boundary=round(t), why=why[f > 1],
                 lost=v) for r, p, t, f, v in
             zip(rows["recency_days"], past, rows["churn_threshold_days"], rows["frequency"], lost, strict=True)]
    return _selection(rows, words, "reactivation", lost)


def win_back(customers: pd.DataFrame, cfg: CampaignsConfig, dead_after_days: float, lang: str = "en"
             ) -> pd.DataFrame:
    """Churned customers in the last ``winback_days`` before they become dead contacts (``dead_after_days`` past
    their boundary): ``dead_after_days - winback_days < days past <= dead_after_days``, not dead yet."""
    past = _days_past(customers)
    keep = (customers["is_churned"] & ~customers["dead_contact"] & (past > dead_after_days - cfg.winback_days)
            & (past <= dead_after_days))
    lost = expected_lost_value(customers)
    rows = _by_value(customers[keep], lost[keep])
    left = dead_after_days - past[rows.index]
    words = [say("campaign.win_back", lang, days=round(r), left=round(d))
             for r, d in zip(rows["recency_days"], left, strict=True)]
    return _selection(rows, words, "win_back", lost[rows.index])


def suppression(customers: pd.DataFrame, has_email_events: bool = True, lang: str = "en") -> pd.DataFrame:
    """Dead contacts: churned for longer than the reactivation window (and no e-mail open or click in it)."""
    rows = customers[customers["dead_contact"]].sort_values(["recency_days", C.CUSTOMER_ID], ascending=[False, True])
    engaged = say("campaign.not_engaged", lang) if has_email_events else ""
    words = [say("campaign.suppression", lang, days=round(r), past=round(p), engaged=engaged)
             for r, p in zip(rows["recency_days"], _days_past(rows), strict=True)]
    return _selection(rows, words, "suppression", pd.Series(0.0, index=rows.index))


def second_order_window(purchases: pd.DataFrame, cfg: CampaignsConfig) -> tuple[float, float, int]:
    """Return (first day, last day, repeaters): the days after the first order by which ``second_order_shares``
    of the shop's second orders had come, from the customers who placed one; the fallback window with fewer than
    ``second_order_min_repeaters`` of them."""
    ordered = purchases.sort_values([C.CUSTOMER_ID, C.TIMESTAMP])
    rank = ordered.groupby(C.CUSTOMER_ID).cumcount()
    first = ordered[rank == 0].set_index(C.CUSTOMER_ID)[C.TIMESTAMP]
    second = ordered[rank == 1].set_index(C.CUSTOMER_ID)[C.TIMESTAMP]
    gaps = ((second - first.reindex(second.index)).dt.total_seconds() / 86_400.0).to_numpy()
    if len(gaps) < cfg.second_order_min_repeaters:
        lo, hi = cfg.second_order_fallback_days
        return lo, hi, len(gaps)
    lo, hi = np.quantile(gaps, cfg.second_order_shares)
    return float(np.floor(lo)), float(np.ceil(hi)), len(gaps)


def second_order(customers: pd.DataFrame, window: tuple[float, float, int], cfg: CampaignsConfig,
                 lang: str = "en") -> pd.DataFrame:
    """One-time buyers, not churned, whose first order is ``window[0]`` to ``window[1]`` days old (inclusive)."""
    lo, hi, repeaters = window
    keep = ((customers["frequency"] == 1) & ~customers["is_churned"] & (customers["tenure_days"] >= lo)
            & (customers["tenure_days"] <= hi))
    rows = _by_value(customers[keep], customers.loc[keep, "expected_value"])
    low, high = cfg.second_order_shares
    source = (say("campaign.second_source", lang, low=low, high=high, repeaters=repeaters, lo=lo, hi=hi)
              if repeaters >= cfg.second_order_min_repeaters else
              say("campaign.second_fallback", lang, repeaters=repeaters, lo=lo, hi=hi))
    words = [say("campaign.second_order", lang, days=round(t), source=source) for t in rows["tenure_days"]]
    return _selection(rows, words, "second_order", rows["expected_value"])


def vip_care(customers: pd.DataFrame, cfg: CampaignsConfig, lang: str = "en") -> pd.DataFrame:
    """Golden customers now (keep), then those not golden yet with golden probability >= ``vip_grow_probability``
    who have not churned (grow)."""
    keep = customers[customers["is_golden_now"]]
    keep = _by_value(keep, keep["expected_value"])
    grow_rule = (~customers["is_golden_now"] & ~customers["is_churned"]
                 & (customers["golden_probability"] >= cfg.vip_grow_probability))
    grow = _by_value(customers[grow_rule], customers.loc[grow_rule, "golden_probability"])
    words = [say("campaign.vip_keep", lang)] * len(keep)
    words += [say("campaign.vip_grow", lang, p=p) for p in grow["golden_probability"]]
    rows = pd.concat([keep, grow])
    offers = pd.Series(["vip_care/keep"] * len(keep) + ["vip_care/grow"] * len(grow), index=rows.index)
    return _selection(rows, words, offers, rows["expected_value"])


def abandoned_carts(customers: pd.DataFrame, cart_adds: pd.DataFrame, bought_lines: pd.DataFrame,
                    items: pd.DataFrame | None, cutoff: datetime, lang: str = "en") -> pd.DataFrame:
    """Customers with a cart add in the cart window (``cart_adds`` holds only those) whose item is in stock (when
    the items table says) and that they have not bought since the cart add (a purchase line at or after it)."""
    carts = cart_adds.merge(bought_lines.rename(columns={C.TIMESTAMP: "bought_at"}), on=[C.CUSTOMER_ID, C.ITEM_ID],
                            how="left")
    bought = carts.groupby([C.CUSTOMER_ID, C.ITEM_ID, C.TIMESTAMP])["bought_at"].max()
    carts = bought[~(bought >= bought.index.get_level_values(C.TIMESTAMP))].reset_index()
    carts, price = _in_stock_with_price(carts, items, unknown_in_stock=False)
    carts = carts.assign(price=price).sort_values(C.TIMESTAMP, ascending=False)
    carts = carts.drop_duplicates([C.CUSTOMER_ID, C.ITEM_ID])
    per = carts.groupby(C.CUSTOMER_ID).agg(items=(C.ITEM_ID, ";".join), value=("price", "sum"),
                                           newest=(C.TIMESTAMP, "max"), n=(C.ITEM_ID, "size"))
    per = per[per.index.isin(customers[C.CUSTOMER_ID])].reset_index()
    per = _by_value(per, per["value"])
    hours = (cutoff - per["newest"]).dt.total_seconds() / 3600.0
    words = [say("campaign.cart", lang, n=n, hours=round(h), items=i)
             for n, h, i in zip(per["n"], hours, per["items"], strict=True)]
    return _selection(per, words, "abandoned_carts", per["value"], per["items"])


def _in_stock_with_price(rows: pd.DataFrame, items: pd.DataFrame | None,
                         unknown_in_stock: bool) -> tuple[pd.DataFrame, pd.Series]:
    """Return the rows whose item is in stock (when the items table says; ``unknown_in_stock`` for an item it does
    not list) and each kept row's list price (0 when unknown)."""
    price = pd.Series(0.0, index=rows.index)
    if items is None:
        return rows, price
    catalogue = items.set_index(C.ITEM_ID)
    if C.IN_STOCK in catalogue.columns:
        stock = catalogue[C.IN_STOCK].reindex(rows[C.ITEM_ID]).fillna(unknown_in_stock).astype(bool).to_numpy()
        rows, price = rows[stock], price[stock]
    if C.PRICE in catalogue.columns:
        price = pd.Series(catalogue[C.PRICE].reindex(rows[C.ITEM_ID]).fillna(0.0).to_numpy(), index=rows.index)
    return rows, price


def reminders(customers: pd.DataFrame, candidates: pd.DataFrame, items: pd.DataFrame | None, cfg: CampaignsConfig,
              lang: str = "en") -> pd.DataFrame:
    """Customers with items they viewed or wished for in the reminder window and did not buy (``candidates`` of
    ``inputs.reminder_candidates``), in stock when the items table says; wish-list items first, then the newest
    views, at most ``items_per_customer`` (at least one) in the row. Most value (the items' prices) first."""
    rows = candidates[candidates["kind"].isin(["wishlist", "viewed"])]
    rows = rows[rows[C.CUSTOMER_ID].isin(customers[C.CUSTOMER_ID])]
    rows, price = _in_stock_with_price(rows, items, unknown_in_stock=True)
    rows = rows.assign(price=price, first=(rows["kind"] != "wishlist").astype(int))
    rows = rows.sort_values([C.CUSTOMER_ID, "first", C.TIMESTAMP], ascending=[True, True, False])
    rows = rows.drop_duplicates([C.CUSTOMER_ID, C.ITEM_ID]).groupby(C.CUSTOMER_ID).head(max(cfg.items_per_customer, 1))
    per = rows.groupby(C.CUSTOMER_ID, sort=False).agg(items=(C.ITEM_ID, ";".join), value=("price", "sum"),
                                                      n=(C.ITEM_ID, "size")).reset_index()
    per = _by_value(per, per["value"])
    words = [say("campaign.reminders", lang, n=n, days=cfg.reminder_days, items=i)
             for n, i in zip(per["n"], per["items"], strict=True)]
    return _selection(per, words, "reminders", per["value"], per["items"])


def birthdays(customers: pd.DataFrame, cfg: CampaignsConfig, lang: str = "en") -> pd.DataFrame:
    """Customers whose birthday is 0 to ``birthday_days - 1`` days after the cutoff's day; golden customers first,
    then Champions and Loyal, then by the date."""
    days = customers["days_to_birthday"]
    rows = customers[(days >= 0) & (days < cfg.birthday_days)]
    tier = np.where(rows["is_golden_now"], 0, np.where(rows["segment"].isin(LOYAL_SEGMENTS), 1, 2))
    rows = rows.assign(_tier=tier).sort_values(["_tier", "days_to_birthday", C.CUSTOMER_ID]).drop(columns="_tier")
    shown = {s: s.lower() if lang == "en" else name("segment", s, lang) for s in LOYAL_SEGMENTS}
    who = [say("campaign.who_golden", lang) if golden else say("campaign.who_segment", lang, segment=shown[segment])
           if segment in LOYAL_SEGMENTS else say("campaign.who_customer", lang)
           for golden, segment in zip(rows["is_golden_now"], rows["segment"], strict=True)]
    words = [say("campaign.birthday_today", lang, who=w) if d == 0 else say("campaign.birthday_in", lang, days=d,
                                                                            who=w)
             for d, w in zip(rows["days_to_birthday"], who, strict=True)]
    return _selection(rows, words, "birthdays", rows["expected_value"])


def tier_progress(customers: pd.DataFrame, cfg: CampaignsConfig, cutoff: datetime, lang: str = "en"
                  ) -> pd.DataFrame:
    """Customers within reach of Premier (0 < spend missing <= ``tier_reach_share`` x threshold, with spend this
    tier year) and Premier customers about to drop out (the spend still counting ``tier_drop_days`` later is below
    the threshold); points are ``points_per_unit`` per unit of net spend."""
    threshold, spend, kept = cfg.premier_threshold, customers["year_spend"], customers["kept_spend"]
    missing = threshold - spend
    reach = customers[(spend > 0) & (missing > 0) & (missing <= cfg.tier_reach_share * threshold)]
    reach = reach.sort_values(["year_spend", C.CUSTOMER_ID], ascending=[False, True])
    drop = customers[(spend >= threshold) & (kept < threshold)]
    drop = drop.sort_values(["kept_spend", C.CUSTOMER_ID], ascending=[False, True])
    when = (cutoff + timedelta(days=cfg.tier_drop_days)).date().isoformat()
    year = cfg.tier_year_days
    words = [say("campaign.tier_reach", lang, missing=threshold - s, spend=s, threshold=threshold, year=year,
                 points=s * cfg.points_per_unit) for s in reach["year_spend"]]
    words += [say("campaign.tier_keep", lang, spend=s, year=year, kept=k, when=when, missing=threshold - k)
              for s, k in zip(drop["year_spend"], drop["kept_spend"], strict=True)]
    rows = pd.concat([reach, drop])
    offers = pd.Series(["tier_progress/reach"] * len(reach) + ["tier_progress/keep"] * len(drop), index=rows.index)
    return _selection(rows, words, offers, rows["expected_value"])


def messages_per_month(customers: pd.DataFrame, cfg: CampaignsConfig, has_email_events: bool) -> pd.Series:
    """Return each customer's suggested messages a month: 0 for dead contacts and customers who opted out;
    ``messages_min`` for those who never open (the shop logs opens and none in ``email_open_days``); else
    ``messages_base`` plus one per ``visit_days_per_message`` days with a visit, at most ``messages_max``."""
    visits = customers["visit_days"].fillna(0.0)
    active = cfg.messages_base + np.floor(visits / cfg.visit_days_per_message)
    count = np.minimum(active, cfg.messages_max)
    if has_email_events:
        count = np.where(customers["email_opens"].fillna(0.0) > 0, count, cfg.messages_min)
    opted_out = customers[C.EMAIL_OPT_IN].eq(False).fillna(False).to_numpy(dtype=bool)
    count = np.where(opted_out | customers["dead_contact"].to_numpy(dtype=bool), 0, count)
    return pd.Series(count.astype("int64"), index=customers.index, name="messages_per_month")


def contact_frequency(customers: pd.DataFrame, cfg: CampaignsConfig, has_email_events: bool, lang: str = "en"
                      ) -> pd.DataFrame:
    """Every customer who is not a dead contact, with the suggested messages a month in the rule."""
    rows = customers[~customers["dead_contact"]]
    count = messages_per_month(rows, cfg, has_email_events)
    rows = _by_value(rows, count)
    count = count[rows.index]
    words = []
    for n, visits, opens, opt in zip(count, rows["visit_days"], rows["email_opens"], rows[C.EMAIL_OPT_IN],
                                     strict=True):
        if pd.notna(opt) and not opt:
            words.append(say("campaign.no_opt_in", lang))
            continue
        seen = "" if pd.isna(visits) else say("campaign.visited", lang, visits=visits, days=cfg.visit_days)
        read = "" if not has_email_events else (
            say("campaign.opened", lang, opens=opens, days=cfg.email_open_days) if opens > 0 else
            say("campaign.opened_none", lang, days=cfg.email_open_days))
        words.append(say("campaign.per_month", lang, why="; ".join(p for p in (seen, read) if p), n=n))
    return _selection(rows, words, "contact_frequency", rows["expected_value"])
