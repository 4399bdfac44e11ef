"""segments: hand-worked fixtures, properties, and bad input."""

from __future__ import annotations

import warnings
from datetime import date, datetime

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

import retailcrm.segments as segments
from retailcrm import ArgumentError, ColumnError, DataError, RetailCRMWarning, datasets, rfm

D = date

# --------------------------------------------------------------------------- contribution


@pytest.fixture
def tx() -> pl.DataFrame:
    # 1 (Gold): order a = two lines 30 + 10 (margin 6 + 2) on Jan 10, order b 20 (5) on Feb 5,
    #           order c a pure return -10 (-2) on Feb 20
    # 2 (Silver): order d 50 (10) on Jan 15
    # 3 (no segment): order e 40 (8) on Mar 1
    # 4 (Silver): in the segment frame only
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 3],
            "order_id": ["a", "a", "b", "c", "d", "e"],
            "timestamp": [D(2024, 1, 10), D(2024, 1, 10), D(2024, 2, 5), D(2024, 2, 20),
                          D(2024, 1, 15), D(2024, 3, 1)],
            "amount": [30.0, 10.0, 20.0, -10.0, 50.0, 40.0],
            "margin": [6.0, 2.0, 5.0, -2.0, 10.0, 8.0],
        }
    )  # fmt: skip


@pytest.fixture
def seg() -> pl.DataFrame:
    return pl.DataFrame({"customer_id": [1, 2, 4], "segment": ["Gold", "Silver", "Silver"]})


