"""``as_of`` and ``period`` handling shared by every module.

Conventions (``DESIGN.md``, "Time"):

- ``as_of`` is the observation end, inclusive. ``None`` means the last timestamp in the data. A
  ``date`` keeps that whole day; a ``datetime`` keeps rows up to and including that instant (a
  naive one is read in the column's time zone). Whole-day quantities count calendar days of the
  local date.
- ``period`` is a Polars duration string ``"<n><unit>"`` with unit ``d``, ``w``, ``mo``, ``q``
  or ``y`` (``"1mo"``, ``"2w"``). Weeks start on Monday.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import NamedTuple

import polars as pl

from retailcrm._errors import ArgumentError

__all__ = ["AsOf", "Cutoff", "Period", "cutoff", "parse_period"]

_PERIOD = re.compile(r"^([1-9][0-9]*)(d|w|mo|q|y)$")
_MONTHS = {"mo": 1, "q": 3, "y": 12}
_DAYS = {"d": 1, "w": 7}

AsOf = dt.date | dt.datetime | str | None


class Period(NamedTuple):
    """A parsed period: ``n`` units of ``unit``."""

    n: int
    unit: str

    @property
    def text(self) -> str:
        """The Polars duration string."""
        return f"{self.n}{self.unit}"

    @property
    def months(self) -> int | None:
        """Length in calendar months (``None`` for day and week periods)."""
        return self.n * _MONTHS[self.unit] if self.unit in _MONTHS else None

    @property
    def days(self) -> int | None:
        """Length in days (``None`` for month-based periods)."""
        return self.n * _DAYS[self.unit] if self.unit in _DAYS else None

    def start(self, when: pl.Expr) -> pl.Expr:
        """The Date on which the calendar period holding ``when`` starts."""
        if self.unit == "q":  # Polars truncates "1q" to calendar quarters; "nq" = 3n months
            return when.dt.truncate(f"{3 * self.n}mo").cast(pl.Date)
        return when.dt.truncate(self.text).cast(pl.Date)

    def shift(self, start: pl.Expr, k: pl.Expr) -> pl.Expr:
        """``start`` (a Date) moved forward by ``k`` periods (``k`` an integer expression)."""
        if self.months is not None:
            return start.dt.offset_by(pl.format("{}mo", k * self.months))
        assert self.days is not None
        return start + pl.duration(days=k * self.days)

    def index(self, start: pl.Expr, when: pl.Expr) -> pl.Expr:
        """Whole periods from Date ``start`` to Date ``when`` (floor; month ends respected).

        For month-based periods a period ends on the same day of the month (or the month's
        last day), as ``offset_by`` counts: from 2024-01-31 one month ends at 2024-02-29. In
        integer arithmetic: ``when`` is before the monthly anniversary of ``start`` exactly when
        its day of month is smaller than both ``start``'s and the last day of its month.
        """
        if self.days is not None:
            return ((when - start).dt.total_days() // self.days).cast(pl.Int32)
        assert self.months is not None
        whole = (when.dt.year() - start.dt.year()) * 12 + (
            when.dt.month().cast(pl.Int32) - start.dt.month().cast(pl.Int32)
        )
        day = when.dt.day()
        early = (day < start.dt.day()) & (day < when.dt.days_in_month())
        return ((whole - early.cast(pl.Int32)) // self.months).cast(pl.Int32)


def parse_period(period: str, *, caller: str) -> Period:
    """Parse ``"1mo"``-style strings; raise :class:`ArgumentError` naming the allowed forms.

    Examples
    --------
    >>> parse_period("2w", caller="demo")
    Period(n=2, unit='w')
    >>> parse_period("1m", caller="demo")
    Traceback (most recent call last):
    ...
    retailcrm._errors.ArgumentError: demo: period must be '<n>d', '<n>w', '<n>mo', ...; got '1m'.
    """
    match = _PERIOD.match(period) if isinstance(period, str) else None
    if match is None:
        msg = (
            f"{caller}: period must be '<n>d', '<n>w', '<n>mo', '<n>q' or '<n>y' "
            f"(e.g. '1mo'); got {period!r}."
        )
        raise ArgumentError(msg)
    return Period(int(match.group(1)), match.group(2))


class Cutoff(NamedTuple):
    """How ``as_of`` applies to a frame: rows to keep, and the ``as_of`` date when it is known.

    ``date`` is ``None`` when ``as_of`` was not given: the caller then takes the last
    timestamp of the data inside its own query.
    """

    keep: pl.Expr
    date: dt.date | None
    instant: pl.Expr | None


def _as_value(as_of: AsOf, caller: str) -> dt.date | dt.datetime | None:
    if as_of is None or isinstance(as_of, (dt.date, dt.datetime)):
        return as_of
    if isinstance(as_of, str):
        for parse in (dt.date.fromisoformat, dt.datetime.fromisoformat):
            try:
                return parse(as_of)
            except ValueError:
                continue
    msg = (
        f"{caller}: as_of must be a date, a datetime or an ISO string like '2024-12-31'; "
        f"got {as_of!r}."
    )
    raise ArgumentError(msg)


def cutoff(as_of: AsOf, dtype: pl.DataType, *, caller: str) -> Cutoff:
    """Translate ``as_of`` for a ``timestamp`` column of ``dtype``.

    Returns the filter that keeps the rows observed by ``as_of``, the local ``as_of`` date, and
    the ``as_of`` instant as an expression of the column's dtype (``None`` when ``as_of`` is
    ``None``). With a ``date`` and a Datetime column the instant is the end of that day.
    """
    value = _as_value(as_of, caller)
    ts = pl.col("timestamp")
    if value is None:
        return Cutoff(pl.lit(True), None, None)
    if isinstance(dtype, pl.Date):
        day = value.date() if isinstance(value, dt.datetime) else value
        return Cutoff(ts <= pl.lit(day), day, pl.lit(day))
    assert isinstance(dtype, pl.Datetime)
    zone = dtype.time_zone
    if isinstance(value, dt.datetime):
        instant = pl.lit(value.replace(tzinfo=None) if value.tzinfo is None else value)
        if value.tzinfo is None:
            instant = instant.cast(pl.Datetime("us")).dt.replace_time_zone(zone)
        else:
            instant = instant.dt.convert_time_zone(zone or "UTC")
            if zone is None:
                instant = instant.dt.replace_time_zone(None)
        local_day = (
            value.date()
            if value.tzinfo is None or zone is None
            else value.astimezone(_zone(zone)).date()
        )
        instant = instant.cast(dtype)
        return Cutoff(ts <= instant, local_day, instant)
    end = pl.lit(dt.datetime.combine(value + dt.timedelta(days=1), dt.time())).cast(
        pl.Datetime("us")
    )
    end = end.dt.replace_time_zone(zone).cast(dtype)
    instant = end - pl.duration(microseconds=1)
    return Cutoff(ts < end, value, instant)


def _zone(name: str) -> dt.tzinfo:
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def local_date(expr: pl.Expr) -> pl.Expr:
    """The calendar date of a Date or Datetime expression, in the column's own time zone."""
    return expr.dt.date()
