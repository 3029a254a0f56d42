"""Life-cycle commands for the ML engineer: models (every version, the champions over time), promote, rollback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from training.cli.common import DataOption, bad_input_exits, console, load_shop, quiet_steps, tidy_registry

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
    from training.config import load_config
    from training.releases import promote as promote_release
    from training.releases import rollback_target

    quiet_steps()
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


def monitor(
    data: Path = DataOption,
    out: Path | None = typer.Option(None, "--out", help="Also write the figures (.csv or .parquet): one row per "
                                    "score, feature and realised metric."),
    config: Path | None = ConfigOption,
    log: bool = typer.Option(True, "--log/--no-log", help="Log the figures to MLflow (experiment "
                             "<registry.experiment>-monitor)."),
) -> None:
    """Has the shop drifted from what the champions learnt? PSI and missing share of every feature and champion
    score between the champions' newest training window and now, and the realised quality of their past
    predictions next to the holdout figure they were promoted on. Exit 0 within the config's monitor
    thresholds, 3 when drift or decay says retrain.

    Example: retention monitor --data data/demo --out out/monitor.csv
    """
    from features.data.io import output_format, write_frame
    from training.config import load_config
    from training.monitor import RETRAIN_EXIT, log_monitor
    from training.monitor import monitor as run_monitor

    quiet_steps()
    with bad_input_exits():
        if out is not None:
            output_format(out)
        cfg = load_config(config)
        shop = load_shop(data, cfg.features)
        tidy_registry()
        with console.status("Comparing the champions' training window with now ..."):
            result = run_monitor(shop, cfg)
        if out is not None:
            write_frame(_flat(result), out)
        run_id = log_monitor(result, cfg) if log else None
    console.print(_drift_table(result))
    if len(result.realised):
        console.print(_table("Realised quality of past predictions against the holdout they were promoted on",
                             [{k: _cell(v) for k, v in row.items()} for row in result.realised.to_dict("records")]))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    console.print(("[bold red]" if result.retrain else "[bold green]") + result.sentence + "[/]", highlight=False,
                  soft_wrap=True)
    if run_id:
        console.print(f"logged to MLflow run {run_id}", highlight=False)
    if result.retrain:
        raise typer.Exit(RETRAIN_EXIT)


SHOWN_FEATURES = 12


def _drift_table(result: Any) -> Table:
    drift = result.drift
    scores = drift[drift["kind"] == "score"]
    features = drift[drift["kind"] == "feature"].sort_values("psi", ascending=False)
    rows = [{k: _cell(v) for k, v in row.items()} for row in
            [*scores.to_dict("records"), *features.head(SHOWN_FEATURES).to_dict("records")]]
    title = (f"Drift {result.reference:%Y-%m-%d} -> {result.now:%Y-%m-%d}: the champions' scores and the "
             f"{min(SHOWN_FEATURES, len(features))} most shifted of {len(features)} features")
    return _table(title, rows)


def _cell(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else ""
    if isinstance(v, float):
        return "-" if v != v else f"{v:.3f}"
    return "-" if v is None else str(v)


def _flat(result: Any) -> Any:
    import pandas as pd

    realised = result.realised.rename(columns={"task": "name"}).assign(kind="realised")
    return pd.concat([result.drift, realised], ignore_index=True)


def register(app: typer.Typer) -> None:
    app.command()(models)
    app.command()(promote)
    app.command()(rollback)
    app.command()(monitor)
