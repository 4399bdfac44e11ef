r"""The Pareto/NBD model (Schmittlein, Morrison & Colombo 1987).

While active, a customer buys as a Poisson process with rate :math:`\lambda \sim
\mathrm{Gamma}(r, \alpha)`; their lifetime is exponential with rate :math:`\mu \sim
\mathrm{Gamma}(s, \beta)`. For a customer with :math:`x` repeat purchases, the last at
:math:`t_x`, observed for :math:`T` (Fader & Hardie 2005, note 009, equation (18) written as an
integral over the moment of death :math:`\tau`):

.. math::

    L = \frac{\Gamma(r+x)\,\alpha^r \beta^s}{\Gamma(r)}
        \Big[\frac{1}{(\alpha+T)^{r+x}(\beta+T)^s}
        + s \int_{t_x}^{T} \frac{d\tau}{(\alpha+\tau)^{r+x}(\beta+\tau)^{s+1}}\Big]

The integral is :math:`F(t_x) - F(T)` with :math:`F(\tau) = \int_\tau^\infty (\alpha+u)^{-(r+x)}
(\beta+u)^{-(s+1)}\,du`, and for :math:`\alpha \ge \beta`

.. math::

    F(\tau) = \frac{(\alpha+\tau)^{-(r+x)} (\beta+\tau)^{-s}}{r+s+x}\,
        {}_2F_1\big(1, r+x; r+s+x+1; z\big), \quad z = \frac{\alpha-\beta}{\alpha+\tau}

(the paper's :math:`{}_2F_1(r+s+x, s+1; r+s+x+1; z)` after Euler's transformation; for
:math:`\alpha < \beta` the roles of :math:`(\alpha, r+x)` and :math:`(\beta, s+1)` swap). The
function :math:`H(b_1, b_2, z) = {}_2F_1(1, b_1; b_1+b_2; z) = E[1/(1 - zY)]`,
:math:`Y \sim \mathrm{Beta}(b_1, b_2)`, lies in :math:`[1, 1/(1-z)]` whatever the frequency, so
nothing overflows: everything is computed in logarithms, ``H`` by Gauss's continued fraction
with its derivatives in :math:`(b_1, b_2, z)` carried along (forward mode), which gives the
analytic gradient of the log-likelihood.

References: D. C. Schmittlein, D. G. Morrison and R. Colombo (1987), "Counting Your Customers:
Who Are They and What Will They Do Next?", Management Science 33(1), 1-24; P. S. Fader and
B. G. S. Hardie (2005), "A Note on Deriving the Pareto/NBD Model and Related Expressions"
(brucehardie.com/notes/009); P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "RFM and CLV:
Using Iso-Value Curves for Customer Base Analysis", Journal of Marketing Research 42(4), 415-430
(the CDNOW estimates).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import polars as pl
from scipy.special import digamma, gammaln

from retailcrm._errors import ArgumentError
from retailcrm.clv._base import check_min_customers, checked_rows, compress, maximise, unit_days
from retailcrm.clv._betageo import _need_repeat_buyers
from retailcrm.clv._transaction import TransactionModel

__all__ = ["ParetoNBD", "log_h"]

_COLUMNS = ("frequency", "recency", "T")

#: -log of the relative truncation error aimed at in the continued fraction (about 1.6e-17).
_DIGITS = 38.0


def _pairs_needed(z: np.ndarray) -> np.ndarray:
    r"""Pairs of continued-fraction terms for a truncation error below exp(-_DIGITS).

    The tail of Gauss's continued fraction converges like :math:`\rho^{2n}`,
    :math:`\rho = (1 - \sqrt{1-z}) / (1 + \sqrt{1-z})`; larger parameters only speed it up.
    """
    root = np.sqrt(1.0 - z)
    rho2 = ((1.0 - root) / (1.0 + root)) ** 2
    with np.errstate(divide="ignore"):
        n = np.ceil(_DIGITS / -np.log(rho2))
    return n.astype(np.int64) + 1


#: Most pairs of continued-fraction terms evaluated for one value: the depth needed grows like
#: 1/sqrt(1 - z), and this one (about 3000 pairs) reaches full precision down to 1 - z = 1e-5,
#: i.e. for any customer when the larger of alpha + tau and beta + tau is at most 100,000 times
#: the smaller.
_MAX_PAIRS = int(_pairs_needed(np.array(1.0 - 1e-5)))


class _OutOfRangeError(Exception):
    """Some value needs more continued-fraction terms than _MAX_PAIRS."""


def log_h(
    b1: np.ndarray, b2: np.ndarray, z: np.ndarray, *, grad: bool = False
) -> tuple[np.ndarray, ...]:
    r"""Logarithm of :math:`H = {}_2F_1(1, b_1; b_1 + b_2; z)` and its partial derivatives.

    Gauss's continued fraction for :math:`{}_2F_1(a+1, b; c+1; z) / {}_2F_1(a, b; c; z)` at
    :math:`a = 0`, :math:`b = b_1`, :math:`c = b_1 + b_2 - 1`:
    :math:`H = 1 / (1 + k_1 z / (1 + k_2 z / (1 + \dots)))` with
    :math:`k_{2j+1} = -\frac{(c+j)(b_1+j)}{(c+2j)(c+2j+1)}`,
    :math:`k_{2j+2} = -\frac{(b_2+j)(j+1)}{(c+2j+1)(c+2j+2)}`, evaluated from its tail with each
    row's own depth (rows sorted by depth, so each step works on a prefix) and, with ``grad``,
    the derivatives of every tail in :math:`(b_1, b_2, z)` carried along.

    Parameters
    ----------
    b1, b2
        Arrays (broadcast together) > 0 with :math:`b_1 + b_2 > 1`.
    z
        Array in [0, 1).
    grad
        Also return :math:`\partial \log H / \partial b_1`, :math:`\partial b_2`,
        :math:`\partial z`.

    Returns
    -------
    tuple of numpy.ndarray
        ``(log_h,)`` or ``(log_h, d_b1, d_b2, d_z)``.

    Raises
    ------
    _OutOfRangeError
        Some ``z`` is so close to 1 that more than ``_MAX_PAIRS`` pairs would be needed.

    Examples
    --------
    >>> import numpy as np
    >>> float(np.exp(log_h(np.array([1.0]), np.array([1.0]), np.array([0.5]))[0][0]))  # -ln(1-z)/z
    1.386294361119...
    """
    b1, b2, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (b1, b2, z)))
    shape = b1.shape
    b1, b2, z = b1.ravel(), b2.ravel(), z.ravel()
    depth = _pairs_needed(z)
    n = depth.size
    if n and int(depth.max()) > _MAX_PAIRS:
        raise _OutOfRangeError
    order = np.argsort(-depth, kind="stable")
    d = depth[order]
    B1, B2, Z = b1[order], b2[order], z[order]
    C = B1 + B2 - 1.0
    t = np.ones(n)
    g1, g2, gz = np.zeros(n), np.zeros(n), np.zeros(n)
    top = int(d[0]) if n else 0
    ends = np.searchsorted(-d, -np.arange(top), side="left")  # rows needing more than j pairs
    for j in range(top - 1, -1, -1):
        m = int(ends[j])
        c, tail, zz = C[:m], t[:m], Z[:m]
        i0, i1, i2 = 1.0 / (c + 2 * j), 1.0 / (c + 2 * j + 1), 1.0 / (c + 2 * j + 2)
        # the even term k_{2j+2}, then the odd term k_{2j+1}
        for even in (True, False):
            k = -(B2[:m] + j) * (j + 1) * i1 * i2 if even else -(c + j) * (B1[:m] + j) * i0 * i1
            w = k * zz / tail
            if grad:
                if even:
                    q1 = -(i1 + i2)
                    q2 = 1.0 / (B2[:m] + j) + q1
                else:
                    q2 = 1.0 / (c + j) - i0 - i1
                    q1 = q2 + 1.0 / (B1[:m] + j)
                ratio = w / tail
                g1[:m] = w * q1 - ratio * g1[:m]
                g2[:m] = w * q2 - ratio * g2[:m]
                gz[:m] = k / tail - ratio * gz[:m]
            tail = 1.0 + w
        t[:m] = tail
    outputs = [-np.log(t)]
    if grad:
        outputs += [-g1 / t, -g2 / t, -gz / t]
    result = []
    for values in outputs:
        back = np.empty(n)
        back[order] = values
        result.append(back.reshape(shape))
    return tuple(result)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product without BLAS.

    OpenBLAS threads woken by a large dot product starve the rest of a fit on a busy machine
    (measured up to 4x slower on 2 shared cores); a plain reduction costs nothing here.
    """
    return float(np.add.reduce(a * b))


