"""backtest: the champions at a past cutoff, by predicted decile, predicted against what really happened."""

from __future__ import annotations

import math
from pathlib import Path

import typer
from rich.table import Table

from training.cli.common import DataOption, bad_input_exits, console, load_shop
from training.cli.outputs import refuse_shop_paths


def backtest(
    data: Path = DataOption,
    cutoff: str | None = typer.Option(None, "--cutoff", help="Score as of this date (YYYY-MM-DD) and compare with "
                                      "the next horizon. Default: the last complete horizon of the data."),
    config: Path | None = typer.Option(None, "--config", help="Run configuration (YAML): which registry names."),
    out: Path | None = typer.Option(None, "--out", help="Also write the table here (.csv or .parquet)."),
) -> None:
    """Backtest the champions: customers by predicted decile, the mean prediction next to what happened.

    For churn probability, golden probability, expected value, expected orders and days to the next order:
    decile 1 holds the lowest tenth of predictions, 10 the highest. The champions may have trained on days of
    the default cutoff's horizon; pick an earlier --cutoff for an out-of-sample look.

    Example: retention backtest --data data/demo --cutoff 2026-06-01
    """
    from features.data.io import output_format, write_frame
    from features.orders import cutoff_datetime
    from models.inference.score import load_champions
    from training.backtest import backtest_champions
    from training.config import load_config

    with bad_input_exits():
        refuse_shop_paths(data, out)
        if out is not None:
            output_format(out)
        cfg = load_config(config)
        as_of = cutoff_datetime(cutoff) if cutoff is not None else None
        shop = load_shop(data)
        with console.status("Loading the champions and scoring the past cutoff ..."):
            champions = load_champions(cfg.registry)
            result = backtest_champions(shop, champions, as_of)
        if out is not None:
            write_frame(result.table, out)
    versions = ", ".join(f"{task} v{v} ({champions.models[task].source})" for task, v in champions.versions.items())
    console.print(f"Champions {versions}; cutoff {result.cutoff:%Y-%m-%d}, horizon {result.horizon_days} days, "
                  f"{result.customers:,} customers", highlight=False, soft_wrap=True)
    for name, rows in result.table.groupby("prediction", sort=False):
        table = Table(title=f"{name}: predicted vs actual {rows['actual'].iloc[0]} by decile")
        extra = name == "next_order_days"
        for column in ("decile", "customers", "predicted", "actual", *(("ordered",) if extra else ())):
            table.add_column(column, justify="right")
        for r in rows.itertuples(index=False):
            cells = [str(r.decile), f"{r.customers:,}", _num(r.mean_predicted), _num(r.mean_actual)]
            table.add_row(*cells, *((f"{r.ordered_share:.0%}",) if extra else ()))
        console.print(table)
    if out is not None:
        console.print(f"wrote {out}: {len(result.table)} rows")


def _num(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.3f}" if abs(value) < 10 else f"{value:,.1f}"


def register(app: typer.Typer) -> None:
    app.command()(backtest)
