r"""A promotion's forecast before it goes out: purchasers, orders, sales, margin, intervals.

Written here and re-exported as :func:`retailcrm.campaigns.forecast`.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Sequence

import numpy as np
import polars as pl
from scipy.special import ndtri, stdtrit

from retailcrm._errors import ArgumentError, ColumnError, DataError, RetailCRMWarning
from retailcrm._orders import PURCHASE
from retailcrm._schema import Check, forbid, require
from retailcrm.clv import summary as clv_summary
from retailcrm.clv._base import unit_days
from retailcrm.clv._gammagamma import GammaGamma
from retailcrm.clv._transaction import TransactionModel
from retailcrm.segments._levels import PeriodSpec, period

__all__ = ["FIGURES", "METHODS", "forecast"]

#: The figures forecast, in order (the ``figure`` Enum).
FIGURES: tuple[str, ...] = ("purchasers", "orders", "sales", "margin")

#: How a forecast was made (the ``method`` Enum).
METHODS: tuple[str, ...] = ("model", "history")

_NEEDED = {"customer_id": "id", "timestamp": "date or datetime", "amount": "numeric"}
_CALLER = "campaigns.forecast"
_DAY = dt.timedelta(days=1)
_PMF_TAIL = 1e-9  # stop summing the purchase-count distribution when less mass is left
_PMF_MAX = 1_000  # ... or after this many purchases


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _checked_args(uplift: object, level: object, model: object, spend_model: object) -> None:
    if not _is_number(uplift) or not math.isfinite(float(uplift)) or float(uplift) <= -1:  # type: ignore[arg-type]
        msg = (
            f"{_CALLER}: uplift must be a finite number > -1, the assumed relative change of "
            f"every figure (0.1 = +10 %); got {uplift!r}."
        )
        raise ArgumentError(msg)
    if not _is_number(level) or not 0 < float(level) < 1:  # type: ignore[arg-type]
        msg = f"{_CALLER}: level must be a number in (0, 1), e.g. 0.9; got {level!r}."
        raise ArgumentError(msg)
    if model is not None and not isinstance(model, TransactionModel):
        msg = (
            f"{_CALLER}: model must be a fitted transaction model (clv.BetaGeo, "
            f"clv.ModifiedBetaGeo or clv.ParetoNBD); got {type(model).__name__}."
        )
        raise ArgumentError(msg)
    if spend_model is not None:
        if model is None:
            msg = (
                f"{_CALLER}: spend_model gives the value of the purchases a transaction model "
                "predicts; pass model= too, or neither to forecast from past windows."
            )
            raise ArgumentError(msg)
        if not isinstance(spend_model, GammaGamma):
            msg = (
                f"{_CALLER}: spend_model must be a clv.GammaGamma; got "
                f"{type(spend_model).__name__}."
            )
            raise ArgumentError(msg)


def _customer_list(customers: object, key: pl.DataType) -> pl.DataFrame:
    if not isinstance(customers, (pl.DataFrame, pl.LazyFrame)):
        msg = (
            f"{_CALLER}: customers must be a polars frame with a customer_id column (e.g. the "
            f"treatment rows of campaigns.target); got {type(customers).__name__}."
        )
        raise ArgumentError(msg)
    require(customers, {"customer_id": "id"}, caller=_CALLER)
    have = customers.collect_schema()["customer_id"]
    numeric = have.is_integer() and key.is_integer()
    textual = all(isinstance(d, (pl.String, pl.Categorical, pl.Enum)) for d in (have, key))
    if have != key and not (numeric or textual):
        msg = (
            f"{_CALLER}: customer_id of customers is {have} but {key} in tx; cast one of them, "
            f"e.g. customers.with_columns(pl.col('customer_id').cast(pl.{key}))."
        )
        raise ColumnError(msg)
    ids = customers.lazy().select(pl.col("customer_id").cast(key)).collect()
    forbid(
        ids,
        Check(
            pl.col("customer_id").is_null(),
            "of customers have a null customer_id",
            "Drop them.",
            ["customer_id"],
        ),
        Check(
            pl.col("customer_id").is_duplicated(),
            "of customers repeat a customer_id",
            "List each customer once (customers.unique('customer_id')).",
            ["customer_id"],
        ),
        caller=_CALLER,
    )
    if ids.height == 0:
        msg = f"{_CALLER}: customers has no rows; there is nobody to forecast for."
        raise DataError(msg)
    return ids


def _history_windows(
    history: object, start: dt.date, length: int, last: dt.date, first: dt.date
) -> list[tuple[dt.date, dt.date]]:
    if isinstance(history, (int, np.integer)) and not isinstance(history, bool):
        if history < 1:
            msg = f"{_CALLER}: history must be >= 1 past windows; got {history!r}."
            raise ArgumentError(msg)
        windows = [
            (last - dt.timedelta(days=j * length - 1), last - dt.timedelta(days=(j - 1) * length))
            for j in range(1, int(history) + 1)
        ]
        kept = [w for w in windows if w[0] >= first]
        if not kept:
            msg = (
                f"{_CALLER}: the data ({first} to {last}) hold no full past window of "
                f"{length} days before the window; pass model= (a fitted clv model) instead."
            )
            raise DataError(msg)
        return kept
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence) or not history:
        msg = (
            f"{_CALLER}: history must be a number of past windows (e.g. 4) or a list of "
            f"(start, end) windows; got {history!r}."
        )
        raise ArgumentError(msg)
    windows = []
    for k, spec in enumerate(history):
        w = period(spec, f"history[{k}]", _CALLER)
        days = (w[1] - w[0]).days + 1
        if days != length:
            msg = (
                f"{_CALLER}: history[{k}] ({w[0]} to {w[1]}) has {days} days but the window "
                f"has {length}; comparable windows have the same length."
            )
            raise ArgumentError(msg)
        if w[1] >= start:
            msg = (
                f"{_CALLER}: history[{k}] ({w[0]} to {w[1]}) overlaps the window or follows "
                f"it (it starts on {start}); past windows must end before the window starts."
            )
            raise ArgumentError(msg)
        if w[0] < first or w[1] > last:
            msg = (
                f"{_CALLER}: history[{k}] ({w[0]} to {w[1]}) is not covered by the data "
                f"({first} to {last}); unseen days would count as days without purchases."
            )
            raise DataError(msg)
        windows.append(w)
    return windows


def _intervals(
    baseline: list[float], sd: list[float | None], factor: float, scale: float
) -> tuple[list[float], list[float | None], list[float | None]]:
    lower: list[float | None] = []
    upper: list[float | None] = []
    for value, s in zip(baseline, sd, strict=True):
        if s is None or not math.isfinite(s):
            lower.append(None)
            upper.append(None)
        else:
            lower.append(max(0.0, value - factor * s) * scale)
            upper.append((value + factor * s) * scale)
    return [v * scale for v in baseline], lower, upper


def _by_history(
    days: pl.DataFrame, windows: list[tuple[dt.date, dt.date]], has_margin: bool, level: float
) -> tuple[list[float], list[float | None], float]:
    day = pl.col("order_date")
    rows = [
        days.filter(day.is_between(w0, w1)).select(
            purchasers=pl.col("customer_id").n_unique().cast(pl.Float64),
            orders=pl.len().cast(pl.Float64),
            sales=pl.col("value").sum(),
            **({"margin": pl.col("margin").sum()} if has_margin else {}),
        )
        for w0, w1 in windows
    ]
    table = pl.concat(rows)
    k = table.height
    means = [float(v) for v in table.mean().row(0)]
    if k < 2:
        return means, [None] * len(means), math.nan
    sds = [float(v) for v in table.std(ddof=1).row(0)]
    # a prediction interval for one more window: s * sqrt(1 + 1/k), Student t with k - 1 df
    return (
        means,
        [s * math.sqrt(1.0 + 1.0 / k) for s in sds],
        float(stdtrit(k - 1, 0.5 + level / 2)),
    )


def _pmf_moments(
    model: TransactionModel, rows: pl.DataFrame, t: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(no purchase), mean and variance of the purchases in ``t``, per summary row."""
    p0 = model.p_purchases(rows, n=0, t=t)["probability"].to_numpy()
    mean = model.expected_purchases(rows, t=t)["expected_purchases"].to_numpy()
    mass = p0.copy()
    second = np.zeros_like(p0)
    n = 0
    while n < _PMF_MAX and rows.height and float(np.max(1.0 - mass)) > _PMF_TAIL:
        n += 1
        p = model.p_purchases(rows, n=n, t=t)["probability"].to_numpy()
        mass += p
        second += n * n * p
    return p0, mean, np.maximum(second - mean * mean, 0.0)