class _Points(NamedTuple):
    r"""At points ``(x, tau)``: :math:`\log F(\tau)`, :math:`\log A(\tau)` and gradients."""

    log_f: np.ndarray
    log_alive: np.ndarray
    d_f: np.ndarray | None
    d_alive: np.ndarray | None


def _points(theta: np.ndarray, x: np.ndarray, tau: np.ndarray, *, grad: bool) -> _Points:
    r""":math:`\log F(\tau)` and :math:`\log A(\tau) = -(r+x)\log(\alpha+\tau) - s\log(\beta+\tau)`.

    With ``grad``, also their gradients in (r, alpha, s, beta), as 4 x n arrays.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    p = r + x
    ps = p + s
    a_tau, b_tau = alpha + tau, beta + tau
    log_a, log_b = np.log(a_tau), np.log(b_tau)
    log_alive = -p * log_a - s * log_b
    if alpha >= beta:
        out = log_h(p, np.full_like(p, s + 1.0), (alpha - beta) / a_tau, grad=grad)
        log_f = log_alive - np.log(ps) + out[0]
    else:
        out = log_h(np.full_like(p, s + 1.0), p, (beta - alpha) / b_tau, grad=grad)
        log_f = log_alive + log_a - log_b - np.log(ps) + out[0]
    if not grad:
        return _Points(log_f, log_alive, None, None)
    _, h1, h2, hz = out
    if alpha >= beta:
        d_f = [
            -log_a - 1.0 / ps + h1,
            -p / a_tau + hz * b_tau / a_tau**2,
            -log_b - 1.0 / ps + h2,
            -s / b_tau - hz / a_tau,
        ]
    else:
        d_f = [
            -log_a - 1.0 / ps + h2,
            (1.0 - p) / a_tau - hz / b_tau,
            -log_b - 1.0 / ps + h1,
            -(s + 1.0) / b_tau + hz * a_tau / b_tau**2,
        ]
    d_alive = [-log_a, -p / a_tau, -log_b, -s / b_tau]
    return _Points(log_f, log_alive, np.stack(d_f), np.stack(d_alive))


class _Rows(NamedTuple):
    r"""Per row: :math:`\log A(T)`, :math:`\log(sJ)`, their log-sum and :math:`1/(e^{-D}-1)`."""

    log_alive: np.ndarray
    log_sj: np.ndarray
    total: np.ndarray
    ratio: np.ndarray


def _rows(s: float, log_alive: np.ndarray, f_tx: np.ndarray, f_T: np.ndarray) -> _Rows:
    r"""Combine the point values of each row: :math:`\log(A + sJ)`, :math:`J = F(t_x) - F(T)`.

    :math:`D = \log F(T) - \log F(t_x) \le 0`; :math:`\log(sJ) = \log s + \log F(t_x) +
    \log(1 - e^D)` (-inf when :math:`t_x = T`, where the ratio is set to 0).
    """
    gap = np.minimum(f_T - f_tx, 0.0)
    has_j = gap < 0
    lost = -np.expm1(gap)  # 1 - e^D, in [0, 1)
    with np.errstate(divide="ignore"):
        log_sj = math.log(s) + f_tx + np.log(lost)
    ratio = np.exp(gap) / np.where(has_j, lost, 1.0) * has_j  # e^D / (1 - e^D); 0 where t_x = T
    return _Rows(log_alive, log_sj, np.logaddexp(log_alive, log_sj), ratio)


class _FitData(NamedTuple):
    """Compressed rows, the distinct (x, tau) points they need, and the counts per frequency."""

    w: np.ndarray
    point_x: np.ndarray
    point_tau: np.ndarray
    at_tx: np.ndarray
    at_end: np.ndarray
    levels: np.ndarray
    level_counts: np.ndarray


def _fit_data(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray) -> _FitData:
    """Index the distinct (x, tau) points over tau in {t_x, T}: F is evaluated once per point."""
    n = x.size
    both = np.concatenate([np.stack([x, t_x], axis=1), np.stack([x, T], axis=1)])
    points, where = np.unique(both, axis=0, return_inverse=True)
    where = where.ravel()
    levels, level_of = np.unique(x, return_inverse=True)
    counts = np.bincount(level_of.ravel(), weights=w, minlength=levels.size)
    return _FitData(
        w, points[:, 0].copy(), points[:, 1].copy(), where[:n], where[n:], levels, counts
    )


def _log_likelihood(theta: np.ndarray, d: _FitData) -> tuple[float, np.ndarray]:
    r"""Total Pareto/NBD log-likelihood of the rows and its gradient in (r, alpha, s, beta).

    The gradient of a row is :math:`\omega_A \nabla \log A(T) + \omega_J \nabla \log(sJ)`
    (softmax weights of the two terms) with :math:`\nabla \log J = (1 + \rho) \nabla \log
    F(t_x) - \rho \nabla \log F(T)`, :math:`\rho = 1 / (e^{-D} - 1)`: the row coefficients are
    summed onto the points first, so the 4-vectors are handled once per point. Where a value is
    out of the continued fraction's range (see ``_MAX_PAIRS``) the log-likelihood is -inf, which
    turns the optimiser back.
    """
    r, alpha, s, beta = (float(v) for v in theta)
    try:
        pts = _points(theta, d.point_x, d.point_tau, grad=True)
    except _OutOfRangeError:
        return -math.inf, np.zeros(4)
    assert pts.d_f is not None
    assert pts.d_alive is not None
    rows = _rows(s, pts.log_alive[d.at_end], pts.log_f[d.at_tx], pts.log_f[d.at_end])
    w_alive = d.w * np.exp(rows.log_alive - rows.total)
    w_j = d.w * np.exp(rows.log_sj - rows.total)
    m = d.point_x.size
    on_alive = np.bincount(d.at_end, weights=w_alive, minlength=m)
    on_f = np.bincount(d.at_tx, weights=w_j * (1.0 + rows.ratio), minlength=m) - np.bincount(
        d.at_end, weights=w_j * rows.ratio, minlength=m
    )
    n = float(d.w.sum())
    levels, counts = d.levels, d.level_counts
    value = (
        _dot(counts, gammaln(r + levels) - gammaln(r))
        + (r * math.log(alpha) + s * math.log(beta)) * n
        + _dot(d.w, rows.total)
    )
    grad = (pts.d_alive * on_alive).sum(axis=1) + (pts.d_f * on_f).sum(axis=1)
    grad += np.array(
        [
            _dot(counts, digamma(r + levels) - digamma(r)) + math.log(alpha) * n,
            r / alpha * n,
            math.log(beta) * n + float(w_j.sum()) / s,
            s / beta * n,
        ]
    )
    return float(value), grad


def _stable_power_term(s: float, base: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    r""":math:`[1 - (b / (b + t))^{s-1}] / (s - 1)`, and :math:`\log(1 + t/b)` at ``s == 1``."""
    log_ratio = np.log1p(t / base)
    if s == 1.0:
        return log_ratio
    return -np.expm1(-(s - 1.0) * log_ratio) / (s - 1.0)


@dataclass(frozen=True, slots=True)
class ParetoNBD(TransactionModel):
    r"""Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    Purchase rate :math:`\lambda \sim \mathrm{Gamma}(r, \alpha)` while active; lifetime
    exponential with rate :math:`\mu \sim \mathrm{Gamma}(s, \beta)`. ``alpha`` and ``beta``
    are in the time ``unit`` of the data; ``r`` and ``s`` have no unit.

    Build one from known values, or fit it with :meth:`fit`.

    Parameters
    ----------
    r, alpha, s, beta
        The parameters (all > 0).
    unit
        The time unit of ``alpha``, ``beta`` and of the summaries the model reads (``"1w"``,
        ``"1d"``, ...): the ``unit`` given to :func:`retailcrm.clv.summary`.
    log_likelihood, standard_errors, n_customers
        Figures of a fit (``None`` for a model built from values).

    Notes
    -----
    With :math:`A = (\alpha+T)^{-(r+x)}(\beta+T)^{-s}` and :math:`J = F(t_x) - F(T)` (see the
    module notes), P(alive) and the conditional expectation are equations (36) and (41) of
    Fader & Hardie's note 009:

    .. math::

        P(\text{alive} \mid x, t_x, T) = \frac{A}{A + sJ}

        E[Y(t) \mid x, t_x, T] = P(\text{alive})\,\frac{(r+x)(\beta+T)}{(\alpha+T)(s-1)}
            \Big[1 - \Big(\frac{\beta+T}{\beta+T+t}\Big)^{s-1}\Big]

    (at :math:`s = 1` the bracket over :math:`s - 1` is :math:`\log(1 + t/(\beta+T))`), and for a
    new customer :math:`E[Y(t)] = \frac{r\beta}{\alpha(s-1)}[1 - (\beta/(\beta+t))^{s-1}]`.
    Values are exact to about 1e-12 for any frequency while the larger of
    :math:`\alpha + \tau` and :math:`\beta + \tau` is at most 100,000 times the smaller
    (:math:`\tau` = recency or T); beyond that the predictions raise ``ArgumentError``.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm.clv import ParetoNBD
    >>> model = ParetoNBD(r=0.5533, alpha=10.5780, s=0.6061, beta=11.6673, unit="1w")  # CDNOW
    >>> people = pl.DataFrame({"customer_id": [1, 2], "frequency": [2, 0],
    ...                        "recency": [30.43, 0.0], "T": [38.86, 38.86]})
    >>> model.predict(people, horizon="52w").rows()
    [(1, 0.8691..., 0.1308..., 1.8509...), (2, 0.2951..., 0.7048..., 0.1362...)]
    """

    r: float
    alpha: float
    s: float
    beta: float
    _: KW_ONLY
    unit: str
    log_likelihood: float | None = None
    standard_errors: Mapping[str, float] | None = None
    n_customers: int | None = None
    PARAMS: ClassVar[tuple[str, ...]] = ("r", "alpha", "s", "beta")

    def __post_init__(self) -> None:
        self._check_params()
        unit_days(self.unit, caller="clv.ParetoNBD")

    @classmethod
    def fit(
        cls,
        summary: pl.DataFrame | pl.LazyFrame,
        /,
        *,
        unit: str,
        weights: str | None = None,
        penalizer: float = 0.0,
    ) -> ParetoNBD:
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
        ParetoNBD
            A new model with the estimates, ``log_likelihood`` (the total, as in the papers),
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

        Notes
        -----
        Identical rows are compressed to one with a count, and :math:`F` is computed once per
        distinct (frequency, recency) and (frequency, T) pair; time is scaled by the mean of
        ``T`` during the fit, so ``alpha`` and ``beta`` are of order 1 in any unit.
        """
        caller = "clv.ParetoNBD.fit"
        unit_days(unit, caller=caller)
        rows = checked_rows(summary, _COLUMNS, weights=weights, caller=caller)
        (x, t_x, T), w = compress(rows, _COLUMNS, weights=weights)
        n = float(w.sum())
        check_min_customers(n, len(cls.PARAMS), caller=caller)
        _need_repeat_buyers(x, caller)
        scale = max(float(w @ T) / n, 1e-12)
        t_x, T = t_x / scale, T / scale
        data = _fit_data(x, t_x, T, w)
        rate = max(float(w @ T) / max(float(w @ x), 1.0), 1e-3)
        start = np.log([1.0, rate, 1.0, 1.0])
        result = maximise(
            lambda theta: _log_likelihood(theta, data),
            start,
            names=cls.PARAMS,
            n_customers=n,
            penalizer=penalizer,
            caller=caller,
        )
        params, errors = dict(result.params), dict(result.standard_errors)
        for name in ("alpha", "beta"):
            params[name] *= scale
            errors[name] *= scale
        return cls(
            **params,
            unit=unit,
            log_likelihood=result.log_likelihood - float(w @ x) * math.log(scale),
            standard_errors=errors,
            n_customers=round(n),
        )

    def _row_values(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> _Rows:
        theta = np.array([self.r, self.alpha, self.s, self.beta])
        x, t_x, T = np.broadcast_arrays(x, t_x, T)
        try:
            at_tx = _points(theta, x, t_x, grad=False)
            at_end = _points(theta, x, T, grad=False)
        except _OutOfRangeError:
            ratio = max(self.alpha, self.beta) / min(self.alpha, self.beta)
            msg = (
                f"clv.ParetoNBD: alpha = {self.alpha:.4g} and beta = {self.beta:.4g} are too far "
                f"apart (ratio {ratio:.3g}) to evaluate P(alive) accurately for customers with "
                "recency or T near 0; the model supports a ratio of (larger + recency) / "
                "(smaller + recency) up to 100,000. Check the parameters and their time unit."
            )
            raise ArgumentError(msg) from None
        return _rows(self.s, at_end.log_alive, at_tx.log_f, at_end.log_f)

    def _p_alive_np(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        rows = self._row_values(x, t_x, T)
        return np.exp(rows.log_alive - rows.total)

    def _conditional_np(self, x: np.ndarray, T: np.ndarray, t: np.ndarray | float) -> np.ndarray:
        r, alpha, s, beta = self.r, self.alpha, self.s, self.beta
        t = np.broadcast_to(np.asarray(t, dtype=float), np.shape(x))
        b_T = beta + T
        return (r + x) * b_T / (alpha + T) * _stable_power_term(s, b_T, t)
