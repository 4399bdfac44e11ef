r"""Behavioural personas: k-means clusters of customers, described in plain terms.

Public through :mod:`retailcrm.segments` (``segments.personas``, ``segments.persona_k``).

- :func:`personas` -- cluster the customers of a window on standardised behavioural features
  (recency, frequency, spend, basket size, category mix, channel mix, discount share) with
  SciPy's k-means, and describe each persona: typical figures, top categories, channels, and
  its contribution to sales and margin;
- :func:`persona_k` -- inertia, explained share and silhouette for several ``k``, to choose it.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import polars as pl
from scipy.cluster.vq import ClusterError, kmeans2
from scipy.spatial.distance import cdist

from retailcrm import rfm
from retailcrm._errors import ArgumentError, ColumnError, ConvergenceError, DataError
from retailcrm._schema import require
from retailcrm._time import AsOf, cutoff, parse_period

__all__ = ["FEATURES", "Personas", "persona_k", "personas"]

#: The features :func:`personas` can use, in order.
FEATURES: tuple[str, ...] = (
    "recency",
    "frequency",
    "monetary",
    "basket_size",
    "category_mix",
    "channel_mix",
    "discount_share",
)

_NEEDED = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_NEEDS = {"category_mix": "category", "channel_mix": "channel", "discount_share": "discount"}
_LOG = ("frequency", "monetary", "basket_size")  # log1p before standardising (right-skewed)
_MAX_ITER = 300
# SciPy >= 1.15 takes `rng`; older versions the same Generator as `seed`
_RNG = "rng" if "rng" in inspect.signature(kmeans2).parameters else "seed"
_OTHER = "(other)"


# ---------------------------------------------------------------------------------------------
# features


class _Design(NamedTuple):
    raw: pl.DataFrame  # customer_id and every feature column in its own units, sorted by id
    matrix: np.ndarray  # standardised, weighted features (n x d)
    columns: tuple[str, ...]  # the columns of raw behind the matrix, in order
    blocks: tuple[str, ...]  # the feature each matrix column belongs to
    as_of: Any  # the as_of date
    lines: pl.LazyFrame  # the window's lines


def _checked_features(features: object, schema: pl.Schema, caller: str) -> list[str]:
    available = [f for f in FEATURES if f not in _NEEDS or _NEEDS[f] in schema]
    if features is None:
        return available
    chosen = [features] if isinstance(features, str) else list(features)  # type: ignore[call-overload]
    unknown = [f for f in chosen if f not in FEATURES]
    if unknown or not chosen or len(set(chosen)) != len(chosen):
        msg = f"{caller}: features must be distinct names from {list(FEATURES)}; got {features!r}."
        raise ArgumentError(msg)
    missing = [f for f in chosen if f not in available]
    if missing:
        columns = [_NEEDS[f] for f in missing]
        msg = (
            f"{caller}: features {missing} need column(s) {columns}, which tx does not have. Map "
            "them with retailcrm.prepare(frame, ..., keep=[...]) or leave those features out."
        )
        raise ColumnError(msg)
    return [f for f in FEATURES if f in chosen]


def _window(
    tx: pl.DataFrame | pl.LazyFrame, as_of: AsOf, lookback: str | None, caller: str
) -> tuple[pl.LazyFrame, Any]:
    cut = cutoff(as_of, tx.collect_schema()["timestamp"], caller=caller)
    lines = tx.lazy().filter(cut.keep)
    day = cut.date
    if day is None:
        day = lines.select(pl.col("timestamp").max().dt.date()).collect().item()
        if day is None:
            msg = f"{caller}: tx has no rows up to as_of; there is nobody to cluster."
            raise DataError(msg)
    if lookback is not None:
        try:
            step = parse_period(lookback, caller=caller)
        except ArgumentError:
            msg = (
                f"{caller}: lookback must be a duration '<n>d', '<n>w', '<n>mo', '<n>q' or "
                f"'<n>y' (e.g. '12mo'); got {lookback!r}."
            )
            raise ArgumentError(msg) from None
        first = step.shift(pl.lit(day, dtype=pl.Date), pl.lit(-1))
        lines = lines.filter(pl.col("timestamp").dt.date() > first)
    return lines, day


def _mix(
    lines: pl.LazyFrame, column: str, top: int, prefix: str
) -> tuple[list[pl.Expr], list[str]]:
    """Share of each customer's positive spend per value of ``column`` (top values + other)."""
    value = pl.col(column).cast(pl.String)
    bought = lines.filter(pl.col("amount") > 0)
    totals = (
        bought.group_by(_v=value)
        .agg(_s=pl.col("amount").sum())
        .sort(pl.col("_s").round_sig_figs(12), pl.col("_v"), descending=[True, False])
        .collect()
    )
    keep = [v for v in totals["_v"].to_list() if v is not None][:top]
    rest = totals.height > len(keep)
    spend = pl.col("amount").filter(pl.col("amount") > 0)
    total = spend.sum()
    exprs = [
        (pl.col("amount").filter((pl.col("amount") > 0) & (value == v)).sum() / total).alias(
            f"{prefix}{v}"
        )
        for v in keep
    ]
    names = [f"{prefix}{v}" for v in keep]
    if rest:
        other = (pl.col("amount") > 0) & (value.is_null() | ~value.is_in(keep))
        exprs.append((pl.col("amount").filter(other).sum() / total).alias(f"{prefix}{_OTHER}"))
        names.append(f"{prefix}{_OTHER}")
    return exprs, names


