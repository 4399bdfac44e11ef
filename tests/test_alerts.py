"""alerts.churn: a fixture made overdue by hand, a plain-Python oracle, P(alive) by formula."""

from __future__ import annotations

import itertools
import math
from datetime import date, datetime, timedelta

import hypothesis.strategies as st
import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from polars.testing import assert_frame_equal
from polars.testing.parametric import column, dataframes

import retailcrm.clv as clv
from retailcrm import (
    ArgumentError,
    ColumnError,
    DataError,
    InputTypeError,
    alerts,
    datasets,
    rfm,
)

DAY0 = date(2024, 1, 1)


def _day(n: int) -> date:
    return DAY0 + timedelta(days=n)


# --------------------------------------------------------------------------- overdue rule


@pytest.fixture
def tx() -> pl.DataFrame:
    """Purchase days per customer (day 0 = 2024-01-01); the data end on day 100.

    1: 0, 10, 20, 30 (+ a pure return on day 99)  own rhythm, gaps 10 10 10 -> limit 10; 70 days
    2: 0, 50, 100                                   pooled (2 gaps); 0 days
    3: 60                                           pooled; 40 days
    4: 0, 30, 60, 90                                own, gaps 30 30 30 -> limit 30; 10 days
    5: 20                                           pooled; 80 days
    6: 0 (two orders that day), 40                  pooled (1 gap of 40: same-day orders are
                                                    one purchase day); 60 days
    """
    rows = [
        (1, "a1", 0, 10.0), (1, "a2", 10, 12.0), (1, "a3", 20, 8.0), (1, "a4", 30, 10.0),
        (1, "a5", 99, -10.0),
        (2, "b1", 0, 50.0), (2, "b2", 50, 40.0), (2, "b3", 100, 30.0),
        (3, "c1", 60, 500.0),
        (4, "d1", 0, 5.0), (4, "d2", 30, 5.0), (4, "d3", 60, 5.0), (4, "d4", 90, 5.0),
        (5, "e1", 20, 70.0),
        (6, "f1", 0, 20.0), (6, "f2", 0, 25.0), (6, "f3", 40, 15.0),
    ]  # fmt: skip
    return pl.DataFrame(
        [(c, o, datetime.combine(_day(d), datetime.min.time()), a) for c, o, d, a in rows],
        schema=["customer_id", "order_id", "timestamp", "amount"],
        orient="row",
    )


def test_overdue_flags_exactly_the_late_customers(tx: pl.DataFrame) -> None:
    # pooled gaps: 10 10 10 | 50 50 | 30 30 30 | 40 -> the 0.9 quantile (type 7) of the nine
    pooled = float(np.quantile([10, 10, 10, 50, 50, 30, 30, 30, 40], 0.9))
    assert pooled == 50.0
    out = alerts.churn(tx)
    expected = pl.DataFrame(
        {
            "customer_id": [5, 6, 1],  # by past spend: 70, 60, 30 (40 less a 10 return)
            "reason": pl.Series(
                ["overdue (pooled rhythm)", "overdue (pooled rhythm)", "overdue (own rhythm)"],
                dtype=pl.Enum(alerts.REASONS),
            ),
            "value_at_risk": [70.0, 60.0, 30.0],
            "days_since_last_purchase": [80.0, 60.0, 70.0],  # 1's return on day 99 is no purchase
            "p_alive": pl.Series([None] * 3, dtype=pl.Float64),
            "previous_p_alive": pl.Series([None] * 3, dtype=pl.Float64),
            "gap_limit_days": [pooled, pooled, 10.0],
        }
    )
    assert_frame_equal(out, expected)


def test_overdue_min_gaps_quantile_and_as_of(tx: pl.DataFrame) -> None:
    # min_gaps=1: customer 2 (gaps 50 50) and 6 (gap 40) use their own rhythm now;
    # 6 is 60 days late against 40
    out = alerts.churn(tx, min_gaps=1)
    assert dict(out.select("customer_id", "reason").rows()) == {
        5: "overdue (pooled rhythm)",
        1: "overdue (own rhythm)",
        6: "overdue (own rhythm)",
    }
    # the median gap of everybody (30) flags customer 3 too (40 days)
    low = alerts.churn(tx, quantile=0.5)
    assert set(low["customer_id"]) == {1, 3, 5, 6}
    assert low.filter(pl.col("customer_id") == 3)["gap_limit_days"].item() == 30.0
    # as of day 45 the rows after are ignored: gaps 10 10 10 (1), 30 (4), 40 (6); 1 is 15 days
    # past its 10, 2 (one purchase, day 0) 45 days past the pooled 36; 5 only 25
    early = alerts.churn(tx, as_of=_day(45))
    pooled_45 = float(np.quantile([10, 10, 10, 30, 40], 0.9))
    assert pooled_45 == pytest.approx(36.0)
    assert dict(early.select("customer_id", "gap_limit_days").rows()) == {1: 10.0, 2: pooled_45}


