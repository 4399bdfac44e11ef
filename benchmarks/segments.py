"""Benchmark retailcrm.segments and retailcrm.metrics against hand-written Polars floors.

Usage (from the repository root)::

    python benchmarks/segments.py                    # every case, 3 timed runs each
    python benchmarks/segments.py --only kpis,tiers  # some cases
    python benchmarks/segments.py --repeats 5

The data is ``retailcrm.datasets.simulate(1_000_000, seed=0)`` (about 10M lines), written once to
``benchmarks/_data/`` (git-ignored). Every function is called on ``pl.scan_parquet(path)`` and
collected with ``engine="streaming"``; next to it, the shortest hand-written lazy Polars query
we found for the same frame (same columns, dtypes, values and row order), collected the same
way. Before timing a case, one process computes both and asserts they are equal. Each timing
runs in a fresh interpreter (``--child``, internal) that reports wall time, CPU time (all
threads) and peak resident memory. Results go to ``benchmarks/SEGMENTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from polars.testing import assert_frame_equal

from retailcrm import datasets, metrics, segments

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data" / "segments_simulate_1000000_seed0.parquet"
REPORT = HERE / "SEGMENTS.md"
RAW = HERE / "_data" / "segments_results.json"  # every figure of the last run (git-ignored)
CUSTOMERS = 1_000_000
SEED = 0
TARGET = 1.5
RTOL, ATOL = 1e-9, 1e-6

Y23 = (dt.date(2023, 1, 1), dt.date(2023, 12, 31))
Y24 = (dt.date(2024, 1, 1), dt.date(2024, 12, 31))
FOCUS = "Acorn Farms"
TIERS = {"Bronze": 0.0, "Silver": 200.0, "Gold": 1000.0}

t = pl.col("timestamp")
amount = pl.col("amount")
bought = amount > 0


# ---------------------------------------------------------------------------------------------
# inputs (built before timing)


@dataclass
class Inputs:
    """The transactions (lazy) and the small frames some functions take besides them."""

    tx: pl.LazyFrame
    segments: pl.LazyFrame
    segments_later: pl.LazyFrame
    wallets: pl.LazyFrame
    values: pl.LazyFrame


def inputs() -> Inputs:
    tx = pl.scan_parquet(DATA)
    customers = tx.select("customer_id").unique().sort("customer_id").collect()
    cid = pl.col("customer_id")
    frame = customers.with_columns(
        segment=(cid % 5).cast(pl.String),
        later=(cid % 7 % 5).cast(pl.String),
        wallet=(cid % 97 + 1).cast(pl.Float64) * 20.0,
        clv=(cid % 13).cast(pl.Float64),
    )
    return Inputs(
        tx=tx,
        segments=frame.select("customer_id", "segment").lazy(),
        segments_later=frame.select("customer_id", segment="later").lazy(),
        wallets=frame.select("customer_id", "wallet").lazy(),
        values=frame.select("customer_id", "clv").lazy(),
    )


# ---------------------------------------------------------------------------------------------
# floors: the same frames, hand-written


def _month(day: pl.Expr) -> pl.Expr:
    return day.dt.truncate("1mo")


def _last_day() -> pl.Expr:
    return t.max().dt.date()


def _since(months: int) -> pl.Expr:
    """Local date after the last date minus ``months`` (the window rule, by hand)."""
    return t.dt.date() > _last_day().dt.offset_by(f"-{months}mo")


def _share(name: str) -> pl.Expr:
    return pl.when(pl.col(name).sum() != 0).then(pl.col(name) / pl.col(name).sum())


def floor_contribution(i: Inputs) -> pl.LazyFrame:
    per_customer = (
        i.tx.filter(_since(12))
        .group_by("customer_id", "order_id")
        .agg(v=amount.sum(), m=pl.col("margin").sum())
        .group_by("customer_id")
        .agg(
            orders=(pl.col("v") > 0).sum().cast(pl.UInt32),
            sales=pl.col("v").sum(),
            margin=pl.col("m").sum(),
        )
    )
    names = ["customers", "orders", "sales", "margin"]
    return (
        i.segments.join(per_customer, on="customer_id", how="left")
        .group_by("segment")
        .agg(
            customers=pl.len().cast(pl.UInt32),
            orders=pl.col("orders").fill_null(0).sum().cast(pl.UInt32),
            sales=pl.col("sales").fill_null(0).sum(),
            margin=pl.col("margin").fill_null(0).sum(),
        )
        .select("segment", *[e for n in names for e in (pl.col(n), _share(n).alias(f"{n}_share"))])
        .sort("segment")
    )


def floor_migration(i: Inputs) -> pl.LazyFrame:
    return (
        i.segments.join(i.segments_later, on="customer_id", how="full", coalesce=True)
        .group_by(
            pl.col("segment").fill_null("(entered)").alias("from"),
            pl.col("segment_right").fill_null("(left)").alias("to"),
        )
        .agg(customers=pl.len().cast(pl.UInt32))
        .with_columns(share_of_from=pl.col("customers") / pl.col("customers").sum().over("from"))
        .sort("from", "to")
    )


def floor_never_buy(i: Inputs) -> pl.LazyFrame:
    baby = pl.col("category") == "Baby"
    return (
        i.tx.with_columns(_in=_since(12))
        .group_by("customer_id")
        .agg(
            wine=((pl.col("category") == "Wine & Spirits") & bought).any(),
            baby=(baby & bought & pl.col("_in")).any(),
            spend=amount.filter(baby & pl.col("_in")).sum(),
            last_purchase=t.filter(bought).max(),
            seen=t.max(),
        )
        .filter(pl.col("baby") & ~pl.col("wine"))
        .select(
            "customer_id",
            "spend",
            "last_purchase",
            days_since_last_purchase=(
                pl.col("seen").max().dt.date() - pl.col("last_purchase").dt.date()
            )
            .dt.total_days()
            .cast(pl.Int32),
        )
        .sort(pl.col("spend").round(6), "customer_id", descending=[True, False])
    )


def floor_frequency_bands(i: Inputs) -> pl.LazyFrame:
    n = pl.col("frequency")
    labels = ["1", "2", "3-5", "6-10", "11+"]
    band = (
        pl.when(n == 1)
        .then(pl.lit("1"))
        .when(n == 2)
        .then(pl.lit("2"))
        .when(n <= 5)
        .then(pl.lit("3-5"))
        .when(n <= 10)
        .then(pl.lit("6-10"))
        .otherwise(pl.lit("11+"))
    )
    return (
        i.tx.filter(_since(12))
        .group_by("customer_id", "order_id")
        .agg(v=amount.sum())
        .group_by("customer_id")
        .agg(frequency=(pl.col("v") > 0).sum().cast(pl.UInt32))
        .filter(n > 0)
        .with_columns(band=band.cast(pl.Enum(labels)))
        .sort("customer_id")
    )


def floor_tiers(i: Inputs) -> pl.LazyFrame:
    names = list(TIERS)

    def rank(spend: pl.Expr) -> pl.Expr:
        s = spend.round(6)
        return pl.sum_horizontal([(s >= v).cast(pl.Int8) for v in TIERS.values()])

    def tier(spend: pl.Expr) -> pl.Expr:
        return rank(spend).replace_strict({1: "Bronze", 2: "Silver", 3: "Gold"}, default=None)

    now, before = pl.col("_now"), pl.col("_before")
    up, down = rank(pl.col("spend")), rank(pl.col("previous_spend"))
    return (
        i.tx.with_columns(_now=_since(12), _before=_since(24) & ~_since(12))
        .filter(now | before)
        .group_by("customer_id")
        .agg(spend=amount.filter(now).sum(), previous_spend=amount.filter(before).sum())
        .select(
            "customer_id",
            "spend",
            tier=tier(pl.col("spend")).cast(pl.Enum(names)),
            previous_spend="previous_spend",
            previous_tier=tier(pl.col("previous_spend")).cast(pl.Enum(names)),
            move=pl.when(up > down)
            .then(pl.lit("up"))
            .when(up < down)
            .then(pl.lit("down"))
            .otherwise(pl.lit("same"))
            .cast(pl.Enum(["up", "same", "down"])),
        )
        .sort("customer_id")
    )


def floor_switching_matrix(i: Inputs) -> pl.LazyFrame:
    unit = ["customer_id", "category"]
    mix = (
        i.tx.filter(bought)
        .group_by(*unit, "order_id", "brand")
        .agg(s=amount.sum(), t=t.min())
        .with_columns(share=pl.col("s") / pl.col("s").sum().over(*unit, "order_id"))
    )
    nxt = (
        mix.group_by(*unit, "order_id")
        .agg(pl.col("t").min())
        .sort(*unit, "t", "order_id")
        .with_columns(
            next=pl.col("order_id").shift(-1),
            same=(pl.col("customer_id").shift(-1) == pl.col("customer_id"))
            & (pl.col("category").shift(-1) == pl.col("category")),
        )
        .filter("same")
        .select(*unit, "order_id", "next")
    )
    shares = mix.select(*unit, "order_id", "brand", "share")
    later = shares.rename({"order_id": "next", "brand": "to", "share": "share_to"})
    return (
        shares.join(nxt, on=[*unit, "order_id"])
        .join(later, on=[*unit, "next"])
        .group_by("category", "brand", "to", "customer_id")
        .agg(w=(pl.col("share") * pl.col("share_to")).sum())
        .group_by("category", pl.col("brand").alias("from"), "to")
        .agg(customers=pl.len().cast(pl.UInt32), transitions=pl.col("w").sum())
        .with_columns(
            probability=pl.col("transitions") / pl.col("transitions").sum().over("category", "from")
        )
        .sort("category", "from", "to")
    )


def _in(period: tuple[dt.date, dt.date]) -> pl.Expr:
    return t.dt.date().is_between(pl.lit(period[0]), pl.lit(period[1]))


def floor_brand_status(i: Inputs) -> pl.LazyFrame:
    unit = ["customer_id", "category"]
    a, b = pl.col("spend_a"), pl.col("spend_b")

    def main(col: str) -> pl.Expr:
        best = pl.col("brand").sort_by([pl.col(col).round(6), "brand"], descending=[True, False])
        return pl.when(pl.col(col).max() > 0).then(best.first())

    status = (
        pl.when(b == 0)
        .then(pl.lit("lapsed"))
        .when(~pl.col("seen"))
        .then(pl.lit("new"))
        .when(a == 0)
        .then(pl.lit("returning"))
        .when(pl.col("from") != pl.col("to"))
        .then(pl.lit("switcher"))
        .when(pl.col("to_share") >= 1.0)
        .then(pl.lit("sole"))
        .otherwise(pl.lit("repeat"))
        .cast(pl.Enum(segments.STATUSES))
    )
    # period_a is the whole look-back window of period_b here (both are calendar years)
    return (
        i.tx.filter(bought & (_in(Y23) | _in(Y24)))
        .group_by(*unit, "brand")
        .agg(a=amount.filter(_in(Y23)).sum(), b=amount.filter(_in(Y24)).sum())
        .group_by(unit)
        .agg(
            main("a").alias("from"),
            main("b").alias("to"),
            spend_a=pl.col("a").sum(),
            spend_b=pl.col("b").sum(),
            max_a=pl.col("a").max(),
            max_b=pl.col("b").max(),
        )
        .with_columns(
            seen=a > 0,
            from_share=pl.when(a > 0).then(pl.col("max_a") / a),
            to_share=pl.when(b > 0).then(pl.col("max_b") / b),
        )
        .select(
            *unit,
            status.alias("status"),
            "from",
            "to",
            "spend_a",
            "spend_b",
            "from_share",
            "to_share",
        )
        .sort(unit)
    )


def _floor_duplication(i: Inputs, parents: list[str]) -> pl.LazyFrame:
    buyers = i.tx.filter(bought).select("customer_id", *parents, "brand").unique()
    sizes = buyers.group_by(*parents, "brand").agg(n=pl.len())
    pairs = (
        buyers.join(buyers, on=["customer_id", *parents], suffix="_b")
        .filter(pl.col("brand") != pl.col("brand_b"))
        .group_by(*parents, "brand", "brand_b")
        .agg(both=pl.len())
        .join(sizes, on=[*parents, "brand"])
        .join(sizes.rename({"brand": "brand_b", "n": "n_b"}), on=[*parents, "brand_b"])
    )
    over = parents or None

    def per(expr: pl.Expr) -> pl.Expr:
        return expr.over(over) if over else expr

    customers = (
        buyers.group_by(parents).agg(N=pl.col("customer_id").n_unique())
        if parents
        else buyers.select(N=pl.col("customer_id").n_unique())
    )
    stats = (
        sizes.group_by(parents).agg(k=pl.len(), pen=pl.col("n").sum())
        if parents
        else sizes.select(k=pl.len(), pen=pl.col("n").sum())
    )
    stats = stats.join(customers, on=parents) if parents else stats.join(customers, how="cross")
    joined = pairs.join(stats, on=parents) if parents else pairs.join(stats, how="cross")
    dup = pl.col("both") / pl.col("n")
    pen = pl.col("n_b") / pl.col("N")
    d = per(dup.sum()) / ((pl.col("k") - 1) * pl.col("pen") / pl.col("N"))
    return joined.select(
        *parents,
        a="brand",
        b="brand_b",
        buyers_a=pl.col("n").cast(pl.UInt32),
        buyers_b=pl.col("n_b").cast(pl.UInt32),
        buyers_both=pl.col("both").cast(pl.UInt32),
        duplication=dup,
        penetration_b=pen,
        duplication_coefficient=d,
        expected_duplication=d * pen,
    ).sort(*parents, "a", "b")


def floor_gain_loss(i: Inputs) -> pl.LazyFrame:
    focus = pl.col("brand") == FOCUS
    rows = i.tx.filter(_in(Y23) | _in(Y24))
    rows = rows.join(rows.filter(focus).select("category").unique(), on="category", how="semi")
    fa, fb, ta, tb = (pl.col(c) for c in ("fa", "fb", "ta", "tb"))
    change = fb - fa
    going, neither = (ta > 0) & (tb > 0), (ta <= 0) & (tb <= 0)
    e = pl.when(going).then(fa * (tb - ta) / ta).when(neither).then(change).otherwise(0.0)
    s = pl.when(going).then(change - e).otherwise(0.0)
    parts = [
        pl.when((ta <= 0) & (tb > 0)).then(change).otherwise(0.0),
        pl.when(e > 0).then(e).otherwise(0.0),
        pl.when(s > 0).then(s).otherwise(0.0),
        pl.when(s < 0).then(s).otherwise(0.0),
        pl.when(e < 0).then(e).otherwise(0.0),
        pl.when((ta > 0) & (tb <= 0)).then(change).otherwise(0.0),
    ]
    c = pl.col("customer_id")
    return (
        rows.group_by("customer_id", "category")
        .agg(
            fa=amount.filter(focus & _in(Y23)).sum().round(6),
            fb=amount.filter(focus & _in(Y24)).sum().round(6),
            ta=amount.filter(_in(Y23)).sum().round(6),
            tb=amount.filter(_in(Y24)).sum().round(6),
        )
        .select(
            component=pl.lit(pl.Series(segments.COMPONENTS, dtype=pl.Enum(segments.COMPONENTS))),
            customers=pl.concat_list([c.filter(p.round(6) != 0).n_unique() for p in parts])
            .explode()
            .cast(pl.UInt32),
            spend_change=pl.concat_list([p.sum() for p in parts]).explode(),
        )
    )


def _floor_activity(i: Inputs) -> pl.LazyFrame:
    """Per month: the activity counts, revenue and margin (every month has orders here)."""
    m, n = pl.col("month"), pl.col("n")
    per = (
        i.tx.group_by("customer_id", "order_id")
        .agg(month=_month(t.min().dt.date()), v=amount.sum())
        .group_by("customer_id", "month")
        .agg(n=(pl.col("v") > 0).sum(), revenue=pl.col("v").sum())
    )
    counts = (
        per.filter(n > 0)
        .with_columns(
            first=m.min().over("customer_id"),
            prev=m.shift(1).over("customer_id", order_by="month"),
        )
        .group_by("month")
        .agg(
            active_customers=pl.len().cast(pl.UInt32),
            new_customers=(m == pl.col("first")).sum().cast(pl.UInt32),
            repeat_customers=(n >= 2).sum().cast(pl.UInt32),
            retained_customers=(pl.col("prev").dt.offset_by("1mo") == m).sum().cast(pl.UInt32),
            orders=n.sum().cast(pl.UInt32),
        )
    )
    money = per.group_by("month").agg(pl.col("revenue").sum())
    margin = i.tx.group_by(month=_month(t.dt.date())).agg(pl.col("margin").sum())
    end = i.tx.select(_as_of=_last_day())
    return (
        counts.join(money, on="month")
        .join(margin, on="month")
        .join(end, how="cross")
        .sort("month")
        .rename({"month": "period_start"})
    )


def _rates() -> dict[str, pl.Expr]:
    before = pl.col("active_customers").shift(1)
    r = pl.when(before > 0).then(pl.col("retained_customers") / before)
    return {
        "retention_rate": r,
        "defection_rate": 1.0 - r,
        "expected_lifetime": pl.when(r < 1).then(1.0 / (1.0 - r)),
    }


def _complete() -> pl.Expr:
    return pl.col("period_start").dt.offset_by("1mo") <= pl.col("_as_of") + pl.duration(days=1)


def floor_kpis(i: Inputs) -> pl.LazyFrame:
    active, orders = pl.col("active_customers"), pl.col("orders")
    return _floor_activity(i).select(
        "period_start",
        is_complete=_complete(),
        active_customers=active,
        new_customers="new_customers",
        returning_customers=active - pl.col("new_customers"),
        orders=orders,
        revenue="revenue",
        margin="margin",
        average_order_value=pl.when(orders > 0).then(pl.col("revenue") / orders),
        orders_per_customer=pl.when(active > 0).then(orders / active),
        revenue_per_customer=pl.when(active > 0).then(pl.col("revenue") / active),
        margin_per_customer=pl.when(active > 0).then(pl.col("margin") / active),
        repeat_purchase_rate=pl.when(active > 0).then(pl.col("repeat_customers") / active),
        **_rates(),
    )


def floor_acquisition(i: Inputs) -> pl.LazyFrame:
    first = (
        i.tx.group_by("customer_id", "order_id")
        .agg(day=t.min().dt.date(), v=amount.sum())
        .filter(pl.col("v") > 0)
        .group_by("customer_id")
        .agg(period_start=_month(pl.col("day").min()))
    )
    return (
        first.group_by("period_start")
        .agg(new_customers=pl.len().cast(pl.UInt32))
        .sort("period_start")
    )


def floor_retention(i: Inputs) -> pl.LazyFrame:
    return _floor_activity(i).select(
        "period_start",
        is_complete=_complete(),
        active_customers="active_customers",
        previous_active_customers=pl.col("active_customers").shift(1),
        retained_customers="retained_customers",
        **_rates(),
    )


def floor_survival(i: Inputs) -> pl.LazyFrame:
    month = pl.col("day").dt.year() * 12 + pl.col("day").dt.month().cast(pl.Int32)
    end = (_last_day() + pl.duration(days=1)).dt.year() * 12 + (
        _last_day() + pl.duration(days=1)
    ).dt.month().cast(pl.Int32)
    k, done = pl.col("period_index"), pl.col("done")
    active = (
        i.tx.with_columns(_end=end)
        .group_by("customer_id", "order_id")
        .agg(day=t.min().dt.date(), v=amount.sum(), end=pl.col("_end").first())
        .filter(pl.col("v") > 0)
        .select("customer_id", "end", m=month)
        .unique()
        .with_columns(
            c=pl.col("m").min().over("customer_id"),
            kept=pl.col("m").shift(1).over("customer_id", order_by="m") + 1 == pl.col("m"),
        )
        .select(
            period_index=(pl.col("m") - pl.col("c")).cast(pl.Int32),
            done=(pl.col("end") - pl.col("c")).cast(pl.Int32),
            kept="kept",
        )
    )
    sizes = active.filter(k == 0).group_by("done").agg(n=pl.len())
    grid = (
        sizes.select(period_index=pl.int_ranges(0, done.max(), dtype=pl.Int32))
        .explode("period_index")
        .join(sizes, how="cross")
        .filter(done > k)
        .group_by("period_index")
        .agg(customers=pl.col("n").sum().cast(pl.UInt32))
    )
    seen = (
        active.filter(done > k)
        .group_by("period_index")
        .agg(act=pl.len(), retained=pl.col("kept").sum())
    )
    risk = (
        active.with_columns(period_index=k + 1)
        .filter(done > k)
        .group_by("period_index")
        .agg(at_risk=pl.len())
    )
    first = k == 0
    rate = pl.when(~first & (pl.col("at_risk") > 0)).then(pl.col("retained") / pl.col("at_risk"))
    return (
        grid.join(seen, on="period_index", how="left")
        .join(risk, on="period_index", how="left")
        .sort("period_index")
        .select(
            "period_index",
            "customers",
            active_share=pl.col("act").fill_null(0) / pl.col("customers"),
            at_risk=pl.when(~first).then(pl.col("at_risk").fill_null(0)).cast(pl.UInt32),
            retained=pl.when(~first).then(pl.col("retained").fill_null(0)).cast(pl.UInt32),
        )
        .with_columns(retention_rate=rate)
        .with_columns(survival_rate=pl.when(first).then(1.0).otherwise(rate).cum_prod())
    )


def _floor_gaps(i: Inputs) -> pl.LazyFrame:
    n = pl.col("purchases")
    return (
        i.tx.with_columns(_end=_last_day())
        .group_by("customer_id", "order_id")
        .agg(day=t.min().dt.date(), v=amount.sum(), end=pl.col("_end").first())
        .filter(pl.col("v") > 0)
        .group_by("customer_id")
        .agg(
            purchases=pl.len().cast(pl.UInt32),
            first_purchase=pl.col("day").min(),
            last_purchase=pl.col("day").max(),
            end=pl.col("end").first(),
        )
        .select(
            "customer_id",
            "purchases",
            "first_purchase",
            "last_purchase",
            mean_gap_days=pl.when(n > 1).then(
                (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days() / (n - 1)
            ),
            days_per_purchase=(pl.col("end") - pl.col("first_purchase")).dt.total_days() / n,
        )
    )


def floor_interpurchase_time(i: Inputs) -> pl.LazyFrame:
    return _floor_gaps(i).sort("customer_id")


def floor_interpurchase_summary(i: Inputs) -> pl.LazyFrame:
    n = pl.col("purchases").cast(pl.Int64)
    span = (pl.col("last_purchase") - pl.col("first_purchase")).dt.total_days()
    return _floor_gaps(i).select(
        customers=pl.len().cast(pl.UInt32),
        repeat_customers=(n > 1).sum().cast(pl.UInt32),
        mean_gap_days=pl.col("mean_gap_days").mean(),
        pooled_gap_days=span.sum() / (n - 1).sum(),
        days_per_purchase=pl.col("days_per_purchase").mean(),
    )


def floor_channel_mix(i: Inputs) -> pl.LazyFrame:
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
    return (
        i.tx.filter(_since(12))
        .group_by("customer_id")
        .agg(
            store=(bought & (pl.col("channel") == "store")).any(),
            online=(bought & (pl.col("channel") == "online")).any(),
            revenue=amount.sum(),
        )
        .group_by(mix=mix)
        .agg(customers=pl.len().cast(pl.UInt32), revenue=pl.col("revenue").sum())
        .select(
            "mix",
            "customers",
            customers_share=pl.col("customers") / pl.col("customers").sum(),
            revenue="revenue",
            revenue_share=pl.col("revenue") / pl.col("revenue").sum(),
            revenue_per_customer=pl.col("revenue") / pl.col("customers"),
        )
        .sort("mix")
    )


def _floor_wallet_spend(i: Inputs) -> pl.LazyFrame:
    spend = i.tx.filter(_since(12)).group_by("customer_id").agg(spend=amount.sum())
    return i.wallets.join(spend, on="customer_id", how="left").with_columns(
        pl.col("spend").fill_null(0.0)
    )


def floor_share_of_wallet(i: Inputs) -> pl.LazyFrame:
    return (
        _floor_wallet_spend(i)
        .select(
            "customer_id", "spend", "wallet", share_of_wallet=pl.col("spend") / pl.col("wallet")
        )
        .sort("customer_id")
    )


def floor_aggregate_share_of_wallet(i: Inputs) -> pl.LazyFrame:
    spend, wallet = pl.col("spend"), pl.col("wallet")
    return _floor_wallet_spend(i).select(
        customers=pl.len().cast(pl.UInt32),
        spend=spend.sum(),
        wallet=wallet.sum(),
        share_of_wallet=spend.sum() / wallet.sum(),
        mean_individual_share=(spend / wallet).mean(),
    )


def floor_past_customer_value(i: Inputs) -> pl.LazyFrame:
    month = pl.col("day").dt.year() * 12 + pl.col("day").dt.month().cast(pl.Int32)
    last = _last_day()
    end = last.dt.year() * 12 + last.dt.month().cast(pl.Int32)
    return (
        i.tx.with_columns(day=t.dt.date(), _end=end)
        .group_by("customer_id", m=month)
        .agg(value=pl.col("margin").sum(), end=pl.col("_end").first())
        .group_by("customer_id")
        .agg(
            value=pl.col("value").sum(),
            past_customer_value=(
                pl.col("value") * 1.01 ** (pl.col("end") - pl.col("m")).cast(pl.Float64)
            ).sum(),
        )
        .sort("customer_id")
    )


def floor_customer_equity(i: Inputs) -> pl.LazyFrame:
    return i.values.select(
        customers=pl.len().cast(pl.UInt32),
        customer_equity=pl.col("clv").sum(),
        mean_clv=pl.col("clv").mean(),
    )


def _floor_category(i: Inputs) -> pl.LazyFrame:
    focus = pl.col("brand") == FOCUS
    categories = i.tx.filter(focus).select("category").unique()
    return (
        i.tx.join(categories, on="category", how="semi")
        .group_by("customer_id")
        .agg(focus_amount=amount.filter(focus).sum(), category_amount=amount.sum())
    )


def floor_share_of_category_requirement(i: Inputs) -> pl.LazyFrame:
    f, c = pl.col("focus_amount"), pl.col("category_amount")
    return (
        _floor_category(i)
        .with_columns(share_of_category_requirement=pl.when(c.round(6) > 0).then(f / c))
        .sort("customer_id")
    )


def floor_aggregate_share_of_category_requirement(i: Inputs) -> pl.LazyFrame:
    f, c = pl.col("focus_amount"), pl.col("category_amount")
    buyer = f.round(6) > 0
    return _floor_category(i).select(
        category_buyers=pl.len().cast(pl.UInt32),
        focus_buyers=buyer.sum().cast(pl.UInt32),
        focus_amount=f.filter(buyer).sum(),
        category_amount=c.filter(buyer).sum(),
        share_of_category_requirement=f.filter(buyer).sum() / c.filter(buyer).sum(),
        mean_individual_share=(f / c).filter(buyer).mean(),
        market_share=f.sum() / c.sum(),
    )


def floor_size_of_wallet(i: Inputs) -> pl.LazyFrame:
    return (
        i.wallets.join(i.segments, on="customer_id", how="left")
        .group_by("segment")
        .agg(
            customers=pl.len().cast(pl.UInt32),
            size_of_wallet=pl.col("wallet").sum(),
            mean_size_of_wallet=pl.col("wallet").mean(),
        )
        .sort("segment")
    )


# ---------------------------------------------------------------------------------------------
# cases


@dataclass(frozen=True)
class Case:
    """One function: our call and the floor, both lazy queries over the inputs."""

    call: str
    ours: Callable[[Inputs], pl.LazyFrame]
    floor: Callable[[Inputs], pl.LazyFrame]


CASES: dict[str, Case] = {
    "contribution": Case(
        'segments.contribution(tx, segments, lookback="12mo")',
        lambda i: segments.contribution(i.tx, i.segments, lookback="12mo"),
        floor_contribution,
    ),
    "migration": Case(
        "segments.migration(a, b)",
        lambda i: segments.migration(i.segments, i.segments_later),
        floor_migration,
    ),
    "never_buy": Case(
        'segments.never_buy(tx, target={"category": "Wine & Spirits"}, '
        'among={"category": "Baby"}, lookback="12mo")',
        lambda i: segments.never_buy(
            i.tx,
            target={"category": "Wine & Spirits"},
            among={"category": "Baby"},
            lookback="12mo",
        ),
        floor_never_buy,
    ),
    "frequency_bands": Case(
        'segments.frequency_bands(tx, lookback="12mo")',
        lambda i: segments.frequency_bands(i.tx, lookback="12mo"),
        floor_frequency_bands,
    ),
    "tiers": Case(
        'segments.tiers(tx, thresholds={"Bronze": 0, "Silver": 200, "Gold": 1000}, window="12mo")',
        lambda i: segments.tiers(i.tx, thresholds=TIERS, window="12mo"),
        floor_tiers,
    ),
    "switching_matrix": Case(
        'segments.switching_matrix(tx, within="category")',
        lambda i: segments.switching_matrix(i.tx, within="category"),
        floor_switching_matrix,
    ),
    "brand_status": Case(
        'segments.brand_status(tx, within="category", period_a=2023, period_b=2024)',
        lambda i: segments.brand_status(i.tx, within="category", period_a=Y23, period_b=Y24),
        floor_brand_status,
    ),
    "duplication": Case(
        'segments.duplication(tx, within="category")',
        lambda i: segments.duplication(i.tx, within="category"),
        lambda i: _floor_duplication(i, ["category"]),
    ),
    "duplication_all": Case(
        "segments.duplication(tx) (all 309 brands, no parent)",
        lambda i: segments.duplication(i.tx),
        lambda i: _floor_duplication(i, []),
    ),
    "gain_loss": Case(
        f'segments.gain_loss(tx, focus="{FOCUS}", within="category", 2023 vs 2024)',
        lambda i: segments.gain_loss(
            i.tx, focus=FOCUS, within="category", period_a=Y23, period_b=Y24
        ),
        floor_gain_loss,
    ),
    "kpis": Case("metrics.kpis(tx)", lambda i: metrics.kpis(i.tx), floor_kpis),
    "acquisition": Case(
        "metrics.acquisition(tx)", lambda i: metrics.acquisition(i.tx), floor_acquisition
    ),
    "retention": Case("metrics.retention(tx)", lambda i: metrics.retention(i.tx), floor_retention),
    "survival": Case("metrics.survival(tx)", lambda i: metrics.survival(i.tx), floor_survival),
    "interpurchase_time": Case(
        "metrics.interpurchase_time(tx)",
        lambda i: metrics.interpurchase_time(i.tx),
        floor_interpurchase_time,
    ),
    "interpurchase_summary": Case(
        "metrics.interpurchase_summary(tx)",
        lambda i: metrics.interpurchase_summary(i.tx),
        floor_interpurchase_summary,
    ),
    "channel_mix": Case(
        'metrics.channel_mix(tx, lookback="12mo")',
        lambda i: metrics.channel_mix(i.tx, lookback="12mo"),
        floor_channel_mix,
    ),
    "share_of_wallet": Case(
        'metrics.share_of_wallet(tx, wallets=wallets, lookback="12mo")',
        lambda i: metrics.share_of_wallet(i.tx, wallets=i.wallets, lookback="12mo"),
        floor_share_of_wallet,
    ),
    "aggregate_share_of_wallet": Case(
        'metrics.aggregate_share_of_wallet(tx, wallets=wallets, lookback="12mo")',
        lambda i: metrics.aggregate_share_of_wallet(i.tx, wallets=i.wallets, lookback="12mo"),
        floor_aggregate_share_of_wallet,
    ),
    "past_customer_value": Case(
        "metrics.past_customer_value(tx, discount_rate=0.01)",
        lambda i: metrics.past_customer_value(i.tx, discount_rate=0.01),
        floor_past_customer_value,
    ),
    "customer_equity": Case(
        "metrics.customer_equity(values)",
        lambda i: metrics.customer_equity(i.values),
        floor_customer_equity,
    ),
    "share_of_category_requirement": Case(
        f'metrics.share_of_category_requirement(tx, focus="{FOCUS}")',
        lambda i: metrics.share_of_category_requirement(i.tx, focus=FOCUS),
        floor_share_of_category_requirement,
    ),
    "aggregate_share_of_category_requirement": Case(
        f'metrics.aggregate_share_of_category_requirement(tx, focus="{FOCUS}")',
        lambda i: metrics.aggregate_share_of_category_requirement(i.tx, focus=FOCUS),
        floor_aggregate_share_of_category_requirement,
    ),
    "size_of_wallet": Case(
        "metrics.size_of_wallet(wallets, segments)",
        lambda i: metrics.size_of_wallet(i.wallets, i.segments),
        floor_size_of_wallet,
    ),
}


# ---------------------------------------------------------------------------------------------
# what a child process does


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    msg = f"no {field} in /proc/self/status"
    raise RuntimeError(msg)


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


def _collect(query: pl.LazyFrame) -> pl.DataFrame:
    return query.collect(engine="streaming")


def check(name: str) -> dict[str, Any]:
    """Compute ours and the floor once; assert the frames are equal."""
    warnings.simplefilter("ignore")
    case = CASES[name]
    data = inputs()
    ours, floor = _collect(case.ours(data)), _collect(case.floor(data))
    assert_frame_equal(ours, floor, check_exact=False, rel_tol=RTOL, abs_tol=ATOL)
    return {"case": name, "shape": list(ours.shape)}


def measure(name: str, impl: str, repeats: int) -> dict[str, Any]:
    """Time one implementation: a warm-up call, then ``repeats`` timed calls."""
    warnings.simplefilter("ignore")
    case = CASES[name]
    data = inputs()
    build = case.ours if impl == "ours" else case.floor
    base_kb = _status_kb("VmRSS")
    _reset_peak()
    walls, cpus = [], []
    for run in range(1 + repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = _collect(build(data))
        wall, cpu = time.perf_counter() - start, time.process_time() - start_cpu
        if run:
            walls.append(wall)
            cpus.append(cpu)
        del out
    peak_kb = _status_kb("VmHWM")
    return {
        "case": name,
        "impl": impl,
        "walls": walls,
        "cpus": cpus,
        "peak_mb": peak_kb / 1024,
        "extra_mb": max(peak_kb - base_kb, 0) / 1024,
    }


# ---------------------------------------------------------------------------------------------
# the parent: data, children, report


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        return {"failed": "\n".join(done.stderr.strip().splitlines()[-12:])}
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_data() -> dict[str, Any]:
    about = DATA.with_suffix(".json")
    if not DATA.exists():
        DATA.parent.mkdir(parents=True, exist_ok=True)
        datasets.simulate(CUSTOMERS, seed=SEED).write_parquet(DATA)
    if not about.exists():
        frame = pl.scan_parquet(DATA)
        facts = (
            frame.select(
                rows=pl.len(),
                customers=pl.col("customer_id").n_unique(),
                orders=pl.struct("customer_id", "order_id").n_unique(),
                first=t.min().dt.date().cast(pl.String),
                last=t.max().dt.date().cast(pl.String),
            )
            .collect()
            .row(0, named=True)
        )
        about.write_text(json.dumps({**facts, "columns": frame.collect_schema().names()}))
    return json.loads(about.read_text())


def _load() -> str:
    try:
        return " / ".join(f"{x:.1f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def report(results: dict[str, dict[str, Any]], data: dict[str, Any], meta: dict[str, Any]) -> str:
    lines = [
        "# segments and metrics: benchmark against hand-written Polars",
        "",
        f"Written by `benchmarks/segments.py` on {meta['date']} (run took {meta['minutes']:.0f} "
        f"min; command `{meta['command']}`).",
        "",
        f"- Machine: {_cpu()}, {os.cpu_count()} cores, shared with other work (load average "
        f"1/5/15 min at the start {meta['load_start']}, at the end {meta['load_end']}). "
        f"Polars {pl.__version__}, {pl.thread_pool_size()} threads; Python "
        f"{platform.python_version()}.",
        f"- Data: `retailcrm.datasets.simulate({CUSTOMERS:_}, seed={SEED})`, {data['rows']:,} "
        f"lines, {data['customers']:,} customers, {data['orders']:,} orders, {data['first']} to "
        f"{data['last']}; parquet in `benchmarks/_data/` (git-ignored).",
        '- Every call is lazy on `pl.scan_parquet(path)` and collected with `engine="streaming"` '
        "(this includes reading the file from the page cache). **floor** is the shortest "
        "hand-written lazy Polars query we found for the same frame (in this file); before "
        "timing, one process computes both and asserts `assert_frame_equal` (rel. "
        f"{RTOL:g}, abs. {ATOL:g}).",
        f"- Each implementation runs in a fresh process: one warm-up, then {meta['repeats']} timed "
        "calls; wall (`perf_counter`) and CPU time of the process (`process_time`, all threads) "
        "are the **best** of the timed calls (median in brackets). With the machine this loaded, "
        "the CPU ratio is the steadier figure. Peak RSS is the process's `VmHWM` after "
        "resetting it just before the calls; *extra* subtracts the RSS before the first call.",
        f"- Target: ours within {TARGET}x of the floor.",
        "",
        "| function | ours wall s | floor wall s | wall ratio | ours CPU s | floor CPU s "
        "| CPU ratio | peak RSS MB ours / floor (extra) |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name in CASES:
        r = results.get(name)
        if r is None:
            continue
        if "failed" in r:
            lines.append(f"| `{name}` | failed: {r['failed'].splitlines()[-1]} |||||||")
            continue
        o, f = r["ours"], r["floor"]
        if "failed" in o or "failed" in f:
            lines.append(f"| `{name}` | a run failed |||||||")
            continue
        wr = min(o["walls"]) / min(f["walls"])
        cr = min(o["cpus"]) / min(f["cpus"])
        flag = " **over**" if min(wr, cr) > TARGET else ""
        lines.append(
            f"| `{name}` | {min(o['walls']):.2f} ({_median(o['walls']):.2f}) "
            f"| {min(f['walls']):.2f} ({_median(f['walls']):.2f}) | {wr:.2f}x{flag} "
            f"| {min(o['cpus']):.2f} ({_median(o['cpus']):.2f}) "
            f"| {min(f['cpus']):.2f} ({_median(f['cpus']):.2f}) | {cr:.2f}x "
            f"| {o['peak_mb']:,.0f} / {f['peak_mb']:,.0f} ({o['extra_mb']:,.0f} / "
            f"{f['extra_mb']:,.0f}) |"
        )
    lines += ["", "Calls:", ""]
    lines += [
        f"- `{name}`: `{case.call}`; output {results[name].get('shape', '?')}"
        for name, case in CASES.items()
        if name in results
    ]
    lines += ["", meta.get("notes", "").strip(), ""]
    return "\n".join(lines)


NOTES = """
Notes:

