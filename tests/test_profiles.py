"""profiles.customers: a hand-worked profile, properties, models, attributes, bad input.

Also issue 11 item 2: any profile column is a segmentation for segments.contribution / migration.
"""

from __future__ import annotations

import warnings
from datetime import date, datetime

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

import retailcrm.clv as clv
import retailcrm.segments as segments
from retailcrm import (
    ArgumentError,
    ColumnError,
    DataError,
    RetailCRMWarning,
    datasets,
    metrics,
    profiles,
    rfm,
)

D = date


@pytest.fixture
def tx() -> pl.DataFrame:
    # 1: order a (Jan 1, store): Tea 10 (margin 2, Acme) + Wine 30 (9, Bordeaux);
    #    order b (Jan 11, online): Wine 20 (5, Bordeaux); order c (Jan 31, online): return Wine -5
    # 2: order d (Jan 21, store): Tea 8 (2, Acme) + Coffee 8 (3, Zest) -- a tie on both labels
    # 3: order e (Jan 5, store): a pure return of Tea -4 (-1, Acme)
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 2, 2, 3],
            "order_id": ["a", "a", "b", "c", "d", "d", "e"],
            "timestamp": [D(2024, 1, 1), D(2024, 1, 1), D(2024, 1, 11), D(2024, 1, 31),
                          D(2024, 1, 21), D(2024, 1, 21), D(2024, 1, 5)],
            "category": ["Tea", "Wine", "Wine", "Wine", "Tea", "Coffee", "Tea"],
            "brand": ["Acme", "Bordeaux", "Bordeaux", "Bordeaux", "Acme", "Zest", "Acme"],
            "amount": [10.0, 30.0, 20.0, -5.0, 8.0, 8.0, -4.0],
            "margin": [2.0, 9.0, 5.0, -1.0, 2.0, 3.0, -1.0],
            "channel": ["store", "store", "online", "online", "store", "store", "store"],
        }
    )  # fmt: skip


def test_profile_by_hand(tx: pl.DataFrame) -> None:
    out = profiles.customers(tx)
    mix = pl.Enum(metrics.MIXES)
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "first_purchase": [D(2024, 1, 1), D(2024, 1, 21), None],
            "last_purchase": [D(2024, 1, 11), D(2024, 1, 21), None],
            "tenure_days": pl.Series([30, 10, None], dtype=pl.Int32),  # as_of = Jan 31
            "recency_days": pl.Series([20, 10, None], dtype=pl.Int32),
            "orders": pl.Series([2, 1, 0], dtype=pl.UInt32),  # c and e are pure returns
            "revenue": [55.0, 16.0, -4.0],
            "margin": [15.0, 5.0, -1.0],
            "average_order_value": [27.5, 16.0, None],
            "mean_gap_days": [10.0, None, None],
            # Wine 30 + 20 - 5 = 45 of 55; Tea = Coffee = 8: the tie goes to "Coffee"
            "favourite_category": ["Wine", "Coffee", None],
            "favourite_category_share": [45 / 55, 0.5, None],
            "favourite_brand": ["Bordeaux", "Acme", None],
            "favourite_brand_share": [45 / 55, 0.5, None],
            "channel_mix": pl.Series(["both", "store only", "neither"], dtype=mix),
        }
    )
    assert_frame_equal(out.select(expected.columns), expected)
    # the RFM columns are rfm's own
    named = rfm.segments(rfm.scores(rfm.summary(tx.lazy()))).collect()
    assert_frame_equal(out.select("rfm_cell", "segment"), named.select("rfm_cell", "segment"))
    assert out.columns[-2:] == ["rfm_cell", "segment"]


def test_profile_as_of_and_minimal_columns(tx: pl.DataFrame) -> None:
    out = profiles.customers(tx.select("customer_id", "timestamp", "amount"), as_of="2024-01-15")
    # no order_id: an order is a customer-day; no label, margin or channel columns
    assert out.columns == ["customer_id", "first_purchase", "last_purchase", "tenure_days",
                           "recency_days", "orders", "revenue", "average_order_value",
                           "mean_gap_days", "rfm_cell", "segment"]  # fmt: skip
    assert out.select("customer_id", "tenure_days", "orders", "revenue").rows() == [
        (1, 14, 2, 60.0),  # the return of Jan 31 is after as_of
        (3, None, 0, -4.0),  # customer 2 buys only on Jan 21
    ]


def test_profile_datetime_and_lazy(tx: pl.DataFrame) -> None:
    stamped = tx.with_columns(pl.col("timestamp").cast(pl.Datetime("us")) + pl.duration(hours=9))
    lazy = profiles.customers(stamped.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), profiles.customers(stamped))
    assert lazy.collect()["first_purchase"][0] == datetime(2024, 1, 1, 9)


# --------------------------------------------------------------------------- properties

transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 8)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2024, 1, 1), D(2024, 3, 31))),
        column("category", dtype=pl.String, strategy=st.sampled_from(["a", "b", "c"])),
        column("amount", dtype=pl.Float64, strategy=st.sampled_from([-3.0, 1.0, 2.0, 5.0])),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)


