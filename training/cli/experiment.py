"""A/B experiments of recommender versions in the running service: experiment start, results, stop [--promote].

The experiment is kept where the service reads it (``serving.experiments``): in Redis when RETENTION_REDIS_URL is
set (every worker and replica), else in ``<shop>/experiments/`` (one machine). Running services pick up a start
or a stop within a second, without a reload.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from training.cli.common import DataOption, bad_input_exits, console
from training.cli.lifecycle import ConfigOption

if TYPE_CHECKING:
    from models.inference.config import RegistryConfig
    from serving.experiments import Store
    from training.experiments import Results

experiment_app = typer.Typer(help="A/B tests of recommender versions in the running service.", no_args_is_help=True)
NameOption = typer.Option(..., "--name", help="The experiment's name (letters, digits, '.', '_', '-').")


def _store(data: Path) -> Store:
    from serving.experiments import store_for

    return store_for(data, os.environ.get("RETENTION_REDIS_URL") or None)


@experiment_app.command()
def start(
    name: str = NameOption,
    challenger: str = typer.Option(..., "--challenger", help="The recommender version to test against the champion."),
    share: float = typer.Option(0.5, "--share", min=0.01, max=0.99, help="Share of customers in the challenger arm."),
    seed: int = typer.Option(0, "--seed", help="Seed of the customers' hash (a new seed: a new split)."),
    data: Path = DataOption,
    config: Path | None = ConfigOption,
) -> None:
    """Split the storefront's customers between the champion recommender and a challenger version, by a seeded hash
    of the customer id (stable per customer). Answers carry model_version and arm; what was shown is logged.

    Example: retention experiment start --name als-v7 --challenger 7 --share 0.5 --data data/demo
    """
    from models.inference import registry
    from serving.experiments import Experiment, check_name
    from training.config import load_config

    with bad_input_exits():
        check_name(name)
        cfg = load_config(config)
        r = cfg.registry
        store = _store(data)
        running = store.running()
        if running is not None:
            raise ValueError(f"experiment {running.name!r} is still running; stop it first (`retention experiment "
                             f"stop --name {running.name} --data {data}`)")
        if store.get(name) is not None:
            raise ValueError(f"an experiment named {name!r} exists already: its results stay readable; choose a "
                             "new name")
        champion = registry.resolve((r.recommender_name,), r.champion_alias).versions.get(r.recommender_name)
        if champion is None:
            raise ValueError(f"no champion {r.recommender_name!r} to test against: run `retention train` first")
        if str(champion["version"]) == challenger:
            raise ValueError(f"version {challenger} is the champion already: choose another version "
                             "(`retention models` lists them)")
        registry.load_registered(f"models:/{r.recommender_name}/{challenger}")  # refuses a version that is gone
        experiment = Experiment(name, challenger, str(champion["version"]), share, seed,
                                cfg.storefront.experiment_window_hours, datetime.now().isoformat(timespec="seconds"))
        store.save(experiment, running=True)
    console.print(f"Experiment {name}: {share:.0%} of customers get {r.recommender_name} v{challenger}, the others "
                  f"the champion v{champion['version']}. Running services follow within a second.", highlight=False)


@experiment_app.command()
def results(
    name: str = NameOption,
    data: Path = DataOption,
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Per arm: customers, lists shown, click-through, conversion, revenue per customer; the challenger's difference
    with 95% intervals, and a sentence saying whether it is clear.

    Example: retention experiment results --name als-v7 --data data/demo
    """
    found = _results(name, data)
    if as_json:
        console.print_json(json.dumps(found.as_dict()))
        return
    table = Table(title=f"Experiment {name}")
    for column in ("arm", "version", "customers", "lists shown", "click-through", "conversion", "revenue/customer"):
        table.add_column(column, justify="left" if column == "arm" else "right")
    for arm, row in found.arms.items():
        version = found.experiment.challenger if arm == "challenger" else found.experiment.champion
        table.add_row(arm, version, f"{row['customers']:,.0f}", f"{row['lists_shown']:,.0f}",
                      f"{row['click_through']:.1%}", f"{row['conversion']:.1%}", f"{row['revenue_per_customer']:.2f}")
    console.print(table)
    for metric, (diff, low, high) in found.differences.items():
        console.print(f"{metric}: challenger - champion {diff:+.4f} (95% interval {low:+.4f} to {high:+.4f})",
                      highlight=False)
    for note in found.notes:
        console.print(note, highlight=False)
    console.print(found.sentence, highlight=False)


def _results(name: str, data: Path) -> Results:
    from features.analytics.segments import default_cutoff
    from features.data.reader import read_shop
    from serving.catalog import load_catalog
    from serving.config import JOURNAL_FOLDER
    from training.experiments import experiment_results

    with bad_input_exits():
        experiment = _store(data).get(name)
        if experiment is None:
            raise ValueError(f"no experiment named {name!r} (start one with `retention experiment start`)")
        shop = read_shop(data)
        prices = dict(load_catalog(shop, default_cutoff(shop.transactions), 30).price)
        base = data if data.is_dir() else data.parent
        return experiment_results(experiment, data, base / JOURNAL_FOLDER, prices)


@experiment_app.command()
def stop(
    name: str = NameOption,
    data: Path = DataOption,
    config: Path | None = ConfigOption,
    promote: bool = typer.Option(False, "--promote", help="Make the winner the champion through the release record "
                                 "(only when it is better outside the noise)."),
) -> None:
    """Stop the experiment (every customer gets the champion again); with --promote, a challenger that sells more per
    customer outside the noise becomes the champion (a new release record, kill-safe, as `retention promote`).

    Example: retention experiment stop --name als-v7 --data data/demo --promote
    """
    from training.config import load_config
    from training.experiments import winner

    found = _results(name, data)
    with bad_input_exits():
        store = _store(data)
        experiment = store.get(name)
        assert experiment is not None
        store.save(replace(experiment, stopped=datetime.now().isoformat(timespec="seconds")), running=False)
    console.print(f"Experiment {name} stopped: {found.sentence}.", highlight=False)
    if not promote:
        return
    best = winner(found)
    if best != "challenger":
        console.print("Nothing promoted: " + ("the champion is better." if best == "champion" else
                                              "the difference is not clear yet."), highlight=False)
        return
    with bad_input_exits():
        r = load_config(config).registry
        record = _promote_challenger(r, experiment.challenger)
    console.print(f"Release {record['id']}: {r.recommender_name} v{experiment.challenger} is the champion. Running "
                  "services pick it up on POST /admin/reload.", highlight=False)


def _promote_challenger(r: RegistryConfig, version: str) -> dict[str, Any]:
    from training import tracking
    from training.register import _checkpoint
    from training.registry_lock import release_lock

    with release_lock(tracking._client()):  # one writer of the release record at a time, as train and promote
        record = tracking.write_release({r.recommender_name: {r.champion_alias: version}}, None, "experiment")
        _checkpoint("experiment:release")
        tracking.complete_release(record)
    return record


def register(app: typer.Typer) -> None:
    app.add_typer(experiment_app, name="experiment")
