"""metrics: hand-worked fixtures, consistency with cohorts / rfm / clv, properties, bad input."""

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
from retailcrm import (
    ArgumentError,
    ColumnError,
    DataError,
    RetailCRMWarning,
    _time,
    cohorts,
    datasets,
    metrics,
    rfm,
    segments,
)

D = date
MAR31 = D(2024, 3, 31)


@pytest.fixture
def tx() -> pl.DataFrame:
    # 1: o1 Jan 5 40 (store), o2 Jan 20 20 (online), o3 Feb 10 30 (store)
    # 2: o4 Jan 9 50 (store), o5 Mar 3 -50 (store): a pure return, not a purchase occasion
    # 3: o6 Feb 14 25 (online), o7 Mar 1 two lines 10 + 5 (online)
    # 4: o8 Mar 20 60 (store), o9 Mar 21 10 (online)
    rows = [
        (1, "o1", D(2024, 1, 5), 40.0, 10.0, "store"),
        (1, "o2", D(2024, 1, 20), 20.0, 5.0, "online"),
        (1, "o3", D(2024, 2, 10), 30.0, 6.0, "store"),
        (2, "o4", D(2024, 1, 9), 50.0, 12.0, "store"),
        (2, "o5", D(2024, 3, 3), -50.0, -12.0, "store"),
        (3, "o6", D(2024, 2, 14), 25.0, 5.0, "online"),
        (3, "o7", D(2024, 3, 1), 10.0, 2.0, "online"),
        (3, "o7", D(2024, 3, 1), 5.0, 1.0, "online"),
        (4, "o8", D(2024, 3, 20), 60.0, 15.0, "store"),
        (4, "o9", D(2024, 3, 21), 10.0, 2.0, "online"),
    ]
    return pl.DataFrame(
        rows,
        schema=["customer_id", "order_id", "timestamp", "amount", "margin", "channel"],
        orient="row",
    )


def months(*days: int) -> list[date]:
    return [D(2024, m, 1) for m in days]


def u32(values: list) -> pl.Series:
    return pl.Series(values, dtype=pl.UInt32)


# --------------------------------------------------------------------------- kpis, retention


def test_kpis_by_hand(tx: pl.DataFrame) -> None:
    out = metrics.kpis(tx, as_of=MAR31)
    expected = pl.DataFrame(
        {
            "period_start": months(1, 2, 3),
            "is_complete": [True, True, True],
            "active_customers": u32([2, 2, 2]),  # {1, 2}, {1, 3}, {3, 4}
            "new_customers": u32([2, 1, 1]),
            "returning_customers": u32([0, 1, 1]),
            "orders": u32([3, 2, 3]),
            "revenue": [110.0, 55.0, 35.0],  # March: -50 + 15 + 60 + 10
            "margin": [27.0, 11.0, 8.0],
            "average_order_value": [110 / 3, 27.5, 35 / 3],
            "orders_per_customer": [1.5, 1.0, 1.5],
            "revenue_per_customer": [55.0, 27.5, 17.5],
            "margin_per_customer": [13.5, 5.5, 4.0],
            "repeat_purchase_rate": [0.5, 0.0, 0.5],
            "retention_rate": [None, 0.5, 0.5],  # Feb: 1 of {1, 2}; Mar: 3 of {1, 3}
            "defection_rate": [None, 0.5, 0.5],
            "expected_lifetime": [None, 2.0, 2.0],
        }
    )
    assert_frame_equal(out, expected)
    lazy = metrics.kpis(tx.lazy(), as_of=MAR31)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), expected)


def test_kpis_defaults_and_variants(tx: pl.DataFrame) -> None:
    # default as_of: the last timestamp, Mar 21 -> March is in progress
    assert metrics.kpis(tx)["is_complete"].to_list() == [True, True, False]
    # without margin and order_id: customer-days; one quarter
    out = metrics.kpis(tx.drop("margin", "order_id"), period="1q")
    assert "margin" not in out.columns
    assert out.select("period_start", "active_customers", "orders", "revenue").rows() == [
        (D(2024, 1, 1), 4, 8, 200.0)
    ]
    # a month without any order still has its row, with zeros and null rates
    gap = tx.filter(pl.col("timestamp").dt.month() != 2)
    feb = metrics.kpis(gap, as_of=MAR31).row(1, named=True)
    assert (feb["active_customers"], feb["orders"], feb["revenue"]) == (0, 0, 0.0)
    assert feb["average_order_value"] is None
    assert feb["retention_rate"] == 0.0
    assert metrics.kpis(gap, as_of=MAR31).row(2, named=True)["retention_rate"] is None


