"""``gwreplay fetch``: fill an event store from a GraceDB server.

The replay reads a store shaped like GraceDB (``docs/store.md``); this command
builds one from the real thing with the official client,
:class:`ligo.gracedb.rest.GraceDb`. For each superevent (named, or found by a
GraceDB superevent query) it writes ``superevents/<SID>/superevent.json`` and,
for each of its G-events, ``events/<GraceID>/event.json`` plus the uploads the
replay reads (``coinc.xml``, ``psd.xml.gz``, ``ranking_data.xml.gz``,
``skyprobcc_cWB.fits``, ``LIB.fits.gz``) when the server has them.

Behaviour worth knowing:

* **Resumable.** ``event.json`` is written last, once every upload of the
  event is in place, so it marks a complete event. A second call skips
  complete events and existing uploads and asks the server only for what is
  missing; an existing ``superevent.json`` is used as is.
* **Checked, atomic downloads.** Every upload is streamed to a temporary file
  beside its final name, checked (non-empty, under a size limit, gzip intact,
  XML well formed with no DTD/entities and a ``LIGO_LW`` root, FITS header
  and 2880-byte blocks) and only then renamed into place
  (:mod:`gwreplay.atomic`).
* **Retries like gwcelery.** gwcelery's GraceDB tasks retry HTTP 429, 502,
  503 and 504, timeouts, DNS and connection failures, with exponential
  back-off, up to 10 times (``gwcelery/tasks/gracedb.py``: ``autoretry_for``,
  ``retry_backoff=True``, ``max_retries=10``). We do the same, deterministic
  (no jitter: one client cannot stampede), honouring ``Retry-After``. The
  client's own urllib3 retries are switched off so attempts do not multiply.
  A 404 for an optional upload just means the pipeline did not upload it.
* **Authentication** is the client's: igwn-auth-utils finds a SciToken, an
  X.509 credential or (with SciTokens disabled) a ``~/.netrc`` password.
  gwreplay never sees, logs or stores a credential; URLs with embedded
  credentials and plain HTTP to remote hosts are refused.
* **Untrusted IDs.** Superevent and event IDs from the server pass
  :mod:`gwreplay.ids` before they become paths; a bad one is refused with a
  message naming it and the rest carry on. File names in log entries are
  only compared against the fixed list above, never used as paths.
"""

import contextlib
import gzip
import ipaddress
import logging
import os
import sys
import time
import xml.etree.ElementTree
import zlib
from dataclasses import dataclass, field
from http.client import HTTPException
from urllib.parse import urlsplit

import requests
import urllib3.exceptions

from .atomic import atomic_path, write_json
from .errors import EventInputError, InvalidIdError
from .ids import validate_graceid, validate_superevent_id
from .store import EVENT_FILES, is_cbc, normalise_time
from .xmlguard import max_upload_bytes, screen_upload

log = logging.getLogger(__name__)

#: Retries after the first attempt, as gwcelery's GraceDB tasks (max_retries=10).
fetch_max_retries = 10
#: First back-off (s); doubles each retry, like Celery's ``retry_backoff=True``.
fetch_retry_backoff = 1.0
#: Longest back-off (s), Celery's default ``retry_backoff_max``.
fetch_retry_backoff_max = 600.0
#: Connect and read timeout (s) of each HTTP request.
fetch_timeout = 60.0
#: Largest upload (bytes, after any HTTP decoding) gwreplay will download.
fetch_max_bytes = max_upload_bytes

#: HTTP statuses worth retrying: gwcelery's set plus 408 (request timeout).
RETRY_STATUSES = frozenset({408, 429, 502, 503, 504})
#: Transport failures worth retrying (gwcelery: gaierror, TimeoutError,
#: HTTPException; requests and urllib3 wrap these in their own classes).
RETRY_EXCEPTIONS = (
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.HTTPError,
    HTTPException,
    TimeoutError,
    ConnectionError,
)

