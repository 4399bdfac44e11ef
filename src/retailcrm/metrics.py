r"""The CRM KPIs a retail team reports every month, from canonical transactions.

- :func:`kpis` -- one dashboard frame, one row per calendar period;
- :func:`acquisition` -- new customers per period (rate and cost given prospects and spend);
- :func:`retention` -- retention and defection rates per period, average lifetime ``1/(1-r)``;
- :func:`survival` -- retention and survival by period since acquisition, pooled over cohorts;
- :func:`interpurchase_time` / :func:`interpurchase_summary` -- the two common definitions;
- :func:`channel_mix` -- store only / online only / both: customers and revenue;
- :func:`share_of_wallet` / :func:`aggregate_share_of_wallet` -- with wallet sizes you supply;
- :func:`share_of_category_requirement` / :func:`aggregate_share_of_category_requirement` -- a
  brand's share of its buyers' category buying, from the retailer's own data;
- :func:`size_of_wallet` -- wallet sizes you supply, per segment;
- :func:`past_customer_value`, :func:`customer_equity`.

Definitions shared with the rest of the library (``retailcrm._orders``): an **order** is one
``order_id`` of a customer (without ``order_id``, one customer-day); its value is the net sum of
its lines and its date the local date of its first line; a **purchase occasion** is an order of
net value > 0. A customer is **active** in a period with a purchase occasion dated in it, and
**new** in the period of the first one. Periods are calendar periods (``"1mo"``, ``"1q"``, ...,
weeks start on Monday), as in :func:`retailcrm.cohorts.table` with ``align="calendar"``.

Formulas follow V. Kumar & W. Reinartz, *Customer Relationship Management: Concept, Strategy,
and Tools* (2nd ed., Springer 2012), chapter 5 ("Customer Value Metrics"), cited below as K&R.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from retailcrm import _time
from retailcrm._errors import ArgumentError, ColumnError
from retailcrm._orders import PURCHASE, orders
from retailcrm._revenue_tree import revenue_tree
from retailcrm._schema import Check, FrameT, forbid, require, same_kind
from retailcrm._time import AsOf, Period, parse_period
from retailcrm.segments import _levels
from retailcrm.segments._common import _keyed

__all__ = [
    "MIXES",
    "acquisition",
    "aggregate_share_of_category_requirement",
    "aggregate_share_of_wallet",
    "channel_mix",
    "customer_equity",
    "interpurchase_summary",
    "interpurchase_time",
    "kpis",
    "past_customer_value",
    "retention",
    "revenue_tree",
    "share_of_category_requirement",
    "share_of_wallet",
    "size_of_wallet",
    "survival",
]

_NEEDED = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_DAY = pl.duration(days=1)


# ---------------------------------------------------------------------------------------------
# shared machinery: activity per customer x calendar period


_same_kind = same_kind  # the shared rule: lazy in, lazy out; eager input collected once


def _interval(step: Period) -> str:
    """Give the ``pl.date_ranges`` interval of one period (``"nq"`` as ``3n`` months)."""
    return f"{3 * step.n}mo" if step.unit == "q" else step.text


class _Source:
    """Rows up to ``as_of`` (lazy), their orders, and ``as_of`` two ways.

    ``as_of`` is the expression of :func:`retailcrm._time.window` (a literal, or the last local
    date: an aggregation valid over ``lines``); ``end`` is a one-row frame holding ``_as_of``,
    for cross joins with small frames (period grids).
    """

    def __init__(self, tx: pl.DataFrame | pl.LazyFrame, as_of: AsOf, caller: str) -> None:
        require(tx, _NEEDED, caller=caller)
        self.schema = tx.collect_schema()
        span = _time.window(tx, as_of, None, caller=caller)
        self.lines = span.observed
        self.as_of = span.as_of
        if span.date is not None:
            self.end = pl.LazyFrame({"_as_of": [span.date]}, schema={"_as_of": pl.Date})
        else:  # the last local date in the data, from the same source
            self.end = self.lines.select(_as_of=span.as_of)
        self.orders = orders(self.lines)


def _grid(first: pl.LazyFrame, source: _Source, step: Period) -> pl.LazyFrame:
    """Every period from ``first`` (a one-row frame: ``_lo``, a period start) to ``as_of``'s.

    Columns ``_as_of`` and ``period_start``; no row when there is no order.
    """
    return (
        first.join(source.end, how="cross")
        .select(
            "_as_of",
            period_start=pl.date_ranges(
                pl.col("_lo"), step.start(pl.col("_as_of")), _interval(step)
            ),
        )
        .explode("period_start")
        .filter(pl.col("period_start").is_not_null())
    )


def _new_customers(source: _Source, step: Period) -> pl.LazyFrame:
    """``period_start`` and ``new_customers`` (UInt32) for every period of the grid.

    The first purchase occasion of each customer, counted per period: the new-customer column
    of :func:`_activity` without the rest of its work.
    """
    day = pl.col("order_date")
    firsts = source.orders.group_by("customer_id").agg(
        _lo=day.min(), _first=day.filter(PURCHASE).min()
    )
    counts = (
        firsts.filter(pl.col("_first").is_not_null())
        .group_by(period_start=step.start(pl.col("_first")))
        .agg(new_customers=pl.len())
    )
    return (
        _grid(firsts.select(_lo=step.start(pl.col("_lo").min())), source, step)
        .join(counts, on="period_start", how="left")
        .select("period_start", pl.col("new_customers").fill_null(0).cast(pl.UInt32))
        .sort("period_start")
    )


def _activity(source: _Source, step: Period) -> pl.LazyFrame:
    """Per calendar period: activity counts, revenue and (if present) margin; every period.

    Columns: ``period_start``, ``active_customers``, ``new_customers``, ``repeat_customers``
    (>= 2 purchase occasions in the period), ``retained_customers`` (also active in the period
    before), ``orders``, ``revenue``, ``_as_of``, and ``margin`` when ``tx`` has it.
    """
    cell = pl.col("period_start")
    n = pl.col("n")
    per = source.orders.group_by("customer_id", period_start=step.start(pl.col("order_date"))).agg(
        n=PURCHASE.sum().cast(pl.UInt32), revenue=pl.col("value").sum()
    )
    active = per.filter(n > 0).with_columns(
        _first=cell.min().over("customer_id"),
        _prev=cell.shift(1).over("customer_id", order_by="period_start"),
    )
    counts = active.group_by("period_start").agg(
        active_customers=pl.len(),
        new_customers=(cell == pl.col("_first")).sum(),
        repeat_customers=(n >= 2).sum(),
        retained_customers=(step.shift(pl.col("_prev"), pl.lit(1)) == cell).sum(),
        orders=n.sum(),
    )
    money = per.group_by("period_start").agg(revenue=pl.col("revenue").sum())
    grid = (
        _grid(per.select(_lo=cell.min()), source, step)
        .join(counts, on="period_start", how="left")
        .join(money, on="period_start", how="left")
    )
    if "margin" in source.schema:
        margins = source.lines.group_by(period_start=step.start(pl.col("timestamp").dt.date())).agg(
            margin=pl.col("margin").cast(pl.Float64).sum()
        )
        grid = grid.join(margins, on="period_start", how="left")
    zero = [
        pl.col(c).fill_null(0).cast(pl.UInt32)
        for c in (
            "active_customers",
            "new_customers",
            "repeat_customers",
            "retained_customers",
            "orders",
        )
    ]
    floats = [pl.col(c).fill_null(0.0) for c in ("revenue", "margin") if c in grid.collect_schema()]
    return grid.with_columns(*zero, *floats).sort("period_start")


def _rates(step: Period) -> dict[str, pl.Expr]:
    before = pl.col("active_customers").shift(1)
    r = pl.when(before > 0).then(pl.col("retained_customers") / before)
    return {
        "previous_active_customers": before,
        "retention_rate": r,
        "defection_rate": 1.0 - r,
        "expected_lifetime": pl.when(r < 1).then(1.0 / (1.0 - r)),
        "is_complete": step.shift(pl.col("period_start"), pl.lit(1)) <= pl.col("_as_of") + _DAY,
    }


# ---------------------------------------------------------------------------------------------
# acquisition


def _per_period_input(frame: object, column: str, name: str, caller: str) -> pl.LazyFrame:
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = (
            f"{caller}: {name} must be a polars frame with columns period_start (Date, the "
            f"start of each period) and {column}; got {type(frame).__name__}."
        )
        raise ArgumentError(msg)
    require(frame, {"period_start": "date or datetime", column: "numeric"}, caller=caller)
    if isinstance(frame, pl.DataFrame):
        forbid(
            frame,
            Check(
                pl.col("period_start").is_duplicated(),
                f"of {name} repeat a period_start",
                f"Give one {column} per period.",
                ["period_start", column],
            ),
            caller=caller,
        )
    return frame.lazy().select(
        pl.col("period_start").cast(pl.Date), pl.col(column).cast(pl.Float64)
    )


def acquisition(
    tx: FrameT,
    /,
    *,
    period: str = "1mo",
    as_of: AsOf = None,
    prospects: pl.DataFrame | pl.LazyFrame | None = None,
    marketing_spend: pl.DataFrame | pl.LazyFrame | None = None,
) -> FrameT:
    r"""Count new customers per calendar period; with their inputs, acquisition rate and cost.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        when present.
    period
        ``"<n>d"``, ``"<n>w"``, ``"<n>mo"``, ``"<n>q"`` or ``"<n>y"``.
    as_of
        Observation end (inclusive); default the last timestamp in ``tx``.
    prospects
        Optional frame ``period_start`` (Date), ``prospects`` (number targeted in the period):
        adds ``acquisition_rate``. The transactions do not hold prospects.
    marketing_spend
        Optional frame ``period_start`` (Date), ``marketing_spend`` (acquisition spending in
        the period): adds ``cost_per_acquisition``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind of ``tx``, one row per period from the first period with an order to the
        period holding ``as_of``, sorted: ``period_start`` (Date), ``new_customers`` (UInt32:
        customers whose first purchase occasion is in the period; 0 when none), and when given
        ``prospects`` and ``acquisition_rate`` (Float64), ``marketing_spend`` and
        ``cost_per_acquisition`` (Float64; null for a period without new customers or without
        an input row).

    Notes
    -----
    K&R, ch. 5 (acquisition metrics):

    .. math::

        \text{acquisition rate}_t = \frac{\text{prospects acquired}_t}{\text{prospects
        targeted}_t}, \qquad
        \text{acquisition cost}_t = \frac{\text{acquisition spending}_t}{\text{prospects
        acquired}_t}

    ``new_customers`` of a period equals ``cohort_size`` of that cohort in
    :func:`retailcrm.cohorts.table` (calendar periods).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1, 3],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 1, 9), date(2024, 3, 1), date(2024, 3, 2)],
    ...     "amount": [10.0, 20.0, 5.0, 8.0]})
    >>> spend = pl.DataFrame({"period_start": [date(2024, 1, 1)], "marketing_spend": [50.0]})
    >>> metrics.acquisition(tx, marketing_spend=spend).rows()
    [(datetime.date(2024, 1, 1), 2, 50.0, 25.0), (datetime.date(2024, 2, 1), 0, None, None),
     (datetime.date(2024, 3, 1), 1, None, None)]
    """
    caller = "metrics.acquisition"
    step = parse_period(period, caller=caller)
    source = _Source(tx, as_of, caller)
    result = _new_customers(source, step)
    new = pl.col("new_customers")
    if prospects is not None:
        given = _per_period_input(prospects, "prospects", "prospects", caller)
        result = result.join(given, on="period_start", how="left").with_columns(
            acquisition_rate=pl.when(pl.col("prospects") > 0).then(new / pl.col("prospects"))
        )
    if marketing_spend is not None:
        given = _per_period_input(marketing_spend, "marketing_spend", "marketing_spend", caller)
        result = result.join(given, on="period_start", how="left").with_columns(
            cost_per_acquisition=pl.when(new > 0).then(pl.col("marketing_spend") / new)
        )
    return _same_kind(result.sort("period_start"), tx, prospects, marketing_spend)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# retention


def retention(tx: FrameT, /, *, period: str = "1mo", as_of: AsOf = None) -> FrameT:
    r"""Retention and defection rates from each period to the next, and the implied lifetime.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        when present.
    period
        ``"<n>d"``, ``"<n>w"``, ``"<n>mo"``, ``"<n>q"`` or ``"<n>y"``.
    as_of
        Observation end (inclusive); default the last timestamp in ``tx``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per period from the first with an order to the one holding
        ``as_of``, sorted:

        - ``period_start`` (Date), ``is_complete`` (Boolean: the period ended by ``as_of``;
          the rate of a period in progress is biased low);
        - ``active_customers`` (UInt32): customers with a purchase occasion in the period;
        - ``previous_active_customers`` (UInt32): the same for the period before (null for the
          first period);
        - ``retained_customers`` (UInt32): active in both;
        - ``retention_rate`` (Float64): ``retained / previous active``; null for the first
          period and after a period without active customers;
        - ``defection_rate`` (Float64): ``1 - retention_rate``;
        - ``expected_lifetime`` (Float64): ``1 / (1 - retention_rate)`` in periods; null when
          the retention rate is 1 (no defection: unbounded).

    Notes
    -----
    K&R, ch. 5 (popular customer-based value metrics), for a non-contractual setting where a
    customer is retained in period :math:`t` when they buy in :math:`t` having bought in
    :math:`t-1`:

    .. math::

        r_t = \frac{|A_{t-1} \cap A_t|}{|A_{t-1}|}, \qquad
        \text{defection}_t = 1 - r_t, \qquad
        \text{average lifetime} = \frac{1}{1 - r}

    with :math:`A_t` the customers active in :math:`t`. For customers acquired in the same
    period, :math:`r` of the next period is :func:`retailcrm.cohorts.table`'s
    ``retention_rate`` at ``period_index`` 1.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 3, 1, 3, 4],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 1, 9), date(2024, 1, 9),
    ...                   date(2024, 2, 1), date(2024, 2, 3), date(2024, 2, 9)],
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 1.0, 2.0]})
    >>> metrics.retention(tx).select("period_start", "retention_rate", "expected_lifetime").rows()
    [(datetime.date(2024, 1, 1), None, None), (datetime.date(2024, 2, 1), 0.666..., 3.0...)]
    """
    caller = "metrics.retention"
    step = parse_period(period, caller=caller)
    source = _Source(tx, as_of, caller)
    rates = _rates(step)
    result = _activity(source, step).select(
        "period_start",
        rates.pop("is_complete").alias("is_complete"),
        "active_customers",
        rates.pop("previous_active_customers").alias("previous_active_customers"),
        "retained_customers",
        **rates,
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


def survival(tx: FrameT, /, *, period: str = "1mo", as_of: AsOf = None) -> FrameT:
    r"""Retention and survival by period since acquisition, pooled over acquisition cohorts.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        when present.
    period
        ``"<n>d"``, ``"<n>w"``, ``"<n>mo"``, ``"<n>q"`` or ``"<n>y"``.
    as_of
        Observation end (inclusive); default the last timestamp in ``tx``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per ``period_index`` ``k = 0..K`` (calendar periods since the
        cohort's, as in :func:`retailcrm.cohorts.table`), where ``K`` is the last index that
        some cohort has **completed** by ``as_of``; each row pools the cohorts that completed
        period ``k``:

        - ``customers`` (UInt32): customers of those cohorts;
        - ``active_share`` (Float64): share of them active in period ``k`` (the pooled cohort
          retention curve: ``sum active / sum cohort size`` of :func:`cohorts.table`);
        - ``at_risk`` (UInt32): of them, those active in period ``k - 1`` (null at ``k = 0``);
        - ``retained`` (UInt32): active in both ``k - 1`` and ``k``;
        - ``retention_rate`` (Float64): ``retained / at_risk``;
        - ``survival_rate`` (Float64): 1 at ``k = 0``, then the running product of the
          retention rates.

    Notes
    -----
    K&R, ch. 5: the survival rate is the share of an acquired cohort still retained after
    :math:`k` periods,

    .. math:: S_0 = 1, \qquad S_k = r_k \, S_{k-1}, \qquad
              r_k = \frac{|A_{k-1} \cap A_k|}{|A_{k-1}|}

    and the expected number of survivors of a cohort of :math:`N` is :math:`N S_k`. In a
    non-contractual setting a customer can skip a period and come back: :math:`S_k` counts
    only unbroken runs, while ``active_share`` counts anyone active in period :math:`k`.
    Only completed periods are used, so a period in progress never biases the curve down.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1, 1, 2],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 1, 9), date(2024, 2, 1),
    ...                   date(2024, 3, 1), date(2024, 3, 3)],
    ...     "amount": [10.0, 20.0, 5.0, 8.0, 1.0]})
    >>> s = metrics.survival(tx, as_of=date(2024, 3, 31))
    >>> s.select("period_index", "active_share", "retention_rate", "survival_rate").rows()
    [(0, 1.0, None, 1.0), (1, 0.5, 0.5, 0.5), (2, 1.0, 1.0, 0.5)]
    """
    caller = "metrics.survival"
    step = parse_period(period, caller=caller)
    source = _Source(tx, as_of, caller)
    cell = pl.col("period_start")
    k = pl.col("period_index")
    active = (
        source.orders.filter(PURCHASE)
        .select("customer_id", period_start=step.start(pl.col("order_date")))
        .unique()
        .with_columns(
            _cohort=cell.min().over("customer_id"),
            _prev=cell.shift(1).over("customer_id", order_by="period_start"),
        )
        .join(source.end, how="cross")
        .with_columns(
            period_index=step.index(pl.col("_cohort"), cell),
            # periods of the cohort completed by as_of: indices 0..done-1
            _done=step.index(pl.col("_cohort"), pl.col("_as_of") + _DAY),
            _kept=step.shift(pl.col("_prev"), pl.lit(1)) == cell,
        )
    )
    done = pl.col("_done")
    bases = (
        active.group_by("customer_id")
        .agg(done.first())
        .group_by("_done")
        .agg(n=pl.len())
        .filter(done > 0)
    )
    grid = (
        bases.select(period_index=pl.int_ranges(0, done.max(), dtype=pl.Int32))
        .explode("period_index")
        .drop_nulls()
        .join(bases, how="cross")
        .filter(done > k)
        .group_by("period_index")
        .agg(customers=pl.col("n").sum().cast(pl.UInt32))
    )
    seen = (
        active.filter(done > k)
        .group_by("period_index")
        .agg(_active=pl.len(), retained=pl.col("_kept").sum())
    )
    at_risk = (
        active.with_columns(period_index=(k + 1).cast(pl.Int32))
        .filter(done > k)
        .group_by("period_index")
        .agg(at_risk=pl.len())
    )
    first = k == 0
    retained, risk = pl.col("retained"), pl.col("at_risk")
    rate = pl.when(~first & (risk > 0)).then(retained / risk)
    result = (
        grid.join(seen, on="period_index", how="left")
        .join(at_risk, on="period_index", how="left")
        .sort("period_index")
        .select(
            "period_index",
            "customers",
            active_share=pl.col("_active").fill_null(0) / pl.col("customers"),
            at_risk=pl.when(~first).then(risk.fill_null(0)).cast(pl.UInt32),
            retained=pl.when(~first).then(retained.fill_null(0)).cast(pl.UInt32),
        )
        .with_columns(retention_rate=rate)
        .with_columns(survival_rate=pl.when(first).then(1.0).otherwise(rate).cum_prod())
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# inter-purchase time


def interpurchase_time(tx: FrameT, /, *, as_of: AsOf = None) -> FrameT:
    r"""Each customer's inter-purchase time, by the two common definitions, in days.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        when present.
    as_of
        Observation end (inclusive); default the last timestamp in ``tx``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer with a purchase occasion by ``as_of``, sorted by
        ``customer_id``:

        - ``purchases`` (UInt32): purchase occasions;
        - ``first_purchase``, ``last_purchase`` (Date): local dates of the first and last;
        - ``mean_gap_days`` (Float64): mean days between consecutive purchase occasions,
          ``(last - first) / (purchases - 1)``; null for a one-time buyer;
        - ``days_per_purchase`` (Float64): days from the first purchase to ``as_of`` per
          purchase occasion, ``(as_of - first) / purchases``.

    Notes
    -----
    With :math:`n` purchase occasions on dates :math:`t_1 \le \dots \le t_n`:

    .. math::

        \text{mean gap} = \frac{1}{n-1}\sum_{i=2}^{n} (t_i - t_{i-1}) = \frac{t_n - t_1}{n-1},
        \qquad
        \text{days per purchase} = \frac{\text{as\_of} - t_1}{n}

    The first is the interpurchase time of purchase-timing models; the second is K&R's average
    inter-purchase time (ch. 5: one over the number of purchases since the first purchase,
    per unit of time), which is defined for one-time buyers and grows while a customer is
    silent. Two orders on one day give a gap of 0.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> days = [date(2024, 1, 1), date(2024, 1, 11), date(2024, 1, 31), date(2024, 1, 21)]
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2], "timestamp": days,
    ...                    "amount": [10.0, 20.0, 5.0, 8.0]})
    >>> out = metrics.interpurchase_time(tx)
    >>> out.select("customer_id", "mean_gap_days", "days_per_purchase").rows()
    [(1, 15.0, 10.0), (2, None, 10.0)]
    """
    caller = "metrics.interpurchase_time"
    source = _Source(tx, as_of, caller)
    result = _gaps(source).sort("customer_id")
    return _same_kind(result, tx)  # type: ignore[no-any-return]


def _gaps(source: _Source) -> pl.LazyFrame:
    day = pl.col("order_date")
    n = pl.col("purchases")
    span = (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days()
    return (
        source.orders.filter(PURCHASE)
        .group_by("customer_id")
        .agg(
            purchases=pl.len().cast(pl.UInt32),
            first_purchase=day.min(),
            last_purchase=day.max(),
        )
        .join(source.end, how="cross")
        .select(
            "customer_id",
            "purchases",
            "first_purchase",
            "last_purchase",
            mean_gap_days=pl.when(n > 1).then(span / (n - 1)),
            days_per_purchase=(pl.col("_as_of") - pl.col("first_purchase")).dt.total_days() / n,
        )
    )


def interpurchase_summary(tx: FrameT, /, *, as_of: AsOf = None) -> FrameT:
    r"""Summarise the customer base's inter-purchase time in days: two definitions, two means.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        when present.
    as_of
        Observation end (inclusive); default the last timestamp in ``tx``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row:

        - ``customers`` (UInt32): with a purchase occasion; ``repeat_customers`` (UInt32): with
          two or more;
        - ``mean_gap_days`` (Float64): mean of the repeat customers' ``mean_gap_days``
          (each customer weighs the same);
        - ``pooled_gap_days`` (Float64): all gaps pooled, :math:`\sum_c (t_{n_c} - t_{1,c}) /
          \sum_c (n_c - 1)` (each gap weighs the same; frequent buyers dominate);
        - ``days_per_purchase`` (Float64): mean of all customers' ``days_per_purchase``.

        The gap columns are null without a repeat customer.

    Notes
    -----
    The per-customer definitions are those of :func:`interpurchase_time`.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2, 2],
    ...     "timestamp": [date(2024, 1, 1), date(2024, 1, 11), date(2024, 1, 31),
    ...                   date(2024, 1, 21), date(2024, 1, 31)], "amount": [1.0] * 5})
    >>> metrics.interpurchase_summary(tx).row(0)
    (2, 2, 12.5, 13.333..., 7.5)
    """
    caller = "metrics.interpurchase_summary"
    source = _Source(tx, as_of, caller)
    n = pl.col("purchases").cast(pl.Int64)
    span = (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days()
    result = _gaps(source).select(
        customers=pl.len().cast(pl.UInt32),
        repeat_customers=(n > 1).sum().cast(pl.UInt32),
        mean_gap_days=pl.col("mean_gap_days").mean(),
        pooled_gap_days=pl.when((n - 1).sum() > 0).then(span.sum() / (n - 1).sum()),
        days_per_purchase=pl.col("days_per_purchase").mean(),
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# the dashboard


def kpis(tx: FrameT, /, *, period: str = "1mo", as_of: AsOf = None) -> FrameT:
    r"""One dashboard frame: the main CRM KPIs, one row per calendar period.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        and ``margin`` when present.
    period
        ``"<n>d"``, ``"<n>w"``, ``"<n>mo"``, ``"<n>q"`` or ``"<n>y"``.
    as_of
        Observation end (inclusive); default the last timestamp in ``tx``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per period from the first with an order to the one holding
        ``as_of``, sorted:

        - ``period_start`` (Date), ``is_complete`` (Boolean: ended by ``as_of``);
        - ``active_customers``, ``new_customers``, ``returning_customers`` (active, not new),
          ``orders`` (purchase occasions) -- all UInt32;
        - ``revenue`` (Float64): net value of the period's orders, returns included;
        - ``margin`` (Float64): net margin of the lines dated in the period (when ``tx`` has
          ``margin``);
        - ``average_order_value`` = revenue / orders; ``orders_per_customer`` = orders /
          active customers; ``revenue_per_customer`` (and ``margin_per_customer``) = revenue
          (margin) / active customers; ``repeat_purchase_rate`` = share of active customers
          with two or more purchase occasions in the period -- Float64, null when the
          denominator is 0;
        - ``retention_rate``, ``defection_rate``, ``expected_lifetime`` as in
          :func:`retention`.

    Notes
    -----
    K&R, ch. 5. With :math:`O_t` the purchase occasions, :math:`A_t` the active customers and
    :math:`R_t` the revenue of period :math:`t`:

    .. math::

        \mathrm{AOV}_t = \frac{R_t}{|O_t|}, \quad
        \text{orders per customer}_t = \frac{|O_t|}{|A_t|}, \quad
        \text{revenue per customer}_t = \frac{R_t}{|A_t|}, \quad
        r_t = \frac{|A_{t-1} \cap A_t|}{|A_{t-1}|}

    Revenue counts by the order's date (its first line), margin by each line's date; they
    differ only for an order spanning two periods.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 1],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 1, 20), date(2024, 1, 9), date(2024, 2, 1)],
    ...     "amount": [10.0, 20.0, 30.0, 8.0]})
    >>> k = metrics.kpis(tx, as_of=date(2024, 2, 29))
    >>> k.select("period_start", "active_customers", "orders", "average_order_value",
    ...          "repeat_purchase_rate", "retention_rate").rows()
    [(datetime.date(2024, 1, 1), 2, 3, 20.0, 0.5, None),
     (datetime.date(2024, 2, 1), 1, 1, 8.0, 0.0, 0.5)]
    """
    caller = "metrics.kpis"
    step = parse_period(period, caller=caller)
    source = _Source(tx, as_of, caller)
    has_margin = "margin" in source.schema
    if has_margin:
        require(tx, {"margin": "numeric"}, caller=caller)
    active = pl.col("active_customers")
    per_active: dict[str, pl.Expr] = {
        "orders_per_customer": pl.col("orders") / active,
        "revenue_per_customer": pl.col("revenue") / active,
    }
    if has_margin:
        per_active["margin_per_customer"] = pl.col("margin") / active
    per_active["repeat_purchase_rate"] = pl.col("repeat_customers") / active
    rates = _rates(step)
    result = _activity(source, step).select(
        "period_start",
        rates.pop("is_complete").alias("is_complete"),
        "active_customers",
        "new_customers",
        returning_customers=active - pl.col("new_customers"),
        orders="orders",
        revenue="revenue",
        **({"margin": pl.col("margin")} if has_margin else {}),
        average_order_value=pl.when(pl.col("orders") > 0).then(
            pl.col("revenue") / pl.col("orders")
        ),
        **{name: pl.when(active > 0).then(expr) for name, expr in per_active.items()},
        retention_rate=rates["retention_rate"],
        defection_rate=rates["defection_rate"],
        expected_lifetime=rates["expected_lifetime"],
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# channel mix, share of wallet, past value, equity

#: The channel mixes of :func:`channel_mix`, in order.
MIXES: tuple[str, ...] = ("store only", "online only", "both", "neither")


def channel_mix(
    tx: FrameT,
    /,
    *,
    as_of: AsOf = None,
    lookback: str | None = None,
    store: str = "store",
    online: str = "online",
) -> FrameT:
    r"""Omni-channel mix: customers and revenue of store-only, online-only and both-channel buyers.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and ``channel``.
    as_of, lookback
        The window ``(as_of - lookback, as_of]`` in local dates (default: everything up to the
        last timestamp).
    store, online
        The ``channel`` values of the two channels.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per mix present, in the order of :data:`MIXES`: ``mix`` (Enum
        ``"store only"``, ``"online only"``, ``"both"``, ``"neither"``), ``customers`` (UInt32),
        ``customers_share``, ``revenue`` (Float64, net amount), ``revenue_share``,
        ``revenue_per_customer``.

    Notes
    -----
    A customer's mix comes from the channels of their lines with amount > 0 in the window:
    store only, online only, or both. ``"neither"`` holds customers without such a line in
    either channel (only returns, or only other / null channel values): nobody is dropped, and
    shares sum to 1 (a share is null when its total is 0). Multichannel customers' share of
    customers and revenue is the standard omni-channel KPI (K&R ch. 5; Kumar & Venkatesan
    2005, "Who are the multichannel shoppers and how do they perform?", J. Interactive
    Marketing 19(2)).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "timestamp": [date(2024, 1, 1)] * 4,
    ...     "amount": [10.0, 30.0, 20.0, 40.0], "channel": ["store", "online", "store", "online"]})
    >>> metrics.channel_mix(tx).select("mix", "customers", "revenue_share").rows()
    [('store only', 1, 0.2), ('online only', 1, 0.4), ('both', 1, 0.4)]
    """
    caller = "metrics.channel_mix"
    require(tx, {**_NEEDED, "channel": "any"}, caller=caller)
    lines = _time.window(tx, as_of, lookback, caller=caller).lines
    channel = pl.col("channel")
    if not isinstance(tx.collect_schema()["channel"], (pl.String, pl.Categorical, pl.Enum)):
        channel = channel.cast(pl.String)  # labels compare as text; no cast of text columns
    bought = pl.col("amount") > 0
    s, o = pl.col("_store"), pl.col("_online")
    mix = (
        pl.when(s & o)
        .then(pl.lit("both"))
        .when(s)
        .then(pl.lit("store only"))
        .when(o)
        .then(pl.lit("online only"))
        .otherwise(pl.lit("neither"))
        .cast(pl.Enum(MIXES))
    )
    result = (
        lines.group_by("customer_id")
        .agg(
            _store=(bought & (channel == store)).any(),
            _online=(bought & (channel == online)).any(),
            revenue=pl.col("amount").cast(pl.Float64).sum(),
        )
        .group_by(mix=mix)
        .agg(customers=pl.len().cast(pl.UInt32), revenue=pl.col("revenue").sum())
        .select(
            "mix",
            "customers",
            customers_share=pl.col("customers") / pl.col("customers").sum(),
            revenue="revenue",
            revenue_share=pl.when(pl.col("revenue").sum() != 0).then(
                pl.col("revenue") / pl.col("revenue").sum()
            ),
            revenue_per_customer=pl.col("revenue") / pl.col("customers"),
        )
        .sort("mix")
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


def _wallet_frame(wallets: object, caller: str) -> pl.LazyFrame:
    if wallets is None:
        msg = (
            f"{caller}: wallets is required: the transactions hold only what customers spent "
            "here, not their total category spend. Pass wallets=<frame with customer_id and "
            "wallet> (e.g. from a survey or a panel), measured over the same window."
        )
        raise ArgumentError(msg)
    if not isinstance(wallets, (pl.DataFrame, pl.LazyFrame)):
        msg = (
            f"{caller}: wallets must be a polars frame with customer_id and wallet; got "
            f"{type(wallets).__name__}."
        )
        raise ArgumentError(msg)
    require(wallets, {"customer_id": "any", "wallet": "numeric"}, caller=caller)
    if isinstance(wallets, pl.DataFrame):
        forbid(
            wallets,
            Check(
                pl.col("customer_id").is_duplicated(),
                "of wallets repeat a customer_id",
                "Give one wallet per customer.",
                ["customer_id", "wallet"],
            ),
            Check(
                ~(pl.col("wallet").cast(pl.Float64) > 0),
                "of wallets have a wallet that is not a positive number",
                "A wallet is the customer's total spend in the category: drop unknown ones.",
                ["customer_id", "wallet"],
            ),
            caller=caller,
        )
    return wallets.lazy().select("customer_id", pl.col("wallet").cast(pl.Float64))


def _wallet_spend(
    tx: pl.DataFrame | pl.LazyFrame,
    wallets: object,
    as_of: AsOf,
    lookback: str | None,
    caller: str,
) -> pl.LazyFrame:
    given = _wallet_frame(wallets, caller)
    require(tx, _NEEDED, caller=caller)
    key = tx.collect_schema()["customer_id"]
    if given.collect_schema()["customer_id"] != key:
        have = given.collect_schema()["customer_id"]
        if not (have.is_integer() and key.is_integer()):
            msg = f"{caller}: customer_id of wallets is {have} but {key} in tx; cast one of them."
            raise ColumnError(msg)
        given = given.with_columns(pl.col("customer_id").cast(key))
    spend = (
        _time.window(tx, as_of, lookback, caller=caller)
        .lines.group_by("customer_id")
        .agg(spend=pl.col("amount").cast(pl.Float64).sum())
    )
    return given.join(spend, on="customer_id", how="left").with_columns(
        pl.col("spend").fill_null(0.0)
    )


def share_of_wallet(
    tx: FrameT,
    /,
    *,
    wallets: pl.DataFrame | pl.LazyFrame | None = None,
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""Individual share of wallet: each customer's spend here over their total category spend.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``.
    wallets
        **Required** (the transactions cannot hold it): one row per customer, ``customer_id``
        and ``wallet`` (> 0), the customer's total spend in the category at all retailers over
        the same window, e.g. from a survey or panel.
    as_of, lookback
        The window of ``tx`` that ``wallet`` covers, ``(as_of - lookback, as_of]``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind of ``tx``, one row per customer of ``wallets`` (sorted by ``customer_id``):
        ``customer_id``, ``spend`` (Float64, net spend here in the window, 0 without rows),
        ``wallet`` (Float64), ``share_of_wallet`` (Float64, ``spend / wallet``). Customers of
        ``tx`` without a wallet are not in the result (their wallet is unknown). A share above
        1 means the wallet was under-reported.

    Notes
    -----
    K&R ch. 5: :math:`\mathrm{SOW}_i = S_i / W_i`, the customer's spend at the firm over their
    total spend in the category (the size of wallet).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "timestamp": [date(2024, 1, 1)] * 3,
    ...                    "amount": [30.0, 10.0, 5.0]})
    >>> w = pl.DataFrame({"customer_id": [1, 2, 3], "wallet": [100.0, 50.0, 20.0]})
    >>> metrics.share_of_wallet(tx, wallets=w).rows()
    [(1, 40.0, 100.0, 0.4), (2, 5.0, 50.0, 0.1), (3, 0.0, 20.0, 0.0)]
    """
    caller = "metrics.share_of_wallet"
    joined = _wallet_spend(tx, wallets, as_of, lookback, caller)
    result = joined.select(
        "customer_id", "spend", "wallet", share_of_wallet=pl.col("spend") / pl.col("wallet")
    ).sort("customer_id")
    return _same_kind(result, tx, wallets)  # type: ignore[no-any-return]


