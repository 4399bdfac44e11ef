from __future__ import annotations

import dataclasses
import math

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from scipy.special import betaln, gammaln, hyp2f1

import retailcrm.clv as clv
from retailcrm import (
    ArgumentError,
    ColumnError,
    ConvergenceError,
    DataError,
    RetailCRMWarning,
)
from retailcrm.clv._base import maximise
from retailcrm.clv._betageo import _log_likelihood as bg_log_likelihood
from retailcrm.clv._gammagamma import _log_likelihood as gg_log_likelihood

CDNOW_BG = {"r": 0.2426, "alpha": 4.4135, "a": 0.7930, "b": 2.4259}


def simulate_bg(n: int, seed: int, *, r=0.25, alpha=4.0, a=0.8, b=2.5, T=52.0) -> pl.DataFrame:
    """BG/NBD histories drawn from the model's own story (whole days in weeks)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:
                break
    t_x = np.floor(t_x * 7) / 7
    return pl.DataFrame(
        {"customer_id": np.arange(n), "frequency": x.astype(np.int64), "recency": t_x, "T": T}
    )


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return simulate_bg(1500, seed=7)


# --------------------------------------------------------------------------------- likelihoods


def plain_bg_loglik(r: float, alpha: float, a: float, b: float, x, t_x, T) -> float:
    total = 0.0
    for xi, ti, Ti in zip(x, t_x, T, strict=True):
        first = math.exp(
            betaln(a, b + xi)
            - betaln(a, b)
            + gammaln(r + xi)
            - gammaln(r)
            + r * math.log(alpha)
            - (r + xi) * math.log(alpha + Ti)
        )
        second = 0.0
        if xi > 0:
            second = math.exp(
                betaln(a + 1, b + xi - 1)
                - betaln(a, b)
                + gammaln(r + xi)
                - gammaln(r)
                + r * math.log(alpha)
                - (r + xi) * math.log(alpha + ti)
            )
        total += math.log(first + second)
    return total


def test_bg_loglik_and_gradient() -> None:
    x = np.array([0.0, 1.0, 2.0, 7.0, 30.0])
    t_x = np.array([0.0, 1.7, 30.4, 20.0, 38.0])
    T = np.array([38.9, 38.9, 38.9, 30.0, 38.5])
    w = np.array([3.0, 1.0, 2.0, 1.0, 1.0])
    theta = np.array([0.3, 5.0, 0.8, 2.4])
    value, grad = bg_log_likelihood(theta, x, t_x, T, w)
    plain = plain_bg_loglik(
        *theta,
        np.repeat(x, w.astype(int)),
        np.repeat(t_x, w.astype(int)),
        np.repeat(T, w.astype(int)),
    )
    assert value == pytest.approx(plain, rel=1e-12)
    for k in range(4):
        h = 1e-6 * theta[k]
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (
            bg_log_likelihood(up, x, t_x, T, w)[0] - bg_log_likelihood(down, x, t_x, T, w)[0]
        ) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-6, abs=1e-8)


def test_gg_gradient() -> None:
    x = np.array([1.0, 2.0, 5.0, 40.0])
    m = np.array([10.0, 22.5, 35.0, 18.0])
    w = np.array([2.0, 1.0, 1.0, 3.0])
    theta = np.array([6.0, 3.5, 15.0])
    _, grad = gg_log_likelihood(theta, x, m, w)
    for k in range(3):
        h = 1e-6 * theta[k]
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (gg_log_likelihood(up, x, m, w)[0] - gg_log_likelihood(down, x, m, w)[0]) / (
            2 * h
        )
        assert grad[k] == pytest.approx(numeric, rel=1e-6)


# ----------------------------------------------------------------------------------- BG/NBD fit


def test_fit_recovers_simulation_and_reports(sample: pl.DataFrame) -> None:
    model = clv.BetaGeo.fit(sample, unit="1w")
    assert model.n_customers == 1500
    assert model.unit == "1w"
    truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    for name, value in model.params.items():  # within 3 standard errors of the truth
        assert abs(value - truth[name]) < 3 * model.standard_errors[name], name
    assert model.aic == pytest.approx(8 - 2 * model.log_likelihood)
    assert model.bic == pytest.approx(4 * math.log(1500) - 2 * model.log_likelihood)
    table = model.summary()
    assert table.columns == ["param", "estimate", "std_error"]
    assert table["param"].to_list() == ["r", "alpha", "a", "b"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.r = 1.0  # type: ignore[misc]


def test_weighted_fit_equals_expanded_and_order_free(sample: pl.DataFrame) -> None:
    small = sample.head(400)
    grouped = small.group_by("frequency", "recency", "T").agg(
        n=pl.len(), customer_id=pl.first("customer_id")
    )
    assert grouped.height < small.height
    expanded = clv.BetaGeo.fit(small, unit="1w")
    weighted = clv.BetaGeo.fit(grouped, unit="1w", weights="n")
    shuffled = clv.BetaGeo.fit(small.sample(fraction=1.0, shuffle=True, seed=3).lazy(), unit="1w")
    for other in (weighted, shuffled):
        assert other.params == expanded.params  # identical compressed input: identical fit
        assert other.log_likelihood == expanded.log_likelihood
        assert other.n_customers == 400


def simulate_bg_fast(n: int, seed: int, *, r, alpha, a, b, T=52.0) -> pl.DataFrame:
    """BG/NBD histories, vectorised: x = min(Poisson(lambda T), Geometric(p)) purchases, the
    x-th at T times the x-th of N uniform order statistics (a Beta(x, N - x + 1) draw)."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    events = rng.poisson(lam * T)
    x = np.minimum(events, rng.geometric(p))
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(events - x, 0) + 1), 0.0)
    return pl.DataFrame({"customer_id": np.arange(n), "frequency": x, "recency": t_x, "T": T})


