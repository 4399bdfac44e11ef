"""The top-k search of :func:`retailcrm.basket.next_best`, in NumPy.

Owners (customers, or customer x group) and items are integer codes; rules are ranked once in
a total order ``g`` (0 is the best rule) and grouped by antecedent set in CSR form: the rules of
set ``s`` are positions ``set_ptr[s]:set_ptr[s + 1]``, best first.

Each owner holds some antecedent sets (``pairs``). Their rules are read in rounds of growing
depth (``k``, ``2k``, ``4k``, ... rules per set). After a round an owner reads deeper into a set
only if the set's next rule ranks above the owner's k-th best item so far: every later rule of
that set ranks below it, and the owner's k-th best can only improve, so those rules can never
reach the top k (the threshold idea of Fagin, Lotem & Naor 2003). Sorting packed int64 keys
does the grouping (``np.sort`` is the fastest primitive NumPy has for it).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = ["Ladder", "top_k"]

IntArray = npt.NDArray[np.int64]


class Ladder(NamedTuple):
    """Rules grouped by antecedent set, best first within a set."""

    set_ptr: IntArray  # rules of set s: positions set_ptr[s]:set_ptr[s + 1]
    consequent: IntArray  # item code of each position's consequent
    rank: IntArray  # the rule's place in the total order (g) at each position
    item_of: IntArray  # the consequent's item code of the rule of each rank g


class Best(NamedTuple):
    """One row per (owner, item): the best rule's rank ``g``, sorted by owner, then ``g``.

    The item is that of the rule: ``ladder.item_of[g]``.
    """

    owner: IntArray
    g: IntArray


def _sorted_pairs(high: IntArray, low: IntArray, n_low: int) -> tuple[IntArray, IntArray]:
    """Sort by (high, low); pack both in one int64 when they fit (``np.sort`` is fastest)."""
    if high.size == 0:
        return high, low
    if int(high.max()) < (2**62) // max(n_low, 1):
        return np.divmod(np.sort(high * n_low + low), n_low)
    order = np.lexsort((low, high))
    return high[order], low[order]


def _best(owner: IntArray, g: IntArray, item_of: IntArray, n_items: int) -> Best:
    """Keep each (owner, item)'s best (smallest) ``g``; order by owner, then ``g``."""
    n_rules = item_of.size
    pair, g = _sorted_pairs(owner * n_items + item_of[g], g, n_rules)
    first = np.r_[True, pair[1:] != pair[:-1]] if pair.size else np.zeros(0, np.bool_)
    owner, g = _sorted_pairs(pair[first] // n_items, g[first], n_rules)
    return Best(owner, g)


def top_k(
    pairs_owner: IntArray,
    pairs_set: IntArray,
    ladder: Ladder,
    *,
    customer_of: IntArray,
    bought: IntArray,
    n_items: int,
    k: int,
    exclude: bool,
) -> tuple[IntArray, IntArray, IntArray, IntArray]:
    """Return ``(owner, item, g, rank)`` of every owner's top-k items.

    Parameters
    ----------
    pairs_owner, pairs_set
        The (owner, antecedent set) pairs: the owner holds every item of the set.
    ladder
        The rules per set, best first.
    customer_of
        The customer code of each owner (purchases are excluded per customer).
    bought
        Sorted keys ``customer * n_items + item`` of the customers' purchases.
    n_items
        Number of item codes.
    k
        Items per owner.
    exclude
        Leave out items the owner's customer bought.
    """
    n_rules = ladder.rank.size
    best = Best(np.zeros(0, np.int64), np.zeros(0, np.int64))
    # grouped by owner, the look-ups of one customer's purchases hit one stretch of `bought`
    owner, sets = _sorted_pairs(pairs_owner, pairs_set, ladder.set_ptr.size)
    low, high = 0, k
    while owner.size:
        first = ladder.set_ptr[sets]
        start = first + low
        stop = np.minimum(first + high, ladder.set_ptr[sets + 1])
        count = np.maximum(stop - start, 0)
        total = int(count.sum())
        pos = np.arange(total, dtype=np.int64) + np.repeat(
            start - (np.cumsum(count) - count), count
        )
        cand_owner = np.repeat(owner, count)
        cand_g = ladder.rank[pos]
        if exclude and bought.size:
            key = customer_of[cand_owner] * n_items + ladder.consequent[pos]
            where = np.minimum(np.searchsorted(bought, key), bought.size - 1)
            fresh = bought[where] != key
            cand_owner, cand_g = cand_owner[fresh], cand_g[fresh]
        best = _best(np.r_[best.owner, cand_owner], np.r_[best.g, cand_g], ladder.item_of, n_items)
        deeper = first + high < ladder.set_ptr[sets + 1]
        owner, sets = owner[deeper], sets[deeper]
        if owner.size == 0:
            break
        following = ladder.rank[ladder.set_ptr[sets] + high]
        keep = following < _kth(best, k, int(customer_of.size), n_rules)[owner]
        owner, sets = owner[keep], sets[keep]
        low, high = high, 2 * high
    run = np.r_[True, best.owner[1:] != best.owner[:-1]] if best.owner.size else np.zeros(0, bool)
    starts = np.flatnonzero(run)
    rank = np.arange(best.owner.size) - np.repeat(starts, np.diff(np.r_[starts, best.owner.size]))
    top = rank < k
    g = best.g[top]
    return best.owner[top], ladder.item_of[g], g, rank[top] + 1


def _kth(best: Best, k: int, n_owners: int, n_rules: int) -> IntArray:
    """The k-th best ``g`` of each owner (``n_rules`` when an owner has fewer than k items)."""
    kth = np.full(n_owners, n_rules, np.int64)
    if best.owner.size == 0:
        return kth
    starts = np.flatnonzero(np.r_[True, best.owner[1:] != best.owner[:-1]])
    sizes = np.diff(np.r_[starts, best.owner.size])
    full = sizes >= k
    kth[best.owner[starts[full]]] = best.g[starts[full] + k - 1]
    return kth
