"""Checks of the files O4 pipelines upload, before any product is made of them.

In O4 the search pipelines upload their own source classification and sky
maps, and gwcelery 3.0.0 forwards them: a pipeline's ``<pipeline>.p_astro.json``
becomes the alert's ``classification`` unchanged (``tasks/alerts.py``), is read
class by class for the RRT labels (``tasks/rrt_utils.py``: BNS, NSBH,
Terrestrial) and is drawn by ``tasks/p_astro.py``'s ``plot``; the pipeline's
``*.multiorder.fits`` is flattened and plotted (``tasks/skymaps.py``). gwcelery
trusts these files; a replay meets broken ones. Each function here reads one
upload, refuses a bad one with :class:`~gwreplay.errors.EventInputError`
(``"<graceid>: <file>: <reason>"``) and returns its content.

What is accepted:

* p_astro: the four O4 classes of gwcelery's own ``compute_p_astro`` (BNS,
  NSBH, BBH, Terrestrial), no more and no fewer (igwn-gwalert-schema's
  ``classification`` is a free map of doubles, so the schema would not catch
  a stray class: it would reach the alert), each a finite number >= 0, summing
  to 1 within :data:`P_ASTRO_SUM_TOLERANCE`. JSON's non-standard ``NaN`` and
  ``Infinity`` (which :func:`json.loads` takes by default) and duplicate keys
  are refused.
* em_bright: HasNS and HasMassGap, and HasRemnant (AllSky) or HasSSM (SSM
  search), each a probability in [0, 1].
* multi-order sky map: a NUNIQ-ordered HEALPix table read by
  :func:`ligo.skymap.io.read_sky_map` with valid UNIQ indices (order 0..29),
  pixels that neither overlap nor leave gaps (checked exactly, at
  ligo.skymap's finest order), areas adding up to 4 pi, and a finite,
  non-negative PROBDENSITY with some probability in it.
"""

import json
import math
import os

from .errors import EventInputError

#: The classes of an O4 p_astro.json (gwcelery 3.0.0 tasks/p_astro.py).
P_ASTRO_CLASSES = ("BNS", "NSBH", "BBH", "Terrestrial")
#: How far the p_astro probabilities may sum from 1.
P_ASTRO_SUM_TOLERANCE = 1e-3
#: em_bright.json keys every search gives, and those one of the searches adds
#: (gwcelery 3.0.0 tasks/em_bright.py: AllSky adds HasRemnant, SSM HasSSM).
EM_BRIGHT_REQUIRED = ("HasNS", "HasMassGap")
EM_BRIGHT_OPTIONAL = ("HasRemnant", "HasSSM")
#: Largest JSON upload read: a classification is a few hundred bytes.
MAX_JSON_BYTES = 1 << 20
#: The relative tolerance on the sum of the pixel areas (4 pi).
AREA_RTOL = 1e-9


def _name(path):
    return os.path.basename(os.fspath(path))


def _read_upload(graceid, path, limit=None):
    """The bytes of an upload; missing, empty or oversized files are refused."""
    name = _name(path)
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        raise EventInputError(graceid, name, "file missing") from None
    if size == 0:
        raise EventInputError(graceid, name, "file is empty")
    if limit is not None and size > limit:
        raise EventInputError(
            graceid, name, f"file is {size} bytes, more than {limit} for a JSON upload"
        )
    with open(path, "rb") as f:
        return f.read()


def _refuse_constant(constant):
    raise ValueError(f"{constant} is not a JSON number")


