"""campaigns: hand-worked arithmetic, scipy oracles, simulated uplift (coverage), bad input."""

from __future__ import annotations

import math
import warnings
from datetime import date, datetime, time, timedelta

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes
from scipy import stats

import retailcrm.campaigns as campaigns
from retailcrm import ArgumentError, ColumnError, DataError, RetailCRMWarning, datasets, rfm

D = date
MAR1, MAR31 = D(2024, 3, 1), D(2024, 3, 31)

# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def tx() -> pl.DataFrame:
    # 1 (T): pre: p1 Feb 10 40 (8); window: a Mar 3 = 30 + 10 (6 + 2), b Mar 20 20 (5),
    #        c Mar 25 a pure return -10 (-2)          -> responder, 2 orders, 50, margin 11
    # 2 (T): pre only: d Feb 15 25 (5)                -> 0
    # 3 (T): no rows at all                           -> 0 (never dropped)
    # 4 (C): pre: q Feb 1 10 (2); window: e Mar 10 15 (3) -> responder, 1 order, 15, 3
    # 5 (C): f Mar 31 a pure return -5 (-1)           -> no response, 0 orders, -5, -1
    # 6 (C): g Apr 2 50 (10), after the window        -> 0
    # 7 (not assigned): h Mar 5 100 (20)              -> not measured
    rows = [
        (1, "p1", D(2024, 2, 10), 40.0, 8.0),
        (1, "a", D(2024, 3, 3), 30.0, 6.0),
        (1, "a", D(2024, 3, 3), 10.0, 2.0),
        (1, "b", D(2024, 3, 20), 20.0, 5.0),
        (1, "c", D(2024, 3, 25), -10.0, -2.0),
        (2, "d", D(2024, 2, 15), 25.0, 5.0),
        (4, "q", D(2024, 2, 1), 10.0, 2.0),
        (4, "e", D(2024, 3, 10), 15.0, 3.0),
        (5, "f", D(2024, 3, 31), -5.0, -1.0),
        (6, "g", D(2024, 4, 2), 50.0, 10.0),
        (7, "h", D(2024, 3, 5), 100.0, 20.0),
    ]
    return pl.DataFrame(
        rows,
        schema=["customer_id", "order_id", "timestamp", "amount", "margin"],
        orient="row",
    )


@pytest.fixture
def assigned() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6],
            "campaign": ["spring"] * 6,
            "group": ["treatment"] * 3 + ["control"] * 3,
        }
    )


T_REVENUE, C_REVENUE = [50.0, 0.0, 0.0], [15.0, -5.0, 0.0]
T_MARGIN, C_MARGIN = [11.0, 0.0, 0.0], [3.0, -1.0, 0.0]
T_ORDERS, C_ORDERS = [2.0, 0.0, 0.0], [1.0, 0.0, 0.0]
T_PRE_REVENUE, C_PRE_REVENUE = [40.0, 25.0, 0.0], [10.0, 0.0, 0.0]


def _row(frame: pl.DataFrame, metric: str) -> dict[str, object]:
    return frame.filter(pl.col("metric") == metric).row(0, named=True)


# --------------------------------------------------------------------------- summary


