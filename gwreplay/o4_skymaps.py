"""O4 sky-map products: the flattened ``bayestar.fits.gz`` and the volume plot.

gwcelery 3.0.0 (``tasks/skymaps.py``) has a task for each that runs ligo.skymap's
command-line tools in its worker process (its handlers call ``plot_volume``
for every 3-D sky map of a superevent, and ``flatten`` nowhere): ``flatten`` calls
``ligo_skymap_flatten.main([multiorder, flat])`` and ``plot_volume`` calls
``ligo_skymap_plot_volume.main([fits, '-o', png, '--annotate'])``.

:func:`flatten` calls the functions that tool calls (``read_sky_map(moc=True)``,
:func:`ligo.skymap.bayestar.rasterize`, ``write_sky_map(nest=True)``), after
checking the upload with :func:`gwreplay.o4_uploads.validate_multiorder`, and
gzips the result without a file name or mtime in the header (astropy's own
``.gz`` writer stamps both). The FITS header carries only the input's metadata
(its ``DATE`` is the input's), so the same input gives the same bytes.

:func:`plot_volume` runs the tool's ``main()`` in-process, as gwcelery does,
because the drawing exists nowhere else: ``main()`` is one 300-line function
whose projection, contour, scale-bar, marginal-distance and annotation code no
library function exposes, so anything else would be a copy of it. Around the
call we undo what the tool does to a process and to reproducibility:

* it draws on the rcParams of a gwcelery worker (matplotlib's defaults and
  gwpy's, one font: :func:`gwreplay.o4_charts.worker_style`), and the
  caller's rcParams are restored afterwards (the tool sets the colour map,
  figure size and dpi globally); the figure it opens
  with pyplot is closed (pyplot is left on the non-interactive Agg backend,
  which the tool switches to and gwcelery sets too);
* the root logger's level and handlers are restored (its ``--loglevel``
  default calls ``logging.basicConfig``) and its tqdm progress bar is kept
  off stderr;
* ``--annotate`` writes ``", ".join(instruments)`` of a Python set, whose
  order depends on the process's hash seed; ligo.skymap's ``read_sky_map``
  is wrapped for the call to give the instruments sorted (as
  :mod:`gwreplay.skymap_plot` sorts them);
* the PNG's text chunks are dropped afterwards: the tool stamps the ligo.skymap
  version (``Software``) and ``sys.argv`` of the calling process (``Title``).

Checked against gwcelery 3.0.0 (its oracle venv, ``gwcelery.tasks`` imported,
the hash seed chosen so that its set prints sorted): the same pixels, both
for its own ``plot_volume`` task and with ``--dpi 40``.

Resolution: the tool's ``--dpi`` default (300) is an int, which argparse does
not pass through the option's type, so its side effect (setting matplotlib's
figure and savefig dpi) never runs: called as gwcelery calls it, the tool
renders each projection on a 300-dpi grid (525 x 525 samples) but saves at
matplotlib's default 100 dpi, a 350 x 350 PNG. ``dpi=None`` (config.yaml's
``volume_plot_dpi: null``) does exactly that; a number passes ``--dpi``,
which sets both.

Run time, measured on this project's 2-core machine with a Gaussian
multi-order map with distance layers (3072 pixels, orders 3..7; nearly all of
it is ligo.skymap's ``volume_render``, which grows as the grid's dpi
squared): 2.3 s with ``dpi=40``, 16 s with ``dpi=100``, 49 s for a 300-dpi
grid, i.e. the default, as gwcelery runs it, on an idle machine (91 s, and
93 s for gwcelery's own task in its oracle venv, with another job running).
gwcelery runs it on its ``openmp`` queue; a rule for it deserves the threads
of a BAYESTAR job.
"""

import contextlib
import io
import logging
import os
import struct
import tempfile
import zlib

from .atomic import atomic_path, gzip_bytes, write_bytes
from .errors import EventInputError
from .o4_uploads import validate_multiorder

#: The configuration key read here: ``volume_plot_dpi``, the volume plot's
#: ``--dpi`` (null for the tool's default, as gwcelery runs it: a 300-dpi
#: rendering saved as a 350 x 350 PNG; see above).
CONFIG_KEYS = ("volume_plot_dpi",)
#: The finest order :func:`flatten` rasterises (a guard of ours; gwcelery has
#: none): a flat map of order 12 (nside 4096) has 2e8 pixels, 1.6 GB per
#: column; one order more is 6.4 GB per column.
MAX_FLATTEN_ORDER = 12

#: The distance layers ligo-skymap-plot-volume reads.
DISTANCE_COLUMNS = ("DISTMU", "DISTSIGMA", "DISTNORM")

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: PNG chunks that carry text or a time stamp, not the picture.
PNG_TEXT_CHUNKS = frozenset({b"tEXt", b"zTXt", b"iTXt", b"tIME"})


def _name(path):
    return os.path.basename(os.fspath(path))


def flat_fits_bytes(table, gzip=True):
    """A flat table (``rasterize``'s output) as NESTED FITS bytes, reproducibly."""
    from ligo.skymap.io import write_sky_map

    with tempfile.TemporaryDirectory() as tmpdir:
        path = os.path.join(tmpdir, "skymap.fits")
        write_sky_map(path, table, nest=True)
        with open(path, "rb") as f:
            data = f.read()
    return gzip_bytes(data) if gzip else data


