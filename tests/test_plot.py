"""plot: every figure drawn off-screen from real results, and checked for what it shows.

Each test builds a result with the library, draws it, and compares what is on the axes (image
cells and their mask, bar widths, line data, colour limits, labels) with values computed here
from the result frame itself, or from the paper's formula.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
from datetime import date

import numpy as np
import polars as pl
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import hypothesis.strategies as st  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402

from retailcrm import (  # noqa: E402
    ArgumentError,
    ColumnError,
    DataError,
    RetailCRMError,
    basket,
    clv,
    cohorts,
    datasets,
    metrics,
    plot,
    rfm,
    segments,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def sim() -> pl.DataFrame:
    return datasets.simulate(1_500, seed=4)


@pytest.fixture(scope="module")
def cdnow() -> pl.DataFrame:
    return datasets.load_cdnow(sample=True)


def image_of(ax):
    (image,) = ax.images
    return image.get_array()


def texts(ax) -> list[str]:
    return [t.get_text() for t in ax.texts]


# ---------------------------------------------------------------------------------------------
# the extra stays optional


def test_import_retailcrm_does_not_load_matplotlib() -> None:
    code = (
        "import sys, retailcrm, retailcrm.plot; "
        "assert 'matplotlib' not in sys.modules, 'matplotlib loaded'; print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    table = pl.DataFrame(
        {"cohort": [date(2024, 1, 1)], "period_index": [0], "retention_rate": [1.0]}
    )
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    message = 'retailcrm.plot needs matplotlib: pip install "retailcrm-analytics[plot]"'
    with pytest.raises(ImportError, match=re.escape(message)) as caught:
        plot.cohort_heatmap(table)
    assert isinstance(caught.value, RetailCRMError)


# ---------------------------------------------------------------------------------------------
# cohorts


def test_cohort_heatmap_shows_rates_in_percent_and_censored_cells_blank(sim: pl.DataFrame) -> None:
    table = cohorts.table(sim, period="1q")
    ax = plot.cohort_heatmap(table)
    cells = image_of(ax)
    n_cohorts = table["cohort"].n_unique()
    n_periods = table["period_index"].max() + 1
    assert cells.shape == (n_cohorts, n_periods)
    # every cell against the long table: null <=> masked, else 100 x the rate
    keyed = {
        (c, k): v for c, k, v in table.select("cohort", "period_index", "retention_rate").rows()
    }
    order = sorted(table["cohort"].unique().to_list())
    for i, c in enumerate(order):
        for k in range(n_periods):
            value = keyed[(c, k)]
            if value is None:
                assert cells.mask[i, k]
            else:
                assert not cells.mask[i, k]
                assert cells[i, k] == pytest.approx(100 * value)
    censored = table["retention_rate"].null_count()
    assert censored > 0  # a triangle: the youngest cohorts are not observed for long
    assert int(cells.mask.sum()) == censored
    assert len(ax.texts) == table.height - censored  # one number per observed cell
    # the colour scale: 0 to the highest rate after period 0 (period 0 is 100 % by definition)
    later = table.filter(pl.col("period_index") > 0)["retention_rate"].max()
    assert ax.images[0].get_clim() == pytest.approx((0.0, 100 * later))
    assert ax.get_xlabel() == "Quarters since first purchase"
    assert ax.get_ylabel() == "Acquisition cohort (quarter)"
    sizes = table.group_by("cohort").agg(pl.col("cohort_size").first()).sort("cohort")
    first = sizes.row(0)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == f"{first[0].year} Q1 (n={first[1]:,})"
    assert ax.figure.axes[-1].get_ylabel() == "Retention rate (%)"  # the colour bar


def test_cohort_heatmap_lazy_input_max_period_and_other_metrics(sim: pl.DataFrame) -> None:
    table = cohorts.table(sim, period="1mo")
    eager = image_of(plot.cohort_heatmap(table, max_period=5))
    lazy = image_of(plot.cohort_heatmap(table.lazy(), max_period=5))
    assert eager.shape == (24, 6)
    np.testing.assert_array_equal(eager.mask, lazy.mask)
    np.testing.assert_allclose(eager.filled(-1), lazy.filled(-1))
    ax = plot.cohort_heatmap(table, values="revenue_per_customer", currency="$", vmax=50.0)
    assert ax.images[0].get_clim() == (0.0, 50.0)
    assert ax.figure.axes[-1].get_ylabel() == "Revenue per customer ($)"
    assert ax.get_xlabel() == "Months since first purchase"
    assert table.height == 24 * 24 > 400
    assert len(ax.texts) == 0  # too many cells to write in: annotation is off by default
    many = plot.cohort_heatmap(table, values="revenue", annotate=True)
    assert len(many.texts) == table["revenue"].drop_nulls().len()
    assert len(plot.cohort_heatmap(table, annotate=False).texts) == 0


def test_cohort_revenue_draws_one_line_per_cohort_up_to_as_of(sim: pl.DataFrame) -> None:
    table = cohorts.table(sim, period="1q")
    ax = plot.cohort_revenue(table, currency="EUR")
    order = sorted(table["cohort"].unique().to_list())
    assert len(ax.lines) == len(order)
    for line, c in zip(ax.lines, order, strict=True):
        part = table.filter(pl.col("cohort") == c).drop_nulls("cumulative_revenue_per_customer")
        np.testing.assert_array_equal(line.get_xdata(), part["period_index"].to_numpy())
        np.testing.assert_allclose(
            line.get_ydata(), part["cumulative_revenue_per_customer"].to_numpy()
        )
    assert len(ax.lines[0].get_xdata()) > len(ax.lines[-1].get_xdata())  # censored: shorter
    assert ax.get_ylabel() == "Cumulative revenue per customer (EUR)"
    assert ax.get_legend().get_texts()[0].get_text() == f"{order[0].year} Q1"


def test_cohort_errors_name_the_problem(sim: pl.DataFrame) -> None:
    table = cohorts.table(sim, period="1q")
    with pytest.raises(
        ArgumentError, match=r"plot.cohort_heatmap: values must be one of .*'churn'"
    ):
        plot.cohort_heatmap(table, values="churn")
    with pytest.raises(ColumnError, match=r"plot.cohort_revenue: missing column\(s\) \['cohort'\]"):
        plot.cohort_revenue(table.drop("cohort"))
    with pytest.raises(DataError, match=r"plot.cohort_heatmap: the frame has no rows"):
        plot.cohort_heatmap(table.clear())
    with pytest.raises(ArgumentError, match=r"max_period must be a whole number >= 0"):
        plot.cohort_heatmap(table, max_period=-1)


# ---------------------------------------------------------------------------------------------
# rfm


@pytest.fixture(scope="module")
def named(cdnow: pl.DataFrame) -> pl.DataFrame:
    return rfm.segments(rfm.scores(cdnow, breaks={"frequency": [1, 2, 3, 5]}))


def test_rfm_segments_bars_are_customer_and_revenue_shares(named: pl.DataFrame) -> None:
    ax = plot.rfm_segments(named)
    present = [s for s in rfm.scheme()["segment"].dtype.categories if s in set(named["segment"])]
    assert [t.get_text() for t in ax.get_yticklabels()] == present  # scheme order, best first
    n = len(present)
    assert len(ax.patches) == 2 * n
    customers = [p.get_width() for p in ax.patches[:n]]
    revenue = [p.get_width() for p in ax.patches[n:]]
    total = named["monetary"].sum()
    for name, c, r in zip(present, customers, revenue, strict=True):
        rows = named.filter(pl.col("segment") == name)
        assert c == pytest.approx(100 * rows.height / named.height)
        assert r == pytest.approx(100 * rows["monetary"].sum() / total)
    assert sum(customers) == pytest.approx(100.0)
    assert ax.get_xlabel() == "Share of the total (%)"
    champions = named.filter(pl.col("segment") == "Champions").height
    assert f"{champions:,} customers" in texts(ax)


def test_rfm_grid_counts_customers_per_cell_and_leaves_empty_cells_blank(
    named: pl.DataFrame,
) -> None:
    ax = plot.rfm_grid(named)
    cells = image_of(ax)
    assert cells.shape == (5, 5)
    for r in range(1, 6):
        for f in range(1, 6):
            count = named.filter(pl.col("r_score") == r, pl.col("f_score") == f).height
            if count == 0:
                assert cells.mask[5 - r, f - 1]
            else:
                assert cells[5 - r, f - 1] == count
    assert cells.sum() == named.height
    assert cells.mask.any()  # F is fixed breaks on CDNOW: (R5, F1) holds nobody
    assert [t.get_text() for t in ax.get_yticklabels()] == ["5", "4", "3", "2", "1"]
    assert ax.get_ylabel() == "Recency score R (higher: more recent)"


def test_rfm_grid_colours_by_a_statistic_of_a_column(named: pl.DataFrame) -> None:
    ax = plot.rfm_grid(named, value="monetary", statistic="median", currency="$")
    cells = image_of(ax)
    cell = named.filter(pl.col("r_score") == 1, pl.col("f_score") == 2)["monetary"]
    assert cells[4, 1] == pytest.approx(float(np.median(cell.to_numpy())))
    assert ax.figure.axes[-1].get_ylabel() == "Median monetary ($)"
    assert ax.images[0].get_clim()[1] == pytest.approx(float(cells.max()))
    with pytest.raises(
        ArgumentError, match=r"statistic must be one of \['mean', 'median', 'sum'\]"
    ):
        plot.rfm_grid(named, value="monetary", statistic="mode")
    with pytest.raises(ColumnError, match=r"plot.rfm_grid: missing column\(s\) \['clv'\]"):
        plot.rfm_grid(named, value="clv")


# ---------------------------------------------------------------------------------------------
# clv

BG = {"r": 0.2426, "alpha": 4.4135, "a": 0.7930, "b": 2.4259}  # CDNOW, weeks (FHL 2005)


def p_alive_paper(x: float, t_x: float, T: float) -> float:
    """Equation (12) of Fader, Hardie & Lee (2005), written out here."""
    if x == 0:
        return 1.0
    r, alpha, a, b = BG.values()
    ratio = (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)
    return 1 / (1 + ratio)


def test_clv_matrix_p_alive_follows_the_paper_and_blanks_impossible_histories() -> None:
    model = clv.BetaGeo(**BG, unit="1w")
    s = pl.DataFrame({"customer_id": [1, 2], "frequency": [0, 10], "recency": [0.0, 20.0],
                      "T": [38.0, 38.0]})  # fmt: skip
    ax = plot.clv_matrix(model, s, max_frequency=10)
    cells = image_of(ax)
    assert cells.shape == (11, 39)  # frequency 0..10, recency 0, 1, ..., 38 weeks
    recency = np.linspace(0, 38, 39)
    for x in (1, 4, 10):
        for j in (5, 20, 38):
            assert cells[x, j] == pytest.approx(100 * p_alive_paper(x, recency[j], 38.0))
    # frequency 0: only recency 0 happens; x repeat purchases on distinct days need x days
    assert not cells.mask[0, 0]
    assert cells.mask[0, 1:].all()
    assert cells.mask[1:, 0].all()
    assert not cells.mask[10, 2]  # 10 days fit in 2 weeks
    assert ax.images[0].get_clim() == (0.0, 100.0)
    assert ax.get_xlabel() == "Recency: weeks from first to last purchase"
    assert ax.get_ylabel() == "Frequency: repeat purchases"


def test_clv_matrix_expected_purchases_match_the_model() -> None:
    model = clv.BetaGeo(**BG, unit="1w")
    s = pl.DataFrame({"customer_id": [1], "frequency": [3], "recency": [10.0], "T": [20.0]})
    ax = plot.clv_matrix(model, s, value="expected_purchases", horizon="52w", max_frequency=3)
    cells = image_of(ax)
    grid = pl.DataFrame({"customer_id": [1, 2], "frequency": [2, 3], "recency": [10.0, 20.0],
                         "T": [20.0, 20.0]})  # fmt: skip
    expected = model.expected_purchases(grid, t=52.0)["expected_purchases"].to_list()
    assert cells[2, 10] == pytest.approx(expected[0])
    assert cells[3, 20] == pytest.approx(expected[1])
    assert ax.images[0].get_clim()[1] == pytest.approx(float(cells.max()))
    assert "Expected purchases in the next 52 weeks" in ax.figure.axes[-1].get_ylabel()
    with pytest.raises(ArgumentError, match=r"value='expected_purchases' needs horizon="):
        plot.clv_matrix(model, s, value="expected_purchases")
    with pytest.raises(
        ArgumentError, match=r"model must be a fitted transaction model.*GammaGamma"
    ):
        plot.clv_matrix(clv.GammaGamma(p=6.25, q=3.74, v=15.44), s)


@pytest.fixture(scope="module")
def holdout(cdnow: pl.DataFrame):
    split = clv.summary(cdnow, as_of="1998-06-30", calibration_end="1997-09-30", unit="1w")
    return split, clv.BetaGeo.fit(split, unit="1w")


def test_calibration_lines_are_the_evaluation_by_frequency(holdout) -> None:
    split, model = holdout
    result = clv.evaluate(model, split)
    ax = plot.calibration(result)
    actual, expected = ax.lines
    table = result.by_frequency
    np.testing.assert_allclose(actual.get_ydata(), table["actual"].to_numpy())
    np.testing.assert_allclose(expected.get_ydata(), table["expected"].to_numpy())
    last = table.row(-1, named=True)
    assert ax.get_xticklabels()[-1].get_text() == f"7+\n(n={last['customers']:,})"
    assert f"MAE {result.mae:.3f}" in ax.get_title()
    bare = plot.calibration(table.select("frequency", "actual", "expected"))
    assert bare.get_xticklabels()[-1].get_text() == "7+"


def test_tracking_draws_actual_and_expected_with_the_calibration_end(holdout, cdnow) -> None:
    _, model = holdout
    out = clv.tracking(model, cdnow, as_of="1998-06-30", calibration_end="1997-09-30")
    ax = plot.tracking(out)
    actual, expected, split = ax.lines
    np.testing.assert_array_equal(actual.get_ydata(), out["actual_cumulative"].to_numpy())
    np.testing.assert_allclose(expected.get_ydata(), out["expected_cumulative"].to_numpy())
    calibration_end = out.filter(~pl.col("holdout"))["period_end"].max()
    assert split.get_xdata()[0] == calibration_end
    assert ax.get_ylabel() == "Repeat purchases, cumulative"
    weekly = plot.tracking(out.drop("holdout"), cumulative=False)
    assert len(weekly.lines) == 2
    assert weekly.get_ylabel() == "Repeat purchases per week"
    assert weekly.get_xlabel() == "End of week"


# ---------------------------------------------------------------------------------------------
# basket


def planted_baskets() -> pl.DataFrame:
    """60 baskets: bread with butter in 20, bread alone in 10, butter with jam in 10, ..."""
    rows = (
        [["bread", "butter"]] * 20 + [["bread"]] * 10 + [["butter", "jam"]] * 10
        + [["jam", "tea"]] * 8 + [["tea"]] * 7 + [["bread", "tea"]] * 5
    )  # fmt: skip
    return pl.DataFrame(
        {"order_id": [i for i, b in enumerate(rows) for _ in b],
         "item": [x for b in rows for x in b]}
    )  # fmt: skip


def test_rules_scatter_is_support_by_confidence_coloured_by_lift() -> None:
    found = basket.rules(planted_baskets(), min_support=0.05, min_confidence=0.1)
    ax = plot.rules(found, label_top=2)
    points = ax.collections[0]
    np.testing.assert_allclose(points.get_offsets()[:, 0], 100 * found["support"].to_numpy())
    np.testing.assert_allclose(points.get_offsets()[:, 1], 100 * found["confidence"].to_numpy())
    np.testing.assert_allclose(points.get_array(), found["lift"].to_numpy())
    lift = found["lift"].to_numpy()
    m = max(lift.max(), 1 / lift.min())
    assert points.get_clim() == pytest.approx((1 / m, m))  # symmetric around lift 1
    best = found.sort("lift", descending=True).row(0, named=True)
    assert len(ax.texts) == 2
    assert texts(ax)[0] == f"{best['antecedent'][0]} → {best['consequent'][0]}"
    assert ax.get_xlabel() == "Support: baskets holding A and C (%)"
    with pytest.raises(ArgumentError, match=r"label_top must be a whole number >= 0"):
        plot.rules(found, label_top=-1)


def test_cooccurrence_blanks_pairs_below_the_threshold() -> None:
    tx = planted_baskets()
    sets = basket.itemsets(tx, min_support=6, max_len=2)
    ax = plot.cooccurrence(sets, top=3)
    cells = image_of(ax)
    baskets = tx.group_by("order_id").agg(pl.col("item"))["item"].to_list()
    n = len(baskets)
    single = {i: sum(i in b for b in baskets) for i in ("bread", "butter", "jam", "tea")}
    top = sorted(single, key=lambda i: -single[i])[:3]
    assert [t.get_text() for t in ax.get_yticklabels()] == top
    for a in range(3):
        for b in range(3):
            both = sum(top[a] in x and top[b] in x for x in baskets)
            if both < 6:  # below min_support: unknown, so blank
                assert cells.mask[a, b]
            else:
                assert cells[a, b] == pytest.approx(100 * both / n)
    blank = sum(
        sum(top[a] in x and top[b] in x for x in baskets) < 6 for a in range(3) for b in range(3)
    )
    assert blank == 4  # bread-tea (5 baskets) and butter-tea (none), both ways
    assert cells.mask.sum() == blank
    lift = image_of(plot.cooccurrence(sets, top=3, value="lift"))
    assert lift.mask[0, 0]  # diagonal blank for lift
    i, j = top.index("bread"), top.index("butter")
    expected = (20 / n) / ((single["bread"] / n) * (single["butter"] / n))
    assert lift[i, j] == pytest.approx(expected)
    with pytest.raises(ArgumentError, match=r"top must be a whole number >= 1; got 0"):
        plot.cooccurrence(sets, top=0)


# ---------------------------------------------------------------------------------------------
# segments


def test_switching_heatmap_cells_are_probabilities(sim: pl.DataFrame) -> None:
    matrix = segments.switching_matrix(sim, level="category")
    ax = plot.switching(matrix, top=None)
    cells = image_of(ax)
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert cells.shape == (len(names), len(names))
    assert set(names) == set(matrix["from"].cast(pl.String)) | set(matrix["to"].cast(pl.String))
    np.testing.assert_allclose(cells.sum(axis=1), 100.0)  # all values shown: rows sum to 100 %
    row = matrix.row(0, named=True)
    assert cells[names.index(row["from"]), names.index(row["to"])] == pytest.approx(
        100 * row["probability"]
    )
    outgoing = matrix.group_by("from").agg(pl.col("transitions").sum())
    busiest = outgoing.sort("transitions", descending=True)["from"][0]
    assert names[0] == busiest
    few = plot.switching(matrix, top=5)
    assert image_of(few).shape == (5, 5)
    assert (image_of(few).sum(axis=1) <= 100.0 + 1e-9).all()


def test_switching_within_a_parent_must_be_filtered(sim: pl.DataFrame) -> None:
    matrix = segments.switching_matrix(sim, level="brand", within="category")
    with pytest.raises(ArgumentError, match=r"holds 20 values of 'category'.*filter it to one"):
        plot.switching(matrix)
    one = matrix.filter(pl.col("category") == "Pantry")
    assert image_of(plot.switching(one, top=None)).shape[0] == one["from"].n_unique()


def test_migration_rows_are_shares_of_the_earlier_segment(cdnow: pl.DataFrame) -> None:
    def named_at(day: date) -> pl.DataFrame:
        return rfm.segments(
            rfm.scores(rfm.summary(cdnow, as_of=day), breaks={"frequency": [1, 2, 3, 5]})
        )

    moves = segments.migration(named_at(date(1997, 12, 31)), named_at(date(1998, 6, 30)))
    ax = plot.migration(moves)
    cells = image_of(ax)
    np.testing.assert_allclose(cells.sum(axis=1), 100.0)
    rows = [t.get_text() for t in ax.get_yticklabels()]
    cols = [t.get_text() for t in ax.get_xticklabels()]
    one = moves.filter(pl.col("from") == "Champions", pl.col("to") == "Loyal").row(0, named=True)
    i = next(k for k, r in enumerate(rows) if r.startswith("Champions ("))
    assert cells[i, cols.index("Loyal")] == pytest.approx(100 * one["share_of_from"])
    size = moves.filter(pl.col("from") == "Champions")["customers"].sum()
    assert rows[i] == f"Champions (n={size:,})"
    assert f"{moves['customers'].sum():,} customers" in ax.get_title()
    assert "0" not in texts(ax)  # moves nobody made are coloured 0, not labelled


def test_contribution_bars_are_the_shares(sim: pl.DataFrame) -> None:
    named = rfm.segments(rfm.scores(sim, breaks={"frequency": [1, 2, 4, 8]}))
    shares = segments.contribution(sim, named)
    ax = plot.contribution(shares)
    n = shares.height
    assert len(ax.patches) == 3 * n
    for k, measure in enumerate(("customers", "sales", "margin")):
        widths = [p.get_width() for p in ax.patches[k * n : (k + 1) * n]]
        np.testing.assert_allclose(widths, 100 * shares[f"{measure}_share"].to_numpy())
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["customers", "sales", "margin"]
    two = plot.contribution(shares, measures=["orders"])
    assert len(two.patches) == n
    with pytest.raises(ArgumentError, match=r"measures must be one of .*; got 'profit'"):
        plot.contribution(shares, measures=["profit"])


# ---------------------------------------------------------------------------------------------
# KPIs


def test_kpis_lines_and_the_period_in_progress(sim: pl.DataFrame) -> None:
    k = metrics.kpis(sim, period="1mo", as_of=date(2024, 12, 15))
    assert not k["is_complete"][-1]
    ax = plot.kpis(k, columns=["retention_rate", "repeat_purchase_rate"])
    retention, repeat = ax.lines[:2]
    complete = k.filter(pl.col("is_complete"))
    np.testing.assert_allclose(
        retention.get_ydata(), 100 * complete["retention_rate"].fill_null(np.nan).to_numpy()
    )
    assert len(repeat.get_xdata()) == complete.height
    # each column: a dotted segment into the partial period, and a hollow marker on it
    assert len(ax.lines) == 2 + 2 * 2
    hollow = ax.lines[3]
    assert hollow.get_markerfacecolor() == "white"
    assert hollow.get_ydata()[0] == pytest.approx(100 * k["retention_rate"][-1])
    assert ax.get_ylabel() == "Rate (%)"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "retention rate",
        "repeat purchase rate",
    ]
    money = plot.kpis(k.filter(pl.col("is_complete")), columns=["revenue"], currency="$")
    assert len(money.lines) == 1
    assert money.get_ylabel() == "Amount ($)"


def test_kpis_refuse_to_mix_units(sim: pl.DataFrame) -> None:
    k = metrics.kpis(sim, period="1q")
    with pytest.raises(ArgumentError, match=r"columns mix units .*'revenue': 'money'.*ax=a"):
        plot.kpis(k, columns=["active_customers", "revenue"])
    with pytest.raises(ArgumentError, match=r"columns is empty"):
        plot.kpis(k, columns=[])


def test_given_axes_are_drawn_on_and_returned(sim: pl.DataFrame) -> None:
    fig, axes = plt.subplots(1, 2)
    k = metrics.kpis(sim, period="1q")
    assert plot.kpis(k, ax=axes[1]) is axes[1]
    assert len(axes[1].lines) == 3
    assert len(axes[0].lines) == 0
    assert plt.get_fignums() == [fig.number]  # no other figure was opened


# ---------------------------------------------------------------------------------------------
# properties: the heatmap's mask is exactly the cohort table's null cells

days = st.dates(date(2024, 1, 1), date(2024, 6, 30))


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.integers(0, 12), days, st.floats(-20, 200)), min_size=1, max_size=40
    ),
    as_of=days,
)
def test_heatmap_mask_is_the_tables_null_cells(rows, as_of) -> None:
    tx = pl.DataFrame(rows, schema=["customer_id", "timestamp", "amount"], orient="row")
    table = cohorts.table(tx, period="1mo", as_of=as_of)
    if table.height == 0:
        with pytest.raises(DataError, match=r"no rows"):
            plot.cohort_heatmap(table)
        return
    ax = plot.cohort_heatmap(table, annotate=True)
    cells = image_of(ax)
    assert int(np.ma.getmaskarray(cells).sum()) == table["retention_rate"].null_count()
    assert len(ax.texts) == table["retention_rate"].drop_nulls().len()
    values = np.ma.compressed(cells)
    assert ((values >= 0) & (values <= 100)).all()
    assert not math.isnan(values.sum())
    plt.close(ax.figure)


def test_period_names_follow_the_table(sim: pl.DataFrame) -> None:
    for period, name in (("1w", "Weeks"), ("1mo", "Months"), ("1q", "Quarters"), ("1y", "Years")):
        small = sim.filter(pl.col("timestamp") < pl.datetime(2023, 3, 1)) if period == "1w" else sim
        ax = plot.cohort_heatmap(cohorts.table(small, period=period))
        assert ax.get_xlabel() == f"{name} since first purchase"
        plt.close(ax.figure)
    # a month cohort filtered to every third month is still a month cohort
    table = cohorts.table(sim, period="1mo")
    every_third = table.filter(pl.col("cohort").dt.month() % 3 == 1)
    assert plot.cohort_revenue(every_third).get_xlabel() == "Months since first purchase"
