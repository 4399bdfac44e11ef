"""ModifiedBetaGeo (MBG/NBD): likelihood, gradient, fits and predictions against plain formulas."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import mpmath as mp
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from scipy.special import betaln, gammaln

import retailcrm.clv as clv
from retailcrm import ColumnError, DataError
from retailcrm.clv._betageo import _by_frequency
from retailcrm.clv._modified import _log_likelihood

CDNOW_MBG = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}  # lifetimes' fit on CDNOW


def simulate_mbg(n: int, seed: int, *, r=0.5, alpha=6.0, a=0.9, b=1.6, T=52.0) -> pl.DataFrame:
    """MBG/NBD histories: J ~ Geometric(p) - 1 purchases allowed (a drop-out is possible at the
    first purchase), x = min(Poisson(lambda T), J), the x-th of the Poisson events at T times a
    Beta(x, events - x + 1) draw; recency in whole days."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    events = rng.poisson(lam * T)
    x = np.minimum(events, rng.geometric(p) - 1)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(events - x, 0) + 1), 0.0)
    t_x = np.floor(t_x * 7) / 7
    return pl.DataFrame({"customer_id": np.arange(n), "frequency": x, "recency": t_x, "T": T})


def plain_loglik(r, alpha, a, b, x, t_x, T) -> float:
    total = 0.0
    for xi, ti, Ti in zip(x, t_x, T, strict=True):
        common = gammaln(r + xi) - gammaln(r) + r * math.log(alpha)
        first = math.exp(
            betaln(a, b + xi + 1) - betaln(a, b) + common - (r + xi) * math.log(alpha + Ti)
        )
        second = math.exp(
            betaln(a + 1, b + xi) - betaln(a, b) + common - (r + xi) * math.log(alpha + ti)
        )
        total += math.log(first + second)
    return total


def test_loglik_and_gradient() -> None:
    x = np.array([0.0, 1.0, 2.0, 7.0, 30.0])
    t_x = np.array([0.0, 1.7, 30.4, 20.0, 38.0])
    T = np.array([38.9, 38.9, 38.9, 30.0, 38.5])
    w = np.array([3.0, 1.0, 2.0, 1.0, 1.0])
    theta = np.array([0.3, 5.0, 0.8, 2.4])
    value, grad = _log_likelihood(theta, x, t_x, T, w, _by_frequency(x, w))
    expanded = [np.repeat(v, w.astype(int)) for v in (x, t_x, T)]
    assert value == pytest.approx(plain_loglik(*theta, *expanded), rel=1e-12)
    for k in range(4):
        h = 1e-6 * theta[k]
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (
            _log_likelihood(up, x, t_x, T, w, _by_frequency(x, w))[0]
            - _log_likelihood(down, x, t_x, T, w, _by_frequency(x, w))[0]
        ) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-6, abs=1e-8), k


def test_fit_recovers_simulation_and_is_order_free() -> None:
    sample = simulate_mbg(3000, seed=2)
    model = clv.ModifiedBetaGeo.fit(sample, unit="1w")
    assert model.n_customers == 3000
    truth = {"r": 0.5, "alpha": 6.0, "a": 0.9, "b": 1.6}
    for name, value in model.params.items():
        assert abs(value - truth[name]) < 3 * model.standard_errors[name], name
    small = sample.head(500)
    grouped = small.group_by("frequency", "recency", "T").agg(
        n=pl.len(), customer_id=pl.first("customer_id")
    )
    expanded = clv.ModifiedBetaGeo.fit(small, unit="1w")
    for other in (
        clv.ModifiedBetaGeo.fit(grouped, unit="1w", weights="n"),
        clv.ModifiedBetaGeo.fit(small.sample(fraction=1.0, shuffle=True, seed=4).lazy(), unit="1w"),
    ):
        assert other.params == expanded.params
        assert other.log_likelihood == expanded.log_likelihood


def mp_expected(params: dict[str, float], x: int, t_x: float, T: float, t: float) -> float:
    """The conditional expectation without Euler's transformation, at 60 digits (checked at 120:
    mpmath's hyp2f1 needs the headroom for large parameters)."""

    def at(dps: int) -> mp.mpf:
        with mp.workdps(dps):
            r, alpha, a, b = (mp.mpf(params[k]) for k in ("r", "alpha", "a", "b"))
            t_x_, T_, t_ = mp.mpf(t_x), mp.mpf(T), mp.mpf(t)
            z = t_ / (alpha + T_ + t_)
            bracket = 1 - ((alpha + T_) / (alpha + T_ + t_)) ** (r + x) * mp.hyp2f1(
                r + x, b + x + 1, a + b + x, z
            )
            alive = 1 / (1 + a / (b + x) * ((alpha + T_) / (alpha + t_x_)) ** (r + x))
            return (a + b + x) / (a - 1) * bracket * alive

    ref = at(60)
    assert abs(ref / at(120) - 1) < 1e-25
    return float(ref)


