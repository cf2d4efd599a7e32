"""The event store: a GraceDB-shaped directory of candidate events.

:func:`load_store` reads every ``events/<GraceID>/event.json`` once and returns
an in-memory table of events, the way :mod:`ligo.skymap.io.events` sources
return a mapping of events. It lists each event folder once with
:func:`os.scandir` and parses only the small JSON files, so planning a replay
of 10^4 events costs well under a second. Invalid events are not dropped
silently: they are kept in :attr:`Store.problems` with the reason, so the run
can fail those events' jobs and list them in ``failures.csv``.

See ``docs/store.md`` for the layout.
"""

import json
import math
import os
from dataclasses import dataclass, field

from .errors import EventInputError, InvalidIdError, StoreError
from .ids import validate_graceid, validate_superevent_id
from .products import BURST_SKYMAPS, EVENT_UPLOADS, is_cbc_event  # noqa: F401

#: Pipelines gwreplay knows how to annotate, by GraceDB group.
#: MBTAOnline in O2/O3, MBTA in O4 (gwcelery 3.0.0's name); SGNL and aframe
#: (CBC) and MLy (Burst) are O4 searches (gwcelery 3.0.0's igwn-alert topics).
_CBC_PIPELINES = {"gstlal", "pycbc", "MBTAOnline", "MBTA", "spiir", "SGNL", "aframe"}
_BURST_PIPELINES = {"CWB", "oLIB", "MLy"}
KNOWN_PIPELINES = {
    "CBC": _CBC_PIPELINES,
    "Burst": _BURST_PIPELINES,
    "Test": _CBC_PIPELINES | _BURST_PIPELINES,
}

REQUIRED_KEYS = {
    "graceid": str,
    "pipeline": str,
    "group": str,
    "gpstime": (int, float),
    "far": (int, float),
    "instruments": str,
    "created": (int, float, str),
}

#: A superevent's ADV sign-offs (docs/store.md).
SIGNOFFS = "signoffs.json"
#: The uploads the loader lists per event (the products table owns them).
EVENT_FILES = EVENT_UPLOADS


def iso_to_gps(text):
    """Convert an ISO 8601 UTC time (as GraceDB writes ``created``) to GPS seconds."""
    from astropy.time import Time

    text = text.strip().replace(" UTC", "").replace("Z", "")
    return float(Time(text, format="isot" if "T" in text else "iso", scale="utc").gps)


def normalise_time(value):
    """Return a GPS time from a GPS number or an ISO UTC string."""
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return iso_to_gps(value)
    return float(value)


@dataclass
class Store:
    """The events of a store, keyed by GraceID, and what was wrong with the rest."""

    root: str
    events: dict = field(default_factory=dict)
    superevents: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)
    #: ``{SID: path}`` of the superevents' ``signoffs.json`` (docs/store.md),
    #: read by the superevent's own job so that a bad one fails only it.
    signoffs: dict = field(default_factory=dict)

    def event_dir(self, graceid):
        """Folder of one event in the store."""
        return os.path.join(self.root, "events", graceid)

    def event_file(self, graceid, filename):
        """Path of one upload of one event."""
        return os.path.join(self.root, "events", graceid, filename)


def _check_types(graceid, data):
    for key, types in REQUIRED_KEYS.items():
        if key not in data:
            raise EventInputError(graceid, "event.json", f"missing key {key!r}")
        if isinstance(data[key], bool) or not isinstance(data[key], types):
            raise EventInputError(
                graceid,
                "event.json",
                f"key {key!r} has type {type(data[key]).__name__}",
            )
    for key in ("gpstime", "far"):
        if not math.isfinite(data[key]) or data[key] < 0:
            raise EventInputError(
                graceid, "event.json", f"key {key!r} is {data[key]!r}"
            )


def validate_event(graceid, data, present_files):
    """Check one event's JSON and return it normalised for the replay.

    Adds ``created`` as GPS, ``upload_times`` (filename -> GPS; files with no
    log entry count as uploaded with the event) and ``files`` (uploads present).
    """
    if not isinstance(data, dict):
        raise EventInputError(graceid, "event.json", "not a JSON object")
    _check_types(graceid, data)
    if data["graceid"] != graceid:
        raise EventInputError(
            graceid,
            "event.json",
            f"graceid {data['graceid']!r} does not match its folder",
        )
    group, pipeline = data["group"], data["pipeline"]
    if group not in KNOWN_PIPELINES:
        raise EventInputError(graceid, "event.json", f"unknown group {group!r}")
    if pipeline not in KNOWN_PIPELINES[group]:
        raise EventInputError(
            graceid, "event.json", f"unknown pipeline {pipeline!r} for group {group}"
        )
    event = dict(data)
    event.setdefault("search", "AllSky")
    event.setdefault("extra_attributes", {})
    try:
        event["created"] = normalise_time(data["created"])
        upload_times = {
            entry["filename"]: normalise_time(entry["created"])
            for entry in data.get("uploads", [])
        }
    except (KeyError, TypeError, ValueError) as exc:
        raise EventInputError(graceid, "event.json", f"bad upload time: {exc}") from exc
    event["upload_times"] = {
        name: max(upload_times.get(name, event["created"]), event["created"])
        for name in present_files
    }
    event["files"] = sorted(present_files)
    _check_manager_fields(graceid, event)
    return event


