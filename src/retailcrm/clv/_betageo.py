r"""The BG/NBD model (Fader, Hardie & Lee 2005).

While active, a customer buys as a Poisson process with rate :math:`\lambda \sim
\mathrm{Gamma}(r, \alpha)`; after each purchase they drop out with probability :math:`p \sim
\mathrm{Beta}(a, b)`. For a customer with :math:`x` repeat purchases, the last at :math:`t_x`,
observed for :math:`T`:

.. math::

    L = \frac{B(a, b + x)}{B(a, b)} \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)\,(\alpha + T)^{r+x}}
      + \delta_{x>0} \frac{B(a + 1, b + x - 1)}{B(a, b)}
        \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)\,(\alpha + t_x)^{r+x}}

evaluated here as ``logaddexp`` of the two terms' logarithms, with
:math:`B(a+1, b+x-1) / B(a, b+x) = a / (b+x-1)`.

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "Counting Your Customers the Easy
Way: An Alternative to the Pareto/NBD Model", Marketing Science 24(2), 275-284; and the note
"Implementing the BG/NBD Model for Customer Base Analysis in Excel" (brucehardie.com/notes/004).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import numpy as np
import polars as pl
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1

from retailcrm.clv._base import (
    check_min_customers,
    checked_rows,
    compress,
    maximise,
    unit_days,
)
from retailcrm.clv._transaction import TransactionModel

__all__ = ["BetaGeo"]

_COLUMNS = ("frequency", "recency", "T")


def _by_frequency(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct frequencies and the customer count of each."""
    levels, where = np.unique(x, return_inverse=True)
    return levels, np.bincount(where, weights=w, minlength=levels.size)


