"""BG/NBD, Gamma-Gamma and CLV on CDNOW: published values and lifetimes side by side.

Published: Fader, Hardie & Lee (2005), Marketing Science 24(2) (BG/NBD on the 2,357-customer
CDNOW sample, weeks: r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, LL=-9582.4) and Journal of
Marketing Research 42(4) (Gamma-Gamma on its 946 repeat buyers: p=6.25, q=3.74, v=15.44).
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

import retailcrm.clv as clv

lifetimes = pytest.importorskip("lifetimes")
datasets = pytest.importorskip("lifetimes.datasets")


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    frame = datasets.load_cdnow_summary_data_with_monetary_value().reset_index()
    return pl.from_pandas(frame)


@pytest.fixture(scope="module")
def fitted(cdnow: pl.DataFrame) -> tuple[clv.BetaGeo, clv.GammaGamma]:
    return clv.BetaGeo.fit(cdnow, unit="1w"), clv.GammaGamma.fit(cdnow)


def test_bg_nbd_published_values(fitted: tuple[clv.BetaGeo, clv.GammaGamma]) -> None:
    model, _ = fitted
    published = {"r": 0.2426, "alpha": 4.4135, "a": 0.7930, "b": 2.4259}
    for name, value in published.items():  # published to 4 decimals
        assert model.params[name] == pytest.approx(value, abs=1.5e-4), name
    assert model.log_likelihood == pytest.approx(-9582.4, abs=0.05)
    assert model.n_customers == 2357


def test_bg_nbd_against_lifetimes(
    cdnow: pl.DataFrame, fitted: tuple[clv.BetaGeo, clv.GammaGamma]
) -> None:
    model, _ = fitted
    pdf = cdnow.to_pandas()
    ref = lifetimes.BetaGeoFitter().fit(pdf["frequency"], pdf["recency"], pdf["T"])
    for name in model.PARAMS:
        assert model.params[name] == pytest.approx(ref.params_[name], rel=1e-3), name
        se = ref.standard_errors_[name]
        assert model.standard_errors[name] == pytest.approx(se, rel=1e-2), name
    # predictions at the same parameters
    same = clv.BetaGeo(**ref.params_.to_dict(), unit="1w")
    x, t_x, T = pdf["frequency"], pdf["recency"], pdf["T"]
    np.testing.assert_allclose(
        same.p_alive(cdnow)["p_alive"].to_numpy(),
        ref.conditional_probability_alive(x, t_x, T),
        rtol=1e-6,
        atol=1e-12,
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


def test_gamma_gamma_published_and_lifetimes(
    cdnow: pl.DataFrame, fitted: tuple[clv.BetaGeo, clv.GammaGamma]
) -> None:
    _, spend = fitted
    for name, value in {"p": 6.25, "q": 3.74, "v": 15.44}.items():  # published to 2 decimals
        assert spend.params[name] == pytest.approx(value, abs=0.01), name
    assert spend.n_customers == 946
    assert spend.n_excluded == 2357 - 946
    repeat = cdnow.filter(pl.col("frequency") > 0).to_pandas()
    ref = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    for name in spend.PARAMS:
        assert spend.params[name] == pytest.approx(ref.params_[name], rel=1e-3), name
        se = ref.standard_errors_[name]
        assert spend.standard_errors[name] == pytest.approx(se, rel=1e-2), name
    # lifetimes reports the mean negative log-likelihood
    assert spend.log_likelihood / 946 == pytest.approx(-ref._negative_log_likelihood_, rel=1e-6)
    same = clv.GammaGamma(**ref.params_.to_dict())
    pdf = cdnow.to_pandas()
    np.testing.assert_allclose(
        same.expected_spend(cdnow)["expected_spend"].to_numpy(),
        ref.conditional_expected_average_profit(pdf["frequency"], pdf["monetary_value"]),
        rtol=1e-10,
    )


def test_lifetime_value_equals_lifetimes_under_its_convention(cdnow: pl.DataFrame) -> None:
    # lifetimes: 12 months of 30 days for a model fitted in days, 1% a month, end-of-month
    # discounting; ours says the same with unit="30d"
    pdf = cdnow.to_pandas()
    days = cdnow.with_columns(pl.col("recency") * 7, pl.col("T") * 7)
    bg = lifetimes.BetaGeoFitter().fit(pdf["frequency"], pdf["recency"] * 7, pdf["T"] * 7)
    repeat = pdf[pdf["frequency"] > 0]
    gg = lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])
    ref = gg.customer_lifetime_value(
        bg,
        pdf["frequency"],
        pdf["recency"] * 7,
        pdf["T"] * 7,
        pdf["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq="D",
    )
    buys = clv.BetaGeo(**bg.params_.to_dict(), unit="1d")
    spend = clv.GammaGamma(**gg.params_.to_dict())
    ours = clv.lifetime_value(buys, spend, days, horizon=12, unit="30d", discount_rate=0.01)
    assert ours.columns == ["customer_id", "expected_purchases", "expected_spend", "clv"]
    np.testing.assert_allclose(ours["clv"].to_numpy(), ref.to_numpy(), rtol=1e-9)
    # the same model in weeks gives the same values: units are converted, not assumed
    weekly = clv.BetaGeo(**(bg.params_.to_dict() | {"alpha": bg.params_["alpha"] / 7}), unit="1w")
    in_weeks = clv.lifetime_value(weekly, spend, cdnow, horizon=12, unit="30d", discount_rate=0.01)
    np.testing.assert_allclose(in_weeks["clv"].to_numpy(), ref.to_numpy(), rtol=1e-9)
    # no discounting: clv is expected purchases over the horizon times expected spend
    flat = clv.lifetime_value(weekly, spend, cdnow, horizon=12, unit="30d", discount_rate=0.0)
    np.testing.assert_allclose(
        flat["clv"].to_numpy(),
        (flat["expected_purchases"] * flat["expected_spend"]).to_numpy(),
        rtol=1e-12,
    )
    equity = clv.customer_equity(
        weekly, spend, cdnow.lazy(), horizon=12, unit="30d", discount_rate=0.01
    )
    assert isinstance(equity, pl.LazyFrame)
    row = equity.collect().row(0, named=True)
    assert row["customers"] == 2357
    assert row["customer_equity"] == pytest.approx(float(ref.sum()), rel=1e-9)


def test_lifetime_value_errors(
    cdnow: pl.DataFrame, fitted: tuple[clv.BetaGeo, clv.GammaGamma]
) -> None:
    buys, spend = fitted
    from retailcrm import ArgumentError, ColumnError

    with pytest.raises(
        ArgumentError, match=r"clv.lifetime_value: horizon must be a whole number of periods >= 1"
    ):
        clv.lifetime_value(buys, spend, cdnow, horizon=0, unit="1mo", discount_rate=0.01)
    with pytest.raises(ArgumentError, match=r"discount_rate must be a finite number > -1"):
        clv.lifetime_value(buys, spend, cdnow, horizon=12, unit="1mo", discount_rate=-1.0)
    with pytest.raises(ArgumentError, match=r"clv.lifetime_value: period must be"):
        clv.lifetime_value(buys, spend, cdnow, horizon=12, unit="month", discount_rate=0.01)
    with pytest.raises(ArgumentError, match=r"spend_model must be a clv.GammaGamma; got BetaGeo"):
        clv.lifetime_value(buys, buys, cdnow, horizon=12, unit="1mo", discount_rate=0.01)  # type: ignore[arg-type]
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['monetary_value'\]"):
        clv.lifetime_value(
            buys, spend, cdnow.drop("monetary_value"), horizon=1, unit="1mo", discount_rate=0.0
        )
