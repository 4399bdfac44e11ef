"""replenishment.reminders: hand-worked dates, the blending rule, properties, bad input."""

from __future__ import annotations

import itertools
import statistics
from datetime import date, datetime, timedelta

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from retailcrm import ArgumentError, ColumnError, RetailCRMWarning, datasets, replenishment

D = date


@pytest.fixture
def tx() -> pl.DataFrame:
    # coffee: 1 on Jan 1, 11 (two orders that day), 21, 31 and a return on Feb 1 (ignored);
    #         2 on Jan 5, 25; 3 on Jan 2, 9, 30.  Gaps pooled: 10 10 10 | 20 | 7 21 -> median 10
    # tea: 3 on Jan 3, 4 on Jan 4 -- each bought once: no interval, not listed
    rows = [
        (1, D(2024, 1, 1), "coffee", 9.0), (1, D(2024, 1, 11), "coffee", 9.0),
        (1, D(2024, 1, 11), "coffee", 9.0), (1, D(2024, 1, 21), "coffee", 9.0),
        (1, D(2024, 1, 31), "coffee", 9.0), (1, D(2024, 2, 1), "coffee", -9.0),
        (2, D(2024, 1, 5), "coffee", 9.0), (2, D(2024, 1, 25), "coffee", 9.0),
        (3, D(2024, 1, 2), "coffee", 9.0), (3, D(2024, 1, 9), "coffee", 9.0),
        (3, D(2024, 1, 30), "coffee", 9.0), (3, D(2024, 1, 3), "tea", 3.0),
        (4, D(2024, 1, 4), "tea", 3.0),
    ]  # fmt: skip
    return pl.DataFrame(
        rows, schema=["customer_id", "timestamp", "item", "amount"], orient="row"
    ).with_columns(order_id=pl.int_range(pl.len()))


def test_reminders_by_hand(tx: pl.DataFrame) -> None:
    out = replenishment.reminders(tx, as_of=D(2024, 2, 15))
    expected = pl.DataFrame(
        {
            "customer_id": [2, 1, 3],
            "item": ["coffee"] * 3,
            "purchases": pl.Series([2, 4, 3], dtype=pl.UInt32),
            "last_purchase": [D(2024, 1, 25), D(2024, 1, 31), D(2024, 1, 30)],
            "own_median_days": [20.0, 10.0, 14.0],
            "item_median_days": [10.0, 10.0, 10.0],
            "weight": [0.5, 1.0, 1.0],  # 1 gap of the 2 that give full weight
            "interval_days": [15.0, 10.0, 14.0],
            "next_purchase": [D(2024, 2, 9), D(2024, 2, 10), D(2024, 2, 13)],
            "days_overdue": pl.Series([6, 5, 2], dtype=pl.Int32),
        }
    )
    assert_frame_equal(out, expected)
    # full weight only from 4 purchase days: 3 blends 2/3 of 14 with 1/3 of 10 = 12.67 -> 13 days
    slow = replenishment.reminders(tx, as_of=D(2024, 2, 15), min_purchases=4)
    assert slow.select("customer_id", "weight", "next_purchase", "days_overdue").rows() == [
        (2, 1 / 3, D(2024, 2, 7), 8),  # 20/3 + 20/3 = 13.33 -> 13 days
        (1, 1.0, D(2024, 2, 10), 5),
        (3, 2 / 3, D(2024, 2, 12), 3),
    ]
    # not yet due: a negative number of days overdue
    assert replenishment.reminders(tx, as_of=D(2024, 2, 1))["days_overdue"].to_list() == [
        -8,
        -9,
        -12,
    ]


def test_rounding_half_up_and_lazy() -> None:
    # 1: gaps 10 10 10 10; 2: one gap of 11 -> pooled median 10, interval 10.5 -> 11 days
    days = [D(2024, 1, 1) + timedelta(days=10 * k) for k in range(5)]
    tx = pl.DataFrame(
        {
            "customer_id": [1] * 5 + [2, 2],
            "timestamp": [*days, D(2024, 1, 1), D(2024, 1, 12)],
            "item": [7] * 7,
            "amount": [1.0] * 7,
        }
    )
    out = replenishment.reminders(tx)
    assert out.filter(customer_id=2).select("interval_days", "next_purchase").row(0) == (
        10.5,
        D(2024, 1, 23),  # half up (half to even would give 10 days)
    )
    lazy = replenishment.reminders(tx.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), out)
    # as_of defaults to the last timestamp (Jan 41 = Feb 10), also with datetimes
    stamped = tx.with_columns(pl.col("timestamp").cast(pl.Datetime("us")) + pl.duration(hours=20))
    assert_frame_equal(replenishment.reminders(stamped), out)
    assert out.filter(customer_id=1)["days_overdue"].item() == -10