def test_contribution_by_hand(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    out = segments.contribution(tx, seg)
    expected = pl.DataFrame(
        {
            "segment": ["Gold", "Silver", None],
            "customers": pl.Series([1, 2, 1], dtype=pl.UInt32),
            "customers_share": [0.25, 0.5, 0.25],
            "orders": pl.Series([2, 1, 1], dtype=pl.UInt32),  # the return c is no order
            "orders_share": [0.5, 0.25, 0.25],
            "sales": [50.0, 50.0, 40.0],
            "sales_share": [50 / 140, 50 / 140, 40 / 140],
            "margin": [11.0, 10.0, 8.0],
            "margin_share": [11 / 29, 10 / 29, 8 / 29],
        }
    )
    assert_frame_equal(out, expected)


def test_contribution_window(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    # as_of Feb 10 drops c (Feb 20) and e (Mar 1): no unassigned row
    out = segments.contribution(tx, seg, as_of=D(2024, 2, 10))
    assert out.select("segment", "customers", "orders", "sales", "margin").rows() == [
        ("Gold", 1, 2, 60.0, 13.0),
        ("Silver", 2, 1, 50.0, 10.0),
    ]
    # window (Jan 29, Feb 29]: b and c only
    out = segments.contribution(tx, seg, as_of=D(2024, 2, 29), lookback="1mo")
    assert out.select("segment", "customers", "orders", "sales", "sales_share").rows() == [
        ("Gold", 1, 1, 10.0, 1.0),
        ("Silver", 2, 0, 0.0, 0.0),
    ]


def test_contribution_without_margin_or_order_id(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    out = segments.contribution(tx.drop("margin", "order_id"), seg)
    assert out.columns == ["segment", "customers", "customers_share", "orders", "orders_share",
                           "sales", "sales_share"]  # fmt: skip
    # customer-days: Jan 10, Feb 5 are purchases, Feb 20 a return day
    assert out["orders"].to_list() == [2, 1, 1]


def test_contribution_keeps_enum_segments_and_zero_totals(tx: pl.DataFrame) -> None:
    kind = pl.Enum(["Silver", "Gold"])
    seg = pl.DataFrame(
        {"customer_id": [1, 2, 3], "segment": pl.Series(["Gold", "Silver", "Gold"], dtype=kind)}
    )
    out = segments.contribution(tx, seg)
    assert out.schema["segment"] == kind
    assert out["segment"].to_list() == ["Silver", "Gold"]  # Enum order, no null row
    # a window without any sales: shares of a zero total are null, not NaN
    empty = segments.contribution(tx, seg, as_of=D(2024, 1, 1))
    assert empty["customers"].to_list() == [1, 2]
    assert empty["sales_share"].to_list() == [None, None]


def test_contribution_lazy(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    lazy = segments.contribution(tx.lazy(), seg)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), segments.contribution(tx, seg))
    assert isinstance(segments.contribution(tx, seg.lazy()), pl.LazyFrame)


@pytest.mark.filterwarnings("ignore::retailcrm.RetailCRMWarning")  # empty RFM score bins
def test_contribution_with_rfm_segments_on_simulated_data() -> None:
    sim = datasets.simulate(300, seed=3)
    named = rfm.segments(rfm.scores(sim))
    out = segments.contribution(sim, named)
    assert out["customers"].sum() == 300
    assert out["segment"].null_count() == 0
    assert out["sales"].sum() == pytest.approx(sim["amount"].sum())
    assert out["margin"].sum() == pytest.approx(sim["margin"].sum())
    for name in ("customers", "orders", "sales", "margin"):
        assert out[f"{name}_share"].sum() == pytest.approx(1.0)


def test_contribution_bad_input(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    with pytest.raises(
        ColumnError, match=r"missing column\(s\) \['tier'\].*has \['customer_id', 'segment'\]"
    ):
        segments.contribution(tx, seg, by="tier")
    with pytest.raises(
        DataError, match=r"2 row\(s\) of segments repeat a customer_id, e.g. \{'customer_id': 1"
    ):
        segments.contribution(tx, pl.concat([seg, seg.head(1)]))
    strings = seg.with_columns(pl.col("customer_id").cast(pl.String))
    with pytest.raises(ColumnError, match=r"customer_id of segments is String but Int64.*Cast"):
        segments.contribution(tx, strings)
    with pytest.raises(ArgumentError, match=r"lookback must be a duration.*got '12m'"):
        segments.contribution(tx, seg, lookback="12m")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['amount'\]"):
        segments.contribution(tx.drop("amount"), seg)


# --------------------------------------------------------------------------- migration


def test_migration_by_hand() -> None:
    a = pl.DataFrame({"customer_id": [1, 2, 3, 4, 5], "segment": ["A", "A", "A", "B", None]})
    b = pl.DataFrame({"customer_id": [1, 2, 4, 6, 7, 5], "segment": ["A", "B", "B", "B", "A", "A"]})
    out = segments.migration(a, b)
    expected = pl.DataFrame(
        {
            "from": ["(entered)", "(entered)", "A", "A", "A", "B", None],
            "to": ["A", "B", "(left)", "A", "B", "B", "A"],
            "customers": pl.Series([1, 1, 1, 1, 1, 1, 1], dtype=pl.UInt32),
            "share_of_from": [0.5, 0.5, 1 / 3, 1 / 3, 1 / 3, 1.0, 1.0],
        }
    )
    assert_frame_equal(out, expected)


def test_migration_of_enums_keeps_order() -> None:
    a = pl.DataFrame(
        {"customer_id": [1, 2], "s": pl.Series(["hi", "lo"], dtype=pl.Enum(["hi", "lo"]))}
    )
    b = pl.DataFrame(
        {"customer_id": [2, 3], "s": pl.Series(["mid", "hi"], dtype=pl.Enum(["hi", "mid"]))}
    )
    out = segments.migration(a, b, by="s")
    kind = pl.Enum(["(entered)", "hi", "lo", "mid", "(left)"])
    assert out.schema["from"] == kind
    assert out.schema["to"] == kind
    assert out.select("from", "to", "customers").rows() == [
        ("(entered)", "hi", 1),
        ("hi", "(left)", 1),
        ("lo", "mid", 1),
    ]


@pytest.mark.filterwarnings("ignore::retailcrm.RetailCRMWarning")  # empty RFM score bins
def test_migration_of_rfm_segments_at_two_dates() -> None:
    sim = datasets.simulate(200, seed=5)
    a = rfm.segments(rfm.scores(sim, as_of=D(2023, 12, 31)))
    b = rfm.segments(rfm.scores(sim))
    out = segments.migration(a, b)
    assert out["customers"].sum() == 200  # b holds everyone, a those acquired in 2023
    entered = out.filter(pl.col("from") == "(entered)")["customers"].sum()
    assert entered == 200 - a.height
    assert out.filter(pl.col("to") == "(left)").height == 0
    assert isinstance(segments.migration(a.lazy(), b), pl.LazyFrame)


def test_migration_bad_input() -> None:
    a = pl.DataFrame({"customer_id": [1], "segment": ["(left)"]})
    with pytest.raises(ArgumentError, match=r"a\['segment'\] holds the label.*entered='\(new\)'"):
        segments.migration(a, a)
    out = segments.migration(a, a, left="(gone)")
    assert out.rows() == [("(left)", "(left)", 1, 1.0)]
    with pytest.raises(ArgumentError, match="entered and left must be different labels"):
        segments.migration(a, a, entered="x", left="x")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['tier'\]"):
        segments.migration(a, a, by="tier")
    enum = pl.DataFrame(
        {"customer_id": [1], "segment": pl.Series(["(entered)"], dtype=pl.Enum(["(entered)"]))}
    )
    with pytest.raises(ArgumentError, match=r"segment names include \['\(entered\)'\]"):
        segments.migration(enum, enum)


# --------------------------------------------------------------------------- never-buy


@pytest.fixture
def brands() -> pl.DataFrame:
    rows = [
        (1, D(2023, 3, 1), "Acorn", "Dairy", 10.0),  # bought the target long ago
        (1, D(2024, 5, 1), "Birch", "Dairy", 20.0),
        (2, D(2024, 2, 1), "Birch", "Dairy", 15.0),
        (2, D(2024, 6, 1), "Birch", "Dairy", -15.0),  # returned it
        (2, D(2024, 6, 10), "Cedar", "Bakery", 7.0),
        (3, D(2024, 3, 1), "Cedar", "Bakery", 30.0),  # not in the universe (no Dairy)
        (4, D(2023, 1, 5), "Birch", "Dairy", 12.0),  # Dairy before the 12-month window
        (4, D(2024, 7, 1), "Cedar", "Bakery", 3.0),  # after as_of
        (5, D(2024, 4, 1), "Acorn", "Dairy", -5.0),  # a return is not a purchase
        (5, D(2024, 4, 1), "Birch", "Dairy", 9.0),
        (6, D(2024, 4, 2), None, "Dairy", 4.0),  # null brand: never the target
    ]
    return pl.DataFrame(
        rows, schema=["customer_id", "timestamp", "brand", "category", "amount"], orient="row"
    )


def test_never_buy_by_hand(brands: pl.DataFrame) -> None:
    out = segments.never_buy(
        brands, target={"brand": "Acorn"}, among={"category": "Dairy"},
        as_of=D(2024, 6, 30), lookback="12mo",
    )  # fmt: skip
    expected = pl.DataFrame(
        {
            "customer_id": [5, 6, 2],
            "spend": [4.0, 4.0, 0.0],  # 5: -5 + 9 (both Dairy lines); 2: 15 - 15
            "last_purchase": [D(2024, 4, 1), D(2024, 4, 2), D(2024, 6, 10)],
            "days_since_last_purchase": pl.Series([90, 89, 20], dtype=pl.Int32),
        }
    )
    assert_frame_equal(out, expected)


def test_never_buy_without_lookback_and_with_expressions(brands: pl.DataFrame) -> None:
    out = segments.never_buy(
        brands, target=pl.col("brand") == "Acorn", among=pl.col("category") == "Dairy",
        as_of="2024-06-30",
    )  # fmt: skip
    # customer 4's Dairy purchase of 2023 now counts; the 2024-07-01 line does not
    assert out["customer_id"].to_list() == [4, 5, 6, 2]
    four = out.row(0)
    assert four[1:] == (12.0, D(2023, 1, 5), (D(2024, 6, 30) - D(2023, 1, 5)).days)
    # default universe: everyone who bought anything; as_of the last timestamp (2024-07-01)
    everyone = segments.never_buy(brands, target={"brand": ["Acorn", "Birch"]})
    assert sorted(everyone["customer_id"].to_list()) == [3, 6]
    assert (
        everyone.filter(customer_id=3)["days_since_last_purchase"].item()
        == (D(2024, 7, 1) - D(2024, 3, 1)).days
    )


def test_never_buy_datetime_and_lazy(brands: pl.DataFrame) -> None:
    timed = brands.with_columns(pl.col("timestamp").cast(pl.Datetime("us")) + pl.duration(hours=20))
    eager = segments.never_buy(timed, target={"brand": "Acorn"}, as_of=D(2024, 6, 30))
    lazy = segments.never_buy(timed.lazy(), target={"brand": "Acorn"}, as_of=D(2024, 6, 30))
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), eager)
    assert eager.schema["last_purchase"] == pl.Datetime("us")
    assert eager.filter(customer_id=2)["last_purchase"].item() == datetime(2024, 6, 10, 20)


def test_never_buy_on_enum_brands() -> None:
    sim = datasets.simulate(300, seed=11)
    wine = datasets.CATEGORIES[8]
    out = segments.never_buy(sim, target={"category": wine}, lookback="6mo")
    as_of = sim["timestamp"].max().date()
    start = pl.lit(as_of).dt.offset_by("-6mo")
    active = sim.filter((pl.col("timestamp").dt.date() > start) & (pl.col("amount") > 0))
    wine_buyers = sim.filter((pl.col("category") == wine) & (pl.col("amount") > 0))
    expected = set(active["customer_id"]) - set(wine_buyers["customer_id"])
    assert set(out["customer_id"]) == expected
    assert out.height == len(expected)


def test_never_buy_target_matching_nothing_warns_and_is_empty(brands: pl.DataFrame) -> None:
    with pytest.warns(
        RetailCRMWarning, match="no purchase up to as_of matches target; the result is empty"
    ):
        out = segments.never_buy(brands, target={"brand": "Acron"})
    assert out.height == 0
    assert out.columns == [
        "customer_id",
        "spend",
        "last_purchase",
        "days_since_last_purchase",
    ]
    enum = brands.with_columns(pl.col("brand").cast(pl.Enum(["Acorn", "Birch", "Cedar"])))
    with pytest.warns(RetailCRMWarning, match=r"brand has no value\(s\) \['Acron'\]"):
        lazy = segments.never_buy(enum.lazy(), target={"brand": "Acron"})
    assert lazy.collect().height == 0
    with pytest.warns(
        RetailCRMWarning, match="no purchase in the window matches among; the universe is empty"
    ):
        out = segments.never_buy(brands, target={"brand": "Acorn"}, among={"category": "Toys"})
    assert out.height == 0


def test_never_buy_bad_input(brands: pl.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"target names column\(s\) \['item'\].*Use item, brand"):
        segments.never_buy(brands, target={"item": 3})
    with pytest.raises(ColumnError, match=r"among uses column\(s\) \['channel'\]"):
        segments.never_buy(brands, target={"brand": "Acorn"}, among=pl.col("channel") == "web")
    with pytest.raises(ArgumentError, match=r"target must be a boolean expression.*gives String"):
        segments.never_buy(brands, target=pl.col("brand"))
    with pytest.raises(
        ArgumentError, match="target must be a boolean polars expression or a non-empty mapping"
    ):
        segments.never_buy(brands, target="Acorn")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"target\['brand'\] holds None.*is_null"):
        segments.never_buy(brands, target={"brand": None})