def flatten(graceid, multiorder_path, out_path, *, max_order=MAX_FLATTEN_ORDER):
    """Flatten the multi-order sky map ``multiorder_path`` to ``out_path``.

    This is ``ligo-skymap-flatten INPUT OUTPUT`` without ``--nside`` (the
    flat map has the input's finest resolution), as gwcelery runs it. The
    output is gzipped when its name ends in ``.gz``, and written atomically.
    A bad input raises :class:`EventInputError`; so does one finer than
    ``max_order`` (the flat map would not fit in memory). Returns the flat
    table.
    """
    from ligo.skymap import moc
    from ligo.skymap.bayestar import rasterize

    table = validate_multiorder(graceid, multiorder_path)
    order = int(moc.uniq2order(table["UNIQ"].max()))
    if order > max_order:
        raise EventInputError(
            graceid,
            _name(multiorder_path),
            f"finest order {order} is above {max_order}: too large to flatten",
        )
    flat = rasterize(table)
    data = flat_fits_bytes(flat.copy(), gzip=os.fspath(out_path).endswith(".gz"))
    write_bytes(out_path, data)
    return flat


def strip_png_text(data):
    """``data`` (a PNG file) without its text and time chunks, else unchanged."""
    if data[:8] != PNG_SIGNATURE:
        raise ValueError("not a PNG file")
    kept, offset = [data[:8]], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        end = offset + 12 + length
        if end > len(data):
            raise ValueError("truncated PNG chunk")
        if data[offset + 4 : offset + 8] not in PNG_TEXT_CHUNKS:
            kept.append(data[offset:end])
        offset = end
    return b"".join(kept)


def png_text_chunk(keyword, text):
    """A PNG ``tEXt`` chunk (used by the tests to check :func:`strip_png_text`)."""
    body = keyword.encode("latin-1") + b"\0" + text.encode("latin-1")
    kind = b"tEXt"
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def _check_distances(graceid, path):
    """The sky map must be readable by ligo.skymap with its distance layers."""
    import numpy as np
    from ligo.skymap.io import read_sky_map

    name = _name(path)
    if not os.path.exists(path):
        raise EventInputError(graceid, name, "sky map missing")
    try:
        skymap = read_sky_map(os.fspath(path), moc=True, distances=True)
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds
        raise EventInputError(graceid, name, f"cannot read sky map: {exc}") from exc
    missing = [c for c in DISTANCE_COLUMNS if c not in skymap.colnames]
    if missing:
        raise EventInputError(
            graceid, name, f"no distance layers for a volume plot: {', '.join(missing)}"
        )
    if not np.isfinite(skymap["DISTMU"]).any():
        raise EventInputError(graceid, name, "DISTMU is nowhere finite: no distance")


@contextlib.contextmanager
def _sorted_instruments():
    """Make ``ligo.skymap.io.read_sky_map`` return the instruments sorted."""
    import ligo.skymap.io as skymap_io

    original = skymap_io.read_sky_map

    def read_sky_map(*args, **kwargs):
        result = original(*args, **kwargs)
        meta = result.meta if hasattr(result, "meta") else result[1]
        if "instruments" in meta:
            meta["instruments"] = sorted(meta["instruments"])
        return result

    skymap_io.read_sky_map = read_sky_map
    try:
        yield
    finally:
        skymap_io.read_sky_map = original


@contextlib.contextmanager
def _quiet_tool():
    """Keep the root logger as it is and the tool's progress bar off stderr."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _run_plot_volume_tool(args):
    import matplotlib
    from ligo.skymap.tool import ligo_skymap_plot_volume
    from matplotlib import pyplot as plt

    from .o4_charts import worker_style

    before = set(plt.get_fignums())
    try:
        with (
            worker_style(),
            matplotlib.rc_context(),
            _sorted_instruments(),
            _quiet_tool(),
        ):
            ligo_skymap_plot_volume.main(args)
    except SystemExit as exc:  # argparse: our own arguments are wrong
        raise RuntimeError(f"ligo-skymap-plot-volume {args}: exit {exc.code}") from exc
    finally:
        for number in set(plt.get_fignums()) - before:
            plt.close(number)


def plot_volume(graceid, skymap_path, png_path, *, dpi):
    """Draw the volume rendering of ``skymap_path`` to ``png_path``.

    As gwcelery's ``plot_volume``: ``ligo-skymap-plot-volume --annotate``
    (three projections, the marginal distance and the event ID, instruments
    and distance), 3.5 x 3.5 inches; ``dpi`` None as gwcelery (350 x 350
    pixels), else ``--dpi`` (3.5 * dpi pixels). The sky map needs distance
    layers. Same input, same PNG bytes; written atomically.
    """
    import numpy as np

    _check_distances(graceid, skymap_path)
    with atomic_path(png_path, suffix=".png") as tmp:
        args = [os.fspath(skymap_path), "-o", tmp, "--annotate"]
        if dpi is not None:
            args += ["--dpi", str(int(dpi))]
        with np.errstate(all="ignore"):
            try:
                _run_plot_volume_tool(args)
            except RuntimeError:
                raise
            except Exception as exc:  # noqa: BLE001 - the tool refuses odd maps
                raise EventInputError(
                    graceid, _name(skymap_path), f"volume rendering failed: {exc}"
                ) from exc
        with open(tmp, "rb") as f:
            data = strip_png_text(f.read())
        with open(tmp, "wb") as f:
            f.write(data)
