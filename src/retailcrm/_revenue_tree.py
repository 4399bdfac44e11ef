r"""The revenue tree: why revenue (and margin) moved between two periods, driver by driver.

Written here and re-exported as :func:`retailcrm.metrics.revenue_tree`.
"""

from __future__ import annotations

import polars as pl

from retailcrm._errors import DataError
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import FrameT, require, same_kind
from retailcrm.segments._levels import PeriodSpec, in_period, two_periods

__all__ = ["DRIVERS", "MEASURES", "revenue_tree"]

#: The measures decomposed, in order (the ``measure`` Enum).
MEASURES: tuple[str, ...] = ("revenue", "margin")

#: The drivers, in the order of the tree, and the total (the ``driver`` Enum).
DRIVERS: tuple[str, ...] = (
    "customers",
    "orders_per_customer",
    "items_per_order",
    "price_per_item",
    "margin_rate",
    "total",
)

_NEEDED = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_CALLER = "metrics.revenue_tree"
# the base quantities of each period, and the drivers as ratios of them
_BASE = ("customers", "orders", "items", "revenue", "margin")
_RATIOS: dict[str, tuple[str, str | None]] = {
    "customers": ("customers", None),
    "orders_per_customer": ("orders", "customers"),
    "items_per_order": ("items", "orders"),
    "price_per_item": ("revenue", "items"),
    "margin_rate": ("margin", "revenue"),
}


