r"""The assortment seen through customers: items by segment, and the SKU dashboard.

- :func:`by_segment` -- per segment and item (or brand, category): buyers, penetration, share
  of the segment's spend, an index against all customers and a rank, so that "what Champions
  buy that others don't" is ``filter(segment == "Champions").sort("index")`` and "items whose
  buyers are mostly at risk" is ``filter(segment == "At Risk", share_of_buyers > 0.5)``;
- :func:`performance` -- per item and calendar period: sales, units, buyers, new buyers and
  repeat rate, with period-on-period growth.

Rules shared with the switching functions of :mod:`retailcrm.segments`: the **level** is the
column analysed (``"item"``, ``"brand"``, ``"category"`` or any label column); a line with a null
level value belongs to no item and is left out (a DataFrame warns with the count); a
**purchase** of an item is a line with ``amount > 0``; spend and sales are net amounts (a return
line subtracts, in the period it is dated in). Segments come from any frame with one row per
``customer_id`` and a segment column: :func:`retailcrm.rfm.segments`, a profile column
(:func:`retailcrm.profiles.customers`), tiers, or the retailer's own attributes.
"""

from __future__ import annotations

import polars as pl

from retailcrm import _time
from retailcrm._errors import ArgumentError, DataError
from retailcrm._schema import FrameT, same_kind
from retailcrm._time import AsOf, cutoff, parse_period
from retailcrm.segments import _levels
from retailcrm.segments._common import _keyed

__all__ = ["by_segment", "performance"]

_DAY = pl.duration(days=1)
# money sums are rounded to 1e-9: a purchase and its full return then net to exactly 0, whatever
# the order of the floating-point additions (a growth or share never divides by 1e-15)
_DIGITS = 9


def _rank_desc(value: pl.Expr, over: str) -> pl.Expr:
    """1 for the largest ``value`` within ``over``; equal values (12 digits) share the rank."""
    return (-value.round_sig_figs(12)).rank("min").over(over).cast(pl.UInt32)


def _check_known(members: pl.LazyFrame, observed: pl.LazyFrame, caller: str, by: str) -> None:
    """Raise when the segment frame names customers without a row of ``tx`` up to ``as_of``."""
    unknown = members.join(
        observed.select("customer_id").unique(), on="customer_id", how="anti", nulls_equal=True
    )
    n, example = unknown.select(pl.len(), pl.struct("customer_id", by).first()).collect().row(0)
    if n:
        msg = (
            f"{caller}: {n} customer(s) of segments have no row in tx up to as_of, e.g. "
            f"{example}. Check that both frames use the same customer ids; to keep only known "
            f"customers, pass segments.join(tx.select('customer_id').unique(), "
            f"on='customer_id', how='semi')."
        )
        raise DataError(msg)


