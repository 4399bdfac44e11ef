"""retailcrm: retail customer analytics on Polars.

Turn a retailer's transaction table into RFM scores and segments, cohort matrices, CLV and churn
probabilities, next-best-purchase rules, segments and CRM KPIs, each returned as a Polars frame.

Start with :func:`prepare`, which maps your columns onto the canonical schema::

    import retailcrm
    tx = retailcrm.prepare(raw, customer_id="CustomerID", timestamp="InvoiceDate",
                           amount=pl.col("Quantity") * pl.col("UnitPrice"), order_id="InvoiceNo")
    retailcrm.rfm.segments(retailcrm.rfm.scores(tx))
"""

from __future__ import annotations

from retailcrm import (
    alerts,
    assortment,
    basket,
    campaigns,
    clv,
    cohorts,
    datasets,
    metrics,
    profiles,
    replenishment,
    rfm,
    segments,
)
from retailcrm._errors import (
    ArgumentError,
    ColumnError,
    ConvergenceError,
    DataError,
    InputTypeError,
    MissingDependencyError,
    RetailCRMError,
    RetailCRMWarning,
)
from retailcrm._schema import prepare

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "ColumnError",
    "ConvergenceError",
    "DataError",
    "InputTypeError",
    "MissingDependencyError",
    "RetailCRMError",
    "RetailCRMWarning",
    "__version__",
    "alerts",
    "assortment",
    "basket",
    "campaigns",
    "clv",
    "cohorts",
    "datasets",
    "metrics",
    "prepare",
    "profiles",
    "replenishment",
    "rfm",
    "segments",
]
