"""Polars streaming on one machine vs retailcrm.spark on Spark local[2]: clv.summary, compressed.

Both sides compute the same thing from the same parquet file, the BG/NBD fit input: the
per-customer summary (``clv.summary``, unit "1w", default ``as_of``) compressed to unique
``(frequency, recency, T)`` rows with a ``weight``. The results are checked equal before the
timings are reported. Each side runs in a fresh Python process:

- **polars**: ``clv.summary(pl.scan_parquet(path))`` grouped and collected with the streaming
  engine; peak memory is the process's maximum resident set size;
- **spark**: ``spark.clv_summary(session.read.parquet(path), compress=True)`` on ``local[2]``
  (the global ``as_of`` job, the shuffle by customer, the Polars kernel per partition, the
  group-by); session start-up is timed separately; peak memory is the sum of the peak resident
  sets (VmHWM) of the driver, the JVM and the Python workers.

Usage (from the repository root)::

    python benchmarks/spark.py                 # 1M rows (the cached simulate file)
    python benchmarks/spark.py --rows 10000000 --partitions 16

Writes ``benchmarks/SPARK.md``. Needs pyspark and Java 17+.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def run_polars(path: str, repeats: int) -> dict[str, Any]:
    import polars as pl

    from retailcrm import clv

    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = (
            clv.summary(pl.scan_parquet(path), unit="1w")
            .group_by("frequency", "recency", "T")
            .agg(weight=pl.len())
            .sort("frequency", "recency", "T")
            .collect(engine="streaming")
        )
        times.append(time.perf_counter() - start)
    assert result is not None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {"times": times, "peak_mib": peak / 1024, "result": result.write_json()}


def run_spark(path: str, repeats: int, partitions: int) -> dict[str, Any]:
    warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    start = time.perf_counter()
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .config("spark.driver.memory", "4g")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    startup = time.perf_counter() - start

    from retailcrm import spark as rs

    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        sdf = session.read.parquet(path).select("customer_id", "timestamp", "amount")
        result = rs.clv_summary(sdf, unit="1w", compress=True, partitions=partitions)
        times.append(time.perf_counter() - start)
    assert result is not None
    peak = _peak_kib(os.getpid()) + sum(_peak_kib(p) for p in _descendants(os.getpid()))
    session.stop()
    return {
        "times": times,
        "startup": startup,
        "peak_mib": peak / 1024,
        "result": result.write_json(),
    }


def _child(args: list[str]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"benchmark case {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _report(records: list[dict[str, Any]], facts: dict[str, Any]) -> list[str]:
    from importlib.metadata import version

    lines = [
        "# Spark local[2] vs Polars streaming: the compressed CLV summary",
        "",
        "Written by `python benchmarks/spark.py --rows N --partitions P` (one run per size; the "
        "results are kept in `benchmarks/_data/spark_results.json`). Both sides read the same "
        "parquet file of `retailcrm.datasets.simulate(..., seed=0)` and compute "
        "`clv.summary(unit='1w')` compressed to unique (frequency, recency, T) rows with "
        "weights, the input of a BG/NBD fit; the two results are checked equal (exactly) "
        "before a row is written.",
        "",
        "| rows | customers | engine | best time (s) | all times (s) | start-up (s) "
        "| peak memory (MiB) |",
        "|---:|---:|---|---:|---:|---:|---:|",
    ]
    for r in records:
        for name, label in (
            ("polars", "Polars streaming, one process"),
            ("spark", f"Spark local[2], {r['partitions']} partitions"),
        ):
            run = r[name]
            lines.append(
                "| {:,} | {:,} | {} | {:.2f} | {} | {} | {:.0f} |".format(
                    r["rows"],
                    r["customers"],
                    label,
                    min(run["times"]),
                    ", ".join(f"{t:.2f}" for t in run["times"]),
                    f"{run['startup']:.1f}" if "startup" in run else "-",
                    run["peak_mib"],
                )
            )
    lines += [
        "",
        "Peak memory: Polars, the process's maximum RSS; Spark, the sum of the peak RSS of the "
        "driver, the JVM (driver memory 4g) and the Python workers (an upper bound: the peaks "
        "need not coincide). The first Spark repeat includes the Python workers' start and "
        "imports; start-up is the session's (JVM) start.",
        "",
        "Machine: "
        + ", ".join(f"{k} {v}" for k, v in facts.items())
        + f", pyspark {version('pyspark')}",
        "",
        "Reading: on one machine Spark adds a JVM, a shuffle and Arrow transfers around the same "
        "Polars kernel, so it is slower here by design; `retailcrm.spark` is for data that "
        "already lives on a cluster, where the work spreads over many executors.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--case", choices=["polars", "spark"])
    parser.add_argument("--data")
    args = parser.parse_args()
    if args.case == "polars":
        print(json.dumps(run_polars(args.data, args.repeats)))
        return
    if args.case == "spark":
        print(json.dumps(run_spark(args.data, args.repeats, args.partitions)))
        return

    import io

    import polars as pl
    from _harness import data_path, generate, machine
    from polars.testing import assert_frame_equal

    path = data_path(HERE / "_data", args.rows)
    about = generate(path, args.rows)
    common = ["--data", str(path), "--repeats", str(args.repeats)]
    polars_run = _child(["--case", "polars", *common])
    spark_run = _child(["--case", "spark", *common, "--partitions", str(args.partitions)])
    ours = pl.read_json(io.StringIO(spark_run["result"]))
    reference = pl.read_json(io.StringIO(polars_run["result"]))
    assert_frame_equal(ours, reference, check_exact=True)

    record = {
        "rows": about.get("rows", args.rows),
        "how": about.get("how", path.name),
        "compressed_rows": reference.height,
        "customers": int(reference["weight"].sum()),
        "partitions": args.partitions,
        "repeats": args.repeats,
        "polars": {k: v for k, v in polars_run.items() if k != "result"},
        "spark": {k: v for k, v in spark_run.items() if k != "result"},
    }
    store = HERE / "_data" / "spark_results.json"
    runs = json.loads(store.read_text()) if store.exists() else {}
    runs[str(record["rows"])] = record
    store.write_text(json.dumps(runs, indent=1))
    lines = _report(sorted(runs.values(), key=lambda r: r["rows"]), machine())
    (HERE / "SPARK.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
