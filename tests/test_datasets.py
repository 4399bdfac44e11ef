from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis.extra.numpy import arrays
from polars.testing import assert_frame_equal
from scipy import integrate, special

import retailcrm
from retailcrm import ArgumentError, datasets
from retailcrm.datasets import _draw, _ranges, _segment_cumsum

# ------------------------------------------------------------------------------------- CDNOW

CDNOW_SCHEMA = pl.Schema(
    {"customer_id": pl.Int64, "timestamp": pl.Date, "quantity": pl.Float64, "amount": pl.Float64}
)


def _plain_read(name: str, *, id_field: int, skip_header: bool) -> list[tuple]:
    """Read a lifetimes CDNOW text file line by line, with nothing but str.split."""
    lifetimes = pytest.importorskip("lifetimes")
    path = Path(lifetimes.__file__).parent / "datasets" / name
    lines = path.read_text().splitlines()[1 if skip_header else 0 :]
    rows = []
    for line in lines:
        fields = line.split()
        day = datetime.strptime(fields[-3], "%Y%m%d").date()
        rows.append((int(fields[id_field]), day, float(fields[-2]), float(fields[-1])))
    return rows


@pytest.mark.parametrize(
    ("sample", "customers", "rows"), [(False, 23_570, 69_659), (True, 2_357, 6_919)]
)
def test_cdnow_counts_and_schema(sample: bool, customers: int, rows: int) -> None:
    cdnow = datasets.load_cdnow(sample=sample)
    assert cdnow.schema == CDNOW_SCHEMA
    assert cdnow.height == rows
    assert cdnow["customer_id"].n_unique() == customers
    assert cdnow.null_count().row(0) == (0, 0, 0, 0)


@pytest.mark.parametrize(
    ("sample", "name", "id_field", "skip_header"),
    [(False, "CDNOW_master.txt", 0, True), (True, "CDNOW_sample.txt", 0, False)],
)
def test_cdnow_equals_the_raw_text_file(
    sample: bool, name: str, id_field: int, skip_header: bool
) -> None:
    raw = _plain_read(name, id_field=id_field, skip_header=skip_header)
    cdnow = datasets.load_cdnow(sample=sample)
    assert cdnow.rows() == raw  # every row, in the file's order
    assert cdnow["quantity"].sum() == sum(row[2] for row in raw)
    assert cdnow["amount"].sum() == pytest.approx(sum(row[3] for row in raw), rel=1e-12)


def test_cdnow_totals_and_dates() -> None:
    cdnow = datasets.load_cdnow()
    # totals of the raw file: 167,881 CDs for $2,500,315.63 (awk over CDNOW_master.txt)
    assert cdnow["quantity"].sum() == 167_881
    assert cdnow["amount"].sum() == pytest.approx(2_500_315.63, abs=0.005)
    assert cdnow["timestamp"].min() == date(1997, 1, 1)
    assert cdnow["timestamp"].max() == date(1998, 6, 30)
    first = cdnow.group_by("customer_id").agg(pl.col("timestamp").min())["timestamp"]
    assert first.min() == date(1997, 1, 1)
    assert first.max() <= date(1997, 3, 31)  # the cohort: first purchase in Q1 1997


def test_cdnow_sample_is_the_master_rows_of_its_customers() -> None:
    master = datasets.load_cdnow()
    sample = datasets.load_cdnow(sample=True)
    chosen = master.filter(pl.col("customer_id").is_in(sample["customer_id"].unique().implode()))
    # the same rows (the sample file is ordered by its own ids, so compare sorted)
    assert_frame_equal(sample.sort(sample.columns), chosen.sort(chosen.columns))


def test_cdnow_sample_flag_is_checked() -> None:
    with pytest.raises(ArgumentError, match=r"load_cdnow: sample must be True or False; got 'y'"):
        datasets.load_cdnow(sample="y")  # type: ignore[arg-type]


