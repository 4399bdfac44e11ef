"""campaigns.forecast (in retailcrm._forecast): by hand, against simulation, backtest, bad input."""

from __future__ import annotations

import math
import statistics
from datetime import date

import numpy as np
import polars as pl
import pytest
from scipy import stats

import retailcrm.clv as clv
from retailcrm import ArgumentError, DataError, RetailCRMWarning, datasets
from retailcrm._forecast import FIGURES, forecast
from retailcrm._orders import PURCHASE, orders

D = date


@pytest.fixture
def tx() -> pl.DataFrame:
    # three past windows of 10 days before the window Jan 31 - Feb 9:
    #   Jan 21-30: 1 buys twice (10, 20), 2 once (30)        -> 2 purchasers, 3 orders, 60
    #   Jan 11-20: 1 buys once (10)                          -> 1, 1, 10
    #   Jan 1-10:  2 buys on Jan 2: two orders (5 + 15), 1 returns 4 on Jan 3 (not a purchase)
    #                                                        -> 1, 1, 20
    rows = [
        (1, D(2024, 1, 22), 10.0, 2.0), (1, D(2024, 1, 29), 20.0, 5.0),
        (2, D(2024, 1, 30), 30.0, 9.0), (1, D(2024, 1, 15), 10.0, 1.0),
        (2, D(2024, 1, 2), 5.0, 1.0), (2, D(2024, 1, 2), 15.0, 4.0),
        (1, D(2024, 1, 3), -4.0, -1.0), (1, D(2024, 1, 1), 7.0, 1.0),
        (3, D(2024, 2, 5), 99.0, 9.0),  # in the window: never read
    ]  # fmt: skip
    return pl.DataFrame(
        rows, schema=["customer_id", "timestamp", "amount", "margin"], orient="row"
    ).with_columns(order_id=pl.int_range(pl.len()))


WINDOW = (D(2024, 1, 31), D(2024, 2, 9))


def test_history_by_hand(tx: pl.DataFrame) -> None:
    # Jan 1 holds customer 1's 7.0 too: window Jan 1-10 has purchasers {1, 2}, 2 purchase days
    # (1 on Jan 1; 2 on Jan 2, two orders on one day) and sales 7 + 20 = 27, margin 1 + 5 = 6
    out = forecast(tx, pl.DataFrame({"customer_id": [1, 2, 3]}), window=WINDOW, history=3)
    figures = {
        "purchasers": [2.0, 1.0, 2.0],
        "orders": [3.0, 1.0, 2.0],
        "sales": [60.0, 10.0, 27.0],
        "margin": [16.0, 1.0, 6.0],
    }
    t = stats.t.ppf(0.95, 2)  # level 0.9, k - 1 = 2 degrees of freedom
    for row in out.iter_rows(named=True):
        values = figures[row["figure"]]
        mean, sd = statistics.mean(values), statistics.stdev(values)
        half = t * sd * math.sqrt(1 + 1 / 3)
        assert row["baseline"] == pytest.approx(mean, rel=1e-12)
        assert row["lower"] == pytest.approx(max(0.0, mean - half), rel=1e-9)
        assert row["upper"] == pytest.approx(
            min(mean + half, 3.0) if row["figure"] == "purchasers" else mean + half, rel=1e-9
        )
    assert out["figure"].to_list() == list(FIGURES)
    assert out.select(
        "method", "customers", "customers_with_history", "windows"
    ).unique().rows() == [("history", 3, 2, 3)]


def test_uplift_and_explicit_windows(tx: pl.DataFrame) -> None:
    ids = pl.DataFrame({"customer_id": [1, 2]})
    windows = [("2024-01-21", "2024-01-30"), ("2024-01-11", "2024-01-20")]
    base = forecast(tx, ids, window=WINDOW, history=windows)
    lifted = forecast(tx, ids, window=WINDOW, history=windows, uplift=0.5)
    assert base["baseline"].to_list() == [1.5, 2.0, 35.0, 8.5]
    assert lifted["baseline"].to_list() == base["baseline"].to_list()
    # purchasers 1.5 * 1.5 = 2.25 is capped at the 2 customers listed
    assert lifted["forecast"].to_list() == [2.0, 3.0, 52.5, 12.75]
    assert lifted["upper"][2] == pytest.approx(base["upper"][2] * 1.5)
    assert lifted["upper"][0] == 2.0
    # one window: no spread, no interval
    single = forecast(tx, ids, window=WINDOW, history=windows[:1])
    assert single["lower"].null_count() == 4
    # windows before the data are dropped: 10 asked, 3 fit (the data start on Jan 1)
    assert forecast(tx, ids, window=WINDOW, history=10)["windows"][0] == 3


