"""The feature catalogue: for every output column its family, meaning, unit and a phrase a marketer reads.

The models turn LightGBM contributions into sentences with it ("no order for 210 days, 3.0 times their usual
gap since the last order"). Windowed names follow the ``FeaturesConfig`` in use.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from features.families.config import FeaturesConfig


@dataclass(frozen=True)
class Feature:
    """One output column: its family, what it means, its unit and a phrase a marketer reads."""

    name: str
    family: str
    unit: str  # days, count, money, share, ratio, years, hour, flag, category, date
    description: str
    phrase: str  # str.format template with {value}; flags: the phrase when the value is 1
    phrase_if_zero: str = ""  # flags only: the phrase when the value is 0

    @property
    def kind(self) -> str:
        """'categorical' (string), 'date' (ISO string, not a model input) or 'numeric' (float)."""
        return {"category": "categorical", "date": "date"}.get(self.unit, "numeric")

    def describe(self, value: float | str) -> str:
        """Return the phrase for one customer's value, e.g. ``no order for 210 days``."""
        return phrase_value(self.phrase, self.unit, value, self.phrase_if_zero)


_ONE_PLURAL = re.compile(r"(?<![\d.,])1 (\w+?)(ies|s)\b")
_VALUE = re.compile(r"\{value[^}]*\}")


def phrase_value(phrase: str, unit: str, value: object, if_zero: str = "") -> str:
    """Return a feature's phrase for one value: the one place values become words (the models' reasons too).

    Flags pick the phrase or ``if_zero``; templates are written for the plural ("1 orders" becomes "1 order");
    a template "when >= 0|when < 0" takes its second half, with the value's magnitude, for a negative value, so
    a date in the past is never "expected -61 days from now".

    Examples
    --------
    >>> phrase_value("next order expected in {value:.0f} days|next order overdue by {value:.0f} days", "days", -61)
    'next order overdue by 61 days'
    """
    if unit == "flag":
        return phrase if _truthy(value) else if_zero
    template, _, if_negative = phrase.partition("|")
    if if_negative and isinstance(value, int | float) and value < 0:
        template, value = if_negative, -value
    try:
        text = template.format(value=value)
    except (ValueError, TypeError):  # a string where the template wants a number
        text = _VALUE.sub(lambda _: str(value), template)
    return _ONE_PLURAL.sub(lambda m: f"1 {m.group(1)}{'y' if m.group(2) == 'ies' else ''}", text)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "1.0", "true", "yes")
    try:
        number = float(value)  # type: ignore[arg-type]  # anything float() takes; the rest is not truthy
    except (TypeError, ValueError):
        return False
    return bool(number) and not math.isnan(number)


