"""ParetoNBD: the hypergeometric kernel and the likelihood against mpmath, fits, predictions."""

from __future__ import annotations

import dataclasses
import math

import hypothesis.strategies as st
import mpmath as mp
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal

import retailcrm.clv as clv
from retailcrm import ArgumentError, ColumnError, ConvergenceError, DataError
from retailcrm.clv._pareto import _fit_data, _log_likelihood, log_h

CDNOW = {"r": 0.5533, "alpha": 10.5780, "s": 0.6061, "beta": 11.6673}


def simulate_pareto(
    n: int, seed: int, *, r=0.55, alpha=10.6, s=0.61, beta=11.7, T_max=104.0
) -> pl.DataFrame:
    """Pareto/NBD histories from the model's story, in weeks of whole days: T uniform over
    [1 day, T_max], lifetime Exp(mu), x ~ Poisson(lambda * min(lifetime, T)), the last purchase
    the largest of x uniform times on (0, min(lifetime, T))."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    mu = rng.gamma(s, 1 / beta, n)
    T = np.ceil(rng.uniform(0, T_max * 7, n)) / 7
    span = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * span)
    t_x = np.where(x > 0, np.floor(span * rng.beta(np.maximum(x, 1), 1) * 7) / 7, 0.0)
    return pl.DataFrame({"customer_id": np.arange(n), "frequency": x, "recency": t_x, "T": T})


@pytest.fixture(scope="module")
def sample() -> pl.DataFrame:
    return simulate_pareto(4000, seed=5)


# ------------------------------------------------------------------------------ mpmath oracles


def mp_hyp(b1: float, b2: float, z: float, dps: int) -> mp.mpf:
    with mp.workdps(dps):
        return mp.hyp2f1(1, mp.mpf(b1), mp.mpf(b1) + mp.mpf(b2), mp.mpf(z))


def mp_pareto(params: dict[str, float], x: int, t_x: float, T: float) -> tuple[float, float]:
    """Log-likelihood and P(alive) from the integral over the moment of death, by quadrature."""
    with mp.workdps(30):
        r, alpha, s, beta = (mp.mpf(params[k]) for k in ("r", "alpha", "s", "beta"))
        t_x, T = mp.mpf(t_x), mp.mpf(T)
        p = r + x
        alive = (alpha + T) ** -p * (beta + T) ** -s
        die = mp.mpf(0)
        if t_x < T:
            width = 1 / (p / (alpha + t_x) + (s + 1) / (beta + t_x))  # decay scale at t_x
            cuts = [t_x + width * 2**k for k in range(-3, 200) if t_x + width * 2**k < T]
            die = s * mp.quad(lambda u: (alpha + u) ** -p * (beta + u) ** -(s + 1), [t_x, *cuts, T])
        total = alive + die
        ll = mp.loggamma(p) - mp.loggamma(r) + r * mp.log(alpha) + s * mp.log(beta) + mp.log(total)
        return float(ll), float(alive / total)


# ------------------------------------------------------------------------------ the kernel


@pytest.mark.parametrize("b1", [0.05, 0.7, 250.0, 5000.0])
@pytest.mark.parametrize("b2", [1.0001, 1.6, 25.0])
@pytest.mark.parametrize("z", [0.0, 0.3, 0.95, 0.99999])
def test_log_h_against_mpmath(b1: float, b2: float, z: float) -> None:
    # mpmath's own hyp2f1 can be wrong for large parameters (e.g. b1=1113, b2=559, z=0.887
    # at 40-80 digits), so each reference is checked against one at twice the precision
    ref = mp_hyp(b1, b2, z, 50)
    assert abs(ref / mp_hyp(b1, b2, z, 100) - 1) < 1e-30
    value, d1, d2, dz = log_h(np.array([b1]), np.array([b2]), np.array([z]), grad=True)
    assert value[0] == pytest.approx(float(mp.log(ref)), rel=1e-12, abs=1e-14)
    # derivatives against central differences of the value alone
    for k, (got, step) in enumerate(((d1, 1e-6 * b1), (d2, 1e-6 * b2), (dz, 1e-4 * (1 - z)))):
        if k == 2 and z == 0.0:
            continue
        args = [np.array([b1]), np.array([b2]), np.array([z])]
        up = [a.copy() for a in args]
        down = [a.copy() for a in args]
        up[k] += step
        down[k] -= step
        numeric = (log_h(*up)[0][0] - log_h(*down)[0][0]) / (2 * step)
        assert got[0] == pytest.approx(numeric, rel=2e-5, abs=1e-9), k


def test_log_h_shapes_and_closed_form() -> None:
    # 2F1(1, 1; 2; z) = -log(1 - z) / z, and the value at z = 0 is 1
    z = np.array([[0.0, 0.5], [0.9, 0.999]])
    (value,) = log_h(np.ones_like(z), np.ones_like(z), z)
    expected = np.log(np.where(z > 0, -np.log1p(-z) / np.where(z > 0, z, 1.0), 1.0))
    np.testing.assert_allclose(value, expected, rtol=1e-13, atol=1e-15)
    assert value.shape == (2, 2)


# ------------------------------------------------------------------------------ the likelihood


HISTORIES = [  # (x, t_x, T): ordinary, recency near 0 and near T, heavy buyers
    (0, 0.0, 38.86),
    (1, 1e-6, 38.86),
    (2, 30.43, 38.86),
    (7, 38.86, 38.86),
    (50, 37.0, 38.0),
    (300, 38.8, 38.86),
    (3000, 38.86, 38.86),
    (3000, 0.01, 38.86),
    (5000, 5.0, 52.0),
]


@pytest.mark.parametrize(
    "params",
    [CDNOW, {"r": 0.5533, "alpha": 11.6673, "s": 0.6061, "beta": 10.5780}],
    ids=["alpha<beta", "alpha>beta"],
)
def test_log_likelihood_and_p_alive_against_mpmath(params: dict[str, float]) -> None:
    x, t_x, T = (np.array(v, dtype=float) for v in zip(*HISTORIES, strict=True))
    w = np.ones_like(x)
    theta = np.array([params[k] for k in ("r", "alpha", "s", "beta")])
    model = clv.ParetoNBD(**params, unit="1w")
    alive = model._p_alive_np(x, t_x, T)
    for i, (xi, ti, Ti) in enumerate(HISTORIES):
        ll_ref, alive_ref = mp_pareto(params, xi, ti, Ti)
        one = _fit_data(x[i : i + 1], t_x[i : i + 1], T[i : i + 1], w[i : i + 1])
        ll, _ = _log_likelihood(theta, one)
        assert ll == pytest.approx(ll_ref, rel=1e-11, abs=1e-11), HISTORIES[i]
        assert alive[i] == pytest.approx(alive_ref, rel=1e-9, abs=1e-300), HISTORIES[i]
    total, _ = _log_likelihood(theta, _fit_data(x, t_x, T, w))
    assert math.isfinite(total)


def test_gradient_against_finite_differences(sample: pl.DataFrame) -> None:
    rows = sample.head(300)
    x, t_x, T = (rows[c].to_numpy().astype(float) for c in ("frequency", "recency", "T"))
    data = _fit_data(x, t_x / 52, T / 52, np.ones_like(x))
    for theta in (np.array([0.5, 0.2, 0.6, 0.22]), np.array([1.3, 0.4, 0.3, 0.1])):
        _, grad = _log_likelihood(theta, data)
        for k in range(4):
            h = 1e-6 * theta[k]
            up, down = theta.copy(), theta.copy()
            up[k] += h
            down[k] -= h
            numeric = (_log_likelihood(up, data)[0] - _log_likelihood(down, data)[0]) / (2 * h)
            assert grad[k] == pytest.approx(numeric, rel=1e-6), k


# ------------------------------------------------------------------------------ fits


def test_fit_recovers_simulation_and_reports(sample: pl.DataFrame) -> None:
    model = clv.ParetoNBD.fit(sample, unit="1w")
    assert model.n_customers == 4000
    assert model.unit == "1w"
    truth = {"r": 0.55, "alpha": 10.6, "s": 0.61, "beta": 11.7}
    for name, value in model.params.items():  # within 3 standard errors of the truth
        assert abs(value - truth[name]) < 3 * model.standard_errors[name], name
    assert model.aic == pytest.approx(8 - 2 * model.log_likelihood)
    assert model.summary()["param"].to_list() == ["r", "alpha", "s", "beta"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.s = 1.0  # type: ignore[misc]
    # the log-likelihood is on the user's time scale: in days it is lower by x log 7 each
    days = sample.with_columns(pl.col("recency") * 7, pl.col("T") * 7)
    daily = clv.ParetoNBD.fit(days, unit="1d")
    shift = float(sample["frequency"].sum()) * math.log(7)
    assert daily.log_likelihood == pytest.approx(model.log_likelihood - shift, rel=1e-9)
    assert daily.alpha == pytest.approx(7 * model.alpha, rel=1e-5)
    assert daily.r == pytest.approx(model.r, rel=1e-5)


def test_weighted_fit_equals_expanded_and_order_free(sample: pl.DataFrame) -> None:
    small = sample.head(600)
    grouped = small.group_by("frequency", "recency", "T").agg(
        n=pl.len(), customer_id=pl.first("customer_id")
    )
    assert grouped.height < small.height
    expanded = clv.ParetoNBD.fit(small, unit="1w")
    weighted = clv.ParetoNBD.fit(grouped, unit="1w", weights="n")
    shuffled = clv.ParetoNBD.fit(small.sample(fraction=1.0, shuffle=True, seed=3).lazy(), unit="1w")
    for other in (weighted, shuffled):
        assert other.params == expanded.params  # identical compressed input: identical fit
        assert other.log_likelihood == expanded.log_likelihood
        assert other.n_customers == 600


def test_extreme_case_stays_finite() -> None:
    # a million customers (20,000 histories x 50), frequencies in the thousands, recency near
    # 0 and near T; any RuntimeWarning fails the test (warnings are errors)
    rows = simulate_pareto(20_000, seed=3, r=2.0, alpha=0.1, s=0.3, beta=5.0, T_max=52.0)
    rows = rows.with_columns(
        recency=pl.when(pl.col("frequency") == 1)
        .then(pl.col("recency").clip(upper_bound=2e-6))
        .otherwise(pl.col("recency")),
        n=pl.lit(50),
    )
    assert rows["frequency"].max() > 2000
    model = clv.ParetoNBD.fit(rows, unit="1w", weights="n")
    assert model.n_customers == 1_000_000
    assert all(math.isfinite(v) for v in model.params.values())
    assert all(math.isfinite(v) for v in model.standard_errors.values())
    out = model.predict(rows, horizon=52)
    assert out["p_alive"].is_finite().all()
    assert out["expected_purchases"].is_finite().all()
    # the heaviest buyer, had they bought on their last day, is alive and keeps buying ~90 a week
    top = rows.filter(pl.col("customer_id") == rows["frequency"].arg_max())
    heavy = model.predict(top.with_columns(recency=pl.col("T")), horizon=52)
    assert heavy["p_alive"].item() > 0.99
    assert heavy["expected_purchases"].item() > 1000


def test_no_heterogeneity_is_a_convergence_error() -> None:
    same = pl.DataFrame({"frequency": [5] * 50, "recency": [50.0] * 50, "T": [52.0] * 50})
    with pytest.raises(ConvergenceError, match=r"clv.ParetoNBD.fit did not converge: .*-> "):
        clv.ParetoNBD.fit(same, unit="1w")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"frequency": -1}, r"have a negative frequency, e.g. \{'customer_id': 0"),
        ({"recency": float("nan")}, r"have a null, NaN or infinite recency"),
        ({"recency": 200.0}, r"have recency > T, e.g. .*clv.summary\(\)"),
        ({"frequency": 0, "recency": 3.0}, r"have frequency 0 with recency > 0"),
    ],
)
def test_bad_rows(change: dict[str, float], message: str) -> None:
    rows = simulate_pareto(30, seed=1).with_columns(pl.col("frequency").cast(pl.Float64))
    bad = rows.with_columns(
        **{
            k: pl.when(pl.col("customer_id") == 0).then(pl.lit(v)).otherwise(pl.col(k))
            for k, v in change.items()
        }
    )
    with pytest.raises(DataError, match=r"clv.ParetoNBD.fit: 1 row\(s\) " + message):
        clv.ParetoNBD.fit(bad, unit="1w")
    with pytest.raises(DataError, match=r"clv.ParetoNBD.p_alive: 1 row\(s\) " + message):
        clv.ParetoNBD(**CDNOW, unit="1w").p_alive(bad)


def test_bad_calls() -> None:
    rows = simulate_pareto(30, seed=1)
    with pytest.raises(ColumnError, match=r"clv.ParetoNBD.fit: missing column\(s\) \['recency'\]"):
        clv.ParetoNBD.fit(rows.drop("recency"), unit="1w")
    with pytest.raises(DataError, match=r"4 customer\(s\) is too few to fit 4 parameters"):
        clv.ParetoNBD.fit(rows.head(4), unit="1w")
    with pytest.raises(DataError, match=r"clv.ParetoNBD.fit: no customer has a repeat purchase"):
        clv.ParetoNBD.fit(rows.filter(pl.col("frequency") == 0), unit="1w")
    with pytest.raises(ArgumentError, match=r"clv.ParetoNBD.fit: period must be"):
        clv.ParetoNBD.fit(rows, unit="weeks")
    with pytest.raises(ArgumentError, match=r"penalizer must be a finite number >= 0"):
        clv.ParetoNBD.fit(rows, unit="1w", penalizer=float("nan"))
    with pytest.raises(ArgumentError, match=r"clv.ParetoNBD: parameter s must be a finite number"):
        clv.ParetoNBD(r=0.5, alpha=10.0, s=0.0, beta=10.0, unit="1w")
    far = clv.ParetoNBD(r=0.5, alpha=1e-4, s=0.5, beta=100.0, unit="1w")
    with pytest.raises(ArgumentError, match=r"alpha = 0.0001 and beta = 100 are too far apart"):
        far.p_alive(rows)


# ------------------------------------------------------------------------------ predictions


def test_predictions_against_plain_formulas() -> None:
    r, alpha, s, beta = CDNOW.values()
    model = clv.ParetoNBD(**CDNOW, unit="1w")
    rows = pl.DataFrame(
        {"customer_id": [1, 2], "frequency": [0, 4], "recency": [0.0, 30.0], "T": [38.86, 38.86]}
    )
    out = model.predict(rows, horizon="39w")
    for (x, t_x, T), (_, p, churn, e) in zip(
        rows.select("frequency", "recency", "T").rows(), out.rows(), strict=True
    ):
        _, alive = mp_pareto(CDNOW, x, t_x, T)
        assert p == pytest.approx(alive, rel=1e-10)
        assert churn == pytest.approx(1 - p, rel=1e-12)
        plain = (
            alive
            * (r + x)
            * (beta + T)
            / ((alpha + T) * (s - 1))
            * (1 - ((beta + T) / (beta + T + 39)) ** (s - 1))
        )
        assert e == pytest.approx(plain, rel=1e-10)
    new = model.expected_purchases_new([26.0, "52w"])
    plain_new = [
        r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1)) for t in (26, 52)
    ]
    np.testing.assert_allclose(new["expected_purchases"].to_numpy(), plain_new, rtol=1e-12)
    # s = 1 exactly: the bracket over s - 1 becomes log(1 + t / (beta + T))
    one = clv.ParetoNBD(r=r, alpha=alpha, s=1.0, beta=beta, unit="1w")
    near = clv.ParetoNBD(r=r, alpha=alpha, s=1.0 + 1e-9, beta=beta, unit="1w")
    assert_frame_equal(one.predict(rows, 39), near.predict(rows, 39), rel_tol=1e-7)
    expected_one = r * math.log1p(52 / beta) * beta / alpha
    assert one.expected_purchases_new(52)["expected_purchases"][0] == pytest.approx(expected_one)


def test_units_and_laziness(sample: pl.DataFrame) -> None:
    weekly = clv.ParetoNBD(**CDNOW, unit="1w")
    daily = clv.ParetoNBD(
        **(CDNOW | {"alpha": CDNOW["alpha"] * 7, "beta": CDNOW["beta"] * 7}), unit="1d"
    )
    in_days = sample.with_columns(pl.col("recency") * 7, pl.col("T") * 7)
    assert_frame_equal(weekly.predict(sample, "1mo"), daily.predict(in_days, "1mo"), rel_tol=1e-9)
    lazy = weekly.p_alive(sample.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), weekly.p_alive(sample))


histories = st.tuples(st.integers(0, 5000), st.floats(0.0, 1.0), st.floats(0.01, 300.0)).map(
    lambda h: (h[0], 0.0 if h[0] == 0 else h[1] * h[2], h[2])
)
params = st.fixed_dictionaries(
    {
        "r": st.floats(0.01, 50.0),
        "alpha": st.floats(0.05, 200.0),
        "s": st.floats(0.01, 50.0),
        "beta": st.floats(0.05, 200.0),
    }
)


@settings(max_examples=50, deadline=None)
@given(p=params, rows=st.lists(histories, min_size=1, max_size=8))
def test_p_alive_bounded_and_expectation_monotone(p: dict[str, float], rows: list) -> None:
    model = clv.ParetoNBD(**p, unit="1w")
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


def test_lifetime_value_accepts_pareto(sample: pl.DataFrame) -> None:
    model = clv.ParetoNBD(**CDNOW, unit="1w")
    spend = clv.GammaGamma(p=6.25, q=3.74, v=15.44)
    rows = sample.head(50).with_columns(
        monetary_value=pl.when(pl.col("frequency") > 0).then(20.0).otherwise(0.0)
    )
    flat = clv.lifetime_value(model, spend, rows, horizon=12, unit="1mo", discount_rate=0.0)
    direct = model.expected_purchases(rows, 12 * 365.2425 / 12 / 7)
    np.testing.assert_allclose(
        flat["expected_purchases"].to_numpy(),
        direct["expected_purchases"].to_numpy(),
        rtol=1e-12,
    )
