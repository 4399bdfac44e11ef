r"""Data sets to learn and test with: the CDNOW transactions, and a retail transaction simulator.

- :func:`load_cdnow` reads Fader & Hardie's CDNOW data set (bundled as parquet).
- :func:`simulate` draws a realistic retail transaction table of any size from documented
  processes (BG/NBD purchasing, Gamma-Gamma-style spend, a Zipf-popular catalogue, channels,
  margins and returns), deterministic per seed.

Both return canonical transactions (see :func:`retailcrm.prepare`).
"""

from __future__ import annotations

import importlib.resources
import math
from datetime import date, datetime

import numpy as np
import polars as pl

from retailcrm._errors import ArgumentError

__all__ = ["BRANDS", "CATEGORIES", "CHANNELS", "load_cdnow", "simulate"]

_CALLER = "datasets.simulate"

# ---------------------------------------------------------------------------------------------
# CDNOW


def load_cdnow(sample: bool = False) -> pl.DataFrame:
    """Load the CDNOW transactions: 23,570 customers' CD purchases, January 1997 to June 1998.

    CDNOW was an online CD retailer. The data set, made public by Fader & Hardie and used
    throughout the buy-till-you-die literature (Fader, Hardie & Lee 2005, "Counting Your
    Customers the Easy Way: An Alternative to the Pareto/NBD Model", *Marketing Science* 24(2),
    275-284), holds every purchase of the 23,570 customers who made their first purchase at
    CDNOW in the first quarter of 1997, observed until 30 June 1998. The files are the ones
    distributed with the ``lifetimes`` package (``CDNOW_master.txt``, ``CDNOW_sample.txt``),
    converted once by ``scripts/make_cdnow.py``; rows are kept as they are, in the file's order
    (sorted by customer, then date), including 255 exact duplicate rows and 80 rows with a
    dollar value of 0.

    Parameters
    ----------
    sample
        ``False`` (default): the full master file, 23,570 customers and 69,659 rows. ``True``:
        the 1/10th random sample of customers (2,357 customers, 6,919 rows) analysed in the
        BG/NBD paper. The sample keeps the master file's customer ids (not the sample's own
        1..2357 numbering), so its rows are exactly the master rows of those customers.

    Returns
    -------
    pl.DataFrame
        One row per customer-day with a purchase (there is no ``order_id``: an order is then one
        customer-day, the library's rule): ``customer_id`` (Int64), ``timestamp`` (Date),
        ``quantity`` (Float64, number of CDs bought that day), ``amount`` (Float64, dollar value
        of the purchase).

    Examples
    --------
    >>> from retailcrm import datasets
    >>> cdnow = datasets.load_cdnow()
    >>> cdnow.shape
    (69659, 4)
    >>> cdnow["customer_id"].n_unique(), cdnow["timestamp"].min(), cdnow["timestamp"].max()
    (23570, datetime.date(1997, 1, 1), datetime.date(1998, 6, 30))
    >>> datasets.load_cdnow(sample=True)["customer_id"].n_unique()
    2357
    """
    if not isinstance(sample, bool):
        msg = f"datasets.load_cdnow: sample must be True or False; got {sample!r}."
        raise ArgumentError(msg)
    name = "cdnow_sample.parquet" if sample else "cdnow_master.parquet"
    resource = importlib.resources.files("retailcrm").joinpath("data", name)
    with importlib.resources.as_file(resource) as path:
        return pl.read_parquet(path)


# ---------------------------------------------------------------------------------------------
# The simulated catalogue: fixed category and brand names (so every seed shares the Enums)