def test_retention_by_hand(tx: pl.DataFrame) -> None:
    out = metrics.retention(tx)
    expected = pl.DataFrame(
        {
            "period_start": months(1, 2, 3),
            "is_complete": [True, True, False],
            "active_customers": u32([2, 2, 2]),
            "previous_active_customers": u32([None, 2, 2]),
            "retained_customers": u32([0, 1, 1]),
            "retention_rate": [None, 0.5, 0.5],
            "defection_rate": [None, 0.5, 0.5],
            "expected_lifetime": [None, 2.0, 2.0],
        }
    )
    assert_frame_equal(out, expected)
    # everyone comes back: rate 1, the lifetime is unbounded (null)
    loyal = pl.DataFrame(
        {"customer_id": [1, 1], "timestamp": [D(2024, 1, 1), D(2024, 2, 1)], "amount": [1.0, 1.0]}
    )
    assert metrics.retention(loyal)["expected_lifetime"].to_list() == [None, None]


def test_acquisition_by_hand(tx: pl.DataFrame) -> None:
    prospects = pl.DataFrame({"period_start": months(1, 3), "prospects": [10, 4]})
    spend = pl.DataFrame({"period_start": months(1, 2), "marketing_spend": [100.0, 30.0]})
    out = metrics.acquisition(tx, prospects=prospects, marketing_spend=spend)
    expected = pl.DataFrame(
        {
            "period_start": months(1, 2, 3),
            "new_customers": u32([2, 1, 1]),
            "prospects": [10.0, None, 4.0],
            "acquisition_rate": [0.2, None, 0.25],
            "marketing_spend": [100.0, 30.0, None],
            "cost_per_acquisition": [50.0, 30.0, None],
        }
    )
    assert_frame_equal(out, expected)
    assert metrics.acquisition(tx).columns == ["period_start", "new_customers"]
    assert isinstance(metrics.acquisition(tx, prospects=prospects.lazy()), pl.LazyFrame)


def test_survival_by_hand(tx: pl.DataFrame) -> None:
    # cohorts Jan {1, 2}, Feb {3}, Mar {4}; active cells 1: Jan Feb, 2: Jan, 3: Feb Mar, 4: Mar
    out = metrics.survival(tx, as_of=MAR31)
    expected = pl.DataFrame(
        {
            "period_index": pl.Series([0, 1, 2], dtype=pl.Int32),
            "customers": u32([4, 3, 2]),
            "active_share": [1.0, 2 / 3, 0.0],
            "at_risk": u32([None, 3, 1]),
            "retained": u32([None, 2, 0]),
            "retention_rate": [None, 2 / 3, 0.0],
            "survival_rate": [1.0, 2 / 3, 0.0],
        }
    )
    assert_frame_equal(out, expected)
    # as of Mar 21 March is not complete: only the January cohort's index 1 counts
    early = metrics.survival(tx)
    assert early.select("period_index", "customers", "retention_rate").rows() == [
        (0, 3, None),
        (1, 2, 0.5),
    ]


# --------------------------------------------------------------------------- consistency


@pytest.fixture(scope="module")
def sim() -> pl.DataFrame:
    return datasets.simulate(400, seed=7)


def test_acquisition_agrees_with_cohorts(sim: pl.DataFrame) -> None:
    as_of = D(2024, 10, 31)
    table = cohorts.table(sim, period="1mo", as_of=as_of)
    sizes = table.filter(pl.col("period_index") == 0).select(
        period_start="cohort", new_customers="cohort_size"
    )
    acquired = metrics.acquisition(sim, as_of=as_of).filter(pl.col("new_customers") > 0)
    assert_frame_equal(acquired, sizes)


