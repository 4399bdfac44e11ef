"""assortment: by_segment and performance -- hand-worked fixtures, properties, bad input."""

from __future__ import annotations

from datetime import date

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from retailcrm import (
    ArgumentError,
    ColumnError,
    DataError,
    RetailCRMWarning,
    assortment,
    datasets,
    rfm,
)

D = date

# --------------------------------------------------------------------------- by_segment


@pytest.fixture
def tx() -> pl.DataFrame:
    # window Jan-Mar 2024 (as_of Mar 31, lookback 3mo):
    # 1 (A): tea 4, wine 10 | 2 (A): tea 4, then returns it (-4) | 3 (B): wine 10, cheese 6
    # 4 (B): cheese 6 | 5 (no segment): tea 4 | 6 (B): wine 50 in June 2023, outside the window
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 3, 3, 4, 5, 6],
            "timestamp": [D(2024, 1, 5), D(2024, 1, 5), D(2024, 2, 1), D(2024, 2, 9),
                          D(2024, 3, 1), D(2024, 3, 1), D(2024, 3, 3), D(2024, 1, 20),
                          D(2023, 6, 1)],
            "item": ["tea", "wine", "tea", "tea", "wine", "cheese", "cheese", "tea", "wine"],
            "amount": [4.0, 10.0, 4.0, -4.0, 10.0, 6.0, 6.0, 4.0, 50.0],
        }
    )  # fmt: skip


@pytest.fixture
def seg() -> pl.DataFrame:
    return pl.DataFrame({"customer_id": [1, 2, 3, 4, 6], "segment": ["A", "A", "B", "B", "B"]})


def test_by_segment_by_hand(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    out = assortment.by_segment(tx, seg, as_of=D(2024, 3, 31), lookback="3mo")
    # N: A 2, B 3 (6 counts, buying nothing), null 1 (customer 5); all 6.
    # net spend: A 14 (tea 4, wine 10), B 22 (wine 10, cheese 12), null 4; all 40
    # (tea 8, wine 20, cheese 12). Buyers: tea {1, 2, 5}, wine {1, 3}, cheese {3, 4}.
    expected = pl.DataFrame(
        {
            "segment": ["A", "A", "B", "B", None],
            "item": ["wine", "tea", "cheese", "wine", "tea"],
            "segment_customers": pl.Series([2, 2, 3, 3, 1], dtype=pl.UInt32),
            "buyers": pl.Series([1, 2, 2, 1, 1], dtype=pl.UInt32),
            "penetration": [0.5, 1.0, 2 / 3, 1 / 3, 1.0],
            "share_of_buyers": [0.5, 2 / 3, 1.0, 0.5, 1 / 3],
            "spend": [10.0, 4.0, 12.0, 10.0, 4.0],
            "spend_share": [10 / 14, 4 / 14, 12 / 22, 10 / 22, 1.0],
            "index": [100 * 0.5 / (2 / 6), 100 * 1.0 / (3 / 6), 100 * (2 / 3) / (2 / 6),
                      100 * (1 / 3) / (2 / 6), 100 * 1.0 / (3 / 6)],
            "spend_index": [100 * (10 / 14) / 0.5, 100 * (4 / 14) / 0.2, 100 * (12 / 22) / 0.3,
                            100 * (10 / 22) / 0.5, 100 * 1.0 / 0.2],
            "rank": pl.Series([1, 2, 1, 2, 1], dtype=pl.UInt32),
        }
    )  # fmt: skip
    assert_frame_equal(out, expected)
    # lazy in, lazy out
    lazy = assortment.by_segment(tx.lazy(), seg, as_of=D(2024, 3, 31), lookback="3mo")
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), out)
    assert isinstance(assortment.by_segment(tx, seg.lazy()), pl.LazyFrame)


