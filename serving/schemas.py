"""Request and response bodies of every endpoint: strict types (``false`` is not a number), limits, no extra keys.

Requests are parsed with ``Model.model_validate_json(body)``; the OpenAPI document (``serving.openapi``) is built
from these same classes, so what the docs promise is what the service checks.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, StringConstraints, Tag

from features.ids import MAX_ID_LENGTH, id_problem

MAX_K = 100
MAX_IDS = 1_000
MAX_LIST = 10_000


def checked_id(value: str) -> str:
    """The one id rule (``features.ids``): no control characters, so an id never splits a journal or CSV line."""
    problem = id_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Id = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, strip_whitespace=False),
               AfterValidator(checked_id)]
K = Annotated[int, Field(ge=1, le=MAX_K, description="How many items to return (1-100).")]
EventType = Literal["view", "cart_add", "cart_remove", "wishlist_add", "purchase"]


class Request(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(Response):
    """Every error: a short label and a sentence saying what to do."""

    error: str
    detail: str


# storefront --------------------------------------------------------------------------------------------------
class RecommendRequest(Request):
    customer_id: Id
    k: K = 10
    cart: list[Id] = Field(default_factory=list, max_length=MAX_K, description="Items in the cart now.")
    exclude: list[Id] = Field(default_factory=list, max_length=MAX_IDS, description="Items never to return.")
    category: str | None = Field(None, min_length=1, max_length=128, description="Only items of this category.")
    free_delivery_threshold: float | None = Field(
        None, gt=0, le=1e9, description="Cart value from which delivery is free (default: the config's "
        "storefront.free_delivery_threshold). Below it, items that close the gap lead the picks.")


class Pick(Response):
    item_id: str
    score: float
    reason: str


class FreeDelivery(Response):
    threshold: float
    cart_total: float = Field(description="The cart's value at list prices (one of each item).")
    gap: float = Field(description="What the cart lacks to free delivery (0: it is over the threshold).")
    unpriced_items: list[str] = Field(description="Cart items without a price in the items table (counted as 0).")


class RecommendResponse(Response):
    customer_id: str
    items: list[Pick]
    model_version: str
    fallback: bool = Field(description="True when the customer is unknown to the model: cart-based or popular picks.")
    free_delivery: FreeDelivery | None = Field(None, description="Present when a threshold applies and the cart "
                                               "(sent or live) is not empty.")
    arm: Literal["champion", "challenger"] = Field(description="Which recommender answered: the champion, or the "
                                                   "challenger of a running A/B experiment (`retention experiment`).")


class RemindersRequest(Request):
    customer_id: Id
    k: K = 10


class Reminder(Response):
    item_id: str
    kind: Literal["cart", "wishlist", "viewed", "popular"] = Field(description="Left in the cart, on the wish list, "
                                                                  "viewed and not bought, or bought by others lately "
                                                                  "in the customer's favourite category.")
    reason: str


class RemindersResponse(Response):
    customer_id: str
    items: list[Reminder]


class BoughtTogetherRequest(Request):
    item_ids: list[Id] = Field(min_length=1, max_length=MAX_K)
    k: K = 10


class ItemRequest(Request):
    item_id: Id
    k: K = 10


class ListedItem(Response):
    item_id: str
    score: float


class ItemListResponse(Response):
    items: list[ListedItem]
    unknown_items: list[str] = Field(description="Requested items the model does not know (no list for them).")
    model_version: str


class Event(Request):
    customer_id: Id
    event_type: EventType
    item_id: Id
    timestamp: datetime | None = Field(None, description="When it happened (ISO 8601); default: when received.")


class EventBatch(Request):
    events: list[Event] = Field(min_length=1, max_length=MAX_IDS)


def _event_shape(value: Any) -> str:
    """A body with ``events`` is a batch; anything else is checked as one event (so errors name its fields)."""
    return "batch" if isinstance(value, dict) and "events" in value else "one"


Events = Annotated[Annotated[Event, Tag("one")] | Annotated[EventBatch, Tag("batch")], Discriminator(_event_shape)]


class EventsResponse(Response):
    accepted: int = Field(description="Events journaled (on disk before this answer) and applied to the live state.")


# customers ---------------------------------------------------------------------------------------------------
class AudienceRequest(Request):
    limit: int = Field(1000, ge=1, le=MAX_LIST, description="At most this many customers, most value first.")


class AudienceRow(Response):
    customer_id: str
    control: bool = Field(description="Held back (do not contact): the same seeded draw as `retention campaigns`.")
    rule: str
    items: str = Field(description="The items to remind of, ';'-separated (empty for the control group).")
    value_at_stake: float


class AudienceResponse(Response):
    campaign: str
    cutoff: str
    control_share: float
    seed: int
    customers: list[AudienceRow]
    total: int = Field(description="Customers in the whole audience (before the limit).")


class CustomerRequest(Request):
    customer_id: Id


class Action(Response):
    action: Literal["reactivation offer", "VIP perk", "cross-sell", "nothing"]
    rule: str


class CustomerScores(Response):
    customer_id: str
    segment: str | None
    rfm_cell: str | None
    previous_segment: str | None
    is_golden_now: bool
    churn_probability: float
    churn_risk: Literal["low", "medium", "high"]
    golden_probability: float
    expected_value: float
    expected_orders: float
    next_order_date: str | None
    best_weekday: str | None
    best_hour: int | None
    reasons: list[str]
    action: Action


class ChurnRiskRequest(Request):
    customer_ids: list[Id] = Field(min_length=1, max_length=MAX_IDS)


class ChurnRiskResponse(Response):
    customers: list[CustomerScores]
    unknown: list[str]


class ChurnListRequest(Request):
    min_probability: float = Field(0.0, ge=0, le=1)
    segment: str | None = Field(None, min_length=1, max_length=64)
    min_value: float = Field(0.0, ge=0)
    limit: int = Field(100, ge=1, le=MAX_LIST)
    format: Literal["json", "csv"] = "json"


class ChurnListRow(Response):
    customer_id: str
    expected_lost_value: float
    churn_probability: float
    churn_risk: str
    expected_value: float
    segment: str | None
    last_order: str | None
    top_category: str | None
    preferred_weekday: str | None
    preferred_hour: int | None
    email_opt_in: str | None
    reasons: str


class ChurnListResponse(Response):
    customers: list[ChurnListRow]
    cutoff: str


class SegmentRow(Response):
    segment: str
    customers: int
    share: float
    revenue: float
    revenue_share: float
    average_check: float | None


class SegmentsResponse(Response):
    segments: list[SegmentRow]
    cutoff: str
    golden_revenue_share: float


class ReloadResponse(Response):
    status: Literal["loading", "reloaded", "failed", "idle"]
    detail: str
    versions: dict[str, str]
    generation: int = Field(description="The reload this worker has loaded (every worker follows the same count).")