def test_survival_matches_a_plain_computation(sim: pl.DataFrame) -> None:
    # purchase-occasion months per customer, as month numbers, up to Oct 2024 (all complete)
    value = sim.group_by("customer_id", "order_id").agg(
        pl.col("timestamp").min(), pl.col("amount").sum()
    )
    value = value.filter((pl.col("amount") > 0) & (pl.col("timestamp") < D(2024, 11, 1)))
    months_of: dict[int, set[int]] = {}
    for customer, when in value.select("customer_id", "timestamp").rows():
        months_of.setdefault(customer, set()).add(when.year * 12 + when.month)
    last = 2024 * 12 + 10
    rows = []
    for k in range(last - min(min(m) for m in months_of.values()) + 1):
        base = [m for m in months_of.values() if min(m) + k <= last]
        active = sum(min(m) + k in m for m in base)
        if k == 0:
            rows.append((k, len(base), active / len(base), None, None))
            continue
        risk = sum(min(m) + k - 1 in m for m in base)
        kept = sum(min(m) + k - 1 in m and min(m) + k in m for m in base)
        rows.append((k, len(base), active / len(base), risk, kept))
    out = metrics.survival(sim, as_of=D(2024, 10, 31))
    assert out.select(
        "period_index", "customers", "active_share", "at_risk", "retained"
    ).rows() == [pytest.approx(r) if r[3] is not None else r for r in rows]


def test_survival_agrees_with_cohorts(sim: pl.DataFrame) -> None:
    # the pooled cohort retention curve: sum of active / sum of cohort sizes over complete cells
    as_of = D(2024, 10, 31)
    table = cohorts.table(sim, period="1mo", as_of=as_of)
    pooled = (
        table.filter("is_complete")
        .group_by("period_index")
        .agg(customers=pl.col("cohort_size").sum(), active=pl.col("active_customers").sum())
        .sort("period_index")
        .select("period_index", "customers", active_share=pl.col("active") / pl.col("customers"))
    )
    out = metrics.survival(sim, as_of=as_of).select("period_index", "customers", "active_share")
    assert_frame_equal(out, pooled)


def test_retention_of_one_cohort_is_the_cohort_tables(sim: pl.DataFrame) -> None:
    first = rfm.summary(sim.filter(pl.col("timestamp").dt.year() == 2023))
    first = first.select("customer_id", m=pl.col("first_purchase").dt.month())
    first = first.filter(pl.col("m") == 3).drop("m")  # acquired in March 2023
    march = sim.filter(pl.col("timestamp").dt.year() == 2023).join(first, on="customer_id")
    table = cohorts.table(march, as_of=D(2023, 12, 31))
    rates = metrics.retention(march, as_of=D(2023, 12, 31))
    april = rates.filter(pl.col("period_start") == D(2023, 4, 1))["retention_rate"].item()
    assert april == table.filter(period_index=1)["retention_rate"].item()


def test_kpis_totals_agree_with_rfm(sim: pl.DataFrame) -> None:
    out = metrics.kpis(sim, period="1q")
    summary = rfm.summary(sim)
    assert out["orders"].sum() == summary["frequency"].sum()
    assert out["new_customers"].sum() == summary.filter(pl.col("frequency") > 0).height
    assert out["revenue"].sum() == pytest.approx(sim["amount"].sum())
    assert out["margin"].sum() == pytest.approx(sim["margin"].sum())
    assert out.height == 8  # 2023-Q1 .. 2024-Q4


def test_customer_equity_matches_clv(sim: pl.DataFrame) -> None:
    s = clv.summary(sim, unit="1w")
    buys = clv.BetaGeo(r=0.25, alpha=1.4, a=0.8, b=4.0, unit="1w")
    spend = clv.GammaGamma(p=4.0, q=4.0, v=60.0)
    terms = {"horizon": 12, "unit": "1mo", "discount_rate": 0.01}
    values = clv.lifetime_value(buys, spend, s.filter(pl.col("frequency") > 0), **terms)
    ours = metrics.customer_equity(values)
    theirs = clv.customer_equity(buys, spend, s.filter(pl.col("frequency") > 0), **terms)
    assert ours["customers"].item() == theirs["customers"].item()
    assert ours["customer_equity"].item() == pytest.approx(theirs["customer_equity"].item())
    assert isinstance(metrics.customer_equity(values.lazy()), pl.LazyFrame)


# --------------------------------------------------------------------------- the rest


