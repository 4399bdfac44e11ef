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
from dataclasses import dataclass
from typing import NamedTuple

import polars as pl

from retailcrm._errors import ArgumentError

__all__ = ["AsOf", "Cutoff", "Period", "Window", "cutoff", "parse_period", "window"]

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


@dataclass(frozen=True, slots=True)
class Window:
    """A look-back window ``(as_of - lookback, as_of]`` over canonical transactions.

    ``observed`` holds the rows up to ``as_of`` (lazy); ``as_of`` is the ``as_of`` local
    date as an expression: a literal when ``as_of`` was given, otherwise the last local date of
    the rows (an aggregation, valid in any query over ``observed`` or ``lines``: the last row is
    always inside the window). ``step`` is the parsed look-back (``None``: no look-back).
    """

    observed: pl.LazyFrame
    as_of: pl.Expr
    date: dt.date | None
    step: Period | None

    def since(self, periods: int = 1) -> pl.Expr:
        """True for rows whose local date is after ``as_of`` minus ``periods`` look-backs."""
        if self.step is None:
            return pl.lit(True)
        start = self.step.shift(self.as_of, pl.lit(-periods))
        return pl.col("timestamp").dt.date() > start

    @property
    def lines(self) -> pl.LazyFrame:
        """The rows in the window: local date in ``(as_of - lookback, as_of]``."""
        return self.observed if self.step is None else self.observed.filter(self.since())


def window(
    tx: pl.DataFrame | pl.LazyFrame,
    as_of: AsOf,
    lookback: str | None,
    *,
    caller: str,
    name: str = "lookback",
) -> Window:
    """The one look-back rule: rows with local date in ``(as_of - lookback, as_of]``.

    ``as_of`` follows :func:`cutoff` (default: the last timestamp in ``tx``); ``lookback`` is a
    duration ``"<n>d"``, ``"<n>w"``, ``"<n>mo"``, ``"<n>q"`` or ``"<n>y"`` counted back from the
    ``as_of`` local date (``"12mo"`` with ``as_of`` 2024-12-31 keeps 2024-01-01 to 2024-12-31),
    or ``None`` for every row up to ``as_of``. ``name`` is the argument named in errors.

    When ``as_of`` is not given its date is the ``max`` of the timestamps taken inside the same
    query (no cross join, no second scan of the source): a lazy plan stays one lazy plan.

    Examples
    --------
    >>> import polars as pl
    >>> from datetime import date
    >>> tx = pl.DataFrame({"timestamp": [date(2023, 12, 31), date(2024, 1, 1), date(2024, 6, 30)]})
    >>> window(tx, None, "3mo", caller="demo").lines.collect()["timestamp"].to_list()
    [datetime.date(2024, 6, 30)]
    >>> window(tx, "2024-06-30", "6mo", caller="demo").lines.collect().height
    3
    >>> window(tx, "2024-06-29", "6mo", caller="demo").lines.collect().height
    2
    >>> window(tx, None, "12 months", caller="demo")
    Traceback (most recent call last):
    ...
    retailcrm._errors.ArgumentError: demo: lookback must be a duration '<n>d', ...; got '12 months'.
    """
    cut = cutoff(as_of, tx.collect_schema()["timestamp"], caller=caller)
    step: Period | None = None
    if lookback is not None:
        try:
            step = parse_period(lookback, caller=caller)
        except ArgumentError:
            msg = (
                f"{caller}: {name} must be a duration '<n>d', '<n>w', '<n>mo', '<n>q' or "
                f"'<n>y' (e.g. '12mo'); got {lookback!r}."
            )
            raise ArgumentError(msg) from None
    observed = tx.lazy().filter(cut.keep)
    if cut.date is not None:
        end: pl.Expr = pl.lit(cut.date, pl.Date)
    else:
        end = pl.col("timestamp").max().dt.date()
    return Window(observed, end, cut.date, step)