def test_datasets_load_neither_pandas_nor_pyarrow() -> None:
    code = (
        "import sys\n"
        "from retailcrm import datasets\n"
        "datasets.load_cdnow(); datasets.load_cdnow(sample=True); datasets.simulate(20, seed=0)\n"
        "print(sorted(m for m in ('pandas', 'pyarrow', 'lifetimes') if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert done.stdout.strip() == "[]"


# ---------------------------------------------------------------------------------- simulate

N = 50_000  # customers in the shared frame


@pytest.fixture(scope="module")
def sim() -> pl.DataFrame:
    return datasets.simulate(N, seed=11)


def _orders(tx: pl.DataFrame) -> pl.DataFrame:
    return tx.group_by("order_id").agg(
        customer_id=pl.col("customer_id").first(),
        customers=pl.col("customer_id").n_unique(),
        timestamps=pl.col("timestamp").n_unique(),
        channels=pl.col("channel").n_unique(),
        timestamp=pl.col("timestamp").first(),
        channel=pl.col("channel").first(),
        lines=pl.len(),
        value=pl.col("amount").sum(),
        all_negative=(pl.col("amount") < 0).all(),
        all_positive=(pl.col("amount") > 0).all(),
    )


def test_simulate_schema(sim: pl.DataFrame) -> None:
    assert sim.schema == pl.Schema(
        {
            "customer_id": pl.Int64,
            "order_id": pl.Int64,
            "timestamp": pl.Datetime("us"),
            "item": pl.Int32,
            "brand": pl.Enum(datasets.BRANDS),
            "category": pl.Enum(datasets.CATEGORIES),
            "quantity": pl.Float64,
            "amount": pl.Float64,
            "margin": pl.Float64,
            "channel": pl.Enum(["store", "online"]),
        }
    )
    assert sim.null_count().sum_horizontal().item() == 0
    assert len(datasets.CATEGORIES) == 20
    assert len(set(datasets.BRANDS)) == len(datasets.BRANDS)


def test_simulate_is_deterministic_per_seed() -> None:
    one = datasets.simulate(2_000, seed=5)
    assert_frame_equal(one, datasets.simulate(2_000, seed=5))
    other = datasets.simulate(2_000, seed=6)
    assert not one.equals(other)
    assert one.height != other.height or one["amount"].sum() != other["amount"].sum()


def test_simulate_customers_orders_and_window(sim: pl.DataFrame) -> None:
    assert sim["customer_id"].unique().sort().to_list() == list(range(1, N + 1))
    orders = _orders(sim)
    # one order: one customer, one timestamp, one channel; ids 1..n numbered in time order
    assert orders["customers"].max() == 1
    assert orders["timestamps"].max() == 1
    assert orders["channels"].max() == 1
    assert orders["order_id"].sort().to_list() == list(range(1, orders.height + 1))
    assert sim["timestamp"].is_sorted()
    assert sim["order_id"].is_sorted()
    # every order is all purchase lines or all return lines
    assert (orders["all_negative"] | orders["all_positive"]).all()
    # every customer has a purchase
    buyers = orders.filter(pl.col("value") > 0)["customer_id"].n_unique()
    assert buyers == N
    assert sim["timestamp"].min() >= datetime(2023, 1, 1)
    assert sim["timestamp"].max() < datetime(2025, 1, 1)
    assert (sim["timestamp"].dt.microsecond() == 0).all()  # whole seconds


def test_simulate_lines(sim: pl.DataFrame) -> None:
    assert sim["quantity"].is_in([1.0, 2.0, 3.0]).all()
    assert sim["item"].min() >= 1
    assert sim["item"].max() <= 5_000
    rate = sim["margin"] / sim["amount"]
    assert (np.sign(sim["margin"]) == np.sign(sim["amount"])).all()
    assert rate.min() >= 0.10 - 1e-12
    assert rate.max() <= 0.50 + 1e-12
    assert (sim["amount"] != 0).all()
    assert ((sim["amount"].abs() * 100).round(6) % 1).max() == 0  # whole cents
    # an item has one brand and one category; a brand lies in one category
    per_item = sim.group_by("item").agg(pl.col("brand", "category").n_unique())
    assert per_item["brand"].max() == 1
    assert per_item["category"].max() == 1
    assert sim.group_by("brand").agg(pl.col("category").n_unique())["category"].max() == 1
    # a customer pays the same unit price for an item every time (list price x spend level)
    unit = (pl.col("amount").abs() / pl.col("quantity")).alias("unit")
    spread = sim.group_by("customer_id", "item").agg(unit.max() - unit.min())
    assert spread["unit"].max() <= 0.01 + 1e-9


def test_simulate_hours(sim: pl.DataFrame) -> None:
    hour = pl.col("timestamp").dt.hour()
    store = sim.filter(pl.col("channel") == "store").select(hour.min().alias("lo"), hour.max())
    online = sim.filter(pl.col("channel") == "online").select(hour.min().alias("lo"), hour.max())
    assert store.row(0) == (8, 20)  # 8:00-21:00
    assert online.row(0)[0] >= 6  # 6:00-24:00


def test_simulate_returns(sim: pl.DataFrame) -> None:
    orders = _orders(sim)
    purchases = orders.filter(pl.col("all_positive"))
    returns = orders.filter(pl.col("all_negative"))
    share = returns.height / purchases.height
    # 2 % of purchase orders, less those whose return day falls after the window (~3 % of them);
    # binomial standard error ~0.0003
    assert 0.017 < share < 0.0215
    back = sim.filter(pl.col("amount") < 0)
    bought = sim.filter(pl.col("amount") > 0).select(
        "customer_id", "item", "quantity", "amount", "channel", bought_at="timestamp"
    )
    matched = (
        back.with_columns(paid=-pl.col("amount"))
        .join(
            bought,
            left_on=["customer_id", "item", "quantity", "paid", "channel"],
            right_on=["customer_id", "item", "quantity", "amount", "channel"],
        )
        .filter(pl.col("bought_at").dt.date() < pl.col("timestamp").dt.date())
    )
    # every return line repeats, negated, a line the customer bought on an earlier day
    assert (
        matched.select(pl.struct("order_id", "item").n_unique()).item()
        == back.select(pl.struct("order_id", "item").n_unique()).item()
    )


def test_simulate_return_rate_extremes() -> None:
    none = datasets.simulate(3_000, seed=2, return_rate=0.0)
    assert (none["amount"] > 0).all()
    every = _orders(datasets.simulate(3_000, seed=2, return_rate=1.0))
    purchases = every.filter(pl.col("value") > 0)
    # a purchase is returned unless its return day is past the window end (mean delay ~9.5 days)
    assert every.height - purchases.height > 0.9 * purchases.height


def _bgnbd_expectations(r: float, alpha: float, a: float, b: float, days: int) -> tuple[float, ...]:
    """P(no repeat purchase) and E[repeat purchases], BG/NBD, averaged over T ~ U(0, days]."""

    def expected(t: float) -> float:  # Fader, Hardie & Lee (2005), eq. (9)
        z = t / (alpha + t)
        hyp = special.hyp2f1(r, b, a + b - 1, z)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp)

    p0 = integrate.quad(lambda t: (alpha / (alpha + t)) ** r, 0, days)[0] / days
    mean = integrate.quad(expected, 0, days)[0] / days
    return p0, mean


