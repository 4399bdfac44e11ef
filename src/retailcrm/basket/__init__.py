r"""Market baskets: frequent itemsets, association rules and next-best purchases per customer.

The pipeline is three plain functions::

    sets = basket.itemsets(tx, min_support=0.01)        # what sells together, and how often
    found = basket.rules(sets, min_confidence=0.3)      # A -> C with confidence, lift, ...
    offers = basket.next_best(tx, found, k=5)           # per customer: the top-k items to offer

and :func:`sequences` finds what customers buy *later* (A in one order, B in a later one).

A **basket** is one ``order_id`` (of one ``customer_id`` when that column exists); without an
``order_id`` column one customer-day is one basket. A basket holds an item or not: repeated lines
and quantities count once, and every line counts (the sign of ``amount`` is not read). Items can
be lifted to ``brand`` or ``category`` with ``level=``.

The results equal those of the reference implementations on the same baskets: the itemsets and
counts of Borgelt's FP-growth / Eclat (``pyfim``) and of ``mlxtend.frequent_patterns``, the rule
metrics of ``mlxtend.frequent_patterns.association_rules`` (see :func:`rules` for the cases
where a metric is infinite or undefined). Mining never builds a dense baskets x items matrix:
see :mod:`retailcrm.basket._mining` for the algorithm.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from itertools import combinations
from typing import Literal

import numpy as np
import numpy.typing as npt
import polars as pl

from retailcrm._errors import ArgumentError, ColumnError, DataError
from retailcrm._schema import require
from retailcrm._time import AsOf, cutoff
from retailcrm.basket._baskets import (
    basket_columns,
    check_level,
    check_min_support,
    encode,
    forbid_nulls,
    item_codes,
    keys_columns,
    min_count,
    to_labels,
)
from retailcrm.basket._mining import mine
from retailcrm.basket._recommend import Ladder, top_k

__all__ = ["METRICS", "itemsets", "next_best", "rules", "sequences"]

#: The rule metrics :func:`rules` can return, in the order of its columns.
METRICS: tuple[str, ...] = (
    "confidence",
    "lift",
    "leverage",
    "conviction",
    "zhangs_metric",
    "jaccard",
    "certainty",
    "kulczynski",
)

Level = Literal["item", "brand", "category"]
Correction = Literal["bh", "bonferroni"]

_ITEMSETS = {"itemset": "any", "count": "numeric", "support": "numeric"}


# ---------------------------------------------------------------------------------------------
# itemsets


def _check_max_len(max_len: object, *, caller: str) -> int | None:
    if max_len is None:
        return None
    if isinstance(max_len, bool) or not isinstance(max_len, (int, np.integer)) or max_len < 1:
        msg = f"{caller}: max_len must be None or an int >= 1 (items per itemset); got {max_len!r}."
        raise ArgumentError(msg)
    return int(max_len)


def _in_item_order(
    items: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], rank: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Map mining codes to label places; sort within rows, then rows lexicographically."""
    places = np.sort(rank[items], axis=1)
    order = np.lexsort(places.T[::-1])
    return places[order], counts[order]


def _by_columns(
    by: object, frame: pl.DataFrame | pl.LazyFrame, *, caller: str, what: str
) -> list[str]:
    """Normalise ``by`` to a list of column names that ``frame`` has."""
    if by is None:
        return []
    names = [by] if isinstance(by, str) else list(by)  # type: ignore[call-overload]
    if not names or not all(isinstance(name, str) for name in names):
        msg = f"{caller}: by must be a column name or a list of column names; got {by!r}."
        raise ArgumentError(msg)
    schema = frame.collect_schema()
    missing = [name for name in names if name not in schema]
    if missing:
        msg = (
            f"{caller}: by={names} names column(s) {missing} not found in {what}, which has "
            f"{list(schema.names())}."
        )
        raise ColumnError(msg)
    reserved = {"itemset", "length", "count", "support", "antecedent", "consequent"}
    clash = sorted(reserved & set(names))
    if clash:
        msg = f"{caller}: by={names} uses result column name(s) {clash}; rename them first."
        raise ArgumentError(msg)
    return names


def _groups(frame: pl.DataFrame, by: list[str]) -> list[tuple[dict[str, object], pl.DataFrame]]:
    """The parts of ``frame`` per value of the ``by`` columns (nulls are a group), sorted."""
    keys = frame.select(by).unique().sort(by, nulls_last=True)
    parts = frame.partition_by(by, as_dict=True, maintain_order=True)
    return [(dict(zip(by, key, strict=True)), parts[key]) for key in keys.iter_rows()]


def _with_groups(
    results: list[tuple[dict[str, object], pl.DataFrame]],
    by: list[str],
    schema: pl.Schema,
    empty: pl.DataFrame,
) -> pl.DataFrame:
    """Concatenate per-group results, each with its group's ``by`` columns first."""
    frames = [
        result.select(
            *[pl.lit(value, dtype=schema[name]).alias(name) for name, value in key.items()],
            pl.all(),
        )
        for key, result in results
    ]
    if frames:
        return pl.concat(frames)
    return pl.DataFrame(schema={**{name: schema[name] for name in by}, **empty.schema})


def _empty_itemsets(dtype: pl.DataType) -> pl.DataFrame:
    return pl.DataFrame(
        schema={
            "itemset": pl.List(dtype),
            "length": pl.UInt32,
            "count": pl.UInt32,
            "support": pl.Float64,
        }
    )


