"""``retention uplift train`` and ``retention uplift score``: who is worth an offer, learnt from control groups."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from training.cli.common import DataOption, bad_input_exits, console, err_console, load_shop, quiet_steps, tidy_registry
from training.cli.models import CutoffOption, _cutoff
from training.cli.outputs import refuse_shop_paths

if TYPE_CHECKING:
    from models.uplift.compare import Comparison
    from models.uplift.qini import Qini

app = typer.Typer(help="Uplift models: target the customers a campaign changes, not those who buy anyway.",
                  no_args_is_help=True)


@app.command("train")
def train(
    data: Path = DataOption,
    manifest: Path = typer.Option(..., "--manifest", help="The manifest.csv `retention campaigns` wrote (campaign, "
                                  "cutoff, customer_id, control)."),
    days: int = typer.Option(30, "--days", min=1, help="Days after the cutoff to count the outcome in."),
    outcome: str = typer.Option("ordered", "--outcome", help="ordered (placed an order, 0/1), revenue, or visited "
                                "(any site event, 0/1)."),
    campaign: list[str] = typer.Option([], "--campaign", help="Only this campaign (repeatable); default: all."),
    min_audience: int | None = typer.Option(None, "--min-audience", min=2, help="Refuse campaigns with fewer "
                                            "treated or control customers than this (default 200)."),
) -> None:
    """Learn each campaign's effect per customer from its treated and control groups; compare a T-learner, an
    X-learner and class transformation with random targeting and targeting by churn risk on held-out customers
    (Qini coefficient, 95% bootstrap interval); register the best in MLflow as uplift_<campaign> only when it beats
    random targeting outside the noise.

    Example: retention uplift train --data data/demo --manifest out/campaigns/manifest.csv --days 30
    """
    from features.campaigns.control import read_manifest
    from models.uplift.data import MIN_PER_GROUP, OUTCOMES
    from training.uplift import train_uplift

    quiet_steps()
    with bad_input_exits():
        if outcome not in OUTCOMES:
            raise ValueError(f"--outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
        book = read_manifest(manifest)
        shop = load_shop(data)
        tidy_registry()
        with console.status("Building features, fitting and comparing uplift models ..."):
            runs = train_uplift(shop, book, days, outcome, min_audience or MIN_PER_GROUP,  # type: ignore[arg-type]
                                campaign or None)
    for run in runs:
        if run.comparison is None:
            err_console.print(f"[yellow]refused:[/] {run.refused}", highlight=False, soft_wrap=True)
            continue
        console.print(qini_table(run.comparison))
        extra = run.comparison.extra
        if extra:
            console.print("the chosen model's extra order chance, Qini on orders: " + _span(extra["ordered"], 4)
                          + "; its extra revenue, Qini on revenue: " + _span(extra["revenue"], 2), highlight=False)
        for note in run.notes:
            console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
        verdict = run.comparison.verdict()
        if run.decision is not None:
            d = run.decision
            verdict += f"; registered {d.name} v{d.version} as {d.alias} ({d.reason})"
        console.print(verdict, highlight=False, soft_wrap=True)
    if not any(r.comparison is not None for r in runs):
        raise typer.Exit(2)


def qini_table(c: Comparison) -> Table:
    """Return the candidates' Qini coefficients with their intervals, side by side (the chosen one marked)."""
    table = Table(title=f"{c.campaign}: Qini on {len(c.holdout):,} held-out customers (higher is better; random = 0)")
    for column in ("candidate", "Qini", "95% interval", "vs churn risk (95%)", "top 30% gets"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    for r in c.table.itertuples(index=False):
        mark = " (chosen)" if r.kind == c.chosen else ""
        versus = "-" if r.kind in ("random", "churn") else f"{r.vs_churn_low:+.4f} to {r.vs_churn_high:+.4f}"
        table.add_row(f"{r.candidate}{mark}", f"{r.qini:.4f}", f"{r.low:.4f} to {r.high:.4f}", versus,
                      f"{r.top30_share:.0%}")
    table.caption = "random targeting: mean and 2.5-97.5% range of 200 random orders of the same customers"
    return table


def _span(q: Qini, digits: int) -> str:
    return f"{q.value:.{digits}f} (95% {q.low:.{digits}f} to {q.high:.{digits}f})"


@app.command("score")
def score(
    data: Path = DataOption,
    campaign: str = typer.Option(..., "--campaign", help="Campaign name (as in the manifest it was trained on)."),
    out: Path = typer.Option(..., "--out", help="Output file (.csv or .parquet)."),
    cutoff: str | None = CutoffOption,
) -> None:
    """Expected effect of the campaign per customer, from its champion uplift model, highest first.

    Columns: customer_id, effect (on the outcome the model was trained for), extra_order_probability (extra chance
    of an order in the window if treated), extra_revenue (extra net revenue in the window if treated), outcome,
    days, campaign, model_version, cutoff.

    Example: retention uplift score --data data/demo --campaign reactivation --out out/uplift_reactivation.csv
    """
    from features.data.io import output_format, write_frame
    from models.uplift.score import score_uplift

    quiet_steps()
    with bad_input_exits():
        output_format(out)
        refuse_shop_paths(data, out)
        shop = load_shop(data)
        with console.status("Scoring customers ..."):
            scores = score_uplift(shop, campaign, _cutoff(cutoff))
        write_frame(scores, out)
    version = scores["model_version"].iloc[0] if len(scores) else "-"
    console.print(f"{campaign}: wrote {out} ({len(scores):,} customers, uplift_{campaign} v{version}, outcome "
                  f"{scores['outcome'].iloc[0] if len(scores) else '-'})", highlight=False)
    if len(scores) and {"extra_order_probability", "extra_revenue"} <= set(scores.columns):
        console.print(f"if everyone were treated: {scores['extra_order_probability'].sum():,.0f} extra orders and "
                      f"{scores['extra_revenue'].sum():,.0f} extra revenue expected (extra revenue = extra order "
                      "chance x what an extra order is worth, from the campaign)", highlight=False, soft_wrap=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="uplift")
