r"""The same kernels on Apache Spark: per-customer summaries, cohort tables and scores at scale.

Nothing here is a second implementation. Every function shuffles the transactions so that all
rows of a customer land in one partition (``repartition(customer_id)``), hands each partition to
the library's own Polars kernel through Arrow (``mapInArrow``), and either returns the
per-customer result as a Spark DataFrame or merges additive partial counts into a small Polars
frame on the driver::

    from retailcrm import clv, spark
    tx = spark.prepare(sdf, customer_id="cust", timestamp="ts", amount="net")  # on the cluster
    s = spark.clv_summary(tx, unit="1w")                          # Spark DataFrame, per customer
    local = spark.clv_summary(tx, unit="1w", compress=True)       # Polars: unique rows + weight
    model = clv.BetaGeo.fit(local, unit="1w", weights="weight")   # on the driver, seconds
    scores = spark.score(s, model, horizon="26w")                 # Spark DataFrame, per customer

Two rules make the results equal to the single-machine ones:

- ``as_of`` is global. Its default, the last timestamp of the whole data set, is computed once
  on Spark and passed to every partition (a partition's own last day would be wrong).
- A customer's rows are never split: per-customer kernels and the customer counts of cohort
  cells need all of them. Global figures are sums of per-partition partial counts.

Types on the way back: Spark has no unsigned integers, so count columns (``frequency``, UInt32
in Polars) are ``LongType`` in the Spark DataFrames returned here; the Polars frames returned
(``compress=True``, :func:`cohort_table`) have the single-machine dtypes. A Spark
``TimestampType`` column reaches Polars as ``Datetime("us", <session time zone>)``, so calendar
days are those of ``spark.sql.session.timeZone``; ``TimestampNTZType`` stays naive.

PySpark is the ``spark`` extra (``pip install "retailcrm-analytics[spark]"``) and is imported
only when one of these functions runs; ``import retailcrm`` never loads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal

import polars as pl

from retailcrm import clv, cohorts, rfm
from retailcrm._errors import ArgumentError, ColumnError, DataError, InputTypeError
from retailcrm._schema import CANONICAL, require
from retailcrm._time import AsOf, cutoff, parse_period

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.sql import Column, DataFrame

__all__ = ["clv_summary", "cohort_table", "last_timestamp", "prepare", "rfm_summary", "score"]

_INSTALL = 'pip install "retailcrm-analytics[spark]"'
_RFM = {"customer_id": "id", "timestamp": "date or datetime", "amount": "numeric"}
_CLV = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}
_SCORE = {"customer_id": "any", "frequency": "numeric", "recency": "numeric", "T": "numeric"}
_COMPRESSED = ("frequency", "recency", "T")
_CELL_KEYS = ("cohort", "period_index")

Kernel = Callable[[pl.DataFrame], pl.DataFrame]


# ---------------------------------------------------------------------------------------------
# plumbing: imports, checks, Arrow in and out


def _pyspark(caller: str) -> Any:
    """Import pyspark.sql, or say how to install it."""
    try:
        import pyspark.sql
    except ImportError:
        msg = f"{caller} needs pyspark (and Java 17+): {_INSTALL}"
        raise ImportError(msg) from None
    return pyspark.sql


def _check_sdf(sdf: object, caller: str) -> None:
    sql = _pyspark(caller)
    if not isinstance(sdf, sql.DataFrame):
        kind = f"{type(sdf).__module__}.{type(sdf).__qualname__}"
        msg = (
            f"{caller}: expected a pyspark.sql.DataFrame, got {kind}. For Polars frames use "
            "the single-machine functions (rfm.summary, clv.summary, cohorts.table)."
        )
        raise InputTypeError(msg)


def _columns(sdf: DataFrame, needed: dict[str, str], caller: str) -> pl.DataFrame:
    """Check the columns on the Spark schema; return an empty Polars frame of them.

    The empty frame has exactly the dtypes the partitions will see (it comes through the same
    Arrow conversion), so the driver can dry-run a kernel on it: that checks the arguments
    before any Spark job and gives the kernel's output schema.
    """
    _check_sdf(sdf, caller)
    missing = [name for name in needed if name not in sdf.columns]
    if missing:
        args = ", ".join(f"{name}=..." for name in missing)
        msg = (
            f"{caller}: missing column(s) {missing}; the Spark DataFrame has {sdf.columns}. "
            f"Map your own names with retailcrm.spark.prepare(sdf, {args})."
        )
        raise ColumnError(msg)
    empty = _to_polars(sdf.select(*needed).limit(0).toArrow())
    return require(empty, needed, caller=caller)


def _to_polars(table: pa.Table) -> pl.DataFrame:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table always gives a DataFrame
    return frame


def _signed(frame: pl.DataFrame) -> pl.DataFrame:
    """Unsigned integers as Int64: Spark has no unsigned types."""
    return frame.cast(
        {name: pl.Int64 for name, dtype in frame.schema.items() if dtype.is_unsigned_integer()}
    )


def _arrow(frame: pl.DataFrame) -> pa.Table:
    # the oldest compat level gives plain Arrow types (large_string, no views) Spark reads
    return _signed(frame).to_arrow(compat_level=pl.CompatLevel.oldest())


def _per_partition(
    sdf: DataFrame, kernel: Kernel, empty: pl.DataFrame, *, shuffle: bool, partitions: int | None
) -> DataFrame:
    """Run ``kernel`` on each partition (all rows of a customer together when ``shuffle``)."""
    from pyspark.sql.pandas.types import from_arrow_schema

    in_schema = empty.to_arrow().schema
    out_schema = _arrow(kernel(empty)).schema

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow

        chunks = list(batches)
        table = pyarrow.Table.from_batches(chunks) if chunks else in_schema.empty_table()
        result = _arrow(kernel(_to_polars(table))).cast(out_schema)
        yield from result.to_batches()

    source = sdf.select(*empty.columns)
    if shuffle:
        source = (
            source.repartition(partitions, "customer_id")
            if partitions is not None
            else source.repartition("customer_id")
        )
    return source.mapInArrow(run, from_arrow_schema(out_schema))


def _check_partitions(partitions: int | None, caller: str) -> None:
    if partitions is not None and (
        isinstance(partitions, bool) or not isinstance(partitions, int) or partitions < 1
    ):
        msg = f"{caller}: partitions must be a whole number >= 1 or None; got {partitions!r}."
        raise ArgumentError(msg)


def last_timestamp(sdf: DataFrame, /) -> dt.date | dt.datetime | None:
    """The last ``timestamp`` of the whole data set: the default ``as_of``, computed on Spark.

    Parameters
    ----------
    sdf
        A Spark DataFrame with a ``timestamp`` column (Date, Timestamp or TimestampNTZ).

    Returns
    -------
    datetime.date or datetime.datetime or None
        As Polars reads it from Arrow: a ``date`` for a Date column, a time-zone-aware
        ``datetime`` (in the session time zone) for ``TimestampType``, a naive one for
        ``TimestampNTZType``; ``None`` for an empty DataFrame.
    """
    caller = "spark.last_timestamp"
    _columns(sdf, {"timestamp": "date or datetime"}, caller)
    F = _pyspark(caller).functions
    top = _to_polars(sdf.agg(F.max("timestamp").alias("timestamp")).toArrow())
    value = top["timestamp"][0]
    assert value is None or isinstance(value, dt.date)
    return value


def _global_as_of(sdf: DataFrame, as_of: AsOf) -> AsOf:
    return last_timestamp(sdf) if as_of is None else as_of


# ---------------------------------------------------------------------------------------------
# prepare


def prepare(
    sdf: DataFrame,
    /,
    *,
    customer_id: str | Column,
    timestamp: str | Column,
    amount: str | Column | None,
    order_id: str | Column | None = None,
    item: str | Column | None = None,
    brand: str | Column | None = None,
    category: str | Column | None = None,
    quantity: str | Column | None = None,
    margin: str | Column | None = None,
    channel: str | Column | None = None,
    keep: Sequence[str] = (),
    validate: bool = True,
) -> DataFrame:
    """Map a Spark table onto the canonical transaction schema; cast and validate it.

    The Spark counterpart of :func:`retailcrm.prepare`: each mapping argument is a column name
    or a Spark ``Column`` expression (``amount=F.col("qty") * F.col("price")``).

    Parameters
    ----------
    sdf
        A Spark DataFrame.
    customer_id, order_id, item
        Ids: integer or string columns, kept as they are (floats are rejected: cast them).
    timestamp
        Date, Timestamp or TimestampNTZ kept; strings are parsed with ``to_timestamp``.
    amount, quantity, margin
        Numbers (or numeric strings), cast to double. ``amount`` may be ``None`` (no money).
    brand, category, channel
        Labels, cast to string.
    keep
        Other columns to carry along unchanged, after the canonical ones.
    validate
        Check the rows in one aggregate Spark job: no null ``customer_id``, ``timestamp`` or
        ``order_id``, no unparsable timestamps or numbers, no NaN or infinite amounts.

    Returns
    -------
    pyspark.sql.DataFrame
        The mapped canonical columns in the order of ``retailcrm._schema.CANONICAL``, then
        ``keep``. Lazy, like every Spark DataFrame.

    Raises
    ------
    ColumnError
        A mapping names no column, or a column has an unusable type.
    DataError
        (with ``validate``) rows that break the rules above: the count and one example.
    """
    caller = "spark.prepare"
    _check_sdf(sdf, caller)
    sql = _pyspark(caller)
    F, T = sql.functions, sql.types
    specs = {
        "customer_id": customer_id,
        "order_id": order_id,
        "timestamp": timestamp,
        "item": item,
        "brand": brand,
        "category": category,
        "quantity": quantity,
        "amount": amount,
        "margin": margin,
        "channel": channel,
    }
    assert tuple(specs) == CANONICAL
    keep = list(keep)
    clash = [c for c in keep if c not in sdf.columns or specs.get(c) is not None]
    if clash:
        msg = (
            f"{caller}: keep={clash} names columns that are not in the DataFrame or that are "
            f"canonical names already mapped; it has {sdf.columns}."
        )
        raise ColumnError(msg)
    raw: dict[str, Any] = {}
    for name, spec in specs.items():
        if spec is None:
            continue
        if isinstance(spec, str):
            if spec not in sdf.columns:
                msg = f"{caller}: {name}={spec!r} names no column; the DataFrame has {sdf.columns}."
                raise ColumnError(msg)
            raw[name] = F.col(spec)
        elif isinstance(spec, sql.Column):
            raw[name] = spec
        else:
            msg = (
                f"{caller}: {name} must be a column name (str) or a pyspark Column; "
                f"got {type(spec).__name__}."
            )
            raise ArgumentError(msg)
    try:
        mapped = sdf.select(*[c.alias(n) for n, c in raw.items()], *keep)
        types = {f.name: f.dataType for f in mapped.schema.fields}
    except Exception as error:  # Spark's AnalysisException: an expression that does not resolve
        msg = f"{caller}: a mapping expression does not resolve on the DataFrame: {error}"
        raise ColumnError(msg) from None

    ids = (T.IntegerType, T.LongType, T.ShortType, T.ByteType, T.StringType)
    out = {}
    for name in raw:
        col, kind = F.col(name), types[name]
        if name in ("customer_id", "order_id", "item"):
            if not isinstance(kind, ids):
                msg = (
                    f"{caller}: {name} is {kind.simpleString()}; ids must be integers or "
                    f"strings: pass {name}=F.col(...).cast('long') or .cast('string')."
                )
                raise ColumnError(msg)
            out[name] = col
        elif name == "timestamp":
            if isinstance(kind, T.StringType):
                col = F.try_to_timestamp(F.trim(col))  # null where it fails: validated
            elif not isinstance(kind, (T.DateType, T.TimestampType, T.TimestampNTZType)):
                msg = (
                    f"{caller}: timestamp is {kind.simpleString()}, not a date or timestamp: "
                    "pass timestamp=<a Column giving a date or timestamp>."
                )
                raise ColumnError(msg)
            out[name] = col
        elif name in ("amount", "quantity", "margin"):
            if not isinstance(kind, (T.NumericType, T.StringType, T.NullType)):
                msg = (
                    f"{caller}: {name} is {kind.simpleString()}, not numeric: "
                    f"pass {name}=F.col(...).cast('double')."
                )
                raise ColumnError(msg)
            string = isinstance(kind, T.StringType)
            out[name] = F.trim(col).try_cast("double") if string else col.cast("double")
        else:
            out[name] = col.cast("string")
    if validate:
        _validate(mapped, out, caller)
    return mapped.select(*[c.alias(n) for n, c in out.items()], *keep)


def _validate(mapped: DataFrame, out: dict[str, Any], caller: str) -> None:
    """One aggregate Spark job: count the rows breaking each rule and show the first one."""
    F = _pyspark(caller).functions
    names = list(out)
    # the cast columns beside the raw ones, over the same rows (one narrow plan)
    both = mapped.select(
        *[c.alias(n) for n, c in out.items()], *[F.col(n).alias(f"_raw_{n}") for n in names]
    )
    checks: list[tuple[Any, str, str]] = []
    for name in ("customer_id", "timestamp", "order_id"):
        if name in names:
            checks.append(
                (
                    F.col(f"_raw_{name}").isNull(),
                    f"have a null {name}",
                    "Drop or fill them first (sdf.dropna(subset=[...])).",
                )
            )
    for name in ("timestamp", "amount", "quantity", "margin"):
        if name in names:
            checks.append(
                (
                    F.col(name).isNull() & F.col(f"_raw_{name}").isNotNull(),
                    f"have a {name} that does not parse",
                    f"Map {name} with a Column expression that parses your format.",
                )
            )
    for name in ("amount", "quantity", "margin"):
        if name in names:
            bad = F.isnan(F.col(name)) | F.col(name).isin(float("inf"), float("-inf"))
            checks.append((bad, f"have a NaN or infinite {name}", "Drop or fix them."))
    aggs = []
    for i, (bad, _, _) in enumerate(checks):
        flag = F.coalesce(bad, F.lit(False))
        example = F.when(flag, F.to_json(F.struct(*[F.col(f"_raw_{n}").alias(n) for n in names])))
        aggs += [
            F.sum(flag.cast("long")).alias(f"n{i}"),
            F.first(example, ignorenulls=True).alias(f"e{i}"),
        ]
    counts = both.agg(*aggs).collect()[0]
    for i, (_, problem, fix) in enumerate(checks):
        n = counts[f"n{i}"]
        if n:
            msg = f"{caller}: {n} row(s) {problem}, e.g. {counts[f'e{i}']}. {fix}"
            raise DataError(msg)


# ---------------------------------------------------------------------------------------------
# per-customer results


def rfm_summary(
    sdf: DataFrame, /, *, as_of: AsOf = None, partitions: int | None = None
) -> DataFrame:
    """:func:`retailcrm.rfm.summary` of every customer, computed on the cluster.

    Parameters
    ----------
    sdf
        Canonical transactions (see :func:`prepare`) with ``customer_id``, ``timestamp`` and
        ``amount``; ``order_id`` when present (otherwise an order is one customer-day).
    as_of
        Observation end, inclusive, as in :func:`retailcrm.rfm.summary`. Default: the last
        timestamp of the whole DataFrame (:func:`last_timestamp`, one Spark job), the same
        for every partition.
    partitions
        Number of partitions of the shuffle by ``customer_id``; default: Spark's
        ``spark.sql.shuffle.partitions`` (which adaptive execution may coalesce).

    Returns
    -------
    pyspark.sql.DataFrame
        One row per customer, the columns of :func:`retailcrm.rfm.summary` (``customer_id``,
        ``first_purchase``, ``last_purchase``, ``recency``, ``frequency``, ``monetary``,
        ``average_order_value``), with ``frequency`` as ``long``. Row order is not defined.

    Notes
    -----
    Each partition holds all rows of its customers, and ``rfm.summary`` itself runs on it with
    the global ``as_of``; so each row equals the single-machine row exactly.
    """
    caller = "spark.rfm_summary"
    _check_partitions(partitions, caller)
    needed = dict(_RFM) | ({"order_id": "any"} if "order_id" in _names(sdf, caller) else {})
    empty = _columns(sdf, needed, caller)
    rfm.summary(empty, as_of=as_of)  # checks as_of before any Spark job
    cut = _global_as_of(sdf, as_of)

    def kernel(frame: pl.DataFrame) -> pl.DataFrame:
        return rfm.summary(frame, as_of=cut)

    return _per_partition(sdf, kernel, empty, shuffle=True, partitions=partitions)


def _names(sdf: object, caller: str) -> list[str]:
    _check_sdf(sdf, caller)
    return list(sdf.columns)  # type: ignore[attr-defined]


def clv_summary(
    sdf: DataFrame,
    /,
    *,
    as_of: AsOf = None,
    unit: str = "1w",
    calibration_end: dt.date | str | None = None,
    compress: bool = False,
    partitions: int | None = None,
) -> Any:
    """:func:`retailcrm.clv.summary` of every customer, computed on the cluster.

    Parameters
    ----------
    sdf
        Canonical transactions with ``customer_id``, ``timestamp`` and ``amount``.
    as_of, unit, calibration_end
        As in :func:`retailcrm.clv.summary`. The default ``as_of`` is the last timestamp of the
        whole DataFrame (one Spark job), passed to every partition.
    compress
        ``False``: the per-customer summary as a Spark DataFrame. ``True``: the summary
        compressed on the cluster to its unique ``(frequency, recency, T)`` rows with the
        number of customers of each, brought home as a Polars frame, the input of a local
        fit: ``clv.BetaGeo.fit(local, unit=unit, weights="weight")``. Not with
        ``calibration_end`` (the holdout columns do not compress).
    partitions
        Number of partitions of the shuffle by ``customer_id`` (default: Spark's).

    Returns
    -------
    pyspark.sql.DataFrame or pl.DataFrame
        ``compress=False``: the columns of :func:`retailcrm.clv.summary` (``customer_id``,
        ``frequency`` as ``long``, ``recency``, ``T``, ``monetary_value``, and the holdout
        columns with ``calibration_end``), one row per customer, row order not defined.
        ``compress=True``: a Polars frame ``frequency`` (u32), ``recency`` (f64), ``T`` (f64),
        ``weight`` (u32: customers with that row), sorted by the first three.

    Notes
    -----
    The BG/NBD likelihood depends on a customer only through :math:`(x, t_x, T)`, so the fit
    on the compressed rows with weights is the fit on all customers (Fader, Hardie & Lee 2005,
    "Counting your customers the easy way", Marketing Science 24(2), 275-284).
    """
    caller = "spark.clv_summary"
    _check_partitions(partitions, caller)
    if compress and calibration_end is not None:
        msg = (
            f"{caller}: compress=True gives (frequency, recency, T, weight) for a fit and would "
            "drop the holdout columns of calibration_end; call it without compress for them."
        )
        raise ArgumentError(msg)
    empty = _columns(sdf, _CLV, caller)
    clv.summary(empty, as_of=as_of, unit=unit, calibration_end=calibration_end)  # the checks
    cut = _global_as_of(sdf, as_of)

    def kernel(frame: pl.DataFrame) -> pl.DataFrame:
        return clv.summary(frame, as_of=cut, unit=unit, calibration_end=calibration_end)

    per_customer = _per_partition(sdf, kernel, empty, shuffle=True, partitions=partitions)
    if not compress:
        return per_customer
    counted = per_customer.groupBy(*_COMPRESSED).count().toArrow()
    return (
        _to_polars(counted)
        .select(
            pl.col("frequency").cast(pl.UInt32),
            pl.col("recency").cast(pl.Float64),
            pl.col("T").cast(pl.Float64),
            weight=pl.col("count").cast(pl.UInt32),
        )
        .sort(_COMPRESSED)
    )


# ---------------------------------------------------------------------------------------------
# additive results


def cohort_table(
    sdf: DataFrame,
    /,
    *,
    period: str = "1mo",
    as_of: AsOf = None,
    align: Literal["calendar", "first_purchase"] = "calendar",
    partitions: int | None = None,
) -> pl.DataFrame:
    r""":func:`retailcrm.cohorts.table` computed from partial counts on the cluster.

    Parameters
    ----------
    sdf
        Canonical transactions with ``customer_id``, ``timestamp`` and ``amount``; ``order_id``
        when present.
    period, as_of, align
        As in :func:`retailcrm.cohorts.table`; the default ``as_of`` is the last timestamp of
        the whole DataFrame (one Spark job), passed to every partition.
    partitions
        Number of partitions of the shuffle by ``customer_id`` (default: Spark's).

    Returns
    -------
    pl.DataFrame
        The table of :func:`retailcrm.cohorts.table`, same columns and dtypes, sorted by
        ``(cohort, period_index)``.

    Notes
    -----
    Partitioned by customer, every figure of a cell is a sum of per-partition partials: active
    customers :math:`|A_{ck}| = \sum_p |A^{(p)}_{ck}|` (a customer is in one partition only),
    orders and revenue likewise, and the cohort size is the sum of the active customers of cell
    0. Each partition computes its partial cells with the cohorts module's own cell kernel;
    Spark sums them per ``(cohort, period_index)`` (with the earliest and latest first-purchase
    dates of the cohort), and the driver builds the rectangle, rates and running sums from the
    merged cells exactly as :func:`retailcrm.cohorts.table` does. Revenue sums may differ from
    the single-machine ones in the last bits (the order of a float sum).
    """
    caller = "spark.cohort_table"
    _check_partitions(partitions, caller)
    needed = dict(_CLV) | ({"order_id": "any"} if "order_id" in _names(sdf, caller) else {})
    empty = _columns(sdf, needed, caller)
    cohorts.table(empty, period=period, as_of=as_of, align=align)  # checks the arguments
    step = parse_period(period, caller=caller)
    cut = _global_as_of(sdf, as_of)
    if cut is None:  # no rows at all: the empty table with its schema
        return cohorts.table(empty, period=period, align=align)
    end = cutoff(cut, empty.schema["timestamp"], caller=caller)
    assert end.date is not None

    def kernel(frame: pl.DataFrame) -> pl.DataFrame:
        limit = cutoff(cut, frame.schema["timestamp"], caller=caller)
        lines = frame.lazy().filter(limit.keep)
        return (
            cohorts._partial_cells(lines, step, align, carry_seen=False)
            .select(*_CELL_KEYS, "active_customers", "orders", "revenue", "_first", "_last")
            .collect()
        )

    F = _pyspark(caller).functions
    partial = _per_partition(sdf, kernel, empty, shuffle=True, partitions=partitions)
    merged = partial.groupBy(*_CELL_KEYS).agg(
        F.sum("active_customers").alias("active_customers"),
        F.sum("orders").alias("orders"),
        F.sum("revenue").alias("revenue"),
        F.min("_first").alias("_first"),
        F.max("_last").alias("_last"),
    )
    local = _to_polars(merged.toArrow()).sort(*_CELL_KEYS, nulls_last=True)
    return cohorts._finish(local.lazy(), pl.lit(end.date, pl.Date), step, align).collect()


# ---------------------------------------------------------------------------------------------
# scoring


def score(summary: DataFrame, model: clv.BetaGeo | Any, /, *, horizon: float | str) -> DataFrame:
    """Score every customer on the cluster with a fitted model: P(alive) and expected purchases.

    Parameters
    ----------
    summary
        A Spark DataFrame with ``customer_id``, ``frequency``, ``recency`` and ``T`` in the
        model's unit, e.g. from :func:`clv_summary`.
    model
        A fitted (or built) transaction model of :mod:`retailcrm.clv` (``BetaGeo``,
        ``ModifiedBetaGeo``, ``ParetoNBD``, ...): it is shipped to the executors, and its own
        ``predict`` runs on each partition. No shuffle.
    horizon
        As in the model's ``predict``: a number in the model's unit or a duration string
        (``"26w"``, ``"6mo"``).

    Returns
    -------
    pyspark.sql.DataFrame
        One row per summary row: ``customer_id``, ``p_alive``, ``p_churn``,
        ``expected_purchases`` (doubles), the columns of the model's ``predict``.

    Raises
    ------
    ArgumentError
        ``model`` has no ``predict`` method taking a summary.
    """
    caller = "spark.score"
    if not callable(getattr(model, "predict", None)) or not hasattr(model, "unit"):
        msg = (
            f"{caller}: model must be a transaction model of retailcrm.clv (BetaGeo, "
            f"ParetoNBD, ...); got {type(model).__name__}."
        )
        raise ArgumentError(msg)
    empty = _columns(summary, _SCORE, caller)
    model.predict(empty, horizon)  # checks the horizon before any Spark job

    def kernel(frame: pl.DataFrame) -> pl.DataFrame:
        return model.predict(frame, horizon)  # type: ignore[no-any-return]

    return _per_partition(summary, kernel, empty, shuffle=False, partitions=None)
