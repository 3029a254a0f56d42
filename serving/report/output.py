"""Writing the page: whole or not at all (a temporary file next to the target, renamed when complete)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_page(page: str, out: Path) -> Path:
    """Write ``page`` to ``out`` atomically (parent folders created); return ``out``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(page)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
