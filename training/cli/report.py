"""The marketer's report: one self-contained HTML file with every chart, in English or Russian."""

from __future__ import annotations

import logging
from pathlib import Path

import typer
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from training.cli.common import DataOption, bad_input_exits, console, load_shop
from training.cli.outputs import refuse_shop_paths

CutoffOption = typer.Option(None, "--cutoff", help="Cutoff date (YYYY-MM-DD): only orders before it are read. "
                            "Default: the day after the last order.")


def _quiet() -> None:
    """Keep the feature build's and scoring's INFO lines out of the progress display (shown with --verbose)."""
    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        for name in ("features", "models", "serving"):
            logging.getLogger(name).setLevel(logging.WARNING)


def report(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output file, .html: one page that works offline."),
    cutoff: str | None = CutoffOption,
    lang: str = typer.Option("en", "--lang", help="en or ru: labels, sentences, numbers and dates."),
    config: Path | None = typer.Option(None, "--config", help="Run configuration (YAML): segment rules, registry "
                                       "names, risk thresholds; default: the built-in defaults."),
    campaigns: Path | None = typer.Option(None, "--campaigns", help="Output folder of `retention campaigns` (its "
                                          "summary CSV); without it the campaign section says what to run."),
) -> None:
    """Marketer's report: golden customers, RFM, segments, migration, churn risk, base health, cohorts, ABC/XYZ,
    best time to send, model quality and campaign audiences, each chart with a line in words.

    Churn risk and model quality need champions in MLflow (`retention train` first); without them those
    sections say what to run. Example: retention report --data data/demo --lang ru --out out/report_ru.html
    """
    from serving.report.builder import ReportSettings, build_report
    from serving.report.html import render
    from serving.report.i18n import Lang, Words
    from serving.report.output import write_page
    from training.cli.segments import parse_cutoff
    from training.config import load_config

    _quiet()
    with bad_input_exits():
        refuse_shop_paths(data, out)
        if lang not in tuple(Lang):
            raise ValueError(f"--lang {lang!r}: expected en or ru")
        if out.suffix.lower() not in (".html", ".htm"):
            raise ValueError(f"--out {out}: expected an .html file")
        cfg = load_config(config)
        settings = ReportSettings(cutoff=parse_cutoff(cutoff), segments=cfg.segments, registry=cfg.registry,
                                  scoring=cfg.scoring, campaigns_dir=campaigns, shop_name=data.name or str(data),
                                  min_result_days=cfg.campaigns.min_result_days)
        shop = load_shop(data)
        columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("Building the report", total=None)
            result = build_report(shop, settings, step=lambda what: bar.update(task, description=f"Report: {what}"))
            bar.update(task, description="Report: charts")
            page = render(result, Lang(lang))
        write_page(page, out)
    words = Words(Lang.en)
    for text_key, values in result.missing.values():
        console.print(f"[yellow]note:[/] {words(text_key, **values)}", highlight=False, soft_wrap=True)
    console.print(f"wrote {out} ({len(page.encode()) / 1e6:.1f} MB, works offline)", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(report)
