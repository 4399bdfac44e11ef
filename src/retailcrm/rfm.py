r"""RFM: recency, frequency and monetary value per customer, their scores and named segments.

The pipeline is three plain functions, each a Polars frame in and out::

    summary = rfm.summary(tx)               # one row per customer: recency, frequency, monetary
    scored = rfm.scores(summary)            # r/f/m scores 1..bins, the cell "545", a total
    named = rfm.segments(scored)            # Champions ... Lost

RFM goes back to direct marketing (Hughes 1994, *Strategic Database Marketing*); the scoring by
quantiles follows the usual "quintile" practice, with one rule stated exactly: **equal values
always share a score** (see :func:`scores`).
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Mapping, Sequence
from typing import Literal

import polars as pl

from retailcrm._errors import ArgumentError, ColumnError, DataError, RetailCRMWarning
from retailcrm._orders import PURCHASE, orders
from retailcrm._schema import FrameT, require, same_kind
from retailcrm._time import AsOf, cutoff

__all__ = ["MEASURES", "SCHEMES", "scheme", "scores", "segments", "summary", "thresholds"]

#: The three measures, in the order of the cell string.
MEASURES: tuple[str, ...] = ("recency", "frequency", "monetary")
_SCORE_COLUMNS = {"recency": "r_score", "frequency": "f_score", "monetary": "m_score"}
_NEEDED = {"customer_id": "id", "timestamp": "date or datetime", "amount": "numeric"}
_SUMMARY = {
    "customer_id": "any",
    "recency": "numeric",
    "frequency": "numeric",
    "monetary": "numeric",
}
_SCORE_DTYPE = pl.UInt8
_TIES = ("min", "max", "average")


# ---------------------------------------------------------------------------------------------
# summary


def summary(tx: FrameT, /, *, as_of: AsOf = None) -> FrameT:
    r"""Recency, frequency and monetary value of every customer.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp`` and ``amount``; ``order_id``
        when present (otherwise an order is one customer-day).
    as_of
        Observation end, inclusive (a date, a datetime or an ISO string); rows after it are
        excluded, and customers whose first row is after it are not in the result. Default:
        the last timestamp in ``tx``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per customer with a row up to ``as_of`` (also a customer whose
        only order was a return), sorted by ``customer_id``:

        - ``first_purchase``, ``last_purchase`` (the dtype of ``timestamp``): first and last
          purchase occasion; null for a customer without one;
        - ``recency`` (Int32): whole days from ``last_purchase`` to ``as_of``, by local calendar
          date; null without a purchase occasion;
        - ``frequency`` (UInt32): purchase occasions, i.e. orders with a net value > 0 (a pure
          return is not one);
        - ``monetary`` (Float64): net total of all the customer's lines, returns included;
        - ``average_order_value`` (Float64): ``monetary / frequency``; null when frequency is 0.

    Notes
    -----
    With orders :math:`o` of customer :math:`c` and net order values :math:`v_o`:

    .. math::

        F_c = |\{o : v_o > 0\}|, \qquad M_c = \sum_o v_o, \qquad
        R_c = \text{as\_of} - \max\{t_o : v_o > 0\} \text{ (days)}

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import rfm
    >>> days = [date(2024, 1, 1), date(2024, 1, 20), date(2024, 1, 31), date(2024, 1, 2)]
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 2, 3], "amount": [10.0, 30.0, 5.0, -4.0],
    ...                    "timestamp": days})
    >>> rfm.summary(tx).select("customer_id", "recency", "frequency", "monetary").rows()
    [(1, 11, 2, 40.0), (2, 0, 1, 5.0), (3, None, 0, -4.0)]
    """
    require(tx, _NEEDED, caller="rfm.summary")
    cut = cutoff(as_of, tx.collect_schema()["timestamp"], caller="rfm.summary")
    ts = pl.col("timestamp")
    lines = tx.lazy() if cut.date is None else tx.lazy().filter(cut.keep)
    seen = {"_seen": pl.col("last_timestamp").max()} if cut.date is None else {}
    per_customer = (
        orders(lines)
        .group_by("customer_id")
        .agg(
            first_purchase=ts.filter(PURCHASE).min(),
            last_purchase=ts.filter(PURCHASE).max(),
            frequency=PURCHASE.sum().cast(pl.UInt32),
            monetary=pl.col("value").sum(),
            **seen,
        )
    )
    as_of_date = pl.lit(cut.date) if cut.date is not None else pl.col("_seen").max().dt.date()
    result = per_customer.select(
        "customer_id",
        "first_purchase",
        "last_purchase",
        recency=(as_of_date - pl.col("last_purchase").dt.date()).dt.total_days().cast(pl.Int32),
        frequency="frequency",
        monetary="monetary",
        average_order_value=pl.when(pl.col("frequency") > 0).then(
            pl.col("monetary") / pl.col("frequency")
        ),
    ).sort("customer_id")
    return same_kind(result, tx)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# scores


def _is_summary(schema: pl.Schema) -> bool:
    return all(name in schema for name in MEASURES)


def _check_breaks(breaks: Mapping[str, Sequence[float]], bins: int) -> dict[str, list[float]]:
    checked: dict[str, list[float]] = {}
    for measure, points in breaks.items():
        if measure not in MEASURES:
            msg = f"rfm.scores: breaks has key {measure!r}; use one of {list(MEASURES)}."
            raise ArgumentError(msg)
        values = [float(p) for p in points]
        ordered = all(a < b for a, b in itertools.pairwise(values))
        if (
            len(values) != bins - 1
            or not ordered
            or any(v != v or abs(v) == float("inf") for v in values)
        ):
            msg = (
                f"rfm.scores: breaks[{measure!r}] must hold bins - 1 = {bins - 1} finite, strictly "
                f"increasing numbers; got {list(points)}."
            )
            raise ArgumentError(msg)
        checked[measure] = values
    return checked


def _quantile_score(measure: str, bins: int, ties: str) -> pl.Expr:
    value = pl.col(measure).cast(pl.Float64)
    if measure == "monetary":
        # Multi-threaded sums can differ in the last bits; never let that split a tie.
        value = value.round_sig_figs(12)
    key = -value if measure == "recency" else value  # fewer days since purchase is better
    rank = key.rank(ties)  # 1-based; nulls stay null
    n = key.count()
    score = ((rank - 1) * bins / n).floor() + 1
    return score.clip(1, bins).fill_null(1).cast(_SCORE_DTYPE)


def _break_score(measure: str, bins: int, points: list[float]) -> pl.Expr:
    value = pl.col(measure).cast(pl.Float64)
    above = pl.sum_horizontal([(value > p).cast(pl.UInt8) for p in points])
    score = (bins - above) if measure == "recency" else (above + 1)
    return pl.when(value.is_null()).then(1).otherwise(score).cast(_SCORE_DTYPE)


def scores(
    tx_or_summary: FrameT,
    /,
    *,
    bins: int = 5,
    as_of: AsOf = None,
    ties: Literal["min", "max", "average"] = "min",
    breaks: Mapping[str, Sequence[float]] | None = None,
) -> FrameT:
    r"""Score recency, frequency and monetary value from 1 to ``bins``; higher is better.

    Parameters
    ----------
    tx_or_summary
        Canonical transactions (then :func:`summary` is computed first, with ``as_of``), or the
        output of :func:`summary` (or any frame with ``customer_id``, ``recency``, ``frequency``
        and ``monetary``).
    bins
        Number of scores per measure, 2 to 20 (5 gives the classic quintiles).
    as_of
        Passed to :func:`summary` for transactions; must be None for a summary.
    ties
        Which position of a block of equal values sets its score: ``"min"`` (the lowest, so 60%
        one-time buyers all score 1), ``"max"`` or ``"average"`` (the middle).
    breaks
        Fixed break points for some measures instead of quantiles, e.g.
        ``{"monetary": [50, 100, 250, 500]}`` (``bins - 1`` increasing numbers). Intervals are
        closed on the right: with those points, 100 scores 2 and 100.01 scores 3. For recency
        fewer days score higher: ``{"recency": [30, 90, 180, 365]}`` gives 0-30 days a 5.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given: the summary columns plus ``r_score``, ``f_score``, ``m_score``
        (UInt8, 1..bins), ``rfm_cell`` (String, e.g. ``"545"``; scores joined by ``"-"`` when
        bins >= 10) and ``rfm_score`` (UInt8, the sum of the three scores).

    Warns
    -----
    RetailCRMWarning
        For a DataFrame, when a quantile score of some measure is given to nobody (because many
        customers share a value). :func:`thresholds` shows the empty bins for any input.

    Notes
    -----
    The quantile rule, for a measure with non-null values :math:`x_1..x_n` (recency negated):
    each customer's rank :math:`\rho` (1-based, ties resolved by ``ties``) gives

    .. math:: s = \left\lfloor \frac{(\rho - 1)\,\text{bins}}{n} \right\rfloor + 1

    so distinct values fall into ``bins`` groups of equal size, and **equal values always share
    a score** -- unlike ``rank(method="first")`` recipes, which split ties arbitrarily, and
    ``pandas.qcut``, which fails when quantiles coincide. A measure with fewer distinct values
    than bins leaves some scores unused (with a warning) rather than inventing differences.
    Monetary values are compared at 12 significant digits, so last-bit noise from parallel sums
    never splits a tie. A customer without a purchase occasion (null recency) scores 1 on recency.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import rfm
    >>> s = pl.DataFrame({"customer_id": [1, 2, 3, 4], "recency": [3, 40, 200, 10],
    ...                   "frequency": [5, 2, 1, 9], "monetary": [300.0, 80.0, 20.0, 500.0]})
    >>> rfm.scores(s, bins=4).select("customer_id", "rfm_cell", "rfm_score").rows()
    [(1, '433', 10), (2, '222', 6), (3, '111', 3), (4, '344', 11)]
    """
    caller = "rfm.scores"
    if not isinstance(bins, int) or isinstance(bins, bool) or not 2 <= bins <= 20:
        msg = f"{caller}: bins must be an integer from 2 to 20; got {bins!r}."
        raise ArgumentError(msg)
    if ties not in _TIES:
        msg = f"{caller}: ties must be one of {list(_TIES)}; got {ties!r}."
        raise ArgumentError(msg)
    fixed = _check_breaks(breaks or {}, bins)
    require(tx_or_summary, {"customer_id": "any"}, caller=caller)
    if _is_summary(tx_or_summary.collect_schema()):
        if as_of is not None:
            msg = (
                f"{caller}: as_of applies to transactions, but a summary was given; pass as_of "
                "to rfm.summary() instead."
            )
            raise ArgumentError(msg)
        base = require(tx_or_summary, _SUMMARY, caller=caller)
    else:
        base = summary(tx_or_summary.lazy(), as_of=as_of)

    score_exprs = {
        _SCORE_COLUMNS[m]: (
            _break_score(m, bins, fixed[m]) if m in fixed else _quantile_score(m, bins, ties)
        )
        for m in MEASURES
    }
    sep = "-" if bins >= 10 else ""
    scored = same_kind(
        base.lazy()
        .with_columns(**score_exprs)
        .with_columns(
            rfm_cell=pl.concat_str(list(_SCORE_COLUMNS.values()), separator=sep),
            rfm_score=pl.sum_horizontal(list(_SCORE_COLUMNS.values())).cast(_SCORE_DTYPE),
        ),
        tx_or_summary,
    )
    if isinstance(scored, pl.DataFrame):
        _warn_empty_bins(scored, bins, skip=set(fixed))
    return scored  # type: ignore[no-any-return]


def _empty_bins(scored: pl.DataFrame, bins: int) -> dict[str, list[int]]:
    empty: dict[str, list[int]] = {}
    if scored.height == 0:
        return empty
    used_scores = scored.select(pl.col(c).unique().implode() for c in _SCORE_COLUMNS.values())
    for measure, column in _SCORE_COLUMNS.items():
        used = set(used_scores[column][0].to_list())
        missing = [s for s in range(1, bins + 1) if s not in used]
        if missing:
            empty[measure] = missing
    return empty


def _warn_empty_bins(scored: pl.DataFrame, bins: int, *, skip: set[str]) -> None:
    for measure, missing in _empty_bins(scored, bins).items():
        if measure in skip:  # fixed breaks: empty bins are the user's choice
            continue
        column = _SCORE_COLUMNS[measure]
        values = scored[measure].cast(pl.Float64).round_sig_figs(12).drop_nulls()
        top = values.mode().sort()
        share = (values == top[0]).mean() if top.len() else 0.0
        msg = (
            f"rfm.scores: {column} leaves score(s) {missing} empty: {values.n_unique()} "
            f"distinct {measure} value(s) among {scored.height} customers ({share:.0%} share the "
            f"most common value, {top[0] if top.len() else None}), and equal values always share a "
            f"score. Pass breaks={{{measure!r}: [...]}} for fixed thresholds, or fewer bins."
        )
        warnings.warn(msg, RetailCRMWarning, stacklevel=3)


def thresholds(scores: pl.DataFrame | pl.LazyFrame, /) -> pl.DataFrame:
    """The value range each score actually covers, per measure: the thresholds in effect.

    Parameters
    ----------
    scores
        Output of :func:`scores` (a LazyFrame is collected).

    Returns
    -------
    pl.DataFrame
        One row per measure and score 1..max score, sorted: ``measure`` (Enum recency /
        frequency / monetary), ``score`` (UInt8), ``customers`` (UInt32; 0 for an empty bin),
        ``min`` and ``max`` (Float64; the smallest and largest value with that score, null for
        an empty bin; customers without a purchase have null recency and are counted, not ranged).

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import rfm
    >>> s = pl.DataFrame({"customer_id": [1, 2, 3, 4], "recency": [3, 40, 200, 10],
    ...                   "frequency": [1, 1, 1, 2], "monetary": [300.0, 80.0, 20.0, 500.0]})
    >>> t = rfm.thresholds(rfm.scores(s, bins=2))
    >>> t.filter(pl.col("measure") == "frequency").rows()
    [('frequency', 1, 3, 1.0, 1.0), ('frequency', 2, 1, 2.0, 2.0)]
    """
    needed = {"customer_id": "any", **{c: "numeric" for c in _SCORE_COLUMNS.values()}}
    frame = require(scores, needed, caller="rfm.thresholds").lazy().collect()
    measure_type = pl.Enum(list(MEASURES))
    parts = [
        frame.group_by(score=pl.col(column))
        .agg(
            customers=pl.len().cast(pl.UInt32),
            min=pl.col(measure).cast(pl.Float64).min(),
            max=pl.col(measure).cast(pl.Float64).max(),
        )
        .with_columns(measure=pl.lit(measure, dtype=measure_type))
        for measure, column in _SCORE_COLUMNS.items()
        if measure in frame.columns
    ]
    top = max((int(frame[c].max() or 1) for c in _SCORE_COLUMNS.values()), default=1)
    grid = pl.DataFrame({"measure": pl.Series(MEASURES, dtype=measure_type)}).join(
        pl.DataFrame({"score": pl.Series(range(1, top + 1), dtype=_SCORE_DTYPE)}), how="cross"
    )
    found = pl.concat(parts).with_columns(pl.col("score").cast(_SCORE_DTYPE))
    return (
        grid.join(found, on=["measure", "score"], how="left")
        .with_columns(pl.col("customers").fill_null(0))
        .select("measure", "score", "customers", "min", "max")
        .sort("measure", "score")
    )


# ---------------------------------------------------------------------------------------------
# segments

#: The named segments of the built-in schemes, best to worst.
_NAMES_11 = (
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New Customers",
    "Promising",
    "Need Attention",
    "About To Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
)
_C, _L, _P, _N, _PR, _NA, _S, _AR, _CL, _H, _LO = _NAMES_11

# Grids with rows R = 5, 4, 3, 2, 1 and columns 1..5 of the second score.
_GRID_RFM11 = (  # second score: FM = floor((F + M) / 2)
    (_N, _P, _P, _C, _C),
    (_PR, _P, _P, _L, _C),
    (_S, _S, _NA, _L, _L),
    (_H, _H, _AR, _AR, _CL),
    (_LO, _LO, _AR, _CL, _CL),
)
_GRID_RF10 = (  # second score: F
    (_N, _P, _P, _C, _C),
    (_PR, _P, _P, _L, _L),
    (_S, _S, _NA, _L, _L),
    (_H, _H, _AR, _AR, _CL),
    (_H, _H, _AR, _AR, _CL),
)

#: Names of the built-in schemes accepted by :func:`segments` and :func:`scheme`.
SCHEMES: tuple[str, ...] = ("rfm11", "rf10")


def _grid_value(grid: tuple[tuple[str, ...], ...], r: int, second: int) -> str:
    return grid[5 - r][second - 1]


def scheme(name: Literal["rfm11", "rf10"] = "rfm11", /) -> pl.DataFrame:
    """The cell-to-segment table of a built-in scheme, for reading or as a starting point.

    ``"rfm11"`` maps all 125 R/F/M cells to 11 segments through an R x FM grid, with
    ``FM = floor((F + M) / 2)`` (rows R = 5..1, columns FM = 1..5)::

        R5  New Customers   Potential Loyalist  Potential Loyalist  Champions        Champions
        R4  Promising       Potential Loyalist  Potential Loyalist  Loyal            Champions
        R3  About To Sleep  About To Sleep      Need Attention      Loyal            Loyal
        R2  Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them
        R1  Lost            Lost                At Risk             Can't Lose Them  Can't Lose Them

    ``"rf10"`` is the widely used 10-segment recency x frequency grid (25 cells; no "Lost":
    R 1-2 with F 1-2 are "Hibernating")::

        R5  New Customers   Potential Loyalist  Potential Loyalist  Champions        Champions
        R4  Promising       Potential Loyalist  Potential Loyalist  Loyal            Loyal
        R3  About To Sleep  About To Sleep      Need Attention      Loyal            Loyal
        R2  Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them
        R1  Hibernating     Hibernating         At Risk             At Risk          Can't Lose Them

    The segment names follow the common 11-segment vocabulary of RFM practice; the exact cell
    assignment above is this library's and is the whole definition.

    Returns
    -------
    pl.DataFrame
        ``r_score``, ``f_score`` (and ``m_score`` for rfm11) as UInt8, and ``segment`` (Enum,
        best to worst), one row per cell, sorted by the scores.

    Examples
    --------
    >>> from retailcrm import rfm
    >>> rfm.scheme("rfm11").height, rfm.scheme("rf10").height
    (125, 25)
    >>> rfm.scheme("rfm11").filter(r_score=5, f_score=5, m_score=5)["segment"].item()
    'Champions'
    """
    return _builtin(name)


def _builtin(name: str) -> pl.DataFrame:
    if name == "rfm11":
        rows = [
            (r, f, m, _grid_value(_GRID_RFM11, r, (f + m) // 2))
            for r in range(1, 6)
            for f in range(1, 6)
            for m in range(1, 6)
        ]
        columns = ["r_score", "f_score", "m_score", "segment"]
        names = _NAMES_11
    elif name == "rf10":
        rows = [(r, f, _grid_value(_GRID_RF10, r, f)) for r in range(1, 6) for f in range(1, 6)]
        columns = ["r_score", "f_score", "segment"]
        names = _NAMES_11[:-1]
    else:
        msg = f"rfm.scheme: name must be one of {list(SCHEMES)}; got {name!r}."
        raise ArgumentError(msg)
    frame = pl.DataFrame(rows, schema=columns, orient="row")
    return frame.with_columns(
        pl.col(columns[:-1]).cast(_SCORE_DTYPE), segment=pl.col("segment").cast(pl.Enum(names))
    )


def _cells(frame: pl.DataFrame, keys: list[str], limit: int = 10) -> str:
    shown = [dict(zip(keys, row, strict=True)) for row in frame.select(keys).head(limit).rows()]
    more = f" and {frame.height - limit} more" if frame.height > limit else ""
    return f"{shown}{more}"


def _checked_table(table: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    caller = "rfm.segments"
    keys = [c for c in ("r_score", "f_score", "m_score") if c in table.columns]
    if "segment" not in table.columns or "r_score" not in keys or "f_score" not in keys:
        msg = (
            f"{caller}: a scheme table needs columns r_score, f_score, optionally m_score, and "
            f"segment; it has {table.columns}."
        )
        raise ColumnError(msg)
    if table.select(pl.col(keys).is_null().any(), pl.col("segment").is_null().any()).row(0) != (
        False,
    ) * (len(keys) + 1):
        msg = f"{caller}: the scheme table has nulls; every cell needs scores and a segment name."
        raise DataError(msg)
    try:
        cells = table.with_columns(pl.col(keys).cast(_SCORE_DTYPE, strict=True))
    except pl.exceptions.PolarsError:
        msg = f"{caller}: the scheme table's {keys} must be whole numbers from 1 to 20."
        raise ColumnError(msg) from None
    top = int(cells.select(pl.max_horizontal(pl.col(keys).max())).item())
    if cells.select(pl.min_horizontal(pl.col(keys).min())).item() < 1:
        msg = f"{caller}: scores in a scheme table start at 1."
        raise DataError(msg)
    dupes = (
        cells.group_by(keys)
        .agg(pl.col("segment").unique().sort())
        .filter(pl.col("segment").list.len() > 1)
    )
    repeated = cells.filter(pl.struct(keys).is_duplicated())
    if dupes.height or repeated.height:
        shown = dupes if dupes.height else repeated.unique(keys)
        msg = (
            f"{caller}: the scheme table lists {shown.height} cell(s) more than once: "
            f"{_cells(shown.sort(keys), keys)}. Each cell must map to exactly one segment."
        )
        raise DataError(msg)
    full = pl.DataFrame({keys[0]: pl.Series(range(1, top + 1), dtype=_SCORE_DTYPE)})
    for key in keys[1:]:
        full = full.join(
            pl.DataFrame({key: pl.Series(range(1, top + 1), dtype=_SCORE_DTYPE)}), how="cross"
        )
    uncovered = full.join(cells, on=keys, how="anti")
    if uncovered.height:
        msg = (
            f"{caller}: the scheme table leaves {uncovered.height} of {full.height} cells "
            f"(scores 1..{top}) without a segment: {_cells(uncovered.sort(keys), keys)}."
        )
        raise DataError(msg)
    if not isinstance(cells.schema["segment"], pl.Enum):
        names = cells["segment"].cast(pl.String).unique(maintain_order=True).to_list()
        cells = cells.with_columns(pl.col("segment").cast(pl.String).cast(pl.Enum(names)))
    return cells.select(*keys, "segment"), keys


def segments(
    scores: FrameT,
    /,
    *,
    scheme: Literal["rfm11", "rf10"] | pl.DataFrame = "rfm11",
) -> FrameT:
    """Name every customer's RFM cell with a segment.

    Parameters
    ----------
    scores
        Output of :func:`scores` (``r_score``, ``f_score``, ``m_score``).
    scheme
        ``"rfm11"`` (11 segments over all 125 cells of 5 bins), ``"rf10"`` (10 segments over
        the 25 recency x frequency cells) -- see :func:`scheme` for both tables -- or your own
        table with ``r_score``, ``f_score``, optionally ``m_score``, and ``segment``, covering
        every cell from 1 to its highest score exactly once (checked: overlapping or uncovered
        cells are named in the error). A String segment column becomes an Enum in the order of
        first appearance.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given: ``scores`` plus ``segment`` (Enum), rows in the same order.

    Raises
    ------
    DataError
        For a DataFrame whose scores fall outside the scheme's cells (e.g. scores from
        ``bins=4`` with a 5-bin scheme). A LazyFrame cannot be checked without running it:
        such a customer then gets a null segment.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm import rfm
    >>> s = pl.DataFrame({"customer_id": [1, 2], "r_score": [5, 1], "f_score": [5, 1],
    ...                   "m_score": [4, 1]})
    >>> rfm.segments(s)["segment"].to_list()
    ['Champions', 'Lost']
    """
    caller = "rfm.segments"
    if isinstance(scheme, pl.DataFrame):
        table, keys = _checked_table(scheme)
    elif scheme in SCHEMES:
        table = _builtin(scheme)
        keys = [c for c in table.columns if c != "segment"]
    else:
        msg = (
            f"{caller}: scheme must be one of {list(SCHEMES)} or a table (pl.DataFrame); "
            f"got {scheme!r}."
        )
        raise ArgumentError(msg)
    require(scores, {"customer_id": "any", **dict.fromkeys(keys, "numeric")}, caller=caller)
    if "segment" in scores.collect_schema():
        scores = scores.drop("segment")
    joined = scores.with_columns(pl.col(keys).cast(_SCORE_DTYPE, strict=False)).join(
        table.lazy() if isinstance(scores, pl.LazyFrame) else table,
        on=keys,
        how="left",
        maintain_order="left",
    )
    given = scores.collect_schema()
    joined = joined.with_columns([pl.col(k).cast(given[k]) for k in keys])  # the caller's dtypes
    if isinstance(joined, pl.DataFrame):
        lost = joined.filter(pl.col("segment").is_null())
        if lost.height:
            top = table.select(pl.max_horizontal(pl.col(keys).max())).item()
            msg = (
                f"{caller}: {lost.height} customer(s) have score cells the scheme does not "
                f"cover (scores 1..{top}), e.g. {_cells(lost.unique(keys), keys, 3)}. Score with "
                f"rfm.scores(..., bins={top}) or pass a scheme table for your bins."
            )
            raise DataError(msg)
    return joined
