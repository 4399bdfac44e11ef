r"""Campaigns: control groups that make every campaign measurable, and what the campaign did.

- :func:`target` -- turn any segment frame (RFM segments, never-buy lists, tiers, ...) into an
  assignment frame with a random, seeded control group of a chosen share, stratified by segment;
- :func:`summary` -- per campaign and group: customers, responders, orders, revenue and margin in
  the campaign window;
- :func:`performance` -- per campaign and metric: the uplift of the treatment group over the
  control group with a confidence interval and a p-value, the incremental responders, orders,
  revenue and margin, and the return on the contact cost; optionally adjusted for the
  customers' pre-period behaviour (CUPED) to narrow the intervals.

An **assignment frame** has one row per customer and campaign: ``customer_id``, ``campaign``
and ``group`` (``"treatment"``: contacted; ``"control"``: held out). A customer may be in
several campaigns, never in both groups of one.

Shared definitions (``retailcrm._orders``): an order is one ``order_id`` of a customer (without
an ``order_id`` column, one customer-day), its value the net sum of its lines; a **purchase
occasion** is an order of net value > 0. The **campaign window** ``[start, end]`` holds the
lines whose local calendar date is between the two days, both included. A customer
**responds** with at least one purchase occasion in the window. Revenue is the net value of the
window's orders (a return in the window counts against it), margin the sum of the window's
``margin`` lines. A customer of the assignment frame without any line in the window is a
non-responder with 0 orders, revenue and margin: nobody assigned is ever dropped. Customers of
``tx`` who are in no assignment are not measured.

Example: a campaign report. Hold out 10 % of every RFM segment, send the campaign in October,
then measure it against the six months before (CUPED) with a contact cost of 0.25:

>>> from datetime import date
>>> from retailcrm import datasets, rfm
>>> import retailcrm.campaigns as campaigns
>>> tx = datasets.simulate(5_000, seed=7)
>>> known = rfm.segments(rfm.scores(rfm.summary(tx, as_of=date(2024, 9, 30)),
...                                 breaks={"frequency": [1, 2, 4, 8]}))
>>> targets = campaigns.target(known, campaign="october", control_share=0.1, seed=1,
...                            stratify_by="segment")
>>> report = campaigns.performance(tx, targets, start=date(2024, 10, 1),
...                                end=date(2024, 10, 31), pre="6mo", cost_per_contact=0.25)
>>> report.select("metric", "test", "adjustment").rows()
[('response_rate', 'Welch t', 'cuped'), ('orders_per_customer', 'Welch t', 'cuped'),
 ('revenue_per_customer', 'Welch t', 'cuped'), ('margin_per_customer', 'Welch t', 'cuped')]
>>> report.columns[6:12]
['uplift', 'relative_uplift', 'std_error', 'ci_low', 'ci_high', 'p_value']
>>> bool(((report["ci_low"] <= report["uplift"]) & (report["uplift"] <= report["ci_high"])).all())
True

The simulator has no campaign effect, so here the intervals of the uplift should cover 0 and
the incremental margin and ``roi`` (of the margin row) tell what the contacts cost.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import numpy as np
import polars as pl
from scipy.special import ndtr, ndtri, stdtr, stdtrit

from retailcrm._errors import ArgumentError, ColumnError, DataError, RetailCRMWarning
from retailcrm._forecast import forecast
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import Check, FrameT, forbid, require
from retailcrm._time import parse_period

__all__ = [
    "ADJUSTMENTS",
    "GROUPS",
    "METRICS",
    "TESTS",
    "forecast",
    "performance",
    "summary",
    "target",
]

#: The two groups of an assignment frame, in this order (the ``group`` Enum).
GROUPS: tuple[str, ...] = ("treatment", "control")

#: The metrics of :func:`performance`, in order (the ``metric`` Enum).
METRICS: tuple[str, ...] = (
    "response_rate",
    "orders_per_customer",
    "revenue_per_customer",
    "margin_per_customer",
)

#: The tests :func:`performance` reports in its ``test`` column (an Enum).
TESTS: tuple[str, ...] = ("two-proportion z", "Welch t", "bootstrap")

#: The adjustments :func:`performance` reports in its ``adjustment`` column (an Enum).
ADJUSTMENTS: tuple[str, ...] = ("none", "cuped")

_NEEDED = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_ASSIGNMENTS = {"customer_id": "any", "campaign": "any", "group": "string"}
_GROUP = pl.Enum(GROUPS)
_METRIC = pl.Enum(METRICS)
#: per-customer column behind each metric
_COLUMN = {
    "response_rate": "responded",
    "orders_per_customer": "orders",
    "revenue_per_customer": "revenue",
    "margin_per_customer": "margin",
}
_MONEY = ("revenue_per_customer", "margin_per_customer")
_NO_CONTROL = "no control group: uplift cannot be estimated; the figures are descriptive"
_NO_TREATMENT = "no treatment group: uplift cannot be estimated; the figures are descriptive"
_TOO_FEW = "fewer than 2 customers in a group: no interval or p-value"
_BOOTSTRAP_CELLS = 1 << 22  # resampled values held at once (32 MB of int64 indices)


# ---------------------------------------------------------------------------------------------
# argument checks


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _day(value: object, name: str, caller: str) -> dt.date:
    if isinstance(value, dt.datetime):
        msg = (
            f"{caller}: {name} must be a calendar day (a datetime.date or 'YYYY-MM-DD'); got the "
            f"datetime {value!r}. The window counts whole days: pass {name}=value.date()."
        )
        raise ArgumentError(msg)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    msg = (
        f"{caller}: {name} must be a datetime.date or an ISO day like '2024-10-01'; got {value!r}."
    )
    raise ArgumentError(msg)


def _pre_start(pre: object, start: dt.date, caller: str) -> dt.date | None:
    """First day of the pre-period ``[pre_start, start)``, from a duration or a day."""
    if pre is None:
        return None
    if isinstance(pre, str) and pre[:1].isdigit() and "-" not in pre:
        try:
            step = parse_period(pre, caller=caller)
        except ArgumentError:
            msg = (
                f"{caller}: pre must be a duration before start ('<n>d', '<n>w', '<n>mo', '<n>q' "
                f"or '<n>y', e.g. '6mo') or the first day of the pre-period; got {pre!r}."
            )
            raise ArgumentError(msg) from None
        first = pl.select(step.shift(pl.lit(start, dtype=pl.Date), pl.lit(-1))).item()
        assert isinstance(first, dt.date)
        return first
    first = _day(pre, "pre", caller)
    if first >= start:
        msg = (
            f"{caller}: pre ({first.isoformat()}) must be before start ({start.isoformat()}); "
            "the pre-period runs from pre to the day before start."
        )
        raise ArgumentError(msg)
    return first


def _confidence(value: object, caller: str) -> float:
    if not (_is_number(value) and 0.0 < float(value) < 1.0):  # type: ignore[arg-type]
        msg = f"{caller}: confidence must be a number in (0, 1), e.g. 0.95; got {value!r}."
        raise ArgumentError(msg)
    return float(value)  # type: ignore[arg-type]


def _costs(cost: object, caller: str) -> pl.Expr | dict[Any, float] | None:
    """``cost_per_contact`` as one number or a mapping campaign -> number."""
    if cost is None:
        return None
    if isinstance(cost, Mapping):
        bad = [k for k, v in cost.items() if not (_is_number(v) and 0 <= v < math.inf)]
        if bad or not cost:
            shown = {k: cost[k] for k in bad[:3]} if bad else cost
            msg = (
                f"{caller}: cost_per_contact must be a finite number >= 0 or a non-empty mapping "
                f"campaign -> such a number; got {shown!r}."
            )
            raise ArgumentError(msg)
        return {k: float(v) for k, v in cost.items()}
    if not (_is_number(cost) and 0 <= float(cost) < math.inf):  # type: ignore[arg-type]
        msg = (
            f"{caller}: cost_per_contact must be a finite number >= 0 (money per treated "
            f"customer) or a mapping campaign -> number; got {cost!r}."
        )
        raise ArgumentError(msg)
    return pl.lit(float(cost))  # type: ignore[arg-type]


def _metrics(metrics: object, has_margin: bool, caller: str) -> list[str]:
    if metrics is None:
        return [m for m in METRICS if has_margin or m != "margin_per_customer"]
    chosen = [metrics] if isinstance(metrics, str) else list(metrics)  # type: ignore[call-overload]
    unknown = [m for m in chosen if m not in METRICS]
    if unknown or not chosen:
        msg = (
            f"{caller}: metrics must be a non-empty selection of {list(METRICS)}; got {metrics!r}."
        )
        raise ArgumentError(msg)
    if "margin_per_customer" in chosen and not has_margin:
        msg = (
            f"{caller}: metrics asks for 'margin_per_customer' but tx has no margin column. "
            "Map one with retailcrm.prepare(frame, margin=...), or leave the metric out."
        )
        raise ColumnError(msg)
    return [m for m in METRICS if m in chosen]


# ---------------------------------------------------------------------------------------------
# assignments and outcomes


def _members(assignments: object, key: pl.DataType, caller: str) -> pl.DataFrame:
    """The checked assignment frame: ``customer_id`` (tx's dtype), ``campaign``, ``group``."""
    require(assignments, _ASSIGNMENTS, caller=caller)  # type: ignore[type-var]
    frame = (
        assignments.lazy()
        .select(  # type: ignore[attr-defined]
            "customer_id", "campaign", pl.col("group").cast(pl.String)
        )
        .collect()
    )
    if frame.height == 0:
        msg = (
            f"{caller}: assignments has no rows; build it with campaigns.target(segment_frame, "
            "campaign=..., control_share=..., seed=...)."
        )
        raise DataError(msg)
    show = ["customer_id", "campaign", "group"]
    customer, campaign = pl.col("customer_id"), pl.col("campaign")
    forbid(
        frame,
        Check(
            customer.is_null() | campaign.is_null(),
            "of assignments have a null customer_id or campaign",
            "Drop or fill them; every row needs both.",
            show,
        ),
        Check(
            pl.col("group").is_null() | ~pl.col("group").is_in(list(GROUPS)),
            f"of assignments have a group that is not one of {list(GROUPS)}",
            "Label the contacted customers 'treatment' and the held-out ones 'control'.",
            show,
        ),
        Check(
            pl.col("group").n_unique().over("campaign", "customer_id") > 1,
            "of assignments put a customer in both the treatment and the control group of a "
            "campaign",
            "A customer belongs to one group per campaign: fix the assignment (campaigns.target "
            "draws disjoint groups).",
            show,
        ),
        Check(
            pl.struct("campaign", "customer_id").is_duplicated(),
            "of assignments repeat a (campaign, customer_id) pair",
            "Keep one row per customer and campaign.",
            show,
        ),
        caller=caller,
    )
    have = frame.schema["customer_id"]
    if have != key:
        numeric = have.is_integer() and key.is_integer()
        textual = all(isinstance(d, (pl.String, pl.Categorical, pl.Enum)) for d in (have, key))
        if not (numeric or textual):
            msg = (
                f"{caller}: customer_id of assignments is {have} but {key} in tx; the ids must be "
                f"of one kind. Cast one of them, e.g. assignments.with_columns("
                f"pl.col('customer_id').cast(pl.{key}))."
            )
            raise ColumnError(msg)
        frame = frame.with_columns(customer.cast(key))
    return frame.with_columns(pl.col("group").cast(_GROUP))


def _data_days(tx: pl.DataFrame | pl.LazyFrame, caller: str) -> tuple[dt.date, dt.date]:
    span = tx.lazy().select(
        lo=pl.col("timestamp").min().dt.date(), hi=pl.col("timestamp").max().dt.date()
    )
    lo, hi = span.collect().row(0)
    if lo is None:
        msg = (
            f"{caller}: tx has no rows, so no timestamp falls in the window start..end; pass "
            "the transactions that cover the campaign."
        )
        raise DataError(msg)
    return lo, hi


def _check_window(start: dt.date, end: dt.date, data: tuple[dt.date, dt.date], caller: str) -> None:
    lo, hi = data
    if end < start:
        msg = (
            f"{caller}: end ({end.isoformat()}) is before start ({start.isoformat()}); the window "
            "[start, end] must hold at least one day."
        )
        raise ArgumentError(msg)
    if end < lo or start > hi:
        msg = (
            f"{caller}: the campaign window {start.isoformat()} to {end.isoformat()} lies outside "
            f"the data, which runs from {lo.isoformat()} to {hi.isoformat()}. Check start and end "
            "(and that tx holds the campaign period)."
        )
        raise DataError(msg)
    if start < lo or end > hi:
        msg = (
            f"{caller}: the campaign window {start.isoformat()} to {end.isoformat()} is not "
            f"covered by the data ({lo.isoformat()} to {hi.isoformat()}); purchases outside the "
            "data are not observed, so the figures cover only the overlap."
        )
        warnings.warn(msg, RetailCRMWarning, stacklevel=3)


def _measured(lines: pl.LazyFrame, first: dt.date, last: dt.date, margin: bool) -> pl.LazyFrame:
    """Per customer with a line in ``[first, last]``: responded, orders, revenue (and margin)."""
    window = lines.filter(pl.col("timestamp").dt.date().is_between(first, last))
    per = (
        orders(window)
        .group_by("customer_id")
        .agg(
            responded=PURCHASE.any().cast(pl.Float64),
            orders=PURCHASE.sum().cast(pl.Float64),
            revenue=pl.col("value").cast(pl.Float64).sum(),
        )
    )
    if margin:
        margins = window.group_by("customer_id").agg(margin=pl.col("margin").cast(pl.Float64).sum())
        per = per.join(margins, on="customer_id", how="left")
    return per


def _outcomes(
    tx: pl.DataFrame | pl.LazyFrame,
    members: pl.DataFrame,
    window: tuple[dt.date, dt.date],
    pre: dt.date | None,
    margin: bool,
) -> pl.DataFrame:
    """Assignments with each customer's window (and pre-period ``pre_*``) outcomes, 0 if none."""
    ids = members.lazy().select("customer_id").unique()
    lines = tx.lazy().join(ids, on="customer_id", how="semi")
    values = ["responded", "orders", "revenue", *(["margin"] if margin else [])]
    result = members.lazy().join(_measured(lines, *window, margin), on="customer_id", how="left")
    filled = [pl.col(v).fill_null(0.0) for v in values]
    if pre is not None:
        before = _measured(lines, pre, window[0] - dt.timedelta(days=1), margin)
        renamed = before.rename({v: f"pre_{v}" for v in values})
        result = result.join(renamed, on="customer_id", how="left")
        filled += [pl.col(f"pre_{v}").fill_null(0.0) for v in values]
    # sorted, so that the bootstrap resamples the same customers whatever the input order
    return result.with_columns(filled).sort("campaign", "group", "customer_id").collect()


def _prepared(
    tx: FrameT,
    assignments: pl.DataFrame | pl.LazyFrame,
    start: object,
    end: object,
    margin: bool,
    pre: object,
    caller: str,
) -> tuple[pl.DataFrame, dt.date | None]:
    require(tx, _NEEDED, caller=caller)
    if margin:
        require(tx, {"margin": "numeric"}, caller=caller)
    first, last = _day(start, "start", caller), _day(end, "end", caller)
    pre_day = _pre_start(pre, first, caller)
    members = _members(assignments, tx.collect_schema()["customer_id"], caller)
    _check_window(first, last, _data_days(tx, caller), caller)
    return _outcomes(tx, members, (first, last), pre_day, margin), pre_day


# ---------------------------------------------------------------------------------------------
# summary


def summary(
    tx: pl.DataFrame | pl.LazyFrame,
    assignments: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    start: dt.date | str,
    end: dt.date | str,
) -> pl.DataFrame:
    r"""Describe each campaign group in the campaign window: responders, orders, revenue, margin.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        and ``margin`` when present.
    assignments
        One row per customer and campaign: ``customer_id`` (the kind of id of ``tx``),
        ``campaign`` (any dtype) and ``group`` (``"treatment"`` or ``"control"``; String,
        Categorical or Enum), e.g. from :func:`target`.
    start, end
        The campaign window: first and last calendar day, both included (``datetime.date`` or
        ``"YYYY-MM-DD"``).

    Returns
    -------
    pl.DataFrame
        One row per campaign and group present, sorted by ``campaign`` then ``group``:

        - ``campaign`` (its dtype), ``group`` (Enum ``"treatment"``, ``"control"``);
        - ``customers`` (UInt32): assigned customers, with or without purchases;
        - ``responders`` (UInt32): customers with a purchase occasion in the window;
        - ``response_rate`` (Float64): responders / customers;
        - ``orders`` (UInt32): purchase occasions in the window;
        - ``revenue`` (Float64): net value of the window's orders; ``margin`` (Float64): only
          when ``tx`` has a ``margin`` column;
        - ``orders_per_customer``, ``revenue_per_customer`` (and ``margin_per_customer``)
          (Float64): the totals over ``customers``.

    Raises
    ------
    ColumnError
        A column is missing or unusable.
    DataError
        Bad assignments (a customer in both groups, repeated pairs, unknown groups, null ids,
        no rows), or a window outside the data.

    Warns
    -----
    RetailCRMWarning
        When the window is only partly covered by the data.

    Notes
    -----
    The definitions are those of the module: a response is a purchase occasion (an order of net
    value > 0) in ``[start, end]``; customers without lines there count with 0.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.campaigns as campaigns
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 2, 3], "order_id": [1, 2, 3, 4],
    ...     "timestamp": [date(2024, 3, 2), date(2024, 3, 5), date(2024, 3, 9), date(2024, 2, 1)],
    ...     "amount": [30.0, 20.0, 10.0, 50.0]})
    >>> a = pl.DataFrame({"customer_id": [1, 2, 3, 4], "campaign": "spring",
    ...                   "group": ["treatment", "treatment", "control", "control"]})
    >>> out = campaigns.summary(tx, a, start=date(2024, 3, 1), end=date(2024, 3, 9))
    >>> out.select("group", "customers", "responders", "orders", "revenue_per_customer").rows()
    [('treatment', 2, 2, 3, 30.0), ('control', 2, 0, 0, 0.0)]
    """
    caller = "campaigns.summary"
    require(tx, _NEEDED, caller=caller)
    margin = "margin" in tx.collect_schema()
    outcomes, _ = _prepared(tx, assignments, start, end, margin, None, caller)
    totals: dict[str, pl.Expr] = {
        "customers": pl.len().cast(pl.UInt32),
        "responders": pl.col("responded").sum().cast(pl.UInt32),
        "orders": pl.col("orders").sum().cast(pl.UInt32),
        "revenue": pl.col("revenue").sum(),
    }
    if margin:
        totals["margin"] = pl.col("margin").sum()
    n = pl.col("customers")
    ratios = {
        "orders_per_customer": pl.col("orders") / n,
        "revenue_per_customer": pl.col("revenue") / n,
    }
    if margin:
        ratios["margin_per_customer"] = pl.col("margin") / n
    return (
        outcomes.group_by("campaign", "group")
        .agg(**totals)
        .select(
            "campaign",
            "group",
            "customers",
            "responders",
            response_rate=pl.col("responders") / n,
            orders="orders",
            revenue="revenue",
            **({"margin": pl.col("margin")} if margin else {}),
            **ratios,
        )
        .sort("campaign", "group")
    )


# ---------------------------------------------------------------------------------------------
# the tests


def _welch(
    diff: np.ndarray, var_t: np.ndarray, n_t: np.ndarray, var_c: np.ndarray, n_c: np.ndarray,
    level: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Welch's unequal-variance t: standard error, interval and two-sided p-value."""
    a, b = var_t / n_t, var_c / n_c
    se = np.sqrt(a + b)
    denominator = a**2 / (n_t - 1) + b**2 / (n_c - 1)
    positive = se > 0
    df = np.divide((a + b) ** 2, denominator, out=np.full_like(se, np.inf), where=positive)
    t = np.divide(diff, se, out=np.zeros_like(se), where=positive)
    safe_df = np.where(positive, df, 1.0)
    quantile = stdtrit(safe_df, 0.5 + level / 2)  # Student t quantile
    p = np.where(positive, 2 * stdtr(safe_df, -np.abs(t)), 0.0)  # two-sided tail
    p = np.where(positive | (diff != 0), p, 1.0)  # both groups constant and equal: no evidence
    half = np.where(positive, quantile * se, 0.0)
    return se, diff - half, diff + half, p


def _two_proportions(
    x_t: np.ndarray, n_t: np.ndarray, x_c: np.ndarray, n_c: np.ndarray, level: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Two-proportion z: unpooled (Wald) interval, pooled-variance two-sided p-value."""
    p_t, p_c = x_t / n_t, x_c / n_c
    diff = p_t - p_c
    se = np.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    pooled = (x_t + x_c) / (n_t + n_c)
    se0 = np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    z = np.divide(diff, se0, out=np.zeros_like(se0), where=se0 > 0)
    p = np.where(se0 > 0, 2 * ndtr(-np.abs(z)), 1.0)
    half = ndtri(0.5 + level / 2) * se
    return se, diff - half, diff + half, p


def _bootstrap(
    y_t: np.ndarray, y_c: np.ndarray, level: float, n_boot: int, rng: np.random.Generator
) -> tuple[float, float, float, float]:
    """Percentile bootstrap of a difference in means: se, interval, p-value (CI inversion)."""
    diffs = np.empty(n_boot)
    chunk = max(1, _BOOTSTRAP_CELLS // max(y_t.size, y_c.size))
    for lo in range(0, n_boot, chunk):
        m = min(chunk, n_boot - lo)
        mean_t = y_t[rng.integers(0, y_t.size, (m, y_t.size))].mean(axis=1)
        mean_c = y_c[rng.integers(0, y_c.size, (m, y_c.size))].mean(axis=1)
        diffs[lo : lo + m] = mean_t - mean_c
    low, high = np.quantile(diffs, [0.5 - level / 2, 0.5 + level / 2])
    p = min(1.0, 2 * min(float(np.mean(diffs <= 0)), float(np.mean(diffs >= 0))))
    return float(diffs.std(ddof=1)), float(low), float(high), p


# ---------------------------------------------------------------------------------------------
# performance


def _long(outcomes: pl.DataFrame, metrics: list[str], adjust: bool) -> pl.DataFrame:
    """One row per campaign, metric and customer: raw value ``y`` and CUPED-adjusted ``z``."""
    parts = [
        outcomes.select(
            "campaign",
            "group",
            metric=pl.lit(metric).cast(_METRIC),
            y=pl.col(_COLUMN[metric]),
            x=pl.col(f"pre_{_COLUMN[metric]}") if adjust else pl.lit(0.0),
        )
        for metric in metrics
    ]
    y, x = pl.col("y"), pl.col("x")
    keys = ["campaign", "metric"]
    theta = pl.when(x.var() > 0).then(pl.cov(y, x) / x.var()).otherwise(0.0)
    return (
        pl.concat(parts)
        .with_columns(theta=theta.over(keys), x_mean=x.mean().over(keys))
        .with_columns(z=y - pl.col("theta") * (x - pl.col("x_mean")))
    )


def _moments(long: pl.DataFrame) -> pl.DataFrame:
    """Per campaign and metric: count, raw mean, adjusted mean and variance of each group."""
    per_group = long.group_by("campaign", "metric", "group").agg(
        n=pl.len().cast(pl.Float64),
        raw=pl.col("y").mean(),
        mean=pl.col("z").mean(),
        var=pl.col("z").var(),
        ones=pl.col("y").sum(),
    )
    keys = long.select("campaign", "metric").unique()
    for group in GROUPS:
        side = per_group.filter(pl.col("group") == group).drop("group")
        side = side.rename({c: f"{c}_{group}" for c in ("n", "raw", "mean", "var", "ones")})
        keys = keys.join(side, on=["campaign", "metric"], how="left")
    return keys.with_columns(
        pl.col("n_treatment").fill_null(0.0), pl.col("n_control").fill_null(0.0)
    ).sort("campaign", "metric")


def performance(
    tx: pl.DataFrame | pl.LazyFrame,
    assignments: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    start: dt.date | str,
    end: dt.date | str,
    pre: str | dt.date | None = None,
    metrics: Sequence[str] | None = None,
    cost_per_contact: float | Mapping[Any, float] | None = None,
    confidence: float = 0.95,
    test: Literal["welch", "bootstrap"] = "welch",
    n_boot: int = 2000,
    seed: int = 0,
) -> pl.DataFrame:
    r"""Measure each campaign: uplift over the control group with intervals, increments and ROI.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        and ``margin`` when present.
    assignments
        One row per customer and campaign: ``customer_id``, ``campaign`` (any dtype), ``group``
        (``"treatment"`` or ``"control"``), e.g. from :func:`target`.
    start, end
        The campaign window, first and last calendar day included (``datetime.date`` or
        ``"YYYY-MM-DD"``).
    pre
        Adjust for the pre-period with CUPED (below): a duration before ``start`` (``"12w"``,
        ``"6mo"``) or its first day; the pre-period is ``[pre day, start)``. None: no
        adjustment.
    metrics
        Some of :data:`METRICS`; default all, ``margin_per_customer`` only when ``tx`` has a
        ``margin`` column.
    cost_per_contact
        Cost of contacting one treated customer (money), one number or a mapping campaign ->
        number, to compute ``cost`` and ``roi``. None: those columns are null.
    confidence
        Level of the intervals, in (0, 1).
    test
        How per-customer means are compared: ``"welch"`` (Welch's t) or ``"bootstrap"`` (a
        percentile bootstrap of ``n_boot`` resamples drawn with NumPy's ``default_rng(seed)``).
        The response rate without ``pre`` always uses the two-proportion z test.
    n_boot, seed
        Resamples (>= 100) and seed (>= 0) of the bootstrap.

    Returns
    -------
    pl.DataFrame
        One row per campaign and metric, sorted by ``campaign`` then ``metric``:

        - ``campaign`` (its dtype), ``metric`` (Enum of :data:`METRICS`);
        - ``treatment_customers``, ``control_customers`` (UInt32);
        - ``treatment``, ``control`` (Float64): the groups' raw means (response rate; orders,
          revenue or margin per customer); null for a missing group;
        - ``uplift`` (Float64): estimated treatment - control difference (CUPED-adjusted with
          ``pre``); ``relative_uplift``: ``uplift / control``, null when ``control`` is 0;
        - ``std_error``, ``ci_low``, ``ci_high`` (interval at ``confidence``), ``p_value``
          (two-sided, null hypothesis of no difference) -- Float64;
        - ``test`` (Enum of :data:`TESTS`), ``adjustment`` (Enum ``"none"``, ``"cuped"``);
        - ``incremental``, ``incremental_ci_low``, ``incremental_ci_high`` (Float64):
          ``uplift`` (and its interval) times the treated customers -- the extra responders,
          orders, revenue or margin the campaign brought;
        - ``cost`` (Float64): ``cost_per_contact`` times the treated customers;
        - ``roi`` (Float64): ``(incremental - cost) / cost`` on the revenue and margin rows
          (the margin row is the profit ROI), null on the others and when ``cost`` is 0;
          ``roi_ci_low``, ``roi_ci_high``: the same of the interval's ends (the cost is
          fixed, so this is the interval of the ROI);
        - ``note`` (String): why the uplift or its interval is null (no control group, no
          treatment group, fewer than 2 customers in a group); null when all is estimated.

    Raises
    ------
    ArgumentError
        Bad window, ``pre``, ``metrics``, ``confidence``, ``test``, ``n_boot``, ``seed`` or
        cost.
    ColumnError
        A column is missing or unusable.
    DataError
        Bad assignments (a customer in both groups of a campaign, repeated pairs, unknown
        groups, null ids, no rows) or a window outside the data.

    Warns
    -----
    RetailCRMWarning
        When the window is only partly covered by the data.

    Notes
    -----
    Customers are randomised, so the difference in group means estimates the average effect of
    the campaign on the customers it targets. With :math:`n_T, n_C` customers, means
    :math:`\bar y_T, \bar y_C` and variances :math:`s_T^2, s_C^2` (per customer, 0 for customers
    without purchases):

    **Response rate** (two-proportion z test; Agresti, *Categorical Data Analysis*, 3rd ed.
    2013, §3.1 and §3.3): :math:`\hat d = \hat p_T - \hat p_C`, interval
    :math:`\hat d \pm z_{1-\alpha/2} \sqrt{\hat p_T(1-\hat p_T)/n_T + \hat p_C(1-\hat p_C)/n_C}`
    (Wald), p-value from :math:`z = \hat d / \sqrt{\bar p(1-\bar p)(1/n_T + 1/n_C)}`
    with the pooled rate :math:`\bar p`.

    **Means** (Welch 1947, Biometrika 34): :math:`\hat d = \bar y_T - \bar y_C`,
    :math:`SE = \sqrt{s_T^2/n_T + s_C^2/n_C}`, interval :math:`\hat d \pm t_{\nu, 1-\alpha/2}
    SE` and p-value on :math:`\nu = SE^4 / \big((s_T^2/n_T)^2/(n_T-1) + (s_C^2/n_C)^2/(n_C-1)
    \big)` degrees of freedom. With ``test="bootstrap"``: each group is resampled with
    replacement ``n_boot`` times; the interval is the percentile interval of the resampled
    differences :math:`d^*` (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*,
    ch. 13), ``std_error`` their standard deviation and the p-value
    :math:`\min(1, 2 \min(P^*(d^* \le 0), P^*(d^* \ge 0)))`, the smallest level at which the
    percentile interval excludes 0.

    **CUPED** (Deng, Xu, Kohavi & Walker 2013, "Improving the sensitivity of online controlled
    experiments by utilizing pre-experiment data", WSDM): each metric :math:`Y` is adjusted
    with the same metric :math:`X` in the pre-period (responded, orders, revenue, margin
    before ``start``), :math:`Y^{adj} = Y - \theta (X - \bar X)` with
    :math:`\theta = \mathrm{cov}(Y, X) / \mathrm{var}(X)` pooled over both groups of the
    campaign (0 when :math:`X` is constant). As :math:`X` precedes the randomised treatment,
    the adjusted difference still estimates the same effect (unbiased up to the :math:`O(1/n)`
    error of the estimated :math:`\theta`, which the standard error ignores, as in the paper)
    and its variance is smaller by the factor :math:`1 - \rho^2`. The adjusted means are
    compared with the chosen mean test (also the response rate); ``treatment`` and
    ``control`` stay the raw means.

    Groups are compared as wholes. With the stratified assignments of :func:`target` every
    stratum's control share differs from the chosen one by rounding only (at most
    :math:`1/(2n)` for a stratum of :math:`n`), so the pooled difference is, up to that, the
    stratified one.

    Incremental value and ROI: :math:`\Delta = \hat d \, n_T` and
    :math:`\mathrm{ROI} = (\Delta - c\,n_T) / (c\,n_T)` for a cost :math:`c` per contact.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.campaigns as campaigns
    >>> days = [date(2024, 3, d) for d in (1, 2, 9, 20, 31)]
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 3, 5, 6], "timestamp": days,
    ...                    "amount": [30.0, 20.0, 10.0, 40.0, 5.0]})
    >>> a = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5, 6, 7, 8], "campaign": "spring",
    ...                   "group": ["treatment"] * 4 + ["control"] * 4})
    >>> out = campaigns.performance(tx, a, start="2024-03-01", end="2024-03-31",
    ...                             cost_per_contact=2.0)
    >>> out.select("metric", "treatment", "control", "uplift", "incremental", "roi").rows()
    [('response_rate', 0.75, 0.5, 0.25, 1.0, None),
     ('orders_per_customer', 0.75, 0.5, 0.25, 1.0, None),
     ('revenue_per_customer', 15.0, 11.25, 3.75, 15.0, 0.875)]
    """
    caller = "campaigns.performance"
    require(tx, _NEEDED, caller=caller)
    has_margin = "margin" in tx.collect_schema()
    chosen = _metrics(metrics, has_margin, caller)
    level = _confidence(confidence, caller)
    if test not in ("welch", "bootstrap"):
        msg = f"{caller}: test must be one of ['welch', 'bootstrap']; got {test!r}."
        raise ArgumentError(msg)
    for name, value, low in (("n_boot", n_boot, 100), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            msg = f"{caller}: {name} must be a whole number >= {low}; got {value!r}."
            raise ArgumentError(msg)
    costs = _costs(cost_per_contact, caller)
    outcomes, pre_day = _prepared(
        tx, assignments, start, end, "margin_per_customer" in chosen, pre, caller
    )
    adjust = pre_day is not None
    long = _long(outcomes, chosen, adjust)
    table = _moments(long)

    n_t, n_c = table["n_treatment"].to_numpy(), table["n_control"].to_numpy()
    ok = (n_t >= 2) & (n_c >= 2)
    nan = np.full(table.height, np.nan)

    def column(name: str) -> np.ndarray:
        return table[name].fill_null(np.nan).to_numpy().astype(float)

    mean_t, mean_c = column("mean_treatment"), column("mean_control")
    diff = mean_t - mean_c
    rate = (table["metric"] == "response_rate").to_numpy() & (not adjust)
    se, low, high, p = nan.copy(), nan.copy(), nan.copy(), nan.copy()
    use = np.where(ok & rate)[0]
    if use.size:
        out = _two_proportions(
            column("ones_treatment")[use], n_t[use], column("ones_control")[use], n_c[use], level
        )
        for target_array, values in zip((se, low, high, p), out, strict=True):
            target_array[use] = values
    use = np.where(ok & ~rate)[0]
    if use.size and test == "welch":
        out = _welch(
            diff[use], column("var_treatment")[use], n_t[use], column("var_control")[use],
            n_c[use], level,
        )  # fmt: skip
        for target_array, values in zip((se, low, high, p), out, strict=True):
            target_array[use] = values
    elif use.size:
        rng = np.random.default_rng(seed)
        keys = table.select("campaign", "metric")
        groups = long.partition_by("campaign", "metric", "group", as_dict=True)
        for i in use:
            campaign, metric = keys.row(int(i))
            y_t = groups[(campaign, metric, "treatment")]["z"].to_numpy()
            y_c = groups[(campaign, metric, "control")]["z"].to_numpy()
            se[i], low[i], high[i], p[i] = _bootstrap(y_t, y_c, level, n_boot, rng)
    uplift = np.where((n_t > 0) & (n_c > 0), diff, np.nan)
    test_name = np.where(rate, TESTS[0], TESTS[1] if test == "welch" else TESTS[2])
    note = np.where(
        n_c == 0, _NO_CONTROL, np.where(n_t == 0, _NO_TREATMENT, np.where(ok, "", _TOO_FEW))
    )

    def series(values: np.ndarray) -> pl.Series:
        return pl.Series(values, dtype=pl.Float64).fill_nan(None)

    result = table.select(
        "campaign",
        "metric",
        treatment_customers=pl.col("n_treatment").cast(pl.UInt32),
        control_customers=pl.col("n_control").cast(pl.UInt32),
        treatment=pl.col("raw_treatment"),
        control=pl.col("raw_control"),
    ).with_columns(
        uplift=series(uplift),
        std_error=series(se),
        ci_low=series(low),
        ci_high=series(high),
        p_value=series(p),
        test=pl.Series(test_name, dtype=pl.Enum(TESTS)),
        adjustment=pl.lit("cuped" if adjust else "none", dtype=pl.Enum(ADJUSTMENTS)),
        note=pl.Series(note, dtype=pl.String).replace("", None),
    )
    contacted = pl.col("treatment_customers").cast(pl.Float64)
    if isinstance(costs, dict):
        given = pl.DataFrame(
            {"campaign": list(costs), "_unit_cost": list(costs.values())},
            schema={"campaign": result.schema["campaign"], "_unit_cost": pl.Float64},
            strict=False,
        )
        missing = result.join(given, on="campaign", how="anti")["campaign"].unique()
        if missing.len():
            msg = (
                f"{caller}: cost_per_contact has no cost for campaign(s) {missing.to_list()[:5]}; "
                "give every campaign a cost (0 when contacts are free)."
            )
            raise ArgumentError(msg)
        result = result.join(given, on="campaign", how="left")
    else:
        result = result.with_columns(_unit_cost=costs if costs is not None else pl.lit(None))
    cost = pl.col("_unit_cost").cast(pl.Float64) * contacted
    money = pl.col("metric").is_in(list(_MONEY))
    return result.select(
        "campaign",
        "metric",
        "treatment_customers",
        "control_customers",
        "treatment",
        "control",
        "uplift",
        relative_uplift=pl.when(pl.col("control") != 0).then(pl.col("uplift") / pl.col("control")),
        std_error="std_error",
        ci_low="ci_low",
        ci_high="ci_high",
        p_value="p_value",
        test="test",
        adjustment="adjustment",
        incremental=pl.col("uplift") * contacted,
        incremental_ci_low=pl.col("ci_low") * contacted,
        incremental_ci_high=pl.col("ci_high") * contacted,
        cost=cost,
        roi=pl.when(money & (cost > 0)).then((pl.col("uplift") * contacted - cost) / cost),
        roi_ci_low=pl.when(money & (cost > 0)).then((pl.col("ci_low") * contacted - cost) / cost),
        roi_ci_high=pl.when(money & (cost > 0)).then((pl.col("ci_high") * contacted - cost) / cost),
        note="note",
    ).sort("campaign", "metric")


# ---------------------------------------------------------------------------------------------
# target


def target(
    segments: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    campaign: str,
    control_share: float,
    seed: int,
    stratify_by: str | Sequence[str] | None = None,
) -> pl.DataFrame:
    r"""Assign a segment's customers to a campaign, holding out a random control group.

    Parameters
    ----------
    segments
        One row per customer: ``customer_id`` and, with ``stratify_by``, the segment
        column(s) -- any frame keyed by customer: :func:`retailcrm.rfm.segments`,
        :func:`retailcrm.segments.never_buy`, tiers, a next-best-offer list, ... A LazyFrame is
        collected.
    campaign
        The campaign's name (a non-empty string), put in every row.
    control_share
        Share of customers held out as the control group, in (0, 1).
    seed
        Seed (>= 0) of NumPy's ``default_rng``: the same seed and customers give the same
        groups, whatever the row order.
    stratify_by
        Column name(s) of ``segments``; the control share is then drawn in each stratum
        (combination of values; null is a value) separately, so every segment can be measured.

    Returns
    -------
    pl.DataFrame
        One row per customer, sorted by ``customer_id``: ``customer_id``, ``campaign``
        (String), ``group`` (Enum ``"treatment"``, ``"control"``) and the ``stratify_by``
        columns -- the ``assignments`` of :func:`performance`.

    Raises
    ------
    ArgumentError
        Bad ``campaign``, ``control_share``, ``seed`` or ``stratify_by``.
    ColumnError
        A column is missing.
    DataError
        A null or repeated ``customer_id``, or no rows.

    Warns
    -----
    RetailCRMWarning
        When a stratum ends up without control or without treatment customers (too small for
        the share): its uplift cannot be measured.

    Notes
    -----
    **Counts.** A stratum of :math:`n` customers gets exactly
    :math:`n_C = \lfloor s n + 1/2 \rfloor` control customers (:math:`s n` rounded to the
    nearest whole number, halves up) and :math:`n - n_C` treatment customers, so the realised
    share of every stratum is within :math:`1/(2n)` of :math:`s`.

    **Draw.** Customers are sorted by stratum then ``customer_id``, each gets a uniform random
    key from ``default_rng(seed)`` in that order, and in each stratum the :math:`n_C` smallest
    keys form the control group: a simple random sample without replacement per stratum
    (stratified randomisation; Imbens & Rubin 2015, *Causal Inference*, ch. 9).

    Examples
    --------
    >>> import polars as pl
    >>> import retailcrm.campaigns as campaigns
    >>> seg = pl.DataFrame({"customer_id": range(1, 11), "segment": ["A"] * 6 + ["B"] * 4})
    >>> out = campaigns.target(seg, campaign="spring", control_share=0.25, seed=1,
    ...                        stratify_by="segment")
    >>> out.group_by("segment", "group").len().sort("segment", "group").rows()
    [('A', 'treatment', 4), ('A', 'control', 2), ('B', 'treatment', 3), ('B', 'control', 1)]
    """
    caller = "campaigns.target"
    if not isinstance(campaign, str) or not campaign:
        msg = (
            f"{caller}: campaign must be a non-empty string naming the campaign; got {campaign!r}."
        )
        raise ArgumentError(msg)
    if not (_is_number(control_share) and 0.0 < float(control_share) < 1.0):
        msg = (
            f"{caller}: control_share must be a number in (0, 1), the share held out (e.g. "
            f"0.1); got {control_share!r}."
        )
        raise ArgumentError(msg)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        msg = f"{caller}: seed must be a whole number >= 0; got {seed!r}."
        raise ArgumentError(msg)
    if stratify_by is None:
        strata: list[str] = []
    elif isinstance(stratify_by, str):
        strata = [stratify_by]
    else:
        strata = list(stratify_by)
    reserved = [c for c in strata if not isinstance(c, str) or c in ("customer_id", *_ASSIGNMENTS)]
    if reserved or len(set(strata)) != len(strata):
        msg = (
            f"{caller}: stratify_by must name distinct segment columns other than customer_id, "
            f"campaign and group; got {stratify_by!r}."
        )
        raise ArgumentError(msg)
    require(segments, {"customer_id": "any", **dict.fromkeys(strata, "any")}, caller=caller)
    frame = segments.lazy().select("customer_id", *strata).collect()
    if frame.height == 0:
        msg = f"{caller}: segments has no rows; there is nobody to target."
        raise DataError(msg)
    forbid(
        frame,
        Check(
            pl.col("customer_id").is_null(),
            "of segments have a null customer_id",
            "Drop them: a customer without an id cannot be contacted or measured.",
            ["customer_id", *strata],
        ),
        Check(
            pl.col("customer_id").is_duplicated(),
            "of segments repeat a customer_id",
            "Keep one row per customer (one segment each).",
            ["customer_id", *strata],
        ),
        caller=caller,
    )
    share = float(control_share)
    frame = frame.sort([*strata, "customer_id"], nulls_last=True)
    keys = np.random.default_rng(int(seed)).random(frame.height)

    def within(expr: pl.Expr) -> pl.Expr:
        return expr.over(strata) if strata else expr

    size = within(pl.len())
    n_control = (size.cast(pl.Float64) * share + 0.5 + 1e-9).floor()
    rank = within(pl.col("_key").rank("ordinal"))
    group = pl.when(rank <= n_control).then(pl.lit("control")).otherwise(pl.lit("treatment"))
    result = frame.with_columns(_key=pl.Series(keys)).with_columns(
        campaign=pl.lit(campaign, dtype=pl.String),
        group=group.cast(_GROUP),
        _size=size,
        _control=n_control,
    )
    if strata:
        counts = result.group_by(strata).agg(
            n=pl.col("_size").first(), c=pl.col("_control").first()
        )
        empty = counts.filter((pl.col("c") == 0) | (pl.col("c") == pl.col("n")))
        if empty.height:
            example = empty.sort(pl.col("n")).row(0, named=True)
            msg = (
                f"{caller}: {empty.height} stratum/strata get no control or no treatment "
                f"customer with control_share={share:g}, e.g. {example['n']} customer(s) of "
                f"{ {c: example[c] for c in strata} }. Their uplift cannot be measured: merge "
                "small strata or change control_share."
            )
            warnings.warn(msg, RetailCRMWarning, stacklevel=2)
    return result.select("customer_id", "campaign", "group", *strata).sort("customer_id")