# name, brand suffix, base list price ($), base margin rate, share of the items, brands
_CATEGORY_TABLE: tuple[tuple[str, str, float, float, float, int], ...] = (
    ("Fresh Produce", "Farms", 2.5, 0.30, 5.0, 6),
    ("Dairy & Eggs", "Dairy", 3.0, 0.22, 5.0, 10),
    ("Bakery", "Bakehouse", 3.5, 0.40, 4.0, 8),
    ("Meat & Fish", "Butchers", 9.0, 0.25, 4.0, 8),
    ("Frozen Foods", "Frozen", 5.0, 0.28, 5.0, 12),
    ("Pantry", "Pantry", 3.5, 0.30, 10.0, 28),
    ("Snacks & Sweets", "Snacks", 2.8, 0.35, 7.0, 20),
    ("Beverages", "Drinks", 3.2, 0.30, 6.0, 18),
    ("Wine & Spirits", "Cellars", 14.0, 0.25, 5.0, 24),
    ("Health & Beauty", "Beauty", 8.0, 0.45, 8.0, 30),
    ("Baby", "Baby", 12.0, 0.30, 3.0, 8),
    ("Pet Care", "Pet", 10.0, 0.32, 3.0, 10),
    ("Household", "Home", 6.0, 0.33, 5.0, 14),
    ("Home & Kitchen", "Kitchen", 22.0, 0.40, 6.0, 20),
    ("Garden", "Garden", 18.0, 0.42, 3.0, 9),
    ("Electronics", "Tech", 75.0, 0.15, 4.0, 16),
    ("Toys & Games", "Toys", 20.0, 0.38, 4.0, 14),
    ("Books & Media", "Press", 13.0, 0.28, 4.0, 12),
    ("Clothing", "Apparel", 28.0, 0.48, 7.0, 22),
    ("Sports & Outdoors", "Sports", 30.0, 0.36, 3.0, 15),
)
_BRAND_STEMS: tuple[str, ...] = (
    "Acorn", "Birch", "Cedar", "Dune", "Ember", "Fable", "Glade", "Harbor", "Iris", "Juniper",
    "Kestrel", "Linden", "Maple", "Nimbus", "Orchard", "Pine", "Quill", "Rowan", "Sable",
    "Thistle", "Umber", "Vale", "Willow", "Yarrow", "Zephyr", "Alder", "Brook", "Clover",
    "Delta", "Fern",
)  # fmt: skip

#: The 20 product categories of :func:`simulate`, the categories of its ``category`` Enum.
CATEGORIES: tuple[str, ...] = tuple(row[0] for row in _CATEGORY_TABLE)

#: The 309 brands of :func:`simulate` ("<stem> <category suffix>"), grouped by category in the
#: order of :data:`CATEGORIES`: the categories of its ``brand`` Enum.
BRANDS: tuple[str, ...] = tuple(
    f"{_BRAND_STEMS[(j + 7 * c) % len(_BRAND_STEMS)]} {row[1]}"
    for c, row in enumerate(_CATEGORY_TABLE)
    for j in range(row[5])
)

#: The sales channels of :func:`simulate`, the categories of its ``channel`` Enum.
CHANNELS: tuple[str, ...] = ("store", "online")

_QUANTITY_CDF = np.array([0.80, 0.95])  # P(quantity = 1) = 0.80, 2: 0.15, 3: 0.05
_RETURN_DELAY_MEAN = 9.0  # days; a return comes 1 + floor(Exponential(9)) days later
_RETURN_LINE_P = 0.5  # each further line of a returned order comes back with this probability
_SECONDS_PER_DAY = 86_400
_ENUMS = {
    "brand": pl.Series(BRANDS, dtype=pl.Enum(BRANDS)),
    "category": pl.Series(CATEGORIES, dtype=pl.Enum(CATEGORIES)),
    "channel": pl.Series(CHANNELS, dtype=pl.Enum(CHANNELS)),
}


# ---------------------------------------------------------------------------------------------
# simulate


