"""Settings of the customer feature families: windows, thresholds and which families to build."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

FAMILIES = ("rfm", "cadence", "bgnbd", "basket", "categories", "promotions", "site", "channel", "timing", "profile")


class FeaturesConfig(BaseModel):
    """Hyperparameters of the point-in-time customer features; the defaults suit a typical online shop.

    Every window is a half-open interval ``[cutoff - days, cutoff)``.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    families: tuple[str, ...] = Field(FAMILIES, description="Families to build (a subset of FAMILIES).")
    windows_days: tuple[int, ...] = Field((30, 90, 180, 365), description="Windows for orders_/revenue_ counts.")
    trend_days: int = Field(90, gt=0, description="Trend compares the last N days with the N days before.")
    recent_events_days: int = Field(30, gt=0, description="Window for views, cart and wishlist adds, conversion.")
    contact_days: int = Field(90, gt=0, description="Window for callbacks and chats.")
    abandoned_cart_hours: int = Field(24, gt=0, description="A cart add with no order within this many hours.")
    mobile_devices: tuple[str, ...] = Field(("mobile", "phone", "smartphone", "tablet", "ios", "android", "app"),
                                            description="Device values (lower case) counted as mobile.")
    sale_only_min_orders: int = Field(2, ge=1, description="Orders needed before 'buys only on sale' can be 1.")
    bgnbd_unit_days: float = Field(7.0, gt=0, description="Time unit of the BG/NBD fit (7 = weeks, as the paper).")
    bgnbd_horizon_days: int = Field(90, gt=0, description="Horizon of the BG/NBD expected orders.")
    bgnbd_penalizer: float = Field(0.0, ge=0, description="L2 penalty on the BG/NBD parameters (0 = plain MLE).")
    bgnbd_min_repeat_customers: int = Field(20, ge=1, description="Leave BG/NBD out with fewer customers who "
                                            "bought more than once before the cutoff (a fit on a handful is noise).")
    duckdb_threads: int | None = Field(None, ge=1, description="DuckDB threads for the build (None = all cores).")
    # 1.5 GB: at 1M customers the build peaked at 2.0-2.1 GB with DuckDB's default (80% of RAM) and at 1.7 GB with
    # this, in the same time (benchmarks/features_speed.py); a box that also serves keeps its memory for the workers
    duckdb_memory_limit: str | None = Field("1.5GB", pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$",
                                            description="DuckDB memory limit for the build, e.g. '4GB' (None = "
                                            "DuckDB's default, 80% of RAM); above it DuckDB spills to disk.")

    engine: Literal["duckdb", "spark"] = Field("duckdb", description="Where the feature queries run: duckdb "
                                               "(embedded) or spark (Ibis' PySpark backend: SPARK_REMOTE or "
                                               "SPARK_MASTER from the environment, else local[2]).")
    cache: bool = Field(True, description="Keep a shop folder's checked tables as Parquet in "
                        "<shop>/.retention-cache, keyed by the files' path, size and mtime, so that later commands "
                        "skip the contract checks.")
    spark_conf: dict[str, str] = Field(default_factory=dict, description="Extra Spark settings for the session, "
                                       "e.g. {spark.driver.memory: 8g} (see features/data/spark.py for defaults).")

    @field_validator("families")
    @classmethod
    def _known_families(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in value if f not in FAMILIES]
        if unknown:
            raise ValueError(f"unknown feature families {unknown}; expected some of {', '.join(FAMILIES)}")
        return value
