from __future__ import annotations

import datetime as dt
import warnings
from datetime import date

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

import retailcrm
from retailcrm import ArgumentError, ColumnError, DataError, RetailCRMWarning, rfm

# --------------------------------------------------------------------------- hand-worked cases


@pytest.fixture
def tx() -> pl.DataFrame:
    # customer 1: two orders (one of two lines) and a later partial return
    # customer 2: one order, then a pure-return order
    # customer 3: only a return (no purchase occasion)
    # customer 4: buys after as_of=2024-03-31 only
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 2, 3, 4],
            "order_id": ["a", "a", "b", "c", "d", "e", "f", "g"],
            "timestamp": [
                date(2024, 1, 1),
                date(2024, 1, 1),
                date(2024, 2, 10),
                date(2024, 2, 20),
                date(2024, 3, 1),
                date(2024, 3, 5),
                date(2024, 1, 15),
                date(2024, 4, 2),
            ],
            "amount": [10.0, 20.0, 50.0, -5.0, 40.0, -40.0, -7.5, 99.0],
        }
    )


def test_summary_by_hand(tx: pl.DataFrame) -> None:
    out = rfm.summary(tx, as_of=date(2024, 3, 31))
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "first_purchase": [date(2024, 1, 1), date(2024, 3, 1), None],
            "last_purchase": [date(2024, 2, 10), date(2024, 3, 1), None],
            "recency": pl.Series([50, 30, None], dtype=pl.Int32),
            "frequency": pl.Series([2, 1, 0], dtype=pl.UInt32),
            "monetary": [75.0, 0.0, -7.5],
            "average_order_value": [37.5, 0.0, None],
        }
    )
    assert_frame_equal(out, expected)


def test_summary_default_as_of_is_last_timestamp(tx: pl.DataFrame) -> None:
    out = rfm.summary(tx)
    assert out["customer_id"].to_list() == [1, 2, 3, 4]
    # last timestamp 2024-04-02: customer 4 bought that day
    assert out.filter(customer_id=4)["recency"].item() == 0
    assert (
        out.filter(customer_id=1)["recency"].item() == (date(2024, 4, 2) - date(2024, 2, 10)).days
    )


def test_summary_without_order_id_uses_customer_days(tx: pl.DataFrame) -> None:
    out = rfm.summary(tx.drop("order_id"), as_of="2024-03-31")
    # customer 1: Jan 1 (two lines, one day) and Feb 10 are purchases; Feb 20 is a return day
    assert out.filter(customer_id=1)["frequency"].item() == 2


def test_summary_datetime_with_time_zone_counts_local_days() -> None:
    ts = [dt.datetime(2024, 1, 1, 23, 30), dt.datetime(2024, 1, 2, 0, 30)]
    tx = pl.DataFrame({"customer_id": [1, 1], "amount": [1.0, 2.0], "timestamp": ts}).with_columns(
        pl.col("timestamp").dt.replace_time_zone("Europe/Berlin")
    )
    out = rfm.summary(tx, as_of=date(2024, 1, 3))
    assert out["frequency"].item() == 2  # two local days
    assert out["recency"].item() == 1
    assert out["last_purchase"].dtype == pl.Datetime("us", "Europe/Berlin")
    # a naive datetime as_of is read in the column's zone: 00:00 Berlin excludes the 00:30 row
    early = rfm.summary(tx, as_of=dt.datetime(2024, 1, 2, 0, 0))
    assert early["frequency"].item() == 1


def test_summary_lazy_in_lazy_out(tx: pl.DataFrame) -> None:
    lazy = rfm.summary(tx.lazy(), as_of=date(2024, 3, 31))
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), rfm.summary(tx, as_of=date(2024, 3, 31)))


def test_summary_empty_frame_gives_empty_result(tx: pl.DataFrame) -> None:
    out = rfm.summary(tx.clear())
    assert out.height == 0
    assert out.columns == [
        "customer_id",
        "first_purchase",
        "last_purchase",
        "recency",
        "frequency",
        "monetary",
        "average_order_value",
    ]