def test_items_bought_once_and_levels(tx: pl.DataFrame) -> None:
    # tea was bought once by each of its buyers: no reminders for it, no error
    tea = replenishment.reminders(tx.filter(item="tea"))
    assert tea.height == 0
    assert tea.schema["days_overdue"] == pl.Int32
    # at category level, 3's coffee and tea are one category: days Jan 2, 3, 9, 30
    labelled = tx.with_columns(category=pl.lit("hot drinks"))
    out = replenishment.reminders(labelled, level="category", as_of=D(2024, 2, 15))
    assert out.filter(customer_id=3).select("purchases", "own_median_days").row(0) == (4, 6.0)
    assert out.columns[1] == "category"


def test_bad_input(tx: pl.DataFrame) -> None:
    with pytest.raises(ArgumentError, match=r"min_purchases must be a whole number >= 2.*got 1"):
        replenishment.reminders(tx, min_purchases=1)
    with pytest.raises(ArgumentError, match=r"min_purchases.*got True"):
        replenishment.reminders(tx, min_purchases=True)
    with pytest.raises(ColumnError, match=r"level='sku' names no column"):
        replenishment.reminders(tx, level="sku")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['timestamp'\]"):
        replenishment.reminders(tx.drop("timestamp"))
    with pytest.warns(RetailCRMWarning, match=r"1 row\(s\) have a null item"):
        out = replenishment.reminders(
            tx.with_columns(item=pl.when(pl.col("order_id") == 6).then(None).otherwise("item"))
        )
    assert 2 not in out["customer_id"].to_list()  # 2 has one coffee day left


purchases = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 4)),
        column(
            "timestamp",
            dtype=pl.Datetime("us"),
            strategy=st.datetimes(datetime(2024, 1, 1), datetime(2024, 4, 30)),
        ),
        column("item", dtype=pl.String, strategy=st.sampled_from(["a", "b"])),
        column("amount", dtype=pl.Float64, strategy=st.sampled_from([-1.0, 2.0, 5.0])),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)


@settings(max_examples=30, deadline=None)
@given(tx=purchases, k=st.integers(2, 5))
def test_properties(tx: pl.DataFrame, k: int) -> None:
    out = replenishment.reminders(tx, min_purchases=k)
    as_of = tx["timestamp"].max().date()
    # the listed pairs, their gaps and the rule, recomputed in plain Python
    days: dict[tuple[int, str], set[date]] = {}
    for row in tx.filter(pl.col("amount") > 0).iter_rows(named=True):
        days.setdefault((row["customer_id"], row["item"]), set()).add(row["timestamp"].date())
    gaps = {
        key: [(b - a).days for a, b in itertools.pairwise(sorted(v))] for key, v in days.items()
    }
    listed = {key for key, g in gaps.items() if g}
    assert set(zip(out["customer_id"], out["item"], strict=True)) == listed
    for row in out.iter_rows(named=True):
        key = (row["customer_id"], row["item"])
        pooled = [g for (c, i), gs in gaps.items() if i == row["item"] for g in gs]
        w = min(len(gaps[key]) / (k - 1), 1.0)
        interval = w * statistics.median(gaps[key]) + (1 - w) * statistics.median(pooled)
        assert row["interval_days"] == pytest.approx(interval)
        assert row["next_purchase"] == max(days[key]) + timedelta(days=int(interval + 0.5))
        assert row["days_overdue"] == (as_of - row["next_purchase"]).days
    assert out["days_overdue"].is_sorted(descending=True)


def test_simulated_list() -> None:
    sim = datasets.simulate(2_000, seed=5)
    out = replenishment.reminders(sim, level="category")
    assert out.height > 0
    assert out["weight"].is_between(0.5, 1.0).all()  # min_purchases 3: weights 1/2 or 1
    assert (out["purchases"] >= 2).all()
    due = out.filter(pl.col("days_overdue") >= 0)
    assert due["days_overdue"].max() <= (D(2024, 12, 31) - D(2023, 1, 1)).days
