"""A campaign with heterogeneous, known per-customer effects on the demo shop, so uplift models can be checked.

``simulate_uplift_campaign`` takes a shop's tables and a cutoff, puts every customer with a purchase before the
cutoff into the audience, draws a seeded control group, and gives each treated customer, with their own
probability (the true effect), one extra discounted order in ``[cutoff, cutoff + days)``. The effect depends on
behaviour a model can see before the cutoff, the story a marketer tells about a discount offer:

- ``lapsed`` (no order for ``lapsed_days``): the offer does not bring them back, effect 0;
- ``loyal`` (``loyal_orders`` or more orders in the last year and one in the last ``loyal_days``): they would buy
  anyway, effect 0;
- ``discount_sensitive`` (at least half their orders carried a discount): they respond, the largest effect;
- ``other``: a small effect.

The truth is recorded per customer in extra orders (the chance of one extra order) and in extra net revenue (that
chance times the discounted basket); nothing else of the shop
changes, so the control group's outcomes are the shop's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features import columns as C
from features.campaigns.control import MANIFEST_COLUMNS

SEGMENTS = ("lapsed", "loyal", "discount_sensitive", "other")


class UpliftSimulation(BaseModel):
    """Who responds to the simulated offer, and how much (chance of one extra order in the window)."""

    model_config = ConfigDict(extra="forbid")

    campaign: str = "uplift_demo"
    days: int = Field(30, ge=1)
    control_share: float = Field(0.5, gt=0.0, lt=1.0)
    seed: int = 0
    lapsed_days: float = Field(180.0, gt=0.0)
    loyal_orders: int = Field(4, ge=1)
    loyal_days: float = Field(60.0, gt=0.0)
    discount_share: float = Field(0.5, ge=0.0, le=1.0)  # share of orders with a discount that makes one sensitive
    effects: dict[str, float] = Field(default_factory=lambda: {
        "lapsed": 0.0, "loyal": 0.0, "discount_sensitive": 0.5, "other": 0.1})
    offer_discount: float = Field(0.15, ge=0.0, lt=1.0)  # the discount recorded on the extra orders


@dataclass(frozen=True)
class SimulatedCampaign:
    """The shop with the extra orders, the campaign's manifest, and the true effect per customer."""

    tables: dict[str, pd.DataFrame]
    manifest: pd.DataFrame  # MANIFEST_COLUMNS, as `retention campaigns` writes it
    truth: pd.DataFrame  # customer_id, segment, true_effect (extra orders), true_revenue_effect
    cutoff: datetime


def simulate_uplift_campaign(tables: dict[str, pd.DataFrame], cutoff: datetime,
                             sim: UpliftSimulation | None = None) -> SimulatedCampaign:
    """Return the shop with a simulated campaign at ``cutoff``: seeded control draw, known effects, extra orders."""
    sim = sim or UpliftSimulation()
    unknown = set(sim.effects) ^ set(SEGMENTS)
    if unknown:
        raise ValueError(f"effects must name exactly the segments {SEGMENTS}, got {sorted(sim.effects)}")
    if any(not 0.0 <= v <= 1.0 for v in sim.effects.values()):
        raise ValueError(f"each effect is a probability in [0, 1], got {sim.effects}")
    truth = customer_segments(tables["transactions"], cutoff, sim)
    if truth.empty:
        raise ValueError(f"no customer ordered before the cutoff {cutoff:%Y-%m-%d}: nobody to simulate a campaign on")
    rng = np.random.default_rng(sim.seed)
    truth["true_effect"] = truth["segment"].map(sim.effects).astype("float64")
    control = rng.random(len(truth)) < sim.control_share
    responds = ~control & (rng.random(len(truth)) < truth["true_effect"].to_numpy())
    basket = last_baskets(tables["transactions"], cutoff, sim.offer_discount)
    value = basket.groupby(C.CUSTOMER_ID)["net"].sum()
    truth["true_revenue_effect"] = truth["true_effect"] * truth[C.CUSTOMER_ID].map(value).fillna(0.0).to_numpy()
    extra = _extra_orders(truth.loc[responds, C.CUSTOMER_ID], basket, cutoff, sim, rng)
    transactions = tables["transactions"]
    if C.AMOUNT in transactions.columns:  # a shop that records line revenue instead of unit price
        extra[C.AMOUNT] = extra["net"]
    out = dict(tables)
    out["transactions"] = pd.concat([transactions, extra[[c for c in extra.columns if c in transactions.columns]]],
                                    ignore_index=True)
    book = pd.DataFrame({"campaign": sim.campaign, "cutoff": cutoff.date().isoformat(),
                         C.CUSTOMER_ID: truth[C.CUSTOMER_ID].to_numpy(), "control": control,
                         "rule": "simulated: everyone who ordered before the cutoff",
                         "control_share": sim.control_share, "seed": sim.seed})
    return SimulatedCampaign(out, book[list(MANIFEST_COLUMNS)], truth.reset_index(drop=True), cutoff)


