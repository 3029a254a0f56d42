"""One writer of the release record at a time, across processes and machines that share a tracking server.

Two ``train`` runs (or a ``train`` and a ``promote``) registering at once would each write a record and move the
aliases, interleaved: the record of one and some aliases of the other. The lock is a registered model,
``retention-release-lock``: creating a registered model is atomic in every MLflow store (the name is a primary
key), so exactly one process gets it. Its tags name the holder (pid, host, time); a holder killed with SIGKILL
leaves it behind, and the next writer takes it over when that process is gone (same host) or the lock is older
than ``STALE_AFTER`` (another host: a registration takes seconds).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

logger = logging.getLogger(__name__)

LOCK_MODEL = "retention-release-lock"
STALE_AFTER = 15 * 60.0  # seconds
WAIT = 600.0  # seconds a writer waits for another's registration before giving up with a sentence
PAUSE = 0.5


class RegistryBusyError(RuntimeError):
    """Another process held the release lock for longer than a writer would wait."""


@contextmanager
def release_lock(client: Any, wait: float = WAIT) -> Iterator[None]:
    """Hold the release lock while the body writes the record and moves aliases; wait for another holder."""
    deadline = time.monotonic() + wait
    while not try_lock(client):
        if time.monotonic() > deadline:
            raise RegistryBusyError(f"another registration has held the release lock for over {wait:.0f} s; try "
                                    f"again later, or delete the registered model {LOCK_MODEL!r} if its process "
                                    "is gone")
        time.sleep(PAUSE)
    try:
        yield
    finally:
        try:
            client.delete_registered_model(LOCK_MODEL)
        except Exception:  # noqa: BLE001 - a lock left behind is taken over as stale by the next writer
            logger.warning("could not release the registry lock %s", LOCK_MODEL)


def try_lock(client: Any) -> bool:
    """Take the lock if free, or stale (its holder gone); False when a live process holds it."""
    for _ in range(2):  # the second try follows the removal of a stale lock
        if _create(client):
            return True
        try:
            holder = client.get_registered_model(LOCK_MODEL).tags
        except Exception:  # noqa: BLE001 - released between our two calls: the next try takes it
            continue
        if not _stale(holder):
            return False
        logger.warning("taking over the registry lock of process %s on %s (gone)", holder.get("pid"),
                       holder.get("host"))
        with contextlib.suppress(Exception):  # someone else took it over first
            client.delete_registered_model(LOCK_MODEL)
    return False


def _create(client: Any) -> bool:
    from mlflow.exceptions import MlflowException

    tags = {"pid": str(os.getpid()), "host": socket.gethostname(), "since": repr(time.time())}
    try:
        client.create_registered_model(LOCK_MODEL, tags=tags, description="held while a release is written")
        return True
    except MlflowException as exc:
        if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise
        return False


def _stale(holder: dict[str, str]) -> bool:
    since = float(holder.get("since", "0") or 0)
    if time.time() - since > STALE_AFTER:
        return True
    if holder.get("host") != socket.gethostname() or not holder.get("pid", "").isdigit():
        return False
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