def by_segment(
    tx: FrameT,
    segments: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    level: str = "item",
    by: str = "segment",
    as_of: AsOf = None,
    lookback: str | None = None,
) -> FrameT:
    r"""Per segment and item: buyers, penetration, share of spend, index against everyone, rank.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the
        ``level`` column.
    segments
        One row per customer: ``customer_id`` (the kind of id of ``tx``) and the column ``by``
        (e.g. :func:`retailcrm.rfm.segments`, or a profile with ``by="loyalty_member"``).
        When both frames are DataFrames they are checked for repeated ids and for customers
        without any row of ``tx`` up to ``as_of`` (a mismatch of ids); LazyFrames are not read.
    level
        The column analysed: ``"item"``, ``"brand"``, ``"category"`` or another label column.
    by
        The segment column of ``segments``.
    as_of, lookback
        The window: local dates in ``(as_of - lookback, as_of]``; ``lookback`` a duration such
        as ``"12mo"``, None for everything up to ``as_of`` (default: the last timestamp).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        LazyFrame when either input is lazy; one row per segment and ``level`` value with a
        line in the window, sorted by ``by`` (nulls last), ``rank`` and the level value:

        - ``by`` (its dtype) and ``level`` (its dtype);
        - ``segment_customers`` (UInt32): customers of the segment (see Notes);
        - ``buyers`` (UInt32): of them, customers with a purchase of the item in the window;
        - ``penetration`` (Float64): ``buyers / segment_customers``, in [0, 1];
        - ``share_of_buyers`` (Float64): the segment's share of all the item's buyers;
        - ``spend`` (Float64): the segment's net spend on the item (rounded to 1e-9, so that a
          purchase and its full return net to exactly 0);
        - ``spend_share`` (Float64): ``spend`` over the segment's net spend on all items (null
          when that is 0);
        - ``index`` (Float64): penetration in the segment over penetration among all
          customers, times 100 (100 = as everyone; 200 = twice as many buy it);
        - ``spend_index`` (Float64): ``spend_share`` over the item's share of all spend, times
          100 (null when a share is undefined);
        - ``rank`` (UInt32): the item's rank in the segment by ``spend`` (1 = most; equal
          spends share a rank).

    Raises
    ------
    DataError
        For DataFrames: ``segments`` repeats a customer, or names customers without any row in
        ``tx`` up to ``as_of``.

    Notes
    -----
    **Who is counted.** The customers are the members of ``segments`` and the customers with a
    line in the window, each exactly once; a customer with lines but no segment row (or a null
    segment) is in the row whose ``by`` is null. A member without lines in the window counts in
    ``segment_customers`` and buys nothing. With :math:`N_s` the customers of segment
    :math:`s`, :math:`N = \sum_s N_s`, :math:`b_{s,i}` the buyers of item :math:`i` in
    :math:`s` and :math:`b_i = \sum_s b_{s,i}`:

    .. math::

        \mathrm{penetration}_{s,i} = \frac{b_{s,i}}{N_s}, \qquad
        \mathrm{index}_{s,i} = 100\,\frac{b_{s,i} / N_s}{b_i / N}, \qquad
        \mathrm{spend\_index}_{s,i} = 100\,\frac{x_{s,i} / \sum_j x_{s,j}}
            {\sum_{s'} x_{s',i} / \sum_{s',j} x_{s',j}}

    with :math:`x` the net spend. The penetration index is the "index vs. average" of
    consumer-panel reporting (e.g. Sharp, *How Brands Grow*, Oxford UP 2010, ch. 4 on
    duplication and penetration); a segment holding every customer has index 100 for every
    item.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import assortment
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 3, 3, 4], "timestamp": [date(2024, 1, 5)] * 5,
    ...     "item": ["tea", "tea", "tea", "wine", "wine"], "amount": [4.0, 4.0, 4.0, 9.0, 9.0]})
    >>> seg = pl.DataFrame({"customer_id": [1, 2, 3, 4], "segment": ["A", "A", "B", "B"]})
    >>> out = assortment.by_segment(tx, seg)
    >>> out.select("segment", "item", "buyers", "penetration", "index", "rank").rows()
    [('A', 'tea', 2, 1.0, 133.33..., 1), ('B', 'wine', 2, 1.0, 200.0, 1),
     ('B', 'tea', 1, 0.5, 66.66..., 2)]
    """
    caller = "assortment.by_segment"
    checked = _levels.checked_frame(tx, level, None, caller=caller)
    if by == "customer_id":
        msg = f"{caller}: by must name the segment column, not customer_id."
        raise ArgumentError(msg)
    name = checked.level
    if by == name:
        msg = f"{caller}: by and level are both {by!r}; segment customers by another column."
        raise ArgumentError(msg)
    schema = tx.collect_schema()
    members = _keyed(segments, by, schema["customer_id"], caller, "segments")
    span = _time.window(tx, as_of, lookback, caller=caller)
    if isinstance(tx, pl.DataFrame) and isinstance(segments, pl.DataFrame):
        _check_known(members, span.observed, caller, by)
    lines = span.lines
    amount = pl.col("amount")
    pairs = (
        lines.filter(pl.col(name).is_not_null())
        .group_by("customer_id", name)
        .agg(_bought=(amount > 0).any(), spend=amount.cast(pl.Float64).sum())
    )
    everyone = members.join(
        lines.select("customer_id").unique(), on="customer_id", how="full", coalesce=True
    )
    sizes = everyone.group_by(by).agg(segment_customers=pl.len().cast(pl.UInt32))
    total = sizes.select(_n=pl.col("segment_customers").sum())
    b, n, x = pl.col("buyers"), pl.col("segment_customers"), pl.col("spend")
    segment_spend = x.sum().over(by)
    item_spend = x.sum().over(name)
    all_spend = x.sum()
    item_buyers = b.sum().over(name)
    spend_share = pl.when(segment_spend != 0).then(x / segment_spend)
    overall_share = pl.when(all_spend != 0).then(item_spend / all_spend)
    result = (
        pairs.join(members, on="customer_id", how="left")
        .group_by(by, name)
        .agg(buyers=pl.col("_bought").sum().cast(pl.UInt32), spend=x.sum().round(_DIGITS))
        .join(sizes, on=by, how="left", nulls_equal=True)
        .join(total, how="cross")
        .select(
            by,
            name,
            "segment_customers",
            "buyers",
            penetration=b / n,
            share_of_buyers=pl.when(item_buyers > 0).then(b / item_buyers),
            spend=x,
            spend_share=spend_share,
            index=pl.when(item_buyers > 0).then(
                100.0 * b.cast(pl.Float64) * pl.col("_n") / (n.cast(pl.Float64) * item_buyers)
            ),
            spend_index=pl.when(overall_share != 0).then(100.0 * spend_share / overall_share),
            rank=_rank_desc(x, by),
        )
        .sort(by, "rank", name, nulls_last=True)
    )
    return same_kind(result, tx, segments)  # type: ignore[no-any-return]


