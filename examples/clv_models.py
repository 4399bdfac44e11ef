"""Customer lifetime value on CDNOW: fit BTYD models, check them on a holdout, value customers.

The classic protocol of Fader, Hardie & Lee (2005): calibrate on the first 39 weeks (to
30 Sep 1997), predict the next 39 weeks (to 30 Jun 1998), compare with what customers did.
Writes to the output folder:

- ``clv_p_alive.png`` / ``clv_expected_purchases.png``: what the BG/NBD model believes for
  every (frequency, recency) history of a customer observed 39 weeks;
- ``clv_calibration.png``: holdout purchases by calibration frequency, actual vs model;
- ``clv_tracking.png`` / ``clv_tracking_weekly.png``: the cohort's repeat purchases week by week.

Run from the repository root::

    python examples/clv_models.py [OUTPUT_DIR]      # default examples/output/
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write files, open no window
import matplotlib.pyplot as plt
import polars as pl

from retailcrm import clv, datasets, plot

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "output"
CALIBRATION_END, AS_OF = "1997-09-30", "1998-06-30"


def main(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    tx = datasets.load_cdnow()
    # frequency, recency, T in weeks up to the calibration end; purchases after it, to as_of
    split = clv.summary(tx, as_of=AS_OF, calibration_end=CALIBRATION_END, unit="1w")

    models = {
        "BG/NBD": clv.BetaGeo.fit(split, unit="1w"),
        "Pareto/NBD": clv.ParetoNBD.fit(split, unit="1w"),
        "MBG/NBD": clv.ModifiedBetaGeo.fit(split, unit="1w"),
    }
    print("Holdout check (39 weeks), per customer:")
    for name, model in models.items():
        check = clv.evaluate(model, split)
        print(
            f"  {name:<11} log-lik {model.log_likelihood:>10.1f}  "
            f"predicted {check.expected_total:>7.0f} vs actual {check.actual_total:.0f} "
            f"purchases, MAE {check.mae:.3f}, RMSE {check.rmse:.3f}"
        )
    bgnbd = models["BG/NBD"]
    print(bgnbd.summary())

    written = []
    ax = plot.clv_matrix(bgnbd, split, max_frequency=15)
    written.append(_save(ax, out / "clv_p_alive.png"))
    ax = plot.clv_matrix(bgnbd, split, value="expected_purchases", horizon="52w", max_frequency=15)
    written.append(_save(ax, out / "clv_expected_purchases.png"))
    written.append(_save(plot.calibration(clv.evaluate(bgnbd, split)), out / "clv_calibration.png"))
    track = clv.tracking(bgnbd, tx, as_of=AS_OF, calibration_end=CALIBRATION_END, period="1w")
    written.append(_save(plot.tracking(track), out / "clv_tracking.png"))
    ax = plot.tracking(track, cumulative=False)
    written.append(_save(ax, out / "clv_tracking_weekly.png"))

    # Value the customers on everything seen up to as_of: 12 months, 1 % a month
    full = clv.summary(tx, as_of=AS_OF, unit="1w")
    buys = clv.BetaGeo.fit(full, unit="1w")
    spend = clv.GammaGamma.fit(full)
    values = clv.lifetime_value(buys, spend, full, horizon=12, unit="1mo", discount_rate=0.01)
    equity = clv.customer_equity(buys, spend, full, horizon=12, unit="1mo", discount_rate=0.01)
    print(f"Customer equity, next 12 months: ${equity['customer_equity'].item():,.0f}")
    top = values.join(buys.p_alive(full), on="customer_id").sort("clv", descending=True)
    with pl.Config(float_precision=2):
        print(top.head(5))
    return written


def _save(ax: plt.Axes, path: Path) -> Path:
    ax.figure.savefig(path, dpi=100)
    plt.close(ax.figure)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", nargs="?", type=Path, default=DEFAULT_OUTPUT)
    for path in main(parser.parse_args().output):
        print("wrote", path)