def _log_likelihood(
    theta: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    w: np.ndarray,
    grouped: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """Total BG/NBD log-likelihood of rows with counts ``w``; its gradient in (r, alpha, a, b).

    The special functions depend on ``x`` alone, so they are evaluated once per distinct
    frequency (a few hundred at most) on the customer counts summed per frequency; only
    logarithms and exponentials run once per row. ``grouped`` is ``_by_frequency(x, w)``,
    computed once per fit.
    """
    r, alpha, a, b = theta
    levels, counts = grouped if grouped is not None else _by_frequency(x, w)
    # per row: the two terms of the likelihood and their softmax weights
    rx = r + x
    bx1 = b + np.maximum(x, 1) - 1
    log_aT, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    u1 = -rx * log_aT
    u2 = np.where(x > 0, np.log(a) - np.log(bx1) - rx * log_atx, -np.inf)
    s = np.logaddexp(u1, u2)
    w1, w2 = np.exp(u1 - s), np.exp(u2 - s)
    # per distinct frequency: the gamma and beta function terms
    ll_x = gammaln(r + levels) - gammaln(r) + betaln(a, b + levels) - betaln(a, b)
    psi_abx = digamma(a + b + levels)
    psi_ab = digamma(a + b)
    d_r = counts @ (digamma(r + levels) - digamma(r)) + np.log(alpha) * w.sum()
    d_r -= w @ (w1 * log_aT + w2 * log_atx)
    d_alpha = r / alpha * w.sum() - w @ (rx * (w1 / (alpha + T) + w2 / (alpha + t_x)))
    d_a = counts @ (psi_ab - psi_abx) + (w @ w2) / a
    d_b = counts @ (digamma(b + levels) - digamma(b) + psi_ab - psi_abx) - w @ (w2 / bx1)
    value = counts @ ll_x + r * np.log(alpha) * w.sum() + w @ s
    return float(value), np.array([d_r, d_alpha, d_a, d_b])


@dataclass(frozen=True, slots=True)
class BetaGeo(TransactionModel):
    r"""BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    Purchase rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` (shape, rate) while active;
    after each purchase the customer drops out with probability :math:`p \sim \mathrm{Beta}(a,
    b)`. ``alpha`` is in the time ``unit`` of the data; ``r``, ``a``, ``b`` have no unit.

    Build one from known values, or fit it with :meth:`fit`.

    Parameters
    ----------
    r, alpha, a, b
        The parameters (all > 0).
    unit
        The time unit of ``alpha`` and of the summaries the model reads (``"1w"``, ``"1d"``,
        ...): the ``unit`` given to :func:`retailcrm.clv.summary`.
    log_likelihood, standard_errors, n_customers
        Figures of a fit (``None`` for a model built from values).

    Notes
    -----
    P(alive) and the conditional expectation are equations (12) and (10) of the paper:

    .. math::

        P(\text{alive} \mid x, t_x, T) = 1 \Big/ \Big(1 + \delta_{x>0} \frac{a}{b + x - 1}
            \Big(\frac{\alpha + T}{\alpha + t_x}\Big)^{r+x}\Big)

        E[Y(t) \mid x, t_x, T] = P(\text{alive}) \, \frac{a + b + x - 1}{a - 1}
            \Big[1 - (1-z)^{a-1} {}_2F_1(a + b - 1 - r, a - 1; a + b + x - 1; z)\Big],
            \quad z = \frac{t}{\alpha + T + t}

    where the hypergeometric term is the paper's
    :math:`(1-z)^{r+x} {}_2F_1(r + x, b + x; a + b + x - 1; z)` after Euler's transformation,
    which keeps it finite for heavy buyers. The expectation needs ``a != 1``.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm.clv import BetaGeo
    >>> model = BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")  # CDNOW, weeks
    >>> people = pl.DataFrame({"customer_id": [1, 2], "frequency": [2, 0],
    ...                        "recency": [30.43, 0.0], "T": [38.86, 38.86]})
    >>> model.predict(people, horizon="52w").rows()
    [(1, 0.7265..., 0.2734..., 1.5585...), (2, 1.0, 0.0, 0.2516...)]
    """

    r: float
    alpha: float
    a: float
    b: float
    _: KW_ONLY
    unit: str
    log_likelihood: float | None = None
    standard_errors: Mapping[str, float] | None = None
    n_customers: int | None = None
    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "a", "b")

    def __post_init__(self) -> None:
        self._check_params()
        unit_days(self.unit, caller="clv.BetaGeo")

    @classmethod
    def fit(
        cls,
        summary: pl.DataFrame | pl.LazyFrame,
        /,
        *,
        unit: str,
        weights: str | None = None,
        penalizer: float = 0.0,
    ) -> BetaGeo:
        r"""Maximum-likelihood fit on a per-customer summary.

        Parameters
        ----------
        summary
            ``frequency``, ``recency``, ``T`` (as from :func:`retailcrm.clv.summary`), one row
            per customer or, with ``weights``, per group of identical customers.
        unit
            The time unit of ``recency`` and ``T``: the ``unit`` the summary was built with.
        weights
            Name of a column counting the customers each row stands for (whole numbers >= 0).
        penalizer
            L2 penalty :math:`\lambda \sum \theta_k^2` added to the mean negative
            log-likelihood (lifetimes' ``penalizer_coef``); 0 for the plain MLE.

        Returns
        -------
        BetaGeo
            A new model with the estimates, ``log_likelihood`` (the total, as in the paper),
            ``standard_errors`` and ``n_customers``.

        Raises
        ------
        ColumnError
            A column is missing or not numeric.
        DataError
            Invalid rows (negative, non-finite, recency > T, frequency 0 with recency > 0,
            non-integer frequency), fewer than 5 customers, or no repeat purchase at all.
        ConvergenceError
            The optimiser failed or a parameter runs off to 0 or infinity.
        """
        caller = "clv.BetaGeo.fit"
        unit_days(unit, caller=caller)
        rows = checked_rows(summary, _COLUMNS, weights=weights, caller=caller)
        (x, t_x, T), w = compress(rows, _COLUMNS, weights=weights)
        n = float(w.sum())
        check_min_customers(n, len(cls.PARAMS), caller=caller)
        _need_repeat_buyers(x, caller)
        # time in units of the mean T: alpha is then of order 1 whatever the unit; the
        # likelihood of the event times changes by scale^-x per customer
        scale = max(float(w @ T) / n, 1e-12)
        t_x, T = t_x / scale, T / scale
        start = np.log([1.0, max(float(w @ T) / max(float(w @ x), 1.0), 1e-3), 1.0, 1.0])
        grouped = _by_frequency(x, w)
        result = maximise(
            lambda theta: _log_likelihood(theta, x, t_x, T, w, grouped),
            start,
            names=cls.PARAMS,
            n_customers=n,
            penalizer=penalizer,
            caller=caller,
        )
        params, errors = dict(result.params), dict(result.standard_errors)
        params["alpha"] *= scale
        errors["alpha"] *= scale
        return cls(
            **params,
            unit=unit,
            log_likelihood=result.log_likelihood - float(w @ x) * math.log(scale),
            standard_errors=errors,
            n_customers=round(n),
        )

    def _p_alive_np(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_odds = (
            np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, expit(-log_odds), 1.0)

    def _expected_np(
        self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, t: np.ndarray | float
    ) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        t = np.broadcast_to(np.asarray(t, dtype=float), np.shape(x))
        log_1mz = np.log(alpha + T) - np.log(alpha + T + t)  # log(1 - z)
        z = t / (alpha + T + t)
        c = a + b + x - 1
        tail = np.exp((a - 1) * log_1mz) * hyp2f1(a + b - 1 - r, a - 1, c, z)
        unconditional = c / (a - 1) * (1.0 - tail)
        return unconditional * self._p_alive_np(x, t_x, T)


def _need_repeat_buyers(x: np.ndarray, caller: str) -> None:
    from retailcrm._errors import DataError

    if not np.any(x > 0):
        msg = (
            f"{caller}: no customer has a repeat purchase (frequency is 0 everywhere), so the "
            "purchase process cannot be estimated. Use a longer observation period."
        )
        raise DataError(msg)
