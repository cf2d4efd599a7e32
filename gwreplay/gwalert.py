"""The preliminary IGWN alert (the JSON notice sent over Kafka to GCN and SCiMMA).

Mirrors gwcelery's ``gwcelery/tasks/alerts.py`` (``_create_base_alert_dict``
and ``_send``): the alert carries the superevent ID, the alert type, the
creation time, the GraceDB URLs and an ``event`` block with the time, FAR,
significance, instruments, group/pipeline/search, em_bright ``properties``,
p_astro ``classification``, burst ``duration``/``central_frequency`` and the
multi-order FITS sky map, base64-encoded as gwcelery's JSON encoder does. The
layout is that of the ``igwn-gwalert-schema`` package (``Alert.schema.json``),
against which every alert is validated before it is returned.

Replay differences: ``time_created`` comes from the replay clock instead of
``Time.now()``, and ``urls`` also holds ``skymap`` (the superevent's sky map
file), which ligo-followup-advocate reads to name the sky map in the Circular.
"""

import base64
import gzip
import io
import json
import os
import tempfile
from importlib import resources

from .atomic import write_json
from .errors import EventInputError
from .ids import validate_superevent_id
from .voevent import (
    gps_to_isot,
    gps_to_isot_seconds,
    has_coinc_inspiral,
    require,
    superevent_file_url,
    superevent_page_url,
)

#: Schema file of igwn-gwalert-schema describing the JSON form of an alert.
ALERT_SCHEMA = "igwn.alerts.Alert.schema.json"
#: gwcelery ``CUSTOM_EVENT_GROUP_TO_NOTICE_GROUP_MAP``: cWB's BBH search
#: uploads to the Burst group but is announced as CBC.
CUSTOM_EVENT_GROUP_TO_NOTICE_GROUP_MAP = {"Burst": {"BBH": "CBC"}}
_GZIP_MAGIC = b"\x1f\x8b"


def load_alert_schema():
    """Return the JSON schema of IGWN alerts shipped by igwn-gwalert-schema."""
    text = resources.files("igwn_gwalert_schema").joinpath(ALERT_SCHEMA).read_text()
    return json.loads(text)


def validate_gwalert(alert):
    """Raise :class:`jsonschema.ValidationError` unless ``alert`` fits the schema.

    Uses the package's Draft 2020-12 schema with format checking (formats
    whose checker library is not installed are skipped, as jsonschema does).
    """
    import jsonschema

    schema = load_alert_schema()
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator_class(schema, format_checker=validator_class.FORMAT_CHECKER).validate(
        alert
    )


# --- sky map --------------------------------------------------------------------


def _read_nonempty(path, superevent_id):
    """Bytes of ``path``; EventInputError if it is missing or empty."""
    name = os.path.basename(os.fspath(path))
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise EventInputError(superevent_id, name, "sky map missing") from None
    if not data:
        raise EventInputError(superevent_id, name, "sky map is empty")
    return data


def _fits_ordering(fits_bytes, superevent_id, name):
    """``ORDERING`` of the sky map table (HDU 1): NUNIQ, NESTED or RING."""
    from astropy.io import fits

    try:
        with fits.open(io.BytesIO(fits_bytes)) as hdus:
            return hdus[1].header.get("ORDERING", "")
    except (OSError, ValueError, IndexError, TypeError) as exc:
        raise EventInputError(
            superevent_id, name, f"not a FITS sky map: {exc}"
        ) from exc


