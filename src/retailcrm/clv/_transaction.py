"""Predictions shared by the transaction models (BG/NBD, Pareto/NBD, MBG/NBD).

Each model supplies numpy kernels ``_p_alive_np(x, t_x, T)`` and ``_conditional_np(x, T, t)``
(the expected number of purchases in the next ``t`` units of a customer still alive at ``T``
after ``x`` repeat purchases: it does not depend on ``t_x``, so it can be computed once per
distinct ``(x, T)``). Their product ``_expected_np(x, t_x, T, t)`` is the expectation given the
history; with ``x = t_x = T = 0`` it is the expectation for a new customer. The distribution
of the number of purchases comes from :mod:`retailcrm.clv._pmf`. The methods here check the
input, wrap the kernels as elementwise Polars expressions (so a LazyFrame stays lazy and
streams) and name the output columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import numpy as np
import polars as pl

from retailcrm._errors import ArgumentError
from retailcrm._schema import forbid, require
from retailcrm.clv._base import ModelMixin, horizon_in_units, numpy_columns, summary_checks

__all__ = ["TransactionModel"]

_COLUMNS = ("frequency", "recency", "T")
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


class TransactionModel(ModelMixin):
    """Prediction methods of the models of repeat purchasing."""

    __slots__ = ()

    unit: str

    def _p_alive_np(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover

    def _conditional_np(self, x: np.ndarray, T: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        """Expected purchases in the next ``t`` for a customer alive at ``T`` after ``x``."""
        raise NotImplementedError  # pragma: no cover

    def _expected_np(
        self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: np.ndarray | float
    ) -> np.ndarray:
        """Expected purchases in the next ``t``: P(alive) times the expectation if alive."""
        return self._p_alive_np(x, t_x, T) * self._conditional_np(x, T, t)

    def _input(self, summary: FrameT, method: str) -> tuple[FrameT, str]:
        caller = f"clv.{type(self).__name__}.{method}"
        needed = {"customer_id": "any"} | dict.fromkeys(_COLUMNS, "numeric")
        require(summary, needed, caller=caller)
        if isinstance(summary, pl.DataFrame):
            forbid(summary, *summary_checks(_COLUMNS, integer=("frequency",)), caller=caller)
        return summary, caller

    def p_alive(self, summary: FrameT, /) -> FrameT:
        """Probability that each customer is still active at the end of their history.

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``recency``, ``T`` in the model's ``unit`` (as from
            :func:`retailcrm.clv.summary`). Rows of a DataFrame are checked; a LazyFrame is not
            read, so invalid rows there give NaN.

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``p_alive`` (f64 in [0, 1]).
            Churn probability is ``1 - p_alive``.
        """
        frame, _ = self._input(summary, "p_alive")
        return frame.select("customer_id", p_alive=numpy_columns(self._p_alive_np, _COLUMNS))

    def expected_purchases(self, summary: FrameT, /, t: float | str) -> FrameT:
        """Predict the number of purchases in the next ``t`` time units, given each history.

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``recency``, ``T`` in the model's ``unit``.
        t
            The horizon: a number in the model's ``unit``, or a duration string (``"26w"``,
            ``"90d"``, ``"6mo"``) that is converted (months are 365.2425 / 12 days).

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``expected_purchases`` (f64).
        """
        frame, caller = self._input(summary, "expected_purchases")
        span = horizon_in_units(t, self.unit, name="t", caller=caller)

        def kernel(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
            return self._expected_np(x, t_x, T, span)

        return frame.select("customer_id", expected_purchases=numpy_columns(kernel, _COLUMNS))

    def expected_purchases_new(
        self, t: float | str | Sequence[float | str] | np.ndarray
    ) -> pl.DataFrame:
        """Predict the number of purchases of a new customer in their first ``t`` time units.

        Parameters
        ----------
        t
            One horizon or several: numbers in the model's ``unit`` or duration strings.

        Returns
        -------
        pl.DataFrame
            One row per horizon: ``t`` (f64, in the model's unit), ``expected_purchases`` (f64).
        """
        caller = f"clv.{type(self).__name__}.expected_purchases_new"
        many = list(t) if isinstance(t, (Sequence, np.ndarray)) and not isinstance(t, str) else [t]
        if len(many) == 0:
            msg = f"{caller}: t is an empty sequence; pass at least one horizon."
            raise ArgumentError(msg)
        spans = np.array([horizon_in_units(v, self.unit, name="t", caller=caller) for v in many])
        zero = np.zeros_like(spans)
        values = self._expected_np(zero, zero, zero, spans)
        return pl.DataFrame({"t": spans, "expected_purchases": values})

    def p_purchases(self, summary: FrameT, /, n: int, t: float | str) -> FrameT:
        r"""Probability that each customer makes exactly ``n`` purchases in the next ``t``.

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``recency``, ``T`` in the model's ``unit``.
        n
            The number of purchases (whole number >= 0).
        t
            The horizon: a number in the model's ``unit`` or a duration string (``"26w"``).

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``probability`` (f64).

        Notes
        -----
        :math:`P(X(T, T+t) = n \mid x, t_x, T) = (1 - P(\text{alive}))\,[n = 0] +
        P(\text{alive})\, P_{\text{alive}}(n, t)`, where :math:`P_{\text{alive}}` is the
        model's distribution for a customer alive at :math:`T` with the parameters updated by
        the history (see :mod:`retailcrm.clv._pmf`). Summed over ``n`` it is 1; its mean is
        :meth:`expected_purchases`.
        """
        from retailcrm.clv._pmf import alive_pmf

        frame, caller = self._input(summary, "p_purchases")
        count = _whole(n, "n", caller)
        span = horizon_in_units(t, self.unit, name="t", caller=caller)

        def kernel(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
            if x.size == 0:
                return np.zeros(0)
            alive = self._p_alive_np(x, t_x, T)
            return (1.0 - alive) * (count == 0) + alive * alive_pmf(self, count, x, T, span)

        return frame.select("customer_id", probability=numpy_columns(kernel, _COLUMNS))

    def p_purchases_new(self, n: int | Sequence[int], t: float | str) -> pl.DataFrame:
        """Probability that a new customer makes exactly ``n`` repeat purchases in their first t.

        Parameters
        ----------
        n
            One number of purchases or several (whole numbers >= 0).
        t
            The horizon: a number in the model's ``unit`` or a duration string (``"52w"``).

        Returns
        -------
        pl.DataFrame
            One row per ``n``: ``purchases`` (i64), ``probability`` (f64).
        """
        from retailcrm.clv._pmf import alive_pmf

        caller = f"clv.{type(self).__name__}.p_purchases_new"
        many = list(n) if isinstance(n, (Sequence, np.ndarray)) else [n]
        if len(many) == 0:
            msg = f"{caller}: n is an empty sequence; pass at least one number of purchases."
            raise ArgumentError(msg)
        counts = [_whole(v, "n", caller) for v in many]
        span = horizon_in_units(t, self.unit, name="t", caller=caller)
        zero = np.zeros(1)
        alive = float(self._p_alive_np(zero, zero, zero)[0])  # < 1 for the MBG/NBD only
        values = [
            (1.0 - alive) * (k == 0) + alive * float(alive_pmf(self, k, zero, zero, span)[0])
            for k in counts
        ]
        return pl.DataFrame(
            {"purchases": counts, "probability": values},
            schema={"purchases": pl.Int64, "probability": pl.Float64},
        )

    def predict(self, summary: FrameT, /, horizon: float | str) -> FrameT:
        """P(alive), P(churn) and expected purchases over ``horizon``, in one frame.

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``recency``, ``T`` in the model's ``unit``.
        horizon
            A number in the model's ``unit`` or a duration string (``"26w"``, ``"6mo"``).

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``p_alive`` (f64),
            ``p_churn`` (f64, ``1 - p_alive``), ``expected_purchases`` (f64, over ``horizon``).
        """
        frame, caller = self._input(summary, "predict")
        span = horizon_in_units(horizon, self.unit, name="horizon", caller=caller)

        def kernel(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
            return self._expected_np(x, t_x, T, span)

        return frame.select(
            "customer_id",
            p_alive=numpy_columns(self._p_alive_np, _COLUMNS),
            expected_purchases=numpy_columns(kernel, _COLUMNS),
        ).select(
            "customer_id",
            "p_alive",
            p_churn=1.0 - pl.col("p_alive"),
            expected_purchases=pl.col("expected_purchases"),
        )


def _whole(value: object, name: str, caller: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        msg = f"{caller}: {name} must be a whole number >= 0; got {value!r}."
        raise ArgumentError(msg)
    return int(value)
