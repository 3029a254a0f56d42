"""Column names of the data contract and of derived tables, in one place.

Every module refers to columns through these names, so a rename happens here only.
"""

from __future__ import annotations

# transactions: one row per order line
CUSTOMER_ID = "customer_id"
ORDER_ID = "order_id"
TIMESTAMP = "timestamp"
AMOUNT = "amount"
PRICE = "price"
QUANTITY = "quantity"
ITEM_ID = "item_id"
DISCOUNT = "discount"
CHANNEL = "channel"
DEVICE = "device"
SOURCE = "source"
# derived on read: net line revenue (amount, or price x quantity; returns are negative)
REVENUE = "revenue"
MICROS = 1_000_000  # revenue is summed in integer millionths: exact, whatever order an engine adds the lines in

# events: site behaviour
EVENT_TYPE = "event_type"
SESSION_ID = "session_id"
EVENT_TYPES = (
    "view",
    "cart_add",
    "cart_remove",
    "wishlist_add",
    "search",
    "callback",
    "chat",
    "email_open",
    "email_click",
)

# customers
SIGNUP_DATE = "signup_date"
BIRTH_DATE = "birth_date"
GENDER = "gender"
CITY = "city"
ACQUISITION_SOURCE = "acquisition_source"
EMAIL_OPT_IN = "email_opt_in"

# items
CATEGORY = "category"
BRAND = "brand"
IN_STOCK = "in_stock"

TABLES = ("transactions", "events", "customers", "items")