def simulate(
    n_customers: int,
    *,
    seed: int,
    start: date = date(2023, 1, 1),
    end: date = date(2024, 12, 31),
    r: float = 0.25,
    alpha: float = 10.0,
    a: float = 0.8,
    b: float = 4.0,
    spend_shape: float = 4.0,
    lines_per_order: float = 2.3,
    n_items: int = 5_000,
    zipf_exponent: float = 0.8,
    online_share: float = 0.3,
    return_rate: float = 0.02,
) -> pl.DataFrame:
    r"""Simulate a retailer's transactions: purchases, baskets, prices, margins and returns.

    Every customer is acquired (makes a first purchase) inside the window, then buys again
    following the BG/NBD process, so the output is a known ground truth for
    :mod:`retailcrm.clv`, RFM, cohorts, basket and KPI work. The same ``seed`` gives the same
    frame (NumPy's ``default_rng``; NumPy does not promise the same streams across its
    versions). All draws are vectorised: 1,000,000 customers (about 10 million rows, 530 MB)
    take a few seconds.

    Parameters
    ----------
    n_customers
        Number of customers (>= 1); each has at least one purchase. Ids are ``1..n_customers``.
    seed
        Seed (>= 0) of the NumPy random generator: the catalogue and all transactions.
    start, end
        First and last calendar day of the observation window, both inclusive (``datetime.date``,
        ``start < end``). Timestamps fall in ``[start 00:00, end + 1 day 00:00)``.
    r, alpha
        Purchase rates :math:`\lambda \sim \mathrm{Gamma}(\text{shape}=r, \text{rate}=\alpha)`,
        in purchases **per day** (so ``alpha`` is in days). The defaults (mean rate one purchase
        per 40 days; the median customer would buy every 230 days, the top quarter at least
        every 38 days, the top tenth every 13) give about 44 % one-time buyers and 3.3 repeat
        purchases per customer over the default two years; a repeat buyer's median gap between
        purchases is about a month.
    a, b
        Drop-out probabilities :math:`p \sim \mathrm{Beta}(a, b)` (default mean 0.17): after
        each repeat purchase the customer becomes inactive for good with probability ``p``.
    spend_shape
        Shape :math:`q > 1` of the customers' spend levels (Gamma-Gamma style, below); larger
        means customers spend more alike (coefficient of variation
        :math:`1/\sqrt{q - 2}` for :math:`q > 2`).
    lines_per_order
        Mean number of lines of an order (>= 1): ``1 + Poisson(lines_per_order - 1)``.
    n_items
        Size of the catalogue (>= 1). Item ids are ``1..n_items``.
    zipf_exponent
        Item popularity exponent :math:`s \ge 0`: the item of popularity rank :math:`k` is
        chosen with probability :math:`\propto k^{-s}` (0: all items alike).
    online_share
        Mean online propensity, in [0, 1].
    return_rate
        Probability, in [0, 1], that a purchase order is followed by a return.

    Returns
    -------
    pl.DataFrame
        One row per order line, sorted by ``timestamp`` then ``order_id`` (order ids are
        numbered in time order, so by ``order_id``), the canonical columns:
        ``customer_id`` (Int64), ``order_id`` (Int64, one per order; a return is its own order),
        ``timestamp`` (Datetime("us"), local time, whole seconds), ``item`` (Int32),
        ``brand`` (Enum of :data:`BRANDS`), ``category`` (Enum of :data:`CATEGORIES`),
        ``quantity`` (Float64, units, 1..3, positive also on return lines), ``amount``
        (Float64, dollars, negative on return lines), ``margin`` (Float64, dollars, the sign of
        ``amount``), ``channel`` (Enum of :data:`CHANNELS`).

    Notes
    -----
    Time runs in days from ``start`` 00:00; the window has :math:`D` days.

    **Acquisition.** Customer :math:`i`'s first purchase is at
    :math:`u_i \sim \mathrm{Uniform}[0, D)`, so customers arrive at a constant rate and the
    time they are observed after it is :math:`T_i = D - u_i \sim \mathrm{Uniform}(0, D]`.

    **Repeat purchases (BG/NBD, Fader, Hardie & Lee 2005, Marketing Science 24(2), 275-284).**
    While active, customer :math:`i` buys as a Poisson process of rate
    :math:`\lambda_i \sim \mathrm{Gamma}(r, \alpha)` (exponential times between purchases);
    after each repeat purchase they drop out with probability
    :math:`p_i \sim \mathrm{Beta}(a, b)`. Observation ends at the end of the window. Drawn
    exactly and without loops: the number of purchases the customer would make in
    :math:`(u_i, D)` if always active is :math:`N_i \sim \mathrm{Poisson}(\lambda_i T_i)`,
    the number they make before dropping out is :math:`K_i \sim \mathrm{Geometric}(p_i)` on
    :math:`\{1, 2, \dots\}`, the
    repeat purchases seen are :math:`X_i = \min(N_i, K_i)`, at the first :math:`X_i` of
    :math:`N_i` sorted uniform times on :math:`(u_i, D)` (drawn as normalised sums of
    exponentials). The expected number of repeat purchases of a customer observed for
    :math:`t` days and the probability of none are

    .. math::

        E[X(t)] = \frac{a + b - 1}{a - 1}\left[1 - \left(\frac{\alpha}{\alpha + t}\right)^r
        {}_2F_1\!\left(r, b; a + b - 1; \frac{t}{\alpha + t}\right)\right], \qquad
        P(X(t) = 0) = \left(\frac{\alpha}{\alpha + t}\right)^r,

    to be averaged over :math:`t \sim \mathrm{Uniform}(0, D]`. Two purchases may fall on the
    same day; they stay two orders.

    **Channel and time of day.** Each order's channel is ``"online"`` with the customer's
    online propensity :math:`\pi_i \sim \mathrm{Beta}(2m, 2(1 - m))`, :math:`m` =
    ``online_share`` (many customers are store-only or online-only; :math:`\pi_i = m` when
    :math:`m` is 0 or 1). A
    store order is at :math:`8{:}00 + 13\,\mathrm{h} \cdot \mathrm{Beta}(2, 2)` (shop hours
    8-21, busiest early afternoon), an online order at
    :math:`6{:}00 + 18\,\mathrm{h} \cdot \mathrm{Beta}(2.5, 1.5)` (busiest in the evening).

    **Catalogue.** ``n_items`` items; each falls in one of the 20 :data:`CATEGORIES` with fixed
    shares, and in one of that category's brands (the first brands carry the most items: the
    brand index is :math:`\lfloor n_b U^2 \rfloor`). An item's list price is the category's
    base price (from $2.50 for produce to $75 for electronics) times a
    :math:`\mathrm{LogNormal}(0, 0.5)` factor, rounded up to a price ending in 9 cents; its
    margin rate is the category's base rate plus :math:`N(0, 0.05^2)`, clipped to
    [0.10, 0.50]. Popularity ranks are a random permutation of the items (Zipf, above).

    **Baskets and spend (Gamma-Gamma style, after Fader, Hardie & Lee 2005, "RFM and CLV",
    Journal of Marketing Research 42(4), 415-430).** An order has
    :math:`1 + \mathrm{Poisson}(\text{lines\_per\_order} - 1)` lines; each line is an item
    drawn by popularity (an item may appear on two lines of one order, rarely, as on real
    tills) and a quantity of 1, 2 or 3 units (probabilities 0.80, 0.15, 0.05). Customer
    :math:`i` has a spend level :math:`s_i = (q - 1)/\nu_i`, :math:`\nu_i \sim
    \mathrm{Gamma}(q, 1)` (inverse-gamma, mean 1, like the Gamma-Gamma model's mean spend),
    fixed over time. A line's ``amount`` is quantity :math:`\times` list price :math:`\times
    s_i`, rounded to cents (at least $0.01); its ``margin`` is ``amount`` times the item's
    margin rate. With the defaults an order is worth about $39 on average (median about $20),
    and a customer has about 10 lines.

    **Returns.** Each purchase order is returned with probability ``return_rate``,
    :math:`1 + \lfloor \mathrm{Exponential}(\text{mean } 9) \rfloor` days later (on a later
    day, at a new time of day, same channel); a return that would fall after ``end`` is not
    observed, so the share seen is a little below ``return_rate``. The return is a new order
    of one random line of the purchase plus each other line with probability 1/2, with the
    same item and quantity and the negated ``amount`` and ``margin``.

    Left out on purpose: seasonality, prices changing over time, customers' favourite
    categories (items are drawn from one popularity for everybody).

    Raises
    ------
    ArgumentError
        An argument is out of its range (message names it and the range).

    Examples
    --------
    >>> from datetime import datetime
    >>> from retailcrm import datasets
    >>> tx = datasets.simulate(1_000, seed=7)
    >>> tx.columns
    ['customer_id', 'order_id', 'timestamp', 'item', 'brand', 'category', 'quantity',
     'amount', 'margin', 'channel']
    >>> tx["customer_id"].n_unique()
    1000
    >>> tx.equals(datasets.simulate(1_000, seed=7))
    True
    >>> tx["timestamp"].min() >= datetime(2023, 1, 1), tx["timestamp"].max() < datetime(2025, 1, 1)
    (True, True)
    """
    _check_simulate_args(
        n_customers, seed, start, end, r, alpha, a, b, spend_shape, lines_per_order, n_items,
        zipf_exponent, online_share, return_rate,
    )  # fmt: skip
    rng = np.random.default_rng(seed)
    days = (end - start).days + 1
    item_cdf, item_category, item_brand, item_price, item_margin = _catalogue(
        rng, n_items, zipf_exponent
    )

    # customers
    n = n_customers
    first = rng.random(n) * days
    observed = days - first
    rate = rng.gamma(r, 1.0 / alpha, n)
    p_drop = np.clip(rng.beta(a, b, n), 1e-12, 1.0)
    spend = (spend_shape - 1.0) / rng.gamma(spend_shape, 1.0, n)
    if 0.0 < online_share < 1.0:
        online = rng.beta(2.0 * online_share, 2.0 * (1.0 - online_share), n)
    else:
        online = np.full(n, online_share)

    # repeat purchases: the first X of N uniform order statistics on (first, days)
    would_buy = rng.poisson(rate * observed)
    before_drop = rng.geometric(p_drop)
    repeats = np.minimum(would_buy, before_drop)
    owner = np.repeat(np.arange(n), repeats)
    spacing = _segment_cumsum(rng.standard_exponential(int(repeats.sum())), repeats)
    last = np.zeros(n)
    has = repeats > 0
    last[has] = spacing[(np.cumsum(repeats) - 1)[has]]
    total = last + rng.gamma(would_buy - repeats + 1.0, 1.0)  # + the other N - X + 1 spacings
    when = first[owner] + observed[owner] * spacing / total[owner]

    # purchase orders (first and repeat purchases), put in time order; stamps in seconds
    o_customer = np.concatenate([np.arange(n), owner])
    o_day = np.minimum(np.concatenate([first, when]).astype(np.int64), days - 1)
    o_online = rng.random(o_customer.size) < online[o_customer]
    o_stamp = o_day * _SECONDS_PER_DAY + _time_of_day(rng, o_online)
    in_time = _time_order(o_stamp)
    o_customer, o_stamp, o_online = o_customer[in_time], o_stamp[in_time], o_online[in_time]
    n_orders = o_customer.size

    # their lines
    n_lines = 1 + rng.poisson(lines_per_order - 1.0, n_orders)
    total_lines = int(n_lines.sum())
    l_item = _draw(item_cdf, rng.random(total_lines))
    u = rng.random(total_lines)
    l_quantity = 1.0 + (u >= _QUANTITY_CDF[0]) + (u >= _QUANTITY_CDF[1])
    l_amount = item_price[l_item]
    l_amount *= l_quantity
    l_amount *= np.repeat(spend[o_customer], n_lines)
    np.maximum(np.round(l_amount, 2, out=l_amount), 0.01, out=l_amount)

    # returns, in time order; each returns one random line and each other with probability 1/2
    returned = np.flatnonzero(rng.random(n_orders) < return_rate)
    delay = 1 + np.floor(rng.exponential(_RETURN_DELAY_MEAN, returned.size)).astype(np.int64)
    r_day = o_stamp[returned] // _SECONDS_PER_DAY + delay
    returned, r_day = returned[r_day < days], r_day[r_day < days]
    r_online = o_online[returned]
    r_stamp = r_day * _SECONDS_PER_DAY + _time_of_day(rng, r_online)
    in_time = _time_order(r_stamp)
    returned, r_stamp, r_online = returned[in_time], r_stamp[in_time], r_online[in_time]
    line_start = np.cumsum(n_lines) - n_lines
    candidates = _ranges(line_start[returned], n_lines[returned])
    c_return = np.repeat(np.arange(returned.size), n_lines[returned])
    forced = np.floor(rng.random(returned.size) * n_lines[returned]).astype(np.int64)
    keep = (candidates - line_start[returned][c_return] == forced[c_return]) | (
        rng.random(candidates.size) < _RETURN_LINE_P
    )
    r_lines = candidates[keep]
    r_counts = np.bincount(c_return[keep], minlength=returned.size)

    # merge the returns in: a return follows every purchase with an earlier or equal stamp
    r_at = np.searchsorted(o_stamp, r_stamp, side="right")
    order_slots = r_at + np.arange(returned.size)
    line_at = np.append(line_start, total_lines)[r_at]
    line_slots = np.repeat(line_at, r_counts) + np.arange(r_lines.size)
    m_lines = _merge(n_lines, r_counts, order_slots)

    def per_line(purchase: np.ndarray, back: np.ndarray) -> np.ndarray:
        return np.repeat(_merge(purchase, back, order_slots), m_lines)

    item = _merge(l_item, l_item[r_lines], line_slots)
    amount = _merge(l_amount, -l_amount[r_lines], line_slots)
    quantity = _merge(l_quantity, l_quantity[r_lines], line_slots)
    epoch = (start - date(1970, 1, 1)).days * _SECONDS_PER_DAY
    micros = (per_line(o_stamp, r_stamp) + epoch) * 1_000_000
    customer = per_line(o_customer, o_customer[returned]) + 1
    channel = per_line(o_online, r_online).astype(np.uint8)
    order_id = np.repeat(np.arange(1, m_lines.size + 1), m_lines)
    columns = {
        "customer_id": pl.Series(customer),
        "order_id": pl.Series(order_id),
        "timestamp": pl.Series(micros).cast(pl.Datetime("us")),
        "item": pl.Series((item + 1).astype(np.int32)),
        "brand": _ENUMS["brand"].gather(item_brand[item]),
        "category": _ENUMS["category"].gather(item_category[item]),
        "quantity": pl.Series(quantity),
        "amount": pl.Series(amount),
        "margin": pl.Series(amount * item_margin[item]),
        "channel": _ENUMS["channel"].gather(channel),
    }
    return pl.DataFrame(columns)


