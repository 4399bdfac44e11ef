"""Issue 11's views on 10M rows, each next to a hand-written Polars query: writes VIEWS.md.

Usage (from the repository root)::

    python benchmarks/views.py              # 10M rows (the data of run.py, reused)
    python benchmarks/views.py --quick      # 1M rows
    python benchmarks/views.py --repeats 5

Functions: ``profiles.customers``, ``assortment.by_segment``, ``assortment.performance``,
``replenishment.reminders``, ``metrics.revenue_tree`` (``retailcrm._revenue_tree``) and
``campaigns.forecast`` without a model (``retailcrm._forecast``). For each, the **floor** is the
shortest hand-written Polars query we found for the same numbers (same columns, dtypes and
values), one lazy query collected once; before any timing a fresh process asserts with
``assert_frame_equal`` (relative tolerance 1e-9) that the floor equals our result. Then every
(function, implementation, variant) runs in its own fresh process, through the measurement of
``_harness.py`` (best of ``--repeats`` calls after a warm-up; wall and CPU time of the process;
peak extra RSS), and the table goes to ``VIEWS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import _harness as h  # noqa: E402  (benchmarks/ is not a package)

from retailcrm import (  # noqa: E402
    _forecast,
    _revenue_tree,
    assortment,
    metrics,
    profiles,
    replenishment,
    rfm,
)

DATA = HERE / "_data"
REPORT = HERE / "VIEWS.md"
TARGET = 1.5
RTOL, ATOL = 1e-9, 1e-6
PERIOD_A = (dt.date(2024, 1, 1), dt.date(2024, 3, 31))
PERIOD_B = (dt.date(2024, 4, 1), dt.date(2024, 6, 30))
WINDOW = (dt.date(2024, 12, 1), dt.date(2024, 12, 31))
HISTORY = 4
MONEY = 9  # the decimals money sums are rounded to (see profiles / assortment)

# ---------------------------------------------------------------------------------------------
# floors


def _score(name: str, bins: int = 5) -> pl.Expr:
    x = pl.col(name).cast(pl.Float64)
    if name == "monetary":
        x = x.round_sig_figs(12)
    key = -x if name == "recency" else x
    score = ((key.rank("min") - 1) * bins / key.count()).floor() + 1
    return score.clip(1, bins).fill_null(1).cast(pl.UInt8)


def _favourite(lf: pl.LazyFrame, col: str, dtype: pl.DataType) -> pl.LazyFrame:
    s = pl.col("s")
    k = s.round_sig_figs(12)
    return (
        lf.group_by("customer_id", col)
        .agg(s=pl.col("amount").sum().round(MONEY))
        .filter(s > 0)
        .group_by("customer_id")
        .agg(
            pl.col(col).filter(k == k.max()).cast(pl.String).min().cast(dtype),
            share=s.max() / s.sum(),
        )
        .rename({col: f"favourite_{col}", "share": f"favourite_{col}_share"})
    )


def floor_profiles(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Orders -> customers with margin and channel flags carried along; favourites; RFM."""
    schema = lf.collect_schema()
    t, v = pl.col("timestamp"), pl.col("value")
    buy = v > 0
    channel, positive = pl.col("channel").cast(pl.String), pl.col("amount") > 0
    per_order = lf.group_by("customer_id", "order_id").agg(
        t.min(),
        last=t.max(),
        value=pl.col("amount").sum(),
        margin=pl.col("margin").sum(),
        store=(positive & (channel == "store")).any(),
        online=(positive & (channel == "online")).any(),
    )
    customers = per_order.group_by("customer_id").agg(
        first_purchase=t.filter(buy).min(),
        last_purchase=t.filter(buy).max(),
        frequency=buy.sum().cast(pl.UInt32),
        monetary=v.sum(),
        margin=pl.col("margin").sum(),
        last=pl.col("last").max(),
        store=pl.col("store").any(),
        online=pl.col("online").any(),
    )
    s, o = pl.col("store"), pl.col("online")
    mix = (
        pl.when(s & o)
        .then(pl.lit("both"))
        .when(s)
        .then(pl.lit("store only"))
        .when(o)
        .then(pl.lit("online only"))
        .otherwise(pl.lit("neither"))
        .cast(pl.Enum(metrics.MIXES))
    )
    span = (pl.col("last_purchase").dt.date() - pl.col("first_purchase").dt.date()).dt.total_days()
    n = pl.col("frequency")
    recency = (pl.col("last").max().dt.date() - pl.col("last_purchase").dt.date()).dt.total_days()
    scored = (
        customers.with_columns(recency=recency.cast(pl.Int32))
        .with_columns(
            r_score=_score("recency"), f_score=_score("frequency"), m_score=_score("monetary")
        )
        .join(rfm.scheme("rfm11").lazy(), on=["r_score", "f_score", "m_score"], how="left")
    )
    for col in ("category", "brand"):
        scored = scored.join(_favourite(lf, col, schema[col]), on="customer_id", how="left")
    return scored.select(
        "customer_id",
        "first_purchase",
        "last_purchase",
        tenure_days=(pl.col("recency") + span).cast(pl.Int32),
        recency_days="recency",
        orders="frequency",
        revenue="monetary",
        margin="margin",
        average_order_value=pl.when(n > 0).then(pl.col("monetary") / n),
        mean_gap_days=pl.when(n > 1).then(span / (n.cast(pl.Int64) - 1)),
        favourite_category="favourite_category",
        favourite_category_share="favourite_category_share",
        favourite_brand="favourite_brand",
        favourite_brand_share="favourite_brand_share",
        channel_mix=mix,
        rfm_cell=pl.concat_str("r_score", "f_score", "m_score"),
        segment="segment",
    ).sort("customer_id")


