"""basket against the reference implementations: pyfim (Borgelt) and mlxtend, same baskets.

Data: simulated baskets (Zipf-like item popularity) and a subset of the Belgian retail store
baskets (Brijs et al. 1999, FIMI ``retail.dat``), read from ``../shared/data`` (skipped with a
reason where that folder is absent).

Conventions of the references, as used here:

- pyfim: ``supp=-c`` is an absolute count (positive values are percentages); ``zmax`` the most
  items; ``report="a"`` the absolute support; its rules have one item in the head, allow an
  empty body unless ``zmin=2``, and ``conf`` is in percent.
- mlxtend: a one-hot frame (sparse here) and a fractional ``min_support``;
  ``association_rules`` splits every itemset into all antecedent / consequent pairs and needs
  ``num_itemsets`` (the number of baskets).
"""

from __future__ import annotations

import math
from itertools import islice
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import scipy.stats

import retailcrm.basket as basket

fim = pytest.importorskip("fim")
mlxtend_fp = pytest.importorskip("mlxtend.frequent_patterns")
mlxtend_pre = pytest.importorskip("mlxtend.preprocessing")
pd = pytest.importorskip("pandas")

RTOL = 1e-12  # the same ratios of the same counts, divided in another order

_CANDIDATES = (
    Path(__file__).parents[2].parent / "shared" / "data" / "retail.dat",
    Path("../shared/data/retail.dat"),
)


def _retail_path() -> Path:
    for path in _CANDIDATES:
        if path.is_file():
            return path
    pytest.skip(f"retail.dat (FIMI) not found in {[str(p) for p in _CANDIDATES]}")


def read_fimi(path: Path, *, limit: int | None = None) -> list[list[int]]:
    """Baskets of a FIMI file: one line per basket, space-separated integer item ids."""
    with path.open() as handle:
        lines = [line.split() for line in islice(handle, limit)]
    return [[int(x) for x in line] for line in lines]


def to_frame(baskets: list[list[object]]) -> pl.DataFrame:
    """Canonical (order_id, item) rows, one per item occurrence."""
    return pl.DataFrame(
        {
            "order_id": [i for i, b in enumerate(baskets) for _ in b],
            "item": [x for b in baskets for x in b],
        }
    )


def simulated(n: int, n_items: int, seed: int) -> list[list[int]]:
    """Baskets of 1 + Poisson(3) items drawn with Zipf-like popularity, plus a bundle."""
    rng = np.random.default_rng(seed)
    weight = 1.0 / np.arange(1, n_items + 1) ** 1.1
    p = weight / weight.sum()
    baskets = []
    for _ in range(n):
        size = 1 + rng.poisson(3)
        chosen = rng.choice(n_items, size=size, p=p).tolist()  # repeats: counted once
        if rng.random() < 0.2:
            chosen += [7, 11, 13]  # a bundle, so that longer itemsets exist
        baskets.append(chosen)
    return baskets


@pytest.fixture(scope="module")
def retail() -> list[list[int]]:
    return read_fimi(_retail_path(), limit=4000)


def ours_as_dict(found: pl.DataFrame) -> dict[frozenset[object], int]:
    return {
        frozenset(s): c
        for s, c in zip(found["itemset"].to_list(), found["count"].to_list(), strict=True)
    }


def pyfim_itemsets(baskets, count: int, *, zmax: int | None = None, algo=None):
    miner = algo or fim.eclat
    kwargs = {} if zmax is None else {"zmax": zmax}
    found = miner(baskets, target="s", supp=-count, report="a", **kwargs)
    return {frozenset(s): c for s, c in found}


def mlxtend_itemsets(baskets, min_support: float, *, max_len: int | None = None):
    encoder = mlxtend_pre.TransactionEncoder()
    onehot = encoder.fit([sorted(set(b)) for b in baskets]).transform(
        [sorted(set(b)) for b in baskets], sparse=True
    )
    frame = pd.DataFrame.sparse.from_spmatrix(onehot, columns=[str(c) for c in encoder.columns_])
    return mlxtend_fp.fpgrowth(frame, min_support=min_support, use_colnames=True, max_len=max_len)


