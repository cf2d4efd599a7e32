"""The Fetcher: superevents, their sign-offs and their events, into one store.

Order matters for resuming (``docs/orun_replay.md``): an event's uploads
first and its ``event.json`` last, so that ``event.json`` marks a complete
event; a superevent's ``superevent.json`` before its events and its
``signoffs.json`` after them. Whatever stopped a fetch, the next call asks
only for what is missing.
"""

import json
import logging
import os
from dataclasses import dataclass, field

from ..atomic import write_json
from ..errors import EventInputError, InvalidIdError
from ..ids import validate_graceid, validate_superevent_id
from . import signoffs
from .checks import download, fetch_max_bytes
from .client import NotOnServer, call
from .uploads import FETCHED_FILES, required_uploads, upload_times, wanted_uploads

log = logging.getLogger(__name__)


@dataclass
class FetchReport:
    """What a fetch did: counts, downloads, absent optional uploads, problems.

    ``stopped`` is the message of a fetch ended early (GraceDB in
    maintenance), else None.
    """

    superevents: list = field(default_factory=list)
    events: list = field(default_factory=list)
    events_already_complete: list = field(default_factory=list)
    downloaded: list = field(default_factory=list)
    not_on_server: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    stopped: str = None
    bytes_downloaded: int = 0

    def problem(self, object_id, filename, reason):
        """Record (and log) one failure; the fetch carries on."""
        self.problems.append((str(object_id), str(filename), str(reason)))
        log.error("%s: %s: %s", object_id, filename, reason)

    def stop(self, exc):
        """Record (and log) why the fetch ends before its end."""
        self.stopped = str(exc)
        log.error("%s", exc)


