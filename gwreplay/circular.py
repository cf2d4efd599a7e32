"""GCN Circular draft of a superevent, written by ligo-followup-advocate.

gwcelery (``gwcelery/tasks/circulars.py``, ``create_initial_circular``) calls
``ligo.followup_advocate.compose(superevent_id, client=gracedb.client,
remove_text_wrap=True)`` and uploads the text as ``<alert_type>-circular.txt``.
The collaboration's own Jinja2 templates thus write the text from what
GraceDB holds: the superevent, its events, and the Kafka alerts (notices)
already sent, whose sky map, classification and properties the Circular
reports.

Here :class:`ReplayGraceDb` stands in for that GraceDB client: a read-only
object serving the replay's superevent, events and files with the methods
and response shapes ``compose()`` uses, so the text comes out of the same
templates without any network access.
"""

import json
import os
import re

from .atomic import write_text
from .errors import EventInputError
from .ids import validate_graceid, validate_superevent_id
from .voevent import gracedb_base_url, require, superevent_file_url

#: GraceDB names the Kafka alerts it stores ``<SID>-<N>-<alert type>.json``.
NOTICE_FILENAME = re.compile(
    r"\A(?P<sid>[A-Za-z0-9]+)-(?P<n>[0-9]+)-[A-Za-z-]+\.json\Z"
)


class ReplayResponse:
    """What a GraceDB client call returns: ``.json()`` and ``.read()``."""

    status_code = 200

    def __init__(self, payload=None, path=None):
        self._payload = payload
        self._path = path

    def read(self):
        """Raw bytes of the file, or of the JSON payload."""
        if self._path is not None:
            with open(self._path, "rb") as f:
                return f.read()
        return json.dumps(self._payload).encode()

    @property
    def content(self):
        return self.read()

    def json(self):
        """The payload, or the file parsed as JSON."""
        if self._path is None:
            return self._payload
        return json.loads(self.read())


class ReplayGraceDb:
    """Read-only GraceDB client over one replayed superevent.

    Serves exactly the calls ``ligo.followup_advocate.compose`` makes:
    ``superevent(sid)``, ``event(graceid)`` for each of its ``gw_events``,
    ``notices(sid)`` (the Kafka alerts among ``files``) and
    ``files(sid[, filename])``; plus ``labels`` and ``logs`` for
    completeness. Anything else is unknown to it, so it can never fall back
    on a network request.

    Parameters
    ----------
    superevent : dict
        GraceDB superevent JSON.
    preferred_event : dict
        GraceDB JSON of its preferred event (``preferred_event_data``).
    files : dict
        ``{filename: path}`` of the superevent's files; the alert JSONs named
        ``<SID>-<N>-<type>.json`` are its notices, in order of N.
    labels : list of str
        Superevent labels.
    events : dict, optional
        ``{graceid: event JSON}`` of the superevent's events, so that every
        pipeline that found the candidate is credited. Without it only the
        preferred event is served and listed in ``gw_events``.
    gracedb_host : str
        Host (or base URL) the client pretends to talk to; it appears in the
        Circular's event URL.
    """

    def __init__(
        self,
        superevent,
        preferred_event,
        files,
        labels,
        events=None,
        *,
        gracedb_host,
    ):
        self.superevent_id = validate_superevent_id(
            require(superevent, "superevent_id", "superevent", "superevent.json")
        )
        preferred_id = validate_graceid(
            require(preferred_event, "graceid", self.superevent_id, "event.json")
        )
        self._events = {preferred_id: dict(preferred_event)}
        for graceid, event in (events or {}).items():
            self._events.setdefault(validate_graceid(graceid), dict(event))
        if events is None:
            gw_events = [preferred_id]
        else:
            gw_events = list(superevent.get("gw_events") or [preferred_id])
            missing = [gid for gid in gw_events if gid not in self._events]
            if missing:
                raise EventInputError(
                    self.superevent_id,
                    "superevent.json",
                    f"gw_events {missing} not among the events given",
                )
        self._files = {str(name): os.fspath(path) for name, path in files.items()}
        base = self._base_url = gracedb_base_url(gracedb_host)
        self.service_url = f"{base}/api/"
        self._superevent = dict(
            superevent,
            preferred_event=preferred_id,
            preferred_event_data=self._events[preferred_id],
            gw_events=gw_events,
            labels=list(labels or ()),
            em_type=superevent.get("em_type"),
            em_events=list(superevent.get("em_events") or ()),
            links={"self": f"{base}/api/superevents/{self.superevent_id}/"},
        )

    def _check_superevent(self, superevent_id):
        if superevent_id != self.superevent_id:
            raise EventInputError(
                superevent_id, "superevent.json", "not the superevent being replayed"
            )

    def superevent(self, superevent_id):
        """The superevent JSON, with ``preferred_event_data`` and ``labels``."""
        self._check_superevent(superevent_id)
        return ReplayResponse(self._superevent)

    def event(self, graceid):
        """The JSON of one of the superevent's events."""
        try:
            return ReplayResponse(self._events[graceid])
        except KeyError:
            raise EventInputError(
                graceid, "event.json", f"not an event of {self.superevent_id}"
            ) from None

    def notices(self, superevent_id):
        """The Kafka alerts sent, as GraceDB lists them: ``{"notices": [...]}``."""
        self._check_superevent(superevent_id)
        notices = []
        for name in self._files:
            match = NOTICE_FILENAME.match(name)
            if match and match["sid"] == superevent_id:
                notices.append({"N": int(match["n"]), "filename": name})
        notices.sort(key=lambda notice: notice["N"])
        return ReplayResponse({"start": 0, "numRows": len(notices), "notices": notices})

    def files(self, superevent_id, filename=None, raw=True):
        """The file listing ``{name: url}``, or the content of one file."""
        self._check_superevent(superevent_id)
        if filename is None:
            return ReplayResponse(
                {
                    name: superevent_file_url(superevent_id, name, self._base_url)
                    for name in sorted(self._files)
                }
            )
        try:
            path = self._files[filename]
        except KeyError:
            raise EventInputError(
                superevent_id, filename, "no such file of the superevent"
            ) from None
        return ReplayResponse(path=path)

    def labels(self, superevent_id, label=""):
        """The labels, as GraceDB returns them: ``{"labels": [{"name": ...}]}``."""
        self._check_superevent(superevent_id)
        names = self._superevent["labels"]
        if label:
            names = [name for name in names if name == label]
        return ReplayResponse({"labels": [{"name": name} for name in names]})

    def logs(self, superevent_id, log_number=None):
        """No log messages: the replay keeps none."""
        self._check_superevent(superevent_id)
        return ReplayResponse({"numRows": 0, "log": []})


