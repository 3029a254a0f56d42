"""A campaign with a known true effect on the demo shop, so the results estimate can be checked against it.

``simulate_campaign`` takes a shop's tables and a campaign manifest and adds, for each treated customer with
probability ``lift``, one extra order of a single in-stock item in ``[cutoff, cutoff + days)``. Control customers
get nothing extra, so the true effect is ``lift`` extra orders per treated customer (``100 x lift`` per 100) on
top of whatever the shop's own history has them do; the revenue effect is ``lift`` times the mean item price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features import columns as C


def simulate_campaign(tables: dict[str, pd.DataFrame], manifest: pd.DataFrame, lift: float, days: int,
                      seed: int = 0, campaign: str | None = None) -> dict[str, pd.DataFrame]:
    """Return the tables with the campaign's extra orders added to ``transactions`` (ids ``SIM000001``, ...).

    Parameters
    ----------
    tables
        The shop's tables (``generate_shop`` or read from files); ``items`` gives the prices when present.
    manifest
        Rows with campaign, cutoff, customer_id and control (``read_manifest`` or ``Audiences.manifest``).
    lift
        The true effect: the chance that a treated customer places one extra order because of the campaign.
    days
        The extra orders fall uniformly in ``[cutoff, cutoff + days)``.
    campaign
        Only this campaign's treated customers (default: every campaign of the manifest, a customer once).
    """
    if not 0.0 <= lift <= 1.0:
        raise ValueError(f"lift must be a probability in [0, 1], got {lift}")
    rows = manifest if campaign is None else manifest[manifest["campaign"] == campaign]
    treated = rows[~rows["control"].astype(bool)].drop_duplicates(C.CUSTOMER_ID)
    rng = np.random.default_rng(seed)
    chosen = treated[rng.random(len(treated)) < lift]
    catalogue = _catalogue(tables)
    pick = rng.integers(0, len(catalogue), len(chosen))
    when = pd.to_datetime(chosen["cutoff"]).to_numpy() + (rng.random(len(chosen)) * days * 86_400).astype(
        "timedelta64[s]")
    extra = pd.DataFrame({
        C.CUSTOMER_ID: chosen[C.CUSTOMER_ID].astype(str).to_numpy(),
        C.ORDER_ID: [f"SIM{i:06d}" for i in range(1, len(chosen) + 1)],
        C.TIMESTAMP: pd.to_datetime(when).astype("datetime64[us]"),
        C.ITEM_ID: catalogue[C.ITEM_ID].to_numpy()[pick],
        C.QUANTITY: 1,
        C.PRICE: catalogue[C.PRICE].to_numpy()[pick],
    })
    transactions = tables["transactions"]
    if C.AMOUNT in transactions.columns:  # a shop that records line revenue instead of unit price
        extra[C.AMOUNT] = extra[C.PRICE]
    extra = extra[[c for c in extra.columns if c in transactions.columns]]
    out = dict(tables)
    out["transactions"] = pd.concat([transactions, extra], ignore_index=True)
    return out


def _catalogue(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    items = tables.get("items")
    if items is not None and C.PRICE in items.columns:
        stock = items[items[C.IN_STOCK].astype(bool)] if C.IN_STOCK in items.columns else items
        return stock[[C.ITEM_ID, C.PRICE]].reset_index(drop=True)
    lines = tables["transactions"]
    return pd.DataFrame({C.ITEM_ID: ["SIM-ITEM"], C.PRICE: [float(lines[C.PRICE].median())]})


def true_extra_orders(lift: float) -> float:
    """Return the true effect in extra orders per 100 treated customers."""
    return 100.0 * lift

