"""Profile family, from the customers table: age, birthday, gender, city, acquisition source, e-mail opt-in.

The point-in-time rule and the customers table: it is a snapshot with one row per customer, not a log, so
its only timestamp is ``signup_date``. A customer row whose ``signup_date`` is at or after the cutoff is a
row "at or after the cutoff": it is not read (that customer's profile features are missing for this
cutoff), and adding, changing or deleting such rows changes nothing. Rows without a signup date, or that
signed up before the cutoff, are read as they are: if the shop overwrites a city or an opt-in after the
cutoff we cannot know the old value, which is a (documented) limit of a snapshot table, not something a
query can fix. Each absent column's feature is left out; present columns keep their NULLs as missing.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from features import columns as C
from features.families.config import FeaturesConfig
from features.families.meta import PROFILE_DOC, TEXT_COLUMNS  # noqa: F401 (re-exported)
from features.families.rfm import days_since
from features.orders import AsOf, as_timestamp


def known_customers(customers: ir.Table, as_of: AsOf) -> ir.Table:
    """Return the customers rows known at the cutoff: no signup_date, or one before the cutoff."""
    if C.SIGNUP_DATE not in customers.columns:
        return customers
    signup = customers[C.SIGNUP_DATE]
    return customers.filter(signup.isnull() | (signup < as_timestamp(as_of)))


def profile_features(customers: ir.Table, as_of: AsOf, cfg: FeaturesConfig | None = None) -> ir.Table:
    """Return the profile family keyed by customer_id, one column group per present customers column.

    Columns: age_years and days_to_birthday (birth_date; whole years and days from the cutoff's date to the
    next birthday, 0 on the day; NULL for a birth date not before the cutoff), days_since_signup
    (signup_date), gender, city, acquisition_source (strings), email_opt_in (1.0 / 0.0).
    """
    rows = known_customers(customers, as_of)
    columns: dict[str, ir.Value] = {}
    if C.BIRTH_DATE in rows.columns:
        columns |= _birthday_columns(rows[C.BIRTH_DATE], as_of)
    if C.SIGNUP_DATE in rows.columns:
        columns["days_since_signup"] = days_since(rows[C.SIGNUP_DATE], as_of)
    columns |= {c: rows[c] for c in TEXT_COLUMNS if c in rows.columns}
    if C.EMAIL_OPT_IN in rows.columns:
        columns["email_opt_in"] = rows[C.EMAIL_OPT_IN].cast("float64")
    return rows.select(C.CUSTOMER_ID, **columns)


def _birthday_columns(birth: ir.TimestampValue, as_of: AsOf) -> dict[str, ir.Value]:
    cutoff = as_timestamp(as_of)
    today = cutoff.date()
    not_yet = (cutoff.month() < birth.month()) | ((cutoff.month() == birth.month()) & (cutoff.day() < birth.day()))
    age = cutoff.year() - birth.year() - not_yet.cast("int64")
    born = birth < cutoff
    this_year = (birth + age.as_interval("Y")).date()  # 29 February falls on the 28th in other years
    next_birthday = ibis.ifelse(this_year >= today, this_year, (birth + (age + 1).as_interval("Y")).date())
    return {
        "age_years": ibis.ifelse(born, age.cast("float64"), ibis.null("float64")),
        "days_to_birthday": ibis.ifelse(born, next_birthday.delta(today, unit="day").cast("float64"),
                                        ibis.null("float64")),
    }
