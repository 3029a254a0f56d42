"""CampaignsConfig: who goes into each campaign audience, the control share, offers, tiers and contact frequency.

Every window is in days (or hours for carts) before the cutoff; boundaries are inclusive unless a field says
otherwise. The defaults suit a typical online shop; a shop overrides them in the ``campaigns`` section of its
run configuration (``retention campaigns --config FILE``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

CAMPAIGNS = ("reactivation", "win_back", "second_order", "vip_care", "abandoned_carts", "reminders", "birthdays",
             "tier_progress", "contact_frequency")
"""The audiences ``retention campaigns`` writes (each with a control group), in display order."""
SUPPRESSION = "suppression"
"""The list of dead contacts the shop stops messaging (no control group: nobody on it is contacted)."""

DEFAULT_OFFERS = {
    "reactivation": "we miss you: a personal pick with a 10% voucher, valid 14 days",
    "win_back": "last call: 15% off before we stop writing; otherwise stop messaging",
    "second_order": "thank-you for the first order: free delivery on the second",
    "vip_care/keep": "keep: early access and a personal thank-you, no discount",
    "vip_care/grow": "grow: a bundle or up-sell from a favourite category",
    "abandoned_carts": "reminder of the cart items, no discount",
    "reminders": "a reminder of what they looked at or wished for, no discount",
    "birthdays": "birthday greeting with a 15% birthday coupon",
    "tier_progress/reach": "the spend to reach Premier, with a bonus-points week",
    "tier_progress/keep": "the spend to stay Premier before points expire",
    "contact_frequency": "newsletter cadence: this many messages a month",
}


class CampaignsConfig(BaseModel):
    """Settings of the campaign audiences, their control groups and the suppression list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    control_share: float = Field(0.10, ge=0.0, lt=1.0, description="Share of every audience held back, not "
                                 "contacted: a seeded hash of (campaign, customer_id, seed) below this share.")
    seed: int = Field(0, description="Seed of the control split; recorded in the manifest.")
    items_per_customer: int = Field(3, ge=0, le=20, description="Personal items per row (from the recommender).")
    message_cost: float = Field(0.05, ge=0.0, description="Cost of sending one message (for the suppression saving).")
    messages_per_month: float = Field(4.0, ge=0.0, description="Messages a dead contact gets today (suppression).")
    reactivation_min_value: float = Field(0.0, ge=0.0, description="Reactivation only when the expected lost value "
                                          "(churn probability x expected value) is at least this.")
    winback_days: float = Field(30.0, gt=0.0, description="Win-back: the last days before a churned customer "
                                "becomes a dead contact; the days before that are reactivation's.")
    second_order_shares: tuple[float, float] = Field((0.1, 0.8), description="Second order: one-time buyers whose "
                                                     "first order is as old as the day by which these shares of "
                                                     "the shop's second orders had come (inclusive).")
    second_order_min_repeaters: int = Field(20, ge=1, description="Fewer first-to-second gaps than this: the "
                                            "fallback window is used.")
    second_order_fallback_days: tuple[float, float] = Field((7.0, 60.0), description="Second-order window (days "
                                                            "since the first order) without enough repeaters.")
    vip_grow_probability: float = Field(0.5, gt=0.0, le=1.0, description="VIP grow: not golden now, golden "
                                        "probability at least this, not churned.")
    cart_hours: tuple[float, float] = Field((24.0, 72.0), description="Abandoned carts: cart adds this many hours "
                                            "old at the cutoff (inclusive).")
    reminder_days: int = Field(30, ge=1, le=365, description="Reminders: customers who viewed or wished for items "
                               "in this many days before the cutoff and did not buy them.")
    birthday_days: int = Field(14, ge=1, description="Birthdays from the cutoff's day to this many days later "
                               "(0 <= days to birthday < N).")
    points_per_unit: float = Field(1.0, gt=0.0, description="Loyalty points per unit of net spend.")
    premier_threshold: float = Field(1000.0, gt=0.0, description="Net spend in the tier year that makes Premier.")
    tier_year_days: float = Field(365.0, gt=0.0, description="The tier year: spend in [cutoff - days, cutoff).")
    tier_reach_share: float = Field(0.25, gt=0.0, lt=1.0, description="Within reach of Premier: the spend missing "
                                    "is at most this share of the threshold (and the customer spent this year).")
    tier_drop_days: float = Field(30.0, gt=0.0, description="About to drop out: Premier now, but the spend that "
                                  "still counts this many days later is below the threshold.")
    messages_base: int = Field(2, ge=0, description="Contact frequency: messages a month for an opted-in customer.")
    messages_min: int = Field(1, ge=0, description="... for one who never opens (no open in email_open_days).")
    messages_max: int = Field(8, ge=0, description="... at most.")
    visit_days_per_message: int = Field(3, ge=1, description="One more message a month per this many days with a "
                                        "site visit in the last visit_days.")
    visit_days: int = Field(30, gt=0, description="Window of site visits for contact frequency.")
    email_open_days: int = Field(90, gt=0, description="Window of e-mail opens for contact frequency.")
    audience_depth: int = Field(100, ge=1, le=1000, description="Item audiences: a customer qualifies when the "
                                "item is among their top this-many recommendations.")
    min_result_days: int = Field(7, ge=1, description="campaign-results refuses to estimate with fewer days of "
                                 "orders after a cutoff than this (it says how many there are).")
    audience_recent_days: float = Field(90.0, ge=0.0, description="Item audiences: leave out customers who bought "
                                        "the item (or category) this recently, unless it is a due re-buy.")
    offers: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_OFFERS),
                                   description="Suggested offer per campaign (keys as DEFAULT_OFFERS).")

    @model_validator(mode="after")
    def _consistent(self) -> CampaignsConfig:
        lo, hi = self.second_order_shares
        if not 0.0 <= lo < hi <= 1.0:
            raise ValueError(f"second_order_shares must be 0 <= low < high <= 1, got {self.second_order_shares}")
        for name in ("second_order_fallback_days", "cart_hours"):
            low, high = getattr(self, name)
            if not 0.0 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 <= low <= high, got {(low, high)}")
        if not self.messages_min <= self.messages_base <= self.messages_max:
            raise ValueError("contact frequency needs messages_min <= messages_base <= messages_max, got "
                             f"{self.messages_min}, {self.messages_base}, {self.messages_max}")
        unknown = sorted(set(self.offers) - set(DEFAULT_OFFERS))
        if unknown:
            raise ValueError(f"offers: unknown keys {unknown}; expected some of {', '.join(DEFAULT_OFFERS)}")
        return self

    def offer(self, key: str) -> str:
        """Return the suggested offer for a campaign key (configured, else the default)."""
        return self.offers.get(key, DEFAULT_OFFERS[key])