def test_overdue_with_clv_values_and_lazy(tx: pl.DataFrame) -> None:
    values = pl.DataFrame({"customer_id": [1, 5, 6], "clv": [9.0, 1.0, None]})
    out = alerts.churn(tx, clv=values)
    assert out.select("customer_id", "value_at_risk").rows() == [(1, 9.0), (5, 1.0), (6, None)]
    lazy = alerts.churn(tx.lazy(), clv=values.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), out)


tx_frames = dataframes(
    [
        column("customer_id", dtype=pl.Int64, strategy=st.integers(0, 6)),
        column("timestamp", dtype=pl.Date, strategy=st.dates(date(2024, 1, 1), date(2024, 6, 30))),
        column("amount", dtype=pl.Float64, strategy=st.floats(0.5, 100)),
    ],
    min_size=1,
    max_size=40,
    allow_null=False,
)


def _plain_overdue(frame: pl.DataFrame, q: float, min_gaps: int) -> dict[int, float] | None:
    """The documented rule in plain Python: customer -> limit of those flagged (None: no gaps)."""
    days: dict[int, list[date]] = {}
    for c, t in frame.select("customer_id", "timestamp").rows():
        days.setdefault(c, []).append(t)
    gaps = {}
    for c, seen in days.items():
        ordered = sorted(set(seen))
        gaps[c] = [float((b - a).days) for a, b in itertools.pairwise(ordered)]
    everyone = [g for per in gaps.values() for g in per]
    if not everyone:
        return None
    pooled = float(np.quantile(everyone, q))
    end = frame["timestamp"].max()
    flagged = {}
    for c, own in gaps.items():
        limit = float(np.quantile(own, q)) if len(own) >= min_gaps else pooled
        if (end - max(days[c])).days > limit:
            flagged[c] = limit
    return flagged


@settings(max_examples=60, deadline=None)
@given(frame=tx_frames, q=st.sampled_from([0.5, 0.75, 0.9]), min_gaps=st.integers(1, 3))
def test_overdue_matches_a_plain_python_oracle(
    frame: pl.DataFrame, q: float, min_gaps: int
) -> None:
    expected = _plain_overdue(frame, q, min_gaps)
    if expected is None:
        with pytest.raises(DataError, match="no customer has two purchase days"):
            alerts.churn(frame, quantile=q, min_gaps=min_gaps)
        return
    out = alerts.churn(frame, quantile=q, min_gaps=min_gaps)
    assert dict(out.select("customer_id", "gap_limit_days").rows()) == pytest.approx(expected)
    spend = rfm.summary(frame).filter(pl.col("customer_id").is_in(list(expected)))
    assert sorted(out["value_at_risk"]) == pytest.approx(sorted(spend["monetary"]))


# --------------------------------------------------------------------------- with a model

CDNOW = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")  # weeks


def _p_alive(x: float, t_x: float, big_t: float) -> float:
    """BG/NBD P(alive), eq. (12) of Fader, Hardie & Lee (2005), written out."""
    if x == 0:
        return 1.0
    r, alpha, a, b = 0.2426, 4.4135, 0.7930, 2.4259
    return 1.0 / (1.0 + a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x))


@pytest.fixture
def summary() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "customer_id": [1, 2, 3, 4, 5],
            "frequency": [2, 5, 0, 1, 8],
            "recency": [30.43, 10.0, 0.0, 35.0, 38.0],
            "T": [38.86, 38.86, 20.0, 38.86, 38.86],
        }
    )


def test_p_alive_threshold_matches_the_formula(summary: pl.DataFrame) -> None:
    p = {c: _p_alive(x, tx, T) for c, x, tx, T in summary.rows()}
    for threshold in (0.3, 0.5, 0.8):
        out = alerts.churn(summary, CDNOW, threshold=threshold)
        assert set(out["customer_id"]) == {c for c, v in p.items() if v < threshold}
        assert set(out["reason"]) <= {"p_alive below threshold"}
        for c, value, days in out.select(
            "customer_id", "p_alive", "days_since_last_purchase"
        ).rows():
            assert value == pytest.approx(p[c], rel=1e-12)
            row = summary.filter(pl.col("customer_id") == c).row(0, named=True)
            assert days == pytest.approx((row["T"] - row["recency"]) * 7)
    assert out["value_at_risk"].null_count() == out.height  # a summary has no past spend
    # P(alive): 0.727, 0.025 (5 purchases, then nothing for 29 weeks), 1 (one-time buyer),
    # 0.731, 0.910: the three thresholds flag {2}, {2} and {1, 2, 4}
    assert set(alerts.churn(summary, CDNOW, threshold=0.8)["customer_id"]) == {1, 2, 4}
    assert set(alerts.churn(summary, CDNOW, threshold=0.3)["customer_id"]) == {2}


