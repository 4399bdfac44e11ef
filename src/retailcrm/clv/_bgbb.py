r"""The BG/BB model of discrete purchase opportunities (Fader, Hardie & Shang 2010).

Time is a series of transaction opportunities (a yearly gala, a weekly delivery slot). While
alive, a customer buys at each opportunity with probability :math:`p \sim \mathrm{Beta}(\alpha,
\beta)`; before each opportunity an alive customer dies with probability :math:`\theta \sim
\mathrm{Beta}(\gamma, \delta)`. For :math:`x` purchases in :math:`n` opportunities after the
first purchase, the last at opportunity :math:`t_x` (equation (5) of the paper):

.. math::

    L = \frac{B(\alpha + x, \beta + n - x)}{B(\alpha, \beta)}
        \frac{B(\gamma, \delta + n)}{B(\gamma, \delta)}
      + \sum_{i=0}^{n - t_x - 1} \frac{B(\alpha + x, \beta + t_x - x + i)}{B(\alpha, \beta)}
        \frac{B(\gamma + 1, \delta + t_x + i)}{B(\gamma, \delta)}

evaluated as a log-sum-exp of the terms' logarithms.

Reference: P. S. Fader, B. G. S. Hardie and J. Shang (2010), "Customer-Base Analysis in a
Discrete-Time Noncontractual Setting", Marketing Science 29(6), 1086-1108.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar, NamedTuple, TypeVar

import numpy as np
import polars as pl
from scipy.special import betaln, digamma, exprel, gammaln

from retailcrm._errors import ArgumentError
from retailcrm._schema import Check, forbid, require
from retailcrm.clv._base import (
    ModelMixin,
    check_min_customers,
    checked_rows,
    compress,
    maximise,
    numpy_columns,
)

__all__ = ["BetaGeoBetaBinom"]

_COLUMNS = ("frequency", "recency", "n_periods")
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)


def _row_checks(show: Sequence[str] | None = None) -> list[Check]:
    """Rows of a discrete summary: whole counts >= 0 with frequency <= recency <= n_periods."""
    show = list(show) if show is not None else ["customer_id", *_COLUMNS]
    fix = (
        "Count the opportunities after the first purchase: frequency <= recency <= "
        "n_periods, and recency 0 when frequency is 0."
    )
    checks: list[Check] = []
    for name in _COLUMNS:
        col = pl.col(name).cast(pl.Float64)
        checks += [
            Check(
                col.is_null() | col.is_nan() | col.is_infinite(),
                f"have a null, NaN or infinite {name}",
                f"Drop or fix those rows; {name} must be a whole number.",
                show,
            ),
            Check(col < 0, f"have a negative {name}", fix, show),
            Check(col != col.floor(), f"have a {name} that is not a whole number", fix, show),
        ]
    x, t_x, n = (pl.col(c) for c in _COLUMNS)
    return [
        *checks,
        Check(x > t_x, "have frequency > recency", fix, show),
        Check(t_x > n, "have recency > n_periods", fix, show),
        Check((x == 0) & (t_x > 0), "have frequency 0 with recency > 0", fix, show),
    ]


class _Terms(NamedTuple):
    """The likelihood's terms of all rows, flattened.

    Each term is ``B(alpha + a, beta + b) B(gamma + c, delta + d)`` over ``B(alpha, beta)
    B(gamma, delta)``; row ``k`` owns the terms ``starts[k]:starts[k + 1]``.
    """

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    d: np.ndarray
    starts: np.ndarray


def _terms(x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> _Terms:
    """Lay out, per row, the "alive through n" term then the n - t_x "died after t_x + i" ones."""
    extra = (n - t_x).astype(np.int64)
    sizes = 1 + extra
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    row = np.repeat(np.arange(x.size), sizes)
    i = np.arange(row.size) - starts[row] - 1  # -1 for the first term of each row
    first = i < 0
    xr, tr, nr = x[row], t_x[row], n[row]
    a = xr
    b = np.where(first, nr - xr, tr - xr + i)
    c = np.where(first, 0.0, 1.0)
    d = np.where(first, nr, tr + i)
    return _Terms(a, b, c, d, starts)


def _log_likelihood(
    theta: np.ndarray, terms: _Terms, w: np.ndarray
) -> tuple[float, np.ndarray, np.ndarray]:
    """Total log-likelihood of rows with counts ``w``, its gradient, and each row's log L."""
    alpha, beta, gamma, delta = (float(v) for v in theta)
    a, b, c, d, starts = terms
    log_t = betaln(alpha + a, beta + b) + betaln(gamma + c, delta + d)
    top = np.maximum.reduceat(log_t, starts)
    rows = np.repeat(np.arange(starts.size), np.diff(np.append(starts, log_t.size)))
    share = np.exp(log_t - top[rows])
    total = np.add.reduceat(share, starts)
    log_l = top + np.log(total) - betaln(alpha, beta) - betaln(gamma, delta)
    weight = share / total[rows]  # each term's share of its row
    psi_ab = digamma(alpha + beta + a + b)
    psi_gd = digamma(gamma + delta + c + d)
    parts = np.stack(
        [
            digamma(alpha + a) - psi_ab,
            digamma(beta + b) - psi_ab,
            digamma(gamma + c) - psi_gd,
            digamma(delta + d) - psi_gd,
        ]
    )
    per_row = np.add.reduceat(parts * weight, starts, axis=1)
    base = np.array(
        [
            digamma(alpha) - digamma(alpha + beta),
            digamma(beta) - digamma(alpha + beta),
            digamma(gamma) - digamma(gamma + delta),
            digamma(delta) - digamma(gamma + delta),
        ]
    )
    grad = (per_row * w).sum(axis=1) - base * float(w.sum())
    return float(np.add.reduce(log_l * w)), grad, log_l


