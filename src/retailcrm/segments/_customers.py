"""Segments of customers: contribution, migration, never-buy, frequency bands and tiers."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from retailcrm import _time
from retailcrm._errors import ArgumentError
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import FrameT, require
from retailcrm._time import AsOf
from retailcrm.segments._common import (
    _NEEDED,
    Selector,
    _keyed,
    _same_kind,
    _selector,
    _share,
    _warn,
)

__all__ = [
    "ENTERED",
    "LEFT",
    "MOVES",
    "contribution",
    "frequency_bands",
    "migration",
    "never_buy",
    "tiers",
]

#: Labels :func:`migration` gives to customers present in only one of the two segmentations.
ENTERED = "(entered)"
LEFT = "(left)"


# ---------------------------------------------------------------------------------------------
# contribution


def contribution(
    tx: FrameT,
    segments: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    by: str = "segment",
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""Measure each segment's customers, orders, sales and margin, with their shares.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        when present (otherwise an order is one customer-day) and ``margin`` when present.
    segments
        One row per customer: ``customer_id`` (the same kind of id as in ``tx``) and the
        segment column ``by``, e.g. the output of :func:`retailcrm.rfm.segments`,
        :func:`frequency_bands` (``by="band"``) or :func:`tiers` (``by="tier"``). A DataFrame
        is checked for repeated customer ids; a LazyFrame is not read (a repeated customer
        would then be counted once per row).
    by
        The segment column of ``segments``.
    as_of, lookback
        The window of ``tx`` measured: ``(as_of - lookback, as_of]`` in local calendar dates
        (``lookback`` a duration such as ``"12mo"``; None: everything up to ``as_of``, which
        defaults to the last timestamp in ``tx``).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        LazyFrame when ``tx`` or ``segments`` is lazy; one row per segment value, sorted by it
        with the null row last:

        - ``by`` (the dtype of the segment column);
        - ``customers`` (UInt32), ``customers_share`` (Float64);
        - ``orders`` (UInt32): purchase occasions in the window; ``orders_share``;
        - ``sales`` (Float64): net amount in the window, returns included; ``sales_share``;
        - ``margin`` (Float64), ``margin_share``: only when ``tx`` has a ``margin`` column.

        A share is null when its total is 0. A segment with a negative net total has a negative
        share; the shares of a measure always sum to 1.

    Notes
    -----
    **Who is counted.** The customers are the union of the segment frame and the customers
    with a row of ``tx`` in the window, each exactly once:

    - a customer of the segment frame without rows in the window counts in its segment with
      0 orders, sales and margin;
    - a customer with rows in the window but **missing from the segment frame** (or with a null
      segment) is counted in the row whose ``by`` is **null** -- never dropped. That row is
      absent when there is no such customer.

    With :math:`C_s` the customers of segment :math:`s` and :math:`x_c` a measure of customer
    :math:`c` in the window:

    .. math:: X_s = \sum_{c \in C_s} x_c, \qquad \mathrm{share}_s = X_s / \sum_{s'} X_{s'}

    the sales and margin contribution of segments in the sense of Kumar & Reinartz,
    *Customer Relationship Management* (2nd ed., Springer 2012).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "order_id": [1, 2, 3, 4],
    ...     "timestamp": [date(2024, 1, 5)] * 4, "amount": [60.0, 20.0, 20.0, 100.0]})
    >>> seg = pl.DataFrame({"customer_id": [1, 2], "segment": ["Gold", "Silver"]})
    >>> out = segments.contribution(tx, seg)
    >>> out.select("segment", "customers", "orders", "sales_share").rows()
    [('Gold', 1, 2, 0.4), ('Silver', 1, 1, 0.1), (None, 1, 1, 0.5)]
    """
    caller = "segments.contribution"
    require(tx, _NEEDED, caller=caller)
    schema = tx.collect_schema()
    if by == "customer_id":
        msg = f"{caller}: by must name the segment column, not customer_id."
        raise ArgumentError(msg)
    members = _keyed(segments, by, schema["customer_id"], caller, "segments")
    lines = _time.window(tx, as_of, lookback, caller=caller).lines
    per_customer = (
        orders(lines)
        .group_by("customer_id")
        .agg(orders=PURCHASE.sum().cast(pl.UInt32), sales=pl.col("value").sum())
    )
    measures = ["orders", "sales"]
    if "margin" in schema:
        require(tx, {"margin": "numeric"}, caller=caller)
        margins = lines.group_by("customer_id").agg(margin=pl.col("margin").cast(pl.Float64).sum())
        per_customer = per_customer.join(margins, on="customer_id", how="left")
        measures.append("margin")
    everyone = per_customer.join(members, on="customer_id", how="full", coalesce=True)
    totals = everyone.group_by(by).agg(
        customers=pl.len().cast(pl.UInt32),
        orders=pl.col("orders").fill_null(0).sum().cast(pl.UInt32),
        sales=pl.col("sales").fill_null(0.0).sum(),
        **({"margin": pl.col("margin").fill_null(0.0).sum()} if "margin" in measures else {}),
    )
    columns: list[str | pl.Expr] = [by]
    for name in ["customers", *measures]:
        columns += [pl.col(name), _share(name).alias(f"{name}_share")]
    result = totals.select(columns).sort(by, nulls_last=True)
    return _same_kind(result, tx, segments)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# migration