def test_p_alive_drop_since_the_previous_run(summary: pl.DataFrame) -> None:
    now = CDNOW.p_alive(summary)
    before = now.with_columns(
        p_alive=pl.when(pl.col("customer_id") == 1)
        .then(pl.col("p_alive") + 0.25)
        .when(pl.col("customer_id") == 2)
        .then(0.9)
        .otherwise(pl.col("p_alive"))
    ).filter(pl.col("customer_id") != 4)  # 4 was not scored before: no drop to see
    out = alerts.churn(summary, model=CDNOW, threshold=0.05, previous=before, drop=0.2)
    reasons = dict(out.select("customer_id", "reason").rows())
    assert reasons == {1: "p_alive dropped", 2: "p_alive below threshold and dropped"}
    prior = dict(out.select("customer_id", "previous_p_alive").rows())
    assert prior[2] == 0.9
    values = pl.DataFrame({"customer_id": [1, 2], "clv": [5.0, 50.0]})
    ranked = alerts.churn(summary, CDNOW, threshold=0.05, previous=before, clv=values)
    assert ranked["customer_id"].to_list() == [2, 1]  # by clv, the largest first


def test_model_from_transactions_uses_past_spend() -> None:
    tx = datasets.simulate(300, seed=4)
    s = clv.summary(tx, unit="1w")
    out = alerts.churn(tx, CDNOW, threshold=0.4)
    from_summary = alerts.churn(s, CDNOW, threshold=0.4)
    assert out["customer_id"].sort().to_list() == from_summary["customer_id"].sort().to_list()
    spend = dict(rfm.summary(tx).select("customer_id", "monetary").rows())
    recency = dict(rfm.summary(tx).select("customer_id", "recency").rows())
    for c, value, days in out.select(
        "customer_id", "value_at_risk", "days_since_last_purchase"
    ).rows():
        assert value == pytest.approx(spend[c])
        assert days == pytest.approx(recency[c])
    assert out["value_at_risk"].is_sorted(descending=True)
    lazy = alerts.churn(tx.lazy(), CDNOW, threshold=0.4)
    assert_frame_equal(lazy.collect(), out, check_exact=False)


# --------------------------------------------------------------------------- bad input


def test_threshold_and_other_arguments_out_of_range(
    summary: pl.DataFrame, tx: pl.DataFrame
) -> None:
    for bad in (0, 1, 1.5, -0.1, math.nan, "0.5", True):
        with pytest.raises(
            ArgumentError, match=r"threshold must be a number in \(0, 1\), e\.g\. 0\.5"
        ):
            alerts.churn(summary, CDNOW, threshold=bad)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"drop must be a number in \(0, 1\)"):
        alerts.churn(summary, CDNOW, drop=1.0)
    with pytest.raises(ArgumentError, match=r"quantile must be a number in \(0, 1\)"):
        alerts.churn(tx, quantile=0)
    with pytest.raises(ArgumentError, match="min_gaps must be a whole number >= 1; got 0"):
        alerts.churn(tx, min_gaps=0)


def test_wrong_combinations(summary: pl.DataFrame, tx: pl.DataFrame) -> None:
    with pytest.raises(ArgumentError, match="a clv summary needs a model"):
        alerts.churn(summary)
    with pytest.raises(
        ArgumentError, match="previous holds earlier P\\(alive\\) scores and needs a model"
    ):
        alerts.churn(tx, previous=CDNOW.p_alive(summary))
    with pytest.raises(ArgumentError, match="as_of applies to transactions"):
        alerts.churn(summary, CDNOW, as_of=date(2024, 1, 1))
    with pytest.raises(
        ArgumentError,
        match=r"model must be a fitted transaction model such as clv\.BetaGeo; got GammaGamma",
    ):
        alerts.churn(summary, clv.GammaGamma(p=6.25, q=3.74, v=15.44))  # type: ignore[arg-type]


def test_bad_frames(summary: pl.DataFrame, tx: pl.DataFrame) -> None:
    one_time = tx.filter(pl.col("customer_id").is_in([3, 5]))
    with pytest.raises(DataError, match="no customer has two purchase days up to as_of"):
        alerts.churn(one_time)
    twice = pl.DataFrame({"customer_id": [1, 1], "clv": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"2 row\(s\) of clv repeat a customer_id"):
        alerts.churn(tx, clv=twice)
    text = CDNOW.p_alive(summary).with_columns(pl.col("customer_id").cast(pl.String))
    with pytest.raises(ColumnError, match="customer_id of previous is String but Int64"):
        alerts.churn(summary, CDNOW, previous=text)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['p_alive'\]"):
        alerts.churn(summary, CDNOW, previous=summary)
    with pytest.raises(InputTypeError, match="clv must be a polars frame"):
        alerts.churn(tx, clv={1: 2.0})  # type: ignore[arg-type]
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['amount'\]"):
        alerts.churn(tx.drop("amount"))


def test_simulated_eager_lazy_and_row_order_agree() -> None:
    tx = datasets.simulate(1_000, seed=8)
    eager = alerts.churn(tx)
    assert eager.height > 0
    assert set(eager["reason"]) == {"overdue (own rhythm)", "overdue (pooled rhythm)"}
    assert_frame_equal(alerts.churn(tx.lazy()).collect(), eager, check_exact=False)
    shuffled = alerts.churn(tx.sample(fraction=1.0, shuffle=True, seed=1))
    assert_frame_equal(shuffled, eager, check_exact=False)
