r"""Matplotlib views of the library's result frames (the ``plot`` extra).

Every function takes a frame (or a fitted model, or an evaluation) that another module
returned, draws it on ``ax`` (a new figure when ``ax`` is None), labels the axes with their
units, and returns the :class:`matplotlib.axes.Axes`::

    from retailcrm import cohorts, plot
    ax = plot.cohort_heatmap(cohorts.table(tx, period="1mo"))
    ax.figure.savefig("retention.png")

Matplotlib is imported inside each function, so ``import retailcrm`` never loads it; install it
with ``pip install "retailcrm-analytics[plot]"``.

Conventions shared by every plot:

- a cell that cannot be observed (a cohort cell ``as_of`` has not reached, a pair of items
  below the mining threshold, an impossible purchase history) is **blank**, never 0; an
  observed zero (no switch from brand A to B) is drawn as 0;
- rates and shares are shown in percent;
- time axes name the period ("Months since first purchase"), inferred from the dates of the
  frame (days, weeks, months, quarters, years) or, for models, from the model's ``unit``;
- money is in the unit of ``amount``; pass ``currency="$"`` (or ``"EUR"``) to name it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import polars as pl

from retailcrm._errors import ArgumentError, ColumnError, DataError, MissingDependencyError
from retailcrm._schema import require

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.image import AxesImage

__all__ = [
    "calibration",
    "clv_matrix",
    "cohort_heatmap",
    "cohort_revenue",
    "contribution",
    "cooccurrence",
    "kpis",
    "migration",
    "rfm_grid",
    "rfm_segments",
    "rules",
    "switching",
    "tracking",
]

_INSTALL = 'retailcrm.plot needs matplotlib: pip install "retailcrm-analytics[plot]"'
_RATE_COLOURS = "YlGnBu"
_VALUE_COLOURS = "viridis"
_SERIES = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


# ---------------------------------------------------------------------------------------------
# shared machinery


def _pyplot() -> Any:
    """Import ``matplotlib.pyplot`` on first use, with the install hint when it is missing."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError(_INSTALL) from None
    return plt


def _axes(ax: Axes | None, size: tuple[float, float]) -> Axes:
    plt = _pyplot()
    if ax is not None:
        return ax
    _, new = plt.subplots(figsize=size, layout="constrained")
    return new  # type: ignore[no-any-return]


def _collected(frame: object, needed: dict[str, str], caller: str) -> pl.DataFrame:
    checked = require(frame, needed, caller=caller)  # type: ignore[type-var]
    return checked.lazy().collect()


def _choice(value: object, allowed: Sequence[str], name: str, caller: str) -> str:
    if value not in allowed:
        msg = f"{caller}: {name} must be one of {list(allowed)}; got {value!r}."
        raise ArgumentError(msg)
    return str(value)


def _whole(
    value: object, name: str, caller: str, *, minimum: int = 1, allow_none: bool = True
) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        alt = " or None" if allow_none else ""
        msg = f"{caller}: {name} must be a whole number >= {minimum}{alt}; got {value!r}."
        raise ArgumentError(msg)
    return int(value)


def _not_empty(frame: pl.DataFrame, caller: str, what: str) -> None:
    if frame.height == 0:
        msg = f"{caller}: the frame has no rows, so there is nothing to draw; {what}."
        raise DataError(msg)


def _money(label: str, currency: str | None) -> str:
    return f"{label} ({currency})" if currency else f"{label} (units of amount)"


def _gap_name(days: float) -> str:
    """Name a period length in days: day, week, month, quarter, year, or period."""
    for low, high, name in ((1, 1, "day"), (7, 7, "week"), (28, 31, "month"), (89, 92, "quarter"),
                            (365, 366, "year")):  # fmt: skip
        if low <= days <= high:
            return name
    return "period"


def _period_name(dates: pl.Series) -> str:
    """Name the smallest spacing of dates: day, week, month, quarter, year or period."""
    days = dates.drop_nulls().unique().sort()
    if days.len() < 2:
        return "period"
    return _gap_name(float(days.diff().drop_nulls().dt.total_days().min() or 0))


def _date_label(day: Any, period: str) -> str:
    if period == "month":
        return f"{day:%Y-%m}"
    if period == "quarter":
        return f"{day.year} Q{(day.month - 1) // 3 + 1}"
    if period == "year":
        return f"{day:%Y}"
    return f"{day:%Y-%m-%d}"


def _unit_name(unit: str) -> str:
    """Name a model's unit: ``"1w"`` -> ``"weeks"``, ``"2w"`` -> ``"2-week units"``."""
    names = {"d": "day", "w": "week", "mo": "month", "q": "quarter", "y": "year"}
    for suffix in ("mo", "d", "w", "q", "y"):
        if unit.endswith(suffix) and unit[: -len(suffix)].isdigit():
            n = int(unit[: -len(suffix)])
            return f"{names[suffix]}s" if n == 1 else f"{n}-{names[suffix]} units"
    return unit


def _text_colour(rgba: Sequence[float]) -> str:
    luminance = 0.2126 * rgba[0] + 0.7152 * rgba[1] + 0.0722 * rgba[2]
    return "white" if luminance < 0.5 else "black"


def _number(value: float, decimals: int | None = None) -> str:
    if decimals is None:
        size = abs(value)
        decimals = 0 if size >= 100 else 1 if size >= 10 else 2
    return f"{value:,.{decimals}f}"