def test_extreme_case_stays_finite() -> None:
    # a million customers (20,000 histories x 50), frequencies in the thousands, recency near
    # 0 and near T; any RuntimeWarning fails the test (warnings are errors)
    rows = simulate_bg_fast(20_000, seed=3, r=2.0, alpha=0.05, a=0.5, b=300.0)
    rows = rows.with_columns(
        recency=pl.when(pl.col("frequency") == 1)  # a repeat purchase within a second
        .then(pl.col("recency").clip(upper_bound=2e-6))
        .otherwise(pl.col("recency")),
        n=pl.lit(50),
    )
    assert rows["frequency"].max() > 3000
    model = clv.BetaGeo.fit(rows, unit="1w", weights="n")
    assert model.n_customers == 1_000_000
    assert all(math.isfinite(v) for v in model.params.values())
    assert all(math.isfinite(v) for v in model.standard_errors.values())
    assert math.isfinite(model.log_likelihood)
    out = model.predict(rows, horizon=52)
    assert out["p_alive"].is_finite().all()
    assert out["expected_purchases"].is_finite().all()
    heavy = out.filter(pl.col("customer_id") == rows["frequency"].arg_max())
    assert heavy["expected_purchases"].item() > 1000


def test_runaway_parameter_is_a_convergence_error() -> None:
    # 70% never return, the rest buy thousands of times: the rate distribution wants alpha -> 0
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


def test_no_heterogeneity_is_a_convergence_error() -> None:
    same = pl.DataFrame({"frequency": [5] * 50, "recency": [50.0] * 50, "T": [52.0] * 50})
    with pytest.raises(ConvergenceError, match=r"clv.BetaGeo.fit did not converge: .*-> "):
        clv.BetaGeo.fit(same, unit="1w")


