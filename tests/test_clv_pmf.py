"""p_purchases / p_purchases_new of BG/NBD, MBG/NBD and Pareto/NBD: lifetimes, sums and means."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest
from scipy.integrate import quad

import retailcrm.clv as clv
from retailcrm import ArgumentError

lifetimes = pytest.importorskip("lifetimes")

MODELS = {
    "bg": clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w"),
    "mbg": clv.ModifiedBetaGeo(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="1w"),
    "pareto": clv.ParetoNBD(r=0.5533, alpha=10.5780, s=0.6061, beta=11.6673, unit="1w"),
}
PEOPLE = pl.DataFrame(
    {
        "customer_id": [1, 2, 3, 4],
        "frequency": [2, 0, 7, 1],
        "recency": [30.43, 0.0, 35.0, 1.0],
        "T": [38.86, 38.86, 38.86, 20.0],
    }
)


def reference(name: str):
    fitter = {
        "bg": lifetimes.BetaGeoFitter,
        "mbg": lifetimes.ModifiedBetaGeoFitter,
        "pareto": lifetimes.ParetoNBDFitter,
    }[name]()
    fitter.params_ = pd.Series(MODELS[name].params)
    return fitter


@pytest.mark.parametrize("name", list(MODELS))
def test_new_customer_against_lifetimes(name: str) -> None:
    model, ref = MODELS[name], reference(name)
    ns = [0, 1, 2, 5, 12]
    ours = model.p_purchases_new(ns, "39w")
    assert ours["purchases"].to_list() == ns
    for k, value in zip(ns, ours["probability"], strict=True):
        if name == "pareto":  # lifetimes has only the conditional form; at x = t_x = T = 0
            theirs = ref.conditional_probability_of_n_purchases_up_to_time(k, 39.0, 0, 0, 0)
        else:
            theirs = ref.probability_of_n_purchases_up_to_time(39.0, k)
        assert value == pytest.approx(float(theirs), rel=1e-8), k


def test_pareto_conditional_against_lifetimes() -> None:
    model, ref = MODELS["pareto"], reference("pareto")
    for k in (0, 1, 3):
        ours = model.p_purchases(PEOPLE, k, 39)["probability"].to_numpy()
        theirs = [
            ref.conditional_probability_of_n_purchases_up_to_time(k, 39.0, x, t_x, T)
            for x, t_x, T in PEOPLE.select("frequency", "recency", "T").rows()
        ]
        np.testing.assert_allclose(ours, theirs, rtol=1e-8)


def test_pareto_new_customer_against_plain_quadrature() -> None:
    # the note-012 integral done directly in scipy, n = 3, t = 20 weeks
    r, alpha, s, beta = MODELS["pareto"].params.values()
    n, t = 3, 20.0
    nb = math.exp(
        math.lgamma(r + n) - math.lgamma(r) - math.lgamma(n + 1)
        + r * math.log(alpha / (alpha + t)) + n * math.log(t / (alpha + t))
    )  # fmt: skip
    died, _ = quad(
        lambda u: u**n * (alpha + u) ** -(r + n) * (beta + u) ** -(s + 1), 0, t, epsrel=1e-13
    )
    front = (
        s * beta**s * alpha**r * math.exp(math.lgamma(r + n) - math.lgamma(r)) / math.factorial(n)
    )
    plain = nb * (beta / (beta + t)) ** s + front * died
    got = MODELS["pareto"].p_purchases_new(n, t)["probability"].item()
    assert got == pytest.approx(plain, rel=1e-9)


@pytest.mark.parametrize("name", list(MODELS))
def test_distribution_sums_to_one_with_the_expected_mean(name: str) -> None:
    model = MODELS[name]
    ks = range(150)
    probabilities = np.stack(
        [model.p_purchases(PEOPLE, k, 52)["probability"].to_numpy() for k in ks]
    )
    assert np.all(probabilities >= 0)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1.0, rtol=1e-9)
    mean = (np.arange(150)[:, None] * probabilities).sum(axis=0)
    expected = model.expected_purchases(PEOPLE, 52)["expected_purchases"].to_numpy()
    np.testing.assert_allclose(mean, expected, rtol=1e-8)
    # a new customer's distribution has a heavier tail: up to 599 purchases
    new = model.p_purchases_new(list(range(600)), 52)["probability"].to_numpy()
    assert new.sum() == pytest.approx(1.0, rel=1e-9)
    assert float(np.arange(600) @ new) == pytest.approx(
        model.expected_purchases_new(52)["expected_purchases"].item(), rel=1e-8
    )
    # nothing can happen in no time
    assert model.p_purchases(PEOPLE, 0, 0)["probability"].to_list() == [1.0] * 4


def test_bad_arguments() -> None:
    model = MODELS["bg"]
    with pytest.raises(ArgumentError, match=r"clv.BetaGeo.p_purchases: n must be a whole number"):
        model.p_purchases(PEOPLE, -1, 5)
    with pytest.raises(ArgumentError, match=r"clv.BetaGeo.p_purchases_new: n is an empty sequence"):
        model.p_purchases_new([], 5)
    with pytest.raises(ArgumentError, match=r"t must be a finite number >= 0"):
        model.p_purchases_new(1, -2.0)
    lazy = model.p_purchases(PEOPLE.lazy(), 1, "4w")
    assert isinstance(lazy, pl.LazyFrame)
    assert lazy.collect().columns == ["customer_id", "probability"]
