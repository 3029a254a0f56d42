"""Interactions: the shop's purchases, site events and catalogue as dense-integer arrays, built once per cutoff.

Every recommender fits on an ``Interactions``. It keeps the raw lines (who bought what, in which order, how many
days before the cutoff) and derives the matrices the models need on first use. Only rows strictly before
``as_of`` are read (the point-in-time rule).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features import columns as C
from features.data.contract import CAPABILITIES
from models.recommender.idmap import IdMap

logger = logging.getLogger(__name__)

# item-level site events that say something about taste, weakest first; other event types carry no item signal
EVENT_KINDS = ("view", "wishlist_add", "cart_add")
DAY = pd.Timedelta(days=1)


@dataclass(frozen=True, eq=False)
class Interactions:
    """Dense-integer purchase lines, returns, item events and item attributes (see ``build_interactions``).

    Ages are days before ``as_of`` (> 0). Purchase lines are one per (order, item) with a positive quantity.
    """

    customers: IdMap
    items: IdMap
    as_of: pd.Timestamp
    line_customer: np.ndarray  # int32, per purchase line
    line_item: np.ndarray
    line_order: np.ndarray  # dense order index
    line_age: np.ndarray  # float32 days before as_of
    line_quantity: np.ndarray  # float32 > 0
    return_customer: np.ndarray
    return_item: np.ndarray
    event_customer: np.ndarray
    event_item: np.ndarray
    event_kind: np.ndarray  # int8 index into EVENT_KINDS
    event_age: np.ndarray
    event_session: np.ndarray  # int32 dense session index, -1 when unknown
    item_category: np.ndarray  # int32 index into categories, -1 when unknown
    categories: tuple[str, ...]
    item_price: np.ndarray  # float32, nan when unknown
    item_in_stock: np.ndarray  # bool, True when unknown
    notes: list[str] = field(default_factory=list)  # what was skipped for want of an optional table or column

    @property
    def n_customers(self) -> int:
        return len(self.customers)

    @property
    def n_items(self) -> int:
        return len(self.items)

    @property
    def n_orders(self) -> int:
        return int(self.line_order.max()) + 1 if len(self.line_order) else 0

    def _matrix(self, rows: np.ndarray, cols: np.ndarray, values: np.ndarray | None, shape: tuple[int, int]
                ) -> sp.csr_matrix:
        data = np.ones(len(rows), np.float32) if values is None else values.astype(np.float32)
        matrix = sp.csr_matrix((data, (rows, cols)), shape=shape, dtype=np.float32)
        matrix.sum_duplicates()
        return matrix

    @cached_property
    def purchases(self) -> sp.csr_matrix:
        """Customers x items: the number of orders in which the customer bought the item."""
        return self._matrix(self.line_customer, self.line_item, None, (self.n_customers, self.n_items))

    @property
    def rebuy_share(self) -> float:
        """Return the share of (customer, item) pairs bought on more than one order (0 where nobody re-buys)."""
        counts = self.purchases.data
        return float((counts > 1).mean()) if len(counts) else 0.0

    @cached_property
    def bought(self) -> sp.csr_matrix:
        """Customers x items, 1 where bought (returned items included: they are not recommended again)."""
        matrix = self.purchases.copy()
        matrix.data[:] = 1.0
        return matrix

    @cached_property
    def baskets(self) -> sp.csr_matrix:
        """Orders x items, 1 where the order holds the item."""
        return self._matrix(self.line_order, self.line_item, None, (self.n_orders, self.n_items))

    @cached_property
    def last_bought_age(self) -> sp.csr_matrix:
        """Customers x items: days since the customer last bought the item (same pattern as ``purchases``)."""
        order = np.lexsort((-self.line_age, self.line_item, self.line_customer))  # per pair, youngest last
        cust, item, age = self.line_customer[order], self.line_item[order], self.line_age[order]
        last = np.r_[(cust[1:] != cust[:-1]) | (item[1:] != item[:-1]), True] if len(cust) else np.zeros(0, bool)
        matrix = sp.csr_matrix((age[last].astype(np.float32), (cust[last], item[last])),
                               shape=(self.n_customers, self.n_items))
        matrix.sort_indices()
        return matrix

    def weighted(self, purchase: float = 1.0, events: dict[str, float] | None = None,
                 half_life_days: float | None = None, returns: float = 1.0) -> sp.csr_matrix:
        """Return customers x items implicit-feedback weights.

        Each purchase adds ``purchase``, each event of kind ``k`` adds ``events[k]`` and each return takes away
        ``returns`` purchases' worth (floored at 0); with ``half_life_days`` every signal decays with its age.
        """
        shape = (self.n_customers, self.n_items)
        decay = (lambda age: np.power(0.5, age / half_life_days)) if half_life_days else (lambda age: 1.0)
        total = self._matrix(self.line_customer, self.line_item,
                             purchase * np.asarray(decay(self.line_age)) * np.ones(len(self.line_age)), shape)
        for kind, weight in (events or {}).items():
            mask = self.event_kind == EVENT_KINDS.index(kind)
            if weight and mask.any():
                values = weight * np.asarray(decay(self.event_age[mask])) * np.ones(int(mask.sum()))
                total = total + self._matrix(self.event_customer[mask], self.event_item[mask], values, shape)
        if returns and len(self.return_customer):
            back = self._matrix(self.return_customer, self.return_item, None, shape)
            total = total - back.multiply(purchase * returns)
            total.data = np.maximum(total.data, 0.0)
        total = sp.csr_matrix(total, dtype=np.float32)
        total.eliminate_zeros()
        return total

    @cached_property
    def sessions(self) -> sp.csr_matrix:
        """Sessions x items, 1 where the session viewed (or carted) the item: the co-view signal."""
        mask = self.event_session >= 0
        n = int(self.event_session[mask].max()) + 1 if mask.any() else 0
        matrix = self._matrix(self.event_session[mask], self.event_item[mask], None, (n, self.n_items))
        matrix.data[:] = 1.0
        return matrix


def _codes(values: pd.Series, ids: IdMap) -> np.ndarray:
    return ids.codes(values)


def _age_days(timestamps: pd.Series, as_of: pd.Timestamp) -> np.ndarray:
    return ((as_of - pd.to_datetime(timestamps)) / DAY).to_numpy(dtype=np.float64).astype(np.float32)


def _check(frame: pd.DataFrame, name: str, required: tuple[str, ...]) -> None:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{name}: missing column(s) {missing}; the recommender needs {list(required)}")


def build_interactions(transactions: pd.DataFrame, events: pd.DataFrame | None = None,
                       items: pd.DataFrame | None = None, as_of: object = None) -> Interactions:
    """Return the ``Interactions`` of all rows strictly before ``as_of`` (default: after the last row).

    Parameters
    ----------
    transactions : DataFrame
        customer_id, order_id, timestamp, item_id and optionally quantity (default 1; negative = return).
    events : DataFrame, optional
        customer_id, timestamp, event_type, item_id and optionally session_id; only view, wishlist_add and
        cart_add with an item are used.
    items : DataFrame, optional
        item_id and optionally category, price, in_stock.
    as_of : timestamp-like, optional

    Raises
    ------
    ValueError
        When a required column is missing.
    """
    _check(transactions, "transactions", (C.CUSTOMER_ID, C.ORDER_ID, C.TIMESTAMP, C.ITEM_ID))
    tx = transactions[transactions[C.ITEM_ID].notna()]
    cutoff = pd.Timestamp(as_of) if as_of is not None else pd.to_datetime(tx[C.TIMESTAMP]).max() + pd.Timedelta(1, "s")
    tx = tx[pd.to_datetime(tx[C.TIMESTAMP]) < cutoff]
    ev = _item_events(events, cutoff)
    catalogue = items if items is not None and C.ITEM_ID in items.columns else None
    item_ids = IdMap.from_values(tx[C.ITEM_ID], ev[C.ITEM_ID],
                                 catalogue[C.ITEM_ID] if catalogue is not None else [])
    customer_ids = IdMap.from_values(tx[C.CUSTOMER_ID], ev[C.CUSTOMER_ID])
    quantity = (pd.to_numeric(tx[C.QUANTITY], errors="coerce").fillna(1.0).to_numpy(np.float64)
                if C.QUANTITY in tx.columns else np.ones(len(tx)))
    cust, item = _codes(tx[C.CUSTOMER_ID], customer_ids), _codes(tx[C.ITEM_ID], item_ids)
    order = pd.factorize(tx[C.ORDER_ID] if isinstance(tx[C.ORDER_ID].dtype, pd.CategoricalDtype)
                         else tx[C.ORDER_ID].astype(str))[0].astype(np.int64)
    age = _age_days(tx[C.TIMESTAMP], cutoff)
    buy, back = quantity > 0, quantity < 0
    lines = _purchase_lines(cust[buy], item[buy], order[buy], age[buy], quantity[buy], len(item_ids))
    kinds = ev[C.EVENT_TYPE].map({k: i for i, k in enumerate(EVENT_KINDS)}).to_numpy(np.int8)
    session = (pd.factorize(ev[C.SESSION_ID], use_na_sentinel=True)[0].astype(np.int32)
               if C.SESSION_ID in ev.columns else np.full(len(ev), -1, np.int32))
    category, categories, price, in_stock = _item_attributes(catalogue, item_ids)
    notes = _skipped(ev, catalogue)
    data = Interactions(
        customers=customer_ids, items=item_ids, as_of=cutoff, **lines,
        return_customer=cust[back], return_item=item[back],
        event_customer=_codes(ev[C.CUSTOMER_ID], customer_ids), event_item=_codes(ev[C.ITEM_ID], item_ids),
        event_kind=kinds, event_age=_age_days(ev[C.TIMESTAMP], cutoff), event_session=session,
        item_category=category, categories=categories, item_price=price, item_in_stock=in_stock, notes=notes,
    )
    for note in notes:
        logger.info("recommender: %s", note)
    logger.info("interactions before %s: %s customers, %s items, %s purchase lines, %s item events",
                cutoff, f"{data.n_customers:,}", f"{data.n_items:,}", f"{len(data.line_item):,}",
                f"{len(data.event_item):,}")
    return data


def customer_rows(data: Interactions, keep: np.ndarray) -> Interactions:
    """Return ``data`` with only the purchase lines, returns and events of customers where ``keep`` (a boolean
    mask over customers) holds; ids, items and every index stay as they are."""
    line, back, event = keep[data.line_customer], keep[data.return_customer], keep[data.event_customer]
    return dataclasses.replace(
        data, line_customer=data.line_customer[line], line_item=data.line_item[line],
        line_order=data.line_order[line], line_age=data.line_age[line], line_quantity=data.line_quantity[line],
        return_customer=data.return_customer[back], return_item=data.return_item[back],
        event_customer=data.event_customer[event], event_item=data.event_item[event],
        event_kind=data.event_kind[event], event_age=data.event_age[event], event_session=data.event_session[event],
        notes=list(data.notes))


def _skipped(events: pd.DataFrame, catalogue: pd.DataFrame | None) -> list[str]:
    """Say which signals are missing because an optional table or column is (they are skipped, never faked)."""
    notes = []
    if len(events) == 0:
        notes.append("no item views, wish lists or cart adds before the cutoff: ALS learns from purchases alone, "
                     "similar items from ALS alone")
    present = {f"items.{c}" for c in catalogue.columns} if catalogue is not None else set()
    effects = {"upsell": "no up-sell and no 'popular in <category>' picks",
               "in_stock": "every item is taken as in stock"}
    for capability, effect in effects.items():  # which item columns each needs: the contract's one table
        missing = [n for n in CAPABILITIES[capability].needs if n.startswith("items.") and n not in present]
        if missing:
            notes.append(f"no {' or '.join(missing)}: {effect}")
    return notes


def _item_events(events: pd.DataFrame | None, cutoff: pd.Timestamp) -> pd.DataFrame:
    columns = [C.CUSTOMER_ID, C.TIMESTAMP, C.EVENT_TYPE, C.ITEM_ID]
    if events is None or len(events) == 0:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    _check(events, "events", tuple(columns))
    keep = (events[C.EVENT_TYPE].isin(EVENT_KINDS) & events[C.ITEM_ID].notna() & events[C.CUSTOMER_ID].notna()
            & (pd.to_datetime(events[C.TIMESTAMP]) < cutoff))
    return events[keep]


def _purchase_lines(cust: np.ndarray, item: np.ndarray, order: np.ndarray, age: np.ndarray, quantity: np.ndarray,
                    n_items: int) -> dict[str, np.ndarray]:
    """Merge repeated (order, item) rows into one line; renumber orders densely."""
    key = order * n_items + item
    unique, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    dense_order = np.unique(order[first], return_inverse=True)[1]
    return {
        "line_customer": cust[first].astype(np.int32), "line_item": item[first].astype(np.int32),
        "line_order": dense_order.astype(np.int32), "line_age": age[first].astype(np.float32),
        "line_quantity": np.bincount(inverse, weights=quantity, minlength=len(unique)).astype(np.float32),
    }


def _item_attributes(catalogue: pd.DataFrame | None, ids: IdMap
                     ) -> tuple[np.ndarray, tuple[str, ...], np.ndarray, np.ndarray]:
    n = len(ids)
    category, price, in_stock = np.full(n, -1, np.int32), np.full(n, np.nan, np.float32), np.ones(n, bool)
    categories: tuple[str, ...] = ()
    if catalogue is None:
        return category, categories, price, in_stock
    rows = catalogue.drop_duplicates(C.ITEM_ID, keep="last")
    where = ids.to_internal(rows[C.ITEM_ID].astype(str).to_numpy())
    if C.CATEGORY in rows.columns:
        codes, names = pd.factorize(rows[C.CATEGORY], use_na_sentinel=True)
        category[where] = codes
        categories = tuple(str(c) for c in names)
    if C.PRICE in rows.columns:
        price[where] = pd.to_numeric(rows[C.PRICE], errors="coerce").to_numpy(np.float32)
    if C.IN_STOCK in rows.columns:
        in_stock[where] = rows[C.IN_STOCK].fillna(True).astype(bool).to_numpy()
    return category, categories, price, in_stock