def _flat_to_multiorder(fits_bytes, superevent_id, name):
    """Convert a flat HEALPix sky map to multi-order (NUNIQ) FITS bytes.

    :func:`ligo.skymap.io.fits.read_sky_map` with ``moc=True`` derasterizes
    a flat map (ligo.skymap's ``derasterize``) and keeps the header metadata;
    :func:`~ligo.skymap.io.fits.write_sky_map` writes it back out.
    """
    from ligo.skymap.io.fits import read_sky_map, write_sky_map

    with tempfile.TemporaryDirectory(prefix="gwreplay-skymap-") as tmpdir:
        flat = os.path.join(tmpdir, "flat.fits")
        with open(flat, "wb") as f:
            f.write(fits_bytes)
        try:
            table = read_sky_map(flat, moc=True)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise EventInputError(
                superevent_id, name, f"cannot read sky map: {exc}"
            ) from exc
        multiorder = os.path.join(tmpdir, "skymap.multiorder.fits")
        write_sky_map(multiorder, table)
        with open(multiorder, "rb") as f:
            return f.read()


def multiorder_fits_bytes(path, superevent_id="superevent"):
    """Return the sky map at ``path`` as uncompressed multi-order FITS bytes.

    Alerts carry multi-order FITS (``contentMediaType: application/fits``):
    a gzip file is decompressed, and a flat (RING/NESTED) map is converted.
    A multi-order file is passed through byte for byte, as gwcelery does
    with ``bayestar.multiorder.fits``.
    """
    name = os.path.basename(os.fspath(path))
    data = _read_nonempty(path, superevent_id)
    if data[:2] == _GZIP_MAGIC:
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise EventInputError(
                superevent_id, name, f"corrupt gzip stream: {exc}"
            ) from exc
    ordering = _fits_ordering(data, superevent_id, name)
    if ordering == "NUNIQ":
        return data
    if ordering in ("NESTED", "RING"):
        return _flat_to_multiorder(data, superevent_id, name)
    raise EventInputError(superevent_id, name, f"unknown HEALPix ORDERING {ordering!r}")


# --- alert ----------------------------------------------------------------------


def notice_group(event):
    """Group announced in the alert (cWB BBH events are announced as CBC)."""
    group = event["group"]
    return CUSTOM_EVENT_GROUP_TO_NOTICE_GROUP_MAP.get(group, {}).get(
        event.get("search"), group
    )


def burst_duration_and_frequency(event, event_id):
    """``(duration, central_frequency)`` of a burst, per pipeline as gwcelery.

    cWB and MLy report both; for oLIB the duration is Q / (2 pi f) from the
    LALInference burst quality and mean frequency.
    """
    import math

    extra = event.get("extra_attributes") or {}
    pipeline = str(event.get("pipeline", "")).lower()
    if pipeline == "cwb":
        attributes = extra.get("MultiBurst") or {}
        return attributes.get("duration"), attributes.get("central_freq")
    if pipeline == "mly":
        attributes = extra.get("MLyBurst") or {}
        return attributes.get("duration"), attributes.get("central_freq")
    if pipeline == "olib":
        attributes = extra.get("LalInferenceBurst") or {}
        quality = attributes.get("quality_mean")
        frequency = attributes.get("frequency_mean")
        if quality is None or not frequency:
            return None, frequency
        return quality / (2 * math.pi * frequency), frequency
    raise EventInputError(
        event_id,
        "event.json",
        f"duration and central frequency unknown for Burst pipeline {pipeline!r}",
    )


def _numbers(values, event_id, filename):
    """Copy of a {name: probability} dict with float values (schema: numbers)."""
    out = {}
    for key, value in (values or {}).items():
        try:
            out[str(key)] = float(value)
        except (TypeError, ValueError):
            raise EventInputError(
                event_id, filename, f"{key} is not a number: {value!r}"
            ) from None
    return out


