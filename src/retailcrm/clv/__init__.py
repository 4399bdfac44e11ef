"""Customer lifetime value and churn: "buy till you die" models on per-customer summaries.

Start from canonical transactions, build the per-customer summary, fit the models, predict::

    import retailcrm.clv as clv
    s = clv.summary(tx, as_of="1997-09-30", unit="1w")           # frequency, recency, T, ...
    buys = clv.BetaGeo.fit(s, unit="1w")                         # the same unit as the summary
    spend = clv.GammaGamma.fit(s)                                # repeat buyers only
    buys.predict(s, horizon="26w")                               # p_alive, p_churn, purchases
    clv.lifetime_value(buys, spend, s, horizon=12, unit="1mo", discount_rate=0.01)

**Units.** ``recency`` and ``T`` are plain numbers in the ``unit`` given to :func:`summary`.
A transaction model is told that unit when fitted (``fit(s, unit="1w")``) or built
(``BetaGeo(..., unit="1w")``) and keeps it: horizons may then be given as duration strings
(``"26w"``, ``"6mo"``) and are converted, and :func:`lifetime_value` converts its discounting
period into the model's unit. The summary passed to a model must be in the model's unit.

Models are frozen dataclasses: build one from known parameters or get one from ``fit``.

**Models.** Non-contractual, continuous time (summary ``frequency``, ``recency``, ``T``):
:class:`BetaGeo` (BG/NBD), :class:`ParetoNBD`, :class:`ModifiedBetaGeo` (MBG/NBD); each has
``p_alive``, ``expected_purchases``, ``expected_purchases_new``, ``p_purchases``,
``p_purchases_new`` and ``predict``. Discrete opportunities: :class:`BetaGeoBetaBinom` (BG/BB,
summary ``frequency``, ``recency``, ``n_periods``). Contractual: :class:`ShiftedBetaGeo` (sBG,
cohort survivor counts). Spend: :class:`GammaGamma`.

**Checking a model.** Build the summary with a holdout (``clv.summary(tx, as_of=...,
calibration_end=...)``), fit on it, then :func:`evaluate` compares each customer's predicted
and actual holdout purchases, and :func:`tracking` the cohort's cumulative repeat purchases
period by period::

    s = clv.summary(tx, as_of="1998-06-30", unit="1w", calibration_end="1997-09-30")
    buys = clv.ParetoNBD.fit(s, unit="1w")
    clv.evaluate(buys, s).by_frequency                           # actual vs expected, 0..7+
    clv.tracking(buys, tx, as_of="1998-06-30", calibration_end="1997-09-30")
"""

from __future__ import annotations

from retailcrm.clv._betageo import BetaGeo
from retailcrm.clv._bgbb import BetaGeoBetaBinom
from retailcrm.clv._evaluate import Evaluation, evaluate, tracking
from retailcrm.clv._gammagamma import GammaGamma
from retailcrm.clv._modified import ModifiedBetaGeo
from retailcrm.clv._pareto import ParetoNBD
from retailcrm.clv._sbg import ShiftedBetaGeo
from retailcrm.clv._summary import summary
from retailcrm.clv._value import customer_equity, lifetime_value

__all__ = [
    "BetaGeo",
    "BetaGeoBetaBinom",
    "Evaluation",
    "GammaGamma",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "ShiftedBetaGeo",
    "customer_equity",
    "evaluate",
    "lifetime_value",
    "summary",
    "tracking",
]