@pytest.mark.parametrize(
    ("kwargs", "days"),
    [
        ({}, 731),  # the defaults: ~44 % one-time buyers, ~3.27 repeat purchases
        (
            {"r": 1.2, "alpha": 30.0, "a": 2.0, "b": 6.0, "start": date(2024, 1, 1),
             "end": date(2024, 6, 30)},
            182,
        ),
    ],
)  # fmt: skip
def test_simulate_follows_bgnbd(kwargs: dict, days: int) -> None:
    params = {"r": 0.25, "alpha": 10.0, "a": 0.8, "b": 4.0}
    params.update({k: v for k, v in kwargs.items() if k in params})
    p0, mean = _bgnbd_expectations(**params, days=days)
    tx = datasets.simulate(N, seed=21, **kwargs)
    per = (
        _orders(tx)
        .filter(pl.col("value") > 0)
        .group_by("customer_id")
        .agg(repeats=pl.len() - 1)["repeats"]
    )
    # standard errors over seeds at 50,000 customers (defaults): 0.0025 and 0.039 (1.2 %)
    assert (per == 0).mean() == pytest.approx(p0, abs=0.015)
    assert per.mean() == pytest.approx(mean, rel=0.05)


def test_simulate_baskets_and_channels(sim: pl.DataFrame) -> None:
    orders = _orders(sim)
    purchases = orders.filter(pl.col("all_positive"))
    # 1 + Poisson(1.3): mean 2.3 lines; quantity 1 with probability 0.80
    assert purchases["lines"].mean() == pytest.approx(2.3, rel=0.02)
    assert purchases["lines"].min() == 1
    bought = sim.filter(pl.col("amount") > 0)
    assert (bought["quantity"] == 1).mean() == pytest.approx(0.80, abs=0.01)
    # online propensity ~ Beta(0.6, 1.4), mean 0.3; purchases cluster by customer, so loose
    assert (purchases["channel"] == "online").mean() == pytest.approx(0.3, abs=0.03)


def test_simulate_item_popularity_is_zipf(sim: pl.DataFrame) -> None:
    lines = sim.filter(pl.col("amount") > 0)
    top = lines["item"].value_counts(sort=True)["count"].head(3).to_numpy() / lines.height
    ranks = np.arange(1, 5_001)
    expected = ranks[:3] ** -0.8 / (ranks**-0.8).sum()  # 0.0435, 0.0250, 0.0181
    np.testing.assert_allclose(top, expected, rtol=0.05)


def test_simulate_passes_prepare_unchanged(sim: pl.DataFrame) -> None:
    names = {name: name for name in sim.columns}
    assert_frame_equal(retailcrm.prepare(sim, **names), sim)


