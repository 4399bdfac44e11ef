r"""Alerts: customers slipping away, with the reason, ranked by the value at risk.

:func:`churn` flags customers in one of two ways:

- with a fitted transaction model of :mod:`retailcrm.clv` (BG/NBD, Pareto/NBD, ...): the
  probability that the customer is still active, P(alive), is below a threshold, or has
  dropped by more than a set amount since a previous run;
- without a model: the customer is **overdue** for their own purchase rhythm -- the days since
  their last purchase exceed a high quantile of the gaps between their past purchases (or of
  everybody's gaps, for customers with too few purchases to have a rhythm of their own).

Shared definitions (``retailcrm._orders``): an order is one ``order_id`` of a customer (without
``order_id``, one customer-day); a **purchase occasion** is an order of net value > 0, dated by
the local calendar date of its first line.
"""

from __future__ import annotations

import math

import numpy as np
import polars as pl

from retailcrm import clv as _clv
from retailcrm import rfm
from retailcrm._errors import ArgumentError, ColumnError, DataError, InputTypeError
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import Check, FrameT, forbid, require, same_kind
from retailcrm._time import AsOf, cutoff
from retailcrm.clv._base import unit_days
from retailcrm.clv._transaction import TransactionModel

__all__ = ["REASONS", "churn"]

#: The reasons :func:`churn` gives, in order (the ``reason`` Enum).
REASONS: tuple[str, ...] = (
    "p_alive below threshold",
    "p_alive dropped",
    "p_alive below threshold and dropped",
    "overdue (own rhythm)",
    "overdue (pooled rhythm)",
)

_TX = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_SUMMARY = {"customer_id": "any", "frequency": "numeric", "recency": "numeric", "T": "numeric"}
_REASON = pl.Enum(REASONS)
_OUT = (
    "customer_id",
    "reason",
    "value_at_risk",
    "days_since_last_purchase",
    "p_alive",
    "previous_p_alive",
    "gap_limit_days",
)


_same_kind = same_kind  # the shared rule: lazy in, lazy out; eager input collected once


def _share(value: object, name: str, example: str, caller: str) -> float:
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )
    if not (number and 0.0 < float(value) < 1.0):  # type: ignore[arg-type]
        msg = f"{caller}: {name} must be a number in (0, 1), e.g. {example}; got {value!r}."
        raise ArgumentError(msg)
    return float(value)  # type: ignore[arg-type]


def _keyed(frame: object, column: str, key: pl.DataType, name: str, caller: str) -> pl.LazyFrame:
    """``customer_id`` (cast to ``key``) and ``column`` of a side frame; refuse repeated ids."""
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        msg = (
            f"{caller}: {name} must be a polars frame with customer_id and {column}; got "
            f"{type(frame).__name__}."
        )
        raise InputTypeError(msg)
    require(frame, {"customer_id": "any", column: "numeric"}, caller=caller)
    if isinstance(frame, pl.DataFrame):
        forbid(
            frame,
            Check(
                pl.col("customer_id").is_duplicated(),
                f"of {name} repeat a customer_id",
                f"Give one {column} per customer.",
                ["customer_id", column],
            ),
            caller=caller,
        )
    have = frame.collect_schema()["customer_id"]
    if have != key:
        numeric = have.is_integer() and key.is_integer()
        textual = all(isinstance(d, (pl.String, pl.Categorical, pl.Enum)) for d in (have, key))
        if not (numeric or textual):
            msg = (
                f"{caller}: customer_id of {name} is {have} but {key} in the customers scored; "
                f"cast one of them, e.g. {name}.with_columns(pl.col('customer_id').cast(pl.{key}))."
            )
            raise ColumnError(msg)
    return frame.lazy().select(pl.col("customer_id").cast(key), pl.col(column).cast(pl.Float64))


