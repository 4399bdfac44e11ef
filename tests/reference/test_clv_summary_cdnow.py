"""clv.summary on the CDNOW sample against the summary lifetimes ships and lifetimes' own code."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import retailcrm
import retailcrm.clv as clv

lifetimes = pytest.importorskip("lifetimes")
DATA = Path(lifetimes.__file__).parent / "datasets"


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    """The CDNOW 1/10 sample (2,357 customers): master id, id, yyyymmdd, CDs, dollars."""
    lines = pl.read_csv(
        DATA / "CDNOW_sample.txt", has_header=False, new_columns=["line"], separator="|"
    )
    fields = lines.select(
        pl.col("line").str.extract_groups(
            r"^\s*(?<master>\d+)\s+(?<id>\d+)\s+(?<day>\d{8})\s+(?<cds>\d+)\s+(?<dollars>[\d.]+)\s*$"
        )
    ).unnest("line")
    assert fields.null_count().sum_horizontal().item() == 0
    tx = retailcrm.prepare(
        fields,
        customer_id=pl.col("id").cast(pl.Int64),
        timestamp=pl.col("day").str.to_date("%Y%m%d"),
        amount="dollars",
    )
    assert isinstance(tx, pl.DataFrame)
    return tx


def test_reproduces_the_bundled_summary(cdnow: pl.DataFrame) -> None:
    ours = clv.summary(cdnow, as_of=date(1997, 9, 30), unit="1w")
    ref = pl.read_csv(DATA / "cdnow_customers_summary_with_transactions.csv")
    assert ref.height == 2357
    # the 8 customers missing from ours bought once, for $0: not a purchase by our definition
    missing = ref.join(ours, left_on="ID", right_on="customer_id", how="anti")
    assert missing.height == 8
    assert (missing["x"] == 0).all()
    zero_only = (
        cdnow.group_by("customer_id").agg(pl.col("amount").max()).filter(pl.col("amount") <= 0)
    )
    assert sorted(zero_only["customer_id"].to_list()) == sorted(missing["ID"].to_list())
    both = ours.join(ref, left_on="customer_id", right_on="ID")
    assert both.height == 2349
    assert (both["frequency"].cast(pl.Int64) == both["x"]).all()
    # the file is rounded to 2 decimals
    for ours_col, ref_col in [("recency", "t_x"), ("T", "T_right"), ("monetary_value", "zbar")]:
        gap = (both[ours_col] - both[ref_col]).abs().max()
        assert gap <= 0.005 + 1e-9, (ours_col, gap)


def test_matches_lifetimes_summary_and_holdout(cdnow: pl.DataFrame) -> None:
    utils = pytest.importorskip("lifetimes.utils")
    pdf = cdnow.to_pandas()
    ref = utils.summary_data_from_transaction_data(
        pdf,
        "customer_id",
        "timestamp",
        monetary_value_col="amount",
        observation_period_end="1997-09-30",
        freq="D",
        freq_multiplier=7,
    )
    ref = pl.from_pandas(ref.reset_index()).filter(pl.col("customer_id").is_in(ours_ids(cdnow)))
    ours = clv.summary(cdnow, as_of="1997-09-30")
    assert ours["customer_id"].to_list() == ref["customer_id"].to_list()
    for name in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[name].to_numpy(), ref[name].to_numpy(), rtol=1e-12)

    # lifetimes' calibration_and_holdout_data fails on pandas 3; its summary over the whole
    # period minus the calibration summary gives the holdout purchase days all the same
    full = utils.summary_data_from_transaction_data(
        pdf, "customer_id", "timestamp", observation_period_end="1998-06-30", freq="D"
    )
    full = pl.from_pandas(full.reset_index()).filter(pl.col("customer_id").is_in(ours_ids(cdnow)))
    ours_h = clv.summary(cdnow, as_of="1998-06-30", calibration_end="1997-09-30")
    np.testing.assert_array_equal(
        ours_h["frequency_holdout"].to_numpy(),
        full["frequency"].to_numpy() - ref["frequency"].to_numpy(),
    )
    assert (ours_h["duration_holdout"] == 273 / 7).all()  # 1997-09-30 to 1998-06-30
    assert_frame_equal(ours_h.select(ours.columns), ours, rel_tol=1e-12)


def ours_ids(cdnow: pl.DataFrame) -> list[int]:
    return cdnow.filter(pl.col("amount") > 0)["customer_id"].unique().to_list()
