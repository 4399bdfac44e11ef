"""Benchmark retailcrm.clv against lifetimes, side by side in one run; write benchmarks/BTYD.md.

Usage (from the repository root)::

    python benchmarks/clv.py            # the sizes of issue 3 (about 10 minutes on 2 cores)
    python benchmarks/clv.py --quick    # a tenth of the sizes, to try the script

Cases (sizes for the full run):

- ``summary``: per-customer frequency / recency / T / monetary value from 1.4M transactions of
  100k customers: ``clv.summary`` against ``lifetimes.utils.summary_data_from_transaction_data``;
- ``bgnbd``: BG/NBD fit on 1M customers: ``clv.BetaGeo.fit`` against ``BetaGeoFitter.fit``;
- ``pareto``: Pareto/NBD fit on 100k customers: ``clv.ParetoNBD.fit`` against
  ``ParetoNBDFitter.fit``;
- ``gammagamma``: Gamma-Gamma fit on the repeat buyers among 1M customers:
  ``clv.GammaGamma.fit`` (given all customers, it selects the repeat buyers itself) against
  ``GammaGammaFitter.fit`` (given the repeat buyers);
- ``clv``: discounted CLV of 1M customers over 12 months of 30 days at 1% a month, from given
  BG/NBD and Gamma-Gamma parameters: ``clv.lifetime_value`` against
  ``GammaGammaFitter.customer_lifetime_value``.

The data are simulated from the models' own stories (seed 0) and written once to
``benchmarks/_data/``. Every measurement runs in a fresh interpreter (``--case NAME --side
ours|lifetimes``, internal) so that its time and peak memory are its own: the data are loaded,
the call is made once to warm up (ours only: lifetimes' fits take minutes) and then timed
``repeats`` times; the best time is reported, with the peak resident memory added by the call
(kernel high-water mark, reset after loading). Before timing, each case checks that ours and
lifetimes agree (same summary; parameters within 1e-3 relative; CLV within 1e-9).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

HERE = Path(__file__).resolve().parent
DATA = HERE / "_data"
REPORT = HERE / "BTYD.md"
START, END = "<!-- clv benchmark: start -->", "<!-- clv benchmark: end -->"

# target speed-ups of issue 3 (lifetimes time / ours)
TARGETS = {"summary": 5, "bgnbd": 20, "pareto": 20, "gammagamma": 10, "clv": 20}
SIZES = {"summary": 100_000, "bgnbd": 1_000_000, "pareto": 100_000, "gammagamma": 1_000_000,
         "clv": 1_000_000}  # fmt: skip
CDNOW_BG = {"r": 0.2426, "alpha": 4.4135, "a": 0.7930, "b": 2.4259}  # weeks
CDNOW_GG = {"p": 6.25, "q": 3.74, "v": 15.44}
CDNOW_PARETO = {"r": 0.5533, "alpha": 10.5780, "s": 0.6061, "beta": 11.6673}

# ---------------------------------------------------------------------------------------------
# data


def _days_to_weeks(days: np.ndarray) -> np.ndarray:
    return days / 7.0


def simulate_bg_summaries(n: int, seed: int) -> pl.DataFrame:
    """BG/NBD customers with CDNOW's parameters, first purchases spread over two years (whole
    days, in weeks), and Gamma-Gamma mean spends for the repeat buyers."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(CDNOW_BG["r"], 1 / CDNOW_BG["alpha"], n)
    p = rng.beta(CDNOW_BG["a"], CDNOW_BG["b"], n)
    T_days = rng.integers(1, 731, n)
    T = _days_to_weeks(T_days)
    events = rng.poisson(lam * T)
    x = np.minimum(events, rng.geometric(p))
    last = np.where(x > 0, T * rng.beta(np.maximum(x, 1), np.maximum(events - x, 0) + 1), 0.0)
    t_x = _days_to_weeks(np.minimum(np.floor(last * 7), T_days))
    nu = rng.gamma(CDNOW_GG["q"], 1 / CDNOW_GG["v"], n)
    spend = np.where(
        x > 0, rng.gamma(CDNOW_GG["p"] * np.maximum(x, 1), 1 / nu) / np.maximum(x, 1), 0
    )
    return pl.DataFrame(
        {
            "customer_id": np.arange(n),
            "frequency": x,
            "recency": t_x,
            "T": T,
            "monetary_value": spend,
        }
    )