def churn(
    tx_or_summary: FrameT,
    /,
    model: TransactionModel | None = None,
    *,
    as_of: AsOf = None,
    threshold: float = 0.5,
    previous: pl.DataFrame | pl.LazyFrame | None = None,
    drop: float = 0.2,
    quantile: float = 0.9,
    min_gaps: int = 3,
    clv: pl.DataFrame | pl.LazyFrame | None = None,
) -> FrameT:
    r"""Customers at risk of churning, with the reason, ranked by the value at risk.

    Parameters
    ----------
    tx_or_summary
        Canonical transactions (``customer_id``, ``timestamp``, ``amount``; ``order_id`` when
        present), or -- with a ``model`` -- a summary from :func:`retailcrm.clv.summary` in the
        model's unit (``customer_id``, ``frequency``, ``recency``, ``T``).
    model
        A fitted transaction model (:class:`retailcrm.clv.BetaGeo`, ...). With it, customers
        are flagged by P(alive); without it, by their purchase rhythm (transactions needed).
    as_of
        Observation end for transactions (inclusive; default the last timestamp). Must be None
        for a summary, which has its own.
    threshold
        With a model: flag P(alive) < ``threshold``, in (0, 1).
    previous
        With a model: a previous run's scores, ``customer_id`` and ``p_alive`` (e.g.
        ``model.p_alive(last_months_summary)``); customers whose P(alive) fell by more than
        ``drop`` since are flagged too.
    drop
        The fall of P(alive) that is flagged, in (0, 1).
    quantile
        Without a model: the quantile of the gaps between purchases beyond which a customer is
        overdue, in (0, 1).
    min_gaps
        Without a model: customers with at least this many gaps (``min_gaps + 1`` purchase
        days) are judged by their own gaps, the others by everybody's (>= 1).
    clv
        ``customer_id`` and ``clv`` (e.g. from :func:`retailcrm.clv.lifetime_value`): the value
        at risk. Default: past spend.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given; one row per flagged customer, sorted by ``value_at_risk`` (largest
        first, to 12 significant digits; nulls last) then ``customer_id``:

        - ``customer_id``;
        - ``reason`` (Enum of :data:`REASONS`);
        - ``value_at_risk`` (Float64): ``clv`` when given; otherwise past spend, the net amount
          of the customer's lines up to ``as_of`` (returns included) -- null for a summary
          without ``clv``, whose first purchase's value is unknown;
        - ``days_since_last_purchase`` (Float64): days from the last purchase to ``as_of``
          (for a summary, ``(T - recency)`` converted from the model's unit);
        - ``p_alive``, ``previous_p_alive`` (Float64): with a model (null otherwise, and for a
          customer absent from ``previous``);
        - ``gap_limit_days`` (Float64): without a model, the overdue limit applied.

    Raises
    ------
    ArgumentError
        An argument is out of range, ``as_of`` with a summary, ``previous`` without a model,
        or a summary without a model.
    ColumnError
        A column is missing or unusable.
    DataError
        Without a model, for a DataFrame: no customer has two purchase days, so there is no
        rhythm to compare with.

    Notes
    -----
    **With a model.** :math:`P(\text{alive})` is the model's (for the BG/NBD, Fader, Hardie &
    Lee 2005, eq. 12). A customer is flagged when :math:`P < \text{threshold}` or
    :math:`P_{\text{previous}} - P > \text{drop}`. A one-time buyer has P(alive) = 1 under the
    BG/NBD model, so is never flagged by it.

    **Without a model (overdue rule).** Purchase days are the distinct dates of a customer's
    purchase occasions up to ``as_of``, :math:`d_0 < d_1 < \dots < d_n`, with gaps
    :math:`g_i = d_i - d_{i-1}` days. The limit of a customer with :math:`n \ge`
    ``min_gaps`` gaps is the ``quantile`` of their own gaps; of any other customer (one-time
    buyers included) the ``quantile`` of all customers' gaps pooled (each gap counts once, so
    frequent buyers weigh more). Quantiles interpolate linearly between order statistics
    (Hyndman & Fan 1996, type 7, NumPy's default). A customer is overdue when
    :math:`\text{as\_of} - d_n > \text{limit}`. This is the "customer is late against their own
    inter-purchase time" rule of Wübben & von Wangenheim (2008, "Instant customer base
    analysis: managerial heuristics often get it right", Journal of Marketing 72(3)), with
    a quantile in place of a fixed multiple of the mean gap.

    Examples
    --------
    >>> from datetime import date, timedelta
    >>> import polars as pl
    >>> from retailcrm import alerts
    >>> start = date(2024, 1, 1)
    >>> days = [0, 10, 20, 30, 40] + [0, 30, 60, 90, 120] + [100]
    >>> tx = pl.DataFrame({"customer_id": [1] * 5 + [2] * 5 + [3],
    ...     "timestamp": [start + timedelta(days=d) for d in days], "amount": [10.0] * 11})
    >>> alerts.churn(tx, min_gaps=3).select("customer_id", "reason", "gap_limit_days").rows()
    [(1, 'overdue (own rhythm)', 10.0)]
    """
    caller = "alerts.churn"
    require(tx_or_summary, {"customer_id": "any"}, caller=caller)
    schema = tx_or_summary.collect_schema()
    is_summary = all(c in schema for c in ("frequency", "recency", "T"))
    limit = _share(threshold, "threshold", "0.5", caller)
    fall = _share(drop, "drop", "0.2", caller)
    q = _share(quantile, "quantile", "0.9", caller)
    if isinstance(min_gaps, bool) or not isinstance(min_gaps, (int, np.integer)) or min_gaps < 1:
        msg = f"{caller}: min_gaps must be a whole number >= 1; got {min_gaps!r}."
        raise ArgumentError(msg)
    key = schema["customer_id"]
    values = None if clv is None else _keyed(clv, "clv", key, "clv", caller)
    if model is None:
        if previous is not None:
            msg = (
                f"{caller}: previous holds earlier P(alive) scores and needs a model; pass the "
                "fitted clv model as the second argument, or drop previous."
            )
            raise ArgumentError(msg)
        if is_summary and not all(c in schema for c in ("timestamp", "amount")):
            msg = (
                f"{caller}: a clv summary needs a model (alerts.churn(summary, model)); the "
                "overdue rule without a model needs the transactions."
            )
            raise ArgumentError(msg)
        flagged = _overdue(tx_or_summary, as_of, q, int(min_gaps), values, caller)
    else:
        if not isinstance(model, TransactionModel):
            msg = (
                f"{caller}: model must be a fitted transaction model such as clv.BetaGeo; got "
                f"{type(model).__name__}."
            )
            raise ArgumentError(msg)
        before = None if previous is None else _keyed(previous, "p_alive", key, "previous", caller)
        flagged = _unlikely_alive(
            tx_or_summary, model, is_summary, as_of, limit, before, fall, values, caller
        )
    # multi-threaded sums differ in their last bits: never let that reorder ties
    value = pl.col("value_at_risk").round_sig_figs(12)
    result = flagged.select(_OUT).sort(
        value, "customer_id", descending=[True, False], nulls_last=True
    )
    return _same_kind(result, tx_or_summary, previous, clv)  # type: ignore[no-any-return]


