r"""Customer profiles: one row per customer that answers "who is this customer?".

:func:`customers` puts side by side what the other modules compute about each customer -- the
order history (:mod:`retailcrm.rfm`), the rhythm (:func:`retailcrm.metrics.interpurchase_time`),
favourite category and brand, channel mix (the rule of :func:`retailcrm.metrics.channel_mix`),
the RFM cell and segment, and, given fitted models, P(alive), expected purchases and CLV
(:mod:`retailcrm.clv`) -- and joins the retailer's own customer table (age group, loyalty
membership, consent, ...). It is a view: every figure is defined once, in the module named.

Any column of a profile is a segmentation: pass the profile with ``by=`` to
:func:`retailcrm.segments.contribution` (customers, orders, sales and margin per value, e.g.
loyalty members against non-members) or two profiles to :func:`retailcrm.segments.migration`.

Shared definitions (``retailcrm._orders``): an order is one ``order_id`` of a customer (without
an ``order_id`` column, one customer-day); a **purchase occasion** is an order of net value > 0.
"""

from __future__ import annotations

import warnings
from typing import Any

import polars as pl

from retailcrm import clv as _clv
from retailcrm import rfm
from retailcrm._errors import ArgumentError, ColumnError, RetailCRMWarning
from retailcrm._schema import Check, FrameT, forbid, require, same_kind
from retailcrm._time import AsOf, cutoff, parse_period
from retailcrm.clv._gammagamma import GammaGamma
from retailcrm.clv._transaction import TransactionModel
from retailcrm.metrics import MIXES

__all__ = ["MATCHES", "customers"]

#: Values of the ``match`` column of :func:`customers` when ``attributes`` are given, in order.
MATCHES: tuple[str, ...] = ("both", "transactions only", "attributes only")

_NEEDED = {"customer_id": "id", "timestamp": "date or datetime", "amount": "numeric"}
_CALLER = "profiles.customers"
_FAVOURITES = ("category", "brand")
# net spends are rounded to 1e-9 money units: a purchase and its full return then sum to exactly 0
# whatever the order of the floating-point additions
_DIGITS = 9


def _favourite(lines: pl.LazyFrame, column: str) -> pl.LazyFrame:
    """Each customer's label of ``column`` with the highest net spend, and its share.

    Labels with a net spend <= 0 (rounded to 1e-9) and null labels take no part; equal spends
    (compared at 12 significant digits) go to the label that sorts first as text.
    """
    spend = pl.col("_spend")
    key = spend.round_sig_figs(12)
    dtype = lines.collect_schema()[column]
    return (
        lines.filter(pl.col(column).is_not_null())
        .group_by("customer_id", column)
        .agg(_spend=pl.col("amount").cast(pl.Float64).sum().round(_DIGITS))
        .filter(spend > 0)
        .group_by("customer_id")
        .agg(
            pl.col(column)
            .filter(key == key.max())
            .cast(pl.String)
            .min()
            .cast(dtype)
            .alias(f"favourite_{column}"),
            (spend.max() / spend.sum()).alias(f"favourite_{column}_share"),
        )
    )


def _per_customer_lines(
    lines: pl.LazyFrame, schema: pl.Schema, store: str, online: str
) -> tuple[pl.LazyFrame | None, list[str]]:
    """Margin and channel mix per customer from the lines, in one pass; None if neither."""
    aggs: dict[str, pl.Expr] = {}
    out: list[str] = []
    if "margin" in schema:
        aggs["margin"] = pl.col("margin").cast(pl.Float64).sum()
        out.append("margin")
    if "channel" in schema:
        channel = pl.col("channel").cast(pl.String)
        bought = pl.col("amount") > 0
        aggs["_store"] = (bought & (channel == store)).any()
        aggs["_online"] = (bought & (channel == online)).any()
        out.append("channel_mix")
    if not aggs:
        return None, out
    s, o = pl.col("_store"), pl.col("_online")
    mix = (
        pl.when(s & o)
        .then(pl.lit("both"))
        .when(s)
        .then(pl.lit("store only"))
        .when(o)
        .then(pl.lit("online only"))
        .otherwise(pl.lit("neither"))
        .cast(pl.Enum(MIXES))
    )
    columns = {"margin": pl.col("margin")} if "margin" in out else {}
    if "channel_mix" in out:
        columns["channel_mix"] = mix
    return lines.group_by("customer_id").agg(**aggs).select("customer_id", **columns), out


def _horizon_text(horizon: object, unit: str) -> str:
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        msg = (
            f"{_CALLER}: horizon must be a whole number of periods >= 1 (periods of length "
            f"unit={unit!r}); got {horizon!r}."
        )
        raise ArgumentError(msg)
    period = parse_period(unit, caller=_CALLER)
    return f"{horizon * period.n}{period.unit}"