def _by_model(
    model: TransactionModel,
    spend_model: GammaGamma | None,
    lines: pl.LazyFrame,
    days: pl.DataFrame,
    last: dt.date,
    length: int,
    has_margin: bool,
) -> tuple[list[float], list[float | None], int]:
    summary = clv_summary(lines, as_of=last, unit=model.unit).collect()
    t = length / unit_days(model.unit, caller=_CALLER)
    value = pl.col("value")
    if spend_model is not None:
        spend = spend_model.expected_spend(summary)["expected_spend"]
    else:
        mean_value = float(days.select(value.mean()).item() or 0.0)
        spend = pl.Series([mean_value] * summary.height, dtype=pl.Float64)
    # within-customer spread of a purchase day's value, relative to the customer's mean
    per = days.group_by("customer_id").agg(n=pl.len(), m=value.mean(), ss=value.var(ddof=0))
    repeat = per.filter(pl.col("n") > 1)
    if repeat.height:
        cv2 = float(
            repeat.select(
                (pl.col("ss") * pl.col("n")).sum() / (pl.col("n") * pl.col("m") ** 2).sum()
            ).item()
        )
    else:
        cv2 = float(days.select(value.var(ddof=0) / value.mean() ** 2).item() or 0.0)
    keys = ["frequency", "recency", "T"]
    grouped = (
        summary.with_columns(_m=spend)
        .group_by(keys)
        .agg(_w=pl.len().cast(pl.Float64), _m1=pl.col("_m").sum(), _m2=(pl.col("_m") ** 2).sum())
        .with_columns(customer_id=pl.int_range(pl.len()))
    )
    p0, mean, var = _pmf_moments(model, grouped.select("customer_id", *keys), t)
    w, m1, m2 = (grouped[c].to_numpy() for c in ("_w", "_m1", "_m2"))
    purchasers = float(np.sum(w * (1.0 - p0)))
    orders_ = float(np.sum(w * mean))
    sales = float(np.sum(mean * m1))
    sd = [
        math.sqrt(float(np.sum(w * p0 * (1.0 - p0)))),
        math.sqrt(float(np.sum(w * var))),
        math.sqrt(float(np.sum(mean * cv2 * m2 + var * m2))),
    ]
    baseline = [purchasers, orders_, sales]
    if has_margin:
        totals = days.select(value.sum(), pl.col("margin").sum()).row(0)
        rate = totals[1] / totals[0] if totals[0] else 0.0
        baseline.append(sales * rate)
        sd.append(sd[2] * abs(rate))
    return baseline, list(sd), summary.height