def floor_by_segment(lf: pl.LazyFrame, seg: pl.LazyFrame) -> pl.LazyFrame:
    """Customer x item, then segment x item; sizes from the union of members and buyers."""
    pairs = lf.group_by("customer_id", "item").agg(
        b=(pl.col("amount") > 0).any(), s=pl.col("amount").sum()
    )
    everyone = seg.join(
        lf.select("customer_id").unique(), on="customer_id", how="full", coalesce=True
    )
    sizes = everyone.group_by("segment").agg(n=pl.len().cast(pl.UInt32))
    b, n, x = pl.col("buyers"), pl.col("n"), pl.col("spend")
    item_buyers = b.sum().over("item")
    share = pl.when(x.sum().over("segment") != 0).then(x / x.sum().over("segment"))
    overall = pl.when(x.sum() != 0).then(x.sum().over("item") / x.sum())
    return (
        pairs.join(seg, on="customer_id", how="left")
        .group_by("segment", "item")
        .agg(buyers=pl.col("b").sum().cast(pl.UInt32), spend=pl.col("s").sum().round(MONEY))
        .join(sizes, on="segment", how="left", nulls_equal=True)
        .join(sizes.select(total=n.sum()), how="cross")
        .select(
            "segment",
            "item",
            segment_customers=n,
            buyers=b,
            penetration=b / n,
            share_of_buyers=pl.when(item_buyers > 0).then(b / item_buyers),
            spend=x,
            spend_share=share,
            index=pl.when(item_buyers > 0).then(
                100.0 * b.cast(pl.Float64) * pl.col("total") / (n.cast(pl.Float64) * item_buyers)
            ),
            spend_index=pl.when(overall != 0).then(100.0 * share / overall),
            rank=(-x.round_sig_figs(12)).rank("min").over("segment").cast(pl.UInt32),
        )
        .sort("segment", "rank", "item", nulls_last=True)
    )