def feature_catalogue(cfg: FeaturesConfig | None = None) -> dict[str, Feature]:
    """Return every feature the build can output under ``cfg`` (windowed names follow its windows)."""
    cfg = cfg or FeaturesConfig()
    r, k, t, h = cfg.recent_events_days, cfg.contact_days, cfg.trend_days, cfg.bgnbd_horizon_days
    rows = [
        ("rfm", "days_since_last_order", "days", "days since the last purchase order", "no order for {value:.0f} days"),
        ("rfm", "days_since_first_order", "days", "tenure: days since the first purchase order",
         "a customer for {value:.0f} days"),
        ("rfm", "orders", "count", "purchase orders before the cutoff", "{value:.0f} orders in all"),
        ("rfm", "net_revenue", "money", "net revenue, returns deducted", "spent {value:,.2f} in all"),
        ("rfm", "avg_order_value", "money", "net revenue per purchase order", "spends {value:,.2f} per order"),
        *[("rfm", f"orders_{d}d", "count", f"purchase orders in the last {d} days",
           f"{{value:.0f}} orders in the last {d} days") for d in cfg.windows_days],
        *[("rfm", f"revenue_{d}d", "money", f"net revenue in the last {d} days",
           f"spent {{value:,.2f}} in the last {d} days") for d in cfg.windows_days],
        ("rfm", f"orders_trend_{t}d", "count", f"orders in the last {t} days minus the {t} days before",
         f"{{value:+.0f}} orders in the last {t} days against the {t} before"),
        ("rfm", f"revenue_trend_{t}d", "money", f"net revenue in the last {t} days minus the {t} days before",
         f"spent {{value:+,.2f}} in the last {t} days against the {t} before"),
        ("cadence", "mean_gap_days", "days", "mean days between consecutive orders",
         "usually orders every {value:.0f} days"),
        ("cadence", "gap_std_days", "days", "standard deviation of the days between orders",
         "the gap between orders varies by {value:.0f} days"),
        ("cadence", "overdue_ratio", "ratio", "days since the last order over the usual gap (above 1 = overdue)",
         "{value:.1f} times their usual gap since the last order"),
        ("cadence", "days_until_expected_order", "days", "usual gap minus days since the last order (< 0 = overdue)",
         "next order expected in {value:.0f} days|next order overdue by {value:.0f} days"),
        ("cadence", "expected_next_order_date", "date", "last order date plus the usual gap",
         "next order expected around {value}"),
        ("bgnbd", f"bgnbd_expected_orders_{h}d", "count", f"BG/NBD expected purchase orders in the next {h} days",
         f"expected to place {{value:.1f}} orders in the next {h} days"),
        ("bgnbd", "bgnbd_p_alive", "share", "BG/NBD probability that the customer is still active",
         "{value:.0%} likely to still be an active customer"),
        ("basket", "items_per_order", "count", "mean units per purchase order", "buys {value:.1f} items per order"),
        ("basket", "distinct_items", "count", "distinct items bought", "has bought {value:.0f} different items"),
        ("categories", "distinct_categories", "count", "distinct categories bought",
         "buys from {value:.0f} categories"),
        ("categories", "top_category", "category", "the category with the most spend", "buys mostly {value}"),
        ("categories", "top_category_share", "share", "the top category's share of spend",
         "{value:.0%} of spend in one category"),
        ("categories", "price_level", "ratio", "prices paid over the category average (1 = average)",
         "pays {value:.2f} times the category's average price"),
        ("promotions", "discount_order_share", "share", "share of purchase orders with a discount",
         "{value:.0%} of orders had a discount"),
        ("promotions", "discount_revenue_share", "share", "share of spend on discounted lines",
         "{value:.0%} of spend was on discount"),
        ("promotions", "buys_only_on_sale", "flag", f"1 when every order (at least {cfg.sale_only_min_orders}) "
         "had a discount", "buys only on sale", "also buys at full price"),
        *[("site", f"{name}_{r}d", "count", f"{name.replace('_', ' ')} in the last {r} days",
           f"{{value:.0f}} {name.replace('_', ' ')} in the last {r} days")
          for name in ("views", "cart_adds", "wishlist_adds", "email_opens", "email_clicks")],
        ("site", f"abandoned_carts_{r}d", "count", f"cart adds in the last {r} days with no order within "
         f"{cfg.abandoned_cart_hours} h", f"left {{value:.0f}} carts without ordering in the last {r} days"),
        ("site", f"orders_per_view_{r}d", "ratio", f"purchase orders per product view in the last {r} days",
         f"{{value:.2f}} orders per product view in the last {r} days"),
        ("site", "days_since_last_visit", "days", "days since the last browsing event",
         "no visit for {value:.0f} days"),
        ("site", f"callbacks_{k}d", "count", f"callback requests in the last {k} days",
         f"asked for {{value:.0f}} callbacks in the last {k} days"),
        *([("site", f"email_opens_{k}d", "count", f"e-mail opens in the last {k} days",
            f"{{value:.0f}} email opens in the last {k} days")] if k > r else []),
        ("site", "last_email_open", "date", "date of the last e-mail opened", "last opened an e-mail on {value}"),
        ("site", f"chats_{k}d", "count", f"chats in the last {k} days", f"{{value:.0f}} chats in the last {k} days"),
        ("channel", "main_device", "category", "device of most orders", "usually orders on {value}"),
        ("channel", "main_channel", "category", "channel of most orders", "usually orders through {value}"),
        ("channel", "main_source", "category", "traffic source of most orders", "usually comes from {value}"),
        ("channel", "mobile_share", "share", "share of orders placed on mobile", "{value:.0%} of orders on mobile"),
        ("timing", "preferred_weekday", "category", "weekday of most orders", "usually orders on {value}s"),
        ("timing", "preferred_weekday_share", "share", "share of orders on the preferred weekday",
         "{value:.0%} of orders on their usual weekday"),
        ("timing", "preferred_hour", "hour", "hour of day (0-23) of most orders",
         "usually orders around {value:02.0f}:00"),
        ("timing", "preferred_hour_share", "share", "share of orders in the preferred hour",
         "{value:.0%} of orders in their usual hour"),
        ("profile", "age_years", "years", "age in whole years at the cutoff", "{value:.0f} years old"),
        ("profile", "days_to_birthday", "days", "days from the cutoff to the next birthday",
         "birthday in {value:.0f} days"),
        ("profile", "days_since_signup", "days", "days since sign-up", "signed up {value:.0f} days ago"),
        ("profile", "gender", "category", "gender as given", "gender {value}"),
        ("profile", "city", "category", "city", "lives in {value}"),
        ("profile", "acquisition_source", "category", "how the customer was acquired", "came through {value}"),
        ("profile", "email_opt_in", "flag", "1 when the customer accepts marketing e-mail", "opted in to e-mail",
         "not opted in to e-mail"),
    ]
    return {row[1]: Feature(row[1], row[0], *row[2:]) for row in rows}


FEATURES = feature_catalogue()
"""The catalogue under the default ``FeaturesConfig``: column name -> Feature."""