# ---------------------------------------------------------------------------------------------
# itemsets


@pytest.mark.parametrize("count", [8, 20, 60])
def test_itemsets_equal_pyfim_eclat_and_fpgrowth_on_retail(retail, count: int) -> None:
    found = basket.itemsets(to_frame(retail), min_support=count)
    ours = ours_as_dict(found)
    assert ours == pyfim_itemsets(retail, count)
    assert ours == pyfim_itemsets(retail, count, algo=fim.fpgrowth)
    assert found["support"].to_list() == pytest.approx(
        [c / len(retail) for c in found["count"].to_list()], rel=0, abs=0
    )
    assert found["length"].max() >= 3  # the comparison reaches long itemsets


def test_fractional_support_equals_pyfim_absolute_count(retail) -> None:
    n = len(retail)
    found = basket.itemsets(to_frame(retail), min_support=0.004)
    assert ours_as_dict(found) == pyfim_itemsets(retail, math.ceil(0.004 * n))


@pytest.mark.parametrize("max_len", [1, 2, 3])
def test_max_len_equals_pyfim_zmax(retail, max_len: int) -> None:
    found = basket.itemsets(to_frame(retail), min_support=10, max_len=max_len)
    assert ours_as_dict(found) == pyfim_itemsets(retail, 10, zmax=max_len)


def test_itemsets_equal_mlxtend_fpgrowth_on_retail(retail) -> None:
    subset = retail[:1500]
    reference = mlxtend_itemsets(subset, 0.01)
    found = basket.itemsets(to_frame(subset), min_support=0.01)
    ref = {
        frozenset(int(x) for x in s): v
        for s, v in zip(reference["itemsets"], reference["support"], strict=True)
    }
    ours = dict(
        zip(map(frozenset, found["itemset"].to_list()), found["support"].to_list(), strict=True)
    )
    assert ours.keys() == ref.keys()
    assert all(ours[k] == ref[k] for k in ref)  # the same count / n, bit for bit


@pytest.mark.parametrize("seed", [1, 2])
def test_simulated_string_items_equal_pyfim_and_mlxtend(seed: int) -> None:
    baskets = [[f"sku{x:03d}" for x in b] for b in simulated(1200, 60, seed)]
    found = basket.itemsets(to_frame(baskets), min_support=0.02, max_len=4)
    ours = ours_as_dict(found)
    assert ours == pyfim_itemsets(baskets, math.ceil(0.02 * 1200), zmax=4)
    reference = mlxtend_itemsets(baskets, 0.02, max_len=4)
    assert ours.keys() == {frozenset(s) for s in reference["itemsets"]}
    assert found.schema["itemset"] == pl.List(pl.String)
    assert all(s == sorted(s) for s in found["itemset"].to_list())


# ---------------------------------------------------------------------------------------------
# rules


def _mlxtend_rules(baskets, min_support: float, min_confidence: float):
    sets = mlxtend_itemsets(baskets, min_support)
    return mlxtend_fp.association_rules(
        sets, num_itemsets=len(baskets), metric="confidence", min_threshold=min_confidence
    )


_PAIRS = {
    "antecedent_support": "antecedent support",
    "consequent_support": "consequent support",
    "support": "support",
    "confidence": "confidence",
    "lift": "lift",
    "leverage": "leverage",
    "conviction": "conviction",
    "zhangs_metric": "zhangs_metric",
    "jaccard": "jaccard",
    "certainty": "certainty",
    "kulczynski": "kulczynski",
}


