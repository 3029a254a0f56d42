"""Fixtures the served tests share; each module defines its own trained shop as ``work``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.code.serving.server import Redis, redis_server


@pytest.fixture(scope="module")
def redis(work: Path) -> Iterator[Redis]:
    """A real redis-server beside the module's shop, killed when the module ends."""
    running = redis_server(work / "redis")
    yield running
    running.kill()
