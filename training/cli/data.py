"""Data commands: make the demo shop, import CDNOW, validate a shop."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from training.cli.common import CacheOption, DataOption, bad_input_exits, console, load_shop

if TYPE_CHECKING:
    from features.data.summary import ShopSummary


class FileFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"


class DemoProfile(StrEnum):
    shop = "shop"
    durable = "durable"


def validate(
    data: Path = DataOption,
    cache: bool = CacheOption,
    max_amount_z: float = typer.Option(8.0, "--max-amount-z", min=1.0, help="Warn about line amounts whose robust "
                                       "z-score (log scale, median and MAD of all lines) is over this."),
) -> None:
    """Check a shop against the data contract and print what it holds.

    Exits 0 when the data is usable (warnings are printed), 2 with every problem listed when it is not. Files
    unchanged since the last check (same path, size, mtime) are not checked again unless --no-cache.

    Example: retention validate --data data/demo
    """
    from features.data.plausibility import plausibility_warnings
    from features.data.summary import shop_summary

    with bad_input_exits():
        shop = load_shop(data, cache=cache)
        summary = shop_summary(shop)
        implausible = plausibility_warnings(shop.sql, set(shop.columns), max_amount_z)
    for warning in [*map(str, shop.warnings), *implausible]:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False, soft_wrap=True)
    console.print(summary_table(summary))
    console.print(availability_table(summary))
    console.print(f"[green]OK[/]: {data} meets the data contract.")


def summary_table(s: ShopSummary) -> Table:
    table = Table(title=f"Shop {s.source}", show_header=False)
    rows = [
        ("transaction lines", f"{s.lines:,}"), ("orders", f"{s.orders:,}"), ("customers", f"{s.customers:,}"),
        ("items", f"{s.items:,}" if s.items is not None else "no item_id column"),
        ("date range", f"{s.first_order:%Y-%m-%d} to {s.last_order:%Y-%m-%d}"),
        ("net revenue", f"{s.net_revenue:,.2f}"), ("return lines", f"{s.return_lines:,}"),
        ("repeat customers", f"{s.repeat_customer_share:.1%} ordered more than once"),
    ]
    rows += [(f"table {name}", f"{n:,} rows") for name, n in s.tables.items()]
    rows += [("absent tables", ", ".join(s.absent_tables) or "none")]
    rows += [(f"{name}: optional columns", ", ".join(cols) or "none") for name, cols in s.optional_columns.items()]
    rows += [(f"{name}: missing columns", ", ".join(cols)) for name, cols in s.missing_columns.items() if cols]
    for key, value in rows:
        table.add_row(key, value)
    return table


def availability_table(s: ShopSummary) -> Table:
    table = Table(title="Features this data enables")
    table.add_column("enabled", style="green")
    table.add_column("left out (and what would enable it)", style="yellow")
    for i in range(max(len(s.enabled), len(s.disabled))):
        table.add_row(s.enabled[i] if i < len(s.enabled) else "", s.disabled[i] if i < len(s.disabled) else "")
    return table


def demo_data(
    out: Path = typer.Option(..., "--out", help="Folder to write transactions, events, customers and items to."),
    customers: int = typer.Option(20_000, "--customers", min=100, help="Number of customers."),
    seed: int = typer.Option(42, "--seed", help="Random seed; the same seed gives the same shop."),
    fmt: FileFormat = typer.Option(FileFormat.parquet, "--format", help="File format."),
    profile: DemoProfile = typer.Option(DemoProfile.shop, "--profile",
                                        help="shop (re-buys, consumables) or durable (each item bought once)."),
) -> None:
    """Generate the demo shop: two years of a believable online shop's orders, site events, customers, items.

    Example: retention demo-data --out data/demo --customers 20000 --seed 42 [--profile durable]
    """
    from features.data.io import writable_folder
    from features.demo.shop import DemoConfig, generate_shop, write_shop

    with bad_input_exits():
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {out} is a file; give a folder to write the tables to")
        writable_folder(out)
        with console.status(f"Generating a shop of {customers:,} customers ..."):
            tables = generate_shop(DemoConfig(customers=customers, seed=seed, profile=profile.value))
            paths = write_shop(tables, out, fmt.value)
    for path in paths:
        console.print(f"wrote {path}")


def import_cdnow(
    file: Path = typer.Argument(..., help="CDNOW_master.txt or CDNOW_sample.txt", exists=True, dir_okay=False),
    out: Path = typer.Option(..., "--out", help="Folder to write transactions to."),
    fmt: FileFormat = typer.Option(FileFormat.parquet, "--format", help="File format."),
) -> None:
    """Convert the CDNOW purchase data into the data contract: one order per customer and day.

    Example: retention import-cdnow ../shared/data/CDNOW_master.txt --out data/cdnow
    """
    from features.data.cdnow import cdnow_transactions, read_cdnow
    from features.data.io import write_frame

    with bad_input_exits():
        lines = read_cdnow(file)
        transactions = cdnow_transactions(lines)
        path = write_frame(transactions, out / f"transactions.{fmt.value}", for_people=False)  # a shop table
    console.print(f"wrote {path}: {len(lines):,} lines, {transactions['customer_id'].nunique():,} customers, "
                  f"{transactions['order_id'].nunique():,} orders")


def register(app: typer.Typer) -> None:
    app.command()(validate)
    app.command("demo-data")(demo_data)
    app.command("import-cdnow")(import_cdnow)
