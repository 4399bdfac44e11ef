"""Data from where retailers keep it: a SQLite database file and a folder of parquet files.

No reader code of ours: Polars reads (``pl.read_database`` with the standard library's sqlite3
connection -- no extra dependency; ``pl.read_database_uri`` would need connectorx or ADBC), then
``retailcrm.prepare`` maps the columns and ``profiles.customers`` runs on the result.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import retailcrm
from retailcrm import datasets, profiles


@pytest.fixture(scope="module")
def sim() -> pl.DataFrame:
    return datasets.simulate(300, seed=21)


def _raw(sim: pl.DataFrame) -> pl.DataFrame:
    """The simulated lines as a till system exports them: its own names, text timestamps."""
    return sim.select(
        CustomerNo=pl.col("customer_id"),
        InvoiceNo=pl.col("order_id").cast(pl.String),
        InvoiceDate=pl.col("timestamp").dt.strftime("%Y-%m-%d %H:%M:%S"),
        StockCode=pl.col("item"),
        Brand=pl.col("brand").cast(pl.String),
        Department=pl.col("category").cast(pl.String),
        Qty=pl.col("quantity"),
        LineTotal=pl.col("amount"),
        LineMargin=pl.col("margin"),
        Channel=pl.col("channel").cast(pl.String),
    )


def _prepare(frame: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame | pl.LazyFrame:
    return retailcrm.prepare(
        frame,
        customer_id="CustomerNo",
        order_id="InvoiceNo",
        timestamp="InvoiceDate",
        item="StockCode",
        brand="Brand",
        category="Department",
        quantity="Qty",
        amount="LineTotal",
        margin="LineMargin",
        channel="Channel",
    )


def _expected(sim: pl.DataFrame) -> pl.DataFrame:
    """The profile of the in-memory frame, with the labels as text (as a database returns them)."""
    as_text = sim.with_columns(
        pl.col("order_id").cast(pl.String),
        pl.col("brand", "category", "channel").cast(pl.String),
    )
    return profiles.customers(as_text)


def test_sqlite_database_file(sim: pl.DataFrame, tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    raw = _raw(sim)
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE sales (CustomerNo INTEGER, InvoiceNo TEXT, InvoiceDate TEXT, "
            "StockCode INTEGER, Brand TEXT, Department TEXT, Qty REAL, LineTotal REAL, "
            "LineMargin REAL, Channel TEXT)"
        )
        connection.executemany(f"INSERT INTO sales VALUES ({', '.join('?' * 10)})", raw.rows())
    connection.close()

    with sqlite3.connect(path) as connection:
        read = pl.read_database("SELECT * FROM sales ORDER BY rowid", connection)
    connection.close()
    assert read.height == sim.height
    tx = _prepare(read)
    assert isinstance(tx, pl.DataFrame)
    assert tx.schema["timestamp"] == pl.Datetime("us")  # parsed from the text column
    assert_frame_equal(profiles.customers(tx), _expected(sim), check_dtypes=False)
    # the database can also do the first step: one row per customer, the same numbers
    with sqlite3.connect(path) as connection:
        totals = pl.read_database(
            "SELECT CustomerNo AS customer_id, SUM(LineTotal) AS revenue FROM sales "
            "GROUP BY CustomerNo ORDER BY CustomerNo",
            connection,
        )
    connection.close()
    assert_frame_equal(
        profiles.customers(tx).select("customer_id", "revenue"), totals, check_exact=False
    )


def test_folder_of_parquet_files(sim: pl.DataFrame, tmp_path: Path) -> None:
    folder = tmp_path / "sales"
    folder.mkdir()
    raw = _raw(sim).with_columns(month=pl.col("InvoiceDate").str.slice(0, 7))
    for (month,), part in raw.group_by("month"):
        part.drop("month").write_parquet(folder / f"sales-{month}.parquet")
    assert len(list(folder.glob("*.parquet"))) == 24  # one file a month, 2023-2024

    scan = pl.scan_parquet(folder / "*.parquet")
    tx = _prepare(scan)
    assert isinstance(tx, pl.LazyFrame)  # nothing read yet: lazy in, lazy out
    profile = profiles.customers(tx)
    assert isinstance(profile, pl.LazyFrame)
    streamed = profile.collect(engine="streaming")
    assert_frame_equal(streamed, _expected(sim), check_dtypes=False)