def _check_manager_fields(graceid, event):
    """Refuse an event that the superevent manager could not rank or place.

    The manager (:func:`gwreplay.superevents.form_superevents`) runs at plan
    time over every event at once, so an event lacking what it reads (a
    cWB ``MultiBurst.duration``, a CBC ``CoincInspiral.snr``, a well-formed
    ``extra_attributes``) must be refused here, as one event's problem,
    rather than abort the plan of the whole replay.
    """
    from .superevents import check_manager_fields

    if not isinstance(event["extra_attributes"], dict):
        raise EventInputError(
            graceid, "event.json", "extra_attributes is not an object"
        )
    try:
        check_manager_fields(event)
    except EventInputError as exc:
        raise EventInputError(graceid, "event.json", exc.reason) from exc
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise EventInputError(
            graceid, "event.json", f"unusable by the superevent manager: {exc!r}"
        ) from exc


def _read_event(store_root, graceid):
    folder = os.path.join(store_root, "events", graceid)
    # One listing per folder, not a stat per known upload name (17 of them:
    # about 40 % of loading a store, docs/benchmarks.md); exists() then only
    # for the names listed, which a dangling symlink still fails.
    try:
        names = set(os.listdir(folder))
    except OSError:
        names = set()
    present = [
        name
        for name in EVENT_FILES
        if name in names and os.path.exists(os.path.join(folder, name))
    ]
    path = os.path.join(folder, "event.json")
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise EventInputError(graceid, "event.json", "file is missing") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise EventInputError(graceid, "event.json", f"not UTF-8: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise EventInputError(graceid, "event.json", f"not JSON: {exc}") from exc
    return validate_event(graceid, data, present)


def _read_superevents(store_root, problems, signoffs_found):
    """Superevents the store supplies (GraceDB JSON), as manager records.

    ``signoffs_found`` gets the path of every superevent's ``signoffs.json``;
    a folder may hold only that, for a superevent the manager forms.
    """
    from .superevents import superevent_record

    superevents = {}
    folder = os.path.join(store_root, "superevents")
    if not os.path.isdir(folder):
        return superevents
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        try:
            sid = validate_superevent_id(entry.name)
            record = os.path.join(entry.path, "superevent.json")
            signoffs = os.path.join(entry.path, SIGNOFFS)
            if os.path.exists(signoffs):
                signoffs_found[sid] = signoffs
                if not os.path.exists(record):
                    continue  # sign-offs of a superevent the manager forms
            with open(record, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
            superevents[sid] = superevent_record(sid, data)
        except InvalidIdError as exc:
            problems.append((entry.name, "superevent.json", str(exc)))
        except EventInputError as exc:
            problems.append((exc.event_id, exc.filename, exc.reason))
        except (OSError, ValueError) as exc:
            problems.append((entry.name, "superevent.json", str(exc)))
    return superevents


def load_store(root, known=None):
    """Load a store into a :class:`Store` table (valid events and problems).

    ``known``: ``{GraceID: event}`` of event folders known to be unchanged
    since they were read (:func:`gwreplay.plan.cached_plan`), taken as they
    are instead of being read again.
    """
    root = os.path.abspath(os.fspath(root))
    events_dir = os.path.join(root, "events")
    if not os.path.isdir(events_dir):
        raise StoreError(f"{root}: not an event store (no events/ folder)")
    store = Store(root=root)
    for entry in sorted(os.scandir(events_dir), key=lambda e: e.name):
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            graceid = validate_graceid(entry.name)
            if known and graceid in known:
                store.events[graceid] = known[graceid]
            else:
                store.events[graceid] = _read_event(root, graceid)
        except InvalidIdError as exc:
            store.problems.append((entry.name, "event.json", str(exc)))
        except EventInputError as exc:
            store.problems.append((exc.event_id, exc.filename, exc.reason))
    store.superevents = _read_superevents(root, store.problems, store.signoffs)
    return store


def load_event_json(path):
    """Load and validate one ``event.json`` (folder name = GraceID)."""
    graceid = validate_graceid(os.path.basename(os.path.dirname(os.path.abspath(path))))
    return _read_event(
        os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(path)))),
        graceid,
    )
