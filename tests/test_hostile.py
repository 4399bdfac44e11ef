"""Hostile input: every public function returns a valid result or raises a RetailCRMError.

Generated canonical transaction tables carry one or more hostile traits each (missing and extra
columns, wrong dtypes, nulls, NaN and inf, empty frames, a single customer or day, duplicated rows,
returns, dates before 1970 and in 2200, time zones, string / categorical / 64-bit ids, unicode and
very long item names). Every call must either return the documented columns with no NaN where a
number is promised and every customer accounted for, or raise a ``retailcrm.RetailCRMError``
whose message names a column or an argument; no other exception, no NumPy warning, no change to
the input. Results are also checked to be deterministic (bit-identical across runs and row orders
for rfm, cohorts and basket; model parameters to 1e-9 relative).

The default budget keeps the module well under a minute. For a long run by hand (``-p`` loads
this module early, so that its profile is registered before pytest's option is read)::

    pytest tests/test_hostile.py -p tests.test_hostile --hypothesis-profile=long
"""

from __future__ import annotations

import math
import sys
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from polars.testing import assert_frame_equal

import retailcrm
import retailcrm.clv as clv
from retailcrm import RetailCRMError, RetailCRMWarning, alerts, basket, campaigns, cohorts, rfm

settings.register_profile(
    "long",
    max_examples=1_000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_LONG = "--hypothesis-profile=long" in sys.argv or (
    "--hypothesis-profile" in sys.argv
    and sys.argv[sys.argv.index("--hypothesis-profile") + 1 :][:1] == ["long"]
)


def _budget(examples: int) -> settings:
    if _LONG:
        return settings.get_profile("long")
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


#: Generated cases that ran, per test and per hostile trait (asserted > 0 at module teardown).
CASES: Counter[str] = Counter()
TRAITS: Counter[str] = Counter()
#: Calls per public function and outcome ("ok" or the RetailCRMError subclass raised).
OUTCOMES: Counter[tuple[str, str]] = Counter()

COLUMNS = ("customer_id", "order_id", "timestamp", "item", "amount")
#: Names an error message may point at: the columns and the arguments the suite passes.
NAMES = (
    *COLUMNS,
    "frequency",
    "recency",
    "'T'",
    "monetary_value",
    "as_of",
    "period",
    "unit",
    "min_support",
    "summary",
    "assignments",
    "start",
    "end",
    "segments",
    "weights",
    "customer(s)",
    "penalizer",
)
TRAIT_NAMES = (
    "missing",
    "extra",
    "str_amount",
    "int_timestamp",
    "nulls",
    "nan_amount",
    "inf_amount",
    "empty",
    "single_customer",
    "single_day",
    "duplicates",
    "returns",
    "pre_1970",
    "year_2200",
    "tz_aware",
    "datetime_ns",
    "str_id",
    "cat_id",
    "unicode_items",
    "long_items",
    "big_ids",
    "u64_ids",
    "lazy",
)
I64_MAX = 2**63 - 1
U64_MAX = 2**64 - 1


@st.composite
def hostile(draw: st.DrawFn) -> tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]]:
    """A canonical transaction table with zero to three hostile traits."""
    traits = frozenset(draw(st.lists(st.sampled_from(TRAIT_NAMES), max_size=3, unique=True)))
    n = 0 if "empty" in traits else draw(st.integers(1, 24))
    n_customers = 1 if "single_customer" in traits else draw(st.integers(1, 6))
    start = date(2023, 1, 1)
    if "pre_1970" in traits:
        start = date(1950, 6, 1)
    if "year_2200" in traits:
        start = date(2200, 1, 1)
    n_days = 1 if "single_day" in traits else draw(st.integers(1, 8))
    days = [start + timedelta(days=draw(st.integers(0, 400))) for _ in range(n_days)]
    ids = list(range(1, n_customers + 1))
    if "big_ids" in traits:
        ids = [I64_MAX - k if k % 2 else -I64_MAX - 1 + k for k in range(n_customers)]
    if "u64_ids" in traits:
        ids = [U64_MAX - k for k in range(n_customers)]
    items = ["a", "b", "c", "d"]
    if "unicode_items" in traits:
        items = ["café", "日本茶", "🍎", "Ωmega\u0301", ""]
    if "long_items" in traits:
        items = [letter * 5_000 for letter in "xyz"]
    rows = st.tuples(
        st.sampled_from(ids),
        st.integers(0, 8),
        st.sampled_from(days),
        st.integers(0, 86_399),
        st.sampled_from(items),
        st.floats(-60, 200, allow_nan=False).map(lambda x: round(x, 2)),
    )
    data = draw(st.lists(rows, min_size=n, max_size=n))
    customer = [r[0] for r in data]
    order = [f"o{r[1]}" for r in data]
    stamps = [datetime.combine(r[2], datetime.min.time()) + timedelta(seconds=r[3]) for r in data]
    item = [r[4] for r in data]
    amount = [r[5] for r in data]
    if "returns" in traits and data:  # one order made of returns only
        victim = order[0]
        amount = [-abs(a) - 1 if o == victim else a for a, o in zip(amount, order, strict=True)]
    id_dtype = pl.UInt64 if "u64_ids" in traits else pl.Int64
    frame = pl.DataFrame(
        {
            "customer_id": pl.Series(customer, dtype=id_dtype),
            "order_id": pl.Series(order, dtype=pl.String),
            "timestamp": pl.Series(stamps, dtype=pl.Datetime("us")),
            "item": pl.Series(item, dtype=pl.String),
            "amount": pl.Series(amount, dtype=pl.Float64),
        }
    )
    if draw(st.booleans()):
        frame = frame.with_columns(pl.col("timestamp").dt.date())
    if "datetime_ns" in traits:
        frame = frame.with_columns(pl.col("timestamp").cast(pl.Datetime("ns")))
    if "tz_aware" in traits:
        zone = draw(st.sampled_from(["UTC", "Asia/Kathmandu", "America/St_Johns"]))
        ts = pl.col("timestamp").cast(pl.Datetime("us"))
        frame = frame.with_columns(ts.dt.replace_time_zone(zone, ambiguous="earliest"))
    if "duplicates" in traits and frame.height:
        frame = pl.concat([frame, frame.head(draw(st.integers(1, frame.height)))])
    if "nan_amount" in traits and frame.height:
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == 0).then(float("nan")).otherwise(pl.col("amount"))
        )
    if "inf_amount" in traits and frame.height:
        value = draw(st.sampled_from([math.inf, -math.inf]))
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) == frame.height - 1)
            .then(value)
            .otherwise(pl.col("amount"))
            .alias("amount")
        )
    if "nulls" in traits and frame.height:
        name = draw(st.sampled_from(COLUMNS))
        frame = frame.with_columns(
            pl.when(pl.int_range(pl.len()) % 2 == 0).then(None).otherwise(pl.col(name)).alias(name)
        )
    if "str_amount" in traits:
        frame = frame.with_columns(pl.col("amount").cast(pl.String))
    if "int_timestamp" in traits:
        frame = frame.with_columns(pl.col("timestamp").cast(pl.Int64))
    if "str_id" in traits:
        frame = frame.with_columns(pl.col("customer_id").cast(pl.String))
    if "cat_id" in traits:
        frame = frame.with_columns(pl.col("customer_id").cast(pl.String).cast(pl.Categorical))
    if "extra" in traits:
        frame = frame.with_columns(note=pl.lit("x"), customer_idx=pl.lit(1))
    if "missing" in traits:
        frame = frame.drop(draw(st.sampled_from(COLUMNS)))
    TRAITS.update(traits or {"plain"})
    return (frame.lazy() if "lazy" in traits else frame), traits