def _heatmap(
    ax: Axes,
    values: np.ndarray,
    *,
    rows: Sequence[str],
    columns: Sequence[str],
    cmap: str,
    vmin: float,
    vmax: float,
    colorbar: str,
    annotate: bool | None,
    decimals: int | None = None,
    skip_zero: bool = False,
    log: bool = False,
) -> AxesImage:
    """Draw ``values`` (NaN = blank) as an image with labelled cells and a colour bar."""
    plt = _pyplot()
    from matplotlib.colors import LogNorm, Normalize

    colours = plt.get_cmap(cmap).with_extremes(bad=(1.0, 1.0, 1.0, 0.0))
    masked = np.ma.masked_invalid(values)
    if not vmax > vmin:
        vmax = vmin + 1.0
    norm = LogNorm(vmin=vmin, vmax=vmax) if log else Normalize(vmin=vmin, vmax=vmax)
    image = ax.imshow(masked, cmap=colours, norm=norm, aspect="auto", interpolation="nearest")
    ax.set_xticks(range(len(columns)), labels=list(columns))
    ax.set_yticks(range(len(rows)), labels=list(rows))
    ax.tick_params(length=0)
    ax.set_xticks(np.arange(len(columns) + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(len(rows) + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    bar = ax.figure.colorbar(image, ax=ax, shrink=0.85)
    bar.set_label(colorbar)
    if log:
        _log_ticks(bar, vmin, vmax)
    if annotate is None:
        annotate = values.size <= 400
    if annotate:
        small = 7 if max(len(columns), len(rows)) > 12 else 8
        rows_at, cols_at = np.nonzero(np.isfinite(values))
        for i, j in zip(rows_at, cols_at, strict=True):
            cell = float(values[i, j])
            if skip_zero and cell == 0:
                continue
            colour = _text_colour(colours(image.norm(cell)))
            ax.text(j, i, _number(cell, decimals), ha="center", va="center", fontsize=small,
                    color=colour)  # fmt: skip
    return image


def _slanted(ax: Axes) -> None:
    for text in ax.get_xticklabels():
        text.set(rotation=45, ha="right", rotation_mode="anchor")


def _label(value: object) -> str:
    return "(none)" if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# cohorts

_COHORT_RATES = ("retention_rate",)
_COHORT_VALUES = (
    "retention_rate",
    "active_customers",
    "orders",
    "revenue",
    "revenue_per_customer",
    "cumulative_revenue_per_customer",
)


def _cohort_period(frame: pl.DataFrame) -> str:
    """Name the cohort period: from the start of cell 1 (calendar alignment), else the spacing."""
    if "period_start" in frame.columns:
        first = frame.filter(pl.col("period_index") == 1).drop_nulls("period_start")
        if first.height:
            gap = first["period_start"][0] - first["cohort"][0]
            return _gap_name(gap.days)
    cohorts = frame["cohort"].unique().sort()
    return _period_name(cohorts)


def cohort_heatmap(
    table: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    values: str = "retention_rate",
    max_period: int | None = None,
    vmax: float | None = None,
    currency: str | None = None,
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw the cohort triangle: one row per cohort, one column per period since acquisition.

    Parameters
    ----------
    table
        The output of :func:`retailcrm.cohorts.table` (``cohort``, ``period_index``, the
        ``values`` column; ``cohort_size`` when present labels the rows).
    values
        The metric to colour by: ``"retention_rate"`` (shown in %), ``"active_customers"``,
        ``"orders"``, ``"revenue"``, ``"revenue_per_customer"`` or
        ``"cumulative_revenue_per_customer"``.
    max_period
        Show period indices ``0..max_period`` only (None: all).
    vmax
        Top of the colour scale, in the units shown (percent for rates). Default: the largest
        value after period 0 (period 0 holds every first purchase -- a retention of 100 % by
        definition -- and would wash out the rest; its cells show the top colour), or for
        ``cumulative_revenue_per_customer`` the largest value.
    currency
        Name of the money unit for revenue metrics, e.g. ``"$"``.
    annotate
        Write each cell's value in it; default when there are at most 400 cells.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        The axes. The image is ``ax.images[0]``; cells that ``as_of`` has not reached (null in
        the table) are masked, i.e. blank.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from retailcrm import cohorts, datasets, plot
    >>> table = cohorts.table(datasets.load_cdnow(sample=True), period="1q")
    >>> ax = plot.cohort_heatmap(table)
    >>> ax.get_xlabel(), ax.images[0].get_array().shape
    ('Quarters since first purchase', (1, 6))
    >>> plt.close(ax.figure)
    """
    caller = "plot.cohort_heatmap"
    _choice(values, _COHORT_VALUES, "values", caller)
    cut = _whole(max_period, "max_period", caller, minimum=0)
    frame = _collected(
        table, {"cohort": "date or datetime", "period_index": "numeric", values: "numeric"}, caller
    )
    if cut is not None:
        frame = frame.filter(pl.col("period_index") <= cut)
    _not_empty(frame, caller, "pass cohorts.table(tx) of transactions with purchases")
    cohorts = frame["cohort"].unique().sort()
    top = int(frame["period_index"].max())  # type: ignore[arg-type]
    grid = np.full((cohorts.len(), top + 1), np.nan)
    index = {day: i for i, day in enumerate(cohorts.to_list())}
    rate = values in _COHORT_RATES
    scale = 100.0 if rate else 1.0
    for day, k, value in frame.select("cohort", "period_index", values).iter_rows():
        if value is not None and k >= 0:
            grid[index[day], int(k)] = float(value) * scale
    period = _cohort_period(frame)
    sizes: dict[Any, int] = {}
    if "cohort_size" in frame.columns:
        sizes = dict(frame.group_by("cohort").agg(pl.col("cohort_size").max()).iter_rows())
    rows = [
        f"{_date_label(day, period)} (n={sizes[day]:,})" if sizes.get(day) is not None
        else _date_label(day, period)
        for day in cohorts.to_list()
    ]  # fmt: skip
    finite = grid[np.isfinite(grid)]
    if vmax is None:
        cumulative = values == "cumulative_revenue_per_customer"
        later = finite if cumulative else grid[:, 1:][np.isfinite(grid[:, 1:])]
        vmax = float(later.max()) if later.size else float(finite.max()) if finite.size else 1.0
    vmin = 0.0 if finite.size == 0 else min(0.0, float(finite.min()))
    name = values.replace("_", " ").capitalize()
    label = f"{name} (%)" if rate else (
        _money(name, currency) if "revenue" in values else f"{name} (count)"
    )  # fmt: skip
    ax = _axes(ax, (max(6.0, 0.55 * (top + 1) + 3), max(3.0, 0.35 * len(rows) + 1.5)))
    _heatmap(
        ax,
        grid,
        rows=rows,
        columns=[str(k) for k in range(top + 1)],
        cmap=_RATE_COLOURS if rate else _VALUE_COLOURS,
        vmin=vmin,
        vmax=vmax,
        colorbar=label,
        annotate=annotate,
        decimals=0 if rate else None,
    )
    ax.set_xlabel(f"{period.capitalize()}s since first purchase")
    ax.set_ylabel(f"Acquisition cohort ({period})")
    ax.set_title(f"{name} by acquisition cohort" + (" (%)" if rate else ""))
    return ax


def cohort_revenue(
    table: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    currency: str | None = None,
    max_period: int | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw the cumulative revenue per acquired customer of each cohort, period by period.

    Parameters
    ----------
    table
        The output of :func:`retailcrm.cohorts.table` (``cohort``, ``period_index``,
        ``cumulative_revenue_per_customer``).
    currency
        Name of the money unit, e.g. ``"$"``.
    max_period
        Show period indices ``0..max_period`` only (None: all).
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One line per cohort (``ax.lines``, oldest first, darker), ending at the last period
        ``as_of`` has reached: censored cells are not drawn.

    Notes
    -----
    :math:`\mathrm{CRPC}_{ck} = \sum_{j \le k} R_{cj} / N_c`, the net revenue of cohort
    :math:`c` up to period :math:`k` over its size (see :func:`retailcrm.cohorts.table`).
    Curves that rise faster mean more valuable acquisitions.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from retailcrm import cohorts, datasets, plot
    >>> table = cohorts.table(datasets.load_cdnow(sample=True), period="1mo")
    >>> ax = plot.cohort_revenue(table, currency="$")
    >>> len(ax.lines), ax.get_ylabel()
    (3, 'Cumulative revenue per customer ($)')
    >>> plt.close(ax.figure)
    """
    caller = "plot.cohort_revenue"
    cut = _whole(max_period, "max_period", caller, minimum=0)
    needed = {
        "cohort": "date or datetime",
        "period_index": "numeric",
        "cumulative_revenue_per_customer": "numeric",
    }
    frame = _collected(table, needed, caller)
    if cut is not None:
        frame = frame.filter(pl.col("period_index") <= cut)
    _not_empty(frame, caller, "pass cohorts.table(tx) of transactions with purchases")
    plt = _pyplot()
    ax = _axes(ax, (7.5, 4.5))
    period = _cohort_period(frame)
    groups = frame.drop_nulls("cumulative_revenue_per_customer").partition_by(
        "cohort", maintain_order=False, as_dict=True
    )
    days = sorted(key[0] for key in groups)
    colours = plt.get_cmap("viridis")
    for i, day in enumerate(days):
        part = groups[(day,)].sort("period_index")
        ax.plot(
            part["period_index"].to_numpy(),
            part["cumulative_revenue_per_customer"].to_numpy(),
            marker="o" if part.height <= 30 else None,
            markersize=3,
            color=colours(0.9 * i / max(len(days) - 1, 1)),
            label=_date_label(day, period),
        )
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"{period.capitalize()}s since first purchase")
    ax.set_ylabel(_money("Cumulative revenue per customer", currency))
    ax.set_title(f"Cumulative revenue per acquired customer, by {period} cohort")
    ax.grid(alpha=0.3)
    if len(days) <= 24:
        ax.legend(title="Cohort", fontsize=7, ncols=2 if len(days) > 12 else 1, frameon=False)
    return ax


# ---------------------------------------------------------------------------------------------
# rfm


def _share_bars(
    ax: Axes,
    labels: Sequence[str],
    shares: dict[str, np.ndarray],
    *,
    notes: Sequence[str] | None = None,
) -> None:
    """Horizontal grouped bars of shares (given as fractions), first label at the top."""
    n = len(labels)
    k = len(shares)
    height = 0.8 / k
    positions = np.arange(n)
    for j, (name, values) in enumerate(shares.items()):
        ax.barh(
            positions - 0.4 + height * (j + 0.5),
            100 * values,
            height=height,
            label=name,
            color=_SERIES[j % len(_SERIES)],
        )
    ax.set_yticks(positions, labels=list(labels))
    ax.invert_yaxis()
    ax.axvline(0, color="black", linewidth=0.8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("Share of the total (%)")
    ax.legend(frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncols=k)
    if notes:
        top = max(100 * float(np.nanmax(np.abs(v))) for v in shares.values())
        for i, note in enumerate(notes):
            ax.text(top * 1.02, i, note, va="center", fontsize=8, color="0.3")
        ax.set_xlim(right=top * 1.35)


def _order(frame: pl.DataFrame, column: str) -> list[Any]:
    """The values of ``column`` in Enum order (or sorted), nulls last."""
    values = frame[column].unique()
    dtype = frame.schema[column]
    if isinstance(dtype, pl.Enum):
        present = set(values.drop_nulls().to_list())
        ordered = [v for v in dtype.categories.to_list() if v in present]
    else:
        ordered = values.drop_nulls().sort().to_list()
    return ordered + ([None] if values.null_count() else [])


def rfm_segments(
    segments: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    value: str = "monetary",
    ax: Axes | None = None,
) -> Axes:
    r"""Draw each RFM segment's share of the customers next to its share of the revenue.

    Parameters
    ----------
    segments
        The output of :func:`retailcrm.rfm.segments`: one row per customer with ``segment``
        and the ``value`` column.
    value
        The per-customer money column summed for the revenue share (``monetary``: net spend
        up to ``as_of``).
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Two horizontal bars per segment (``ax.patches``: first the customer shares, then the
        revenue shares, in %), segments in their scheme's order (best at the top), each
        labelled with its number of customers.

    Notes
    -----
    For segment :math:`s` with customers :math:`C_s`: customer share :math:`|C_s| / N`,
    revenue share :math:`\sum_{c \in C_s} M_c / \sum_c M_c`. A segment whose revenue share
    exceeds its customer share is worth more than its size.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from retailcrm import datasets, plot, rfm
    >>> tx = datasets.load_cdnow(sample=True)
    >>> named = rfm.segments(rfm.scores(tx, breaks={"frequency": [1, 2, 3, 5]}))
    >>> ax = plot.rfm_segments(named)
    >>> len(ax.patches) == 2 * named["segment"].n_unique()
    True
    >>> plt.close(ax.figure)
    """
    caller = "plot.rfm_segments"
    frame = _collected(segments, {"segment": "any", value: "numeric"}, caller)
    _not_empty(frame, caller, "pass rfm.segments(rfm.scores(tx))")
    per = frame.group_by("segment").agg(customers=pl.len(), revenue=pl.col(value).sum())
    order = _order(frame, "segment")
    per = pl.DataFrame({"segment": pl.Series(order, dtype=frame.schema["segment"])}).join(
        per, on="segment", how="left", nulls_equal=True
    )
    customers = per["customers"].cast(pl.Float64).to_numpy()
    revenue = per["revenue"].cast(pl.Float64).to_numpy()
    total = revenue.sum()
    revenue_share = revenue / total if total != 0 else np.full_like(revenue, np.nan)
    ax = _axes(ax, (8.0, max(3.0, 0.45 * len(order) + 1.2)))
    _share_bars(
        ax,
        [_label(v) for v in order],
        {"customers": customers / customers.sum(), f"revenue ({value})": revenue_share},
        notes=[f"{int(c):,} customers" for c in customers],
    )
    ax.set_title(f"RFM segments: {int(customers.sum()):,} customers")
    return ax


def rfm_grid(
    scores: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    value: str = "customers",
    statistic: Literal["mean", "median", "sum"] = "mean",
    currency: str | None = None,
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw the recency x frequency score grid, each cell coloured by a value of its customers.

    Parameters
    ----------
    scores
        The output of :func:`retailcrm.rfm.scores` (or :func:`retailcrm.rfm.segments`):
        ``r_score``, ``f_score`` and the ``value`` column.
    value
        ``"customers"`` (the number of customers in the cell) or a numeric column of the frame,
        e.g. ``"monetary"``, ``"average_order_value"``, ``"m_score"``, or a column you joined
        such as a CLV.
    statistic
        How ``value`` is summarised over a cell's customers: ``"mean"``, ``"median"`` or
        ``"sum"`` (ignored for ``"customers"``).
    currency
        Name of the money unit for ``monetary`` and ``average_order_value``.
    annotate
        Write each cell's value in it; default when there are at most 400 cells.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Rows R = highest score (top) to 1, columns F = 1 to the highest score; a cell without
        customers is blank.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from retailcrm import datasets, plot, rfm
    >>> scored = rfm.scores(datasets.load_cdnow(sample=True), breaks={"frequency": [1, 2, 3, 5]})
    >>> ax = plot.rfm_grid(scored, value="monetary", currency="$")
    >>> ax.images[0].get_array().shape, ax.get_xlabel()
    ((5, 5), 'Frequency score F (higher: more purchases)')
    >>> plt.close(ax.figure)
    """
    caller = "plot.rfm_grid"
    stat = _choice(statistic, ("mean", "median", "sum"), "statistic", caller)
    needed = {"r_score": "numeric", "f_score": "numeric"}
    if value != "customers":
        needed[value] = "numeric"
    frame = _collected(scores, needed, caller)
    _not_empty(frame, caller, "pass rfm.scores(tx)")
    if value == "customers":
        agg = pl.len().cast(pl.Float64)
    else:
        column = pl.col(value).cast(pl.Float64)
        agg = {"mean": column.mean(), "median": column.median(), "sum": column.sum()}[stat]
    cells = frame.group_by("r_score", "f_score").agg(agg.alias("_v"))
    top = int(max(frame["r_score"].max(), frame["f_score"].max()))  # type: ignore[type-var, arg-type]
    grid = np.full((top, top), np.nan)
    for r, f, v in cells.iter_rows():
        if r is not None and f is not None and v is not None:
            grid[top - int(r), int(f) - 1] = v
    if value == "customers":
        label = "Customers (count)"
    elif value in ("monetary", "average_order_value"):
        label = _money(f"{stat.capitalize()} {value.replace('_', ' ')}", currency)
    else:
        label = f"{stat.capitalize()} {value.replace('_', ' ')}"
    finite = grid[np.isfinite(grid)]
    ax = _axes(ax, (6.5, 5.0))
    _heatmap(
        ax,
        grid,
        rows=[str(r) for r in range(top, 0, -1)],
        columns=[str(f) for f in range(1, top + 1)],
        cmap=_VALUE_COLOURS,
        vmin=min(0.0, float(finite.min())) if finite.size else 0.0,
        vmax=float(finite.max()) if finite.size else 1.0,
        colorbar=label,
        annotate=annotate,
        decimals=0 if value == "customers" else None,
    )
    ax.set_xlabel("Frequency score F (higher: more purchases)")
    ax.set_ylabel("Recency score R (higher: more recent)")
    ax.set_title(f"Recency x frequency: {label[0].lower()}{label[1:]}")
    return ax


# ---------------------------------------------------------------------------------------------
# clv


def clv_matrix(
    model: Any,
    summary: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    value: Literal["p_alive", "expected_purchases"] = "p_alive",
    horizon: float | str | None = None,
    max_frequency: int | None = None,
    T: float | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw P(alive) or expected purchases over a grid of (frequency, recency) histories.

    Every cell is a hypothetical customer observed for ``T`` time units who made
    ``frequency`` repeat purchases, the last one at ``recency``: the classic view of what a
    buy-till-you-die model believes (Fader, Hardie & Lee 2005, Figure 1 style).

    Parameters
    ----------
    model
        A fitted transaction model: :class:`~retailcrm.clv.BetaGeo`,
        :class:`~retailcrm.clv.ParetoNBD` or :class:`~retailcrm.clv.ModifiedBetaGeo`.
    summary
        The summary the model was fitted on (:func:`retailcrm.clv.summary`, ``frequency`` and
        ``T``): it sets the ranges.
    value
        ``"p_alive"`` (shown in %) or ``"expected_purchases"`` over ``horizon``.
    horizon
        For ``expected_purchases``: a number in the model's unit or a duration string
        (``"52w"``).
    max_frequency
        The top row; default the 99th percentile of ``frequency`` (at least 1).
    T
        The age of the hypothetical customers, in the model's unit; default the largest ``T``.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Rows frequency 0 (bottom) to ``max_frequency``, columns recency 0 to ``T``. Histories
        that cannot happen are blank: ``frequency`` repeat purchases on distinct days need a
        recency of at least ``frequency`` days, and frequency 0 means recency 0.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import polars as pl
    >>> from retailcrm import clv, plot
    >>> model = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")
    >>> s = pl.DataFrame({"customer_id": [1, 2], "frequency": [0, 6],
    ...                   "recency": [0.0, 30.0], "T": [39.0, 39.0]})
    >>> ax = plot.clv_matrix(model, s, max_frequency=6)
    >>> ax.images[0].get_array().shape, ax.get_xlabel()
    ((7, 40), 'Recency: weeks from first to last purchase')
    >>> plt.close(ax.figure)
    """
    from retailcrm.clv._base import horizon_in_units, unit_days
    from retailcrm.clv._transaction import TransactionModel

    caller = "plot.clv_matrix"
    if not isinstance(model, TransactionModel):
        msg = (
            f"{caller}: model must be a fitted transaction model (clv.BetaGeo, clv.ParetoNBD, "
            f"clv.ModifiedBetaGeo); got {type(model).__name__}."
        )
        raise ArgumentError(msg)
    what = _choice(value, ("p_alive", "expected_purchases"), "value", caller)
    if what == "expected_purchases" and horizon is None:
        msg = f"{caller}: value='expected_purchases' needs horizon=, e.g. horizon='52w'."
        raise ArgumentError(msg)
    span = horizon_in_units(horizon, model.unit, name="horizon", caller=caller) if horizon else 0.0
    top = _whole(max_frequency, "max_frequency", caller)
    frame = _collected(summary, {"frequency": "numeric", "T": "numeric"}, caller)
    _not_empty(frame, caller, "pass the clv.summary(tx) the model was fitted on")
    if T is None:
        T = float(frame["T"].max())  # type: ignore[arg-type]
    if not (isinstance(T, (int, float)) and math.isfinite(T) and T > 0):
        msg = f"{caller}: T must be a finite number > 0 (in {model.unit!r} units); got {T!r}."
        raise ArgumentError(msg)
    if top is None:
        q = frame["frequency"].cast(pl.Float64).quantile(0.99)
        top = max(1, math.ceil(q or 0))
    columns = int(min(max(math.ceil(T) + 1, 11), 121))
    recency = np.linspace(0.0, T, columns)
    freq = np.arange(top + 1, dtype=float)
    x, t_x = np.meshgrid(freq, recency, indexing="ij")
    day = 1.0 / unit_days(model.unit, caller=caller)
    possible = np.where(x == 0, t_x == 0, t_x >= x * day - 1e-9)
    flat = x.ravel(), t_x.ravel(), np.full(x.size, T)
    if what == "p_alive":
        grid = 100 * model._p_alive_np(*flat).reshape(x.shape)
        label, vmin, vmax = "P(alive) (%)", 0.0, 100.0
        title = f"P(alive) of a customer first seen {_number(T, 0)} {_unit_name(model.unit)} ago"
    else:
        grid = model._expected_np(*flat, span).reshape(x.shape)
        label, vmin = (
            f"Expected purchases in the next {span:g} {_unit_name(model.unit)}",
            0.0,
        )
        vmax = float(np.nanmax(np.where(possible, grid, np.nan)))
        title = (
            f"Expected purchases, customers first seen {_number(T, 0)} {_unit_name(model.unit)} ago"
        )
    grid = np.where(possible, grid, np.nan)
    plt = _pyplot()
    colours = plt.get_cmap("magma" if what == "p_alive" else _VALUE_COLOURS).with_extremes(
        bad=(1.0, 1.0, 1.0, 0.0)
    )
    ax = _axes(ax, (7.5, 5.0))
    step = recency[1] - recency[0] if columns > 1 else 1.0
    image = ax.imshow(
        np.ma.masked_invalid(grid),
        cmap=colours,
        vmin=vmin,
        vmax=vmax,
        origin="lower",
        aspect="auto",
        interpolation="nearest",
        extent=(-step / 2, T + step / 2, -0.5, top + 0.5),
    )
    ax.figure.colorbar(image, ax=ax, shrink=0.85).set_label(label)
    unit = _unit_name(model.unit)
    ax.set_xlabel(f"Recency: {unit} from first to last purchase")
    ax.set_ylabel("Frequency: repeat purchases")
    ax.set_title(f"{type(model).__name__}: {title}", fontsize=10)
    return ax


def calibration(evaluation: Any, /, *, ax: Axes | None = None) -> Axes:
    r"""Draw mean holdout purchases by calibration frequency: actual against the model.

    Parameters
    ----------
    evaluation
        The :class:`~retailcrm.clv.Evaluation` that :func:`retailcrm.clv.evaluate` returned, or
        its ``by_frequency`` frame (``frequency``, ``actual``, ``expected``; ``customers``
        when present is shown on the ticks).
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (``ax.lines``: actual, then the model), one point per calibration frequency;
        the last one pools every higher frequency (its tick reads ``"7+"``).

    Notes
    -----
    The "conditional expectations" plot of Fader, Hardie & Lee (2005), "Counting your
    customers the easy way", Marketing Science 24(2), Figure 4: for customers grouped by
    their calibration frequency :math:`x`, the mean of :math:`E[Y(t^*) \mid x, t_x, T]`
    against the mean number of purchases made in the holdout period of length :math:`t^*`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import polars as pl
    >>> from retailcrm import clv, plot
    >>> model = clv.BetaGeo(r=0.2426, alpha=4.4135, a=0.7930, b=2.4259, unit="1w")
    >>> s = pl.DataFrame({"customer_id": [1, 2, 3], "frequency": [0, 2, 7],
    ...     "recency": [0.0, 30.0, 36.0], "T": [38.0, 38.0, 38.0],
    ...     "frequency_holdout": [0, 1, 6], "duration_holdout": [39.0, 39.0, 39.0]})
    >>> ax = plot.calibration(clv.evaluate(model, s))
    >>> [line.get_label() for line in ax.lines]
    ['actual', 'model']
    >>> plt.close(ax.figure)
    """
    caller = "plot.calibration"
    frame_in = getattr(evaluation, "by_frequency", evaluation)
    frame = _collected(
        frame_in, {"frequency": "numeric", "actual": "numeric", "expected": "numeric"}, caller
    )
    _not_empty(frame, caller, "pass clv.evaluate(model, summary)")
    frame = frame.sort("frequency")
    x = frame["frequency"].cast(pl.Int64).to_numpy()
    ax = _axes(ax, (7.0, 4.5))
    ax.plot(x, frame["actual"].to_numpy(), marker="o", color=_SERIES[0], label="actual")
    ax.plot(x, frame["expected"].to_numpy(), marker="s", linestyle="--", color=_SERIES[1],
            label="model")  # fmt: skip
    ticks = [str(v) for v in x]
    ticks[-1] = f"{x[-1]}+"
    if "customers" in frame.columns:
        ticks = [f"{t}\n(n={n:,})" for t, n in zip(ticks, frame["customers"], strict=True)]
    ax.set_xticks(x, labels=ticks, fontsize=8)
    ax.set_xlabel("Repeat purchases in the calibration period")
    ax.set_ylabel("Mean purchases per customer in the holdout period")
    title = "Conditional expectations: holdout purchases by calibration frequency"
    if hasattr(evaluation, "mae"):
        title += f"\nMAE {evaluation.mae:.3f}, bias {evaluation.bias:+.3f} purchases per customer"
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    return ax


def tracking(
    frame: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    cumulative: bool = True,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw the cohort's repeat purchases period by period: actual against the model.

    Parameters
    ----------
    frame
        The output of :func:`retailcrm.clv.tracking` (``period_end``, ``actual``,
        ``expected``, their cumulative sums, and ``holdout`` when a calibration end was
        given).
    cumulative
        Draw the running totals (the default) or the purchases of each period.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines (``ax.lines``: actual, then the model) over ``period_end``, and a dotted
        vertical line at the end of the calibration period when ``holdout`` is present.

    Notes
    -----
    Fader, Hardie & Lee (2005), Figures 2 and 3: the weekly and cumulative repeat
    transactions of the cohort against :math:`\sum_i E[X(t - b_i)]` of new customers acquired
    on days :math:`b_i`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from retailcrm import clv, datasets, plot
    >>> tx = datasets.load_cdnow(sample=True)
    >>> s = clv.summary(tx, as_of="1998-06-30", calibration_end="1997-09-30", unit="1w")
    >>> model = clv.BetaGeo.fit(s, unit="1w")
    >>> out = clv.tracking(model, tx, as_of="1998-06-30", calibration_end="1997-09-30")
    >>> ax = plot.tracking(out)
    >>> ax.get_ylabel()
    'Repeat purchases, cumulative'
    >>> plt.close(ax.figure)
    """
    caller = "plot.tracking"
    names = ("actual_cumulative", "expected_cumulative") if cumulative else ("actual", "expected")
    needed = {"period_end": "date or datetime"} | dict.fromkeys(names, "numeric")
    data = _collected(frame, needed, caller).sort("period_end")
    _not_empty(data, caller, "pass clv.tracking(model, tx, as_of=...)")
    when = data["period_end"].to_list()
    ax = _axes(ax, (8.0, 4.5))
    ax.plot(when, data[names[0]].to_numpy(), color=_SERIES[0], label="actual")
    ax.plot(when, data[names[1]].to_numpy(), color=_SERIES[1], linestyle="--", label="model")
    if "holdout" in data.columns and data["holdout"].any() and not data["holdout"].all():
        end = data.filter(~pl.col("holdout"))["period_end"].max()
        ax.axvline(end, color="0.4", linestyle=":", label="end of calibration")  # type: ignore[arg-type]
    period = _period_name(data["period_end"])
    ax.set_xlabel(f"End of {period}")
    ax.set_ylabel(
        "Repeat purchases, cumulative" if cumulative else f"Repeat purchases per {period}"
    )
    ax.set_title("Tracking: the cohort's repeat purchases, actual and expected")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    ax.figure.autofmt_xdate()
    return ax


# ---------------------------------------------------------------------------------------------
# basket


def _log_ticks(bar: Any, vmin: float, vmax: float) -> None:
    """Plain-number ticks (0.5, 1, 2, 5, ...) on a logarithmic colour bar."""
    nice = [b * 10.0**e for e in range(-3, 4) for b in (1, 2, 5)]
    ticks = [t for t in nice if vmin <= t <= vmax]
    bar.set_ticks(ticks, labels=[f"{t:g}" for t in ticks])
    bar.minorticks_off()


def _lift_spread(lift: np.ndarray) -> float:
    """The factor ``m`` of a colour scale from ``1/m`` to ``m``, symmetric around lift 1."""
    finite = lift[np.isfinite(lift) & (lift > 0)]
    if finite.size == 0:
        return 2.0
    return max(float(finite.max()), 1 / float(finite.min()), 1.05)


def _items(value: Any) -> str:
    if isinstance(value, (list, tuple, pl.Series)):
        return ", ".join(str(v) for v in value)
    return str(value)


def rules(
    rules: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    label_top: int = 3,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw association rules as support x confidence, coloured by lift.

    Parameters
    ----------
    rules
        The output of :func:`retailcrm.basket.rules` (``antecedent``, ``consequent``,
        ``support``, ``confidence``, ``lift``).
    label_top
        Write "A -> C" next to this many rules of highest lift (0: none).
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One point per rule in ``ax.collections[0]`` (support and confidence in %), its colour
        the lift on a logarithmic scale from ``1/m`` to ``m`` centred at lift 1
        (independence): blue below, red above; ``m`` is the largest of the highest lift and
        1 / the lowest. Rules of infinite lift are left out of the scale.

    Notes
    -----
    With :math:`n` baskets, :math:`n_A, n_C, n_{AC}` those holding A, C and both:
    support :math:`n_{AC}/n`, confidence :math:`n_{AC}/n_A`, lift
    :math:`n\,n_{AC}/(n_A n_C)` (Agrawal, Imielinski & Swami 1993; Brin et al. 1997).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import polars as pl
    >>> from retailcrm import plot
    >>> found = pl.DataFrame({"antecedent": [["a"], ["b"]], "consequent": [["b"], ["a"]],
    ...     "support": [0.2, 0.2], "confidence": [0.5, 0.8], "lift": [1.6, 1.6]})
    >>> ax = plot.rules(found)
    >>> len(ax.collections[0].get_offsets())
    2
    >>> plt.close(ax.figure)
    """
    caller = "plot.rules"
    if isinstance(label_top, bool) or not isinstance(label_top, int) or label_top < 0:
        msg = f"{caller}: label_top must be a whole number >= 0; got {label_top!r}."
        raise ArgumentError(msg)
    needed = {
        "antecedent": "any",
        "consequent": "any",
        "support": "numeric",
        "confidence": "numeric",
        "lift": "numeric",
    }
    frame = _collected(rules, needed, caller)
    _not_empty(frame, caller, "lower min_confidence or min_support in basket.rules")
    plt = _pyplot()
    from matplotlib.colors import LogNorm

    lift = frame["lift"].cast(pl.Float64).to_numpy()
    spread = _lift_spread(lift)
    ax = _axes(ax, (7.5, 5.0))
    points = ax.scatter(
        100 * frame["support"].cast(pl.Float64).to_numpy(),
        100 * frame["confidence"].cast(pl.Float64).to_numpy(),
        c=lift,
        cmap=plt.get_cmap("coolwarm"),
        norm=LogNorm(vmin=1 / spread, vmax=spread),
        s=28,
        edgecolors="0.3",
        linewidths=0.4,
    )
    bar = ax.figure.colorbar(points, ax=ax, shrink=0.85)
    bar.set_label("Lift (1 = independent)")
    _log_ticks(bar, 1 / spread, spread)
    if label_top:
        best = frame.with_row_index("_i").sort("lift", descending=True, nulls_last=True)
        for i, row in enumerate(best.head(label_top).iter_rows(named=True)):
            ax.annotate(
                f"{_items(row['antecedent'])} → {_items(row['consequent'])}",
                (100 * row["support"], 100 * row["confidence"]),
                xytext=(5, (4, -11, 13, -20, 22)[i % 5]),
                textcoords="offset points",
                fontsize=7,
            )
    ax.set_xlabel("Support: baskets holding A and C (%)")
    ax.set_ylabel("Confidence: baskets with A that hold C (%)")
    ax.set_title(f"{frame.height:,} association rules A → C")
    ax.grid(alpha=0.3)
    return ax


def cooccurrence(
    itemsets: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    top: int = 15,
    value: Literal["support", "lift"] = "support",
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw how often the most frequent items are bought together, as a symmetric heatmap.

    Parameters
    ----------
    itemsets
        The output of :func:`retailcrm.basket.itemsets` with itemsets of length 1 and 2
        (``itemset``, ``length``, ``support``), e.g. ``itemsets(tx, min_support=0.001,
        max_len=2)``.
    top
        How many items to show: those with the highest support.
    value
        ``"support"``: the share of baskets holding both items (the diagonal: the item
        alone), in %; ``"lift"``: :math:`s_{ab} / (s_a s_b)`, 1 when independent (diagonal
        blank), on a logarithmic colour scale symmetric around 1.
    annotate
        Write each cell's value in it; default when there are at most 400 cells.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        A ``top`` x ``top`` image; a pair that is not among the itemsets (its support is below
        the ``min_support`` mined with, so unknown) is blank, not 0.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import polars as pl
    >>> from retailcrm import plot
    >>> sets = pl.DataFrame({"itemset": [["a"], ["b"], ["c"], ["a", "b"]],
    ...     "length": [1, 1, 1, 2], "support": [0.5, 0.4, 0.1, 0.3]})
    >>> ax = plot.cooccurrence(sets)
    >>> int(ax.images[0].get_array().mask.sum())  # a-c and b-c are below the threshold
    4
    >>> plt.close(ax.figure)
    """
    caller = "plot.cooccurrence"
    how_many = _whole(top, "top", caller, allow_none=False)
    what = _choice(value, ("support", "lift"), "value", caller)
    frame = _collected(itemsets, {"itemset": "any", "support": "numeric"}, caller)
    if not isinstance(frame.schema["itemset"], pl.List):
        msg = f"{caller}: column 'itemset' must be a list of items, as basket.itemsets returns it."
        raise ColumnError(msg)
    frame = frame.with_columns(_n=pl.col("itemset").list.len())
    singles = frame.filter(pl.col("_n") == 1).sort("support", descending=True)
    _not_empty(singles, caller, "pass basket.itemsets(tx, min_support=..., max_len=2)")
    chosen = singles.head(how_many)
    names = [row[0] for row in chosen["itemset"].to_list()]
    support = dict(zip(names, chosen["support"].cast(pl.Float64).to_list(), strict=True))
    where = {name: i for i, name in enumerate(names)}
    grid = np.full((len(names), len(names)), np.nan)
    for name, s in support.items():
        grid[where[name], where[name]] = 100 * s if what == "support" else np.nan
    pairs = frame.filter(pl.col("_n") == 2).select("itemset", "support")
    for items, s in pairs.iter_rows():
        a, b = items
        if a in where and b in where:
            v = 100 * s if what == "support" else s / (support[a] * support[b])
            grid[where[a], where[b]] = grid[where[b], where[a]] = v
    labels = [str(n) for n in names]
    finite = grid[np.isfinite(grid)]
    ax = _axes(ax, (max(6.0, 0.45 * len(names) + 3), max(5.0, 0.4 * len(names) + 2)))
    if what == "support":
        offdiag = grid[~np.eye(len(names), dtype=bool) & np.isfinite(grid)]
        top_value = float(offdiag.max()) if offdiag.size else float(finite.max())
        _heatmap(ax, grid, rows=labels, columns=labels, cmap="Blues", vmin=0.0, vmax=top_value,
                 colorbar="Baskets holding both (%)", annotate=annotate)  # fmt: skip
        ax.set_title(f"Co-occurrence of the {len(names)} most frequent items (% of baskets)")
    else:
        spread = _lift_spread(finite)
        _heatmap(ax, grid, rows=labels, columns=labels, cmap="coolwarm", vmin=1 / spread,
                 vmax=spread, colorbar="Lift (1 = independent)", annotate=annotate,
                 decimals=2, log=True)  # fmt: skip
        ax.set_title(f"Lift between the {len(names)} most frequent items")
    _slanted(ax)
    return ax


# ---------------------------------------------------------------------------------------------
# segments


def switching(
    matrix: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    top: int | None = 12,
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw a switching matrix: the probability of buying ``to`` next after ``from``, in %.

    Parameters
    ----------
    matrix
        The output of :func:`retailcrm.segments.switching_matrix` (``from``, ``to``,
        ``transitions``, ``probability``); with a ``within`` column, filter it to one parent
        value first.
    top
        Show the values with the most transitions out (None: all).
    annotate
        Write each cell's value in it; default when there are at most 400 cells.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        An image with one row per ``from`` and one column per ``to`` (the same values in the
        same order; the diagonal is the repeat purchase of the same value). A pair never
        observed is 0: every transition was seen. With ``top``, a row's cells add up to less
        than 100 % when customers switch to values not shown.

    Notes
    -----
    :math:`P_{ij} = \sum w_{ij} / \sum_{j'} \sum w_{ij'}`, the spend-weighted first-order
    transition probability of :func:`retailcrm.segments.switching_matrix`.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import polars as pl
    >>> from retailcrm import plot
    >>> m = pl.DataFrame({"from": ["A", "A", "B"], "to": ["A", "B", "A"],
    ...     "customers": [1, 1, 1], "transitions": [0.75, 1.0, 0.25],
    ...     "probability": [0.4286, 0.5714, 1.0]})
    >>> ax = plot.switching(m)
    >>> ax.images[0].get_array()[1, 1]  # B -> B never seen: 0 %
    np.float64(0.0)
    >>> plt.close(ax.figure)
    """
    caller = "plot.switching"
    how_many = _whole(top, "top", caller)
    needed = {"from": "any", "to": "any", "transitions": "numeric", "probability": "numeric"}
    frame = _collected(matrix, needed, caller)
    parents = [c for c in frame.columns if c not in (*needed, "customers")]
    for parent in parents:
        if frame[parent].n_unique() > 1:
            msg = (
                f"{caller}: the matrix holds {frame[parent].n_unique()} values of {parent!r} "
                f"(switching within each); filter it to one first, e.g. "
                f"matrix.filter(pl.col({parent!r}) == {frame[parent][0]!r})."
            )
            raise ArgumentError(msg)
    _not_empty(frame, caller, "pass segments.switching_matrix(tx) of customers with 2+ occasions")
    out = (
        frame.group_by("from").agg(pl.col("transitions").sum()).sort("transitions", descending=True)
    )
    names = out["from"].to_list()
    names += [v for v in _order(frame, "to") if v not in set(names)]
    if how_many is not None:
        names = names[:how_many]
    where = {name: i for i, name in enumerate(names)}
    grid = np.zeros((len(names), len(names)))
    for a, b, p in frame.select("from", "to", "probability").iter_rows():
        if a in where and b in where:
            grid[where[a], where[b]] = 100 * p
    labels = [_label(n) for n in names]
    ax = _axes(ax, (max(6.0, 0.5 * len(names) + 3), max(5.0, 0.42 * len(names) + 2)))
    _heatmap(ax, grid, rows=labels, columns=labels, cmap="Purples", vmin=0.0,
             vmax=max(float(grid.max()), 1.0), colorbar="Next purchase (%)",
             annotate=annotate, decimals=0, skip_zero=True)  # fmt: skip
    _slanted(ax)
    ax.set_xlabel("Bought next (to)")
    ax.set_ylabel("Bought before (from)")
    shown = f"top {len(names)} of {len(set(names) | set(frame['from'].to_list()))}"
    ax.set_title(f"Switching matrix ({shown}): where each value's buyers go next")
    return ax


def migration(
    moves: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw a migration matrix: the share of each segment's customers in each later segment.

    Parameters
    ----------
    moves
        The output of :func:`retailcrm.segments.migration` (``from``, ``to``, ``customers``,
        ``share_of_from``).
    annotate
        Write each cell's share (%) in it; default when there are at most 400 cells.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One row per earlier segment (labelled with its customers), one column per later
        segment, in the segments' order (Enum order; the "(entered)" row first and "(left)"
        column last). Each row sums to 100 %; a move nobody made is 0.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import polars as pl
    >>> from retailcrm import plot, segments
    >>> a = pl.DataFrame({"customer_id": [1, 2, 3], "segment": ["Gold", "Gold", "Silver"]})
    >>> b = pl.DataFrame({"customer_id": [1, 3, 4], "segment": ["Gold", "Gold", "Silver"]})
    >>> ax = plot.migration(segments.migration(a, b))
    >>> ax.images[0].get_array().shape  # from: (entered), Gold, Silver; to: Gold, Silver, (left)
    (3, 3)
    >>> plt.close(ax.figure)
    """
    caller = "plot.migration"
    needed = {"from": "any", "to": "any", "customers": "numeric", "share_of_from": "numeric"}
    frame = _collected(moves, needed, caller)
    _not_empty(frame, caller, "pass segments.migration(a, b)")
    rows = _order(frame, "from")
    cols = _order(frame, "to")
    where_row = {v: i for i, v in enumerate(rows)}
    where_col = {v: i for i, v in enumerate(cols)}
    grid = np.zeros((len(rows), len(cols)))
    for a, b, p in frame.select("from", "to", "share_of_from").iter_rows():
        grid[where_row[a], where_col[b]] = 100 * p
    sizes = dict(frame.group_by("from").agg(pl.col("customers").sum()).iter_rows())
    ax = _axes(ax, (max(6.5, 0.6 * len(cols) + 3.5), max(4.5, 0.45 * len(rows) + 2)))
    _heatmap(ax, grid, rows=[f"{_label(r)} (n={int(sizes[r]):,})" for r in rows],
             columns=[_label(c) for c in cols], cmap="Greens", vmin=0.0, vmax=100.0,
             colorbar="Share of the earlier segment's customers (%)", annotate=annotate,
             decimals=0, skip_zero=True)  # fmt: skip
    _slanted(ax)
    ax.set_xlabel("Later segment (to)")
    ax.set_ylabel("Earlier segment (from)")
    ax.set_title(f"Segment migration of {int(frame['customers'].sum()):,} customers")
    return ax


def contribution(
    shares: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    measures: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw each segment's share of the customers next to its share of sales and margin.

    Parameters
    ----------
    shares
        The output of :func:`retailcrm.segments.contribution`: the segment column first, then
        ``customers_share``, ``orders_share``, ``sales_share`` (and ``margin_share``).
    measures
        Which shares to draw, among ``"customers"``, ``"orders"``, ``"sales"``, ``"margin"``;
        default customers, sales and margin (when present).
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One group of horizontal bars per segment (``ax.patches``, measure by measure, in %),
        the segments in the frame's order; customers missing from the segment frame are the
        "(none)" row.

    Notes
    -----
    :math:`\mathrm{share}_s = X_s / \sum_{s'} X_{s'}` for each measure (Kumar & Reinartz,
    *Customer Relationship Management*, 2012): a segment whose sales share beats its customer
    share is worth more than its size.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import polars as pl
    >>> from retailcrm import plot
    >>> out = pl.DataFrame({"segment": ["Gold", "Silver"], "customers_share": [0.2, 0.8],
    ...     "sales_share": [0.6, 0.4], "margin_share": [0.7, 0.3]})
    >>> ax = plot.contribution(out)
    >>> len(ax.patches)  # 2 segments x 3 measures
    6
    >>> plt.close(ax.figure)
    """
    caller = "plot.contribution"
    frame = _collected(shares, {"customers_share": "numeric"}, caller)
    known = ("customers", "orders", "sales", "margin")
    if measures is None:
        chosen = [m for m in ("customers", "sales", "margin") if f"{m}_share" in frame.columns]
    else:
        chosen = [_choice(m, known, "measures", caller) for m in measures]
        require(frame, {f"{m}_share": "numeric" for m in chosen}, caller=caller)
    _not_empty(frame, caller, "pass segments.contribution(tx, segments)")
    by = frame.columns[0]
    ax = _axes(ax, (8.0, max(3.0, 0.55 * frame.height + 1.2)))
    _share_bars(
        ax,
        [_label(v) for v in frame[by].to_list()],
        {m: frame[f"{m}_share"].cast(pl.Float64).fill_null(np.nan).to_numpy() for m in chosen},
    )
    ax.set_ylabel(by.replace("_", " ").capitalize())
    ax.set_title(f"Contribution by {by.replace('_', ' ')}")
    return ax


# ---------------------------------------------------------------------------------------------
# KPIs

_COUNTS = ("active_customers", "new_customers", "returning_customers", "orders")
_MONEY = (
    "revenue",
    "margin",
    "average_order_value",
    "revenue_per_customer",
    "margin_per_customer",
)
_RATES = ("repeat_purchase_rate", "retention_rate", "defection_rate")
_RATIOS = ("orders_per_customer", "expected_lifetime")


def _kpi_unit(column: str) -> str:
    if column in _COUNTS:
        return "count"
    if column in _MONEY:
        return "money"
    if column in _RATES:
        return "rate"
    if column == "expected_lifetime":
        return "periods"
    return "ratio"


def kpis(
    frame: pl.DataFrame | pl.LazyFrame,
    /,
    *,
    columns: Sequence[str] = ("active_customers", "new_customers", "returning_customers"),
    currency: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    r"""Draw KPI trend lines per calendar period; the period in progress is marked.

    Parameters
    ----------
    frame
        The output of :func:`retailcrm.metrics.kpis` (``period_start``, the ``columns``;
        ``is_complete`` when present).
    columns
        KPI columns of one kind of unit, drawn on one axis: counts (``active_customers``,
        ``new_customers``, ``returning_customers``, ``orders``), money (``revenue``,
        ``margin``, ``average_order_value``, ``revenue_per_customer``,
        ``margin_per_customer``), rates in % (``repeat_purchase_rate``, ``retention_rate``,
        ``defection_rate``) or ratios (``orders_per_customer``; ``expected_lifetime`` in
        periods). Use one axes per kind.
    currency
        Name of the money unit, e.g. ``"$"``.
    ax
        The axes to draw on; default a new figure.

    Returns
    -------
    matplotlib.axes.Axes
        One line per column over the complete periods (the first ``len(columns)`` of
        ``ax.lines``, in order, labelled with the column names). Periods that had not ended by
        ``as_of`` (``is_complete`` False; their values are partial) follow as dotted segments
        with hollow markers, unlabelled.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from retailcrm import datasets, metrics, plot
    >>> k = metrics.kpis(datasets.simulate(300, seed=1), period="1q")
    >>> ax = plot.kpis(k, columns=["retention_rate", "repeat_purchase_rate"])
    >>> ax.get_ylabel(), len(ax.lines) >= 2
    ('Rate (%)', True)
    >>> plt.close(ax.figure)
    """
    caller = "plot.kpis"
    names = [columns] if isinstance(columns, str) else list(columns)
    if not names:
        msg = f"{caller}: columns is empty; pass KPI columns such as ['active_customers']."
        raise ArgumentError(msg)
    units = {name: _kpi_unit(name) for name in names}
    if len(set(units.values())) > 1:
        msg = (
            f"{caller}: columns mix units {units}; draw one kind per axes, e.g. "
            "fig, (a, b) = plt.subplots(2) and two calls with ax=a and ax=b."
        )
        raise ArgumentError(msg)
    unit = next(iter(units.values()))
    needed = {"period_start": "date or datetime"} | dict.fromkeys(names, "numeric")
    data = _collected(frame, needed, caller).sort("period_start")
    _not_empty(data, caller, "pass metrics.kpis(tx)")
    done = (
        data["is_complete"].fill_null(True).to_numpy()
        if "is_complete" in data.columns
        else np.ones(data.height, dtype=bool)
    )
    when = data["period_start"].to_list()
    scale = 100.0 if unit == "rate" else 1.0
    ax = _axes(ax, (8.0, 4.5))
    last = len(done) if done.all() else int(np.argmin(done))  # the first incomplete period
    series = [data[n].cast(pl.Float64).fill_null(np.nan).to_numpy() * scale for n in names]
    for j, (name, y) in enumerate(zip(names, series, strict=True)):
        ax.plot(when[:last], y[:last], marker="o", markersize=3, color=_SERIES[j % len(_SERIES)],
                label=name.replace("_", " "))  # fmt: skip
    if last < len(done):
        for j, y in enumerate(series):
            colour = _SERIES[j % len(_SERIES)]
            tail = slice(max(last - 1, 0), len(done))
            ax.plot(when[tail], y[tail], linestyle=":", color=colour)
            ax.plot(when[last:], y[last:], linestyle="none", marker="o", markersize=5,
                    markerfacecolor="white", color=colour)  # fmt: skip
    period = _period_name(data["period_start"])
    ax.set_xlabel(f"{period.capitalize()} (start date)")
    ax.set_ylabel(
        {
            "count": "Customers or orders (count)",
            "money": _money("Amount", currency),
            "rate": "Rate (%)",
            "periods": f"Expected lifetime ({period}s)",
            "ratio": "Orders per active customer",
        }[unit]
    )
    ax.set_title(f"KPIs per {period}" + ("; hollow: period in progress" if not done.all() else ""))
    ax.grid(alpha=0.3)
    ax.legend(frameon=False)
    ax.figure.autofmt_xdate()
    return ax
