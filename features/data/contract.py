"""The data contract: which tables and columns a shop may have, what each column must hold, and the errors.

Every check names the file, the column, up to five offending rows with their values, and what was expected,
because the person reading the message has to find and fix the rows in their own export.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from features import columns as C

MAX_SHOWN_ROWS = 5


class Kind(StrEnum):
    """What a column holds; decides how it is parsed and checked."""

    ID = "id"  # a string, never a number: "00001" stays "00001"
    TIMESTAMP = "timestamp"  # ISO date or datetime; naive means shop local time
    MONEY = "money"  # a non-negative decimal number
    NUMBER = "number"  # any decimal number
    BOOL = "bool"
    TEXT = "text"
    EVENT_TYPE = "event_type"


@dataclass(frozen=True)
class TableSpec:
    name: str
    required: tuple[str, ...]
    kinds: dict[str, Kind]
    key: str | None = None  # one row per key value (customers, items)

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c for c in self.kinds if c not in self.required)


TRANSACTIONS = TableSpec(
    "transactions",
    required=(C.CUSTOMER_ID, C.ORDER_ID, C.TIMESTAMP),
    kinds={
        C.CUSTOMER_ID: Kind.ID,
        C.ORDER_ID: Kind.ID,
        C.TIMESTAMP: Kind.TIMESTAMP,
        C.AMOUNT: Kind.NUMBER,  # negative only on return lines: checked against quantity
        C.PRICE: Kind.MONEY,
        C.QUANTITY: Kind.NUMBER,
        C.ITEM_ID: Kind.ID,
        C.DISCOUNT: Kind.MONEY,
        C.CHANNEL: Kind.TEXT,
        C.DEVICE: Kind.TEXT,
        C.SOURCE: Kind.TEXT,
    },
)
EVENTS = TableSpec(
    "events",
    required=(C.CUSTOMER_ID, C.TIMESTAMP, C.EVENT_TYPE),
    kinds={
        C.CUSTOMER_ID: Kind.ID,
        C.TIMESTAMP: Kind.TIMESTAMP,
        C.EVENT_TYPE: Kind.EVENT_TYPE,
        C.ITEM_ID: Kind.ID,
        C.SESSION_ID: Kind.ID,
    },
)
CUSTOMERS = TableSpec(
    "customers",
    required=(C.CUSTOMER_ID,),
    key=C.CUSTOMER_ID,
    kinds={
        C.CUSTOMER_ID: Kind.ID,
        C.SIGNUP_DATE: Kind.TIMESTAMP,
        C.BIRTH_DATE: Kind.TIMESTAMP,
        C.GENDER: Kind.TEXT,
        C.CITY: Kind.TEXT,
        C.ACQUISITION_SOURCE: Kind.TEXT,
        C.EMAIL_OPT_IN: Kind.BOOL,
    },
)
ITEMS = TableSpec(
    "items",
    required=(C.ITEM_ID,),
    key=C.ITEM_ID,
    kinds={C.ITEM_ID: Kind.ID, C.CATEGORY: Kind.TEXT, C.BRAND: Kind.TEXT, C.PRICE: Kind.MONEY, C.IN_STOCK: Kind.BOOL},
)
SPECS = {spec.name: spec for spec in (TRANSACTIONS, EVENTS, CUSTOMERS, ITEMS)}

@dataclass(frozen=True)
class Capability:
    """Something the service computes, and the optional tables / columns it needs ("a|b": either will do)."""

    label: str
    needs: tuple[str, ...] = ()


# The one table of what each optional table or column makes possible: `validate` reports from it, the feature
# build takes each family's needs from it, and the recommender says from it which of its signals are skipped.
CAPABILITIES: dict[str, Capability] = {
    "rfm": Capability("RFM and trend"),
    "cadence": Capability("cadence and BG/NBD"),
    "timing": Capability("ordering weekday and hour"),
    "segments": Capability("segments and golden customers"),
    "models": Capability("churn, golden and value models"),
    "basket": Capability("basket (items per order, distinct items)", ("transactions.item_id",)),
    "categories": Capability("basket categories and price level", ("transactions.item_id", "items.category")),
    "promotions": Capability("promotions (discount share, buys only on sale)", ("transactions.discount",)),
    "site": Capability("site behaviour (views, carts, abandoned carts, visits)", ("events",)),
    "channel": Capability("channel and device", ("transactions.channel|transactions.device|transactions.source",)),
    "profile": Capability("profile (age, birthday, gender, city, opt-in)", ("customers",)),
    "recommendations": Capability("recommendations", ("transactions.item_id",)),
    "upsell": Capability("up-sell and category picks", ("transactions.item_id", "items.category", "items.price")),
    "in_stock": Capability("out-of-stock filter", ("items.in_stock",)),
}
ALWAYS_ON = tuple(c.label for c in CAPABILITIES.values() if not c.needs)  # the required columns suffice
FEATURE_NEEDS = {c.label: c.needs for c in CAPABILITIES.values() if c.needs}

BOOL_TRUE = ("true", "t", "yes", "y", "1")
BOOL_FALSE = ("false", "f", "no", "n", "0")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one column of one file."""

    file: str
    column: str | None
    what: str
    expected: str
    rows: tuple[tuple[int, str], ...] = ()
    count: int = 0
    row_label: str = "row"  # "line" for CSV, where the header is line 1

    def __str__(self) -> str:
        where = f"{self.file}, column '{self.column}'" if self.column else self.file
        text = f"{where}: {self.what}"
        if self.rows:
            shown = ", ".join(f"{self.row_label} {row}: {value!r}" for row, value in self.rows)
            more = f" (and {self.count - len(self.rows)} more)" if self.count > len(self.rows) else ""
            text += f" in {self.count} row{'s' if self.count != 1 else ''}: {shown}{more}"
        return f"{text}; expected {self.expected}"


class ShopDataError(ValueError):
    """The shop's data breaks the contract; ``problems`` lists every finding, each naming file, column, rows."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(f"- {p}" for p in problems))


@dataclass
class Findings:
    """Errors stop the read; warnings are reported and the read goes on."""

    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ShopDataError(self.errors)


class EngineUnavailableError(RuntimeError):
    """The engine asked for (``--engine spark``) cannot start here; the message says what to install or set."""