def _frozen(frame: object) -> object:
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if isinstance(frame, pl.DataFrame):
        return frame.clone()
    return frame


def _call(fn: Callable[..., Any], *frames: object, **kwargs: Any) -> Any:
    """Call ``fn``; return its result, or None after a RetailCRMError naming a column/argument.

    Any other exception, a warning outside RetailCRMWarning, or a change to an input fails.
    """
    before = [_frozen(frame) for frame in frames]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*frames, **kwargs)
            if isinstance(result, pl.LazyFrame):
                result = result.collect()
            OUTCOMES[fn.__qualname__, "ok"] += 1
        except RetailCRMError as error:
            OUTCOMES[fn.__qualname__, type(error).__name__] += 1
            message = str(error)
            assert any(name in message for name in NAMES), f"{fn.__qualname__}: {message}"
            result = None
        except Exception as error:  # the point of the suite: nothing else may escape
            pytest.fail(f"{fn.__qualname__} raised {type(error).__name__}: {error}")
    leaked = [w for w in caught if not issubclass(w.category, RetailCRMWarning)]
    assert not leaked, (
        f"{fn.__qualname__} leaked {leaked[0].category.__name__}: {leaked[0].message}"
    )
    for given_frame, frozen in zip(frames, before, strict=True):
        if isinstance(frozen, pl.DataFrame):
            assert_frame_equal(_frozen(given_frame), frozen)  # type: ignore[arg-type]
    return result