#: ``--category`` value -> (GraceDB category name, superevent ID prefix).
CATEGORIES = {
    "production": ("Production", "S"),
    "mdc": ("MDC", "MS"),
    "test": ("Test", "TS"),
}

#: Optional uploads each pipeline (lower case) makes, beyond those its log lists.
PIPELINE_UPLOADS = {
    "gstlal": ("psd.xml.gz", "ranking_data.xml.gz"),
    "pycbc": ("psd.xml.gz",),
    "mbtaonline": ("psd.xml.gz",),
    "mbta": ("psd.xml.gz",),
    "spiir": ("psd.xml.gz",),
    "cwb": ("skyprobcc_cWB.fits",),
    "olib": ("LIB.fits.gz",),
}

AUTH_CHOICES = ("all", "scitoken", "x509", "netrc")

_CHUNK = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_FITS_BLOCK = 2880


#: What malformed server JSON raises in the client or in our code reading it.
_SERVER_DATA_ERRORS = (ValueError, TypeError, KeyError, AttributeError)


class NotOnServer(Exception):
    """The server answered 404: the object or upload does not exist there."""


# --- the client --------------------------------------------------------------


def _client_class():
    """:class:`GraceDb` with a default timeout on every request.

    ``GraceDb.files`` and friends take no timeout, and ``requests`` waits
    forever without one; a stalled server must instead raise a timeout that
    the retry loop handles, as gwcelery's tasks retry ``TimeoutError``.
    """
    from ligo.gracedb.rest import GraceDb

    class GraceDbWithTimeout(GraceDb):
        request_timeout = fetch_timeout

        def request(self, method, url, *args, timeout=None, **kwargs):
            if timeout is None:
                timeout = self.request_timeout
            return super().request(method, url, *args, timeout=timeout, **kwargs)

    return GraceDbWithTimeout


@contextlib.contextmanager
def auth_environment(auth):
    """Select the client's credential discovery for the duration of a fetch.

    ``all``, ``scitoken`` and ``x509`` are ligo-gracedb's ``use_auth``
    choices. ``netrc`` is igwn-auth-utils' basic auth: it reads ``~/.netrc``
    (or ``$NETRC``) only when SciToken discovery is off, which its
    ``IGWN_AUTH_UTILS_FIND_SCITOKEN`` switch does (X.509 discovery is turned
    off too, so the password is the one credential sent).
    """
    if auth not in AUTH_CHOICES:
        raise ValueError(f"unknown auth method {auth!r}; choose from {AUTH_CHOICES}")
    settings = {}
    if auth == "netrc":
        settings = {
            "IGWN_AUTH_UTILS_FIND_SCITOKEN": "0",
            "IGWN_AUTH_UTILS_FIND_X509": "0",
        }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def make_client(service_url, *, auth="all", timeout=fetch_timeout):
    """A GraceDB client for ``service_url`` (call inside :func:`auth_environment`).

    Retries are gwreplay's (:class:`RetryPolicy`), so the client's own are off.
    """
    use_auth = "all" if auth == "netrc" else auth
    client = _client_class()(service_url, use_auth=use_auth, retries=0)
    client.request_timeout = timeout
    return client