@dataclass(frozen=True, slots=True)
class BetaGeoBetaBinom(ModelMixin):
    r"""BG/BB model of purchasing at discrete opportunities (Fader, Hardie & Shang 2010).

    For settings where a customer can buy at most once per opportunity: yearly donations,
    event attendance, weekly deliveries. Purchase probability :math:`p \sim \mathrm{Beta}(\alpha,
    \beta)` at each opportunity while alive; death probability :math:`\theta \sim
    \mathrm{Beta}(\gamma, \delta)` before each opportunity. The summary it reads has, per
    customer, ``frequency`` (opportunities with a purchase after the first purchase),
    ``recency`` (the opportunity of the last one; 0 when there is none) and ``n_periods`` (the
    opportunities observed after the first purchase).

    Parameters
    ----------
    alpha, beta, gamma, delta
        The parameters (all > 0).
    log_likelihood, standard_errors, n_customers
        Figures of a fit (``None`` for a model built from values).

    Notes
    -----
    With :math:`L` the likelihood of a history (module notes), equations (11) and (13):

    .. math::

        P(\text{alive at } n + 1 \mid x, t_x, n) = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha, \beta)}
            \frac{B(\gamma, \delta+n+1)}{B(\gamma, \delta)} \Big/ L

        E[X(n, n + n^*) \mid x, t_x, n] = \frac{1}{L} \frac{B(\alpha+x+1, \beta+n-x)}{B(\alpha,
            \beta)} \frac{\delta}{\gamma - 1} \frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}
            \Big[\frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)}
            - \frac{\Gamma(1+\delta+n+n^*)}{\Gamma(\gamma+\delta+n+n^*)}\Big]

    The bracket over :math:`\gamma - 1` is evaluated as a sum of logarithms, so it stays exact
    at and near :math:`\gamma = 1`. For a new customer (``x = t_x = n = 0``) the expectation is
    equation (8), :math:`E[X(n^*)]`.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm.clv import BetaGeoBetaBinom
    >>> model = BetaGeoBetaBinom(alpha=1.204, beta=0.750, gamma=0.657, delta=2.783)  # donations
    >>> donors = pl.DataFrame({"customer_id": [1, 2, 3], "frequency": [6, 3, 0],
    ...                        "recency": [6, 3, 0], "n_periods": [6, 6, 6]})
    >>> for row in model.predict(donors, horizon=5).rows():
    ...     print(row)
    (1, 0.9304..., 0.0695..., 3.7521...)
    (2, 0.0949..., 0.9050..., 0.2235...)
    (3, 0.1080..., 0.8919..., 0.0728...)
    """

    alpha: float
    beta: float
    gamma: float
    delta: float
    _: KW_ONLY
    log_likelihood: float | None = None
    standard_errors: Mapping[str, float] | None = None
    n_customers: int | None = None
    PARAMS: ClassVar[tuple[str, ...]] = ("alpha", "beta", "gamma", "delta")

    def __post_init__(self) -> None:
        self._check_params()

    @classmethod
    def fit(
        cls,
        summary: pl.DataFrame | pl.LazyFrame,
        /,
        *,
        weights: str | None = None,
        penalizer: float = 0.0,
    ) -> BetaGeoBetaBinom:
        r"""Maximum-likelihood fit on a per-customer summary of discrete opportunities.

        Parameters
        ----------
        summary
            ``frequency``, ``recency``, ``n_periods`` (whole numbers with ``frequency <=
            recency <= n_periods``), one row per customer or, with ``weights``, per group of
            identical customers (as in the paper's Table 1).
        weights
            Name of a column counting the customers each row stands for (whole numbers >= 0).
        penalizer
            L2 penalty :math:`\lambda \sum \theta_k^2` added to the mean negative
            log-likelihood; 0 for the plain MLE.

        Returns
        -------
        BetaGeoBetaBinom
            A new model with the estimates, ``log_likelihood`` (the total, as in the paper),
            ``standard_errors`` and ``n_customers``.

        Raises
        ------
        ColumnError
            A column is missing or not numeric.
        DataError
            Invalid rows (negative, non-finite or non-integer values, frequency > recency,
            recency > n_periods, frequency 0 with recency > 0) or fewer than 5 customers.
        ConvergenceError
            The optimiser failed or a parameter runs off to 0 or infinity.
        """
        caller = "clv.BetaGeoBetaBinom.fit"
        rows = checked_rows(
            summary,
            _COLUMNS,
            weights=weights,
            caller=caller,
            rules=_row_checks,
        )
        (x, t_x, n), w = compress(rows, _COLUMNS, weights=weights)
        total = float(w.sum())
        check_min_customers(total, len(cls.PARAMS), caller=caller)
        terms = _terms(x, t_x, n)
        result = maximise(
            lambda theta: _log_likelihood(theta, terms, w)[:2],
            np.zeros(4),
            names=cls.PARAMS,
            n_customers=total,
            penalizer=penalizer,
            caller=caller,
        )
        return cls(
            **result.params,
            log_likelihood=result.log_likelihood,
            standard_errors=result.standard_errors,
            n_customers=round(total),
        )

    # ------------------------------------------------------------------------------ predictions

    def _theta(self) -> np.ndarray:
        return np.array([self.alpha, self.beta, self.gamma, self.delta])

    def _log_l(self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
        # the likelihood of each distinct history, mapped back to the rows
        stacked = np.stack([x, t_x, n], axis=1)
        unique, where = np.unique(stacked, axis=0, return_inverse=True)
        terms = _terms(unique[:, 0], unique[:, 1], unique[:, 2])
        log_l = _log_likelihood(self._theta(), terms, np.ones(unique.shape[0]))[2]
        return log_l[where.ravel()]

    def _p_alive_np(self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        if x.size == 0:
            return np.zeros(0)
        log_alive = betaln(a + x, b + n - x) - betaln(a, b) + betaln(g, d + n + 1) - betaln(g, d)
        return np.exp(log_alive - self._log_l(x, t_x, n))

    def _expected_np(
        self, x: np.ndarray, t_x: np.ndarray, n: np.ndarray, horizon: int
    ) -> np.ndarray:
        a, b, g, d = self.alpha, self.beta, self.gamma, self.delta
        if x.size == 0:
            return np.zeros(0)
        # bracket / (gamma - 1) = g(n) * expm1(D) / (1 - gamma), g(m) = G(1+d+m) / G(g+d+m),
        # D = log g(n + h) - log g(n) = sum_j log1p(u_j), u_j = (1 - gamma) / (gamma + d + n + j)
        # (it depends on n alone: computed once per distinct n)
        levels, where = np.unique(n, return_inverse=True)
        j = np.arange(horizon, dtype=float)
        base = g + d + levels[:, None] + j[None, :]
        u = (1.0 - g) / base
        ratio = np.where(u == 0, 1.0, np.log1p(u) / np.where(u == 0, 1.0, u))
        slope = (ratio / base).sum(axis=1)[where.ravel()]  # D / (1 - gamma)
        log_gn = gammaln(1 + d + n) - gammaln(g + d + n)
        log_front = (
            betaln(a + x + 1, b + n - x)
            - betaln(a, b)
            + np.log(d)
            + gammaln(g + d)
            - gammaln(1 + d)
            + log_gn
            - self._log_l(x, t_x, n)
        )
        return np.exp(log_front) * slope * exprel((1.0 - g) * slope)

    def _input(self, summary: FrameT, method: str) -> tuple[FrameT, str]:
        caller = f"clv.BetaGeoBetaBinom.{method}"
        needed = {"customer_id": "any"} | dict.fromkeys(_COLUMNS, "numeric")
        require(summary, needed, caller=caller)
        if isinstance(summary, pl.DataFrame):
            forbid(summary, *_row_checks(), caller=caller)
        return summary, caller

    def p_alive(self, summary: FrameT, /) -> FrameT:
        """Probability that each customer is alive at the next opportunity (``n_periods + 1``).

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``recency``, ``n_periods``. Rows of a DataFrame are
            checked; a LazyFrame is not read.

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``p_alive`` (f64 in [0, 1]).
        """
        frame, _ = self._input(summary, "p_alive")
        return frame.select("customer_id", p_alive=numpy_columns(self._p_alive_np, _COLUMNS))

    def expected_purchases(self, summary: FrameT, /, horizon: int) -> FrameT:
        """Predict the purchases in the next ``horizon`` opportunities, given each history.

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``recency``, ``n_periods``.
        horizon
            Number of future opportunities (whole number >= 0).

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``expected_purchases`` (f64).
        """
        frame, caller = self._input(summary, "expected_purchases")
        steps = _periods(horizon, "horizon", caller)

        def kernel(x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
            return self._expected_np(x, t_x, n, steps)

        return frame.select("customer_id", expected_purchases=numpy_columns(kernel, _COLUMNS))

    def expected_purchases_new(self, horizon: int | Sequence[int]) -> pl.DataFrame:
        """Predict the purchases of a new customer in their first ``horizon`` opportunities.

        Parameters
        ----------
        horizon
            One whole number of opportunities or several.

        Returns
        -------
        pl.DataFrame
            One row per horizon: ``n_periods`` (i64), ``expected_purchases`` (f64).
        """
        caller = "clv.BetaGeoBetaBinom.expected_purchases_new"
        many = list(horizon) if isinstance(horizon, (Sequence, np.ndarray)) else [horizon]
        if len(many) == 0:
            msg = f"{caller}: horizon is an empty sequence; pass at least one number of periods."
            raise ArgumentError(msg)
        steps = [_periods(h, "horizon", caller) for h in many]
        zero = np.zeros(1)
        values = [float(self._expected_np(zero, zero, zero, h)[0]) for h in steps]
        return pl.DataFrame(
            {"n_periods": steps, "expected_purchases": values},
            schema={"n_periods": pl.Int64, "expected_purchases": pl.Float64},
        )

    def predict(self, summary: FrameT, /, horizon: int) -> FrameT:
        """P(alive), P(churn) and expected purchases over the next ``horizon`` opportunities.

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``recency``, ``n_periods``.
        horizon
            Number of future opportunities (whole number >= 0).

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``p_alive`` (f64, alive at the
            next opportunity), ``p_churn`` (f64, ``1 - p_alive``), ``expected_purchases`` (f64).
        """
        frame, caller = self._input(summary, "predict")
        steps = _periods(horizon, "horizon", caller)

        def kernel(x: np.ndarray, t_x: np.ndarray, n: np.ndarray) -> np.ndarray:
            return self._expected_np(x, t_x, n, steps)

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


def _periods(value: object, name: str, caller: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        msg = f"{caller}: {name} must be a whole number of opportunities >= 0; got {value!r}."
        raise ArgumentError(msg)
    return int(value)