def test_singular_hessian_warns_and_gives_nan() -> None:
    def flat_in_second(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return -((theta[0] - 2.0) ** 2), np.array([-2 * (theta[0] - 2.0), 0.0])

    with pytest.warns(RetailCRMWarning, match=r"demo: the Hessian .* singular"):
        result = maximise(
            flat_in_second, np.zeros(2), names=("u", "v"), n_customers=1, penalizer=0, caller="demo"
        )
    assert result.params["u"] == pytest.approx(2.0, rel=1e-6)
    assert all(math.isnan(v) for v in result.standard_errors.values())


def test_penalizer_shrinks() -> None:
    sample = simulate_bg(300, seed=11)
    plain = clv.BetaGeo.fit(sample, unit="1w")
    shrunk = clv.BetaGeo.fit(sample, unit="1w", penalizer=0.1)
    assert sum(v**2 for v in shrunk.params.values()) < sum(v**2 for v in plain.params.values())
    assert shrunk.log_likelihood < plain.log_likelihood


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"frequency": -1}, DataError, r"have a negative frequency, e.g. \{'customer_id': 0"),
        ({"recency": float("nan")}, DataError, r"have a null, NaN or infinite recency"),
        ({"T": float("inf")}, DataError, r"have a null, NaN or infinite T"),
        ({"recency": 60.0}, DataError, r"have recency > T, e.g. .*clv.summary\(\)"),
        ({"frequency": 0, "recency": 3.0}, DataError, r"have frequency 0 with recency > 0"),
        ({"frequency": 1.5}, DataError, r"have a frequency that is not a whole number"),
    ],
)
def test_bad_rows(change: dict[str, float], error: type[Exception], message: str) -> None:
    rows = simulate_bg(20, seed=1).with_columns(pl.col("frequency").cast(pl.Float64))
    bad = rows.with_columns(
        **{
            k: pl.when(pl.col("customer_id") == 0).then(pl.lit(v)).otherwise(pl.col(k))
            for k, v in change.items()
        }
    )
    with pytest.raises(error, match=r"clv.BetaGeo.fit: 1 row\(s\) " + message):
        clv.BetaGeo.fit(bad, unit="1w")
    with pytest.raises(error, match=r"clv.BetaGeo.p_alive: 1 row\(s\) " + message):
        clv.BetaGeo(**CDNOW_BG, unit="1w").p_alive(bad)


def test_bad_calls() -> None:
    rows = simulate_bg(20, seed=1)
    with pytest.raises(ColumnError, match=r"clv.BetaGeo.fit: missing column\(s\) \['T'\]"):
        clv.BetaGeo.fit(rows.drop("T"), unit="1w")
    with pytest.raises(
        DataError,
        match=r"clv.BetaGeo.fit: 4 customer\(s\) is too few to fit 4 parameters; need at least 5",
    ):
        clv.BetaGeo.fit(rows.head(4), unit="1w")
    with pytest.raises(DataError, match=r"no customer has a repeat purchase"):
        clv.BetaGeo.fit(rows.filter(pl.col("frequency") == 0), unit="1w")
    with pytest.raises(ArgumentError, match=r"clv.BetaGeo.fit: period must be"):
        clv.BetaGeo.fit(rows, unit="weeks")
    with pytest.raises(TypeError, match=r"unit"):
        clv.BetaGeo.fit(rows)  # type: ignore[call-arg]
    with pytest.raises(ArgumentError, match=r"penalizer must be a finite number >= 0; got -1"):
        clv.BetaGeo.fit(rows, unit="1w", penalizer=-1)
    with pytest.raises(DataError, match=r"have a weight \('n'\) that is not a whole number >= 0"):
        clv.BetaGeo.fit(rows.with_columns(n=pl.lit(-1)), unit="1w", weights="n")
    with pytest.raises(
        ArgumentError, match=r"clv.BetaGeo: parameter a must be a finite number > 0; got -0.5"
    ):
        clv.BetaGeo(r=0.2, alpha=4.0, a=-0.5, b=2.0, unit="1w")
    model = clv.BetaGeo(**CDNOW_BG, unit="1w")
    with pytest.raises(ArgumentError, match=r"t must be a number \(in the model's unit, '1w'\)"):
        model.expected_purchases(rows, t=None)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"t must be a finite number >= 0; got -1"):
        model.expected_purchases(rows, t=-1)


# ------------------------------------------------------------------------------ BG/NBD predictions