def simulate_pareto_summaries(n: int, seed: int) -> pl.DataFrame:
    """Pareto/NBD customers with CDNOW's parameters over two years of whole days, in weeks."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(CDNOW_PARETO["r"], 1 / CDNOW_PARETO["alpha"], n)
    mu = rng.gamma(CDNOW_PARETO["s"], 1 / CDNOW_PARETO["beta"], n)
    T_days = rng.integers(1, 731, n)
    T = _days_to_weeks(T_days)
    span = np.minimum(rng.exponential(1 / mu), T)
    x = rng.poisson(lam * span)
    last = np.where(x > 0, span * rng.beta(np.maximum(x, 1), 1), 0.0)
    t_x = _days_to_weeks(np.minimum(np.floor(last * 7), T_days))
    return pl.DataFrame({"customer_id": np.arange(n), "frequency": x, "recency": t_x, "T": T})


def simulate_transactions(n: int, seed: int) -> pl.DataFrame:
    """About 14 transaction lines per customer over 2023-2024: a first purchase in 2023, then
    a Poisson number of lines on uniform later days (several on a day happen), log-normal
    amounts. No returns: lifetimes counts any line as a purchase, retailcrm only days of
    positive net value, and the two must compute the same summary here."""
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 365, n)
    rate = rng.gamma(2.0, 13.0 / 2.0 / 547.0, n)  # lines per day, mean ~13 more over ~1.5 years
    more = rng.poisson(rate * (730 - first))
    customer = np.repeat(np.arange(n), 1 + more)
    start = np.repeat(first, 1 + more)
    offset = np.floor(rng.random(customer.size) * (730 - start)).astype(np.int64)
    is_first = np.zeros(customer.size, dtype=bool)
    is_first[np.concatenate([[0], np.cumsum(1 + more)[:-1]])] = True
    day = np.where(is_first, start, start + offset)
    amount = np.round(rng.lognormal(3.0, 0.8, customer.size), 2) + 0.01
    stamp = np.datetime64("2023-01-01") + day.astype("timedelta64[D]")
    return pl.DataFrame(
        {"customer_id": customer, "timestamp": stamp, "amount": amount}
    ).with_columns(pl.col("timestamp").cast(pl.Date))


def data_file(case: str, scale: float) -> Path:
    n = max(int(SIZES[case] * scale), 1000)
    kind = {"summary": "tx", "pareto": "pareto"}.get(case, "bg")
    size = n if kind != "bg" else max(int(1_000_000 * scale), 1000)
    path = DATA / f"clv_{kind}_{size}_seed0_v2.parquet"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        make = {"tx": simulate_transactions, "pareto": simulate_pareto_summaries}.get(
            kind, simulate_bg_summaries
        )
        make(size, 0).write_parquet(path)
    return path


AS_OF = dt.date(2024, 12, 31)

# ---------------------------------------------------------------------------------------------
# the measured calls: each returns (setup-free call, result-to-compare)


def _ours(case: str, data: pl.DataFrame) -> Callable[[], Any]:
    import retailcrm.clv as clv

    if case == "summary":
        return lambda: clv.summary(data, as_of=AS_OF, unit="1w")
    if case == "bgnbd":
        return lambda: clv.BetaGeo.fit(data, unit="1w").params
    if case == "pareto":
        return lambda: clv.ParetoNBD.fit(data, unit="1w").params
    if case == "gammagamma":
        return lambda: clv.GammaGamma.fit(data).params
    buys = clv.BetaGeo(**CDNOW_BG, unit="1w")
    spend = clv.GammaGamma(**CDNOW_GG)
    return lambda: clv.lifetime_value(
        buys, spend, data, horizon=12, unit="30d", discount_rate=0.01
    )["clv"].to_numpy()


def _lifetimes(case: str, data: pl.DataFrame) -> Callable[[], Any]:
    import pandas as pd
    from lifetimes import BetaGeoFitter, GammaGammaFitter, ParetoNBDFitter
    from lifetimes.utils import summary_data_from_transaction_data

    if case == "summary":
        frame = data.to_pandas()
        return lambda: summary_data_from_transaction_data(
            frame,
            "customer_id",
            "timestamp",
            monetary_value_col="amount",
            observation_period_end=pd.Timestamp(AS_OF),
            freq="D",
            freq_multiplier=7,
        )
    if case in ("bgnbd", "pareto"):
        x, t_x, T = (data[c].to_numpy() for c in ("frequency", "recency", "T"))
        fitter = BetaGeoFitter if case == "bgnbd" else ParetoNBDFitter
        return lambda: fitter().fit(x, t_x, T).params_.to_dict()
    if case == "gammagamma":
        repeat = data.filter(pl.col("frequency") > 0)
        x, m = repeat["frequency"].to_numpy(), repeat["monetary_value"].to_numpy()
        return lambda: GammaGammaFitter().fit(x, m).params_.to_dict()
    # clv: lifetimes counts months of 30 days with freq="D", so its model is in days
    bg = BetaGeoFitter()
    bg.params_ = pd.Series({**CDNOW_BG, "alpha": CDNOW_BG["alpha"] * 7})
    bg.predict = bg.conditional_expected_number_of_purchases_up_to_time  # as fit() sets it
    gg = GammaGammaFitter()
    gg.params_ = pd.Series(CDNOW_GG)
    frame = data.to_pandas()
    return lambda: gg.customer_lifetime_value(
        bg,
        frame["frequency"],
        frame["recency"] * 7,
        frame["T"] * 7,
        frame["monetary_value"],
        time=12,
        discount_rate=0.01,
        freq="D",
    ).to_numpy()


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(case: str, side: str, path: Path, repeats: int, warmup: bool) -> dict[str, Any]:
    """Load the data, time the call; run in a fresh interpreter."""
    import warnings

    data = pl.read_parquet(path)
    call = (_ours if side == "ours" else _lifetimes)(case, data)
    gc.collect()
    base = _status_kib("VmRSS")
    exact_peak = _reset_peak()
    times = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # lifetimes' numerical and pandas warnings
        if warmup:
            call()
        for _ in range(repeats):
            start = time.perf_counter()
            result = call()
            times.append(time.perf_counter() - start)
    peak = _status_kib("VmHWM")  # since the reset, or since the start where it is not possible
    return {
        "case": case,
        "side": side,
        "times": times,
        "peak_extra_mb": max(peak - base, 0) / 1024,
        "exact_peak": exact_peak,
        "result": _jsonable(result),
    }


def _jsonable(result: Any) -> Any:
    if isinstance(result, dict):
        return {k: float(v) for k, v in result.items()}
    if isinstance(result, np.ndarray):
        return {"sum": float(result.sum()), "first": result[:5].tolist(), "n": int(result.size)}
    if isinstance(result, pl.DataFrame):
        return {
            "rows": result.height,
            "sums": {c: float(result[c].sum()) for c in result.columns[1:]},
        }
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return {"rows": len(result), "sums": {c: float(result[c].sum()) for c in result.columns}}
    return repr(result)


# ---------------------------------------------------------------------------------------------
# checks: the two sides compute the same thing


def check(case: str, path: Path) -> str:
    """Compare ours and lifetimes on the case's data (or a 20k-customer slice of it for the
    slow fits). Returns a short description of what was checked."""
    import warnings

    data = pl.read_parquet(path)
    if case in ("bgnbd", "pareto") and data.height > 20_000:
        data = data.head(20_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = _ours(case, data)()
        theirs = _lifetimes(case, data)()
    if case == "summary":
        theirs = pl.from_pandas(theirs.reset_index()).sort("customer_id")
        joined = ours.join(theirs, on="customer_id", suffix="_lt")
        assert joined.height == ours.height == theirs.height, "different customers"
        for col in ("frequency", "recency", "T", "monetary_value"):
            gap = (joined[col].cast(pl.Float64) - joined[f"{col}_lt"]).abs().max()
            assert gap is not None, col
            assert gap < 1e-6, (col, gap)
        return "frequency, recency, T, monetary_value equal (1e-6) for every customer"
    if case == "clv":
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
        return "CLV equal (relative 1e-9) for every customer"
    for name, value in ours.items():
        assert abs(value / theirs[name] - 1) < 1e-3, (name, value, theirs[name])
    where = "the first 20k customers" if case in ("bgnbd", "pareto") else "the same data"
    return f"parameters equal (relative 1e-3) on {where}"


# ---------------------------------------------------------------------------------------------
# the driver


def _child(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), *args],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        msg = f"benchmark step {args} failed:\n{done.stderr.strip()[-3000:]}"
        raise RuntimeError(msg)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _machine() -> list[str]:
    import lifetimes
    import pandas as pd
    import scipy

    import retailcrm

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return [
        f"CPU: {cpu}, {os.cpu_count()} cores; memory {memory:.1f} GiB",
        f"Python {platform.python_version()}, Polars {pl.__version__}, NumPy {np.__version__}, "
        f"SciPy {scipy.__version__}, pandas {pd.__version__}, lifetimes {lifetimes.__version__}, "
        f"retailcrm-analytics {retailcrm.__version__}",
    ]


def _describe(case: str, path: Path) -> str:
    frame = pl.read_parquet(path)
    if case == "summary":
        return f"{frame.height:,} lines, {frame['customer_id'].n_unique():,} customers"
    if case == "gammagamma":
        repeat = int((frame["frequency"] > 0).sum())
        return f"{frame.height:,} customers ({repeat:,} repeat buyers)"
    return f"{frame.height:,} customers"


def _write(rows: list[dict[str, Any]], header: list[str]) -> None:
    lines = [
        START,
        "## retailcrm.clv against lifetimes",
        "",
        *header,
        "",
        "| case | data | ours (s) | lifetimes (s) | speed-up | target | peak extra RSS ours / "
        "lifetimes (MB) | check |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        ok = "met" if row["ratio"] >= row["target"] else "**not met**"
        lines.append(
            f"| {row['case']} | {row['data']} | {row['ours']:.3f} | {row['lifetimes']:.2f} | "
            f"**{row['ratio']:.1f}x** | {row['target']}x ({ok}) | "
            f"{row['ours_mb']:.0f} / {row['lifetimes_mb']:.0f} | {row['check']} |"
        )
    lines += ["", END, ""]
    text = REPORT.read_text() if REPORT.exists() else "# Buy-till-you-die benchmarks\n\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        _, after = rest.split(END, 1)
        text = before + "\n".join(lines).rstrip("\n") + after
    else:
        text = text.rstrip("\n") + "\n\n" + "\n".join(lines)
    REPORT.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--cases", default=",".join(TARGETS), help="comma-separated cases")
    parser.add_argument("--repeats", type=int, default=3, help="timed calls of ours")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--warmup", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case and args.check:
        print(json.dumps({"check": check(args.case, Path(args.path))}))
        return
    if args.case:
        print(json.dumps(measure(args.case, args.side, Path(args.path), args.repeats, args.warmup)))
        return

    scale = 0.1 if args.quick else 1.0
    began = time.time()
    load_start = os.getloadavg()
    rows = []
    for case in args.cases.split(","):
        path = data_file(case, scale)
        checked = _child("--case", case, "--path", str(path), "--check")["check"]
        ours = _child(
            "--case", case, "--side", "ours", "--path", str(path),
            "--repeats", str(args.repeats), "--warmup",
        )  # fmt: skip
        theirs = _child(
            "--case", case, "--side", "lifetimes", "--path", str(path), "--repeats", "1"
        )
        best_ours, best_theirs = min(ours["times"]), min(theirs["times"])
        rows.append(
            {
                "case": case,
                "data": _describe(case, path),
                "ours": best_ours,
                "ours_all": ours["times"],
                "lifetimes": best_theirs,
                "ratio": best_theirs / best_ours,
                "target": TARGETS[case],
                "ours_mb": ours["peak_extra_mb"],
                "lifetimes_mb": theirs["peak_extra_mb"],
                "check": checked,
            }
        )
        print(
            f"{case}: ours {best_ours:.3f} s (all {np.round(ours['times'], 3).tolist()}), "
            f"lifetimes {best_theirs:.2f} s, {best_theirs / best_ours:.1f}x",
            flush=True,
        )
    load_end = os.getloadavg()
    header = [
        f"Written by `benchmarks/clv.py{' --quick' if args.quick else ''}` on "
        f"{dt.date.today().isoformat()}; the run took {(time.time() - began) / 60:.1f} min.",
        "",
        *[f"- {line}" for line in _machine()],
        f"- Load average (1, 5, 15 min) at the start {tuple(round(v, 1) for v in load_start)}, "
        f"at the end {tuple(round(v, 1) for v in load_end)}: the machine is shared with other "
        "jobs, so times are noisy; ours is the best of "
        f"{args.repeats} calls after a warm-up call, lifetimes one call (its fits take "
        "minutes). Each side runs in its own process; peak extra RSS is the call's own "
        "memory above the loaded data.",
        "- Data simulated from each model's story with CDNOW's parameters (seed 0), in weeks "
        "of whole days; see the docstring of `benchmarks/clv.py`.",
    ]
    _write(rows, header)


if __name__ == "__main__":
    main()
