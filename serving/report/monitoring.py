"""The report's drift block: the newest `retention monitor` figures logged to MLflow, under the model-quality section.

The report does not recompute drift (that needs both cutoffs' features); it shows what the last monitor run
logged (``monitor.json`` in the newest run of ``<registry.experiment>-monitor``): the verdict, the champions'
score PSI, the most shifted features and the realised quality of past predictions.
"""

from __future__ import annotations

import json
import logging
import tempfile
from html import escape
from pathlib import Path
from typing import Any

from models.inference import registry
from models.inference.config import RegistryConfig

logger = logging.getLogger(__name__)

EXPERIMENT_SUFFIX = "-monitor"  # as training.monitor logs it
SHOWN = 5
TITLES = {"en": ("Drift since training (retention monitor, {now})", "what", "PSI", "missing then", "missing now",
                 "realised", "promoted on"),
          "ru": ("Дрейф с момента обучения (retention monitor, {now})", "что", "PSI", "пропуски тогда",
                 "пропуски сейчас", "фактически", "при продвижении")}


def latest_monitor(r: RegistryConfig) -> dict[str, Any] | None:
    """Return the newest monitor figures logged to MLflow, or None (no registry, never run, unreadable)."""
    if not registry.store_exists():
        return None
    try:
        client = registry.client()
        experiment = client.get_experiment_by_name(r.experiment + EXPERIMENT_SUFFIX)
        if experiment is None:
            return None
        runs = client.search_runs([experiment.experiment_id], "attributes.status = 'FINISHED'",
                                  order_by=["attributes.start_time DESC"], max_results=1)
        if not runs:
            return None
        with tempfile.TemporaryDirectory(prefix="retention-monitor-") as tmp:
            path = client.download_artifacts(runs[0].info.run_id, "monitor.json", tmp)
            return dict(json.loads(Path(path).read_text()))
    except Exception as exc:  # the report is still useful without this block
        logger.warning("the last monitor figures could not be read: %s", registry.plain(exc))
        return None


def drift_html(figures: dict[str, Any], lang: str) -> str:
    """Return the block: a heading, the verdict sentence and one table of scores, top features and realised."""
    title, what, psi, then, now, realised, promoted = TITLES.get(lang, TITLES["en"])
    drift = figures.get("drift", [])
    scores = [d for d in drift if d["kind"] == "score"]
    features = sorted((d for d in drift if d["kind"] == "feature"), key=lambda d: -(d["psi"] or 0))[:SHOWN]
    rows = [f"<tr><td>{escape(d['name'])}</td><td class=num>{_num(d['psi'])}</td>"
            f"<td class=num>{_share(d['missing_then'])}</td><td class=num>{_share(d['missing_now'])}</td></tr>"
            for d in [*scores, *features]]
    table = (f"<table><tr><th>{what}</th><th>{psi}</th><th>{then}</th><th>{now}</th></tr>{''.join(rows)}</table>")
    quality = figures.get("realised", [])
    if quality:
        table += (f"<table><tr><th>{what}</th><th>{realised}</th><th>{promoted}</th></tr>" + "".join(
            f"<tr><td>{escape(q['task'])} {escape(q['metric'])}</td><td class=num>{_num(q['realised'])}</td>"
            f"<td class=num>{_num(q['promoted_on'])}</td></tr>" for q in quality) + "</table>")
    return (f"<h3>{escape(title.format(now=str(figures.get('now', ''))[:10]))}</h3>"
            f"<p class=reading>{escape(str(figures.get('sentence', '')))}</p>{table}")


def _num(v: Any) -> str:
    return "-" if v is None else f"{float(v):.3f}"


def _share(v: Any) -> str:
    return "-" if v is None else f"{float(v):.0%}"
