r"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005, "RFM and CLV").

Each transaction's value is :math:`z \sim \mathrm{Gamma}(p, \nu)`, with the customer's scale
:math:`\nu \sim \mathrm{Gamma}(q, \gamma)`; the paper writes :math:`\gamma` as ``v`` here, as in
lifetimes. For a customer with :math:`x` transactions of mean value :math:`\bar z`:

.. math::

    f(\bar z \mid x) = \frac{\Gamma(px + q)}{\Gamma(px)\,\Gamma(q)}
        \frac{v^q \, \bar z^{px - 1} \, x^{px}}{(v + x \bar z)^{px + q}}

    E[Z \mid x, \bar z] = \frac{p\,(v + x \bar z)}{px + q - 1}

Reference: P. S. Fader, B. G. S. Hardie and K. L. Lee (2005), "RFM and CLV: Using Iso-Value
Curves for Customer Base Analysis", Journal of Marketing Research 42(4), 415-430; and the note
"The Gamma-Gamma Model of Monetary Value" (brucehardie.com/notes/025).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar, NamedTuple, TypeVar

import numpy as np
import polars as pl
from scipy.special import digamma, gammaln, polygamma

from retailcrm._errors import ArgumentError
from retailcrm._schema import Check, forbid, require
from retailcrm.clv._base import (
    ModelMixin,
    _newton,
    check_min_customers,
    checked_rows,
    compress,
    dot,
    maximise,
    summary_checks,
)

__all__ = ["GammaGamma"]

_COLUMNS = ("frequency", "monetary_value")
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)

_POSITIVE_SPEND = Check(
    (pl.col("frequency") > 0) & (pl.col("monetary_value") <= 0),
    "have frequency > 0 but monetary_value <= 0",
    "The Gamma-Gamma model needs a positive mean spend for every repeat buyer; "
    "clv.summary() counts only days of positive net value as purchases.",
    ["frequency", "monetary_value"],
)


class _Tables(NamedTuple):
    """Fixed for a fit: distinct frequencies and per-row and summed constants."""

    levels: np.ndarray  # distinct x
    counts: np.ndarray  # customers per distinct x
    wx: np.ndarray  # w * x per row
    n: float  # sum of w
    sum_w_log_m: float  # sum of w log m
    sum_wx_log_m: float  # sum of w x log m


