"""Frequent itemsets + association rules: retailcrm.basket vs pyfim vs mlxtend on retail.dat.

Usage::

    python benchmarks/basket.py [--data ../shared/data/retail.dat] [--repeats 5]

Every (library, min_support) case runs in a fresh interpreter (``--case``), so that its peak
memory (``ru_maxrss``) is its own. Each case reads the FIMI file into the input its library
takes (not timed): a canonical ``(order_id, item)`` Polars frame for retailcrm, a list of
baskets for pyfim, a sparse one-hot pandas frame for mlxtend (``TransactionEncoder``). Timed:

- ``itemsets``: mining the frequent itemsets;
- ``+ rules``: itemsets and then rules with confidence >= ``MIN_CONFIDENCE`` (pyfim: ``eclat``
  and then ``arules``, which mines its rules from the baskets in one call).

Both as the best of ``--repeats`` runs, in wall time and in CPU time of the process (all
threads: on a machine shared with other jobs the CPU time is the steadier figure; Polars may
use several threads, pyfim and mlxtend use one).

"identical" compares with retailcrm's results: the itemsets and their counts; the rules' keys
(antecedent, consequent) and confidences rounded to 12 significant digits. pyfim's rules have
one item in the consequent and are compared with ours restricted to those; its rule support is
taken as that of antecedent and consequent together (``mode="o"``), as ours and mlxtend's.

The threshold ``MIN_CONFIDENCE`` is deliberately not a simple fraction: at an exact ratio such
as 1/2, mlxtend's ``sAC * N / (sA * N)`` can round below the threshold where the exact ratio
``n_AC / n_A`` (ours, pyfim's) does not, and the rule sets would differ for that reason alone.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

MIN_CONFIDENCE = 0.3141
SUPPORTS = (0.002, 0.001, 0.0005)
LIBRARIES = ("retailcrm", "pyfim", "mlxtend")
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "retail.dat"


def _digest(rows: list[Any]) -> str:
    return hashlib.sha1(repr(sorted(rows)).encode()).hexdigest()[:12]


def _rule_key(antecedent, consequent, confidence: float) -> tuple:
    return (tuple(sorted(antecedent)), tuple(sorted(consequent)), float(f"{confidence:.12g}"))


def _best(repeats: int, run: Callable[[], Any]) -> tuple[float, float, Any]:
    """Best wall time, best CPU time (all threads) and the result of ``repeats`` runs."""
    wall, cpu, result = math.inf, math.inf, None
    for _ in range(repeats):
        gc.collect()
        start, start_cpu = time.perf_counter(), time.process_time()
        result = run()
        cpu = min(cpu, time.process_time() - start_cpu)
        wall = min(wall, time.perf_counter() - start)
    return wall, cpu, result


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _read(path: Path) -> list[list[int]]:
    with path.open() as handle:
        return [[int(x) for x in line.split()] for line in handle]


def _case_retailcrm(baskets, support: float, repeats: int) -> dict[str, Any]:
    import numpy as np
    import polars as pl

    from retailcrm import basket

    lengths = np.array([len(b) for b in baskets])
    tx = pl.DataFrame(
        {
            "order_id": np.repeat(np.arange(len(baskets)), lengths),
            "item": np.fromiter((x for b in baskets for x in b), np.int64, int(lengths.sum())),
        }
    )
    del baskets
    gc.collect()
    input_mb = _rss_mb()
    t_sets, cpu_sets, sets = _best(repeats, lambda: basket.itemsets(tx, min_support=support))

    def both() -> Any:
        found = basket.itemsets(tx, min_support=support)
        return basket.rules(found, min_confidence=MIN_CONFIDENCE)

    t_total, cpu_total, rules = _best(repeats, both)
    single = rules.filter(pl.col("consequent").list.len() == 1)
    return {
        "input_mb": input_mb,
        "itemsets_s": t_sets,
        "itemsets_cpu_s": cpu_sets,
        "total_s": t_total,
        "total_cpu_s": cpu_total,
        "n_itemsets": sets.height,
        "itemsets": _digest(
            [(tuple(s), c) for s, c in zip(sets["itemset"], sets["count"], strict=True)]
        ),
        "n_rules": rules.height,
        "rules": _digest(
            [
                _rule_key(a, c, f)
                for a, c, f in rules.select("antecedent", "consequent", "confidence").iter_rows()
            ]
        ),
        "rules_single": _digest(
            [
                _rule_key(a, c, f)
                for a, c, f in single.select("antecedent", "consequent", "confidence").iter_rows()
            ]
        ),
    }


def _case_pyfim(baskets, support: float, repeats: int) -> dict[str, Any]:
    import fim

    count = _min_count(support, len(baskets))
    input_mb = _rss_mb()
    t_sets, cpu_sets, sets = _best(
        repeats, lambda: fim.eclat(baskets, target="s", supp=-count, report="a")
    )
    t_total, cpu_total, rules = _best(
        repeats,
        lambda: (
            fim.eclat(baskets, target="s", supp=-count, report="a"),
            fim.arules(
                baskets, supp=-count, conf=100 * MIN_CONFIDENCE, zmin=2, report="c", mode="o"
            ),
        ),
    )
    rules = rules[1]
    return {
        "input_mb": input_mb,
        "itemsets_s": t_sets,
        "itemsets_cpu_s": cpu_sets,
        "total_s": t_total,
        "total_cpu_s": cpu_total,
        "n_itemsets": len(sets),
        "itemsets": _digest([(tuple(sorted(s)), c) for s, c in sets]),
        "n_rules": len(rules),
        "rules_single": _digest([_rule_key(body, (head,), conf) for head, body, conf in rules]),
    }


def _case_mlxtend(baskets, support: float, repeats: int) -> dict[str, Any]:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    encoder = TransactionEncoder()
    onehot = encoder.fit(baskets).transform(baskets, sparse=True)
    frame = pd.DataFrame.sparse.from_spmatrix(onehot, columns=[str(c) for c in encoder.columns_])
    n = len(baskets)
    del baskets, onehot
    gc.collect()
    input_mb = _rss_mb()
    t_sets, cpu_sets, sets = _best(
        repeats, lambda: fpgrowth(frame, min_support=support, use_colnames=True)
    )

    def both() -> Any:
        found = fpgrowth(frame, min_support=support, use_colnames=True)
        return association_rules(
            found, num_itemsets=n, metric="confidence", min_threshold=MIN_CONFIDENCE
        )

    t_total, cpu_total, rules = _best(repeats, both)
    return {
        "input_mb": input_mb,
        "itemsets_s": t_sets,
        "itemsets_cpu_s": cpu_sets,
        "total_s": t_total,
        "total_cpu_s": cpu_total,
        "n_itemsets": len(sets),
        "itemsets": _digest(
            [
                (tuple(sorted(int(x) for x in s)), round(v * n))
                for s, v in zip(sets["itemsets"], sets["support"], strict=True)
            ]
        ),
        "n_rules": len(rules),
        "rules": _digest(
            [
                _rule_key([int(x) for x in a], [int(x) for x in c], f)
                for a, c, f in zip(
                    rules["antecedents"], rules["consequents"], rules["confidence"], strict=True
                )
            ]
        ),
    }


def _min_count(support: float, n: int) -> int:
    """The smallest c with c / n >= support (the test mlxtend and retailcrm apply)."""
    count = max(1, math.ceil(support * n))
    while count > 1 and (count - 1) / n >= support:
        count -= 1
    while count / n < support:
        count += 1
    return count


def run_case(library: str, data: Path, support: float, repeats: int) -> dict[str, Any]:
    """Measure one case in this interpreter; return its figures."""
    baskets = _read(data)
    case = {"retailcrm": _case_retailcrm, "pyfim": _case_pyfim, "mlxtend": _case_mlxtend}
    figures = case[library](baskets, support, repeats)
    return {"library": library, "support": support, "peak_mb": _rss_mb(), **figures}


def _table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| min_support | library | itemsets: wall (cpu) s | itemsets + rules: wall (cpu) s "
        "| peak memory (MB) | of which input (MB) | itemsets | rules | identical itemsets "
        "| identical rules |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    ours = {r["support"]: r for r in results if r["library"] == "retailcrm"}
    for r in results:
        mine = ours[r["support"]]
        same_sets = "-" if r is mine else ("yes" if r["itemsets"] == mine["itemsets"] else "NO")
        if r is mine:
            same_rules = "-"
        elif "rules" in r:
            same_rules = "yes" if r["rules"] == mine["rules"] else "NO"
        else:
            same_rules = (
                "yes (1-item consequents)" if (r["rules_single"] == mine["rules_single"]) else "NO"
            )
        lines.append(
            f"| {r['support']} | {r['library']} "
            f"| {r['itemsets_s']:.3f} ({r['itemsets_cpu_s']:.3f}) "
            f"| {r['total_s']:.3f} ({r['total_cpu_s']:.3f}) "
            f"| {r['peak_mb']:.0f} | {r['input_mb']:.0f} | {r['n_itemsets']:,} "
            f"| {r['n_rules']:,} | {same_sets} | {same_rules} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--supports", type=float, nargs="*", default=list(SUPPORTS))
    parser.add_argument("--libraries", nargs="*", default=list(LIBRARIES))
    parser.add_argument("--case", choices=LIBRARIES, help=argparse.SUPPRESS)
    parser.add_argument("--support", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.data, args.support, args.repeats)))
        return
    if not args.data.is_file():
        sys.exit(f"{args.data} not found: pass --data path/to/retail.dat (FIMI format)")
    results = []
    for support in args.supports:
        for library in ["retailcrm", *[x for x in args.libraries if x != "retailcrm"]]:
            command = [
                sys.executable,
                __file__,
                "--case",
                library,
                "--data",
                str(args.data),
                "--support",
                str(support),
                "--repeats",
                str(args.repeats),
            ]
            done = subprocess.run(command, capture_output=True, text=True, check=True)
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(_table(results))


if __name__ == "__main__":
    main()
