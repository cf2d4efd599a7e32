"""Replay of gwcelery's superevent manager.

gwcelery (``gwcelery.tasks.superevents``) groups the candidates that the search
pipelines upload to GraceDB into *superevents*: one per astrophysical trigger
time, with one *preferred event* that the orchestrator uses for the alert.
This module replays that bookkeeping offline, on the replay clock:

* Events are processed one at a time in upload order (``created``; ties are
  broken by GraceDB ID, numerically, so ``G9`` precedes ``G10``), as gwcelery's
  single-worker ``superevent`` queue does.
* An event whose FAR exceeds ``superevent_far_threshold`` (or that has no FAR)
  is ignored, as in ``gwcelery.tasks.superevents.handle``.
* Each event has a time segment ``[t_0 - d_t_start, t_0 + d_t_end]``
  (:func:`get_ts`). It joins the most recently created superevent of its
  category whose ``t_0`` lies within ``superevent_query_d_t_start/end`` of the
  event time (GraceDB's superevent query, newest first) and whose window
  strictly intersects the event segment (``ligo.segments`` semantics); the
  window becomes the hull of both. Otherwise it opens a new superevent.
* A joining event becomes preferred when :func:`keyfunc` ranks it better
  than the current preferred event (gwcelery's ``_update_superevent``):
  publishable events first (:func:`should_publish`), then CBC before burst,
  then the higher network SNR (CBC) or the lower FAR (burst). The
  superevent's ``t_0`` follows the preferred event, as gwcelery has set it
  since O3b.
* Superevent IDs follow GraceDB (``gracedb/superevents/models.py``): prefix
  ``S`` / ``MS`` / ``TS`` by category, the UTC date of ``t_0`` when the
  superevent is created, and a letter suffix counting the superevents created
  for that date and category (1 -> ``a``, 26 -> ``z``, 27 -> ``aa``).

For each superevent the replay records the state the orchestrator saw when
its ``orchestrator_timeout`` expired (``preferred_event``, ``t_0``,
``t_start``, ``t_end``) and the state after all uploads
(``final_preferred_event``, ``gw_events``).

The ranking is gwcelery's O3 ``keyfunc``, matching the O3 configuration
values used here. Later gwcelery versions put completeness of the data
products and a per-search preference first; neither applies to a replay in
which every event gets its products. The ``EM_Selected`` freeze is not
modelled: the orchestrator timeout plays its role.
"""

import datetime
import json
import math
import os
import re

import lal
from igwn_segments import segment

from .errors import EventInputError
from .ids import validate_graceid, validate_superevent_id

# Settings are keyword-only arguments; their defaults (gwcelery's values)
# live in config/config.yaml alone (gwreplay.config).

#: The time windows of the manager: an event's segment and the t_0 query.
WINDOW_KEYS = (
    "superevent_d_t_start",
    "superevent_d_t_end",
    "superevent_default_d_t_start",
    "superevent_default_d_t_end",
    "superevent_query_d_t_start",
    "superevent_query_d_t_end",
)
#: The configuration keys this module reads (:func:`form_superevents`).
CONFIG_KEYS = (
    "superevent_far_threshold",
    "orchestrator_timeout",
    *WINDOW_KEYS,
    "preliminary_alert_far_threshold",
    "preliminary_alert_trials_factor",
)

#: GraceDB's superevent ID prefix per category.
CATEGORY_PREFIX = {"production": "S", "mdc": "MS", "test": "TS"}

_GRACEID_PARTS = re.compile(r"\A([A-Z]+)([0-9]+)\Z")


# --------------------------------------------------------------------------
# Small helpers shared with other modules.
# --------------------------------------------------------------------------


def graceid_sort_key(graceid):
    """Sort key for GraceDB IDs: prefix, then the number as a number.

    GraceDB numbers events in upload order, so ``G9`` comes before ``G10``.
    """
    match = _GRACEID_PARTS.match(graceid)
    if match is None:
        return (graceid, -1)
    return (match.group(1), int(match.group(2)))


