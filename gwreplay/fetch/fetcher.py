"""The Fetcher: superevents and their events from one GraceDB into one store."""

import logging
import os
from dataclasses import dataclass, field

from ..atomic import atomic_path, write_json
from ..errors import EventInputError, InvalidIdError
from ..ids import validate_graceid, validate_superevent_id
from ..store import EVENT_FILES
from .checks import _stream_to_file, check_upload, fetch_max_bytes
from .client import (
    NotOnServer,
    RetryPolicy,
    auth_environment,
    call_with_retries,
    check_service_url,
    fetch_timeout,
    make_client,
)
from .uploads import required_uploads, upload_times, wanted_uploads

log = logging.getLogger(__name__)

#: ``--category`` value -> (GraceDB category name, superevent ID prefix).
CATEGORIES = {
    "production": ("Production", "S"),
    "mdc": ("MDC", "MS"),
    "test": ("Test", "TS"),
}


@dataclass
class FetchReport:
    """What a fetch did: counts, downloads, absent optional uploads, problems."""

    superevents: list = field(default_factory=list)
    events: list = field(default_factory=list)
    events_already_complete: list = field(default_factory=list)
    downloaded: list = field(default_factory=list)
    not_on_server: list = field(default_factory=list)
    problems: list = field(default_factory=list)

    def problem(self, object_id, filename, reason):
        """Record (and log) one failure; the fetch carries on."""
        self.problems.append((str(object_id), str(filename), str(reason)))
        log.error("%s: %s: %s", object_id, filename, reason)


class Fetcher:
    """Fetches superevents and their events from one GraceDB into one store."""

    def __init__(self, client, store, *, policy=None, max_bytes=fetch_max_bytes):
        self.client = client
        self.store = os.path.abspath(os.fspath(store))
        self.policy = policy or RetryPolicy()
        self.max_bytes = max_bytes
        self.report = FetchReport()

    def _call(self, object_id, filename, func):
        return call_with_retries(object_id, filename, func, self.policy)

    def _json(self, object_id, filename, func):
        data = self._call(object_id, filename, lambda: func().json())
        if not isinstance(data, dict):
            raise EventInputError(
                object_id, filename, "server response is not a JSON object"
            )
        return data

    # superevents

    def superevents_by_id(self, superevent_ids):
        """Yield the JSON of each named superevent (stored copy if there is one)."""
        for sid in superevent_ids:
            path = self._superevent_path(sid)
            try:
                if os.path.exists(path):
                    yield _read_json(sid, path)
                else:
                    yield self._json(
                        sid, "superevent.json", lambda s=sid: self.client.superevent(s)
                    )
            except NotOnServer:
                self.report.problem(
                    sid, "superevent.json", "no such superevent on the server"
                )
            except EventInputError as exc:
                self.report.problem(exc.event_id, exc.filename, exc.reason)

    def superevents_by_query(self, query):
        """The superevents a GraceDB superevent query returns (all pages)."""
        try:
            return self._call(
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
        """Store one superevent's JSON and fetch each of its G-events."""
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
            for name in EVENT_FILES
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
                    self._call(
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
        """One attempt: stream the upload to a temp file, check it, rename it."""
        raw = self.client.files(graceid, filename)
        try:
            with atomic_path(dest) as tmp:
                size = _stream_to_file(graceid, filename, raw, tmp, self.max_bytes)
                check_upload(graceid, filename, tmp, limit=self.max_bytes)
        finally:
            raw.close()
        log.info("%s: %s: %d bytes", graceid, filename, size)


def _read_json(object_id, path):
    import json

    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise EventInputError(object_id, os.path.basename(path), str(exc)) from exc


def category_query(query, category):
    """Add GraceDB's ``category:`` term for ``--category`` to a superevent query."""
    if category is None:
        return query
    if "category:" in query.lower():
        raise ValueError("give the category either in --query or with --category")
    return f"{query} category: {CATEGORIES[category][0]}".strip()


def check_superevent_ids(superevent_ids, category):
    """Validate IDs given on the command line and their category prefix."""
    for sid in superevent_ids:
        validate_superevent_id(sid)
        if category is not None:
            prefix = CATEGORIES[category][1]
            if not (sid.startswith(prefix) and sid[len(prefix)].isdigit()):
                raise ValueError(f"{sid} is not a {category} superevent ({prefix}...)")
    return list(superevent_ids)


def fetch(
    store,
    *,
    service_url,
    superevent_ids=None,
    query=None,
    category=None,
    auth="all",
    client=None,
    policy=None,
    timeout=fetch_timeout,
    max_bytes=fetch_max_bytes,
):
    """Fill ``store`` from GraceDB; return a :class:`FetchReport`.

    Give either ``superevent_ids`` or a superevent ``query`` (GraceDB's query
    language, e.g. ``"gpstime: 1238166018 .. 1238170000"``); ``category``
    (``production``, ``mdc``, ``test``) restricts either. ``client`` replaces
    the GraceDb client (tests); otherwise one is made for ``service_url``.
    """
    if (superevent_ids is None) == (query is None):
        raise ValueError("give either superevent IDs or a query")
    check_service_url(service_url)
    if superevent_ids is not None:
        superevent_ids = check_superevent_ids(superevent_ids, category)
    else:
        query = category_query(query, category)
    category_name = CATEGORIES[category][0] if category else None
    with auth_environment(auth):
        if client is None:
            client = make_client(service_url, auth=auth, timeout=timeout)
        fetcher = Fetcher(client, store, policy=policy, max_bytes=max_bytes)
        if superevent_ids is not None:
            superevents = fetcher.superevents_by_id(superevent_ids)
        else:
            log.info("querying superevents: %s", query)
            superevents = fetcher.superevents_by_query(query)
        for superevent in superevents:
            fetcher.fetch_superevent(superevent, category_name)
    return fetcher.report