def _model_columns(
    tx: pl.DataFrame | pl.LazyFrame,
    as_of: AsOf,
    model: object,
    spend_model: object,
    horizon: int,
    unit: str,
    discount_rate: float,
) -> pl.LazyFrame | None:
    if model is None and spend_model is None:
        return None
    if model is not None and not isinstance(model, TransactionModel):
        msg = (
            f"{_CALLER}: model must be a fitted transaction model such as clv.BetaGeo; got "
            f"{type(model).__name__}."
        )
        raise ArgumentError(msg)
    if spend_model is not None and not isinstance(spend_model, GammaGamma):
        msg = f"{_CALLER}: spend_model must be a clv.GammaGamma; got {type(spend_model).__name__}."
        raise ArgumentError(msg)
    span = _horizon_text(horizon, unit)
    summary = _clv.summary(tx.lazy(), as_of=as_of, unit=model.unit if model is not None else "1w")
    if model is None:
        assert spend_model is not None
        return spend_model.expected_spend(summary)
    predicted = model.predict(summary, horizon=span).select(
        "customer_id", "p_alive", "expected_purchases"
    )
    if spend_model is None:
        return predicted
    valued = _clv.lifetime_value(
        model, spend_model, summary, horizon=horizon, unit=unit, discount_rate=discount_rate
    ).select("customer_id", "expected_spend", "clv")
    return predicted.join(valued, on="customer_id", how="left")


def _attributes(
    attributes: object, key: pl.DataType, taken: list[str]
) -> tuple[pl.LazyFrame, list[str]]:
    if not isinstance(attributes, (pl.DataFrame, pl.LazyFrame)):
        msg = (
            f"{_CALLER}: attributes must be a polars DataFrame or LazyFrame with a customer_id "
            f"column; got {type(attributes).__name__}."
        )
        raise ArgumentError(msg)
    require(attributes, {"customer_id": "id"}, caller=_CALLER)
    schema = attributes.collect_schema()
    have = schema["customer_id"]
    if have != key:
        numeric = have.is_integer() and key.is_integer()
        textual = all(isinstance(d, (pl.String, pl.Categorical, pl.Enum)) for d in (have, key))
        if not (numeric or textual):
            msg = (
                f"{_CALLER}: customer_id of attributes is {have} but {key} in tx; the ids must "
                f"be of one kind. Cast one of them, e.g. "
                f"attributes.with_columns(pl.col('customer_id').cast(pl.{key}))."
            )
            raise ColumnError(msg)
    names = [c for c in schema.names() if c != "customer_id"]
    clash = [c for c in names if c in taken or c == "match"]
    if clash:
        renames = ", ".join(f"{c!r}: 'crm_{c}'" for c in clash)
        msg = (
            f"{_CALLER}: attributes has column(s) {clash} that the profile computes itself; "
            f"rename them, e.g. attributes.rename({{{renames}}})."
        )
        raise ColumnError(msg)
    if isinstance(attributes, pl.DataFrame):
        forbid(
            attributes,
            Check(
                pl.col("customer_id").is_null(),
                "of attributes have a null customer_id",
                "Drop them: a profile row needs a customer.",
                ["customer_id", *names[:3]],
            ),
            Check(
                pl.col("customer_id").is_duplicated(),
                "of attributes repeat a customer_id",
                "Keep one row per customer (e.g. attributes.unique('customer_id', keep='last') "
                "after sorting by the date each row was recorded).",
                ["customer_id", *names[:3]],
            ),
            caller=_CALLER,
        )
    return attributes.lazy().with_columns(pl.col("customer_id").cast(key)), names


