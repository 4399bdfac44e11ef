"""Canonical transactions -> baskets as a CSR matrix of item codes (NumPy), and back to labels.

The one place that decides what a basket is and how items are numbered:

- a basket is one ``order_id`` (of one ``customer_id`` when that column exists); without an
  ``order_id`` column, one customer-day (the local calendar date of ``timestamp``);
- an item is a value of the ``level`` column (``item``, ``brand`` or ``category``); a basket
  holds an item or not (repeated lines and quantities count once);
- item codes follow the sort order of the item values, so sorted codes are sorted items.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import polars as pl

from retailcrm._errors import ArgumentError, ColumnError, DataError
from retailcrm._schema import Check, forbid, require

__all__ = [
    "LEVELS",
    "Baskets",
    "basket_columns",
    "encode",
    "forbid_nulls",
    "item_codes",
    "keys_columns",
    "min_count",
    "to_labels",
]

IntArray = npt.NDArray[np.int64]

#: The columns an itemset can be built from.
LEVELS: tuple[str, ...] = ("item", "brand", "category")


class Baskets(NamedTuple):
    """Baskets x frequent items in CSR form, and what the codes mean."""

    indptr: IntArray  # basket t holds indices[indptr[t]:indptr[t + 1]]
    indices: IntArray  # item codes, strictly ascending within a basket
    item_counts: IntArray  # baskets per item code (ascending: codes follow frequency)
    rank: IntArray  # place of each code's item in the sort order of the item values
    labels: pl.Series  # the frequent item values, sorted (``labels[rank[code]]``)
    n_baskets: int


def check_level(level: object, *, caller: str) -> str:
    """Return ``level`` if it is one of :data:`LEVELS`; raise :class:`ArgumentError` otherwise."""
    if level not in LEVELS:
        msg = f"{caller}: level must be one of {list(LEVELS)}; got {level!r}."
        raise ArgumentError(msg)
    return str(level)


def basket_columns(
    tx: pl.DataFrame | pl.LazyFrame, level: str, *, caller: str
) -> dict[str, pl.Expr]:
    """Check the columns baskets need; return the expressions that identify a basket."""
    require(tx, {}, caller=caller)  # a Polars frame at all
    schema = tx.collect_schema()
    if "order_id" in schema:
        needed = {"order_id": "id", level: "id"}
        keys = {"order_id": pl.col("order_id")}
        if "customer_id" in schema:
            needed["customer_id"] = "id"
            keys = {"customer_id": pl.col("customer_id"), **keys}
    elif "customer_id" in schema and "timestamp" in schema:
        needed = {"customer_id": "id", "timestamp": "date or datetime", level: "id"}
        keys = {"customer_id": pl.col("customer_id"), "day": pl.col("timestamp").dt.date()}
    else:
        msg = (
            f"{caller}: baskets need an order_id column, or customer_id and timestamp (then one "
            f"customer-day is one basket); the frame has {list(schema.names())}. Map your own "
            "names with retailcrm.prepare(frame, order_id=...)."
        )
        raise ColumnError(msg)
    if level not in schema:
        msg = (
            f"{caller}: level={level!r} needs a column {level!r}; the frame has "
            f"{list(schema.names())}. Map it with retailcrm.prepare(frame, {level}=...) or "
            "choose another level."
        )
        raise ColumnError(msg)
    require(tx, needed, caller=caller)
    return keys


def keys_columns(keys: dict[str, pl.Expr]) -> list[str]:
    """The input columns the basket key expressions read."""
    return list(dict.fromkeys(c for expr in keys.values() for c in expr.meta.root_names()))


def min_count(min_support: object, n_baskets: int, *, caller: str) -> int:
    """Return the smallest basket count of a frequent itemset.

    A float is a fraction of baskets: the result is the smallest ``c`` with
    ``c / n_baskets >= min_support`` in floating point (the test mlxtend applies); an int is
    the count itself.
    """
    check_min_support(min_support, caller=caller)
    if isinstance(min_support, (int, np.integer)):
        return int(min_support)
    support = float(min_support)  # type: ignore[arg-type]
    count = max(1, math.ceil(support * n_baskets))
    while count > 1 and (count - 1) / n_baskets >= support:
        count -= 1
    while count / n_baskets < support:
        count += 1
    return count


def check_min_support(min_support: object, *, caller: str) -> None:
    """Raise :class:`ArgumentError` unless ``min_support`` is in (0, 1] or an int >= 1."""
    if isinstance(min_support, bool) or not isinstance(
        min_support, (int, float, np.integer, np.floating)
    ):
        msg = (
            f"{caller}: min_support must be a fraction of baskets in (0, 1] (a float) or a "
            f"basket count >= 1 (an int); got {min_support!r}."
        )
        raise ArgumentError(msg)
    if isinstance(min_support, (int, np.integer)):
        if min_support < 1:
            msg = (
                f"{caller}: min_support={min_support} is a basket count (an int) and must be "
                ">= 1; pass a float in (0, 1] for a fraction of baskets."
            )
            raise ArgumentError(msg)
    elif not 0.0 < float(min_support) <= 1.0:
        msg = (
            f"{caller}: min_support={min_support} is a fraction of baskets (a float) and must "
            "be in (0, 1]; pass an int for an absolute basket count."
        )
        raise ArgumentError(msg)


def _integer_codes(series: pl.Series) -> IntArray:
    """Integers that are equal exactly when the values are (any order)."""
    dtype = series.dtype
    if dtype.is_integer():
        low, high = series.min(), series.max()
        if low is None or -(2**61) <= int(low) <= int(high) <= 2**61:  # type: ignore[call-overload, arg-type]
            return series.cast(pl.Int64).to_numpy()
        # ids near the 64-bit limits (or u64 beyond i64): differences would overflow
        return series.rank("dense").cast(pl.Int64).to_numpy()
    if isinstance(dtype, (pl.Date, pl.Enum)):
        return series.to_physical().cast(pl.Int64).to_numpy()
    return series.rank("dense").cast(pl.Int64).to_numpy()


def _combine(parts: list[IntArray]) -> IntArray:
    """One int64 key per row from several integer key columns (equal iff all parts are)."""
    key = parts[0] - parts[0].min()
    for part in parts[1:]:
        low = part.min()
        span = int(part.max() - low) + 1
        if int(key.max()) * span + span >= 2**62:  # would overflow: make the key dense first
            key = _dense(key)
        key = key * span + (part - low)
    return key


def _dense(values: IntArray) -> IntArray:
    """Dense codes 0..k-1 of an int64 array, in sorted order of the values."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    codes = np.empty_like(values)
    codes[order] = np.cumsum(np.r_[False, ordered[1:] != ordered[:-1]])
    return codes


