"""Figures of ``gwreplay report``: P-P plot, 90% area distribution, alert latency.

They are written to ``RESULTS/report/figures/``.

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
#: Room above the highest latency, as a fraction of the axis span.
LATENCY_HEADROOM = 0.1


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


#: The P-P series: the summary key of their KS test, and their label.
PP_SERIES = {
    "searched_prob": "sky",
    "searched_prob_dist": "distance",
    "searched_prob_vol": "volume",
}


def plot_pp(path, series, ks_pvalues=None):
    """P-P plot of searched probabilities with the 95% confidence band.

    ``series`` is {label: searched probabilities}: the sky one
    (``searched_prob``) and, beside it, the distance and volume ones
    (``searched_prob_dist``, ``searched_prob_vol``), as ligo.skymap's
    documentation draws them on one ``pp_plot`` axes. The band is that of the
    largest series (a uniform sample of that size).
    """
    import matplotlib.style

    _register_pp_plot()

    ks_pvalues = ks_pvalues or {}
    values = {label: _finite(v) for label, v in series.items()}
    values = {label: v for label, v in values.items() if v}
    largest = max(len(v) for v in values.values())
    with matplotlib.style.context("default"):
        fig = _figure((5.0, 5.0))
        ax = fig.add_subplot(projection="pp_plot")
        ax.add_confidence_band(largest, alpha=PP_CONFIDENCE)
        ax.add_diagonal()
        for label, points in values.items():
            text = f"{label} ({len(points)})"
            if ks_pvalues.get(label) is not None:
                text += f", KS p = {ks_pvalues[label]:.3g}"
            ax.add_series(points, drawstyle="steps", label=text)
        ax.set_xlabel("searched probability")
        ax.set_ylabel("cumulative fraction of injections")
        ax.set_title(f"{largest} injections", loc="left")
        ax.legend(loc="upper left", fontsize="small")
        _save(fig, path)


def plot_area_cdf(path, areas_by_label):
    """Cumulative histograms of 90% credible areas (deg²), one step line each."""
    import matplotlib.style
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


def latency_limits(latencies, headroom=LATENCY_HEADROOM):
    """(bottom, top) of the latency axis: every point inside, with room.

    The bottom is 0 unless a notice went out before t_0 (early warning);
    ``headroom`` of the span is added above the highest point (and below a
    negative lowest one), so no marker is cut at the edge of the axes.
    """
    low, high = min(0.0, min(latencies)), max(0.0, max(latencies))
    span = (high - low) or 1.0
    bottom = low - headroom * span if low < 0 else 0.0
    return bottom, high + headroom * span


def plot_latency(path, superevents):
    """Alert latency on the replay clock: notice_time - t_0 against t_0.

    The horizontal axis is hours since the first superevent's t_0, so the
    figure is a timeline of the replay; each notice is one marker. The axis
    limits are set from the data (:func:`latency_limits`) and the legend
    stands above the axes, so that neither hides the highest points.
    """
    import matplotlib.style

    rows = [r for r in superevents if r["latency"] is not None and r["t_0"] is not None]
    start = min(r["t_0"] for r in rows)
    with matplotlib.style.context("default"):
        fig = _figure((7.0, 4.0))
        fig.set_layout_engine("constrained")
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
        ax.set_ylim(*latency_limits([r["latency"] for r in rows]))
        ax.grid(True, alpha=0.3)
        fig.legend(loc="outside upper center", ncols=4, fontsize="small")
        _save(fig, path)


#: Folder of the figures inside the report folder (Snakemake's --report
#: collects every PNG in it).
FIGURES_DIR = "figures"
#: Caption of each figure, on the page and in Snakemake's report.
FIGURE_CAPTIONS = {
    "pp_plot.png": "P-P plot of searched probability (sky, distance, volume) "
    "with the 95% confidence band",
    "area90_cdf.png": "cumulative histogram of 90% credible areas",
    "latency.png": "alert latency (notice_time - t_0) on the replay clock",
}


def _areas_by_class(superevents):
    """{label: 90% areas}: every superevent, then each true class."""
    areas = {"all superevents": [r.get("area(90)") for r in superevents]}
    for truth_class in sorted({r.get("truth_class") or "" for r in superevents} - {""}):
        areas[truth_class] = [
            r.get("area(90)")
            for r in superevents
            if r.get("truth_class") == truth_class
        ]
    return areas


def write_figures(report_dir, plot_data, skipped):
    """Draw every figure the data allow into ``report_dir/figures/``; note the
    others in ``skipped``.

    Returns {path relative to ``report_dir``: caption} of the figures written.
    The folder is made even when no figure is drawn (the report rule's
    ``directory`` output).
    """
    import os

    folder = os.path.join(report_dir, FIGURES_DIR)
    os.makedirs(folder, exist_ok=True)
    drawn = []
    series = {label: plot_data.get(key, ()) for key, label in PP_SERIES.items()}
    if _finite(series["sky"]):
        ks = {PP_SERIES[key]: p for key, p in plot_data.get("ks_pvalues", {}).items()}
        plot_pp(os.path.join(folder, "pp_plot.png"), series, ks)
        drawn.append("pp_plot.png")
    else:
        skipped.append("no searched probabilities: P-P plot not drawn")

    superevents = plot_data.get("superevents", ())
    areas = _areas_by_class(superevents)
    if _finite(areas["all superevents"]):
        plot_area_cdf(os.path.join(folder, "area90_cdf.png"), areas)
        drawn.append("area90_cdf.png")
    else:
        skipped.append("no sky maps found: 90% area histogram not drawn")

    if any(r["latency"] is not None for r in superevents):
        plot_latency(os.path.join(folder, "latency.png"), superevents)
        drawn.append("latency.png")
    else:
        skipped.append("no notice times: latency timeline not drawn")
    return {f"{FIGURES_DIR}/{name}": FIGURE_CAPTIONS[name] for name in drawn}