def _design(
    tx: pl.DataFrame | pl.LazyFrame,
    features: object,
    as_of: AsOf,
    lookback: str | None,
    max_categories: int,
    caller: str,
) -> _Design:
    require(tx, _NEEDED, caller=caller)
    schema = tx.collect_schema()
    chosen = _checked_features(features, schema, caller)
    if (
        isinstance(max_categories, bool)
        or not isinstance(max_categories, int)
        or max_categories < 1
    ):
        msg = f"{caller}: max_categories must be a whole number >= 1; got {max_categories!r}."
        raise ArgumentError(msg)
    for name, kind in (("quantity", "numeric"), ("category", "any"), ("channel", "any")):
        if name in schema:
            require(tx, {name: kind}, caller=caller)
    lines, day = _window(tx, as_of, lookback, caller)
    per = rfm.summary(lines, as_of=day).filter(pl.col("frequency") > 0)
    bought = pl.col("amount") > 0
    units = pl.col("quantity").cast(pl.Float64) if "quantity" in schema else pl.lit(1.0)
    aggs: list[pl.Expr] = [units.filter(bought).sum().alias("_units")]
    blocks: dict[str, list[str]] = {}
    if "category_mix" in chosen:
        exprs, names = _mix(lines, "category", max_categories, "category=")
        aggs += exprs
        blocks["category_mix"] = names
    if "channel_mix" in chosen:
        exprs, names = _mix(lines, "channel", max_categories, "channel=")
        aggs += exprs
        blocks["channel_mix"] = names
    if "discount_share" in chosen:
        discount = schema["discount"]
        if discount == pl.Boolean:
            share = (
                pl.col("amount").filter(bought & pl.col("discount")).sum()
                / pl.col("amount").filter(bought).sum()
            )
        elif discount.is_numeric():
            off = pl.col("discount").cast(pl.Float64).filter(bought).sum()
            share = off / (pl.col("amount").filter(bought).sum() + off)
        else:
            msg = (
                f"{caller}: column 'discount' is {discount}; it must be Boolean (line on "
                "discount) or numeric (discount amount of the line)."
            )
            raise ColumnError(msg)
        aggs.append(share.fill_nan(0.0).fill_null(0.0).alias("discount_share"))
    extra = lines.group_by("customer_id").agg(aggs)
    raw = (
        per.join(extra, on="customer_id", how="left")
        .with_columns(
            recency=pl.col("recency").cast(pl.Float64),
            frequency=pl.col("frequency").cast(pl.Float64),
            monetary=pl.col("monetary"),
            basket_size=pl.col("_units").fill_null(0.0) / pl.col("frequency"),
        )
        .with_columns(
            *[pl.col(n).fill_null(0.0) for names in blocks.values() for n in names],
            *([pl.col("discount_share").fill_null(0.0)] if "discount_share" in chosen else []),
        )
        .select(
            "customer_id",
            "recency",
            "frequency",
            "monetary",
            "basket_size",
            *[n for names in blocks.values() for n in names],
            *(["discount_share"] if "discount_share" in chosen else []),
        )
        .sort("customer_id")
        .collect()
    )
    if raw.height == 0:
        msg = (
            f"{caller}: no customer has a purchase in the window up to {day}; there is nobody "
            "to cluster. Check as_of and lookback."
        )
        raise DataError(msg)
    columns: list[str] = []
    owners: list[str] = []
    parts: list[np.ndarray] = []
    for feature in chosen:
        if feature in blocks:
            block = raw.select(blocks[feature]).to_numpy().astype(float)
            centred = block - block.mean(axis=0)
            spread = math.sqrt(float(centred.var(axis=0).sum()))
            parts.append(centred / spread if spread > 0 else centred)
            columns += blocks[feature]
            owners += [feature] * len(blocks[feature])
            continue
        x = raw[feature].to_numpy().astype(float)
        if feature in _LOG:
            x = np.log1p(np.maximum(x, 0.0))
        std = float(x.std())
        parts.append(((x - x.mean()) / (std if std > 0 else 1.0))[:, None])
        columns.append(feature)
        owners.append(feature)
    matrix = np.hstack(parts) if parts else np.empty((raw.height, 0))
    return _Design(raw, matrix, tuple(columns), tuple(owners), day, lines)