def _label_dtype(
    a: pl.DataType, b: pl.DataType, entered: str, left: str, caller: str
) -> pl.DataType:
    if isinstance(a, pl.Enum) and isinstance(b, pl.Enum):
        names = list(dict.fromkeys([*a.categories.to_list(), *b.categories.to_list()]))
        clash = [label for label in (entered, left) if label in names]
        if clash:
            msg = (
                f"{caller}: the segment names include {clash}, which label customers present in "
                f"only one frame; pass other labels, e.g. entered='(new)', left='(gone)'."
            )
            raise ArgumentError(msg)
        return pl.Enum([entered, *names, left])
    return pl.String()


def migration(
    a: FrameT,
    b: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    by: str = "segment",
    entered: str = ENTERED,
    left: str = LEFT,
) -> FrameT:
    r"""How customers moved between two segmentations (e.g. RFM segments at two dates).

    Parameters
    ----------
    a, b
        The earlier and the later segmentation: one row per customer, ``customer_id`` and the
        column ``by`` (e.g. two outputs of :func:`retailcrm.rfm.segments`). DataFrames are
        checked for repeated customer ids; a LazyFrame is not read.
    by
        The segment column, in both frames.
    entered, left
        The labels of customers only in ``b`` (the ``from`` of a customer who entered) and only
        in ``a`` (the ``to`` of a customer who left). They must differ from every segment name.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        LazyFrame when either input is lazy; one row per observed (from, to) pair, sorted:

        - ``from``, ``to``: the segments in ``a`` and ``b``. An Enum when ``by`` is an Enum in
          both frames (categories: ``entered``, the segments of ``a``, those only in ``b``,
          ``left``), otherwise String (values cast to text). A customer present with a null
          segment has a null ``from`` / ``to``;
        - ``customers`` (UInt32);
        - ``share_of_from`` (Float64): ``customers`` over all customers with that ``from``;
          the shares of each ``from`` sum to 1 (the rows of the transition matrix).

    Notes
    -----
    Every customer of ``a`` or ``b`` is in exactly one row, so the counts are conserved:
    :math:`\sum \mathrm{customers} = |A \cup B|`, the ``from`` totals are :math:`|A|` plus the
    customers who entered, and the ``to`` totals :math:`|B|` plus those who left. This is the
    segment transition (migration) matrix of customer-migration models, e.g. Kumar & Reinartz,
    *Customer Relationship Management* (2nd ed., Springer 2012), and Pfeifer & Carraway
    (2000), "Modeling customer relationships as Markov chains", J. Interactive Marketing 14(2).

    Examples
    --------
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> a = pl.DataFrame({"customer_id": [1, 2, 3], "segment": ["Gold", "Gold", "Silver"]})
    >>> b = pl.DataFrame({"customer_id": [1, 3, 4], "segment": ["Gold", "Gold", "Silver"]})
    >>> segments.migration(a, b).rows()
    [('(entered)', 'Silver', 1, 1.0), ('Gold', '(left)', 1, 0.5), ('Gold', 'Gold', 1, 0.5),
     ('Silver', 'Gold', 1, 1.0)]
    """
    caller = "segments.migration"
    if by == "customer_id":
        msg = f"{caller}: by must name the segment column, not customer_id."
        raise ArgumentError(msg)
    for name, label in (("entered", entered), ("left", left)):
        if not isinstance(label, str) or not label:
            msg = f"{caller}: {name} must be a non-empty string; got {label!r}."
            raise ArgumentError(msg)
    if entered == left:
        msg = f"{caller}: entered and left must be different labels; both are {entered!r}."
        raise ArgumentError(msg)
    require(a, {"customer_id": "any", by: "any"}, caller=caller)
    key = a.collect_schema()["customer_id"]
    first = _keyed(a, by, key, caller, "a")
    second = _keyed(b, by, key, caller, "b")
    dtype = _label_dtype(
        first.collect_schema()[by], second.collect_schema()[by], entered, left, caller
    )
    if isinstance(dtype, pl.String):
        for name, frame in (("a", a), ("b", b)):
            if isinstance(frame, pl.DataFrame):
                values = frame.select(pl.col(by).cast(pl.String).is_in([entered, left]).any())
                if values.item():
                    msg = (
                        f"{caller}: {name}[{by!r}] holds the label {entered!r} or {left!r}, "
                        f"which marks customers present in only one frame; pass other labels, "
                        f"e.g. entered='(new)', left='(gone)'."
                    )
                    raise ArgumentError(msg)

    def labels(frame: pl.LazyFrame, tag: str) -> pl.LazyFrame:
        return frame.select(
            "customer_id",
            pl.col(by).cast(pl.String).cast(dtype).alias(tag),
            pl.lit(True).alias(f"_{tag}"),
        )

    moves = (
        labels(first, "from")
        .join(labels(second, "to"), on="customer_id", how="full", coalesce=True)
        .group_by(
            pl.when(pl.col("_from"))
            .then(pl.col("from"))
            .otherwise(pl.lit(entered, dtype))
            .alias("from"),
            pl.when(pl.col("_to")).then(pl.col("to")).otherwise(pl.lit(left, dtype)).alias("to"),
        )
        .agg(customers=pl.len().cast(pl.UInt32))
        .with_columns(share_of_from=pl.col("customers") / pl.col("customers").sum().over("from"))
        .sort("from", "to", nulls_last=True)
    )
    return _same_kind(moves, a, b)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# never-buy


