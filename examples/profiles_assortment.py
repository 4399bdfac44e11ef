"""Customer profiles, the assortment by segment, restock reminders, the revenue tree, a forecast.

Simulated data (``datasets.simulate(3000, seed=7)``: 3,000 customers, 2023-2024). Prints the
head of each frame and writes to the output folder:

- ``profiles.csv``: one profile row per customer, with P(alive), expected purchases and CLV
  (BG/NBD + Gamma-Gamma) and the retailer's own attributes;
- ``assortment_by_segment.csv``: per RFM segment and category: penetration, index, rank;
- ``category_performance.csv``: per category and month: sales, buyers, new buyers, repeat rate;
- ``reminders.csv``: who is due to restock which category;
- ``revenue_tree.md``: why revenue moved between Q3 and Q4 2024;
- ``forecast.md``: the forecast of a January 2025 promotion to the Champions and Loyal.

Run from the repository root::

    python examples/profiles_assortment.py [OUTPUT_DIR]      # default examples/output/
"""

from __future__ import annotations

import argparse
import warnings
from datetime import date
from pathlib import Path

import polars as pl

from retailcrm import assortment, campaigns, clv, datasets, profiles, replenishment, rfm

try:  # the public path, once metrics re-exports it
    from retailcrm.metrics import revenue_tree  # type: ignore[attr-defined]
except ImportError:
    from retailcrm._revenue_tree import revenue_tree

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"
AS_OF = date(2024, 12, 31)


def show(title: str, frame: pl.DataFrame, columns: list[str] | None = None) -> None:
    """Print a title and the first five rows of a frame (or of some of its columns)."""
    print(f"\n## {title}")
    with pl.Config(
        tbl_cols=12, tbl_width_chars=160, float_precision=2, tbl_hide_dataframe_shape=True
    ):
        print((frame if columns is None else frame.select(columns)).head(5))


def attributes_table(n: int) -> pl.DataFrame:
    """The retailer's own customer table: a loyalty flag and an age group (made up, seeded)."""
    ids = pl.int_range(1, n + 1, eager=True).alias("customer_id")
    return pl.DataFrame(
        {
            "customer_id": ids,
            "loyalty_member": (ids % 3 == 0),
            "age_group": pl.Series(["18-34", "35-54", "55+"])[ids % 7 % 3],
        }
    )


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    tx = datasets.simulate(3000, seed=7)
    written: list[Path] = []

    # 1. profiles: without models, then with BG/NBD + Gamma-Gamma and the attributes table
    plain = profiles.customers(tx, as_of=AS_OF)
    show(
        "profiles.customers(tx)",
        plain,
        [
            "customer_id",
            "orders",
            "revenue",
            "mean_gap_days",
            "favourite_category",
            "favourite_category_share",
            "channel_mix",
            "segment",
        ],
    )
    s = clv.summary(tx, as_of=AS_OF, unit="1w")
    model = clv.BetaGeo.fit(s, unit="1w")
    spend = clv.GammaGamma.fit(s)
    with warnings.catch_warnings():  # customers 3001-3100 have no transaction: reported, kept
        warnings.simplefilter("ignore")
        full = profiles.customers(
            tx,
            as_of=AS_OF,
            model=model,
            spend_model=spend,
            horizon=12,
            unit="1mo",
            attributes=attributes_table(3100),
        )
    show(
        "profiles.customers(tx, model=..., spend_model=..., attributes=...)",
        full.sort("clv", descending=True, nulls_last=True),
        [
            "customer_id",
            "orders",
            "revenue",
            "p_alive",
            "expected_purchases",
            "expected_spend",
            "clv",
            "loyalty_member",
            "match",
        ],
    )
    written.append(_csv(full, out / "profiles.csv"))

    # 2. the assortment by RFM segment (categories), and the category dashboard
    # half the customers buy once: fixed frequency breaks (1, 2, 3-5, ...) as in rfm_segments.py
    scored = rfm.scores(rfm.summary(tx, as_of=AS_OF), breaks={"frequency": [1, 2, 3, 5]})
    segments = rfm.segments(scored)
    by_segment = assortment.by_segment(
        tx,
        segments.select("customer_id", "segment"),
        level="category",
        as_of=AS_OF,
        lookback="12mo",
    )
    show(
        'assortment.by_segment(..., level="category") -- Champions, by index',
        by_segment.filter(pl.col("segment") == "Champions").sort("index", descending=True),
        [
            "segment",
            "category",
            "segment_customers",
            "buyers",
            "penetration",
            "spend_share",
            "index",
            "rank",
        ],
    )
    written.append(_csv(by_segment, out / "assortment_by_segment.csv"))
    perf = assortment.performance(tx, level="category", period="1mo", as_of=AS_OF)
    show(
        'assortment.performance(level="category", period="1mo") -- Pantry, last months',
        perf.filter(pl.col("category") == "Pantry").tail(5),
        [
            "category",
            "period_start",
            "sales",
            "units",
            "buyers",
            "new_buyers",
            "repeat_rate",
            "sales_growth",
            "is_complete",
        ],
    )
    written.append(_csv(perf, out / "category_performance.csv"))

    # 3. restock reminders per category
    due = replenishment.reminders(tx, level="category", min_purchases=3, as_of=AS_OF)
    show(
        'replenishment.reminders(level="category") -- overdue by 0 to 7 days',
        due.filter(pl.col("days_overdue").is_between(0, 7)),
        [
            "customer_id",
            "category",
            "purchases",
            "last_purchase",
            "own_median_days",
            "item_median_days",
            "weight",
            "interval_days",
            "next_purchase",
            "days_overdue",
        ],
    )
    written.append(_csv(due, out / "reminders.csv"))

    # 4. why revenue moved between two quarters
    tree = revenue_tree(
        tx, period_a=("2024-07-01", "2024-09-30"), period_b=("2024-10-01", "2024-12-31")
    )
    show("revenue_tree(Q3 2024 -> Q4 2024), revenue", tree.filter(pl.col("measure") == "revenue"))
    written.append(_markdown(tree, out / "revenue_tree.md"))

    # 5. a January promotion to the Champions and Loyal, from the model and from history
    listed = segments.filter(pl.col("segment").is_in(["Champions", "Loyal"])).select("customer_id")
    window = ("2025-01-01", "2025-01-31")
    by_model = campaigns.forecast(
        tx, listed, window=window, model=model, spend_model=spend, uplift=0.1
    )
    by_history = campaigns.forecast(tx, listed, window=window, history=4, uplift=0.1)
    columns = ["figure", "method", "customers", "windows", "baseline", "forecast", "lower", "upper"]
    show("campaigns.forecast(model=BG/NBD, spend_model=Gamma-Gamma, uplift=0.1)", by_model, columns)
    show("campaigns.forecast(history=4, uplift=0.1)", by_history, columns)
    written.append(_markdown(pl.concat([by_model, by_history]), out / "forecast.md"))
    return written


def _csv(frame: pl.DataFrame, path: Path) -> Path:
    frame.write_csv(path)
    return path


def _markdown(frame: pl.DataFrame, path: Path) -> Path:
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=-1,
        tbl_cols=-1,
        float_precision=2,
    ):
        path.write_text(f"{frame}\n")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    for path in main(parser.parse_args().output):
        print("wrote", path)