# ---------------------------------------------------------------------------------------------
# k-means


def _kmeans(
    x: np.ndarray, k: int, restarts: int, seed: int, caller: str
) -> tuple[np.ndarray, np.ndarray, float]:
    """Best of ``restarts`` k-means++ runs (Lloyd iterations to convergence).

    Returns centroids, labels and inertia; clusters are numbered by size (largest first), ties
    by their first member.
    """
    rng = np.random.default_rng(seed)
    best: tuple[np.ndarray, np.ndarray, float] | None = None
    for _ in range(restarts):
        try:
            centroids, labels = kmeans2(x, k, iter=1, minit="++", missing="raise", **{_RNG: rng})
            for _ in range(_MAX_ITER):
                centroids, new = kmeans2(
                    x, centroids, iter=1, minit="matrix", missing="raise", check_finite=False
                )
                if np.array_equal(new, labels):
                    break
                labels = new
        except ClusterError:
            continue  # a cluster emptied: this start is dropped
        inertia = float(((x - centroids[labels]) ** 2).sum())
        if best is None or inertia < best[2] * (1 - 1e-12):
            best = (centroids, labels, inertia)
    if best is None:
        msg = (
            f"{caller}: every one of the {restarts} k-means runs left a cluster empty with "
            f"k={k}; the customers have fewer than {k} distinct profiles. Use a smaller k."
        )
        raise ConvergenceError(msg)
    centroids, labels, inertia = best
    sizes = np.bincount(labels, minlength=k)
    first = np.array([np.flatnonzero(labels == j)[0] for j in range(k)])
    order = np.lexsort((first, -sizes))  # new number i is old cluster order[i]
    rename = np.empty(k, dtype=np.int64)
    rename[order] = np.arange(k)
    return centroids[order], rename[labels], inertia


