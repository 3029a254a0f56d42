"""Profile family (customers table): age, birthday, sign-up, attributes, and who is known at the cutoff."""

from __future__ import annotations

import pandas as pd
import pytest

from features.data.reader import shop_from_frames
from features.families.build import build_features
from features.families.config import FeaturesConfig
from features.families.profile import profile_features


def shop():
    tx = pd.DataFrame({"customer_id": ["a", "b", "c"], "order_id": ["1", "2", "3"],
                       "timestamp": ["2023-01-10", "2023-01-10", "2023-01-10"], "amount": ["10", "10", "10"]})
    customers = pd.DataFrame(
        [  # id, birth date, sign-up date, gender, city, e-mail opt-in
            ("a", "1990-03-01", "2020-01-01", "f", "Lyon", "yes"),
            ("b", "1992-02-29", None, "m", None, "no"),
            ("c", "2000-12-31", "2024-03-01", None, "Nice", "yes"),  # signs up at the cutoff: not yet known
            ("d", "2025-01-01", "2023-01-01", "f", "Paris", None),  # a birth date after the cutoff
        ],
        columns=["customer_id", "birth_date", "signup_date", "gender", "city", "email_opt_in"],
    )
    return shop_from_frames({"transactions": tx, "customers": customers})


def profile_at(cutoff: str) -> pd.DataFrame:
    s = shop()
    return profile_features(s.table("customers"), cutoff).execute().set_index("customer_id").sort_index()


def test_age_birthday_signup_and_attributes() -> None:
    frame = profile_at("2024-03-01")
    a, b = frame.loc["a"], frame.loc["b"]
    assert (a.age_years, a.days_to_birthday) == (34.0, 0.0)  # birthday on the cutoff's day
    assert a.days_since_signup == pytest.approx(1521.0)
    assert (a.gender, a.city, a.email_opt_in) == ("f", "Lyon", 1.0)
    # born on 29 February 1992: 32 on 1 March 2024; next birthday falls on 28 February 2025
    assert (b.age_years, b.days_to_birthday) == (32.0, 364.0)
    assert pd.isna(b.days_since_signup) and pd.isna(b.city) and b.email_opt_in == 0.0


def test_birthday_later_in_the_year_and_birth_after_cutoff() -> None:
    frame = profile_at("2023-03-01 10:00")
    assert (frame.loc["a"].age_years, frame.loc["a"].days_to_birthday) == (33.0, 0.0)
    assert frame.loc["b"].days_to_birthday == 365.0  # 29 February 2024
    assert pd.isna(frame.loc["d"].age_years) and pd.isna(frame.loc["d"].days_to_birthday)
    assert profile_at("2023-02-27").loc["a"].days_to_birthday == 2.0


def test_customer_signing_up_at_or_after_the_cutoff_is_not_known() -> None:
    assert "c" not in profile_at("2024-03-01").index
    assert "c" in profile_at("2024-03-02").index
    result = build_features(shop(), "2024-03-01", FeaturesConfig(families=("rfm", "profile")))
    c = result.frame.set_index("customer_id").loc["c"]  # ordered before the cutoff: in the population
    assert pd.isna(c.city) and pd.isna(c.age_years)
    assert any("acquisition_source" in note for note in result.notes)