def _sorted_unique(values: IntArray) -> IntArray:
    ordered = np.sort(values)
    return ordered[np.r_[True, ordered[1:] != ordered[:-1]]]


def item_codes(series: pl.Series) -> tuple[IntArray, pl.Series]:
    """Return codes 0..u-1 in sorted order of the item values, and the value of each code."""
    dtype = series.dtype
    if dtype.is_integer() and (series.max() or 0) > 2**63 - 1:  # type: ignore[operator]
        labels = series.unique().sort()  # u64 ids beyond i64: codes from the sorted values
        return labels.search_sorted(series).cast(pl.Int64).to_numpy(), labels
    if dtype.is_integer():
        values = series.cast(pl.Int64).to_numpy()
        low = int(values.min())
        span = int(values.max()) - low + 1
        if span <= max(1 << 22, 8 * values.size):  # ids in a compact range: a lookup table
            present = np.zeros(span, np.bool_)
            present[values - low] = True
            uniques = np.flatnonzero(present) + low
            codes = (np.cumsum(present) - 1)[values - low]
        else:
            uniques = _sorted_unique(values)
            codes = np.searchsorted(uniques, values)
        return codes, pl.Series(series.name, uniques).cast(dtype)
    if isinstance(dtype, pl.Enum):
        physical = series.to_physical().cast(pl.Int64).to_numpy()
        uniques = _sorted_unique(physical)
        labels = dtype.categories.gather(uniques).cast(dtype).alias(series.name)
        return np.searchsorted(uniques, physical), labels
    text = series.cast(pl.String)
    labels = text.unique().sort()
    codes = labels.search_sorted(text).cast(pl.Int64).to_numpy()
    return codes, labels.cast(dtype)