@settings(max_examples=30, deadline=None)
@given(tx=transactions)
def test_properties(tx: pl.DataFrame) -> None:
    out = profiles.customers(tx)
    # every customer exactly once, sorted, lazy = eager
    assert out["customer_id"].to_list() == sorted(set(tx["customer_id"].to_list()))
    assert_frame_equal(profiles.customers(tx.lazy()).collect(), out)
    # the gap is metrics.interpurchase_time's
    gaps = metrics.interpurchase_time(tx).select("customer_id", "mean_gap_days")
    joined = out.join(gaps, on="customer_id", how="left", suffix="_m")
    assert_frame_equal(
        joined.select(pl.col("mean_gap_days")),
        joined.select(pl.col("mean_gap_days_m").alias("mean_gap_days")),
    )
    # the favourite, recomputed in plain Python
    for cid, fav, share in out.select("customer_id", "favourite_category",
                                      "favourite_category_share").rows():  # fmt: skip
        spend: dict[str, float] = {}
        for row in tx.filter(pl.col("customer_id") == cid).iter_rows(named=True):
            spend[row["category"]] = spend.get(row["category"], 0.0) + row["amount"]
        positive = {k: v for k, v in spend.items() if v > 0}
        if not positive:
            assert fav is None
            assert share is None
            continue
        top = max(positive.values())
        assert fav == min(k for k, v in positive.items() if v == top)
        assert share == pytest.approx(top / sum(positive.values()))
        assert 0 < share <= 1


# --------------------------------------------------------------------------- models


def test_profile_with_models_matches_clv() -> None:
    sim = datasets.simulate(300, seed=11)
    buys = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")  # CDNOW, FHL 2005
    spend = clv.GammaGamma(p=6.25, q=3.74, v=15.44)
    out = profiles.customers(sim, model=buys, spend_model=spend, horizon=6, unit="1mo",
                             discount_rate=0.01)  # fmt: skip
    s = clv.summary(sim, unit="1w")
    direct = buys.predict(s, horizon="6mo").join(
        clv.lifetime_value(buys, spend, s, horizon=6, unit="1mo", discount_rate=0.01).select(
            "customer_id", "expected_spend", "clv"
        ),
        on="customer_id",
    )
    cols = ["customer_id", "p_alive", "expected_purchases", "expected_spend", "clv"]
    assert_frame_equal(out.select(cols), direct.select(cols))
    # P(alive) of one repeat buyer by the closed form of FHL (2005), eq. (11), by hand
    x, t_x, T = s.filter(pl.col("frequency") > 2).select("frequency", "recency", "T").row(0)
    r, alpha, a, b = 0.2426, 4.4135, 0.7930, 2.4259
    p = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    cid = s.filter(pl.col("frequency") > 2)["customer_id"][0]
    assert out.filter(customer_id=cid)["p_alive"].item() == pytest.approx(p, rel=1e-12)
    # the model columns alone, and the spend model alone
    only = profiles.customers(sim.lazy(), model=buys)
    assert isinstance(only, pl.LazyFrame)
    assert only.collect_schema().names()[-2:] == ["p_alive", "expected_purchases"]
    alone = profiles.customers(sim, spend_model=spend)
    assert alone.columns[-1] == "expected_spend"
    assert alone["expected_spend"].null_count() == 0  # every simulated customer has a purchase


def test_profile_model_arguments(tx: pl.DataFrame) -> None:
    with pytest.raises(ArgumentError, match=r"model must be a fitted transaction model.*got str"):
        profiles.customers(tx, model="bgnbd")  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"spend_model must be a clv.GammaGamma; got BetaGeo"):
        profiles.customers(tx, spend_model=clv.BetaGeo(r=1, alpha=1, a=1, b=1, unit="1w"))  # type: ignore[arg-type]
    buys = clv.BetaGeo(r=0.24, alpha=4.4, a=0.79, b=2.4, unit="1w")
    with pytest.raises(ArgumentError, match=r"horizon must be a whole number of periods >= 1"):
        profiles.customers(tx, model=buys, horizon=0)


# --------------------------------------------------------------------------- attributes


@pytest.fixture
def attrs() -> pl.DataFrame:
    # customer 3 has no attribute row; customer 9 never bought
    return pl.DataFrame(
        {"customer_id": [1, 2, 9], "loyalty": [True, False, True], "age": ["30-39", "40-49", None]}
    )