def _unlikely_alive(
    frame: pl.DataFrame | pl.LazyFrame,
    model: TransactionModel,
    is_summary: bool,
    as_of: AsOf,
    threshold: float,
    previous: pl.LazyFrame | None,
    drop: float,
    values: pl.LazyFrame | None,
    caller: str,
) -> pl.LazyFrame:
    days = unit_days(model.unit, caller=caller)
    if is_summary:
        if as_of is not None:
            msg = (
                f"{caller}: as_of applies to transactions; a clv summary has its own (its T). "
                "Pass as_of=None, or the transactions."
            )
            raise ArgumentError(msg)
        require(frame, _SUMMARY, caller=caller)
        summary = frame
        spend = None
    else:
        require(frame, _TX, caller=caller)
        summary = _clv.summary(frame, as_of=as_of, unit=model.unit)
        spend = rfm.summary(frame.lazy(), as_of=as_of).select(
            "customer_id", value_at_risk=pl.col("monetary")
        )
    p_alive = pl.col("p_alive")
    scored = (
        model.p_alive(summary)
        .lazy()
        .join(
            summary.lazy().select(
                "customer_id",
                days_since_last_purchase=(pl.col("T") - pl.col("recency")).cast(pl.Float64) * days,
            ),
            on="customer_id",
            how="left",
        )
    )
    if previous is not None:
        scored = scored.join(
            previous.rename({"p_alive": "previous_p_alive"}), on="customer_id", how="left"
        )
    else:
        scored = scored.with_columns(previous_p_alive=pl.lit(None, dtype=pl.Float64))
    low = p_alive < threshold
    fell = (pl.col("previous_p_alive") - p_alive > drop).fill_null(False)
    reason = (
        pl.when(low & fell)
        .then(pl.lit(REASONS[2]))
        .when(low)
        .then(pl.lit(REASONS[0]))
        .when(fell)
        .then(pl.lit(REASONS[1]))
        .cast(_REASON)
    )
    scored = scored.filter(low | fell).with_columns(
        reason=reason, gap_limit_days=pl.lit(None, dtype=pl.Float64)
    )
    return _valued(scored, values if values is not None else spend)


