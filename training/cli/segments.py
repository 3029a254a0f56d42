"""Marketer commands: customer segments, base-health metrics with cohorts, and the ABC/XYZ product table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import Progress
from rich.table import Table

from training.cli.common import CacheOption, DataOption, EngineOption, bad_input_exits, console, load_shop
from training.cli.outputs import refuse_shop_paths

if TYPE_CHECKING:  # pandas, Ibis and DuckDB load inside the commands, so `retention --help` stays fast
    import pandas as pd

    from features.data.reader import Shop

ConfigOption = typer.Option(None, "--config", help="Run configuration (YAML) whose settings this command uses; "
                            "default: the built-in defaults, the same as configs/default.yaml.")
CutoffOption = typer.Option(None, "--cutoff", help="Cutoff date (YYYY-MM-DD): only orders before it are read. "
                            "Default: the day after the last order.")


SHORT_NAMES = {"new_customers": "new", "active_customers": "active", "avg_check": "avg check",
               "repeat_customer_share": "repeat cust.", "repeat_revenue_share": "repeat rev.",
               "customers_to_date": "customers", "churned_customers": "churned", "churn_rate": "churn rate",
               "reactivated_customers": "reactivated", "golden_revenue_share": "golden rev.",
               "dead_contact_share": "dead contacts"}


def parse_cutoff(cutoff: str | None) -> datetime | None:
    """Return the cutoff as a datetime, or None for the default; a bad date is a ValueError (exit 2)."""
    from features.orders import cutoff_datetime

    return None if cutoff is None else cutoff_datetime(cutoff)


def checked_cutoff(shop: Shop, as_of: datetime | None) -> datetime:
    """Return the cutoff (default: the day after the last order); refuse one before every purchase, as
    ``features``, ``score`` and ``train`` do, rather than write an empty table with 'nan%' shares."""
    from features.analytics.segments import default_cutoff
    from features.orders import require_purchase_before

    as_of = as_of or default_cutoff(shop.transactions)
    require_purchase_before(shop.transactions, as_of)
    return as_of


def cohorts_path(out: Path) -> Path:
    """Return where the cohort table goes: next to ``out`` with ``_cohorts`` before the suffix."""
    return out.with_name(f"{out.stem}_cohorts{out.suffix}")


def segments(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output file, .csv or .parquet: one row per customer."),
    cutoff: str | None = CutoffOption,
    migration: Path | None = typer.Option(None, "--migration", help="Also write the migration matrix (previous "
                                          "segment in rows, segment at the cutoff in columns) to this file."),
    previous_days: float | None = typer.Option(None, "--previous-days", min=1, help="previous_segment is as of "
                                               "cutoff - N (default: the config's segments.previous_days, 90)."),
    golden_share: float | None = typer.Option(None, "--golden-share", min=0.01, max=0.99,
                                             help="Top share that is golden (default: segments.golden_share, 0.2)."),
    churn_k: float | None = typer.Option(None, "--churn-k", min=0.1, help="Churned after k x own usual gap without "
                                         "order (default: segments.churn_k, 2)."),
    config: Path | None = ConfigOption,
    engine: str | None = EngineOption,
    cache: bool = CacheOption,
) -> None:
    """RFM cells, named segments, golden, churned and dead-contact flags for every customer, and who moved where.

    Example: retention segments --data data/demo --out out/segments.csv --migration out/migration.csv
    """
    from features.analytics.segment_rules import SegmentsConfig
    from features.analytics.segments import migration_matrix, segment_counts, segment_customers
    from features.data.io import output_format, write_frames
    from training.config import load_config

    with bad_input_exits():
        refuse_shop_paths(data, out, migration)
        for path in (out, migration):
            if path is not None:
                output_format(path)
        given = {"previous_days": previous_days, "golden_share": golden_share, "churn_k": churn_k}
        run = load_config(config)
        cfg = run.segments.model_copy(update={k: v for k, v in given.items() if v is not None})
        cfg = SegmentsConfig(**cfg.model_dump())  # validated again with the overrides
        as_of = parse_cutoff(cutoff)
        shop = load_shop(data, run.features, engine, cache)
        checked_cutoff(shop, as_of)
        with console.status("Computing segments ..."):
            result = segment_customers(shop, as_of, cfg)
        moves = migration_matrix(result.customers)
        outputs = {out: result.customers}
        if migration is not None:
            outputs[migration] = moves.reset_index()
        write_frames(outputs)  # both or neither
    c, th = result.customers, result.thresholds
    console.print(f"Cutoff {result.cutoff:%Y-%m-%d}: {len(c):,} customers. RFM thresholds (low, high): recency "
                  f"{_pair(th.recency_days)} days, orders {_pair(th.frequency)}, net revenue {_pair(th.monetary)} "
                  f"(tertiles of {th.base_customers:,} customers active in the last {cfg.active_days:g} days).")
    console.print(_frame_table(segment_counts(c).reset_index(), "Segments", {"share": "{:.1%}"}))
    golden = int(c["is_golden_now"].sum())
    console.print(f"Golden customers: {golden:,} (top {cfg.golden_share:.0%} of last {cfg.golden_days:g} days' "
                  f"buyers) bring [bold]{result.golden_revenue_share:.1%}[/] of that revenue.")
    console.print(f"Churned: {int(c['is_churned'].sum()):,} ({c['is_churned'].mean():.1%}); dead contacts: "
                  f"{int(c['dead_contact'].sum()):,} ({c['dead_contact'].mean():.1%}).")
    stayed = sum(moves.loc[s, s] for s in moves.columns)
    known = int(c["previous_segment"].notna().sum())
    console.print(f"Since {cfg.previous_days:g} days before: {stayed:,} of {known:,} earlier customers kept their "
                  f"segment; {len(c) - known:,} are new since.")
    console.print(f"wrote {out}" + (f" and {migration}" if migration is not None else ""))


def metrics(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output file, .csv or .parquet: one row per period. The cohort "
                             "table goes next to it as <name>_cohorts.<suffix>."),
    period: str = typer.Option("month", "--period", help="month or week (ISO weeks, Monday first)."),
    cutoff: str | None = CutoffOption,
    config: Path | None = ConfigOption,
    engine: str | None = EngineOption,
    cache: bool = CacheOption,
) -> None:
    """Base health per period (new, active, orders, revenue, checks, repeat, churn, golden share) and cohorts.

    Example: retention metrics --data data/demo --period month --out out/metrics.csv
    """
    from features.analytics.base_metrics import Period, base_metrics
    from features.analytics.cohorts import cohort_retention
    from features.data.io import output_format, write_frames
    from training.config import load_config

    with bad_input_exits():
        refuse_shop_paths(data, out, cohorts_path(out))
        output_format(out)
        output_format(cohorts_path(out))
        if period not in tuple(Period):
            raise ValueError(f"--period {period!r}: expected month or week")
        cfg = load_config(config)
        as_of = parse_cutoff(cutoff)
        shop = load_shop(data, cfg.features, engine, cache)
        as_of = checked_cutoff(shop, as_of)
        with Progress(console=console, transient=True) as bar:
            task = bar.add_task(f"Metrics per {period} ...", total=None)
            table = base_metrics(shop, Period(period), as_of, cfg.segments,
                                 progress=lambda done, total: bar.update(task, completed=done, total=total))
        cohorts = cohort_retention(shop.transactions, as_of)
        write_frames({out: table, cohorts_path(out): cohorts})  # both or neither
    shown = table.tail(12).rename(columns=SHORT_NAMES)
    fmt = {"revenue": "{:,.0f}", "avg check": "{:,.2f}", "repeat cust.": "{:.1%}", "repeat rev.": "{:.1%}",
           "churn rate": "{:.1%}", "golden rev.": "{:.1%}", "dead contacts": "{:.1%}"}
    title = f"Base health, last {len(shown)} of {len(table)} periods"
    console.print(_frame_table(shown[["period", "new", "active", "orders", "revenue", "avg check", "repeat cust.",
                                      "repeat rev."]], title, fmt))
    console.print(_frame_table(shown[["period", "customers", "churned", "churn rate", "reactivated", "golden rev.",
                                      "dead contacts"]], title + " (segment snapshots at period end)", fmt))
    first = cohorts[[c for c in cohorts.columns if c in ("cohort", "customers", "m1", "m2", "m3", "m6", "m12")]]
    console.print(_frame_table(first.head(12), "Cohort retention (first cohorts)",
                               {c: "{:.1%}" for c in first.columns if c.startswith("m")}))
    console.print(f"wrote {out} and {cohorts_path(out)}")


def products(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output file, .csv or .parquet: one row per item."),
    cutoff: str | None = CutoffOption,
    window_days: int | None = typer.Option(None, "--window-days", min=7, help="Window for ABC revenue and XYZ "
                                           "demand (default: the config's products.window_days, 364)."),
    popularity_days: int | None = typer.Option(None, "--popularity-days", min=1, help="Window for orders/customers/"
                                               "units (default: products.popularity_days, 30)."),
    config: Path | None = ConfigOption,
    engine: str | None = EngineOption,
    cache: bool = CacheOption,
) -> None:
    """ABC (revenue share), XYZ (weekly demand variability), popularity and trend of every item sold.

    Needs transactions.item_id. Example: retention products --data data/demo --out out/products.csv
    """
    import pandas as pd

    from features.analytics.products import NEEDS_ITEM_ID, ProductsConfig, product_classes
    from features.data.io import output_format, write_frame
    from training.config import load_config

    with bad_input_exits():
        refuse_shop_paths(data, out)
        output_format(out)
        given = {"window_days": window_days, "popularity_days": popularity_days}
        run = load_config(config)
        cfg = ProductsConfig(**{**run.products.model_dump(), **{k: v for k, v in given.items() if v is not None}})
        as_of = parse_cutoff(cutoff)
        shop = load_shop(data, run.features, engine, cache)
        if not shop.has("transactions", "item_id"):
            raise ValueError(NEEDS_ITEM_ID)
        as_of = checked_cutoff(shop, as_of)
        with console.status("Classifying items ..."):
            table = product_classes(shop, as_of, cfg)
        write_frame(table, out)
    grid = pd.crosstab(table["abc"], table["xyz"]).reindex(index=list("ABC"), columns=list("XYZ"), fill_value=0)
    revenue = table.groupby("abc")["revenue_share"].sum().reindex(list("ABC"), fill_value=0.0)
    grid.insert(0, "revenue share", revenue)
    console.print(_frame_table(grid.reset_index(), f"{len(table):,} items sold in the {cfg.window_days} days before "
                               f"{pd.Timestamp(as_of):%Y-%m-%d}: items per ABC x XYZ", {"revenue share": "{:.1%}"}))
    d = cfg.popularity_days
    top = table.head(10)[[c for c in ("item_id", "category", "abc_xyz", "revenue", "weekly_cv", f"units_{d}d",
                                      "trend") if c in table.columns]]
    console.print(_frame_table(top, "Top items by revenue", {"revenue": "{:,.0f}", "weekly_cv": "{:.2f}",
                                                               f"units_{d}d": "{:,.0f}", "trend": "{:+.0%}"}))
    console.print(f"wrote {out}")


def _pair(pair: tuple[float, float]) -> str:
    return f"({pair[0]:,.4g}, {pair[1]:,.4g})"


def _frame_table(frame: pd.DataFrame, title: str, formats: dict[str, str] | None = None) -> Table:
    """Return a rich table of ``frame``; NaN shows as '-'."""
    import pandas as pd

    formats = formats or {}
    table = Table(title=title)
    for column in frame.columns:
        table.add_column(str(column), justify="right" if pd.api.types.is_numeric_dtype(frame[column]) else "left")
    for row in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, row, strict=True):
            if isinstance(value, float) and pd.isna(value):
                cells.append("-")
            elif column in formats:
                cells.append(formats[column].format(value))
            elif isinstance(value, float):
                cells.append(f"{value:,.2f}")
            else:
                cells.append(f"{value:,}" if isinstance(value, int) else str(value))
        table.add_row(*cells)
    return table


def register(app: typer.Typer) -> None:
    app.command()(segments)
    app.command()(metrics)
    app.command()(products)