def aggregate_share_of_wallet(
    tx: FrameT,
    /,
    *,
    wallets: pl.DataFrame | pl.LazyFrame | None = None,
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""Aggregate share of wallet: the firm's spend over its customers' total category spend.

    Parameters are those of :func:`share_of_wallet` (``wallets`` is required).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind of ``tx``, one row: ``customers`` (UInt32, with a wallet), ``spend``,
        ``wallet`` (Float64 sums over them), ``share_of_wallet`` (``spend / wallet``) and
        ``mean_individual_share`` (the unweighted mean of the individual shares).

    Notes
    -----
    K&R ch. 5: :math:`\mathrm{SOW} = \sum_i S_i / \sum_i W_i` over the firm's customers, i.e.
    the individual shares weighted by wallet size -- not their plain mean, also given.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "timestamp": [date(2024, 1, 1)] * 3,
    ...                    "amount": [30.0, 10.0, 5.0]})
    >>> w = pl.DataFrame({"customer_id": [1, 2], "wallet": [100.0, 50.0]})
    >>> metrics.aggregate_share_of_wallet(tx, wallets=w).row(0)
    (2, 45.0, 150.0, 0.3, 0.25)
    """
    caller = "metrics.aggregate_share_of_wallet"
    joined = _wallet_spend(tx, wallets, as_of, lookback, caller)
    result = joined.select(
        customers=pl.len().cast(pl.UInt32),
        spend=pl.col("spend").sum(),
        wallet=pl.col("wallet").sum(),
        share_of_wallet=pl.col("spend").sum() / pl.col("wallet").sum(),
        mean_individual_share=(pl.col("spend") / pl.col("wallet")).mean(),
    )
    return _same_kind(result, tx, wallets)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# share of category requirement, size of wallet


def _positive(total: pl.Expr) -> pl.Expr:
    """A sum is positive at 1e-6: lines netting to 0 are 0 whatever order they are added in."""
    return total.round(6) > 0


def _category_values(
    tx: pl.DataFrame | pl.LazyFrame,
    *,
    focus: object,
    level: str,
    within: str | None,
    value: str,
    as_of: AsOf,
    lookback: str | None,
    caller: str,
) -> tuple[pl.LazyFrame, str]:
    """Per customer of the focus's categories: the focus's and the category's ``value``."""
    if value not in ("amount", "quantity"):
        msg = f"{caller}: value must be one of ['amount', 'quantity']; got {value!r}."
        raise ArgumentError(msg)
    lv = _levels.checked_frame(tx, level, within, caller=caller, focus=True)
    require(tx, {value: "numeric"}, caller=caller)
    hit, missing = _levels.focus_filter(focus, tx.collect_schema(), level, caller)
    if missing:
        _levels.warn_user(
            f"{caller}: focus value(s) {missing} are not categories of {level}; they match nothing."
        )
    lines = _time.window(tx, as_of, lookback, caller=caller).lines
    if lv.parents:
        lines = lines.filter(pl.col(within).is_not_null())
        lines = lines.join(lines.filter(hit).select(lv.parents).unique(), on=lv.parents, how="semi")
    v = pl.col(value).cast(pl.Float64)
    per_customer = lines.group_by("customer_id").agg(
        **{f"focus_{value}": v.filter(hit).sum(), f"category_{value}": v.sum()}
    )
    if (
        isinstance(tx, pl.DataFrame)
        and not missing
        and not lines.select(hit.any()).collect().item()
    ):
        _levels.warn_user(
            f"{caller}: focus {focus!r} has no line in the window; the result is empty. Check "
            "the value's spelling and its column (level)."
        )
    return per_customer, value


