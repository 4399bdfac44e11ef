"""Benchmark internals: the data, the Polars floors, and the measurement run in each subprocess.

Nothing here is imported by ``retailcrm``. ``run.py`` starts one fresh interpreter per measured
case (``run.py --case NAME --data PATH``); that interpreter calls :func:`measure`, which prints
one JSON line on stdout.

The floors are the shortest hand-written Polars queries we found that compute the same numbers
as our functions (same columns, dtypes and values; checked with ``assert_frame_equal`` by
:func:`check` before any timing). Each is one lazy query, collected once.
"""

from __future__ import annotations

import gc
import hashlib
import json
import math
import os
import resource
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import polars as pl
from polars.testing import assert_frame_equal

from retailcrm import clv, cohorts, datasets, rfm

__all__ = [
    "CASES",
    "CHECKS",
    "Case",
    "check",
    "data_path",
    "dump",
    "generate",
    "machine",
    "measure",
    "subset_modulus",
]

BINS = 5
REPEATS = 3
SLOW = 60.0  # seconds
SEED = 0
# tolerance of the equality checks: sums of the same numbers in another order
RTOL = 1e-9
ATOL = 1e-6

# ---------------------------------------------------------------------------------------------
# data


def data_path(folder: Path, rows: int) -> Path:
    """Where the data for ``rows`` rows is cached; the name changes with ``datasets.py``."""
    digest = hashlib.sha1(Path(datasets.__file__).read_bytes()).hexdigest()[:8]
    return folder / f"tx_{rows}_simulate_{digest}.parquet"


def generate(path: Path, rows: int) -> dict[str, Any]:
    """Write about ``rows`` rows of transactions to ``path``; return a description.

    A file already there (same rows, same generator code) is reused with its description.
    """
    about = path.with_suffix(".json")
    if path.exists() and about.exists():
        return json.loads(about.read_text())
    probe = 20_000  # customers, to learn the rows per customer
    per_customer = datasets.simulate(probe, seed=SEED).height / probe
    n_customers = max(1, round(rows / per_customer))
    frame = datasets.simulate(n_customers, seed=SEED)
    how = f"`retailcrm.datasets.simulate({n_customers:_}, seed={SEED})`"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(path)
    description = {"how": how, **describe(frame)}
    about.write_text(json.dumps(description))
    return description


def describe(frame: pl.DataFrame) -> dict[str, Any]:
    """Row, customer and order counts of a transaction frame, and its time range."""
    stats = frame.select(
        customers=pl.col("customer_id").n_unique(),
        orders=pl.struct("customer_id", "order_id").n_unique(),
        negative_lines=(pl.col("amount") < 0).mean(),
        first=pl.col("timestamp").min().dt.date(),
        last=pl.col("timestamp").max().dt.date(),
    ).row(0, named=True)
    return {
        "rows": frame.height,
        "columns": frame.columns,
        "customers": stats["customers"],
        "orders": stats["orders"],
        "negative_lines": stats["negative_lines"],
        "first": str(stats["first"]),
        "last": str(stats["last"]),
    }


# ---------------------------------------------------------------------------------------------
# floors: the same numbers, written by hand as one lazy query each


def _floor_summary(lf: pl.LazyFrame) -> pl.LazyFrame:
    """rfm.summary: orders -> customers; as_of is the last timestamp of the data."""
    t, v = pl.col("timestamp"), pl.col("value")
    buy = v > 0
    return (
        lf.group_by("customer_id", "order_id")
        .agg(t.min(), last=t.max(), value=pl.col("amount").sum())
        .group_by("customer_id")
        .agg(
            first_purchase=t.filter(buy).min(),
            last_purchase=t.filter(buy).max(),
            frequency=buy.sum().cast(pl.UInt32),
            monetary=v.sum(),
            last=pl.col("last").max(),
        )
        .select(
            "customer_id",
            "first_purchase",
            "last_purchase",
            recency=(pl.col("last").max().dt.date() - pl.col("last_purchase").dt.date())
            .dt.total_days()
            .cast(pl.Int32),
            frequency="frequency",
            monetary="monetary",
            average_order_value=pl.when(pl.col("frequency") > 0).then(
                pl.col("monetary") / pl.col("frequency")
            ),
        )
        .sort("customer_id")
    )


def _floor_score(name: str) -> pl.Expr:
    """Quantile score, ties share the lowest rank: floor((rank_min - 1) * bins / n) + 1."""
    x = pl.col(name).cast(pl.Float64)
    if name == "monetary":
        x = x.round_sig_figs(12)
    key = -x if name == "recency" else x
    score = ((key.rank("min") - 1) * BINS / key.count()).floor() + 1
    return score.fill_null(1).cast(pl.UInt8)


