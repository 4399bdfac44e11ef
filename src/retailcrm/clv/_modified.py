r"""The MBG/NBD model (Batislam, Denizel & Filiztekin 2007).

The BG/NBD model with one change: a customer may drop out right after their first purchase
too, so a customer with no repeat purchase is not certainly alive. While active, purchases
follow a Poisson process with rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)`; at the first
purchase and after each repeat purchase the customer drops out with probability
:math:`p \sim \mathrm{Beta}(a, b)`. For :math:`x` repeat purchases, the last at :math:`t_x`,
observed for :math:`T`:

.. math::

    L = \frac{B(a, b + x + 1)}{B(a, b)}
        \frac{\Gamma(r + x)\,\alpha^r}{\Gamma(r)\,(\alpha + T)^{r+x}}
        \Big[1 + \frac{a}{b + x} \Big(\frac{\alpha + T}{\alpha + t_x}\Big)^{r+x}\Big]

evaluated in logarithms (``log1p(exp(.))`` of the bracket).

References: E. P. Batislam, M. Denizel and A. Filiztekin (2007), "Empirical validation and
comparison of models for customer base analysis", International Journal of Research in
Marketing 24(3), 201-209; U. Wagner and D. Hoppe (2008), "Erratum on the MBG/NBD Model",
International Journal of Research in Marketing 25(3), 225-226 (the conditional expectation).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import numpy as np
import polars as pl
from scipy.special import betaln, digamma, expit, gammaln

from retailcrm.clv._base import check_min_customers, checked_rows, compress, maximise, unit_days
from retailcrm.clv._betageo import _by_frequency, _need_repeat_buyers, beta_geometric_expected
from retailcrm.clv._transaction import TransactionModel

__all__ = ["ModifiedBetaGeo"]

_COLUMNS = ("frequency", "recency", "T")


def _sum(values: np.ndarray) -> float:
    return float(np.add.reduce(values))


def _log_likelihood(
    theta: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    w: np.ndarray,
    grouped: tuple[np.ndarray, np.ndarray],
) -> tuple[float, np.ndarray]:
    """Total MBG/NBD log-likelihood of rows with counts ``w``; its gradient in (r, alpha, a, b).

    The gamma and beta function terms depend on ``x`` alone and are evaluated once per distinct
    frequency (``grouped`` is ``_by_frequency(x, w)``).
    """
    r, alpha, a, b = (float(v) for v in theta)
    levels, counts = grouped
    rx = r + x
    log_aT, log_atx = np.log(alpha + T), np.log(alpha + t_x)
    odds = math.log(a) - np.log(b + x) + rx * (log_aT - log_atx)  # log of the bracket's 2nd term
    second = expit(odds)  # its share of the bracket
    n = _sum(w)
    ab = a + b
    value = (
        _sum(counts * (gammaln(r + levels) - gammaln(r) + betaln(a, b + levels + 1)))
        - betaln(a, b) * n
        + r * math.log(alpha) * n
        + _sum(w * (np.logaddexp(0.0, odds) - rx * log_aT))
    )
    psi_abx = digamma(ab + levels + 1)
    d_r = _sum(counts * (digamma(r + levels) - digamma(r))) + math.log(alpha) * n
    d_r += _sum(w * (second * (log_aT - log_atx) - log_aT))
    d_alpha = r / alpha * n - _sum(w * rx * ((1 - second) / (alpha + T) + second / (alpha + t_x)))
    d_a = _sum(counts * (digamma(ab) - psi_abx)) + _sum(w * second) / a
    d_b = _sum(counts * (digamma(b + levels + 1) - psi_abx)) + (digamma(ab) - digamma(b)) * n
    d_b -= _sum(w * second / (b + x))
    return value, np.array([d_r, d_alpha, d_a, d_b])


@dataclass(frozen=True, slots=True)
class ModifiedBetaGeo(TransactionModel):
    r"""MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007).

    Like :class:`~retailcrm.clv.BetaGeo`, but a customer can also drop out right after the
    first purchase, so a customer who never came back is not certainly alive. Purchase rate
    :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` while active; drop-out probability
    :math:`p \sim \mathrm{Beta}(a, b)` at every purchase. ``alpha`` is in the time ``unit`` of
    the data; ``r``, ``a``, ``b`` have no unit.

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
    .. math::

        P(\text{alive} \mid x, t_x, T) = 1 \Big/ \Big(1 + \frac{a}{b + x}
            \Big(\frac{\alpha + T}{\alpha + t_x}\Big)^{r+x}\Big)

        E[Y(t) \mid x, t_x, T] = P(\text{alive}) \, \frac{a + b + x}{a - 1}
            \Big[1 - (1-z)^{a-1} {}_2F_1(a + b - r, a - 1; a + b + x; z)\Big],
            \quad z = \frac{t}{\alpha + T + t}

    where the hypergeometric term is Wagner & Hoppe's
    :math:`(1-z)^{r+x} {}_2F_1(r + x, b + x + 1; a + b + x; z)` after Euler's transformation,
    which keeps it finite for heavy buyers; for a new customer it reduces to
    :math:`E[Y(t)] = \frac{b}{a-1}[1 - (1-z)^{a-1} {}_2F_1(a+b-r, a-1; a+b; z)]`,
    :math:`z = t / (\alpha + t)`. The expectation needs ``a != 1``.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm.clv import ModifiedBetaGeo
    >>> model = ModifiedBetaGeo(r=0.525, alpha=6.183, a=0.891, b=1.614, unit="1w")  # CDNOW fit
    >>> people = pl.DataFrame({"customer_id": [1, 2], "frequency": [2, 0],
    ...                        "recency": [30.43, 0.0], "T": [38.86, 38.86]})
    >>> model.predict(people, horizon="52w").rows()
    [(1, 0.7062..., 0.2937..., 1.5972...), (2, 0.3897..., 0.6102..., 0.1977...)]
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
        unit_days(self.unit, caller="clv.ModifiedBetaGeo")

    @classmethod
    def fit(
        cls,
        summary: pl.DataFrame | pl.LazyFrame,
        /,
        *,
        unit: str,
        weights: str | None = None,
        penalizer: float = 0.0,
    ) -> ModifiedBetaGeo:
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
        ModifiedBetaGeo
            A new model with the estimates, ``log_likelihood`` (the total),
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
        caller = "clv.ModifiedBetaGeo.fit"
        unit_days(unit, caller=caller)
        rows = checked_rows(summary, _COLUMNS, weights=weights, caller=caller)
        (x, t_x, T), w = compress(rows, _COLUMNS, weights=weights)
        n = float(w.sum())
        check_min_customers(n, len(cls.PARAMS), caller=caller)
        _need_repeat_buyers(x, caller)
        # time in units of the mean T (alpha of order 1 in any unit); the likelihood of the
        # event times changes by scale^-x per customer
        scale = max(_sum(w * T) / n, 1e-12)
        t_x, T = t_x / scale, T / scale
        start = np.log([1.0, max(_sum(w * T) / max(_sum(w * x), 1.0), 1e-3), 1.0, 1.0])
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
            log_likelihood=result.log_likelihood - _sum(w * x) * math.log(scale),
            standard_errors=errors,
            n_customers=round(n),
        )

    def _p_alive_np(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        odds = math.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        return expit(-odds)

    def _conditional_np(self, x: np.ndarray, T: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        # alive at T, the customer has passed x + 1 drop-out chances: p ~ Beta(a, b + x + 1)
        return beta_geometric_expected(self.r + x, self.alpha + T, self.a, self.b + x + 1, t)