def test_predictions_against_paper_formulas_and_heavy_buyers() -> None:
    # lifetimes' ModifiedBetaGeoFitter returns NaN for the expectations of the last three rows
    model = clv.ModifiedBetaGeo(**CDNOW_MBG, unit="1w")
    rows = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5, 6],
            "frequency": [0, 2, 6, 3000, 3000, 5000],
            "recency": [0.0, 30.43, 20.0, 38.86, 30.0, 38.0],
            "T": [38.86] * 6,
        }
    )
    out = model.predict(rows, horizon=39)
    r, alpha, a, b = CDNOW_MBG.values()
    for (x, t_x, T), (_, p, churn, e) in zip(
        rows.select("frequency", "recency", "T").rows(), out.rows(), strict=True
    ):
        log_odds = math.log(a / (b + x)) + (r + x) * math.log((alpha + T) / (alpha + t_x))
        assert p == pytest.approx(1 / (1 + math.exp(log_odds)), rel=1e-10, abs=1e-300)
        assert churn == pytest.approx(1 - p, rel=1e-12)
        assert e == pytest.approx(mp_expected(CDNOW_MBG, x, t_x, T, 39.0), rel=1e-10, abs=1e-300)
    # a new customer: b / (a - 1) [1 - (alpha / (alpha + t))^r 2F1(r, b + 1; a + b; t / (alpha + t))]
    with mp.workdps(40):
        z = mp.mpf(26) / (alpha + 26)
        paper = b / (a - 1) * (1 - (alpha / (alpha + 26)) ** r * mp.hyp2f1(r, b + 1, a + b, z))
    new = model.expected_purchases_new("26w")
    assert new["expected_purchases"].item() == pytest.approx(float(paper), rel=1e-12)


def test_bad_input() -> None:
    rows = simulate_mbg(20, seed=1)
    with pytest.raises(ColumnError, match=r"clv.ModifiedBetaGeo.fit: missing column\(s\) \['T'\]"):
        clv.ModifiedBetaGeo.fit(rows.drop("T"), unit="1w")
    bad = rows.with_columns(recency=pl.col("T") + 1)
    with pytest.raises(
        DataError, match=r"clv.ModifiedBetaGeo.predict: \d+ row\(s\) have recency > T"
    ):
        clv.ModifiedBetaGeo(**CDNOW_MBG, unit="1w").predict(bad, horizon=1)
    with pytest.raises(DataError, match=r"no customer has a repeat purchase"):
        clv.ModifiedBetaGeo.fit(rows.with_columns(frequency=0, recency=0.0), unit="1w")


def test_units_and_laziness() -> None:
    sample = simulate_mbg(200, seed=8)
    weekly = clv.ModifiedBetaGeo(**CDNOW_MBG, unit="1w")
    daily = clv.ModifiedBetaGeo(**(CDNOW_MBG | {"alpha": CDNOW_MBG["alpha"] * 7}), unit="1d")
    in_days = sample.with_columns(pl.col("recency") * 7, pl.col("T") * 7)
    assert_frame_equal(weekly.predict(sample, "90d"), daily.predict(in_days, "90d"), rel_tol=1e-9)
    lazy = weekly.predict(sample.lazy(), 4)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), weekly.predict(sample, 4))


histories = st.tuples(st.integers(0, 5000), st.floats(0.0, 1.0), st.floats(0.01, 500.0)).map(
    lambda h: (h[0], 0.0 if h[0] == 0 else h[1] * h[2], h[2])
)
params = st.fixed_dictionaries(
    {
        "r": st.floats(0.01, 50.0),
        "alpha": st.floats(0.01, 500.0),
        "a": st.floats(0.05, 20.0).filter(lambda v: abs(v - 1) > 1e-3),
        "b": st.floats(0.05, 20.0),
    }
)


@settings(max_examples=50, deadline=None)
@given(p=params, rows=st.lists(histories, min_size=1, max_size=8))
def test_p_alive_bounded_and_expectation_monotone(p: dict[str, float], rows: list) -> None:
    model = clv.ModifiedBetaGeo(**p, unit="1w")
    frame = pl.DataFrame(rows, schema=["frequency", "recency", "T"], orient="row").with_columns(
        customer_id=pl.int_range(pl.len())
    )
    alive = model.p_alive(frame)["p_alive"]
    assert ((alive >= 0) & (alive <= 1)).all()
    previous = np.zeros(frame.height)
    for t in (0.5, 5.0, 50.0, 500.0):
        now = model.expected_purchases(frame, t)["expected_purchases"].to_numpy()
        assert np.all(np.isfinite(now))
        assert np.all(now >= previous * (1 - 1e-9) - 1e-12)
        previous = now
