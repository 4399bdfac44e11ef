"""Discounted customer lifetime value from a transaction model and a spend model."""

from __future__ import annotations

import math
from typing import TypeVar

import numpy as np
import polars as pl

from retailcrm._errors import ArgumentError
from retailcrm._schema import forbid, require
from retailcrm.clv._base import summary_checks, unit_days
from retailcrm.clv._gammagamma import _POSITIVE_SPEND, GammaGamma
from retailcrm.clv._transaction import TransactionModel

__all__ = ["customer_equity", "lifetime_value"]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
_COLUMNS = ("frequency", "recency", "T", "monetary_value")
_OUT = pl.Struct({"expected_purchases": pl.Float64, "clv": pl.Float64})


def _checked_models(
    transaction_model: object, spend_model: object, caller: str
) -> tuple[TransactionModel, GammaGamma]:
    if not isinstance(transaction_model, TransactionModel):
        msg = (
            f"{caller}: transaction_model must be a fitted clv.BetaGeo (or another transaction "
            f"model); got {type(transaction_model).__name__}."
        )
        raise ArgumentError(msg)
    if not isinstance(spend_model, GammaGamma):
        msg = f"{caller}: spend_model must be a clv.GammaGamma; got {type(spend_model).__name__}."
        raise ArgumentError(msg)
    return transaction_model, spend_model


def _checked_terms(horizon: object, discount_rate: object, caller: str) -> tuple[int, float]:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        msg = (
            f"{caller}: horizon must be a whole number of periods >= 1 (periods of length "
            f"unit); got {horizon!r}."
        )
        raise ArgumentError(msg)
    ok = isinstance(discount_rate, (int, float, np.integer, np.floating)) and not isinstance(
        discount_rate, bool
    )
    if not ok or not (math.isfinite(float(discount_rate)) and float(discount_rate) > -1):  # type: ignore[arg-type]
        msg = (
            f"{caller}: discount_rate must be a finite number > -1 (the rate per period of "
            f"length unit, e.g. 0.01 a month); got {discount_rate!r}."
        )
        raise ArgumentError(msg)
    return int(horizon), float(discount_rate)  # type: ignore[arg-type]