def test_interpurchase_time_by_hand(tx: pl.DataFrame) -> None:
    out = metrics.interpurchase_time(tx, as_of=MAR31)
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "purchases": u32([3, 1, 2, 2]),
            "first_purchase": [D(2024, 1, 5), D(2024, 1, 9), D(2024, 2, 14), D(2024, 3, 20)],
            "last_purchase": [D(2024, 2, 10), D(2024, 1, 9), D(2024, 3, 1), D(2024, 3, 21)],
            "mean_gap_days": [18.0, None, 16.0, 1.0],  # 36 / 2, -, 16 / 1, 1 / 1
            "days_per_purchase": [86 / 3, 82.0, 23.0, 5.5],  # (Mar 31 - first) / purchases
        }
    )
    assert_frame_equal(out, expected)
    summary = metrics.interpurchase_summary(tx, as_of=MAR31)
    assert summary.row(0) == pytest.approx((4, 3, 35 / 3, 53 / 4, (86 / 3 + 82 + 23 + 5.5) / 4))


def test_channel_mix_by_hand(tx: pl.DataFrame) -> None:
    out = metrics.channel_mix(tx)
    expected = pl.DataFrame(
        {
            "mix": pl.Series(["store only", "online only", "both"], dtype=pl.Enum(metrics.MIXES)),
            "customers": u32([1, 1, 2]),  # 2 | 3 | 1 and 4
            "customers_share": [0.25, 0.25, 0.5],
            "revenue": [0.0, 40.0, 160.0],
            "revenue_share": [0.0, 0.2, 0.8],
            "revenue_per_customer": [0.0, 40.0, 80.0],
        }
    )
    assert_frame_equal(out, expected)
    # March only: customer 2 has just a return -> "neither", never dropped
    march = metrics.channel_mix(tx.lazy(), as_of=MAR31, lookback="1mo").collect()
    assert march.select("mix", "customers", "revenue").rows() == [
        ("online only", 1, 15.0),
        ("both", 1, 70.0),
        ("neither", 1, -50.0),
    ]


def test_share_of_wallet_by_hand(tx: pl.DataFrame) -> None:
    wallets = pl.DataFrame({"customer_id": [1, 3, 5], "wallet": [200.0, 80.0, 100.0]})
    out = metrics.share_of_wallet(tx, wallets=wallets)
    assert out.rows() == [(1, 90.0, 200.0, 0.45), (3, 40.0, 80.0, 0.5), (5, 0.0, 100.0, 0.0)]
    total = metrics.aggregate_share_of_wallet(tx, wallets=wallets)
    assert total.row(0) == pytest.approx((3, 130.0, 380.0, 130 / 380, 0.95 / 3))
    march = metrics.share_of_wallet(tx, wallets=wallets, as_of=MAR31, lookback="1mo")
    assert march["spend"].to_list() == [0.0, 15.0, 0.0]


def test_past_customer_value_by_hand(tx: pl.DataFrame) -> None:
    out = metrics.past_customer_value(tx, discount_rate=0.1, as_of=MAR31)
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "value": [21.0, 0.0, 8.0, 17.0],
            # Jan x 1.1^2, Feb x 1.1, Mar x 1
            "past_customer_value": [15 * 1.21 + 6 * 1.1, 12 * 1.21 - 12, 5 * 1.1 + 3, 17.0],
        }
    )
    assert_frame_equal(out, expected)
    revenue = metrics.past_customer_value(tx, discount_rate=0.0, value="amount", period="1q")
    assert revenue["past_customer_value"].to_list() == [90.0, 0.0, 40.0, 70.0]


