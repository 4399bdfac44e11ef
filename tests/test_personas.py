"""personas: planted clusters recovered, silhouette against a plain loop, figures, bad input."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import retailcrm.segments as segments
from retailcrm import ArgumentError, ColumnError, DataError, rfm
from retailcrm._personas import FEATURES, _silhouette, persona_k, personas

END = date(2024, 12, 31)

# planted persona: category, channel, purchases, mean order value, last purchase at most this
# many days before END, lines per order (low, high)
PLANTED = {
    "wine lovers": ("Wine", "online", 12, 80.0, 30, (2, 3)),
    "young parents": ("Baby", "store", 6, 40.0, 60, (3, 4)),
    "snackers": ("Snacks", "store", 1, 6.0, 365, (1, 1)),
}
PER_PERSONA = 40


def _planted(seed: int = 0) -> tuple[pl.DataFrame, dict[int, str]]:
    """Transactions of 3 x 40 customers who differ in category, channel, frequency and spend.

    A customer's last purchase is a uniform number of days (below the persona's bound) before
    END, the others on distinct earlier days. Each order has the persona's number of lines
    (uniform between its bounds); one line in ten is of
    another category, one order in ten goes through the other channel, and spend varies by
    +-30 %: the personas overlap a little.
    """
    rng = np.random.default_rng(seed)
    rows = []
    truth = {}
    order = 0
    others = ["Bread", "Milk", "Fruit"]
    for p, (name, (category, channel, n, value, last, size)) in enumerate(PLANTED.items()):
        for i in range(PER_PERSONA):
            customer = 1000 * (p + 1) + i
            truth[customer] = name
            latest = int(rng.integers(0, last))
            before = rng.choice(np.arange(1, 300), n - 1, replace=False)
            for back in [latest, *(latest + before).tolist()]:
                order += 1
                lines = int(rng.integers(size[0], size[1] + 1))
                switch = rng.random() < 0.1
                via = {"online": "store", "store": "online"}[channel] if switch else channel
                for _ in range(lines):
                    cat = category if rng.random() > 0.1 else others[int(rng.integers(0, 3))]
                    amount = round(value / lines * rng.uniform(0.7, 1.3), 2)
                    day = END - timedelta(days=int(back))
                    rows.append((customer, order, day, cat, 1.0, amount, 0.3 * amount, via))
    columns = ["customer_id", "order_id", "timestamp", "category", "quantity", "amount"]
    tx = pl.DataFrame(rows, schema=[*columns, "margin", "channel"], orient="row")
    return tx, truth


@pytest.fixture(scope="module")
def planted() -> tuple[pl.DataFrame, dict[int, str]]:
    return _planted()


def _adjusted_rand(a: list[object], b: list[object]) -> float:
    """Hubert & Arabie (1985) adjusted Rand index, written out from the contingency table."""
    _, ia = np.unique(np.array(a, dtype=str), return_inverse=True)
    _, ib = np.unique(np.array(b, dtype=str), return_inverse=True)
    table = np.zeros((ia.max() + 1, ib.max() + 1))
    np.add.at(table, (ia, ib), 1)

    def pairs(x: np.ndarray) -> float:
        return float((x * (x - 1) / 2).sum())

    n = len(a)
    index, rows, cols = pairs(table), pairs(table.sum(1)), pairs(table.sum(0))
    expected = rows * cols / (n * (n - 1) / 2)
    return (index - expected) / ((rows + cols) / 2 - expected)


def test_personas_recover_planted_clusters(planted: tuple[pl.DataFrame, dict[int, str]]) -> None:
    tx, truth = planted
    found = personas(tx, k=3, seed=0)
    assigned = dict(found.customers.select("customer_id", "persona").rows())
    assert set(assigned) == set(truth)
    assert _adjusted_rand([truth[c] for c in truth], [assigned[c] for c in truth]) == 1.0
    # each persona described by its planted traits
    profiles = found.profiles
    assert profiles["customers"].to_list() == [40, 40, 40]
    by_top = {row["top_categories"][0]: row for row in profiles.iter_rows(named=True)}
    assert set(by_top) == {"Wine", "Baby", "Snacks"}
    assert by_top["Wine"]["typical_frequency"] == 12
    assert by_top["Snacks"]["typical_frequency"] == 1
    assert (
        by_top["Wine"]["sales_share"]
        > by_top["Baby"]["sales_share"]
        > by_top["Snacks"]["sales_share"]
    )
    assert "Frequent, high spend, recent" in by_top["Wine"]["description"]
    assert "channels online" in by_top["Wine"]["description"]
    assert "Infrequent, low spend, lapsed" in by_top["Snacks"]["description"]


def test_persona_k_prefers_the_planted_k(planted: tuple[pl.DataFrame, dict[int, str]]) -> None:
    tx, _ = planted
    figures = persona_k(tx, ks=[2, 3, 4, 5], restarts=5)
    assert figures["k"].to_list() == [2, 3, 4, 5]
    assert figures.sort("silhouette")["k"][-1] == 3
    assert figures["inertia"].is_sorted(descending=True)
    assert figures.filter(pl.col("k") == 3)["explained"].item() > 0.7
    # the row of k describes exactly personas(k=...) with the same seed and restarts
    three = personas(tx, k=3, restarts=5)
    assert figures.filter(pl.col("k") == 3)["inertia"].item() == pytest.approx(three.inertia)


def test_silhouette_matches_a_plain_loop() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(25, 3))
    labels = np.r_[np.zeros(12, int), np.ones(12, int), [2]]  # cluster 2 is a singleton
    rng.shuffle(labels)
    expected = []
    for i in range(x.shape[0]):
        d = np.sqrt(((x - x[i]) ** 2).sum(axis=1))
        own = (labels == labels[i]) & (np.arange(x.shape[0]) != i)
        if not own.any():
            expected.append(0.0)  # Rousseeuw's convention for a singleton
            continue
        a = d[own].mean()
        b = min(d[labels == j].mean() for j in set(labels.tolist()) - {labels[i]})
        expected.append((b - a) / max(a, b))
    assert _silhouette(x, labels, 3) == pytest.approx(np.mean(expected), rel=1e-12)


def test_results_are_seeded_and_ignore_row_order(
    planted: tuple[pl.DataFrame, dict[int, str]],
) -> None:
    tx, _ = planted
    first = personas(tx, k=4, seed=3)
    again = personas(tx.sample(fraction=1.0, shuffle=True, seed=9).lazy(), k=4, seed=3)
    assert_frame_equal(first.customers, again.customers)
    assert_frame_equal(first.centroids, again.centroids)
    assert_frame_equal(first.profiles, again.profiles, check_exact=False)
    # more restarts never do worse: the first start is the same
    one = personas(tx, k=4, seed=3, restarts=1)
    assert first.inertia <= one.inertia + 1e-9


def test_figures_are_the_members_figures(planted: tuple[pl.DataFrame, dict[int, str]]) -> None:
    tx, _ = planted
    found = personas(tx, k=3, seed=0)
    members = found.customers.join(rfm.summary(tx), on="customer_id")
    means = (
        members.group_by("persona").agg(pl.col("frequency").cast(pl.Float64).mean()).sort("persona")
    )
    centroid = found.centroids.filter(pl.col("feature") == "frequency").sort("persona")
    assert centroid["value"].to_list() == pytest.approx(means["frequency"].to_list())
    medians = members.group_by("persona").agg(pl.col("monetary").median()).sort("persona")
    assert found.profiles["typical_spend"].to_list() == pytest.approx(medians["monetary"].to_list())
    shares = segments.contribution(tx, found.customers, by="persona")
    assert found.profiles["sales"].to_list() == pytest.approx(shares["sales"].to_list())
    assert found.profiles["margin_share"].to_list() == pytest.approx(
        shares["margin_share"].to_list()
    )
    # every customer is as close to its own centre as to any other (a k-means fixed point)
    assert found.customers["distance"].min() >= 0
    assert found.features == (
        "recency",
        "frequency",
        "monetary",
        "basket_size",
        "category_mix",
        "channel_mix",
    )
    mixes = found.centroids.filter(pl.col("feature").str.starts_with("category="))
    totals = mixes.group_by("persona").agg(pl.col("value").sum())
    assert totals["value"].to_list() == pytest.approx([1.0] * 3)  # shares of spend sum to 1


def test_discount_share_and_feature_choice(planted: tuple[pl.DataFrame, dict[int, str]]) -> None:
    tx, _ = planted
    flagged = tx.with_columns(discount=pl.col("category") == "Snacks")
    found = personas(flagged, k=3, seed=0)
    assert found.features[-1] == "discount_share"
    shares = found.centroids.filter(pl.col("feature") == "discount_share")["value"].sort().to_list()
    assert shares[-1] > 0.8  # the snackers
    assert shares[0] == 0.0
    amounts = tx.with_columns(
        discount=pl.when(pl.col("category") == "Wine").then(pl.col("amount")).otherwise(0.0)
    )
    wine = personas(amounts, k=3, seed=0).centroids.filter(pl.col("feature") == "discount_share")
    assert wine["value"].max() == pytest.approx(0.45, abs=0.05)  # half price on ~90 % of spend
    rfm_only = personas(tx, k=3, features=["recency", "frequency", "monetary"])
    assert rfm_only.centroids["feature"].unique().sort().to_list() == [
        "frequency",
        "monetary",
        "recency",
    ]
    assert "top_categories" not in rfm_only.profiles.columns
    with pytest.raises(ColumnError, match="column 'discount' is String; it must be Boolean"):
        personas(tx.with_columns(discount=pl.lit("yes")), k=3)


def test_window_and_lookback(planted: tuple[pl.DataFrame, dict[int, str]]) -> None:
    tx, truth = planted
    recent = personas(tx, k=2, lookback="3mo")
    # only customers with a purchase after Sep 30 are clustered
    window = tx.filter(pl.col("timestamp") > date(2024, 9, 30))
    assert (
        recent.customers["customer_id"].sort().to_list()
        == window["customer_id"].unique().sort().to_list()
    )
    assert recent.customers.height < len(truth)


def test_bad_input(planted: tuple[pl.DataFrame, dict[int, str]]) -> None:
    tx, _ = planted
    with pytest.raises(ArgumentError, match="k must be a whole number >= 2; got 1"):
        personas(tx, k=1)
    with pytest.raises(
        DataError,
        match="k=200 personas need more than 200 customers with a purchase in the window; there are 120",
    ):
        personas(tx, k=200)
    with pytest.raises(ArgumentError, match=r"features must be distinct names from \['recency'"):
        personas(tx, k=3, features=["recency", "age"])
    with pytest.raises(
        ColumnError, match=r"features \['channel_mix'\] need column\(s\) \['channel'\]"
    ):
        personas(tx.drop("channel"), k=3, features=["channel_mix"])
    with pytest.raises(ArgumentError, match="lookback must be a duration"):
        personas(tx, k=3, lookback="a year")
    with pytest.raises(ArgumentError, match="restarts must be a whole number >= 1"):
        personas(tx, k=3, restarts=0)
    with pytest.raises(ArgumentError, match="max_categories must be a whole number >= 1"):
        personas(tx, k=3, max_categories=0)
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['amount'\]"):
        personas(tx.drop("amount"), k=3)
    with pytest.raises(ArgumentError, match="ks is empty"):
        persona_k(tx, ks=[])
    with pytest.raises(ArgumentError, match="every k of ks must be a whole number >= 2; got 1"):
        persona_k(tx, ks=[1, 2])
    with pytest.raises(ArgumentError, match="sample must be a whole number >= 10"):
        persona_k(tx, ks=[2], sample=5)
    with pytest.raises(DataError, match="there is nobody to cluster"):
        personas(tx, k=2, as_of=date(2020, 1, 1))
    assert set(FEATURES) >= {"recency", "category_mix"}
