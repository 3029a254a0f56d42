"""Reading the MLflow registry: where it is, which version holds an alias, and loading a registered model.

This is the read side that scoring and the service need; ``training.tracking`` adds the write side (runs,
logging, registering, moving aliases) on top of the same URI rules. The tracking URI comes from
``MLFLOW_TRACKING_URI``; without it, ``sqlite:///<cwd>/mlflow.db`` (MLflow 3 refuses a bare ``./mlruns`` store).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from models.base import ModelBase
from models.inference.pyfunc import folder_in, load_model_folder

logger = logging.getLogger(__name__)

DEFAULT_DB = "mlflow.db"
RELEASE_MODEL = "retention-release"  # a registered model without versions: its tag holds the release record
RELEASE_TAG = "release"
ATTEMPTS_ENV = "RETENTION_REGISTRY_ATTEMPTS"
RETRY_PAUSE = 1.0  # seconds between two tries of a busy store
RESOLVE_TRIES = 5
T = TypeVar("T")


def tracking_uri() -> str:
    """Return MLFLOW_TRACKING_URI, or ``sqlite:///<cwd>/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{(Path.cwd() / DEFAULT_DB).resolve()}"


def shown_uri() -> str:
    """Return the tracking URI without a user name or password, fit for messages and HTTP answers."""
    return re.sub(r"//[^/@]*@", "//", tracking_uri())


def configure() -> str:
    """Point MLflow (tracking and registry) at ``tracking_uri()`` and return it."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no tqdm bars inside our progress
    import mlflow

    if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
        logging.getLogger("mlflow").setLevel(logging.WARNING)  # its own INFO chatter, unless debugging
        # it logs a locked or unreachable store with a full SQLAlchemy traceback; ``answered`` says it in a sentence
        logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return uri


def client() -> Any:
    """Return an MlflowClient on ``tracking_uri()``."""
    from mlflow import MlflowClient

    configure()
    return MlflowClient()


def store_exists() -> bool:
    """Return False when the tracking URI is a local sqlite file that does not exist (nothing trained yet).

    Readers check this first: asking MLflow anything would create an empty ``mlflow.db`` as a side effect.
    """
    uri = tracking_uri()
    return not uri.startswith("sqlite:///") or Path(uri.removeprefix("sqlite:///")).exists()


class RegistryUnavailableError(RuntimeError):
    """The registry did not answer (locked, unreachable, failing, artifacts gone): not the same as "no model".

    The message is a sentence without the tracking URI or credentials: it reaches HTTP answers and terminals.
    """


def _attempts() -> int:
    """How many times a read is tried when the store says it is busy (a locked sqlite file already waits 20 s
    inside MLflow each time; RETENTION_REGISTRY_ATTEMPTS, default 2)."""
    try:
        return max(1, int(os.environ.get(ATTEMPTS_ENV, "2")))
    except ValueError:
        return 2


def _absent(exc: BaseException) -> bool:
    """True when the registry answered that the model, version or alias does not exist."""
    from mlflow.exceptions import MlflowException

    if not isinstance(exc, MlflowException):
        return False
    code = getattr(exc, "error_code", "")
    return code == "RESOURCE_DOES_NOT_EXIST" or (code == "INVALID_PARAMETER_VALUE" and "not found" in str(exc))


def plain(exc: BaseException) -> str:
    """Return the first line of an error, without SQL, URIs or the tracking store's location."""
    text = str(exc).split("[SQL:")[0].strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    text = text.replace(tracking_uri(), "<tracking store>")
    text = re.sub(r"[A-Za-z][A-Za-z0-9+.-]*://\S+", "<uri>", text)
    text = re.sub(r"\(sqlite3\.\w+\)\s*|\(psycopg2?\.\w+(\.\w+)*\)\s*", "", text)
    return text[:200]


def answered(what: str, read: Callable[[], T]) -> T | None:
    """Run a registry read: its answer, None when the registry says "no such model/version/alias", and a
    ``RegistryUnavailableError`` for anything else, after retrying a busy store (a locked sqlite file)."""
    attempts = _attempts()
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except Exception as exc:
            if _absent(exc):
                return None
            busy = getattr(exc, "error_code", "") == "TEMPORARILY_UNAVAILABLE" or "locked" in str(exc)
            if attempt < attempts and busy:
                logger.warning("the MLflow registry is busy (%s); trying again", plain(exc))
                time.sleep(RETRY_PAUSE)
                continue
            raise RegistryUnavailableError(
                f"the MLflow registry did not answer while {what}: {plain(exc)}. Check that the tracking store "
                "(MLFLOW_TRACKING_URI) is reachable and not locked by another process, then try again") from exc
    raise AssertionError("unreachable")


def current_release() -> dict[str, Any] | None:
    """Return the release record: which version holds each alias of each model, written in one step by training.

    ``{"run_id": ..., "state": "moving" | "done", "aliases": {name: {alias: version or None}}}``, or None for a
    registry that has none (trained before releases existed). It is the truth about champions: a training run
    killed while moving the aliases one by one leaves them mixed, but never the record.
    """
    import json

    if not store_exists():
        return None
    model = answered("reading the release record", lambda: client().get_registered_model(RELEASE_MODEL))
    text = model.tags.get(RELEASE_TAG) if model is not None else None
    return json.loads(text) if text else None


