"""The monthly CRM report of one retailer, as a self-contained Markdown file with its figures.

KPIs, RFM segments and how they moved, acquisition cohorts, customer lifetime value with the
valuable customers at risk, and next-best-purchase lists -- for the month ending ``AS_OF`` of
a simulated retailer (with three planted basket associations, see ``basket_analysis.py``).
Writes ``report.md`` and its PNG figures to ``OUTPUT_DIR/monthly_report/``::

    python examples/monthly_report.py [OUTPUT_DIR]      # default examples/output/
"""

from __future__ import annotations

import argparse
from datetime import date
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt
import polars as pl
from basket_analysis import plant_affinities

from retailcrm import alerts, basket, clv, cohorts, datasets, metrics, plot, rfm, segments

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"
AS_OF = date(2024, 11, 30)  # the last day of the month reported
MONTH_BEFORE = date(2024, 10, 31)
F_BREAKS = {"frequency": [1, 2, 4, 8]}


def table(frame: pl.DataFrame, decimals: int = 2) -> str:
    """A frame as a Markdown table."""
    with pl.Config(
        tbl_formatting="MARKDOWN",
        tbl_hide_column_data_types=True,
        tbl_hide_dataframe_shape=True,
        tbl_rows=-1,
        tbl_cols=-1,
        tbl_width_chars=1000,
        fmt_str_lengths=60,
        float_precision=decimals,
    ):
        return str(frame)


def main(out: Path) -> list[Path]:
    folder = out / "monthly_report"
    folder.mkdir(parents=True, exist_ok=True)
    tx = plant_affinities(datasets.simulate(20_000, seed=2024), seed=1)
    figures: list[Path] = []

    def save(ax: plt.Axes, name: str) -> str:
        ax.figure.savefig(folder / name, dpi=90)
        plt.close(ax.figure)
        figures.append(folder / name)
        return f"![{name}]({name})"

    md = [f"# Monthly CRM report: {AS_OF:%B %Y}", ""]
    first = tx["timestamp"].min()
    md += [f"Data up to {AS_OF}; {tx['customer_id'].n_unique():,} customers, "
           f"{tx['order_id'].n_unique():,} orders since {first:%d %b %Y}.", ""]  # fmt: skip

    # 1. KPIs
    kpis = metrics.kpis(tx, period="1mo", as_of=AS_OF)
    last = kpis.tail(13)
    headline = last.select(
        "period_start", "active_customers", "new_customers", "orders", "revenue",
        "average_order_value", "retention_rate", "repeat_purchase_rate",
    ).filter(pl.int_range(pl.len()).is_in([0, 11, 12]))  # fmt: skip
    md += ["## 1. KPIs", "", "This month, the month before and the same month last year:", ""]
    md += [table(headline), ""]
    _, (left, right) = plt.subplots(1, 2, figsize=(12, 4), layout="constrained")
    plot.kpis(kpis, columns=["active_customers", "new_customers", "returning_customers"], ax=left)
    plot.kpis(kpis, columns=["retention_rate", "repeat_purchase_rate"], ax=right)
    md += [save(left, "kpis.png"), ""]

    # 2. RFM segments and their moves over the month
    now = rfm.segments(rfm.scores(rfm.summary(tx, as_of=AS_OF), breaks=F_BREAKS))
    before = rfm.segments(rfm.scores(rfm.summary(tx, as_of=MONTH_BEFORE), breaks=F_BREAKS))
    shares = segments.contribution(tx, now, as_of=AS_OF, lookback="12mo")
    md += ["## 2. RFM segments", "", "Share of customers, sales and margin over the last 12 "
           "months, by today's segment:", ""]  # fmt: skip
    md += [table(shares.select("segment", "customers", "customers_share", "sales_share",
                               "margin_share"), 3), ""]  # fmt: skip
    md += [save(plot.contribution(shares), "segments.png"), ""]
    moves = segments.migration(before, now)
    worrying = moves.filter(
        pl.col("from").is_in(["Champions", "Loyal"]), ~pl.col("to").is_in(["Champions", "Loyal"])
    ).sort("customers", descending=True)
    md += ["Customers who left the two best segments this month:", "", table(worrying, 3), ""]
    ax = plot.migration(moves)
    ax.set_title(f"RFM segments on {MONTH_BEFORE} (rows) and {AS_OF} (columns)")
    md += [save(ax, "migration.png"), ""]

    # 3. Cohorts
    cells = cohorts.table(tx, period="1mo", as_of=AS_OF).filter(
        pl.col("cohort") >= date(2023, 12, 1), pl.col("period_index") <= 11
    )
    md += ["## 3. Acquisition cohorts", "", "Share of each monthly cohort buying again, "
           "month by month (blank: not reached yet):", ""]  # fmt: skip
    md += [save(plot.cohort_heatmap(cells), "cohorts.png"), ""]

    # 4. Customer lifetime value, and the valuable customers slipping away
    summary = clv.summary(tx, as_of=AS_OF, unit="1w")
    buys = clv.BetaGeo.fit(summary, unit="1w")
    spend = clv.GammaGamma.fit(summary)
    values = clv.lifetime_value(buys, spend, summary, horizon=12, unit="1mo", discount_rate=0.01)
    equity = values["clv"].sum()
    at_risk = alerts.churn(summary, buys, threshold=0.3, clv=values).head(10)
    md += ["## 4. Customer lifetime value", "",
           f"BG/NBD + Gamma-Gamma fitted on {buys.n_customers:,} customers: the next 12 months "
           f"are worth **{equity:,.0f}** (discounted at 1 % a month). The ten customers of "
           "highest value with P(alive) < 30 %:", ""]  # fmt: skip
    md += [table(at_risk.select("customer_id", "value_at_risk", "p_alive",
                                "days_since_last_purchase")), ""]  # fmt: skip
    md += [save(plot.clv_matrix(buys, summary, max_frequency=20), "p_alive.png"), ""]

    # 5. Next-best purchase lists
    window = tx.filter(pl.col("timestamp").dt.date() <= AS_OF)
    found = basket.rules(window, min_support=0.001, max_len=2, level="brand",
                         min_confidence=0.1, min_lift=1.5)  # fmt: skip
    offers = basket.next_best(window, found, k=3, level="brand").drop_nulls("rank")
    champions = now.filter(pl.col("segment") == "Champions").select("customer_id")
    md += ["## 5. Next-best purchases", "",
           f"{found.height} brand rules with confidence >= 10 % and lift >= 1.5; offers for "
           f"{offers['customer_id'].n_unique():,} customers. The first Champions:", ""]  # fmt: skip
    md += [table(offers.join(champions, on="customer_id").head(9).select(
        "customer_id", "rank", "brand", "score", "lift", "antecedent"), 3), ""]  # fmt: skip
    md += [save(plot.rules(found), "rules.png"), ""]

    report = folder / "report.md"
    report.write_text("\n".join(md), encoding="utf-8")
    return [report, *figures]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    for path in main(parser.parse_args().output):
        print("wrote", path)