def _mine(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    min_support: object,
    max_len: object,
    level: object,
    caller: str,
) -> tuple[pl.DataFrame, int]:
    """Itemsets of ``tx`` and the number of baskets."""
    level = check_level(level, caller=caller)
    limit = _check_max_len(max_len, caller=caller)
    baskets, threshold = encode(tx, level, min_support=min_support, caller=caller)
    levels = mine(
        baskets.indptr,
        baskets.indices,
        baskets.item_counts,
        min_count=threshold,
        max_len=limit,
    )
    dtype = baskets.labels.dtype
    frames = []
    for found in levels:
        if found.counts.size == 0:
            continue
        places, counts = _in_item_order(found.items, found.counts, baskets.rank)
        frames.append(
            pl.DataFrame(
                {
                    "itemset": to_labels(places, baskets.labels, "itemset"),
                    "length": pl.Series(np.full(counts.size, places.shape[1]), dtype=pl.UInt32),
                    "count": pl.Series(counts, dtype=pl.UInt32),
                }
            )
        )
    result = pl.concat(frames) if frames else _empty_itemsets(dtype).drop("support")
    # NumPy divides exactly (Polars may multiply by the reciprocal): support == count / n
    support = np.true_divide(result["count"].to_numpy(), baskets.n_baskets)
    return result.with_columns(support=pl.Series(support, dtype=pl.Float64)), baskets.n_baskets


def itemsets(
    tx: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    min_support: float | int,
    max_len: int | None = None,
    level: Level = "item",
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    r"""Frequent itemsets: the sets of items that at least ``min_support`` of the baskets hold.

    Parameters
    ----------
    tx
        Canonical transactions with ``order_id`` (or ``customer_id`` and ``timestamp``: one
        customer-day is one basket) and the ``level`` column. A LazyFrame is collected.
    min_support
        A float in (0, 1]: the smallest fraction of baskets (an itemset is frequent when
        ``count / n_baskets >= min_support``, exactly as mlxtend tests it); or an int >= 1: the
        smallest number of baskets (pyfim's ``supp=-count``).
    max_len
        Most items per itemset; ``None`` for no limit.
    level
        The column whose values are the items: ``"item"``, ``"brand"`` or ``"category"``.
    by
        Column(s) whose values scope the analysis (a segment, a store, a channel): the
        itemsets of each group's rows, mined separately, with ``min_support`` relative to the
        group's own baskets. A basket whose lines fall in two groups counts in both, with its
        lines of each; a null is a group of its own.

    Returns
    -------
    pl.DataFrame
        One row per frequent itemset (per group, the ``by`` columns first, groups sorted), by
        ``length`` and then item order:

        - ``itemset`` (List of the level column's dtype): the items, sorted;
        - ``length`` (UInt32): number of items;
        - ``count`` (UInt32): baskets holding every item of the set;
        - ``support`` (Float64): ``count / n_baskets``.

    Raises
    ------
    ColumnError
        No ``order_id`` (nor ``customer_id`` and ``timestamp``), or no ``level`` column.
    ArgumentError
        ``min_support`` outside (0, 1] or an int below 1; a bad ``max_len`` or ``level``.
    DataError
        No rows, or null items or basket keys.

    Notes
    -----
    With baskets :math:`T_1, \dots, T_N` (sets of items), the count and support of an itemset
    :math:`X` are

    .. math:: n(X) = |\{t : X \subseteq T_t\}|, \qquad s(X) = n(X) / N,

    and :math:`X` is frequent when :math:`s(X) \ge` ``min_support``. Supports are
    anti-monotone (:math:`X \subseteq Y \Rightarrow n(X) \ge n(Y)`), which is what every
    miner exploits (Agrawal & Srikant 1994, "Fast algorithms for mining association rules",
    VLDB). This one is a level-wise Eclat (Zaki 2000, IEEE TKDE 12(3)) over occurrence lists,
    vectorised with NumPy; it never builds a dense baskets x items matrix.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import basket
    >>> tx = pl.DataFrame({"order_id": [1, 1, 2, 2, 3, 3, 3],
    ...                    "item": ["tea", "milk", "tea", "milk", "tea", "bread", "milk"]})
    >>> basket.itemsets(tx, min_support=2 / 3).rows()
    [(['milk'], 1, 3, 1.0), (['tea'], 1, 3, 1.0), (['milk', 'tea'], 2, 3, 1.0)]
    >>> basket.itemsets(tx, min_support=1, max_len=1)["itemset"].to_list()
    [['bread'], ['milk'], ['tea']]
    >>> shops = tx.with_columns(store=pl.when(pl.col("order_id") < 3).then(pl.lit("north"))
    ...                                 .otherwise(pl.lit("south")))
    >>> scoped = basket.itemsets(shops, min_support=1.0, by="store")
    >>> scoped.filter(pl.col("length") == 2).select("store", "itemset", "count").head(2).rows()
    [('north', ['milk', 'tea'], 2), ('south', ['bread', 'milk'], 1)]
    """
    caller = "basket.itemsets"
    groups = _by_columns(by, tx, caller=caller, what="the transactions")
    if not groups:
        return _mine(tx, min_support=min_support, max_len=max_len, level=level, caller=caller)[0]
    parts, schema = _scoped(
        tx, groups, min_support=min_support, max_len=max_len, level=level, caller=caller
    )
    empty = _empty_itemsets(schema[level])  # type: ignore[index]
    return _with_groups([(key, found) for key, found, _ in parts], groups, schema, empty)


def _scoped(
    tx: pl.DataFrame | pl.LazyFrame,
    by: list[str],
    *,
    min_support: object,
    max_len: object,
    level: object,
    caller: str,
) -> tuple[list[tuple[dict[str, object], pl.DataFrame, int]], pl.Schema]:
    """Itemsets and the number of baskets of each group of ``by``; the collected schema."""
    level = check_level(level, caller=caller)
    check_min_support(min_support, caller=caller)
    _check_max_len(max_len, caller=caller)
    keys = basket_columns(tx, level, caller=caller)
    frame = tx.lazy().select(list(dict.fromkeys([*by, *keys_columns(keys), level]))).collect()
    if frame.height == 0:
        msg = f"{caller}: the transactions hold no baskets (0 rows). Pass a frame with rows."
        raise DataError(msg)
    parts = []
    for key, part in _groups(frame, by):
        found, n_baskets = _mine(
            part, min_support=min_support, max_len=max_len, level=level, caller=caller
        )
        parts.append((key, found, n_baskets))
    return parts, frame.schema


# ---------------------------------------------------------------------------------------------
# rules


def _n_baskets(sets: pl.DataFrame, *, caller: str) -> int:
    """Return the number of baskets behind an itemsets frame (``count / support`` on every row)."""
    ratio = (sets["count"].cast(pl.Float64) / sets["support"]).to_numpy()
    n = round(float(ratio[0]))
    if not np.all(np.abs(ratio - n) <= 1e-6 * n):
        msg = (
            f"{caller}: count / support is not the same on every row of the itemsets (from "
            f"{ratio.min():.6g} to {ratio.max():.6g}); pass the frame basket.itemsets() returned."
        )
        raise DataError(msg)
    return n


def _codes_of(
    sets: pl.DataFrame, *, caller: str
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], pl.Series]:
    """Item codes of every itemset (sorted, padded with -1), the lengths, and the labels."""
    flat = sets["itemset"].explode()
    if flat.null_count():
        msg = f"{caller}: {flat.null_count()} item(s) in column 'itemset' are null. Drop them."
        raise DataError(msg)
    codes, labels = item_codes(flat)
    lengths = sets["itemset"].list.len().cast(pl.Int64).to_numpy()
    if (lengths == 0).any():
        msg = f"{caller}: {int((lengths == 0).sum())} itemset(s) are empty. Drop them."
        raise DataError(msg)
    width = int(lengths.max())
    padded = np.full((sets.height, width), labels.len(), np.int64)
    rows = np.repeat(np.arange(sets.height), lengths)
    cols = np.arange(codes.size) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    padded[rows, cols] = codes
    padded.sort(axis=1)
    padded[padded == labels.len()] = -1
    return padded, lengths, labels


