"""What brand / item / category analyses share: the level column, periods, the focus, purchases.

Rules decided here, once, for :func:`~retailcrm.segments.switching_matrix`,
:func:`~retailcrm.segments.brand_status`, :func:`~retailcrm.segments.duplication`,
:func:`~retailcrm.segments.gain_loss` and :func:`retailcrm.metrics.share_of_category_requirement`:

- **level**: the column analysed (``"item"``, ``"brand"``, ``"category"`` or any other label
  column), optionally **within** a parent column (brands within a category).
- **null labels**: a line whose level (or parent) value is null belongs to no brand; it is left
  out of every count, share and spend of the switching functions (it cannot be a "from", a
  "to" or anybody's main brand). In the focus analyses (gain-loss, share of category
  requirement) a null level value is simply not the focus: the line still counts in its
  category; only a null parent value leaves it out (its category is unknown). For a DataFrame
  a :class:`~retailcrm.RetailCRMWarning` counts the lines left out and shows one (a LazyFrame
  is not read twice to find them). Fill them first (``pl.col("brand").fill_null("unbranded")``)
  to count them as a label of their own.
- **purchase**: a line with ``amount > 0``; returns and zero lines never make anybody a buyer
  of a label.
- **periods**: ``(start, end)`` pairs of dates (or ISO strings), both days included, compared
  with the local calendar date of ``timestamp``; the first must end before the second starts.
"""

from __future__ import annotations

import datetime as dt
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import polars as pl

from retailcrm._errors import ArgumentError, ColumnError, RetailCRMWarning
from retailcrm._schema import require

__all__ = [
    "Levels",
    "PeriodSpec",
    "checked_frame",
    "day_before",
    "focus_filter",
    "in_period",
    "levels",
    "needed",
    "period",
    "two_periods",
    "warn_user",
]

#: A period: ``(start, end)``, both days included; dates, datetimes (their date) or ISO strings.
PeriodSpec = tuple[dt.date | str, dt.date | str]

_RESERVED = ("customer_id", "timestamp", "amount", "order_id")
_DAY = dt.timedelta(days=1)


class Levels(NamedTuple):
    """The checked level column, its optional parent, and the group keys they make."""

    level: str
    within: str | None

    @property
    def parents(self) -> list[str]:
        """``[within]`` or ``[]``: the columns every result is grouped by first."""
        return [] if self.within is None else [self.within]

    @property
    def labelled(self) -> pl.Expr:
        """True for lines with a level value (and a parent value)."""
        cols = [self.level, *self.parents]
        return pl.all_horizontal(pl.col(c).is_not_null() for c in cols)


def levels(
    tx: pl.DataFrame | pl.LazyFrame,
    level: object,
    within: object,
    *,
    caller: str,
    focus: bool = False,
) -> Levels:
    """Check ``level`` and ``within`` against the schema; warn about null labels (DataFrames).

    ``focus=True`` is the rule of the focus analyses (gain-loss, share of category
    requirement): a null level value is simply not the focus and still counts in its category,
    so only null parent values are left out and warned about.
    """
    schema = tx.collect_schema()
    for name, value in (("level", level), ("within", within)):
        if value is None and name == "within":
            continue
        if not isinstance(value, str):
            msg = (
                f"{caller}: {name} must be a column name such as 'item', 'brand' or "
                f"'category'; got {value!r}."
            )
            raise ArgumentError(msg)
        if value in _RESERVED:
            msg = (
                f"{caller}: {name}={value!r} is not a label column; use 'item', 'brand', "
                f"'category' or another column of labels."
            )
            raise ArgumentError(msg)
        if value not in schema:
            msg = (
                f"{caller}: {name}={value!r} names no column; the frame has "
                f"{list(schema.names())}. Map one with retailcrm.prepare(frame, {value}=...) "
                f"or pass level='item', 'brand' or 'category'."
            )
            raise ColumnError(msg)
    if within == level:
        msg = (
            f"{caller}: within must be a parent of level (e.g. level='brand', "
            f"within='category'); both are {level!r}."
        )
        raise ArgumentError(msg)
    assert isinstance(level, str)
    assert within is None or isinstance(within, str)
    checked = Levels(level, within)
    if isinstance(tx, pl.DataFrame):
        _warn_nulls(tx, checked, caller, focus)
    return checked


def _warn_nulls(tx: pl.DataFrame, checked: Levels, caller: str, focus: bool) -> None:
    cols = checked.parents if focus else [checked.level, *checked.parents]
    if not cols:
        return
    bad = ~pl.all_horizontal(pl.col(c).is_not_null() for c in cols)
    show = list(dict.fromkeys(["customer_id", "timestamp", *cols, "amount"]))
    found = tx.select(n=bad.sum(), example=pl.struct(show).filter(bad).first()).row(0)
    if found[0]:
        which = " or ".join(cols)
        msg = (
            f"{caller}: {found[0]} row(s) have a null {which} and are left out, e.g. "
            f"{found[1]}. Fill them (e.g. pl.col({cols[0]!r}).fill_null('unknown')) to count "
            f"them as a label of their own, or filter them out to silence this."
        )
        warn_user(msg)