def customer_segments(transactions: pd.DataFrame, cutoff: datetime, sim: UpliftSimulation) -> pd.DataFrame:
    """Return customer_id and segment for every customer with a purchase before the cutoff (rows before it only)."""
    lines = transactions[(pd.to_datetime(transactions[C.TIMESTAMP]) < cutoff)]
    if C.QUANTITY in lines.columns:
        lines = lines[pd.to_numeric(lines[C.QUANTITY]) > 0]
    discounted = (pd.to_numeric(lines[C.DISCOUNT]) > 0 if C.DISCOUNT in lines.columns
                  else pd.Series(False, index=lines.index))
    orders = (lines.assign(discounted=discounted, when=pd.to_datetime(lines[C.TIMESTAMP]))
              .groupby([C.CUSTOMER_ID, C.ORDER_ID], sort=False)
              .agg(when=("when", "min"), discounted=("discounted", "max"))
              .reset_index())
    year_ago = cutoff - timedelta(days=365)
    per = orders.groupby(C.CUSTOMER_ID).agg(
        last=("when", "max"), discount_share=("discounted", "mean"),
        orders_year=("when", lambda w: int((w >= year_ago).sum())))
    since = (pd.Timestamp(cutoff) - per["last"]).dt.total_seconds() / 86_400
    segment = np.select(
        [since > sim.lapsed_days, (per["orders_year"] >= sim.loyal_orders) & (since <= sim.loyal_days),
         per["discount_share"] >= sim.discount_share],
        ["lapsed", "loyal", "discount_sensitive"], default="other")
    out = pd.DataFrame({C.CUSTOMER_ID: per.index.astype(str), "segment": segment})
    return out.sort_values(C.CUSTOMER_ID, kind="stable").reset_index(drop=True)


def last_baskets(transactions: pd.DataFrame, cutoff: datetime, discount: float) -> pd.DataFrame:
    """Return each customer's last order before the cutoff, line by line, at the offer's price (price x (1 -
    discount), as the demo shop records discounted lines) with its net line revenue in ``net``."""
    lines = transactions[pd.to_datetime(transactions[C.TIMESTAMP]) < cutoff]
    quantity = pd.to_numeric(lines[C.QUANTITY]) if C.QUANTITY in lines.columns else pd.Series(1, index=lines.index)
    lines = lines[quantity > 0]
    stamp = pd.to_datetime(lines[C.TIMESTAMP])
    last = stamp.groupby(lines[C.CUSTOMER_ID].astype(str)).transform("max")
    latest = lines[stamp == last].copy()
    first = latest.groupby(latest[C.CUSTOMER_ID].astype(str))[C.ORDER_ID].transform("min")
    latest = latest[latest[C.ORDER_ID] == first]  # two orders at the same second: the first id
    price = (pd.to_numeric(latest[C.PRICE]) if C.PRICE in latest.columns
             else pd.to_numeric(latest[C.AMOUNT]) / pd.to_numeric(latest.get(C.QUANTITY, 1)))
    qty = pd.to_numeric(latest[C.QUANTITY]) if C.QUANTITY in latest.columns else 1
    item = latest[C.ITEM_ID].astype(str) if C.ITEM_ID in latest.columns else "SIM-ITEM"
    out = pd.DataFrame({C.CUSTOMER_ID: latest[C.CUSTOMER_ID].astype(str), C.ITEM_ID: item, C.QUANTITY: qty,
                        C.PRICE: (price * (1 - discount)).round(2)})
    out["net"] = out[C.PRICE] * out[C.QUANTITY]
    return out.reset_index(drop=True)


def _extra_orders(customers: pd.Series, basket: pd.DataFrame, cutoff: datetime, sim: UpliftSimulation,
                  rng: np.random.Generator) -> pd.DataFrame:
    """Return one extra order per responding customer: their last basket again, at the offer's discount."""
    ids = customers.astype(str).to_numpy()
    seconds = (rng.random(len(ids)) * sim.days * 86_400).astype("timedelta64[s]")
    head = pd.DataFrame({C.CUSTOMER_ID: ids, C.ORDER_ID: [f"UPL{i:06d}" for i in range(1, len(ids) + 1)],
                         C.TIMESTAMP: pd.to_datetime(np.datetime64(cutoff, "s") + seconds).astype("datetime64[us]")})
    lines = head.merge(basket, on=C.CUSTOMER_ID, how="inner", sort=False)
    lines[C.DISCOUNT] = sim.offer_discount
    return lines