def performance(
    tx: FrameT,
    /,
    *,
    level: str = "item",
    period: str = "1mo",
    as_of: AsOf = None,
) -> FrameT:
    r"""The SKU dashboard: sales, units, buyers, new buyers and repeat rate per item and period.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount`` and the
        ``level`` column; ``order_id`` and ``quantity`` when present.
    level
        The column analysed: ``"item"``, ``"brand"``, ``"category"`` or another label column.
    period
        A calendar period: ``"1d"``, ``"1w"`` (weeks start on Monday), ``"1mo"``, ``"1q"``,
        ``"1y"`` or multiples.
    as_of
        Observation end, inclusive; default the last timestamp. Rows after it are ignored.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given, one row per ``level`` value and period from the value's first line to
        the period holding ``as_of`` (periods without lines included, with zeros), sorted by
        the level value and ``period_start``:

        - ``level`` (its dtype); ``period_start`` (Date);
        - ``sales`` (Float64): net amount of the item's lines dated in the period (rounded to
          1e-9, so that a purchase and its full return net to exactly 0);
        - ``units`` (Float64, only with a ``quantity`` column): net units, each line's
          ``|quantity|`` counted negative on a line with ``amount < 0`` (rounded likewise);
        - ``buyers`` (UInt32): customers with a purchase of the item in the period;
        - ``new_buyers`` (UInt32): of them, those whose first purchase of the item (up to
          ``as_of``) is in this period;
        - ``repeat_rate`` (Float64): the share of the period's buyers who had bought the item on
          two or more occasions by the end of the period (null without buyers);
        - ``sales_growth``, [``units_growth``], ``buyers_growth`` (Float64): the change on the
          period before, ``x / x_prev - 1``; null in the item's first period or when
          ``x_prev <= 0``;
        - ``is_complete`` (Boolean): the period ended by ``as_of`` (the last period is usually
          partial: its growth is not comparable).

    Notes
    -----
    A purchase **occasion** of an item is an order (``order_id``; without it, a local calendar
    day) with a line of the item with ``amount > 0``. With :math:`k_{c,i}(p)` the occasions of
    customer :math:`c` for item :math:`i` in period :math:`p` and :math:`K_{c,i}(p) =
    \sum_{q \le p} k_{c,i}(q)`: :math:`c` is a buyer in :math:`p` when :math:`k > 0`, a new buyer
    when also :math:`K_{c,i}(p) = k_{c,i}(p)`, and a repeat buyer when also :math:`K_{c,i}(p) \ge
    2` -- "bought it again", whether in an earlier period or twice in this one. The first periods
    of a data set overstate new buyers (purchases before the data are unseen). Repeat rates
    follow Ehrenberg, *Repeat-Buying* (2nd ed., Griffin 1988): the share of a period's buyers
    who are repeat buyers.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import assortment
    >>> tx = pl.DataFrame({"customer_id": [1, 2, 1, 1], "item": ["tea"] * 4,
    ...     "timestamp": [date(2024, 1, 3), date(2024, 1, 9), date(2024, 2, 1), date(2024, 3, 2)],
    ...     "amount": [4.0, 4.0, 6.0, 3.0]})
    >>> out = assortment.performance(tx, period="1mo")
    >>> out.select("period_start", "sales", "buyers", "new_buyers", "repeat_rate",
    ...            "sales_growth").rows()
    [(datetime.date(2024, 1, 1), 8.0, 2, 2, 0.0, None),
     (datetime.date(2024, 2, 1), 6.0, 1, 0, 1.0, -0.25),
     (datetime.date(2024, 3, 1), 3.0, 1, 0, 1.0, -0.5)]
    """
    caller = "assortment.performance"
    checked = _levels.checked_frame(tx, level, None, caller=caller)
    name = checked.level
    step = parse_period(period, caller=caller)
    schema = tx.collect_schema()
    cut = cutoff(as_of, schema["timestamp"], caller=caller)
    observed = tx.lazy().filter(cut.keep)
    if cut.date is not None:
        end: pl.LazyFrame = pl.LazyFrame({"_as_of": [cut.date]}, schema={"_as_of": pl.Date})
    else:
        end = observed.select(_as_of=pl.col("timestamp").max().dt.date())
    day = pl.col("timestamp").dt.date()
    amount = pl.col("amount")
    occasion = pl.col("order_id") if "order_id" in schema else day
    units = "quantity" in schema
    aggs: dict[str, pl.Expr] = {
        "sales": amount.cast(pl.Float64).sum(),
        "_k": occasion.filter(amount > 0).n_unique().cast(pl.Int64),
    }
    if units:
        q = pl.col("quantity").cast(pl.Float64).abs()
        aggs["units"] = pl.when(amount < 0).then(-q).otherwise(q).sum()
    k, start = pl.col("_k"), pl.col("period_start")
    cells = (
        observed.filter(pl.col(name).is_not_null())
        .group_by("customer_id", name, period_start=step.start(day))
        .agg(**aggs)
        .with_columns(_total=k.cum_sum().over("customer_id", name, order_by="period_start"))
        .group_by(name, "period_start")
        .agg(
            sales=pl.col("sales").sum().round(_DIGITS),
            **({"units": pl.col("units").sum().round(_DIGITS)} if units else {}),
            buyers=(k > 0).sum().cast(pl.UInt32),
            new_buyers=((k > 0) & (pl.col("_total") == k)).sum().cast(pl.UInt32),
            _repeat=((k > 0) & (pl.col("_total") >= 2)).sum().cast(pl.UInt32),
        )
    )
    interval = f"{3 * step.n}mo" if step.unit == "q" else step.text
    grid = (
        cells.group_by(name)
        .agg(_first=start.min())
        .join(end, how="cross")
        .select(
            name,
            "_as_of",
            period_start=pl.date_ranges(pl.col("_first"), step.start(pl.col("_as_of")), interval),
        )
        .explode("period_start")
    )
    measures = ["sales", *(["units"] if units else []), "buyers"]
    zero = {
        "sales": pl.col("sales").fill_null(0.0),
        "units": pl.col("units").fill_null(0.0),
        "buyers": pl.col("buyers").fill_null(0),
        "new_buyers": pl.col("new_buyers").fill_null(0),
        "_repeat": pl.col("_repeat").fill_null(0),
    }
    filled = [zero[c] for c in zero if c != "units" or units]

    def growth(column: str) -> pl.Expr:
        before = pl.col(column).shift(1).over(name, order_by="period_start").cast(pl.Float64)
        return pl.when(before > 0).then(pl.col(column) / before - 1.0)

    b = pl.col("buyers")
    result = (
        grid.join(cells, on=[name, "period_start"], how="left")
        .with_columns(filled)
        .select(
            name,
            "period_start",
            *measures,
            "new_buyers",
            repeat_rate=pl.when(b > 0).then(pl.col("_repeat") / b),
            **{f"{m}_growth": growth(m) for m in measures},
            is_complete=step.shift(start, pl.lit(1)) <= pl.col("_as_of") + _DAY,
        )
        .sort(name, "period_start")
    )
    return same_kind(result, tx)  # type: ignore[no-any-return]
