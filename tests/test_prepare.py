from __future__ import annotations

import datetime as dt
import subprocess
import sys
from datetime import date

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import retailcrm
from retailcrm import ArgumentError, ColumnError, DataError, InputTypeError, RetailCRMError


@pytest.fixture
def raw() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "Customer": ["c1", "c1", "c2"],
            "Invoice": [10, 10, 11],
            "Date": ["2024-01-02", "2024-01-02", "2024-02-05 13:45:00"],
            "SKU": ["A", "B", "A"],
            "Qty": [2, 1, 3],
            "Price": [9.5, 20.0, 9.5],
            "Shop": ["online", "online", "store"],
            "Note": ["x", "y", "z"],
        }
    )


def _prepare(frame: object, **overrides: object) -> pl.DataFrame | pl.LazyFrame:
    args: dict[str, object] = {
        "customer_id": "Customer",
        "order_id": "Invoice",
        "timestamp": "Date",
        "item": "SKU",
        "quantity": "Qty",
        "amount": pl.col("Qty") * pl.col("Price"),
        "channel": "Shop",
    }
    args.update(overrides)
    return retailcrm.prepare(frame, **args)  # type: ignore[arg-type]


def test_prepare_maps_casts_and_orders_columns(raw: pl.DataFrame) -> None:
    tx = _prepare(raw, keep=["Note"])
    assert isinstance(tx, pl.DataFrame)
    assert tx.columns == [
        "customer_id",
        "order_id",
        "timestamp",
        "item",
        "quantity",
        "amount",
        "channel",
        "Note",
    ]
    assert tx.schema["timestamp"] == pl.Datetime("us")
    assert tx["timestamp"].to_list() == [
        dt.datetime(2024, 1, 2),
        dt.datetime(2024, 1, 2),
        dt.datetime(2024, 2, 5, 13, 45),
    ]
    assert tx["amount"].to_list() == [19.0, 20.0, 28.5]
    assert tx.schema["quantity"] == pl.Float64
    assert tx.schema["channel"] == pl.String


def test_prepare_lazy_in_lazy_out(raw: pl.DataFrame) -> None:
    lazy = _prepare(raw.lazy())
    assert isinstance(lazy, pl.LazyFrame)
    assert_frame_equal(lazy.collect(), _prepare(raw))


def test_prepare_round_trips_from_pandas_and_arrow(raw: pl.DataFrame) -> None:
    pytest.importorskip("pandas")
    pytest.importorskip("pyarrow")
    expected = _prepare(raw)
    assert_frame_equal(_prepare(raw.to_pandas()), expected)
    assert_frame_equal(_prepare(raw.to_arrow()), expected)
    # a named pandas index (as lifetimes returns) becomes a column
    indexed = raw.to_pandas().set_index("Customer")
    assert_frame_equal(_prepare(indexed), expected)


def test_prepare_keeps_dates_and_time_zones(raw: pl.DataFrame) -> None:
    dated = raw.with_columns(pl.col("Date").str.slice(0, 10).str.to_date())
    assert _prepare(dated).schema["timestamp"] == pl.Date
    zoned = raw.with_columns(pl.col("Date").str.to_datetime().dt.replace_time_zone("Asia/Tokyo"))
    assert _prepare(zoned).schema["timestamp"] == pl.Datetime("us", "Asia/Tokyo")


def test_prepare_is_idempotent_on_canonical_frames(raw: pl.DataFrame) -> None:
    tx = _prepare(raw)
    again = retailcrm.prepare(
        tx,
        customer_id="customer_id",
        order_id="order_id",
        timestamp="timestamp",
        item="item",
        quantity="quantity",
        amount="amount",
        channel="channel",
    )
    assert_frame_equal(again, tx)


def test_prepare_does_not_mutate_input(raw: pl.DataFrame) -> None:
    before = raw.clone()
    _prepare(raw)
    assert_frame_equal(raw, before)


def test_prepare_empty_frame_gives_empty_canonical_frame(raw: pl.DataFrame) -> None:
    tx = _prepare(raw.clear())
    assert tx.height == 0
    assert tx.schema["amount"] == pl.Float64


def test_prepare_allows_no_amount_for_basket_data(raw: pl.DataFrame) -> None:
    tx = _prepare(raw, amount=None, quantity=None, channel=None)
    assert tx.columns == ["customer_id", "order_id", "timestamp", "item"]


# --------------------------------------------------------------------------- bad input


def test_unknown_column_suggests_close_names(raw: pl.DataFrame) -> None:
    with pytest.raises(
        ColumnError, match=r"customer_id='Customr' names no column.*Did you mean \['Customer'\]"
    ):
        _prepare(raw, customer_id="Customr")


def test_expression_with_unknown_column(raw: pl.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"expression for amount uses column\(s\) \['Prize'\]"):
        _prepare(raw, amount=pl.col("Qty") * pl.col("Prize"))


def test_expression_that_fails_on_the_frame(raw: pl.DataFrame) -> None:
    with pytest.raises(ColumnError, match=r"a mapping expression failed on this frame"):
        _prepare(raw.lazy(), amount=pl.col("SKU") + 1)


