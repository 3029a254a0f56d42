"""DemoConfig: the size and behaviour of the demo shop, on its own so every part of the generator can read it."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class DemoConfig(BaseModel):
    """How big the demo shop is and how its customers behave; the defaults give the documented story."""

    model_config = ConfigDict(extra="forbid")

    customers: int = Field(20_000, ge=1)
    seed: int = 42
    end_date: date = date(2026, 10, 31)  # fixed, never today: the output is deterministic
    years: float = Field(2.0, gt=0.0, le=20.0)
    items: int = Field(1_500, ge=128)  # catalogue size; small shops get fewer (see ``catalogue_size``)
    orders_per_year: float = Field(6.0, gt=0.0)  # mean order rate while active, refills and birthdays aside
    rate_shape: float = Field(0.8, gt=0.0)  # gamma shape of order rates: lower is more unequal
    lifetime_days: float = Field(450.0, gt=0.0)  # typical time from the first order to leaving
    acquisition_growth: float = Field(0.6, ge=0.0)  # log growth of sign-ups over the window
    buyer_share: float = Field(0.9, ge=0.0, le=1.0)  # ordinary sign-ups who buy
    hunter_share: float = Field(0.13, ge=0.0, le=1.0)  # customers who buy only on discount
    opt_in_share: float = Field(0.6, ge=0.0, le=1.0)
    refill_share: float = Field(0.55, ge=0.0, le=1.0)  # of buyers who like a consumable
    cycle_days: tuple[float, float] = (25.0, 45.0)  # range of personal refill cycles
    complement_rate: float = Field(0.45, ge=0.0, le=1.0)  # chance an anchor brings each partner along
    browse_sessions_per_order: float = Field(1.5, ge=0.0)  # browsing-only sessions per expected order
    profile: Literal["shop", "durable"] = "shop"  # durable: books, films, furniture; each item bought at most once

    @field_validator("cycle_days")
    @classmethod
    def _ordered_cycle(cls, value: tuple[float, float]) -> tuple[float, float]:
        if not 1.0 <= value[0] <= value[1]:
            raise ValueError(f"cycle_days must be (low, high) with 1 <= low <= high, got {value}")
        return value

    @property
    def catalogue_size(self) -> int:
        """Return the number of items: ``items``, fewer for small shops (one per eight customers, 200 at least)."""
        return max(min(self.items, max(200, self.customers // 8)), 128)
