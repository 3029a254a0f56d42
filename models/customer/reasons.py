"""Each customer's top drivers in words a marketer reads, from LightGBM's per-feature contributions.

For every customer the contributions (``pred_contrib=True``: one column per feature plus the bias) say how far
each feature moved the score away from the average customer's. We explain the direction the customer moved:
for someone above average risk, the features that raised it most ("no order for 210 days"); for someone below,
the features that lowered it most ("3 orders in the last 90 days"). Each is phrased with the feature's own
template from the features catalogue (saved with the model, so serving needs no feature code).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.families.catalogue import phrase_value

SEPARATOR = "; "


def describe(phrase: dict[str, str], value: object) -> str:
    """Return the phrase for one value, worded by the features catalogue's ``phrase_value`` (the one place).

    Examples
    --------
    >>> describe({"phrase": "no order for {value:.0f} days", "unit": "days", "if_zero": ""}, 210.4)
    'no order for 210 days'
    """
    return phrase_value(phrase["phrase"], phrase["unit"], value, phrase.get("if_zero", ""))


def top_reasons(contributions: np.ndarray, raw: pd.DataFrame, columns: list[str],
                phrases: dict[str, dict[str, str]], k: int = 3, direction: str = "auto") -> list[str]:
    """Return, per row, the ``k`` strongest drivers in the row's own direction, phrased and joined by "; ".

    Parameters
    ----------
    contributions
        ``(n, p + 1)`` array from ``Booster.predict(X, pred_contrib=True)``; the last column is the bias.
    raw
        The rows' original input values (strings for categoricals), with every name in ``columns``.
    columns
        The features in the order of the contribution columns.
    phrases
        Per feature: ``phrase`` (a ``str.format`` template with ``{value}``), ``unit`` and ``if_zero`` (flags).
    k
        Drivers per customer.
    direction
        ``auto``: the way the row moved from the average; ``up``: what raises the score; ``down``: what lowers it.

    Notes
    -----
    A driver whose value is missing (a one-time buyer has no usual gap) cannot be phrased; it is skipped and
    the next strongest one is taken.
    """
    contrib = np.asarray(contributions, dtype="float64")[:, : len(columns)]
    if direction == "auto":
        sign = np.sign(contrib.sum(axis=1, keepdims=True))
        sign[sign == 0] = 1.0
    else:
        sign = np.full((len(contrib), 1), 1.0 if direction == "up" else -1.0)
    signed = contrib * sign  # positive = pushes the customer the way we explain
    values = raw[columns].to_numpy(dtype=object)
    missing = pd.isna(raw[columns]).to_numpy()
    signed[missing] = -np.inf
    order = np.argsort(-signed, axis=1)[:, : k + 3]
    texts = []
    for i in range(len(raw)):
        parts: list[str] = []
        for j in order[i]:
            if len(parts) == k or signed[i, j] <= 0:
                break
            text = describe(phrases[columns[j]], values[i, j])
            if text and text not in parts:
                parts.append(text)
        texts.append(SEPARATOR.join(parts))
    return texts
