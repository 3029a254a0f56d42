"""Serving commands: serve (the BentoML service on a shop), merge-events (the live journal into the events
table), export-models (the champions into BentoML's model store, for ``bentoml build``)."""

from __future__ import annotations

import ctypes.util
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from serving.config import RunSections

from training.cli.common import DataOption, bad_input_exits, console

SERVICE = "serving.service:Retention"


def serve_environment(data: Path, config: Path | None, workers: int, base: dict[str, str],
                      insecure_no_auth: bool = False) -> dict[str, str]:
    """Return the environment ``bentoml serve`` runs with: the service reads its settings from it."""
    env = dict(base)
    env["RETENTION_DATA"] = str(data.resolve())
    if config is not None:
        env["RETENTION_CONFIG"] = str(config.resolve())
    env["RETENTION_WORKERS"] = str(workers)
    if insecure_no_auth:
        env["RETENTION_INSECURE_NO_AUTH"] = "1"
    env.setdefault("BENTOML_DO_NOT_TRACK", "true")
    return with_allocator(env)


def with_allocator(env: dict[str, str], library: str | None = None) -> dict[str, str]:
    """Return ``env`` with jemalloc preloaded for the workers when the machine has it (Debian: libjemalloc2).

    Why: each reload builds a new bundle in a thread while the old one serves, then frees the old one. glibc's
    malloc keeps much of what was freed in its per-thread arenas, so a worker grew ~1% per reload (20 reloads
    under load: 1.13-1.23 x the memory after the first); jemalloc gives it back (``benchmarks/serve_speed.py``).
    ``RETENTION_ALLOCATOR=system`` keeps glibc's.
    """
    preload = env.get("LD_PRELOAD", "")
    if not _wants_jemalloc(env) or "jemalloc" in preload:
        return env
    library = library or ctypes.util.find_library("jemalloc")
    if library:
        env["LD_PRELOAD"] = f"{preload} {library}".strip()
    return env


def allocator_note(env: dict[str, str]) -> str | None:
    """Say at start when the workers run on glibc's allocator although jemalloc was wanted."""
    if _wants_jemalloc(env) and "jemalloc" not in env.get("LD_PRELOAD", ""):
        return ("jemalloc not found (Debian: apt-get install libjemalloc2, or make jemalloc): the workers use the "
                "system allocator, whose memory grows by about 1% at each reload")
    return None


def _wants_jemalloc(env: dict[str, str]) -> bool:
    return env.get("RETENTION_ALLOCATOR", "jemalloc").strip().lower() == "jemalloc"


def check_serving(env: dict[str, str], workers: int) -> list[str]:
    """Refuse settings the service cannot run with (a sentence each); return the keys left unset (insecure)."""
    from serving.config import settings_from_env

    settings = settings_from_env(env)
    if workers > 1 and settings.redis_url is None:
        raise ValueError(f"--workers {workers} needs RETENTION_REDIS_URL: without a shared Redis each worker would "
                         "keep its own carts and purchases and reload alone. Start Redis (make redis) and set "
                         "RETENTION_REDIS_URL=redis://127.0.0.1:6379/0, or serve with one worker")
    unset = settings.unset_keys()
    if unset and not settings.insecure_no_auth:
        raise ValueError(f"{', '.join(unset)} not set: every route needs its role's key (storefront, marketer, "
                         "admin). Set them to long random strings (e.g. `openssl rand -hex 24`), or pass "
                         "--insecure-no-auth to serve those routes without a key on a trusted machine")
    return unset