def test_bad_input(tx: pl.DataFrame) -> None:
    with pytest.raises(ArgumentError, match=r"wallets is required.*Pass wallets=<frame"):
        metrics.share_of_wallet(tx)
    with pytest.raises(ArgumentError, match=r"wallets is required"):
        metrics.aggregate_share_of_wallet(tx)
    bad = pl.DataFrame({"customer_id": [1, 2], "wallet": [10.0, 0.0]})
    with pytest.raises(
        DataError, match=r"1 row\(s\) of wallets have a wallet that is not a positive"
    ):
        metrics.share_of_wallet(tx, wallets=bad)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['wallet'\]"):
        metrics.share_of_wallet(tx, wallets=bad.rename({"wallet": "size"}))
    twice = pl.DataFrame({"period_start": months(1, 1), "prospects": [1, 2]})
    with pytest.raises(DataError, match=r"2 row\(s\) of prospects repeat a period_start"):
        metrics.acquisition(tx, prospects=twice)
    with pytest.raises(ArgumentError, match=r"period must be .*got '1m'"):
        metrics.kpis(tx, period="1m")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['margin'\]"):
        metrics.past_customer_value(tx.drop("margin"), discount_rate=0.1)
    with pytest.raises(ArgumentError, match=r"discount_rate must be a finite number > -1"):
        metrics.past_customer_value(tx, discount_rate=-1.0)
    with pytest.raises(ArgumentError, match=r"value must be one of \['margin', 'amount'\]"):
        metrics.past_customer_value(tx, discount_rate=0.1, value="sales")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['channel'\]"):
        metrics.channel_mix(tx.drop("channel"))
    with pytest.raises(ArgumentError, match=r"lookback must be a duration.*got 'month'"):
        metrics.channel_mix(tx, lookback="month")
    with pytest.raises(DataError, match=r"repeat a customer_id"):
        metrics.customer_equity(pl.DataFrame({"customer_id": [1, 1], "clv": [1.0, 2.0]}))


def test_empty_input_gives_empty_frames(tx: pl.DataFrame) -> None:
    none = tx.clear()
    assert metrics.kpis(none).height == 0
    assert metrics.survival(none).height == 0
    assert metrics.interpurchase_summary(none).row(0)[:2] == (0, 0)
    assert metrics.channel_mix(none).height == 0


# --------------------------------------------------------------------------- properties

transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 10)),
        column("order_id", dtype=pl.Int64, strategy=st.integers(0, 30)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2024, 1, 1), D(2024, 6, 30))),
        column("amount", dtype=pl.Float64, strategy=st.integers(-20, 100).map(float)),
        column("channel", dtype=pl.String, strategy=st.sampled_from(["store", "online", "app"])),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_kpis_properties(tx: pl.DataFrame) -> None:
    out = metrics.kpis(tx, as_of=D(2024, 6, 30))
    summary = rfm.summary(tx)
    assert out["orders"].sum() == summary["frequency"].sum()
    assert out["new_customers"].sum() == summary.filter(pl.col("frequency") > 0).height
    assert out["revenue"].sum() == pytest.approx(tx["amount"].sum(), abs=1e-9)
    rates = out["retention_rate"].drop_nulls()
    assert rates.is_between(0, 1).all()
    assert_frame_equal(
        metrics.kpis(tx.sample(fraction=1.0, shuffle=True, seed=3), as_of=D(2024, 6, 30)), out
    )
    assert_frame_equal(metrics.kpis(tx.lazy(), as_of=D(2024, 6, 30)).collect(), out)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_survival_and_mix_properties(tx: pl.DataFrame) -> None:
    curve = metrics.survival(tx, as_of=D(2024, 6, 30))
    s = curve["survival_rate"]
    assert s.is_between(0, 1).all()
    assert (s.diff().drop_nulls() <= 1e-12).all()  # never rises
    assert (curve["retained"].drop_nulls() <= curve["at_risk"].drop_nulls()).all()
    mix = metrics.channel_mix(tx)
    assert mix["customers"].sum() == tx["customer_id"].n_unique()  # each exactly once
    assert mix["customers_share"].sum() == pytest.approx(1.0)
    assert_frame_equal(metrics.channel_mix(tx.reverse()), mix)


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_interpurchase_matches_a_plain_computation(tx: pl.DataFrame) -> None:
    out = metrics.interpurchase_summary(tx)
    value = tx.group_by("customer_id", "order_id").agg(
        pl.col("timestamp").min(), pl.col("amount").sum()
    )
    days: dict[int, list[date]] = {}
    for customer, when, amount in value.select("customer_id", "timestamp", "amount").rows():
        if amount > 0:
            days.setdefault(customer, []).append(when)
    gaps = [(max(d) - min(d)).days for d in days.values() if len(d) > 1]
    counts = [len(d) - 1 for d in days.values() if len(d) > 1]
    assert out["customers"].item() == len(days)
    assert out["repeat_customers"].item() == len(gaps)
    pooled = out["pooled_gap_days"].item()
    assert pooled == (pytest.approx(sum(gaps) / sum(counts)) if gaps else None)


# --------------------------------------------------------------------------- one window rule


