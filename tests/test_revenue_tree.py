"""metrics.revenue_tree (in retailcrm._revenue_tree): LMDI by hand, properties, bad input."""

from __future__ import annotations

import math
from datetime import date

import hypothesis.strategies as st
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

from retailcrm import ArgumentError, DataError, datasets, metrics
from retailcrm._revenue_tree import DRIVERS, revenue_tree

D = date
JAN = ("2024-01-01", "2024-01-31")
FEB = (D(2024, 2, 1), D(2024, 2, 29))


@pytest.fixture
def tx() -> pl.DataFrame:
    # January: 1 buys o1 (2 units for 10 + 1 for 5), 2 buys o2 (1 for 20).
    #   C 2, O 2, I 4, R 35, M 8
    # February: 1 buys o3 (3 for 30) and o4 (1 for 12); 2 buys o5 (2 for 16) and returns 1 unit
    #   (o6, -8, a pure return: no purchase occasion); 3 buys o7 (1 for 10).
    #   C 3, O 4, I 3 + 1 + 2 - 1 + 1 = 6, R 60, M 13.  March (o8) is outside both periods.
    return pl.DataFrame(
        {
            "customer_id": [1, 1, 2, 1, 1, 2, 2, 3, 1],
            "order_id": ["o1", "o1", "o2", "o3", "o4", "o5", "o6", "o7", "o8"],
            "timestamp": [D(2024, 1, 5), D(2024, 1, 5), D(2024, 1, 10), D(2024, 2, 2),
                          D(2024, 2, 20), D(2024, 2, 11), D(2024, 2, 15), D(2024, 2, 28),
                          D(2024, 3, 1)],
            "quantity": [2.0, 1.0, 1.0, 3.0, 1.0, 2.0, 1.0, 1.0, 9.0],
            "amount": [10.0, 5.0, 20.0, 30.0, 12.0, 16.0, -8.0, 10.0, 100.0],
            "margin": [3.0, 1.0, 4.0, 6.0, 3.0, 4.0, -2.0, 2.0, 30.0],
        }
    )  # fmt: skip


def _lmdi(va: float, vb: float, xa: float, xb: float) -> float:
    weight = va if va == vb else (vb - va) / (math.log(vb) - math.log(va))
    return weight * math.log(xb / xa)


def test_tree_by_hand(tx: pl.DataFrame) -> None:
    out = revenue_tree(tx, period_a=JAN, period_b=FEB)
    drivers = {  # (a, b) of each driver
        "customers": (2.0, 3.0),
        "orders_per_customer": (1.0, 4 / 3),
        "items_per_order": (2.0, 1.5),
        "price_per_item": (35 / 4, 10.0),
        "margin_rate": (8 / 35, 13 / 60),
    }
    rows = []
    for measure, (va, vb), names in (
        ("revenue", (35.0, 60.0), list(drivers)[:4]),
        ("margin", (8.0, 13.0), list(drivers)),
    ):
        for name in names:
            xa, xb = drivers[name]
            c = _lmdi(va, vb, xa, xb)
            rows.append((measure, name, xa, xb, xb / xa - 1, c, c / (vb - va)))
        rows.append((measure, "total", va, vb, vb / va - 1, vb - va, 1.0))
    expected = pl.DataFrame(
        rows,
        schema=["measure", "driver", "value_a", "value_b", "change", "contribution",
                "share_of_change"],
        orient="row",
    ).with_columns(
        pl.col("measure").cast(pl.Enum(["revenue", "margin"])),
        pl.col("driver").cast(pl.Enum(DRIVERS)),
    )  # fmt: skip
    assert_frame_equal(out, expected, rel_tol=1e-12)
    # the drivers add up to the change, to rounding
    for measure, change in (("revenue", 25.0), ("margin", 5.0)):
        parts = out.filter(measure=measure).filter(pl.col("driver") != "total")
        assert parts["contribution"].sum() == pytest.approx(change, rel=1e-12)
    # the period figures are those of the KPI dashboard
    kpis = metrics.kpis(tx, period="1mo").filter(pl.col("period_start") < D(2024, 3, 1))
    assert kpis["revenue"].to_list() == [35.0, 60.0]
    assert kpis["active_customers"].to_list() == [2, 3]
    assert kpis["orders"].to_list() == [2, 4]


def test_tree_without_optional_columns(tx: pl.DataFrame) -> None:
    plain = tx.drop("quantity", "margin", "order_id")
    out = revenue_tree(plain, period_a=JAN, period_b=FEB)
    assert out["measure"].unique().to_list() == ["revenue"]
    # no quantity: a line is an item (January 3 lines; February 4 purchase lines - 1 return);
    # no order_id: an order is a customer-day (the same 2 and 4 purchase occasions here)
    items = out.filter(driver="items_per_order").select("value_a", "value_b").row(0)
    assert items == (1.5, 0.75)