def test_scores_by_hand_quantiles_and_ties() -> None:
    s = pl.DataFrame(
        {
            "customer_id": list(range(10)),
            "recency": [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
            "frequency": [1, 1, 1, 1, 1, 1, 2, 2, 3, 9],
            "monetary": [10.0, 20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0],
        }
    )
    with pytest.warns(RetailCRMWarning, match=r"f_score leaves score\(s\) \[2, 3\] empty.*60%"):
        out = rfm.scores(s)
    # recency: fewest days score highest, two customers per score
    assert out["r_score"].to_list() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    # frequency: six one-time buyers share the lowest score; ranks 7,7 -> 4; 9 -> 5; 10 -> 5
    assert out["f_score"].to_list() == [1, 1, 1, 1, 1, 1, 4, 4, 5, 5]
    assert out["m_score"].to_list() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out["rfm_cell"][0] == "511"
    assert out["rfm_score"].to_list() == [
        r + f + m for r, f, m in zip(out["r_score"], out["f_score"], out["m_score"], strict=True)
    ]
    # "average": the one-time buyers' block is ranked by its middle (3.5) -> score 2
    with pytest.warns(RetailCRMWarning):
        avg = rfm.scores(s, ties="average")
    assert avg["f_score"].to_list()[:6] == [2] * 6
    with pytest.warns(RetailCRMWarning):
        high = rfm.scores(s, ties="max")
    assert high["f_score"].to_list()[:6] == [3] * 6


def test_scores_all_equal_and_single_customer() -> None:
    s = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "recency": [5, 5, 5],
            "frequency": [2, 2, 2],
            "monetary": [9.0, 9.0, 9.0],
        }
    )
    with pytest.warns(RetailCRMWarning):
        out = rfm.scores(s)
    assert set(out["rfm_cell"]) == {"111"}
    with pytest.warns(RetailCRMWarning):
        middle = rfm.scores(s, ties="average")  # average rank 2 of 3: floor(1 * 5 / 3) + 1
    assert set(middle["rfm_cell"]) == {"222"}
    with pytest.warns(RetailCRMWarning):
        one = rfm.scores(s.head(1), ties="max")
    assert one["rfm_cell"].item() == "111"


def test_scores_never_split_float_noise_ties() -> None:
    # 0.1 + 0.2 != 0.3 in floating point; both are the same money
    s = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "recency": [1, 2, 3, 4],
            "frequency": [1, 2, 3, 4],
            "monetary": [0.1 + 0.2, 0.3, 5.0, 1.0],
        }
    )
    with pytest.warns(RetailCRMWarning, match=r"m_score leaves score\(s\) \[1\] empty: 3 distinct"):
        out = rfm.scores(s, bins=4, ties="max")
    assert out["m_score"][0] == out["m_score"][1] == 2


def test_scores_with_fixed_breaks_closed_on_the_right() -> None:
    s = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "recency": [0, 30, 31, 400, None],
            "frequency": [0, 1, 2, 3, 9],
            "monetary": [100.0, 100.01, 0.0, 50.0, 1e6],
        }
    )
    out = rfm.scores(
        s,
        breaks={
            "recency": [30, 90, 180, 365],
            "frequency": [1, 2, 4, 8],
            "monetary": [50, 100, 250, 500],
        },
    )
    assert out["r_score"].to_list() == [5, 5, 4, 1, 1]
    assert out["f_score"].to_list() == [1, 1, 2, 3, 5]
    assert out["m_score"].to_list() == [2, 3, 1, 1, 5]


def test_scores_from_transactions_equal_scores_from_summary(tx: pl.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        direct = rfm.scores(tx, as_of="2024-03-31", bins=2)
        two_step = rfm.scores(rfm.summary(tx, as_of="2024-03-31"), bins=2)
    assert_frame_equal(direct, two_step)
    # customer 3 has no purchase: recency is null and scores the lowest
    assert direct.filter(customer_id=3)["r_score"].item() == 1


def test_scores_bins_of_ten_use_a_separator() -> None:
    s = pl.DataFrame(
        {
            "customer_id": range(10),
            "recency": range(10),
            "frequency": range(10),
            "monetary": [float(i) for i in range(10)],
        }
    )
    out = rfm.scores(s, bins=10)
    assert out["rfm_cell"][0] == "10-1-1"


def test_thresholds_show_ranges_and_empty_bins() -> None:
    s = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "recency": [1, 2, 3, 4],
            "frequency": [1, 1, 1, 5],
            "monetary": [1.0, 2.0, 3.0, 4.0],
        }
    )
    with pytest.warns(RetailCRMWarning):
        t = rfm.thresholds(rfm.scores(s, bins=4))
    f = t.filter(pl.col("measure") == "frequency")
    assert f.rows() == [
        ("frequency", 1, 3, 1.0, 1.0),
        ("frequency", 2, 0, None, None),
        ("frequency", 3, 0, None, None),
        ("frequency", 4, 1, 5.0, 5.0),
    ]
    assert t.height == 12


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"bins": 1}, r"bins must be an integer from 2 to 20; got 1"),
        ({"bins": 5.0}, r"bins must be an integer"),
        ({"ties": "first"}, r"ties must be one of \['min', 'max', 'average'\]; got 'first'"),
        ({"breaks": {"money": [1, 2, 3, 4]}}, r"breaks has key 'money'"),
        ({"breaks": {"monetary": [1, 2, 3]}}, r"breaks\['monetary'\] must hold bins - 1 = 4"),
        ({"breaks": {"monetary": [1, 3, 2, 4]}}, r"strictly increasing"),
        ({"as_of": "2024-01-01"}, r"as_of applies to transactions"),
    ],
)
def test_scores_bad_arguments(kwargs: dict, pattern: str) -> None:
    s = pl.DataFrame({"customer_id": [1], "recency": [1], "frequency": [1], "monetary": [1.0]})
    with pytest.raises(ArgumentError, match=pattern):
        rfm.scores(s, **kwargs)


