"""A worker dies with its parent: ``kill -9`` of ``retention serve`` must not leave a worker holding the port.

BentoML's workers are child processes of the ``bentoml serve`` process; a SIGKILL of that parent gives it no
chance to stop them, and an orphaned worker keeps answering on the port, so a restarted service cannot bind.
Each worker therefore watches its parent: when the parent process is gone (the worker was re-parented), it stops
itself with SIGTERM (a graceful stop), and with SIGKILL if it is still alive ``GRACE_S`` later. A watchdog thread
rather than ``prctl(PR_SET_PDEATHSIG)``: the death signal fires when the *thread* that forked the worker exits,
which in a threaded supervisor can be long before the process does.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time

logger = logging.getLogger(__name__)

POLL_S = 1.0
GRACE_S = 10.0


def die_with_parent(poll_s: float = POLL_S) -> threading.Thread:
    """Start the watchdog thread of this process; return it (a daemon: it never keeps the process alive)."""
    parent = os.getppid()
    thread = threading.Thread(target=_watch, args=(parent, poll_s), name="parent-watchdog", daemon=True)
    thread.start()
    return thread


def _watch(parent: int, poll_s: float) -> None:
    while os.getppid() == parent:
        time.sleep(poll_s)
    logger.warning("the serving process %d is gone; this worker (%d) stops too", parent, os.getpid())
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(GRACE_S)
    os.kill(os.getpid(), signal.SIGKILL)
