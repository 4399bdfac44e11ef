"""Helpers shared by the segment functions: kinds of frames, shares, keyed frames, selectors."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import polars as pl

from retailcrm._errors import ArgumentError, ColumnError, RetailCRMWarning
from retailcrm._schema import Check, FrameT, forbid, require, same_kind

__all__ = ["_NEEDED", "Selector", "_keyed", "_same_kind", "_selector", "_share", "_warn"]

_NEEDED = {"customer_id": "any", "timestamp": "date or datetime", "amount": "numeric"}

#: A row selection: a boolean Polars expression, or ``{column: value or list of values}``.
Selector = pl.Expr | Mapping[str, Any]


_same_kind = same_kind  # the shared rule: lazy in, lazy out; eager input collected once


def _share(column: str) -> pl.Expr:
    total = pl.col(column).sum()
    return pl.when(total != 0).then(pl.col(column) / total).cast(pl.Float64)


def _keyed(frame: FrameT, by: str, key_dtype: pl.DataType, caller: str, name: str) -> pl.LazyFrame:
    """Select ``customer_id`` (cast to ``key_dtype``) and ``by``; refuse repeated ids."""
    require(frame, {"customer_id": "any", by: "any"}, caller=caller)
    have = frame.collect_schema()["customer_id"]
    if have != key_dtype:
        numeric = have.is_integer() and key_dtype.is_integer()
        textual = all(
            isinstance(d, (pl.String, pl.Categorical, pl.Enum)) for d in (have, key_dtype)
        )
        if not (numeric or textual):
            msg = (
                f"{caller}: customer_id of {name} is {have} but {key_dtype} in the other frame; "
                f"the ids must be of one kind. Cast one of them, e.g. "
                f"{name}.with_columns(pl.col('customer_id').cast(pl.{key_dtype}))."
            )
            raise ColumnError(msg)
    if isinstance(frame, pl.DataFrame):
        forbid(
            frame,
            Check(
                pl.col("customer_id").is_duplicated(),
                f"of {name} repeat a customer_id",
                f"Each customer must be in one segment: keep one row per customer_id of {name}.",
                ["customer_id", by],
            ),
            caller=caller,
        )
    return frame.lazy().select(pl.col("customer_id").cast(key_dtype), pl.col(by))


def _selector(spec: object, schema: pl.Schema, name: str, caller: str) -> tuple[pl.Expr, list[str]]:
    """Build a boolean row expression from ``spec``; also why it can match nothing."""
    if isinstance(spec, pl.Expr):
        unknown = [c for c in spec.meta.root_names() if c not in schema]
        if unknown:
            msg = (
                f"{caller}: the expression for {name} uses column(s) {unknown} that the frame "
                f"does not have; it has {list(schema.names())}."
            )
            raise ColumnError(msg)
        dtype = pl.LazyFrame(schema=schema).select(spec).collect_schema().dtypes()[0]
        if dtype != pl.Boolean:
            msg = (
                f"{caller}: {name} must be a boolean expression (e.g. pl.col('brand') == 'X'); "
                f"this one gives {dtype}."
            )
            raise ArgumentError(msg)
        return spec.fill_null(False), []
    if not isinstance(spec, Mapping) or not spec:
        msg = (
            f"{caller}: {name} must be a boolean polars expression or a non-empty mapping "
            f"{{column: value or list of values}}, e.g. {{'brand': 'Acorn Farms'}}; got {spec!r}."
        )
        raise ArgumentError(msg)
    unknown = [c for c in spec if c not in schema]
    if unknown:
        msg = (
            f"{caller}: {name} names column(s) {unknown} that the frame does not have; it has "
            f"{list(schema.names())}. Use item, brand, category (or any column) as the level."
        )
        raise ColumnError(msg)
    parts: list[pl.Expr] = []
    problems: list[str] = []
    for column, value in spec.items():
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if any(v is None for v in values):
            msg = (
                f"{caller}: {name}[{column!r}] holds None; null {column} values never match. "
                f"Select them with an expression: pl.col({column!r}).is_null()."
            )
            raise ArgumentError(msg)
        dtype = schema[column]
        if isinstance(dtype, pl.Enum):
            known = set(dtype.categories.to_list())
            missing = [v for v in values if v not in known]
            if missing:
                problems.append(f"{column} has no value(s) {missing}")
            values = [v for v in values if v in known]
        if not values:
            parts.append(pl.lit(False))
        else:
            parts.append(
                pl.col(column).is_in(pl.Series(values, dtype=dtype).implode()).fill_null(False)
            )
    return pl.all_horizontal(parts), problems


def _warn(msg: str) -> None:
    warnings.warn(msg, RetailCRMWarning, stacklevel=3)
