"""RFM of CDNOW against a plain computation over the raw text file that ships with lifetimes."""

from __future__ import annotations

import datetime as dt
import importlib.util
import math
from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from retailcrm import datasets, rfm

AS_OF = dt.date(1998, 6, 30)


def _raw_rows() -> list[tuple[int, dt.date, float]]:
    spec = importlib.util.find_spec("lifetimes")
    if spec is None or spec.origin is None:
        pytest.skip("lifetimes (the source of the raw CDNOW file) is not installed")
    path = Path(spec.origin).parent / "datasets" / "CDNOW_master.txt"
    rows = []
    for line in path.read_text().splitlines()[1:]:
        customer, day, _cds, dollars = line.split()
        when = dt.date(int(day[:4]), int(day[4:6]), int(day[6:]))
        rows.append((int(customer), when, float(dollars)))
    return rows


def test_cdnow_summary_equals_a_plain_computation() -> None:
    days: dict[int, dict[dt.date, float]] = defaultdict(lambda: defaultdict(float))
    for customer, when, dollars in _raw_rows():
        days[customer][when] += dollars  # no order ids in CDNOW: an order is a customer-day
    ours = rfm.summary(datasets.load_cdnow(), as_of=AS_OF)
    assert ours.height == len(days) == 23_570
    by_id = {row["customer_id"]: row for row in ours.iter_rows(named=True)}
    without_purchase = 0
    for customer, orders in days.items():
        row = by_id[customer]
        purchases = [d for d, v in orders.items() if v > 0]  # a $0 day is not a purchase
        assert row["frequency"] == len(purchases)
        assert math.isclose(row["monetary"], sum(orders.values()), rel_tol=1e-12, abs_tol=1e-9)
        if not purchases:
            without_purchase += 1
            assert row["first_purchase"] is row["last_purchase"] is row["recency"] is None
            continue
        assert row["first_purchase"] == min(purchases)
        assert row["last_purchase"] == max(purchases)
        assert row["recency"] == (AS_OF - max(purchases)).days
    # CDNOW has customers whose only transactions are worth $0: counted, never dropped
    assert 0 < without_purchase < 100


def test_cdnow_scores_quintiles_match_a_plain_ranking() -> None:
    summary = rfm.summary(datasets.load_cdnow(), as_of=AS_OF)
    scored = rfm.scores(summary, breaks={"frequency": [1, 2, 3, 5]})
    # recency: plain rank (ties at the lowest position), floor((rank - 1) * 5 / n) + 1
    values = sorted(-r for r in summary["recency"].drop_nulls().to_list())
    first_position = {}
    for position, value in enumerate(values, start=1):
        first_position.setdefault(value, position)
    n = len(values)
    expected = [
        1 if r is None else math.floor((first_position[-r] - 1) * 5 / n) + 1
        for r in summary["recency"]
    ]
    assert scored["r_score"].to_list() == expected
    # CDNOW has 60 distinct frequencies: with fixed breaks the scores follow them exactly
    f = summary["frequency"].to_list()
    assert scored["f_score"].to_list() == [
        1 if x <= 1 else 2 if x <= 2 else 3 if x <= 3 else 4 if x <= 5 else 5 for x in f
    ]
    segments = rfm.segments(scored)
    assert segments["segment"].null_count() == 0
    assert segments.height == 23_570
    # quintiles by construction: each recency score holds about a fifth of the customers
    sizes = scored.group_by("r_score").len()["len"]
    assert sizes.min() > 0.15 * n
    assert sizes.max() < 0.25 * n
    assert pl.Series(segments["segment"]).n_unique() >= 8
