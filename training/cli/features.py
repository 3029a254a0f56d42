"""The ``features`` command: point-in-time customer features as of a cutoff, written to one file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from training.cli.common import CacheOption, DataOption, EngineOption, bad_input_exits, console, load_shop
from training.cli.outputs import refuse_shop_paths

if TYPE_CHECKING:
    from features.data.reader import Shop
    from features.families.config import FeaturesConfig
    from features.families.sql_build import FeatureTable


def features(
    data: Path = DataOption,
    cutoff: str = typer.Option(..., "--cutoff", help="Only rows before this date (or ISO datetime) are read, "
                               "e.g. 2024-01-01."),
    out: Path = typer.Option(..., "--out", help="Output file, .parquet or .csv: one row per customer."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="DuckDB threads (default: the config's "
                                       "features.duckdb_threads, else all cores)."),
    config: Path | None = typer.Option(None, "--config", help="Run configuration (YAML) whose features section "
                                       "is used; default: the built-in defaults, the same as configs/default.yaml."),
    engine: str | None = EngineOption,
    cache: bool = CacheOption,
) -> None:
    """Write one row of behavioural features per customer with an order before the cutoff.

    Families: RFM, cadence and BG/NBD, basket, categories, promotions, site behaviour, channel, timing and
    profile. A family whose table or column is missing is left out, and the command says so.

    Example: retention features --data data/demo --cutoff 2024-01-01 --out features.parquet --engine spark
    """
    from features.cutoff import cutoff_datetime
    from features.data.io import output_format

    with bad_input_exits():
        refuse_shop_paths(data, out)
        suffix = output_format(out)
        as_of = cutoff_datetime(cutoff)
        cfg = _features_config(config, threads)
        shop = load_shop(data, cfg, engine, cache)
        with console.status(f"Building features as of {as_of:%Y-%m-%d %H:%M} ..."):
            result = _written_features(shop, as_of, cfg, out, suffix)
    console.print(families_table(result.included, result.left_out))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    console.print(f"wrote {out}: {result.rows:,} customers x {len(result.columns) - 1} features "
                  f"as of {as_of:%Y-%m-%d %H:%M}", highlight=False)


def _features_config(config: Path | None, threads: int | None) -> FeaturesConfig:
    """The config's features section (the defaults without --config: the whole run config, models and all, is
    only loaded when a file is given), with --threads applied."""
    from features.families.config import FeaturesConfig

    if config is None:
        cfg = FeaturesConfig()
    else:
        from training.config import load_config

        cfg = load_config(config).features
    return FeaturesConfig(**{**cfg.model_dump(), **({"duckdb_threads": threads} if threads else {})})


def _written_features(shop: Shop, as_of: datetime, cfg: FeaturesConfig, out: Path, suffix: str) -> FeatureTable:
    """Build and write the features; on DuckDB the table goes from DuckDB to Parquet without pandas or Ibis."""
    from features.families.sql import feature_table, write_parquet
    from features.families.sql_build import FeatureTable

    if shop.engine == "duckdb" and suffix == ".parquet":
        with feature_table(shop, as_of, cfg) as table:
            write_parquet(shop, table, out)
        return table
    from features.data.io import write_frame
    from features.families.build import build_features

    built = build_features(shop, as_of, cfg)
    write_frame(built.frame, out)
    return FeatureTable("", as_of, {c: str(t) for c, t in built.frame.dtypes.items()}, len(built.frame),
                        built.included, built.left_out, built.notes)


def families_table(included: dict[str, str], left_out: dict[str, str]) -> Table:
    table = Table(title="Feature families")
    table.add_column("family")
    table.add_column("status")
    table.add_column("what / why")
    for name, doc in included.items():
        table.add_row(name, "[green]included[/]", doc)
    for name, why in left_out.items():
        table.add_row(name, "[yellow]left out[/]", why)
    return table


def register(app: typer.Typer) -> None:
    app.command()(features)
