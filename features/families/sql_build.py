"""What a DuckDB feature build holds: its result (``FeatureTable``) and its working state (``Build``).

Kept below ``features.families.sql`` and ``sql_bgnbd``, which both stage tables through a ``Build``.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from features.families.config import FeaturesConfig

if TYPE_CHECKING:
    from features.data.reader import Shop

logger = logging.getLogger(__name__)


@dataclass
class FeatureTable:
    """The features of every customer as of a cutoff, held in a temporary DuckDB table of the shop's connection."""

    name: str
    as_of: datetime
    columns: dict[str, str] = field(default_factory=dict)  # output column -> DOUBLE or VARCHAR (customer_id first)
    rows: int = 0
    included: dict[str, str] = field(default_factory=dict)  # family -> what it describes
    left_out: dict[str, str] = field(default_factory=dict)  # family -> why it was left out
    notes: list[str] = field(default_factory=list)  # parts of included families that were left out


class Build:
    """One build's connection, cutoff, settings and the temporary tables it made (dropped together)."""

    def __init__(self, shop: Shop, cutoff: datetime, cfg: FeaturesConfig) -> None:
        self.shop, self.con, self.cutoff, self.cfg = shop, shop.sql, cutoff, cfg
        self.tag = uuid.uuid4().hex[:12]
        self.tables: list[str] = []
        self.codes: dict[str, str] = {}  # channel column -> its coded values (sql.channel_codes)

    def table(self, label: str, sql: str) -> str:
        name = f"_features_{label}_{self.tag}"
        began = time.perf_counter()
        self.con.execute(f"CREATE TEMP TABLE {name} AS {sql}")
        self.tables.append(name)
        logger.debug("%s staged in %.1f s", label, time.perf_counter() - began)
        return name

    def drop(self, *names: str) -> None:
        for name in names or tuple(self.tables):
            self.con.execute(f"DROP TABLE IF EXISTS {name}")
            if name in self.tables:
                self.tables.remove(name)

    def columns(self, table: str) -> tuple[str, ...]:
        return tuple(self.shop.columns.get(table, ()))
