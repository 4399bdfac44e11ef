"""The fitting machinery behind the speed: analytic Hessians, Newton's method, de-duplication."""

from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

import retailcrm.clv as clv
from retailcrm import ConvergenceError
from retailcrm.clv._base import dot, maximise
from retailcrm.clv._betageo import _log_likelihood as bg_log_likelihood
from retailcrm.clv._gammagamma import _log_likelihood as gg_log_likelihood
from retailcrm.clv._value import _distinct_pairs
from tests.test_clv_models import simulate_bg_fast


def numeric_hessian(gradient, theta: np.ndarray) -> np.ndarray:
    out = np.empty((theta.size, theta.size))
    for k in range(theta.size):
        h = 1e-6 * theta[k]
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        out[:, k] = (gradient(up) - gradient(down)) / (2 * h)
    return out


@pytest.mark.parametrize(
    "theta", [[0.3, 5.0, 0.8, 2.4], [1.3, 0.5, 1.8, 0.6], [0.05, 40.0, 3.0, 0.3]]
)
def test_bg_hessian_against_finite_differences(theta: list[float]) -> None:
    x = np.array([0.0, 1.0, 2.0, 7.0, 30.0, 3.0, 1.0])
    t_x = np.array([0.0, 1.7, 30.4, 20.0, 38.0, 38.9, 1e-6])
    T = np.array([38.9, 38.9, 38.9, 30.0, 38.5, 38.9, 2.0])
    w = np.array([3.0, 1.0, 2.0, 1.0, 1.0, 4.0, 2.0])
    th = np.array(theta)
    value, grad, hess = bg_log_likelihood(th, x, t_x, T, w, hessian=True)
    assert (value, grad.tolist()) == (
        bg_log_likelihood(th, x, t_x, T, w)[0],
        bg_log_likelihood(th, x, t_x, T, w)[1].tolist(),
    )
    numeric = numeric_hessian(lambda v: bg_log_likelihood(v, x, t_x, T, w)[1], th)
    np.testing.assert_allclose(hess, numeric, rtol=2e-6, atol=1e-6 * np.abs(numeric).max())
    np.testing.assert_array_equal(hess, hess.T)


@pytest.mark.parametrize("theta", [[6.0, 3.5, 15.0], [0.6, 1.2, 0.3]])
def test_gg_hessian_against_finite_differences(theta: list[float]) -> None:
    x = np.array([1.0, 2.0, 5.0, 40.0, 2.0])
    m = np.array([10.0, 22.5, 35.0, 18.0, 3.0])
    w = np.array([2.0, 1.0, 1.0, 3.0, 5.0])
    th = np.array(theta)
    _, _, hess = gg_log_likelihood(th, x, m, w, hessian=True)
    numeric = numeric_hessian(lambda v: gg_log_likelihood(v, x, m, w)[1], th)
    np.testing.assert_allclose(hess, numeric, rtol=2e-6, atol=1e-6 * np.abs(numeric).max())


