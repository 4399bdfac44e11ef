"""segments switching functions: hand-worked fixtures, plain-Python oracles, properties, bad input.

switching_matrix, brand_status, duplication and gain_loss; the oracles below are written
independently of the library, over lists of row dicts.
"""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

import retailcrm.segments as segments
from retailcrm import ArgumentError, ColumnError, RetailCRMWarning

D = date
H1 = ("2024-01-01", "2024-06-30")
H2 = ("2024-07-01", "2024-12-31")


def u32(values: list[int]) -> pl.Series:
    return pl.Series(values, dtype=pl.UInt32)


def quiet(call: Any, *args: Any, **kwargs: Any) -> Any:
    """Call with RetailCRMWarning silenced (null labels are expected in generated data)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        return call(*args, **kwargs)


# --------------------------------------------------------------------------- switching matrix


@pytest.fixture
def baskets() -> pl.DataFrame:
    # customer 1: o1 Jan 5 A 30 + B 10 (+ a return of C, -5: not part of the mix),
    #             o1b Jan 20 C 40, o2 Feb 1 A 20, o3 Mar 1 B 8 + C 8
    # customer 2: o4 Jan 10 B 10, o5 Feb 10 C 5
    # customer 3: o6 Jan 3 A 10 (one occasion: no transition)
    # brands A and B are in category X, C in category Y
    rows = [
        (1, "o1", D(2024, 1, 5), "A", "X", 30.0),
        (1, "o1", D(2024, 1, 5), "B", "X", 10.0),
        (1, "o1", D(2024, 1, 5), "C", "Y", -5.0),
        (1, "o1b", D(2024, 1, 20), "C", "Y", 40.0),
        (1, "o2", D(2024, 2, 1), "A", "X", 20.0),
        (1, "o3", D(2024, 3, 1), "B", "X", 8.0),
        (1, "o3", D(2024, 3, 1), "C", "Y", 8.0),
        (2, "o4", D(2024, 1, 10), "B", "X", 10.0),
        (2, "o5", D(2024, 2, 10), "C", "Y", 5.0),
        (3, "o6", D(2024, 1, 3), "A", "X", 10.0),
    ]
    return pl.DataFrame(
        rows,
        schema=["customer_id", "order_id", "timestamp", "brand", "category", "amount"],
        orient="row",
    )


def matrix(rows: list[tuple], parents: tuple[str, ...] = ()) -> pl.DataFrame:
    names = [*parents, "from", "to", "customers", "transitions", "probability"]
    frame = pl.DataFrame(rows, schema=names, orient="row")
    return frame.with_columns(pl.col("customers").cast(pl.UInt32))


def test_switching_by_occasion_by_hand(baskets: pl.DataFrame) -> None:
    # c1: o1 (A .75, B .25) -> o1b (C): A>C .75, B>C .25; o1b -> o2: C>A 1;
    #     o2 -> o3 (B .5, C .5): A>B .5, A>C .5.   c2: o4 -> o5: B>C 1.
    expected = matrix(
        [
            ("A", "B", 1, 0.5, 0.5 / 1.75),
            ("A", "C", 1, 1.25, 1.25 / 1.75),
            ("B", "C", 2, 1.25, 1.0),
            ("C", "A", 1, 1.0, 1.0),
        ]
    )
    out = segments.switching_matrix(baskets)
    assert_frame_equal(out, expected)
    # without order_id every customer-day is an occasion: here the same occasions
    assert_frame_equal(segments.switching_matrix(baskets.drop("order_id")), expected)


def test_switching_by_period_pools_a_period(baskets: pl.DataFrame) -> None:
    # c1 January pools o1 and o1b: A 30, B 10, C 40 -> (.375, .125, .5); Feb A; Mar B .5, C .5
    expected = matrix(
        [
            ("A", "A", 1, 0.375, 0.375 / 1.375),
            ("A", "B", 1, 0.5, 0.5 / 1.375),
            ("A", "C", 1, 0.5, 0.5 / 1.375),
            ("B", "A", 1, 0.125, 0.125 / 1.125),
            ("B", "C", 1, 1.0, 1.0 / 1.125),
            ("C", "A", 1, 0.5, 1.0),
        ]
    )
    assert_frame_equal(segments.switching_matrix(baskets, by="period", period="1mo"), expected)
    # one quarter: every customer has a single occasion
    assert segments.switching_matrix(baskets, by="period", period="1q").height == 0


def test_switching_within_category(baskets: pl.DataFrame) -> None:
    # X: c1 o1 (A .75, B .25) -> o2 (A) -> o3 (B): A>A .75, B>A .25, A>B 1; c2 has one X occasion
    # Y: c1 o1b (C) -> o3 (C): C>C 1 (the return in o1 is no purchase)
    expected = matrix(
        [
            ("X", "A", "A", 1, 0.75, 0.75 / 1.75),
            ("X", "A", "B", 1, 1.0, 1.0 / 1.75),
            ("X", "B", "A", 1, 0.25, 1.0),
            ("Y", "C", "C", 1, 1.0, 1.0),
        ],
        parents=("category",),
    )
    assert_frame_equal(segments.switching_matrix(baskets, within="category"), expected)


def test_switching_window_ties_and_levels(baskets: pl.DataFrame) -> None:
    # as_of Feb 10 with a 1-month look-back keeps Jan 11 .. Feb 10: c1 o1b -> o2, c2 o5 alone
    out = segments.switching_matrix(baskets, as_of=D(2024, 2, 10), lookback="1mo")
    assert out.select("from", "to", "transitions").rows() == [("C", "A", 1.0)]
    # two orders at one timestamp are ordered by order_id, whatever the row order
    tied = pl.DataFrame(
        {
            "customer_id": [1, 1, 1],
            "order_id": [2, 1, 3],
            "timestamp": [D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 2)],
            "item": [20, 10, 30],
            "amount": [1.0, 1.0, 1.0],
        }
    )
    out = segments.switching_matrix(tied, level="item")
    assert out.select("from", "to").rows() == [(10, 20), (20, 30)]
    assert_frame_equal(segments.switching_matrix(tied.reverse(), level="item"), out)


def test_switching_keeps_enum_dtype_and_lazy(baskets: pl.DataFrame) -> None:
    brands = pl.Enum(["C", "B", "A"])
    enum = baskets.with_columns(pl.col("brand").cast(brands))
    out = segments.switching_matrix(enum.lazy())
    assert isinstance(out, pl.LazyFrame)
    got = out.collect()
    assert got.schema["from"] == brands
    assert got.schema["to"] == brands
    assert got.select(pl.col("from").cast(pl.String)).to_series().to_list() == ["C", "B", "A", "A"]


def test_switching_on_simulated_data_rows_sum_to_one() -> None:
    from retailcrm import datasets

    tx = datasets.simulate(300, seed=3)
    out = segments.switching_matrix(tx, within="category")
    sums = out.group_by("category", "from").agg(pl.col("probability").sum())
    assert sums["probability"].to_list() == pytest.approx([1.0] * sums.height)
    # every pair of consecutive occasions adds 1: the total is the number of such pairs
    occasions = tx.filter(pl.col("amount") > 0).select("customer_id", "category", "order_id")
    pairs = occasions.unique().group_by("customer_id", "category").len()["len"] - 1
    assert out["transitions"].sum() == pytest.approx(pairs.sum())


# --------------------------------------------------------------------------- brand status


@pytest.fixture
def buyers() -> pl.DataFrame:
    rows = [
        (1, D(2023, 9, 1), "A", 10.0),  # a: A        b: B          -> switcher A -> B
        (1, D(2024, 2, 1), "B", 10.0),
        (2, D(2023, 8, 1), "A", 10.0),  # a: A 10 B 5 b: A 8 B 2    -> repeat (A share .8)
        (2, D(2023, 8, 2), "B", 5.0),
        (2, D(2024, 3, 1), "A", 8.0),
        (2, D(2024, 3, 2), "B", 2.0),
        (3, D(2023, 7, 5), "A", 5.0),  # a: A         b: A          -> sole
        (3, D(2024, 1, 5), "A", 5.0),
        (4, D(2023, 12, 31), "A", 5.0),  # a: A        b: nothing    -> lapsed
        (5, D(2024, 2, 1), "A", 3.0),  # b only, nothing before      -> new
        (6, D(2023, 3, 1), "B", 4.0),  # before a, in the look-back  -> returning
        (6, D(2024, 4, 1), "B", 2.0),
        (7, D(2022, 5, 1), "A", 1.0),  # before the look-back        -> new
        (7, D(2024, 4, 1), "A", 1.0),
        (8, D(2023, 10, 1), "B", 3.0),  # a: B; b: only a return      -> lapsed
        (8, D(2024, 1, 9), "B", -10.0),
        (9, D(2023, 11, 1), "A", 5.0),  # a: A 5 B 5 (tie: A); b: B 6 A 6 (tie: A) -> repeat
        (9, D(2023, 11, 2), "B", 5.0),
        (9, D(2024, 5, 1), "B", 6.0),
        (9, D(2024, 5, 2), "A", 6.0),
        (10, D(2024, 9, 1), "A", 9.0),  # after period b only: not in the result
    ]
    return pl.DataFrame(rows, schema=["customer_id", "timestamp", "brand", "amount"], orient="row")


A23H2 = ("2023-07-01", "2023-12-31")
B24H1 = ("2024-01-01", "2024-06-30")


def test_brand_status_by_hand(buyers: pl.DataFrame) -> None:
    out = segments.brand_status(buyers, period_a=A23H2, period_b=B24H1)
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6, 7, 8, 9],
            "status": ["switcher", "repeat", "sole", "lapsed", "new", "returning", "new",
                       "lapsed", "repeat"],
            "from": ["A", "A", "A", "A", None, None, None, "B", "A"],
            "to": ["B", "A", "A", None, "A", "B", "A", None, "A"],
            "spend_a": [10.0, 15.0, 5.0, 5.0, 0.0, 0.0, 0.0, 3.0, 10.0],
            "spend_b": [10.0, 10.0, 5.0, 0.0, 3.0, 2.0, 1.0, 0.0, 12.0],
            "from_share": [1.0, 10 / 15, 1.0, 1.0, None, None, None, 1.0, 0.5],
            "to_share": [1.0, 0.8, 1.0, None, 1.0, 1.0, 1.0, None, 0.5],
        },
        schema_overrides={"status": pl.Enum(segments.STATUSES)},
    )  # fmt: skip
    assert_frame_equal(out, expected)


def test_brand_status_options(buyers: pl.DataFrame) -> None:
    status = pl.col("status").cast(pl.String)
    # a lower sole share makes customer 2 (A share .8) a sole buyer
    out = segments.brand_status(buyers, period_a=A23H2, period_b=B24H1, sole_share=0.8)
    assert out.filter(pl.col("customer_id") == 2).select(status).item() == "sole"
    # without a look-back limit customer 7 (bought in 2022) is returning, not new
    out = segments.brand_status(buyers, period_a=A23H2, period_b=B24H1, lookback=None)
    assert out.filter(pl.col("customer_id") == 7).select(status).item() == "returning"
    # a 1-month look-back (December 2023) makes customer 1 (a: September) new
    out = segments.brand_status(buyers, period_a=A23H2, period_b=B24H1, lookback="1mo")
    assert out.filter(pl.col("customer_id").is_in([1, 3])).select(status).to_series().to_list() \
        == ["new", "new"]  # fmt: skip


def test_brand_status_within_category_and_local_dates() -> None:
    # one customer, two categories; tz-aware timestamps: periods follow the local date
    tz = "Europe/Paris"
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 1],
            "timestamp": [
                datetime(2023, 12, 31, 23, 30),  # local Dec 31: period a
                datetime(2024, 1, 1, 0, 30),  # local Jan 1: period b
                datetime(2023, 6, 1, 12),
                datetime(2024, 6, 1, 12),
            ],
            "brand": ["A", "B", "C", "C"],
            "category": ["X", "X", "Y", "Y"],
            "amount": [1.0, 1.0, 2.0, 3.0],
        }
    ).with_columns(pl.col("timestamp").dt.replace_time_zone(tz))
    out = segments.brand_status(
        tx,
        within="category",
        period_a=("2023-01-01", "2023-12-31"),
        period_b=("2024-01-01", "2024-12-31"),
    )
    assert out.select("category", pl.col("status").cast(pl.String), "from", "to").rows() == [
        ("X", "switcher", "A", "B"),
        ("Y", "sole", "C", "C"),
    ]


# --------------------------------------------------------------------------- duplication


def test_duplication_by_hand() -> None:
    # buyers: A {1, 2, 3, 4}, B {1, 2}, C {2, 5}; customer 6 only returned A (no buyer)
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 2, 3, 4, 5, 6],
            "timestamp": [D(2024, 1, 1)] * 9,
            "brand": ["A", "B", "A", "B", "C", "A", "A", "C", "A"],
            "amount": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, -3.0],
        }
    )
    out = segments.duplication(tx)
    # penetration over 5 buyers: A .8, B .4, C .4; six duplications sum to 3.25
    d = (3.25 / 6) / (1.6 / 3)
    pen = {"A": 0.8, "B": 0.4, "C": 0.4}
    rows = [
        ("A", "B", 4, 2, 2, 0.5),
        ("A", "C", 4, 2, 1, 0.25),
        ("B", "A", 2, 4, 2, 1.0),
        ("B", "C", 2, 2, 1, 0.5),
        ("C", "A", 2, 4, 1, 0.5),
        ("C", "B", 2, 2, 1, 0.5),
    ]
    expected = pl.DataFrame(
        [(*r, pen[r[1]], d, d * pen[r[1]]) for r in rows],
        schema=["a", "b", "buyers_a", "buyers_b", "buyers_both", "duplication",
                "penetration_b", "duplication_coefficient", "expected_duplication"],
        orient="row",
    ).with_columns(pl.col("buyers_a", "buyers_b", "buyers_both").cast(pl.UInt32))  # fmt: skip
    assert_frame_equal(out, expected)
    assert d == pytest.approx(1.015625)


def test_duplication_within_and_single_value() -> None:
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 3, 3],
            "timestamp": [D(2024, 1, 1)] * 5,
            "brand": ["A", "B", "A", "C", "A"],
            "category": ["X", "X", "X", "Y", "X"],
            "amount": [1.0] * 5,
        }
    )
    out = segments.duplication(tx, within="category")
    # X: A {1, 2, 3}, B {1}: A>B 1/3, B>A 1; K = 2, D = (4/3 / 2) / ((1 + 1/3) / 2) = 1
    assert out.select("category", "a", "b", "duplication", "duplication_coefficient").rows() == [
        ("X", "A", "B", pytest.approx(1 / 3), pytest.approx(1.0)),
        ("X", "B", "A", 1.0, pytest.approx(1.0)),
    ]
    # one brand only: no pair
    assert segments.duplication(tx.filter(pl.col("brand") == "A")).height == 0


# --------------------------------------------------------------------------- gain / loss


@pytest.fixture
def spends() -> pl.DataFrame:
    rows = [
        (1, D(2024, 2, 1), "A", "X", 10.0),  # a: A 10 B 10, b: A 30 -> increased 5, to 15
        (1, D(2024, 2, 1), "B", "X", 10.0),
        (1, D(2024, 8, 1), "A", "X", 30.0),
        (2, D(2024, 3, 1), "C", "Y", 4.0),  # Y is not the focus's category
        (2, D(2024, 8, 1), "A", "X", 5.0),  # new in X: 5
        (3, D(2024, 2, 1), "A", "X", 20.0),  # a: A 20, b: B 20 -> switched from: -20
        (3, D(2024, 8, 1), "B", "X", 20.0),
        (4, D(2024, 2, 1), "A", "X", 10.0),  # a: A 10 B 10, b: A 5 B 5 -> decreased -5
        (4, D(2024, 2, 1), "B", "X", 10.0),
        (4, D(2024, 8, 1), "A", "X", 5.0),
        (4, D(2024, 8, 1), "B", "X", 5.0),
        (5, D(2024, 2, 1), "A", "X", 7.0),  # a: A 7, b: nothing -> lost -7
        (6, D(2024, 2, 1), "B", "X", 5.0),  # B both periods: nothing
        (6, D(2024, 8, 1), "B", "X", 5.0),
    ]
    return pl.DataFrame(
        rows, schema=["customer_id", "timestamp", "brand", "category", "amount"], orient="row"
    )


def components(customers: list[int], change: list[float]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "component": pl.Series(segments.COMPONENTS, dtype=pl.Enum(segments.COMPONENTS)),
            "customers": u32(customers),
            "spend_change": change,
        }
    )


def test_gain_loss_by_hand(spends: pl.DataFrame) -> None:
    out = segments.gain_loss(spends, focus="A", within="category", period_a=H1, period_b=H2)
    assert_frame_equal(out, components([1, 1, 1, 1, 1, 1], [5.0, 5.0, 15.0, -20.0, -5.0, -7.0]))
    assert out["spend_change"].sum() == pytest.approx(40.0 - 47.0)
    # without within customer 2's category-Y spend makes them a continuing buyer who switched
    out = segments.gain_loss(spends, focus="A", period_a=H1, period_b=H2)
    assert_frame_equal(out, components([0, 1, 2, 1, 1, 1], [0.0, 5.0, 20.0, -20.0, -5.0, -7.0]))


def test_gain_loss_portfolio_and_lazy(spends: pl.DataFrame) -> None:
    # A and B together: only customer 2 (new in X), 1 (X up 10), 4 (X down 10) and 5 (lost) move
    out = segments.gain_loss(
        spends.lazy(), focus=["A", "B"], within="category", period_a=H1, period_b=H2
    )
    assert isinstance(out, pl.LazyFrame)
    assert_frame_equal(
        out.collect(), components([1, 1, 0, 0, 1, 1], [5.0, 10.0, 0.0, 0.0, -10.0, -7.0])
    )


def test_gain_loss_focus_matching_nothing_warns(spends: pl.DataFrame) -> None:
    with pytest.warns(RetailCRMWarning, match=r"focus 'Z' has no line in period_a or period_b"):
        out = segments.gain_loss(spends, focus="Z", period_a=H1, period_b=H2)
    assert out["spend_change"].to_list() == [0.0] * 6
    enum = spends.with_columns(pl.col("brand").cast(pl.Enum(["A", "B", "C"])))
    with pytest.warns(RetailCRMWarning, match=r"\['Z'\] are not categories of brand"):
        out = segments.gain_loss(enum.lazy(), focus="Z", period_a=H1, period_b=H2).collect()
    assert out["customers"].to_list() == [0] * 6


# --------------------------------------------------------------------------- nulls and bad input


def test_null_labels_are_left_out_with_a_warning(baskets: pl.DataFrame) -> None:
    extra = pl.DataFrame(
        {
            "customer_id": [2],
            "order_id": ["o7"],
            "timestamp": [D(2024, 3, 10)],
            "brand": [None],
            "category": ["X"],
            "amount": [7.0],
        },
        schema=baskets.schema,
    )
    with_null = pl.concat([baskets, extra])
    with pytest.warns(RetailCRMWarning, match=r"1 row\(s\) have a null brand and are left out"):
        out = segments.switching_matrix(with_null)
    assert_frame_equal(out, segments.switching_matrix(baskets))
    # lazy input is not read twice: no warning, the same result
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert_frame_equal(segments.switching_matrix(with_null.lazy()).collect(), out)
    with pytest.warns(RetailCRMWarning, match=r"null brand or category"):
        segments.duplication(with_null, within="category")
    # in gain_loss a null brand is not the focus but still category spend: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = segments.gain_loss(with_null, focus="A", within="category", period_a=H1,
                                 period_b=H2)  # fmt: skip
    assert out["spend_change"].sum() == pytest.approx(0.0 - 60.0)  # all A is in H1
    no_category = with_null.with_columns(category=pl.lit(None, pl.String))
    with pytest.warns(RetailCRMWarning, match=r"11 row\(s\) have a null category"):
        segments.gain_loss(no_category, focus="A", within="category", period_a=H1, period_b=H2)


def test_empty_input_gives_empty_frames(baskets: pl.DataFrame) -> None:
    empty = baskets.clear()
    assert segments.switching_matrix(empty).height == 0
    assert segments.duplication(empty, within="category").height == 0
    assert segments.brand_status(empty, period_a=H1, period_b=H2).height == 0
    with pytest.warns(RetailCRMWarning, match="has no line"):
        out = segments.gain_loss(empty, focus="A", period_a=H1, period_b=H2)
    assert out["spend_change"].to_list() == [0.0] * 6


def test_bad_input(baskets: pl.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"level='brnd' names no column; the frame has \["):
        segments.switching_matrix(baskets, level="brnd")
    with pytest.raises(ColumnError, match=r"within='dept' names no column.*prepare"):
        segments.duplication(baskets, within="dept")
    with pytest.raises(ArgumentError, match=r"within must be a parent of level.*both are 'brand'"):
        segments.switching_matrix(baskets, within="brand")
    with pytest.raises(ArgumentError, match=r"level='amount' is not a label column"):
        segments.duplication(baskets, level="amount")
    with pytest.raises(ArgumentError, match=r"by must be one of \['occasion', 'period'\]"):
        segments.switching_matrix(baskets, by="order")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"period must be '<n>d'"):
        segments.switching_matrix(baskets, by="period", period="month")
    with pytest.raises(ArgumentError, match=r"lookback must be a duration.*got '1 year'"):
        segments.brand_status(baskets, period_a=H1, period_b=H2, lookback="1 year")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['amount'\]"):
        segments.switching_matrix(baskets.drop("amount"))


def test_bad_periods(baskets: pl.DataFrame) -> None:
    call = segments.brand_status
    with pytest.raises(ArgumentError, match=r"period_a is reversed: it starts on 2024-06-30 but"):
        call(baskets, period_a=("2024-06-30", "2024-01-01"), period_b=H2)
    with pytest.raises(ArgumentError, match=r"overlap from 2024-06-01 to 2024-06-30; period_a"):
        call(baskets, period_a=H1, period_b=("2024-06-01", "2024-12-31"))
    with pytest.raises(ArgumentError, match=r"period_b \(2024-01-01 to 2024-06-30\) comes before"):
        segments.gain_loss(baskets, focus="A", period_a=H2, period_b=H1)
    with pytest.raises(ArgumentError, match=r"period_b must be a \(start, end\) pair.*got '2024'"):
        call(baskets, period_a=H1, period_b="2024")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"period_a must be a \(start, end\) pair"):
        call(baskets, period_a=("2024-01-01", "soon"), period_b=H2)
    with pytest.raises(ArgumentError, match=r"sole_share must be a number in \(0.5, 1\]"):
        call(baskets, period_a=H1, period_b=H2, sole_share=0.3)
    with pytest.raises(ArgumentError, match=r"focus 'A' is not a value of item \(Int32\)"):
        segments.gain_loss(baskets.with_columns(item=pl.lit(1)), focus="A", level="item",
                           period_a=H1, period_b=H2)  # fmt: skip
    with pytest.raises(ArgumentError, match=r"focus must be a brand value or a non-empty list"):
        segments.gain_loss(baskets, focus=[], period_a=H1, period_b=H2)


# --------------------------------------------------------------------------- oracles

Row = dict[str, Any]


def plain_switching(rows: list[Row], within: str | None) -> dict[tuple, tuple[float, int]]:
    """(parent, from, to) -> (transitions, customers), straight from the definition."""
    mix: dict[tuple, dict[Any, float]] = defaultdict(lambda: defaultdict(float))
    first: dict[tuple, date] = {}
    for r in rows:
        if r["amount"] <= 0 or r["brand"] is None or (within and r[within] is None):
            continue
        key = (r["customer_id"], r[within] if within else None, r["order_id"])
        mix[key][r["brand"]] += r["amount"]
        first[key] = min(first.get(key, r["timestamp"]), r["timestamp"])
    sequences: dict[tuple, list] = defaultdict(list)
    for (customer, parent, order), labels in mix.items():
        sequences[customer, parent].append((first[customer, parent, order], order, labels))
    cells: dict[tuple, float] = defaultdict(float)
    who: dict[tuple, set] = defaultdict(set)
    for (customer, parent), seq in sequences.items():
        seq.sort(key=lambda s: (s[0], s[1]))
        for (_, _, x), (_, _, y) in itertools.pairwise(seq):
            for i, si in x.items():
                for j, sj in y.items():
                    cells[parent, i, j] += si / sum(x.values()) * sj / sum(y.values())
                    who[parent, i, j].add(customer)
    return {k: (v, len(who[k])) for k, v in cells.items()}


def plain_status(rows: list[Row], a: tuple[date, date], b: tuple[date, date], seen_from: date):
    spend: dict[Any, dict[str, dict[str, float]]] = defaultdict(
        lambda: {"a": defaultdict(float), "b": defaultdict(float)}
    )
    seen: set = set()
    for r in rows:
        if r["amount"] <= 0 or r["brand"] is None:
            continue
        day, c = r["timestamp"], r["customer_id"]
        if a[0] <= day <= a[1]:
            spend[c]["a"][r["brand"]] += r["amount"]
        if b[0] <= day <= b[1]:
            spend[c]["b"][r["brand"]] += r["amount"]
        if seen_from <= day < b[0]:
            seen.add(c)
    out = {}
    for c, s in spend.items():
        if not s["a"] and not s["b"]:
            continue

        def main(p: dict[str, float]) -> str | None:
            return min(p, key=lambda k: (-p[k], k)) if p else None

        f, t = main(s["a"]), main(s["b"])
        if not s["b"]:
            status = "lapsed"
        elif c not in seen:
            status = "new"
        elif not s["a"]:
            status = "returning"
        elif f != t:
            status = "switcher"
        elif s["b"][t] / sum(s["b"].values()) >= 1.0:
            status = "sole"
        else:
            status = "repeat"
        out[c] = (status, f, t)
    return out


def plain_duplication(rows: list[Row]) -> tuple[dict[tuple, float], float | None]:
    buyers: dict[str, set] = defaultdict(set)
    for r in rows:
        if r["amount"] > 0 and r["brand"] is not None:
            buyers[r["brand"]].add(r["customer_id"])
    n = len(set().union(*buyers.values())) if buyers else 0
    dup = {
        (x, y): len(buyers[x] & buyers[y]) / len(buyers[x])
        for x in buyers
        for y in buyers
        if x != y
    }
    k = len(buyers)
    if k < 2:
        return {p: v for p, v in dup.items() if v > 0}, None
    d = (sum(dup.values()) / (k * (k - 1))) / (sum(len(v) / n for v in buyers.values()) / k)
    return {p: v for p, v in dup.items() if v > 0}, d


def plain_gain_loss(rows: list[Row], a: tuple[date, date], b: tuple[date, date]) -> dict:
    per: dict[Any, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0, 0.0])
    for r in rows:
        day = r["timestamp"]
        p = 0 if a[0] <= day <= a[1] else 1 if b[0] <= day <= b[1] else None
        if p is None:
            continue
        per[r["customer_id"]][2 + p] += r["amount"]
        if r["brand"] == "A":
            per[r["customer_id"]][p] += r["amount"]
    parts = dict.fromkeys(segments.COMPONENTS, 0.0)
    for fa, fb, ta, tb in per.values():
        if ta <= 0 < tb:
            parts["new"] += fb - fa
        elif tb <= 0 < ta:
            parts["lost"] += fb - fa
        elif ta <= 0 and tb <= 0:
            parts["increased" if fb > fa else "decreased"] += fb - fa
        else:
            e = fa / ta * (tb - ta)
            s = (fb - fa) - e
            parts["increased" if e > 0 else "decreased"] += e
            parts["switched_to" if s > 0 else "switched_from"] += s
    return parts


# --------------------------------------------------------------------------- properties

transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 8)),
        column("order_id", dtype=pl.Int64, strategy=st.integers(0, 15)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2023, 10, 1), D(2024, 6, 30))),
        column("brand", dtype=pl.String, strategy=st.sampled_from(["A", "B", "C"]),
               allow_null=True),
        column("category", dtype=pl.String, strategy=st.sampled_from(["X", "Y"])),
        column("amount", dtype=pl.Float64, strategy=st.integers(-10, 30).map(float)),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)  # fmt: skip

PA = (D(2024, 1, 1), D(2024, 2, 29))
PB = (D(2024, 3, 1), D(2024, 6, 30))


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_switching_matches_the_definition(tx: pl.DataFrame) -> None:
    rows = tx.to_dicts()
    for within in (None, "category"):
        out = quiet(segments.switching_matrix, tx, within=within)
        expected = plain_switching(rows, within)
        parents = [within] if within else []
        got = {
            (r[within] if within else None, r["from"], r["to"]): (r["transitions"], r["customers"])
            for r in out.iter_rows(named=True)
        }
        assert got.keys() == expected.keys()
        for key, (weight, customers) in expected.items():
            assert got[key][0] == pytest.approx(weight)
            assert got[key][1] == customers
        sums = out.group_by(*parents, "from").agg(pl.col("probability").sum())["probability"]
        assert sums.to_list() == pytest.approx([1.0] * len(sums))  # rows sum to 1
        shuffled = tx.sample(fraction=1.0, shuffle=True, seed=7)
        assert_frame_equal(quiet(segments.switching_matrix, shuffled, within=within), out)
        assert_frame_equal(segments.switching_matrix(tx.lazy(), within=within).collect(), out)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_every_customer_gets_exactly_one_status(tx: pl.DataFrame) -> None:
    out = quiet(segments.brand_status, tx, period_a=PA, period_b=PB, lookback="3mo")
    expected = plain_status(
        tx.to_dicts(), PA, PB, seen_from=D(2023, 11, 30)
    )  # (Feb 29 - 3mo, Feb 29]
    assert out["customer_id"].is_unique().all()
    assert out["status"].null_count() == 0
    got = {r["customer_id"]: (r["status"], r["from"], r["to"]) for r in out.iter_rows(named=True)}
    assert got == expected
    assert_frame_equal(
        quiet(segments.brand_status, tx.reverse(), period_a=PA, period_b=PB, lookback="3mo"),
        out,
    )
    lazy = segments.brand_status(tx.lazy(), period_a=PA, period_b=PB, lookback="3mo")
    assert_frame_equal(lazy.collect(), out)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_duplication_matches_plain_sets(tx: pl.DataFrame) -> None:
    out = quiet(segments.duplication, tx)
    dup, d = plain_duplication(tx.to_dicts())
    got = {(r["a"], r["b"]): r["duplication"] for r in out.iter_rows(named=True)}
    assert got == pytest.approx(dup)
    if d is not None and out.height:
        assert out["duplication_coefficient"].to_list() == pytest.approx([d] * out.height)
    assert_frame_equal(quiet(segments.duplication, tx.reverse()), out)
    assert_frame_equal(segments.duplication(tx.lazy()).collect(), out)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_gain_loss_parts_sum_to_the_total_change(tx: pl.DataFrame) -> None:
    out = quiet(segments.gain_loss, tx, focus="A", period_a=PA, period_b=PB)
    focus = tx.filter(pl.col("brand") == "A")
    total = sum(
        sign * focus.filter(pl.col("timestamp").is_between(*p))["amount"].sum()
        for sign, p in ((-1, PA), (1, PB))
    )
    assert out["spend_change"].sum() == pytest.approx(total, abs=1e-9)
    expected = plain_gain_loss(tx.to_dicts(), PA, PB)
    assert dict(zip(out["component"], out["spend_change"], strict=True)) == pytest.approx(expected)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=3)
    assert_frame_equal(quiet(segments.gain_loss, shuffled, focus="A", period_a=PA, period_b=PB),
                       out)  # fmt: skip
    lazy = segments.gain_loss(tx.lazy(), focus="A", within="category", period_a=PA, period_b=PB)
    eager = quiet(segments.gain_loss, tx, focus="A", within="category", period_a=PA, period_b=PB)
    assert_frame_equal(lazy.collect(), eager)
    assert eager["spend_change"].sum() == pytest.approx(total, abs=1e-9)
    # without returns every gain is >= 0 and every loss <= 0
    bought = tx.filter(pl.col("amount") > 0)
    out = quiet(segments.gain_loss, bought, focus="A", within="category", period_a=PA, period_b=PB)
    sign = (
        pl.when(pl.col("component").is_in(["new", "increased", "switched_to"]))
        .then(1)
        .otherwise(-1)
    )
    assert (out["spend_change"] * out.select(sign).to_series() >= -1e-9).all()


def test_datetime_timestamps_give_the_same_status(buyers: pl.DataFrame) -> None:
    at_noon = buyers.with_columns(pl.col("timestamp").cast(pl.Datetime("us")) + timedelta(hours=12))
    assert_frame_equal(
        segments.brand_status(at_noon, period_a=A23H2, period_b=B24H1),
        segments.brand_status(buyers, period_a=A23H2, period_b=B24H1),
    )