def floor_performance(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Customer x item x month; each pair's first month by a group_by; then item x month."""
    month = pl.col("timestamp").dt.truncate("1mo").dt.date()
    positive = pl.col("amount") > 0
    q = pl.col("quantity").abs()
    cells = lf.group_by("customer_id", "item", period_start=month).agg(
        sales=pl.col("amount").sum(),
        units=pl.when(pl.col("amount") < 0).then(-q).otherwise(q).sum(),
        k=pl.col("order_id").filter(positive).n_unique(),
    )
    k, p = pl.col("k"), pl.col("period_start")
    first = cells.filter(k > 0).group_by("customer_id", "item").agg(f=p.min())
    per_item = (
        cells.join(first, on=["customer_id", "item"], how="left")
        .group_by("item", "period_start")
        .agg(
            sales=pl.col("sales").sum().round(MONEY),
            units=pl.col("units").sum().round(MONEY),
            buyers=(k > 0).sum().cast(pl.UInt32),
            new_buyers=((k > 0) & (p == pl.col("f"))).sum().cast(pl.UInt32),
            repeat=((k > 0) & ((p > pl.col("f")) | (k >= 2))).sum().cast(pl.UInt32),
        )
    )
    last = lf.select(end=pl.col("timestamp").max().dt.date())
    grid = (
        per_item.group_by("item")
        .agg(f=p.min())
        .join(last, how="cross")
        .select(
            "item",
            "end",
            period_start=pl.date_ranges("f", pl.col("end").dt.truncate("1mo"), "1mo"),
        )
        .explode("period_start")
    )

    def growth(c: str) -> pl.Expr:
        before = pl.col(c).shift(1).over("item", order_by="period_start").cast(pl.Float64)
        return pl.when(before > 0).then(pl.col(c) / before - 1.0)

    b = pl.col("buyers")
    return (
        grid.join(per_item, on=["item", "period_start"], how="left")
        .with_columns(
            pl.col("sales", "units").fill_null(0.0),
            pl.col("buyers", "new_buyers", "repeat").fill_null(0),
        )
        .select(
            "item",
            "period_start",
            "sales",
            "units",
            "buyers",
            "new_buyers",
            repeat_rate=pl.when(b > 0).then(pl.col("repeat") / b),
            sales_growth=growth("sales"),
            units_growth=growth("units"),
            buyers_growth=growth("buyers"),
            is_complete=p.dt.offset_by("1mo") <= pl.col("end") + pl.duration(days=1),
        )
        .sort("item", "period_start")
    )


def floor_reminders(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Distinct purchase days; pairs with two or more; sorted neighbours give the gaps."""
    d = pl.col("day")
    keys = ["customer_id", "item"]
    days = lf.filter(pl.col("amount") > 0).select(*keys, day=pl.col("timestamp").dt.date()).unique()
    pairs = (
        days.group_by(keys)
        .agg(purchases=pl.len().cast(pl.UInt32), last_purchase=d.max())
        .filter(pl.col("purchases") >= 2)
    )
    same = (pl.col("customer_id") == pl.col("customer_id").shift(1)) & (
        pl.col("item") == pl.col("item").shift(1)
    )
    gaps = (
        days.join(pairs.select(keys), on=keys, how="semi")
        .sort(*keys, "day")
        .select(*keys, gap=pl.when(same).then((d - d.shift(1)).dt.total_days()))
        .drop_nulls("gap")
    )
    end = lf.select(end=pl.col("timestamp").max().dt.date())
    w = pl.min_horizontal((pl.col("purchases").cast(pl.Float64) - 1.0) / 2.0, pl.lit(1.0))
    interval = w * pl.col("own") + (1.0 - w) * pl.col("pooled")
    nxt = pl.col("last_purchase") + pl.duration(days=(interval + 0.5).floor().cast(pl.Int64))
    return (
        pairs.join(gaps.group_by(keys).agg(own=pl.col("gap").median()), on=keys)
        .join(gaps.group_by("item").agg(pooled=pl.col("gap").median()), on="item")
        .join(end, how="cross")
        .select(
            *keys,
            "purchases",
            "last_purchase",
            own_median_days="own",
            item_median_days="pooled",
            weight=w,
            interval_days=interval,
            next_purchase=nxt,
            days_overdue=(pl.col("end") - nxt).dt.total_days().cast(pl.Int32),
        )
        .sort("days_overdue", "customer_id", "item", descending=[True, False, False])
    )


def floor_revenue_tree(lf: pl.LazyFrame) -> pl.DataFrame:
    """The ten period totals in one query; the LMDI arithmetic in Python."""
    import math

    day = pl.col("timestamp").dt.date()
    in_a, in_b = day.is_between(*PERIOD_A), day.is_between(*PERIOD_B)
    lines = lf.filter(in_a | in_b)
    q = pl.col("quantity").abs()
    item = pl.when(pl.col("amount") < 0).then(-q).otherwise(q)
    per_order = lines.group_by("customer_id", "order_id").agg(
        d=pl.col("timestamp").min().dt.date(), v=pl.col("amount").sum()
    )
    d, v = pl.col("d"), pl.col("v")
    totals: dict[str, pl.Expr] = {}
    for tag, (lo, hi) in (("a", PERIOD_A), ("b", PERIOD_B)):
        w = d.is_between(lo, hi)
        totals |= {
            f"customers_{tag}": pl.col("customer_id").filter(w & (v > 0)).n_unique(),
            f"orders_{tag}": (w & (v > 0)).sum(),
            f"revenue_{tag}": v.filter(w).sum(),
        }
    lines_totals = lines.select(
        items_a=item.filter(in_a).sum(),
        items_b=item.filter(in_b).sum(),
        margin_a=pl.col("margin").filter(in_a).sum(),
        margin_b=pl.col("margin").filter(in_b).sum(),
    )
    row = per_order.select(**totals).join(lines_totals, how="cross").collect().row(0, named=True)

    def value(name: str, tag: str) -> float:
        c, o, i = row[f"customers_{tag}"], row[f"orders_{tag}"], row[f"items_{tag}"]
        r, m = row[f"revenue_{tag}"], row[f"margin_{tag}"]
        return {
            "customers": float(c),
            "orders_per_customer": o / c,
            "items_per_order": i / o,
            "price_per_item": r / i,
            "margin_rate": m / r,
        }[name]

    rows = []
    for measure, names in (
        ("revenue", _revenue_tree.DRIVERS[:4]),
        ("margin", _revenue_tree.DRIVERS[:5]),
    ):
        va, vb = float(row[f"{measure}_a"]), float(row[f"{measure}_b"])
        weight = va if va == vb else (va - vb) / (math.log(va) - math.log(vb))
        total = vb - va
        for name in names:
            xa, xb = value(name, "a"), value(name, "b")
            c = weight * math.log(xb / xa)
            rows.append((measure, name, xa, xb, xb / xa - 1, c, c / total if total else None))
        rows.append((measure, "total", va, vb, vb / va - 1, total, 1.0 if total else None))
    return pl.DataFrame(
        rows,
        schema={
            "measure": pl.Enum(_revenue_tree.MEASURES),
            "driver": pl.Enum(_revenue_tree.DRIVERS),
            "value_a": pl.Float64,
            "value_b": pl.Float64,
            "change": pl.Float64,
            "contribution": pl.Float64,
            "share_of_change": pl.Float64,
        },
        orient="row",
    )


def floor_forecast(lf: pl.LazyFrame, ids: pl.DataFrame) -> pl.DataFrame:
    """Purchase days of the listed customers before the window; four windows; mean and spread."""
    import math

    from scipy.special import stdtrit

    start, end = WINDOW
    length = (end - start).days + 1
    last = start - dt.timedelta(days=1)
    day = pl.col("timestamp").dt.date()
    lines = lf.filter(day <= last).join(ids.lazy(), on="customer_id", how="semi")
    days = (
        lines.group_by("customer_id", day=day)
        .agg(value=pl.col("amount").sum(), margin=pl.col("margin").sum())
        .filter(pl.col("value") > 0)
    )
    windows = [
        (last - dt.timedelta(days=j * length - 1), last - dt.timedelta(days=(j - 1) * length))
        for j in range(1, HISTORY + 1)
    ]
    figures = [
        days.filter(pl.col("day").is_between(lo, hi)).select(
            purchasers=pl.col("customer_id").n_unique().cast(pl.Float64),
            orders=pl.len().cast(pl.Float64),
            sales=pl.col("value").sum(),
            margin=pl.col("margin").sum(),
        )
        for lo, hi in windows
    ]
    with_history = days.select(pl.col("customer_id").n_unique())
    *tables, seen = pl.collect_all([*figures, with_history])
    table = pl.concat(tables)
    k = table.height
    means = table.mean().row(0)
    sds = table.std(ddof=1).row(0)
    factor = float(stdtrit(k - 1, 0.95)) * math.sqrt(1 + 1 / k)
    n = ids.height
    lower = [max(0.0, m - factor * s) for m, s in zip(means, sds, strict=True)]
    upper = [m + factor * s for m, s in zip(means, sds, strict=True)]
    upper[0] = min(upper[0], n)
    forecast = list(means)
    forecast[0] = min(forecast[0], n)
    return pl.DataFrame(
        {
            "figure": pl.Series(_forecast.FIGURES, dtype=pl.Enum(_forecast.FIGURES)),
            "method": pl.Series(["history"] * 4, dtype=pl.Enum(_forecast.METHODS)),
            "customers": pl.Series([n] * 4, dtype=pl.UInt32),
            "customers_with_history": pl.Series([seen.item()] * 4, dtype=pl.UInt32),
            "windows": pl.Series([k] * 4, dtype=pl.UInt32),
            "baseline": list(means),
            "forecast": forecast,
            "lower": lower,
            "upper": upper,
        }
    )


# ---------------------------------------------------------------------------------------------
# cases


def _load(path: Path, _rows: int) -> pl.DataFrame:
    return pl.read_parquet(path)


def _scan(path: Path, _rows: int) -> pl.LazyFrame:
    return pl.scan_parquet(path)


def _segments_of(df: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    return (
        rfm.segments(rfm.scores(rfm.summary(df.lazy()))).select("customer_id", "segment").collect()
    )


def _load_segments(path: Path, _rows: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    df = pl.read_parquet(path)
    return df, _segments_of(df)


def _load_ids(path: Path, _rows: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    df = pl.read_parquet(path)
    ids = df.filter(pl.col("timestamp").dt.date() < WINDOW[0]).select("customer_id").unique()
    return df, ids.sort("customer_id")


def _streaming(query: pl.LazyFrame) -> pl.DataFrame:
    return query.collect(engine="streaming")


Case = h.Case
VIEW_CASES: dict[str, h.Case] = {
    "profiles-ours": Case("profiles.customers", "ours", "eager", _load, profiles.customers),
    "profiles-floor": Case(
        "profiles.customers",
        "floor",
        "eager",
        _load,
        lambda df: floor_profiles(df.lazy()).collect(),
    ),
    "profiles-ours-streaming": Case(
        "profiles.customers",
        "ours",
        "streaming",
        _scan,
        lambda lf: _streaming(profiles.customers(lf)),
    ),
    "profiles-floor-streaming": Case(
        "profiles.customers", "floor", "streaming", _scan, lambda lf: _streaming(floor_profiles(lf))
    ),
    "by-segment-ours": Case(
        "assortment.by_segment",
        "ours",
        "eager",
        _load_segments,
        lambda d: assortment.by_segment(d[0], d[1]),
    ),
    "by-segment-floor": Case(
        "assortment.by_segment",
        "floor",
        "eager",
        _load_segments,
        lambda d: floor_by_segment(d[0].lazy(), d[1].lazy()).collect(),
    ),
    "performance-ours": Case(
        "assortment.performance", "ours", "eager", _load, assortment.performance
    ),
    "performance-floor": Case(
        "assortment.performance",
        "floor",
        "eager",
        _load,
        lambda df: floor_performance(df.lazy()).collect(),
    ),
    "reminders-ours": Case(
        "replenishment.reminders", "ours", "eager", _load, replenishment.reminders
    ),
    "reminders-floor": Case(
        "replenishment.reminders",
        "floor",
        "eager",
        _load,
        lambda df: floor_reminders(df.lazy()).collect(),
    ),
    "revenue-tree-ours": Case(
        "metrics.revenue_tree",
        "ours",
        "eager",
        _load,
        lambda df: _revenue_tree.revenue_tree(df, period_a=PERIOD_A, period_b=PERIOD_B),
    ),
    "revenue-tree-floor": Case(
        "metrics.revenue_tree", "floor", "eager", _load, lambda df: floor_revenue_tree(df.lazy())
    ),
    "forecast-ours": Case(
        "campaigns.forecast",
        "ours",
        "eager",
        _load_ids,
        lambda d: _forecast.forecast(d[0], d[1], window=WINDOW, history=HISTORY),
    ),
    "forecast-floor": Case(
        "campaigns.forecast",
        "floor",
        "eager",
        _load_ids,
        lambda d: floor_forecast(d[0].lazy(), d[1]),
    ),
}

CHECKS: dict[str, tuple[str, ...]] = {
    "profiles.customers": (
        "profiles-ours",
        "profiles-floor",
        "profiles-ours-streaming",
        "profiles-floor-streaming",
    ),
    "assortment.by_segment": ("by-segment-ours", "by-segment-floor"),
    "assortment.performance": ("performance-ours", "performance-floor"),
    "replenishment.reminders": ("reminders-ours", "reminders-floor"),
    "metrics.revenue_tree": ("revenue-tree-ours", "revenue-tree-floor"),
    "campaigns.forecast": ("forecast-ours", "forecast-floor"),
}

ABOUT = {
    "profiles.customers": "`profiles.customers(tx)`: one row per customer -- history, margin, "
    "rhythm, favourite category and brand, channel mix, RFM cell and segment (no attributes, "
    "no models). The floor carries margin and channel flags through the order step instead of "
    "a second pass over the lines.",
    "assortment.by_segment": "`assortment.by_segment(tx, segments)`: segment x item at item "
    "level, the segments being the RFM segments (computed in the setup, not timed). Ours also "
    "checks the segment frame for repeated and unknown customers and the item column for nulls.",
    "assortment.performance": "`assortment.performance(tx)`: item x month SKU dashboard with "
    "growth. The floor finds each customer-item pair's first month with a group_by and a join.",
    "replenishment.reminders": "`replenishment.reminders(tx)`: customer x item reminder list "
    "(min_purchases 3).",
    "metrics.revenue_tree": "`revenue_tree(tx, period_a=Q1 2024, period_b=Q2 2024)`: the totals "
    "of two quarters and the LMDI decomposition (revenue and margin).",
    "campaigns.forecast": "`forecast(tx, customers, window=December 2024, history=4)`: the "
    "history method for every customer acquired before December (no model).",
}


# ---------------------------------------------------------------------------------------------
# the child processes


def check(function: str, path: Path) -> dict[str, Any]:
    warnings.simplefilter("ignore")
    names = CHECKS[function]
    results = {}
    for name in names:
        case = VIEW_CASES[name]
        results[name] = case.call(case.setup(path, 0))
    reference = results[names[0]]
    for name in names[1:]:
        try:
            assert_frame_equal(
                results[name], reference, check_exact=False, rel_tol=RTOL, abs_tol=ATOL
            )
        except AssertionError as error:
            msg = f"{name} differs from {names[0]}: {error}"
            raise AssertionError(msg) from None
    return {"function": function, "compared": list(names), "shape": list(reference.shape)}


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr else "failed"}
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# the report


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def write_report(
    results: dict[str, dict[str, Any]],
    checks: dict[str, dict[str, Any]],
    about: dict[str, Any],
    machine: dict[str, Any],
    runs: dict[str, str],
    minutes: float,
    repeats: int,
) -> str:
    lines = [
        "# Issue 11 views: benchmark",
        "",
        f"Written by `benchmarks/views.py` on {dt.date.today().isoformat()}; the last run took "
        f"{minutes:.1f} min. Each function's figures come from the run named under it (commands "
        "from the repository root; `--only` reruns some functions and keeps the others).",
        "",
        "## Machine",
        "",
        f"- CPU: {machine['cpu']}, {machine['cores']} cores; memory {machine['memory_gib']} GiB",
        f"- Polars {machine['versions']['polars']}, `pl.thread_pool_size()` = "
        f"{machine['polars_threads']}; Python {machine['python']}",
        "- The machine is shared with other work: wall times are noisy. The CPU time of the "
        "process (all threads) is less disturbed and is shown beside them.",
        "",
        "## Data",
        "",
        f"{about['rows']:,} lines from {about['how']}: {about['customers']:,} customers, "
        f"{about['orders']:,} orders, {about['first']} to {about['last']}.",
        "",
        "## How to read the tables",
        "",
        "- **ours**: the library call on an eager `pl.DataFrame` in memory; **streaming**: the "
        'call on `pl.scan_parquet(path)` collected with `engine="streaming"` (reading '
        "included).",
        "- **floor**: the shortest hand-written Polars query we found for the same numbers "
        "(`benchmarks/views.py`), checked equal to ours with `assert_frame_equal` (relative "
        f"tolerance {RTOL:g}) before any timing.",
        f"- **time**: best of {repeats} calls after a warm-up, each case in a fresh process; "
        "**CPU**: the process's CPU seconds over the same call; **peak extra RSS**: peak "
        "resident memory during the calls minus the RSS after loading the data.",
        f"- Target from the issue: within {TARGET}x of the floor.",
        "",
    ]
    for function, names in CHECKS.items():
        if function not in checks:
            continue
        lines += [f"## {function}", "", ABOUT[function], "", f"Run: {runs.get(function)}.", ""]
        state = checks.get(function, {})
        if "error" in state:
            lines += [f"**Equality check failed**: {state['error']}", ""]
            continue
        lines += [
            "| variant | ours (s) | floor (s) | ours / floor | CPU s ours / floor (ratio) "
            "| peak extra RSS ours / floor (MB) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for variant in ("eager", "streaming"):
            ours = next((n for n in names if "ours" in n and variant_of(n) == variant), None)
            floor = next((n for n in names if "floor" in n and variant_of(n) == variant), None)
            if ours is None or floor is None:
                continue
            a, b = results.get(ours, {}), results.get(floor, {})
            if "seconds" not in a or "seconds" not in b:
                lines.append(f"| {variant} | failed: {a.get('error') or b.get('error')} |||||")
                continue
            ratio = a["seconds"] / b["seconds"]
            flag = "" if ratio <= TARGET else " (over 1.5x)"
            lines.append(
                f"| {variant} | {a['seconds']:.3f} | {b['seconds']:.3f} | **{ratio:.2f}x**{flag} "
                f"| {a['cpu_seconds']:.2f} / {b['cpu_seconds']:.2f} "
                f"({_ratio(a['cpu_seconds'], b['cpu_seconds'])}) "
                f"| {a['peak_extra_mb']:.0f} / {b['peak_extra_mb']:.0f} |"
            )
        lines.append("")
    return "\n".join(lines)


def variant_of(name: str) -> str:
    return "streaming" if name.endswith("-streaming") else "eager"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--quick", action="store_true", help="1M rows")
    parser.add_argument("--repeats", type=int, default=h.REPEATS)
    parser.add_argument("--only", nargs="*", help="functions to run (default all)")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--check", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        h.CASES.update(VIEW_CASES)  # the harness measures our cases the way it measures its own
        print(h.dump(h.measure(args.case, Path(args.data), 0, args.repeats)))
        return
    if args.check:
        print(h.dump(check(args.check, Path(args.data))))
        return
    rows = 1_000_000 if args.quick else args.rows
    began = time.perf_counter()
    path = h.data_path(DATA, rows)
    about = h.generate(path, rows)
    functions = [f for f in CHECKS if not args.only or f in args.only]
    command = "python benchmarks/views.py" + (" --quick" if args.quick else "")
    if args.repeats != h.REPEATS:
        command += f" --repeats {args.repeats}"
    if args.only:
        command += " --only " + " ".join(args.only)
    # with --only, the other functions keep the figures of the last run on the same data
    saved = DATA / f"views_{rows}.json"
    kept = json.loads(saved.read_text()) if args.only and saved.exists() else {}
    checks: dict[str, dict[str, Any]] = kept.get("checks", {})
    results: dict[str, dict[str, Any]] = kept.get("results", {})
    runs: dict[str, str] = kept.get("runs", {})
    for function in functions:
        checks[function] = _child("--check", function, "--data", str(path))
        runs[function] = f"{dt.date.today().isoformat()}: `{command}`"
        print(function, "check:", checks[function], flush=True)
        if "error" in checks[function]:
            continue
        for name in CHECKS[function]:
            results[name] = _child(
                "--case", name, "--data", str(path), "--repeats", str(args.repeats)
            )
            shown = {k: results[name].get(k) for k in ("seconds", "cpu_seconds", "error")}
            print(" ", name, shown, flush=True)
    report = write_report(
        results,
        checks,
        about,
        h.machine(),
        runs,
        (time.perf_counter() - began) / 60,
        args.repeats,
    )
    REPORT.write_text(report + "\n")
    saved.write_text(json.dumps({"results": results, "checks": checks, "runs": runs}))


if __name__ == "__main__":
    main()
