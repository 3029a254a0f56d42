"""What every command shares: the console, logging set-up at the entry point, and turning bad input into exit 2."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape

from features.data.contract import ShopDataError

if TYPE_CHECKING:  # pandas, Ibis and DuckDB load inside the commands, so `retention --help` stays fast
    from features.data.reader import Shop
    from features.families.config import FeaturesConfig

PIPE_WIDTH = 200  # rich would wrap tables and log lines at 80 columns when writing to a file or a pipe


def _console(stderr: bool) -> Console:
    """Return a console: a terminal's own width, or a wide one when the output is a file or a pipe (CI, logs);
    COLUMNS, when set, still decides."""
    stream = sys.stderr if stderr else sys.stdout
    wide = None if os.environ.get("COLUMNS") or stream.isatty() else PIPE_WIDTH
    return Console(stderr=stderr, width=wide)


console = _console(stderr=False)
err_console = _console(stderr=True)

EXIT_BAD_INPUT = 2


def setup_logging(verbose: bool = False) -> None:
    """Log to stderr through rich; called once by the CLI entry point, never on import."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", datefmt="[%X]",
                        handlers=[RichHandler(console=err_console, show_path=False)], force=True)
    for noisy in ("mlflow", "alembic", "urllib3", "git", "matplotlib", "numba", "implicit", "py4j"):
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
    except (FileNotFoundError, ValueError, _engine_error(), _registry_error()) as exc:
        err_console.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        err_console.print("Nothing was written.")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _registry_error() -> type[Exception]:
    from models.inference.registry import RegistryUnavailableError

    return RegistryUnavailableError


def _engine_error() -> type[Exception]:
    from features.data.engine import EngineUnavailableError

    return EngineUnavailableError


def load_shop(data: Path, cfg: FeaturesConfig | None = None, engine: str | None = None,
              cache: bool = True) -> Shop:
    """Read and check a shop and put it on the engine (``engine``, else the config's); the caller wraps it in
    ``bad_input_exits``. ``cache=False`` (``--no-cache``) or ``features.cache: false`` checks the files again."""
    from features.data.engine import open_shop
    from features.families.config import FeaturesConfig

    cfg = cfg or FeaturesConfig()
    chosen = engine or cfg.engine
    if chosen not in ("duckdb", "spark"):
        raise ValueError(f"--engine {chosen!r}: expected duckdb or spark")
    with console.status(f"Reading and checking {data} ({chosen}) ..."):
        return open_shop(data, chosen, cache=cache and cfg.cache, spark_conf=cfg.spark_conf)  # type: ignore[arg-type]


DataOption = typer.Option(..., "--data", help="Shop folder (transactions, events, customers, items as CSV/Parquet) "
                          "or a DuckDB database file.", exists=False)


EngineOption = typer.Option(None, "--engine", help="Where the queries run: duckdb (embedded) or spark (Ibis' "
                            "PySpark backend; SPARK_REMOTE or SPARK_MASTER, else local[2]). Default: the config's "
                            "features.engine, duckdb.")
CacheOption = typer.Option(True, "--cache/--no-cache", help="Reuse the checked tables kept in "
                           "<data>/.retention-cache when the files have not changed (--no-cache checks them again).")


def tidy_registry() -> None:
    """Repair what a killed ``train`` left in the registry (dead runs marked FAILED, an interrupted release
    completed, orphan versions deleted) and say so; does nothing when no registry exists yet."""
    from models.inference.registry import answered
    from training.tracking import recover

    for note in answered("tidying the registry", recover) or []:
        err_console.print(f"[yellow]registry:[/] {note}", highlight=False, soft_wrap=True)


LangOption = typer.Option("en", "--lang", help="en or ru: reasons, rules and sentences, numbers and dates.")


def checked_lang(lang: str) -> str:
    """Return ``lang`` when it is en or ru; raise ValueError (exit 2 with a sentence) otherwise."""
    if lang not in ("en", "ru"):
        raise ValueError(f"--lang {lang!r}: expected en or ru")
    return lang


def quiet_steps() -> None:
    """Keep per-window INFO lines of the feature build out of the progress display (shown with --verbose)."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in ("features", "training.windows", "models"):
            logging.getLogger(name).setLevel(logging.WARNING)