def compose_circular(
    superevent,
    preferred_event,
    files,
    labels,
    *,
    events=None,
    gracedb_host,
    remove_text_wrap=True,
):
    """Return the GCN Circular draft of ``superevent`` (subject and body).

    ``files`` must hold at least one Kafka alert JSON named
    ``<SID>-<N>-<type>.json`` (e.g. ``S230518h-1-Preliminary.json``, as
    written by :func:`gwreplay.gwalert.write_gwalert`): ligo-followup-advocate
    takes the sky map, classification and properties from the latest one.
    ``remove_text_wrap=True`` is what gwcelery uses. See
    :class:`ReplayGraceDb` for the other arguments.
    """
    import ligo.followup_advocate

    client = ReplayGraceDb(
        superevent, preferred_event, files, labels, events, gracedb_host=gracedb_host
    )
    try:
        return ligo.followup_advocate.compose(
            client.superevent_id, client=client, remove_text_wrap=remove_text_wrap
        )
    except ValueError as exc:  # no notices or no post-merger event
        raise EventInputError(client.superevent_id, "circular", str(exc)) from exc


def write_circular(path, *args, **kwargs):
    """Compose the Circular (see :func:`compose_circular`) and write it to
    ``path`` atomically, newline-terminated. Returns the text."""
    text = compose_circular(*args, **kwargs)
    write_text(path, text + "\n")
    return text


def write_retraction_circular(
    path, superevent, preferred_event, files, labels, *, events=None, gracedb_host
):
    """The Retraction circular (``ligo.followup_advocate.compose_retraction``,
    as gwcelery 3.0.0's ``create_retraction_circular``), written as
    :func:`write_circular` does. Arguments as :class:`ReplayGraceDb`'s."""
    import ligo.followup_advocate

    client = ReplayGraceDb(
        superevent, preferred_event, files, labels, events, gracedb_host=gracedb_host
    )
    text = ligo.followup_advocate.compose_retraction(
        client.superevent_id, client=client, remove_text_wrap=True
    )
    write_text(path, text + "\n")
    return text