def _no_nan(frame: pl.DataFrame, columns: list[str], *, nulls: bool = True) -> None:
    for name in columns:
        values = frame.get_column(name)
        if values.dtype.is_float():
            assert not values.is_nan().any(), f"NaN in {name}: {frame}"
        if not nulls:
            assert values.null_count() == 0, f"null in {name}: {frame}"


def _same_but_sum_order(shuffled: pl.DataFrame, frame: pl.DataFrame) -> None:
    """Equal, float sums to 1e-12 relative: row order changes the order of summation.

    Bit-identical float sums across row orders need an order-independent sum in
    ``_orders.orders`` (shared; see the report), so floats get a stated tolerance here.
    """
    assert_frame_equal(shuffled, frame, check_exact=False, rel_tol=1e-12, abs_tol=1e-9)


def _shuffled(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    eager = frame.collect() if isinstance(frame, pl.LazyFrame) else frame
    out = eager.sample(fraction=1.0, shuffle=True, seed=7)
    return out.lazy() if isinstance(frame, pl.LazyFrame) else out


def _eager(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def _clean(frame: pl.DataFrame, needed: tuple[str, ...]) -> bool:
    """True when the needed columns hold no null, NaN or inf (so a plain oracle applies)."""
    return all(
        frame.get_column(name).null_count() == 0
        and not (
            frame.get_column(name).dtype.is_float() and not frame.get_column(name).is_finite().all()
        )
        for name in needed
    )


def _purchasers(frame: pl.DataFrame, key: list[str]) -> set[object]:
    """Customers with an order (grouped by ``key``) of net value > 0, by plain Python."""
    totals: dict[tuple[object, ...], float] = {}
    for row in frame.select(*key, "amount").iter_rows():
        totals[row[:-1]] = totals.get(row[:-1], 0.0) + row[-1]
    return {k[0] for k, v in totals.items() if v > 0}


@pytest.fixture(scope="module", autouse=True)
def _cases_ran() -> Iterator[None]:
    yield
    assert sum(CASES.values()) > 0


# --------------------------------------------------------------------------------------------
# prepare


@_budget(150)
@given(case=hostile())
def test_prepare(case: tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]]) -> None:
    tx, _ = case
    CASES["prepare"] += 1
    names = tx.collect_schema().names()
    mapping = {name: name for name in ("order_id", "item") if name in names}
    out = _call(
        retailcrm.prepare,
        tx,
        customer_id="customer_id",
        timestamp="timestamp",
        amount="amount",
        **mapping,
    )
    if out is None:
        return
    assert set(out.columns) <= set(retailcrm._schema.CANONICAL)
    assert out.height == _eager(tx).height  # no row dropped
    _no_nan(out, ["amount"])


# --------------------------------------------------------------------------------------------
# rfm


@_budget(100)
@given(case=hostile())
def test_rfm(case: tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]]) -> None:
    tx, _ = case
    CASES["rfm"] += 1
    summary = _call(rfm.summary, tx)
    if summary is None:
        return
    expected = [
        "customer_id",
        "first_purchase",
        "last_purchase",
        "recency",
        "frequency",
        "monetary",
        "average_order_value",
    ]
    assert summary.columns == expected
    _no_nan(summary, ["monetary", "average_order_value"])
    _no_nan(summary, ["frequency", "monetary"], nulls=False)
    eager = _eager(tx)
    assert summary.height == eager.get_column("customer_id").n_unique()  # nobody dropped
    assert_frame_equal(_call(rfm.summary, tx), summary, check_exact=True)
    _same_but_sum_order(_call(rfm.summary, _shuffled(tx)), summary)
    scored = _call(rfm.scores, summary, bins=3)
    if scored is None:
        return
    assert scored.height == summary.height
    assert {"r_score", "f_score", "m_score"} <= set(scored.columns)
    assert_frame_equal(_call(rfm.scores, summary, bins=3), scored, check_exact=True)
    five = _call(rfm.scores, summary, bins=5)
    named = None if five is None else _call(rfm.segments, five)
    if named is not None:
        assert named.height == summary.height
        assert named.get_column("segment").null_count() == 0