def build_gwalert(
    superevent,
    preferred_event,
    skymap_path,
    source_classification,
    p_astro,
    notice_time,
    *,
    significant=True,
    alert_type="preliminary",
    gracedb_host,
    skymap_filename=None,
):
    """Return the IGWN alert dict of ``superevent``, valid against the schema.

    Parameters
    ----------
    superevent : dict
        GraceDB superevent JSON: ``superevent_id`` and ``t_0`` (event time).
    preferred_event : dict
        GraceDB JSON of the preferred event: far (the superevent's FAR is
        that of its preferred event), instruments, group, pipeline, search,
        extra_attributes.
    skymap_path : str or path
        Sky map of the superevent (FITS, optionally gzip; flat or multi-order).
    source_classification, p_astro : dict or None
        em_bright ``properties`` and p_astro ``classification``; None gives
        ``{}`` as in gwcelery (bursts).
    notice_time : float
        GPS time the alert is issued (replay clock): ``time_created``.
    significant : bool
        False for a less-significant alert (still of type PRELIMINARY).
    skymap_filename : str, optional
        Name of the sky map among the superevent's files, for
        ``urls.skymap``; defaults to the file name of ``skymap_path``.
    """
    superevent_id = validate_superevent_id(
        require(superevent, "superevent_id", "superevent", "superevent.json")
    )
    t_0 = require(superevent, "t_0", superevent_id, "superevent.json")
    event_id = require(preferred_event, "graceid", superevent_id, "event.json")
    for key in ("far", "instruments", "group", "pipeline"):
        require(preferred_event, key, event_id, "event.json")
    if skymap_filename is None:
        skymap_filename = os.path.basename(os.fspath(skymap_path))

    group = notice_group(preferred_event)
    duration = central_frequency = None
    if group == "Burst":
        duration, central_frequency = burst_duration_and_frequency(
            preferred_event, event_id
        )
    if has_coinc_inspiral(preferred_event) or group == "CBC":
        properties = _numbers(
            source_classification, event_id, "source_classification.json"
        )
        classification = _numbers(p_astro, event_id, "p_astro.json")
    else:
        properties = classification = {}
    skymap = multiorder_fits_bytes(skymap_path, superevent_id)

    alert = {
        "alert_type": str(alert_type).upper(),
        "time_created": gps_to_isot_seconds(notice_time),
        "superevent_id": superevent_id,
        "urls": {
            "gracedb": superevent_page_url(superevent_id, gracedb_host),
            "skymap": superevent_file_url(superevent_id, skymap_filename, gracedb_host),
        },
        "event": {
            "significant": bool(significant),
            "time": gps_to_isot(t_0) + "Z",
            "far": float(preferred_event["far"]),
            "instruments": sorted(str(preferred_event["instruments"]).split(",")),
            "group": group,
            "pipeline": preferred_event["pipeline"],
            "search": preferred_event.get("search") or "",
            "properties": properties,
            "classification": classification,
            "duration": None if duration is None else float(duration),
            "central_frequency": (
                None if central_frequency is None else float(central_frequency)
            ),
            "skymap": base64.b64encode(skymap).decode("ascii"),
        },
        "external_coinc": None,
    }
    validate_gwalert(alert)
    return alert


def write_gwalert(path, *args, **kwargs):
    """Build the alert (see :func:`build_gwalert`) and write it to ``path`` as
    canonical JSON (sorted keys), atomically. Returns the alert dict."""
    alert = build_gwalert(*args, **kwargs)
    write_json(path, alert)
    return alert


def build_retraction_gwalert(superevent, notice_time, *, gracedb_host):
    """The Retraction alert of ``superevent``: no event, no sky map.

    gwcelery 3.0.0 ``alerts._create_base_alert_dict`` returns the base dict
    (``alert_type``, ``time_created``, ``superevent_id``, ``urls.gracedb``,
    ``event`` and ``external_coinc`` null) for a retraction.
    """
    superevent_id = validate_superevent_id(
        require(superevent, "superevent_id", "superevent", "superevent.json")
    )
    alert = {
        "alert_type": "RETRACTION",
        "time_created": gps_to_isot_seconds(notice_time),
        "superevent_id": superevent_id,
        "urls": {"gracedb": superevent_page_url(superevent_id, gracedb_host)},
        "event": None,
        "external_coinc": None,
    }
    validate_gwalert(alert)
    return alert


def write_retraction_gwalert(path, *args, **kwargs):
    """:func:`build_retraction_gwalert`, written as :func:`write_gwalert` does."""
    alert = build_retraction_gwalert(*args, **kwargs)
    write_json(path, alert)
    return alert