def _floor_scores_of(summary: pl.LazyFrame) -> pl.LazyFrame:
    """rfm.scores on a summary: three quantile scores, the cell string and the total."""
    parts = ["r_score", "f_score", "m_score"]
    return summary.with_columns(
        r_score=_floor_score("recency"),
        f_score=_floor_score("frequency"),
        m_score=_floor_score("monetary"),
    ).with_columns(rfm_cell=pl.concat_str(parts), rfm_score=pl.sum_horizontal(parts).cast(pl.UInt8))


def _floor_scores(lf: pl.LazyFrame) -> pl.LazyFrame:
    return _floor_scores_of(_floor_summary(lf))


def _month(date: pl.Expr) -> pl.Expr:
    return date.dt.year() * 12 + date.dt.month().cast(pl.Int32) - 1


def _floor_cohorts(lf: pl.LazyFrame, engine: Literal["auto", "streaming"]) -> pl.DataFrame:
    """cohorts.table(period="1mo"): the cells and as_of in one collect, then the rectangle.

    Months are counted as ``year * 12 + month - 1``. The cells (a few hundred rows) are
    collected once, so the cohort x index grid is built from them without recomputing them;
    every cohort customer is active in the cohort's own month, so the size is the active
    count at index 0.
    """
    v, k = pl.col("value"), pl.col("period_index")
    buy = v > 0
    orders = lf.group_by("customer_id", "order_id").agg(
        month=_month(pl.col("timestamp").min().dt.date()), value=pl.col("amount").sum()
    )
    per_customer = orders.group_by("customer_id", "month").agg(n=buy.sum(), revenue=v.sum())
    first = (
        per_customer.filter(pl.col("n") > 0)
        .group_by("customer_id")
        .agg(cohort=pl.col("month").min())
    )
    cells_query = (
        per_customer.join(first, on="customer_id")
        .group_by("cohort", period_index=pl.col("month") - pl.col("cohort"))
        .agg(
            active_customers=(pl.col("n") > 0).sum(),
            orders=pl.col("n").sum(),
            revenue=pl.col("revenue").sum(),
        )
    )
    last = pl.col("timestamp").max().dt.date()
    end_query = lf.select(as_of=_month(last), after=_month(last + pl.duration(days=1)))
    cells, end = pl.collect_all([cells_query, end_query], engine=engine)
    as_of, after = end.row(0)
    sizes = cells.filter(k == 0).select("cohort", cohort_size="active_customers")
    indices = pl.DataFrame({"period_index": range(as_of - sizes["cohort"].min() + 1)})
    size, cohort = pl.col("cohort_size"), pl.col("cohort")
    return (
        sizes.join(indices.cast(pl.Int32), how="cross")
        .join(cells, on=["cohort", "period_index"], how="left")
        .sort("cohort", "period_index")
        .with_columns(
            pl.when(k <= as_of - cohort).then(pl.col(c).fill_null(0))
            for c in ("active_customers", "orders", "revenue")
        )
        .select(
            cohort=pl.date(cohort // 12, cohort % 12 + 1, 1),
            period_index=k,
            period_start=pl.date((cohort + k) // 12, (cohort + k) % 12 + 1, 1),
            cohort_size=size.cast(pl.UInt32),
            active_customers=pl.col("active_customers").cast(pl.UInt32),
            retention_rate=pl.col("active_customers") / size,
            orders=pl.col("orders").cast(pl.UInt32),
            revenue=pl.col("revenue"),
            revenue_per_customer=pl.col("revenue") / size,
            cumulative_revenue_per_customer=(pl.col("revenue") / size).cum_sum().over("cohort"),
            is_complete=k < after - cohort,
        )
    )


# ---------------------------------------------------------------------------------------------
# cases


@dataclass(frozen=True)
class Case:
    """One measured call: ``setup(path, rows)`` builds the input (not timed), ``call`` is timed."""

    function: str
    impl: str  # "ours", "floor" or "lifetimes"
    variant: str  # "eager", "streaming" or "subset"
    setup: Callable[[Path, int], Any]
    call: Callable[[Any], Any]
    repeats: int | None = None  # timed calls after the warm-up; None: the run's setting


def _load(path: Path, _rows: int) -> pl.DataFrame:
    return pl.read_parquet(path)


def _scan(path: Path, _rows: int) -> pl.LazyFrame:
    return pl.scan_parquet(path)


def _load_summary(path: Path, _rows: int) -> pl.DataFrame:
    return rfm.summary(pl.read_parquet(path))


def subset_modulus(total_rows: int, subset_rows: int) -> int:
    """Keep customers with ``customer_id % m == 0``: about ``subset_rows`` of ``total_rows``."""
    return max(1, round(total_rows / subset_rows))


def _load_purchases(path: Path, subset_rows: int) -> pl.DataFrame:
    """Purchase lines (amount > 0) of a subset of about ``subset_rows`` rows' customers.

    Return lines are left out so that lifetimes, which counts every day with a line as a
    purchase, computes what ``clv.summary`` computes (it counts days of net value > 0).
    """
    tx = pl.scan_parquet(path)
    total = tx.select(pl.len()).collect().item()
    m = subset_modulus(total, subset_rows)
    return (
        tx.filter((pl.col("customer_id") % m == 0) & (pl.col("amount") > 0))
        .select("customer_id", "order_id", "timestamp", "amount")
        .collect()
    )


def _load_purchases_pandas(path: Path, subset_rows: int) -> Any:
    purchases = _load_purchases(path, subset_rows)
    return purchases.select("customer_id", "timestamp", "amount").to_pandas()


def _lifetimes(pdf: Any) -> Any:
    from lifetimes.utils import summary_data_from_transaction_data

    return summary_data_from_transaction_data(
        pdf, "customer_id", "timestamp", monetary_value_col="amount"
    )


def _streaming(query: pl.LazyFrame) -> pl.DataFrame:
    return query.collect(engine="streaming")


CASES: dict[str, Case] = {
    "summary-ours": Case("rfm.summary", "ours", "eager", _load, rfm.summary),
    "summary-floor": Case(
        "rfm.summary", "floor", "eager", _load, lambda df: _floor_summary(df.lazy()).collect()
    ),
    "summary-ours-streaming": Case(
        "rfm.summary", "ours", "streaming", _scan, lambda lf: _streaming(rfm.summary(lf))
    ),
    "summary-floor-streaming": Case(
        "rfm.summary", "floor", "streaming", _scan, lambda lf: _streaming(_floor_summary(lf))
    ),
    "scores-ours": Case("rfm.scores", "ours", "eager", _load, lambda df: rfm.scores(df, bins=BINS)),
    "scores-floor": Case(
        "rfm.scores", "floor", "eager", _load, lambda df: _floor_scores(df.lazy()).collect()
    ),
    "scores-of-summary-ours": Case(
        "rfm.scores(summary)", "ours", "eager", _load_summary, lambda s: rfm.scores(s, bins=BINS)
    ),
    "scores-of-summary-floor": Case(
        "rfm.scores(summary)",
        "floor",
        "eager",
        _load_summary,
        lambda s: _floor_scores_of(s.lazy()).collect(),
    ),
    "cohorts-ours": Case("cohorts.table", "ours", "eager", _load, cohorts.table),
    "cohorts-floor": Case(
        "cohorts.table", "floor", "eager", _load, lambda df: _floor_cohorts(df.lazy(), "auto")
    ),
    "cohorts-ours-streaming": Case(
        "cohorts.table", "ours", "streaming", _scan, lambda lf: _streaming(cohorts.table(lf))
    ),
    "cohorts-floor-streaming": Case(
        "cohorts.table", "floor", "streaming", _scan, lambda lf: _floor_cohorts(lf, "streaming")
    ),
    "lifetimes": Case(
        "summary_data_from_transaction_data",
        "lifetimes",
        "subset",
        _load_purchases_pandas,
        _lifetimes,
        repeats=1,
    ),
    "summary-ours-subset": Case("rfm.summary", "ours", "subset", _load_purchases, rfm.summary),
    "clv-summary-subset": Case(
        "clv.summary", "ours", "subset", _load_purchases, lambda df: clv.summary(df, unit="1d")
    ),
}

#: The equality checks run before timing: function -> (ours, floor) on the eager frame, and
#: for functions with a streaming variant the streaming results of both are checked as well.
CHECKS: dict[str, tuple[str, ...]] = {
    "rfm.summary": (
        "summary-ours",
        "summary-floor",
        "summary-ours-streaming",
        "summary-floor-streaming",
    ),
    "rfm.scores": ("scores-ours", "scores-floor"),
    "rfm.scores(summary)": ("scores-of-summary-ours", "scores-of-summary-floor"),
    "cohorts.table": (
        "cohorts-ours",
        "cohorts-floor",
        "cohorts-ours-streaming",
        "cohorts-floor-streaming",
    ),
    "lifetimes": ("clv-summary-subset", "lifetimes"),  # see _check_lifetimes
}


# ---------------------------------------------------------------------------------------------
# what a subprocess does


def _status_kb(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (Linux ``clear_refs``); False where not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _cpu_ticks() -> tuple[float, float]:
    """Busy and total CPU time of the whole machine so far, in seconds (Linux ``/proc/stat``)."""
    try:
        with open("/proc/stat") as stat:
            fields = [float(x) for x in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return math.nan, math.nan
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / hz, sum(fields) / hz


def _max_rss_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _check_lifetimes(path: Path, subset_rows: int) -> dict[str, Any]:
    """Assert that clv.summary(unit="1d") gives lifetimes' numbers on the purchase lines."""
    ours = CASES["clv-summary-subset"]
    expected = ours.call(ours.setup(path, subset_rows))
    theirs = CASES["lifetimes"]
    found = pl.from_pandas(theirs.call(theirs.setup(path, subset_rows)).reset_index())
    found = found.sort("customer_id").with_columns(pl.col("frequency").cast(pl.UInt32))
    assert_frame_equal(found, expected, check_exact=False, rel_tol=RTOL, abs_tol=ATOL)
    return {
        "function": "lifetimes",
        "compared": ["clv-summary-subset", "lifetimes"],
        "shape": list(expected.shape),
    }


def check(function: str, path: Path, subset_rows: int = 0) -> dict[str, Any]:
    """Assert that every implementation of ``function`` gives the same frame as ours (eager)."""
    warnings.simplefilter("ignore")
    if function == "lifetimes":
        return _check_lifetimes(path, subset_rows)
    names = CHECKS[function]
    results = {}
    for name in names:
        case = CASES[name]
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


def measure(name: str, path: Path, subset_rows: int, repeats: int = REPEATS) -> dict[str, Any]:
    """Time one case (best of ``repeats`` after a warm-up) and its peak extra RSS.

    Wall time (``time.perf_counter``) is the figure; the process's CPU time
    (``time.process_time``, all threads) is kept too, as it is less disturbed by other work on
    a shared machine. A call slower than ``SLOW`` seconds is timed once, without a warm-up.
    """
    warnings.simplefilter("ignore")  # rfm.scores warns about empty bins; not what we measure
    case = CASES[name]
    data = case.setup(path, subset_rows)
    input_rows = len(data) if not isinstance(data, pl.LazyFrame) else None
    gc.collect()
    base_kb = _status_kb("VmRSS") or _max_rss_kb()
    reset = _reset_peak()
    times: list[float] = []
    cpu: list[float] = []
    shape: list[int] = []
    others: list[float] = []
    repeats = case.repeats or repeats
    for run in range(1 + repeats):
        busy, total = _cpu_ticks()
        start, start_cpu = time.perf_counter(), time.process_time()
        out = case.call(data)
        elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - start_cpu
        after = _cpu_ticks()
        busy, total = after[0] - busy, after[1] - total
        # share of the machine's CPU time that other processes used during this call
        others.append(max(busy - elapsed_cpu, 0.0) / total if total > 0 else math.nan)
        if run == 0:
            shape = list(out.shape)
        if run > 0 or elapsed > SLOW:
            times.append(elapsed)
            cpu.append(elapsed_cpu)
        else:
            others.pop()  # the warm-up call
        del out
        if run == 0 and elapsed > SLOW:  # a slow reference: its one run is the figure
            break
    peak_kb = _max_rss_kb()
    return {
        "case": name,
        "function": case.function,
        "impl": case.impl,
        "variant": case.variant,
        "input_rows": input_rows,
        "output_shape": shape,
        "seconds": min(times),
        "cpu_seconds": min(cpu),
        "runs": len(times),
        "all_seconds": times,
        "base_rss_mb": base_kb / 1024,
        "peak_extra_mb": max(peak_kb - base_kb, 0) / 1024,
        "peak_reset": reset,
        "others_cpu": others,  # per timed call: share of the machine's CPU used by others
    }


def machine() -> dict[str, Any]:
    """Facts about this machine and the library versions, for RESULTS.md."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in info if line.startswith("model name")),
                cpu,
            )
    except OSError:
        pass
    mem_kb = None
    try:
        with open("/proc/meminfo") as info:
            mem_kb = int(next(line for line in info if line.startswith("MemTotal")).split()[1])
    except (OSError, StopIteration):
        pass
    versions = {}
    for package in ("polars", "numpy", "pandas", "pyarrow", "lifetimes", "retailcrm-analytics"):
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024**2, 1) if mem_kb else None,
        "python": platform.python_version(),
        "polars_threads": pl.thread_pool_size(),
        "versions": versions,
    }


def dump(result: dict[str, Any]) -> str:
    """One JSON line, the only thing a subprocess prints."""
    return json.dumps(result, default=str)
