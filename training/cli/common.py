"""What every command shares: the console, logging set-up at the entry point, and turning bad input into exit 2."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.logging import RichHandler

from features.data.contract import ShopDataError
from features.data.reader import Shop, read_shop

console = Console(stderr=False)
err_console = Console(stderr=True)

EXIT_BAD_INPUT = 2


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr through rich; called once by the CLI entry point, never on import."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=err_console, show_path=False)], force=True)
    for noisy in ("mlflow", "alembic", "urllib3", "git", "matplotlib", "numba", "implicit"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


@contextmanager
def bad_input_exits() -> Iterator[None]:
    """Print contract errors and other bad-input errors plainly and exit with code 2 (no traceback)."""
    try:
        yield
    except ShopDataError as exc:
        err_console.print(f"[bold red]The data does not meet the contract ({len(exc.problems)} problem(s)):[/]")
        for problem in exc.problems:
            err_console.print(f"  - {problem}", highlight=False, soft_wrap=True)
        err_console.print("Nothing was written.")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except (FileNotFoundError, ValueError) as exc:
        err_console.print(f"[bold red]Error:[/] {exc}", highlight=False, soft_wrap=True)
        err_console.print("Nothing was written.")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def load_shop(data: Path) -> Shop:
    """Read and check a shop; the caller wraps it in ``bad_input_exits``."""
    with console.status(f"Reading and checking {data} ..."):
        return read_shop(data)


DataOption = typer.Option(..., "--data", help="Shop folder (transactions, events, customers, items as CSV/Parquet) "
                          "or a DuckDB database file.", exists=False)