# --------------------------------------------------------------------------- frequency bands


def test_frequency_bands_by_hand() -> None:
    days = {1: 1, 2: 2, 3: 4, 4: 7, 5: 12}  # customer -> purchase days
    rows = [(c, D(2024, 1, 1 + d), 10.0) for c, n in days.items() for d in range(n)]
    rows += [(6, D(2024, 1, 3), -5.0), (1, D(2024, 2, 1), -3.0)]  # returns: no occasions
    tx = pl.DataFrame(rows, schema=["customer_id", "timestamp", "amount"], orient="row")
    out = segments.frequency_bands(tx)
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "frequency": pl.Series([1, 2, 4, 7, 12], dtype=pl.UInt32),
            "band": pl.Series(
                ["1", "2", "3-5", "6-10", "11+"], dtype=pl.Enum(["1", "2", "3-5", "6-10", "11+"])
            ),
        }
    )
    assert_frame_equal(out, expected)
    # window (Jan 3, Jan 13]: customer 3 buys Jan 1-4, 4 Jan 1-7, 5 Jan 1-12 -> 1, 4, 9
    late = segments.frequency_bands(
        tx, as_of=D(2024, 1, 13), lookback="10d", bands=((1, 4), (5, None))
    )
    assert late.rows() == [(3, 1, "1-4"), (4, 4, "1-4"), (5, 9, "5+")]


