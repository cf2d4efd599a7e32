"""Figures of ``gwreplay report``: P-P plot, 90% area distribution, alert latency.

The P-P plot is drawn on ligo.skymap's ``pp_plot`` axes with its 95%
confidence band (the beta-distribution band of Singer & Price 2016), as the
ligo.skymap documentation and the LVK localization papers draw it; the random
"lightning" series are left out so the figure is reproducible. Every figure is
a private Agg figure under matplotlib's default style, saved with the
``Software`` PNG metadata removed (as :mod:`gwreplay.skymap_plot`), so the same
report data give the same PNG bytes.
"""

import math

from ..atomic import atomic_path

#: Resolution of the report figures, dots per inch.
report_plot_dpi = 100
#: Confidence level of the P-P plot band.
PP_CONFIDENCE = 0.95


def _figure(size):
    """A private Agg figure (no pyplot state, no global style)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=report_plot_dpi)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path):
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=report_plot_dpi, metadata={"Software": None})


def _finite(values):
    return [v for v in values if v is not None and math.isfinite(v)]


def _register_pp_plot():
    """Import ligo.skymap.plot (registers ``pp_plot``), quiet about its
    use of a private reproject module (an astropy deprecation warning)."""
    import warnings

    from astropy.utils.exceptions import AstropyDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyDeprecationWarning)
        from ligo.skymap import plot  # noqa: F401


def plot_pp(path, searched_prob, ks_pvalue=None):
    """P-P plot of searched probabilities with the 95% confidence band."""
    import matplotlib

    _register_pp_plot()

    values = _finite(searched_prob)
    with matplotlib.style.context("default"):
        fig = _figure((5.0, 5.0))
        ax = fig.add_subplot(projection="pp_plot")
        ax.add_confidence_band(len(values), alpha=PP_CONFIDENCE)
        ax.add_diagonal()
        ax.add_series(values, drawstyle="steps")
        ax.set_xlabel("searched probability")
        ax.set_ylabel("cumulative fraction of injections")
        title = f"{len(values)} injections"
        if ks_pvalue is not None:
            title += f", KS p = {ks_pvalue:.3g}"
        ax.set_title(title, loc="left")
        _save(fig, path)


def plot_area_cdf(path, areas_by_label):
    """Cumulative histograms of 90% credible areas (deg²), one step line each."""
    import matplotlib
    import numpy as np

    with matplotlib.style.context("default"):
        fig = _figure((6.0, 4.0))
        ax = fig.add_subplot()
        every = np.asarray(_finite(sum(areas_by_label.values(), [])))
        low, high = every.min() / 2, every.max() * 2
        for label, areas in areas_by_label.items():
            values = np.sort(_finite(areas))
            if values.size == 0:
                continue
            fraction = np.arange(1, values.size + 1) / values.size
            ax.step(
                np.concatenate(([low], values, [high])),
                np.concatenate(([0.0], fraction, [1.0])),
                where="post",
                label=f"{label} ({values.size})",
            )
        ax.set_xscale("log")
        ax.set_xlim(low, high)
        ax.set_ylim(0, 1)
        ax.set_xlabel("90% credible area (deg²)")
        ax.set_ylabel("cumulative fraction")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower right", fontsize="small")
        _save(fig, path)


STATUS_STYLE = {
    "sent": ("tab:blue", "o"),
    "vetoed": ("tab:red", "x"),
    "not publishable": ("tab:gray", "s"),
}


def plot_latency(path, superevents):
    """Alert latency on the replay clock: notice_time - t_0 against t_0.

    The horizontal axis is hours since the first superevent's t_0, so the
    figure is a timeline of the replay; each notice is one marker.
    """
    import matplotlib

    rows = [r for r in superevents if r["latency"] is not None and r["t_0"] is not None]
    start = min(r["t_0"] for r in rows)
    with matplotlib.style.context("default"):
        fig = _figure((7.0, 4.0))
        ax = fig.add_subplot()
        for status in sorted({r["status"] for r in rows}):
            color, marker = STATUS_STYLE.get(status, ("tab:green", "^"))
            subset = [r for r in rows if r["status"] == status]
            ax.scatter(
                [(r["t_0"] - start) / 3600 for r in subset],
                [r["latency"] for r in subset],
                color=color,
                marker=marker,
                label=f"{status} ({len(subset)})",
            )
        ax.set_xlabel(f"replay clock: hours since GPS {start:.0f}")
        ax.set_ylabel("notice_time - t_0 (s)")
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper right", fontsize="small")
        _save(fig, path)


def write_figures(report_dir, plot_data, skipped):
    """Draw every figure the data allow; note the others in ``skipped``.

    Returns {file name: caption} of the figures written.
    """
    import os

    figures = {}
    searched = _finite(plot_data.get("searched_prob", ()))
    if searched:
        plot_pp(
            os.path.join(report_dir, "pp_plot.png"), searched, plot_data["ks_pvalue"]
        )
        figures["pp_plot.png"] = (
            "P-P plot of searched probability with the 95% confidence band"
        )
    else:
        skipped.append("no searched probabilities: P-P plot not drawn")

    superevents = plot_data.get("superevents", ())
    areas = {"all superevents": [r.get("area(90)") for r in superevents]}
    for truth_class in sorted({r.get("truth_class") or "" for r in superevents} - {""}):
        areas[truth_class] = [
            r.get("area(90)")
            for r in superevents
            if r.get("truth_class") == truth_class
        ]
    if _finite(areas["all superevents"]):
        plot_area_cdf(os.path.join(report_dir, "area90_cdf.png"), areas)
        figures["area90_cdf.png"] = "cumulative histogram of 90% credible areas"
    else:
        skipped.append("no sky maps found: 90% area histogram not drawn")

    if any(r["latency"] is not None for r in superevents):
        plot_latency(os.path.join(report_dir, "latency.png"), superevents)
        figures["latency.png"] = "alert latency (notice_time - t_0) on the replay clock"
    else:
        skipped.append("no notice times: latency timeline not drawn")
    return figures