def test_predictions_against_plain_formulas() -> None:
    r, alpha, a, b = CDNOW_BG.values()
    model = clv.BetaGeo(**CDNOW_BG, unit="1w")
    rows = pl.DataFrame(
        {
            "customer_id": [1, 2, 3],
            "frequency": [0, 2, 6],
            "recency": [0.0, 30.43, 20.0],
            "T": [38.86, 38.86, 38.86],
        }
    )
    out = model.predict(rows, horizon=39)
    for (x, t_x, T), (_, p, churn, e) in zip(
        rows.select("frequency", "recency", "T").rows(), out.rows(), strict=True
    ):
        odds = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0.0
        assert p == pytest.approx(1 / (1 + odds), rel=1e-12)
        assert churn == pytest.approx(1 - p, rel=1e-12)
        # the paper's equation (10), without Euler's transformation
        z = 39 / (alpha + T + 39)
        paper = (
            (a + b + x - 1)
            / (a - 1)
            * (
                1
                - ((alpha + T) / (alpha + T + 39)) ** (r + x)
                * hyp2f1(r + x, b + x, a + b + x - 1, z)
            )
            / (1 + odds)
        )
        assert e == pytest.approx(paper, rel=1e-10)
    new = model.expected_purchases_new([1.0, "26w"])
    z = 26 / (alpha + 26)
    paper_new = (
        (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + 26)) ** r * hyp2f1(r, b, a + b - 1, z))
    )
    assert new["t"].to_list() == [1.0, 26.0]
    assert new["expected_purchases"][1] == pytest.approx(paper_new, rel=1e-10)


def test_units_are_converted_not_assumed(sample: pl.DataFrame) -> None:
    weekly = clv.BetaGeo(**CDNOW_BG, unit="1w")
    daily = clv.BetaGeo(**(CDNOW_BG | {"alpha": CDNOW_BG["alpha"] * 7}), unit="1d")
    in_days = sample.with_columns(pl.col("recency") * 7, pl.col("T") * 7)
    week_view = weekly.predict(sample, horizon="1mo")
    day_view = daily.predict(in_days, horizon="1mo")
    assert_frame_equal(week_view, day_view, rel_tol=1e-9)
    assert_frame_equal(
        weekly.expected_purchases(sample, "14d"), weekly.expected_purchases(sample, 2.0)
    )
    lazy = weekly.p_alive(sample.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), weekly.p_alive(sample))


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


@settings(max_examples=60, deadline=None)
@given(p=params, rows=st.lists(histories, min_size=1, max_size=8))
def test_p_alive_bounded_and_expectation_monotone(p: dict[str, float], rows: list) -> None:
    model = clv.BetaGeo(**p, unit="1w")
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


# ----------------------------------------------------------------------------- Gamma-Gamma


def test_gamma_gamma_fit_and_spend() -> None:
    rng = np.random.default_rng(5)
    n = 2000
    x = rng.integers(0, 10, n)
    nu = rng.gamma(3.5, 1 / 15.0, n)  # q=3.5, v=15 (rate)
    zbar = np.array(
        [rng.gamma(6.0, 1 / nu_i, k).mean() if k else 0.0 for k, nu_i in zip(x, nu, strict=True)]
    )
    rows = pl.DataFrame({"customer_id": np.arange(n), "frequency": x, "monetary_value": zbar})
    model = clv.GammaGamma.fit(rows)
    assert model.n_customers == int((x > 0).sum())
    assert model.n_excluded == int((x == 0).sum())
    truth = {"p": 6.0, "q": 3.5, "v": 15.0}
    for name, value in model.params.items():
        assert abs(value - truth[name]) < 3 * model.standard_errors[name], name
    spend = model.expected_spend(rows)
    p, q, v = model.p, model.q, model.v
    expected = p * (v + x * zbar) / (p * x + q - 1)
    np.testing.assert_allclose(spend["expected_spend"].to_numpy(), expected, rtol=1e-12)
    assert spend["expected_spend"][int(np.argmin(x))] == pytest.approx(p * v / (q - 1))


def test_gamma_gamma_errors() -> None:
    rows = pl.DataFrame({"customer_id": [1, 2], "frequency": [2, 1], "monetary_value": [5.0, 0.0]})
    with pytest.raises(
        DataError,
        match=r"clv.GammaGamma.fit: 1 row\(s\) have frequency > 0 but monetary_value <= 0",
    ):
        clv.GammaGamma.fit(rows)
    ok = rows.with_columns(monetary_value=pl.lit(5.0))
    with pytest.raises(DataError, match=r"clv.GammaGamma.fit: 2 customer\(s\) is too few to fit 3"):
        clv.GammaGamma.fit(ok)
    with pytest.raises(
        ArgumentError, match=r"q = 0.9 <= 1, so the mean spend per purchase is infinite"
    ):
        clv.GammaGamma(p=6.0, q=0.9, v=15.0).expected_spend(ok)
