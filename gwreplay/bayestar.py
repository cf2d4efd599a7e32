"""BAYESTAR rapid localisation of one CBC event, as gwcelery's ``bayestar`` task.

gwcelery (``gwcelery/tasks/bayestar.py``) reads the event's coinc.xml and PSDs
with :mod:`ligo.skymap.io.events`, drops disabled detectors, runs
:func:`ligo.skymap.bayestar.localize` and writes a multi-order FITS file whose
``OBJECT`` is the GraceID. We do the same, except that every piece of metadata
that would depend on the wall clock or the command line is taken from the
replay instead, so that the same inputs give the same bytes.
"""

import logging
import os
import tempfile

from .atomic import gzip_bytes, write_bytes
from .errors import EventInputError
from .ligolw_io import open_event_source

log = logging.getLogger(__name__)

#: The settings of the ``bayestar`` rule's script (values: config/config.yaml).
CONFIG_KEYS = ("bayestar_disabled_detectors", "bayestar_waveform", "bayestar_f_low")
#: The settings of the ``bayestar`` rule's resources.
RESOURCE_KEYS = ("bayestar_threads", "bayestar_mem_mb", "bayestar_runtime_min")


#: The reduced-order-model data file of SEOBNRv4_ROM, which the o2-uberbank
#: criterion selects for templates of 4 Msun or more. It ships separately from
#: lalsuite (lalsuite-extra) and is often absent offline.
SEOBNRV4_ROM_DATA = "SEOBNRv4ROM_v2.0.hdf5"
#: Analytic stand-in for SEOBNRv4_ROM when its data file is missing: an
#: aligned-spin IMR phenomenological model that needs no data file.
OFFLINE_HIGH_MASS_WAVEFORM = "IMRPhenomD"


def rom_data_available():
    """Whether LAL can find the SEOBNRv4_ROM data file (on ``LAL_DATA_PATH``)."""
    for directory in os.environ.get("LAL_DATA_PATH", "").split(os.pathsep):
        if directory and os.path.exists(os.path.join(directory, SEOBNRV4_ROM_DATA)):
            return True
    return False


def choose_waveform(waveform, template_args):
    """The waveform BAYESTAR uses for this template, working offline.

    gwcelery's default, ``o2-uberbank``, means TaylorF2 below 4 Msun total
    mass and SEOBNRv4_ROM above. Without the ROM data file the high-mass
    branch cannot run, so it is replaced by IMRPhenomD; BAYESTAR only needs
    the template for the signal's autocorrelation and horizon distance, for
    which the two models agree closely.
    """
    if waveform != "o2-uberbank" or rom_data_available():
        return waveform
    total_mass = float(template_args["mass1"]) + float(template_args["mass2"])
    if total_mass < 4:
        return "TaylorF2threePointFivePN"
    log.warning(
        "%s not on LAL_DATA_PATH; using %s instead of SEOBNRv4_ROM",
        SEOBNRV4_ROM_DATA,
        OFFLINE_HIGH_MASS_WAVEFORM,
    )
    return OFFLINE_HIGH_MASS_WAVEFORM


class AllDetectorsDisabled(Exception):
    """Every detector of the event is disabled: gwcelery skips such an event."""


def _select_event(graceid, source, filename):
    """Return the one coincidence in ``source``; a coinc.xml holds exactly one."""
    try:
        events = list(source.values())
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad file
        raise EventInputError(graceid, filename, f"cannot read event: {exc}") from exc
    if len(events) != 1:
        raise EventInputError(
            graceid, filename, f"expected one coinc_event, found {len(events)}"
        )
    return events[0]


