"""clv.evaluate and clv.tracking: holdout predictions against plain computations and lifetimes."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np
import polars as pl
import pytest

import retailcrm.clv as clv
from retailcrm import ArgumentError, ColumnError, DataError, datasets

lifetimes = pytest.importorskip("lifetimes")
lifetimes_datasets = pytest.importorskip("lifetimes.datasets")

CDNOW_BG = {"r": 0.2426, "alpha": 4.4135, "a": 0.7930, "b": 2.4259}


@pytest.fixture(scope="module")
def cdnow_tx() -> pl.DataFrame:
    return datasets.load_cdnow(sample=True)


@pytest.fixture(scope="module")
def holdout(cdnow_tx: pl.DataFrame) -> pl.DataFrame:
    return clv.summary(cdnow_tx, as_of="1998-06-30", unit="1w", calibration_end="1997-09-30")


def test_evaluate_against_lifetimes_and_plain_metrics(holdout: pl.DataFrame) -> None:
    model = clv.BetaGeo(**CDNOW_BG, unit="1w")
    result = clv.evaluate(model, holdout, max_frequency=7)
    pdf = holdout.to_pandas()
    ref = lifetimes.BetaGeoFitter()
    ref.params_ = __import__("pandas").Series(CDNOW_BG)
    theirs = ref.conditional_expected_number_of_purchases_up_to_time(
        pdf["duration_holdout"], pdf["frequency"], pdf["recency"], pdf["T"]
    ).to_numpy()
    np.testing.assert_allclose(result.customers["expected_holdout"].to_numpy(), theirs, rtol=1e-9)
    actual = pdf["frequency_holdout"].to_numpy().astype(float)
    error = theirs - actual
    assert result.n_customers == len(pdf)
    assert result.actual_total == actual.sum()
    assert result.expected_total == pytest.approx(theirs.sum(), rel=1e-9)
    assert result.mae == pytest.approx(np.abs(error).mean(), rel=1e-9)
    assert result.rmse == pytest.approx(math.sqrt((error**2).mean()), rel=1e-9)
    assert result.bias == pytest.approx(error.mean(), rel=1e-9, abs=1e-12)
    # by calibration frequency, 7+ pooled: plain group means
    groups: dict[int, list[int]] = defaultdict(list)
    for i, x in enumerate(pdf["frequency"]):
        groups[min(int(x), 7)].append(i)
    table = result.by_frequency
    assert table.columns == ["frequency", "customers", "actual", "expected", "error"]
    assert table["frequency"].to_list() == sorted(groups)
    for row in table.iter_rows(named=True):
        members = groups[row["frequency"]]
        assert row["customers"] == len(members)
        assert row["actual"] == pytest.approx(actual[members].mean())
        assert row["expected"] == pytest.approx(theirs[members].mean(), rel=1e-9)
    assert table["customers"].sum() == result.n_customers
    pooled = clv.evaluate(model, holdout.lazy(), max_frequency=0).by_frequency
    assert pooled.height == 1
    assert pooled["expected"].item() == pytest.approx(theirs.mean(), rel=1e-9)


def test_evaluate_bad_input(holdout: pl.DataFrame) -> None:
    model = clv.BetaGeo(**CDNOW_BG, unit="1w")
    with pytest.raises(
        ColumnError, match=r"clv.evaluate: missing column\(s\) \['frequency_holdout'"
    ):
        clv.evaluate(model, holdout.drop("frequency_holdout", "duration_holdout"))
    with pytest.raises(ArgumentError, match=r"model must be a transaction model .* got GammaGamma"):
        clv.evaluate(clv.GammaGamma(p=6.25, q=3.74, v=15.44), holdout)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"max_frequency must be a whole number >= 0; got -1"):
        clv.evaluate(model, holdout, max_frequency=-1)
    bad = holdout.with_columns(duration_holdout=pl.lit(-1.0))
    with pytest.raises(
        DataError, match=r"clv.evaluate: \d+ row\(s\) have a negative duration_holdout"
    ):
        clv.evaluate(model, bad)
    with pytest.raises(DataError, match=r"the summary has no customers"):
        clv.evaluate(model, holdout.head(0))


def plain_tracking(
    tx: pl.DataFrame, model: clv.BetaGeo, ends: list[dt.date], cohort_end: dt.date
) -> tuple[list[int], list[float]]:
    """Per customer, in Python: purchase days of positive value, the first one dropped."""
    value: dict[tuple[int, dt.date], float] = defaultdict(float)
    for cid, day, amount in tx.select("customer_id", "timestamp", "amount").iter_rows():
        if day <= ends[-1]:
            value[(cid, day)] += amount
    days: dict[int, list[dt.date]] = defaultdict(list)
    for (cid, day), v in value.items():
        if v > 0:
            days[cid].append(day)
    firsts = {cid: min(d) for cid, d in days.items() if min(d) <= cohort_end}
    ref = lifetimes.BetaGeoFitter()
    ref.params_ = __import__("pandas").Series(model.params)
    actual, expected = [], []
    for end in ends:
        actual.append(sum(1 for c, f in firsts.items() for d in days[c] if f < d <= end))
        ages = np.array([(end - f).days / 7 for f in firsts.values() if f <= end])
        expected.append(float(ref.expected_number_of_purchases_up_to_time(ages).sum()))
    return actual, expected


def test_tracking_against_plain_computation(cdnow_tx: pl.DataFrame) -> None:
    model = clv.BetaGeo(**CDNOW_BG, unit="1w")
    small = cdnow_tx.filter(pl.col("customer_id") % 5 == 0)
    out = clv.tracking(model, small, as_of="1998-06-30", calibration_end="1997-09-30", period="4w")
    assert out.columns == [
        "period_end",
        "actual",
        "expected",
        "actual_cumulative",
        "expected_cumulative",
        "holdout",
    ]
    ends = out["period_end"].to_list()
    assert ends[0] == dt.date(1997, 1, 28)  # 4 weeks from the first purchase, 1997-01-01
    assert ends[-1] == dt.date(1998, 6, 30)  # the last period is cut at as_of
    actual, expected = plain_tracking(small, model, ends, dt.date(1997, 9, 30))
    assert out["actual_cumulative"].to_list() == actual
    np.testing.assert_allclose(out["expected_cumulative"].to_numpy(), expected, rtol=1e-9)
    np.testing.assert_allclose(out["expected"].cum_sum().to_numpy(), expected, rtol=1e-9)
    assert out["actual"].cum_sum().to_list() == actual
    assert out["holdout"].to_list() == [end > dt.date(1997, 9, 30) for end in ends]


def test_tracking_cdnow_totals(cdnow_tx: pl.DataFrame) -> None:
    # 2,457 repeat purchases in the 39 calibration weeks: the sum of frequency in lifetimes'
    # CDNOW summary file (the BG/NBD paper's data)
    summary = lifetimes_datasets.load_cdnow_summary()
    model = clv.BetaGeo(**CDNOW_BG, unit="1w")
    out = clv.tracking(model, cdnow_tx, as_of="1998-06-30", calibration_end="1997-09-30")
    at_calibration_end = out.filter(pl.col("period_end") == dt.date(1997, 9, 30))
    assert at_calibration_end["actual_cumulative"].item() == int(summary["frequency"].sum())
    assert out.height == 78  # weeks of 7 days from 1997-01-01 to 1998-06-30
    # the model's cumulative expectation tracks the calibration period to within 2%
    assert at_calibration_end["expected_cumulative"].item() == pytest.approx(2457, rel=0.02)


def test_tracking_bad_input(cdnow_tx: pl.DataFrame) -> None:
    model = clv.BetaGeo(**CDNOW_BG, unit="1w")
    with pytest.raises(ArgumentError, match=r"clv.tracking: as_of is required"):
        clv.tracking(model, cdnow_tx, as_of=None)
    with pytest.raises(ArgumentError, match=r"calibration_end \(1998-07-01\) must be before as_of"):
        clv.tracking(model, cdnow_tx, as_of="1998-06-30", calibration_end="1998-07-01")
    with pytest.raises(ArgumentError, match=r"clv.tracking: period must be"):
        clv.tracking(model, cdnow_tx, as_of="1998-06-30", period="weekly")
    with pytest.raises(DataError, match=r"no customer made a purchase by 1990-01-01"):
        clv.tracking(model, cdnow_tx, as_of="1990-01-01")
    with pytest.raises(ColumnError, match=r"clv.tracking: missing column\(s\) \['amount'\]"):
        clv.tracking(model, cdnow_tx.drop("amount"), as_of="1998-06-30")