def forecast(
    tx: pl.DataFrame | pl.LazyFrame,
    customers: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    window: PeriodSpec,
    model: TransactionModel | None = None,
    spend_model: GammaGamma | None = None,
    uplift: float = 0.0,
    history: int | Sequence[PeriodSpec] = 4,
    level: float = 0.9,
) -> pl.DataFrame:
    r"""Expected purchasers, orders, sales and margin of a promotion to a list of customers.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``margin`` when
        present. Only rows dated before the window are read.
    customers
        The customers the promotion goes to: a frame with ``customer_id`` (the kind of id of
        ``tx``), one row per customer -- e.g. the treatment rows of :func:`target`. Customers
        without a purchase before the window count, and contribute nothing.
    window
        The promotion window, ``(start, end)`` dates or ISO strings, both days included.
    model
        A fitted transaction model (:class:`retailcrm.clv.BetaGeo`,
        :class:`~retailcrm.clv.ModifiedBetaGeo`, :class:`~retailcrm.clv.ParetoNBD`): forecast
        from it. Without it, from the same customers' past windows (``history``).
    spend_model
        With ``model``: a fitted :class:`retailcrm.clv.GammaGamma` for the value of each
        customer's purchases. Without it, the customers' mean purchase-day value.
    uplift
        The assumed relative effect of the promotion on every figure (0.1 = +10 %; > -1),
        applied explicitly: ``forecast = baseline * (1 + uplift)``. Not estimated here -- measure
        it afterwards with :func:`performance`.
    history
        Without a model: the number of past windows of the window's length, back to back and
        ending the day before it (default 4; windows before the data's first day are dropped),
        or a list of ``(start, end)`` windows of the same length, each ending before the window
        (e.g. the same weeks a year earlier).
    level
        Coverage of the intervals, in (0, 1).

    Returns
    -------
    pl.DataFrame
        One row per figure, in the order ``purchasers``, ``orders``, ``sales``, ``margin``
        (only when ``tx`` has it):

        - ``figure`` (Enum), ``method`` (Enum ``"model"`` or ``"history"``);
        - ``customers`` (UInt32): customers listed; ``customers_with_history`` (UInt32): of
          them, those with a purchase day before the window;
        - ``windows`` (UInt32): past windows used (null for the model);
        - ``baseline`` (Float64): the expected figure without the promotion's effect;
        - ``forecast`` (Float64): ``baseline * (1 + uplift)`` (purchasers at most
          ``customers``);
        - ``lower``, ``upper`` (Float64): the interval at ``level`` around ``forecast`` (lower
          at least 0; null with a single past window).

    Raises
    ------
    ArgumentError
        A bad window, uplift, level, model or history (a past window that overlaps the window
        or differs in length).
    DataError
        No data before the window, or bad customers (null or repeated ids, no rows).

    Warns
    -----
    RetailCRMWarning
        When the data end more than a day before the window starts: the forecast is then made
        from the last day of the data, as if the window started the day after it.

    Notes
    -----
    **What is counted.** Purchases are **purchase days**: a customer-day of net value > 0, the
    unit the BTYD models count (two orders on one day are one; without ``order_id`` this is
    exactly the library's order). ``orders`` is their number in the window, ``purchasers``
    the customers with at least one, ``sales`` their net value, ``margin`` their margin (the
    model method: sales times the customers' past margin rate, :math:`\sum` margin /
    :math:`\sum` value of their purchase days). Returns on other days are not forecast.

    **Model method.** With :math:`Y_c` customer :math:`c`'s purchases in the window (length
    :math:`t` in the model's unit) given their history up to the day before it, and
    :math:`m_c` the expected value of one purchase (Gamma-Gamma, Fader, Hardie & Lee 2005,
    "RFM and CLV", JMR 42(4)): purchasers :math:`\sum_c P(Y_c > 0)`, orders :math:`\sum_c E
    Y_c`, sales :math:`\sum_c m_c E Y_c`. Customers are independent, so by the central limit
    theorem each total is about normal with variance
    :math:`\sum_c P_0 (1 - P_0)`, :math:`\sum_c \mathrm{Var}\, Y_c` and :math:`\sum_c
    (E Y_c\, \kappa^2 m_c^2 + \mathrm{Var}\, Y_c\, m_c^2)` (a compound sum: Wald's identity
    and the law of total variance), with :math:`P(Y_c = n)` from the model
    (:meth:`~retailcrm.clv.BetaGeo.p_purchases`, summed until :math:`10^{-9}` of the mass is
    left) and :math:`\kappa^2` the pooled within-customer squared coefficient of variation of
    purchase-day values, :math:`\sum_c \sum_j (v_{cj} - \bar v_c)^2 / \sum_c n_c \bar v_c^2`.
    The interval is :math:`\hat y \pm z_{(1+\text{level})/2}\, \sigma`. It covers the
    randomness of who buys and for how much **given the model**; the uncertainty of the fitted
    parameters and any change in behaviour are not in it.

    **History method.** The figures of the same customers in :math:`k` past windows of the same
    length, :math:`y_1..y_k`: the baseline is their mean :math:`\bar y` and the interval the
    prediction interval for one more window, :math:`\bar y \pm t_{k-1, (1+\text{level})/2}\,
    s\sqrt{1 + 1/k}` (normal windows, Student t). Customers acquired during the past windows
    lower the earlier windows' figures; trends (e.g. customers lapsing) are not extrapolated.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import _forecast
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 1, 2, 2],
    ...     "timestamp": [date(2024, 1, 1), date(2024, 1, 20), date(2024, 1, 9),
    ...                   date(2024, 2, 4), date(2024, 2, 9), date(2024, 2, 29)],
    ...     "amount": [10.0, 20.0, 30.0, 10.0, 20.0, 30.0]})
    >>> out = _forecast.forecast(tx, pl.DataFrame({"customer_id": [1, 2]}),
    ...     window=("2024-03-01", "2024-03-29"), history=[("2024-01-01", "2024-01-29"),
    ...     ("2024-02-01", "2024-02-29")], uplift=0.1)
    >>> out.select("figure", "baseline", "forecast").rows()
    [('purchasers', 2.0, 2.0), ('orders', 3.0, 3.3...), ('sales', 60.0, 66.0...)]
    """
    require(tx, _NEEDED, caller=_CALLER)
    schema = tx.collect_schema()
    _checked_args(uplift, level, model, spend_model)
    start, end = period(window, "window", _CALLER)
    length = (end - start).days + 1
    ids = _customer_list(customers, schema["customer_id"])
    has_margin = "margin" in schema
    if has_margin:
        require(tx, {"margin": "numeric"}, caller=_CALLER)
    first, data_end = (
        tx.lazy()
        .select(lo=pl.col("timestamp").min().dt.date(), hi=pl.col("timestamp").max().dt.date())
        .collect()
        .row(0)
    )
    last = start - _DAY
    if first is None or first > last:
        msg = (
            f"{_CALLER}: the data start on {first}, not before the window ({start}); a "
            f"forecast needs the customers' history before it."
        )
        raise DataError(msg)
    if data_end < last:
        warnings.warn(
            f"{_CALLER}: the data end on {data_end}, {(last - data_end).days} day(s) before the "
            f"window starts ({start}); the forecast is made from {data_end}, as if the window "
            "started the day after it.",
            RetailCRMWarning,
            stacklevel=2,
        )
        last = data_end

    day = pl.col("timestamp").dt.date()
    lines = tx.lazy().filter(day <= last).join(ids.lazy(), on="customer_id", how="semi")
    # purchase days: the day orders of retailcrm._orders (a customer-day, value = net amount,
    # a purchase when > 0, as clv.summary counts them), with their margin in the same pass
    money = {"value": pl.col("amount").cast(pl.Float64).sum()}
    if has_margin:
        money["margin"] = pl.col("margin").cast(pl.Float64).sum()
    days_query = lines.group_by("customer_id", order_date=day).agg(**money).filter(PURCHASE)
    days = days_query.collect()
    n_customers = ids.height
    if model is None:
        windows = _history_windows(history, start, length, last, first)
        baseline, sd, factor = _by_history(days, windows, has_margin, float(level))
        with_history = days.select(pl.col("customer_id").n_unique()).item()
        method, n_windows = "history", len(windows)
    else:
        baseline, sd, with_history = _by_model(
            model, spend_model, lines, days, last, length, has_margin
        )
        factor = float(ndtri(0.5 + float(level) / 2))
        method, n_windows = "model", None
    scale = 1.0 + float(uplift)
    values, lower, upper = _intervals(baseline, sd, factor, scale)
    cap = float(n_customers)
    values[0] = min(values[0], cap)
    upper[0] = None if upper[0] is None else min(upper[0], cap)
    figures = list(FIGURES[: len(baseline)])
    return pl.DataFrame(
        {
            "figure": pl.Series(figures, dtype=pl.Enum(FIGURES)),
            "method": pl.Series([method] * len(figures), dtype=pl.Enum(METHODS)),
            "customers": pl.Series([n_customers] * len(figures), dtype=pl.UInt32),
            "customers_with_history": pl.Series([with_history] * len(figures), dtype=pl.UInt32),
            "windows": pl.Series([n_windows] * len(figures), dtype=pl.UInt32),
            "baseline": pl.Series(baseline, dtype=pl.Float64),
            "forecast": pl.Series(values, dtype=pl.Float64),
            "lower": pl.Series(lower, dtype=pl.Float64),
            "upper": pl.Series(upper, dtype=pl.Float64),
        }
    )