def _distinct_pairs(x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct (x, T) pairs and, for each row, the index of its pair."""
    if x.size == 0:
        return x, T, np.zeros(0, dtype=np.int64)
    t_values, t_of = np.unique(T, return_inverse=True)
    x_values, x_of = np.unique(x, return_inverse=True)
    keys, where = np.unique(x_of.ravel() * t_values.size + t_of.ravel(), return_inverse=True)
    return x_values[keys // t_values.size], t_values[keys % t_values.size], where.ravel()


def _valued(
    caller: str,
    transaction_model: object,
    spend_model: object,
    summary: FrameT,
    horizon: object,
    unit: str,
    discount_rate: object,
) -> FrameT:
    model, spend = _checked_models(transaction_model, spend_model, caller)
    periods, rate = _checked_terms(horizon, discount_rate, caller)
    step = unit_days(unit, caller=caller) / unit_days(model.unit, caller=caller)
    require(summary, {"customer_id": "any"} | dict.fromkeys(_COLUMNS, "numeric"), caller=caller)
    if isinstance(summary, pl.DataFrame):
        forbid(
            summary,
            *summary_checks(_COLUMNS, integer=("frequency",)),
            _POSITIVE_SPEND,
            caller=caller,
        )
    discount = (1.0 + rate) ** -np.arange(1, periods + 1, dtype=float)

    def kernel(series: list[pl.Series]) -> pl.Series:
        x, t_x, T, m = (s.cast(pl.Float64).to_numpy() for s in series)
        # E[Y(t) | history] = P(alive) E[Y(t) | alive], and the second factor depends on (x, T)
        # alone: it is computed once per distinct pair (a few thousand among a million rows)
        alive = model._p_alive_np(x, t_x, T)
        pair_x, pair_T, where = _distinct_pairs(x, T)
        total = np.zeros_like(pair_x)
        before = np.zeros_like(pair_x)
        for k in range(periods):
            after = model._conditional_np(pair_x, pair_T, (k + 1) * step)
            total += discount[k] * (after - before)
            before = after
        return pl.DataFrame(
            {"expected_purchases": alive * before[where], "clv": alive * total[where] * m}
        ).to_struct()

    values = pl.map_batches(
        [*[pl.col(c) for c in _COLUMNS[:3]], spend._spend_expr(caller)],
        kernel,
        return_dtype=_OUT,
        is_elementwise=True,
    )
    return (
        summary.select("customer_id", _v=values, expected_spend=spend._spend_expr(caller))
        .unnest("_v")
        .select("customer_id", "expected_purchases", "expected_spend", "clv")
    )


def lifetime_value(
    transaction_model: TransactionModel,
    spend_model: GammaGamma,
    summary: FrameT,
    /,
    *,
    horizon: int,
    unit: str,
    discount_rate: float,
) -> FrameT:
    r"""Discounted expected value of each customer's purchases over the next ``horizon`` periods.

    Parameters
    ----------
    transaction_model
        A transaction model (e.g. :class:`~retailcrm.clv.BetaGeo`); its ``unit`` says what
        ``recency`` and ``T`` are measured in.
    spend_model
        A :class:`~retailcrm.clv.GammaGamma` giving the expected spend per purchase.
    summary
        ``customer_id``, ``frequency``, ``recency``, ``T`` (in the transaction model's unit) and
        ``monetary_value``, as from :func:`retailcrm.clv.summary`. Rows of a DataFrame are
        checked; a LazyFrame is not read.
    horizon
        Number of periods (whole number >= 1).
    unit
        Length of one period, the discounting period: ``"1mo"`` (365.2425 / 12 days), ``"30d"``,
        ``"1w"``, ``"1q"``, ``"1y"``. It is converted into the transaction model's unit, so a
        model fitted in weeks answers correctly for months.
    discount_rate
        Discount rate per period (e.g. 0.01 a month), > -1.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, in its row order: ``customer_id``, ``expected_purchases`` (f64,
        undiscounted, over the whole horizon), ``expected_spend`` (f64, per purchase) and
        ``clv`` (f64, discounted value).

    Notes
    -----
    The convention is end-of-period discounting of the purchases expected in each period:

    .. math::

        \mathrm{CLV} = E[Z \mid x, \bar z] \sum_{k=1}^{H}
            \frac{E[Y(k u) \mid x, t_x, T] - E[Y((k-1) u) \mid x, t_x, T]}{(1 + d)^k}

    with :math:`u` the period in the model's unit, :math:`d` the rate per period and
    :math:`H` the horizon. It is the convention of lifetimes' ``customer_lifetime_value``
    (which fixes the period at a month of 30 days or 4.345 weeks). Spend is assumed
    independent of the purchase process, as the Gamma-Gamma model assumes (Fader, Hardie & Lee
    2005, "RFM and CLV", Journal of Marketing Research 42(4)).

    Examples
    --------
    >>> import polars as pl
    >>> import retailcrm.clv as clv
    >>> buys = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")
    >>> spend = clv.GammaGamma(p=6.25, q=3.74, v=15.44)
    >>> people = pl.DataFrame({"customer_id": [1], "frequency": [2], "recency": [30.43],
    ...                        "T": [38.86], "monetary_value": [22.35]})
    >>> clv.lifetime_value(buys, spend, people, horizon=12, unit="1mo", discount_rate=0.01).rows()
    [(1, 1.56..., 24.66..., 36.30...)]
    """
    return _valued(
        "clv.lifetime_value", transaction_model, spend_model, summary, horizon, unit, discount_rate
    )


def customer_equity(
    transaction_model: TransactionModel,
    spend_model: GammaGamma,
    summary: FrameT,
    /,
    *,
    horizon: int,
    unit: str,
    discount_rate: float,
) -> FrameT:
    """Sum :func:`lifetime_value` over the customer base: the discounted customer equity.

    Parameters are those of :func:`lifetime_value`; the same convention applies.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row: ``customers`` (u32), ``expected_purchases`` (f64, sum),
        ``customer_equity`` (f64, sum of ``clv``).

    Examples
    --------
    >>> import polars as pl
    >>> import retailcrm.clv as clv
    >>> buys = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")
    >>> spend = clv.GammaGamma(p=6.25, q=3.74, v=15.44)
    >>> people = pl.DataFrame({"customer_id": [1, 2], "frequency": [2, 0],
    ...     "recency": [30.43, 0.0], "T": [38.86, 38.86], "monetary_value": [22.35, 0.0]})
    >>> clv.customer_equity(buys, spend, people, horizon=12, unit="1mo", discount_rate=0.01)
    shape: (1, 3)
    ...
    """
    values = _valued(
        "clv.customer_equity",
        transaction_model,
        spend_model,
        summary,
        horizon,
        unit,
        discount_rate,
    )
    return values.select(
        customers=pl.len().cast(pl.UInt32),
        expected_purchases=pl.col("expected_purchases").sum(),
        customer_equity=pl.col("clv").sum(),
    )