def _silhouette(x: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Mean silhouette width (Rousseeuw 1987); a point alone in its cluster scores 0."""
    distances = cdist(x, x)
    member = np.zeros((labels.size, k))
    member[np.arange(labels.size), labels] = 1.0
    sums = distances @ member
    counts = member.sum(axis=0)
    own = counts[labels]
    a = np.divide(
        sums[np.arange(labels.size), labels], own - 1, out=np.zeros(labels.size), where=own > 1
    )
    means = np.divide(sums, counts, out=np.full_like(sums, np.inf), where=counts > 0)
    means[np.arange(labels.size), labels] = np.inf
    b = means.min(axis=1)
    top = np.maximum(a, b)
    s = np.divide(b - a, top, out=np.zeros(labels.size), where=(own > 1) & (top > 0))
    return float(s.mean())


def _checked_int(value: object, name: str, low: int, caller: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        msg = f"{caller}: {name} must be a whole number >= {low}; got {value!r}."
        raise ArgumentError(msg)
    return int(value)


def _enough(n: int, k: int, caller: str) -> None:
    if n <= k:
        msg = (
            f"{caller}: k={k} personas need more than {k} customers with a purchase in the "
            f"window; there are {n}. Use a smaller k or a longer lookback."
        )
        raise DataError(msg)


# ---------------------------------------------------------------------------------------------
# personas


@dataclass(frozen=True, slots=True)
class Personas:
    """The result of :func:`personas`: who is in which persona, and what each persona is like.

    Attributes
    ----------
    k
        Number of personas.
    customers
        One row per customer clustered, sorted by ``customer_id``: ``customer_id``,
        ``persona`` (UInt32, 1..k; 1 is the largest), ``distance`` (Float64, Euclidean distance
        to the persona's centre in the standardised feature space).
    profiles
        One row per persona, sorted: see :func:`personas`.
    centroids
        One row per persona and feature column: ``persona``, ``feature`` (String: ``recency``,
        ``frequency``, ``monetary``, ``basket_size``, ``discount_share``, ``category=<name>``,
        ``channel=<name>``), ``value`` (Float64, the members' mean in the feature's own units:
        days, purchases, money, units, shares) and ``z`` (Float64, the k-means centre in the
        standardised space).
    inertia
        Sum of squared distances of the customers to their persona's centre (standardised).
    features
        The features used, in the order of :data:`FEATURES`.
    seed
        The seed of the k-means starts.
    """

    k: int
    customers: pl.DataFrame
    profiles: pl.DataFrame
    centroids: pl.DataFrame
    inertia: float
    features: tuple[str, ...]
    seed: int


def _level(value: float, population: np.ndarray, words: tuple[str, str, str]) -> str:
    low, high = np.quantile(population, [1 / 3, 2 / 3])
    if value <= low:
        return words[0]
    return words[2] if value > high else words[1]


def _describe(profiles: pl.DataFrame, raw: pl.DataFrame, centroids: pl.DataFrame) -> list[str]:
    """One plain sentence per persona (a short loop over the k personas)."""
    sentences = []
    values = {c: raw[c].to_numpy().astype(float) for c in ("recency", "frequency", "monetary")}
    for exact in profiles.iter_rows(named=True):
        # sums of floats differ in their last bits between runs: never let that flip a digit
        row = {k: round(v, 9) if isinstance(v, float) else v for k, v in exact.items()}
        persona = row["persona"]
        levels = [
            _level(row["typical_frequency"], values["frequency"],
                   ("infrequent", "regular", "frequent")),
            _level(row["typical_spend"], values["monetary"],
                   ("low spend", "mid spend", "high spend")),
            _level(row["typical_recency_days"], values["recency"],
                   ("recent", "lapsing", "lapsed")),
        ]  # fmt: skip
        parts = [
            f"{', '.join(levels).capitalize()}: {row['customers']:,} customers "
            f"({row['customers_share']:.0%}), median {row['typical_frequency']:g} purchase(s), "
            f"spend {row['typical_spend']:,.2f}, last purchase {row['typical_recency_days']:g} "
            f"days ago, {row['typical_basket_size']:.1f} units per purchase"
        ]
        for prefix, label in (("category=", "top categories"), ("channel=", "channels")):
            mix = centroids.filter(
                (pl.col("persona") == persona)
                & pl.col("feature").str.starts_with(prefix)
                & ~pl.col("feature").str.ends_with(_OTHER)
            ).sort(pl.col("value").round(9), "feature", descending=[True, False])
            shown = [
                f"{name.removeprefix(prefix)} {round(value, 9):.0%}"
                for name, value in mix.select("feature", "value").rows()[:3]
                if value >= 0.005
            ]
            if shown:
                parts.append(f"{label} {', '.join(shown)}")
        money = [f"{row['sales_share']:.0%} of sales"] if row["sales_share"] is not None else []
        if row.get("margin_share") is not None:
            money.append(f"{row['margin_share']:.0%} of margin")
        if money:
            parts.append(", ".join(money))
        sentences.append("; ".join(parts) + ".")
    return sentences


def personas(
    tx: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    k: int,
    features: Sequence[str] | None = None,
    as_of: AsOf = None,
    lookback: str | None = None,
    seed: int = 0,
    restarts: int = 10,
    max_categories: int = 8,
) -> Personas:
    r"""Cluster customers into ``k`` behavioural personas and describe each one in plain terms.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``,
        ``quantity``, ``category``, ``channel``, ``margin`` and a ``discount`` column (Boolean:
        the line was discounted; numeric: the discount amount of the line) when present.
    k
        Number of personas (>= 2); see :func:`persona_k` to choose it.
    features
        Some of :data:`FEATURES`; default all that the columns allow.
    as_of, lookback
        The window ``(as_of - lookback, as_of]`` in local calendar dates; defaults: the last
        timestamp, and everything up to it.
    seed
        Seed (>= 0) of NumPy's ``default_rng`` driving the k-means++ starts.
    restarts
        Number of k-means runs (>= 1); the one with the smallest inertia is kept.
    max_categories
        Category and channel mixes use the ``max_categories`` values with the most sales; the
        others are pooled as ``"(other)"``.

    Returns
    -------
    Personas
        ``customers`` (persona of each customer), ``centroids`` (each persona's centre, in the
        features' own units and standardised), ``inertia``, and ``profiles``, one row per
        persona (1 = the most customers), sorted:

        - ``persona`` (UInt32), ``customers`` (UInt32), ``customers_share`` (Float64, of the
          customers clustered);
        - ``orders`` (UInt32), ``sales`` (Float64), ``sales_share``, and ``margin``,
          ``margin_share`` when ``tx`` has ``margin``: the persona's purchase occasions, net
          sales and margin in the window, from :func:`retailcrm.segments.contribution` (shares
          of all customers with rows in the window);
        - ``typical_frequency``, ``typical_spend``, ``typical_recency_days``,
          ``typical_basket_size`` (Float64): the members' medians;
        - ``top_categories`` (List(String)): the three categories with the largest shares of the
          centre (the pooled ``"(other)"`` left out), when categories are used;
        - ``description`` (String): a sentence in plain terms.

    Raises
    ------
    ArgumentError
        Bad ``k``, ``features``, ``seed``, ``restarts``, ``max_categories`` or ``lookback``.
    ColumnError
        A column needed is missing or unusable.
    DataError
        Not more customers than ``k`` in the window.
    ConvergenceError
        Every k-means run left a cluster empty (fewer distinct customers than ``k``).

    Notes
    -----
    **Customers** are those with a purchase occasion (an order of net value > 0) in the window;
    customers with only returns there are not clustered.

    **Features** per customer, over the window: recency (days since the last purchase
    occasion), frequency (purchase occasions) and monetary value (net spend), as
    :func:`retailcrm.rfm.summary` computes them; basket size (units of the lines with amount
    > 0 per purchase occasion; lines when there is no ``quantity``); the category and channel
    mixes (share of the positive spend in each value); the discount share (share of the
    positive spend on discounted lines, or discount / (spend + discount)).

    **Scaling.** Frequency, monetary value (clipped at 0) and basket size are log-transformed,
    :math:`\log(1 + x)`, as their distributions are strongly right-skewed; each single feature
    is then z-scored, :math:`(x - \bar x) / s` (a constant feature gives 0). The shares of a
    mix are centred and divided together by :math:`\sqrt{\sum_j s_j^2}`, so a whole mix weighs
    like one feature, whatever its number of values, and small shares are not blown up.

    **Clustering** (Lloyd's k-means, minimising the inertia :math:`\sum_i \lVert x_i -
    c_{g(i)} \rVert^2`; Arthur & Vassilvitskii 2007 for the k-means++ starts): SciPy's
    ``kmeans2`` with ``minit="++"``, iterated until no customer changes cluster (at most 300
    steps), ``restarts`` times from one seeded generator; the lowest inertia wins.

    Examples
    --------
    >>> from retailcrm import datasets
    >>> from retailcrm._personas import personas
    >>> found = personas(datasets.simulate(400, seed=3), k=3, seed=1)
    >>> found.profiles["persona"].to_list(), found.customers.height
    ([1, 2, 3], 400)
    >>> found.profiles["customers"].sum() == found.customers.height
    True
    """
    from retailcrm.segments import contribution  # here: segments re-exports this module

    caller = "segments.personas"
    k = _checked_int(k, "k", 2, caller)
    seed = _checked_int(seed, "seed", 0, caller)
    restarts = _checked_int(restarts, "restarts", 1, caller)
    design = _design(tx, features, as_of, lookback, max_categories, caller)
    _enough(design.raw.height, k, caller)
    centres, labels, inertia = _kmeans(design.matrix, k, restarts, seed, caller)
    key = design.raw["customer_id"]
    distance = np.sqrt(((design.matrix - centres[labels]) ** 2).sum(axis=1))
    members = pl.DataFrame(
        {
            "customer_id": key,
            "persona": pl.Series(labels + 1, dtype=pl.UInt32),
            "distance": pl.Series(distance, dtype=pl.Float64),
        }
    )
    raw = design.raw.with_columns(persona=members["persona"])
    columns = list(design.columns)
    means = raw.group_by("persona").agg(pl.col(columns).mean()).sort("persona")
    centroids = pl.DataFrame(
        {
            "persona": pl.Series(np.repeat(np.arange(1, k + 1), len(columns)), dtype=pl.UInt32),
            "feature": columns * k,
            "value": means.select(columns).to_numpy().astype(float).ravel(),
            "z": centres.ravel(),
        }
    )
    typical = raw.group_by("persona").agg(
        customers=pl.len().cast(pl.UInt32),
        typical_frequency=pl.col("frequency").median(),
        typical_spend=pl.col("monetary").median(),
        typical_recency_days=pl.col("recency").median(),
        typical_basket_size=pl.col("basket_size").median(),
    )
    sums = (
        contribution(design.lines, members.lazy(), by="persona", as_of=design.as_of)
        .collect()
        .drop("customers", "customers_share")
    )
    profiles = (
        typical.join(sums, on="persona", how="left")
        .with_columns(customers_share=pl.col("customers") / pl.col("customers").sum())
        .sort("persona")
    )
    if "category_mix" in design.blocks:
        top = (
            centroids.filter(
                pl.col("feature").str.starts_with("category=")
                & ~pl.col("feature").str.ends_with(_OTHER)
            )
            .sort(pl.col("value").round(9), "feature", descending=[True, False])
            .group_by("persona", maintain_order=True)
            .agg(top_categories=pl.col("feature").str.strip_prefix("category=").head(3))
        )
        profiles = profiles.join(top, on="persona", how="left")
    money = [c for c in ("orders", "sales", "sales_share", "margin", "margin_share") if c in sums]
    ordered = ["persona", "customers", "customers_share", *money]
    ordered += ["typical_frequency", "typical_spend", "typical_recency_days"]
    ordered += [
        "typical_basket_size",
        *(["top_categories"] if "top_categories" in profiles else []),
    ]
    profiles = profiles.select(ordered)
    profiles = profiles.with_columns(
        description=pl.Series(_describe(profiles, design.raw, centroids), dtype=pl.String)
    )
    return Personas(
        k=k,
        customers=members,
        profiles=profiles,
        centroids=centroids,
        inertia=inertia,
        features=tuple(dict.fromkeys(design.blocks)),
        seed=seed,
    )


def persona_k(
    tx: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    ks: Iterable[int] = range(2, 9),
    features: Sequence[str] | None = None,
    as_of: AsOf = None,
    lookback: str | None = None,
    seed: int = 0,
    restarts: int = 10,
    max_categories: int = 8,
    sample: int = 2000,
) -> pl.DataFrame:
    r"""Figures to choose the number of personas: inertia (elbow) and silhouette for each ``k``.

    Parameters
    ----------
    tx, features, as_of, lookback, seed, restarts, max_categories
        As for :func:`personas`; with the same values, the row of ``k`` describes exactly the
        clustering ``personas(tx, k=k, ...)`` returns.
    ks
        The numbers of personas to try (each >= 2, below the number of customers).
    sample
        The silhouette compares every pair of customers; it is computed on a random sample of
        this many customers (drawn once with ``default_rng(seed)``, the same for every ``k``),
        or on all when there are fewer (>= 10).

    Returns
    -------
    pl.DataFrame
        One row per ``k`` in increasing order: ``k`` (UInt32), ``inertia`` (Float64, sum of
        squared distances to the centres, standardised features), ``explained`` (Float64,
        :math:`1 - \text{inertia} / \text{total sum of squares}`) and ``silhouette`` (Float64,
        the mean silhouette width of the sample, in [-1, 1]; higher is better).

    Notes
    -----
    Choose ``k`` at the "elbow" where ``inertia`` stops falling fast, or at the largest
    ``silhouette``. The silhouette of customer :math:`i` is :math:`s_i = (b_i - a_i) /
    \max(a_i, b_i)`, with :math:`a_i` the mean distance to the other members of its persona
    and :math:`b_i` the smallest mean distance to the members of another persona; a customer
    alone in its persona scores 0 (Rousseeuw 1987, "Silhouettes: a graphical aid to the
    interpretation and validation of cluster analysis", J. Comput. Appl. Math. 20, 53-65).

    Examples
    --------
    >>> from retailcrm import datasets
    >>> from retailcrm._personas import persona_k
    >>> figures = persona_k(datasets.simulate(300, seed=3), ks=[2, 3], restarts=2)
    >>> figures.columns, figures["k"].to_list()
    (['k', 'inertia', 'explained', 'silhouette'], [2, 3])
    """
    caller = "segments.persona_k"
    seed = _checked_int(seed, "seed", 0, caller)
    restarts = _checked_int(restarts, "restarts", 1, caller)
    sample = _checked_int(sample, "sample", 10, caller)
    if isinstance(ks, (str, bytes)) or not isinstance(ks, Iterable):
        msg = f"{caller}: ks must be whole numbers >= 2, e.g. range(2, 9); got {ks!r}."
        raise ArgumentError(msg)
    tried = sorted({_checked_int(k, "every k of ks", 2, caller) for k in ks})
    if not tried:
        msg = f"{caller}: ks is empty; pass the numbers of personas to try, e.g. range(2, 9)."
        raise ArgumentError(msg)
    design = _design(tx, features, as_of, lookback, max_categories, caller)
    x = design.matrix
    _enough(x.shape[0], tried[-1], caller)
    picked = np.arange(x.shape[0])
    if x.shape[0] > sample:
        picked = np.sort(np.random.default_rng(seed).choice(x.shape[0], sample, replace=False))
    total = float(((x - x.mean(axis=0)) ** 2).sum())
    rows = []
    for k in tried:
        _, labels, inertia = _kmeans(x, k, restarts, seed, caller)
        explained = 1.0 - inertia / total if total > 0 else None
        rows.append((k, inertia, explained, _silhouette(x[picked], labels[picked], k)))
    return pl.DataFrame(
        rows,
        schema={
            "k": pl.UInt32,
            "inertia": pl.Float64,
            "explained": pl.Float64,
            "silhouette": pl.Float64,
        },
        orient="row",
    )