def test_by_segment_levels_and_ties(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    labelled = tx.with_columns(
        category=pl.when(pl.col("item") == "tea").then(pl.lit("drinks")).otherwise(pl.lit("food"))
    )
    out = assortment.by_segment(labelled, seg, level="category")
    assert out.columns[:2] == ["segment", "category"]
    # everything up to the last day: customer 6's wine (50) is in B now
    assert out.filter(segment="B").select("category", "spend", "rank").rows() == [("food", 72.0, 1)]
    # equal spends share a rank
    even = pl.DataFrame(
        {"customer_id": [1, 1], "timestamp": [D(2024, 1, 1)] * 2, "item": ["x", "y"],
         "amount": [5.0, 5.0]}
    )  # fmt: skip
    ranked = assortment.by_segment(even, pl.DataFrame({"customer_id": [1], "segment": ["S"]}))
    assert ranked["rank"].to_list() == [1, 1]


def test_by_segment_bad_input(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    unknown = pl.concat([seg, pl.DataFrame({"customer_id": [99], "segment": ["B"]})])
    with pytest.raises(
        DataError,
        match=r"1 customer\(s\) of segments have no row in tx up to as_of, e.g. "
        r"\{'customer_id': 99, 'segment': 'B'\}.*how='semi'",
    ):
        assortment.by_segment(tx, unknown)
    # customer 6's only row is of June 2023: with as_of before it, 6 is unknown
    with pytest.raises(DataError, match=r"1 customer\(s\).*'customer_id': 6"):
        assortment.by_segment(tx, seg.filter(customer_id=6), as_of=D(2023, 5, 31))
    with pytest.raises(DataError, match=r"2 row\(s\) of segments repeat a customer_id"):
        assortment.by_segment(tx, pl.concat([seg, seg.head(1)]))
    with pytest.raises(ColumnError, match=r"level='sku' names no column.*level='item'"):
        assortment.by_segment(tx, seg, level="sku")
    with pytest.raises(ArgumentError, match=r"level='amount' is not a label column"):
        assortment.by_segment(tx, seg, level="amount")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['tier'\]"):
        assortment.by_segment(tx, seg, by="tier")
    with pytest.raises(ArgumentError, match=r"by and level are both 'item'"):
        assortment.by_segment(tx, seg.rename({"segment": "item"}), by="item")
    with pytest.warns(RetailCRMWarning, match=r"1 row\(s\) have a null item and are left out"):
        assortment.by_segment(tx.with_columns(item=pl.when(pl.col("customer_id") == 4)
                                              .then(None).otherwise(pl.col("item"))), seg)  # fmt: skip


segment_frames = st.lists(st.sampled_from(["A", "B", None]), min_size=8, max_size=8)
lines = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 7)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2024, 1, 1), D(2024, 2, 28))),
        column("item", dtype=pl.String, strategy=st.sampled_from(["p", "q", "r", "s"])),
        column("amount", dtype=pl.Float64, strategy=st.sampled_from([-2.0, 1.0, 3.0, 7.5])),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)


@settings(max_examples=30, deadline=None)
@given(tx=lines, labels=segment_frames)
def test_by_segment_properties(tx: pl.DataFrame, labels: list[str | None]) -> None:
    known = sorted(set(tx["customer_id"].to_list()))
    seg = pl.DataFrame({"customer_id": known, "segment": labels[: len(known)]})
    out = assortment.by_segment(tx, seg)
    assert out["penetration"].is_between(0.0, 1.0).all()
    assert (out["buyers"] <= out["segment_customers"]).all()
    # buyers of each item, counted in plain Python, split over the segments
    bought: dict[str, set[int]] = {}
    for row in tx.filter(pl.col("amount") > 0).iter_rows(named=True):
        bought.setdefault(row["item"], set()).add(row["customer_id"])
    per_item = out.group_by("item").agg(pl.col("buyers").sum(), pl.col("share_of_buyers").sum())
    for item, buyers, shares in per_item.rows():
        assert buyers == len(bought.get(item, set()))
        assert shares == pytest.approx(1.0 if buyers else 0.0)  # null shares sum to 0
    # one segment holding every customer: the index is exactly 100 wherever defined
    everyone = assortment.by_segment(tx, seg.with_columns(segment=pl.lit("all")))
    assert (
        everyone["index"].drop_nulls().to_list() == [100.0] * everyone["index"].drop_nulls().len()
    )
    assert everyone["index"].null_count() == (everyone["buyers"] == 0).sum()


# --------------------------------------------------------------------------- performance


@pytest.fixture
def sku() -> pl.DataFrame:
    # tea: 1 buys Jan 3 (2 units, 8) and Jan 20 (1, 4); 2 buys Jan 9 (1, 4) and Mar 5 (1, 4);
    #      4 buys two orders on Feb 10 (1, 4 each); 3 buys Mar 7 (3, 12) and returns 1 unit
    #      on Mar 15 (quantity stays positive on the return line, amount -4)
    # jam: 1 buys Feb 2 (1, 5). as_of Mar 15: March is not complete.
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 2, 4, 4, 3, 3, 1],
            "order_id": ["o1", "o2", "o3", "o4", "o8", "o9", "o5", "o6", "o7"],
            "timestamp": [D(2024, 1, 3), D(2024, 1, 20), D(2024, 1, 9), D(2024, 3, 5),
                          D(2024, 2, 10), D(2024, 2, 10), D(2024, 3, 7), D(2024, 3, 15),
                          D(2024, 2, 2)],
            "item": ["tea"] * 8 + ["jam"],
            "quantity": [2.0, 1.0, 1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0],
            "amount": [8.0, 4.0, 4.0, 4.0, 4.0, 4.0, 12.0, -4.0, 5.0],
        }
    )  # fmt: skip


