"""Issue 12 leftover: a feature value is put into words in one place, the same for the catalogue and the reasons."""

from __future__ import annotations

import pytest

from features.families.catalogue import feature_catalogue
from models.customer.reasons import describe


def as_saved(name: str) -> dict[str, str]:
    f = feature_catalogue()[name]
    return {"phrase": f.phrase, "unit": f.unit, "if_zero": f.phrase_if_zero}


@pytest.mark.parametrize(("name", "value", "text"), [
    ("orders", 1.0, "1 order in all"),
    ("orders", 3.0, "3 orders in all"),
    ("days_until_expected_order", -61.0, "next order overdue by 61 days"),
    ("days_until_expected_order", 12.0, "next order expected in 12 days"),
    ("orders_trend_90d", 1.0, "+1 order in the last 90 days against the 90 before"),
])
def test_catalogue_and_reasons_word_a_value_alike(name: str, value: float, text: str) -> None:
    assert feature_catalogue()[name].describe(value) == text
    assert describe(as_saved(name), value) == text

