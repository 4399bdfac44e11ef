"""retailcrm.spark: every result on a local[2] Spark session equals the single-machine one.

Counts and dates must be equal exactly; floats exactly too where the same Polars kernel computes
them from the same rows (per-customer results, scores), and to a relative 1e-12 where Spark sums
partial floats in another order (cohort revenue). The default ``as_of`` must be the global last
timestamp: with several partitions a per-partition default would change recency and T of most
customers, and these comparisons would fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from retailcrm import clv, cohorts, datasets, rfm
from retailcrm import spark as rs
from retailcrm._errors import ArgumentError, ColumnError, DataError, InputTypeError

pytestmark = pytest.mark.filterwarnings(
    # pyspark 4.3 warns on every Arrow UDF that it has not been validated against pandas 3
    "ignore:PySpark does not yet fully support pandas:FutureWarning"
)

PARTITIONS = 3  # several partitions, so a per-partition as_of or a split customer would show


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    # CI sets RETAILCRM_REQUIRE_SPARK=1: there a missing pyspark or Java fails, never skips
    give_up = pytest.fail if os.environ.get("RETAILCRM_REQUIRE_SPARK") == "1" else pytest.skip
    try:
        import pyspark  # noqa: F401
    except ImportError:
        give_up('pyspark is not installed: pip install "retailcrm-analytics[spark]"')
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        give_up("Spark needs Java 17+: no java on PATH and no JAVA_HOME")
    from pyspark.sql import SparkSession

    previous = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable  # workers use this interpreter (polars)
    session = (
        SparkSession.builder.master("local[2]")
        .appName("retailcrm-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "1g")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
    if previous is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = previous


@pytest.fixture(scope="module")
def tx() -> pl.DataFrame:
    """2,000 simulated customers; only the last buyer has rows after June 2024.

    So the global last timestamp (December 2024) is in one partition only, and a partition's
    own last day would differ from it in the others.
    """
    full = datasets.simulate(2000, seed=1).select("customer_id", "order_id", "timestamp", "amount")
    last = full.sort("timestamp")["customer_id"][-1]
    late = pl.col("timestamp") >= datetime(2024, 7, 1)
    return full.filter(~late | (pl.col("customer_id") == last))


@pytest.fixture(scope="module")
def sdf(spark: Any, tx: pl.DataFrame) -> Any:
    return spark.createDataFrame(tx.to_arrow()).cache()


def home(sdf: Any, like: pl.DataFrame) -> pl.DataFrame:
    """A Spark result as Polars, in ``like``'s row order and dtypes.

    Spark has no unsigned integers (counts come back as long) and reads naive timestamps as
    UTC instants (the session time zone is UTC here), so both are mapped back; the values
    themselves are compared untouched.
    """
    frame = pl.from_arrow(sdf.toArrow())
    assert isinstance(frame, pl.DataFrame)
    zoned = [n for n, d in frame.schema.items() if isinstance(d, pl.Datetime) and d.time_zone]
    frame = frame.with_columns(pl.col(zoned).dt.replace_time_zone(None))
    return frame.cast(dict(like.schema)).sort("customer_id")


def assert_same(got: pl.DataFrame, expected: pl.DataFrame) -> None:
    """Equal exactly, except float columns to a relative 1e-12 (sums taken in another order)."""
    floats = [n for n, d in expected.schema.items() if d == pl.Float64]
    assert got.schema == expected.schema
    assert_frame_equal(got.drop(floats), expected.drop(floats), check_exact=True)
    assert_frame_equal(got.select(floats), expected.select(floats), rel_tol=1e-12, abs_tol=0)


# ---------------------------------------------------------------------------------------------
# per-customer results


@pytest.mark.parametrize("as_of", [None, datetime(2024, 3, 1, 12, 0)])
def test_rfm_summary_equals_single_machine(sdf: Any, tx: pl.DataFrame, as_of: Any) -> None:
    expected = rfm.summary(tx, as_of=as_of)
    got = home(rs.rfm_summary(sdf, as_of=as_of, partitions=PARTITIONS), expected)
    assert_same(got, expected)
    customers = tx["customer_id"].n_unique()
    assert got.height == customers if as_of is None else 0 < got.height < customers


def test_rfm_summary_keeps_naive_timestamps_and_dates(
    spark: Any, sdf: Any, tx: pl.DataFrame
) -> None:
    from pyspark.sql import functions as F  # noqa: N812 - the PySpark idiom

    # TimestampNTZ stays naive: no dtype mapping needed at all, except the unsigned count
    ntz = sdf.withColumn("timestamp", F.col("timestamp").cast("timestamp_ntz"))
    raw = pl.from_arrow(rs.rfm_summary(ntz, partitions=PARTITIONS).toArrow())
    assert isinstance(raw, pl.DataFrame)
    expected = rfm.summary(tx)
    assert raw.schema["last_purchase"] == pl.Datetime("us")
    assert raw.schema["frequency"] == pl.Int64
    assert_same(raw.sort("customer_id").cast({"frequency": pl.UInt32}), expected)

    # Date timestamps and string ids
    days = tx.with_columns(pl.col("timestamp").dt.date(), pl.format("c{}", "customer_id"))
    sdays = spark.createDataFrame(days.to_arrow())
    expected = rfm.summary(days, as_of="2024-09-30")
    got = home(rs.rfm_summary(sdays, as_of="2024-09-30", partitions=PARTITIONS), expected)
    assert_same(got, expected)


@pytest.mark.parametrize(
    ("as_of", "unit", "calibration_end"),
    [(None, "1w", None), ("2024-09-30", "1d", None), ("2024-12-31", "1w", "2024-06-30")],
)
def test_clv_summary_equals_single_machine(
    sdf: Any, tx: pl.DataFrame, as_of: Any, unit: str, calibration_end: Any
) -> None:
    expected = clv.summary(tx, as_of=as_of, unit=unit, calibration_end=calibration_end)
    got = rs.clv_summary(
        sdf, as_of=as_of, unit=unit, calibration_end=calibration_end, partitions=PARTITIONS
    )
    assert_same(home(got, expected), expected)


def test_compressed_summary_is_the_local_compression_and_gives_the_same_fit(
    sdf: Any, tx: pl.DataFrame
) -> None:
    local = clv.summary(tx, unit="1w")
    expected = (
        local.group_by("frequency", "recency", "T").len("weight").sort("frequency", "recency", "T")
    )
    got = rs.clv_summary(sdf, unit="1w", compress=True, partitions=PARTITIONS)
    assert_same(got, expected)
    assert got["weight"].sum() == local.height == tx["customer_id"].n_unique()
    assert got.height < local.height  # it does compress

    fitted = clv.BetaGeo.fit(got, unit="1w", weights="weight")
    reference = clv.BetaGeo.fit(local, unit="1w")
    for name, value in reference.params.items():
        assert fitted.params[name] == pytest.approx(value, rel=1e-9)
    assert fitted.n_customers == local.height


# ---------------------------------------------------------------------------------------------
# additive results


@pytest.mark.parametrize(
    ("period", "as_of", "align"),
    [
        ("1mo", None, "calendar"),
        ("1q", "2024-08-15", "calendar"),
        ("1mo", None, "first_purchase"),
        ("2w", "2023-12-31", "first_purchase"),
    ],
)
def test_cohort_table_equals_single_machine(
    sdf: Any, tx: pl.DataFrame, period: str, as_of: Any, align: Any
) -> None:
    expected = cohorts.table(tx, period=period, as_of=as_of, align=align)
    got = rs.cohort_table(sdf, period=period, as_of=as_of, align=align, partitions=PARTITIONS)
    assert_same(got, expected)
    assert got["active_customers"].null_count() > 0 or align == "calendar"


def test_cohort_table_of_no_rows_is_the_empty_table(spark: Any, sdf: Any) -> None:
    got = rs.cohort_table(sdf.limit(0))
    empty = pl.from_arrow(sdf.limit(0).toArrow())
    assert isinstance(empty, pl.DataFrame)
    assert_frame_equal(got, cohorts.table(empty))
    assert got.height == 0


# ---------------------------------------------------------------------------------------------
# scoring back on the cluster


def test_score_equals_the_models_own_predictions(sdf: Any, tx: pl.DataFrame) -> None:
    summary = rs.clv_summary(sdf, unit="1w", partitions=PARTITIONS)
    model = clv.BetaGeo.fit(
        rs.clv_summary(sdf, unit="1w", compress=True), unit="1w", weights="weight"
    )
    expected = model.predict(clv.summary(tx, unit="1w"), "26w")
    got = home(rs.score(summary, model, horizon="26w"), expected)
    assert_same(got, expected)
    assert 0.0 < got["p_alive"].min() < got["p_alive"].max() <= 1.0


# ---------------------------------------------------------------------------------------------
# prepare


def test_prepare_maps_casts_and_matches_retailcrm_prepare(spark: Any) -> None:
    from pyspark.sql import functions as F  # noqa: N812 - the PySpark idiom

    import retailcrm

    raw = pl.DataFrame(
        {
            "Cust": [3, 1, 1],
            "When": ["2024-01-02 10:00:00", "2024-01-05 00:00:00", "2024-02-01 08:30:00"],
            "Qty": [2, 1, 4],
            "Price": [9.5, 20.0, 1.25],
            "Shop": ["web", "store", "web"],
        }
    )
    got = rs.prepare(
        spark.createDataFrame(raw.to_arrow()),
        customer_id="Cust",
        timestamp="When",
        amount=F.col("Qty") * F.col("Price"),
        quantity="Qty",
        channel="Shop",
    )
    assert got.columns == ["customer_id", "timestamp", "quantity", "amount", "channel"]
    expected = retailcrm.prepare(
        raw,
        customer_id="Cust",
        timestamp="When",
        amount=pl.col("Qty") * pl.col("Price"),
        quantity="Qty",
        channel="Shop",
    )
    assert isinstance(expected, pl.DataFrame)
    assert_frame_equal(home(got, expected), expected.sort("customer_id"), check_exact=True)


def test_prepare_errors_name_the_column_the_count_and_the_fix(spark: Any) -> None:
    sdf = spark.createDataFrame(
        [(1, "2024-01-01", 5.0), (None, "2024-01-02", 2.0), (2, "not a day", 1.0)],
        "cust long, day string, net double",
    )
    with pytest.raises(ColumnError, match=r"customer_id='client' names no column; .*\['cust'"):
        rs.prepare(sdf, customer_id="client", timestamp="day", amount="net")
    with pytest.raises(ColumnError, match=r"customer_id is double; ids must be .*cast\('long'\)"):
        rs.prepare(sdf, customer_id=sdf["net"], timestamp="day", amount="net")
    with pytest.raises(DataError, match=r"1 row\(s\) have a null customer_id, e\.g\. .*dropna"):
        rs.prepare(sdf, customer_id="cust", timestamp="day", amount="net")
    clean = sdf.dropna(subset=["cust"])
    with pytest.raises(DataError, match=r"1 row\(s\) have a timestamp that does not parse.*not a"):
        rs.prepare(clean, customer_id="cust", timestamp="day", amount="net")
    ok = rs.prepare(clean, customer_id="cust", timestamp="day", amount="net", validate=False)
    assert ok.count() == 2


# ---------------------------------------------------------------------------------------------
# checks before any Spark job


def test_arguments_are_checked_on_the_driver(spark: Any, sdf: Any) -> None:
    with pytest.raises(InputTypeError, match=r"expected a pyspark.sql.DataFrame, got polars"):
        rs.rfm_summary(pl.DataFrame({"customer_id": [1]}))  # type: ignore[arg-type]
    with pytest.raises(ColumnError, match=r"missing column\(s\) \['amount'\].*spark\.prepare"):
        rs.clv_summary(sdf.drop("amount"))
    with pytest.raises(ArgumentError, match=r"as_of must be a date.*got 'yesterday'"):
        rs.rfm_summary(sdf, as_of="yesterday")
    with pytest.raises(ArgumentError, match=r"calibration_end=.*needs an explicit as_of"):
        rs.clv_summary(sdf, calibration_end=date(2024, 6, 30))
    with pytest.raises(ArgumentError, match=r"compress=True .* holdout columns"):
        rs.clv_summary(sdf, as_of="2024-12-31", calibration_end="2024-06-30", compress=True)
    with pytest.raises(ArgumentError, match=r"period must be .*got '1m'"):
        rs.cohort_table(sdf, period="1m")
    with pytest.raises(ArgumentError, match=r"partitions must be a whole number >= 1.*got 0"):
        rs.rfm_summary(sdf, partitions=0)
    with pytest.raises(ArgumentError, match=r"model must be a transaction model.*got dict"):
        rs.score(sdf, {}, horizon=4)


def test_import_retailcrm_spark_does_not_load_pyspark_or_pyarrow() -> None:
    code = (
        "import sys, retailcrm, retailcrm.spark\n"
        "print(sorted(m for m in ('pyspark', 'pyarrow', 'py4j') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_missing_pyspark_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(
        ImportError, match=r'needs pyspark .*pip install "retailcrm-analytics\[spark\]"'
    ):
        rs.rfm_summary(object())  # type: ignore[arg-type]