def test_missing_and_wrong_columns_name_the_fix() -> None:
    tx = pl.DataFrame({"customer_id": [1], "timestamp": [date(2024, 1, 1)]})
    with pytest.raises(
        ColumnError, match=r"rfm.summary: missing column\(s\) \['amount'\].*prepare"
    ):
        rfm.summary(tx)
    bad = tx.with_columns(amount=pl.lit("12"))
    with pytest.raises(ColumnError, match=r"column 'amount' is String; it must be numeric"):
        rfm.scores(bad)
    with pytest.raises(retailcrm.InputTypeError, match=r"expected a polars DataFrame"):
        rfm.summary({"customer_id": [1]})  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"as_of must be a date"):
        rfm.summary(bad.with_columns(amount=pl.lit(1.0)), as_of="last tuesday")


# --------------------------------------------------------------------------- segments


def test_builtin_schemes_cover_every_cell_once() -> None:
    for name, size in (("rfm11", 125), ("rf10", 25)):
        table = rfm.scheme(name)
        keys = [c for c in table.columns if c != "segment"]
        assert table.height == size
        assert table.select(keys).n_unique() == size
        assert table["segment"].null_count() == 0
    assert rfm.scheme("rfm11")["segment"].n_unique() == 11
    assert rfm.scheme("rf10")["segment"].n_unique() == 10


@pytest.mark.parametrize(
    ("r", "f", "m", "name"),
    [
        (5, 5, 5, "Champions"),
        (5, 1, 1, "New Customers"),
        (4, 1, 2, "Promising"),
        (3, 3, 3, "Need Attention"),
        (1, 5, 5, "Can't Lose Them"),
        (1, 1, 1, "Lost"),
        (2, 2, 1, "Hibernating"),
        (2, 4, 3, "At Risk"),
        (3, 4, 5, "Loyal"),
        (5, 2, 3, "Potential Loyalist"),
        (3, 1, 2, "About To Sleep"),
    ],
)
def test_rfm11_cells(r: int, f: int, m: int, name: str) -> None:
    s = pl.DataFrame({"customer_id": [1], "r_score": [r], "f_score": [f], "m_score": [m]})
    assert rfm.segments(s)["segment"].item() == name


def test_segments_lazy_and_user_table() -> None:
    s = pl.DataFrame({"customer_id": [1, 2, 3], "r_score": [2, 1, 2], "f_score": [1, 2, 2]})
    table = pl.DataFrame(
        {
            "r_score": [1, 1, 2, 2],
            "f_score": [1, 2, 1, 2],
            "segment": ["cold", "cold", "warm", "hot"],
        }
    )
    out = rfm.segments(s.lazy(), scheme=table)
    assert isinstance(out, pl.LazyFrame)
    got = out.collect()
    assert got["segment"].to_list() == ["warm", "cold", "hot"]
    assert got["segment"].dtype == pl.Enum(["cold", "warm", "hot"])
    assert got["r_score"].dtype == pl.Int64


