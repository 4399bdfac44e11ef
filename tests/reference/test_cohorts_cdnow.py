"""Cohorts of CDNOW against a plain computation over the raw text file that ships with lifetimes.

The oracle below reads ``CDNOW_master.txt`` line by line and counts with dicts and sets: no
Polars, no library code. CDNOW has no order ids, so an order is a customer-day (the library's
rule), and a day worth $0 is not a purchase occasion.
"""

from __future__ import annotations

import calendar
import datetime as dt
import importlib.util
import math
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from retailcrm import cohorts, datasets

END = dt.date(1998, 6, 30)  # the last day of the CDNOW observation window
Cell = tuple[dt.date, int]  # (cohort month start, period index)


def _raw_days() -> dict[int, dict[dt.date, float]]:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        pytest.skip("lifetimes (the source of the raw CDNOW file) is not installed")
    path = Path(spec.origin).parent / "datasets" / "CDNOW_master.txt"
    days: dict[int, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for line in path.read_text().splitlines()[1:]:
        customer, day, _cds, dollars = line.split()
        when = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
        days[int(customer)][when] += float(dollars)
    return days


def _month(d: dt.date) -> int:
    return d.year * 12 + d.month - 1


def _add_months(d: dt.date, n: int) -> dt.date:
    """``d`` plus ``n`` calendar months, the day clamped to the month's last day."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + n, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return dt.date(year, month0 + 1, min(d.day, last))


def _months_since(start: dt.date, when: dt.date) -> int:
    k = _month(when) - _month(start)
    while _add_months(start, k) > when:  # before the monthly anniversary
        k -= 1
    return k


class Plain:
    """Monthly cohort cells of the raw rows up to ``as_of``, counted with dicts and sets."""

    def __init__(self, as_of: dt.date, *, first_purchase: bool) -> None:
        days = {c: {w: v for w, v in d.items() if w <= as_of} for c, d in _raw_days().items()}
        first = {
            c: min(w for w, v in d.items() if v > 0)
            for c, d in days.items()
            if any(v > 0 for v in d.values())
        }
        self.days = days
        self.first = first
        self.no_cohort = len(days) - len(first)
        self.size: dict[dt.date, int] = defaultdict(int)
        self.active: dict[Cell, set[int]] = defaultdict(set)
        self.orders: dict[Cell, int] = defaultdict(int)
        self.revenue: dict[Cell, float] = defaultdict(float)
        for customer, start in first.items():
            cohort = start.replace(day=1)
            self.size[cohort] += 1
            for when, value in days[customer].items():
                k = _months_since(start, when) if first_purchase else _month(when) - _month(start)
                if k < 0:
                    continue
                self.revenue[cohort, k] += value
                if value > 0:
                    self.orders[cohort, k] += 1
                    self.active[cohort, k].add(customer)


@pytest.mark.parametrize("as_of", [END, dt.date(1997, 9, 30), dt.date(1997, 2, 14)])
def test_cdnow_monthly_calendar_cohorts_equal_a_plain_computation(as_of: dt.date) -> None:
    plain = Plain(as_of, first_purchase=False)
    got = cohorts.table(datasets.load_cdnow(), period="1mo", as_of=as_of)
    oldest = min(plain.size)
    last_index = _month(as_of) - _month(oldest)
    assert got.height == len(plain.size) * (last_index + 1)
    for row in got.iter_rows(named=True):
        cohort, k = row["cohort"], row["period_index"]
        assert row["cohort_size"] == plain.size[cohort]
        assert row["period_start"] == _add_months(cohort, k)
        if _add_months(cohort, k) > as_of:  # not reached yet
            assert row["active_customers"] is row["revenue"] is row["retention_rate"] is None
            assert row["is_complete"] is False
            continue
        assert row["active_customers"] == len(plain.active[cohort, k])
        assert row["retention_rate"] == len(plain.active[cohort, k]) / plain.size[cohort]
        assert row["orders"] == plain.orders[cohort, k]
        assert math.isclose(row["revenue"], plain.revenue[cohort, k], rel_tol=1e-12, abs_tol=1e-9)
        assert row["is_complete"] == (_add_months(cohort, k + 1) <= as_of + dt.timedelta(days=1))


def test_cdnow_cohort_sizes_add_up_to_the_published_customer_count() -> None:
    plain = Plain(END, first_purchase=False)
    got = cohorts.table(datasets.load_cdnow(), as_of=END).filter(pl.col("period_index") == 0)
    sizes = dict(zip(got["cohort"].to_list(), got["cohort_size"].to_list(), strict=True))
    assert sizes == dict(plain.size)
    # 23,570 customers first bought in 1997 Q1 (Fader, Hardie & Lee 2005); the few whose only
    # days are worth $0 are in no cohort, and a $0 first day moves a customer to a later cohort
    assert sum(sizes.values()) + plain.no_cohort == 23_570
    assert 0 < plain.no_cohort < 100
    assert min(sizes) == dt.date(1997, 1, 1)
    q1 = [dt.date(1997, 1, 1), dt.date(1997, 2, 1), dt.date(1997, 3, 1)]
    assert sum(sizes[m] for m in q1) > 23_400


def test_cdnow_first_purchase_alignment_equals_a_plain_computation() -> None:
    as_of = dt.date(1997, 12, 31)
    plain = Plain(as_of, first_purchase=True)
    got = cohorts.table(datasets.load_cdnow(), as_of=as_of, align="first_purchase")
    firsts: dict[dt.date, list[dt.date]] = defaultdict(list)
    for start in plain.first.values():
        firsts[start.replace(day=1)].append(start)
    for row in got.iter_rows(named=True):
        cohort, k = row["cohort"], row["period_index"]
        earliest, latest = min(firsts[cohort]), max(firsts[cohort])
        assert row["cohort_size"] == len(firsts[cohort])
        if _add_months(earliest, k) > as_of:
            assert row["active_customers"] is None
            continue
        assert row["active_customers"] == len(plain.active[cohort, k])
        assert row["orders"] == plain.orders[cohort, k]
        assert math.isclose(row["revenue"], plain.revenue[cohort, k], rel_tol=1e-12, abs_tol=1e-9)
        assert row["is_complete"] == (_add_months(latest, k + 1) <= as_of + dt.timedelta(days=1))
    # every cell with activity is in the table
    listed = set(zip(got["cohort"].to_list(), got["period_index"].to_list(), strict=True))
    assert {cell for cell, who in plain.active.items() if who} <= listed


def test_cdnow_quarterly_cohorts() -> None:
    plain = Plain(END, first_purchase=False)
    got = cohorts.table(datasets.load_cdnow(), period="1q", as_of=END)
    quarter = lambda d: d.year * 4 + (d.month - 1) // 3  # noqa: E731
    active: dict[tuple[int, int], set[int]] = defaultdict(set)
    for customer, start in plain.first.items():
        for when, value in plain.days[customer].items():
            if value > 0:
                active[quarter(start), quarter(when) - quarter(start)].add(customer)
    for row in got.iter_rows(named=True):
        key = (quarter(row["cohort"]), row["period_index"])
        if sum(key) > quarter(END):  # a quarter after June 1998: not reached
            assert row["active_customers"] is None
        else:
            assert row["active_customers"] == len(active.get(key, ()))
    assert got.height == 2 * 6  # 1997 Q1 .. 1998 Q2
    assert got["cohort"].unique(maintain_order=True).to_list() == [
        dt.date(1997, 1, 1),
        dt.date(1997, 10, 1),
    ]
