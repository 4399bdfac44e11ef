r"""Holdout checks of a transaction model: conditional expectations and tracking curves.

Two views from Fader, Hardie & Lee (2005), "Counting your customers the easy way",
Marketing Science 24(2), 275-284, Figures 2-4:

- :func:`evaluate`: for each customer, the purchases the model expects in the holdout period
  given their calibration history, against the purchases they made; by calibration frequency
  (the "conditional expectations" plot) and as error metrics;
- :func:`tracking`: cumulative repeat purchases of the whole cohort, period by period, against
  the sum of the model's expectations for new customers from each customer's first purchase.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import polars as pl

from retailcrm._errors import ArgumentError, DataError
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import forbid, require
from retailcrm._time import AsOf, cutoff, parse_period
from retailcrm.clv._base import summary_checks, unit_days
from retailcrm.clv._transaction import TransactionModel

__all__ = ["Evaluation", "evaluate", "tracking"]

_HOLDOUT = ("frequency", "recency", "T", "frequency_holdout", "duration_holdout")


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate` found: per customer, by calibration frequency, and overall.

    Attributes
    ----------
    customers
        One row per customer: ``customer_id``, ``frequency`` (u32, calibration),
        ``frequency_holdout`` (u32, actual), ``expected_holdout`` (f64, predicted) and
        ``error`` (f64, ``expected_holdout - frequency_holdout``).
    by_frequency
        One row per calibration frequency 0, 1, ..., ``max_frequency`` (the last row holds
        every customer with ``max_frequency`` or more): ``frequency`` (u32), ``customers``
        (u32), ``actual`` (f64, mean holdout purchases), ``expected`` (f64, mean prediction),
        ``error`` (f64, ``expected - actual``).
    n_customers
        Customers evaluated.
    actual_total, expected_total
        Holdout purchases made and predicted, summed over customers.
    mae, rmse, bias
        Mean absolute error, root mean squared error and mean error (``expected - actual``)
        per customer, in purchases.
    """

    customers: pl.DataFrame
    by_frequency: pl.DataFrame
    n_customers: int
    actual_total: float
    expected_total: float
    mae: float
    rmse: float
    bias: float


