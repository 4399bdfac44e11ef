"""basket: itemsets, rules and next-best purchases — cases on paper, properties, bad input.

The comparisons with pyfim and mlxtend are in ``tests/reference/test_basket_references.py``;
here the oracle is a plain enumeration of every subset of every basket, written in the test.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from itertools import combinations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import retailcrm.basket as basket
from retailcrm import ArgumentError, ColumnError, DataError, InputTypeError

# ---------------------------------------------------------------------------------------------
# helpers


def frame_of(baskets: list[list[object]], *, customers: list[int] | None = None) -> pl.DataFrame:
    data: dict[str, list[object]] = {
        "order_id": [i for i, b in enumerate(baskets) for _ in b],
        "item": [x for b in baskets for x in b],
    }
    if customers is not None:
        data["customer_id"] = [customers[i] for i, b in enumerate(baskets) for _ in b]
    return pl.DataFrame(data)


def brute_force(baskets: list[list[object]], min_count: int, max_len: int | None = None):
    """Every subset of every (deduplicated) basket, counted; the frequent ones."""
    counts: Counter[tuple[object, ...]] = Counter()
    for b in baskets:
        items = sorted(set(b))
        for size in range(1, (max_len or len(items)) + 1):
            counts.update(combinations(items, size))
    return {s: c for s, c in counts.items() if c >= min_count}


def as_dict(found: pl.DataFrame) -> dict[tuple[object, ...], int]:
    return {
        tuple(s): c
        for s, c in zip(found["itemset"].to_list(), found["count"].to_list(), strict=True)
    }


baskets_strategy = st.lists(
    st.lists(st.integers(0, 7), min_size=1, max_size=6), min_size=1, max_size=25
)

# ---------------------------------------------------------------------------------------------
# itemsets on paper


def test_itemsets_small_case_by_hand() -> None:
    tx = frame_of([["a", "b", "c"], ["a", "b"], ["a", "c"], ["b"]])
    found = basket.itemsets(tx, min_support=0.5)
    assert found.rows() == [
        (["a"], 1, 3, 0.75),
        (["b"], 1, 3, 0.75),
        (["c"], 1, 2, 0.5),
        (["a", "b"], 2, 2, 0.5),
        (["a", "c"], 2, 2, 0.5),
    ]
    assert found.schema == pl.Schema(
        {
            "itemset": pl.List(pl.String),
            "length": pl.UInt32,
            "count": pl.UInt32,
            "support": pl.Float64,
        }
    )


def test_fraction_threshold_is_count_over_n_at_least_min_support() -> None:
    tx = frame_of([[1, 2], [1, 2], [1], [3], [3], [3], [3]])  # n = 7
    # 2 / 7 = 0.2857...: kept at exactly that fraction, dropped just above
    assert (1, 2) in as_dict(basket.itemsets(tx, min_support=2 / 7))
    assert (1, 2) not in as_dict(basket.itemsets(tx, min_support=2 / 7 + 1e-12))
    assert as_dict(basket.itemsets(tx, min_support=1.0)) == {}
    assert as_dict(basket.itemsets(tx, min_support=4)) == {(3,): 4}


def test_customer_day_is_one_basket_without_order_id() -> None:
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "timestamp": [
                datetime(2024, 1, 1, 9),
                datetime(2024, 1, 1, 18),  # same day: same basket
                datetime(2024, 1, 2, 9),
                datetime(2024, 1, 1, 9),
                datetime(2024, 1, 1, 10),
            ],
            "item": ["a", "b", "a", "a", "b"],
        }
    )
    found = as_dict(basket.itemsets(tx, min_support=1))
    assert found == {("a",): 3, ("b",): 2, ("a", "b"): 2}


def test_order_ids_of_different_customers_are_different_baskets() -> None:
    tx = frame_of([["a", "b"], ["a"]], customers=[1, 2]).with_columns(order_id=pl.lit(7))
    assert as_dict(basket.itemsets(tx, min_support=1)) == {("a",): 2, ("b",): 1, ("a", "b"): 1}


def test_brand_level_lifts_items() -> None:
    tx = pl.DataFrame(
        {
            "order_id": [1, 1, 2, 2, 3],
            "item": ["cola", "cola-zero", "cola", "chips", "chips"],
            "brand": ["Coke", "Coke", "Coke", "Lays", "Lays"],
        }
    )
    assert as_dict(basket.itemsets(tx, min_support=1, level="brand")) == {
        ("Coke",): 2,
        ("Lays",): 2,
        ("Coke", "Lays"): 1,
    }


@pytest.mark.parametrize(
    "dtype", [pl.Categorical, pl.Enum(["z", "y", "x"]), pl.Int16, pl.UInt64, pl.String]
)
def test_item_dtype_is_kept_and_itemsets_sorted_in_its_order(dtype: pl.DataType) -> None:
    values = [["x", "z"], ["y", "x", "z"]] if not dtype.is_integer() else [[3, 1], [2, 3, 1]]
    tx = frame_of(values).with_columns(pl.col("item").cast(dtype))
    found = basket.itemsets(tx, min_support=2)
    assert found.schema["itemset"] == pl.List(dtype)
    expected = pl.Series([sorted(set(values[0]))], dtype=pl.List(dtype)).cast(pl.List(dtype))
    if isinstance(dtype, pl.Enum):  # enum order, not text order
        assert found["itemset"].to_list()[-1] == ["z", "x"]
    else:
        assert found["itemset"].to_list()[-1] == expected.to_list()[0]


def test_lazy_input_gives_the_same_itemsets() -> None:
    tx = frame_of([[1, 2, 3], [1, 2], [2, 3], [1]])
    assert_frame_equal(
        basket.itemsets(tx.lazy(), min_support=2), basket.itemsets(tx, min_support=2)
    )


def test_single_item_baskets_give_no_pairs_and_no_rules() -> None:
    tx = frame_of([["a"], ["b"], ["a"], ["a", "a"]])
    found = basket.itemsets(tx, min_support=1)
    assert as_dict(found) == {("a",): 3, ("b",): 1}
    empty = basket.rules(found, min_confidence=0.0)
    assert empty.height == 0
    assert empty.schema["antecedent"] == pl.List(pl.String)
    assert "kulczynski" in empty.columns


def test_no_frequent_item_gives_an_empty_frame_with_the_schema() -> None:
    found = basket.itemsets(frame_of([[1, 2], [3]]), min_support=5)
    assert found.height == 0
    assert found.schema["itemset"] == pl.List(pl.Int64)


# ---------------------------------------------------------------------------------------------
# itemsets: properties


@settings(max_examples=60, deadline=None)
@given(
    baskets=baskets_strategy,
    min_count=st.integers(1, 4),
    max_len=st.none() | st.integers(1, 3),
)
def test_itemsets_equal_a_plain_enumeration(baskets, min_count, max_len) -> None:
    found = basket.itemsets(frame_of(baskets), min_support=min_count, max_len=max_len)
    assert as_dict(found) == brute_force(baskets, min_count, max_len)
    assert found["support"].to_list() == [c / len(baskets) for c in found["count"].to_list()]
    assert (found["length"] == found["itemset"].list.len()).all()


@settings(max_examples=40, deadline=None)
@given(baskets=baskets_strategy, seed=st.integers(0, 2**16))
def test_invariant_to_row_order_basket_ids_and_duplicated_lines(baskets, seed) -> None:
    tx = frame_of(baskets)
    expected = basket.itemsets(tx, min_support=1)
    relabelled = tx.with_columns(order_id=pl.format("o{}", pl.col("order_id") * 7 + 3))
    doubled = pl.concat([relabelled, relabelled.sample(fraction=0.5, seed=seed)])
    shuffled = doubled.sample(fraction=1.0, shuffle=True, seed=seed)
    assert_frame_equal(basket.itemsets(shuffled, min_support=1), expected)


@settings(max_examples=40, deadline=None)
@given(baskets=baskets_strategy)
def test_supports_are_anti_monotone(baskets) -> None:
    found = as_dict(basket.itemsets(frame_of(baskets), min_support=1))
    for itemset, count in found.items():
        for subset in combinations(itemset, len(itemset) - 1):
            if subset:
                assert found[subset] >= count


# ---------------------------------------------------------------------------------------------
# rules


def test_rules_by_hand_and_the_metrics_edge_cases() -> None:
    # "m" is in every basket; "a" -> "b" never fails
    tx = frame_of([["a", "b", "m"], ["a", "b", "m"], ["b", "m"], ["m", "c"]])
    found = basket.rules(tx, min_support=1, min_confidence=0.0)
    row = found.filter(
        pl.col("antecedent") == pl.lit(["a"]), pl.col("consequent") == pl.lit(["b"])
    ).row(0, named=True)
    assert (row["antecedent_count"], row["consequent_count"], row["count"]) == (2, 3, 2)
    assert row["confidence"] == 1.0
    assert row["lift"] == pytest.approx(1.0 / 0.75)
    assert row["leverage"] == pytest.approx(0.5 - 0.5 * 0.75)
    assert row["conviction"] == float("inf")  # confidence 1
    assert row["jaccard"] == pytest.approx(2 / 3)
    assert row["kulczynski"] == pytest.approx((1 + 2 / 3) / 2)
    assert row["certainty"] == pytest.approx((1 - 0.75) / 0.25)
    assert row["zhangs_metric"] == pytest.approx(0.125 / max(0.5 * 0.5, 0.5 * 0.25))
    to_m = found.filter(pl.col("consequent") == pl.lit(["m"]))
    assert to_m.height > 0
    assert (to_m["certainty"] == 0.0).all()  # s(C) = 1: 0, as in mlxtend
    from_m = found.filter(pl.col("antecedent") == pl.lit(["m"]))
    assert (from_m["zhangs_metric"] == 0.0).all()  # s(A) = 1: 0, as in mlxtend
    assert found.select(pl.selectors.float().is_nan().any()).row(0) == (False,) * 11


@settings(max_examples=40, deadline=None)
@given(baskets=baskets_strategy, min_count=st.integers(1, 3))
def test_rule_counts_are_their_itemsets_counts(baskets, min_count) -> None:
    sets = basket.itemsets(frame_of(baskets), min_support=min_count)
    found = basket.rules(sets, min_confidence=0.0)
    counts = as_dict(sets)
    for a, c, n_a, n_c, n_ac, s, conf in found.select(
        "antecedent",
        "consequent",
        "antecedent_count",
        "consequent_count",
        "count",
        "support",
        "confidence",
    ).iter_rows():
        assert not set(a) & set(c)
        assert n_ac == counts[tuple(sorted(a + c))]
        assert (n_a, n_c) == (counts[tuple(a)], counts[tuple(c)])
        assert s == n_ac / len(baskets)
        assert conf == pytest.approx(s / (n_a / len(baskets)), rel=1e-12)
    # every split of every itemset of 2+ items is there once
    expected = sum(2 ** len(k) - 2 for k in counts if len(k) >= 2)
    assert found.height == expected
    assert found.select("antecedent", "consequent").is_unique().all()


def test_rules_from_transactions_equal_rules_from_itemsets() -> None:
    tx = frame_of([[1, 2, 3], [1, 2], [2, 3], [1, 2, 3], [3]])
    direct = basket.rules(tx, min_support=2, min_confidence=0.4, min_lift=1.0)
    staged = basket.rules(basket.itemsets(tx, min_support=2), min_confidence=0.4, min_lift=1.0)
    assert_frame_equal(direct, staged)
    assert (direct["confidence"] >= 0.4).all()
    assert (direct["lift"] >= 1.0).all()
    assert direct["confidence"].is_sorted(descending=True)


def test_rules_metrics_selects_columns_and_keeps_confidence() -> None:
    tx = frame_of([[1, 2], [1, 2], [1]])
    found = basket.rules(tx, min_support=1, min_confidence=0.0, metrics=["jaccard", "lift"])
    assert found.columns[-3:] == ["confidence", "lift", "jaccard"]


# ---------------------------------------------------------------------------------------------
# next best purchase


def _shop() -> pl.DataFrame:
    rows = [
        (1, 1, date(2024, 1, 1), "tea"),
        (1, 1, date(2024, 1, 1), "milk"),
        (2, 2, date(2024, 1, 2), "tea"),
        (2, 2, date(2024, 1, 2), "milk"),
        (2, 2, date(2024, 1, 2), "biscuits"),
        (3, 3, date(2024, 1, 3), "tea"),
        (3, 4, date(2024, 2, 1), "milk"),  # after as_of below
        (4, 5, date(2024, 1, 4), "bread"),
        (5, 6, date(2024, 1, 5), "milk"),
        (5, 6, date(2024, 1, 5), "biscuits"),
    ]
    return pl.DataFrame(rows, schema=["customer_id", "order_id", "timestamp", "item"], orient="row")


def test_next_best_by_hand_with_as_of_and_nobody_dropped() -> None:
    tx = _shop()
    found = basket.rules(tx, min_support=2, min_confidence=0.5)
    offers = basket.next_best(tx, found, k=2, as_of=date(2024, 1, 31))
    assert offers["customer_id"].unique().sort().to_list() == [1, 2, 3, 4, 5]
    # customer 3 had only tea by January 31: tea -> milk (confidence 3/4)
    three = offers.filter(pl.col("customer_id") == 3)
    assert three.select("rank", "item", "antecedent").rows() == [(1, "milk", ["tea"])]
    assert three["score"].item() == pytest.approx(
        found.filter(
            pl.col("antecedent") == pl.lit(["tea"]), pl.col("consequent") == pl.lit(["milk"])
        )["confidence"].item()
    )
    # customer 4 bought bread only: no rule applies, listed with nulls
    assert offers.filter(pl.col("customer_id") == 4).row(0) == (4, None, None, None, None, None)
    # customer 5 (milk, biscuits): tea via milk -> tea; biscuits already bought
    five = offers.filter(pl.col("customer_id") == 5)
    assert five["item"].to_list() == ["tea"]


def test_next_best_can_include_purchased_items_and_takes_lazy_input() -> None:
    tx = _shop()
    found = basket.rules(tx, min_support=2, min_confidence=0.5)
    eager = basket.next_best(tx, found, exclude_purchased=False)
    assert_frame_equal(basket.next_best(tx.lazy(), found, exclude_purchased=False), eager)
    one = eager.filter(pl.col("customer_id") == 1)
    assert set(one["item"].to_list()) >= {"milk", "tea"}  # own items, proposed again


def test_next_best_reads_deeper_rules_when_the_best_ones_are_bought() -> None:
    # "a" has 9 rules a -> x0..x8 with falling confidence; customer 1 holds a and x0..x6, so
    # with k=1 its best new item is x7, found only in the third round (2, 4, then 8 rules read)
    baskets = [["a", f"x{j}"] for j in range(9) for _ in range(9 - j)] + [["a"]] * 3
    tx = frame_of(baskets, customers=[100 + i for i in range(len(baskets))])
    history = pl.DataFrame(
        {"customer_id": [1] * 8, "order_id": [-1] * 8, "item": ["a"] + [f"x{j}" for j in range(7)]}
    )
    found = basket.rules(tx, min_support=1, min_confidence=0.0, max_len=2)
    everyone = pl.concat([tx, history], how="diagonal")
    offers = basket.next_best(everyone, found, k=1)
    one = offers.filter(pl.col("customer_id") == 1)
    assert one.select("item", "antecedent").rows() == [("x7", ["a"])]
    two = basket.next_best(everyone, found, k=2)
    assert two.filter(pl.col("customer_id") == 1)["item"].to_list() == ["x7", "x8"]


@settings(max_examples=30, deadline=None)
@given(
    baskets=baskets_strategy,
    owners=st.lists(st.integers(0, 5), min_size=25, max_size=25),
    k=st.integers(1, 3),
)
def test_next_best_properties(baskets, owners, k) -> None:
    tx = frame_of(baskets, customers=owners[: len(baskets)])
    found = basket.rules(tx, min_support=1, min_confidence=0.0)
    offers = basket.next_best(tx, found, k=k)
    history = tx.group_by("customer_id").agg(pl.col("item").unique())
    bought = dict(
        zip(history["customer_id"].to_list(), map(set, history["item"].to_list()), strict=True)
    )
    assert set(offers["customer_id"].to_list()) == set(bought)  # nobody dropped
    single = found.filter(pl.col("consequent").list.len() == 1)
    confidence = {
        (tuple(a), c[0]): v
        for a, c, v in single.select("antecedent", "consequent", "confidence").iter_rows()
    }
    for customer, group in offers.group_by("customer_id"):
        ranked = group.filter(pl.col("rank").is_not_null()).sort("rank")
        assert ranked.height <= k
        assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))
        assert ranked["score"].is_sorted(descending=True)
        own = bought[customer[0]]
        for item, score, antecedent in ranked.select("item", "score", "antecedent").iter_rows():
            assert item not in own
            assert set(antecedent) <= own
            assert score == confidence[(tuple(antecedent), item)]
            best = max(v for (a, c), v in confidence.items() if c == item and set(a) <= own)
            assert score == best
        if ranked.height == 0:  # then no rule applies at all
            assert not any(set(a) <= own and c not in own for a, c in confidence)


# ---------------------------------------------------------------------------------------------
# bad input


@pytest.mark.parametrize("bad", [0.0, 1.5, -0.1, float("nan")])
def test_min_support_fraction_outside_0_1(bad: float) -> None:
    with pytest.raises(ArgumentError, match=r"min_support=.* fraction .* \(0, 1\]; pass an int"):
        basket.itemsets(frame_of([[1]]), min_support=bad)


@pytest.mark.parametrize("bad", [0, -3])
def test_min_support_count_below_1(bad: int) -> None:
    with pytest.raises(ArgumentError, match=r"min_support=-?\d+ is a basket count .* >= 1"):
        basket.itemsets(frame_of([[1]]), min_support=bad)


@pytest.mark.parametrize("bad", [True, "0.1", None])
def test_min_support_of_another_type(bad: object) -> None:
    with pytest.raises(ArgumentError, match=r"min_support must be a fraction .* got"):
        basket.itemsets(frame_of([[1]]), min_support=bad)  # type: ignore[arg-type]


def test_no_baskets() -> None:
    empty = pl.DataFrame(schema={"order_id": pl.Int64, "item": pl.String})
    with pytest.raises(DataError, match=r"no baskets \(0 rows\)"):
        basket.itemsets(empty, min_support=0.1)


def test_null_items_are_counted_and_shown() -> None:
    tx = pl.DataFrame({"order_id": [1, 1, 2], "item": ["a", None, "b"]})
    with pytest.raises(DataError, match=r"1 row\(s\) have a null item, e\.g\. .*order_id.: 1"):
        basket.itemsets(tx, min_support=1)


def test_null_order_id() -> None:
    tx = pl.DataFrame({"order_id": [1, None], "item": ["a", "b"]})
    with pytest.raises(DataError, match=r"1 row\(s\) have a null order_id"):
        basket.itemsets(tx, min_support=1)


def test_level_column_that_does_not_exist() -> None:
    with pytest.raises(ColumnError, match=r"level='brand' needs a column 'brand'.*prepare"):
        basket.itemsets(frame_of([[1]]), min_support=1, level="brand")


def test_level_that_is_not_a_choice() -> None:
    with pytest.raises(
        ArgumentError, match=r"level must be one of \['item', 'brand', 'category'\]"
    ):
        basket.itemsets(frame_of([[1]]), min_support=1, level="sku")  # type: ignore[arg-type]


def test_no_basket_columns() -> None:
    with pytest.raises(ColumnError, match=r"baskets need an order_id column, or customer_id and"):
        basket.itemsets(pl.DataFrame({"item": [1]}), min_support=1)


def test_float_items_are_refused() -> None:
    tx = pl.DataFrame({"order_id": [1], "item": [1.5]})
    with pytest.raises(
        ColumnError, match=r"column 'item' is Float64; it must be integer or string"
    ):
        basket.itemsets(tx, min_support=1)


def test_pandas_input_is_refused() -> None:
    pd = pytest.importorskip("pandas")
    with pytest.raises(InputTypeError, match=r"expected a polars DataFrame.*prepare"):
        basket.itemsets(pd.DataFrame({"order_id": [1], "item": [1]}), min_support=1)


@pytest.mark.parametrize("bad", [0, -1, 1.5, True])
def test_bad_max_len(bad: object) -> None:
    with pytest.raises(ArgumentError, match=r"max_len must be None or an int >= 1"):
        basket.itemsets(frame_of([[1]]), min_support=1, max_len=bad)  # type: ignore[arg-type]


def test_rules_from_transactions_need_min_support() -> None:
    with pytest.raises(ArgumentError, match=r"rules need min_support to mine the itemsets first"):
        basket.rules(frame_of([[1, 2]]))


def test_rules_from_itemsets_refuse_min_support() -> None:
    sets = basket.itemsets(frame_of([[1, 2]]), min_support=1)
    with pytest.raises(ArgumentError, match=r"min_support and max_len apply to transactions"):
        basket.rules(sets, min_support=1)


def test_rules_from_filtered_itemsets() -> None:
    sets = basket.itemsets(frame_of([[1, 2], [1, 2]]), min_support=1)
    with pytest.raises(DataError, match=r"2 rule antecedent\(s\) are not among the itemsets"):
        basket.rules(sets.filter(pl.col("length") == 2))


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"min_confidence": 1.5}, r"min_confidence must be a number in \[0, 1\]; got 1.5"),
        ({"min_lift": -1.0}, r"min_lift must be a number >= 0; got -1.0"),
        ({"metrics": ["lift", "phi"]}, r"unknown metric\(s\) \['phi'\]; choose from"),
        ({"correction": "holm"}, r"correction must be one of \['bh', 'bonferroni'\]"),
    ],
)
def test_rules_bad_arguments(kwargs: dict[str, object], pattern: str) -> None:
    sets = basket.itemsets(frame_of([[1, 2]]), min_support=1)
    with pytest.raises(ArgumentError, match=pattern):
        basket.rules(sets, **kwargs)  # type: ignore[arg-type]


def test_next_best_bad_arguments() -> None:
    tx = _shop()
    found = basket.rules(tx, min_support=2, min_confidence=0.5)
    with pytest.raises(ArgumentError, match=r"k must be an int >= 1"):
        basket.next_best(tx, found, k=0)
    other = tx.with_columns(item=pl.col("item").cast(pl.Categorical))
    with pytest.raises(
        ColumnError, match=r"rules column 'antecedent' is List\(String\).*Categorical"
    ):
        basket.next_best(other, found)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['customer_id'\]"):
        basket.next_best(tx.drop("customer_id"), found)
    with pytest.raises(DataError, match=r"1 row\(s\) have a null item"):
        basket.next_best(pl.concat([tx, tx.head(1).with_columns(item=None)]), found)


def test_itemsets_do_not_build_a_dense_matrix_for_a_wide_catalogue() -> None:
    # 200k distinct items in 100k baskets: a dense one-hot would be 20e9 cells
    rng = np.random.default_rng(0)
    n = 100_000
    items = rng.integers(0, 200_000, size=3 * n)
    tx = pl.DataFrame({"order_id": np.repeat(np.arange(n), 3), "item": items})
    found = basket.itemsets(tx, min_support=3)
    expected = Counter(items.tolist())  # pairs of random items are rarely frequent
    singles = found.filter(pl.col("length") == 1)
    assert singles.height == sum(1 for c in expected.values() if c >= 3)


# ---------------------------------------------------------------------------------------------
# scoped by a segment


def _segmented() -> pl.DataFrame:
    baskets = [["a", "b"], ["a", "b"], ["a", "c"], ["c", "d"], ["c", "d"], ["a", "d"], ["b"]]
    segment = ["gold", "gold", "gold", "new", "new", "new", "new"]
    tx = frame_of(baskets, customers=[1, 1, 2, 3, 4, 4, 5])
    seg = dict(enumerate(segment))
    return tx.with_columns(segment=pl.col("order_id").replace_strict(seg))


def test_itemsets_by_segment_equal_itemsets_of_each_segment() -> None:
    tx = _segmented()
    scoped = basket.itemsets(tx, min_support=0.5, by="segment")
    assert scoped.columns[0] == "segment"
    for name in ("gold", "new"):
        alone = basket.itemsets(tx.filter(pl.col("segment") == name), min_support=0.5)
        assert_frame_equal(scoped.filter(pl.col("segment") == name).drop("segment"), alone)
    assert scoped["segment"].to_list() == sorted(scoped["segment"].to_list())


def test_rules_by_segment_from_tx_and_from_itemsets_agree_with_each_segment() -> None:
    tx = _segmented()
    direct = basket.rules(tx, min_support=2, min_confidence=0.0, by="segment", fisher=True)
    staged = basket.rules(
        basket.itemsets(tx, min_support=2, by=["segment"]), min_confidence=0.0, by="segment"
    )
    assert_frame_equal(direct.drop("p_value", "p_adjusted"), staged)
    for name in ("gold", "new"):
        alone = basket.rules(
            tx.filter(pl.col("segment") == name), min_support=2, min_confidence=0.0, fisher=True
        )
        assert_frame_equal(direct.filter(pl.col("segment") == name).drop("segment"), alone)
    # the gold segment's supports are over its 3 baskets
    gold = direct.filter(pl.col("segment") == "gold", pl.col("antecedent") == pl.lit(["b"]))
    assert gold["support"].to_list() == [2 / 3]


def test_next_best_by_segment_uses_the_segments_rules() -> None:
    tx = _segmented()
    found = basket.rules(tx, min_support=2, min_confidence=0.5, by="segment")
    offers = basket.next_best(tx, found, by="segment", k=3)
    assert offers.columns[:3] == ["customer_id", "segment", "rank"]
    # customer 2 (gold, bought a and c): gold's a -> b; customer 5 (new, bought b): nothing
    two = offers.filter(pl.col("customer_id") == 2)
    assert two.select("segment", "item", "antecedent").rows() == [("gold", "b", ["a"])]
    assert offers.filter(pl.col("customer_id") == 5)["rank"].to_list() == [None]
    # without scoping, customer 5 could get new's d -> c? no: d is not in its history
    assert set(offers["customer_id"].to_list()) == {1, 2, 3, 4, 5}


def test_by_errors() -> None:
    tx = _segmented()
    with pytest.raises(
        ColumnError,
        match=r"by=\['store'\] names column\(s\) \['store'\] not found in the transactions",
    ):
        basket.itemsets(tx, min_support=1, by="store")
    with pytest.raises(ArgumentError, match=r"uses result column name\(s\) \['count'\]"):
        basket.itemsets(tx.rename({"segment": "count"}), min_support=1, by="count")
    found = basket.rules(tx, min_support=2, min_confidence=0.5)
    with pytest.raises(ColumnError, match=r"\['segment'\] not found in the rules, which has"):
        basket.next_best(tx, found, by="segment")


# ---------------------------------------------------------------------------------------------
# sequences


def brute_sequences(tx: pl.DataFrame, within: int | None, min_count: int):
    """Plain Python: orders per customer, every ordered pair of orders, every item pair."""
    from statistics import median

    orders: dict[tuple[object, object], list[object]] = {}
    for row in tx.iter_rows(named=True):
        key = (row["customer_id"], row.get("order_id", row["timestamp"].date()))
        entry = orders.setdefault(key, [row["timestamp"], set()])
        entry[0] = min(entry[0], row["timestamp"])
        entry[1].add(row["item"])
    by_customer: dict[object, list[tuple[datetime, set[object]]]] = {}
    for (customer, _), (t, items) in orders.items():
        by_customer.setdefault(customer, []).append((t, items))
    buyers: Counter[object] = Counter()
    gaps: dict[tuple[object, object], list[int]] = {}
    for _customer, own in by_customer.items():
        buyers.update(set().union(*(items for _, items in own)))
        best: dict[tuple[object, object], int] = {}
        for t1, items1 in own:
            for t2, items2 in own:
                days = (t2.date() - t1.date()).days
                if t2 <= t1 or (within is not None and days > within):
                    continue
                for a in items1:
                    for b in items2:
                        if a != b:
                            best[(a, b)] = min(best.get((a, b), days), days)
        for pair, days in best.items():
            gaps.setdefault(pair, []).append(days)
    n = len(by_customer)
    out = {}
    for (a, b), found in gaps.items():
        if len(found) >= min_count and buyers[a] >= min_count and buyers[b] >= min_count:
            conf = len(found) / buyers[a]
            out[(a, b)] = (
                buyers[a],
                buyers[b],
                len(found),
                conf,
                conf / (buyers[b] / n),
                float(median(found)),
            )
    return out


orders_strategy = st.lists(
    st.tuples(
        st.integers(0, 4),  # customer
        st.integers(0, 60),  # day
        st.integers(0, 23),  # hour
        st.lists(st.integers(0, 5), min_size=1, max_size=4),  # items
    ),
    min_size=1,
    max_size=20,
)


def _orders_frame(orders, *, with_order_id: bool) -> pl.DataFrame:
    rows = [
        (customer, number, datetime(2024, 1, 1, hour) + timedelta(days=day), item)
        for number, (customer, day, hour, items) in enumerate(orders)
        for item in items
    ]
    tx = pl.DataFrame(rows, schema=["customer_id", "order_id", "timestamp", "item"], orient="row")
    return tx if with_order_id else tx.drop("order_id")


@settings(max_examples=50, deadline=None)
@given(
    orders=orders_strategy,
    within=st.none() | st.integers(0, 40),
    min_count=st.integers(1, 3),
    with_order_id=st.booleans(),
)
def test_sequences_equal_a_plain_enumeration(orders, within, min_count, with_order_id) -> None:
    tx = _orders_frame(orders, with_order_id=with_order_id)
    found = basket.sequences(
        tx, min_support=min_count, within=None if within is None else f"{within}d"
    )
    expected = brute_sequences(tx, within, min_count)
    got = {
        (r[0], r[1]): r[2:]
        for r in found.select(
            "antecedent",
            "consequent",
            "antecedent_count",
            "consequent_count",
            "count",
            "confidence",
            "lift",
            "median_days",
        ).iter_rows()
    }
    assert got.keys() == expected.keys()
    for key, values in got.items():
        assert values == pytest.approx(expected[key], rel=1e-12)


def test_sequences_by_hand_window_and_order_within_a_day() -> None:
    tx = pl.DataFrame(
        {
            "customer_id": [1, 1, 1, 2, 2],
            "order_id": [10, 11, 12, 20, 21],
            "timestamp": [
                datetime(2024, 1, 1, 9),
                datetime(2024, 1, 1, 17),  # a later order the same day: gap 0 days
                datetime(2024, 3, 1, 9),
                datetime(2024, 1, 5, 9),
                datetime(2024, 1, 5, 9),  # the same instant: not later
            ],
            "item": ["a", "b", "c", "a", "b"],
        }
    )
    found = basket.sequences(tx, min_support=1, within="2w")
    assert found.select("antecedent", "consequent", "count", "median_days").rows() == [
        ("a", "b", 1, 0.0)
    ]
    assert found["confidence"].to_list() == [0.5]
    wide = basket.sequences(tx, min_support=1, within=None, min_confidence=0.5)
    assert set(wide.select("antecedent", "consequent").rows()) == {
        ("a", "b"),
        ("a", "c"),
        ("b", "c"),
    }
    assert wide.filter(pl.col("consequent") == "c")["median_days"].to_list() == [60.0, 60.0]
    none = basket.sequences(tx, min_support=1, within=None, min_confidence=0.6)
    assert none.height == 0
    assert none.schema["antecedent"] == pl.String


def test_sequences_bad_input() -> None:
    tx = _orders_frame([(1, 0, 9, [1, 2]), (1, 3, 9, [3])], with_order_id=True)
    with pytest.raises(ArgumentError, match=r"within must be a number of days or weeks"):
        basket.sequences(tx, min_support=1, within="3mo")
    with pytest.raises(ArgumentError, match=r"such as '90d' or '12w'.*got 'ninety days'"):
        basket.sequences(tx, min_support=1, within="ninety days")
    with pytest.raises(ArgumentError, match=r"min_support=0 is a basket count"):
        basket.sequences(tx, min_support=0)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['timestamp'\]"):
        basket.sequences(tx.drop("timestamp"), min_support=1)
    with pytest.raises(DataError, match=r"1 row\(s\) have a null item"):
        basket.sequences(
            tx.with_columns(item=pl.when(pl.col("item") == 3).then(None).otherwise("item")),
            min_support=1,
        )
