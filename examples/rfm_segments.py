"""RFM segmentation of the CDNOW customers, and how the segments moved over six months.

Writes to the output folder:

- ``rfm_segments.png``: each segment's share of the customers and of the revenue;
- ``rfm_grid_customers.png`` and ``rfm_grid_monetary.png``: the recency x frequency score grid,
  coloured by the number of customers and by their mean spend;
- ``rfm_migration.png``: where the segments of 31 Dec 1997 were on 30 Jun 1998.

Run from the repository root::

    python examples/rfm_segments.py [OUTPUT_DIR]      # default examples/output/
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt
import polars as pl

from retailcrm import datasets, plot, rfm, segments

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"
# Half of CDNOW's customers buy once: quantile F scores would lump them all into score 1 with
# empty bins, so frequency gets fixed breaks (1, 2, 3-5... purchases) and the rest quantiles.
FREQUENCY_BREAKS = {"frequency": [1, 2, 3, 5]}


def segment_customers(tx: pl.DataFrame, as_of: date) -> pl.DataFrame:
    """RFM summary, scores and the 11 named segments of every customer, as of a day."""
    scored = rfm.scores(rfm.summary(tx, as_of=as_of), breaks=FREQUENCY_BREAKS)
    return rfm.segments(scored)


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    tx = datasets.load_cdnow()  # 23,570 customers, Jan 1997 - Jun 1998
    now = segment_customers(tx, date(1998, 6, 30))
    before = segment_customers(tx, date(1997, 12, 31))

    sizes = (
        now.group_by("segment")
        .agg(customers=pl.len(), revenue=pl.col("monetary").sum())
        .with_columns(revenue_share=pl.col("revenue") / pl.col("revenue").sum())
        .sort("segment")
    )
    with pl.Config(tbl_rows=12, float_precision=3):
        print(sizes)
    print(rfm.thresholds(now).filter(pl.col("measure") == "recency"))

    written = []
    written.append(_save(plot.rfm_segments(now), out / "rfm_segments.png"))
    written.append(_save(plot.rfm_grid(now), out / "rfm_grid_customers.png"))
    ax = plot.rfm_grid(now, value="monetary", statistic="median", currency="$")
    written.append(_save(ax, out / "rfm_grid_monetary.png"))
    moves = segments.migration(before, now)
    ax = plot.migration(moves)
    ax.set_title("RFM segments on 31 Dec 1997 (rows) and 30 Jun 1998 (columns)")
    written.append(_save(ax, out / "rfm_migration.png"))
    return written


def _save(ax: plt.Axes, path: Path) -> Path:
    ax.figure.savefig(path, dpi=100)
    plt.close(ax.figure)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    for path in main(parser.parse_args().output):
        print("wrote", path)