def evaluate(
    model: TransactionModel, summary: pl.DataFrame | pl.LazyFrame, /, *, max_frequency: int = 7
) -> Evaluation:
    r"""Compare a model's holdout predictions with the purchases customers made.

    Parameters
    ----------
    model
        A transaction model (:class:`~retailcrm.clv.BetaGeo`, :class:`~retailcrm.clv.ParetoNBD`,
        :class:`~retailcrm.clv.ModifiedBetaGeo`) fitted on the calibration columns, in the
        summary's unit.
    summary
        From :func:`retailcrm.clv.summary` with ``calibration_end``: ``customer_id``,
        ``frequency``, ``recency``, ``T`` (calibration), ``frequency_holdout`` and
        ``duration_holdout`` (in the model's unit).
    max_frequency
        The last calibration frequency shown on its own in ``by_frequency``; higher ones are
        pooled with it (the paper shows 0 to 7+).

    Returns
    -------
    Evaluation
        Per-customer predictions, the table by calibration frequency and the error metrics.

    Notes
    -----
    Each customer's prediction is :math:`E[Y(d) \mid x, t_x, T]` with :math:`d` their
    ``duration_holdout``; with :math:`e_i` = prediction - actual over the :math:`N` customers,
    :math:`\mathrm{MAE} = \frac1N \sum |e_i|`, :math:`\mathrm{RMSE} = \sqrt{\frac1N \sum e_i^2}`
    and bias :math:`= \frac1N \sum e_i` (positive: the model over-predicts).

    Examples
    --------
    >>> import polars as pl
    >>> import retailcrm.clv as clv
    >>> model = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")
    >>> s = pl.DataFrame({"customer_id": [1, 2, 3], "frequency": [0, 2, 7],
    ...     "recency": [0.0, 30.0, 36.0], "T": [38.0, 38.0, 38.0],
    ...     "frequency_holdout": [0, 1, 6], "duration_holdout": [39.0, 39.0, 39.0]})
    >>> result = clv.evaluate(model, s)
    >>> for row in result.by_frequency.rows():
    ...     print(row)
    (0, 1, 0.0, 0.1983..., 0.1983...)
    (2, 1, 1.0, 1.2527..., 0.2527...)
    (7, 1, 6.0, 4.6628..., -1.3371...)
    >>> round(result.mae, 4), round(result.bias, 4)
    (0.5961, -0.2954)
    """
    caller = "clv.evaluate"
    if not isinstance(model, TransactionModel):
        msg = (
            f"{caller}: model must be a transaction model such as clv.BetaGeo or clv.ParetoNBD; "
            f"got {type(model).__name__}."
        )
        raise ArgumentError(msg)
    if isinstance(max_frequency, bool) or not isinstance(max_frequency, int) or max_frequency < 0:
        msg = f"{caller}: max_frequency must be a whole number >= 0; got {max_frequency!r}."
        raise ArgumentError(msg)
    needed = {"customer_id": "any"} | dict.fromkeys(_HOLDOUT, "numeric")
    require(summary, needed, caller=caller)
    rows = summary.lazy().select("customer_id", *_HOLDOUT).collect()
    checks = summary_checks(
        list(_HOLDOUT), integer=("frequency", "frequency_holdout"), show=["customer_id", *_HOLDOUT]
    )
    forbid(rows, *checks, caller=caller)
    if rows.height == 0:
        msg = (
            f"{caller}: the summary has no customers; build it with "
            "clv.summary(tx, as_of=..., calibration_end=...)."
        )
        raise DataError(msg)
    x, t_x, T, actual, duration = (rows[c].cast(pl.Float64).to_numpy() for c in _HOLDOUT)
    expected = model._expected_np(x, t_x, T, duration)
    customers = pl.DataFrame(
        {
            "customer_id": rows["customer_id"],
            "frequency": rows["frequency"].cast(pl.UInt32),
            "frequency_holdout": rows["frequency_holdout"].cast(pl.UInt32),
            "expected_holdout": expected,
            "error": expected - actual,
        }
    )
    by_frequency = (
        customers.group_by(frequency=pl.col("frequency").clip(upper_bound=max_frequency))
        .agg(
            customers=pl.len().cast(pl.UInt32),
            actual=pl.col("frequency_holdout").cast(pl.Float64).mean(),
            expected=pl.col("expected_holdout").mean(),
        )
        .with_columns(error=pl.col("expected") - pl.col("actual"))
        .sort("frequency")
    )
    error = expected - actual
    return Evaluation(
        customers=customers,
        by_frequency=by_frequency,
        n_customers=rows.height,
        actual_total=float(actual.sum()),
        expected_total=float(expected.sum()),
        mae=float(np.abs(error).mean()),
        rmse=math.sqrt(float((error**2).mean())),
        bias=float(error.mean()),
    )


def _day(value: object, name: str, caller: str) -> dt.date | None:
    if value is None or (isinstance(value, dt.date) and not isinstance(value, dt.datetime)):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    msg = f"{caller}: {name} must be a date or an ISO date string like '1997-09-30'; got {value!r}."
    raise ArgumentError(msg)