def _bgnbd_draws(model: clv.BetaGeo, s: pl.DataFrame, t: float, n: int, seed: int) -> np.ndarray:
    """Simulated window purchases (sims x customers) from the BG/NBD posterior, independently."""
    rng = np.random.default_rng(seed)
    x, t_x, T = (s[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    # P(alive), FHL 2005 eq. (11); given alive: lambda ~ Gamma(r + x, alpha + T), p ~ Beta(a, b + x)
    odds = np.where(
        x > 0, a / (b + np.maximum(x, 1) - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x), 0
    )
    alive = rng.random((n, x.size)) < 1 / (1 + odds)
    lam = rng.gamma(r + x, 1 / (alpha + T), size=(n, x.size))
    p = rng.beta(a, b + x, size=(n, x.size))
    would = rng.poisson(lam * t)  # purchases if they stayed
    stay = rng.geometric(p)  # purchases made before dropping out (the last one included)
    return np.where(alive, np.minimum(would, stay), 0)


def test_model_method_against_simulation() -> None:
    buys = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")  # CDNOW, FHL 2005
    start = D(2024, 1, 1)
    rows = []
    # 40 customers with varied histories: first purchase 5 + c weeks before, c % 6 repeats
    for c in range(40):
        first = 7 * (5 + c)
        n = c % 6
        days = sorted({first - (first * j) // (n + 1) for j in range(n + 1)})
        rows += [(c, date.fromordinal(start.toordinal() - d), 10.0 + c) for d in days]
    rows.append((99, D(2023, 12, 31), 1.0))  # not listed: the data run to Dec 31
    tx = pl.DataFrame(rows, schema=["customer_id", "timestamp", "amount"], orient="row")
    listed = pl.DataFrame({"customer_id": list(range(40))})
    window = (D(2024, 1, 1), D(2024, 1, 28))  # 4 weeks
    out = forecast(tx, listed, window=window, model=buys)
    s = clv.summary(tx, as_of=D(2023, 12, 31), unit="1w").join(listed, on="customer_id")
    draws = _bgnbd_draws(buys, s, 4.0, 40_000, seed=1)
    z = stats.norm.ppf(0.95)
    for figure, totals in (("purchasers", (draws > 0).sum(axis=1)), ("orders", draws.sum(axis=1))):
        row = out.filter(figure=figure).row(0, named=True)
        sd = (row["upper"] - row["lower"]) / (2 * z)
        # Monte Carlo error of the mean: sd / 200; of the sd: about 0.4 %
        assert row["baseline"] == pytest.approx(totals.mean(), abs=4 * totals.std() / 200)
        assert sd == pytest.approx(totals.std(), rel=0.02)
    # sales: each customer's purchases are worth their mean purchase-day value in the history
    sales = out.filter(figure="sales").row(0, named=True)
    mean_value = tx.filter(pl.col("customer_id") < 40)["amount"].mean()  # a line = a day
    assert sales["baseline"] == pytest.approx(
        out.filter(figure="orders")["baseline"].item() * mean_value
    )


@pytest.fixture(scope="module")
def simulated() -> tuple[pl.DataFrame, clv.BetaGeo, clv.GammaGamma, pl.DataFrame]:
    sim = datasets.simulate(4_000, seed=3)
    s = clv.summary(sim, as_of=D(2024, 9, 30), unit="1w")
    return sim, clv.BetaGeo.fit(s, unit="1w"), clv.GammaGamma.fit(s), s.select("customer_id")


def test_backtest_on_simulated_data(simulated: tuple) -> None:
    """October 2024 forecast from the data up to September 30, against what happened.

    Measured (seed 3, 3,495 customers acquired by Sep 30): model method purchasers 407.7
    against 422 (-3.4 %), orders (purchase days) 698.7 against 739 (-5.5 %), sales 28,643
    against 29,480 (-2.8 %), margin 9,165 against 9,521 (-3.7 %): every actual inside its 90 %
    interval. The history method (the four 31-day windows before) overestimates by 24-31 %:
    the simulated customers lapse (BG/NBD drop-out), which past windows do not foresee.
    """
    sim, buys, spend, ids = simulated
    window = (D(2024, 10, 1), D(2024, 10, 31))
    lines = sim.filter(pl.col("timestamp").dt.date().is_between(*window)).join(
        ids, on="customer_id", how="semi"
    )
    days = orders(lines, by="day").filter(PURCHASE)
    margins = lines.group_by("customer_id", order_date=pl.col("timestamp").dt.date()).agg(
        pl.col("margin").sum()
    )
    days = days.join(margins, on=["customer_id", "order_date"])
    actual = dict(
        zip(
            FIGURES,
            days.select(
                pl.col("customer_id").n_unique().cast(pl.Float64),
                pl.len().cast(pl.Float64),
                pl.col("value").sum(),
                pl.col("margin").sum(),
            ).row(0),
            strict=True,
        )
    )
    model = forecast(sim, ids, window=window, model=buys, spend_model=spend)
    for row in model.iter_rows(named=True):
        error = row["forecast"] / actual[row["figure"]] - 1
        assert abs(error) < 0.08, (row["figure"], error)
        assert row["lower"] <= actual[row["figure"]] <= row["upper"]
    past = forecast(sim, ids, window=window)
    errors = [row["forecast"] / actual[row["figure"]] - 1 for row in past.iter_rows(named=True)]
    assert all(0.15 < e < 0.40 for e in errors), errors
    # the model method without a spend model: the mean purchase-day value
    plain = forecast(sim, ids, window=window, model=buys)
    assert plain.filter(figure="sales")["forecast"].item() / actual["sales"] - 1 == pytest.approx(
        0.0, abs=0.08
    )


def test_bad_input(tx: pl.DataFrame, simulated: tuple) -> None:
    ids = pl.DataFrame({"customer_id": [1, 2]})
    with pytest.raises(
        ArgumentError, match=r"history\[0\] \(2024-01-25 to 2024-02-03\) overlaps the window"
    ):
        forecast(tx, ids, window=WINDOW, history=[("2024-01-25", "2024-02-03")])
    with pytest.raises(ArgumentError, match=r"history\[0\] .* has 9 days but the window has 10"):
        forecast(tx, ids, window=WINDOW, history=[("2024-01-11", "2024-01-19")])
    with pytest.raises(DataError, match=r"history\[0\] .* is not covered by the data"):
        forecast(tx, ids, window=WINDOW, history=[("2023-12-22", "2023-12-31")])
    with pytest.raises(ArgumentError, match=r"history must be >= 1"):
        forecast(tx, ids, window=WINDOW, history=0)
    with pytest.raises(ArgumentError, match=r"window is reversed"):
        forecast(tx, ids, window=(D(2024, 2, 9), D(2024, 1, 31)))
    with pytest.raises(ArgumentError, match=r"uplift must be a finite number > -1.*got -1.5"):
        forecast(tx, ids, window=WINDOW, uplift=-1.5)
    with pytest.raises(ArgumentError, match=r"level must be a number in \(0, 1\)"):
        forecast(tx, ids, window=WINDOW, level=90)
    spend = simulated[2]
    with pytest.raises(ArgumentError, match=r"spend_model .* pass model= too"):
        forecast(tx, ids, window=WINDOW, spend_model=spend)
    with pytest.raises(
        ArgumentError, match=r"model must be a fitted transaction model.*got BetaGeoBetaBinom"
    ):
        forecast(
            tx, ids, window=WINDOW, model=clv.BetaGeoBetaBinom(alpha=1, beta=1, gamma=1, delta=1)
        )  # type: ignore[arg-type]
    with pytest.raises(DataError, match=r"2 row\(s\) of customers repeat a customer_id"):
        forecast(tx, pl.DataFrame({"customer_id": [1, 1]}), window=WINDOW)
    with pytest.raises(DataError, match=r"the data start on 2024-01-01, not before the window"):
        forecast(tx, ids, window=(D(2023, 12, 1), D(2023, 12, 10)))
    with pytest.warns(RetailCRMWarning, match=r"the data end on 2024-02-05, 9 day\(s\) before"):
        late = forecast(tx, ids, window=(D(2024, 2, 15), D(2024, 2, 24)), history=1)
    # the window is then taken to start on Feb 6: the past window is Jan 27 - Feb 5
    assert late["baseline"].to_list()[:2] == [2.0, 2.0]