def test_frequency_bands_bad_bands() -> None:
    tx = pl.DataFrame({"customer_id": [1], "timestamp": [D(2024, 1, 1)], "amount": [1.0]})
    with pytest.raises(ArgumentError, match=r"band \(4, 6\) should start at 3"):
        segments.frequency_bands(tx, bands=(1, 2, (4, 6), (7, None)))
    with pytest.raises(ArgumentError, match=r"last band must be open-ended, e.g. \(3, None\)"):
        segments.frequency_bands(tx, bands=(1, 2))
    with pytest.raises(ArgumentError, match="only the last band may be open-ended"):
        segments.frequency_bands(tx, bands=((1, None), 2))
    with pytest.raises(ArgumentError, match="bands must be whole numbers"):
        segments.frequency_bands(tx, bands=(1.5, (2, None)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- tiers


def test_tiers_by_hand() -> None:
    # current window (2024-06-30, 2024-12-31], previous (2023-12-31, 2024-06-30]
    rows = [
        (1, D(2024, 3, 1), 600.0), (1, D(2024, 9, 1), 150.0),    # Gold -> Silver
        (2, D(2024, 1, 1), 50.0), (2, D(2024, 12, 31), 700.0),   # Bronze -> Gold
        (3, D(2024, 7, 1), 20.0),                                # (0) Bronze -> Bronze
        (4, D(2024, 2, 1), 120.0), (4, D(2024, 8, 1), -30.0),    # Silver -> no tier
        (5, D(2023, 6, 1), 999.0),                               # before both windows
        (6, D(2024, 6, 30), 100.0),                              # Silver -> (0) Bronze
    ]  # fmt: skip
    tx = pl.DataFrame(rows, schema=["customer_id", "timestamp", "amount"], orient="row")
    out = segments.tiers(tx, thresholds={"Bronze": 0, "Silver": 100, "Gold": 500}, window="6mo")
    kind = pl.Enum(["Bronze", "Silver", "Gold"])
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 6],
            "spend": [150.0, 700.0, 20.0, -30.0, 0.0],
            "tier": pl.Series(["Silver", "Gold", "Bronze", None, "Bronze"], dtype=kind),
            "previous_spend": [600.0, 50.0, 0.0, 120.0, 100.0],
            "previous_tier": pl.Series(
                ["Gold", "Bronze", "Bronze", "Silver", "Silver"], dtype=kind
            ),
            "move": pl.Series(
                ["down", "up", "same", "down", "down"], dtype=pl.Enum(["up", "same", "down"])
            ),
        }
    )
    assert_frame_equal(out, expected)
    lazy = segments.tiers(
        tx.lazy(), thresholds={"Bronze": 0, "Silver": 100, "Gold": 500}, window="6mo"
    )
    assert_frame_equal(lazy.collect(), expected)
    # the tiers compose with migration
    moved = segments.migration(
        out.select("customer_id", tier="previous_tier"),
        out.select("customer_id", "tier"),
        by="tier",
    )
    assert moved["customers"].sum() == 5