def customers(
    tx: FrameT,
    /,
    *,
    as_of: AsOf = None,
    attributes: pl.DataFrame | pl.LazyFrame | None = None,
    model: TransactionModel | None = None,
    spend_model: GammaGamma | None = None,
    horizon: int = 12,
    unit: str = "1mo",
    discount_rate: float = 0.0,
    store: str = "store",
    online: str = "online",
) -> FrameT:
    r"""One profile row per customer: history, favourites, channel mix, RFM, value and risk.

    Parameters
    ----------
    tx
        Canonical transactions with ``customer_id``, ``timestamp``, ``amount``; ``order_id``,
        ``category``, ``brand``, ``channel`` and ``margin`` are used when present.
    as_of
        Observation end, inclusive (a date, a datetime or an ISO string); rows after it are
        ignored. Default: the last timestamp in ``tx``.
    attributes
        The retailer's own customer table, one row per ``customer_id`` (the same kind of id as
        in ``tx``), with any other columns (age group, loyalty member, sign-up date, consent,
        ...); joined on ``customer_id``. A DataFrame is checked for null and repeated ids; a
        LazyFrame is not read (a repeated id would then repeat the customer's row).
    model
        A fitted transaction model (:class:`retailcrm.clv.BetaGeo`, ...): adds ``p_alive`` and
        ``expected_purchases`` over ``horizon`` periods of ``unit``, computed from
        :func:`retailcrm.clv.summary` with the same ``as_of`` in the model's unit.
    spend_model
        A fitted :class:`retailcrm.clv.GammaGamma`: adds ``expected_spend`` (per purchase) and,
        with ``model``, ``clv`` from :func:`retailcrm.clv.lifetime_value`.
    horizon, unit, discount_rate
        The horizon of the model columns: ``horizon`` periods of ``unit`` (``"1mo"``, ``"1w"``,
        ...), discounted at ``discount_rate`` per period for ``clv``. Ignored without models.
    store, online
        The ``channel`` values of the two channels.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The kind given (lazy when ``tx`` or ``attributes`` is lazy), one row per customer,
        sorted by ``customer_id``. Customers are those with a row of ``tx`` up to ``as_of``
        (also a customer whose only order was a return) and, with ``attributes``, those of the
        attribute table. Columns, those in brackets only when their input exists:

        - ``customer_id``;
        - ``first_purchase``, ``last_purchase`` (the dtype of ``timestamp``): first and last
          purchase occasion (:func:`retailcrm.rfm.summary`);
        - ``tenure_days`` (Int32): local calendar days from the first purchase to ``as_of``;
        - ``recency_days`` (Int32): days from the last purchase to ``as_of`` (RFM recency);
        - ``orders`` (UInt32): purchase occasions; ``revenue`` (Float64): net amount of all the
          customer's lines, returns included; [``margin`` (Float64): net margin];
        - ``average_order_value`` (Float64): ``revenue / orders``;
        - ``mean_gap_days`` (Float64): mean days between purchase occasions,
          ``(last - first) / (orders - 1)``, as :func:`retailcrm.metrics.interpurchase_time`;
          null for fewer than two;
        - [``favourite_category`` (its dtype), ``favourite_category_share`` (Float64)] and
          [``favourite_brand``, ``favourite_brand_share``]: see Notes;
        - [``channel_mix`` (Enum ``"store only"``, ``"online only"``, ``"both"``,
          ``"neither"``)]: as :func:`retailcrm.metrics.channel_mix`, from the lines with
          amount > 0;
        - ``rfm_cell`` (String) and ``segment`` (Enum): :func:`retailcrm.rfm.scores` with its
          defaults (5 quantile bins) over the customers of ``tx``, named by
          :func:`retailcrm.rfm.segments` (scheme ``"rfm11"``);
        - [``p_alive``, ``expected_purchases`` (Float64)] with ``model``; [``expected_spend``]
          with ``spend_model``; [``clv``] with both. Null for a customer without a purchase
          occasion (not in :func:`retailcrm.clv.summary`);
        - [the columns of ``attributes``, and ``match`` (Enum of :data:`MATCHES`):
          ``"both"``, ``"transactions only"`` or ``"attributes only"``].

        A customer of ``attributes`` without a row of ``tx`` up to ``as_of`` has ``orders`` 0,
        ``revenue`` 0.0 (and ``margin`` 0.0) -- observed: nothing bought -- and null elsewhere.

    Warns
    -----
    RetailCRMWarning
        For DataFrame inputs with ``attributes``: how many customers are in only one of the two
        tables, with an example of each. They are kept (``match`` says which), never dropped.

    Notes
    -----
    **Favourite by spend.** For a label column (``category``, ``brand``) a customer's spend on
    label :math:`\ell` is the net amount of their lines with that label up to ``as_of``,
    :math:`s_\ell = \sum_{j : \ell_j = \ell} a_j` (returns subtract), rounded to 9 decimals so
    that a purchase and its full return sum to exactly 0 whatever the order of the additions.
    Labels with :math:`s_\ell \le 0` and lines with a null label take no part. The favourite
    is the label of the largest :math:`s_\ell`; **ties** (equal at 12 significant digits) go
    to the label that sorts first as text. Its share is
    :math:`\max_\ell s_\ell / \sum_{\ell : s_\ell > 0} s_\ell`, in (0, 1]. Both are null when no
    label has a positive spend.

    The other columns are views of the functions named above; their definitions and sources
    (Hughes 1994 for RFM; Fader, Hardie & Lee 2005 for the BTYD and Gamma-Gamma models; Kumar &
    Reinartz 2012 for the KPIs) are documented there.

    Examples
    --------
    >>> from datetime import date
    >>> import polars as pl
    >>> from retailcrm import profiles
    >>> days = [date(2024, 1, 1), date(2024, 1, 11), date(2024, 1, 31), date(2024, 1, 21)]
    >>> tx = pl.DataFrame({"customer_id": [1, 1, 1, 2], "timestamp": days,
    ...     "amount": [10.0, 20.0, 30.0, 8.0], "category": ["Tea", "Wine", "Wine", "Tea"]})
    >>> p = profiles.customers(tx)
    >>> p.select("customer_id", "orders", "tenure_days", "mean_gap_days",
    ...          "favourite_category", "favourite_category_share").rows()
    [(1, 3, 30, 15.0, 'Wine', 0.833...), (2, 1, 10, None, 'Tea', 1.0)]
    """
    require(tx, _NEEDED, caller=_CALLER)
    schema = tx.collect_schema()
    cut = cutoff(as_of, schema["timestamp"], caller=_CALLER)
    lines = tx.lazy().filter(cut.keep)

    first_day = pl.col("first_purchase").dt.date()
    span = (pl.col("last_purchase").dt.date() - first_day).dt.total_days()
    n = pl.col("frequency")
    scored = rfm.segments(rfm.scores(rfm.summary(tx.lazy(), as_of=as_of)))
    profile = scored.select(
        "customer_id",
        "first_purchase",
        "last_purchase",
        tenure_days=(pl.col("recency") + span).cast(pl.Int32),
        recency_days=pl.col("recency").cast(pl.Int32),
        orders="frequency",
        revenue="monetary",
        average_order_value="average_order_value",
        mean_gap_days=pl.when(n > 1).then(span / (n.cast(pl.Int64) - 1)),
        rfm_cell="rfm_cell",
        segment="segment",
    )
    order = [
        "customer_id",
        "first_purchase",
        "last_purchase",
        "tenure_days",
        "recency_days",
        "orders",
        "revenue",
    ]
    extra, extra_columns = _per_customer_lines(lines, schema, store, online)
    if extra is not None:
        profile = profile.join(extra, on="customer_id", how="left")
    if "margin" in extra_columns:
        require(tx, {"margin": "numeric"}, caller=_CALLER)
        order.append("margin")
    order += ["average_order_value", "mean_gap_days"]
    for column in _FAVOURITES:
        if column in schema:
            profile = profile.join(_favourite(lines, column), on="customer_id", how="left")
            order += [f"favourite_{column}", f"favourite_{column}_share"]
    if "channel_mix" in extra_columns:
        order.append("channel_mix")
    order += ["rfm_cell", "segment"]

    valued = _model_columns(tx, as_of, model, spend_model, horizon, unit, discount_rate)
    if valued is not None:
        profile = profile.join(valued, on="customer_id", how="left")
        order += [c for c in valued.collect_schema().names() if c != "customer_id"]
    profile = profile.select(order)

    if attributes is None:
        return same_kind(profile.sort("customer_id"), tx)  # type: ignore[no-any-return]

    attrs, names = _attributes(attributes, schema["customer_id"], order)
    seen, listed = pl.col("_seen"), pl.col("_listed")
    match = (
        pl.when(seen & listed)
        .then(pl.lit(MATCHES[0]))
        .when(seen)
        .then(pl.lit(MATCHES[1]))
        .otherwise(pl.lit(MATCHES[2]))
        .cast(pl.Enum(MATCHES))
    )
    zero = {"orders": pl.lit(0, pl.UInt32), "revenue": pl.lit(0.0), "margin": pl.lit(0.0)}
    joined = (
        profile.with_columns(_seen=pl.lit(True))
        .join(attrs.with_columns(_listed=pl.lit(True)), on="customer_id", how="full", coalesce=True)
        .with_columns(seen.fill_null(False), listed.fill_null(False))
        .with_columns(pl.col(c).fill_null(zero[c]) for c in zero if c in order)
        .select(*order, *names, match=match)
        .sort("customer_id")
    )
    result: Any = same_kind(joined, tx, attributes)
    if isinstance(result, pl.DataFrame):
        _report(result)
    return result  # type: ignore[no-any-return]


def _report(profile: pl.DataFrame) -> None:
    """Warn with the counts of customers found in only one of the two tables."""
    counts = profile.group_by("match").agg(n=pl.len(), example=pl.col("customer_id").first())
    found = {row[0]: (row[1], row[2]) for row in counts.rows()}
    parts = []
    for which, text in ((MATCHES[1], "have no attribute row"), (MATCHES[2], "have no transaction")):
        if which in found:
            n, example = found[which]
            parts.append(f"{n} customer(s) {text} (e.g. customer_id {example!r})")
    if parts:
        msg = (
            f"{_CALLER}: {'; '.join(parts)} up to as_of. They are kept, with match = "
            f"'transactions only' / 'attributes only'; filter on match to leave them out."
        )
        warnings.warn(msg, RetailCRMWarning, stacklevel=3)