- What the first runs found, and what was changed in `src/` (the floors stayed as they are):
  `switching_matrix` built each occasion's mix as lists with `spend / spend.sum()` inside the
  aggregation (Polars' slow per-group path, 16 of 49 CPU s) and sorted those lists: now one
  window share and one sort of the occasions, then two joins (49 -> 15 CPU s).
  `duplication` recomputed its first aggregation in five branches (the plan had no common
  subplan to cache): now one pass (buyers' value sets, exploded into pairs with the diagonal)
  and window functions over the small cell frame (16 -> 3.5 CPU s); the pairs are counted in 8
  hash slices of the customers, so the all-brands case peaks at 0.8 GB instead of 3.1 GB.
  `acquisition` ran the whole activity table to keep one column (1.7x): now its own query.
  `channel_mix` cast an Enum channel to text for 10M rows (1.4x): labels are compared as they
  are. `past_customer_value` compounded inside the aggregation and cross-joined `as_of` to
  every customer-period: now row-wise, with `as_of` from the window rule.
- The floors know the data (every month has orders, every customer is in the segment frames,
  all lines have a brand and category); our functions also handle the general case (empty
  periods, customers outside the segment frame, null labels, an `as_of` other than the last
  day), which can cost a little.
- Wall ratios on this shared machine move by +-30% between runs; read a case as over target
  only when its CPU ratio is over too.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated case names")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument(
        "--report-only", action="store_true", help="rewrite SEGMENTS.md from the last run"
    )
    args = parser.parse_args()
    if args.report_only:
        saved = json.loads(RAW.read_text())
        REPORT.write_text(
            report(saved["results"], ensure_data(), {**saved["meta"], "notes": NOTES})
        )
        return
    if args.child:
        kind, name, *rest = args.child
        result = check(name) if kind == "check" else measure(name, rest[0], int(rest[1]))
        sys.stdout.write(json.dumps(result) + "\n")
        return
    names = [n for n in args.only.split(",") if n] or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        raise SystemExit(f"unknown case(s) {unknown}; choose from {list(CASES)}")
    began = time.perf_counter()
    load_start = _load()
    data = ensure_data()
    results: dict[str, dict[str, Any]] = {}
    if RAW.exists() and args.only:  # keep the other cases of an earlier run
        results = json.loads(RAW.read_text())["results"]
    for k, name in enumerate(names):
        checked = _child("check", name)
        if "failed" in checked:
            results[name] = checked
            sys.stderr.write(f"{name}: check failed\n{checked['failed']}\n")
            continue
        order = ("ours", "floor") if k % 2 == 0 else ("floor", "ours")
        runs = {impl: _child("time", name, impl, str(args.repeats)) for impl in order}
        results[name] = {"shape": checked["shape"], **runs}
        o, f = runs["ours"], runs["floor"]
        if "failed" not in o and "failed" not in f:
            sys.stderr.write(
                f"{name}: wall {min(o['walls']):.2f} / {min(f['walls']):.2f}, "
                f"cpu {min(o['cpus']):.2f} / {min(f['cpus']):.2f}\n"
            )
    meta = {
        "date": dt.date.today().isoformat(),
        "minutes": (time.perf_counter() - began) / 60,
        "command": "python " + " ".join(["benchmarks/segments.py", *sys.argv[1:]]),
        "repeats": args.repeats,
        "load_start": load_start,
        "load_end": _load(),
        "notes": NOTES,
    }
    RAW.write_text(json.dumps({"results": results, "meta": meta}, indent=1))
    REPORT.write_text(report(results, data, meta))


if __name__ == "__main__":
    main()