def int_to_letters(number):
    """GraceDB's superevent suffix for the ``number``-th superevent of a day.

    Bijective base 26 as in GraceDB's ``core.utils.int_to_letters``:
    1 -> ``a``, 26 -> ``z``, 27 -> ``aa``, 702 -> ``zz``, 703 -> ``aaa``.
    """
    if number < 1:
        raise ValueError(f"superevent number must be positive, not {number}")
    letters = ""
    while number:
        number, remainder = divmod(number - 1, 26)
        letters = chr(ord("a") + remainder) + letters
    return letters


def gps_to_utc_date(gps):
    """UTC calendar date of GPS time ``gps``, with leap seconds (via LAL).

    A time inside a leap second (23:59:60) belongs to the day that ends with it.
    """
    year, month, day = lal.GPSToUTC(int(math.floor(gps)))[:3]
    return datetime.date(year, month, day)


def utc_to_gps(text):
    """GPS seconds of an ISO 8601 UTC time string as GraceDB writes them.

    Accepts ``2018-06-16 17:35:13 UTC``, ``2018-06-16T17:35:13.5Z`` and
    explicit offsets. Leap seconds are handled by LAL.
    """
    cleaned = text.strip()
    if cleaned.endswith(" UTC"):
        cleaned = cleaned[:-4]
    if cleaned.endswith("Z"):
        cleaned = cleaned[:-1] + "+00:00"
    moment = datetime.datetime.fromisoformat(cleaned)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return lal.UTCToGPS(moment.timetuple()) + moment.microsecond / 1e6


def superevent_id(category, t_0, number):
    """GraceDB superevent ID for the ``number``-th superevent of its day.

    ``S``/``MS``/``TS`` prefix by category, ``%y%m%d`` UTC date of ``t_0``,
    letter suffix from :func:`int_to_letters`.
    """
    date = gps_to_utc_date(t_0)
    return CATEGORY_PREFIX[category] + date.strftime("%y%m%d") + int_to_letters(number)


# --------------------------------------------------------------------------
# Event properties, after gwcelery.tasks.superevents.
# --------------------------------------------------------------------------


def _attribute(event, table, name):
    """``event['extra_attributes'][table][name]`` or an EventInputError."""
    try:
        value = event["extra_attributes"][table][name]
    except (KeyError, TypeError):
        value = None
    if value is None:
        raise EventInputError(
            event.get("graceid", "?"),
            "event.json",
            f"missing extra_attributes.{table}.{name}",
        )
    return value


