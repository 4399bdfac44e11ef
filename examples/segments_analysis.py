"""Segments of a simulated retailer: contribution, loyalty tiers, switching and never-buy lists.

Writes to the output folder:

- ``segments_contribution.png``: each RFM segment's share of customers, sales and margin in 2024;
- ``segments_tiers.png``: how customers moved between loyalty tiers from 2023 to 2024;
- ``segments_switching.png``: where each category's buyers buy next (first-order switching).

Run from the repository root::

    python examples/segments_analysis.py [OUTPUT_DIR]      # default examples/output/
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
AS_OF = date(2024, 12, 31)
TIERS = {"Bronze": 0, "Silver": 250, "Gold": 750}


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    tx = datasets.simulate(20_000, seed=11)  # 2023-2024, with margin, brands and categories

    named = rfm.segments(
        rfm.scores(rfm.summary(tx, as_of=AS_OF), breaks={"frequency": [1, 2, 4, 8]})
    )
    shares = segments.contribution(tx, named, as_of=AS_OF, lookback="12mo")
    with pl.Config(tbl_rows=12, float_precision=3):
        print(shares.select("segment", "customers_share", "sales_share", "margin_share"))

    tiers = segments.tiers(tx, thresholds=TIERS, window="12mo", as_of=AS_OF)
    print(tiers.group_by("previous_tier", "tier").len().sort("previous_tier", "tier"))
    last_year = tiers.select("customer_id", tier="previous_tier").drop_nulls()
    this_year = tiers.select("customer_id", "tier").drop_nulls()
    moves = segments.migration(last_year, this_year, by="tier")

    switching = segments.switching_matrix(tx, level="category", as_of=AS_OF)

    # Wine buyers of the last 6 months who never bought cheese-and-snacks: a cross-sell list
    cross_sell = segments.never_buy(
        tx, target={"category": "Snacks & Sweets"}, among={"category": "Wine & Spirits"},
        as_of=AS_OF, lookback="6mo",
    )  # fmt: skip
    print(f"{cross_sell.height} wine buyers never bought snacks; top spenders:")
    print(cross_sell.head(3))

    written = []
    written.append(_save(plot.contribution(shares), out / "segments_contribution.png"))
    ax = plot.migration(moves)
    ax.set_title("Loyalty tiers: 2023 spend (rows) to 2024 spend (columns)")
    written.append(_save(ax, out / "segments_tiers.png"))
    written.append(_save(plot.switching(switching, top=12), out / "segments_switching.png"))
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