def _compare_with_mlxtend(baskets, min_support: float, min_confidence: float, convert) -> int:
    reference = _mlxtend_rules(baskets, min_support, min_confidence)
    ours = basket.rules(to_frame(baskets), min_support=min_support, min_confidence=min_confidence)
    key = list(
        zip(
            map(frozenset, ours["antecedent"].to_list()),
            map(frozenset, ours["consequent"].to_list()),
            strict=True,
        )
    )
    ref_key = [
        (frozenset(convert(x) for x in a), frozenset(convert(x) for x in c))
        for a, c in zip(reference["antecedents"], reference["consequents"], strict=True)
    ]
    assert len(key) == len(set(key))
    assert set(key) == set(ref_key)
    position = {k: i for i, k in enumerate(ref_key)}
    order = [position[k] for k in key]
    for ours_name, ref_name in _PAIRS.items():
        expected = reference[ref_name].to_numpy()[order]
        np.testing.assert_allclose(ours[ours_name].to_numpy(), expected, rtol=RTOL, atol=0)
    return ours.height


def test_rules_equal_mlxtend_association_rules_on_retail(retail) -> None:
    n = _compare_with_mlxtend(retail[:1500], 0.008, 0.2113, int)
    assert n > 50


def test_rules_equal_mlxtend_with_inf_conviction_and_multi_item_consequents() -> None:
    baskets = [[f"i{x}" for x in b] for b in simulated(800, 30, 5)]
    n = _compare_with_mlxtend(baskets, 0.03, 0.0, str)
    ours = basket.rules(to_frame(baskets), min_support=0.03, min_confidence=0.0)
    assert n > 100
    assert ours.filter(pl.col("consequent").list.len() >= 2).height > 0
    assert ours.filter(pl.col("conviction").is_infinite()).height > 0  # the bundle 7-11-13
    assert not ours.select(pl.selectors.float().is_nan().any()).row(0).__contains__(True)


def test_single_consequent_rules_equal_pyfim_arules(retail) -> None:
    count, conf = 15, 0.3141
    found = basket.rules(to_frame(retail), min_support=count, min_confidence=conf)
    found = found.filter(pl.col("consequent").list.len() == 1)
    reference = fim.arules(retail, supp=-count, conf=100 * conf, zmin=2, report="abhcl", mode="o")
    ref = {(frozenset(body), head): values for head, body, *values in reference}
    ours = {
        (frozenset(a), c[0]): (n_ac, n_a, n_c, cf, lf)
        for a, c, n_ac, n_a, n_c, cf, lf in found.select(
            "antecedent",
            "consequent",
            "count",
            "antecedent_count",
            "consequent_count",
            "confidence",
            "lift",
        ).iter_rows()
    }
    assert ours.keys() == ref.keys()
    for k, (n_ac, n_a, n_c, cf, lf) in ours.items():
        r_ac, r_a, r_c, r_cf, r_lf = ref[k]
        assert (n_ac, n_a, n_c) == (r_ac, r_a, r_c)
        assert cf == pytest.approx(r_cf, rel=RTOL)
        assert lf == pytest.approx(r_lf, rel=RTOL)


def test_fisher_p_values_equal_scipy_fisher_exact_and_bh(retail) -> None:
    found = basket.rules(to_frame(retail), min_support=40, min_confidence=0.0, fisher=True)
    n = len(retail)
    for row in found.head(25).iter_rows(named=True):
        n_ac, n_a, n_c = row["count"], row["antecedent_count"], row["consequent_count"]
        table = [[n_ac, n_a - n_ac], [n_c - n_ac, n - n_a - n_c + n_ac]]
        expected = scipy.stats.fisher_exact(table, alternative="greater").pvalue
        assert row["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
    bh = scipy.stats.false_discovery_control(found["p_value"].to_numpy(), method="bh")
    np.testing.assert_allclose(found["p_adjusted"].to_numpy(), bh, rtol=1e-12)
    bonferroni = basket.rules(
        to_frame(retail), min_support=40, min_confidence=0.0, fisher=True, correction="bonferroni"
    )
    p = bonferroni["p_value"].to_numpy()
    np.testing.assert_allclose(bonferroni["p_adjusted"].to_numpy(), np.minimum(p * p.size, 1))