def serve(
    data: Path = DataOption,
    port: int = typer.Option(3000, "--port", min=1, max=65535, help="Port to listen on."),
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind (0.0.0.0: the shop's whole network)."),
    workers: int = typer.Option(1, "--workers", min=1, max=64, help="Worker processes (each loads the bundle)."),
    config: Path | None = typer.Option(None, "--config", help="Run configuration (YAML): registry names, scoring "
                                       "thresholds, segment rules (default: the built-in defaults)."),
    insecure_no_auth: bool = typer.Option(False, "--insecure-no-auth", help="Serve the routes whose key is unset "
                                          "without one (a warning at start and on /readyz); never on a network."),
) -> None:
    """Serve recommendations, customer scores and lists over HTTP (BentoML) from the champions and the shop.

    Keys, one per role: RETENTION_STOREFRONT_KEY (recommend, item lists, events), RETENTION_API_KEY (the
    marketer: customer, churn_risk, churn_list, segments), RETENTION_ADMIN_KEY (reload); RETENTION_METRICS_KEY
    (optional, /metrics). RETENTION_REDIS_URL shares live events and reloads between workers (needed for
    --workers > 1). Models: MLFLOW_TRACKING_URI. The process becomes `bentoml serve`; stop it with Ctrl-C or SIGTERM.

    Example: RETENTION_STOREFRONT_KEY=s1 RETENTION_API_KEY=m1 RETENTION_ADMIN_KEY=a1 retention serve --data data/demo
    """
    with bad_input_exits():
        if not data.exists():
            raise FileNotFoundError(f"{data}: no such shop folder or DuckDB file")
        if config is not None:
            checked_sections(config)
        bentoml = shutil.which("bentoml", path=str(Path(sys.executable).parent)) or shutil.which("bentoml")
        if bentoml is None:
            raise FileNotFoundError("bentoml is not installed in this environment (make setup installs it)")
        env = serve_environment(data, config, workers, dict(os.environ), insecure_no_auth)
        unset = check_serving(env, workers)
    if unset:
        console.print(f"[bold red]INSECURE[/]: {', '.join(unset)} unset; those routes answer anyone "
                      "(--insecure-no-auth)")
    console.print(f"Serving {data} on http://{host}:{port} (docs at /, ready at /readyz)", highlight=False)
    if (note := allocator_note(env)) is not None:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    read_only_note(data)
    os.execve(bentoml, [bentoml, "serve", SERVICE, "--host", host, "--port", str(port)], env)


def checked_sections(config: Path | None) -> RunSections:
    """Return the run configuration's serving sections; malformed YAML or an unreadable file is a ValueError naming
    the file and the line (exit 2 with a sentence, never a traceback)."""
    import yaml

    from serving.config import run_sections

    try:
        return run_sections(config)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"{config}: not valid YAML{where} ({problem}); fix the file (configs/default.yaml shows "
                         "the layout)") from None
    except OSError as exc:
        raise ValueError(f"{config}: cannot be read as a run configuration ({exc.strerror or exc})") from None


def read_only_note(data: Path) -> None:
    """Say at start when the shop's journal cannot be written: the service then serves read-only (/events 503)."""
    from serving.config import JOURNAL_FOLDER
    from serving.journal import unwritable

    why = unwritable((data if data.is_dir() else data.parent) / JOURNAL_FOLDER)
    if why is not None:
        console.print(f"[yellow]read-only:[/] the journal folder in {data} cannot be written ({why}); serving "
                      "read-only: POST /events answers 503 until it is writable and the service restarted",
                      highlight=False, soft_wrap=True)


def merge_events(data: Path = DataOption) -> None:
    """Append the service's journaled site events (view, cart_add, cart_remove) to the shop's events table.

    Run it before `retention train` so training sees them; lines already merged are skipped, so it is safe to
    run again. Purchases stay in the journal: the shop's order export brings them with order id and price.

    Example: retention merge-events --data data/demo && retention train --data data/demo
    """
    from serving.config import JOURNAL_FOLDER
    from serving.merge import merge_journal

    with bad_input_exits():
        base = data if data.is_dir() else data.parent
        result = merge_journal(data, base / JOURNAL_FOLDER)
    console.print(f"merged {result.merged:,} journaled events into {data}'s events table", highlight=False)
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False, soft_wrap=True)
    if result.report is not None:
        console.print(f"[yellow]set aside:[/] {result.set_aside:,} journaled rows would break the data contract and "
                      f"were not merged; each is listed with its problem in {result.report}", highlight=False,
                      soft_wrap=True)
    if result.compacted:
        console.print(f"compacted {result.compacted} fully merged journal files into one snapshot", highlight=False)


def export_models(
    config: Path | None = typer.Option(None, "--config", help="Run configuration (registry names)."),
) -> None:
    """Copy every champion from MLflow into BentoML's model store (then `bentoml build` packs them in the Bento).

    Example: retention export-models && RETENTION_MODELS=bento bentoml build -f serving/bentofile.yaml .
    """
    from serving.store import export_champions

    with bad_input_exits():
        tags = export_champions(checked_sections(config).registry)
    for name, tag in tags.items():
        console.print(f"{name}: {tag}", highlight=False)


def register(app: typer.Typer) -> None:
    app.command()(serve)
    app.command("merge-events")(merge_events)
    app.command("export-models")(export_models)