def share_of_category_requirement(
    tx: FrameT,
    /,
    *,
    focus: Any,
    level: str = "brand",
    within: str | None = "category",
    value: str = "amount",
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""Each customer's share of category requirement: the focus's share of their category buying.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``, the ``level``
        and ``within`` columns, and ``quantity`` for ``value="quantity"``.
    focus
        A value of ``level`` (a brand), or a list of values taken together (a portfolio).
    level
        The column of ``focus``: ``"brand"``, ``"item"`` or any other label column.
    within
        The category column: the category is every line of the ``within`` values (e.g.
        categories) in which the focus has a line in the window. ``None``: every line.
    value
        ``"amount"`` (spend, the default) or ``"quantity"`` (volume, K&R's definition).
    as_of, lookback
        The window ``(as_of - lookback, as_of]`` in local calendar dates (default: every row up
        to the last timestamp).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer with a line in the category in the window, sorted
        by ``customer_id``: ``focus_<value>`` and ``category_<value>`` (Float64: net sums of
        ``value``, e.g. ``focus_amount``, ``category_amount``), and
        ``share_of_category_requirement`` (Float64: their ratio; null when the category sum is
        not positive, at 1e-6).

    Warns
    -----
    RetailCRMWarning
        When the focus can match nothing (a value absent from an Enum column, any input) or,
        for a DataFrame, has no line in the window.

    Notes
    -----
    K&R ch. 5: the share of category requirement of brand :math:`j` for customer :math:`i`,

    .. math:: \mathrm{SCR}_{ij} = V_{ij} \Big/ \sum_{j'} V_{ij'}

    with :math:`V` the volume (here ``value``) bought in the category. Unlike the share of
    wallet, the denominator is the customer's buying in the category **at this retailer**, so
    it needs no survey. A line with a null ``level`` value counts in the category (it is not
    the focus); a line with a null ``within`` value is left out (its category is unknown).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2], "timestamp": [date(2024, 1, 1)] * 4,
    ...     "brand": ["A", "B", "B", "C"], "category": ["Milk", "Milk", "Milk", "Tea"],
    ...     "amount": [3.0, 1.0, 2.0, 9.0]})
    >>> metrics.share_of_category_requirement(tx, focus="A").rows()
    [(1, 3.0, 4.0, 0.75), (2, 0.0, 2.0, 0.0)]
    """
    caller = "metrics.share_of_category_requirement"
    per_customer, name = _category_values(
        tx,
        focus=focus,
        level=level,
        within=within,
        value=value,
        as_of=as_of,
        lookback=lookback,
        caller=caller,
    )
    f, c = pl.col(f"focus_{name}"), pl.col(f"category_{name}")
    result = per_customer.with_columns(
        share_of_category_requirement=pl.when(_positive(c)).then(f / c)
    ).sort("customer_id")
    return _same_kind(result, tx)  # type: ignore[no-any-return]


def aggregate_share_of_category_requirement(
    tx: FrameT,
    /,
    *,
    focus: Any,
    level: str = "brand",
    within: str | None = "category",
    value: str = "amount",
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""The focus's share of its buyers' category requirement, next to its market share.

    Parameters are those of :func:`share_of_category_requirement`.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row:

        - ``category_buyers`` (UInt32): customers with a line in the category in the window;
        - ``focus_buyers`` (UInt32): of them, those whose focus sum is positive (at 1e-6);
        - ``focus_<value>``, ``category_<value>`` (Float64): sums over the focus buyers;
        - ``share_of_category_requirement`` (Float64): their ratio (K&R's aggregate SCR);
        - ``mean_individual_share`` (Float64): the plain mean of the focus buyers' shares;
        - ``market_share`` (Float64): the focus's share of all category buyers' category sum.

        Ratios are null when their denominator is not positive.

    Notes
    -----
    K&R ch. 5, over the customers :math:`I_j` who buy the focus :math:`j`:

    .. math:: \mathrm{SCR}_j = \sum_{i \in I_j} V_{ij} \Big/ \sum_{i \in I_j} \sum_{j'} V_{ij'}

    a loyalty measure that controls for how much each buyer needs of the category; it relates
    to the market share as :math:`\mathrm{MS}_j = \mathrm{SCR}_j \times` (the focus buyers'
    share of the category's volume).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "timestamp": [date(2024, 1, 1)] * 4,
    ...     "brand": ["A", "B", "A", "B"], "category": ["Milk"] * 4,
    ...     "amount": [3.0, 1.0, 2.0, 4.0]})
    >>> metrics.aggregate_share_of_category_requirement(tx, focus="A").row(0)
    (3, 2, 5.0, 6.0, 0.833..., 0.875, 0.5)
    """
    caller = "metrics.aggregate_share_of_category_requirement"
    per_customer, name = _category_values(
        tx,
        focus=focus,
        level=level,
        within=within,
        value=value,
        as_of=as_of,
        lookback=lookback,
        caller=caller,
    )
    f, c = pl.col(f"focus_{name}"), pl.col(f"category_{name}")
    buyer = _positive(f)
    fb, cb = f.filter(buyer).sum(), c.filter(buyer).sum()
    result = per_customer.select(
        category_buyers=pl.len().cast(pl.UInt32),
        focus_buyers=buyer.sum().cast(pl.UInt32),
        **{f"focus_{name}": fb, f"category_{name}": cb},
        share_of_category_requirement=pl.when(_positive(cb)).then(fb / cb),
        mean_individual_share=pl.when(buyer & _positive(c)).then(f / c).filter(buyer).mean(),
        market_share=pl.when(_positive(c.sum())).then(f.sum() / c.sum()),
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


def size_of_wallet(
    wallets: FrameT,
    segments: pl.DataFrame | pl.LazyFrame | None = None,
    /,
    *,
    by: str = "segment",
) -> FrameT:
    r"""Size of wallet, from wallets you supply: per segment, or over all customers.

    Parameters
    ----------
    wallets
        One row per customer, ``customer_id`` and ``wallet`` (> 0): the customer's total spend
        in the category at all retailers over a window, e.g. from a survey or panel. The
        transactions cannot hold it.
    segments
        Optional: one row per customer, ``customer_id`` and the column ``by`` (e.g. from
        :func:`retailcrm.rfm.segments`). Customers with a wallet but no segment are counted in
        the row whose ``by`` is null.
    by
        The segment column of ``segments``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        LazyFrame when either input is lazy. Without ``segments`` one row, otherwise one row
        per segment (sorted, null last) with ``by`` first: ``customers`` (UInt32, with a
        wallet), ``size_of_wallet`` (Float64, the sum of their wallets) and
        ``mean_size_of_wallet`` (Float64, per customer).

    Notes
    -----
    K&R ch. 5: the size of wallet of customer :math:`i` in a category is
    :math:`\mathrm{SW}_i = \sum_{j=1}^{J} S_{ij}`, the sales of all :math:`J` firms that sell
    the category to them; a segment's is the sum over its customers, and its mean tells where
    the large wallets are. With the firm's own sales it gives the share of wallet
    (:func:`share_of_wallet`).

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> w = pl.DataFrame({"customer_id": [1, 2, 3], "wallet": [100.0, 50.0, 30.0]})
    >>> seg = pl.DataFrame({"customer_id": [1, 2], "segment": ["Gold", "Silver"]})
    >>> metrics.size_of_wallet(w).row(0)
    (3, 180.0, 60.0)
    >>> metrics.size_of_wallet(w, seg).rows()
    [('Gold', 1, 100.0, 100.0), ('Silver', 1, 50.0, 50.0), (None, 1, 30.0, 30.0)]
    """
    caller = "metrics.size_of_wallet"
    given = _wallet_frame(wallets, caller)
    wallet = pl.col("wallet")
    sums = {
        "customers": pl.len().cast(pl.UInt32),
        "size_of_wallet": wallet.sum(),
        "mean_size_of_wallet": wallet.mean(),
    }
    if segments is None:
        return _same_kind(given.select(**sums), wallets)  # type: ignore[no-any-return]
    if by == "customer_id":
        msg = f"{caller}: by must name the segment column, not customer_id."
        raise ArgumentError(msg)
    members = _keyed(segments, by, given.collect_schema()["customer_id"], caller, "segments")
    result = (
        given.join(members, on="customer_id", how="left")
        .group_by(by)
        .agg(**sums)
        .sort(by, nulls_last=True)
    )
    return _same_kind(result, wallets, segments)  # type: ignore[no-any-return]


def past_customer_value(
    tx: FrameT,
    /,
    *,
    discount_rate: float,
    period: str = "1mo",
    value: str = "margin",
    as_of: AsOf = None,
) -> FrameT:
    r"""Past customer value: each customer's past contributions compounded to ``as_of``.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp`` and the ``value`` column.
    discount_rate
        Rate per ``period`` (e.g. 0.01 a month) at which past value is compounded, > -1.
    period
        The compounding period: ``"<n>d"``, ``"<n>w"``, ``"<n>mo"``, ``"<n>q"``, ``"<n>y"``.
    value
        ``"margin"`` (gross contribution, K&R's definition; needs a ``margin`` column) or
        ``"amount"`` (revenue).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer with a row by ``as_of``, sorted by
        ``customer_id``: ``value`` (Float64, the plain sum), ``past_customer_value``
        (Float64, compounded).

    Notes
    -----
    K&R ch. 5:

    .. math:: \mathrm{PCV}_i = \sum_{t} \mathrm{GC}_{it} \, (1 + \delta)^{T - t}

    with :math:`\mathrm{GC}_{it}` the gross contribution of customer :math:`i` in period
    :math:`t`, :math:`T` the period holding ``as_of`` and :math:`\delta` the rate per period;
    :math:`T - t` counts calendar periods (a line in the ``as_of`` period is not compounded).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> tx = pl.DataFrame({"customer_id": [1, 1], "timestamp": [date(2024, 1, 9), date(2024, 3, 2)],
    ...                    "amount": [50.0, 20.0], "margin": [10.0, 4.0]})
    >>> metrics.past_customer_value(tx, discount_rate=0.1, as_of=date(2024, 3, 31)).rows()
    [(1, 14.0, 16.1...)]
    """
    caller = "metrics.past_customer_value"
    if value not in ("margin", "amount"):
        msg = f"{caller}: value must be one of ['margin', 'amount']; got {value!r}."
        raise ArgumentError(msg)
    number = isinstance(discount_rate, (int, float)) and not isinstance(discount_rate, bool)
    if not number or not discount_rate > -1 or discount_rate == float("inf"):
        msg = (
            f"{caller}: discount_rate must be a finite number > -1 (the rate per period); "
            f"got {discount_rate!r}."
        )
        raise ArgumentError(msg)
    step = parse_period(period, caller=caller)
    require(tx, {value: "numeric"}, caller=caller)
    source = _Source(tx, as_of, caller)
    start = pl.col("period_start")
    periods = step.index(start, step.start(pl.col("_as_of"))).cast(pl.Float64)
    result = (
        source.lines.with_columns(_as_of=source.as_of)  # no cross join over the customers
        .group_by("customer_id", period_start=step.start(pl.col("timestamp").dt.date()))
        .agg(value=pl.col(value).cast(pl.Float64).sum(), _as_of=pl.col("_as_of").first())
        # compound row-wise first: the aggregation is then a plain sum (its fast path)
        .with_columns(_compounded=pl.col("value") * (1.0 + discount_rate) ** periods)
        .group_by("customer_id")
        .agg(value=pl.col("value").sum(), past_customer_value=pl.col("_compounded").sum())
        .sort("customer_id")
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


def customer_equity(values: FrameT, /) -> FrameT:
    r"""Sum the customers' lifetime values: the customer equity.

    Parameters
    ----------
    values
        One row per customer with ``customer_id`` and ``clv``, e.g. from
        :func:`retailcrm.clv.lifetime_value` or your own CLV. (To value a customer base straight
        from fitted models, :func:`retailcrm.clv.customer_equity` does both steps.)

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row: ``customers`` (UInt32), ``customer_equity`` (Float64, sum of
        ``clv``), ``mean_clv`` (Float64).

    Notes
    -----
    K&R ch. 5: :math:`\mathrm{CE} = \sum_i \mathrm{CLV}_i` over the current customers (Gupta,
    Lehmann & Stuart 2004, "Valuing Customers", JMR 41(1) add prospects' future value).

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import metrics
    >>> metrics.customer_equity(pl.DataFrame({"customer_id": [1, 2], "clv": [30.0, 10.0]})).row(0)
    (2, 40.0, 20.0)
    """
    caller = "metrics.customer_equity"
    require(values, {"customer_id": "any", "clv": "numeric"}, caller=caller)
    if isinstance(values, pl.DataFrame):
        forbid(
            values,
            Check(
                pl.col("customer_id").is_duplicated(),
                "repeat a customer_id",
                "Give one CLV per customer.",
                ["customer_id", "clv"],
            ),
            caller=caller,
        )
    clv = pl.col("clv").cast(pl.Float64)
    return values.select(
        customers=pl.len().cast(pl.UInt32), customer_equity=clv.sum(), mean_clv=clv.mean()
    )