@dataclass(frozen=True)
class Resolved:
    """The version holding an alias of each model, from one consistent read of the release record."""

    versions: dict[str, dict[str, Any] | None]
    release: dict[str, Any] | None
    notes: list[str] = field(default_factory=list)  # "mixed release" sentences: aliases moved by hand


def resolve(names: Iterable[str], alias: str) -> Resolved:
    """Return the version holding ``alias`` of every model in ``names``, all from the same release.

    The release record decides (a run killed while moving aliases leaves them mixed, never the record). An alias
    moved by hand in MLflow after a finished release is followed, not ignored, and a note says the release is
    mixed and how to make it whole again. The record is read before and after the versions; when another run
    wrote a new one in between, the read starts again, so two models never come from two releases.
    """
    names = list(names)
    if not store_exists():
        return Resolved(dict.fromkeys(names), None)
    for _ in range(RESOLVE_TRIES):
        release = current_release()
        found: dict[str, dict[str, Any] | None] = {}
        notes: list[str] = []
        for name in names:
            found[name] = _resolve_one(name, alias, release, notes)
        if current_release() == release:
            return Resolved(found, release, notes)
    raise RegistryUnavailableError(f"the release record changed {RESOLVE_TRIES} times while the champions were "
                                   "being read (several trainings registering at once?); try again in a minute")


def _resolve_one(name: str, alias: str, release: dict[str, Any] | None, notes: list[str]) -> dict[str, Any] | None:
    pinned = ((release or {}).get("aliases") or {}).get(name, {})
    model = answered(f"reading the model {name!r}", lambda: client().get_registered_model(name))
    raw = str(model.aliases[alias]) if model is not None and alias in model.aliases else None
    version = pinned.get(alias) if alias in pinned else raw
    if alias in pinned and (release or {}).get("state") == "done" and raw != pinned[alias]:
        version = raw  # moved by hand after the release: the operator meant it
        notes.append(f"mixed release: {name}@{alias} is {'v' + raw if raw else 'removed'} in MLflow but the release "
                     f"record says v{pinned[alias]} (moved by hand?); serving {name} "
                     f"{'v' + raw if raw else 'nothing'}. `retention promote --release ID` (see `retention models "
                     "--history`) makes one whole release again")
    if version is None:
        return None
    mv = answered(f"reading {name} v{version}", lambda: client().get_model_version(name, version))
    if mv is None:
        return None
    return {"version": str(mv.version), "run_id": mv.run_id, "tags": dict(mv.tags), "source": mv.source}


def alias_version(name: str, alias: str) -> dict[str, Any] | None:
    """Return the version holding ``alias`` of the registered model ``name`` (version, run_id, tags), or None.

    The release record decides when it names this model and alias; otherwise the alias itself does (``resolve``).
    """
    return resolve([name], alias).versions[name]


def alias_uri(name: str, alias: str) -> str:
    """Return ``models:/<name>/<version>`` of the version holding ``alias`` (resolved through the release record).

    Raises
    ------
    ValueError
        When there is no such model or alias; the message says to train first.
    """
    found = alias_version(name, alias)
    if found is None:
        raise ValueError(f"no registered model {name!r} with alias {alias!r} at {shown_uri()}; run `retention "
                         "train --data DIR` first (or set MLFLOW_TRACKING_URI to the registry you trained into)")
    return f"models:/{name}/{found['version']}"


def download_model(uri: str, dst: Path) -> Path:
    """Download a model (``models:/churn@champion``) into ``dst`` and return the local folder.

    Raises
    ------
    RegistryUnavailableError
        When the registry or the artifact store cannot deliver it (a registered version whose files are gone is
        an error, never "no model").
    """
    import mlflow

    configure()
    found = answered(f"downloading {uri}", lambda: mlflow.artifacts.download_artifacts(artifact_uri=uri,
                                                                                       dst_path=str(dst)))
    if found is None:
        raise RegistryUnavailableError(f"the artifacts of {uri} are not in the artifact store (moved or deleted?); "
                                       "promote another release or train again")
    return Path(found)


def load_registered(uri: str) -> ModelBase:
    """Download a registered model (``models:/churn@champion``, ``models:/churn/3``, ``models:/m-...``), load it.

    The download goes to a temporary folder that is removed once the model is in memory.
    """
    with tempfile.TemporaryDirectory(prefix="retention-model-") as tmp:
        downloaded = download_model(uri, Path(tmp))
        try:
            folder = folder_in(downloaded)
        except FileNotFoundError:  # the registry names it but the artifact store has no files: not "no model"
            raise RegistryUnavailableError(f"the files of {uri} are missing from the artifact store (moved or "
                                           "deleted?); restore them, promote another release or train again"
                                           ) from None
        return load_model_folder(folder)