def _number(event, value, what):
    """``value`` as a finite float, or an EventInputError naming ``what``."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        raise EventInputError(
            event.get("graceid", "?"), "event.json", f"{what} is not a number"
        )
    return number


def get_category(event):
    """Superevent category of an event: ``production``, ``mdc`` or ``test``.

    GraceDB decides (``Event.is_test``/``is_mdc``): group ``Test`` makes a test
    event (GraceDB gives it a ``T`` ID) even when its search is MDC; search
    ``MDC`` otherwise makes an MDC event (``M`` ID). gwcelery's
    ``get_category`` agrees except for the Test+MDC corner, where GraceDB
    would refuse the superevent gwcelery asks for. The ID prefix is used as
    well, for event JSON lacking the group or search.
    """
    graceid = event.get("graceid", "")
    if event.get("group") == "Test" or graceid.startswith("T"):
        return "test"
    if event.get("search") == "MDC" or graceid.startswith("M"):
        return "mdc"
    return "production"


def _lookup(per_pipeline, pipeline, default):
    """``per_pipeline[pipeline]`` with keys compared case-insensitively."""
    for key, value in per_pipeline.items():
        if key.lower() == pipeline:
            return value
    return default


def get_ts(
    event,
    *,
    superevent_d_t_start,
    superevent_d_t_end,
    superevent_default_d_t_start,
    superevent_default_d_t_end,
):
    """Return ``(t_0, t_start, t_end)`` of an event's superevent segment.

    As gwcelery's ``get_ts``: cWB uses ``MultiBurst.duration`` on both sides,
    oLIB the ratio ``LalInferenceBurst.quality_mean / frequency_mean``, and all
    other pipelines the per-pipeline ``superevent_d_t_start/end`` (1 s).
    """
    t_0 = _number(event, event.get("gpstime"), "gpstime")
    pipeline = str(event.get("pipeline", "")).lower()
    if pipeline == "cwb":
        d_t_start = d_t_end = _number(
            event, _attribute(event, "MultiBurst", "duration"), "duration"
        )
    elif pipeline in ("olib", "lib"):
        quality = _number(
            event,
            _attribute(event, "LalInferenceBurst", "quality_mean"),
            "quality_mean",
        )
        frequency = _number(
            event,
            _attribute(event, "LalInferenceBurst", "frequency_mean"),
            "frequency_mean",
        )
        if frequency == 0:
            raise EventInputError(
                event.get("graceid", "?"), "event.json", "frequency_mean is zero"
            )
        d_t_start = d_t_end = quality / frequency
    else:
        d_t_start = _lookup(
            superevent_d_t_start, pipeline, superevent_default_d_t_start
        )
        d_t_end = _lookup(superevent_d_t_end, pipeline, superevent_default_d_t_end)
    return t_0, t_0 - d_t_start, t_0 + d_t_end


def get_instruments(event):
    """Detectors that contributed to the ranking statistic of an event.

    As gwcelery (O3): the SingleInspiral records with a chi-squared value when
    the event has them, else the comma-separated ``instruments``.
    """
    extra = event.get("extra_attributes") or {}
    if "SingleInspiral" in extra:
        return {
            single.get("ifo")
            for single in extra["SingleInspiral"] or ()
            if single.get("chisq") is not None
        }
    return {ifo for ifo in str(event.get("instruments") or "").split(",") if ifo}


def should_publish(
    event,
    *,
    preliminary_alert_far_threshold,
    preliminary_alert_trials_factor,
):
    """Whether an event qualifies for a public alert, as gwcelery (O3) decides.

    All must hold: the ``offline`` flag is unset, two or more detectors
    contributed (:func:`get_instruments`), and the FAR times the group's trials
    factor is at most the group's ``preliminary_alert_far_threshold``. A group
    without a threshold or trials factor never qualifies (gwcelery would fail).
    """
    group = str(event.get("group", "")).lower()
    trials_factor = preliminary_alert_trials_factor.get(group)
    far_threshold = preliminary_alert_far_threshold.get(group)
    if trials_factor is None or far_threshold is None:
        return False
    far = trials_factor * _number(event, event.get("far"), "far")
    return (
        not event.get("offline", False)
        and len(get_instruments(event)) > 1
        and far <= far_threshold
    )


def keyfunc(
    event,
    *,
    preliminary_alert_far_threshold,
    preliminary_alert_trials_factor,
    publishable_first=True,
):
    """Comparison key of gwcelery's preferred-event choice: lower is preferred.

    The tuple (not publishable, group rank, tie breaker): publishable events
    (:func:`should_publish`) first, then CBC before burst before anything
    else, then the higher network SNR for CBC (``CoincInspiral.snr``) or the
    lower FAR for other groups. The ``preliminary_alert_*`` settings are
    those of :func:`should_publish`. ``publishable_first=False`` is the 2018
    flow chart's rule (gwcelery had no publishability test then): the first
    element is always False.
    """
    group = str(event.get("group", "")).lower()
    group_rank = {"cbc": 0, "burst": 1}.get(group, math.inf)
    if group == "cbc":
        snr = _attribute(event, "CoincInspiral", "snr")
        tie_breaker = -_number(event, snr, "CoincInspiral.snr")
    else:
        tie_breaker = _number(event, event.get("far"), "far")
    publishable = not publishable_first or should_publish(
        event,
        preliminary_alert_far_threshold=preliminary_alert_far_threshold,
        preliminary_alert_trials_factor=preliminary_alert_trials_factor,
    )
    return (not publishable, group_rank, tie_breaker)


# --------------------------------------------------------------------------
# The manager.
# --------------------------------------------------------------------------


class _Candidate:
    """An event as the manager sees it: times, category and rank."""

    __slots__ = ("graceid", "category", "created", "t_0", "segment", "key")

    def __init__(self, graceid, category, created, t_0, seg, key):
        self.graceid = graceid
        self.category = category
        self.created = created
        self.t_0 = t_0
        self.segment = seg
        self.key = key


class _Superevent:
    """Mutable superevent state plus its snapshot at the orchestrator timeout."""

    __slots__ = (
        "superevent_id",
        "category",
        "created",
        "deadline",
        "segment",
        "t_0",
        "preferred",
        "gw_events",
        "snapshot",
        "created_order",
    )

    def __init__(self, sid, opener, deadline, created_order):
        self.superevent_id = sid
        self.created_order = created_order
        self.category = opener.category
        self.created = opener.created
        self.deadline = deadline
        self.segment = opener.segment
        self.t_0 = opener.t_0
        self.preferred = opener
        self.gw_events = [opener.graceid]
        self.snapshot = None
        self.take_snapshot()

    def take_snapshot(self):
        """Record the state the orchestrator sees if the timeout ends now."""
        self.snapshot = (self.preferred.graceid, self.t_0, self.segment)

    def as_dict(self):
        """GraceDB-like JSON-serialisable record of this superevent."""
        preferred, t_0, seg = self.snapshot
        return {
            "superevent_id": self.superevent_id,
            "category": self.category,
            "created": self.created,
            "t_start": float(seg[0]),
            "t_0": t_0,
            "t_end": float(seg[1]),
            "gw_events": sorted(self.gw_events, key=graceid_sort_key),
            "preferred_event": preferred,
            "final_preferred_event": self.preferred.graceid,
        }


def check_manager_fields(event):
    """Read every field of ``event`` the manager uses, whatever the settings.

    Raises :class:`EventInputError` (or the error of the bad field) for an
    event the manager could not place or rank. The settings passed are
    neutral (no window, every group ranked) because only the fields are
    being checked: the store loader runs before any configuration is read.
    """
    groups = ("cbc", "burst", "test")
    get_ts(
        event,
        superevent_d_t_start={},
        superevent_d_t_end={},
        superevent_default_d_t_start=0.0,
        superevent_default_d_t_end=0.0,
    )
    keyfunc(
        event,
        preliminary_alert_far_threshold=dict.fromkeys(groups, math.inf),
        preliminary_alert_trials_factor=dict.fromkeys(groups, 1.0),
    )


def _created_gps(event, graceid):
    """The event's upload time as GPS seconds (accepts an ISO UTC string)."""
    created = event.get("created")
    if isinstance(created, str):
        try:
            return utc_to_gps(created)
        except ValueError as err:
            raise EventInputError(
                graceid, "event.json", f"unreadable created time {created!r}"
            ) from err
    return _number(event, created, "created")