def test_one_lookback_window_for_segments_and_metrics() -> None:
    # tz-aware instants near midnight: the window counts local dates, as_of = the last one
    tz = "America/New_York"
    stamps = [datetime(2024, 1, 31, 23, 30), datetime(2024, 2, 1, 0, 30), datetime(2024, 3, 31, 9)]
    tx = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "timestamp": stamps,
            "amount": [10.0, 20.0, 40.0],
            "channel": ["store", "online", "store"],
        }
    ).with_columns(pl.col("timestamp").dt.replace_time_zone(tz))
    # as_of 2024-03-31 (local), 2 months back: (2024-01-31, 2024-03-31] keeps customers 2 and 3
    window = _time.window(tx, None, "2mo", caller="test")
    assert window.lines.collect()["customer_id"].to_list() == [2, 3]
    seg = pl.DataFrame({"customer_id": [2, 3], "segment": ["a", "a"]})
    assert segments.contribution(tx, seg, lookback="2mo")["sales"].to_list() == [60.0]
    assert segments.frequency_bands(tx, lookback="2mo")["customer_id"].to_list() == [2, 3]
    assert metrics.channel_mix(tx, lookback="2mo")["revenue"].sum() == 60.0
    wallets = pl.DataFrame({"customer_id": [1, 2, 3], "wallet": [100.0] * 3})
    spend = metrics.share_of_wallet(tx, wallets=wallets, lookback="2mo")["spend"]
    assert spend.to_list() == [0.0, 20.0, 40.0]
    # the same with as_of given as a date, lazily
    lazy = metrics.channel_mix(tx.lazy(), as_of=D(2024, 3, 31), lookback="2mo").collect()
    assert lazy["revenue"].sum() == 60.0


# --------------------------------------------------------------------------- category requirement


@pytest.fixture
def brands() -> pl.DataFrame:
    # Milk: 1 buys A 3 + B 1; 2 buys B 2 and an unbranded milk 2; 3 buys A 4 (2 units)
    # Tea: 1 buys C 9; customer 4 only Tea
    rows = [
        (1, D(2024, 1, 1), "A", "Milk", 1.0, 3.0),
        (1, D(2024, 1, 2), "B", "Milk", 1.0, 1.0),
        (1, D(2024, 1, 3), "C", "Tea", 1.0, 9.0),
        (2, D(2024, 2, 1), "B", "Milk", 1.0, 2.0),
        (2, D(2024, 2, 1), None, "Milk", 3.0, 2.0),
        (3, D(2024, 3, 1), "A", "Milk", 2.0, 4.0),
        (4, D(2024, 3, 1), "C", "Tea", 1.0, 5.0),
    ]
    return pl.DataFrame(
        rows,
        schema=["customer_id", "timestamp", "brand", "category", "quantity", "amount"],
        orient="row",
    )


def test_share_of_category_requirement_by_hand(brands: pl.DataFrame) -> None:
    out = metrics.share_of_category_requirement(brands, focus="A")
    expected = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "focus_amount": [3.0, 0.0, 4.0],
            "category_amount": [4.0, 4.0, 4.0],  # the unbranded milk counts in the category
            "share_of_category_requirement": [0.75, 0.0, 1.0],
        }
    )
    assert_frame_equal(out, expected)
    volume = metrics.share_of_category_requirement(brands, focus="A", value="quantity")
    assert volume.columns[1:3] == ["focus_quantity", "category_quantity"]
    assert volume["share_of_category_requirement"].to_list() == [0.5, 0.0, 1.0]
    # without a category: every line of the customer is their requirement
    everything = metrics.share_of_category_requirement(brands, focus="A", within=None)
    assert everything["share_of_category_requirement"].to_list() == [0.75 * 4 / 13, 0, 1, 0]
    total = metrics.aggregate_share_of_category_requirement(brands, focus="A")
    # buyers of A: 1 and 3: (3 + 4) / (4 + 4); market share 7 / 12
    assert total.row(0) == pytest.approx((3, 2, 7.0, 8.0, 7 / 8, (0.75 + 1) / 2, 7 / 12))
    assert total.columns == [
        "category_buyers",
        "focus_buyers",
        "focus_amount",
        "category_amount",
        "share_of_category_requirement",
        "mean_individual_share",
        "market_share",
    ]
    lazy = metrics.share_of_category_requirement(brands.lazy(), focus=["A", "B"])
    assert lazy.collect()["share_of_category_requirement"].to_list() == [1.0, 0.5, 1.0]