def _lookup(
    keys: npt.NDArray[np.int64], table: pl.DataFrame, *, what: str, caller: str
) -> npt.NDArray[np.int64]:
    """Look up the counts of the itemsets ``keys`` (padded code rows) in ``table``."""
    names = [f"k{j}" for j in range(keys.shape[1])]
    query = pl.DataFrame({name: keys[:, j] for j, name in enumerate(names)}).with_row_index("_row")
    found = query.join(table, on=names, how="left").sort("_row")["count"]
    if found.null_count():
        msg = (
            f"{caller}: {found.null_count()} rule {what}(s) are not among the itemsets; rules need "
            "every subset of an itemset, as basket.itemsets() returns them (do not filter it "
            "by length or count before rules())."
        )
        raise DataError(msg)
    return found.to_numpy().astype(np.int64)


def _split(
    codes: npt.NDArray[np.int64], lengths: npt.NDArray[np.int64]
) -> Iterator[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]]:
    """Every split of every itemset into antecedent and consequent (both non-empty).

    Yields ``(itemset rows, antecedent codes, consequent codes)`` blocks of one shape each, in
    mlxtend's order: itemsets in order, antecedents from the longest to the shortest.
    """
    for length in range(2, codes.shape[1] + 1):
        rows = np.flatnonzero(lengths == length)
        if rows.size == 0:
            continue
        block = codes[rows, :length]
        for size in range(length - 1, 0, -1):
            for chosen in combinations(range(length), size):
                rest = [j for j in range(length) if j not in chosen]
                yield rows, block[:, list(chosen)], block[:, rest]