class Fetcher:
    """Fetches superevents and their events from one GraceDB into one store."""

    def __init__(self, client, store, *, max_bytes=fetch_max_bytes, progress=None):
        self.client = client
        self.store = os.path.abspath(os.fspath(store))
        self.max_bytes = max_bytes
        self.progress = progress
        self.report = FetchReport()

    def _json(self, object_id, filename, func):
        data = call(object_id, filename, lambda: func().json())
        if not isinstance(data, dict):
            raise EventInputError(
                object_id, filename, "server response is not a JSON object"
            )
        return data

    def _list(self, object_id, filename, func, key):
        items = self._json(object_id, filename, func).get(key)
        if not isinstance(items, list):
            raise EventInputError(object_id, filename, f"no {key!r} list in answer")
        return items

    # superevents

    def superevent_by_id(self, sid):
        """The JSON of one named superevent (the stored copy if there is one)."""
        path = self._superevent_path(sid)
        try:
            if os.path.exists(path):
                return _read_json(sid, path)
            return self._json(
                sid, "superevent.json", lambda: self.client.superevent(sid)
            )
        except NotOnServer:
            self.report.problem(
                sid, "superevent.json", "no such superevent on the server"
            )
        except EventInputError as exc:
            self.report.problem(exc.event_id, exc.filename, exc.reason)
        return None

    def superevents_by_query(self, query):
        """The superevents a GraceDB superevent query returns (all pages)."""
        try:
            return call(
                "query", "superevents", lambda: list(self.client.superevents(query))
            )
        except NotOnServer:
            self.report.problem(
                "query", "superevents", "superevent list not found (404)"
            )
        except EventInputError as exc:
            self.report.problem(exc.event_id, exc.filename, exc.reason)
        return []

    def fetch_superevent(self, superevent, category=None):
        """Store one superevent's JSON, fetch its G-events, then its sign-offs."""
        if not isinstance(superevent, dict):
            self.report.problem(
                "query", "superevents", "server sent a non-object superevent"
            )
            return
        try:
            sid = validate_superevent_id(superevent.get("superevent_id"))
        except InvalidIdError as exc:
            self.report.problem("query", "superevents", f"{exc}; skipped")
            return
        if category and superevent.get("category", category) != category:
            log.warning(
                "%s: category %r, not %r; skipped",
                sid,
                superevent["category"],
                category,
            )
            return
        path = self._superevent_path(sid)
        if os.path.exists(path):
            try:
                superevent = _read_json(sid, path)
            except EventInputError as exc:
                self.report.problem(exc.event_id, exc.filename, exc.reason)
                return
        gw_events = superevent.get("gw_events")
        if not isinstance(gw_events, list):
            self.report.problem(
                sid,
                "superevent.json",
                "no gw_events list in the server's JSON (not authorised to see "
                "its events? check your credentials)",
            )
            return
        if not os.path.exists(path):
            write_json(path, superevent)
        self.report.superevents.append(sid)
        for graceid in gw_events:
            try:
                validate_graceid(graceid)
            except InvalidIdError as exc:
                self.report.problem(sid, "superevent.json", f"{exc}; skipped")
                continue
            self.fetch_event(graceid)
        self.fetch_signoffs(sid)

    def fetch_signoffs(self, sid):
        """Write ``signoffs.json`` from the server's sign-offs, labels and log."""
        path = os.path.join(
            os.path.dirname(self._superevent_path(sid)), signoffs.FILENAME
        )
        if os.path.exists(path):
            return
        name = signoffs.FILENAME
        try:
            records = self._list(
                sid, name, lambda: self.client.signoffs(sid), "signoffs"
            )
            labels = self._list(sid, name, lambda: self.client.labels(sid), "labels")
            entries = self._list(sid, name, lambda: self.client.logs(sid), "log")
            write_json(path, signoffs.signoff_record(sid, records, labels, entries))
        except NotOnServer:
            self.report.problem(
                sid, name, "sign-off, label or log list not found (404)"
            )
        except EventInputError as exc:
            self.report.problem(exc.event_id, exc.filename, exc.reason)

    def _superevent_path(self, sid):
        return os.path.join(self.store, "superevents", sid, "superevent.json")

    # events

    def fetch_event(self, graceid):
        """Fetch one event and its uploads; ``event.json`` last, as completion mark."""
        folder = os.path.join(self.store, "events", validate_graceid(graceid))
        if os.path.exists(os.path.join(folder, "event.json")):
            self.report.events_already_complete.append(graceid)
            return
        try:
            event = self._json(
                graceid, "event.json", lambda: self.client.event(graceid)
            )
            if event.get("graceid") != graceid:
                raise EventInputError(
                    graceid,
                    "event.json",
                    f"server returned graceid {event.get('graceid')!r} for {graceid}",
                )
            entries = self._json(graceid, "log", lambda: self.client.logs(graceid))
            times = upload_times(graceid, entries.get("log") or [])
            present = self._fetch_uploads(graceid, folder, event, times)
        except NotOnServer as exc:
            self.report.problem(graceid, exc.args[1], "not found on the server (404)")
            return
        except EventInputError as exc:
            self.report.problem(exc.event_id, exc.filename, exc.reason)
            return
        record = dict(event)
        record["uploads"] = [
            {"filename": name, "created": times[name]}
            for name in FETCHED_FILES
            if name in present and name in times
        ]
        write_json(os.path.join(folder, "event.json"), record)
        self.report.events.append(graceid)

    def _fetch_uploads(self, graceid, folder, event, times):
        """Download each wanted upload not yet in the store; return those present."""
        present = []
        required = required_uploads(event)
        for name in wanted_uploads(event, times):
            dest = os.path.join(folder, name)
            if not os.path.exists(dest):
                try:
                    call(
                        graceid,
                        name,
                        lambda n=name, d=dest: self._download(graceid, n, d),
                    )
                except NotOnServer:
                    if name in required:
                        raise EventInputError(
                            graceid,
                            name,
                            "required upload not found on the server (404)",
                        ) from None
                    log.info("%s: %s: not on the server (optional)", graceid, name)
                    self.report.not_on_server.append((graceid, name))
                    continue
                self.report.downloaded.append((graceid, name))
            present.append(name)
        return present

    def _download(self, graceid, filename, dest):
        size = download(
            self.client,
            graceid,
            filename,
            dest,
            limit=self.max_bytes,
            on_chunk=self._received,
        )
        log.info("%s: %s: %d bytes", graceid, filename, size)

    def _received(self, nbytes):
        self.report.bytes_downloaded += nbytes
        if self.progress is not None:
            self.progress.received(nbytes)


def _read_json(object_id, path):
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise EventInputError(object_id, os.path.basename(path), str(exc)) from exc