# --------------------------------------------------------------------------------------------
# cohorts


@_budget(100)
@given(case=hostile(), period=st.sampled_from(["1d", "1w", "1mo", "1y"]))
def test_cohorts(case: tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]], period: str) -> None:
    tx, _ = case
    CASES["cohorts"] += 1
    table = _call(cohorts.table, tx, period=period)
    if table is None:
        return
    assert table.columns[:5] == [
        "cohort",
        "period_index",
        "period_start",
        "cohort_size",
        "active_customers",
    ]
    floats = [name for name, dtype in table.schema.items() if dtype.is_float()]
    _no_nan(table, floats)
    _no_nan(table, ["cohort", "period_index", "cohort_size"], nulls=False)
    eager = _eager(tx)
    if _clean(eager, ("customer_id", "timestamp", "amount")):
        key = ["customer_id", "order_id"] if "order_id" in eager.columns else None
        if key is None or eager.get_column("order_id").null_count() == 0:
            by = key or ["customer_id", pl.col("timestamp").dt.date().alias("day")]
            grouped = eager.with_columns(*(b for b in by if isinstance(b, pl.Expr)))
            names = [b if isinstance(b, str) else "day" for b in by]
            buyers = _purchasers(grouped, names)
            sizes = table.filter(pl.col("period_index") == 0).get_column("cohort_size").sum()
            assert sizes == len(buyers)  # every first-time buyer in exactly one cohort
    assert_frame_equal(_call(cohorts.table, tx, period=period), table, check_exact=True)
    _same_but_sum_order(_call(cohorts.table, _shuffled(tx), period=period), table)
    wide = _call(cohorts.matrix, table)
    if wide is not None:
        assert wide.height == table.get_column("cohort").n_unique()


# --------------------------------------------------------------------------------------------
# clv


def _same_params(one: Any, two: Any) -> None:
    for name, value in one.params.items():
        assert math.isclose(value, two.params[name], rel_tol=1e-9), (name, value, two.params)


@_budget(100)
@given(case=hostile())
def test_clv(case: tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]]) -> None:
    tx, _ = case
    CASES["clv"] += 1
    summary = _call(clv.summary, tx, unit="1w")
    if summary is None:
        return
    assert summary.columns == ["customer_id", "frequency", "recency", "T", "monetary_value"]
    eager = _eager(tx)
    # a LazyFrame is not read for row checks: a non-finite amount may give NaN (documented)
    if isinstance(tx, pl.DataFrame) or _clean(eager, ("amount",)):
        _no_nan(summary, summary.columns[1:], nulls=False)
    else:
        _no_nan(summary, ["frequency", "recency", "T"], nulls=False)
        return
    if _clean(eager, ("customer_id", "timestamp", "amount")):
        days = eager.with_columns(day=pl.col("timestamp").dt.date())
        assert set(summary.get_column("customer_id").to_list()) == _purchasers(
            days, ["customer_id", "day"]
        )
    _same_but_sum_order(_call(clv.summary, _shuffled(tx), unit="1w"), summary)
    for model in (clv.BetaGeo, clv.ParetoNBD, clv.ModifiedBetaGeo):
        fitted = _call(model.fit, summary, unit="1w")
        if fitted is None:
            continue
        _same_params(fitted, _call(model.fit, summary.reverse(), unit="1w"))
        predicted = _call(fitted.predict, summary, horizon=4)
        if predicted is not None:
            assert predicted.height == summary.height
            floats = [n for n, d in predicted.schema.items() if d.is_float()]
            _no_nan(predicted, floats, nulls=False)
    spend = _call(clv.GammaGamma.fit, summary)
    if spend is None:
        return
    _same_params(spend, _call(clv.GammaGamma.fit, summary.reverse()))
    buys = clv.BetaGeo(r=0.24, alpha=4.4, a=0.79, b=2.4, unit="1w")
    value = _call(
        clv.lifetime_value, buys, spend, summary, horizon=3, unit="1mo", discount_rate=0.01
    )
    if value is not None:
        assert value.columns == ["customer_id", "expected_purchases", "expected_spend", "clv"]
        assert value.height == summary.height
        _no_nan(value, value.columns[1:], nulls=False)