def forbid_nulls(
    frame: pl.DataFrame, item: str, level: str, keys: list[str], *, caller: str
) -> None:
    """Raise :class:`DataError` for null items (column ``item``, named ``level``) or keys."""
    show = [*keys, item]
    checks = [
        Check(
            pl.col(item).is_null(),
            f"have a null {level}",
            f"Drop or fill them (e.g. with 'unknown') before basket analysis at level {level!r}.",
            show,
        ),
        *(
            Check(
                pl.col(key).is_null(),
                f"have a null {key if key != 'day' else 'timestamp'}",
                "Every line needs its basket: drop or fill those rows.",
                show,
            )
            for key in keys
        ),
    ]
    forbid(frame, *checks, caller=caller)


def encode(
    tx: pl.DataFrame | pl.LazyFrame, level: str, *, min_support: object, caller: str
) -> tuple[Baskets, int]:
    """Read the baskets of ``tx`` at ``level``; keep the items of at least ``min_count`` baskets.

    Returns the baskets and the resolved minimum count.
    """
    keys = basket_columns(tx, level, caller=caller)
    check_min_support(min_support, caller=caller)
    frame = tx.lazy().select(*[expr.alias(name) for name, expr in keys.items()], level).collect()
    forbid_nulls(frame, level, level, [*keys], caller=caller)
    if frame.height == 0:
        msg = f"{caller}: the transactions hold no baskets (0 rows). Pass a frame with rows."
        raise DataError(msg)
    codes, labels = item_codes(frame[level])
    n_items = labels.len()
    basket = _combine([_integer_codes(frame[key]) for key in keys])
    if int(basket.max()) * n_items + n_items >= 2**62:
        basket = _dense(basket)
    pairs = np.sort(basket * n_items + codes)
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]]  # one entry per (basket, item)
    basket, codes = np.divmod(pairs, n_items)
    new_basket = np.r_[True, basket[1:] != basket[:-1]]
    row = np.cumsum(new_basket) - 1
    n_baskets = int(row[-1]) + 1
    threshold = min_count(min_support, n_baskets, caller=caller)
    counts = np.bincount(codes, minlength=n_items)
    frequent = np.flatnonzero(counts >= threshold)
    # mining codes: the frequent items from the rarest to the most frequent (Eclat's order,
    # Borgelt 2003: it keeps the prefixes' occurrence lists short)
    by_frequency = frequent[np.argsort(counts[frequent], kind="stable")]
    recode = np.full(n_items, -1, np.int64)
    recode[by_frequency] = np.arange(by_frequency.size)
    code = recode[codes]
    keep = code >= 0
    m = max(by_frequency.size, 1)
    entries = np.sort(row[keep] * m + code[keep])  # each basket's codes ascending
    rows, indices = np.divmod(entries, m)
    indptr = np.zeros(n_baskets + 1, np.int64)
    np.cumsum(np.bincount(rows, minlength=n_baskets), out=indptr[1:])
    rank = np.empty(by_frequency.size, np.int64)
    rank[np.argsort(by_frequency)] = np.arange(by_frequency.size)
    baskets = Baskets(
        indptr=indptr,
        indices=indices,
        item_counts=counts[by_frequency],
        rank=rank,
        labels=labels.gather(np.sort(by_frequency)),
        n_baskets=n_baskets,
    )
    return baskets, threshold


def to_labels(codes: npt.NDArray[np.int64], labels: pl.Series, name: str) -> pl.Series:
    """Turn an ``(n, k)`` array of item codes into a List column (a row: one list of k labels)."""
    n, k = codes.shape
    flat = labels.gather(codes.reshape(-1))
    if n == 0 or k == 0:
        return pl.Series(name, [[]] * n if k == 0 else [], dtype=pl.List(labels.dtype))
    return flat.reshape((n, k)).cast(pl.List(labels.dtype)).alias(name)
