"""Sky-map statistics as ``ligo-skymap-stats`` computes them, and the KS test.

The multi-order sky map is read with ``read_sky_map(moc=True)`` and passed
with the true position to :func:`ligo.skymap.postprocess.crossmatch.crossmatch`
(ligo.skymap, ``ligo/skymap/tool/ligo_skymap_stats.py``); the columns keep
the tool's names. Singer & Price 2016 (PRD 93, 024013, sect. IV) for the
searched-area and P-P diagnostics.
"""

import math
import os

#: Credible levels (percent) whose areas, distance widths and volumes are tabulated.
report_contours = (50, 90)


def contour_columns(contours=report_contours):
    """Column names of ligo-skymap-stats for the credible levels ``contours``."""
    return (
        [f"area({p:g})" for p in contours],
        [f"dist({p:g})" for p in contours],
        [f"vol({p:g})" for p in contours],
    )


def read_skymap(path):
    """The multi-order sky map at ``path`` (flat maps converted), as the tool."""
    from ligo.skymap.io import fits

    return fits.read_sky_map(os.fspath(path), moc=True)


def skymap_statistics(
    skymap, ra=None, dec=None, distance=None, contours=report_contours
):
    """ligo-skymap-stats columns of one sky map and (optionally) a true position.

    ``skymap`` is a path or a table from :func:`read_skymap`; ``ra``/``dec``
    in radians, ``distance`` in Mpc. Without a position only the credible
    areas and the header's distance moments are computed: the 3-D volume
    grid of crossmatch (pixels x 1000 distances) is built only when there is
    a true position to place in it. Areas in deg², angles in degrees,
    volumes in Mpc³, probabilities between 0 and 1.
    """
    import numpy as np
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from ligo.skymap.postprocess.crossmatch import crossmatch

    if not hasattr(skymap, "colnames"):
        skymap = read_skymap(skymap)
    coordinates = None
    if ra is not None and dec is not None:
        if distance is not None and distance > 0:
            coordinates = SkyCoord(ra * u.rad, dec * u.rad, distance * u.Mpc)
        else:
            coordinates = SkyCoord(ra * u.rad, dec * u.rad)
    else:
        skymap = skymap[["UNIQ", "PROBDENSITY"]]
    result = crossmatch(
        skymap, coordinates, contours=0.01 * np.asarray(contours, dtype=float)
    )
    area_names, dist_names, vol_names = contour_columns(contours)
    row = {
        "searched_area": result.searched_area,
        "searched_prob": result.searched_prob,
        "searched_prob_dist": result.searched_prob_dist,
        "searched_vol": result.searched_vol,
        "searched_prob_vol": result.searched_prob_vol,
        "offset": result.offset,
    }
    row.update(zip(area_names, result.contour_areas, strict=True))
    row.update(zip(dist_names, result.contour_dists, strict=True))
    row.update(zip(vol_names, result.contour_vols, strict=True))
    row["distmean"] = skymap.meta.get("distmean", np.nan)
    row["diststd"] = skymap.meta.get("diststd", np.nan)
    return {key: _float_or_nan(value) for key, value in row.items()}


def _float_or_nan(value):
    import numpy as np

    value = np.asarray(value, dtype=float)
    return float(value.item()) if value.size == 1 else float("nan")


def ks_uniform(values):
    """Kolmogorov-Smirnov test of ``values`` against U(0, 1): (statistic, p)."""
    from scipy import stats

    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    result = stats.kstest(values, "uniform")
    return float(result.statistic), float(result.pvalue)


#: Errors of reading or scoring one sky map that the report notes and skips.
SKYMAP_ERRORS = (OSError, ValueError, KeyError, TypeError, EOFError)


def statistics_or_error(path, ra=None, dec=None, distance=None):
    """(:func:`skymap_statistics` row, None), or (None, the error as text).

    Module-level so that :func:`progress_map` can send it to worker
    processes; a broken map is the report's note, not its end.
    """
    try:
        return skymap_statistics(path, ra, dec, distance), None
    except SKYMAP_ERRORS as exc:
        return None, str(exc)


def map_statistics(tasks, *, jobs=1, quiet=False, desc="sky maps"):
    """:func:`statistics_or_error` of every ``(path, ra, dec, distance)`` task.

    Runs through ligo.skymap's ``progress_map`` (a tqdm bar, ``jobs``
    processes), as ``ligo-skymap-stats -j`` does; results come back in the
    order of ``tasks``. The bar is off with ``quiet`` and, as tqdm does by
    default, when stderr is not a terminal.
    """
    from ligo.skymap.util.progress import progress_map

    tasks = list(tasks)
    if not tasks:
        return []
    return list(
        progress_map(
            statistics_or_error,
            *zip(*tasks, strict=True),
            jobs=jobs,
            desc=desc,
            unit="map",
            disable=True if quiet else None,
        )
    )