def test_summary_by_hand(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    out = campaigns.summary(tx, assigned, start=MAR1, end=MAR31)
    expected = pl.DataFrame(
        {
            "campaign": ["spring", "spring"],
            "group": pl.Series(["treatment", "control"], dtype=pl.Enum(campaigns.GROUPS)),
            "customers": pl.Series([3, 3], dtype=pl.UInt32),
            "responders": pl.Series([1, 1], dtype=pl.UInt32),
            "response_rate": [1 / 3, 1 / 3],
            "orders": pl.Series([2, 1], dtype=pl.UInt32),
            "revenue": [50.0, 10.0],
            "margin": [11.0, 2.0],
            "orders_per_customer": [2 / 3, 1 / 3],
            "revenue_per_customer": [50 / 3, 10 / 3],
            "margin_per_customer": [11 / 3, 2 / 3],
        }
    )
    assert_frame_equal(out, expected)


def test_summary_without_order_id_or_margin(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    # without order_id an order is a customer-day: a (two lines) and b stay two orders
    out = campaigns.summary(tx.drop("order_id", "margin"), assigned, start=MAR1, end=MAR31)
    assert "margin" not in out.columns
    assert out.select("orders", "revenue").rows() == [(2, 50.0), (1, 10.0)]


# --------------------------------------------------------------------------- performance


def test_performance_means_match_scipy_welch(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    out = campaigns.performance(tx, assigned, start=MAR1, end=MAR31, confidence=0.9)
    for metric, t, c in (
        ("revenue_per_customer", T_REVENUE, C_REVENUE),
        ("margin_per_customer", T_MARGIN, C_MARGIN),
        ("orders_per_customer", T_ORDERS, C_ORDERS),
    ):
        row = _row(out, metric)
        ref = stats.ttest_ind(t, c, equal_var=False)
        ci = ref.confidence_interval(0.9)
        assert row["treatment"] == pytest.approx(np.mean(t))
        assert row["control"] == pytest.approx(np.mean(c))
        assert row["uplift"] == pytest.approx(np.mean(t) - np.mean(c))
        assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
        assert (row["ci_low"], row["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
        assert row["test"] == "Welch t"
        assert row["adjustment"] == "none"
        assert row["incremental"] == pytest.approx(3 * (np.mean(t) - np.mean(c)))
        assert row["incremental_ci_low"] == pytest.approx(3 * ci.low)
        assert row["note"] is None


def test_performance_rate_is_a_two_proportion_z_test() -> None:
    # 30 of 100 treated and 20 of 100 controls responded: worked by hand from the formulas
    days = D(2024, 5, 1)
    customers = list(range(200))
    responders = list(range(30)) + list(range(100, 120))
    tx = pl.DataFrame({"customer_id": responders, "timestamp": [days] * 50, "amount": [10.0] * 50})
    a = pl.DataFrame(
        {
            "customer_id": customers,
            "campaign": "may",
            "group": ["treatment"] * 100 + ["control"] * 100,
        }
    )
    row = _row(campaigns.performance(tx, a, start=days, end=days), "response_rate")
    se = math.sqrt(0.3 * 0.7 / 100 + 0.2 * 0.8 / 100)
    z = 0.1 / math.sqrt(0.25 * 0.75 * (2 / 100))
    p = math.erfc(abs(z) / math.sqrt(2))
    assert row["uplift"] == pytest.approx(0.1)
    assert row["std_error"] == pytest.approx(se)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (0.1 - 1.959964 * se, 0.1 + 1.959964 * se)
    )
    assert row["p_value"] == pytest.approx(p)
    assert row["test"] == "two-proportion z"
    assert row["incremental"] == pytest.approx(10.0)  # 0.1 x 100 treated: ten extra responders
    assert row["relative_uplift"] == pytest.approx(0.5)


def test_performance_cuped_by_hand(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    out = campaigns.performance(tx, assigned, start=MAR1, end=MAR31, pre="1mo")  # Feb 1 - 29
    y = np.array(T_REVENUE + C_REVENUE)
    x = np.array(T_PRE_REVENUE + C_PRE_REVENUE)
    theta = np.cov(y, x)[0, 1] / np.var(x, ddof=1)
    adjusted = y - theta * (x - x.mean())
    ref = stats.ttest_ind(adjusted[:3], adjusted[3:], equal_var=False)
    row = _row(out, "revenue_per_customer")
    assert row["adjustment"] == "cuped"
    assert row["treatment"] == pytest.approx(50 / 3)  # raw means stay raw
    assert row["uplift"] == pytest.approx(adjusted[:3].mean() - adjusted[3:].mean())
    assert row["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert row["ci_low"] == pytest.approx(ref.confidence_interval(0.95).low, rel=1e-9)
    # the response rate under CUPED is a mean of 0/1 values with Welch's test
    assert _row(out, "response_rate")["test"] == "Welch t"
    # a pre-period given as its first day is the same pre-period
    same = campaigns.performance(tx, assigned, start=MAR1, end=MAR31, pre=D(2024, 2, 1))
    assert_frame_equal(out, same)


def test_performance_roi_and_cost_mapping(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    out = campaigns.performance(tx, assigned, start=MAR1, end=MAR31, cost_per_contact=2.0)
    revenue, margin = _row(out, "revenue_per_customer"), _row(out, "margin_per_customer")
    assert revenue["cost"] == 6.0  # 3 treated x 2
    assert revenue["incremental"] == pytest.approx(40.0)  # (50/3 - 10/3) x 3
    assert revenue["roi"] == pytest.approx((40 - 6) / 6)
    assert margin["incremental"] == pytest.approx(9.0)  # (11/3 - 2/3) x 3
    assert margin["roi"] == pytest.approx(0.5)
    assert margin["roi_ci_low"] == pytest.approx((margin["incremental_ci_low"] - 6) / 6)
    assert margin["roi_ci_high"] == pytest.approx((margin["incremental_ci_high"] - 6) / 6)
    assert _row(out, "response_rate")["roi"] is None
    mapped = campaigns.performance(
        tx, assigned, start=MAR1, end=MAR31, cost_per_contact={"spring": 2.0}
    )
    assert_frame_equal(out, mapped)
    free = campaigns.performance(tx, assigned, start=MAR1, end=MAR31, cost_per_contact=0)
    assert _row(free, "margin_per_customer")["roi"] is None  # no cost, no ratio
    with pytest.raises(ArgumentError, match=r"no cost for campaign\(s\) \['spring'\]"):
        campaigns.performance(tx, assigned, start=MAR1, end=MAR31, cost_per_contact={"x": 1.0})


def test_performance_without_control_is_descriptive(
    tx: pl.DataFrame, assigned: pl.DataFrame
) -> None:
    solo = pl.DataFrame({"customer_id": [1, 4], "campaign": "solo", "group": "treatment"})
    thin = pl.DataFrame(
        {"customer_id": [1, 2, 4], "campaign": "thin", "group": ["treatment"] * 2 + ["control"]}
    )
    out = campaigns.performance(
        tx, pl.concat([assigned, solo, thin]), start=MAR1, end=MAR31, cost_per_contact=1.0
    )
    assert out["campaign"].unique().sort().to_list() == ["solo", "spring", "thin"]
    for row in out.filter(pl.col("campaign") == "solo").iter_rows(named=True):
        assert row["note"] == campaigns._NO_CONTROL
        assert (row["treatment_customers"], row["control_customers"]) == (2, 0)
        for name in ("control", "uplift", "p_value", "incremental", "roi"):
            assert row[name] is None, name
        assert row["cost"] == 2.0
    assert _row(out.filter(pl.col("campaign") == "solo"), "revenue_per_customer")[
        "treatment"
    ] == pytest.approx(32.5)  # (50 + 15) / 2
    for row in out.filter(pl.col("campaign") == "thin").iter_rows(named=True):
        assert row["note"] == campaigns._TOO_FEW  # one control customer: no variance
        assert row["uplift"] is not None
        assert row["ci_low"] is None
    assert out.filter(pl.col("campaign") == "spring")["note"].null_count() == 4
    groups = campaigns.summary(tx, solo, start=MAR1, end=MAR31)
    assert groups["group"].to_list() == ["treatment"]


def test_performance_only_control_group(tx: pl.DataFrame) -> None:
    a = pl.DataFrame({"customer_id": [4, 5], "campaign": "held", "group": "control"})
    out = campaigns.performance(tx, a, start=MAR1, end=MAR31)
    assert set(out["note"].to_list()) == {campaigns._NO_TREATMENT}


def test_performance_lazy_and_row_order_agree(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    eager = campaigns.performance(tx, assigned, start=MAR1, end=MAR31, pre="1mo")
    lazy = campaigns.performance(tx.lazy(), assigned.lazy(), start=MAR1, end=MAR31, pre="1mo")
    assert_frame_equal(lazy, eager)
    shuffled = campaigns.performance(
        tx.sample(fraction=1.0, shuffle=True, seed=3),
        assigned.sample(fraction=1.0, shuffle=True, seed=4),
        start="2024-03-01",
        end="2024-03-31",
        pre="1mo",
    )
    assert_frame_equal(shuffled, eager)


def test_performance_metrics_selection(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    out = campaigns.performance(
        tx, assigned, start=MAR1, end=MAR31, metrics=["revenue_per_customer", "response_rate"]
    )
    assert out["metric"].to_list() == ["response_rate", "revenue_per_customer"]
    plain = campaigns.performance(tx.drop("margin"), assigned, start=MAR1, end=MAR31)
    assert "margin_per_customer" not in plain["metric"].to_list()


def test_performance_bootstrap_is_seeded_and_close_to_welch() -> None:
    tx, a = _campaign(5, share=0.1)
    kwargs = {"start": START, "end": END, "metrics": ["revenue_per_customer"]}
    welch = campaigns.performance(tx, a, **kwargs)
    boot = campaigns.performance(tx, a, test="bootstrap", n_boot=800, seed=1, **kwargs)
    again = campaigns.performance(tx, a, test="bootstrap", n_boot=800, seed=1, **kwargs)
    other = campaigns.performance(tx, a, test="bootstrap", n_boot=800, seed=2, **kwargs)
    assert_frame_equal(boot, again)
    assert boot["ci_low"].item() != other["ci_low"].item()
    assert boot["test"].item() == "bootstrap"
    assert boot["uplift"].item() == welch["uplift"].item()
    # ~1,000 customers a group: the percentile interval is close to Welch's
    assert boot["std_error"].item() == pytest.approx(welch["std_error"].item(), rel=0.15)
    assert boot["ci_low"].item() == pytest.approx(welch["ci_low"].item(), abs=0.3 * 3)
    assert 0.0 <= boot["p_value"].item() <= 1.0


# --------------------------------------------------------------------------- simulated uplift

START, END = D(2024, 10, 1), D(2024, 10, 31)
SHARE, AMOUNT, MARGIN_RATE = 0.1, 30.0, 0.3


def _inject(
    tx: pl.DataFrame, assignments: pl.DataFrame, *, share: float, seed: int
) -> pl.DataFrame:
    """Give each treated customer, with probability ``share``, one extra order of AMOUNT.

    The extra order is a new order_id at a uniform time in the window, so the true average
    effect per targeted customer is ``share`` orders, ``share * AMOUNT`` revenue and
    ``share * AMOUNT * MARGIN_RATE`` margin, and ``share * P(no purchase anyway)`` responders.
    """
    rng = np.random.default_rng(seed)
    treated = assignments.filter(pl.col("group") == "treatment")["customer_id"].to_numpy()
    hit = treated[rng.random(treated.size) < share]
    seconds = rng.integers(0, ((END - START).days + 1) * 86_400, hit.size)
    first = tx.row(0, named=True)
    extra = pl.DataFrame(
        {
            "customer_id": hit,
            "order_id": tx["order_id"].max() + 1 + np.arange(hit.size),
            "timestamp": [
                datetime.combine(START, time()) + timedelta(seconds=int(s)) for s in seconds
            ],
            "item": first["item"],
            "brand": first["brand"],
            "category": first["category"],
            "quantity": 1.0,
            "amount": AMOUNT,
            "margin": AMOUNT * MARGIN_RATE,
            "channel": "store",
        },
        schema=tx.schema,
    )
    return pl.concat([tx, extra])


def _campaign(seed: int, *, share: float) -> tuple[pl.DataFrame, pl.DataFrame]:
    """2,000 simulated customers; those acquired before START split 50/50 by RFM segment."""
    tx = datasets.simulate(2_000, seed=seed)
    known = rfm.summary(tx, as_of=START - timedelta(days=1))
    a = campaigns.target(known, campaign="october", control_share=0.5, seed=seed)
    return (_inject(tx, a, share=share, seed=seed) if share else tx), a


def test_helper_injects_the_stated_effect() -> None:
    tx, a = _campaign(1, share=0.0)
    boosted = _inject(tx, a, share=1.0, seed=1)  # every treated customer gets one more order
    before = campaigns.summary(tx, a, start=START, end=END)
    after = campaigns.summary(boosted, a, start=START, end=END)
    treated = before.filter(pl.col("group") == "treatment")
    gained = after.filter(pl.col("group") == "treatment")
    assert gained["orders"].item() - treated["orders"].item() == treated["customers"].item()
    assert gained["revenue"].item() - treated["revenue"].item() == pytest.approx(
        AMOUNT * treated["customers"].item()
    )
    assert_frame_equal(
        before.filter(pl.col("group") == "control"), after.filter(pl.col("group") == "control")
    )


REPS = 40
# With correct 95 % intervals the number covering the truth is Binomial(40, 0.95):
# P(X <= 32) = 0.0007, so fewer than 33 of 40 means the intervals are too narrow.
MIN_COVERED = 33


@pytest.fixture(scope="module")
def repetitions() -> list[dict[str, pl.DataFrame]]:
    runs = []
    for rep in range(REPS):
        tx, a = _campaign(100 + rep, share=0.0)
        boosted = _inject(tx, a, share=SHARE, seed=rep)
        runs.append(
            {
                "null": campaigns.performance(tx, a, start=START, end=END),
                "base": campaigns.summary(tx, a, start=START, end=END),
                "plain": campaigns.performance(boosted, a, start=START, end=END),
                "cuped": campaigns.performance(boosted, a, start=START, end=END, pre="6mo"),
                "boot": campaigns.performance(
                    boosted, a, start=START, end=END, test="bootstrap", n_boot=400, seed=rep
                ),
            }
        )
    return runs


def _truth(runs: list[dict[str, pl.DataFrame]]) -> dict[str, float]:
    # P(a targeted customer buys in the window anyway), from all 40 x ~1,800 customers'
    # untreated outcomes: its standard error (~0.001) moves the true rate uplift by 1e-4,
    # 0.3 % of the interval width
    base = pl.concat([r["base"] for r in runs])
    q = base["responders"].sum() / base["customers"].sum()
    return {
        "response_rate": SHARE * (1 - q),
        "orders_per_customer": SHARE,
        "revenue_per_customer": SHARE * AMOUNT,
        "margin_per_customer": SHARE * AMOUNT * MARGIN_RATE,
    }


@pytest.mark.parametrize("kind", ["plain", "cuped", "boot"])
def test_intervals_cover_the_true_uplift(
    repetitions: list[dict[str, pl.DataFrame]], kind: str
) -> None:
    truth = _truth(repetitions)
    for metric, value in truth.items():
        rows = [_row(r[kind], metric) for r in repetitions]
        covered = sum(row["ci_low"] <= value <= row["ci_high"] for row in rows)
        assert covered >= MIN_COVERED, (kind, metric, covered)
        estimates = np.array([row["uplift"] for row in rows])
        # unbiased: the mean estimate is within 4 standard errors of the truth
        assert abs(estimates.mean() - value) < 4 * estimates.std(ddof=1) / math.sqrt(REPS)


def test_cuped_narrows_the_intervals(repetitions: list[dict[str, pl.DataFrame]]) -> None:
    for metric in ("orders_per_customer", "revenue_per_customer", "margin_per_customer"):
        plain = np.mean([_row(r["plain"], metric)["std_error"] for r in repetitions])
        cuped = np.mean([_row(r["cuped"], metric)["std_error"] for r in repetitions])
        assert cuped < 0.95 * plain, metric


def test_without_uplift_p_values_are_uniform(repetitions: list[dict[str, pl.DataFrame]]) -> None:
    for metric in campaigns.METRICS:
        p = [_row(r["null"], metric)["p_value"] for r in repetitions]
        assert stats.kstest(p, "uniform").pvalue > 0.001, metric


# --------------------------------------------------------------------------- bad input


def test_customer_in_both_groups(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    both = pl.concat(
        [assigned, pl.DataFrame({"customer_id": [1], "campaign": ["spring"], "group": ["control"]})]
    )
    with pytest.raises(
        DataError,
        match=r"2 row\(s\) of assignments put a customer in both the treatment and the control group.*'customer_id': 1",
    ):
        campaigns.performance(tx, both, start=MAR1, end=MAR31)
    with pytest.raises(DataError, match="both the treatment and the control"):
        campaigns.summary(tx, both, start=MAR1, end=MAR31)
    twice = pl.concat([assigned, assigned.head(1)])
    with pytest.raises(DataError, match=r"repeat a \(campaign, customer_id\) pair"):
        campaigns.performance(tx, twice, start=MAR1, end=MAR31)


def test_bad_groups_and_ids(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    odd = assigned.with_columns(pl.col("group").replace("control", "holdout"))
    with pytest.raises(
        DataError,
        match=r"3 row\(s\) of assignments have a group that is not one of \['treatment', 'control'\]",
    ):
        campaigns.performance(tx, odd, start=MAR1, end=MAR31)
    with pytest.raises(DataError, match="null customer_id or campaign"):
        campaigns.performance(
            tx, assigned.with_columns(campaign=pl.lit(None, pl.String)), start=MAR1, end=MAR31
        )
    with pytest.raises(DataError, match=r"assignments has no rows.*campaigns\.target"):
        campaigns.performance(tx, assigned.head(0), start=MAR1, end=MAR31)
    text = assigned.with_columns(pl.col("customer_id").cast(pl.String))
    with pytest.raises(ColumnError, match="customer_id of assignments is String but Int64 in tx"):
        campaigns.performance(tx, text, start=MAR1, end=MAR31)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['group'\]"):
        campaigns.performance(tx, assigned.drop("group"), start=MAR1, end=MAR31)
    small = assigned.with_columns(pl.col("customer_id").cast(pl.Int16))  # integers of any width
    assert_frame_equal(
        campaigns.summary(tx, small, start=MAR1, end=MAR31),
        campaigns.summary(tx, assigned, start=MAR1, end=MAR31),
    )


def test_window_outside_the_data(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    with pytest.raises(
        DataError,
        match="window 2025-01-01 to 2025-01-31 lies outside the data, which runs from 2024-02-01 to 2024-04-02",
    ):
        campaigns.performance(tx, assigned, start="2025-01-01", end="2025-01-31")
    with pytest.raises(DataError, match="lies outside the data"):
        campaigns.summary(tx, assigned, start=D(2023, 1, 1), end=D(2023, 12, 31))
    with pytest.warns(RetailCRMWarning, match="not covered by the data"):
        campaigns.performance(tx, assigned, start=MAR1, end=D(2024, 4, 30))
    with pytest.raises(ArgumentError, match=r"end \(2024-02-01\) is before start \(2024-03-01\)"):
        campaigns.performance(tx, assigned, start=MAR1, end=D(2024, 2, 1))
    with pytest.raises(ArgumentError, match=r"start must be a calendar day.*\.date\(\)"):
        campaigns.performance(tx, assigned, start=datetime(2024, 3, 1), end=MAR31)
    with pytest.raises(ArgumentError, match=r"end must be a datetime\.date or an ISO day"):
        campaigns.performance(tx, assigned, start=MAR1, end="March")
    with pytest.raises(DataError, match="tx has no rows"):
        campaigns.performance(tx.head(0), assigned, start=MAR1, end=MAR31)


def test_bad_arguments(tx: pl.DataFrame, assigned: pl.DataFrame) -> None:
    window = {"start": MAR1, "end": MAR31}
    with pytest.raises(ArgumentError, match=r"confidence must be a number in \(0, 1\).*got 95"):
        campaigns.performance(tx, assigned, confidence=95, **window)
    with pytest.raises(ArgumentError, match=r"test must be one of \['welch', 'bootstrap'\]"):
        campaigns.performance(tx, assigned, test="t", **window)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="n_boot must be a whole number >= 100"):
        campaigns.performance(tx, assigned, n_boot=10, **window)
    with pytest.raises(ArgumentError, match="metrics must be a non-empty selection"):
        campaigns.performance(tx, assigned, metrics=["revenue"], **window)
    with pytest.raises(ColumnError, match="'margin_per_customer' but tx has no margin column"):
        campaigns.performance(
            tx.drop("margin"), assigned, metrics=["margin_per_customer"], **window
        )
    with pytest.raises(ArgumentError, match="cost_per_contact must be a finite number >= 0"):
        campaigns.performance(tx, assigned, cost_per_contact=-1.0, **window)
    with pytest.raises(ArgumentError, match=r"pre \(2024-03-05\) must be before start"):
        campaigns.performance(tx, assigned, pre=D(2024, 3, 5), **window)
    with pytest.raises(ArgumentError, match=r"pre must be a duration before start.*got '6 months'"):
        campaigns.performance(tx, assigned, pre="6 months", **window)
    with pytest.raises(ArgumentError, match=r"got \{'b': nan\}"):
        campaigns.performance(tx, assigned, cost_per_contact={"a": 1, "b": math.nan}, **window)


# --------------------------------------------------------------------------- target


@pytest.fixture
def seg() -> pl.DataFrame:
    return pl.DataFrame({"customer_id": range(1, 12), "segment": ["A"] * 6 + ["B"] * 4 + ["C"]})


def test_target_counts_follow_the_rounding_rule(seg: pl.DataFrame) -> None:
    # A: 6 x 0.25 = 1.5 -> 2; B: 4 x 0.25 = 1 -> 1; C: 0.25 -> 0 (warned: no control)
    with pytest.warns(
        RetailCRMWarning,
        match=r"1 stratum/strata get no control or no treatment customer with control_share=0.25, e.g. 1 customer\(s\) of \{'segment': 'C'\}",
    ):
        out = campaigns.target(seg, campaign="x", control_share=0.25, seed=7, stratify_by="segment")
    counts = out.group_by("segment", "group").len().sort("segment", "group")
    assert counts.rows() == [
        ("A", "treatment", 4),
        ("A", "control", 2),
        ("B", "treatment", 3),
        ("B", "control", 1),
        ("C", "treatment", 1),
    ]
    assert out.columns == ["customer_id", "campaign", "group", "segment"]
    assert out["customer_id"].to_list() == list(range(1, 12))
    assert out["group"].dtype == pl.Enum(campaigns.GROUPS)
    # without strata: round(11 x 0.25 + 0.5) = 3
    plain = campaigns.target(seg, campaign="x", control_share=0.25, seed=7)
    assert (plain["group"] == "control").sum() == 3
    assert plain.columns == ["customer_id", "campaign", "group"]


def test_target_is_seeded_and_ignores_row_order() -> None:
    seg = pl.DataFrame({"customer_id": range(1000), "segment": [f"s{i % 7}" for i in range(1000)]})
    first = campaigns.target(seg, campaign="x", control_share=0.2, seed=11, stratify_by="segment")
    again = campaigns.target(
        seg.sample(fraction=1.0, shuffle=True, seed=2).lazy(),
        campaign="x",
        control_share=0.2,
        seed=11,
        stratify_by="segment",
    )
    assert_frame_equal(first, again)
    other = campaigns.target(seg, campaign="x", control_share=0.2, seed=12, stratify_by="segment")
    assert not first["group"].equals(other["group"])
    # the control group is a random sample: no link to the id order within a stratum
    control_ids = first.filter(pl.col("group") == "control")["customer_id"].to_numpy()
    assert 350 < control_ids.mean() < 650


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 30), min_size=1, max_size=6),
    share=st.floats(0.01, 0.99),
    seed=st.integers(0, 2**32),
)
def test_target_exact_counts_property(sizes: list[int], share: float, seed: int) -> None:
    seg = pl.DataFrame(
        {
            "customer_id": range(sum(sizes)),
            "tier": [s for s, n in enumerate(sizes) for _ in range(n)],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RetailCRMWarning)
        out = campaigns.target(
            seg, campaign="x", control_share=share, seed=seed, stratify_by="tier"
        )
    assert out.height == seg.height
    assert out["customer_id"].is_unique().all()
    got = dict(out.group_by("tier").agg((pl.col("group") == "control").sum()).rows())
    for tier, n in enumerate(sizes):
        assert got[tier] == math.floor(share * n + 0.5)
        assert abs(got[tier] / n - share) <= 0.5 / n + 1e-12


def test_target_feeds_performance_by_segment(tx: pl.DataFrame) -> None:
    seg = rfm.summary(tx, as_of=D(2024, 2, 29)).select("customer_id", segment=pl.lit("all"))
    a = campaigns.target(seg, campaign="spring", control_share=0.5, seed=1, stratify_by="segment")
    assert a["customer_id"].to_list() == [1, 2, 4]  # the customers known by Feb 29
    out = campaigns.performance(tx, a, start=MAR1, end=MAR31)
    assert out.select("treatment_customers", "control_customers").unique().rows() == [(1, 2)]


def test_target_bad_input(seg: pl.DataFrame) -> None:
    ok = {"campaign": "x", "seed": 1}
    for share in (0, 1, 1.5, "0.1", True):
        with pytest.raises(ArgumentError, match=r"control_share must be a number in \(0, 1\)"):
            campaigns.target(seg, control_share=share, **ok)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="seed must be a whole number >= 0; got -1"):
        campaigns.target(seg, campaign="x", control_share=0.1, seed=-1)
    with pytest.raises(ArgumentError, match="campaign must be a non-empty string"):
        campaigns.target(seg, campaign="", control_share=0.1, seed=1)
    with pytest.raises(ArgumentError, match="stratify_by must name distinct segment columns"):
        campaigns.target(seg, control_share=0.1, stratify_by="customer_id", **ok)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['tier'\]"):
        campaigns.target(seg, control_share=0.1, stratify_by="tier", **ok)
    with pytest.raises(DataError, match=r"1 row\(s\) of segments have a null customer_id"):
        campaigns.target(
            seg.with_columns(pl.col("customer_id").replace(1, None)), control_share=0.1, **ok
        )
    with pytest.raises(DataError, match=r"2 row\(s\) of segments repeat a customer_id"):
        campaigns.target(pl.concat([seg, seg.head(1)]), control_share=0.1, **ok)
    with pytest.raises(DataError, match="segments has no rows"):
        campaigns.target(seg.head(0), control_share=0.1, **ok)


small_tx = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 12)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2024, 2, 1), D(2024, 4, 30))),
        column("amount", dtype=pl.Float64, strategy=st.floats(-20, 100)),
    ],
    min_size=1,
    max_size=30,
    allow_null=False,
)


@settings(max_examples=40, deadline=None)
@given(frame=small_tx, groups=st.lists(st.sampled_from(campaigns.GROUPS), min_size=10, max_size=10))
def test_performance_agrees_with_summary_property(frame: pl.DataFrame, groups: list[str]) -> None:
    a = pl.DataFrame({"customer_id": range(10), "campaign": "p", "group": groups})
    first, last = frame["timestamp"].min(), frame["timestamp"].max()
    groups_out = campaigns.summary(frame, a, start=first, end=last)
    out = campaigns.performance(frame, a, start=first, end=last)
    assert groups_out["customers"].sum() == 10  # nobody assigned is dropped
    by_group = {row["group"]: row for row in groups_out.iter_rows(named=True)}
    for row in out.iter_rows(named=True):
        for side in campaigns.GROUPS:
            if side in by_group:
                assert row[side] == pytest.approx(by_group[side][row["metric"]])
                assert row[f"{side}_customers"] == by_group[side]["customers"]
            else:
                assert row[side] is None
        if row["note"] is None:
            assert row["uplift"] == pytest.approx(row["treatment"] - row["control"])
            assert row["ci_low"] <= row["uplift"] + 1e-12
            assert row["uplift"] <= row["ci_high"] + 1e-12
            assert 0.0 <= row["p_value"] <= 1.0
        else:
            assert row["ci_low"] is None
