from __future__ import annotations

from datetime import date, datetime

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

import retailcrm.clv as clv
from retailcrm import ArgumentError, ColumnError

TX = pl.DataFrame(
    {
        "customer_id": ["a", "a", "a", "a", "a", "b", "b", "c", "d"],
        "timestamp": [
            datetime(2024, 1, 1, 9),
            datetime(2024, 1, 1, 17),  # same day as the first: one purchase
            datetime(2024, 1, 8, 10),
            datetime(2024, 1, 15, 10),  # a pure return day: not a purchase
            datetime(2024, 1, 22, 10),
            datetime(2024, 1, 3, 12),
            datetime(2024, 2, 20, 12),  # after as_of below
            datetime(2024, 1, 5, 12),  # only a return: no purchase at all
            datetime(2024, 1, 10, 12),
        ],
        "amount": [10.0, 5.0, 30.0, -20.0, 50.0, 7.0, 9.0, -3.0, 4.0],
    }
)


def test_hand_computed_weeks() -> None:
    out = clv.summary(TX, as_of=date(2024, 1, 29))
    assert out.columns == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    assert out.schema["frequency"] == pl.UInt32
    # a: purchase days 1, 8, 22 Jan -> x=2, t_x=21 days, T=28 days, mean of (30, 50)
    # b: one purchase on 3 Jan; d: one on 10 Jan; c never buys and is absent
    assert out["customer_id"].to_list() == ["a", "b", "d"]
    assert out["frequency"].to_list() == [2, 0, 0]
    assert out["recency"].to_list() == pytest.approx([3.0, 0.0, 0.0], rel=1e-15)
    assert out["T"].to_list() == pytest.approx([4.0, 26 / 7, 19 / 7], rel=1e-15)
    assert out["monetary_value"].to_list() == [40.0, 0.0, 0.0]


def test_days_and_default_as_of() -> None:
    out = clv.summary(TX, unit="1d")  # as_of = last day in the data, 2024-02-20
    assert out.filter(pl.col("customer_id") == "b").rows() == [("b", 1, 48.0, 48.0, 9.0)]
    assert out.filter(pl.col("customer_id") == "a").rows() == [("a", 2, 21.0, 50.0, 40.0)]


def test_datetime_as_of_cuts_within_the_day() -> None:
    # 2024-01-01 12:00: the 17:00 line is after as_of, so day 1 is worth 10 only
    out = clv.summary(TX, as_of=datetime(2024, 1, 1, 12), unit="1d")
    assert out.rows() == [("a", 0, 0.0, 0.0, 0.0)]


def test_calibration_and_holdout() -> None:
    out = clv.summary(TX, as_of="2024-02-29", calibration_end=date(2024, 1, 10), unit="1d")
    assert out.columns == [
        "customer_id",
        "frequency",
        "recency",
        "T",
        "monetary_value",
        "frequency_holdout",
        "monetary_value_holdout",
        "duration_holdout",
    ]
    assert out.rows() == [
        ("a", 1, 7.0, 9.0, 30.0, 1, 50.0, 50.0),
        ("b", 0, 0.0, 7.0, 0.0, 1, 9.0, 50.0),
        ("d", 0, 0.0, 0.0, 0.0, 0, 0.0, 50.0),
    ]


def test_lazy_in_lazy_out() -> None:
    lazy = clv.summary(TX.lazy(), as_of="2024-02-29", calibration_end="2024-01-10")
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(
        lazy.collect(), clv.summary(TX, as_of="2024-02-29", calibration_end="2024-01-10")
    )


def test_month_unit_is_average_gregorian_month() -> None:
    out = clv.summary(TX, as_of=date(2024, 1, 29), unit="1mo")
    assert out.row(0)[3] == pytest.approx(28 / (365.2425 / 12), rel=1e-12)


def test_errors() -> None:
    with pytest.raises(ColumnError, match=r"clv.summary: missing column\(s\) \['amount'\]"):
        clv.summary(TX.drop("amount"))
    with pytest.raises(ArgumentError, match=r"clv.summary: period must be .*got '1m'"):
        clv.summary(TX, unit="1m")
    with pytest.raises(
        ArgumentError, match=r"calibration_end='2024-01-10' needs an explicit as_of"
    ):
        clv.summary(TX, calibration_end="2024-01-10")
    with pytest.raises(ArgumentError, match=r"calibration_end \(2024-03-01\) must be before as_of"):
        clv.summary(TX, as_of="2024-02-01", calibration_end="2024-03-01")
    with pytest.raises(ArgumentError, match=r"calibration_end must be a date .* got datetime"):
        clv.summary(TX, as_of="2024-02-01", calibration_end=datetime(2024, 1, 1, 12))


transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 8)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(date(2024, 1, 1), date(2024, 3, 31))),
        column("amount", dtype=pl.Float64, strategy=st.sampled_from([-5.0, 0.0, 1.0, 2.5, 10.0])),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_properties_against_a_plain_computation(tx: pl.DataFrame) -> None:
    out = clv.summary(tx, as_of=date(2024, 3, 31), unit="1d")
    assert_frame_equal(clv.summary(tx.lazy(), as_of=date(2024, 3, 31), unit="1d").collect(), out)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=1)
    assert_frame_equal(clv.summary(shuffled, as_of=date(2024, 3, 31), unit="1d"), out)
    # plain Python: purchase days are days of positive net value
    per_day: dict[tuple[int, date], float] = {}
    for cid, day, amount in tx.iter_rows():
        per_day[(cid, day)] = per_day.get((cid, day), 0.0) + amount
    expected = []
    for cid in sorted({c for c, _ in per_day}):
        days = sorted((d, v) for (c, d), v in per_day.items() if c == cid and v > 0)
        if not days:
            continue
        x = len(days) - 1
        mean = sum(v for _, v in days[1:]) / x if x else 0.0
        t_x = (days[-1][0] - days[0][0]).days
        age = (date(2024, 3, 31) - days[0][0]).days
        expected.append((cid, x, float(t_x), float(age), mean))
    got = out.rows()
    assert [r[:4] for r in got] == [r[:4] for r in expected]
    assert [r[4] for r in got] == pytest.approx([r[4] for r in expected], rel=1e-12)
    assert (out["recency"] <= out["T"]).all()
