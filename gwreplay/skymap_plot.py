"""The superevent's sky map file and its all-sky picture.

When gwcelery sends a preliminary alert it copies the preferred event's sky
map to the superevent and annotates it (``gwcelery/tasks/skymaps.py``,
``annotate_fits`` and ``plot_allsky``), running ``ligo-skymap-plot
--annotate --contour 50 90`` to draw a Mollweide projection in equatorial
coordinates with the 50% and 90% credible contours. :func:`plot_skymap` draws
the same figure with the same :mod:`ligo.skymap.plot` calls as that tool
(``ligo/skymap/tool/ligo_skymap_plot.py``), with its defaults (8 x 6 inch
figure, ``cylon`` colour map, 300 dpi), but reproducibly: a private Agg
figure with matplotlib's default style, and PNG metadata without the
software version (the tool stamps it and its command line).
"""

import os
import shutil

from .atomic import atomic_path
from .errors import EventInputError

#: The configuration key read here: ``skymap_plot_dpi``, the all-sky PNG's
#: resolution (null: :data:`TOOL_DPI`, as gwcelery runs the tool).
CONFIG_KEYS = ("skymap_plot_dpi",)
#: Resolution of the all-sky PNG, dots per inch (ligo-skymap-plot default).
TOOL_DPI = 300
#: Credible levels (percent) drawn as contours, as gwcelery's plot_allsky.
skymap_plot_contours = (50, 90)
#: Figure size in inches (ligo-skymap-plot defaults).
FIGURE_SIZE = (8.0, 6.0)
#: Colour map of ligo-skymap-plot (registered by ligo.skymap.plot).
COLORMAP = "cylon"
#: Matplotlib axes projection of ligo-skymap-plot's default ``astro mollweide``.
PROJECTION = "astro hours mollweide"


def _event_id(path, event_id):
    """ID named in errors: the given one, else the folder holding the file."""
    return event_id or os.path.basename(os.path.dirname(os.path.abspath(path)))


def copy_skymap(src, dst, *, event_id=None):
    """Copy the sky map ``src`` to ``dst`` atomically, byte for byte.

    This is gwcelery's "Localization copied from <preferred event>" upload:
    the superevent gets the preferred event's file unchanged. A missing or
    empty source raises EventInputError.
    """
    name = os.path.basename(os.fspath(src))
    try:
        size = os.path.getsize(src)
    except FileNotFoundError:
        raise EventInputError(
            _event_id(src, event_id), name, "sky map missing"
        ) from None
    if size == 0:
        raise EventInputError(_event_id(src, event_id), name, "sky map is empty")
    with atomic_path(dst) as tmp:
        shutil.copyfile(src, tmp)


def _read_multiorder(fits_path, event_id):
    """The sky map as a multi-order table (flat maps are converted)."""
    from ligo.skymap.io import fits

    name = os.path.basename(os.fspath(fits_path))
    if not os.path.exists(fits_path):
        raise EventInputError(event_id, name, "sky map missing")
    try:
        return fits.read_sky_map(os.fspath(fits_path), moc=True)
    except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
        raise EventInputError(event_id, name, f"cannot read sky map: {exc}") from exc


def _draw_contours(ax, skymap, levels):
    """Greedy credible-level contours, as ``ligo-skymap-plot --contour``."""
    from astropy.table import Table
    from ligo.skymap import moc, postprocess

    pixel_area = moc.uniq2pixarea(skymap["UNIQ"])
    pixel_prob = skymap["PROBDENSITY"] * pixel_area
    credible_levels = 100 * postprocess.find_greedy_credible_levels(
        pixel_prob, skymap["PROBDENSITY"]
    )
    table = Table({"UNIQ": skymap["UNIQ"], "CLS": credible_levels})
    contours = ax.contour_hpx(
        (table, "ICRS"),
        colors="k",
        linewidths=0.5,
        levels=list(levels),
        order="nearest-neighbor",
    )
    ax.clabel(contours, fmt="%g%%", fontsize=6, inline=True)
    return credible_levels, pixel_area


def _format_area(area_deg2):
    """Area to three significant figures, integers with thousands separators
    above 100 deg² (the tool's style: ``0.346``, ``34.6``, ``3,457``)."""
    import numpy as np

    if area_deg2 <= 100:
        return np.format_float_positional(
            area_deg2, precision=3, fractional=False, trim="-"
        )
    return f"{round(area_deg2):,d}"


def _annotation(skymap, levels, credible_levels, pixel_area):
    """Text of ``--annotate``: event ID, instruments and credible areas."""
    import numpy as np
    from astropy import units as u
    from ligo.skymap import postprocess

    lines = []
    if "objid" in skymap.meta:
        lines.append(f"event ID: {skymap.meta['objid']}")
    if "instruments" in skymap.meta:
        lines.append(f"instruments: {', '.join(sorted(skymap.meta['instruments']))}")
    if levels:
        order = np.flipud(np.argsort(skymap["PROBDENSITY"]))
        areas = postprocess.interp_greedy_credible_levels(
            list(levels),
            credible_levels[order],
            np.cumsum(pixel_area[order]),
            right=4 * np.pi,
        )
        for level, area in zip(levels, areas * u.sr.to(u.deg**2), strict=True):
            lines.append(f"{round(level):d}% area: {_format_area(area)} deg²")
    return "\n".join(lines)


def plot_skymap(
    fits_path,
    png_path,
    *,
    title=None,
    contours=skymap_plot_contours,
    dpi=None,
    annotate=True,
    event_id=None,
):
    """Draw the sky map ``fits_path`` on a Mollweide all-sky PNG at ``png_path``.

    ``title`` (e.g. the superevent ID) is written above the map on the left;
    ``contours`` are the credible levels in percent; ``dpi`` the resolution
    (None: :data:`TOOL_DPI`). The same inputs give the same PNG bytes. The
    file is written atomically.
    """
    import matplotlib
    import numpy as np
    from astropy import units as u
    from ligo.skymap import plot  # registers the astro projections
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = dpi or TOOL_DPI
    event_id = _event_id(fits_path, event_id)
    skymap = _read_multiorder(fits_path, event_id)
    levels = tuple(contours or ())
    with (
        matplotlib.style.context("default"),
        matplotlib.rc_context({"image.cmap": COLORMAP}),
    ):
        fig = Figure(figsize=FIGURE_SIZE, dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(projection=PROJECTION)
        ax.grid()
        credible_levels = pixel_area = None
        if levels:
            credible_levels, pixel_area = _draw_contours(ax, skymap, levels)
        plot.outline_text(ax)
        if annotate:
            text = _annotation(skymap, levels, credible_levels, pixel_area)
            ax.text(1, 1, text, transform=ax.transAxes, ha="right")
        if title:
            ax.set_title(str(title), loc="left")
        density = np.asarray(skymap["PROBDENSITY"]) / u.sr.to(u.deg**2)
        skymap["PROBDENSITY"] = density  # per deg², as the tool plots it
        ax.imshow_hpx((skymap, "ICRS"), vmin=0, order="nearest-neighbor")
        with atomic_path(png_path, suffix=".png") as tmp:
            fig.savefig(tmp, format="png", dpi=dpi, metadata={"Software": None})
