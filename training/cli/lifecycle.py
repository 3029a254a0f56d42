"""Life-cycle commands for the ML engineer: models (every version, the champions over time), promote, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from training.cli.common import DataOption, bad_input_exits, console, load_shop, tidy_registry

ConfigOption = typer.Option(None, "--config", help="Run configuration (YAML); default: the built-in defaults.")


def _table(title: str, rows: list[dict[str, Any]]) -> Table:
    table = Table(title=title)
    for column in rows[0] if rows else ():
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    return table


def models(
    model: str | None = typer.Option(None, "--model", help="Only this model: churn, golden, value or recommender."),
    history: bool = typer.Option(False, "--history", help="The champion of each model over time, one row per "
                                 "release (* marks the one served now)."),
    config: Path | None = ConfigOption,
) -> None:
    """Every registered version: run, training cutoff, data fingerprint, holdout metric next to the baselines,
    model_source, the alias it holds and the releases it was champion in; --history: the champions over time.

    Example: retention models --model churn; retention models --history
    """
    from models.inference import registry
    from training.config import load_config
    from training.releases import champions_over_time, versions_table

    with bad_input_exits():
        cfg = load_config(config)
        if not registry.store_exists():
            raise ValueError(f"no MLflow registry at {registry.shown_uri()}: run `retention train --data DIR` first "
                             "(or set MLFLOW_TRACKING_URI to the registry you trained into)")
        tidy_registry()
        rows = champions_over_time(cfg.registry) if history else versions_table(cfg.registry, model)
        notes = registry.resolve(_names(cfg), cfg.registry.champion_alias).notes
    title = "Champions over time (one row per release; * = served now)" if history else \
        f"Registered versions at {registry.shown_uri()}"
    if not rows:
        console.print("No release yet: run `retention train --data DIR`." if history else "No registered version yet.")
    else:
        console.print(_table(title, rows))
    for note in notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)


def _names(cfg: Any) -> list[str]:
    r = cfg.registry
    return [r.churn_name, r.golden_name, r.value_name, r.recommender_name]


def promote(
    release: int = typer.Option(..., "--release", help="The release to serve again (`retention models --history`)."),
    data: Path = DataOption,
    config: Path | None = ConfigOption,
) -> None:
    """Serve a past release again: all four champions move together through a new release record (kill-safe, as
    `train`). Refused, with nothing moved, when a version lost its files or needs data this shop no longer has.

    Example: retention promote --release 3 --data data/demo
    """
    _move(data, config, release)


def rollback(
    data: Path = DataOption,
    config: Path | None = ConfigOption,
) -> None:
    """Go back to the release before the current one (all four champions together); twice goes two steps back.

    Example: retention rollback --data data/demo
    """
    _move(data, config, None)


def _move(data: Path, config: Path | None, release: int | None) -> None:
    from training.cli.models import _quiet_steps
    from training.config import load_config
    from training.releases import promote as promote_release
    from training.releases import rollback_target

    _quiet_steps()
    with bad_input_exits():
        cfg = load_config(config)
        shop = load_shop(data, cfg.features)
        tidy_registry()
        target = rollback_target() if release is None else release
        with console.status(f"Checking release {target} on {data} ..."):
            moved = promote_release(target, shop, cfg.registry, "promote" if release is not None else "rollback")
    if not moved.changes:
        console.print(f"Release {target} is already served; nothing moved.", highlight=False)
        return
    console.print(f"Release {moved.record['id']}: {moved.record['kind']} of release {target}: "
                  f"{'; '.join(moved.changes)}. Running services pick it up on POST /admin/reload.", highlight=False,
                  soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command()(models)
    app.command()(promote)
    app.command()(rollback)