def _prepare(event, conf):
    """Turn an event dict into a _Candidate, or None when the manager skips it."""
    graceid = validate_graceid(event.get("graceid"))
    far = event.get("far")
    if far is None:
        return None  # gwcelery: "Skipping ... because it lacks a FAR"
    far = _number(event, far, "far")
    if far > conf["superevent_far_threshold"]:
        return None
    for key in ("group", "pipeline"):
        if not isinstance(event.get(key), str) or not event[key]:
            raise EventInputError(graceid, "event.json", f"missing {key}")
    t_0, t_start, t_end = get_ts(
        event,
        superevent_d_t_start=conf["superevent_d_t_start"],
        superevent_d_t_end=conf["superevent_d_t_end"],
        superevent_default_d_t_start=conf["superevent_default_d_t_start"],
        superevent_default_d_t_end=conf["superevent_default_d_t_end"],
    )
    return _Candidate(
        graceid,
        get_category(event),
        _created_gps(event, graceid),
        t_0,
        segment(t_start, t_end),
        keyfunc(
            event,
            preliminary_alert_far_threshold=conf["preliminary_alert_far_threshold"],
            preliminary_alert_trials_factor=conf["preliminary_alert_trials_factor"],
            publishable_first=conf["publishable_first"],
        ),
    )


