"""Discrete-time models: BG/BB (purchase opportunities) and sBG (contract renewals)."""

from __future__ import annotations

import math

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from scipy.special import betaln, gammaln

import retailcrm.clv as clv
from retailcrm import ArgumentError, ColumnError, DataError
from retailcrm.clv._bgbb import _log_likelihood, _terms

DONATIONS = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


def simulate_bgbb(
    n: int, seed: int, *, alpha=1.2, beta=0.75, gamma=0.66, delta=2.8, periods=8
) -> pl.DataFrame:
    """BG/BB histories from the story: before each opportunity an alive customer dies with
    probability theta; an alive customer buys with probability p."""
    rng = np.random.default_rng(seed)
    p = rng.beta(alpha, beta, n)
    theta = rng.beta(gamma, delta, n)
    alive = np.ones(n, dtype=bool)
    x = np.zeros(n, dtype=np.int64)
    t_x = np.zeros(n, dtype=np.int64)
    for t in range(1, periods + 1):
        alive &= rng.random(n) >= theta
        buys = alive & (rng.random(n) < p)
        x += buys
        t_x = np.where(buys, t, t_x)
    return pl.DataFrame(
        {"customer_id": np.arange(n), "frequency": x, "recency": t_x, "n_periods": periods}
    )


def plain_loglik(alpha, beta, gamma, delta, x, t_x, n) -> float:
    """Equation (5) of Fader, Hardie & Shang (2010), one customer at a time."""
    total = 0.0
    for xi, ti, ni in zip(x, t_x, n, strict=True):
        value = math.exp(
            betaln(alpha + xi, beta + ni - xi)
            - betaln(alpha, beta)
            + betaln(gamma, delta + ni)
            - betaln(gamma, delta)
        )
        for i in range(int(ni - ti)):
            value += math.exp(
                betaln(alpha + xi, beta + ti - xi + i)
                - betaln(alpha, beta)
                + betaln(gamma + 1, delta + ti + i)
                - betaln(gamma, delta)
            )
        total += math.log(value)
    return total


# ----------------------------------------------------------------------------------- BG/BB


def test_bgbb_loglik_and_gradient() -> None:
    x = np.array([0.0, 1.0, 1.0, 3.0, 6.0, 2.0])
    t_x = np.array([0.0, 1.0, 5.0, 4.0, 6.0, 9.0])
    n = np.array([6.0, 6.0, 6.0, 6.0, 6.0, 12.0])
    w = np.array([5.0, 2.0, 1.0, 1.0, 3.0, 1.0])
    theta = np.array([1.2, 0.75, 0.66, 2.8])
    terms = _terms(x, t_x, n)
    value, grad, _ = _log_likelihood(theta, terms, w)
    expanded = [np.repeat(v, w.astype(int)) for v in (x, t_x, n)]
    assert value == pytest.approx(plain_loglik(*theta, *expanded), rel=1e-12)
    for k in range(4):
        h = 1e-6 * theta[k]
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (_log_likelihood(up, terms, w)[0] - _log_likelihood(down, terms, w)[0]) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-6), k


def test_bgbb_fit_recovers_simulation_and_is_order_free() -> None:
    sample = simulate_bgbb(5000, seed=4)
    model = clv.BetaGeoBetaBinom.fit(sample)
    assert model.n_customers == 5000
    truth = {"alpha": 1.2, "beta": 0.75, "gamma": 0.66, "delta": 2.8}
    for name, value in model.params.items():
        assert abs(value - truth[name]) < 3 * model.standard_errors[name], name
    grouped = sample.group_by("frequency", "recency", "n_periods").agg(
        count=pl.len(), customer_id=pl.first("customer_id")
    )
    assert grouped.height < 50
    weighted = clv.BetaGeoBetaBinom.fit(grouped, weights="count")
    shuffled = clv.BetaGeoBetaBinom.fit(sample.sample(fraction=1.0, shuffle=True, seed=1).lazy())
    for other in (weighted, shuffled):
        assert other.params == model.params
        assert other.log_likelihood == model.log_likelihood