def _unique_keys(pairs):
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def load_strict_json(graceid, path):
    """Parse the JSON upload ``path`` strictly: UTF-8, no NaN or Infinity,
    no duplicate keys. Returns the parsed value."""
    data = _read_upload(graceid, path, MAX_JSON_BYTES)
    try:
        return json.loads(
            data.decode("utf-8"),
            parse_constant=_refuse_constant,
            object_pairs_hook=_unique_keys,
        )
    except UnicodeDecodeError as exc:
        raise EventInputError(graceid, _name(path), f"not UTF-8 text: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise EventInputError(graceid, _name(path), f"not valid JSON: {exc}") from exc


def _probabilities(graceid, name, obj, required, optional=(), upper=None):
    """Check ``obj`` is an object of finite numbers >= 0 (<= ``upper``) with
    the ``required`` keys and maybe some ``optional`` ones; return a float dict."""
    if not isinstance(obj, dict):
        raise EventInputError(
            graceid, name, f"expected a JSON object, found {type(obj).__name__}"
        )
    missing = [key for key in required if key not in obj]
    if missing:
        raise EventInputError(graceid, name, f"missing classes: {', '.join(missing)}")
    unexpected = sorted(set(obj) - set(required) - set(optional))
    if unexpected:
        raise EventInputError(
            graceid, name, f"unexpected classes: {', '.join(map(repr, unexpected))}"
        )
    values = {}
    for key, value in obj.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise EventInputError(graceid, name, f"{key} is {value!r}, not a number")
        value = float(value)
        if not math.isfinite(value):
            raise EventInputError(graceid, name, f"{key} is {value!r}, not finite")
        if value < 0 or (upper is not None and value > upper):
            bounds = f"in [0, {upper:g}]" if upper is not None else ">= 0"
            raise EventInputError(graceid, name, f"{key} is {value!r}, not {bounds}")
        values[key] = value
    return values


def validate_p_astro(graceid, path):
    """Check a pipeline's ``p_astro.json`` / ``<pipeline>.p_astro.json``.

    Returns ``{class: probability}`` (floats) for exactly the classes of
    :data:`P_ASTRO_CLASSES`, in the file's order.
    """
    name = _name(path)
    obj = load_strict_json(graceid, path)
    values = _probabilities(graceid, name, obj, P_ASTRO_CLASSES)
    total = math.fsum(values.values())
    if abs(total - 1) > P_ASTRO_SUM_TOLERANCE:
        raise EventInputError(
            graceid,
            name,
            f"probabilities sum to {total:.6g}, not 1 "
            f"(tolerance {P_ASTRO_SUM_TOLERANCE:g})",
        )
    return values


def validate_em_bright(graceid, path):
    """Check an ``em_bright.json``; returns ``{property: probability}``."""
    obj = load_strict_json(graceid, path)
    return _probabilities(
        graceid, _name(path), obj, EM_BRIGHT_REQUIRED, EM_BRIGHT_OPTIONAL, upper=1
    )


def _check_ordering(graceid, name, hdus):
    if len(hdus) < 2:
        raise EventInputError(graceid, name, "no HEALPix table extension")
    ordering = hdus[1].header.get("ORDERING")
    if ordering != "NUNIQ":
        raise EventInputError(
            graceid, name, f"ORDERING is {ordering!r}, not 'NUNIQ' (multi-order)"
        )


def read_multiorder(graceid, path):
    """Read a multi-order FITS sky map with ligo.skymap; unreadable files and
    files that are not NUNIQ-ordered are refused. No content checks."""
    from astropy.io import fits
    from ligo.skymap.io import read_sky_map

    name = _name(path)
    _read_upload(graceid, path)  # missing / empty
    try:
        with fits.open(os.fspath(path)) as hdus:
            _check_ordering(graceid, name, hdus)
            return read_sky_map(hdus, moc=True)
    except EventInputError:
        raise
    except Exception as exc:  # noqa: BLE001 - astropy raises many kinds
        raise EventInputError(graceid, name, f"cannot read sky map: {exc}") from exc


def check_uniq(graceid, name, uniq):
    """Check UNIQ indices: integers >= 4 of HEALPix orders 0..29 whose pixels
    tile the sphere exactly once. Returns the orders."""
    import numpy as np
    from ligo.skymap import moc
    from ligo.skymap.healpix_tree import HEALPIX_MACHINE_ORDER

    uniq = np.asarray(uniq)
    if uniq.ndim != 1 or len(uniq) == 0:
        raise EventInputError(graceid, name, "UNIQ is empty")
    if uniq.dtype.kind not in "iu":
        raise EventInputError(graceid, name, f"UNIQ has type {uniq.dtype}, not integer")
    low = uniq < 4
    if low.any():
        raise EventInputError(
            graceid, name, f"UNIQ {uniq[low][0]} < 4 is not a HEALPix index"
        )
    # Order o holds UNIQ 4**(o + 1) .. 4**(o + 2) - 1: compare before any cast.
    high = uniq >= 4 ** (HEALPIX_MACHINE_ORDER + 2)
    if high.any():
        value = int(uniq[high][0])
        raise EventInputError(
            graceid,
            name,
            f"UNIQ {value} has order {(value.bit_length() - 3) // 2}, "
            f"above {HEALPIX_MACHINE_ORDER}",
        )
    uniq = uniq.astype(np.int64)
    order = moc.uniq2order(uniq).astype(np.int64)
    # Each pixel as a range of NESTED indices at the finest order: sorted, the
    # ranges must follow one another from 0 to the last pixel of the sky.
    _, ipix = moc.uniq2nest(uniq)
    shift = 2 * (HEALPIX_MACHINE_ORDER - order)
    start = ipix.astype(np.int64) << shift
    stop = (ipix.astype(np.int64) + 1) << shift
    sorter = np.argsort(start, kind="stable")
    start, stop, sorted_uniq = start[sorter], stop[sorter], uniq[sorter]
    npix = 12 * 4**HEALPIX_MACHINE_ORDER
    overlap = np.flatnonzero(start[1:] < stop[:-1])
    if overlap.size:
        i = overlap[0]
        raise EventInputError(
            graceid,
            name,
            f"pixels overlap: UNIQ {sorted_uniq[i]} and {sorted_uniq[i + 1]}",
        )
    gap = np.flatnonzero(start[1:] > stop[:-1])
    if start[0] != 0 or gap.size or stop[-1] != npix:
        where = (
            "before the first pixel"
            if start[0] != 0
            else f"after UNIQ {sorted_uniq[gap[0]]}"
            if gap.size
            else "after the last pixel"
        )
        raise EventInputError(
            graceid, name, f"pixels do not cover the sky: a gap {where}"
        )
    area = math.fsum(moc.uniq2pixarea(uniq))
    if not math.isclose(area, 4 * math.pi, rel_tol=AREA_RTOL):
        raise EventInputError(
            graceid, name, f"pixel areas sum to {area!r} sr, not 4 pi"
        )
    return order


def validate_multiorder(graceid, path):
    """Check a multi-order FITS sky map (``bayestar.multiorder.fits``, a burst
    pipeline's ``*.multiorder.fits``); returns the table ligo.skymap read."""
    import numpy as np
    from ligo.skymap import moc

    name = _name(path)
    table = read_multiorder(graceid, path)
    for column in ("UNIQ", "PROBDENSITY"):
        if column not in table.colnames:
            raise EventInputError(graceid, name, f"no {column} column")
    check_uniq(graceid, name, table["UNIQ"])
    density = np.asarray(table["PROBDENSITY"], dtype=float)
    bad = ~np.isfinite(density)
    if bad.any():
        raise EventInputError(
            graceid,
            name,
            f"PROBDENSITY is {float(density[bad][0])!r} at UNIQ "
            f"{table['UNIQ'][bad][0]}, not finite",
        )
    negative = density < 0
    if negative.any():
        raise EventInputError(
            graceid,
            name,
            f"PROBDENSITY is {float(density[negative][0])!r} at UNIQ "
            f"{table['UNIQ'][negative][0]}, negative",
        )
    total = math.fsum(density * moc.uniq2pixarea(np.asarray(table["UNIQ"])))
    if not total > 0:
        raise EventInputError(graceid, name, "sky map holds no probability")
    return table