def test_attributes_joined_counted_and_reported(tx: pl.DataFrame, attrs: pl.DataFrame) -> None:
    with pytest.warns(
        RetailCRMWarning,
        match=r"1 customer\(s\) have no attribute row \(e.g. customer_id 3\); "
        r"1 customer\(s\) have no transaction \(e.g. customer_id 9\)",
    ):
        out = profiles.customers(tx, attributes=attrs)
    assert out.select("customer_id", "orders", "revenue", "margin", "loyalty", "match").rows() == [
        (1, 2, 55.0, 15.0, True, "both"),
        (2, 1, 16.0, 5.0, False, "both"),
        (3, 0, -4.0, -1.0, None, "transactions only"),
        (9, 0, 0.0, 0.0, True, "attributes only"),  # observed: bought nothing
    ]
    assert out.filter(customer_id=9).select("first_purchase", "segment", "channel_mix").row(0) == (
        None,
        None,
        None,
    )
    assert out.schema["match"] == pl.Enum(profiles.MATCHES)
    # lazy attributes: a lazy result, nothing read, nothing warned
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        lazy = profiles.customers(tx, attributes=attrs.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), out)
    # every id matched: no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        profiles.customers(tx.filter(pl.col("customer_id") < 3), attributes=attrs.head(2))


def test_attributes_bad_input(tx: pl.DataFrame, attrs: pl.DataFrame) -> None:
    twice = pl.concat([attrs, attrs.head(1)])
    with pytest.raises(
        DataError, match=r"2 row\(s\) of attributes repeat a customer_id, e.g. \{'customer_id': 1"
    ):
        profiles.customers(tx, attributes=twice)
    with pytest.raises(DataError, match=r"1 row\(s\) of attributes have a null customer_id"):
        profiles.customers(
            tx, attributes=attrs.with_columns(customer_id=pl.lit(None, pl.Int64)).head(1)
        )
    with pytest.raises(
        ColumnError, match=r"attributes has column\(s\) \['segment'\].*'crm_segment'"
    ):
        profiles.customers(tx, attributes=attrs.with_columns(segment=pl.lit("x")))
    with pytest.raises(ColumnError, match=r"customer_id of attributes is String but Int64"):
        profiles.customers(tx, attributes=attrs.with_columns(pl.col("customer_id").cast(pl.String)))
    with pytest.raises(ArgumentError, match=r"attributes must be a polars DataFrame.*got dict"):
        profiles.customers(tx, attributes={"customer_id": [1]})  # type: ignore[arg-type]
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['amount'\].*prepare"):
        profiles.customers(tx.drop("amount"))


# --------------------------------------------------------------------------- item 2


def test_an_attribute_is_a_segmentation(tx: pl.DataFrame, attrs: pl.DataFrame) -> None:
    """segments.contribution(by=attribute): the loyal customer profitability overview."""
    with pytest.warns(RetailCRMWarning, match="have no attribute row"):
        profile = profiles.customers(tx, attributes=attrs)
    out = segments.contribution(tx, profile, by="loyalty")
    # members: 1 (55, margin 15, 2 orders) and 9 (nothing); non-members: 2 (16, 5, 1 order);
    # unknown (null): 3 (-4, -1, no order). Sales 67, margin 19, orders 3, customers 4.
    expected = pl.DataFrame(
        {
            "loyalty": [False, True, None],
            "customers": pl.Series([1, 2, 1], dtype=pl.UInt32),
            "customers_share": [0.25, 0.5, 0.25],
            "orders": pl.Series([1, 2, 0], dtype=pl.UInt32),
            "orders_share": [1 / 3, 2 / 3, 0.0],
            "sales": [16.0, 55.0, -4.0],
            "sales_share": [16 / 67, 55 / 67, -4 / 67],
            "margin": [5.0, 15.0, -1.0],
            "margin_share": [5 / 19, 15 / 19, -1 / 19],
        }
    )
    assert_frame_equal(out, expected)
    # basket size (average order value) of each group follows from the same frame
    assert (out["sales"] / out["orders"]).to_list()[:2] == [16.0, 27.5]
    # migration between two profiles by any column: the channel mix at two dates
    early = profiles.customers(tx, as_of="2024-01-10")
    late = profiles.customers(tx)
    moves = segments.migration(early, late, by="channel_mix")
    assert moves.select("from", "to", "customers").rows() == [
        ("(entered)", "store only", 1),  # customer 2 first buys on Jan 21
        ("store only", "both", 1),  # customer 1 bought online on Jan 11
        ("neither", "neither", 1),  # customer 3 only returned (Enum order of metrics.MIXES)
    ]


def test_simulated_profile_sums() -> None:
    sim = datasets.simulate(400, seed=4)
    out = profiles.customers(sim)
    assert out.height == 400
    assert out["revenue"].sum() == pytest.approx(sim["amount"].sum())
    assert out["margin"].sum() == pytest.approx(sim["margin"].sum())
    assert out["orders"].sum() == rfm.summary(sim)["frequency"].sum()
    assert out["channel_mix"].value_counts().sort("channel_mix")["count"].to_list() == (
        metrics.channel_mix(sim)["customers"].to_list()
    )
    assert out["segment"].null_count() == 0
    shares = out["favourite_brand_share"].drop_nulls()
    with_positive_brand = (
        sim.group_by("customer_id", "brand")
        .agg(pl.col("amount").sum())
        .filter(pl.col("amount") > 0)
    )
    assert shares.len() == with_positive_brand["customer_id"].n_unique()  # 399: one full return
    assert 0 < shares.min() <= shares.max() <= 1.0
