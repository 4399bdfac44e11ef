"""BG/BB on the donations data: published values and lifetimes side by side.

Published: Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time
Noncontractual Setting", Marketing Science 29(6): the 1995 cohort of 11,104 donors, six annual
opportunities (1996-2001): alpha=1.204, beta=0.750, gamma=0.657, delta=2.783, LL=-33,225.6.
lifetimes ships the data as donations.csv (frequency, recency, periods, weights).
"""

from __future__ import annotations

import warnings

import numpy as np
import polars as pl
import pytest

import retailcrm.clv as clv

lifetimes = pytest.importorskip("lifetimes")
datasets = pytest.importorskip("lifetimes.datasets")


@pytest.fixture(scope="module")
def donations() -> pl.DataFrame:
    frame = pl.from_pandas(datasets.load_donations())
    return frame.rename({"periods": "n_periods"}).with_columns(customer_id=pl.int_range(pl.len()))


def test_published_values(donations: pl.DataFrame) -> None:
    model = clv.BetaGeoBetaBinom.fit(donations, weights="weights")
    published = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
    for name, value in published.items():  # published to 3 decimals
        assert model.params[name] == pytest.approx(value, abs=6e-4), name
    assert model.log_likelihood == pytest.approx(-33225.6, abs=0.05)
    assert model.n_customers == 11104


def test_against_lifetimes(donations: pl.DataFrame) -> None:
    pdf = donations.to_pandas()
    x, t_x, n = pdf["frequency"], pdf["recency"], pdf["n_periods"]
    with warnings.catch_warnings():  # lifetimes' fit warns about pandas internals
        warnings.simplefilter("ignore")
        ref = lifetimes.BetaGeoBetaBinomFitter().fit(x, t_x, n, weights=pdf["weights"])
    model = clv.BetaGeoBetaBinom.fit(donations, weights="weights")
    for name in model.PARAMS:
        assert model.params[name] == pytest.approx(ref.params_[name], rel=1e-3), name
        assert model.standard_errors[name] == pytest.approx(ref.standard_errors_[name], rel=1e-2)
    same = clv.BetaGeoBetaBinom(**ref.params_.to_dict())
    # lifetimes adds 1e-15 to the likelihood's sum, hence 1e-9 rather than machine precision
    np.testing.assert_allclose(
        same.p_alive(donations)["p_alive"].to_numpy(),
        ref.conditional_probability_alive(1, x, t_x, n),  # alive at opportunity n + 1
        rtol=1e-9,
    )
    for horizon in (1, 5, 10):
        np.testing.assert_allclose(
            same.expected_purchases(donations, horizon)["expected_purchases"].to_numpy(),
            ref.conditional_expected_number_of_purchases_up_to_time(horizon, x, t_x, n),
            rtol=1e-9,
        )
    # a new donor's expected donations in six years: the mean of lifetimes' P(X(6) = x) table
    table = ref.expected_number_of_transactions_in_first_n_periods(6)
    mean = float((table.index.to_numpy() * table["model"].to_numpy()).sum() / 11104)
    assert same.expected_purchases_new(6)["expected_purchases"].item() == pytest.approx(
        mean, rel=1e-9
    )