def check_service_url(url):
    """Refuse service URLs that would leak credentials; return the URL.

    Credentials belong in the client's stores (token, certificate, netrc),
    never in a URL that ends up in logs and shell history; and a password or
    token must not cross the network in clear, so plain ``http`` is allowed
    only to the local machine (a test server).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--service-url must be an http(s) URL, got {url!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "--service-url must not contain credentials; put them in ~/.netrc "
            "or use a SciToken or X.509 credential (docs/orun_replay.md)"
        )
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError(
            f"refusing plain http to {parts.hostname}: credentials would travel "
            "in clear; use https"
        )
    return url


def _is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- retries -----------------------------------------------------------------


@dataclass
class RetryPolicy:
    """How often and how patiently to retry a failing request."""

    max_retries: int = fetch_max_retries
    backoff: float = fetch_retry_backoff
    backoff_max: float = fetch_retry_backoff_max
    sleep: object = time.sleep

    def delay(self, retry, retry_after=None):
        """Pause before retry number ``retry`` (0-based): doubling, capped."""
        pause = min(self.backoff * 2**retry, self.backoff_max)
        if retry_after is not None:
            pause = max(pause, min(retry_after, self.backoff_max))
        return pause


def _status(exc):
    response = getattr(exc, "response", None)
    return getattr(response, "status_code", None)


def is_retryable(exc):
    """True for transient failures: 408/429/5xx gateway errors and transport errors."""
    if isinstance(exc, requests.exceptions.HTTPError):
        return _status(exc) in RETRY_STATUSES
    return isinstance(exc, RETRY_EXCEPTIONS)


def _retry_after(exc):
    """Seconds from a numeric ``Retry-After`` header, if the server sent one."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None) or {}
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def describe_error(exc):
    """A one-line account of a failed request, free of headers and credentials."""
    status = _status(exc)
    if status is not None:
        reason = getattr(exc.response, "reason", "") or ""
        text = f"HTTP {status} {reason}".strip()
        if status in (401, 403):
            text += " (check your GraceDB credentials: docs/orun_replay.md)"
        elif status == 400:
            body = (getattr(exc.response, "text", "") or "").strip()
            text += f": {body[:200]}" if body else ""
        return text
    if isinstance(exc, (requests.exceptions.Timeout, TimeoutError)) or isinstance(
        exc, urllib3.exceptions.TimeoutError
    ):
        return f"timed out ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"


def call_with_retries(object_id, filename, func, policy):
    """Run ``func()``, retrying transient failures; name the object on failure.

    Returns what ``func`` returns. Raises :class:`NotOnServer` on HTTP 404 and
    :class:`EventInputError` (``"<id>: <file>: <reason>"``) for anything else
    that does not succeed; errors ``func`` raises itself as EventInputError
    (a download that fails its checks) pass through unretried.
    """
    retry = 0
    while True:
        try:
            return func()
        except EventInputError:
            raise
        except Exception as exc:
            if _status(exc) == 404:
                raise NotOnServer(object_id, filename) from exc
            if not is_retryable(exc):
                if isinstance(exc, requests.exceptions.RequestException):
                    reason = describe_error(exc)
                elif isinstance(exc, _SERVER_DATA_ERRORS):
                    reason = f"unexpected server response: {describe_error(exc)}"
                else:
                    raise
                raise EventInputError(object_id, filename, reason) from exc
            if retry >= policy.max_retries:
                raise EventInputError(
                    object_id,
                    filename,
                    f"gave up after {retry} retries: {describe_error(exc)}",
                ) from exc
            pause = policy.delay(retry, _retry_after(exc))
            retry += 1
            log.warning(
                "%s: %s: %s; retry %d/%d in %.3g s",
                object_id,
                filename,
                describe_error(exc),
                retry,
                policy.max_retries,
                pause,
            )
            policy.sleep(pause)


# --- checking downloads ------------------------------------------------------