def _log_mean(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """The logarithmic mean L(a, b) = (a - b) / (ln a - ln b), with L(a, a) = a."""
    return pl.when(a == b).then(a).otherwise((a - b) / (a.log() - b.log()))


def _value(name: str, tag: str) -> pl.Expr:
    top, bottom = _RATIOS[name]
    value = pl.col(f"{top}_{tag}").cast(pl.Float64)
    return value if bottom is None else value / pl.col(f"{bottom}_{tag}").cast(pl.Float64)


def revenue_tree(
    tx: FrameT,
    /,
    *,
    period_a: PeriodSpec,
    period_b: PeriodSpec,
) -> FrameT:
    r"""Split the change in revenue (and margin) between two periods into its drivers.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        (otherwise an order is one customer-day), ``quantity`` and ``margin`` when present.
    period_a, period_b
        The two periods, ``(start, end)`` pairs of dates or ISO strings, both days included,
        compared with the local date of ``timestamp``; ``period_a`` must end before
        ``period_b`` starts. They may differ in length (e.g. a month against a month).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given; for ``revenue`` (and for ``margin`` when ``tx`` has it), one row per
        driver and one ``total`` row, in the order of the tree:

        - ``measure`` (Enum ``"revenue"``, ``"margin"``);
        - ``driver`` (Enum ``"customers"``, ``"orders_per_customer"``, ``"items_per_order"``,
          ``"price_per_item"``, ``"margin_rate"`` (margin only), ``"total"``);
        - ``value_a``, ``value_b`` (Float64): the driver in each period (the measure itself on
          the ``total`` row);
        - ``change`` (Float64): ``value_b / value_a - 1``;
        - ``contribution`` (Float64): the driver's part of the change in the measure, in money;
          on the ``total`` row the change itself, ``value_b - value_a``. The drivers'
          contributions add up to it;
        - ``share_of_change`` (Float64): ``contribution`` over the total change (null when the
          measure did not change).

    Raises
    ------
    ArgumentError
        A period is malformed or reversed, or the two overlap.
    DataError
        For a DataFrame: a base quantity (customers, orders, items, revenue; margin for the
        margin tree) is not positive in a period, so the logarithms of the decomposition are
        undefined. A LazyFrame is not read: the contributions are then null.

    Notes
    -----
    **The quantities of a period.** :math:`C` customers with a purchase occasion dated in it
    (an order of net value > 0, dated by its first line); :math:`O` those purchase occasions;
    :math:`R` revenue, the net value of all orders dated in it (returns included, as in
    :func:`retailcrm.metrics.kpis`); :math:`I` items, the net units of its lines (a line's
    ``|quantity|``, or 1 without a ``quantity`` column, negative when its amount is); :math:`M`
    the margin of its lines. Only lines dated in the two periods are read. The tree is the
    identity

    .. math::

        R = C \cdot \frac{O}{C} \cdot \frac{I}{O} \cdot \frac{R}{I}, \qquad
        M = C \cdot \frac{O}{C} \cdot \frac{I}{O} \cdot \frac{R}{I} \cdot \frac{M}{R}.

    **Decomposition rule: additive LMDI-I** (log-mean Divisia index; Ang & Liu 2001, "A new
    energy decomposition method: perfect in decomposition and consistent in aggregation",
    Energy 26(6); Ang 2004, "Decomposition analysis for policymaking in energy", Energy Policy
    32(9)). For :math:`V = \prod_k x_k` the contribution of driver :math:`k` is

    .. math::

        \Delta V_k = L(V_b, V_a)\, \ln\frac{x_{k,b}}{x_{k,a}}, \qquad
        L(u, v) = \frac{u - v}{\ln u - \ln v},\ L(u, u) = u,

    and :math:`\sum_k \Delta V_k = L(V_b, V_a) \ln(V_b / V_a) = V_b - V_a` exactly: no
    residual, and the result does not depend on the order of the drivers (unlike sequential
    substitution). A driver that did not change contributes 0. It needs every quantity > 0 in
    both periods.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import _revenue_tree
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1, 2, 3], "order_id": [1, 2, 3, 4, 5],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 1, 9), date(2024, 2, 3),
    ...                   date(2024, 2, 7), date(2024, 2, 8)], "amount": [10.0] * 5})
    >>> out = _revenue_tree.revenue_tree(tx, period_a=("2024-01-01", "2024-01-31"),
    ...                                  period_b=("2024-02-01", "2024-02-29"))
    >>> out.select("driver", "value_a", "value_b", "contribution").rows()
    [('customers', 2.0, 3.0, 10.0), ('orders_per_customer', 1.0, 1.0, 0.0),
     ('items_per_order', 1.0, 1.0, 0.0), ('price_per_item', 10.0, 10.0, 0.0),
     ('total', 20.0, 30.0, 10.0)]
    """
    require(tx, _NEEDED, caller=_CALLER)
    schema = tx.collect_schema()
    a, b = two_periods(period_a, period_b, _CALLER)
    in_a, in_b = in_period(a), in_period(b)
    has_margin = "margin" in schema
    if has_margin:
        require(tx, {"margin": "numeric"}, caller=_CALLER)
    if "quantity" in schema:
        require(tx, {"quantity": "numeric"}, caller=_CALLER)
        units = pl.col("quantity").cast(pl.Float64).abs()
    else:
        units = pl.lit(1.0)
    lines = tx.lazy().filter(in_a | in_b)
    item = pl.when(pl.col("amount") < 0).then(-units).otherwise(units)
    line_totals = {f"items_{t}": item.filter(w).sum() for t, w in (("a", in_a), ("b", in_b))}
    if has_margin:
        margin = pl.col("margin").cast(pl.Float64)
        line_totals |= {
            "margin_a": margin.filter(in_a).sum(),
            "margin_b": margin.filter(in_b).sum(),
        }
    day = pl.col("order_date")
    order_a = day.is_between(pl.lit(a[0], pl.Date), pl.lit(a[1], pl.Date))
    order_b = day.is_between(pl.lit(b[0], pl.Date), pl.lit(b[1], pl.Date))
    value = pl.col("value")
    order_totals = {}
    for tag, when in (("a", order_a), ("b", order_b)):
        order_totals |= {
            f"customers_{tag}": pl.col("customer_id").filter(when & PURCHASE).n_unique(),
            f"orders_{tag}": (when & PURCHASE).sum(),
            f"revenue_{tag}": value.filter(when).sum(),
        }
    totals = (
        orders(lines)
        .select(**order_totals)
        .join(lines.select(**line_totals), how="cross")
        .with_columns(
            pl.col(f"{q}_{t}").cast(pl.Float64) for q in ("customers", "orders") for t in "ab"
        )
    )
    if isinstance(tx, pl.DataFrame):
        collected = totals.collect()
        _check_positive(collected, has_margin, a, b)
        totals = collected.lazy()
    parts = [_tree(totals, "revenue", list(_RATIOS)[:4])]
    if has_margin:
        parts.append(_tree(totals, "margin", list(_RATIOS)))
    result = pl.concat(parts)
    return same_kind(result, tx)  # type: ignore[no-any-return]


def _tree(totals: pl.LazyFrame, measure: str, drivers: list[str]) -> pl.LazyFrame:
    va, vb = pl.col(f"{measure}_a"), pl.col(f"{measure}_b")
    positive = pl.all_horizontal(
        (pl.col(f"{q}_{t}") > 0) for q in (*_BASE[:4], measure) for t in "ab"
    )
    weight = pl.when(positive).then(_log_mean(vb, va))
    rows = []
    for name in drivers:
        xa, xb = _value(name, "a"), _value(name, "b")
        rows.append(
            totals.select(
                driver=pl.lit(name),
                value_a=xa,
                value_b=xb,
                contribution=weight * (xb / xa).log(),
            )
        )
    rows.append(totals.select(driver=pl.lit("total"), value_a=va, value_b=vb, contribution=vb - va))
    total_change = pl.col("contribution").filter(pl.col("driver") == "total").first()
    return pl.concat(rows).select(
        measure=pl.lit(measure, pl.Enum(MEASURES)),
        driver=pl.col("driver").cast(pl.Enum(DRIVERS)),
        value_a="value_a",
        value_b="value_b",
        change=pl.col("value_b") / pl.col("value_a") - 1.0,
        contribution="contribution",
        share_of_change=pl.when(total_change != 0).then(pl.col("contribution") / total_change),
    )


def _check_positive(
    totals: pl.DataFrame,
    has_margin: bool,
    a: tuple[object, object],
    b: tuple[object, object],
) -> None:
    row = totals.row(0, named=True)
    for q in (*_BASE[:4], *(["margin"] if has_margin else [])):
        for tag, bounds in (("a", a), ("b", b)):
            if not row[f"{q}_{tag}"] > 0:
                msg = (
                    f"{_CALLER}: {q} is {row[f'{q}_{tag}']} in period_{tag} ({bounds[0]} to "
                    f"{bounds[1]}); the decomposition multiplies and takes logarithms of "
                    f"customers, orders, items, revenue{' and margin' if has_margin else ''}, "
                    f"which must all be > 0 in both periods. Choose periods with sales."
                )
                raise DataError(msg)
