r"""Acquisition cohorts: customers grouped by the period of their first purchase, over time.

:func:`table` builds the tidy (long) cohort table, one row per cohort x period index, with
counts, retention rates and revenue; :func:`matrix` pivots one of its metrics into the familiar
triangle for display.

Definitions (shared with the rest of the library through ``retailcrm._orders``):

- an **order** is one ``order_id`` of a customer (without an ``order_id`` column, one
  customer-day); its value is the net sum of its lines' ``amount`` and its date the local date
  of its first line;
- a **purchase occasion** is an order with a net value > 0; a customer's **cohort** is the
  calendar period (e.g. the month) of their first purchase occasion.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args

import polars as pl

from retailcrm._errors import ArgumentError
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import FrameT, require, same_kind
from retailcrm._time import Period, cutoff, parse_period

__all__ = ["METRICS", "Align", "matrix", "table"]

#: How period indices count: calendar periods, or periods since each customer's first purchase.
Align = Literal["calendar", "first_purchase"]

#: The per-cell metric columns of :func:`table` (null in cells that ``as_of`` has not reached).
METRICS: tuple[str, ...] = (
    "active_customers",
    "retention_rate",
    "orders",
    "revenue",
    "revenue_per_customer",
    "cumulative_revenue_per_customer",
)

_NEEDED = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_ALIGNS: tuple[str, ...] = get_args(Align)
_SCHEMA = pl.Schema(
    {
        "cohort": pl.Date(),
        "period_index": pl.Int32(),
        "period_start": pl.Date(),
        "cohort_size": pl.UInt32(),
        "active_customers": pl.UInt32(),
        "retention_rate": pl.Float64(),
        "orders": pl.UInt32(),
        "revenue": pl.Float64(),
        "revenue_per_customer": pl.Float64(),
        "cumulative_revenue_per_customer": pl.Float64(),
        "is_complete": pl.Boolean(),
    }
)


def table(
    tx: FrameT,
    /,
    *,
    period: str = "1mo",
    as_of: dt.date | dt.datetime | str | None = None,
    align: Align = "calendar",
) -> FrameT:
    r"""Build the cohort table: one row per cohort x period index, with retention and revenue.

    Each customer belongs to the cohort of the calendar period holding their first purchase
    occasion (an order with net value > 0). For every cohort the table lists period indices
    ``0..K``, where ``K`` is the last index that ``as_of`` reaches for the oldest cohort, so the
    rectangle is explicit: cells that ``as_of`` has not reached yet are present, with null
    metrics.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp`` (Date or Datetime, time zone
        allowed) and ``amount`` (net value of the line; negative = return); ``order_id`` is used
        when present (see :func:`retailcrm.prepare`).
    period
        Length of a cohort and of a cell: ``"<n>d"``, ``"<n>w"`` (weeks start on Monday),
        ``"<n>mo"``, ``"<n>q"`` or ``"<n>y"``.
    as_of
        Observation end (inclusive): a date (that whole day is kept), a datetime or an ISO
        string. Rows after it are excluded. Default: the last timestamp in the data, computed
        inside the same (lazy) query.
    align
        ``"calendar"``: period ``k`` of a cohort is the ``k``-th calendar period after the
        cohort's own. ``"first_purchase"``: each customer's periods are counted from their own
        first purchase date, period ``k`` being ``[first + k*period, first + (k+1)*period)``
        (month lengths as :meth:`polars.Expr.dt.offset_by` counts: one month after Jan 31 is
        Feb 29 / 28).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, sorted by ``(cohort, period_index)``:

        - ``cohort`` (Date): start of the calendar period of the first purchase occasion;
        - ``period_index`` (Int32): ``0..K``;
        - ``period_start`` (Date): start of the cell's calendar period with
          ``align="calendar"``; always null with ``align="first_purchase"``, where a cell spans
          a different date range for each customer (the column is kept so that both
          alignments share one schema);
        - ``cohort_size`` (UInt32): customers in the cohort (never null);
        - ``active_customers`` (UInt32): cohort customers with a purchase occasion in the cell;
        - ``retention_rate`` (Float64): ``active_customers / cohort_size``; 1 at index 0;
        - ``orders`` (UInt32): purchase occasions of the cohort in the cell;
        - ``revenue`` (Float64): net value of all the cohort's orders in the cell, returns and
          other orders of net value <= 0 included;
        - ``revenue_per_customer`` (Float64): ``revenue / cohort_size``;
        - ``cumulative_revenue_per_customer`` (Float64): running sum of
          ``revenue_per_customer`` over ``period_index`` within the cohort;
        - ``is_complete`` (Boolean): the cell's period has ended by ``as_of`` (the period in
          progress is False; so are cells not reached yet).

        The six metric columns (:data:`METRICS`) are null in a cell that ``as_of`` has not
        reached and 0 in a reached cell without activity. An empty input (or one without any
        purchase occasion by ``as_of``) gives an empty frame with these columns and dtypes.

    Raises
    ------
    ColumnError
        A needed column is missing or of an unusable dtype.
    ArgumentError
        ``period``, ``as_of`` or ``align`` is not one of the allowed forms.

    Notes
    -----
    With cohort :math:`c` (size :math:`N_c`), period index :math:`k`, :math:`A_{ck}` the set of
    cohort customers with a purchase occasion in cell :math:`(c, k)` and :math:`R_{ck}` the net
    value of the cohort's orders there,

    .. math::

        \mathrm{retention}_{ck} = \frac{|A_{ck}|}{N_c}, \qquad
        \mathrm{RPC}_{ck} = \frac{R_{ck}}{N_c}, \qquad
        \mathrm{CRPC}_{ck} = \sum_{j \le k} \mathrm{RPC}_{cj}.

    This is the acquisition-cohort retention table of the customer-base literature, e.g. Gupta,
    Lehmann & Stuart (2004), "Valuing Customers", Journal of Marketing Research 41(1), 7-18, and
    Fader & Hardie (2007), "How to Project Customer Retention", Journal of Interactive Marketing
    21(1), 76-90 (whose sBG model fits the survivor counts of such a table).

    Dates are local calendar dates of ``timestamp`` (in its own time zone); all arithmetic is in
    whole days. The local date of ``as_of`` counts as observed. What is left out, by design:

    - rows after ``as_of``; a customer whose first purchase is after ``as_of`` is in no cohort;
    - customers with only returns (no order of net value > 0 by ``as_of``): they are in no
      cohort, and their rows count nowhere;
    - cohort orders dated before the customer's first purchase (a return booked before it)
      whose cell would have a negative period index. With ``align="calendar"`` a return earlier
      in the first purchase's own period is in cell 0.

    An order's lines count in the period of the order's date (its first line), so ``orders``
    and ``revenue`` of a cell describe the same orders.

    With ``align="first_purchase"`` a cell ``(c, k)`` is reached once the cohort's earliest
    customer has started their period ``k`` by ``as_of`` (customers who have not started it
    yet simply have no activity there), and complete once the cohort's latest customer has
    finished it.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import cohorts
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 2, 9), date(2024, 1, 20), date(2024, 2, 1)],
    ...     "amount": [20.0, 15.0, 30.0, 10.0]})
    >>> t = cohorts.table(tx, period="1mo", as_of=date(2024, 2, 29))
    >>> t.select("cohort", "period_index", "cohort_size", "retention_rate", "is_complete").rows()
    [(datetime.date(2024, 1, 1), 0, 2, 1.0, True),
     (datetime.date(2024, 1, 1), 1, 2, 0.5, True),
     (datetime.date(2024, 2, 1), 0, 1, 1.0, True),
     (datetime.date(2024, 2, 1), 1, 1, None, False)]
    """
    caller = "cohorts.table"
    require(tx, _NEEDED, caller=caller)
    step = parse_period(period, caller=caller)
    if align not in _ALIGNS:
        msg = f"{caller}: align must be one of {list(_ALIGNS)}; got {align!r}."
        raise ArgumentError(msg)
    schema = tx.collect_schema()
    cut = cutoff(as_of, schema["timestamp"], caller=caller)

    lines = tx.lazy()
    if cut.date is not None:
        lines = lines.filter(cut.keep)
        end = pl.lit(cut.date, pl.Date)
    else:  # as_of is the last local date seen: carried through the aggregations (one pass)
        end = pl.col("_seen").max()
    cells = _partial_cells(lines, step, align, carry_seen=cut.date is None)
    return same_kind(_finish(cells, end, step, align), tx)  # type: ignore[no-any-return]


def _partial_cells(
    lines: pl.LazyFrame, step: Period, align: str, *, carry_seen: bool
) -> pl.LazyFrame:
    """The additive part of :func:`table`: activity per cell of the customers in ``lines``.

    Counts are sums over customers, so the cells of disjoint sets of customers (partitions by
    ``customer_id``) add up to the cells of all of them: this is what ``retailcrm.spark`` merges.
    With ``carry_seen`` the last local date seen rides along as ``_seen`` (the default as_of).
    """
    seen: dict[str, pl.Expr] = {"_seen": pl.col("_seen").max()} if carry_seen else {}
    order = orders(lines)
    if seen:
        last = "last_timestamp" if "order_id" in lines.collect_schema() else "order_date"
        order = order.with_columns(_seen=pl.col(last).dt.date())
    order = order.select("customer_id", "order_date", "value", *seen)
    if align == "calendar":
        return _calendar_cells(order, step, seen)
    return _first_purchase_cells(order, step, seen)


def _finish(cells: pl.LazyFrame, end: pl.Expr, step: Period, align: str) -> pl.LazyFrame:
    """The rectangle of cells up to ``end`` (the as_of date), with rates and censoring."""
    return _rectangle(cells, end, step, calendar=align == "calendar")


def _calendar_cells(order: pl.LazyFrame, step: Period, seen: dict[str, pl.Expr]) -> pl.LazyFrame:
    """Activity per (cohort, calendar cell); a null cohort holds customers with only returns."""
    n = pl.col("n")
    return (
        order.group_by("customer_id", cell=step.start(pl.col("order_date")))
        .agg(n=PURCHASE.sum(), revenue=pl.col("value").sum(), **seen)
        .with_columns(cohort=pl.col("cell").filter(n > 0).min().over("customer_id"))
        .group_by("cohort", "cell")
        .agg(
            active_customers=(n > 0).sum(),
            orders=n.sum(),
            revenue=pl.col("revenue").sum(),
            **seen,
        )
        .with_columns(
            period_index=step.index(pl.col("cohort"), pl.col("cell")),
            # a calendar cell starts at the same date for every customer of the cohort
            _first=pl.col("cohort"),
            _last=pl.col("cohort"),
        )
        .drop("cell")
    )


def _first_purchase_cells(
    order: pl.LazyFrame, step: Period, seen: dict[str, pl.Expr]
) -> pl.LazyFrame:
    """Activity per (cohort, period since each customer's own first purchase)."""
    n = pl.col("n")
    first = pl.col("_first")
    return (
        order.with_columns(_first=pl.col("order_date").filter(PURCHASE).min().over("customer_id"))
        .group_by("customer_id", "_first", period_index=step.index(first, pl.col("order_date")))
        .agg(n=PURCHASE.sum(), revenue=pl.col("value").sum(), **seen)
        .group_by("period_index", cohort=step.start(first))
        .agg(
            active_customers=(n > 0).sum(),
            orders=n.sum(),
            revenue=pl.col("revenue").sum(),
            _last=first.max(),
            _first=first.min(),
            **seen,
        )
    )


def _rectangle(cells: pl.LazyFrame, end: pl.Expr, step: Period, *, calendar: bool) -> pl.LazyFrame:
    """Every cohort x period index 0..K; metrics null where ``as_of`` has not reached the cell."""
    as_of = pl.col("_as_of")
    k = pl.col("period_index")
    size = pl.col("cohort_size")
    reached = k <= pl.col("_reach")
    cells = (
        cells.with_columns(_as_of=end)
        # customers with only returns (no cohort) and cells before the first purchase
        .filter(pl.col("cohort").is_not_null() & (k >= 0))
    )
    grid = (
        cells.group_by("cohort")
        .agg(
            # every customer of a cohort is active in its cell 0, which holds the first purchase
            cohort_size=pl.col("active_customers").filter(k == 0).sum(),
            _as_of=as_of.first(),
            _first=pl.col("_first").min(),
            _last=pl.col("_last").max(),
        )
        .with_columns(
            # last index started by as_of (by the earliest customer), and the number of
            # periods finished by as_of (by the latest customer)
            _reach=step.index(pl.col("_first"), as_of),
            _done=step.index(pl.col("_last"), as_of + pl.duration(days=1)),
        )
        .with_columns(period_index=pl.int_ranges(0, pl.col("_reach").max() + 1, dtype=pl.Int32))
        .explode("period_index")
        .join(
            cells.select("cohort", "period_index", "active_customers", "orders", "revenue"),
            on=["cohort", "period_index"],
            how="left",
        )
        .sort("cohort", "period_index")
    )
    counts = {
        name: pl.when(reached).then(pl.col(name).fill_null(0)).cast(pl.UInt32)
        for name in ("active_customers", "orders")
    }
    revenue = pl.when(reached).then(pl.col("revenue").fill_null(0.0)).cast(pl.Float64)
    per_customer = revenue / size
    return grid.select(
        "cohort",
        "period_index",
        period_start=step.shift(pl.col("cohort"), k) if calendar else pl.lit(None, pl.Date),
        cohort_size=size.cast(pl.UInt32),
        active_customers=counts["active_customers"],
        retention_rate=counts["active_customers"] / size,
        orders=counts["orders"],
        revenue=revenue,
        revenue_per_customer=per_customer,
        cumulative_revenue_per_customer=per_customer.cum_sum().over("cohort"),
        is_complete=k < pl.col("_done"),
    ).cast(dict(_SCHEMA))


def matrix(
    table: pl.DataFrame | pl.LazyFrame, /, *, values: str = "retention_rate"
) -> pl.DataFrame:
    """Pivot one metric of :func:`table` into the wide cohort x period view, for display.

    Parameters
    ----------
    table
        The output of :func:`table`. A LazyFrame is collected (a pivot needs all the data).
    values
        The metric to show: one of :data:`METRICS`.

    Returns
    -------
    pl.DataFrame
        One row per cohort (sorted): ``cohort`` (Date), then one column per period index, named
        ``"0"``, ``"1"``, ..., holding ``values``; cells not reached by ``as_of`` are null.

    Raises
    ------
    ArgumentError
        ``values`` is not a metric column.
    ColumnError
        ``table`` lacks ``cohort``, ``period_index`` or the ``values`` column.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import cohorts
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 2, 9), date(2024, 1, 20), date(2024, 2, 1)],
    ...     "amount": [20.0, 15.0, 30.0, 10.0]})
    >>> cohorts.matrix(cohorts.table(tx, as_of=date(2024, 2, 29))).rows()
    [(datetime.date(2024, 1, 1), 1.0, 0.5), (datetime.date(2024, 2, 1), 1.0, None)]
    """
    caller = "cohorts.matrix"
    if values not in METRICS:
        msg = f"{caller}: values must be one of {list(METRICS)}; got {values!r}."
        raise ArgumentError(msg)
    require(table, {"cohort": "any", "period_index": "numeric", values: "numeric"}, caller=caller)
    frame = table.lazy().select("cohort", "period_index", values).collect()
    indices = frame["period_index"].unique().sort().to_list()
    wide = frame.pivot(on="period_index", index="cohort", values=values)
    return wide.select("cohort", *[str(i) for i in indices]).sort("cohort")
