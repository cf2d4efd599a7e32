"""The p_astro and em_bright bar charts gwcelery uploads with an O4 alert.

gwcelery 3.0.0 draws every ``<pipeline>.p_astro.json`` uploaded to a
superevent (``tasks/p_astro.py``, ``plot``) and its ``em_bright.json``
(``tasks/em_bright.py``, ``plot``) as small horizontal bar charts, and uploads
them as ``<pipeline>.p_astro.png`` / ``em_bright.png`` (the JSON name with
``.png``):

* p_astro: one bar per class, sorted by probability (ties by name), each
  labelled with its percentage, in a 2.5 x 2 inch figure;
* em_bright: one bar per property, sorted by name in reverse, with the rest
  to 1 in light grey, in a 3 x 1 inch figure;

both in the ``seaborn-v0_8-white`` style (over the rcParams of a gwcelery
worker: :func:`worker_style`), x axis 0..1 without ticks, only the
left spine, ``tight_layout``, saved at the figure's dpi (matplotlib's default,
100). We draw the same figures with the same matplotlib calls, but on a
private Agg figure with those rcParams whatever the caller's, one font, and
without the software version in the PNG metadata, so that the same JSON gives
the same bytes (pixel for pixel gwcelery 3.0.0's on a machine without gwpy's
preferred fonts, checked in its oracle venv). The inputs are
checked first (:mod:`gwreplay.o4_uploads`).
"""

import contextlib

import numpy as np

from .atomic import atomic_path
from .o4_uploads import validate_em_bright, validate_p_astro

#: gwcelery's style for both charts.
CHART_STYLE = "seaborn-v0_8-white"
#: Figure sizes in inches (gwcelery 3.0.0).
P_ASTRO_FIGURE_SIZE = (2.5, 2.0)
EM_BRIGHT_FIGURE_SIZE = (3.0, 1.0)
#: The one sans-serif font: matplotlib's own (DejaVu Sans), on every machine.
SANS_SERIF = ("DejaVu Sans",)
#: Dots per inch: the default style's ``figure.dpi``, which gwcelery saves at.
CHART_DPI = 100


def format_probability(prob):
    """A bar's label, as gwcelery's ``_format_prob``: ``0%``, ``<1%``, ``42%``,
    ``>99%``, ``100%``."""
    if prob >= 1:
        return "100%"
    if prob <= 0:
        return "0%"
    if prob > 0.99:
        return ">99%"
    if prob < 0.01:
        return "<1%"
    return f"{int(np.round(100 * prob))}%"


def _figure(figsize):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=CHART_DPI)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _finish(fig, ax, probs, png_path):
    """Labels, axes and spines as gwcelery's plots; then save reproducibly."""
    for i, prob in enumerate(probs):
        ax.annotate(
            format_probability(prob),
            (0, i),
            (4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
        )
    ax.set_xlim(0, 1)
    ax.set_xticks([])
    ax.tick_params(left=False)
    for side in ("top", "bottom", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    with atomic_path(png_path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=CHART_DPI, metadata={"Software": None})


@contextlib.contextmanager
def worker_style(*styles):
    """matplotlib's rcParams as in a gwcelery worker, then ``styles``.

    Every gwcelery worker imports all task modules, and ``tasks/detchar.py``
    imports ``gwpy.plot``, whose import applies gwpy's rcParams (font size
    12, grey axes, grid, mathtext offsets; ``text.usetex`` off unless
    ``GWPY_USETEX``). So gwcelery's charts and the in-process
    ligo-skymap-plot-volume are drawn on matplotlib's defaults plus gwpy's.
    We apply the same, from gwpy itself (its import's own update is undone),
    except that the sans-serif font is matplotlib's bundled one: gwpy
    prefers FreeSans, Helvetica or Arial when a machine has them, which
    would make the picture depend on the machine.
    """
    import matplotlib
    from matplotlib import style

    with matplotlib.rc_context():
        from gwpy.plot import rc as gwpy_rc
    params = dict(gwpy_rc.rc_params(usetex=False))
    params["font.sans-serif"] = list(SANS_SERIF)
    with style.context(["default", params, *styles]):
        yield


def draw_p_astro(classification, png_path):
    """Draw ``{class: probability}`` as gwcelery's p_astro chart."""
    probs, names = zip(
        *sorted(zip(classification.values(), classification.keys(), strict=True)),
        strict=True,
    )
    with worker_style(CHART_STYLE):
        fig, ax = _figure(P_ASTRO_FIGURE_SIZE)
        ax.barh(names, probs)
        _finish(fig, ax, probs, png_path)


def draw_em_bright(properties, png_path):
    """Draw ``{property: probability}`` as gwcelery's em_bright chart."""
    properties = dict(sorted(properties.items(), reverse=True))
    probs, names = list(properties.values()), list(properties.keys())
    with worker_style(CHART_STYLE):
        fig, ax = _figure(EM_BRIGHT_FIGURE_SIZE)
        ax.barh(names, probs)
        ax.barh(names, [1.0 - p for p in probs], color="lightgray", left=probs)
        _finish(fig, ax, probs, png_path)


def plot_p_astro(graceid, p_astro_path, png_path):
    """Check ``p_astro_path`` (a pipeline's p_astro.json) and chart it to
    ``png_path`` (``p_astro.png``). Returns the classification."""
    classification = validate_p_astro(graceid, p_astro_path)
    draw_p_astro(classification, png_path)
    return classification


def plot_em_bright(graceid, em_bright_path, png_path):
    """Check ``em_bright_path`` (em_bright.json) and chart it to ``png_path``
    (``em_bright.png``). Returns the properties."""
    properties = validate_em_bright(graceid, em_bright_path)
    draw_em_bright(properties, png_path)
    return properties