def test_tiers_bad_thresholds() -> None:
    tx = pl.DataFrame({"customer_id": [1], "timestamp": [D(2024, 1, 1)], "amount": [1.0]})
    with pytest.raises(ArgumentError, match="spends must be strictly increasing"):
        segments.tiers(tx, thresholds={"a": 10, "b": 10}, window="1y")
    with pytest.raises(ArgumentError, match="thresholds must map tier names"):
        segments.tiers(tx, thresholds=[0, 100], window="1y")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"window must be a duration.*got '1 year'"):
        segments.tiers(tx, thresholds={"a": 0}, window="1 year")


# --------------------------------------------------------------------------- properties

transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 12)),
        column("order_id", dtype=pl.Int64, strategy=st.integers(0, 25)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2024, 1, 1), D(2024, 6, 30))),
        column("amount", dtype=pl.Float64, strategy=st.integers(-20, 100).map(float)),
        column("margin", dtype=pl.Float64, strategy=st.integers(-5, 30).map(float)),
        column(
            "brand", dtype=pl.String, strategy=st.sampled_from(["x", "y", "z"]), allow_null=True
        ),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)
segment_frames = st.dictionaries(
    st.integers(0, 15), st.sampled_from(["A", "B", "C"]), max_size=14
).map(
    lambda d: pl.DataFrame(
        {"customer_id": list(d), "segment": list(d.values())},
        schema={"customer_id": pl.Int64, "segment": pl.String},
    )
)


