"""The canonical transaction schema, :func:`prepare`, and the two shared checks.

``require`` reads only a frame's schema (so a lazy plan stays lazy); ``forbid`` counts and shows
offending rows in one aggregate pass. Every public function checks its input with these two,
so every error reads alike: what is wrong, where, how many rows, one example, and the fix.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

import polars as pl

from retailcrm._errors import ArgumentError, ColumnError, DataError, InputTypeError

__all__ = ["CANONICAL", "Check", "FrameT", "forbid", "prepare", "require", "same_kind"]

FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
ColumnSpec = str | pl.Expr

#: The canonical columns, in the order :func:`prepare` returns them.
CANONICAL: tuple[str, ...] = (
    "customer_id",
    "order_id",
    "timestamp",
    "item",
    "brand",
    "category",
    "quantity",
    "amount",
    "margin",
    "channel",
)

_KINDS = ("any", "id", "numeric", "date or datetime", "string")


def _kind_ok(dtype: pl.DataType, kind: str) -> bool:
    if kind == "any":
        return True
    if kind == "id":
        return dtype.is_integer() or isinstance(dtype, (pl.String, pl.Categorical, pl.Enum))
    if kind == "numeric":
        return dtype.is_numeric()
    if kind == "date or datetime":
        return isinstance(dtype, (pl.Date, pl.Datetime))
    if kind == "string":
        return isinstance(dtype, (pl.String, pl.Categorical, pl.Enum))
    msg = f"unknown dtype kind {kind!r}; use one of {list(_KINDS)}"  # a bug in the caller
    raise AssertionError(msg)


def _check_frame(frame: object, caller: str) -> None:
    if not isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        kind = f"{type(frame).__module__}.{type(frame).__qualname__}"
        msg = (
            f"{caller}: expected a polars DataFrame or LazyFrame, got {kind}. "
            "Convert pandas or Arrow tables with retailcrm.prepare(frame, customer_id=..., "
            "timestamp=..., amount=...)."
        )
        raise InputTypeError(msg)


def require(frame: FrameT, needed: Mapping[str, str], /, *, caller: str) -> FrameT:
    """Check that ``frame`` has the ``needed`` columns with usable dtypes; return it unchanged.

    Only the schema is read, so a :class:`polars.LazyFrame` stays lazy.

    Parameters
    ----------
    frame
        The frame a public function received.
    needed
        Column name -> dtype kind: ``"any"``, ``"id"`` (integer or string-like),
        ``"numeric"``, ``"date or datetime"`` or ``"string"``.
    caller
        The public name to start the message with, e.g. ``"rfm.summary"``.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        ``frame`` itself.

    Raises
    ------
    InputTypeError
        ``frame`` is not a Polars frame.
    ColumnError
        A column is missing or has a dtype of the wrong kind.

    Examples
    --------
    >>> import polars as pl
    >>> require(pl.DataFrame({"customer_id": [1]}), {"amount": "numeric"}, caller="demo")
    Traceback (most recent call last):
    ...
    retailcrm._errors.ColumnError: demo: missing column(s) ['amount']; the frame has ...
    """
    _check_frame(frame, caller)
    schema = frame.collect_schema()
    missing = [name for name in needed if name not in schema]
    if missing:
        args = ", ".join(f"{name}=..." for name in missing)
        msg = (
            f"{caller}: missing column(s) {missing}; the frame has {list(schema.names())}. "
            f"Map your own names with retailcrm.prepare(frame, {args})."
        )
        raise ColumnError(msg)
    for name, kind in needed.items():
        dtype = schema[name]
        if not _kind_ok(dtype, kind):
            what = "integer or string" if kind == "id" else kind
            msg = (
                f"{caller}: column {name!r} is {dtype}; it must be {what}. Map it with "
                f"retailcrm.prepare(frame, {name}=...), which casts and checks it."
            )
            raise ColumnError(msg)
    return frame


def same_kind(result: pl.LazyFrame, /, *given: object) -> Any:
    """Return ``result`` lazy when any of the ``given`` inputs was lazy, else collect it once.

    Public functions build one lazy query whatever they were given (so an eager input gets the
    query optimiser too) and hand back the kind they received: lazy in, lazy out.
    """
    if any(isinstance(frame, pl.LazyFrame) for frame in given):
        return result
    return result.collect()


class Check(NamedTuple):
    """One row-level rule for :func:`forbid`: rows where ``bad`` is true are an error."""

    bad: pl.Expr
    problem: str
    fix: str
    show: Sequence[str]


def forbid(frame: pl.DataFrame | pl.LazyFrame, /, *checks: Check, caller: str) -> None:
    """Raise :class:`DataError` for the first check that some rows fail.

    All checks are evaluated in one aggregate query (for a LazyFrame: one streaming pass). The
    message counts the offending rows and shows the first one.

    Parameters
    ----------
    frame
        The rows to check.
    *checks
        Rules: ``Check(bad=expr, problem="...", fix="...", show=[columns to show])``.
    caller
        The public name to start the message with.

    Raises
    ------
    DataError
        ``"{caller}: {n} row(s) {problem}, e.g. {row}. {fix}"``.

    Examples
    --------
    >>> import polars as pl
    >>> tx = pl.DataFrame({"customer_id": [1, None], "amount": [1.0, 2.0]})
    >>> forbid(tx, Check(pl.col("customer_id").is_null(), "have a null customer_id",
    ...        "Drop them or fill them.", ["customer_id", "amount"]), caller="demo")
    Traceback (most recent call last):
    ...
    retailcrm._errors.DataError: demo: 1 row(s) have a null customer_id, e.g. ...
    """
    if not checks:
        return
    exprs: list[pl.Expr] = []
    for i, check in enumerate(checks):
        exprs.append(check.bad.fill_null(False).sum().alias(f"n{i}"))
        exprs.append(
            pl.struct(check.show).filter(check.bad.fill_null(False)).first().alias(f"e{i}")
        )
    counts = frame.lazy().select(exprs).collect().row(0)
    for i, check in enumerate(checks):
        n = counts[2 * i]
        if n:
            msg = f"{caller}: {n} row(s) {check.problem}, e.g. {counts[2 * i + 1]}. {check.fix}"
            raise DataError(msg)


# ---------------------------------------------------------------------------------------------
# prepare


def _to_polars(frame: object) -> pl.DataFrame | pl.LazyFrame:
    if isinstance(frame, (pl.DataFrame, pl.LazyFrame)):
        return frame
    module = type(frame).__module__.split(".")[0]
    if module == "pandas" and type(frame).__name__ == "DataFrame":
        index_names = [n for n in getattr(frame.index, "names", [None]) if n is not None]
        return pl.from_pandas(frame, include_index=bool(index_names))
    if module == "pyarrow" and type(frame).__name__ in ("Table", "RecordBatch"):
        converted = pl.from_arrow(frame)
        assert isinstance(converted, pl.DataFrame)  # a Table always gives a DataFrame
        return converted
    kind = f"{type(frame).__module__}.{type(frame).__qualname__}"
    msg = (
        f"prepare: expected a polars DataFrame or LazyFrame, a pandas DataFrame or a pyarrow "
        f"Table; got {kind}. Read files with polars first (pl.read_csv, pl.scan_parquet)."
    )
    raise InputTypeError(msg)


def _resolve(name: str, spec: object, schema: pl.Schema) -> pl.Expr:
    if isinstance(spec, str):
        if spec not in schema:
            close = difflib.get_close_matches(spec, schema.names(), n=3)
            hint = f" Did you mean {close}?" if close else ""
            msg = (
                f"prepare: {name}={spec!r} names no column; the frame has "
                f"{list(schema.names())}.{hint}"
            )
            raise ColumnError(msg)
        return pl.col(spec)
    if isinstance(spec, pl.Expr):
        unknown = [c for c in spec.meta.root_names() if c not in schema]
        if unknown:
            msg = (
                f"prepare: the expression for {name} uses column(s) {unknown} that the frame "
                f"does not have; it has {list(schema.names())}."
            )
            raise ColumnError(msg)
        return spec
    msg = (
        f"prepare: {name} must be a column name (str) or a polars expression; "
        f"got {type(spec).__name__}."
    )
    raise ArgumentError(msg)


def _ident(spec: object) -> str:
    return repr(spec) if isinstance(spec, str) else "the expression"


def _id_expr(name: str, spec: object, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_integer() or isinstance(dtype, (pl.String, pl.Categorical, pl.Enum)):
        return col
    if dtype.is_float():
        fix = f"pass {name}=pl.col(...).cast(pl.Int64) if the ids are whole numbers"
    else:
        fix = f"pass {name}=pl.col(...).cast(pl.String) to use its text"
    msg = f"prepare: {name} ({_ident(spec)}) is {dtype}; ids must be integers or strings: {fix}."
    raise ColumnError(msg)


def _timestamp_expr(spec: object, dtype: pl.DataType) -> pl.Expr:
    col = pl.col("timestamp")
    if isinstance(dtype, (pl.Date, pl.Datetime)):
        return col
    if isinstance(dtype, pl.String):
        return col.str.strip_chars().str.to_datetime(strict=False, time_unit="us")
    if dtype.is_integer():
        fix = (
            "for yyyymmdd numbers pass timestamp=pl.col(...).cast(pl.String).str.to_date('%Y%m%d');"
            " for Unix seconds pass timestamp=pl.from_epoch(...)"
        )
    else:
        fix = "pass timestamp=<an expression giving a Date or Datetime>"
    msg = f"prepare: timestamp ({_ident(spec)}) is {dtype}, not a date or datetime: {fix}."
    raise ColumnError(msg)


def _number_expr(name: str, spec: object, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if dtype.is_numeric():
        return col.cast(pl.Float64)
    if isinstance(dtype, pl.String):
        return col.str.strip_chars().cast(pl.Float64, strict=False)
    if isinstance(dtype, pl.Null):
        return col.cast(pl.Float64)
    msg = (
        f"prepare: {name} ({_ident(spec)}) is {dtype}, not numeric: "
        f"pass {name}=pl.col(...).cast(pl.Float64)."
    )
    raise ColumnError(msg)


def _label_expr(name: str, dtype: pl.DataType) -> pl.Expr:
    col = pl.col(name)
    if isinstance(dtype, (pl.String, pl.Categorical, pl.Enum)):
        return col
    return col.cast(pl.String)


def prepare(
    frame: Any,
    /,
    *,
    customer_id: ColumnSpec,
    timestamp: ColumnSpec,
    amount: ColumnSpec | None,
    order_id: ColumnSpec | None = None,
    item: ColumnSpec | None = None,
    brand: ColumnSpec | None = None,
    category: ColumnSpec | None = None,
    quantity: ColumnSpec | None = None,
    margin: ColumnSpec | None = None,
    channel: ColumnSpec | None = None,
    keep: Sequence[str] = (),
    validate: bool = True,
) -> pl.DataFrame | pl.LazyFrame:
    """Map a retailer's table onto the canonical transaction schema; cast and validate it.

    Each mapping argument is a column name or a Polars expression over the frame's columns
    (``amount=pl.col("Quantity") * pl.col("Price")``). Columns not mapped are dropped unless
    listed in ``keep``.

    Parameters
    ----------
    frame
        A Polars DataFrame or LazyFrame (the same kind comes back), a pandas DataFrame (a
        named index becomes a column) or a pyarrow Table (both come back as a DataFrame).
    customer_id
        Customer key: integers or strings (floats are rejected: cast them).
    timestamp
        Date or Datetime (a time zone is kept). Strings are parsed into ``Datetime("us")`` with
        Polars' format inference; for other layouts pass an expression such as
        ``pl.col("d").str.to_date("%d/%m/%Y")``.
    amount
        Net revenue of the line (negative = return); numbers or numeric strings, cast to
        Float64. ``None`` for data without money (basket-only data).
    order_id, item, brand, category, quantity, margin, channel
        Optional columns. ``order_id`` and ``item`` are ids like ``customer_id``; ``brand``,
        ``category`` and ``channel`` are labels (String, Categorical or Enum kept, anything else
        cast to String); ``quantity`` and ``margin`` are cast to Float64.
    keep
        Other columns to carry along unchanged, after the canonical ones.
    validate
        Check the rows (one aggregate pass; for a LazyFrame this reads the data once). Set False
        to defer all row checks to the functions downstream.

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        The canonical columns that were mapped, in the order ``customer_id``, ``order_id``,
        ``timestamp``, ``item``, ``brand``, ``category``, ``quantity``, ``amount``, ``margin``,
        ``channel``, followed by ``keep``.

    Raises
    ------
    InputTypeError
        ``frame`` is not a kind of table listed above.
    ColumnError
        A mapping names no column, an expression fails, or a dtype cannot be used.
    DataError
        Null customer ids, timestamps or order ids; timestamps or numbers that do not parse;
        NaN or infinite amounts, quantities or margins. The message counts the rows and shows one.

    Examples
    --------
    >>> import polars as pl
    >>> import retailcrm
    >>> raw = pl.DataFrame({"Customer": ["a", "b"], "Date": ["2024-01-02", "2024-01-05"],
    ...                     "Qty": [2, 1], "Price": [9.5, 20.0]})
    >>> tx = retailcrm.prepare(raw, customer_id="Customer", timestamp="Date",
    ...                        amount=pl.col("Qty") * pl.col("Price"), quantity="Qty")
    >>> tx.columns
    ['customer_id', 'timestamp', 'quantity', 'amount']
    >>> tx["amount"].to_list()
    [19.0, 20.0]
    """
    source = _to_polars(frame)
    schema = source.collect_schema()
    specs: dict[str, object] = {
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
    specs = {name: spec for name, spec in specs.items() if spec is not None}
    keep = list(keep)
    clash = [c for c in keep if c in specs or c not in schema]
    if clash:
        msg = (
            f"prepare: keep={clash} names columns that are not in the frame or that are "
            f"canonical names already mapped; the frame has {list(schema.names())}."
        )
        raise ColumnError(msg)
    raw = source.select(
        *[_resolve(name, spec, schema).alias(name) for name, spec in specs.items()],
        *[pl.col(c) for c in keep],
    )
    try:
        raw_schema = raw.collect_schema()
    except pl.exceptions.PolarsError as error:
        first_line = str(error).splitlines()[0]
        msg = (
            f"prepare: a mapping expression failed on this frame: {first_line}. Fix the expression."
        )
        raise ColumnError(msg) from None

    converted: dict[str, pl.Expr] = {}
    for name, spec in specs.items():
        dtype = raw_schema[name]
        if name in ("customer_id", "order_id", "item"):
            converted[name] = _id_expr(name, spec, dtype)
        elif name == "timestamp":
            converted[name] = _timestamp_expr(spec, dtype)
        elif name in ("amount", "quantity", "margin"):
            converted[name] = _number_expr(name, spec, dtype)
        else:
            converted[name] = _label_expr(name, dtype)

    result = raw.with_columns(**converted)
    if validate:
        _validate(raw, converted, specs, caller="prepare")
    return result


def _validate(
    raw: pl.DataFrame | pl.LazyFrame,
    converted: Mapping[str, pl.Expr],
    specs: Mapping[str, object],
    *,
    caller: str,
) -> None:
    checks: list[Check] = []
    for name in ("customer_id", "timestamp", "order_id"):
        if name in specs:
            checks.append(
                Check(
                    pl.col(name).is_null(),
                    f"have a null {name} ({_ident(specs[name])})",
                    f"Drop or fill those rows before prepare(); every row needs a {name}.",
                    list(specs)[:4],
                )
            )
    if "timestamp" in specs:
        checks.append(
            Check(
                converted["timestamp"].is_null() & pl.col("timestamp").is_not_null(),
                f"have a timestamp ({_ident(specs['timestamp'])}) that does not parse as a date",
                "Pass timestamp=pl.col(...).str.to_datetime('<format>') with the format used.",
                ["timestamp"],
            )
        )
    for name in ("amount", "quantity", "margin"):
        if name in specs:
            value = converted[name]
            checks.append(
                Check(
                    value.is_null() & pl.col(name).is_not_null(),
                    f"have a {name} ({_ident(specs[name])}) that does not parse as a number",
                    f"Clean the text or pass {name}=<a numeric expression>.",
                    [name],
                )
            )
            checks.append(
                Check(
                    value.is_null() | value.is_nan() | value.is_infinite(),
                    f"have a null, NaN or infinite {name} ({_ident(specs[name])})",
                    f"Drop or fix those rows before prepare(); {name} must be a finite number.",
                    list(dict.fromkeys([name, *list(specs)[:3]])),
                )
            )
    forbid(raw, *checks, caller=caller)