class _Index:
    """Superevents of one category bucketed by t_0 for the neighbour query.

    Buckets are as wide as the query window, so a query touches at most two;
    the cost per event is the number of superevents within the query window.
    """

    def __init__(self, before, after):
        self.before = before
        self.after = after
        self.width = max(before + after, 1.0)
        self.buckets = {}

    def _bucket(self, t_0):
        return math.floor(t_0 / self.width)

    def add(self, superevent):
        self.buckets.setdefault(self._bucket(superevent.t_0), []).append(superevent)

    def move(self, superevent, old_t_0):
        old = self._bucket(old_t_0)
        if old != self._bucket(superevent.t_0):
            self.buckets[old].remove(superevent)
            self.add(superevent)

    def find(self, candidate):
        """The newest superevent near ``candidate`` whose window intersects it.

        GraceDB returns query results newest first and gwcelery takes the first
        that ``intersects`` the event segment (touching is not intersecting).
        """
        low = candidate.t_0 - self.before
        high = candidate.t_0 + self.after
        best = None
        for key in range(self._bucket(low), self._bucket(high) + 1):
            for superevent in self.buckets.get(key, ()):
                if (
                    low <= superevent.t_0 <= high
                    and superevent.segment.intersects(candidate.segment)
                    and (best is None or superevent.created_order > best.created_order)
                ):
                    best = superevent
        return best


def form_superevents(
    events,
    *,
    superevent_far_threshold,
    orchestrator_timeout,
    superevent_d_t_start,
    superevent_d_t_end,
    superevent_default_d_t_start,
    superevent_default_d_t_end,
    superevent_query_d_t_start,
    superevent_query_d_t_end,
    preliminary_alert_far_threshold,
    preliminary_alert_trials_factor,
    publishable_first=True,
):
    """Group GraceDB events into superevents as gwcelery's manager would.

    Parameters
    ----------
    events : iterable of dict
        GraceDB event JSON dicts with ``created`` in GPS seconds.
    superevent_far_threshold, orchestrator_timeout, ... :
        gwcelery configuration values (:data:`CONFIG_KEYS`; defaults in
        config/config.yaml).
    publishable_first : bool
        Rank publishable events first (O3); False for the 2018 flow chart.

    Returns
    -------
    list of dict
        One record per superevent in creation order, with keys
        ``superevent_id``, ``category``, ``created``, ``t_start``, ``t_0``,
        ``t_end`` and ``preferred_event`` (as at ``created +
        orchestrator_timeout``), ``gw_events`` (every event that joined, sorted)
        and ``final_preferred_event`` (after all uploads).
    """
    conf = {
        "superevent_far_threshold": superevent_far_threshold,
        "superevent_d_t_start": superevent_d_t_start,
        "superevent_d_t_end": superevent_d_t_end,
        "superevent_default_d_t_start": superevent_default_d_t_start,
        "superevent_default_d_t_end": superevent_default_d_t_end,
        "preliminary_alert_far_threshold": preliminary_alert_far_threshold,
        "preliminary_alert_trials_factor": preliminary_alert_trials_factor,
        "publishable_first": publishable_first,
    }
    candidates = [c for c in (_prepare(e, conf) for e in events) if c is not None]
    candidates.sort(key=lambda c: (c.created, graceid_sort_key(c.graceid)))

    indexes = {}
    day_counts = {}
    superevents = []
    for candidate in candidates:
        index = indexes.setdefault(
            candidate.category,
            _Index(superevent_query_d_t_start, superevent_query_d_t_end),
        )
        superevent = index.find(candidate)
        if superevent is None:
            superevent = _create(
                candidate, day_counts, orchestrator_timeout, len(superevents)
            )
            superevents.append(superevent)
            index.add(superevent)
        else:
            _add(superevent, candidate, index)
    return [superevent.as_dict() for superevent in superevents]


def _create(candidate, day_counts, timeout, created_order):
    """Open a superevent for ``candidate`` with GraceDB's next ID of its day."""
    date = gps_to_utc_date(candidate.t_0)
    count_key = (candidate.category, date)
    day_counts[count_key] = day_counts.get(count_key, 0) + 1
    sid = superevent_id(candidate.category, candidate.t_0, day_counts[count_key])
    return _Superevent(sid, candidate, candidate.created + timeout, created_order)


def _add(superevent, candidate, index):
    """Add ``candidate`` to ``superevent``: widen the window, maybe re-prefer."""
    superevent.gw_events.append(candidate.graceid)
    superevent.segment = superevent.segment | candidate.segment
    if candidate.key < superevent.preferred.key:
        old_t_0 = superevent.t_0
        superevent.preferred = candidate
        superevent.t_0 = candidate.t_0
        index.move(superevent, old_t_0)
    if candidate.created <= superevent.deadline:
        superevent.take_snapshot()


