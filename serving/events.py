"""Live events: appended to a journal and fsynced before they are acknowledged, replayed at start.

The names live in ``serving.live`` (events and the live state), ``serving.journal`` (append, read, replay) and
``serving.merge`` (``retention merge-events``); this module keeps them importable from one place.
"""

from serving.journal import Journal, JournalError, read_journal, replay
from serving.live import COLUMNS, SITE_EVENTS, CustomerLive, LiveEvent, LiveState, naive_local
from serving.merge import merge_journal

__all__ = ["COLUMNS", "SITE_EVENTS", "CustomerLive", "Journal", "JournalError", "LiveEvent", "LiveState",
           "merge_journal", "naive_local", "read_journal", "replay"]