def _check_simulate_args(
    n_customers: int,
    seed: int,
    start: date,
    end: date,
    r: float,
    alpha: float,
    a: float,
    b: float,
    spend_shape: float,
    lines_per_order: float,
    n_items: int,
    zipf_exponent: float,
    online_share: float,
    return_rate: float,
) -> None:
    for name, value, low in (
        ("n_customers", n_customers, 1),
        ("seed", seed, 0),
        ("n_items", n_items, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            msg = f"{_CALLER}: {name} must be an integer >= {low}; got {value!r}."
            raise ArgumentError(msg)
    for name, day in (("start", start), ("end", end)):
        if isinstance(day, datetime) or not isinstance(day, date):
            fix = " Pass its .date()." if isinstance(day, datetime) else ""
            msg = f"{_CALLER}: {name} must be a datetime.date (a calendar day); got {day!r}.{fix}"
            raise ArgumentError(msg)
    if start >= end:
        msg = (
            f"{_CALLER}: start must be before end; got start={start.isoformat()}, "
            f"end={end.isoformat()}. Swap them or widen the window."
        )
        raise ArgumentError(msg)
    ranges: tuple[tuple[str, float, float, float, str], ...] = (
        ("r", r, 0.0, math.inf, "> 0"),
        ("alpha", alpha, 0.0, math.inf, "> 0"),
        ("a", a, 0.0, math.inf, "> 0"),
        ("b", b, 0.0, math.inf, "> 0"),
        ("spend_shape", spend_shape, 1.0, math.inf, "> 1 (the mean spend level exists only then)"),
    )
    for name, value, low, high, what in ranges:
        if not (_is_number(value) and low < value < high):
            msg = f"{_CALLER}: {name} must be a finite number {what}; got {value!r}."
            raise ArgumentError(msg)
    closed: tuple[tuple[str, float, float, float], ...] = (
        ("lines_per_order", lines_per_order, 1.0, math.inf),
        ("zipf_exponent", zipf_exponent, 0.0, math.inf),
        ("online_share", online_share, 0.0, 1.0),
        ("return_rate", return_rate, 0.0, 1.0),
    )
    for name, value, low, high in closed:
        if not (_is_number(value) and low <= value <= high and math.isfinite(value)):
            where = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"
            msg = f"{_CALLER}: {name} must be a finite number {where}; got {value!r}."
            raise ArgumentError(msg)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _catalogue(
    rng: np.random.Generator, n_items: int, zipf_exponent: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Items: popularity CDF, category code, brand code (into BRANDS), list price, margin rate."""
    shares = np.array([row[4] for row in _CATEGORY_TABLE])
    n_brands = np.array([row[5] for row in _CATEGORY_TABLE])
    base_price = np.array([row[2] for row in _CATEGORY_TABLE])
    base_margin = np.array([row[3] for row in _CATEGORY_TABLE])
    first_brand = np.cumsum(n_brands) - n_brands
    category = np.searchsorted(np.cumsum(shares) / shares.sum(), rng.random(n_items), side="right")
    category = np.minimum(category, len(CATEGORIES) - 1)
    within = np.floor(n_brands[category] * rng.random(n_items) ** 2).astype(np.int64)
    brand = first_brand[category] + within
    raw_price = base_price[category] * rng.lognormal(0.0, 0.5, n_items)
    price = np.maximum(np.ceil(raw_price * 10.0) / 10.0 - 0.01, 0.09)
    margin = np.clip(base_margin[category] + rng.normal(0.0, 0.05, n_items), 0.10, 0.50)
    rank = rng.permutation(n_items) + 1.0
    weight = rank**-zipf_exponent
    cdf = np.cumsum(weight) / weight.sum()
    return cdf, category, brand, price, margin


def _time_of_day(rng: np.random.Generator, online: np.ndarray) -> np.ndarray:
    """Whole seconds after midnight: store 8-21 h, Beta(2, 2); online 6-24 h, Beta(2.5, 1.5)."""
    seconds = 8 * 3600 + 13 * 3600 * rng.beta(2.0, 2.0, online.size)
    seconds[online] = 6 * 3600 + 18 * 3600 * rng.beta(2.5, 1.5, int(np.count_nonzero(online)))
    return np.minimum(seconds.astype(np.int64), _SECONDS_PER_DAY - 1)


def _time_order(stamp: np.ndarray) -> np.ndarray:
    """``argsort(stamp, kind="stable")``, faster: an unstable sort of unique keys."""
    n = stamp.size
    if n == 0 or int(stamp.max()) >= 2**62 // n:
        return np.argsort(stamp, kind="stable")
    return np.argsort(stamp * n + np.arange(n))


def _draw(cdf: np.ndarray, u: np.ndarray) -> np.ndarray:
    """``searchsorted(cdf, u, side="right")`` (clipped to the last index), computed faster.

    A guide table (Chen & Asau 1974) over :math:`M = 2^k` equal buckets of [0, 1) gives, for a
    bucket, the smallest and largest possible answers; only draws in the few buckets where they
    differ are searched. ``u * M`` is exact for a power of two, so the result is identical.
    """
    m = 2 ** min(max(16, int(np.ceil(np.log2(cdf.size))) + 3), 24)
    edges = np.arange(m + 1) / m
    low = np.searchsorted(cdf, edges[:-1], side="right").astype(np.int32)
    wide = np.searchsorted(cdf, edges[1:], side="left") > low
    bucket = (u * m).astype(np.int64)
    index = low[bucket].astype(np.int64)
    unsure = np.flatnonzero(wide[bucket])
    index[unsure] = np.searchsorted(cdf, u[unsure], side="right")
    return np.minimum(index, cdf.size - 1)


def _merge(base: np.ndarray, extra: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Insert ``extra`` into ``base`` so that ``extra[i]`` lands at ``slots[i]`` (increasing)."""
    out = np.empty(base.size + extra.size, dtype=np.result_type(base, extra))
    taken = np.zeros(out.size, dtype=bool)
    taken[slots] = True
    out[slots] = extra
    out[~taken] = base
    return out


def _ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concatenate([arange(s, s + n) for s, n in zip(starts, lengths)])`` without a loop."""
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


def _segment_cumsum(values: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at each segment of ``values`` (segments of ``lengths``)."""
    total = np.cumsum(values)
    ends = np.cumsum(lengths)
    before = np.concatenate([[0.0], total])[ends - lengths]
    return total - np.repeat(before, lengths)