window = st.dates(date(2000, 1, 1), date(2030, 12, 31))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 60),
    seed=st.integers(0, 2**32),
    start=window,
    length=st.integers(1, 1_500),
    return_rate=st.floats(0.0, 1.0),
    online_share=st.floats(0.0, 1.0),
    n_items=st.integers(1, 50),
)
def test_simulate_invariants(
    n: int,
    seed: int,
    start: date,
    length: int,
    return_rate: float,
    online_share: float,
    n_items: int,
) -> None:
    end = start + timedelta(days=length)
    tx = datasets.simulate(
        n, seed=seed, start=start, end=end, return_rate=return_rate,
        online_share=online_share, n_items=n_items,
    )  # fmt: skip
    assert tx["customer_id"].unique().sort().to_list() == list(range(1, n + 1))
    assert tx["timestamp"].min() >= datetime.combine(start, datetime.min.time())
    assert tx["timestamp"].max() < datetime.combine(end + timedelta(days=1), datetime.min.time())
    assert (tx["quantity"] > 0).all()
    assert tx["item"].is_between(1, n_items).all()
    assert (np.sign(tx["margin"]) == np.sign(tx["amount"])).all()
    orders = _orders(tx)
    assert orders["customers"].max() == 1
    assert (orders["all_negative"] | orders["all_positive"]).all()
    first = orders.sort("timestamp", "order_id").group_by("customer_id").first()
    assert (first["value"] > 0).all()  # nobody starts with a return


# ------------------------------------------------------------------------ argument checks


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_customers": 0}, r"n_customers must be an integer >= 1; got 0\."),
        ({"n_customers": 2.5}, r"n_customers must be an integer >= 1; got 2\.5\."),
        ({"seed": -1}, r"seed must be an integer >= 0; got -1\."),
        ({"n_items": 0}, r"n_items must be an integer >= 1; got 0\."),
        (
            {"start": date(2024, 1, 1), "end": date(2024, 1, 1)},
            r"start must be before end; got start=2024-01-01, end=2024-01-01\. Swap them",
        ),
        (
            {"start": datetime(2024, 1, 1)},
            r"start must be a datetime\.date \(a calendar day\); got .*\. Pass its \.date\(\)\.",
        ),
        ({"end": "2024-12-31"}, r"end must be a datetime\.date \(a calendar day\); got '2024"),
        ({"r": 0.0}, r"r must be a finite number > 0; got 0\.0\."),
        ({"alpha": float("inf")}, r"alpha must be a finite number > 0; got inf\."),
        ({"a": -1.0}, r"a must be a finite number > 0; got -1\.0\."),
        ({"b": float("nan")}, r"b must be a finite number > 0; got nan\."),
        ({"spend_shape": 1.0}, r"spend_shape must be a finite number > 1 \(the mean spend"),
        ({"lines_per_order": 0.5}, r"lines_per_order must be a finite number >= 1; got 0\.5\."),
        ({"zipf_exponent": -0.1}, r"zipf_exponent must be a finite number >= 0; got -0\.1\."),
        ({"online_share": 1.5}, r"online_share must be a finite number in \[0, 1\]; got 1\.5\."),
        ({"return_rate": -0.01}, r"return_rate must be a finite number in \[0, 1\]; got -0\.01"),
    ],
)
def test_simulate_argument_errors(kwargs: dict, message: str) -> None:
    args = {"n_customers": 10, "seed": 0, **kwargs}
    with pytest.raises(ArgumentError, match=r"^datasets\.simulate: " + message):
        datasets.simulate(**args)


# ------------------------------------------------------------------------ private helpers


@settings(max_examples=40, deadline=None)
@given(
    weights=arrays(np.float64, st.integers(1, 300), elements=st.floats(0.0, 1e3)),
    u=arrays(np.float64, st.integers(0, 500), elements=st.floats(0.0, 1.0, exclude_max=True)),
)
def test_draw_equals_searchsorted(weights: np.ndarray, u: np.ndarray) -> None:
    weights = weights + 1e-3  # strictly positive, as Zipf weights are
    cdf = np.cumsum(weights) / weights.sum()
    expected = np.minimum(np.searchsorted(cdf, u, side="right"), cdf.size - 1)
    np.testing.assert_array_equal(_draw(cdf, u), expected)


@given(lengths=st.lists(st.integers(0, 5), max_size=20), seed=st.integers(0, 100))
def test_ranges_and_segment_cumsum_match_loops(lengths: list[int], seed: int) -> None:
    sizes = np.array(lengths, dtype=np.int64)
    starts = np.random.default_rng(seed).integers(0, 100, sizes.size)
    looped = [s + k for s, n in zip(starts, sizes, strict=True) for k in range(n)]
    assert _ranges(starts, sizes).tolist() == looped
    values = np.random.default_rng(seed).random(int(sizes.sum()))
    pieces = np.split(values, np.cumsum(sizes)[:-1]) if sizes.size else []
    expected = np.concatenate([np.cumsum(p) for p in pieces]) if sizes.size else np.array([])
    np.testing.assert_allclose(_segment_cumsum(values, sizes), expected, rtol=1e-12, atol=1e-12)