@settings(max_examples=40, deadline=None)
@given(tx=transactions, seg=segment_frames)
def test_contribution_properties(tx: pl.DataFrame, seg: pl.DataFrame) -> None:
    out = segments.contribution(tx, seg)
    everyone = set(tx["customer_id"]) | set(seg["customer_id"])
    assert out["customers"].sum() == len(everyone)  # each customer exactly once
    assert out["customers_share"].sum() == pytest.approx(1.0)
    assert out["sales"].sum() == pytest.approx(tx["amount"].sum(), abs=1e-9)
    if abs(tx["amount"].sum()) > 1e-9:
        assert out["sales_share"].sum() == pytest.approx(1.0)
    if out["orders"].sum() > 0:
        assert out["orders_share"].sum() == pytest.approx(1.0)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=2)
    assert_frame_equal(segments.contribution(shuffled, seg.reverse()), out)
    assert_frame_equal(segments.contribution(tx.lazy(), seg.lazy()).collect(), out)


@settings(max_examples=40, deadline=None)
@given(a=segment_frames, b=segment_frames)
def test_migration_conserves_customers(a: pl.DataFrame, b: pl.DataFrame) -> None:
    out = segments.migration(a, b)
    assert out["customers"].sum() == len(set(a["customer_id"]) | set(b["customer_id"]))
    rows = out.group_by("from").agg(pl.col("share_of_from").sum())
    assert rows["share_of_from"].to_list() == pytest.approx([1.0] * rows.height)
    stayed = out.filter(pl.col("from") != "(entered)")["customers"].sum()
    arrived = out.filter(pl.col("to") != "(left)")["customers"].sum()
    assert (stayed, arrived) == (a.height, b.height)
    assert_frame_equal(segments.migration(a.reverse(), b.lazy()).collect(), out)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_never_buy_matches_a_plain_computation(tx: pl.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        out = segments.never_buy(tx, target={"brand": "x"}, as_of=D(2024, 5, 31), lookback="2mo")
    seen = tx.filter(pl.col("timestamp") <= D(2024, 5, 31))
    bought = seen.filter(pl.col("amount") > 0)
    universe = set(bought.filter(pl.col("timestamp") > D(2024, 3, 31))["customer_id"])
    target = set(bought.filter(pl.col("brand") == "x")["customer_id"])
    expected = universe - target if target else set()
    assert sorted(out["customer_id"]) == sorted(expected)
    assert out["spend"].to_list() == sorted(out["spend"].to_list(), reverse=True)
    assert_frame_equal(
        segments.never_buy(
            tx.reverse().lazy(), target={"brand": "x"}, as_of=D(2024, 5, 31), lookback="2mo"
        ).collect(),
        out,
    )


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_bands_and_tiers_give_every_customer_one_value(tx: pl.DataFrame) -> None:
    bands = segments.frequency_bands(tx, bands=(1, (2, 3), (4, None)))
    summary = rfm.summary(tx).filter(pl.col("frequency") > 0)
    assert bands["customer_id"].to_list() == summary["customer_id"].to_list()
    assert bands["frequency"].to_list() == summary["frequency"].to_list()
    assert bands["band"].null_count() == 0
    levels = {"low": float("-inf"), "mid": 50.0, "high": 150.0}
    out = segments.tiers(tx, thresholds=levels, window="3mo", as_of=D(2024, 6, 30))
    assert out["customer_id"].is_unique().all()
    assert out["move"].null_count() == 0
    assert out["tier"].null_count() == 0
    assert out["previous_tier"].null_count() == 0
    assert out["spend"].sum() == pytest.approx(
        tx.filter(pl.col("timestamp") > D(2024, 3, 30))["amount"].sum()
    )
    assert_frame_equal(
        segments.tiers(tx.reverse(), thresholds=levels, window="3mo", as_of=D(2024, 6, 30)), out
    )
