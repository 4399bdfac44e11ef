r"""Distribution of the number of purchases in a future span, for the transaction models.

A customer with history :math:`(x, t_x, T)` is alive at :math:`T` with probability
:math:`P(\text{alive})`; if not, they make no purchase. If alive, their purchase rate and
drop-out process are those of a customer "born" at :math:`T` with updated parameters (the
posterior given the history and being alive), and the future process starts afresh:

- BG/NBD: :math:`\lambda \sim \mathrm{Gamma}(r + x, \alpha + T)`,
  :math:`p \sim \mathrm{Beta}(a, b + x)`;
- MBG/NBD: the same with :math:`p \sim \mathrm{Beta}(a, b + x + 1)` (it survived the drop-out
  chance at the first purchase too);
- Pareto/NBD: :math:`\lambda \sim \mathrm{Gamma}(r + x, \alpha + T)`,
  :math:`\mu \sim \mathrm{Gamma}(s, \beta + T)`.

So :math:`P(X(T, T+t) = n \mid x, t_x, T) = (1 - P(\text{alive}))\,[n = 0] + P(\text{alive})\,
P_{\text{alive}}(n, t)` with, for the beta-geometric drop-out (Fader, Hardie & Lee 2005,
equation (8)),

.. math::

    P_{\text{alive}}(n, t) = \frac{B(a, b + n)}{B(a, b)} \mathrm{NB}(n; r, \tfrac{\alpha}{\alpha +
        t}) + [n > 0] \frac{B(a + 1, b + n - 1)}{B(a, b)}\, I_{t/(\alpha+t)}(n, r)

(:math:`I` the regularised incomplete beta function: the negative binomial's upper tail), and for
the exponential lifetime of the Pareto/NBD (Fader & Hardie 2006, note 012, as an integral over
the moment of death)

.. math::

    P_{\text{alive}}(n, t) = \mathrm{NB}(n; r, \tfrac{\alpha}{\alpha + t})
        \Big(\frac{\beta}{\beta + t}\Big)^s
      + \frac{s \beta^s \alpha^r \Gamma(r + n)}{\Gamma(r)\, n!}
        \int_0^t \frac{\tau^n\, d\tau}{(\alpha + \tau)^{r + n} (\beta + \tau)^{s + 1}}

At :math:`x = t_x = T = 0` these are the probabilities for a new customer. The BG/NBD and
MBG/NBD forms are closed; the Pareto/NBD integral is computed by adaptive quadrature
(``scipy.integrate.quad``, relative tolerance 1e-11) once per distinct :math:`(x, T)`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import quad
from scipy.special import betainc, betaln, gammaln, xlogy

from retailcrm.clv._betageo import BetaGeo
from retailcrm.clv._modified import ModifiedBetaGeo
from retailcrm.clv._pareto import ParetoNBD
from retailcrm.clv._transaction import TransactionModel

__all__ = ["alive_pmf"]


def _log_nb(n: int, r: np.ndarray, alpha: np.ndarray, t: float) -> np.ndarray:
    """Log of the negative binomial probability of ``n`` Poisson events in ``t``."""
    return (
        gammaln(r + n)
        - gammaln(r)
        - math.lgamma(n + 1)
        + r * (np.log(alpha) - np.log(alpha + t))
        + xlogy(n, t / (alpha + t))
    )


def _beta_geometric(
    n: int, t: float, r: np.ndarray, alpha: np.ndarray, a: float, b: np.ndarray
) -> np.ndarray:
    first = np.exp(betaln(a, b + n) - betaln(a, b) + _log_nb(n, r, alpha, t))
    if n == 0:
        return first
    tail = betainc(float(n), r, t / (alpha + t))  # P(NB >= n)
    return first + np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * tail


def _pareto(
    n: int, t: float, r: np.ndarray, alpha: np.ndarray, s: float, beta: np.ndarray
) -> np.ndarray:
    alive = np.exp(_log_nb(n, r, alpha, t) + s * (np.log(beta) - np.log(beta + t)))
    if t == 0:
        return alive
    pairs, where = np.unique(np.stack([r, alpha, beta], axis=1), axis=0, return_inverse=True)
    died = np.empty(pairs.shape[0])
    for k, (rk, ak, bk) in enumerate(pairs):
        front = (
            math.log(s)
            + s * math.log(bk)
            + rk * math.log(ak)
            + math.lgamma(rk + n)
            - math.lgamma(rk)
            - math.lgamma(n + 1)
        )

        # the integrand's logarithm, shifted by its largest value on [0, t] (on a grid) so the
        # quadrature works near 1 whatever the magnitudes
        def log_f(u: float, rk: float = rk, ak: float = ak, bk: float = bk) -> float:
            return xlogy(n, u) - (rk + n) * math.log(ak + u) - (s + 1) * math.log(bk + u)

        grid = np.linspace(0.0, t, 65)
        values = [log_f(u) for u in grid]
        peak = float(np.max(values))
        top = float(grid[int(np.argmax(values))])
        area, _ = quad(
            lambda u, log_f=log_f, peak=peak: math.exp(log_f(u) - peak),
            0.0,
            t,
            points=[top] if 0.0 < top < t else None,
            epsabs=0.0,
            epsrel=1e-11,
            limit=200,
        )
        died[k] = math.exp(front + peak) * area if area > 0 else 0.0
    return alive + died[where.ravel()]


def alive_pmf(
    model: TransactionModel, n: int, x: np.ndarray, T: np.ndarray, t: float
) -> np.ndarray:
    """P(``n`` purchases in the next ``t`` | alive at ``T`` after ``x`` repeat purchases)."""
    if isinstance(model, ModifiedBetaGeo):
        r, alpha = model.r + x, model.alpha + T
        return _beta_geometric(n, t, r, alpha, model.a, model.b + x + 1)
    if isinstance(model, BetaGeo):
        r, alpha = model.r + x, model.alpha + T
        return _beta_geometric(n, t, r, alpha, model.a, model.b + x)
    if isinstance(model, ParetoNBD):
        return _pareto(n, t, model.r + x, model.alpha + T, model.s, model.beta + T)
    msg = f"no purchase-count distribution for {type(model).__name__}"  # a bug in the caller
    raise NotImplementedError(msg)