def test_share_of_category_requirement_bad_input(brands: pl.DataFrame) -> None:
    with pytest.warns(RetailCRMWarning, match=r"focus 'Z' has no line in the window"):
        out = metrics.share_of_category_requirement(brands, focus="Z")
    assert out.height == 0
    with pytest.warns(RetailCRMWarning, match=r"1 row\(s\) have a null category"):
        metrics.share_of_category_requirement(
            brands.with_columns(pl.when(pl.col("customer_id") != 4).then(pl.col("category"))),
            focus="A",
        )
    with pytest.raises(ArgumentError, match=r"value must be one of \['amount', 'quantity'\]"):
        metrics.share_of_category_requirement(brands, focus="A", value="units")
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['quantity'\]"):
        metrics.share_of_category_requirement(brands.drop("quantity"), focus="A", value="quantity")
    with pytest.raises(ColumnError, match=r"level='sku' names no column"):
        metrics.aggregate_share_of_category_requirement(brands, focus="A", level="sku")


def test_size_of_wallet_by_hand() -> None:
    wallets = pl.DataFrame({"customer_id": [1, 2, 3, 4], "wallet": [100.0, 50.0, 30.0, 20.0]})
    assert metrics.size_of_wallet(wallets).row(0) == (4, 200.0, 50.0)
    seg = pl.DataFrame({"customer_id": [1, 2, 3, 9], "segment": ["Gold", "Gold", "Silver", "X"]})
    out = metrics.size_of_wallet(wallets.lazy(), seg)
    assert isinstance(out, pl.LazyFrame)
    assert out.collect().rows() == [
        ("Gold", 2, 150.0, 75.0),
        ("Silver", 1, 30.0, 30.0),
        (None, 1, 20.0, 20.0),  # customer 4 has no segment; 9 has no wallet
    ]
    with pytest.raises(ArgumentError, match=r"wallets is required"):
        metrics.size_of_wallet(None)  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"2 row\(s\) of segments repeat a customer_id"):
        metrics.size_of_wallet(wallets, pl.concat([seg, seg.head(1)]))


scr_transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 8)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2024, 1, 1), D(2024, 6, 30))),
        column("brand", dtype=pl.String, strategy=st.sampled_from(["A", "B", "C"])),
        column("category", dtype=pl.String, strategy=st.sampled_from(["X", "Y"])),
        column("amount", dtype=pl.Float64, strategy=st.integers(-5, 30).map(float)),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)


@settings(max_examples=40, deadline=None)
@given(tx=scr_transactions)
def test_share_of_category_requirement_matches_a_plain_computation(tx: pl.DataFrame) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        out = metrics.share_of_category_requirement(tx, focus="A")
    rows = tx.to_dicts()
    categories = {r["category"] for r in rows if r["brand"] == "A"}
    focus: dict[int, float] = {}
    total: dict[int, float] = {}
    for r in rows:
        if r["category"] in categories:
            c = r["customer_id"]
            total[c] = total.get(c, 0.0) + r["amount"]
            focus[c] = focus.get(c, 0.0) + (r["amount"] if r["brand"] == "A" else 0.0)
    assert out["customer_id"].to_list() == sorted(total)
    assert out["focus_amount"].to_list() == [focus[c] for c in sorted(total)]
    shares = [focus[c] / total[c] if total[c] > 0 else None for c in sorted(total)]
    assert out["share_of_category_requirement"].to_list() == pytest.approx(shares)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=5).lazy()
    assert_frame_equal(metrics.share_of_category_requirement(shuffled, focus="A").collect(), out)


def test_channel_mix_on_enum_channels(tx: pl.DataFrame) -> None:
    text = metrics.channel_mix(tx)
    enum = tx.with_columns(pl.col("channel").cast(pl.Enum(["store", "online"])))
    assert_frame_equal(metrics.channel_mix(enum.lazy()).collect(), text)
    # a channel value that is not a category matches nothing (no error)
    store_only = tx.with_columns(pl.lit("store").cast(pl.Enum(["store"])).alias("channel"))
    out = metrics.channel_mix(store_only)
    assert out.select(pl.col("mix").cast(pl.String), "customers").rows() == [("store only", 4)]