def test_user_table_overlap_and_gaps_are_named() -> None:
    overlapping = pl.DataFrame(
        {
            "r_score": [1, 1, 2, 2, 2],
            "f_score": [1, 2, 1, 2, 2],
            "segment": ["a", "a", "b", "c", "d"],
        }
    )
    s = pl.DataFrame({"customer_id": [1], "r_score": [1], "f_score": [1]})
    with pytest.raises(
        DataError, match=r"lists 1 cell\(s\) more than once: \[\{'r_score': 2, 'f_score': 2\}\]"
    ):
        rfm.segments(s, scheme=overlapping)
    gaps = pl.DataFrame({"r_score": [1, 2, 2], "f_score": [1, 1, 2], "segment": ["a", "b", "c"]})
    with pytest.raises(DataError, match=r"leaves 1 of 4 cells.*\{'r_score': 1, 'f_score': 2\}"):
        rfm.segments(s, scheme=gaps)
    with pytest.raises(ColumnError, match=r"needs columns r_score, f_score"):
        rfm.segments(s, scheme=pl.DataFrame({"r": [1], "segment": ["a"]}))
    with pytest.raises(ArgumentError, match=r"scheme must be one of \['rfm11', 'rf10'\]"):
        rfm.segments(s, scheme="rfm12")  # type: ignore[arg-type]


def test_segments_reject_scores_outside_the_scheme() -> None:
    s = pl.DataFrame({"customer_id": [1], "r_score": [7], "f_score": [1], "m_score": [1]})
    with pytest.raises(
        DataError, match=r"1 customer\(s\) have score cells the scheme does not cover"
    ):
        rfm.segments(s)


# --------------------------------------------------------------------------- properties

transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 20), allow_null=False),
        column("order_id", dtype=pl.Int64, strategy=st.integers(0, 40), allow_null=False),
        column(
            "timestamp",
            dtype=pl.Date,
            strategy=st.dates(date(2020, 1, 1), date(2024, 12, 31)),
            allow_null=False,
        ),
        column(
            "amount",
            dtype=pl.Float64,
            strategy=st.floats(-100, 1_000, allow_nan=False),
            allow_null=False,
        ),
    ],
    min_size=1,
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(tx=transactions)
def test_summary_lazy_eager_and_row_order_agree(tx: pl.DataFrame) -> None:
    eager = rfm.summary(tx)
    assert_frame_equal(rfm.summary(tx.lazy()).collect(), eager)
    shuffled = rfm.summary(tx.sample(fraction=1.0, shuffle=True, seed=1))
    assert_frame_equal(shuffled, eager, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)
    assert eager.height == tx["customer_id"].n_unique()  # nobody dropped
    assert eager["customer_id"].is_unique().all()
    assert (eager["recency"].drop_nulls() >= 0).all()
    assert (
        eager.filter(pl.col("frequency") == 0)["recency"].null_count()
        == (eager["frequency"] == 0).sum()
    )


@settings(max_examples=60, deadline=None)
@given(tx=transactions, bins=st.integers(2, 7), ties=st.sampled_from(["min", "max", "average"]))
def test_scores_in_range_and_ties_shared(tx: pl.DataFrame, bins: int, ties: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        out = rfm.scores(tx, bins=bins, ties=ties)  # type: ignore[arg-type]
    for measure, column_name in (
        ("recency", "r_score"),
        ("frequency", "f_score"),
        ("monetary", "m_score"),
    ):
        assert out[column_name].is_between(1, bins).all()
        # equal values always share a score; better values never score lower
        ordered = out.select(measure, column_name).drop_nulls().unique().sort(measure)
        per_value = ordered.group_by(measure).agg(pl.col(column_name).n_unique())
        assert (per_value[column_name] == 1).all()
        scores_in_order = ordered[column_name].to_list()
        if measure == "recency":
            scores_in_order = scores_in_order[::-1]
        assert scores_in_order == sorted(scores_in_order)
    assert out.height == tx["customer_id"].n_unique()


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_every_customer_gets_exactly_one_segment(tx: pl.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        scored = rfm.scores(tx)
    for scheme in ("rfm11", "rf10"):
        named = rfm.segments(scored, scheme=scheme)  # type: ignore[arg-type]
        assert named.height == scored.height
        assert named["segment"].null_count() == 0


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_results_invariant_to_renaming_through_prepare(tx: pl.DataFrame) -> None:
    raw = tx.rename(
        {"customer_id": "Kunde", "order_id": "Beleg", "timestamp": "Datum", "amount": "Umsatz"}
    ).with_columns(pl.col("Datum").cast(pl.String))
    prepared = retailcrm.prepare(
        raw,
        customer_id="Kunde",
        order_id="Beleg",
        timestamp=pl.col("Datum").str.to_date(),
        amount="Umsatz",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        assert_frame_equal(rfm.scores(prepared), rfm.scores(tx), check_exact=False, rel_tol=1e-12)
