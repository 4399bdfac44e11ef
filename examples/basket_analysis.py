"""Market basket analysis of a simulated retailer: itemsets, rules and next-best offers.

The simulator draws the items of a basket independently, so its lifts sit at 1. To see what
the rules find, :func:`plant_affinities` adds three known associations first: a best-selling
Household item to 40 % of the baskets with Baby products, a Snacks item to 40 % of those with
Wine & Spirits, a Garden item to 40 % of those with Pet Care.

Writes to the output folder:

- ``basket_rules.png``: association rules between brands, support x confidence, coloured by lift;
- ``basket_cooccurrence.png``: how often the 15 most frequent categories share a basket;
- ``basket_lift.png``: the lift between those categories (1 = bought together by chance).

Run from the repository root::

    python examples/basket_analysis.py [OUTPUT_DIR]      # default examples/output/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt
import numpy as np
import polars as pl

from retailcrm import basket, datasets, plot

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"
AFFINITIES = {"Baby": "Household", "Wine & Spirits": "Snacks & Sweets", "Pet Care": "Garden"}


def plant_affinities(tx: pl.DataFrame, *, seed: int, share: float = 0.4) -> pl.DataFrame:
    """Add the best-selling item of a companion category to ``share`` of the trigger's baskets."""
    rng = np.random.default_rng(seed)
    extra = []
    for trigger, companion in AFFINITIES.items():
        sold = tx.filter(pl.col("category") == companion, pl.col("amount") > 0)
        item = sold.group_by("item").len().sort("len", "item", descending=True)["item"][0]
        line = sold.filter(pl.col("item") == item).row(0, named=True)
        unit_price, unit_margin = (
            line["amount"] / line["quantity"],
            line["margin"] / line["quantity"],
        )
        baskets = tx.filter(pl.col("category") == trigger, pl.col("amount") > 0).unique(
            "order_id", keep="first", maintain_order=True
        )
        chosen = baskets.filter(pl.Series(rng.random(baskets.height) < share))
        extra.append(
            chosen.with_columns(
                item=pl.lit(item, pl.Int32),
                brand=pl.lit(line["brand"], tx.schema["brand"]),
                category=pl.lit(companion, tx.schema["category"]),
                quantity=pl.lit(1.0),
                amount=pl.lit(unit_price),
                margin=pl.lit(unit_margin),
            )
        )
    return pl.concat([tx, *extra]).sort("timestamp", "order_id")


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    tx = plant_affinities(datasets.simulate(20_000, seed=3), seed=3)  # ~200,000 lines
    baskets = tx["order_id"].n_unique()
    print(f"{tx.height:,} lines in {baskets:,} baskets")

    # Brands bought together in at least 0.1 % of the baskets, and the rules between them
    brand_sets = basket.itemsets(tx, min_support=0.001, max_len=2, level="brand")
    brand_rules = basket.rules(brand_sets, min_confidence=0.05, min_lift=1.0)
    with pl.Config(tbl_rows=5, fmt_str_lengths=40):
        print(brand_rules.select("antecedent", "consequent", "support", "confidence", "lift"))

    # Next-best brands for each customer, from the rules their history satisfies
    offers = basket.next_best(tx, brand_rules, k=3, level="brand")
    print(offers.drop_nulls("rank").head(6))

    written = []
    written.append(_save(plot.rules(brand_rules), out / "basket_rules.png"))
    category_sets = basket.itemsets(tx, min_support=0.002, max_len=2, level="category")
    ax = plot.cooccurrence(category_sets, top=15)
    written.append(_save(ax, out / "basket_cooccurrence.png"))
    ax = plot.cooccurrence(category_sets, top=15, value="lift")
    written.append(_save(ax, out / "basket_lift.png"))
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
