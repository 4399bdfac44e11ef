"""Transactions to orders: the one definition of an order and of a purchase occasion.

Every module that counts orders (rfm, cohorts, clv, metrics) goes through :func:`orders`, so
"what is an order" and "what counts as a purchase" are decided once:

- an order is one ``order_id`` of a customer; without an ``order_id`` column, one customer-day
  (the local calendar date of ``timestamp``);
- an order's value is the net sum of its lines' ``amount`` (returns are negative lines);
- a **purchase occasion** is an order with a value > 0. A pure return (net value <= 0) is not.
"""

from __future__ import annotations

import polars as pl

from retailcrm._schema import FrameT

__all__ = ["PURCHASE", "orders"]

#: True for orders that are purchase occasions (net value > 0).
PURCHASE = pl.col("value") > 0


def orders(tx: FrameT, /, *, by: str = "order") -> FrameT:
    """One row per order, from canonical transactions already filtered to the window.

    ``by="day"`` makes every customer-day one order even when ``order_id`` exists (the BTYD
    convention: purchases on the same day count once).

    Returns
    -------
    pl.DataFrame or pl.LazyFrame
        ``customer_id``, ``order_date`` (Date, local date of the order's first line),
        ``timestamp`` (the first line's), ``last_timestamp`` (the last line's) and ``value``
        (Float64, net amount). Row order is not defined.
    """
    ts = pl.col("timestamp")
    if by == "order" and "order_id" in tx.collect_schema():
        return (
            tx.group_by("customer_id", "order_id")
            .agg(
                order_date=ts.min().dt.date(),
                timestamp=ts.min(),
                last_timestamp=ts.max(),
                value=pl.col("amount").sum(),
            )
            .drop("order_id")
        )
    return tx.group_by("customer_id", order_date=ts.dt.date()).agg(
        timestamp=ts.min(),
        last_timestamp=ts.max(),
        value=pl.col("amount").sum(),
    )
