r"""Segments a retail CRM team works from: contribution, migration, never-buy, tiers, switching.

Every function takes canonical transactions (or segment frames keyed by ``customer_id``) and
returns a Polars frame of the kind it was given: lazy in, lazy out.

- :func:`contribution` -- per segment: customers, orders, sales and margin with their shares;
- :func:`migration` -- how customers moved between two segmentations (e.g. RFM at two dates);
- :func:`never_buy` -- customers of a universe who never bought a target, for a campaign;
- :func:`frequency_bands` -- customers by number of purchase occasions in a window;
- :func:`tiers` -- loyalty tiers by spend in a window, with the move from the window before;
- :func:`switching_matrix` -- first-order transitions between brands (items, categories);
- :func:`brand_status` -- each customer's buyer status between two periods (new, switcher, ...);
- :func:`duplication` -- duplication of purchase between brands, next to Ehrenberg's law;
- :func:`gain_loss` -- the change in a brand's spend split into gains and losses.

Shared definitions (``retailcrm._orders``): an order is one ``order_id`` of a customer (without
an ``order_id`` column, one customer-day); a **purchase occasion** is an order of net value
> 0. A **window** is ``(as_of - lookback, as_of]`` in local calendar dates: ``lookback="12mo"``
with ``as_of=2024-12-31`` keeps 2024-01-01 to 2024-12-31. ``as_of`` defaults to the last
timestamp in the data; ``lookback=None`` keeps everything up to ``as_of``.

The switching functions work at a ``level`` (``"item"``, ``"brand"``, ``"category"`` or any
label column), optionally ``within`` a parent column (brands within a category). There a
purchase is a line with ``amount > 0``; lines with a null label are left out (a DataFrame warns
with their count); periods are ``(start, end)`` pairs of dates, both days included, the first
ending before the second starts.
"""

from __future__ import annotations

from retailcrm._personas import Personas, persona_k, personas
from retailcrm.segments._customers import (
    ENTERED,
    LEFT,
    MOVES,
    contribution,
    frequency_bands,
    migration,
    never_buy,
    tiers,
)
from retailcrm.segments._switching import (
    COMPONENTS,
    STATUSES,
    brand_status,
    duplication,
    gain_loss,
    switching_matrix,
)

__all__ = [
    "COMPONENTS",
    "ENTERED",
    "LEFT",
    "MOVES",
    "STATUSES",
    "Personas",
    "brand_status",
    "contribution",
    "duplication",
    "frequency_bands",
    "gain_loss",
    "migration",
    "never_buy",
    "persona_k",
    "personas",
    "switching_matrix",
    "tiers",
]
