"""clv.summary: transactions to the per-customer (frequency, recency, T, monetary_value) table."""

from __future__ import annotations

import datetime as dt

import polars as pl

from retailcrm._errors import ArgumentError
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import Check, FrameT, forbid, require
from retailcrm._time import AsOf, cutoff
from retailcrm.clv._base import unit_days

__all__ = ["summary"]

_NEEDED = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_CALLER = "clv.summary"


def _calibration_date(value: object) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    msg = (
        f"{_CALLER}: calibration_end must be a date or an ISO date string like '1997-09-30' "
        f"(the summary counts whole days); got {value!r}."
    )
    raise ArgumentError(msg)


def summary(
    tx: FrameT,
    /,
    *,
    as_of: AsOf = None,
    unit: str = "1w",
    calibration_end: dt.date | str | None = None,
) -> FrameT:
    r"""Per-customer frequency, recency, age and mean spend: the input of the BTYD models.

    A **purchase** is a customer-day whose net value (sum of ``amount``) is > 0: lines on the
    same day are one purchase, whatever their ``order_id``, and a day of pure returns is not a
    purchase (it still counts as data for the default ``as_of``). Rows after ``as_of`` are
    ignored; customers with no purchase by ``as_of`` (or by ``calibration_end``) are not in the
    result. A DataFrame with a null ``timestamp`` or a NaN / infinite ``amount`` raises
    :class:`~retailcrm.DataError`; a LazyFrame is not read here: its rows without a
    timestamp are left out, and a non-finite amount gives a NaN ``monetary_value``.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp`` and ``amount``.
    as_of
        End of the observation (inclusive): a date, a datetime or an ISO string. ``None`` (the
        default) takes the last day in the data. With ``calibration_end`` it is the end of the
        holdout period and must be given.
    unit
        The time unit of ``recency``, ``T`` and ``duration_holdout``: ``"1d"``, ``"1w"`` (7
        days, the default), ``"1mo"`` (365.2425 / 12 days), ``"1q"``, ``"1y"`` or multiples
        (``"2w"``). Fit every model with the same ``unit=``.
    calibration_end
        A date. When given, ``frequency``, ``recency``, ``T`` and ``monetary_value`` describe the
        calibration period up to and including this day (``T`` runs to ``calibration_end``), and
        the holdout columns describe the days after it up to ``as_of``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer, sorted by ``customer_id``:

        - ``customer_id``;
        - ``frequency`` (u32): repeat purchases, i.e. purchase days after the first one;
        - ``recency`` (f64): first to last purchase day, in ``unit``\s (0 when frequency is 0);
        - ``T`` (f64): first purchase day to the ``as_of`` day, in ``unit``\s;
        - ``monetary_value`` (f64): mean value of the repeat purchase days (the first purchase
          is left out, as the Gamma-Gamma model expects); 0 when frequency is 0.

        With ``calibration_end``, also ``frequency_holdout`` (u32, purchase days in the holdout),
        ``monetary_value_holdout`` (f64, their mean value; 0 when there are none) and
        ``duration_holdout`` (f64, ``as_of - calibration_end`` in ``unit``\s).

    Notes
    -----
    With purchase days :math:`d_0 < d_1 < \dots < d_x` by ``as_of`` day :math:`D` and unit length
    :math:`u` days: :math:`x` = frequency, :math:`t_x = (d_x - d_0)/u`, :math:`T = (D - d_0)/u`,
    as in Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
    24(2), and lifetimes' ``summary_data_from_transaction_data`` with ``freq="D"`` and
    ``freq_multiplier=7`` for weeks.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.clv as clv
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2],
    ...     "timestamp": [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15), date(2024, 1, 8)],
    ...     "amount": [10.0, 20.0, 40.0, 5.0]})
    >>> clv.summary(tx, as_of=date(2024, 1, 29)).rows()
    [(1, 2, 2.0, 4.0, 30.0), (2, 0, 0.0, 3.0, 0.0)]
    """
    require(tx, _NEEDED, caller=_CALLER)
    days = unit_days(unit, caller=_CALLER)
    cal = _calibration_date(calibration_end)
    cut = cutoff(as_of, tx.collect_schema()["timestamp"], caller=_CALLER)
    if cal is not None:
        if cut.date is None:
            msg = (
                f"{_CALLER}: calibration_end={cal.isoformat()!r} needs an explicit as_of, the "
                "end of the holdout period (e.g. as_of='1998-06-30')."
            )
            raise ArgumentError(msg)
        if cal >= cut.date:
            msg = (
                f"{_CALLER}: calibration_end ({cal.isoformat()}) must be before as_of "
                f"({cut.date.isoformat()}); the holdout period runs from the day after "
                "calibration_end to as_of."
            )
            raise ArgumentError(msg)

    if isinstance(tx, pl.DataFrame):
        show = ["customer_id", "timestamp", "amount"]
        fix = "Drop or fill them before the summary."
        forbid(
            tx,
            Check(pl.col("timestamp").is_null(), "have a null timestamp", fix, show),
            Check(~pl.col("amount").is_finite(), "have a NaN or infinite amount", fix, show),
            caller=_CALLER,
        )
    # one lazy query, collected once for a DataFrame: Polars then drops what the summary does
    # not use and fuses the steps (3x faster than step by step on 1.4M rows)
    day_orders = orders(
        tx.lazy()
        .filter(cut.keep, pl.col("timestamp").is_not_null())
        .select("customer_id", "timestamp", "amount"),
        by="day",
    ).select("customer_id", "order_date", "value")
    last_day = pl.lit(cut.date) if cut.date is not None else pl.col("order_date").max()
    end = pl.lit(cal) if cal is not None else last_day
    purchases = day_orders.with_columns(_end=end).filter(PURCHASE)

    day, value = pl.col("order_date"), pl.col("value")
    # (no filter at all without calibration_end: Polars 2.1 mis-reads `filter(pl.lit(True))`
    # inside a group_by aggregation)
    if cal is None:
        cal_day, cal_value = day, value
    else:
        in_cal = day <= pl.lit(cal)
        cal_day, cal_value = day.filter(in_cal), value.filter(in_cal)
    aggregates = [
        cal_day.min().alias("_first"),
        cal_day.max().alias("_last"),
        cal_day.len().alias("_n"),
        cal_value.sum().alias("_total"),
        cal_value.sort_by(cal_day).first().alias("_first_value"),
        pl.col("_end").first(),
    ]
    if cal is not None:
        holdout = day > pl.lit(cal)
        aggregates += [
            holdout.sum().cast(pl.UInt32).alias("frequency_holdout"),
            value.filter(holdout).mean().fill_null(0.0).alias("monetary_value_holdout"),
        ]
    n = pl.col("_n").cast(pl.Int64)
    columns = {
        "frequency": (n - 1).cast(pl.UInt32),
        "recency": (pl.col("_last") - pl.col("_first")).dt.total_days() / days,
        "T": (pl.col("_end") - pl.col("_first")).dt.total_days() / days,
        "monetary_value": pl.when(n > 1)
        .then((pl.col("_total") - pl.col("_first_value")) / (n - 1))
        .otherwise(0.0),
    }
    if cal is not None:
        assert cut.date is not None
        columns |= {
            "frequency_holdout": pl.col("frequency_holdout"),
            "monetary_value_holdout": pl.col("monetary_value_holdout"),
            "duration_holdout": pl.lit((cut.date - cal).days / days, dtype=pl.Float64),
        }
    result = (
        purchases.group_by("customer_id")
        .agg(aggregates)
        .filter(pl.col("_n") > 0)
        .select("customer_id", **columns)
        .sort("customer_id")
    )
    return result.collect() if isinstance(tx, pl.DataFrame) else result
