"""Quick start: RFM segments and a monthly cohort matrix of the bundled CDNOW data.

Run from the repository root after ``pip install .``::

    python examples/quickstart.py

With the ``plot`` extra (``pip install ".[plot]"``) it also draws the RFM segments and the
cohort revenue curves, saves them to ``examples/output/quickstart.png`` and shows the figure.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import polars as pl

import retailcrm
from retailcrm import cohorts, datasets, rfm


def main() -> None:
    # 69,659 CD purchases of 23,570 customers who first bought in Q1 1997, to mid 1998.
    tx = datasets.load_cdnow()
    print(
        f"retailcrm {retailcrm.__version__}: CDNOW, {tx.height:,} transactions of "
        f"{tx['customer_id'].n_unique():,} customers, "
        f"{tx['timestamp'].min()} to {tx['timestamp'].max()}\n"
    )

    # Your own table goes through prepare() first, e.g.
    #   tx = retailcrm.prepare(raw, customer_id="CustomerID", timestamp="InvoiceDate",
    #                          amount=pl.col("Quantity") * pl.col("UnitPrice"),
    #                          order_id="InvoiceNo")

    summary = rfm.summary(tx)
    scored = rfm.scores(summary, breaks={"frequency": [1, 2, 3, 5]})  # 51% buy once: fixed F bins
    named = rfm.segments(scored)
    by_segment = (
        named.group_by("segment")
        .agg(
            customers=pl.len(),
            revenue=pl.col("monetary").sum(),
            median_recency_days=pl.col("recency").median(),
            mean_orders=pl.col("frequency").mean(),
        )
        .with_columns(
            customer_share=pl.col("customers") / pl.col("customers").sum(),
            revenue_share=pl.col("revenue") / pl.col("revenue").sum(),
        )
        .sort("segment")
    )
    print("RFM segments (11-segment scheme) as of", tx["timestamp"].max())
    with pl.Config(tbl_rows=20, tbl_cols=10, float_precision=2, tbl_width_chars=140):
        print(by_segment)

    table = cohorts.table(tx, period="1mo")
    matrix = cohorts.matrix(table.filter(pl.col("period_index") <= 12), values="retention_rate")
    print("\nMonthly cohorts: share of each cohort buying in month k after acquisition")
    with pl.Config(tbl_cols=16, float_precision=3, tbl_width_chars=200):
        print(matrix)

    if importlib.util.find_spec("matplotlib") is None:
        print('\nFor figures: pip install "retailcrm-analytics[plot]"')
        return
    import matplotlib.pyplot as plt

    from retailcrm import plot

    fig, (left, right) = plt.subplots(1, 2, figsize=(14, 5), layout="constrained")
    plot.rfm_segments(named, ax=left)
    plot.cohort_revenue(table, currency="$", ax=right)
    path = Path(__file__).resolve().parent / "output" / "quickstart.png"
    path.parent.mkdir(exist_ok=True)
    fig.savefig(path, dpi=90)
    print(f"\nFigure saved to {path}")
    if plt.get_backend().lower() != "agg":  # a screen is available
        plt.show()


if __name__ == "__main__":
    main()
