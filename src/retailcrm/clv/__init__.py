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
"""

from __future__ import annotations

from retailcrm.clv._betageo import BetaGeo
from retailcrm.clv._gammagamma import GammaGamma
from retailcrm.clv._summary import summary
from retailcrm.clv._value import customer_equity, lifetime_value

__all__ = ["BetaGeo", "GammaGamma", "customer_equity", "lifetime_value", "summary"]
