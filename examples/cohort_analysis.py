"""Cohort analysis: monthly acquisition cohorts of a simulated retailer, as tables and figures.

Writes to the output folder:

- ``cohort_retention.png``: the retention triangle (% of each cohort buying k months later);
- ``cohort_revenue.png``: cumulative net revenue per acquired customer, one line per cohort;
- ``cohort_revenue_heatmap.png``: revenue per acquired customer, month by month.

Run from the repository root::

    python examples/cohort_analysis.py [OUTPUT_DIR]      # default examples/output/
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt
import polars as pl

from retailcrm import cohorts, datasets, plot

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    # 20,000 customers acquired evenly over 2023-2024, buying as in the BG/NBD model
    tx = datasets.simulate(20_000, seed=7)
    as_of = date(2024, 12, 31)
    table = cohorts.table(tx, period="1mo", as_of=as_of)  # long: cohort x months since

    first_year = table.filter(pl.col("period_index") <= 12)
    print(f"{table['cohort'].n_unique()} monthly cohorts, {table.height} cells; month 1-3:")
    with pl.Config(tbl_rows=6, float_precision=3):
        print(cohorts.matrix(first_year, values="retention_rate").select("cohort", "1", "2", "3"))

    written = []
    ax = plot.cohort_heatmap(table, max_period=12)
    written.append(_save(ax, out / "cohort_retention.png"))
    ax = plot.cohort_revenue(table.filter(pl.col("cohort").dt.month() % 3 == 1), currency="$")
    ax.set_title("Cumulative revenue per acquired customer (every third cohort)")
    written.append(_save(ax, out / "cohort_revenue.png"))
    ax = plot.cohort_heatmap(table, values="revenue_per_customer", max_period=12, currency="$")
    written.append(_save(ax, out / "cohort_revenue_heatmap.png"))
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