def _pad(block: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
    return np.hstack([block, np.full((block.shape[0], width - block.shape[1]), -1, np.int64)])


def _benjamini_hochberg(p: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    order = np.argsort(p)
    n = p.size
    scaled = p[order] * n / np.arange(1, n + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    out = np.empty_like(p)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def rules(
    itemsets_or_tx: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    min_confidence: float = 0.8,
    min_lift: float | None = None,
    metrics: Sequence[str] = METRICS,
    min_support: float | int | None = None,
    max_len: int | None = None,
    level: Level = "item",
    fisher: bool = False,
    correction: Correction = "bh",
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    r"""Association rules A -> C from frequent itemsets, with mlxtend's metrics.

    Every split of a frequent itemset into a non-empty antecedent A and consequent C is a rule
    (so consequents can hold several items, as in mlxtend). Rules with
    ``confidence >= min_confidence`` (and ``lift >= min_lift`` when given) are kept.

    Parameters
    ----------
    itemsets_or_tx
        The frame :func:`itemsets` returned (columns ``itemset``, ``count``, ``support``, every
        subset of an itemset present); or canonical transactions, which are mined first with
        ``min_support``, ``max_len`` and ``level`` (then ``min_support`` is required).
    min_confidence
        Smallest confidence, in [0, 1] (0.8 by default, as in mlxtend, pyfim and arules).
    min_lift
        Smallest lift, or ``None``.
    metrics
        Which of :data:`METRICS` to return (default all), in any order; columns come in the
        order of :data:`METRICS`. ``confidence`` is always returned.
    min_support, max_len, level
        As in :func:`itemsets`; only with transactions.
    fisher
        Add ``p_value`` (one-sided Fisher exact test that A and C occur together more often
        than by chance) and ``p_adjusted`` (corrected over all the rules of the itemsets,
        before the confidence and lift filters).
    correction
        ``"bh"`` (Benjamini & Hochberg 1995, false discovery rate) or ``"bonferroni"``
        (family-wise error rate).
    by
        Column(s) that scope the rules (a segment, a store, a channel): the rules of each
        group, from that group's itemsets and baskets (see :func:`itemsets`). Itemsets must
        then carry these columns, as ``itemsets(..., by=...)`` returns them. Fisher's
        correction runs within each group.

    Returns
    -------
    pl.DataFrame
        One row per rule (per group, the ``by`` columns first), by ``confidence`` then
        ``lift`` (both descending; ties in itemset order):

        - ``antecedent``, ``consequent`` (List of the item dtype): the items, sorted;
        - ``antecedent_count``, ``consequent_count``, ``count`` (UInt32): baskets holding A,
          C, and both;
        - ``antecedent_support``, ``consequent_support``, ``support`` (Float64): the same
          over the number of baskets;
        - the requested ``metrics`` (Float64), then ``p_value``, ``p_adjusted`` with
          ``fisher=True``.

    Raises
    ------
    ArgumentError
        A threshold out of range, an unknown metric or correction, or ``min_support`` missing
        with transactions (or given with itemsets).
    DataError
        An itemsets frame lacking a subset of one of its itemsets, or inconsistent counts.

    Notes
    -----
    With :math:`N` baskets and counts :math:`n_A, n_C, n_{AC}`, supports
    :math:`s_X = n_X / N` and confidence :math:`c = n_{AC} / n_A`:

    .. math::

        \mathrm{lift} = \frac{c}{s_C}, \quad
        \mathrm{leverage} = s_{AC} - s_A s_C, \quad
        \mathrm{conviction} = \frac{1 - s_C}{1 - c}, \quad
        \mathrm{jaccard} = \frac{s_{AC}}{s_A + s_C - s_{AC}},

        \mathrm{zhang} = \frac{s_{AC} - s_A s_C}{\max(s_{AC}(1 - s_A),\ s_A(s_C - s_{AC}))},
        \quad
        \mathrm{certainty} = \frac{c - s_C}{1 - s_C}, \quad
        \mathrm{kulczynski} = \frac{1}{2}\left(\frac{n_{AC}}{n_A} + \frac{n_{AC}}{n_C}\right).

    These are mlxtend's definitions (``association_rules``; Zhang & Wu 2011 for Zhang's
    metric, Brin et al. 1997 for conviction, Wu et al. 2010 for Kulczynski), and its choices
    where a formula divides by zero are kept: ``conviction`` is ``inf`` when the confidence is
    1 (the rule never fails); ``zhangs_metric`` is 0 when its denominator is 0 (only when
    :math:`s_A = 1`, so that A and C are independent); ``certainty`` is 0 when :math:`s_C = 1`
    (C is in every basket, A adds nothing). No metric is ever NaN.

    Fisher's one-sided p-value is :math:`P(X \ge n_{AC})` for
    :math:`X \sim \mathrm{Hypergeometric}(N, n_A, n_C)` (as ``scipy.stats.fisher_exact`` with
    ``alternative="greater"``; Hahsler & Hornik's arules ``is.significant``). It does not
    correct for the choice of itemsets by support.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import basket
    >>> tx = pl.DataFrame({"order_id": [1, 1, 2, 2, 3, 3, 4],
    ...                    "item": ["tea", "milk", "tea", "milk", "tea", "bread", "bread"]})
    >>> found = basket.rules(tx, min_support=2, min_confidence=0.6, metrics=["lift"])
    >>> found.select("antecedent", "consequent", "count", "confidence", "lift").rows()
    [(['milk'], ['tea'], 2, 1.0, 1.333...), (['tea'], ['milk'], 2, 0.666..., 1.333...)]
    """
    caller = "basket.rules"
    unknown = (
        [m for m in metrics if m not in METRICS] if not isinstance(metrics, str) else [metrics]
    )
    if unknown:
        msg = f"{caller}: unknown metric(s) {unknown}; choose from {list(METRICS)}."
        raise ArgumentError(msg)
    if correction not in ("bh", "bonferroni"):
        msg = f"{caller}: correction must be one of ['bh', 'bonferroni']; got {correction!r}."
        raise ArgumentError(msg)
    for name, value, top in (("min_confidence", min_confidence, 1.0), ("min_lift", min_lift, None)):
        if value is None:
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float))
            or not (0.0 <= float(value) <= (top if top is not None else np.inf))
        ):
            bounds = "in [0, 1]" if top is not None else ">= 0"
            msg = f"{caller}: {name} must be a number {bounds}; got {value!r}."
            raise ArgumentError(msg)
    require(itemsets_or_tx, {}, caller=caller)
    groups = _by_columns(by, itemsets_or_tx, caller=caller, what="the input")
    options = {
        "min_confidence": float(min_confidence),
        "min_lift": None if min_lift is None else float(min_lift),
        "metrics": [m for m in METRICS if m in {"confidence", *metrics}],
        "fisher": fisher,
        "correction": correction,
        "caller": caller,
    }
    if "itemset" in itemsets_or_tx.collect_schema():
        if min_support is not None or max_len is not None:
            msg = (
                f"{caller}: min_support and max_len apply to transactions; these are itemsets "
                "already (they have an 'itemset' column). Drop the arguments or pass transactions."
            )
            raise ArgumentError(msg)
        sets = require(itemsets_or_tx, _ITEMSETS, caller=caller).lazy().collect()
        if not groups:
            n_baskets = _n_baskets(sets, caller=caller) if sets.height else 0
            return _rules(sets, n_baskets, **options)  # type: ignore[arg-type]
        parts = [
            (key, part.drop(groups), _n_baskets(part, caller=caller))
            for key, part in _groups(sets, groups)
        ]
        schema = sets.schema
        empty_sets = sets.drop(groups).clear()
    else:
        if min_support is None:
            msg = (
                f"{caller}: given transactions (no 'itemset' column), rules need min_support to "
                "mine the itemsets first: pass min_support=0.01 (a fraction) or =20 (baskets)."
            )
            raise ArgumentError(msg)
        check_min_support(min_support, caller=caller)
        if not groups:
            sets, n_baskets = _mine(
                itemsets_or_tx, min_support=min_support, max_len=max_len, level=level, caller=caller
            )
            return _rules(sets, n_baskets, **options)  # type: ignore[arg-type]
        parts, schema = _scoped(
            itemsets_or_tx,
            groups,
            min_support=min_support,
            max_len=max_len,
            level=level,
            caller=caller,
        )
        empty_sets = _empty_itemsets(schema[level])  # type: ignore[index]
    empty = _rules(empty_sets, 0, **options)  # type: ignore[arg-type]
    found = [(key, _rules(part, n, **options)) for key, part, n in parts]  # type: ignore[arg-type]
    return _with_groups(found, groups, schema, empty)


def _rules(
    sets: pl.DataFrame,
    n_baskets: int,
    *,
    min_confidence: float,
    min_lift: float | None,
    metrics: list[str],
    fisher: bool,
    correction: str,
    caller: str,
) -> pl.DataFrame:
    dtype = sets.schema["itemset"].inner if isinstance(sets.schema["itemset"], pl.List) else None
    if dtype is None:
        msg = f"{caller}: column 'itemset' is {sets.schema['itemset']}; it must be a List of items."
        raise ColumnError(msg)
    empty = {
        "antecedent": pl.List(dtype),
        "consequent": pl.List(dtype),
        "antecedent_count": pl.UInt32,
        "consequent_count": pl.UInt32,
        "count": pl.UInt32,
        "antecedent_support": pl.Float64,
        "consequent_support": pl.Float64,
        "support": pl.Float64,
        **dict.fromkeys(metrics, pl.Float64),
        **({"p_value": pl.Float64, "p_adjusted": pl.Float64} if fisher else {}),
    }
    if sets.height == 0 or sets["itemset"].list.len().max() < 2:  # type: ignore[operator]
        return pl.DataFrame(schema=empty)
    codes, lengths, labels = _codes_of(sets, caller=caller)
    width = codes.shape[1]
    names = [f"k{j}" for j in range(width)]
    table = pl.DataFrame({name: codes[:, j] for j, name in enumerate(names)}).with_columns(
        count=sets["count"].cast(pl.Int64)
    )
    if table.select(names).is_duplicated().any():
        msg = (
            f"{caller}: the itemsets hold the same itemset twice. Pass them as "
            "basket.itemsets() returns them."
        )
        raise DataError(msg)
    counts = table["count"].to_numpy()
    blocks = list(_split(codes, lengths))
    ante = np.vstack([_pad(a, width) for _, a, _ in blocks])
    cons = np.vstack([_pad(c, width) for _, _, c in blocks])
    n_ac = np.concatenate([counts[rows] for rows, _, _ in blocks])
    n_a = _lookup(ante, table, what="antecedent", caller=caller)
    n_c = _lookup(cons, table, what="consequent", caller=caller)
    frame = pl.DataFrame(
        {
            "antecedent": pl.concat([to_labels(a, labels, "antecedent") for _, a, _ in blocks]),
            "consequent": pl.concat([to_labels(c, labels, "consequent") for _, _, c in blocks]),
            "antecedent_count": pl.Series(n_a, dtype=pl.UInt32),
            "consequent_count": pl.Series(n_c, dtype=pl.UInt32),
            "count": pl.Series(n_ac, dtype=pl.UInt32),
        }
    )
    frame = frame.with_columns(
        antecedent_support=pl.Series(np.true_divide(n_a, n_baskets)),
        consequent_support=pl.Series(np.true_divide(n_c, n_baskets)),
        support=pl.Series(np.true_divide(n_ac, n_baskets)),
    )
    na, nc, nac = (
        pl.col(c).cast(pl.Float64) for c in ("antecedent_count", "consequent_count", "count")
    )
    s_a, s_c, s_ac = (pl.col(c) for c in ("antecedent_support", "consequent_support", "support"))
    confidence = nac / na
    leverage = s_ac - s_a * s_c
    zhang_den = pl.max_horizontal(s_ac * (1 - s_a), s_a * (s_c - s_ac))
    exprs = {
        "confidence": confidence,
        "lift": confidence / s_c,
        "leverage": leverage,
        "conviction": pl.when(pl.col("count") == pl.col("antecedent_count"))
        .then(float("inf"))
        .otherwise((1 - s_c) / (1 - confidence)),
        "zhangs_metric": pl.when(zhang_den == 0).then(0.0).otherwise(leverage / zhang_den),
        "jaccard": s_ac / (s_a + s_c - s_ac),
        "certainty": pl.when(pl.col("consequent_count") == n_baskets)
        .then(0.0)
        .otherwise((confidence - s_c) / (1 - s_c)),
        "kulczynski": (nac / na + nac / nc) / 2,
    }
    frame = frame.with_columns(**{m: exprs[m] for m in metrics})
    if fisher:
        from scipy.stats import hypergeom

        p = np.clip(hypergeom.sf(n_ac - 1, n_baskets, n_a, n_c), 0.0, 1.0)
        adjusted = _benjamini_hochberg(p) if correction == "bh" else np.minimum(p * p.size, 1.0)
        frame = frame.with_columns(p_value=pl.Series(p), p_adjusted=pl.Series(adjusted))
    keep = confidence >= min_confidence
    if min_lift is not None:
        keep = keep & (confidence / s_c >= min_lift)
    return (
        frame.filter(keep)
        .sort([confidence, confidence / s_c], descending=True, maintain_order=True)
        .select(list(empty))
    )


# ---------------------------------------------------------------------------------------------
# next best purchase

_RULES = {"antecedent": "any", "consequent": "any", "confidence": "numeric", "lift": "numeric"}


def next_best(
    tx: pl.DataFrame | pl.LazyFrame,
    rules: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    k: int = 5,
    as_of: AsOf = None,
    exclude_purchased: bool = True,
    level: Level = "item",
    by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    r"""Offer each customer the top-``k`` items of the rules their history satisfies.

    A rule A -> {c} applies to a customer whose purchases up to ``as_of`` include every item
    of A; it proposes ``c`` with the rule's confidence as the score. Each item keeps its best
    rule (highest confidence, then lift, then support); each customer keeps the ``k`` best
    items.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, the ``level`` column and, when ``as_of``
        is given, ``timestamp``. Every customer in it (up to ``as_of``) is in the result.
    rules
        Rules as :func:`rules` returns them (``antecedent``, ``consequent``, ``confidence``,
        ``lift``; ``support`` when present breaks ties). Only rules with a one-item
        consequent are used: a rule A -> {b, c} implies A -> {b} and A -> {c} with at least its
        confidence, and those are among the rules of the same itemsets.
    k
        Items per customer (>= 1).
    as_of
        Observation end, inclusive (a date, a datetime or an ISO string); later rows are
        ignored. Default: all rows.
    exclude_purchased
        Leave out items the customer already bought up to ``as_of``.
    level
        The column whose values the rules' items are: ``"item"``, ``"brand"`` or
        ``"category"``.
    by
        Column(s) of scoped rules (``rules(..., by=...)``) that ``tx`` has too: a customer's
        rows of a group meet only that group's rules, and the result has one list per
        customer and group. Purchases in any group count for ``exclude_purchased``.

    Returns
    -------
    pl.DataFrame
        Sorted by ``customer_id`` (then ``by``) and ``rank``; one row per recommendation,
        and one row with nulls (``rank`` included) for a customer no rule applies to (a
        LazyFrame is collected: the search runs in rounds, see Notes):

        - ``customer_id``, then the ``by`` columns;
        - ``rank`` (UInt32): 1 for the best item;
        - the ``level`` column (``item``, ``brand`` or ``category``): the item proposed;
        - ``score`` (Float64): the confidence of its rule, :math:`n_{AC} / n_A`;
        - ``lift`` (Float64) of that rule;
        - ``antecedent`` (List): the items of the customer's history that triggered it.

    Raises
    ------
    ColumnError
        A column is missing, or the rules' items are not of the ``level`` column's dtype.
    ArgumentError
        ``k`` below 1, or a bad ``level`` or ``as_of``.
    DataError
        Null items or customer ids.

    Notes
    -----
    With :math:`H_u` the set of items customer :math:`u` bought up to ``as_of`` and
    :math:`R` the rules,

    .. math:: \mathrm{score}_u(c) = \max\{\mathrm{conf}(A \to c) : A \to c \in R,\
              A \subseteq H_u\},

    over :math:`c \notin H_u` when ``exclude_purchased``. This is rule-based cross-selling
    as in Agrawal, Imielinski & Swami (1993) and Lin, Alvarez & Ruiz (2002), "Efficient
    adaptive-support association rule mining for recommender systems".

    The search never pairs every customer with every rule of every antecedent they hold
    (with popular items that is hundreds of rules per purchase). All rules are ranked in one
    order (confidence, lift, support, then rule order) and the rules of each antecedent are
    read in rounds of growing depth: :math:`k` rules, then :math:`2k`, :math:`4k`, ... A
    customer reads deeper into an antecedent's rules only while its next rule ranks above
    the customer's k-th best item so far; every rule further down ranks below it, so it
    cannot enter the top k, and the result is exact (the threshold idea of Fagin, Lotem &
    Naor 2003, "Optimal aggregation algorithms for middleware", JCSS 66(4)).

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import basket
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 3, 4, 5],
    ...                    "order_id": [1, 1, 2, 2, 3, 3, 4, 5],
    ...                    "item": ["tea", "milk", "tea", "milk", "tea", "bread", "tea", "jam"]})
    >>> found = basket.rules(tx, min_support=2, min_confidence=0.5)
    >>> offers = basket.next_best(tx, found, k=2)
    >>> offers.filter(pl.col("rank").is_not_null()).rows()
    [(3, 1, 'milk', 0.5, 1.25, ['tea']), (4, 1, 'milk', 0.5, 1.25, ['tea'])]
    >>> offers.filter(pl.col("rank").is_null())["customer_id"].to_list()  # nobody is dropped
    [1, 2, 5]
    """
    caller = "basket.next_best"
    level = check_level(level, caller=caller)  # type: ignore[assignment]
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        msg = f"{caller}: k must be an int >= 1 (items per customer); got {k!r}."
        raise ArgumentError(msg)
    needed = {"customer_id": "id", level: "id"}
    if as_of is not None:
        needed["timestamp"] = "date or datetime"
    require(tx, needed, caller=caller)
    require(rules, _RULES, caller=caller)
    if not isinstance(rules, pl.DataFrame):
        rules = rules.collect()
    item_dtype = tx.collect_schema()[level]
    for name in ("antecedent", "consequent"):
        dtype = rules.schema[name]
        if not isinstance(dtype, pl.List) or dtype.inner != item_dtype:
            msg = (
                f"{caller}: rules column {name!r} is {dtype}, but the transactions' {level!r} is "
                f"{item_dtype}; mine the rules from the same column (level={level!r})."
            )
            raise ColumnError(msg)
    groups = _by_columns(by, tx, caller=caller, what="the transactions")
    _by_columns(groups or None, rules, caller=caller, what="the rules")
    history = tx.lazy()
    if as_of is not None:
        history = history.filter(
            cutoff(as_of, tx.collect_schema()["timestamp"], caller=caller).keep
        )
    held = history.select("customer_id", *groups, _item=pl.col(level)).unique().collect()
    forbid_nulls(held.rename({"_item": level}), level, level, ["customer_id"], caller=caller)
    owner = ["customer_id", *groups]
    best = _best_items(held, rules, owner=owner, groups=groups, k=int(k), exclude=exclude_purchased)
    return (
        held.select(owner)
        .unique()
        .join(best, on=owner, how="left", nulls_equal=True)
        .select(
            *owner,
            "rank",
            pl.col("_consequent").alias(level),
            score=pl.col("confidence"),
            lift=pl.col("lift"),
            antecedent=pl.col("antecedent"),
        )
        .sort(*owner, "rank", nulls_last=True)
    )


def _best_items(
    held: pl.DataFrame,
    rules: pl.DataFrame,
    *,
    owner: list[str],
    groups: list[str],
    k: int,
    exclude: bool,
) -> pl.DataFrame:
    """Top-k (owner, item) recommendations with their rule; see next_best's Notes."""
    tie = pl.col("support") if "support" in rules.columns else pl.lit(0.0)
    single = (
        rules.filter(pl.col("consequent").list.len() == 1, pl.col("antecedent").list.len() >= 1)
        .select(
            *groups,
            "antecedent",
            "confidence",
            "lift",
            _tie=tie,
            _consequent=pl.col("consequent").list.first(),
        )
        .with_row_index("_rule")
        .sort(["confidence", "lift", "_tie", "_rule"], descending=[True, True, True, False])
        .with_row_index("_g")  # the rules' total order: smaller is better
    )
    sets = (
        single.select(*groups, "antecedent")
        .unique(maintain_order=True)
        .with_row_index("_set")
        .with_columns(_size=pl.col("antecedent").list.len())
    )
    single = single.join(sets, on=[*groups, "antecedent"], nulls_equal=True)
    if single.height == 0 or held.height == 0:
        schema = {
            **{c: held.schema[c] for c in owner},
            "rank": pl.UInt32,
            "_consequent": held.schema["_item"],
            **{c: single.schema[c] for c in ("confidence", "lift", "antecedent")},
        }
        return pl.DataFrame(schema=schema)
    # integer codes: owners, customers (purchases are excluded per customer), items
    owners = held.select(owner).unique(maintain_order=True).with_row_index("_u")
    held = held.join(owners, on=owner, nulls_equal=True)
    codes, labels = item_codes(pl.concat([held["_item"], single["_consequent"]]))
    n_items = labels.len()
    customer_of = item_codes(owners["customer_id"])[0]
    held_u = held["_u"].cast(pl.Int64).to_numpy()
    bought = np.sort(customer_of[held_u] * n_items + codes[: held.height])
    # the rules of each antecedent set, best first
    by_g = codes[held.height :][np.argsort(single["_g"].to_numpy())]  # consequent of rule g
    ladder_frame = single.select("_set", "_g").sort("_set", "_g")
    ladder_set = ladder_frame["_set"].cast(pl.Int64).to_numpy()
    ladder_g = ladder_frame["_g"].cast(pl.Int64).to_numpy()
    set_ptr = np.zeros(sets.height + 1, np.int64)
    np.cumsum(np.bincount(ladder_set, minlength=sets.height), out=set_ptr[1:])
    ladder = Ladder(set_ptr, by_g[ladder_g], ladder_g, by_g)
    pairs = _applicable(held, sets, owner=["_u"], groups=groups)
    owner_code, _, g, rank = top_k(
        pairs["_u"].cast(pl.Int64).to_numpy(),
        pairs["_set"].cast(pl.Int64).to_numpy(),
        ladder,
        customer_of=customer_of,
        bought=bought,
        n_items=n_items,
        k=k,
        exclude=exclude,
    )
    top = pl.DataFrame(
        {
            "_u": pl.Series(owner_code, dtype=pl.UInt32),
            "_g": pl.Series(g, dtype=pl.UInt32),
            "rank": pl.Series(rank, dtype=pl.UInt32),
        }
    )
    return (
        top.join(owners, on="_u")
        .join(single.select("_g", "_consequent", "confidence", "lift", "antecedent"), on="_g")
        .select(*owner, "rank", "_consequent", "confidence", "lift", "antecedent")
    )


def _applicable(
    held: pl.DataFrame, sets: pl.DataFrame, *, owner: list[str], groups: list[str]
) -> pl.DataFrame:
    """(owner, antecedent set) pairs whose every item the owner bought."""
    ones = sets.filter(pl.col("_size") == 1).select(
        *groups, "_set", _item=pl.col("antecedent").list.first()
    )
    found = [held.join(ones, on=[*groups, "_item"], nulls_equal=True).select(*owner, "_set")]
    several = sets.filter(pl.col("_size") > 1)
    if several.height:
        parts = several.explode("antecedent").rename({"antecedent": "_item"})
        found.append(
            held.join(parts, on=[*groups, "_item"], nulls_equal=True)
            .group_by(*owner, "_set")
            .agg(_hits=pl.len(), _size=pl.col("_size").first())
            .filter(pl.col("_hits") == pl.col("_size"))
            .select(*owner, "_set")
        )
    return pl.concat(found)


# ---------------------------------------------------------------------------------------------
# sequential rules


def sequences(
    tx: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    min_support: float | int,
    within: str | None = "90d",
    min_confidence: float = 0.0,
    as_of: AsOf = None,
    level: Level = "item",
) -> pl.DataFrame:
    r"""Sequential rules "bought A, then B in a later order": the cross-sell timing of customers.

    A customer supports A -> B (A and B different items) when one of their orders holds A and
    a later order holds B, at most ``within`` after it. Counts are of customers.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, the ``level`` column and
        ``order_id`` when present (otherwise one customer-day is one order). An order's time is
        its first line's; "later" means a strictly later order time.
    min_support
        Smallest share of customers supporting a rule (a float in (0, 1]) or their number (an
        int >= 1).
    within
        Longest gap between the two orders, in whole calendar days of their dates: ``"<n>d"``
        or ``"<n>w"``; ``None`` for no limit.
    min_confidence
        Smallest confidence, in [0, 1].
    as_of
        Observation end, inclusive; later rows are ignored. Default: all rows.
    level
        The column whose values are the items: ``"item"``, ``"brand"`` or ``"category"``.

    Returns
    -------
    pl.DataFrame
        One row per rule, by ``confidence`` then ``lift`` (descending), then items:

        - ``antecedent``, ``consequent`` (the item dtype): A and B;
        - ``antecedent_count``, ``consequent_count`` (UInt32): customers who bought A, B;
        - ``count`` (UInt32): customers who bought B in an order within ``within`` after an
          order with A;
        - ``support`` (Float64): ``count`` over the number of customers;
        - ``confidence`` (Float64): ``count / antecedent_count``;
        - ``lift`` (Float64): ``confidence`` over the share of customers who bought B;
        - ``median_days`` (Float64): over the supporting customers, the median of each one's
          shortest gap in days from an order with A to a later order with B.

    Raises
    ------
    ColumnError
        A column is missing.
    ArgumentError
        ``min_support``, ``within``, ``min_confidence``, ``level`` or ``as_of`` is invalid.
    DataError
        No rows, or null items or keys.

    Notes
    -----
    With :math:`N` customers, :math:`n_A` the customers who bought A and :math:`n_{A \to B}`
    those with orders :math:`o_1, o_2`, :math:`t(o_1) < t(o_2)`,
    :math:`d(o_2) - d(o_1) \le` ``within``, :math:`A \in o_1`, :math:`B \in o_2`:

    .. math::

        \mathrm{support} = \frac{n_{A \to B}}{N}, \quad
        \mathrm{confidence} = \frac{n_{A \to B}}{n_A}, \quad
        \mathrm{lift} = \frac{\mathrm{confidence}}{n_B / N}.

    These are the sequential-pattern supports of Agrawal & Srikant (1995), "Mining sequential
    patterns", ICDE, for two-element sequences of one item each, with a maximum gap as in
    Srikant & Agrawal (1996), "Mining sequential patterns: generalizations and performance
    improvements", EDBT. A customer who bought A only in their last order could not have
    shown B yet: the confidence counts them in :math:`n_A` all the same.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import basket
    >>> tx = pl.DataFrame({
    ...     "customer_id": [1, 1, 2, 2, 3, 3],
    ...     "timestamp": [date(2024, 1, 1), date(2024, 1, 20), date(2024, 2, 1),
    ...                   date(2024, 6, 1), date(2024, 3, 1), date(2024, 3, 2)],
    ...     "item": ["printer", "ink", "printer", "ink", "printer", "paper"]})
    >>> found = basket.sequences(tx, min_support=1, within="30d")
    >>> found.select("antecedent", "consequent", "count", "lift", "median_days").rows()
    [('printer', 'paper', 1, 1.0, 1.0), ('printer', 'ink', 1, 0.5, 19.0)]
    """
    caller = "basket.sequences"
    level = check_level(level, caller=caller)  # type: ignore[assignment]
    check_min_support(min_support, caller=caller)
    days = _within_days(within, caller=caller)
    if (
        isinstance(min_confidence, bool)
        or not isinstance(min_confidence, (int, float))
        or not (0.0 <= float(min_confidence) <= 1.0)
    ):
        msg = f"{caller}: min_confidence must be a number in [0, 1]; got {min_confidence!r}."
        raise ArgumentError(msg)
    keys = basket_columns(tx, level, caller=caller)
    require(tx, {"customer_id": "id", "timestamp": "date or datetime"}, caller=caller)
    lazy = tx.lazy()
    if as_of is not None:
        lazy = lazy.filter(cutoff(as_of, tx.collect_schema()["timestamp"], caller=caller).keep)
    columns = list(dict.fromkeys(["customer_id", "timestamp", *keys_columns(keys), level]))
    frame = lazy.select(columns).collect()
    if frame.height == 0:
        msg = f"{caller}: the transactions hold no orders (0 rows). Pass a frame with rows."
        raise DataError(msg)
    key_columns = [c for c in columns if c != level]
    forbid_nulls(frame, level, level, key_columns, caller=caller)
    ts = pl.col("timestamp")
    order_key = [pl.col("order_id")] if "order_id" in keys else [ts.dt.date().alias("_day")]
    events = (
        frame.lazy()
        .group_by("customer_id", *order_key)
        .agg(_t=ts.min(), _d=ts.min().dt.date(), _items=pl.col(level).unique())
        .explode("_items")
        .rename({"_items": "_item"})
        .select("customer_id", "_t", "_d", "_item")
        .collect()
    )
    n_customers = frame["customer_id"].n_unique()
    threshold = min_count(min_support, n_customers, caller=caller)
    buyers = events.group_by("_item").agg(_n=pl.col("customer_id").n_unique())
    frequent = buyers.filter(pl.col("_n") >= threshold)
    ev = events.join(frequent.select("_item"), on="_item").lazy()
    gap = (pl.col("_d_b") - pl.col("_d")).dt.total_days()
    pairs = ev.join(ev, on="customer_id", suffix="_b").filter(
        pl.col("_t_b") > pl.col("_t"),
        pl.col("_item") != pl.col("_item_b"),
        *([gap <= days] if days is not None else []),
    )
    per_customer = pairs.group_by("customer_id", "_item", "_item_b").agg(_gap=gap.min())
    counted = (
        per_customer.group_by("_item", "_item_b")
        .agg(count=pl.len(), median_days=pl.col("_gap").median().cast(pl.Float64))
        .filter(pl.col("count") >= threshold)
        .join(frequent.lazy().rename({"_n": "antecedent_count"}), on="_item")
        .join(frequent.lazy().rename({"_item": "_item_b", "_n": "consequent_count"}), on="_item_b")
        .collect()
    )
    n_a = counted["antecedent_count"].cast(pl.Int64).to_numpy()
    n_b = counted["consequent_count"].cast(pl.Int64).to_numpy()
    n_ab = counted["count"].cast(pl.Int64).to_numpy()
    confidence = np.true_divide(n_ab, n_a) if n_ab.size else np.zeros(0)
    result = counted.select(
        antecedent=pl.col("_item"),
        consequent=pl.col("_item_b"),
        antecedent_count=pl.col("antecedent_count").cast(pl.UInt32),
        consequent_count=pl.col("consequent_count").cast(pl.UInt32),
        count=pl.col("count").cast(pl.UInt32),
        support=pl.Series(np.true_divide(n_ab, n_customers), dtype=pl.Float64),
        confidence=pl.Series(confidence, dtype=pl.Float64),
        lift=pl.Series(confidence / np.true_divide(n_b, n_customers), dtype=pl.Float64),
        median_days=pl.col("median_days"),
    )
    return result.filter(pl.col("confidence") >= float(min_confidence)).sort(
        ["confidence", "lift", "antecedent", "consequent"],
        descending=[True, True, False, False],
    )


def _within_days(within: object, *, caller: str) -> int | None:
    """Days in ``"<n>d"`` / ``"<n>w"`` (n >= 0: ``"0d"`` is the same day); None stays None."""
    if within is None:
        return None
    match = re.fullmatch(r"([0-9]+)(d|w)", within) if isinstance(within, str) else None
    if match is None:
        msg = (
            f"{caller}: within must be a number of days or weeks such as '90d' or '12w' (months "
            f"have no fixed length), or None for no limit; got {within!r}."
        )
        raise ArgumentError(msg)
    return int(match.group(1)) * (7 if match.group(2) == "w" else 1)
