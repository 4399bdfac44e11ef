"""Convert the CDNOW text files shipped with lifetimes into the parquet files retailcrm bundles.

Run once from the repository root (needs the dev extra: lifetimes, pandas, pyarrow)::

    python scripts/make_cdnow.py

Input (whitespace-separated, one line per customer-day, CRLF line ends), from the installed
``lifetimes/datasets/`` folder:

- ``CDNOW_master.txt``: a header line, then ``customer_id date number_of_cds dollar_value``
  (23,570 customers, 69,659 rows).
- ``CDNOW_sample.txt``: no header; ``master_id sample_id date number_of_cds dollar_value``
  (2,357 customers, 6,919 rows). ``sample_id`` (1..2357) is only the sample's own numbering;
  we keep ``master_id`` so that a customer has the same id in both files and the sample is a
  subset of the master rows.

Output in ``src/retailcrm/data/``: ``cdnow_master.parquet`` and ``cdnow_sample.parquet`` with
the canonical columns ``customer_id`` (Int64), ``timestamp`` (Date), ``quantity`` (Float64)
and ``amount`` (Float64), in the file's row order, duplicates kept. Written with pyarrow (zstd
level 22, delta-encoded ids, dictionary-encoded dates and values, no statistics) to keep the
wheel small.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lifetimes
import pandas as pd
import polars as pl
import pyarrow.parquet as pq

RAW = Path(lifetimes.__file__).parent / "datasets"
OUT = Path(__file__).resolve().parents[1] / "src" / "retailcrm" / "data"


def convert(raw: pd.DataFrame) -> pl.DataFrame:
    frame = pl.from_pandas(raw[["customer_id", "date", "number_of_cds", "dollar_value"]])
    return frame.select(
        customer_id=pl.col("customer_id").cast(pl.Int64),
        timestamp=pl.col("date").cast(pl.String).str.to_date("%Y%m%d"),
        quantity=pl.col("number_of_cds").cast(pl.Float64),
        amount=pl.col("dollar_value").cast(pl.Float64),
    )


def main() -> int:
    master = pd.read_csv(RAW / "CDNOW_master.txt", sep=r"\s+", header=0, dtype={"date": str})
    sample = pd.read_csv(
        RAW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["customer_id", "sample_id", "date", "number_of_cds", "dollar_value"],
        dtype={"date": str},
    )
    OUT.mkdir(parents=True, exist_ok=True)
    for name, raw, customers, rows in (
        ("cdnow_master", master, 23_570, 69_659),
        ("cdnow_sample", sample, 2_357, 6_919),
    ):
        frame = convert(raw)
        found = (frame["customer_id"].n_unique(), frame.height)
        if found != (customers, rows):
            sys.stderr.write(f"{name}: expected {(customers, rows)} customers/rows, got {found}\n")
            return 1
        path = OUT / f"{name}.parquet"
        pq.write_table(
            frame.to_arrow(),
            path,
            compression="zstd",
            compression_level=22,
            write_statistics=False,
            use_dictionary=["timestamp", "quantity", "amount"],
            column_encoding={"customer_id": "DELTA_BINARY_PACKED"},
        )
        if not pl.read_parquet(path).equals(frame):
            sys.stderr.write(f"{path}: does not read back equal\n")
            return 1
        sys.stdout.write(f"{path}: {path.stat().st_size:,} bytes\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