def never_buy(
    tx: FrameT,
    /,
    *,
    target: Selector,
    among: Selector | None = None,
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""Find the customers of a universe who never bought the target: a campaign list.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the columns
        that ``target`` and ``among`` use.
    target
        What they never bought: ``{column: value or list of values}`` (e.g.
        ``{"brand": "Acorn Farms"}``, ``{"category": ["Baby", "Pet Care"]}``; several columns
        must all match) or any boolean Polars expression over the line
        (``pl.col("item").is_in(new_items)``). Null values never match.
    among
        The universe, in the same forms: customers who bought a line matching it in the window
        (e.g. buyers of a complementary category). Default: every customer who bought
        anything in the window.
    as_of
        Observation end (inclusive); rows after it are ignored. Default: the last timestamp.
    lookback
        The window for the universe, ``(as_of - lookback, as_of]`` in local calendar dates
        (e.g. ``"12mo"``). Default None: everything up to ``as_of``. The target is looked for
        in **all** rows up to ``as_of``: "never" means never, not "not in the window".

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer in the universe without a target purchase, sorted
        by ``spend`` (descending) then ``customer_id``:

        - ``customer_id``;
        - ``spend`` (Float64): net amount of the customer's universe lines in the window;
        - ``last_purchase`` (the dtype of ``timestamp``): the last line with amount > 0 up to
          ``as_of``, any product;
        - ``days_since_last_purchase`` (Int32): local calendar days from it to ``as_of``.

    Warns
    -----
    RetailCRMWarning
        When the target can match nothing (a value absent from an Enum column, for any input),
        or, for a DataFrame, when no line up to ``as_of`` matches it or the universe is empty.

    Notes
    -----
    "Bought" means a line with amount > 0 (a line later returned still counts as tried); the
    universe is :math:`U = \{c : \exists\, \text{line } j \text{ of } c \text{ in the window},
    a_j > 0, j \in \text{among}\}` and the result :math:`U \setminus \{c : \exists\, j \le
    \text{as\_of}, a_j > 0, j \in \text{target}\}`.

    A target that matches no purchase at all (e.g. a misspelt brand) gives an **empty**
    result, not the whole universe: a campaign list built from a typo is worse than none. For
    a product nobody has bought yet, the universe itself is the list.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 3, 1), date(2024, 2, 1), date(2024, 3, 9)],
    ...     "category": ["Wine", "Cheese", "Cheese", "Cheese"], "amount": [20.0, 8.0, 12.0, 5.0]})
    >>> segments.never_buy(tx, target={"category": "Wine"}, among={"category": "Cheese"}).rows()
    [(2, 12.0, datetime.date(2024, 2, 1), 37), (3, 5.0, datetime.date(2024, 3, 9), 0)]
    """
    caller = "segments.never_buy"
    require(tx, _NEEDED, caller=caller)
    schema = tx.collect_schema()
    hit, problems = _selector(target, schema, "target", caller)
    universe, _ = (pl.lit(True), []) if among is None else _selector(among, schema, "among", caller)
    span = _time.window(tx, as_of, lookback, caller=caller)
    bought = pl.col("amount") > 0
    ts = pl.col("timestamp")
    per_customer = (
        span.observed.with_columns(_in=span.since())
        .group_by("customer_id")
        .agg(
            _target=(hit & bought).any(),
            _universe=(universe & bought & pl.col("_in")).any(),
            spend=pl.col("amount").filter(universe & pl.col("_in")).sum().cast(pl.Float64),
            last_purchase=ts.filter(bought).max(),
            _seen=ts.max(),
        )
    )
    as_of_date = span.as_of if span.date is not None else pl.col("_seen").max().dt.date()
    result = (
        per_customer.with_columns(_as_of=as_of_date, _any=pl.col("_target").any())
        .filter(pl.col("_universe") & ~pl.col("_target") & pl.col("_any"))
        .select(
            "customer_id",
            "spend",
            "last_purchase",
            days_since_last_purchase=(pl.col("_as_of") - pl.col("last_purchase").dt.date())
            .dt.total_days()
            .cast(pl.Int32),
        )
        .sort(pl.col("spend").round(6), "customer_id", descending=[True, False])
    )
    if problems:
        _warn(f"{caller}: target can match nothing ({'; '.join(problems)}); the result is empty.")
    if isinstance(tx, pl.LazyFrame):
        return result  # type: ignore[return-value]
    if not problems:
        found = span.observed.select(
            target=(hit & bought).any(), universe=(universe & bought & span.since()).any()
        ).collect()
        if not found["target"].item():
            _warn(
                f"{caller}: no purchase up to as_of matches target; the result is empty. "
                "Check the value's spelling and column (a misspelt target would otherwise put "
                "the whole universe on the list)."
            )
        elif not found["universe"].item():
            _warn(f"{caller}: no purchase in the window matches among; the universe is empty.")
    return result.collect()  # type: ignore[return-value]


# ---------------------------------------------------------------------------------------------
# frequency bands

Band = int | tuple[int, int | None]
_DEFAULT_BANDS: tuple[Band, ...] = (1, 2, (3, 5), (6, 10), (11, None))


def _checked_bands(bands: Sequence[Band], caller: str) -> list[tuple[int, int | None]]:
    shape = (
        f"{caller}: bands must be whole numbers n or (low, high) pairs (high None for open-ended) "
        "covering 1, 2, 3, ... in order without gaps or overlaps, the last one open-ended, e.g. "
        f"(1, 2, (3, 5), (6, 10), (11, None)); got {bands!r}"
    )
    if isinstance(bands, (str, bytes)) or not isinstance(bands, Sequence) or not bands:
        raise ArgumentError(shape + ".")
    parsed: list[tuple[int, int | None]] = []
    expected = 1
    for band in bands:
        pair = band if isinstance(band, tuple) else (band, band)
        if len(pair) != 2 or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in (pair[0], pair[1] or 0)
        ):
            raise ArgumentError(shape + ".")
        low, high = pair
        if parsed and parsed[-1][1] is None:
            raise ArgumentError(f"{shape}: only the last band may be open-ended.")
        if low != expected or (high is not None and high < low):
            raise ArgumentError(f"{shape}: band {band!r} should start at {expected}.")
        parsed.append((low, high))
        expected = (high or 0) + 1
    if parsed[-1][1] is not None:
        raise ArgumentError(f"{shape}: the last band must be open-ended, e.g. ({expected}, None).")
    return parsed


def _band_label(low: int, high: int | None) -> str:
    if high is None:
        return f"{low}+"
    return str(low) if high == low else f"{low}-{high}"


def frequency_bands(
    tx: FrameT,
    /,
    *,
    bands: Sequence[Band] = _DEFAULT_BANDS,
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    """Shopping-frequency bands: each customer's number of purchase occasions in a window.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``
        when present (otherwise an order is one customer-day).
    bands
        The bands in order: ``n`` for exactly n occasions, ``(low, high)`` for low..high
        inclusive, ``(low, None)`` for low or more. They must cover 1, 2, 3, ... without gaps
        or overlaps and end open-ended. Default ``(1, 2, (3, 5), (6, 10), (11, None))``.
    as_of, lookback
        The window ``(as_of - lookback, as_of]`` (local calendar dates); defaults: the last
        timestamp, and everything up to it.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer with at least one purchase occasion in the window
        (customers whose orders there are all returns are left out), sorted by ``customer_id``:
        ``customer_id``, ``frequency`` (UInt32, purchase occasions in the window) and ``band``
        (Enum of the labels ``"1"``, ``"2"``, ``"3-5"``, ``"6-10"``, ``"11+"``, in order).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 2, 2], "amount": [5.0, 1.0, 2.0, 3.0],
    ...     "timestamp": [date(2024, 1, 1), date(2024, 1, 1), date(2024, 1, 2), date(2024, 1, 3)]})
    >>> segments.frequency_bands(tx, bands=(1, (2, None))).rows()
    [(1, 1, '1'), (2, 3, '2+')]
    """
    caller = "segments.frequency_bands"
    parsed = _checked_bands(bands, caller)
    require(tx, _NEEDED, caller=caller)
    lines = _time.window(tx, as_of, lookback, caller=caller).lines
    labels = [_band_label(low, high) for low, high in parsed]
    band_type = pl.Enum(labels)
    n = pl.col("frequency")
    band: Any = pl.lit(labels[-1])
    for (_, high), label in zip(reversed(parsed[:-1]), reversed(labels[:-1]), strict=True):
        band = pl.when(n <= high).then(pl.lit(label)).otherwise(band)
    result = (
        orders(lines)
        .group_by("customer_id")
        .agg(frequency=PURCHASE.sum().cast(pl.UInt32))
        .filter(n > 0)
        .with_columns(band=band.cast(band_type))
        .sort("customer_id")
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# tiers

#: Moves between the previous window's tier and the current one.
MOVES: tuple[str, ...] = ("up", "same", "down")


def _checked_thresholds(thresholds: object, caller: str) -> list[tuple[str, float]]:
    shape = (
        f"{caller}: thresholds must map tier names to the lowest spend of each tier, in "
        f"increasing order, e.g. {{'Bronze': 0, 'Silver': 500, 'Gold': 2000}}; got {thresholds!r}"
    )
    if not isinstance(thresholds, Mapping) or not thresholds:
        raise ArgumentError(shape + ".")
    items = list(thresholds.items())
    for name, value in items:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not isinstance(name, str) or not name or not number or math.isnan(value):
            raise ArgumentError(shape + ".")
    values = [float(v) for _, v in items]
    if any(x >= y for x, y in itertools.pairwise(values)):
        raise ArgumentError(shape + ": the spends must be strictly increasing.")
    return [(name, float(value)) for name, value in items]


def tiers(
    tx: FrameT,
    /,
    *,
    thresholds: Mapping[str, float],
    window: str,
    as_of: AsOf = None,
) -> FrameT:
    r"""Loyalty tiers by spend in a window, and each customer's move since the window before.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``.
    thresholds
        Tier name -> lowest net spend in the window to reach it, increasing, e.g.
        ``{"Bronze": 0, "Silver": 500, "Gold": 2000}`` (a three-level programme). A spend
        below the first threshold has no tier (null); use ``float("-inf")`` as the first
        threshold to give every customer a tier.
    window
        Length of a qualifying window: a duration such as ``"12mo"``, ``"1q"``, ``"52w"``.
    as_of
        End of the current window (inclusive); default the last timestamp in ``tx``. The current
        window is ``(as_of - window, as_of]``, the previous one ``(as_of - 2 window, as_of -
        window]``, in local calendar dates.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer with a row in either window, sorted by
        ``customer_id``:

        - ``spend``, ``previous_spend`` (Float64): net amount in each window (0 without rows);
        - ``tier``, ``previous_tier`` (Enum of the tier names, in order): the highest tier whose
          threshold the spend reaches; null below the first threshold;
        - ``move`` (Enum ``"up"``, ``"same"``, ``"down"``): ``tier`` against ``previous_tier``,
          no tier ranking below the first.

    Notes
    -----
    With thresholds :math:`\theta_1 < \dots < \theta_K` and spend :math:`s`, the tier is
    :math:`\max\{k : s \ge \theta_k\}`, with :math:`s` rounded to 6 decimals first (a sum of
    lines netting to 0 is then 0, whatever order the lines were added in). Tiered loyalty
    programmes by spend: Kumar & Reinartz, *Customer Relationship Management* (2nd ed.,
    Springer 2012), the chapter on loyalty programmes.
    A migration table of the tiers is ``segments.migration`` of two calls, ``by="tier"``.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2], "amount": [600.0, 100.0, 50.0],
    ...     "timestamp": [date(2023, 6, 1), date(2024, 6, 1), date(2024, 6, 1)]})
    >>> t = segments.tiers(tx, thresholds={"Bronze": 0, "Silver": 500}, window="12mo",
    ...                    as_of=date(2024, 12, 31))
    >>> t.select("customer_id", "previous_tier", "tier", "move").rows()
    [(1, 'Silver', 'Bronze', 'down'), (2, 'Bronze', 'Bronze', 'same')]
    """
    caller = "segments.tiers"
    levels = _checked_thresholds(thresholds, caller)
    require(tx, _NEEDED, caller=caller)
    span = _time.window(tx, as_of, window, caller=caller, name="window")
    names = [name for name, _ in levels]
    tier_type = pl.Enum(names)

    def rank(spend: pl.Expr) -> pl.Expr:
        # multi-threaded sums differ in the last bits (a refund netting to 0 may give -1e-15):
        # compare spends rounded to 1e-6
        spend = spend.round(6)
        return pl.sum_horizontal([(spend >= value).cast(pl.Int8) for _, value in levels])

    def tier(spend: pl.Expr) -> pl.Expr:
        k = rank(spend)
        out: Any = pl.lit(None, pl.String)
        for i, name in enumerate(names, start=1):
            out = pl.when(k == i).then(pl.lit(name)).otherwise(out)
        return out.cast(tier_type)

    now = span.since(1)
    before = span.since(2) & ~now
    amount = pl.col("amount").cast(pl.Float64)
    move = (
        pl.when(rank(pl.col("spend")) > rank(pl.col("previous_spend")))
        .then(pl.lit("up"))
        .when(rank(pl.col("spend")) < rank(pl.col("previous_spend")))
        .then(pl.lit("down"))
        .otherwise(pl.lit("same"))
        .cast(pl.Enum(MOVES))
    )
    result = (
        span.observed.with_columns(_now=now, _before=before)
        .filter(pl.col("_now") | pl.col("_before"))
        .group_by("customer_id")
        .agg(
            spend=amount.filter(pl.col("_now")).sum(),
            previous_spend=amount.filter(pl.col("_before")).sum(),
        )
        .select(
            "customer_id",
            "spend",
            tier=tier(pl.col("spend")),
            previous_spend=pl.col("previous_spend"),
            previous_tier=tier(pl.col("previous_spend")),
            move=move,
        )
        .sort("customer_id")
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]
