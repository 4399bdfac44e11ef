"""MBG/NBD on CDNOW: lifetimes' ModifiedBetaGeoFitter side by side.

No published MBG/NBD estimates exist for CDNOW (Batislam et al. 2007 used grocery data), so
the reference is lifetimes: parameters and standard errors from the same data, and P(alive),
conditional and unconditional expectations and the log-likelihood at the same parameters.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import retailcrm.clv as clv
from retailcrm.clv._betageo import _by_frequency
from retailcrm.clv._modified import _log_likelihood

lifetimes = pytest.importorskip("lifetimes")
datasets = pytest.importorskip("lifetimes.datasets")


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    frame = datasets.load_cdnow_summary_data_with_monetary_value().reset_index()
    return pl.from_pandas(frame)


def test_against_lifetimes(cdnow: pl.DataFrame) -> None:
    pdf = cdnow.to_pandas()
    x, t_x, T = pdf["frequency"], pdf["recency"], pdf["T"]
    ref = lifetimes.ModifiedBetaGeoFitter().fit(x, t_x, T)
    model = clv.ModifiedBetaGeo.fit(cdnow, unit="1w")
    assert model.n_customers == 2357
    for name in model.PARAMS:
        assert model.params[name] == pytest.approx(ref.params_[name], rel=1e-3), name
        assert model.standard_errors[name] == pytest.approx(ref.standard_errors_[name], rel=1e-2)
    same = clv.ModifiedBetaGeo(**ref.params_.to_dict(), unit="1w")
    np.testing.assert_allclose(
        same.p_alive(cdnow)["p_alive"].to_numpy(),
        ref.conditional_probability_alive(x, t_x, T),
        rtol=1e-6,
    )
    for t in (1.0, 39.0, 104.0):
        np.testing.assert_allclose(
            same.expected_purchases(cdnow, t)["expected_purchases"].to_numpy(),
            ref.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
            rtol=1e-6,
        )
    horizons = np.array([1.0, 39.0, 78.0])
    np.testing.assert_allclose(
        same.expected_purchases_new(horizons.tolist())["expected_purchases"].to_numpy(),
        ref.expected_number_of_purchases_up_to_time(horizons),
        rtol=1e-6,
    )
    # lifetimes minimises the mean negative log-likelihood over log-parameters, in its own
    # time scale; at the same parameters the totals agree
    arrays = [v.to_numpy().astype(float) for v in (x, t_x, T)]
    w = np.ones(len(pdf))
    ours, _ = _log_likelihood(ref.params_.to_numpy(), *arrays, w, _by_frequency(arrays[0], w))
    theirs = -lifetimes.ModifiedBetaGeoFitter._negative_log_likelihood(
        np.log(ref.params_.to_numpy()), *arrays, w, 0.0
    )
    assert ours / len(pdf) == pytest.approx(theirs, rel=1e-12)
    assert model.log_likelihood >= ours - 1e-6  # ours is at least as high
