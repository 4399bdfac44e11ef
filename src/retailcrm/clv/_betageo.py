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
import warnings
from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import polars as pl
from scipy.integrate import IntegrationWarning, quad
from scipy.special import betaln, digamma, expit, gammaln, hyp2f1, polygamma

from retailcrm.clv._base import (
    _newton,
    check_min_customers,
    checked_rows,
    compress,
    dot,
    maximise,
    unit_days,
)
from retailcrm.clv._transaction import TransactionModel

__all__ = ["BetaGeo", "beta_geometric_expected"]

_COLUMNS = ("frequency", "recency", "T")


def _by_frequency(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct frequencies and the customer count of each."""
    levels, where = np.unique(x, return_inverse=True)
    return levels, np.bincount(where, weights=w, minlength=levels.size)


class _Tables(NamedTuple):
    """Fixed for a fit: each row's index into its distinct frequency, T and t_x, and sums."""

    levels: np.ndarray  # distinct x
    counts: np.ndarray  # customers per distinct x
    level_of: np.ndarray
    t_values: np.ndarray  # distinct T
    t_of: np.ndarray
    t_weight: np.ndarray  # customers per distinct T
    t_weight_x: np.ndarray  # their summed x
    tx_values: np.ndarray  # distinct t_x
    tx_of: np.ndarray
    n: float


def _tables(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> _Tables:
    levels, level_of = np.unique(x, return_inverse=True)
    t_values, t_of = np.unique(T, return_inverse=True)
    tx_values, tx_of = np.unique(t_x, return_inverse=True)
    return _Tables(
        levels,
        np.bincount(level_of, weights=w, minlength=levels.size),
        level_of,
        t_values,
        t_of,
        np.bincount(t_of, weights=w, minlength=t_values.size),
        np.bincount(t_of, weights=w * x, minlength=t_values.size),
        tx_values,
        tx_of,
        float(np.add.reduce(w)),
    )


def _log_likelihood(
    theta: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    w: np.ndarray,
    tables: _Tables | None = None,
    *,
    hessian: bool = False,
) -> tuple[float, np.ndarray] | tuple[float, np.ndarray, np.ndarray]:
    r"""Total BG/NBD log-likelihood of rows with counts ``w``; its gradient in (r, alpha, a, b).

        With ``hessian``, also the matrix of second derivatives. Per row the log-likelihood is
        :math:`C(x) + r \loglpha + \log(e^{u_1} + e^{u_2})` with
        :math:`u_1 = -(r+x)\log(lpha+T)`, :math:`u_2 = \log a - \log(b+x-1) - (r+x)\log(lpha+t_x)`
        (no :math:`u_2` at :math:`x = 0`), so with the softmax weights :math:`\omega_k` of the two
        terms the gradient is :math:`\sum_k \omega_k
    abla u_k` and the Hessian
        :math:`\sum_k \omega_k
    abla^2 u_k + \omega_1\omega_2 (
    abla u_1 -
    abla u_2)
        (
    abla u_1 -
    abla u_2)^	op`, plus the derivatives of :math:`C(x)` (digamma, trigamma).

        Functions of ``x`` alone are evaluated once per distinct frequency, and those of ``T`` or
        ``t_x`` alone (logarithms, reciprocals) once per distinct value, then looked up by each
        row; sums over rows that depend on ``T`` alone are taken per distinct ``T`` with the
        precomputed ``tables`` (``_tables(x, t_x, T, w)``, once per fit).
    """
    r, alpha, a, b = (float(v) for v in theta)
    d = tables if tables is not None else _tables(x, t_x, T, w)
    levels, counts, n = d.levels, d.counts, d.n
    # per distinct value
    log_aT, inv_aT = np.log(alpha + d.t_values), 1.0 / (alpha + d.t_values)
    log_atx, inv_atx = np.log(alpha + d.tx_values), 1.0 / (alpha + d.tx_values)
    bx1 = b + np.maximum(levels, 1) - 1
    # log(b + x - 1); +inf at x = 0, where the second term does not exist
    log_bx1 = np.where(levels > 0, np.log(bx1), np.inf)
    # per row: the terms u1 = -(r+x) log(alpha+T), u2 = log a - log(b+x-1) - (r+x) log(alpha+t_x)
    rx = r + x
    row_log_aT, row_log_atx = log_aT[d.t_of], log_atx[d.tx_of]
    u1 = -rx * row_log_aT
    u2 = (math.log(a) - log_bx1[d.level_of]) - rx * row_log_atx
    s = np.logaddexp(u1, u2)
    omega2 = np.exp(u2 - s)  # each customer's weight on the second term
    ww2 = w * omega2
    # per distinct frequency: the gamma and beta function terms
    ll_x = gammaln(r + levels) - gammaln(r) + betaln(a, b + levels) - betaln(a, b)
    psi_abx = digamma(a + b + levels)
    psi_ab = digamma(a + b)
    weight_2 = float(np.add.reduce(ww2))
    diff_r = row_log_atx - row_log_aT  # d(u1 - u2)/dr
    row_inv_aT, row_inv_atx = inv_aT[d.t_of], inv_atx[d.tx_of]
    d_r = dot(counts, digamma(r + levels) - digamma(r)) + math.log(alpha) * n
    d_r -= dot(d.t_weight, log_aT) + dot(ww2, diff_r)
    d_alpha = r / alpha * n - dot(d.t_weight * r + d.t_weight_x, inv_aT)
    d_alpha -= dot(ww2 * rx, row_inv_atx - row_inv_aT)
    d_a = dot(counts, psi_ab - psi_abx) + weight_2 / a
    by_level = np.bincount(d.level_of, weights=ww2, minlength=levels.size)  # 0 at x = 0
    inv_bx1 = 1 / bx1
    d_b = dot(counts, digamma(b + levels) - digamma(b) + psi_ab - psi_abx) - dot(by_level, inv_bx1)
    value = dot(counts, ll_x) + r * math.log(alpha) * n + float(np.add.reduce(w * s))
    grad = np.array([d_r, d_alpha, d_a, d_b])
    if not hessian:
        return float(value), grad
    # the outer product term: k (grad u1 - grad u2)(...)^T, k = w omega1 omega2, with
    # grad(u1 - u2) = (diff_r, (r+x)(1/(alpha+t_x) - 1/(alpha+T)), -1/a, 1/(b+x-1))
    k = ww2 * (1.0 - omega2)
    diff_alpha = rx * (row_inv_atx - row_inv_aT)
    k_r, k_alpha = k * diff_r, k * diff_alpha
    level_k = np.bincount(d.level_of, weights=k, minlength=levels.size)
    level_k_r = np.bincount(d.level_of, weights=k_r, minlength=levels.size)
    level_k_alpha = np.bincount(d.level_of, weights=k_alpha, minlength=levels.size)
    sum_k, sum_k_r, sum_k_alpha = (
        float(level_k.sum()),
        float(level_k_r.sum()),
        float(level_k_alpha.sum()),
    )
    # the weighted second derivatives of u1, u2 (in r-alpha, alpha-alpha, a-a and b-b)
    w_inv_aT = dot(d.t_weight, inv_aT)  # sum w / (alpha + T)
    h_ra = -(w_inv_aT + dot(ww2, row_inv_atx - row_inv_aT))
    h_aa_alpha = dot(d.t_weight * r + d.t_weight_x, inv_aT**2) + dot(
        ww2 * rx, row_inv_atx**2 - row_inv_aT**2
    )
    tri_ab = polygamma(1, a + b) - polygamma(1, a + b + levels)
    H = np.empty((4, 4))
    H[0, 0] = dot(counts, polygamma(1, r + levels) - polygamma(1, r)) + dot(k_r, diff_r)
    H[0, 1] = n / alpha + h_ra + dot(k_r, diff_alpha)
    H[0, 2] = -sum_k_r / a
    H[0, 3] = dot(level_k_r, inv_bx1)
    H[1, 1] = -r * n / alpha**2 + h_aa_alpha + dot(k_alpha, diff_alpha)
    H[1, 2] = -sum_k_alpha / a
    H[1, 3] = dot(level_k_alpha, inv_bx1)
    H[2, 2] = dot(counts, tri_ab) - weight_2 / a**2 + sum_k / a**2
    H[2, 3] = dot(counts, tri_ab) - dot(level_k, inv_bx1) / a
    H[3, 3] = dot(counts, polygamma(1, b + levels) - polygamma(1, b) + tri_ab) + dot(
        by_level + level_k, inv_bx1**2
    )
    H = np.triu(H) + np.triu(H, 1).T
    return float(value), grad, H


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
        scale = max(dot(w, T) / n, 1e-12)
        t_x, T = t_x / scale, T / scale
        start = np.log([1.0, max(dot(w, T) / max(dot(w, x), 1.0), 1e-3), 1.0, 1.0])
        start = _warm_start(start, x, t_x, T, w, penalizer)
        tables = _tables(x, t_x, T, w)
        result = maximise(
            lambda theta: _log_likelihood(theta, x, t_x, T, w, tables),
            start,
            hessian=lambda theta: _log_likelihood(theta, x, t_x, T, w, tables, hessian=True),
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
            log_likelihood=result.log_likelihood - dot(w, x) * math.log(scale),
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

    def _conditional_np(self, x: np.ndarray, T: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        return beta_geometric_expected(self.r + x, self.alpha + T, self.a, self.b + x, t)


def _by_quadrature(r: float, alpha: float, a: float, b: float, t: float) -> float:
    r"""The expectation as an integral over p ~ Beta(a, b), by adaptive quadrature.

    For moderate ``a`` and ``b`` the Beta density's endpoint behaviour is the quadrature's
    weight (QUADPACK's QAWS, exact for the algebraic singularities at 0 and 1); for a large
    ``a`` or ``b``, where QAWS's moments overflow, see :func:`_by_pieces`.
    """
    if t == 0:
        return 0.0
    u = t / alpha

    def mean_given_p(p: float) -> float:  # (1 - (1 + p u)^-r) / p, r u at p = 0
        return -math.expm1(-r * math.log1p(p * u)) / p if p > 0 else r * u

    log_beta = float(betaln(a, b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)  # judged by the error estimate
        if a <= 51 and b <= 51:
            area, error = quad(
                mean_given_p, 0.0, 1.0, weight="alg", wvar=(a - 1, b - 1), epsabs=0.0,
                epsrel=1e-12, limit=200,
            )  # fmt: skip
            area /= math.exp(log_beta)
        else:
            area, error = _by_pieces(mean_given_p, r * u, a, b, log_beta)
    return area if error <= 1e-8 * abs(area) else math.nan


def _by_pieces(
    mean_given_p: Callable[[float], float], rate: float, a: float, b: float, log_beta: float
) -> tuple[float, float]:
    """The integral for a large ``a`` or ``b``, where QAWS's moments overflow.

    The density is part of the integrand, split at the scales where it changes; an endpoint
    singularity (:math:`p^{a-1}` with ``a < 1``, :math:`(1-p)^{b-1}` with ``b < 1``) is QAWS's
    weight on the first or last piece, where only that factor is singular.
    """

    def log_density(p: float) -> float:
        return (a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - log_beta

    def whole(p: float) -> float:
        return mean_given_p(p) * math.exp(log_density(p)) if 0.0 < p < 1.0 else 0.0

    def near_zero(p: float) -> float:  # without p^(a-1)
        return mean_given_p(p) * math.exp((b - 1) * math.log1p(-p) - log_beta)

    def near_one(p: float) -> float:  # without (1-p)^(b-1)
        return mean_given_p(p) * math.exp((a - 1) * math.log(p) - log_beta)

    mean, sd = a / (a + b), math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    scales = (
        1 / rate,
        10 / rate,
        mean,
        mean - 20 * sd,
        mean - 5 * sd,
        mean + 5 * sd,
        mean + 20 * sd,
    )
    cuts = sorted({v for v in scales if 0.0 < v < 1.0}) or [0.5]
    first, last = cuts[0], cuts[-1]
    area = error = 0.0
    pieces = [(0.0, first, near_zero if a < 1 else None), (last, 1.0, near_one if b < 1 else None)]
    for low, high, smooth in pieces:
        if smooth is None:
            continue
        wvar = (a - 1, 0.0) if low == 0.0 else (0.0, b - 1)
        value, err = quad(
            smooth, low, high, weight="alg", wvar=wvar, epsabs=0.0, epsrel=1e-12, limit=200
        )
        area, error = area + value, error + err
    low = first if a < 1 else 0.0
    high = last if b < 1 else 1.0
    if high > low:
        inner = [v for v in cuts if low < v < high]
        value, err = quad(
            whole, low, high, points=inner or None, epsabs=0.0, epsrel=1e-12, limit=500
        )
        area, error = area + value, error + err
    return area, error


def beta_geometric_expected(
    r: np.ndarray | float,
    alpha: np.ndarray | float,
    a: float,
    b: np.ndarray | float,
    t: np.ndarray | float,
) -> np.ndarray:
    r"""Expected purchases in ``t`` of a customer alive now, under beta-geometric drop-out.

    The purchase rate is :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` and the drop-out
    probability after each purchase :math:`p \sim \mathrm{Beta}(a, b)`: the BG/NBD future, and
    the MBG/NBD's once the customer is alive.

    .. math::

        E[Y(t)] = E_p\Big[\frac{1 - (1 + p t / \alpha)^{-r}}{p}\Big]
            = \frac{a + b - 1}{a - 1}\Big[1 - (1-z)^{a-1}
              {}_2F_1(a + b - 1 - r, a - 1; a + b - 1; z)\Big], \quad z = \frac{t}{\alpha + t}

    The closed form (Fader, Hardie & Lee 2005, equation (10) after Euler's transformation) is
    used where it is reliable. SciPy's ``hyp2f1`` returns infinities, or loses up to five
    digits, when :math:`c - a - b = r - a + 1` is within 1e-6 of an integer and :math:`z`
    is near 1; those values, any non-finite one, and all of them when :math:`a` is within
    1e-6 of 1 (where the closed form is 0/0), come from the integral over :math:`p`
    (adaptive quadrature, relative tolerance 1e-12; NaN if its error estimate exceeds 1e-8).
    """
    r, alpha, b, t = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, alpha, b, t)))
    c = a + b - 1
    z = t / (alpha + t)
    with np.errstate(all="ignore"):  # the unreliable entries are replaced below
        log_1mz = np.log(alpha) - np.log(alpha + t)
        tail = np.exp((a - 1) * log_1mz) * hyp2f1(c - r, a - 1, c, z)
        value = c / (a - 1) * (1.0 - tail) if abs(a - 1) > 1e-6 else np.full(z.shape, np.nan)
    gap = r - a + 1
    shaky = (np.abs(gap - np.round(gap)) < 1e-6) & (z > 0.5)
    redo = np.flatnonzero((~np.isfinite(value) | shaky).ravel())
    if redo.size:
        value = np.array(value, dtype=float)  # writable
        flat = value.reshape(-1)
        for i in redo:
            flat[i] = _by_quadrature(
                float(r.flat[i]), float(alpha.flat[i]), a, float(b.flat[i]), float(t.flat[i])
            )
    return value


#: Above this many distinct rows, a fit first runs on a subsample of about this size.
_WARM_ROWS = 20_000


def _warm_start(
    start: np.ndarray,
    x: np.ndarray,
    t_x: np.ndarray,
    T: np.ndarray,
    w: np.ndarray,
    penalizer: float,
) -> np.ndarray:
    """A starting point near the estimate for large fits: Newton's method on every k-th row.

    The rows are in a canonical order (``compress``), so the subsample, and therefore the fit,
    does not depend on the input's row order. Newton's method then needs two or three steps on
    all rows instead of six to eight; the estimate itself does not change (the same optimum to
    the optimiser's tolerance). ``start`` is kept when the subsample fit does not end cleanly.
    """
    if x.size <= 2 * _WARM_ROWS:
        return start
    pick = slice(None, None, x.size // _WARM_ROWS)
    xs, txs, Ts = x[pick], t_x[pick], T[pick]
    ws = w[pick] * (float(w.sum()) / float(w[pick].sum()))  # the same number of customers
    if not np.any(xs > 0):
        return start
    tables = _tables(xs, txs, Ts, ws)
    found = _newton(
        lambda theta: _log_likelihood(theta, xs, txs, Ts, ws, tables, hessian=True),
        start,
        float(ws.sum()),
        penalizer,
    )
    return start if found is None else found[0]


def _need_repeat_buyers(x: np.ndarray, caller: str) -> None:
    from retailcrm._errors import DataError

    if not np.any(x > 0):
        msg = (
            f"{caller}: no customer has a repeat purchase (frequency is 0 everywhere), so the "
            "purchase process cannot be estimated. Use a longer observation period."
        )
        raise DataError(msg)
