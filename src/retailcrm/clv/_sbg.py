r"""The shifted-beta-geometric (sBG) model of contract renewals (Fader & Hardie 2007).

At the end of each period a customer under contract cancels with probability :math:`\theta`,
fixed for the customer and distributed :math:`\mathrm{Beta}(\gamma, \delta)` across customers.
The probability of cancelling in period :math:`t` and of surviving beyond it are

.. math::

    P(T = t) = \frac{B(\gamma + 1, \delta + t - 1)}{B(\gamma, \delta)}, \qquad
    S(t) = \frac{B(\gamma, \delta + t)}{B(\gamma, \delta)}, \qquad t = 1, 2, \dots

and the retention rate, the share of those alive in period :math:`t - 1` who renew,
:math:`r_t = S(t) / S(t - 1) = (\delta + t - 1) / (\gamma + \delta + t - 1)` rises with
:math:`t`: heterogeneity alone makes survivors more loyal. A cohort observed to period
:math:`\tau`, with :math:`n_t` customers still active at the end of period :math:`t`, has

.. math::

    \ell = \sum_{t=1}^{\tau} (n_{t-1} - n_t) \log P(T = t) + n_\tau \log S(\tau)

Reference: P. S. Fader and B. G. S. Hardie (2007), "How to Project Customer Retention",
Journal of Interactive Marketing 21(1), 76-90.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import KW_ONLY, dataclass
from typing import ClassVar

import numpy as np
import polars as pl
from scipy.special import betaln, digamma

from retailcrm._errors import ArgumentError, DataError
from retailcrm._schema import Check, forbid, require
from retailcrm.clv._base import ModelMixin, maximise

__all__ = ["ShiftedBetaGeo"]

_CALLER = "clv.ShiftedBetaGeo.fit"


def _log_likelihood(
    theta: np.ndarray, t: np.ndarray, lost: np.ndarray, kept: np.ndarray
) -> tuple[float, np.ndarray]:
    """Log-likelihood of the counts and its gradient in (gamma, delta).

    ``lost[i]`` customers cancelled in period ``t[i]``; ``kept[i]`` were still active at its
    end when observation stopped (censored).
    """
    g, d = (float(v) for v in theta)
    n = float(lost.sum() + kept.sum())
    log_p = betaln(g + 1, d + t - 1)
    log_s = betaln(g, d + t)
    value = float(lost @ log_p + kept @ log_s) - betaln(g, d) * n
    psi_p = digamma(g + d + t)
    d_g = lost @ (digamma(g + 1) - psi_p) + kept @ (digamma(g) - psi_p)
    d_d = lost @ (digamma(d + t - 1) - psi_p) + kept @ (digamma(d + t) - psi_p)
    base = digamma(g + d)
    grad = np.array([d_g - (digamma(g) - base) * n, d_d - (digamma(d) - base) * n])
    return value, grad


def _counts(survivors: pl.DataFrame | pl.LazyFrame) -> tuple[np.ndarray, ...]:
    """Check the survivor table; return per period t >= 1: cancellations and censored counts."""
    require(survivors, {"period": "numeric", "customers": "numeric"}, caller=_CALLER)
    names = survivors.collect_schema().names()
    by = ["cohort"] if "cohort" in names else []
    frame = survivors.lazy().select(*by, "period", "customers")
    show = [*by, "period", "customers"]
    period, count = pl.col("period").cast(pl.Float64), pl.col("customers").cast(pl.Float64)
    bad = period.is_null() | period.is_nan() | count.is_null() | count.is_nan()
    whole = (period != period.floor()) | (count != count.floor()) | (period < 0) | (count < 0)
    fix = (
        "Give one row per period 0, 1, 2, ... with the customers still active at its end "
        "(period 0: the cohort's size)."
    )
    forbid(
        frame,
        Check(bad, "have a null or NaN period or customers", fix, show),
        Check(whole, "have a period or customers that is not a whole number >= 0", fix, show),
        caller=_CALLER,
    )
    ordered = frame.sort([*by, "period"]).with_columns(
        previous=pl.col("customers").shift(1).over(by) if by else pl.col("customers").shift(1),
        step=(pl.col("period").diff().over(by) if by else pl.col("period").diff()),
        first=(pl.col("period").min().over(by) if by else pl.col("period").min()),
    )
    forbid(
        ordered,
        Check(
            pl.col("first") != 0, "belong to a cohort whose periods do not start at 0", fix, show
        ),
        Check(
            pl.col("step") != 1, "have a period that does not follow the one before by 1", fix, show
        ),
        Check(
            pl.col("customers") > pl.col("previous"),
            "have more customers than the period before",
            "Survivor counts cannot grow: count each cohort's customers once, at acquisition.",
            show,
        ),
        caller=_CALLER,
    )
    last = pl.col("period") == (pl.col("period").max().over(by) if by else pl.col("period").max())
    table = (
        ordered.with_columns(censored=pl.when(last).then(pl.col("customers")).otherwise(0))
        .filter(pl.col("period") > 0)
        .group_by("period")
        .agg(
            lost=(pl.col("previous") - pl.col("customers")).sum().cast(pl.Float64),
            kept=pl.col("censored").sum().cast(pl.Float64),
        )
        .sort("period")
        .collect()
    )
    sizes = ordered.filter(pl.col("period") == 0).select(pl.col("customers").sum()).collect()
    n = float(sizes.item() or 0.0)
    t = table["period"].cast(pl.Float64).to_numpy()
    return t, table["lost"].to_numpy(), table["kept"].to_numpy(), np.array(n)


@dataclass(frozen=True, slots=True)
class ShiftedBetaGeo(ModelMixin):
    r"""Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007).

    For subscriptions and other contracts where cancellations are observed: each customer
    cancels at the end of a period with their own probability :math:`\theta \sim
    \mathrm{Beta}(\gamma, \delta)`. Fit it to the survivor counts of one or more cohorts, then
    project survival and retention beyond the data.

    Parameters
    ----------
    gamma, delta
        The parameters (both > 0); the mean cancellation probability is
        :math:`\gamma / (\gamma + \delta)`.
    log_likelihood, standard_errors, n_customers
        Figures of a fit (``None`` for a model built from values); ``n_customers`` is the
        total size of the cohorts fitted.

    Notes
    -----
    See the module notes for :math:`P(T = t)`, :math:`S(t)` and the retention rate
    :math:`r_t = (\delta + t - 1) / (\gamma + \delta + t - 1)`.

    Examples
    --------
    >>> import polars as pl
    >>> from retailcrm.clv import ShiftedBetaGeo
    >>> regular = pl.DataFrame({"period": range(8),  # Fader & Hardie (2007), "regular" customers
    ...     "customers": [1000, 631, 468, 382, 326, 289, 262, 241]})
    >>> model = ShiftedBetaGeo.fit(regular)
    >>> round(model.gamma, 3), round(model.delta, 3)
    (0.704, 1.182)
    >>> model.project(12).tail(2).rows()  # actual: 183 and 173 customers
    [(11, 0.1798..., 0.9407..., 179.86...), (12, 0.1700..., 0.9453..., 170.03...)]
    """

    gamma: float
    delta: float
    _: KW_ONLY
    log_likelihood: float | None = None
    standard_errors: Mapping[str, float] | None = None
    n_customers: int | None = None
    PARAMS: ClassVar[tuple[str, ...]] = ("gamma", "delta")

    def __post_init__(self) -> None:
        self._check_params()

    @classmethod
    def fit(
        cls, survivors: pl.DataFrame | pl.LazyFrame, /, *, penalizer: float = 0.0
    ) -> ShiftedBetaGeo:
        r"""Maximum-likelihood fit on cohort survivor counts.

        Parameters
        ----------
        survivors
            One row per cohort and period: ``period`` (0, 1, 2, ... consecutive, whole
            numbers) and ``customers`` (still under contract at the end of the period; period
            0 holds the cohort's size), plus ``cohort`` (any dtype) when there are several
            cohorts, which may be observed for different numbers of periods.
        penalizer
            L2 penalty :math:`\lambda (\gamma^2 + \delta^2)` added to the mean negative
            log-likelihood; 0 for the plain MLE.

        Returns
        -------
        ShiftedBetaGeo
            A new model with the estimates, ``log_likelihood``, ``standard_errors`` and
            ``n_customers`` (the customers at period 0, summed over cohorts).

        Raises
        ------
        ColumnError
            ``period`` or ``customers`` is missing or not numeric.
        DataError
            Nulls, non-integers, periods that do not run 0, 1, 2, ..., counts that grow, fewer
            than two periods after period 0, or no cancellation at all.
        ConvergenceError
            The optimiser failed or a parameter runs off to 0 or infinity.
        """
        t, lost, kept, size = _counts(survivors)
        n = float(size)
        if t.size < 2 or n <= 0:
            msg = (
                f"{_CALLER}: the survivor counts cover {t.size} period(s) after period 0 for "
                f"{n:.0f} customer(s); two parameters need at least 2 periods of a non-empty "
                "cohort. Observe the cohort longer."
            )
            raise DataError(msg)
        if lost.sum() == 0:
            msg = (
                f"{_CALLER}: no customer cancelled in {t.size} periods, so the cancellation "
                "probabilities cannot be estimated. Observe the cohort longer."
            )
            raise DataError(msg)
        result = maximise(
            lambda theta: _log_likelihood(theta, t, lost, kept),
            np.zeros(2),
            names=cls.PARAMS,
            n_customers=n,
            penalizer=penalizer,
            caller=_CALLER,
        )
        return cls(
            **result.params,
            log_likelihood=result.log_likelihood,
            standard_errors=result.standard_errors,
            n_customers=round(n),
        )

    def project(self, periods: int, /, *, cohort_size: float | None = None) -> pl.DataFrame:
        r"""Survival, retention and expected customers for periods 0 to ``periods``.

        Parameters
        ----------
        periods
            The last period projected (whole number >= 0).
        cohort_size
            Customers at period 0; by default the fitted ``n_customers`` (null when the model
            was built from values and no size is given).

        Returns
        -------
        pl.DataFrame
            One row per period: ``period`` (i64), ``survival`` (f64, :math:`S(t)`, 1 at period
            0), ``retention`` (f64, :math:`r_t`; null at period 0) and ``customers`` (f64,
            ``cohort_size * survival``; null without a size).
        """
        caller = "clv.ShiftedBetaGeo.project"
        if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 0:
            msg = f"{caller}: periods must be a whole number >= 0; got {periods!r}."
            raise ArgumentError(msg)
        size = cohort_size if cohort_size is not None else self.n_customers
        if size is not None and not (np.isfinite(size) and size >= 0):
            msg = f"{caller}: cohort_size must be a finite number >= 0; got {cohort_size!r}."
            raise ArgumentError(msg)
        g, d = self.gamma, self.delta
        t = np.arange(int(periods) + 1, dtype=float)
        survival = np.exp(betaln(g, d + t) - betaln(g, d))
        retention = (d + t - 1) / (g + d + t - 1)
        return pl.DataFrame(
            {
                "period": np.arange(int(periods) + 1),
                "survival": survival,
                "retention": [None, *retention[1:].tolist()],
                "customers": (survival * size).tolist() if size is not None else None,
            },
            schema={
                "period": pl.Int64,
                "survival": pl.Float64,
                "retention": pl.Float64,
                "customers": pl.Float64,
            },
        )