def tracking(
    model: TransactionModel,
    tx: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    as_of: AsOf,
    calibration_end: dt.date | str | None = None,
    period: str = "1w",
) -> pl.DataFrame:
    r"""Repeat purchases of a cohort per period, actual against the model's expectation.

    The customers tracked are those whose first purchase is on or before ``calibration_end``
    (or ``as_of`` when it is not given): the cohort the model describes. Purchases are counted
    as in :func:`retailcrm.clv.summary`: customer-days of positive net value, the first one
    excluded.

    Parameters
    ----------
    model
        A transaction model fitted on (a summary of) these customers, e.g.
        :class:`~retailcrm.clv.BetaGeo`.
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``.
    as_of
        The last day tracked (inclusive): a date or an ISO string.
    calibration_end
        The last day of the calibration period, if any: it closes the cohort and marks the
        periods after it as holdout.
    period
        Length of each tracked period: a Polars duration (``"1d"``, ``"1w"``, ``"1mo"``, ...)
        counted from the first purchase day of the cohort. The last period is cut at ``as_of``.

    Returns
    -------
    pl.DataFrame
        One row per period, in order: ``period_end`` (Date, its last day), ``actual`` (u32,
        repeat purchases in the period), ``expected`` (f64), ``actual_cumulative`` (u32),
        ``expected_cumulative`` (f64), and, with ``calibration_end``, ``holdout`` (bool, the
        period ends after it).

    Notes
    -----
    A customer whose first purchase is on day :math:`b` has, by the end of day :math:`e \ge b`,
    made :math:`E[X((e - b)/u)]` repeat purchases in expectation (:math:`u` the model's unit
    in days, :math:`X` the purchases of a new customer: ``expected_purchases_new``), as in the
    summary where :math:`T` runs from the first purchase day to ``as_of``. The cohort's
    expectation at the end of each period is the sum over customers; ``expected`` is its
    increase over the period (Fader & Hardie 2005, note 008, section 5).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.clv as clv
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 1],
    ...     "timestamp": [date(2024, 1, 1), date(2024, 1, 9), date(2024, 1, 3), date(2024, 1, 20)],
    ...     "amount": [10.0, 20.0, 5.0, 8.0]})
    >>> model = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")
    >>> out = clv.tracking(model, tx, as_of="2024-01-21", period="1w")
    >>> out.select("period_end", "actual_cumulative").rows()  # doctest: +NORMALIZE_WHITESPACE
    [(datetime.date(2024, 1, 7), 0), (datetime.date(2024, 1, 14), 1),
     (datetime.date(2024, 1, 21), 2)]
    """
    caller = "clv.tracking"
    if not isinstance(model, TransactionModel):
        msg = (
            f"{caller}: model must be a transaction model such as clv.BetaGeo or clv.ParetoNBD; "
            f"got {type(model).__name__}."
        )
        raise ArgumentError(msg)
    require(
        tx,
        {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"},
        caller=caller,
    )
    end = _day(as_of, "as_of", caller)
    if end is None:
        msg = f"{caller}: as_of is required: the last day tracked, e.g. as_of='1998-06-30'."
        raise ArgumentError(msg)
    cal = _day(calibration_end, "calibration_end", caller)
    if cal is not None and cal >= end:
        msg = f"{caller}: calibration_end ({cal}) must be before as_of ({end})."
        raise ArgumentError(msg)
    parse_period(period, caller=caller)
    unit = unit_days(model.unit, caller=caller)
    cut = cutoff(end, tx.collect_schema()["timestamp"], caller=caller)
    days = (
        orders(tx.lazy().filter(cut.keep).select("customer_id", "timestamp", "amount"), by="day")
        .filter(PURCHASE)
        .select("customer_id", "order_date")
        .with_columns(first=pl.col("order_date").min().over("customer_id"))
        .filter(pl.col("first") <= pl.lit(cal if cal is not None else end))
        .collect()
    )
    if days.height == 0:
        msg = f"{caller}: no customer made a purchase by {cal or end}; nothing to track."
        raise DataError(msg)
    start = days["first"].min()
    assert isinstance(start, dt.date)
    starts = pl.date_range(start, end + dt.timedelta(days=1), interval=period, eager=True)
    ends = [min(s - dt.timedelta(days=1), end) for s in starts[1:]]
    if starts[-1] <= end:  # the last, partial period
        ends.append(end)
    period_ends = pl.Series("period_end", ends, dtype=pl.Date)
    # actual: repeat purchase days, counted in the period that contains them
    repeat = days.filter(pl.col("order_date") > pl.col("first"))
    which = np.searchsorted(period_ends.to_numpy(), repeat["order_date"].to_numpy(), side="left")
    actual = np.bincount(which, minlength=len(period_ends)).astype(np.int64)
    # expected: sum over first-purchase days b of n_b E[X((e - b) / u)] at each period end e
    births = days.group_by("first").agg(n=pl.col("customer_id").n_unique()).sort("first")
    born = births["first"].to_numpy()
    size = births["n"].cast(pl.Float64).to_numpy()
    age = (period_ends.to_numpy()[:, None] - born[None, :]).astype("timedelta64[D]").astype(float)
    spans = np.maximum(age, 0.0) / unit
    zero = np.zeros(spans.size)
    values = model._expected_np(zero, zero, zero, spans.ravel()).reshape(spans.shape)
    cumulative = (values * (age >= 0) * size[None, :]).sum(axis=1)
    out = pl.DataFrame(
        {
            "period_end": period_ends,
            "actual": actual[: len(period_ends)].astype(np.uint32),
            "expected": np.diff(cumulative, prepend=0.0),
            "actual_cumulative": np.cumsum(actual[: len(period_ends)]).astype(np.uint32),
            "expected_cumulative": cumulative,
        }
    )
    if cal is not None:
        out = out.with_columns(holdout=pl.col("period_end") > pl.lit(cal))
    return out