def test_newton_and_lbfgsb_reach_the_same_optimum() -> None:
    rows = simulate_bg_fast(3000, seed=9, r=0.3, alpha=4.0, a=0.8, b=2.5)
    x, t_x, T = (rows[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    T, t_x = T / T.mean(), t_x / T.mean()
    w = np.ones_like(x)
    common = {"names": ("r", "alpha", "a", "b"), "n_customers": 3000.0, "caller": "demo"}
    start = np.zeros(4)
    for penalizer in (0.0, 0.01):
        plain = maximise(
            lambda th: bg_log_likelihood(th, x, t_x, T, w), start, penalizer=penalizer, **common
        )
        newton = maximise(
            lambda th: bg_log_likelihood(th, x, t_x, T, w),
            start,
            penalizer=penalizer,
            hessian=lambda th: bg_log_likelihood(th, x, t_x, T, w, hessian=True),
            **common,
        )
        for name in common["names"]:
            assert newton.params[name] == pytest.approx(plain.params[name], rel=1e-6), name
            se = plain.standard_errors[name]  # a central difference of the gradient
            assert newton.standard_errors[name] == pytest.approx(se, rel=1e-4), name
        assert newton.log_likelihood == pytest.approx(plain.log_likelihood, rel=1e-9)


def test_newton_falls_back_on_a_runaway_fit() -> None:
    # the data of test_clv_models' runaway case: Newton does not end cleanly, L-BFGS-B reports
    rows = pl.DataFrame(
        {
            "frequency": [0, 1, 3, 2500, 4000, 9000],
            "recency": [0.0, 1e-6, 52.0, 51.9, 0.5, 52.0],
            "T": [52.0] * 6,
            "n": [700_000, 200_000, 90_000, 6_000, 3_000, 1_000],
        }
    )
    with pytest.raises(ConvergenceError, match=r"keeps rising as alpha -> 0 .*penalizer=0.001"):
        clv.BetaGeo.fit(rows, unit="1w", weights="n")


def test_dot_and_distinct_pairs() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random(10_001), rng.random(10_001)
    assert dot(a, b) == pytest.approx(float(a @ b), rel=1e-13)
    x = rng.integers(0, 5, 1000).astype(float)
    T = rng.choice([10.0, 20.5, 31.0], 1000)
    px, pT, where = _distinct_pairs(x, T)
    assert len(set(zip(px, pT, strict=True))) == px.size <= 15
    np.testing.assert_array_equal(px[where], x)
    np.testing.assert_array_equal(pT[where], T)
    empty = _distinct_pairs(np.zeros(0), np.zeros(0))
    assert empty[2].size == 0


@pytest.mark.parametrize(
    "model",
    [
        clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w"),
        clv.ParetoNBD(r=0.5533, alpha=10.5780, s=0.6061, beta=11.6673, unit="1w"),
        clv.ModifiedBetaGeo(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="1w"),
    ],
    ids=["bg", "pareto", "mbg"],
)
def test_lifetime_value_equals_the_plain_sum(model: clv.BetaGeo) -> None:
    # CLV = spend * sum_k (E[Y(k u)] - E[Y((k-1) u)]) / (1 + d)^k, from expected_purchases
    rows = simulate_bg_fast(400, seed=2, r=0.3, alpha=4.0, a=0.8, b=2.5).with_columns(
        T=pl.col("T") - pl.col("customer_id") % 3, monetary_value=pl.lit(20.0)
    )
    rows = rows.with_columns(recency=pl.min_horizontal("recency", "T"))
    spend = clv.GammaGamma(p=6.25, q=3.74, v=15.44)
    out = clv.lifetime_value(model, spend, rows, horizon=6, unit="1mo", discount_rate=0.02)
    u = 365.2425 / 12 / 7
    cumulative = [np.zeros(rows.height)] + [
        model.expected_purchases(rows, k * u)["expected_purchases"].to_numpy() for k in range(1, 7)
    ]
    plain = sum((cumulative[k] - cumulative[k - 1]) / 1.02**k for k in range(1, 7))
    expected_spend = spend.expected_spend(rows)["expected_spend"].to_numpy()
    np.testing.assert_allclose(out["clv"].to_numpy(), plain * expected_spend, rtol=1e-12)
    np.testing.assert_allclose(out["expected_purchases"].to_numpy(), cumulative[-1], rtol=1e-12)
    assert math.isfinite(float(out["clv"].sum()))


@pytest.mark.parametrize(
    ("r", "alpha", "a", "b", "t"),
    [
        (0.74, 40.0, 0.79, 3.4, 39.0),  # ordinary: the closed form
        (99.5, 2.0, 0.5, 99.5, 500.0),  # r - a an integer, z near 1: SciPy's hyp2f1 gives inf
        (1.0, 2.0, 0.5, 0.5, 500.0),  # c = a + b - 1 = 0
        (0.5 + 1e-9, 40.0, 0.5, 3.0, 2000.0),  # r - a just off an integer
        (0.3, 4.0, 1.0, 2.5, 52.0),  # a = 1: the closed form is 0 / 0
        (2.5, 10.0, 0.5, 3.0, 1e4),
    ],
)
def test_beta_geometric_expectation_against_mpmath(
    r: float, alpha: float, a: float, b: float, t: float
) -> None:
    import mpmath as mp

    from retailcrm.clv._betageo import beta_geometric_expected

    def integrand(p: mp.mpf) -> mp.mpf:  # E[purchases | p] times the Beta(a, b) kernel
        return (1 - (1 + p * t / alpha) ** (-r)) / p * p ** (a - 1) * (1 - p) ** (b - 1)

    with mp.workdps(30):
        ref = mp.quad(integrand, [0, mp.mpf(1) / 1000, mp.mpf(1) / 10, 1]) / mp.beta(a, b)
    got = beta_geometric_expected(r, alpha, a, b, t)
    assert float(got) == pytest.approx(float(ref), rel=1e-10)


def test_beta_geometric_expectation_heavy_buyers_and_u_shaped_beta() -> None:
    # QAWS's moments overflow for large b; a U-shaped Beta has singularities at both ends. The
    # reference is the closed form in mpmath, checked at twice the precision (mpmath's own
    # quadrature is not reliable for these integrands)
    import mpmath as mp

    from retailcrm.clv._betageo import beta_geometric_expected

    def closed(r: float, alpha: float, a: float, b: float, t: float, dps: int) -> mp.mpf:
        with mp.workdps(dps):
            z = mp.mpf(t) / (alpha + t)
            c = mp.mpf(a) + b - 1
            return c / (a - 1) * (1 - (1 - z) ** (a - 1) * mp.hyp2f1(c - r, a - 1, c, z))

    for r, alpha, a, b, t in [(1016.0, 2.0, 2.0, 1021.0, 500.0), (0.05, 1.0, 0.05, 0.05, 500.0)]:
        ref = closed(r, alpha, a, b, t, 60)
        assert abs(ref / closed(r, alpha, a, b, t, 120) - 1) < 1e-30
        assert float(beta_geometric_expected(r, alpha, a, b, t)) == pytest.approx(
            float(ref), rel=1e-10
        )
