r"""Replenishment reminders: who is due to restock what, and how overdue they are.

:func:`reminders` lists, for every customer and item (or brand, category) the customer bought
on two or more days, the customer's typical interval between purchases -- their own median gap,
with the item's pooled median gap blended in while their history is short -- the date the next
purchase is expected, and the days overdue: a ready list for restock reminders ("your coffee
should be running low").

It is a module of its own, not a function of :mod:`retailcrm.assortment`: it answers a question
about customers (who to remind, when), not about the assortment, and its output is keyed by
``customer_id`` like the campaign lists of :mod:`retailcrm.segments` and :mod:`retailcrm.alerts`.

Rules shared with :mod:`retailcrm.assortment`: the **level** column is ``"item"``, ``"brand"``,
``"category"`` or any label column, and a line with a null level value is left out (a DataFrame
warns); a **purchase** is a line with ``amount > 0``; returns are ignored (a returned item was
still bought, and its need started).
"""

from __future__ import annotations

import polars as pl

from retailcrm._errors import ArgumentError
from retailcrm._schema import FrameT, same_kind
from retailcrm._time import AsOf, cutoff
from retailcrm.segments import _levels

__all__ = ["reminders"]


def reminders(
    tx: FrameT,
    /,
    *,
    level: str = "item",
    min_purchases: int = 3,
    as_of: AsOf = None,
) -> FrameT:
    r"""For each customer and repeatedly bought item: interval, next purchase date, days overdue.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the
        ``level`` column.
    level
        The column of what is restocked: ``"item"``, ``"brand"``, ``"category"`` or another
        label column.
    min_purchases
        The number of purchase days from which a customer's own median gap is used alone
        (whole number >= 2); below it the item's pooled median is blended in (see Notes).
    as_of
        Observation end, inclusive, the day reminders are computed for (default: the last
        timestamp in ``tx``). Rows after it are ignored.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer and ``level`` value bought on at least two days up
        to ``as_of``, sorted by ``days_overdue`` (most overdue first), ``customer_id`` and the
        level value:

        - ``customer_id``, ``level`` (their dtypes);
        - ``purchases`` (UInt32): purchase days of the item;
        - ``last_purchase`` (Date): the last of them;
        - ``own_median_days`` (Float64): median of the customer's gaps between them;
        - ``item_median_days`` (Float64): median of all customers' gaps for the item, pooled;
        - ``weight`` (Float64): the weight of the customer's own median, in (0, 1];
        - ``interval_days`` (Float64): the blended interval;
        - ``next_purchase`` (Date): ``last_purchase`` plus the interval rounded to whole days
          (halves up);
        - ``days_overdue`` (Int32): ``as_of - next_purchase`` in days; negative while the
          purchase is not yet due (-3: due in three days).

        Customer-item pairs bought on one day only have no interval and are not listed.

    Raises
    ------
    ArgumentError
        ``min_purchases`` is not a whole number >= 2.

    Notes
    -----
    **Purchase days.** The distinct local calendar dates :math:`d_1 < \dots < d_n` on which the
    customer bought the item (lines with ``amount > 0``; two orders on one day are one
    purchase), with gaps :math:`g_j = d_{j+1} - d_j` days. A customer-item pair is listed when
    :math:`n \ge 2`.

    **Blending rule.** With :math:`m_c` the median of the customer's :math:`n - 1` gaps,
    :math:`M_i` the median of the gaps of every customer for item :math:`i` pooled (each gap
    counts once), and :math:`K` = ``min_purchases - 1`` gaps,

    .. math::

        w = \min\!\Big(\frac{n - 1}{K}, 1\Big), \qquad
        \text{interval} = w\, m_c + (1 - w)\, M_i

    so a customer with ``min_purchases`` purchase days or more is judged on their own median
    alone, and one with fewer leans on the item's typical rhythm in proportion to the gaps
    missing -- a linear credibility weight, as in Bühlmann credibility (Bühlmann & Gisler, *A
    Course in Credibility Theory*, Springer 2005) with full credibility at :math:`K` gaps.
    Medians (the mean of the two middle values for an even count) resist the odd stock-up or
    holiday gap better than means.

    **Due date.** ``next_purchase`` = :math:`d_n + \lfloor \text{interval} + 1/2 \rfloor` days,
    and ``days_overdue`` = ``as_of`` :math:`-` ``next_purchase``.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import replenishment
    >>> days = [date(2024, 1, 1), date(2024, 1, 11), date(2024, 1, 21), date(2024, 1, 5),
    ...         date(2024, 1, 25)]
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2], "item": ["coffee"] * 5,
    ...                    "timestamp": days, "amount": [9.0] * 5})
    >>> out = replenishment.reminders(tx, as_of=date(2024, 2, 10))
    >>> out.select("customer_id", "own_median_days", "item_median_days", "interval_days",
    ...            "next_purchase", "days_overdue").rows()
    [(1, 10.0, 10.0, 10.0, datetime.date(2024, 1, 31), 10),
     (2, 20.0, 10.0, 15.0, datetime.date(2024, 2, 9), 1)]
    """
    caller = "replenishment.reminders"
    checked = _levels.checked_frame(tx, level, None, caller=caller)
    if isinstance(min_purchases, bool) or not isinstance(min_purchases, int) or min_purchases < 2:
        msg = (
            f"{caller}: min_purchases must be a whole number >= 2 (the purchase days from which "
            f"a customer's own rhythm is used alone); got {min_purchases!r}."
        )
        raise ArgumentError(msg)
    name = checked.level
    cut = cutoff(as_of, tx.collect_schema()["timestamp"], caller=caller)
    observed = tx.lazy().filter(cut.keep)
    if cut.date is not None:
        end: pl.LazyFrame = pl.LazyFrame({"_as_of": [cut.date]}, schema={"_as_of": pl.Date})
    else:
        end = observed.select(_as_of=pl.col("timestamp").max().dt.date())
    d, gap = pl.col("_day"), pl.col("_gap")
    keys = ["customer_id", name]
    days = (
        observed.filter((pl.col("amount") > 0) & pl.col(name).is_not_null())
        .select(*keys, _day=pl.col("timestamp").dt.date())
        .unique()
    )
    pairs = (
        days.group_by(keys)
        .agg(purchases=pl.len().cast(pl.UInt32), last_purchase=d.max())
        .filter(pl.col("purchases") >= 2)
    )
    # gaps between consecutive purchase days of the repeated pairs: sort once, compare neighbours
    same_pair = pl.all_horizontal(pl.col(k) == pl.col(k).shift(1) for k in keys)
    gaps = (
        days.join(pairs.select(keys), on=keys, how="semi")
        .sort(*keys, "_day")
        .select(*keys, _gap=pl.when(same_pair).then((d - d.shift(1)).dt.total_days()))
        .filter(gap.is_not_null())
    )
    own_median = gaps.group_by(keys).agg(own_median_days=gap.median())
    pooled = gaps.group_by(name).agg(item_median_days=gap.median())
    full = float(min_purchases - 1)
    weight = pl.min_horizontal((pl.col("purchases").cast(pl.Float64) - 1.0) / full, pl.lit(1.0))
    own, item, w = pl.col("own_median_days"), pl.col("item_median_days"), pl.col("weight")
    interval = pl.col("interval_days")
    result = (
        pairs.join(own_median, on=keys, how="left")
        .join(pooled, on=name, how="left")
        .join(end, how="cross")
        .with_columns(weight=weight)
        .with_columns(interval_days=w * own + (1.0 - w) * item)
        .with_columns(
            next_purchase=pl.col("last_purchase")
            + pl.duration(days=(interval + 0.5).floor().cast(pl.Int64))
        )
        .select(
            "customer_id",
            name,
            "purchases",
            "last_purchase",
            "own_median_days",
            "item_median_days",
            "weight",
            "interval_days",
            "next_purchase",
            days_overdue=(pl.col("_as_of") - pl.col("next_purchase"))
            .dt.total_days()
            .cast(pl.Int32),
        )
        .sort("days_overdue", "customer_id", name, descending=[True, False, False])
    )
    return same_kind(result, tx)  # type: ignore[no-any-return]