def test_performance_by_hand(sku: pl.DataFrame) -> None:
    out = assortment.performance(sku, period="1mo")
    u32 = pl.UInt32
    expected = pl.DataFrame(
        {
            "item": ["jam", "jam", "tea", "tea", "tea"],
            "period_start": [D(2024, 2, 1), D(2024, 3, 1), D(2024, 1, 1), D(2024, 2, 1),
                             D(2024, 3, 1)],
            "sales": [5.0, 0.0, 16.0, 8.0, 12.0],
            "units": [1.0, 0.0, 4.0, 2.0, 3.0],  # March: 1 + 3 - 1
            "buyers": pl.Series([1, 0, 2, 1, 2], dtype=u32),
            "new_buyers": pl.Series([1, 0, 2, 1, 1], dtype=u32),
            # Jan: 1 bought twice; Feb: 4 bought on two orders; Mar: 2's second purchase
            "repeat_rate": [0.0, None, 0.5, 1.0, 0.5],
            "sales_growth": [None, -1.0, None, -0.5, 0.5],
            "units_growth": [None, -1.0, None, -0.5, 0.5],
            "buyers_growth": [None, -1.0, None, -0.5, 1.0],
            "is_complete": [True, False, True, True, False],
        }
    )  # fmt: skip
    assert_frame_equal(out, expected)
    lazy = assortment.performance(sku.lazy(), period="1mo")
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), out)


def test_performance_without_order_id_or_quantity(sku: pl.DataFrame) -> None:
    out = assortment.performance(sku.drop("order_id", "quantity"), as_of=D(2024, 3, 31))
    assert "units" not in out.columns
    assert "units_growth" not in out.columns
    # customer 4's two orders of Feb 10 are one purchase day: no repeat in February
    assert out.filter(item="tea")["repeat_rate"].to_list() == [0.5, 0.0, 0.5]
    assert out["is_complete"].all()  # as_of is the last day of March


def test_performance_periods(sku: pl.DataFrame) -> None:
    quarters = assortment.performance(sku, period="1q")
    assert quarters.select("item", "period_start", "sales", "buyers", "new_buyers").rows() == [
        ("jam", D(2024, 1, 1), 5.0, 1, 1),
        ("tea", D(2024, 1, 1), 36.0, 4, 4),
    ]
    weeks = assortment.performance(sku.filter(item="jam"), period="1w", as_of=D(2024, 2, 20))
    assert weeks["period_start"].to_list() == [D(2024, 1, 29), D(2024, 2, 5), D(2024, 2, 12),
                                               D(2024, 2, 19)]  # fmt: skip
    # rows after as_of are not read: the item starts in February
    early = assortment.performance(sku, as_of=D(2024, 1, 31))
    assert early["item"].unique().to_list() == ["tea"]


def test_performance_bad_input(sku: pl.DataFrame) -> None:
    with pytest.raises(ArgumentError, match=r"period must be '<n>d'.*got 'monthly'"):
        assortment.performance(sku, period="monthly")
    with pytest.raises(ColumnError, match=r"level='brand' names no column"):
        assortment.performance(sku, level="brand")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['amount'\]"):
        assortment.performance(sku.drop("amount"))


@settings(max_examples=25, deadline=None)
@given(tx=lines)
def test_performance_properties(tx: pl.DataFrame) -> None:
    out = assortment.performance(tx, period="1w")
    assert out["sales"].sum() == pytest.approx(tx["amount"].sum())
    assert (out["new_buyers"] <= out["buyers"]).all()
    assert out["repeat_rate"].drop_nulls().is_between(0.0, 1.0).all()
    # each customer is a new buyer of an item once
    firsts = tx.filter(pl.col("amount") > 0).select("customer_id", "item").unique().height
    assert out["new_buyers"].sum() == firsts


def test_simulated_views() -> None:
    sim = datasets.simulate(500, seed=8)
    named = rfm.segments(rfm.scores(rfm.summary(sim.lazy()))).collect()
    out = assortment.by_segment(sim, named, level="category")
    assert (
        out.group_by("segment").agg(pl.col("segment_customers").first())["segment_customers"].sum()
        == 500
    )
    per_segment = out.group_by("segment").agg(pl.col("spend_share").sum())
    assert per_segment["spend_share"].to_list() == pytest.approx([1.0] * per_segment.height)
    dash = assortment.performance(sim, level="brand", period="1q")
    assert dash["sales"].sum() == pytest.approx(sim["amount"].sum())
    assert dash["period_start"].max() == D(2024, 10, 1)
