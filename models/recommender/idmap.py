"""IdMap: external string ids (customers, items) to dense integers 0..n-1 and back.

Models work on the dense integers and answer with external ids. Lookups go through a ``pandas.Index`` hash table,
built once, so mapping a batch of 100,000 ids is one vectorised call; a single id uses a plain dict.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd


class IdMap:
    """A frozen mapping between external ids and ``0..n-1`` (external ids are strings).

    Parameters
    ----------
    external : sequence of str
        The external ids, in internal order; they must be unique.

    Examples
    --------
    >>> ids = IdMap(["b", "a"])
    >>> ids.to_internal(["a", "zzz"]).tolist()
    [1, -1]
    >>> ids.to_external([0]).tolist()
    ['b']
    """

    UNKNOWN = -1

    def __init__(self, external: Sequence[str] | np.ndarray) -> None:
        values = np.asarray(external, dtype=object).astype(str).astype(object)
        self._index = pd.Index(values, dtype=object)
        if not self._index.is_unique:
            raise ValueError("IdMap needs unique external ids")
        self._external = values
        self._lookup: dict[str, int] | None = None  # built on the first single-id lookup

    def __len__(self) -> int:
        return len(self._external)

    def __repr__(self) -> str:
        return f"IdMap(n={len(self)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IdMap) and np.array_equal(self._external, other._external)

    def __hash__(self) -> int:
        return hash(len(self))

    @classmethod
    def from_values(cls, *columns: Iterable[object]) -> IdMap:
        """Return the map of the distinct non-missing values of ``columns``, in order of first appearance."""
        parts = [pd.Series(_distinct_categories(c) if _is_categorical(c) else
                           np.asarray(list(c) if not isinstance(c, (np.ndarray, pd.Series)) else c, dtype=object))
                 for c in columns]
        values = pd.concat(parts, ignore_index=True) if parts else pd.Series([], dtype=object)
        values = values[values.notna()].astype(str)
        return cls(pd.unique(values.to_numpy()))

    @property
    def external(self) -> np.ndarray:
        """The external ids as an object array, in internal order (do not modify)."""
        return self._external

    def to_internal(self, ids: Iterable[object]) -> np.ndarray:
        """Return the dense index of each id (``-1`` for ids not in the map) as int64."""
        array = np.asarray(ids if isinstance(ids, (np.ndarray, pd.Series)) else list(ids), dtype=object)
        if len(array) == 0:
            return np.zeros(0, dtype=np.int64)
        return self._index.get_indexer(array.astype(str)).astype(np.int64)

    def codes(self, values: pd.Series) -> np.ndarray:
        """Return ``to_internal(values)`` as int32; a categorical column is looked up once per category."""
        if _is_categorical(values):
            lookup = self.to_internal(values.cat.categories.to_numpy(dtype=object)).astype(np.int32)
            codes = values.cat.codes.to_numpy()
            return np.where(codes >= 0, lookup[codes], self.UNKNOWN).astype(np.int32)
        return self.to_internal(values.astype(str).to_numpy()).astype(np.int32)

    def index_of(self, external_id: object) -> int:
        """Return one id's dense index, or ``-1``: a dict lookup, for single in-process calls."""
        if self._lookup is None:
            self._lookup = {value: i for i, value in enumerate(self._external.tolist())}
        return self._lookup.get(str(external_id), self.UNKNOWN)

    def to_external(self, internal: Iterable[int] | np.ndarray) -> np.ndarray:
        """Return the external ids of dense indices (object array)."""
        return self._external[np.asarray(internal, dtype=np.int64)]

    def save(self, path: Path) -> None:
        """Write the ids to ``path`` (.npz, a fixed-width unicode array: no pickle)."""
        np.savez_compressed(path, ids=self._external.astype(str))

    @classmethod
    def load(cls, path: Path) -> IdMap:
        with np.load(path, allow_pickle=False) as data:
            return cls(data["ids"])


def _is_categorical(values: object) -> bool:
    return isinstance(values, pd.Series) and isinstance(values.dtype, pd.CategoricalDtype)


def _distinct_categories(values: pd.Series) -> np.ndarray:
    """Return a categorical column's values in order of first appearance, from its codes (no per-row strings)."""
    codes = values.cat.codes.to_numpy()
    seen = pd.unique(codes[codes >= 0])
    return np.asarray(values.cat.categories.to_numpy(dtype=object)[seen], dtype=object)