@pytest.mark.parametrize(
    ("override", "error", "pattern"),
    [
        (
            {"customer_id": pl.col("Price")},
            ColumnError,
            r"customer_id \(the expression\) is Float64; ids must be integers or strings.*cast\(pl.Int64\)",
        ),
        (
            {"timestamp": "Qty"},
            ColumnError,
            r"timestamp \('Qty'\) is Int64, not a date or datetime.*%Y%m%d",
        ),
        (
            {"amount": pl.col("Date").str.len_chars() > 3},
            ColumnError,
            r"amount \(the expression\) is Boolean, not numeric",
        ),
        (
            {"customer_id": 5},
            ArgumentError,
            r"customer_id must be a column name \(str\) or a polars expression; got int",
        ),
        (
            {"keep": ["Nope"]},
            ColumnError,
            r"keep=\[.Nope.\] names columns that are not in the frame",
        ),
    ],
)
def test_wrong_dtypes_name_the_column_and_the_fix(
    raw: pl.DataFrame, override: dict, error: type, pattern: str
) -> None:
    with pytest.raises(error, match=pattern):
        _prepare(raw, **override)


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        (
            pl.when(pl.col("Qty") == 1).then(None).otherwise(pl.col("Customer")).alias("Customer"),
            r"1 row\(s\) have a null customer_id \('Customer'\), e.g. \{'customer_id': None, 'order_id': 10",
        ),
        (
            pl.when(pl.col("Qty") == 3)
            .then(pl.lit("05/02/2024"))
            .otherwise(pl.col("Date"))
            .alias("Date"),
            r"1 row\(s\) have a timestamp \('Date'\) that does not parse as a date, e.g. \{'timestamp': '05/02/2024'\}",
        ),
        (
            pl.when(pl.col("Qty") == 3).then(None).otherwise(pl.col("Date")).alias("Date"),
            r"1 row\(s\) have a null timestamp",
        ),
        (
            pl.when(pl.col("Qty") == 3)
            .then(float("nan"))
            .otherwise(pl.col("Price"))
            .alias("Price"),
            r"1 row\(s\) have a null, NaN or infinite amount \(the expression\), e.g. \{'amount': nan",
        ),
        (
            pl.when(pl.col("Qty") == 1)
            .then(float("inf"))
            .otherwise(pl.col("Price"))
            .alias("Price"),
            r"1 row\(s\) have a null, NaN or infinite amount",
        ),
        (
            pl.when(pl.col("Qty") > 1).then(None).otherwise(pl.col("Invoice")).alias("Invoice"),
            r"2 row\(s\) have a null order_id \('Invoice'\)",
        ),
    ],
)
@pytest.mark.parametrize("lazy", [False, True])
def test_bad_rows_are_counted_and_shown(
    raw: pl.DataFrame, change: pl.Expr, pattern: str, lazy: bool
) -> None:
    frame = raw.with_columns(change)
    with pytest.raises(DataError, match=pattern):
        _prepare(frame.lazy() if lazy else frame)


def test_amount_strings_are_parsed_or_reported(raw: pl.DataFrame) -> None:
    text = raw.with_columns(Total=pl.Series([" 19.0", "20", "28.5"]))
    assert _prepare(text, amount="Total")["amount"].to_list() == [19.0, 20.0, 28.5]
    bad = raw.with_columns(Total=pl.Series(["19.0", "20 EUR", "28.5"]))
    with pytest.raises(
        DataError,
        match=r"1 row\(s\) have a amount \('Total'\) that does not parse as a number, e.g. \{'amount': '20 EUR'\}",
    ):
        _prepare(bad, amount="Total")


def test_validate_false_defers_row_checks(raw: pl.DataFrame) -> None:
    frame = raw.with_columns(Price=pl.lit(float("nan")))
    out = _prepare(frame.lazy(), validate=False)
    assert isinstance(out, pl.LazyFrame)


def test_not_a_frame() -> None:
    with pytest.raises(
        InputTypeError,
        match=r"expected a polars DataFrame or LazyFrame, a pandas DataFrame or a pyarrow Table; got builtins.dict",
    ):
        retailcrm.prepare({"a": [1]}, customer_id="a", timestamp="a", amount="a")


def test_error_family() -> None:
    for cls in (ColumnError, DataError, ArgumentError):
        assert issubclass(cls, RetailCRMError)
        assert issubclass(cls, ValueError)
    assert issubclass(InputTypeError, TypeError)
    assert issubclass(retailcrm.ConvergenceError, RuntimeError)


def test_as_of_datetime_and_dates(raw: pl.DataFrame) -> None:
    from retailcrm import rfm

    tx = _prepare(raw)
    # a date keeps that whole day; a datetime keeps rows up to that instant
    assert rfm.summary(tx, as_of=date(2024, 2, 5)).height == 2
    assert rfm.summary(tx, as_of=dt.datetime(2024, 2, 5, 13, 0)).height == 1
    aware = dt.datetime(2024, 2, 5, 12, 45, tzinfo=dt.timezone(dt.timedelta(hours=-1)))
    assert rfm.summary(tx, as_of=aware).height == 2  # 13:45 UTC


def test_import_loads_no_heavy_optional_dependency() -> None:
    code = (
        "import sys, retailcrm; "
        "print(sorted(m for m in ('matplotlib', 'pandas', 'pyarrow', 'lifetimes') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_version() -> None:
    assert retailcrm.__version__.count(".") == 2