def needed(checked: Levels) -> dict[str, str]:
    """Columns and kinds for :func:`retailcrm._schema.require`."""
    return {
        "customer_id": "any",
        "timestamp": "date or datetime",
        "amount": "numeric",
        checked.level: "any",
        **{p: "any" for p in checked.parents},
    }


# ---------------------------------------------------------------------------------------------
# periods


def _day(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def period(value: object, name: str, caller: str) -> tuple[dt.date, dt.date]:
    """Parse a ``(start, end)`` pair; raise :class:`ArgumentError` when malformed or reversed."""
    shape = (
        f"{caller}: {name} must be a (start, end) pair of dates or ISO strings, both days "
        f"included, e.g. ('2024-01-01', '2024-06-30'); got {value!r}."
    )
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or len(value) != 2:
        raise ArgumentError(shape)
    start, end = _day(value[0]), _day(value[1])
    if start is None or end is None:
        raise ArgumentError(shape)
    if start > end:
        msg = (
            f"{caller}: {name} is reversed: it starts on {start} but ends on {end}. "
            f"Pass ({end.isoformat()!r}, {start.isoformat()!r})."
        )
        raise ArgumentError(msg)
    return start, end


def two_periods(
    period_a: object, period_b: object, caller: str
) -> tuple[tuple[dt.date, dt.date], tuple[dt.date, dt.date]]:
    """Parse both periods; the first must end before the second starts."""
    a = period(period_a, "period_a", caller)
    b = period(period_b, "period_b", caller)
    if b[1] < a[0]:
        msg = (
            f"{caller}: period_b ({b[0]} to {b[1]}) comes before period_a ({a[0]} to {a[1]}); "
            f"pass the earlier period as period_a."
        )
        raise ArgumentError(msg)
    if a[1] >= b[0]:
        msg = (
            f"{caller}: period_a ({a[0]} to {a[1]}) and period_b ({b[0]} to {b[1]}) overlap "
            f"from {b[0]} to {min(a[1], b[1])}; period_a must end before period_b starts."
        )
        raise ArgumentError(msg)
    return a, b


def in_period(bounds: tuple[dt.date, dt.date]) -> pl.Expr:
    """True for lines whose local date lies in ``bounds`` (both days included)."""
    day = pl.col("timestamp").dt.date()
    return day.is_between(pl.lit(bounds[0], pl.Date), pl.lit(bounds[1], pl.Date))


def day_before(day: dt.date) -> dt.date:
    """The calendar day before ``day``."""
    return day - _DAY


# ---------------------------------------------------------------------------------------------
# focus


def focus_filter(
    focus: object, schema: pl.Schema, level: str, caller: str
) -> tuple[pl.Expr, list[Any]]:
    """``level`` is one of the focus values; also the values an Enum cannot hold (never match)."""
    values = list(focus) if isinstance(focus, (list, tuple, set, frozenset)) else [focus]
    if not values or any(v is None for v in values):
        msg = (
            f"{caller}: focus must be a {level} value or a non-empty list of them, without "
            f"None; got {focus!r}."
        )
        raise ArgumentError(msg)
    dtype = schema[level]
    missing: list[Any] = []
    if isinstance(dtype, pl.Enum):
        known = set(dtype.categories.to_list())
        missing = [v for v in values if v not in known]
        values = [v for v in values if v in known]
    if not values:
        return pl.lit(False), missing
    try:
        series = pl.Series(values, dtype=dtype)
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        msg = (
            f"{caller}: focus {focus!r} is not a value of {level} ({dtype}); pass {level} "
            f"values of that type."
        )
        raise ArgumentError(msg) from None
    return pl.col(level).is_in(series.implode()).fill_null(False), missing


_PACKAGE = str(Path(__file__).resolve().parent.parent)


def warn_user(msg: str) -> None:
    """Warn with :class:`RetailCRMWarning`, attributed to the first caller outside retailcrm."""
    frame = sys._getframe(0)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(msg, RetailCRMWarning, stacklevel=level)


def checked_frame(
    tx: pl.DataFrame | pl.LazyFrame,
    level: object,
    within: object,
    *,
    caller: str,
    focus: bool = False,
) -> Levels:
    """``require`` the canonical columns and the level columns; return the checked levels."""
    require(
        tx,
        {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"},
        caller=caller,
    )
    checked = levels(tx, level, within, caller=caller, focus=focus)
    require(tx, needed(checked), caller=caller)
    return checked