def _valued(flagged: pl.LazyFrame, values: pl.LazyFrame | None) -> pl.LazyFrame:
    if values is None:
        return flagged.with_columns(value_at_risk=pl.lit(None, dtype=pl.Float64))
    renamed = values.rename({c: "value_at_risk" for c in values.collect_schema() if c == "clv"})
    return flagged.join(renamed, on="customer_id", how="left")


def _overdue(
    tx: pl.DataFrame | pl.LazyFrame,
    as_of: AsOf,
    quantile: float,
    min_gaps: int,
    values: pl.LazyFrame | None,
    caller: str,
) -> pl.LazyFrame:
    require(tx, _TX, caller=caller)
    cut = cutoff(as_of, tx.collect_schema()["timestamp"], caller=caller)
    day = pl.col("order_date")
    gaps = (
        orders(tx.lazy().filter(cut.keep))
        .filter(PURCHASE)
        .select("customer_id", "order_date")
        .unique()
        .with_columns(gap=day.diff().over("customer_id", order_by="order_date").dt.total_days())
    )
    gap = pl.col("gap").cast(pl.Float64)
    pooled_query = gaps.select(_pooled=gap.quantile(quantile, interpolation="linear"))
    if isinstance(tx, pl.DataFrame):
        pooled_value = pooled_query.collect().item()
        if pooled_value is None or (isinstance(pooled_value, float) and math.isnan(pooled_value)):
            msg = (
                f"{caller}: no customer has two purchase days up to as_of, so there is no "
                "purchase rhythm to be overdue against. Use a longer history, or fit a clv "
                "model and pass it."
            )
            raise DataError(msg)
        pooled: pl.LazyFrame = pl.LazyFrame({"_pooled": [float(pooled_value)]})
    else:
        pooled = pooled_query
    own = gaps.group_by("customer_id").agg(
        _gaps=gap.count(), _own=gap.quantile(quantile, interpolation="linear")
    )
    history = rfm.summary(tx.lazy(), as_of=as_of).select(
        "customer_id", "recency", _spend=pl.col("monetary")
    )
    by_own = pl.col("_gaps") >= min_gaps
    limit = pl.when(by_own).then(pl.col("_own")).otherwise(pl.col("_pooled"))
    reason = pl.when(by_own).then(pl.lit(REASONS[3])).otherwise(pl.lit(REASONS[4])).cast(_REASON)
    checked = (
        own.join(history, on="customer_id", how="inner")
        .join(pooled, how="cross")
        .with_columns(
            gap_limit_days=limit,
            days_since_last_purchase=pl.col("recency").cast(pl.Float64),
        )
        .filter(pl.col("days_since_last_purchase") > pl.col("gap_limit_days"))
        .with_columns(
            reason=reason,
            p_alive=pl.lit(None, dtype=pl.Float64),
            previous_p_alive=pl.lit(None, dtype=pl.Float64),
        )
    )
    if values is not None:
        return _valued(checked, values)
    return checked.with_columns(value_at_risk=pl.col("_spend"))