def load_event(graceid, coinc_path, psd_path=None, disabled_detectors=()):
    """Load the event of ``coinc_path`` with its PSDs, without disabled detectors.

    ``psd_path`` may be None when the pipeline embedded the PSDs in coinc.xml
    (as gstlal and MBTA do in O4). Raises :class:`AllDetectorsDisabled` when no
    detector is left, and :class:`EventInputError` for a broken file.
    """
    from ligo.skymap.io.events import detector_disabled

    source = open_event_source(graceid, coinc_path, psd_path)
    if disabled_detectors:
        source = detector_disabled.open(source, disabled_detectors, raises=False)
    event = _select_event(graceid, source, os.path.basename(coinc_path))
    try:
        singles = event.singles
        for single in singles:
            single.psd  # noqa: B018 - force the PSD read now, to blame the right file
            if not single.snr > 0:
                raise EventInputError(
                    graceid,
                    os.path.basename(coinc_path),
                    f"{single.detector} SNR is {single.snr!r}, not a positive number",
                )
    except EventInputError:
        raise
    except Exception as exc:  # noqa: BLE001
        blamed = os.path.basename(psd_path or coinc_path)
        raise EventInputError(graceid, blamed, f"cannot read PSD: {exc}") from exc
    if not singles:
        raise AllDetectorsDisabled(
            f"{graceid}: all detectors of this event are disabled "
            f"({' '.join(sorted(disabled_detectors))}); not localising"
        )
    return event


def localize(event, graceid, *, waveform, f_low):
    """Run BAYESTAR on ``event`` and stamp the sky map with replay metadata."""
    from ligo.skymap.bayestar import localize as bayestar_localize

    waveform = choose_waveform(waveform, event.template_args)
    try:
        skymap = bayestar_localize(event, waveform=waveform, f_low=f_low)
    except Exception as exc:  # noqa: BLE001 - BAYESTAR rejects malformed events
        raise EventInputError(graceid, "coinc.xml", f"BAYESTAR failed: {exc}") from exc
    skymap.meta["objid"] = graceid
    # Wall-clock and command-line metadata would break byte-identical reruns.
    skymap.meta.pop("runtime", None)
    skymap.meta.pop("gps_creation_time", None)
    skymap.meta["history"] = ["", f"Replayed by gwreplay for event {graceid}."]
    return skymap


def sky_map_bytes(skymap, creation_gps=None, compress=True):
    """Serialise a multi-order sky map to FITS bytes, reproducibly.

    ``creation_gps`` (replay clock) becomes the FITS ``DATE``. Gzipped for
    ``bayestar.fits.gz`` (2018, O3), whose gzip header carries no mtime,
    unlike astropy's own ``.gz`` writer; plain for O4's
    ``bayestar.multiorder.fits`` (``compress=False``), as gwcelery 3.0.0
    uploads it.
    """
    from ligo.skymap.io import fits

    if creation_gps is not None:
        skymap.meta["gps_creation_time"] = float(creation_gps)
    with tempfile.TemporaryDirectory() as tmpdir:
        path = os.path.join(tmpdir, "skymap.fits")
        fits.write_sky_map(path, skymap, moc=True)
        with open(path, "rb") as f:
            data = f.read()
    return gzip_bytes(data) if compress else data


def set_threads(threads):
    """Set ligo.skymap's OpenMP thread count (the rule's ``threads``)."""
    import ligo.skymap

    ligo.skymap.omp.num_threads = int(threads)


def localize_event(
    graceid,
    coinc_path,
    psd_path,
    out_path,
    *,
    bayestar_disabled_detectors,
    bayestar_waveform,
    bayestar_f_low,
    threads=1,
    creation_gps=None,
):
    """Localise one event and write its sky map atomically: gzipped when
    ``out_path`` ends in ``.gz`` (``bayestar.fits.gz``), else plain
    (``bayestar.multiorder.fits``).

    Returns False (and writes nothing) when all detectors are disabled, as
    gwcelery ignores such events; True otherwise.
    """
    set_threads(threads)
    try:
        event = load_event(graceid, coinc_path, psd_path, bayestar_disabled_detectors)
    except AllDetectorsDisabled as exc:
        log.warning("%s", exc)
        return False
    skymap = localize(event, graceid, waveform=bayestar_waveform, f_low=bayestar_f_low)
    compress = os.fspath(out_path).endswith(".gz")
    write_bytes(out_path, sky_map_bytes(skymap, creation_gps, compress=compress))
    return True