def test_bgbb_predictions_against_paper_formulas() -> None:
    a, b, g, d = DONATIONS.values()
    model = clv.BetaGeoBetaBinom(**DONATIONS)
    rows = pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4],
            "frequency": [0, 3, 6, 2],
            "recency": [0, 4, 6, 3],
            "n_periods": [6, 6, 6, 10],
        }
    )
    out = model.predict(rows, horizon=5)
    for (x, t_x, n), (_, alive, churn, e) in zip(
        rows.select("frequency", "recency", "n_periods").rows(), out.rows(), strict=True
    ):
        like = math.exp(plain_loglik(a, b, g, d, [x], [t_x], [n]))
        paper_alive = math.exp(
            betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d)
        )
        assert alive == pytest.approx(paper_alive / like, rel=1e-12)
        assert churn == pytest.approx(1 - alive, rel=1e-12)
        paper = (
            math.exp(betaln(a + x + 1, b + n - x) - betaln(a, b))
            * d
            / (g - 1)
            * math.exp(gammaln(g + d) - gammaln(1 + d))
            * (
                math.exp(gammaln(1 + d + n) - gammaln(g + d + n))
                - math.exp(gammaln(1 + d + n + 5) - gammaln(g + d + n + 5))
            )
            / like
        )
        assert e == pytest.approx(paper, rel=1e-12)
    # a new customer, equation (8)
    new = model.expected_purchases_new([1, 6])
    for n, value in zip(new["n_periods"], new["expected_purchases"], strict=True):
        eq8 = (
            a
            / (a + b)
            * d
            / (g - 1)
            * (
                1
                - math.exp(
                    gammaln(g + d) + gammaln(1 + d + n) - gammaln(g + d + n) - gammaln(1 + d)
                )
            )
        )
        assert value == pytest.approx(eq8, rel=1e-12)
    # gamma = 1: the bracket over (gamma - 1) has a finite limit, reached continuously
    one = clv.BetaGeoBetaBinom(alpha=a, beta=b, gamma=1.0, delta=d)
    near = clv.BetaGeoBetaBinom(alpha=a, beta=b, gamma=1.0 + 1e-9, delta=d)
    assert_frame_equal(one.predict(rows, 5), near.predict(rows, 5), rel_tol=1e-7)
    assert model.expected_purchases(rows, 0)["expected_purchases"].to_list() == [0.0] * 4


bgbb_histories = (
    st.tuples(st.integers(0, 40), st.integers(0, 40), st.integers(0, 40))
    .map(lambda h: tuple(sorted(h)))
    .map(lambda h: (h[0], h[1], h[2]) if h[0] > 0 else (0, 0, h[2]))
)
bgbb_params = st.fixed_dictionaries(
    {k: st.floats(0.05, 30.0) for k in ("alpha", "beta", "gamma", "delta")}
)


@settings(max_examples=40, deadline=None)
@given(p=bgbb_params, rows=st.lists(bgbb_histories, min_size=1, max_size=8))
def test_bgbb_p_alive_bounded_and_expectation_monotone(p: dict[str, float], rows: list) -> None:
    model = clv.BetaGeoBetaBinom(**p)
    frame = pl.DataFrame(
        rows, schema=["frequency", "recency", "n_periods"], orient="row"
    ).with_columns(customer_id=pl.int_range(pl.len()))
    alive = model.p_alive(frame)["p_alive"]
    assert ((alive >= 0) & (alive <= 1 + 1e-12)).all()
    previous = np.zeros(frame.height)
    for h in (1, 3, 10, 50):
        now = model.expected_purchases(frame, h)["expected_purchases"].to_numpy()
        assert np.all(np.isfinite(now))
        assert np.all(now >= previous * (1 - 1e-9))
        assert np.all(now <= h * (1 + 1e-9))  # at most one purchase per opportunity
        previous = now


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"frequency": 4, "recency": 3}, r"have frequency > recency"),
        ({"frequency": 1, "recency": 9}, r"have recency > n_periods"),
        ({"frequency": 0, "recency": 2}, r"have frequency 0 with recency > 0"),
        ({"n_periods": 6.5}, r"have a n_periods that is not a whole number"),
        ({"frequency": -1}, r"have a negative frequency"),
    ],
)
def test_bgbb_bad_rows(change: dict[str, float], message: str) -> None:
    rows = simulate_bgbb(30, seed=2).with_columns(pl.col("n_periods").cast(pl.Float64))
    bad = rows.with_columns(
        **{
            k: pl.when(pl.col("customer_id") == 0).then(pl.lit(v)).otherwise(pl.col(k))
            for k, v in change.items()
        }
    )
    with pytest.raises(DataError, match=r"clv.BetaGeoBetaBinom.fit: 1 row\(s\) " + message):
        clv.BetaGeoBetaBinom.fit(bad)
    with pytest.raises(DataError, match=r"clv.BetaGeoBetaBinom.p_alive: 1 row\(s\) " + message):
        clv.BetaGeoBetaBinom(**DONATIONS).p_alive(bad)


def test_bgbb_bad_calls() -> None:
    rows = simulate_bgbb(30, seed=2)
    model = clv.BetaGeoBetaBinom(**DONATIONS)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['n_periods'\]"):
        clv.BetaGeoBetaBinom.fit(rows.drop("n_periods"))
    with pytest.raises(ArgumentError, match=r"horizon must be a whole number of opportunities"):
        model.expected_purchases(rows, 2.5)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"horizon must be a whole number .* got -1"):
        model.predict(rows, -1)
    with pytest.raises(DataError, match=r"4 customer\(s\) is too few to fit 4 parameters"):
        clv.BetaGeoBetaBinom.fit(rows.head(4))
    lazy = model.predict(rows.lazy(), 3)
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), model.predict(rows, 3))


# ------------------------------------------------------------------------------------- sBG

REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]  # Fader & Hardie (2007), years 0-7
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def survivors(counts: list[int], cohort: str | None = None) -> pl.DataFrame:
    frame = pl.DataFrame({"period": range(len(counts)), "customers": counts})
    return frame if cohort is None else frame.with_columns(cohort=pl.lit(cohort))


def plain_sbg_loglik(gamma: float, delta: float, counts: list[int]) -> float:
    """Each lost customer contributes log P(T = t); the survivors log S(tau), by recursion:
    P(T = 1) = gamma / (gamma + delta), P(T = t) = P(T = t - 1) (delta + t - 2) / (gamma +
    delta + t - 1), S(t) = S(t - 1) - P(T = t) (Fader & Hardie 2007, appendix)."""
    p = gamma / (gamma + delta)
    s = 1.0 - p
    total = (counts[0] - counts[1]) * math.log(p)
    for t in range(2, len(counts)):
        p *= (delta + t - 2) / (gamma + delta + t - 1)
        s -= p
        total += (counts[t - 1] - counts[t]) * math.log(p)
    return total + counts[-1] * math.log(s)


def test_sbg_loglik_gradient_and_cohorts() -> None:
    from retailcrm.clv._sbg import _counts
    from retailcrm.clv._sbg import _log_likelihood as sbg_log_likelihood

    t, lost, kept, _ = _counts(survivors(REGULAR))
    theta = np.array([0.8, 1.4])
    value, grad = sbg_log_likelihood(theta, t, lost, kept)
    assert value == pytest.approx(plain_sbg_loglik(*theta, REGULAR), rel=1e-12)
    for k in range(2):
        h = 1e-6 * theta[k]
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        numeric = (
            sbg_log_likelihood(up, t, lost, kept)[0] - sbg_log_likelihood(down, t, lost, kept)[0]
        ) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-7), k
    # several cohorts, observed for different lengths: their log-likelihoods add up
    both = pl.concat([survivors(REGULAR, "a"), survivors(HIGH_END[:5], "b")])
    model = clv.ShiftedBetaGeo.fit(both.sample(fraction=1.0, shuffle=True, seed=2))
    assert model.n_customers == 2000
    expected = plain_sbg_loglik(model.gamma, model.delta, REGULAR) + plain_sbg_loglik(
        model.gamma, model.delta, HIGH_END[:5]
    )
    assert model.log_likelihood == pytest.approx(expected, rel=1e-12)
    # the same customers split into two identical cohorts: the same fit
    half = [c // 2 for c in REGULAR]
    single = clv.ShiftedBetaGeo.fit(survivors(half))
    split = clv.ShiftedBetaGeo.fit(pl.concat([survivors(half, "x"), survivors(half, "y")]))
    assert split.gamma == pytest.approx(single.gamma, rel=1e-6)
    assert split.log_likelihood == pytest.approx(2 * single.log_likelihood, rel=1e-9)


def test_sbg_projection() -> None:
    model = clv.ShiftedBetaGeo(gamma=0.704, delta=1.182)
    out = model.project(10, cohort_size=1000)
    assert out.columns == ["period", "survival", "retention", "customers"]
    assert out["retention"][0] is None
    # survival is the running product of the retention rates
    np.testing.assert_allclose(
        out["survival"][1:].to_numpy(), np.cumprod(out["retention"][1:].to_numpy()), rtol=1e-12
    )
    assert (out["retention"].diff().drop_nulls() > 0).all()  # survivors grow more loyal
    np.testing.assert_allclose(out["customers"].to_numpy(), 1000 * out["survival"].to_numpy())
    assert model.project(2)["customers"].is_null().all()  # built from values: no size
    fitted = clv.ShiftedBetaGeo.fit(survivors(REGULAR))
    assert fitted.project(1)["customers"].to_list()[0] == 1000.0
    with pytest.raises(ArgumentError, match=r"periods must be a whole number >= 0; got -1"):
        model.project(-1)


@pytest.mark.parametrize(
    ("frame", "error", "message"),
    [
        (survivors(REGULAR).drop("customers"), ColumnError, r"missing column\(s\) \['customers'\]"),
        (survivors(REGULAR).filter(pl.col("period") != 3), DataError, r"does not follow the one"),
        (survivors(REGULAR).filter(pl.col("period") > 0), DataError, r"periods do not start at 0"),
        (
            survivors([1000, 631, 700, 600]),
            DataError,
            r"1 row\(s\) have more customers than the period before, e.g. \{'period': 2",
        ),
        (survivors([1000.5, 631, 468]), DataError, r"not a whole number >= 0"),
        (survivors([1000, 631]), DataError, r"cover 1 period\(s\) after period 0"),
        (survivors([1000, 1000, 1000]), DataError, r"no customer cancelled in 2 periods"),
    ],
)
def test_sbg_bad_input(frame: pl.DataFrame, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=r"clv.ShiftedBetaGeo.fit: .*" + message):
        clv.ShiftedBetaGeo.fit(frame)
