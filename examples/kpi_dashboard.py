"""The monthly KPI dashboard of a simulated retailer: customers, revenue, rates, and more.

Writes ``kpi_dashboard.png`` (four panels: customers, revenue, rates, order size) and
``kpi_retention.png`` to the output folder, and prints the last months' KPI table::

    python examples/kpi_dashboard.py [OUTPUT_DIR]      # default examples/output/
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt
import polars as pl

from retailcrm import datasets, metrics, plot

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    tx = datasets.simulate(20_000, seed=5)
    # as_of mid-December: the last month is in progress (drawn hollow, its values partial)
    kpis = metrics.kpis(tx, period="1mo", as_of=date(2024, 12, 15))
    with pl.Config(tbl_cols=8, float_precision=2):
        print(kpis.select("period_start", "active_customers", "new_customers", "revenue",
                          "average_order_value", "retention_rate").tail(4))  # fmt: skip
    print(metrics.channel_mix(tx, as_of=date(2024, 12, 15), lookback="12mo"))

    fig, axes = plt.subplots(2, 2, figsize=(13, 8), layout="constrained")
    plot.kpis(kpis, columns=["active_customers", "new_customers", "returning_customers"],
              ax=axes[0, 0])  # fmt: skip
    plot.kpis(kpis, columns=["revenue", "margin"], currency="$", ax=axes[0, 1])
    plot.kpis(kpis, columns=["retention_rate", "repeat_purchase_rate"], ax=axes[1, 0])
    plot.kpis(kpis, columns=["average_order_value", "revenue_per_customer"], currency="$",
              ax=axes[1, 1])  # fmt: skip
    fig.suptitle("Monthly CRM KPIs (simulated retailer, as of 15 Dec 2024)")
    written = [out / "kpi_dashboard.png"]
    fig.savefig(written[0], dpi=90)
    plt.close(fig)

    ax = plot.kpis(kpis, columns=["retention_rate"])
    ax.figure.savefig(out / "kpi_retention.png", dpi=100)
    plt.close(ax.figure)
    written.append(out / "kpi_retention.png")
    return written


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    for path in main(parser.parse_args().output):
        print("wrote", path)