def test_lazy_and_nonpositive(tx: pl.DataFrame) -> None:
    lazy = revenue_tree(tx.lazy(), period_a=JAN, period_b=FEB)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), revenue_tree(tx, period_a=JAN, period_b=FEB), rel_tol=1e-12)
    empty = ("2024-04-01", "2024-04-30")
    with pytest.raises(
        DataError, match=r"customers is 0.0 in period_b \(2024-04-01 to 2024-04-30\).*> 0 in both"
    ):
        revenue_tree(tx, period_a=JAN, period_b=empty)
    # a LazyFrame is not read: the contributions come back null
    out = revenue_tree(tx.lazy(), period_a=JAN, period_b=empty).collect()
    assert out.filter(pl.col("driver") != "total")["contribution"].null_count() == 9
    # a negative margin in a period stops the margin tree only
    losing = tx.with_columns(
        margin=pl.when(pl.col("timestamp") < D(2024, 2, 1)).then(-1.0).otherwise("margin")
    )
    with pytest.raises(DataError, match=r"margin is -3.0 in period_a"):
        revenue_tree(losing, period_a=JAN, period_b=FEB)
    lazy_losing = revenue_tree(losing.lazy(), period_a=JAN, period_b=FEB).collect()
    assert lazy_losing.filter(measure="revenue")["contribution"].null_count() == 0
    assert lazy_losing.filter(measure="margin", driver="customers")["contribution"].item() is None


def test_periods_bad_input(tx: pl.DataFrame) -> None:
    with pytest.raises(
        ArgumentError, match=r"period_a \(2024-01-01 to 2024-02-10\) and period_b .* overlap"
    ):
        revenue_tree(tx, period_a=("2024-01-01", "2024-02-10"), period_b=FEB)
    with pytest.raises(ArgumentError, match=r"period_b .* comes before period_a"):
        revenue_tree(tx, period_a=FEB, period_b=JAN)
    with pytest.raises(ArgumentError, match=r"period_a is reversed"):
        revenue_tree(tx, period_a=("2024-01-31", "2024-01-01"), period_b=FEB)
    with pytest.raises(ArgumentError, match=r"period_a must be a \(start, end\) pair"):
        revenue_tree(tx, period_a="2024-01", period_b=FEB)  # type: ignore[arg-type]


sales = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 6)),
        column("order_id", dtype=pl.Int64, strategy=st.integers(0, 12)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(D(2024, 1, 1), D(2024, 2, 29))),
        column("quantity", dtype=pl.Float64, strategy=st.sampled_from([1.0, 2.0, 5.0])),
        column("amount", dtype=pl.Float64, strategy=st.sampled_from([-1.0, 3.0, 4.5, 20.0])),
        column("margin", dtype=pl.Float64, strategy=st.sampled_from([0.5, 1.0, 3.0])),
    ],
    min_size=1,
    max_size=30,
    allow_null=False,
)


@settings(max_examples=40, deadline=None)
@given(tx=sales)
def test_contributions_add_up(tx: pl.DataFrame) -> None:
    # one sure purchase in each period (order ids 100, 101 are not drawn)
    sure = pl.DataFrame(
        {"customer_id": [0, 1], "order_id": [100, 101], "timestamp": [D(2024, 1, 9), D(2024, 2, 9)],
         "quantity": [1.0, 1.0], "amount": [50.0, 50.0], "margin": [5.0, 5.0]}
    )  # fmt: skip
    data = pl.concat([tx, sure])
    try:
        out = revenue_tree(data, period_a=JAN, period_b=FEB)
    except DataError:  # net items or revenue <= 0 in a period: no logarithms
        return
    for measure in ("revenue", "margin"):
        rows = out.filter(measure=measure)
        total = rows.filter(driver="total")["contribution"].item()
        parts = rows.filter(pl.col("driver") != "total")["contribution"].sum()
        assert parts == pytest.approx(total, rel=1e-9, abs=1e-9)
        # the product of the drivers is the measure, in both periods
        for side in ("value_a", "value_b"):
            product = math.prod(rows.filter(pl.col("driver") != "total")[side].to_list())
            assert product == pytest.approx(rows.filter(driver="total")[side].item(), rel=1e-12)


def test_simulated_quarters() -> None:
    sim = datasets.simulate(1_500, seed=6)
    out = revenue_tree(
        sim, period_a=("2024-01-01", "2024-03-31"), period_b=("2024-04-01", "2024-06-30")
    )
    revenue = out.filter(measure="revenue")
    total = revenue.filter(driver="total")
    assert revenue["contribution"].head(4).sum() == pytest.approx(total["contribution"].item())
    assert total["value_b"].item() - total["value_a"].item() == pytest.approx(
        total["contribution"].item()
    )
