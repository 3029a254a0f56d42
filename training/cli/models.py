"""Model commands: train (backtest, MLflow, gated registration), score (every customer), churn-list (who to save)."""

from __future__ import annotations

import math
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from training.cli.common import (
    CacheOption,
    DataOption,
    EngineOption,
    LangOption,
    bad_input_exits,
    checked_lang,
    console,
    load_shop,
    quiet_steps,
    tidy_registry,
)
from training.cli.outputs import refuse_shop_paths

if TYPE_CHECKING:  # the heavy modules load inside the commands, so `retention --help` stays fast
    from models.inference.score import ScoreResult
    from training.evaluate import Evaluation

ConfigOption = typer.Option(None, "--config", help="Run configuration (YAML); default: the built-in defaults, "
                            "the same as configs/default.yaml.")
HorizonOption = typer.Option(None, "--horizon-days", min=1, help="Horizon of the labels in days (overrides the "
                             "config's training.horizon_days).")
CutoffOption = typer.Option(None, "--cutoff", help="Cutoff date (YYYY-MM-DD): only orders before it are read. "
                            "Default: the day after the last order.")


def _cutoff(value: str | None) -> datetime | None:
    from features.orders import cutoff_datetime

    return cutoff_datetime(value) if value is not None else None


def train(
    data: Path = DataOption,
    config: Path | None = ConfigOption,
    cutoff: str | None = CutoffOption,
    horizon_days: int | None = HorizonOption,
    force_promote: bool = typer.Option(False, "--force-promote", help="Make the new versions champions even when "
                                       "their holdout metric is worse than the current champions'."),
    engine: str | None = EngineOption,
    cache: bool = CacheOption,
) -> None:
    """Train churn, golden-customer and value models on backtest windows; log to MLflow; promote if better.

    The holdout is the last complete window before the cutoff; every metric is shown next to the baselines
    (BG/NBD x Gamma-Gamma, recency alone, last period). MLflow: MLFLOW_TRACKING_URI, default sqlite:///mlflow.db.

    Example: retention train --data data/demo --horizon-days 90
    """
    from training.config import load_config
    from training.train import total_steps
    from training.train import train as run_training

    quiet_steps()
    with bad_input_exits():
        cfg = load_config(config).with_horizon(horizon_days)
        as_of = _cutoff(cutoff)
        shop = load_shop(data, cfg.features, engine, cache)
        tidy_registry()
        columns = (TextColumn("{task.description:<48}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                   TimeElapsedColumn())
        refit = cfg.training.refit_for_scoring
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("Building training windows", total=None)
            result = run_training(shop, cfg, as_of, force_promote,
                                  step=lambda what: bar.update(task, advance=1, description=what),
                                  on_plan=lambda plan: bar.update(task, total=total_steps(plan, refit)))
    outcome = result.outcome
    console.print(f"[bold]Windows[/]: {outcome.plan.describe()}", highlight=False, soft_wrap=True)
    for note in outcome.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    console.print(metrics_table(outcome.evaluation, f"Holdout {outcome.plan.holdout_cutoff:%Y-%m-%d}, "
                                f"{outcome.evaluation.customers:,} customers: model against baselines"))
    if outcome.winners:
        console.print(winners_table(outcome))
    if result.recommender is not None:
        console.print(recommender_table(result.recommender))
    decisions = Table(title="Registry")
    for column in ("model", "version", "alias", "why"):
        decisions.add_column(column)
    for d in result.decisions:
        decisions.add_row(d.name, d.version, f"[green]{d.alias}[/]" if d.promoted else f"[yellow]{d.alias}[/]",
                          d.reason)
    console.print(decisions)
    from models.inference.registry import shown_uri

    console.print(f"MLflow run {result.run_id} at {shown_uri()}", highlight=False, soft_wrap=True)


def winners_table(outcome: Any) -> Table:
    """Return which candidate won each task on the holdout (and so is registered) and why."""
    table = Table(title="Candidates on the same holdout: the winner of each task is registered")
    for column in ("task", "winner", "model_source", "why"):
        table.add_column(column)
    for task, w in outcome.winners.items():
        table.add_row(task, w.label, outcome.models[task].source, w.reason)
    return table


def recommender_table(run: Any) -> Table:
    """Return the recommender's holdout table: the blend next to each baseline, the best of each column in bold."""
    frame = run.metrics
    table = Table(title=f"Recommender holdout {run.info.get('holdout_start', '')[:10]} to "
                  f"{run.info.get('cutoff', '')[:10]}, {run.info.get('holdout_customers', 0):,} customers")
    table.add_column("model")
    for column in frame.columns:
        table.add_column(str(column), justify="right")
    best = {c: frame[c].max() for c in frame.columns}
    for model, row in frame.iterrows():
        cells = [f"[bold]{v:.4f}[/]" if v == best[c] and c != "customers" else
                 (f"{v:,.0f}" if c == "customers" else f"{v:.4f}") for c, v in row.items()]
        table.add_row(str(model), *cells)
    return table


def metrics_table(evaluation: Evaluation, title: str) -> Table:
    """Return a rich table: one row per (task, metric), one column per predictor, the best of each row in bold."""
    from training.evaluate import SUMMARY_METRICS, comparison_rows
    from training.metrics import LOWER_IS_BETTER

    predictors = list(evaluation.tables["churn"].index)
    table = Table(title=title)
    table.add_column("task")
    table.add_column("metric")
    for p in predictors:
        table.add_column(evaluation.label(p), justify="right")
    for task, metric, values in comparison_rows(evaluation, SUMMARY_METRICS):
        finite = {p: v for p, v in values.items() if v is not None and math.isfinite(v)}
        best = (min if metric in LOWER_IS_BETTER else max)(finite.values()) if finite else None
        cells = []
        for p in predictors:
            v = finite.get(p)
            text = "-" if v is None else (f"{v:.3f}" if abs(v) < 100 else f"{v:,.0f}")
            cells.append(f"[bold]{text}[/]" if v is not None and v == best else text)
        table.add_row(task, metric + (" ↓" if metric in LOWER_IS_BETTER else ""), *cells)
    return table


def _scores(data: Path, config: Path | None, cutoff: str | None, horizon_days: int | None,
            engine: str | None = None, cache: bool = True, lang: str = "en") -> ScoreResult:
    from models.inference.score import load_champions, score
    from training.config import load_config

    quiet_steps()
    cfg = load_config(config)
    as_of = _cutoff(cutoff)
    shop = load_shop(data, cfg.features, engine, cache)
    tidy_registry()
    with console.status("Loading the champion models ..."):
        champions = load_champions(cfg.registry, horizon_days)
    with console.status("Building features and scoring every customer ..."):
        result = score(shop, champions, as_of, scoring=cfg.scoring, segments_cfg=cfg.segments,
                       reasons_k=cfg.training.reasons_k, lang=lang)
    versions = ", ".join(f"{task} v{v}" for task, v in champions.versions.items())
    console.print(f"Champions: {versions}; horizon {champions.horizon_days} days; cutoff {result.cutoff:%Y-%m-%d}",
                  highlight=False)
    for note in champions.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    return result


def score(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output file, .csv or .parquet: one row per customer."),
    cutoff: str | None = CutoffOption,
    horizon_days: int | None = typer.Option(None, "--horizon-days", min=1, help="Refuse unless the champions were "
                                            "trained for this horizon (default: theirs)."),
    config: Path | None = ConfigOption,
    engine: str | None = EngineOption,
    cache: bool = CacheOption,
    lang: str = LangOption,
) -> None:
    """Score every customer with the champion models: churn risk, golden chance, expected value, next order, why.

    Columns: customer_id, churn_probability, churn_risk, churn_percentile, golden_probability, expected_value,
    expected_orders, next_order_date (empty when not expected back within the horizon), next_order_probability,
    segment, rfm_cell, is_golden_now, reasons, model_source.

    Example: retention score --data data/demo --out out/scores.csv
    """
    from features.data.io import output_format, write_frame
    from models.inference.score import score_table

    with bad_input_exits():
        refuse_shop_paths(data, out)
        output_format(out)
        result = _scores(data, config, cutoff, horizon_days, engine, cache, checked_lang(lang))
        table = score_table(result)
        write_frame(table, out)
    risk = table["churn_risk"].value_counts()
    console.print(f"Churn risk: {risk.get('high', 0):,} high, {risk.get('medium', 0):,} medium, "
                  f"{risk.get('low', 0):,} low; expected value in the horizon {table['expected_value'].sum():,.0f}; "
                  f"{int((table['golden_probability'] >= 0.5).sum()):,} customers likely golden.", highlight=False)
    console.print(f"wrote {out}: {len(table):,} customers")


def churn_list(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output file (.csv or .parquet)."),
    min_probability: float = typer.Option(0.0, "--min-probability", min=0.0, max=1.0, help="Only customers at "
                                          "least this likely to churn."),
    segment: str | None = typer.Option(None, "--segment", help="Only this segment, e.g. 'At risk'."),
    min_value: float = typer.Option(0.0, "--min-value", help="Only customers with at least this expected value."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="At most this many customers."),
    cutoff: str | None = CutoffOption,
    config: Path | None = ConfigOption,
    lang: str = LangOption,
) -> None:
    """The customers worth saving first, by expected lost value (churn probability x expected value).

    With what a marketer needs to act: segment, last order, top category, usual weekday and hour, e-mail
    opt-in, and the reasons behind the risk.

    Example: retention churn-list --data data/demo --min-probability 0.5 --limit 500 --lang ru --out out/churn_list.csv
    """
    from features.data.io import output_format, write_frame
    from models.inference.score import churn_list as make_list

    with bad_input_exits():
        refuse_shop_paths(data, out)
        output_format(out)
        result = _scores(data, config, cutoff, None, lang=checked_lang(lang))
        table = make_list(result, min_probability, segment, min_value, limit, refuse_empty=True, lang=lang)
        if lang != "en":  # a list for people: the segment and risk in their words too (the API keeps the names)
            from features.words.catalogue import name

            table["segment"] = [name("segment", str(v), lang) for v in table["segment"]]
            table["churn_risk"] = [name("risk", str(v), lang) for v in table["churn_risk"]]
            for column, kind in (("preferred_weekday", "weekday"), ("email_opt_in", "answer")):
                table[column] = [name(kind, v, lang) if isinstance(v, str) else v for v in table[column]]
        write_frame(table, out)
    shown = Table(title=f"Top of the churn-risk list ({len(table):,} customers)")
    for column in ("customer_id", "expected_lost_value", "churn_probability", "segment", "reasons"):
        shown.add_column(column)
    for row in table.head(10).itertuples(index=False):
        shown.add_row(str(row.customer_id), f"{row.expected_lost_value:,.2f}", f"{row.churn_probability:.0%}",
                      str(row.segment), str(row.reasons))
    console.print(shown)
    lost = table["expected_lost_value"].sum()
    console.print(f"wrote {out}: {len(table):,} customers, expected lost value {lost:,.0f}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(score)
    app.command("churn-list")(churn_list)