# --------------------------------------------------------------------------------------------
# basket


@_budget(100)
@given(case=hostile(), support=st.sampled_from([1, 2, 0.2]))
def test_basket(case: tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]], support: float) -> None:
    tx, _ = case
    CASES["basket"] += 1
    sets = _call(basket.itemsets, tx, min_support=support, max_len=3)
    if sets is None:
        return
    assert sets.columns == ["itemset", "length", "count", "support"]
    _no_nan(sets, ["support"], nulls=False)
    assert_frame_equal(_call(basket.itemsets, _shuffled(tx), min_support=support, max_len=3), sets)
    found = _call(basket.rules, sets, min_confidence=0.1)
    if found is None:
        return
    _no_nan(found, ["support", "confidence", "lift"], nulls=False)
    again = _call(
        basket.rules,
        _call(basket.itemsets, _shuffled(tx), min_support=support, max_len=3),
        min_confidence=0.1,
    )
    assert_frame_equal(again, found, check_exact=True)
    offers = _call(basket.next_best, tx, found, k=2)
    if offers is None:
        return
    assert offers.columns[:3] == ["customer_id", "rank", "item"]
    customers = _eager(tx).get_column("customer_id")
    assert set(offers.get_column("customer_id").to_list()) == set(customers.to_list())
    assert_frame_equal(_call(basket.next_best, _shuffled(tx), found, k=2), offers, check_exact=True)


# --------------------------------------------------------------------------------------------
# campaigns and alerts


@_budget(60)
@given(case=hostile(), share=st.sampled_from([0.1, 0.5, 0.9]))
def test_campaigns(case: tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]], share: float) -> None:
    tx, _ = case
    CASES["campaigns"] += 1
    eager = _eager(tx)
    if "customer_id" not in eager.columns:
        customers = eager.select(pl.lit(1).alias("id"))
    else:
        customers = eager.select("customer_id").unique(maintain_order=True)
    assigned = _call(campaigns.target, customers, campaign="c", control_share=share, seed=3)
    if assigned is None:
        return
    assert assigned.height == customers.height  # every customer assigned once
    assert assigned.get_column("group").null_count() == 0
    assert_frame_equal(
        _call(campaigns.target, customers, campaign="c", control_share=share, seed=3), assigned
    )
    stamps = eager.get_column("timestamp") if "timestamp" in eager.columns else None
    if stamps is None or not stamps.dtype.is_temporal() or stamps.drop_nulls().is_empty():
        start = end = date(2024, 1, 1)
    else:
        start = stamps.drop_nulls().min().date() if stamps.dtype != pl.Date else stamps.min()  # type: ignore[union-attr]
        end = stamps.drop_nulls().max().date() if stamps.dtype != pl.Date else stamps.max()  # type: ignore[union-attr]
    groups = _call(campaigns.summary, tx, assigned, start=start, end=end)
    if groups is not None:
        floats = [n for n, d in groups.schema.items() if d.is_float()]
        _no_nan(groups, floats)
    measured = _call(campaigns.performance, tx, assigned, start=start, end=end)
    if measured is not None:
        assert_frame_equal(
            _call(campaigns.performance, tx, assigned, start=start, end=end), measured
        )


@_budget(100)
@given(case=hostile())
def test_alerts(case: tuple[pl.DataFrame | pl.LazyFrame, frozenset[str]]) -> None:
    tx, _ = case
    CASES["alerts"] += 1
    flagged = _call(alerts.churn, tx)
    if flagged is None:
        return
    assert flagged.columns[:3] == ["customer_id", "reason", "value_at_risk"]
    _no_nan(flagged, ["value_at_risk", "days_since_last_purchase", "gap_limit_days"])
    assert flagged.get_column("customer_id").is_unique().all()
    assert_frame_equal(_call(alerts.churn, tx), flagged, check_exact=True)