def _tables(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> _Tables:
    levels, where = np.unique(x, return_inverse=True)
    log_m = np.log(m)
    wx = w * x
    return _Tables(
        levels,
        np.bincount(where, weights=w, minlength=levels.size),
        wx,
        float(np.add.reduce(w)),
        dot(w, log_m),
        dot(wx, log_m),
    )


def _log_likelihood(
    theta: np.ndarray,
    x: np.ndarray,
    m: np.ndarray,
    w: np.ndarray,
    tables: _Tables | None = None,
    *,
    hessian: bool = False,
) -> tuple[float, np.ndarray] | tuple[float, np.ndarray, np.ndarray]:
    r"""Total Gamma-Gamma log-likelihood of rows with counts ``w``, and its gradient in (p, q, v).

    The gamma and digamma terms depend on ``x`` alone and are evaluated once per distinct
    frequency; the terms in :math:`\log \bar z` are sums fixed for the fit (``tables``, from
    ``_tables(x, m, w)``). Per row remains :math:`\log(v + x \bar z)` and its reciprocal.
    """
    p, q, v = (float(k) for k in theta)
    d = tables if tables is not None else _tables(x, m, w)
    levels, counts, n = d.levels, d.counts, d.n
    pl_ = p * levels
    psi = digamma(pl_ + q)
    vxm = v + x * m
    log_vxm = np.log(vxm)
    inv_vxm = 1.0 / vxm
    sum_wx_log, sum_w_log = dot(d.wx, log_vxm), dot(w, log_vxm)
    value = (
        dot(counts, gammaln(pl_ + q) - gammaln(pl_) + pl_ * np.log(levels))
        - gammaln(q) * n
        + q * math.log(v) * n
        + p * d.sum_wx_log_m
        - d.sum_w_log_m
        - p * sum_wx_log
        - q * sum_w_log
    )
    d_p = dot(counts * levels, psi - digamma(pl_) + np.log(levels)) + d.sum_wx_log_m - sum_wx_log
    d_q = dot(counts, psi) - digamma(q) * n + math.log(v) * n - sum_w_log
    r1, r0 = dot(d.wx, inv_vxm), dot(w, inv_vxm)
    d_v = q / v * n - p * r1 - q * r0
    grad = np.array([d_p, d_q, d_v])
    if not hessian:
        return float(value), grad
    tri = polygamma(1, pl_ + q)
    inv2 = inv_vxm**2
    H = np.empty((3, 3))
    H[0, 0] = dot(counts * levels**2, tri - polygamma(1, pl_))
    H[0, 1] = H[1, 0] = dot(counts * levels, tri)
    H[1, 1] = dot(counts, tri) - polygamma(1, q) * n
    H[0, 2] = H[2, 0] = -r1
    H[1, 2] = H[2, 1] = n / v - r0
    H[2, 2] = -q * n / v**2 + p * dot(d.wx, inv2) + q * dot(w, inv2)
    return float(value), grad, H


#: Above this many distinct rows, a fit first runs on a subsample of about this size.
_WARM_ROWS = 20_000


def _warm_start(
    start: np.ndarray, x: np.ndarray, m: np.ndarray, w: np.ndarray, penalizer: float
) -> np.ndarray:
    """A starting point near the estimate for large fits: Newton's method on every k-th row.

    The rows are in a canonical order (``compress``), so the result does not depend on the
    input's row order; the estimate is the same optimum, reached in fewer steps on all rows.
    """
    if x.size <= 2 * _WARM_ROWS:
        return start
    pick = slice(None, None, x.size // _WARM_ROWS)
    xs, ms = x[pick], m[pick]
    ws = w[pick] * (float(w.sum()) / float(w[pick].sum()))
    tables = _tables(xs, ms, ws)
    found = _newton(
        lambda theta: _log_likelihood(theta, xs, ms, ws, tables, hessian=True),
        start,
        float(ws.sum()),
        penalizer,
    )
    return start if found is None else found[0]


@dataclass(frozen=True, slots=True)
class GammaGamma(ModelMixin):
    r"""Gamma-Gamma model of the mean spend per purchase (Fader, Hardie & Lee 2005).

    Build one from known values, or fit it with :meth:`fit`. It assumes spend is independent of
    purchase frequency: check that the correlation of ``frequency`` and ``monetary_value``
    among repeat buyers is small before using it.

    Parameters
    ----------
    p, q, v
        The parameters (all > 0). ``v`` is in money; the population mean spend per purchase is
        :math:`pv / (q - 1)`, finite only for ``q > 1``.
    log_likelihood, standard_errors, n_customers
        Figures of a fit (``None`` for a model built from values); ``n_customers`` counts the
        repeat buyers the fit used.
    n_excluded
        Customers left out of the fit because their frequency is 0.

    Notes
    -----
    .. math::

        E[Z \mid x, \bar z] = \frac{p\,(v + x \bar z)}{px + q - 1}
            = (1 - \omega)\,\frac{pv}{q - 1} + \omega\,\bar z,
            \quad \omega = \frac{px}{px + q - 1}

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm.clv import GammaGamma
    >>> spend = GammaGamma(p=6.25, q=3.74, v=15.44)  # CDNOW, Fader, Hardie & Lee (2005)
    >>> people = pl.DataFrame({"customer_id": [1, 2], "frequency": [2, 0],
    ...                        "monetary_value": [22.35, 0.0]})
    >>> spend.expected_spend(people).rows()
    [(1, 24.66...), (2, 35.21...)]
    """

    p: float
    q: float
    v: float
    _: KW_ONLY
    log_likelihood: float | None = None
    standard_errors: Mapping[str, float] | None = None
    n_customers: int | None = None
    n_excluded: int | None = None
    PARAMS: ClassVar[tuple[str, ...]] = ("p", "q", "v")

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
    ) -> GammaGamma:
        r"""Maximum-likelihood fit on the repeat buyers of a per-customer summary.

        Only customers with ``frequency > 0`` enter the fit (``monetary_value`` is the mean of
        their repeat purchases); the others are counted in ``n_excluded``.

        Parameters
        ----------
        summary
            ``frequency`` and ``monetary_value`` (as from :func:`retailcrm.clv.summary`).
        weights
            Name of a column counting the customers each row stands for (whole numbers >= 0).
        penalizer
            L2 penalty :math:`\lambda \sum \theta_k^2` added to the mean negative
            log-likelihood; 0 for the plain MLE.

        Returns
        -------
        GammaGamma
            A new model with the estimates, ``log_likelihood``, ``standard_errors``,
            ``n_customers`` (repeat buyers used) and ``n_excluded``.

        Raises
        ------
        ColumnError
            A column is missing or not numeric.
        DataError
            Invalid rows (negative or non-finite values, non-integer frequency, a repeat buyer
            with monetary_value <= 0) or fewer than 4 repeat buyers.
        ConvergenceError
            The optimiser failed or a parameter runs off to 0 or infinity.
        """
        caller = "clv.GammaGamma.fit"
        rows = checked_rows(
            summary, _COLUMNS, weights=weights, caller=caller, extra=[_POSITIVE_SPEND]
        )
        count = pl.col(weights).cast(pl.Float64).sum() if weights is not None else pl.len()
        n_all = float(rows.select(count).item() or 0.0)
        (x, m), w = compress(rows.filter(pl.col("frequency") > 0), _COLUMNS, weights=weights)
        n = float(w.sum())
        check_min_customers(n, len(cls.PARAMS), caller=caller)
        # money in units of the mean spend: v is then of order 1 in any currency; the density
        # of each customer's mean spend changes by 1 / scale
        scale = dot(w, m) / n
        m = m / scale
        tables = _tables(x, m, w)
        start = _warm_start(np.log([1.0, 2.0, 1.0]), x, m, w, penalizer)
        result = maximise(
            lambda theta: _log_likelihood(theta, x, m, w, tables),
            start,
            hessian=lambda theta: _log_likelihood(theta, x, m, w, tables, hessian=True),
            names=cls.PARAMS,
            n_customers=n,
            penalizer=penalizer,
            caller=caller,
        )
        params, errors = dict(result.params), dict(result.standard_errors)
        params["v"] *= scale
        errors["v"] *= scale
        return cls(
            **params,
            log_likelihood=result.log_likelihood - n * math.log(scale),
            standard_errors=errors,
            n_customers=round(n),
            n_excluded=round(n_all - n),
        )

    def _spend_expr(self, caller: str) -> pl.Expr:
        if self.q <= 1:
            msg = (
                f"{caller}: q = {self.q:.4g} <= 1, so the mean spend per purchase is infinite "
                "under this model. Spend is too heavy-tailed for Gamma-Gamma; cap outliers."
            )
            raise ArgumentError(msg)
        x = pl.col("frequency").cast(pl.Float64)
        zbar = pl.when(x > 0).then(pl.col("monetary_value").cast(pl.Float64)).otherwise(0.0)
        return self.p * (self.v + x * zbar) / (self.p * x + self.q - 1)

    def expected_spend(self, summary: FrameT, /) -> FrameT:
        """Predict the mean spend per future purchase of each customer, given their history.

        Parameters
        ----------
        summary
            ``customer_id``, ``frequency``, ``monetary_value``. Rows of a DataFrame are checked;
            a LazyFrame is not read. Customers with frequency 0 get the population mean
            :math:`pv / (q - 1)` (their ``monetary_value`` is ignored).

        Returns
        -------
        pl.DataFrame or pl.LazyFrame
            The kind given, in its row order: ``customer_id``, ``expected_spend`` (f64).

        Raises
        ------
        ArgumentError
            ``q <= 1``: the model has no finite mean.
        """
        caller = "clv.GammaGamma.expected_spend"
        require(summary, {"customer_id": "any"} | dict.fromkeys(_COLUMNS, "numeric"), caller=caller)
        if isinstance(summary, pl.DataFrame):
            checks = [*summary_checks(_COLUMNS, integer=("frequency",)), _POSITIVE_SPEND]
            forbid(summary, *checks, caller=caller)
        return summary.select("customer_id", expected_spend=self._spend_expr(caller))
