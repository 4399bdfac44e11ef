r"""Brand / item / category switching: transitions, buyer status, duplication, gains and losses.

The rules shared by these functions (level column, null labels, what a purchase is, periods)
are in ``retailcrm.segments._levels`` and restated in each docstring.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import polars as pl

from retailcrm import _time
from retailcrm._errors import ArgumentError
from retailcrm._schema import FrameT
from retailcrm._time import AsOf, parse_period
from retailcrm.segments._common import _same_kind
from retailcrm.segments._levels import (
    PeriodSpec,
    checked_frame,
    day_before,
    focus_filter,
    in_period,
    two_periods,
    warn_user,
)

__all__ = [
    "COMPONENTS",
    "STATUSES",
    "brand_status",
    "duplication",
    "gain_loss",
    "switching_matrix",
]

#: The statuses of :func:`brand_status`, in order of precedence.
STATUSES: tuple[str, ...] = ("lapsed", "new", "returning", "switcher", "sole", "repeat")

#: The parts of :func:`gain_loss`, gains first.
COMPONENTS: tuple[str, ...] = (
    "new",
    "increased",
    "switched_to",
    "switched_from",
    "decreased",
    "lost",
)

_BOUGHT = pl.col("amount") > 0
_PARTS = 8  # duplication: slices of customers whose pairs are counted one at a time


def _spend(expr: pl.Expr) -> pl.Expr:
    """Spends rounded to 1e-6 before they are compared, so sums in any order compare alike."""
    return expr.round(6)


# ---------------------------------------------------------------------------------------------
# switching matrix


def switching_matrix(
    tx: FrameT,
    /,
    *,
    level: str = "brand",
    within: str | None = None,
    by: Literal["occasion", "period"] = "occasion",
    period: str = "1mo",
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""First-order switching (transition) matrix between the values of ``level``.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the ``level``
        (and ``within``) column; ``order_id`` when present.
    level
        The column whose values customers switch between: ``"item"``, ``"brand"``,
        ``"category"`` or any other label column.
    within
        Optional parent column (e.g. ``"category"`` for brands within a category): each
        customer's sequence is then followed separately in each parent value, and only
        switches between values of one parent are counted.
    by
        ``"occasion"``: consecutive purchase occasions (an ``order_id``; without one, a
        customer-day). ``"period"``: consecutive calendar periods with a purchase, all the
        purchases of one period pooled into one occasion.
    period
        The calendar period of ``by="period"``: ``"1mo"``, ``"1q"``, ``"2w"``, ...
    as_of, lookback
        The window ``(as_of - lookback, as_of]`` in local calendar dates (default: every row up
        to the last timestamp).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per observed (from, to) pair, sorted by ``within``, ``from``,
        ``to``:

        - ``within`` column (when given), then ``from``, ``to`` (the dtype of ``level``);
          ``from == to`` is a repeat purchase of the same value;
        - ``customers`` (UInt32): customers with at least one such transition;
        - ``transitions`` (Float64): the fractional number of consecutive occasion pairs from
          ``from`` to ``to`` (each pair of consecutive occasions adds up to 1 over all cells);
        - ``probability`` (Float64): ``transitions`` over all transitions out of ``from``; the
          probabilities of each ``from`` (within a parent) sum to 1.

    Notes
    -----
    **Occasions.** A purchase is a line with ``amount > 0`` and a non-null ``level`` (and
    ``within``) value; lines with a null label are left out (a DataFrame warns with their
    count). An occasion is an order (or period) with at least one purchase; occasions are
    ordered by their first purchase's timestamp, then by ``order_id``. Returns do not change
    an occasion's mix: an exchange (return brand X, take brand Y) is a purchase of Y.

    **Mixed baskets, weighted by spend.** Occasion :math:`k` of a customer buys value
    :math:`i` with spend share :math:`s_k(i) = \text{spend}_k(i) / \sum_j \text{spend}_k(j)`.
    Each pair of consecutive occasions :math:`(k, k+1)` adds

    .. math:: w_{ij} = s_k(i)\, s_{k+1}(j)

    to cell :math:`(i, j)`: the transition of a customer who spends independently in the two
    baskets, so a pair contributes 1 in total and a single-value pair contributes 1 to one
    cell. The matrix is :math:`P_{ij} = \sum w_{ij} / \sum_{j'} \sum w_{ij'}`. Spend rather
    than lines: a line count makes a brand sold as many small SKUs look bigger than the same
    spend on one SKU, while spend is what the brand earns and what switching costs it. This is
    the brand-switching matrix of Markov brand-choice models (Kalwani & Morrison 1977, "A
    parsimonious description of the Hendry system", *Management Science* 23(5); Kumar &
    Reinartz, *Customer Relationship Management*, 2nd ed., Springer 2012, the transition
    matrix among customer-based value metrics).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 1], "order_id": [1, 1, 2, 3],
    ...     "timestamp": [date(2024, 1, 1)] * 2 + [date(2024, 2, 1), date(2024, 3, 1)],
    ...     "brand": ["A", "B", "A", "B"], "amount": [30.0, 10.0, 5.0, 5.0]})
    >>> segments.switching_matrix(tx).rows()
    [('A', 'A', 1, 0.75, 0.4285...), ('A', 'B', 1, 1.0, 0.5714...), ('B', 'A', 1, 0.25, 1.0)]
    """
    caller = "segments.switching_matrix"
    if by not in ("occasion", "period"):
        msg = f"{caller}: by must be one of ['occasion', 'period']; got {by!r}."
        raise ArgumentError(msg)
    step = parse_period(period, caller=caller)
    lv = checked_frame(tx, level, within, caller=caller)
    schema = tx.collect_schema()
    ts = pl.col("timestamp")
    order: list[str] = ["_occ"]
    if by == "period":
        occasion = step.start(ts.dt.date())
    elif "order_id" in schema:
        occasion = pl.col("order_id")
        order = ["_t", "_occ"]
    else:
        occasion = ts.dt.date()
    unit = ["customer_id", *lv.parents]
    spend = pl.col("_spend")
    # the mix of each occasion: one row per (unit, occasion, value), its share of the spend
    mix = (
        _time.window(tx, as_of, lookback, caller=caller)
        .lines.filter(_BOUGHT & lv.labelled)
        .group_by(*unit, _occ=occasion, _label=pl.col(level))
        .agg(_spend=pl.col("amount").cast(pl.Float64).sum(), _t=ts.min())
        .with_columns(_share=spend / spend.sum().over(*unit, "_occ"))
    )
    # each occasion and the next one of its unit (one sort of the occasions, no lists)
    same = pl.all_horizontal(pl.col(c).shift(-1) == pl.col(c) for c in unit)
    following = (
        mix.group_by(*unit, "_occ")
        .agg(pl.col("_t").min())
        .sort(*unit, *order)
        .with_columns(_next=pl.col("_occ").shift(-1), _same=same)
        .filter(pl.col("_same"))
        .select(*unit, "_occ", "_next")
    )
    shares = mix.select(*unit, "_occ", "_label", "_share")
    later = shares.rename({"_occ": "_next", "_label": "_to", "_share": "_share_to"})
    result = (
        shares.join(following, on=[*unit, "_occ"])
        .join(later, on=[*unit, "_next"])
        .group_by(*lv.parents, "_label", "_to", "customer_id")
        .agg(_w=(pl.col("_share") * pl.col("_share_to")).sum())
        .group_by(*lv.parents, pl.col("_label").alias("from"), pl.col("_to").alias("to"))
        .agg(customers=pl.len().cast(pl.UInt32), transitions=pl.col("_w").sum())
        .with_columns(
            probability=pl.col("transitions")
            / pl.col("transitions").sum().over([*lv.parents, "from"])
        )
        .sort(*lv.parents, "from", "to")
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# brand status


def _sole_share(value: object, caller: str) -> float:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or math.isnan(value) or not 0.5 < value <= 1:  # type: ignore[operator, arg-type]
        msg = (
            f"{caller}: sole_share must be a number in (0.5, 1] (the main value's smallest "
            f"share of spend for a sole buyer, e.g. 1.0 or 0.9); got {value!r}."
        )
        raise ArgumentError(msg)
    return float(value)  # type: ignore[arg-type]


def _main(spend: str, level: str) -> pl.Expr:
    """The value with the largest spend (> 0) of a group; ties go to the value sorting first."""
    best = pl.col(level).sort_by([_spend(pl.col(spend)), pl.col(level)], descending=[True, False])
    return pl.when(pl.col(spend).max() > 0).then(best.first())


def brand_status(
    tx: FrameT,
    /,
    *,
    period_a: PeriodSpec,
    period_b: PeriodSpec,
    level: str = "brand",
    within: str | None = None,
    lookback: str | None = "12mo",
    sole_share: float = 1.0,
) -> FrameT:
    r"""Each customer's buyer status between two periods: new, lapsed, switcher, sole, repeat.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the
        ``level`` (and ``within``) column.
    period_a, period_b
        The earlier and the later period: ``(start, end)`` pairs of dates or ISO strings, both
        days included, in local calendar dates. They must not overlap and ``period_a`` must
        come first.
    level
        ``"brand"``, ``"item"``, ``"category"`` or any other label column.
    within
        Optional parent column: statuses are then per customer and parent value (e.g. a
        customer's status among the brands of each category they buy).
    lookback
        The look-back window of "new": ``(start_b - 1 day - lookback, start_b - 1 day]``, as
        everywhere in the library (``"12mo"`` before 2025-01-01 is all of 2024). ``None``:
        every row before ``period_b``.
    sole_share
        A buyer of one main value whose share of their ``period_b`` spend is at least this is a
        sole buyer; in (0.5, 1]. Default 1.0: bought nothing else (Ehrenberg's "sole buyer").

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer (and parent value) with a purchase at the level
        in ``period_a`` or ``period_b``, sorted by ``customer_id`` (and ``within``):

        - ``status`` (Enum of :data:`STATUSES`);
        - ``from``, ``to`` (the dtype of ``level``): the main value in ``period_a`` and in
          ``period_b`` (null without purchases there);
        - ``spend_a``, ``spend_b`` (Float64): spend at the level in each period (0 without);
        - ``from_share``, ``to_share`` (Float64): the main value's share of that spend.

    Notes
    -----
    A purchase is a line with ``amount > 0`` and a non-null label (lines with a null label are
    left out; a DataFrame warns); spend sums those lines. The main value of a period is the one
    with the largest spend there (ties: the value that sorts first). Every customer gets
    exactly one status, the first that applies in this order:

    1. ``lapsed``: bought in ``period_a``, nothing in ``period_b``;
    2. ``new``: bought in ``period_b``, nothing in the look-back window before it (new to the
       level: for brands within a category, new to the category's brands). Precedes the rest,
       so a customer whose ``period_a`` purchases are all older than the look-back is new;
    3. ``returning``: bought in ``period_b`` and in the look-back window, not in ``period_a``
       (empty when ``period_a`` covers the look-back window);
    4. ``switcher``: bought in both, and the main value changed (``from`` != ``to``);
    5. ``sole``: same main value, with a ``period_b`` share of at least ``sole_share``;
    6. ``repeat``: same main value, a smaller share (a loyal but polygamous buyer).

    Buyer classes after Ehrenberg, *Repeat-Buying* (2nd ed., Griffin 1988) and the brand
    buyer dynamics of panel reports (new, lapsed, repeat, switching buyers).

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 4],
    ...     "timestamp": [date(2024, 3, 1), date(2025, 3, 1), date(2024, 3, 1),
    ...                   date(2025, 3, 1), date(2025, 2, 1), date(2024, 5, 1)],
    ...     "brand": ["A", "B", "A", "A", "A", "B"], "amount": [5.0, 5.0, 5.0, 6.0, 2.0, 3.0]})
    >>> out = segments.brand_status(tx, period_a=("2024-01-01", "2024-12-31"),
    ...                             period_b=("2025-01-01", "2025-12-31"))
    >>> out.select("customer_id", "status", "from", "to").rows()
    [(1, 'switcher', 'A', 'B'), (2, 'sole', 'A', 'A'), (3, 'new', None, 'A'),
     (4, 'lapsed', 'B', None)]
    """
    caller = "segments.brand_status"
    a, b = two_periods(period_a, period_b, caller)
    threshold = _sole_share(sole_share, caller)
    lv = checked_frame(tx, level, within, caller=caller)
    before = _time.window(tx, day_before(b[0]), lookback, caller=caller)
    in_a, in_b = in_period(a), in_period(b)
    seen = before.since() & (pl.col("timestamp").dt.date() < pl.lit(b[0], pl.Date))
    unit = ["customer_id", *lv.parents]
    amount = pl.col("amount").cast(pl.Float64)
    spend_a, spend_b = pl.col("spend_a"), pl.col("spend_b")
    same = pl.col("from") == pl.col("to")
    status = (
        pl.when(spend_b == 0)
        .then(pl.lit("lapsed"))
        .when(~pl.col("_seen"))
        .then(pl.lit("new"))
        .when(spend_a == 0)
        .then(pl.lit("returning"))
        .when(~same)
        .then(pl.lit("switcher"))
        .when(pl.col("to_share") >= threshold)
        .then(pl.lit("sole"))
        .otherwise(pl.lit("repeat"))
        .cast(pl.Enum(STATUSES))
    )
    result = (
        tx.lazy()
        .filter(_BOUGHT & lv.labelled & (in_a | in_b | seen))
        .group_by(*unit, level)
        .agg(_a=amount.filter(in_a).sum(), _b=amount.filter(in_b).sum(), _seen=seen.any())
        .group_by(unit)
        .agg(
            pl.col("_seen").any(),
            _main("_a", level).alias("from"),
            _main("_b", level).alias("to"),
            spend_a=pl.col("_a").sum(),
            spend_b=pl.col("_b").sum(),
            _max_a=pl.col("_a").max(),
            _max_b=pl.col("_b").max(),
        )
        .filter((spend_a > 0) | (spend_b > 0))
        .with_columns(
            from_share=pl.when(spend_a > 0).then(pl.col("_max_a") / spend_a),
            to_share=pl.when(spend_b > 0).then(pl.col("_max_b") / spend_b),
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
    return _same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# duplication of purchase


def duplication(
    tx: FrameT,
    /,
    *,
    level: str = "brand",
    within: str | None = None,
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""Duplication of purchase: the share of A's buyers who also bought B, and the law's value.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the
        ``level`` (and ``within``) column.
    level
        ``"brand"``, ``"item"``, ``"category"`` or any other label column.
    within
        Optional parent column: pairs, penetrations and the coefficient are then taken within
        each parent value (the law is a within-category law), penetration among the parent's
        buyers.
    as_of, lookback
        The window ``(as_of - lookback, as_of]`` in local calendar dates (default: every row up
        to the last timestamp).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per ordered pair ``a != b`` with at least one customer who
        bought both, sorted by ``within``, ``a``, ``b``:

        - ``within`` column (when given), ``a``, ``b`` (the dtype of ``level``);
        - ``buyers_a``, ``buyers_b``, ``buyers_both`` (UInt32);
        - ``duplication`` (Float64): ``buyers_both / buyers_a``, the share of a's buyers who
          also bought b;
        - ``penetration_b`` (Float64): ``buyers_b`` over the customers who bought any value
          (of the parent) in the window;
        - ``duplication_coefficient`` (Float64): :math:`D` of the parent (or of all values);
        - ``expected_duplication`` (Float64): :math:`D \times` ``penetration_b``. A pair well
          above it is a partition (the two values share more buyers than their sizes say).

    Notes
    -----
    A buyer of a value bought a line of it with ``amount > 0`` in the window; lines with a null
    label are left out (a DataFrame warns). The duplication of purchase law (Ehrenberg,
    *Repeat-Buying*, 2nd ed., Griffin 1988; Ehrenberg, Uncles & Goodhardt 2004, "Understanding
    brand performance measures: using Dirichlet benchmarks", *J. Business Research* 57(12))
    says :math:`b_{a,b} \approx D\, p_b`: the share of a's buyers who also buy b is
    proportional to b's penetration. With :math:`K` values bought in the window we estimate
    :math:`D` as Ehrenberg does, the average duplication over all :math:`K(K-1)` ordered pairs
    (pairs without a shared buyer count as 0) over the average penetration:

    .. math:: \hat D = \frac{\frac{1}{K(K-1)}\sum_{a \ne b} b_{a,b}}{\frac{1}{K}\sum_b p_b}

    (the average over ordered pairs of :math:`p_b` is the average penetration). A ratio of
    averages, not an average of ratios, so small values' noisy ratios do not dominate.
    :math:`D` is null with fewer than two values. Pairs without a shared buyer are not listed
    (their duplication is 0): at item level the full matrix would be mostly zeros.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 2, 3, 4],
    ...     "timestamp": [date(2024, 1, 1)] * 6, "brand": ["A", "B", "A", "B", "A", "C"],
    ...     "amount": [1.0] * 6})
    >>> out = segments.duplication(tx)
    >>> out.select("a", "b", "buyers_both", "duplication", "expected_duplication").rows()
    [('A', 'B', 2, 0.666..., 0.2777...), ('B', 'A', 2, 1.0, 0.4166...)]
    """
    caller = "segments.duplication"
    lv = checked_frame(tx, level, within, caller=caller)
    parents = lv.parents
    unit = ["customer_id", *parents]
    a, b = pl.col("_a"), pl.col("_b")
    diagonal = a == b
    # one pass: each customer's set of values, exploded into all ordered pairs, the diagonal
    # included (its count is the value's buyers); "_first" marks one diagonal pair per
    # customer, so the customers of a parent are counted in the same aggregation
    baskets = (
        _time.window(tx, as_of, lookback, caller=caller)
        .lines.filter(_BOUGHT & lv.labelled)
        .group_by(unit)
        .agg(pl.col(level).unique().alias("_a"))
        .select(*parents, a, _b=a, _first=a.list.first(), _part=pl.col("customer_id").hash())
    )
    # the pairs of a customer are sum(k^2) rows: count them in _PARTS slices of the customers
    # (by hash) so that only one slice's pairs are in memory at a time; counts add up exactly
    cells = (
        pl.concat(
            [
                baskets.filter(pl.col("_part") % _PARTS == j)
                .explode("_a")
                .explode("_b")
                .group_by(*parents, "_a", "_b")
                .agg(_n=pl.len(), _firsts=(diagonal & (a == pl.col("_first"))).sum())
                for j in range(_PARTS)
            ]
        )
        .group_by(*parents, "_a", "_b")
        .agg(pl.col("_n", "_firsts").sum())
    )
    # the rest works on the small frame of cells, with window functions (no second pass)
    n = pl.col("_n")

    def per(expr: pl.Expr, over: list[str]) -> pl.Expr:
        return expr.over(over) if over else expr

    buyers_a = per(pl.when(diagonal).then(n).max(), [*parents, "_a"])
    buyers_b = per(pl.when(diagonal).then(n).max(), [*parents, "_b"])
    customers = per(pl.when(diagonal).then(pl.col("_firsts")).sum(), parents)
    k = per(diagonal.sum(), parents)
    penetrations = per(pl.when(diagonal).then(n).sum(), parents) / customers
    duplications = per(pl.when(~diagonal).then(n / buyers_a).sum(), parents)
    coefficient = pl.when(k > 1).then(duplications / ((k - 1) * penetrations))
    penetration = buyers_b / customers
    result = (
        cells.with_columns(
            buyers_a=buyers_a.cast(pl.UInt32),
            buyers_b=buyers_b.cast(pl.UInt32),
            duplication=n / buyers_a,
            penetration_b=penetration,
            duplication_coefficient=coefficient,
        )
        .filter(~diagonal)
        .select(
            *parents,
            a.alias("a"),
            b.alias("b"),
            "buyers_a",
            "buyers_b",
            buyers_both=n.cast(pl.UInt32),
            duplication="duplication",
            penetration_b="penetration_b",
            duplication_coefficient="duplication_coefficient",
            expected_duplication=pl.col("duplication_coefficient") * pl.col("penetration_b"),
        )
        .sort(*parents, "a", "b")
    )
    return _same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# gains and losses


def gain_loss(
    tx: FrameT,
    /,
    *,
    focus: Any,
    period_a: PeriodSpec,
    period_b: PeriodSpec,
    level: str = "brand",
    within: str | None = None,
) -> FrameT:
    r"""Split the change in the focus's spend between two periods into gains and losses.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the
        ``level`` (and ``within``) column.
    focus
        A value of ``level`` (e.g. a brand), or a list of values analysed as one (a
        portfolio).
    period_a, period_b
        The earlier and the later period: ``(start, end)`` pairs of dates or ISO strings, both
        days included, in local calendar dates; they must not overlap, ``period_a`` first.
    level
        ``"brand"``, ``"item"``, ``"category"`` or any other label column.
    within
        Optional parent column: the competitive set is then the parent values (e.g.
        categories) in which the focus has a line in either period, and each customer is
        analysed per parent value. Without it the set is every line.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, six rows in the order of :data:`COMPONENTS`:

        - ``component`` (Enum): ``new``, ``increased``, ``switched_to``, ``switched_from``,
          ``decreased``, ``lost``;
        - ``customers`` (UInt32): customers whose part in the component is not 0 (at 1e-6);
        - ``spend_change`` (Float64): their part of the change. The six sum to the focus's
          spend in ``period_b`` minus its spend in ``period_a`` (up to float rounding).

    Warns
    -----
    RetailCRMWarning
        When the focus can match nothing (a value absent from an Enum column, any input) or,
        for a DataFrame, has no line in either period: every part is then 0.

    Notes
    -----
    Spend is the net ``amount`` (returns included) of the lines in a period, rounded to 1e-6
    (so a sum that nets to 0 is 0 whatever order the lines are added in). For a customer
    (per parent value with ``within``) let :math:`f_a, f_b` be the focus spend and
    :math:`t_a, t_b` the spend in the competitive set (lines with a null level value count
    in the set, not in the focus; with ``within``, lines with a null parent are left out). The
    customer's change :math:`f_b - f_a` goes, whole, to

    - ``new`` when :math:`t_a \le 0 < t_b` (a buyer of the set in ``period_b`` only);
    - ``lost`` when :math:`t_a > 0 \ge t_b` (stopped buying the set);
    - when :math:`t_a > 0` and :math:`t_b > 0` it is split exactly into the change of the set
      spend at the old share, :math:`e = s_a (t_b - t_a)` with :math:`s_a = f_a / t_a`
      (``increased`` if positive, ``decreased`` if negative), and the change of share,
      :math:`(f_b - f_a) - e = (s_b - s_a)\, t_b` (``switched_to`` the focus from the rest of
      the set if positive, ``switched_from`` it if negative);
    - when :math:`t_a \le 0` and :math:`t_b \le 0` (returns only) to ``increased`` or
      ``decreased`` by its sign.

    Each customer's parts sum to their change, so the components sum to the total change.
    Without returns the gains (``new``, ``increased``, ``switched_to``) are >= 0 and the losses
    <= 0; a return can give a part the other sign (a new buyer of the set who returns focus
    bought before ``period_a``). This
    is the customer-level gain-loss (source of volume) decomposition of panel analysis into
    new / lost buyers, expenditure change and share (switching) change; Kumar & Reinartz,
    *Customer Relationship Management* (2nd ed., Springer 2012), share of category
    requirement and its change.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> import retailcrm.segments as segments
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2],
    ...     "timestamp": [date(2024, 1, 5), date(2024, 1, 6), date(2024, 7, 1), date(2024, 7, 1)],
    ...     "brand": ["A", "B", "A", "A"], "amount": [10.0, 10.0, 30.0, 5.0]})
    >>> out = segments.gain_loss(tx, focus="A", period_a=("2024-01-01", "2024-06-30"),
    ...                          period_b=("2024-07-01", "2024-12-31"))
    >>> out.rows()
    [('new', 1, 5.0), ('increased', 1, 5.0), ('switched_to', 1, 15.0),
     ('switched_from', 0, 0.0), ('decreased', 0, 0.0), ('lost', 0, 0.0)]
    """
    caller = "segments.gain_loss"
    a, b = two_periods(period_a, period_b, caller)
    lv = checked_frame(tx, level, within, caller=caller, focus=True)
    hit, missing = focus_filter(focus, tx.collect_schema(), level, caller)
    in_a, in_b = in_period(a), in_period(b)
    parents = lv.parents
    known = [pl.col(p).is_not_null() for p in parents]
    rows = tx.lazy().filter(pl.all_horizontal(in_a | in_b, *known))
    if parents:
        rows = rows.join(rows.filter(hit).select(parents).unique(), on=parents, how="semi")
    amount = pl.col("amount").cast(pl.Float64)
    fa, fb, ta, tb = (pl.col(c) for c in ("_fa", "_fb", "_ta", "_tb"))
    change = fb - fa
    going = (ta > 0) & (tb > 0)
    neither = (ta <= 0) & (tb <= 0)
    expense = pl.when(going).then(fa * (tb - ta) / ta).when(neither).then(change).otherwise(0.0)
    share = pl.when(going).then(change - expense).otherwise(0.0)
    parts = {
        "new": pl.when((ta <= 0) & (tb > 0)).then(change).otherwise(0.0),
        "increased": pl.when(expense > 0).then(expense).otherwise(0.0),
        "switched_to": pl.when(share > 0).then(share).otherwise(0.0),
        "switched_from": pl.when(share < 0).then(share).otherwise(0.0),
        "decreased": pl.when(expense < 0).then(expense).otherwise(0.0),
        "lost": pl.when((ta > 0) & (tb <= 0)).then(change).otherwise(0.0),
    }
    customer = pl.col("customer_id")
    result = (
        rows.group_by("customer_id", *parents)
        .agg(
            _fa=_spend(amount.filter(hit & in_a).sum()),
            _fb=_spend(amount.filter(hit & in_b).sum()),
            _ta=_spend(amount.filter(in_a).sum()),
            _tb=_spend(amount.filter(in_b).sum()),
        )
        .select(
            component=pl.lit(pl.Series(COMPONENTS, dtype=pl.Enum(COMPONENTS))),
            customers=pl.concat_list(
                [customer.filter(_spend(p) != 0).n_unique() for p in parts.values()]
            )
            .explode()
            .cast(pl.UInt32),
            spend_change=pl.concat_list([p.sum() for p in parts.values()]).explode(),
        )
    )
    if missing:
        warn_user(
            f"{caller}: focus value(s) {missing} are not categories of {level}; they match nothing."
        )
    if isinstance(tx, pl.LazyFrame):
        return result  # type: ignore[return-value]
    if not missing and not tx.select((hit & (in_a | in_b)).any()).item():
        warn_user(
            f"{caller}: focus {focus!r} has no line in period_a or period_b; every part is 0. "
            "Check the value's spelling, its column (level) and the periods."
        )
    return result.collect()  # type: ignore[return-value]
