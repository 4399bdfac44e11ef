"""Shared machinery of the BTYD models: units, input checks, compression, the fit, the Hessian.

Every model's ``fit`` goes through the same steps:

1. :func:`checked_rows` checks the columns (``require``) and the rows (``forbid``) of the summary;
2. :func:`compress` collapses identical rows into one row with a count (the likelihood of a
   row depends only on its values), sorted so the result does not depend on row order;
3. :func:`maximise` minimises the mean negative log-likelihood (plus an optional L2 penalty)
   over the logarithms of the parameters with L-BFGS-B and the model's analytic gradient, and
   turns the Hessian into standard errors.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import polars as pl
from scipy.optimize import minimize

from retailcrm._errors import (
    ArgumentError,
    ConvergenceError,
    DataError,
    RetailCRMWarning,
)
from retailcrm._schema import Check, forbid, require
from retailcrm._time import parse_period

__all__ = [
    "LOG_BOUND",
    "FitResult",
    "ModelMixin",
    "check_min_customers",
    "checked_rows",
    "compress",
    "dot",
    "horizon_in_units",
    "maximise",
    "numpy_columns",
    "summary_checks",
    "unit_days",
]

#: Days in an average Gregorian month, quarter and year (365.2425 days a year).
_YEAR_DAYS = 365.2425
_UNIT_DAYS = {"d": 1.0, "w": 7.0, "mo": _YEAR_DAYS / 12, "q": _YEAR_DAYS / 4, "y": _YEAR_DAYS}

#: Bounds of the log-parameters during a fit: parameters live in [1e-8, 1e8]. The models scale
#: their data (time by the mean T, money by the mean spend) so that estimates are of order 1; a
#: fit that fails with an estimate beyond [1e-4, 1e4] is reported as running off.
LOG_BOUND = math.log(1e8)
_DRIFT = math.log(1e4)

Gradient = Callable[[np.ndarray], tuple[float, np.ndarray]]
Hessian = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


def dot(a: np.ndarray, b: np.ndarray) -> float:
    """Inner product of two vectors without BLAS.

    ``a @ b`` on long vectors wakes OpenBLAS's threads, which on a busy machine cost more than
    the product (measured 3.5x slower likelihoods on 2 shared cores); a plain multiply and
    reduce does not, and its pairwise summation is as accurate.

    Examples
    --------
    >>> dot(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    11.0
    """
    return float(np.add.reduce(a * b))


def unit_days(unit: str, *, caller: str) -> float:
    """Length of a time unit in days: ``"1d"`` 1, ``"1w"`` 7, ``"1mo"`` 365.2425 / 12, ...

    Months, quarters and years are average Gregorian lengths (a year is 365.2425 days).

    Examples
    --------
    >>> unit_days("2w", caller="demo")
    14.0
    >>> round(unit_days("1mo", caller="demo"), 4)
    30.4369
    """
    period = parse_period(unit, caller=caller)
    return period.n * _UNIT_DAYS[period.unit]


def horizon_in_units(t: float | str, model_unit: str, *, name: str, caller: str) -> float:
    """Convert a time span to the model's unit (a number is already in it; a string is converted).

    Examples
    --------
    >>> horizon_in_units("14d", "1w", name="t", caller="demo")
    2.0
    >>> horizon_in_units(3, "1w", name="t", caller="demo")
    3.0
    """
    if isinstance(t, str):
        value = unit_days(t, caller=caller) / unit_days(model_unit, caller=caller)
    elif isinstance(t, (int, float, np.integer, np.floating)) and not isinstance(t, bool):
        value = float(t)
    else:
        msg = (
            f"{caller}: {name} must be a number (in the model's unit, {model_unit!r}) or a "
            f"duration string such as '26w' or '6mo'; got {t!r}."
        )
        raise ArgumentError(msg)
    if not (math.isfinite(value) and value >= 0):
        msg = f"{caller}: {name} must be a finite number >= 0; got {t!r}."
        raise ArgumentError(msg)
    return value


def summary_checks(
    columns: Sequence[str], *, integer: Sequence[str] = (), show: Sequence[str] | None = None
) -> list[Check]:
    """Row rules for a per-customer summary: finite, >= 0, whole counts, recency <= T, ...

    Only the rules whose columns are in ``columns`` are returned; an offending row is shown
    with the columns ``show`` (by default ``customer_id`` and ``columns``).
    """
    show = list(show) if show is not None else ["customer_id", *columns]
    fix = "Build the summary with clv.summary(), which gives consistent values."
    checks: list[Check] = []
    for name in columns:
        col = pl.col(name).cast(pl.Float64)
        checks.append(
            Check(
                col.is_null() | col.is_nan() | col.is_infinite(),
                f"have a null, NaN or infinite {name}",
                f"Drop or fix those rows; {name} must be a finite number.",
                show,
            )
        )
        checks.append(Check(col < 0, f"have a negative {name}", fix, show))
    for name in integer:
        col = pl.col(name).cast(pl.Float64)
        checks.append(
            Check(
                col != col.floor(),
                f"have a {name} that is not a whole number",
                f"{name} counts repeat purchases. {fix}",
                show,
            )
        )
    if "recency" in columns and "T" in columns:
        checks.append(
            Check(
                pl.col("recency") > pl.col("T"),
                "have recency > T",
                "Build recency and T with clv.summary() from one as_of.",
                show,
            )
        )
    if "recency" in columns and "frequency" in columns:
        checks.append(
            Check(
                (pl.col("frequency") == 0) & (pl.col("recency") > 0),
                "have frequency 0 with recency > 0 (recency is first to last purchase)",
                fix,
                show,
            )
        )
    return checks


def _with_customer(frame: pl.DataFrame | pl.LazyFrame, columns: Sequence[str]) -> list[str]:
    present = frame.collect_schema().names()
    return [c for c in ("customer_id", *columns) if c in present]


def checked_rows(
    summary: pl.DataFrame | pl.LazyFrame,
    columns: Sequence[str],
    *,
    weights: str | None,
    caller: str,
    integer: Sequence[str] = ("frequency",),
    extra: Sequence[Check] = (),
    where: pl.Expr | None = None,
    rules: Callable[[list[str]], Sequence[Check]] | None = None,
) -> pl.DataFrame:
    """Check and collect the columns a fit needs (plus ``weights``), rows filtered by ``where``.

    The row rules are :func:`summary_checks` (for frequency / recency / T summaries) plus
    ``extra``, or, when given, ``rules(show)`` plus ``extra`` (``show`` lists the columns an
    offending row is shown with).
    """
    needed = dict.fromkeys(columns, "numeric")
    if weights is not None:
        if not isinstance(weights, str):
            msg = f"{caller}: weights must be a column name (str) or None; got {weights!r}."
            raise ArgumentError(msg)
        needed[weights] = "numeric"
    require(summary, needed, caller=caller)
    frame = summary.lazy().select(_with_customer(summary, list(needed)))
    show = _with_customer(summary, columns)
    base = (
        rules(show)
        if rules is not None
        else summary_checks(list(columns), integer=integer, show=show)
    )
    checks = [*base, *extra]
    if weights is not None:
        w = pl.col(weights).cast(pl.Float64)
        show = [*show, weights]
        checks.append(
            Check(
                w.is_null() | w.is_nan() | w.is_infinite() | (w < 0) | (w != w.floor()),
                f"have a weight ({weights!r}) that is not a whole number >= 0",
                "weights counts the customers each row stands for.",
                show,
            )
        )
    forbid(frame, *checks, caller=caller)
    if where is not None:
        frame = frame.filter(where)
    return frame.collect()


def _lexicographic_order(arrays: Sequence[np.ndarray]) -> np.ndarray:
    """The permutation that sorts rows by the first array, then the second, ...

    Each column is replaced by its rank among its distinct values and the ranks are combined
    into one integer key: one argsort instead of a multi-column sort.
    """
    ranks = [np.unique(a, return_inverse=True) for a in arrays]
    if math.prod(max(values.size, 1) for values, _ in ranks) >= 2**62:
        return np.lexsort(arrays[::-1])
    key = np.zeros(arrays[0].size, dtype=np.int64)
    for values, where in ranks:
        key = key * values.size + where.ravel()
    return np.argsort(key, kind="stable")


def compress(
    rows: pl.DataFrame, columns: Sequence[str], *, weights: str | None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Collapse identical rows: unique rows of ``columns`` (sorted) and their customer counts."""
    count = pl.col(weights).cast(pl.Float64) if weights is not None else pl.lit(1.0)
    grouped = (
        rows.lazy()
        .select(*[pl.col(c).cast(pl.Float64) for c in columns], _count=count)
        .group_by(columns)
        .agg(pl.col("_count").sum())
        .filter(pl.col("_count") > 0)
        .collect()
    )
    arrays = [grouped[c].to_numpy() for c in columns]
    counts = grouped["_count"].to_numpy()
    if counts.size == 0:
        return arrays, counts
    order = _lexicographic_order(arrays)  # a canonical order: the fit is then row-order free
    return [a[order] for a in arrays], counts[order]


@dataclass(frozen=True)
class FitResult:
    """What :func:`maximise` found: parameters, log-likelihood, standard errors."""

    params: dict[str, float]
    log_likelihood: float
    standard_errors: dict[str, float]


def _hessian(gradient: Gradient, phi: np.ndarray) -> np.ndarray:
    """Central-difference Hessian of a function from its analytic gradient (symmetrised)."""
    k = phi.size
    hess = np.empty((k, k))
    for i in range(k):
        step = 1e-5 * max(1.0, abs(phi[i]))
        up, down = phi.copy(), phi.copy()
        up[i] += step
        down[i] -= step
        hess[:, i] = (gradient(up)[1] - gradient(down)[1]) / (2 * step)
    return (hess + hess.T) / 2


def _objective_hessian(
    hessian: Hessian, phi: np.ndarray, n_customers: float, penalizer: float
) -> tuple[float, np.ndarray, np.ndarray, float]:
    r"""The objective, its gradient and Hessian in the log-parameters, and the log-likelihood.

    With :math:`\theta = e^\phi`: :math:`\partial_\phi \ell = \theta \odot g` and
    :math:`\partial^2_\phi \ell = \mathrm{diag}(\theta) H \mathrm{diag}(\theta) +
    \mathrm{diag}(\theta \odot g)`.
    """
    theta = np.exp(phi)
    value, g, h = hessian(theta)
    f = -value / n_customers + penalizer * float(np.sum(theta**2))
    grad = -g * theta / n_customers + 2 * penalizer * theta**2
    hess = -(theta[:, None] * h * theta[None, :] + np.diag(g * theta)) / n_customers
    hess += np.diag(4 * penalizer * theta**2)
    return f, grad, hess, value


def _newton(
    hessian: Hessian, start: np.ndarray, n_customers: float, penalizer: float
) -> tuple[np.ndarray, float, np.ndarray] | None:
    """Newton's method with a trust region (scipy's ``trust-exact``) on the log-parameters.

    Returns the estimate, the log-likelihood there and the Hessian of ``N f``; ``None`` when it
    does not end cleanly (not converged, a parameter beyond [1e-4, 1e4] in the fit's scale, a
    Hessian that is not positive definite), so that the caller falls back to L-BFGS-B.
    """
    cache: dict[bytes, tuple[float, np.ndarray, np.ndarray, float]] = {}

    def evaluate(phi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, float]:
        key = phi.tobytes()
        if key not in cache:
            if np.max(np.abs(phi)) > LOG_BOUND:  # out of bounds: a step to turn back from
                cache[key] = (math.inf, np.zeros_like(phi), np.eye(phi.size), -math.inf)
            else:
                cache.clear()
                cache[key] = _objective_hessian(hessian, phi, n_customers, penalizer)
        return cache[key]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # trial steps may overflow; the
        # accepted path is re-evaluated below under the caller's warning filters
        res = minimize(
            lambda phi: evaluate(phi)[:2],
            np.asarray(start, dtype=float),
            jac=True,
            hess=lambda phi: evaluate(phi)[2],
            method="trust-exact",
            options={"gtol": 1e-9, "maxiter": 200, "initial_trust_radius": 1.0,
                     "max_trust_radius": 4.0},
        )  # fmt: skip
    if not res.success or not np.all(np.isfinite(res.x)) or np.max(np.abs(res.x)) > _DRIFT:
        return None
    key = res.x.tobytes()  # usually the last point evaluated, so cached
    f, _, hess, value = (
        cache[key]
        if key in cache and math.isfinite(cache[key][0])
        else _objective_hessian(hessian, res.x, n_customers, penalizer)
    )
    try:
        np.linalg.cholesky(hess)
    except np.linalg.LinAlgError:
        return None
    if not (math.isfinite(f) and math.isfinite(value)):
        return None
    return res.x, value, hess * n_customers


def _standard_errors(hess: np.ndarray, theta: np.ndarray, caller: str) -> np.ndarray:
    """Delta-method standard errors from the Hessian of ``N f``.

    NaN, with a warning, when the Hessian is singular or not positive definite.
    """
    se = np.full(theta.size, np.nan)
    try:
        np.linalg.cholesky(hess)
        cov = np.linalg.inv(hess)
        singular = not np.all(np.isfinite(cov)) or np.linalg.cond(hess) > 1e14
    except np.linalg.LinAlgError:
        singular = True
    if singular:
        warnings.warn(
            f"{caller}: the Hessian at the estimate is singular or not positive definite, so "
            "the standard errors are NaN. The parameters may be poorly identified by these data.",
            RetailCRMWarning,
            stacklevel=4,
        )
    else:
        se = theta * np.sqrt(np.diag(cov))
    return se


def maximise(
    log_likelihood: Gradient,
    start: np.ndarray,
    *,
    names: Sequence[str],
    n_customers: float,
    penalizer: float,
    caller: str,
    hessian: Hessian | None = None,
) -> FitResult:
    r"""Maximise a log-likelihood over log-parameters; raise ConvergenceError when it fails.

    ``log_likelihood(theta)`` returns the total log-likelihood (weighted by the row counts) and
    its gradient with respect to the natural parameters ``theta``. The objective minimised is

    .. math:: f(\phi) = -\ell(e^{\phi}) / N + \lambda \sum_k e^{2\phi_k}

    (``penalizer`` :math:`\lambda`, as lifetimes' ``penalizer_coef``). Standard errors come from
    the Hessian of :math:`N f` in :math:`\phi` by the delta method,
    :math:`\mathrm{se}(\theta_k) = \theta_k \sqrt{(H^{-1})_{kk}}`.

    With ``hessian(theta)`` (the log-likelihood, its gradient and its matrix of second
    derivatives in ``theta``), Newton's method with a trust region runs first: it needs a few
    evaluations where L-BFGS-B needs twenty or more, and its Hessian gives the standard errors
    directly. Should it not end cleanly, L-BFGS-B takes over from ``start`` as without it.
    Without ``hessian``, the Hessian for the standard errors is a central difference of the
    analytic gradient.
    """
    if not (isinstance(penalizer, (int, float)) and math.isfinite(penalizer) and penalizer >= 0):
        msg = f"{caller}: penalizer must be a finite number >= 0; got {penalizer!r}."
        raise ArgumentError(msg)
    if hessian is not None:
        found = _newton(hessian, start, n_customers, penalizer)
        if found is not None:
            phi, value, hess = found
            theta = np.exp(phi)
            se = _standard_errors(hess, theta, caller)
            return FitResult(
                params=dict(zip(names, theta.tolist(), strict=True)),
                log_likelihood=float(value),
                standard_errors=dict(zip(names, se.tolist(), strict=True)),
            )

    def objective(phi: np.ndarray) -> tuple[float, np.ndarray]:
        theta = np.exp(phi)
        value, grad = log_likelihood(theta)
        f = -value / n_customers + penalizer * float(np.sum(theta**2))
        g = -grad * theta / n_customers + 2 * penalizer * theta**2
        return f, g

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    res = minimize(
        objective,
        np.asarray(start, dtype=float),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    value, _ = objective(res.x)
    if not np.isfinite(value):
        msg = (
            f"{caller} did not converge: the log-likelihood is not finite at the solution "
            f"({dict(zip(names, np.exp(res.x).tolist(), strict=True))}). Check the time unit of "
            "recency and T."
        )
        raise ConvergenceError(msg)
    # L-BFGS-B may stop on "ABNORMAL" line searches at an optimum already as precise as doubles
    # allow; accept that only when the projected gradient is negligible.
    failed = not res.success and np.max(np.abs(objective(res.x)[1])) > 1e-5
    limit = _DRIFT if failed else LOG_BOUND - 1e-3
    drifting = [
        f"{name} -> {'0' if phi < 0 else 'infinity'}"
        for name, phi in zip(names, res.x, strict=True)
        if abs(phi) > limit
    ]
    if drifting:
        msg = (
            f"{caller} did not converge: the likelihood keeps rising as {', '.join(drifting)} "
            "(the model is not identified by these data, e.g. no variation between customers). "
            "Check the data, or pass penalizer=0.001 to keep the parameters finite."
        )
        raise ConvergenceError(msg)
    if failed:
        msg = (
            f"{caller} did not converge after {res.nit} iterations: {res.message}. "
            "Check the time unit of recency and T, or pass penalizer=0.001."
        )
        raise ConvergenceError(msg)

    theta = np.exp(res.x)

    def scaled(phi: np.ndarray) -> tuple[float, np.ndarray]:
        f, g = objective(phi)
        return f * n_customers, g * n_customers

    if hessian is not None:
        hess = _objective_hessian(hessian, res.x, n_customers, penalizer)[2] * n_customers
    else:
        hess = _hessian(scaled, res.x)
    se = _standard_errors(hess, theta, caller)
    return FitResult(
        params=dict(zip(names, theta.tolist(), strict=True)),
        log_likelihood=float(log_likelihood(theta)[0]),  # unpenalised
        standard_errors=dict(zip(names, se.tolist(), strict=True)),
    )


def numpy_columns(function: Callable[..., np.ndarray], columns: Sequence[str | pl.Expr]) -> pl.Expr:
    """Wrap ``function(*arrays)`` as an elementwise Float64 expression, run batch by batch."""

    def batch(series: Sequence[pl.Series]) -> pl.Series:
        arrays = [s.cast(pl.Float64).to_numpy() for s in series]
        return pl.Series(np.asarray(function(*arrays), dtype=np.float64))

    return pl.map_batches(list(columns), batch, return_dtype=pl.Float64, is_elementwise=True)


class ModelMixin:
    """Behaviour shared by the fitted models: params, aic, bic, summary(), checks."""

    __slots__ = ()

    PARAMS: ClassVar[tuple[str, ...]]
    log_likelihood: float | None
    standard_errors: Mapping[str, float] | None
    n_customers: int | None

    @property
    def params(self) -> dict[str, float]:
        """The parameters under the papers' names."""
        return {name: getattr(self, name) for name in self.PARAMS}

    @property
    def aic(self) -> float | None:
        """Akaike information criterion ``2k - 2 LL`` (None for a model built from values)."""
        if self.log_likelihood is None:
            return None
        return 2 * len(self.PARAMS) - 2 * self.log_likelihood

    @property
    def bic(self) -> float | None:
        """Bayesian information criterion ``k ln N - 2 LL`` (None for a model built from values)."""
        if self.log_likelihood is None or self.n_customers is None:
            return None
        return len(self.PARAMS) * math.log(self.n_customers) - 2 * self.log_likelihood

    def summary(self) -> pl.DataFrame:
        """Tabulate the estimates and their standard errors.

        Returns
        -------
        pl.DataFrame
            One row per parameter: ``param`` (str), ``estimate`` (f64), ``std_error`` (f64;
            null for a model built from values, NaN when the Hessian was singular).
        """
        errors = self.standard_errors or {}
        return pl.DataFrame(
            {
                "param": list(self.PARAMS),
                "estimate": [float(getattr(self, p)) for p in self.PARAMS],
                "std_error": [errors.get(p) for p in self.PARAMS],
            },
            schema={"param": pl.String, "estimate": pl.Float64, "std_error": pl.Float64},
        )

    def _check_params(self) -> None:
        caller = f"clv.{type(self).__name__}"
        for name in self.PARAMS:
            value = getattr(self, name)
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
                value, bool
            )
            if not ok or not (math.isfinite(float(value)) and float(value) > 0):
                msg = f"{caller}: parameter {name} must be a finite number > 0; got {value!r}."
                raise ArgumentError(msg)


def check_min_customers(n: float, k: int, *, caller: str) -> None:
    """Raise DataError when fewer than ``k + 1`` customers are left to fit ``k`` parameters."""
    if n < k + 1:
        msg = (
            f"{caller}: {int(n)} customer(s) is too few to fit {k} parameters; need at least "
            f"{k + 1}. Fit on the whole customer base."
        )
        raise DataError(msg)
