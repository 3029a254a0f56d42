"""Campaign commands: campaigns (every audience with control groups), audience (who gets this item), and
campaign-results (treated against control after the cutoff: did it work?)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from features.data.io import spreadsheet_safe
from training.cli.common import DataOption, LangOption, bad_input_exits, checked_lang, console, load_shop, quiet_steps
from training.cli.models import ConfigOption, CutoffOption, _cutoff
from training.cli.outputs import refuse_shop_paths

if TYPE_CHECKING:  # pandas loads inside the commands: `retention features` never needs it
    import pandas as pd

    from features.campaigns.audiences import Audiences

MANIFEST = "manifest.csv"
SUMMARY = "summary.csv"


def campaigns(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output folder: one CSV per campaign, summary.csv, manifest.csv."),
    cutoff: str | None = CutoffOption,
    config: Path | None = ConfigOption,
    lang: str = LangOption,
    target: str = typer.Option("rule", "--target", help="rule (every customer the rule chose) or uplift (rank each "
                               "audience by its uplift_<campaign> model's predicted effect, drop sure things and "
                               "lost causes)."),
    uplift_campaign: list[str] = typer.Option([], "--uplift-campaign", help="With --target uplift: only these "
                                              "campaigns (repeatable; each must have a model). Default: every "
                                              "campaign with a registered uplift model."),
    drop_sure_things: float = typer.Option(0.1, "--drop-sure-things", min=0.0, max=0.5, help="With --target "
                                           "uplift: share of each audience to drop among those likely to buy anyway."),
    drop_lost_causes: float = typer.Option(0.1, "--drop-lost-causes", min=0.0, max=0.5, help="With --target "
                                           "uplift: share of each audience to drop among those unlikely to buy "
                                           "whatever we send."),
) -> None:
    """Campaign audiences from the champions: reactivation, win-back or drop, suppression list, second order,
    VIP care, abandoned carts, birthdays, loyalty tier progress and contact frequency.

    Every row: customer_id, the rule in words, the offer, e-mail opt-in, best weekday and hour, expected value,
    suggested messages a month and personal items. Each audience holds back a seeded control group
    (campaigns.control_share, default 10%) recorded in manifest.csv for `retention campaign-results`; a folder
    that already has a manifest is refused, so a split is never redrawn.

    With --target uplift each audience with a registered uplift model (`retention uplift train`) is ranked by the
    predicted effect of the offer and loses its sure things and lost causes (the lowest predicted effects among
    customers likely / unlikely to buy anyway); every kept customer keeps the control group the rule gave them, and
    the manifest records the targeting (model and version, shares dropped).

    Example: retention campaigns --data data/demo --out out/campaigns
    Example: retention campaigns --data data/demo --out out/targeted --target uplift --drop-sure-things 0.2
    """
    from models.inference.campaigns import CampaignSettings, build_campaigns, load_recommender
    from models.inference.score import load_champions
    from training.config import load_config

    quiet_steps()
    with bad_input_exits():
        refuse_shop_paths(data, out, out / MANIFEST, out / SUMMARY)
        if (out / MANIFEST).exists():
            raise ValueError(f"{out / MANIFEST} already exists: a campaign's control split is never redrawn; write "
                             "to a new folder (--out) or measure this one with `retention campaign-results`")
        cfg = load_config(config)
        as_of = _cutoff(cutoff)
        uplifted = uplift_campaigns(target, uplift_campaign)
        shop = load_shop(data)
        with console.status("Loading the champion models ..."):
            champions = load_champions(cfg.registry)
            recommender = load_recommender(cfg.registry)
        with console.status("Scoring customers and building the audiences ..."):
            settings = CampaignSettings(cfg.campaigns, cfg.segments, cfg.scoring, checked_lang(lang))
            audiences = build_campaigns(shop, champions, recommender, as_of, settings)
        if uplifted is not None:
            from features.campaigns.config import CAMPAIGNS
            from models.uplift.targeting import UpliftTargeting, target_audiences

            with console.status("Ranking the audiences by their uplift models ..."):
                audiences = target_audiences(audiences, shop, uplifted, UpliftTargeting(
                    drop_sure_things=drop_sure_things, drop_lost_causes=drop_lost_causes))
            rest = [c for c in (uplift_campaign or CAMPAIGNS) if c not in uplifted]
            if rest:
                audiences.notes.append(f"no uplift model for {', '.join(rest)}: they keep their rule")
        write_audiences(audiences, out)
    console.print(summary_table(audiences))
    for note in audiences.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    lo, hi = audiences.second_order_days
    console.print(f"cutoff {audiences.cutoff:%Y-%m-%d}; second-order window {lo:.0f}-{hi:.0f} days after the first "
                  f"order; wrote {len(audiences.rows) + 2} files to {out}", highlight=False)


def uplift_campaigns(target: str, asked: list[str]) -> list[str] | None:
    """Return the campaigns to target by uplift (None for --target rule); refuse, before any work, a named campaign
    without a registered uplift model, or --target uplift when no campaign has one."""
    if target not in ("rule", "uplift"):
        raise ValueError(f"--target must be rule or uplift, got {target!r}")
    if target == "rule":
        if asked:
            raise ValueError("--uplift-campaign needs --target uplift")
        return None
    from features.campaigns.config import CAMPAIGNS
    from models.inference.registry import shown_uri
    from models.uplift.targeting import missing_models

    unknown = [c for c in asked if c not in CAMPAIGNS]
    if unknown:
        raise ValueError(f"--uplift-campaign {', '.join(unknown)}: not a campaign (campaigns: {', '.join(CAMPAIGNS)})")
    names = list(asked or CAMPAIGNS)
    missing = missing_models(names)
    if asked and missing:
        raise ValueError(f"no uplift model is registered for {', '.join(missing)} at {shown_uri()} (uplift_<campaign>"
                         "@champion): train one with `retention uplift train --data DIR --manifest FILE`; a campaign "
                         "whose model did not beat random targeting keeps its rule (run without --target uplift)")
    if len(missing) == len(names):
        raise ValueError(f"--target uplift: no uplift model is registered for any campaign at {shown_uri()} "
                         "(uplift_<campaign>@champion); train one with `retention uplift train --data DIR --manifest "
                         "FILE`, or run with --target rule")
    return [c for c in names if c not in missing]


def write_audiences(audiences: Audiences, out: Path) -> None:
    """Write every file into a temporary folder first, then move them into ``out`` (nothing half-written)."""
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".campaigns-", dir=out))
    try:
        files = {f"{name}.csv": frame for name, frame in audiences.rows.items()}
        files |= {SUMMARY: audiences.summary, MANIFEST: audiences.manifest}
        for name, frame in files.items():  # the manifest is read back by campaign-results: raw ids
            (frame if name == MANIFEST else spreadsheet_safe(frame)).to_csv(staging / name, index=False)
        for name in files:  # the manifest last: its presence says the folder is complete
            if name != MANIFEST:
                os.replace(staging / name, out / name)
        os.replace(staging / MANIFEST, out / MANIFEST)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def summary_table(audiences: Audiences) -> Table:
    """Return the summary as a rich table (the suppression list's note below it)."""
    table = Table(title=f"Campaign audiences at {audiences.cutoff:%Y-%m-%d}")
    for column in ("campaign", "customers", "treated", "control", "opted in", "value at stake", "suggested offer"):
        table.add_column(column, justify="right" if column not in ("campaign", "suggested offer") else "left")
    for row in audiences.summary.itertuples(index=False):
        table.add_row(str(row.campaign), f"{row.customers:,}", f"{row.treated:,}", f"{row.control:,}",
                      f"{row.opted_in:,}", f"{row.value_at_stake:,.0f}", str(row.suggested_offer))
    notes = [str(n) for n in audiences.summary["note"] if n]
    if notes:
        table.caption = "; ".join(notes)
    return table


def audience(
    data: Path = DataOption,
    out: Path = typer.Option(..., "--out", help="Output file (.csv or .parquet); the manifest goes next to it as "
                             "<name>.manifest.csv."),
    item: str | None = typer.Option(None, "--item", help="Item id: who should get the e-mail about this product."),
    category: str | None = typer.Option(None, "--category", help="Category name (items.category) instead of --item."),
    k: int = typer.Option(1000, "--k", min=1, help="At most this many customers."),
    cutoff: str | None = CutoffOption,
    config: Path | None = ConfigOption,
) -> None:
    """The customers most likely to buy an item (or a category) next, from the champion recommender's scores.

    Customers who bought it in the last campaigns.audience_recent_days are left out unless a re-buy is due.
    A control group is held back as in `retention campaigns` and recorded in the manifest.

    Example: retention audience --data data/demo --item I00042 --k 500 --out out/audience_I00042.csv
    """
    from features.data.io import output_format, write_frame
    from models.inference.campaigns import build_item_audience, load_recommender
    from training.config import load_config

    quiet_steps()
    with bad_input_exits():
        output_format(out)
        if (item is None) == (category is None):
            raise ValueError("give exactly one of --item ID or --category NAME")
        book_path = out.with_name(f"{out.stem}.manifest.csv")
        refuse_shop_paths(data, out, book_path)
        if book_path.exists():
            raise ValueError(f"{book_path} already exists: a control split is never redrawn; choose another --out")
        cfg = load_config(config)
        as_of = _cutoff(cutoff)
        shop = load_shop(data)
        recommender = load_recommender(cfg.registry)
        if recommender is None:
            raise ValueError("no champion recommender: run `retention train` on data with item_id first")
        with console.status("Ranking customers ..."):
            result = build_item_audience(shop, recommender, item=item, category=category, k=k, cutoff=as_of,
                                         cfg=cfg.campaigns, segments_cfg=cfg.segments)
        write_frame(result.rows, out)
        write_frame(result.manifest, book_path, for_people=False)  # read back by campaign-results: raw ids
    held = int(result.rows["control"].sum())
    console.print(f"{result.name}: wrote {out} ({len(result.rows):,} customers, {held:,} held back as control) "
                  f"and {book_path}", highlight=False)


def campaign_results(
    data: Path = DataOption,
    manifest: Path = typer.Option(..., "--manifest", help="The manifest.csv `retention campaigns` wrote."),
    days: int = typer.Option(30, "--days", min=1, help="Days after the cutoff to count orders in."),
    out: Path | None = typer.Option(None, "--out", help="Also write the results table (.csv or .parquet)."),
    min_days: int | None = typer.Option(None, "--min-days", min=1, help="Refuse to estimate with fewer days of "
                                        "orders after the cutoff (default: campaigns.min_result_days, 7)."),
    config: Path | None = ConfigOption,
    lang: str = LangOption,
) -> None:
    """Did it work? Treated against control after the cutoff: conversion, orders and revenue per customer, the
    difference with a 95% interval, the incremental revenue, and one plain sentence per campaign.

    With no order after the cutoff yet, or fewer days of orders than --min-days, nothing is estimated: it says how
    many days of data there are and exits with code 2.

    Example: retention campaign-results --data data/demo --manifest out/campaigns/manifest.csv --days 30
    """
    from features.campaigns.control import read_manifest
    from features.data.io import output_format, write_frame
    from models.inference.campaigns import measure_campaigns
    from training.config import load_config

    with bad_input_exits():
        refuse_shop_paths(data, out)
        if out is not None:
            output_format(out)
        cfg = load_config(config)
        book = read_manifest(manifest)
        shop = load_shop(data)
        results = measure_campaigns(shop, book, days, min_days or cfg.campaigns.min_result_days, checked_lang(lang))
        if out is not None:
            write_frame(results.table, out)
    console.print(results_table(results.table))
    for note in results.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    for text in results.table["sentence"]:
        console.print(f"- {text[0].upper()}{text[1:]}.", highlight=False, soft_wrap=True)


def results_table(table: pd.DataFrame) -> Table:
    """Return the results as a rich table: per campaign, treated and control, the differences and intervals."""
    shown = Table(title="Campaign results: treated against control")
    for column in ("campaign", "treated", "control", "conversion t / c", "extra orders per 100 (95%)",
                   "revenue per customer t / c", "incremental revenue (95%)"):
        shown.add_column(column, justify="left" if column == "campaign" else "right")
    for r in table.itertuples(index=False):
        shown.add_row(str(r.campaign), f"{r.treated:,}", f"{r.control:,}",
                      f"{_num(r.conversion_treated, '.1%')} / {_num(r.conversion_control, '.1%')}",
                      f"{_num(100 * r.orders_diff, '.1f')} ({_num(100 * r.orders_low, '.1f')} to "
                      f"{_num(100 * r.orders_high, '.1f')})",
                      f"{_num(r.revenue_treated, ',.2f')} / {_num(r.revenue_control, ',.2f')}",
                      f"{_num(r.incremental_revenue, ',.0f')} ({_num(r.incremental_low, ',.0f')} to "
                      f"{_num(r.incremental_high, ',.0f')})")
    return shown


def _num(value: float, spec: str) -> str:
    import pandas as pd

    return "-" if pd.isna(value) else f"{value:{spec}}"


def register(app: typer.Typer) -> None:
    app.command()(campaigns)
    app.command()(audience)
    app.command("campaign-results")(campaign_results)
