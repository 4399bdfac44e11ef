"""cohorts.table and cohorts.matrix: hand-worked fixtures, properties, and bad input."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from retailcrm import ArgumentError, ColumnError, InputTypeError, cohorts

N = None  # a cell that as_of has not reached
COLUMNS = [
    "cohort",
    "period_index",
    "period_start",
    "cohort_size",
    "active_customers",
    "retention_rate",
    "orders",
    "revenue",
    "revenue_per_customer",
    "cumulative_revenue_per_customer",
    "is_complete",
]
SCHEMA = {
    "cohort": pl.Date,
    "period_index": pl.Int32,
    "period_start": pl.Date,
    "cohort_size": pl.UInt32,
    "active_customers": pl.UInt32,
    "retention_rate": pl.Float64,
    "orders": pl.UInt32,
    "revenue": pl.Float64,
    "revenue_per_customer": pl.Float64,
    "cumulative_revenue_per_customer": pl.Float64,
    "is_complete": pl.Boolean,
}
D = date


def tx_of(rows: list[tuple[int, date | datetime, float]]) -> pl.DataFrame:
    customer, when, amount = zip(*rows, strict=True)
    return pl.DataFrame({"customer_id": customer, "timestamp": when, "amount": amount})


def expected(rows: list[tuple]) -> pl.DataFrame:
    """Rows of all eleven columns, in the documented order."""
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


# Four customers, monthly. Worked by hand:
#   1: Jan 5 +20, Jan 20 +10 (first purchase Jan 5: cohort January), Mar 10 +15, Mar 12 -5
#   2: Jan 31 +30 (cohort January), Feb 15 -30 (a pure return: revenue, no purchase)
#   3: Dec 28 2023 -10 (a return before the first purchase: left out), Feb 1 +50 (February)
#   4: Jan 10 -20 only (returns only: in no cohort)
#   5: Apr 2 +5 (after as_of=Mar 31: left out)
MONTHLY = tx_of(
    [
        (1, D(2024, 1, 5), 20.0),
        (1, D(2024, 1, 20), 10.0),
        (1, D(2024, 3, 10), 15.0),
        (1, D(2024, 3, 12), -5.0),
        (2, D(2024, 1, 31), 30.0),
        (2, D(2024, 2, 15), -30.0),
        (3, D(2023, 12, 28), -10.0),
        (3, D(2024, 2, 1), 50.0),
        (4, D(2024, 1, 10), -20.0),
        (5, D(2024, 4, 2), 5.0),
    ]
)


def test_monthly_by_hand() -> None:
    got = cohorts.table(MONTHLY, period="1mo", as_of=D(2024, 3, 31))
    # cohort, k, period_start, size, active, retention, orders, revenue, rpc, cumulative, complete
    want = expected(
        [
            (D(2024, 1, 1), 0, D(2024, 1, 1), 2, 2, 1.0, 3, 60.0, 30.0, 30.0, True),
            (D(2024, 1, 1), 1, D(2024, 2, 1), 2, 0, 0.0, 0, -30.0, -15.0, 15.0, True),
            (D(2024, 1, 1), 2, D(2024, 3, 1), 2, 1, 0.5, 1, 10.0, 5.0, 20.0, True),
            (D(2024, 2, 1), 0, D(2024, 2, 1), 1, 1, 1.0, 1, 50.0, 50.0, 50.0, True),
            (D(2024, 2, 1), 1, D(2024, 3, 1), 1, 0, 0.0, 0, 0.0, 0.0, 50.0, True),
            (D(2024, 2, 1), 2, D(2024, 4, 1), 1, N, N, N, N, N, N, False),
        ]
    )
    assert_frame_equal(got, want)


def test_in_progress_period_is_reached_but_not_complete() -> None:
    got = cohorts.table(MONTHLY, as_of=D(2024, 3, 30))
    assert got["is_complete"].to_list() == [True, True, False, True, False, False]
    # March is reached (its activity is there) although not over
    assert got["active_customers"].to_list() == [2, 0, 1, 1, 0, None]


def test_default_as_of_is_the_last_timestamp() -> None:
    got = cohorts.table(MONTHLY)  # last row: customer 5 on 2024-04-02, the April cohort
    assert_frame_equal(got, cohorts.table(MONTHLY, as_of=D(2024, 4, 2)))
    assert got.height == 3 * 4  # January, February, April x indices 0..3
    april = got.filter(pl.col("cohort") == D(2024, 4, 1))
    assert april["active_customers"].to_list() == [1, N, N, N]
    assert april["is_complete"].to_list() == [False] * 4
    jan = got.filter(pl.col("cohort") == D(2024, 1, 1))
    assert jan["revenue"].to_list() == [60.0, -30.0, 10.0, 0.0]  # April reached, no activity


def test_matrix_by_hand() -> None:
    table = cohorts.table(MONTHLY, as_of=D(2024, 3, 31))
    want = pl.DataFrame(
        {
            "cohort": [D(2024, 1, 1), D(2024, 2, 1)],
            "0": [1.0, 1.0],
            "1": [0.0, 0.0],
            "2": [0.5, None],
        }
    )
    assert_frame_equal(cohorts.matrix(table), want)
    revenue = cohorts.matrix(table.lazy(), values="revenue")  # a LazyFrame is collected
    assert revenue.rows() == [(D(2024, 1, 1), 60.0, -30.0, 10.0), (D(2024, 2, 1), 50.0, 0.0, N)]
    counts = cohorts.matrix(table, values="active_customers")
    assert counts.schema["1"] == pl.UInt32
    assert counts.rows() == [(D(2024, 1, 1), 2, 0, 1), (D(2024, 2, 1), 1, 0, N)]


def test_order_id_groups_lines_into_orders() -> None:
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 1, 1],
            "order_id": ["a", "a", "b", "c", "c"],
            "timestamp": [
                D(2024, 1, 3),
                D(2024, 1, 3),
                D(2024, 1, 3),
                D(2024, 2, 7),
                D(2024, 2, 7),
            ],
            # order a: 10 + 5; order b: 8 (same day, a second occasion); order c: 12 - 12 = 0
            "amount": [10.0, 5.0, 8.0, 12.0, -12.0],
        }
    )
    got = cohorts.table(tx, as_of=D(2024, 2, 29))
    assert got["orders"].to_list() == [2, 0]  # order c nets to 0: not a purchase occasion
    assert got["active_customers"].to_list() == [1, 0]
    assert got["revenue"].to_list() == [23.0, 0.0]
    # without order_id, one customer-day is one order
    assert cohorts.table(tx.drop("order_id"), as_of=D(2024, 2, 29))["orders"].to_list() == [1, 0]


def test_an_order_counts_in_the_period_of_its_first_line() -> None:
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 2],
            "order_id": [7, 7, 8],
            "timestamp": [D(2024, 1, 31), D(2024, 2, 2), D(2024, 1, 5)],
            "amount": [1.0, 2.0, 3.0],
        }
    )
    got = cohorts.table(tx)  # as_of: Feb 2, the last line (not the order's date, Jan 31)
    assert got["revenue"].to_list() == [6.0, 0.0]
    assert got["orders"].to_list() == [2, 0]
    assert got["is_complete"].to_list() == [True, False]


def test_weekly_by_hand() -> None:
    # 2024-01-01 is a Monday; weeks start on Monday
    tx = tx_of(
        [
            (1, D(2024, 1, 1), 10.0),  # week of Jan 1
            (1, D(2024, 1, 7), 5.0),  # Sunday: same week
            (1, D(2024, 1, 8), 5.0),  # next week
            (2, D(2024, 1, 10), 20.0),  # Wednesday: cohort week of Jan 8
        ]
    )
    got = cohorts.table(tx, period="1w", as_of=D(2024, 1, 16))  # Tuesday of the week of Jan 15
    want = expected(
        [
            (D(2024, 1, 1), 0, D(2024, 1, 1), 1, 1, 1.0, 2, 15.0, 15.0, 15.0, True),
            (D(2024, 1, 1), 1, D(2024, 1, 8), 1, 1, 1.0, 1, 5.0, 5.0, 20.0, True),
            (D(2024, 1, 1), 2, D(2024, 1, 15), 1, 0, 0.0, 0, 0.0, 0.0, 20.0, False),
            (D(2024, 1, 8), 0, D(2024, 1, 8), 1, 1, 1.0, 1, 20.0, 20.0, 20.0, True),
            (D(2024, 1, 8), 1, D(2024, 1, 15), 1, 0, 0.0, 0, 0.0, 0.0, 20.0, False),
            (D(2024, 1, 8), 2, D(2024, 1, 22), 1, N, N, N, N, N, N, False),
        ]
    )
    assert_frame_equal(got, want)
    # on the Sunday the week of Jan 15 ends, it is complete
    assert cohorts.table(tx, period="1w", as_of=D(2024, 1, 21))["is_complete"].to_list() == [
        True,
        True,
        True,
        True,
        True,
        False,
    ]


def test_quarterly_by_hand() -> None:
    tx = tx_of([(1, D(2024, 2, 10), 10.0), (1, D(2024, 5, 5), 4.0), (2, D(2024, 4, 1), 6.0)])
    got = cohorts.table(tx, period="1q", as_of=D(2024, 6, 30))
    want = expected(
        [
            (D(2024, 1, 1), 0, D(2024, 1, 1), 1, 1, 1.0, 1, 10.0, 10.0, 10.0, True),
            (D(2024, 1, 1), 1, D(2024, 4, 1), 1, 1, 1.0, 1, 4.0, 4.0, 14.0, True),
            (D(2024, 4, 1), 0, D(2024, 4, 1), 1, 1, 1.0, 1, 6.0, 6.0, 6.0, True),
            (D(2024, 4, 1), 1, D(2024, 7, 1), 1, N, N, N, N, N, N, False),
        ]
    )
    assert_frame_equal(got, want)


def test_yearly_by_hand() -> None:
    tx = tx_of([(1, D(2022, 6, 1), 3.0), (1, D(2024, 1, 1), 2.0), (2, D(2022, 12, 31), 1.0)])
    got = cohorts.table(tx, period="1y", as_of=D(2024, 6, 30))
    want = expected(
        [
            (D(2022, 1, 1), 0, D(2022, 1, 1), 2, 2, 1.0, 2, 4.0, 2.0, 2.0, True),
            (D(2022, 1, 1), 1, D(2023, 1, 1), 2, 0, 0.0, 0, 0.0, 0.0, 2.0, True),
            (D(2022, 1, 1), 2, D(2024, 1, 1), 2, 1, 0.5, 1, 2.0, 1.0, 3.0, False),
        ]
    )
    assert_frame_equal(got, want)


# align="first_purchase", month ends. Worked by hand (as_of = 2024-03-31):
#   P: first Jan 31. Its periods: k=0 [Jan 31, Feb 29), k=1 [Feb 29, Mar 31), k=2 [Mar 31, Apr 30)
#      Jan 31 +10 (k0), Feb 28 +5 (k0), Feb 29 +7 (k1), Mar 30 +3 (k1), Mar 31 +2 (k2)
#   Q: first Jan 10: k=0 [Jan 10, Feb 10), k=1 [Feb 10, Mar 10), k=2 [Mar 10, Apr 10)
#      Jan 5 -4 (a return before the first purchase: k=-1, left out), Jan 10 +10, Feb 10 +1 (k1)
#   R: first Feb 15 (February cohort): Feb 15 +8; k=1 [Mar 15, Apr 15) started, not over
# January cohort: earliest first Jan 10 reaches k=2 (Mar 10 <= Mar 31), so K = 2; latest first
# Jan 31 has finished k=1 (ends Mar 30) but not k=2 (ends Apr 29).
FIRST = tx_of(
    [
        (1, D(2024, 1, 31), 10.0),
        (1, D(2024, 2, 28), 5.0),
        (1, D(2024, 2, 29), 7.0),
        (1, D(2024, 3, 30), 3.0),
        (1, D(2024, 3, 31), 2.0),
        (2, D(2024, 1, 5), -4.0),
        (2, D(2024, 1, 10), 10.0),
        (2, D(2024, 2, 10), 1.0),
        (3, D(2024, 2, 15), 8.0),
    ]
)


def test_first_purchase_alignment_month_ends_by_hand() -> None:
    got = cohorts.table(FIRST, as_of=D(2024, 3, 31), align="first_purchase")
    # period_start is null with align="first_purchase" (each customer's cell has its own dates)
    want = expected(
        [
            (D(2024, 1, 1), 0, N, 2, 2, 1.0, 3, 25.0, 12.5, 12.5, True),
            (D(2024, 1, 1), 1, N, 2, 2, 1.0, 3, 11.0, 5.5, 18.0, True),
            (D(2024, 1, 1), 2, N, 2, 1, 0.5, 1, 2.0, 1.0, 19.0, False),
            (D(2024, 2, 1), 0, N, 1, 1, 1.0, 1, 8.0, 8.0, 8.0, True),
            (D(2024, 2, 1), 1, N, 1, 0, 0.0, 0, 0.0, 0.0, 8.0, False),
            (D(2024, 2, 1), 2, N, 1, N, N, N, N, N, N, False),
        ]
    )
    assert_frame_equal(got, want)


def test_calendar_alignment_of_the_same_rows_by_hand() -> None:
    got = cohorts.table(FIRST, as_of=D(2024, 3, 31))
    # January: Jan 31 +10, Jan 10 +10, and Q's Jan 5 return (same calendar month: cell 0)
    assert got["revenue"].to_list() == [16.0, 13.0, 5.0, 8.0, 0.0, N]
    assert got["orders"].to_list() == [2, 3, 2, 1, 0, N]
    assert got["active_customers"].to_list() == [2, 2, 1, 1, 0, N]
    assert got["is_complete"].to_list() == [True, True, True, True, True, False]


def test_first_purchase_with_weeks() -> None:
    # first purchases Wed Jan 3 and Sat Jan 6 (same calendar week): 7-day periods from each
    tx = tx_of([(1, D(2024, 1, 3), 1.0), (1, D(2024, 1, 10), 1.0), (2, D(2024, 1, 6), 1.0)])
    got = cohorts.table(tx, period="1w", as_of=D(2024, 1, 12), align="first_purchase")
    # k=1 is [Jan 10, Jan 17) for customer 1 and [Jan 13, Jan 20) for customer 2: reached
    # (by customer 1), not complete
    assert got["period_index"].to_list() == [0, 1]
    assert got["active_customers"].to_list() == [2, 1]
    assert got["is_complete"].to_list() == [True, False]
    # k=0 of customer 2 ends on Jan 12: complete on that day, not the day before
    before = cohorts.table(tx, period="1w", as_of=D(2024, 1, 11), align="first_purchase")
    assert before["is_complete"].to_list() == [False, False]


def test_time_zone_uses_local_dates() -> None:
    # 23:30 in New York on Jan 31 is already February 1 in UTC
    zone = "America/New_York"
    tx = pl.DataFrame(
        {
            "customer_id": [1, 2],
            "timestamp": [datetime(2024, 1, 31, 23, 30), datetime(2024, 2, 1, 9, 0)],
            "amount": [5.0, 7.0],
        }
    ).with_columns(pl.col("timestamp").dt.replace_time_zone(zone))
    got = cohorts.table(tx)  # as_of: the last timestamp, Feb 1 local
    assert got["cohort"].to_list() == [D(2024, 1, 1), D(2024, 1, 1), D(2024, 2, 1), D(2024, 2, 1)]
    assert got["active_customers"].to_list() == [1, 0, 1, N]
    # an aware as_of in UTC that is still Jan 31 in New York keeps customer 1 only
    from zoneinfo import ZoneInfo

    early = cohorts.table(tx, as_of=datetime(2024, 2, 1, 4, 45, tzinfo=ZoneInfo("UTC")))
    assert early["cohort"].to_list() == [D(2024, 1, 1)]
    assert early["is_complete"].to_list() == [True]  # Jan 31 is observed: January is over


def test_datetime_as_of_keeps_rows_up_to_that_instant() -> None:
    tx = tx_of([(1, datetime(2024, 1, 5, 10), 1.0), (2, datetime(2024, 1, 5, 18), 1.0)])
    got = cohorts.table(tx, as_of=datetime(2024, 1, 5, 12))
    assert got["cohort_size"].to_list() == [1]
    assert cohorts.table(tx, as_of="2024-01-05")["cohort_size"].to_list() == [2]


def test_lazy_in_lazy_out() -> None:
    lazy = cohorts.table(MONTHLY.lazy(), as_of=D(2024, 3, 31))
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect_schema() == pl.Schema(SCHEMA)
    assert_frame_equal(lazy.collect(), cohorts.table(MONTHLY, as_of=D(2024, 3, 31)))
    first = cohorts.table(FIRST.lazy(), align="first_purchase")
    assert isinstance(first, pl.LazyFrame)
    assert_frame_equal(first.collect(), cohorts.table(FIRST, align="first_purchase"))


@pytest.mark.parametrize("align", ["calendar", "first_purchase"])
def test_empty_input_gives_the_documented_schema(align: str) -> None:
    empty = cohorts.table(MONTHLY.head(0), align=align)  # type: ignore[arg-type]
    assert empty.height == 0
    assert empty.schema == pl.Schema(SCHEMA)
    # returns only, or nothing by as_of: no cohort at all
    assert cohorts.table(MONTHLY.filter(pl.col("amount") < 0), align=align).height == 0  # type: ignore[arg-type]
    assert cohorts.table(MONTHLY, as_of=D(2020, 1, 1), align=align).schema == pl.Schema(SCHEMA)  # type: ignore[arg-type]
    assert cohorts.matrix(empty).columns == ["cohort"]


def test_integer_amounts_and_string_ids() -> None:
    tx = pl.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "timestamp": [D(2024, 1, 1), D(2024, 2, 1), D(2024, 2, 1)],
            "amount": [3, -1, 2],
        }
    )
    got = cohorts.table(tx)
    assert got.schema == pl.Schema(SCHEMA)
    assert got["revenue"].to_list() == [3.0, -1.0, 2.0, N]


# ---------------------------------------------------------------------------------------------
# properties

transactions = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 12)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2023, 1, 1), D(2024, 6, 30))),
        column("amount", dtype=pl.Float64, strategy=st.sampled_from([-20.0, -5.0, 0.0, 5.0, 40.0])),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)
periods = st.sampled_from(["1d", "10d", "1w", "2w", "1mo", "2mo", "1q", "1y"])
aligns = st.sampled_from(["calendar", "first_purchase"])
METRICS = list(cohorts.METRICS)


def _purchase_days(tx: pl.DataFrame) -> dict[int, dict[date, float]]:
    days: dict[int, dict[date, float]] = defaultdict(lambda: defaultdict(float))
    for customer, when, amount in tx.select("customer_id", "timestamp", "amount").iter_rows():
        days[customer][when] += amount
    return days


@settings(max_examples=60, deadline=None)
@given(tx=transactions, period=periods, align=aligns)
def test_properties(tx: pl.DataFrame, period: str, align: str) -> None:
    got = cohorts.table(tx, period=period, align=align)  # type: ignore[arg-type]
    assert got.schema == pl.Schema(SCHEMA)
    days = _purchase_days(tx)
    buyers = {c for c, d in days.items() if any(v > 0 for v in d.values())}
    sizes = got.group_by("cohort").agg(pl.col("cohort_size").first(), n=pl.len())
    # every customer with a purchase occasion is in exactly one cohort
    assert sizes["cohort_size"].sum() == len(buyers)
    if not buyers:
        assert got.height == 0
        return
    # the rectangle: every cohort has indices 0..K
    assert sizes["n"].n_unique() == 1
    assert got["period_index"].to_list() == list(range(sizes["n"][0])) * sizes.height
    first = got.filter(pl.col("period_index") == 0)
    assert (first["retention_rate"] == 1.0).all()
    assert (first["active_customers"] == first["cohort_size"]).all()
    reached = got.filter(pl.col("active_customers").is_not_null())
    assert reached["retention_rate"].is_between(0.0, 1.0).all()
    assert (reached["active_customers"] <= reached["cohort_size"]).all()
    assert (reached["orders"] >= reached["active_customers"]).all()
    # unreached cells: null in every metric, never complete, and only after reached cells
    unreached = got.filter(pl.col("active_customers").is_null())
    assert unreached.select(pl.all_horizontal(pl.col(METRICS).is_null())).to_series().all()
    assert not unreached["is_complete"].any()
    assert (got["is_complete"] <= got["active_customers"].is_not_null()).all()
    last = got.group_by("cohort").agg(
        pl.col("active_customers").is_null().cast(pl.Int8).diff().min().fill_null(0)
    )
    assert (last["active_customers"] >= 0).all()  # null never followed by non-null
    # purchase occasions: every one counts exactly once (none is before its customer's first)
    occasions = sum(v > 0 for d in days.values() for v in d.values())
    assert reached["orders"].sum() == occasions
    if align == "calendar":
        as_of = tx["timestamp"].max()
        assert (unreached["period_start"] > as_of).all()
        assert (reached["period_start"] <= as_of).all()


@settings(max_examples=40, deadline=None)
@given(tx=transactions, period=periods, align=aligns)
def test_lazy_eager_and_row_order_agree(tx: pl.DataFrame, period: str, align: str) -> None:
    eager = cohorts.table(tx, period=period, align=align)  # type: ignore[arg-type]
    lazy = cohorts.table(tx.lazy(), period=period, align=align)  # type: ignore[arg-type]
    assert_frame_equal(lazy.collect(), eager)
    shuffled = tx.sample(fraction=1.0, shuffle=True, seed=7)
    assert_frame_equal(
        cohorts.table(shuffled, period=period, align=align),  # type: ignore[arg-type]
        eager,
        check_exact=False,  # sums in another order may differ in the last bit
    )


@settings(max_examples=40, deadline=None)
@given(tx=transactions)
def test_monthly_calendar_cells_equal_a_plain_computation(tx: pl.DataFrame) -> None:
    days = _purchase_days(tx)
    month = lambda d: d.year * 12 + d.month - 1  # noqa: E731
    cohort_of = {
        c: min(month(w) for w, v in d.items() if v > 0)
        for c, d in days.items()
        if any(v > 0 for v in d.values())
    }
    active: dict[tuple[int, int], set[int]] = defaultdict(set)
    revenue: dict[tuple[int, int], float] = defaultdict(float)
    for customer, c in cohort_of.items():
        for when, value in days[customer].items():
            k = month(when) - c
            if k < 0:
                continue
            revenue[c, k] += value
            if value > 0:
                active[c, k].add(customer)
    got = cohorts.table(tx).filter(pl.col("active_customers").is_not_null())
    for row in got.iter_rows(named=True):
        key = (month(row["cohort"]), row["period_index"])
        assert row["active_customers"] == len(active.get(key, ()))
        assert row["revenue"] == pytest.approx(revenue.get(key, 0.0), abs=1e-9)
    assert {k for k, v in active.items() if v} <= {
        (month(r["cohort"]), r["period_index"]) for r in got.iter_rows(named=True)
    }


@settings(max_examples=40, deadline=None)
@given(tx=transactions, period=periods, cut=st.dates(D(2023, 1, 1), D(2024, 6, 30)))
def test_as_of_equals_dropping_later_rows(tx: pl.DataFrame, period: str, cut: date) -> None:
    got = cohorts.table(tx, period=period, as_of=cut)
    kept = tx.filter(pl.col("timestamp") <= cut)
    if kept.height == 0:
        assert got.height == 0
        return
    # the same rows with one extra pure-zero row on as_of pin the default as_of to that day
    pinned = pl.concat([kept, tx_of([(10_000, cut, 0.0)])])
    assert_frame_equal(cohorts.table(pinned, period=period), got)


# ---------------------------------------------------------------------------------------------
# bad input


def test_missing_column_names_it_and_prepare() -> None:
    with pytest.raises(
        ColumnError, match=r"cohorts\.table: missing column\(s\) \['amount'\].*prepare"
    ):
        cohorts.table(MONTHLY.drop("amount"))
    with pytest.raises(ColumnError, match=r"column 'timestamp' is String; it must be date"):
        cohorts.table(MONTHLY.with_columns(pl.col("timestamp").cast(pl.String)))


def test_bad_period() -> None:
    with pytest.raises(ArgumentError, match=r"cohorts\.table: period must be .*got '1m'"):
        cohorts.table(MONTHLY, period="1m")


def test_bad_align() -> None:
    with pytest.raises(
        ArgumentError,
        match=r"cohorts\.table: align must be one of \['calendar', 'first_purchase'\]; got 'first'",
    ):
        cohorts.table(MONTHLY, align="first")  # type: ignore[arg-type]


def test_bad_as_of() -> None:
    with pytest.raises(ArgumentError, match=r"cohorts\.table: as_of must be a date.*'yesterday'"):
        cohorts.table(MONTHLY, as_of="yesterday")


def test_not_a_frame() -> None:
    with pytest.raises(InputTypeError, match=r"cohorts\.table: expected a polars DataFrame"):
        cohorts.table({"customer_id": [1]})  # type: ignore[type-var]


def test_bad_values() -> None:
    table = cohorts.table(MONTHLY)
    with pytest.raises(
        ArgumentError,
        match=r"cohorts\.matrix: values must be one of \['active_customers', 'retention_rate', "
        r"'orders', 'revenue', 'revenue_per_customer', 'cumulative_revenue_per_customer'\]; "
        r"got 'cohort_size'",
    ):
        cohorts.matrix(table, values="cohort_size")
    with pytest.raises(ColumnError, match=r"cohorts\.matrix: missing column\(s\) \['revenue'\]"):
        cohorts.matrix(table.drop("revenue"), values="revenue")


def test_one_day_periods_span_every_day() -> None:
    start = D(2024, 1, 1)
    tx = tx_of([(1, start, 1.0), (1, start + timedelta(days=3), 1.0)])
    got = cohorts.table(tx, period="1d")
    assert got["active_customers"].to_list() == [1, 0, 0, 1]
    assert got["is_complete"].to_list() == [True, True, True, True]


@settings(max_examples=60, deadline=None)
@given(
    start=st.dates(D(2023, 1, 1), D(2024, 12, 31)),
    when=st.dates(D(2022, 11, 1), D(2025, 12, 31)),
    period=st.sampled_from(["1mo", "2mo", "1q", "1y", "1w", "3d"]),
)
def test_period_index_equals_a_plain_count(start: date, when: date, period: str) -> None:
    import calendar

    from retailcrm._time import parse_period

    step = parse_period(period, caller="test")

    def add_months(day: date, months: int) -> date:
        month0 = day.month - 1 + months
        year, month = day.year + month0 // 12, month0 % 12 + 1
        return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))

    def plain(a: date, b: date) -> int:  # the largest k with a + k periods <= b
        if step.days is not None:
            return (b - a).days // step.days
        k = 0
        while add_months(a, (k + 1) * step.months) <= b:
            k += 1
        while add_months(a, k * step.months) > b:
            k -= 1
        return k

    frame = pl.DataFrame({"start": [start, D(2024, 1, 31)], "when": [when, D(2024, 2, 29)]})
    got = frame.select(step.index(pl.col("start"), pl.col("when"))).to_series().to_list()
    assert got == [plain(a, b) for a, b in frame.iter_rows()]
