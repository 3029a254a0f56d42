"""The ``retention`` command line: one app, each life-cycle step a command registered from its own module."""

from __future__ import annotations

import typer

from training.cli import (
    backtest,
    campaigns,
    data,
    experiment,
    features,
    lifecycle,
    models,
    recommend,
    report,
    segments,
    serve,
    uplift,
)
from training.cli.common import setup_logging

app = typer.Typer(
    name="retention",
    help="Golden customers, churn risk, customer value and recommendations from a shop's order history.\n\n"
    "Example: retention demo-data --out data/demo && retention validate --data data/demo",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Show debug logging.")) -> None:
    setup_logging(verbose)


for module in (data, features, segments, models, lifecycle, backtest, recommend, campaigns, report, serve, uplift,
               experiment):
    module.register(app)