def _open_maybe_gzip(path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == _GZIP_MAGIC else open(path, "rb")


def _screen(graceid, filename, path, limit, xml):
    """xmlguard's screening, with the upload's name (not the temp file's) in errors."""
    try:
        screen_upload(graceid, path, limit=limit, xml=xml)
    except EventInputError as exc:
        raise EventInputError(graceid, filename, exc.reason) from None


def check_xml(graceid, filename, path, *, limit=fetch_max_bytes):
    """Refuse an upload that is not a well-formed LIGO-LW document.

    Screening (empty, size, gzip, DTD/entities) comes first; then a streaming
    parse with defusedxml, which refuses entities and external references,
    checks that the XML is complete and that its root is ``LIGO_LW`` (an HTML
    error page served with status 200 is caught here).
    """
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    _screen(graceid, filename, path, limit, xml=True)
    try:
        with _open_maybe_gzip(path) as f:
            root = None
            for event, element in iterparse(f, events=("start", "end")):
                if root is None:
                    root = element.tag
                if event == "end":
                    element.clear()
    except (xml.etree.ElementTree.ParseError, DefusedXmlException) as exc:
        raise EventInputError(graceid, filename, f"not well-formed XML: {exc}") from exc
    except (EOFError, OSError, zlib.error) as exc:
        raise EventInputError(
            graceid, filename, f"truncated or corrupt: {exc}"
        ) from exc
    if root != "LIGO_LW":
        raise EventInputError(
            graceid, filename, f"root element is {root!r}, not a LIGO_LW document"
        )


def check_fits(graceid, filename, path, *, limit=fetch_max_bytes):
    """Refuse an upload that is not a complete FITS file (plain or gzipped).

    A FITS file starts with the card ``SIMPLE  =  T`` and is a whole number
    of 2880-byte blocks (FITS Standard 4.0, sections 3.1 and 4.4.1.1), so a
    truncated download fails here; astropy then reads every HDU header.
    """
    from astropy.io import fits

    _screen(graceid, filename, path, limit, xml=False)
    with _open_maybe_gzip(path) as f:
        first = f.read(_FITS_BLOCK)
        size = len(first)
        while chunk := f.read(_CHUNK):
            size += len(chunk)
    if not (first.startswith(b"SIMPLE  =") and first[29:30] == b"T"):
        raise EventInputError(graceid, filename, "no FITS primary header (SIMPLE = T)")
    if size % _FITS_BLOCK:
        raise EventInputError(
            graceid,
            filename,
            f"truncated: {size} bytes is not a whole number of 2880-byte FITS blocks",
        )
    try:
        with fits.open(path) as hdus:
            for hdu in hdus:
                hdu.header  # noqa: B018 - reading every header is the check
    except (OSError, ValueError, fits.VerifyError) as exc:
        raise EventInputError(graceid, filename, f"unreadable FITS: {exc}") from exc


def check_upload(graceid, filename, path, *, limit=fetch_max_bytes):
    """Check one downloaded upload according to its type (by file name)."""
    if filename.endswith((".xml", ".xml.gz")):
        check_xml(graceid, filename, path, limit=limit)
    elif filename.endswith((".fits", ".fits.gz")):
        check_fits(graceid, filename, path, limit=limit)
    else:
        _screen(graceid, filename, path, limit, xml=False)


def _stream_to_file(graceid, filename, raw, path, limit):
    """Copy the response body to ``path``; return the number of bytes received.

    ligo-gracedb decodes ``Content-Encoding: gzip``, so a web server that
    labels ``*.gz`` files that way hands us the uncompressed bytes; those are
    gzipped again (mtime 0, reproducibly) so that the file matches its name.
    """
    chunk = raw.read(_CHUNK)
    regzip = filename.endswith(".gz") and chunk and not chunk.startswith(_GZIP_MAGIC)
    total = 0
    with open(path, "wb") as f:
        out = gzip.GzipFile(fileobj=f, mode="wb", filename="", mtime=0) if regzip else f
        while chunk:
            total += len(chunk)
            if total > limit:
                raise EventInputError(
                    graceid,
                    filename,
                    f"download exceeds the {limit}-byte limit; refused",
                )
            out.write(chunk)
            chunk = raw.read(_CHUNK)
        if regzip:
            out.close()
        f.flush()
        os.fsync(f.fileno())
    if total == 0:
        raise EventInputError(graceid, filename, "the server sent an empty file")
    return total


# --- what to fetch -----------------------------------------------------------


def upload_times(graceid, log_entries):
    """When each replay-relevant upload reached GraceDB, from the event's log.

    Every file upload is a log entry with ``filename``, ``file_version`` and
    ``created`` (GraceDB's "YYYY-MM-DD HH:MM:SS UTC"). ``GET files/<name>``
    serves the newest version, so the time kept is that of the entry with the
    highest version. Returns ``{filename: GPS seconds}`` for names in
    :data:`gwreplay.store.EVENT_FILES` only.
    """
    newest = {}
    for entry in log_entries:
        if not isinstance(entry, dict) or entry.get("filename") not in EVENT_FILES:
            continue
        version = entry.get("file_version")
        version = version if isinstance(version, int) else -1
        try:
            created = normalise_time(entry["created"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EventInputError(
                graceid,
                "log",
                f"log entry for {entry['filename']} has no usable time: {exc}",
            ) from exc
        key = (version, created)
        if entry["filename"] not in newest or key > newest[entry["filename"]][0]:
            newest[entry["filename"]] = (key, created)
    return {name: created for name, (_, created) in newest.items()}


def required_uploads(event):
    """Uploads without which the event cannot be replayed: coinc.xml for CBC."""
    return ("coinc.xml",) if is_cbc(_group_pipeline(event)) else ()


def wanted_uploads(event, logged_names):
    """Uploads to try, in store order: required, the pipeline's usual, logged."""
    pipeline = str(event.get("pipeline", "")).lower()
    names = set(required_uploads(event)) | set(logged_names)
    names |= set(PIPELINE_UPLOADS.get(pipeline, ()))
    if not is_cbc(_group_pipeline(event)):
        names.discard("psd.xml.gz")
        names.discard("ranking_data.xml.gz")
    return [name for name in EVENT_FILES if name in names]


def _group_pipeline(event):
    return {"group": event.get("group"), "pipeline": event.get("pipeline")}


# --- the fetch ---------------------------------------------------------------


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


# --- command line ------------------------------------------------------------


def build_parser(parser):
    """Arguments of ``gwreplay fetch``."""
    parser.add_argument("store", help="event store to fill (docs/store.md)")
    parser.add_argument(
        "--service-url",
        required=True,
        help="GraceDB API root, e.g. https://gracedb.ligo.org/api/",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--superevent",
        nargs="+",
        action="extend",
        metavar="SID",
        help="superevent IDs to fetch (S190425z ...)",
    )
    which.add_argument(
        "--query",
        help="GraceDB superevent query, e.g. 'gpstime: 1238166018 .. 1238170000'",
    )
    parser.add_argument(
        "--category",
        choices=sorted(CATEGORIES),
        help="superevent category (default: GraceDB's, i.e. production)",
    )
    parser.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        default="all",
        help="credential discovery: all (SciToken then X.509; default), "
        "scitoken, x509, or netrc (basic auth from ~/.netrc or $NETRC)",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=fetch_max_retries,
        help=f"retries of a failing request (default {fetch_max_retries})",
    )
    parser.add_argument(
        "--retry-backoff",
        type=float,
        default=fetch_retry_backoff,
        help="first pause (s) between retries, then doubling "
        f"(default {fetch_retry_backoff})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=fetch_timeout,
        help=f"timeout (s) of each request (default {fetch_timeout})",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=fetch_max_bytes,
        help="largest upload to download (bytes)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def main(args):
    """Run ``gwreplay fetch``; exit status 1 if anything could not be fetched."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
    policy = RetryPolicy(max_retries=args.max_retries, backoff=args.retry_backoff)
    try:
        report = fetch(
            args.store,
            service_url=args.service_url,
            superevent_ids=args.superevent,
            query=args.query,
            category=args.category,
            auth=args.auth,
            policy=policy,
            timeout=args.timeout,
            max_bytes=args.max_bytes,
        )
    except ValueError as exc:  # InvalidIdError is a ValueError too
        print(f"gwreplay fetch: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(report.superevents)} superevents, {len(report.events)} events fetched "
        f"({len(report.events_already_complete)} already complete), "
        f"{len(report.downloaded)} files downloaded, "
        f"{len(report.not_on_server)} optional files not on the server"
    )
    if report.problems:
        print(f"{len(report.problems)} problems:", file=sys.stderr)
        for object_id, filename, reason in report.problems:
            print(f"  {object_id}: {filename}: {reason}", file=sys.stderr)
        return 1
    return 0
