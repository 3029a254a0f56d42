"""What each feature family describes and needs, and the notes on parts left out: shared by both builds.

The DuckDB build (``features.families.sql``) and the Ibis build (``features.families.build``, also what Spark
runs) report the same families, reasons and notes from here. No Ibis and no pandas: the DuckDB path imports this.
"""

from __future__ import annotations

from collections.abc import Callable

from features import columns as C
from features.data.contract import CAPABILITIES

RFM_DOC = "recency, frequency, net revenue, order value, tenure, windowed orders/revenue and the 90-day trend"
CADENCE_DOC = "mean and spread of days between orders, overdue ratio, days until and date of the expected next order"
BGNBD_DOC = "BG/NBD expected orders in the next 90 days and probability the customer is still active"
BASKET_DOC = "items per order and distinct items bought"
CATEGORY_DOC = "distinct categories, top category and its share of spend, price level against the category average"
PROMOTIONS_DOC = "share of orders and of revenue with a discount, and the 'buys only on sale' flag"
SITE_DOC = "views, cart and wishlist adds, abandoned carts, orders per view, days since last visit, callbacks, chats"
CHANNEL_DOC = "main device, channel and source of orders, share of orders placed on mobile"
TIMING_DOC = "preferred weekday and hour of ordering, with the share of orders placed then"
PROFILE_DOC = "age, days to birthday, days since sign-up, gender, city, acquisition source, e-mail opt-in"
SPEND_DIGITS = 6  # categories: spends equal to this many decimals tie (and the tie goes by name)
HOUR_NOTE = "hour of ordering left out: no order before the cutoff has a time of day"

VISIT_EVENTS = ("view", "cart_add", "cart_remove", "wishlist_add", "search")
COUNTED_EVENTS = {"views": "view", "cart_adds": "cart_add", "wishlist_adds": "wishlist_add",
                  "email_opens": "email_open", "email_clicks": "email_click"}
CONTACT_EVENTS = {"callbacks": "callback", "chats": "chat"}
CHANNEL_COLUMNS = (C.DEVICE, C.CHANNEL, C.SOURCE)
TEXT_COLUMNS = (C.GENDER, C.CITY, C.ACQUISITION_SOURCE)

# family -> (what it describes, the capability whose optional data it needs)
FAMILY_INFO = {"rfm": (RFM_DOC, "rfm"), "cadence": (CADENCE_DOC, "cadence"), "bgnbd": (BGNBD_DOC, "cadence"),
               "basket": (BASKET_DOC, "basket"), "categories": (CATEGORY_DOC, "categories"),
               "promotions": (PROMOTIONS_DOC, "promotions"), "site": (SITE_DOC, "site"),
               "channel": (CHANNEL_DOC, "channel"), "timing": (TIMING_DOC, "timing"),
               "profile": (PROFILE_DOC, "profile")}
OBSERVED_ZERO = ("site",)  # a customer absent from the family's table truly had none (its counts become 0)

# An optional table with no row before the cutoff tells nothing yet: its family is left out rather than
# reported as zero counts, so that rows at or after the cutoff cannot switch a family on.
EMPTY_BEFORE = {"site": "the events table has no row before the cutoff",
                "profile": "no customers row is known before the cutoff (all sign up at or after it)"}


def family_needs(name: str) -> tuple[str, ...]:
    """Return what a family needs from the shop ("table" or "table.column"; "a|b": either will do)."""
    return CAPABILITIES[FAMILY_INFO[name][1]].needs  # the one table of what optional data enables what


def unmet_needs(has: Callable[[str, str | None], bool], needs: tuple[str, ...]) -> list[str]:
    """Return the needs the shop does not meet; ``has(table, column)`` says what it holds."""
    def met(one: str) -> bool:
        table, _, column = one.partition(".")
        return has(table, column or None)

    return [need.replace("|", " or ") for need in needs if not any(met(one) for one in need.split("|"))]


def notes_on_parts(has: Callable[[str, str | None], bool], included: dict[str, str], with_hour: bool) -> list[str]:
    """Return notes on parts of included families that are left out (absent columns, no times of day)."""
    notes = []
    if "timing" in included and not with_hour:
        notes.append(f"timing: {HOUR_NOTE}")
    if "channel" in included:
        absent = [c for c in CHANNEL_COLUMNS if not has("transactions", c)]
        notes += [f"channel: main_{c} left out: transactions have no {c} column" for c in absent]
        if C.DEVICE in absent:
            notes.append("channel: mobile_share left out: transactions have no device column")
    if "profile" in included:
        wanted = (C.BIRTH_DATE, C.SIGNUP_DATE, *TEXT_COLUMNS, C.EMAIL_OPT_IN)
        absent = [c for c in wanted if not has("customers", c)]
        notes += [f"profile: features from {c} left out: customers have no {c} column" for c in absent]
    return notes