# --------------------------------------------------------------------------
# Superevents supplied by the store.
# --------------------------------------------------------------------------


def _category_from_id(sid):
    """Category implied by a superevent ID's prefix (``MS``, ``TS`` or ``S``)."""
    if sid.startswith("MS"):
        return "mdc"
    if sid.startswith("TS"):
        return "test"
    return "production"


def superevent_record(sid, data):
    """Turn a store's GraceDB superevent JSON into a :func:`form_superevents` record.

    ``data`` is the JSON GraceDB returns for the superevent, bare or wrapped
    in an LVAlert message (``{"object": {...}}``). ``sid`` is the folder name,
    already validated. The stored ``preferred_event`` is used both at the
    timeout and as final; the category comes from the ID prefix and must agree
    with a ``category`` key when there is one. Times may be GPS numbers or ISO
    UTC strings (GraceDB writes ``created`` as ``2018-06-16 17:35:13 UTC``).
    """
    filename = "superevent.json"
    if isinstance(data, dict) and isinstance(data.get("object"), dict):
        data = data["object"]
    if not isinstance(data, dict):
        raise EventInputError(sid, filename, "not a JSON object")

    def fail(reason):
        return EventInputError(sid, filename, reason)

    if data.get("superevent_id") != sid:
        raise fail(f"superevent_id {data.get('superevent_id')!r} != folder {sid!r}")
    category = _category_from_id(sid)
    stated = data.get("category")
    if stated is not None and str(stated).lower() != category:
        raise fail(f"category {stated!r} does not match the ID prefix")
    preferred = data.get("preferred_event")
    try:
        validate_graceid(preferred)
        gw_events = [validate_graceid(g) for g in data.get("gw_events") or []]
    except ValueError as err:
        raise fail(str(err)) from err
    if preferred not in gw_events:
        gw_events.append(preferred)  # GraceDB always lists the preferred event
    times = {}
    for key in ("t_start", "t_0", "t_end", "created"):
        value = data.get(key)
        try:
            times[key] = utc_to_gps(value) if isinstance(value, str) else float(value)
        except (TypeError, ValueError) as err:
            raise fail(f"bad {key} {value!r}") from err
        if not math.isfinite(times[key]):
            raise fail(f"bad {key} {value!r}")
    if not times["t_start"] <= times["t_0"] <= times["t_end"]:
        raise fail("t_0 outside [t_start, t_end]")
    return {
        "superevent_id": sid,
        "category": category,
        "created": times["created"],
        "t_start": times["t_start"],
        "t_0": times["t_0"],
        "t_end": times["t_end"],
        "gw_events": sorted(set(gw_events), key=graceid_sort_key),
        "preferred_event": preferred,
        "final_preferred_event": preferred,
    }


def load_store_superevents(store):
    """Read ``STORE/superevents/<SID>/superevent.json`` files, if any.

    The store's own superevents replace the manager: each record has the keys
    of :func:`form_superevents`, with the stored ``preferred_event`` used both
    at the timeout and as final. Folder names are validated as superevent IDs
    before use and must equal the JSON's ``superevent_id``. Returns ``[]``
    when the store has no superevents; records are ordered by creation time.
    """
    root = os.path.join(os.fspath(store), "superevents")
    if not os.path.isdir(root):
        return []
    records = []
    for name in sorted(os.listdir(root)):
        sid = validate_superevent_id(name)
        try:
            with open(os.path.join(root, sid, "superevent.json"), "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
        except FileNotFoundError as err:
            raise EventInputError(sid, "superevent.json", "missing") from err
        except (OSError, ValueError) as err:
            raise EventInputError(sid, "superevent.json", f"unreadable: {err}") from err
        records.append(superevent_record(sid, data))
    records.sort(key=lambda r: (r["created"], r["superevent_id"]))
    return records


def superevents_for_store(store, events, **conf):
    """The store's superevents when it supplies them, else the manager's.

    ``conf`` holds (at least) the keys in :data:`CONFIG_KEYS`.
    """
    supplied = load_store_superevents(store)
    if supplied:
        return supplied
    return form_superevents(events, **{key: conf[key] for key in CONFIG_KEYS})
