"""The one id rule, for the data contract, the HTTP schemas and the journal alike.

An id (customer, order, item, session) is 1 to 128 characters with no control character (``\\x00``-``\\x1f``,
``\\x7f``-``\\x9f``): a carriage return or a NUL in an id splits CSV lines and spreadsheet cells, and an id longer
than that is a bug upstream, not a customer. The service refuses such ids in requests (422), ``retention
validate`` refuses them in the shop's files, so an id the service hands out is always one it accepts.
"""

from __future__ import annotations

import re

MAX_ID_LENGTH = 128
CONTROL_CHARACTERS = r"[\x00-\x1f\x7f-\x9f]"
ID_PATTERN = rf"^[^\x00-\x1f\x7f-\x9f]{{1,{MAX_ID_LENGTH}}}$"
ID_RULE = f"1 to {MAX_ID_LENGTH} characters without control characters (tab, line breaks, NUL)"
_CONTROL = re.compile(CONTROL_CHARACTERS)


def id_problem(value: str) -> str | None:
    """Return what is wrong with ``value`` as an id, or None when it follows the rule."""
    if not value:
        return "empty id"
    if len(value) > MAX_ID_LENGTH:
        return f"id of {len(value)} characters (at most {MAX_ID_LENGTH})"
    found = _CONTROL.search(value)
    if found is not None:
        return f"control character {found.group()!r} in the id {value[:40]!r}"
    return None
