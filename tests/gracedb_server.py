"""A small GraceDB look-alike for tests: the REST endpoints ligo-gracedb calls.

:class:`GraceDbTestServer` is a threaded :mod:`http.server` on 127.0.0.1 (a
free port picked by the OS) that serves a *source store* (the layout of
``docs/store.md``) the way GraceDB's API does:

* ``GET /api/``: the API root. ligo-gracedb discovers every endpoint from
  its ``links`` (``events``, ``superevents``) and ``templates``
  (``event-detail-template``, ``event-log-template``, ``files-template``,
  ``superevent-detail-template``, ...), as GraceDB's ``GracedbRoot`` view
  returns them.
* ``GET /api/superevents/?query=...&start=&count=``: paginated superevent
  list (``superevents``, ``numRows``, ``links.next``) for a subset of the
  superevent query language: ``gpstime:``/``t_0:`` (value or ``a .. b``),
  ``t_start:``, ``t_end:``, ``category:`` and bare superevent IDs. Like
  GraceDB, a query without ``category:`` or an ID returns production only.
* ``GET /api/superevents/<SID>/``: superevent detail.
* ``GET /api/superevents/<SID>/signoffs/``: sign-off records
  (``signoff_type``, ``instrument``, ``status``, ``comment``, ``submitter``;
  GraceDB's records carry no time).
* ``GET /api/superevents/<SID>/labels/``: the labels (``name``, ``self``).
* ``GET /api/superevents/<SID>/logs/``: log entries, one "Applied label:
  <name>" per label application, at its time.
* ``GET /api/events/<GraceID>``: event detail.
* ``GET /api/events/<GraceID>/log/``: log entries (``N``, ``comment``,
  ``created`` as "YYYY-MM-DD HH:MM:SS UTC", ``filename``, ``file_version``,
  ``file``), one per upload.
* ``GET /api/events/<GraceID>/files/<name>``: file download (404 if absent).

The source store's ``event.json`` may carry ``uploads`` (upload times, GPS)
and ``extra_log`` (extra raw log entries); both are stripped from the event
JSON served and turned into log entries. A source ``superevent.json`` may
carry ``signoffs`` (the sign-off records) and ``label_log`` (``label``,
``created`` GPS): stripped from the superevent JSON served, they answer the
sign-off, label and log routes. Times are formatted with LAL's
leap-second table, independently of the astropy conversion gwreplay uses.

Faults for tests: :meth:`GraceDbTestServer.add_fault` makes the next
requests to a path answer an HTTP status (with a ``Retry-After`` header when
given as ``(status, seconds)``), stall (sleep), or send a truncated body.
``basic_auth=(user, password)`` demands HTTP basic auth. Every request
is recorded in :attr:`GraceDbTestServer.requests`.

:func:`build_source_store` writes a source store from the real reference
files; :func:`serving` starts a server on it. The lead's end-to-end test can
use both: fetch from the server, then ``gwreplay run`` the fetched store.
"""

import base64
import contextlib
import json
import re
import shutil
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

#: GraceDB's superevent categories (code, display name).
CATEGORIES = {"P": "Production", "T": "Test", "M": "MDC"}
#: Superevents :func:`build_source_store` writes.
SERVED_SUPEREVENTS = ("S170810a", "S170320a", "MS170810a", "S230601a")
#: Keys of a source superevent.json that GraceDB serves elsewhere.
SUPEREVENT_SOURCE_ONLY = ("signoffs", "label_log")


def gracedb_time(value):
    """GPS seconds (or an already formatted string) as GraceDB prints times."""
    if isinstance(value, str):
        return value
    import lal

    year, month, day, hour, minute, second = lal.GPSToUTC(int(value))[:6]
    return f"{year:04d}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}:{second:02d} UTC"


class SourceStore:
    """The events, files and superevents the server answers with."""

    def __init__(self, root):
        root = Path(root)
        self.events = {}
        self.files = {}
        self.superevents = {}
        for folder in sorted((root / "events").iterdir()):
            event = json.loads((folder / "event.json").read_text())
            self.events[folder.name] = event
            self.files[folder.name] = {
                path.name: path
                for path in folder.iterdir()
                if path.is_file() and path.name != "event.json"
            }
        superevents = root / "superevents"
        if superevents.is_dir():
            for folder in sorted(superevents.iterdir()):
                data = json.loads((folder / "superevent.json").read_text())
                self.superevents[data["superevent_id"]] = data

    def superevent_of(self, graceid):
        """The superevent listing ``graceid`` among its gw_events, or None."""
        for sid, data in self.superevents.items():
            if graceid in data.get("gw_events", ()):
                return sid
        return None


_QUERY_TERM = re.compile(
    r"""\s*(?:
        (?P<key>gpstime|t_0|t_start|t_end):\s*(?P<lo>[-+0-9.eE]+)
            (?:\s*\.\.\s*(?P<hi>[-+0-9.eE]+))?
      | category:\s*(?P<category>[A-Za-z]+)
      | (?:(?:id|superevent_id):\s*)?(?P<sid>(?:MS|TS|S)[0-9]{6}[a-z]+)
    )\s*""",
    re.VERBOSE,
)


def parse_superevent_query(query):
    """Predicate for the supported subset of GraceDB's superevent queries.

    Raises ValueError for anything else, as GraceDB answers 400 to a query
    it cannot parse.
    """
    tests = []
    pos = 0
    explicit = False
    while pos < len(query):
        match = _QUERY_TERM.match(query, pos)
        if not match or match.end() == pos:
            raise ValueError(f"Invalid superevent query: {query!r}")
        pos = match.end()
        if match["key"]:
            key = "t_0" if match["key"] == "gpstime" else match["key"]
            lo = float(match["lo"])
            hi = float(match["hi"]) if match["hi"] else lo
            tests.append(lambda s, k=key, a=lo, b=hi: a <= float(s[k]) <= b)
        elif match["category"]:
            name = match["category"].lower()
            tests.append(lambda s, c=name: s.get("category", "").lower() == c)
            explicit = True
        else:
            tests.append(lambda s, i=match["sid"]: s["superevent_id"] == i)
            explicit = True
    if not explicit:
        tests.append(lambda s: s.get("category") == "Production")
    return lambda superevent: all(test(superevent) for test in tests)


class GraceDbTestServer:
    """A threaded HTTP server answering GraceDB's REST API from a source store."""

    def __init__(
        self,
        source,
        *,
        page_size=2,
        basic_auth=None,
        gzip_encoded=(),
        extra_superevents=(),
    ):
        self.source = source if isinstance(source, SourceStore) else SourceStore(source)
        self.page_size = page_size
        self.basic_auth = basic_auth
        self.gzip_encoded = set(gzip_encoded)
        self.extra_superevents = list(extra_superevents)
        self.requests = []
        self.authorizations = []
        self._faults = {}
        self._lock = threading.Lock()
        self._httpd = None
        self._thread = None

    # lifecycle

    def start(self):
        """Listen on 127.0.0.1 at a free port and serve in a daemon thread."""
        handler = type("Handler", (_Handler,), {"app": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self):
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=10)
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base(self):
        """``http://127.0.0.1:<port>``."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self):
        """The API root to give the client (``--service-url``)."""
        return self.base + "/api/"

    # test controls

    def add_fault(self, path, *actions):
        """Answer the next requests to ``path`` with ``actions``, in order.

        An action is an HTTP status (int), a status with ``Retry-After``
        (``(status, seconds)``), a stall in seconds (float; the request is
        then served normally, too late for a short client timeout), or
        ``"truncate"`` (announce the full length, send half).
        """
        with self._lock:
            self._faults.setdefault(path, []).extend(actions)

    def next_fault(self, path):
        with self._lock:
            actions = self._faults.get(path)
            return actions.pop(0) if actions else None

    def record(self, path, authorization):
        with self._lock:
            self.requests.append(path)
            self.authorizations.append(authorization)

    def paths(self, prefix=""):
        """Recorded request paths (with query strings) starting with ``prefix``."""
        with self._lock:
            return [p for p in self.requests if p.startswith(prefix)]

    def file_requests(self):
        """Recorded file downloads, ``(graceid, filename)``."""
        out = []
        for path in self.paths("/api/events/"):
            parts = urlsplit(path).path.split("/")
            if len(parts) == 6 and parts[4] == "files" and parts[5]:
                out.append((parts[3], unquote(parts[5])))
        return out

    # representations

    def api_root(self):
        api = self.url
        ev = api + "events/"
        se = api + "superevents/{superevent_id}/"
        templates = {
            "event-detail-template": ev + "{graceid}",
            "event-log-template": ev + "{graceid}/log/",
            "event-log-detail-template": ev + "{graceid}/log/{N}",
            "event-label-template": ev + "{graceid}/labels/{label}",
            "files-template": ev + "{graceid}/files/{filename}",
            "voevent-list-template": ev + "{graceid}/voevent/",
            "voevent-detail-template": ev + "{graceid}/voevent/{N}",
            "emobservation-list-template": ev + "{graceid}/emobservation/",
            "emobservation-detail-template": ev + "{graceid}/emobservation/{N}",
            "tag-template": ev + "{graceid}/log/{N}/tag/{tag_name}",
            "taglist-template": ev + "{graceid}/log/{N}/tag/",
            "signoff-list-template": ev + "{graceid}/signoff/",
            "superevent-detail-template": se,
            "superevent-event-list-template": se + "events/",
            "superevent-event-detail-template": se + "events/{graceid}/",
            "superevent-label-list-template": se + "labels/",
            "superevent-label-detail-template": se + "labels/{label_name}/",
            "superevent-log-list-template": se + "logs/",
            "superevent-log-detail-template": se + "logs/{N}/",
            "superevent-log-tag-list-template": se + "logs/{N}/tags/",
            "superevent-log-tag-detail-template": se + "logs/{N}/tags/{tag_name}/",
            "superevent-file-list-template": se + "files/",
            "superevent-file-detail-template": se + "files/{file_name}",
            "superevent-voevent-list-template": se + "voevents/",
            "superevent-voevent-detail-template": se + "voevents/{N}/",
            "superevent-emobservation-list-template": se + "emobservations/",
            "superevent-emobservation-detail-template": se + "emobservations/{N}/",
            "superevent-confirm-as-gw-template": se + "confirm-as-gw/",
            "superevent-signoff-list-template": se + "signoffs/",
            "superevent-signoff-detail-template": se + "signoffs/{typeinst}/",
        }
        return {
            "links": {
                "events": ev,
                "superevents": api + "superevents/",
                "self": api,
                "performance": api + "performance/",
                "user-info": api + "user-info/",
            },
            "templates": templates,
            "groups": ["CBC", "Burst", "Test", "External"],
            "pipelines": ["gstlal", "pycbc", "MBTAOnline", "spiir", "CWB", "oLIB"],
            "searches": ["AllSky", "BBH", "EarlyWarning", "MDC", "IMBH"],
            "labels": ["ADVREQ", "DQV", "EM_READY", "GCN_PRELIM_SENT"],
            "em-groups": [],
            "superevent-categories": CATEGORIES,
            "voevent-types": {"PR": "preliminary", "IN": "initial"},
            "signoff-types": {"OP": "operator", "ADV": "advocate"},
            "signoff-statuses": {"OK": "OKAY", "NO": "NOT OKAY"},
            "instruments": {"H1": "LHO", "L1": "LLO", "V1": "Virgo"},
            "API_VERSIONS": ["v1"],
            "server-version": "gwreplay-test",
        }

    def all_superevents(self):
        return list(self.source.superevents.values()) + self.extra_superevents

    def superevent(self, data):
        out = {k: v for k, v in data.items() if k not in SUPEREVENT_SOURCE_ONLY}
        out.setdefault("submitter", "emfollow")
        out.setdefault("labels", [])
        out.setdefault("em_events", [])
        out["created"] = gracedb_time(out.get("created", out.get("t_0", 0)))
        sid = str(out.get("superevent_id"))
        out["links"] = {
            name: f"{self.url}superevents/{sid}/{name}/"
            for name in ("events", "labels", "logs", "files", "voevents")
        }
        out["links"]["self"] = f"{self.url}superevents/{sid}/"
        return out

    def superevent_data(self, sid):
        """The source JSON of superevent ``sid`` (None if there is none)."""
        for data in self.all_superevents():
            if data.get("superevent_id") == sid:
                return data
        return None

    def superevent_signoffs(self, data):
        """Sign-off records as GraceDB's list: no times, a ``self`` link each."""
        sid = data["superevent_id"]
        records = []
        for record in data.get("signoffs", []):
            out = {k: v for k, v in record.items() if k != "created"}
            out.setdefault("submitter", "albert.einstein")
            typeinst = out["signoff_type"] + out.get("instrument", "")
            out["self"] = f"{self.url}superevents/{sid}/signoffs/{typeinst}/"
            records.append(out)
        return {"signoffs": records}

    def superevent_labels(self, data):
        sid = data["superevent_id"]
        return {
            "labels": [
                {
                    "name": name,
                    "creator": "emfollow",
                    "self": f"{self.url}superevents/{sid}/labels/{name}/",
                }
                for name in data.get("labels", [])
            ]
        }

    def superevent_log(self, data):
        """Creation, then one "Applied label: X" entry per ``label_log`` item."""
        sid = data["superevent_id"]
        rows = [(data.get("created", data.get("t_0", 0)), "Superevent created")]
        for item in data.get("label_log", []):
            rows.append((item["created"], f"Applied label: {item['label']}"))
        entries = []
        for n, (when, comment) in enumerate(rows, start=1):
            entries.append(
                {
                    "N": n,
                    "comment": comment,
                    "created": gracedb_time(when),
                    "issuer": "emfollow",
                    "filename": "",
                    "file_version": None,
                    "tag_names": [],
                    "self": f"{self.url}superevents/{sid}/logs/{n}/",
                }
            )
        return {"numRows": len(entries), "log": entries, "links": {}}

    def event(self, graceid):
        out = {k: v for k, v in self.source.events[graceid].items()}
        out.pop("uploads", None)
        out.pop("extra_log", None)
        out["created"] = gracedb_time(out["created"])
        out.setdefault("submitter", "pipeline-robot")
        out.setdefault("labels", [])
        out["superevent"] = self.source.superevent_of(graceid)
        base = f"{self.url}events/{graceid}"
        out["links"] = {
            "self": base,
            "log": base + "/log/",
            "files": base + "/files/",
            "labels": base + "/labels/",
            "tags": base + "/tag/",
            "neighbors": base + "/neighbors/",
            "emobservations": base + "/emobservation/",
        }
        return out

    def event_log(self, graceid):
        """Log entries: original data, each upload at its time, extra entries."""
        event = self.source.events[graceid]
        files = self.source.files[graceid]
        created = event["created"]
        times = {u["filename"]: u["created"] for u in event.get("uploads", [])}
        original = "coinc.xml" if "coinc.xml" in files else "trigger.txt"
        rows = [(original, 0, created, "Original Data")]
        rows.append(("", None, created, f"Event is part of {graceid}'s superevent"))
        for name in sorted(files):
            if name != original:
                rows.append((name, 0, times.get(name, created), f"Uploaded {name}"))
        base = f"{self.url}events/{graceid}"
        entries = []
        for n, (name, version, when, comment) in enumerate(rows, start=1):
            entries.append(
                {
                    "N": n,
                    "comment": comment,
                    "created": gracedb_time(when),
                    "issuer": "pipeline-robot",
                    "filename": name,
                    "file_version": version,
                    "tag_names": [],
                    "self": f"{base}/log/{n}",
                    "tags": f"{base}/log/{n}/tag/",
                    "file": f"{base}/files/{name},{version}" if name else "",
                }
            )
        entries.extend(event.get("extra_log", []))
        return {"numRows": len(entries), "start": 0, "log": entries, "links": {}}


class _Handler(BaseHTTPRequestHandler):
    """Routes GET requests to the :class:`GraceDbTestServer` in ``app``."""

    app = None
    protocol_version = "HTTP/1.0"

    def log_message(self, format, *args):  # noqa: A002 - BaseHTTPRequestHandler API
        pass  # keep test output clean; requests are recorded instead

    def do_GET(self):  # noqa: N802 - BaseHTTPRequestHandler API
        app = self.app
        app.record(self.path, self.headers.get("Authorization"))
        path = urlsplit(self.path).path
        fault = app.next_fault(path)
        if isinstance(fault, float):
            time.sleep(fault)
        elif isinstance(fault, int):
            return self._status(fault)
        elif isinstance(fault, tuple):
            return self._status(*fault)
        if app.basic_auth and not self._authorised():
            return self._send_json(
                401,
                {"detail": "Authentication credentials were not provided."},
                {"WWW-Authenticate": 'Basic realm="gracedb"'},
            )
        try:
            self._route(path, truncate=fault == "truncate")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def _authorised(self):
        user, password = self.app.basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        return self.headers.get("Authorization") == f"Basic {token}"

    def _route(self, path, truncate):
        app = self.app
        parts = path.split("/")[1:]  # ['api', ...]
        if path == "/api/":
            return self._send_json(200, app.api_root())
        if path == "/api/superevents/":
            return self._superevent_list()
        if len(parts) in (4, 5) and parts[1] == "superevents" and parts[-1] == "":
            return self._superevent_route(unquote(parts[2]), parts[3:-1])
        if len(parts) >= 3 and parts[1] == "events":
            graceid = unquote(parts[2])
            if graceid not in app.source.events:
                return self._not_found()
            if len(parts) == 3:
                return self._send_json(200, app.event(graceid))
            if parts[3:] == ["log", ""]:
                return self._send_json(200, app.event_log(graceid))
            if len(parts) == 5 and parts[3] == "files":
                return self._file(graceid, unquote(parts[4]), truncate)
        return self._not_found()

    def _superevent_route(self, sid, rest):
        app = self.app
        data = app.superevent_data(sid)
        views = {
            (): app.superevent,
            ("signoffs",): app.superevent_signoffs,
            ("labels",): app.superevent_labels,
            ("logs",): app.superevent_log,
        }
        view = views.get(tuple(rest))
        if data is None or view is None:
            return self._not_found()
        return self._send_json(200, view(data))

    def _superevent_list(self):
        app = self.app
        params = parse_qs(urlsplit(self.path).query)
        query = params.get("query", [""])[0]
        start = int(params.get("start", ["0"])[0])
        count = int(params.get("count", [str(app.page_size)])[0])
        try:
            matches = parse_superevent_query(query)
        except ValueError as exc:
            return self._send_json(400, {"error": str(exc)})
        selected = sorted(
            (s for s in app.all_superevents() if matches(s)),
            key=lambda s: (float(s.get("t_0", 0)), str(s.get("superevent_id"))),
        )
        page = selected[start : start + count]
        base = app.url + "superevents/"

        def link(first):
            params = {"query": query, "start": first, "count": count}
            return f"{base}?{urlencode(params)}"

        following = start + count
        body = {
            "numRows": len(selected),
            "superevents": [app.superevent(s) for s in page],
            "links": {
                "self": link(start),
                "next": link(following) if following < len(selected) else None,
                "previous": link(max(0, start - count)) if start else None,
                "first": link(0),
                "last": link(max(0, len(selected) - count)),
            },
        }
        return self._send_json(200, body)

    def _file(self, graceid, name, truncate):
        path = self.app.source.files[graceid].get(name)
        if path is None:
            return self._not_found()
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if name in self.app.gzip_encoded:
            # Like a web server configured with "AddEncoding gzip .gz".
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2] if truncate else data)

    def _status(self, status, retry_after=None):
        headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
        self._send_json(status, {"detail": f"test fault {status}"}, headers)

    def _not_found(self):
        self._send_json(404, {"detail": "Not found."})

    def _send_json(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


@contextlib.contextmanager
def serving(source, **kwargs):
    """Run a :class:`GraceDbTestServer` on ``source`` for a ``with`` block."""
    server = GraceDbTestServer(source, **kwargs)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --- a source store from the real reference files ----------------------------


def _event(graceid, **fields):
    event = {
        "graceid": graceid,
        "group": "CBC",
        "search": "AllSky",
        "offline": False,
        "labels": [],
    }
    event.update(fields)
    return event


def _superevent(sid, category, preferred, gw_events, t_0, far, created):
    return {
        "superevent_id": sid,
        "gw_id": None,
        "category": category,
        "created": created,
        "submitter": "emfollow",
        "preferred_event": preferred,
        "em_type": None,
        "t_start": t_0 - 1.0,
        "t_0": t_0,
        "t_end": t_0 + 1.0,
        "gw_events": gw_events,
        "em_events": [],
        "far": far,
        "time_coinc_far": None,
        "space_coinc_far": None,
        "labels": [],
    }


#: Event JSON (as GraceDB returns it, plus source-only ``uploads``) by GraceID.
SOURCE_EVENTS = {
    # O2 event G211117 (gstlal): values from its coinc.xml.
    "G211117": _event(
        "G211117",
        pipeline="gstlal",
        gpstime=1186436412.173834723,
        far=5.176954877338635e-16,
        instruments="H1,L1,V1",
        created=1186436420,
        extra_attributes={
            "CoincInspiral": {"snr": 15.61787480055296, "mchirp": 1.146415114402771}
        },
        uploads=[{"filename": "psd.xml.gz", "created": 1186436425}],
    ),
    # O2 event G322589 (gstlal): values from its coinc.xml; no psd.xml.gz.
    "G322589": _event(
        "G322589",
        pipeline="gstlal",
        gpstime=1174052512.718443512,
        far=1.828671888312737e-07,
        instruments="H1,L1",
        created=1174052520,
        extra_attributes={
            "CoincInspiral": {"snr": 10.47153907920779, "mchirp": 1.417048811912537}
        },
        uploads=[{"filename": "ranking_data.xml.gz", "created": 1174052531}],
    ),
    # A cWB burst beside it (attributes in the shape of GraceDB's G000005).
    "G322590": _event(
        "G322590",
        group="Burst",
        pipeline="CWB",
        gpstime=1174052512.8,
        far=3.021362523404484e-09,
        instruments="H1,L1",
        created=1174052530,
        extra_attributes={
            "MultiBurst": {
                "central_freq": 116.472755,
                "duration": 0.23639,
                "snr": 10.3440804327886,
                "ifos": "H1,L1",
            }
        },
        uploads=[{"filename": "skyprobcc_cWB.fits", "created": 1174052545}],
    ),
    # An MDC event (pycbc, no PSD upload) reusing G211117's coinc.xml.
    "M1001": _event(
        "M1001",
        pipeline="pycbc",
        search="MDC",
        gpstime=1186436412.173834723,
        far=1e-10,
        instruments="H1,L1,V1",
        created=1186436419,
        extra_attributes={"CoincInspiral": {"snr": 15.6, "mchirp": 1.146}},
    ),
    # O4-like: gstlal with its own p_astro uploads and a BAYESTAR multi-order
    # map (which gwreplay fetch must leave: the replay computes it).
    "G330001": _event(
        "G330001",
        pipeline="gstlal",
        gpstime=1369612818.5,
        far=1e-12,
        instruments="H1,L1,V1",
        created=1369612830,
        extra_attributes={"CoincInspiral": {"snr": 15.6, "mchirp": 1.146}},
        uploads=[
            {"filename": "gstlal.p_astro.json", "created": 1369612835},
            {"filename": "p_astro.json", "created": 1369612840},
            {"filename": "bayestar.multiorder.fits", "created": 1369612845},
        ],
    ),
    # O4-like cWB: its multi-order sky map.
    "G330002": _event(
        "G330002",
        group="Burst",
        pipeline="CWB",
        gpstime=1369612818.6,
        far=3e-9,
        instruments="H1,L1",
        created=1369612833,
        extra_attributes={
            "MultiBurst": {
                "central_freq": 116.5,
                "duration": 0.24,
                "snr": 10.3,
                "ifos": "H1,L1",
            }
        },
        uploads=[{"filename": "cwb.multiorder.fits", "created": 1369612850}],
    ),
}

#: The p_astro the O4-like gstlal event uploads (its own and the passed-on one).
O4_P_ASTRO = {"BNS": 0.95, "NSBH": 0.04, "BBH": 0.0, "Terrestrial": 0.01}

SOURCE_SUPEREVENTS = {
    "S170810a": _superevent(
        "S170810a",
        "Production",
        "G211117",
        ["G211117"],
        1186436412.173834723,
        5.176954877338635e-16,
        1186436421,
    ),
    "S170320a": _superevent(
        "S170320a",
        "Production",
        "G322589",
        ["G322589", "G322590"],
        1174052512.718443512,
        1.828671888312737e-07,
        1174052521,
    ),
    "MS170810a": _superevent(
        "MS170810a", "MDC", "M1001", ["M1001"], 1186436412.17, 1e-10, 1186436420
    ),
    # 2023-06-01 00:00:18 UTC. ADVOK applied without a sign-off record, then
    # the advocate's NO sign-off (and its ADVNO label); an operator sign-off
    # beside them.
    "S230601a": dict(
        _superevent(
            "S230601a",
            "Production",
            "G330001",
            ["G330001", "G330002"],
            1369612818.5,
            1e-12,
            1369612831,
        ),
        labels=["ADVOK", "ADVNO"],
        signoffs=[
            {"signoff_type": "OP", "instrument": "H1", "status": "OK", "comment": ""},
            {
                "signoff_type": "ADV",
                "instrument": "",
                "status": "NO",
                "comment": "glitch in L1",
            },
        ],
        label_log=[
            {"label": "ADVREQ", "created": 1369612900},
            {"label": "ADVOK", "created": 1369613000},
            {"label": "ADVNO", "created": 1369613500},
        ],
    ),
}


def build_source_store(root, reference_dir):
    """Write the served store under ``root`` from the real reference files.

    Superevents S170810a (G211117: coinc.xml, psd.xml.gz), S170320a (G322589:
    coinc.xml, ranking_data.xml.gz, no PSD; G322590: cWB sky map), the MDC
    superevent MS170810a (M1001: coinc.xml only) and the O4-like S230601a
    (G330001: coinc.xml, p_astro uploads, bayestar.multiorder.fits;
    G330002: cwb.multiorder.fits; sign-offs). Returns ``root``.
    """
    from builders import write_gaussian_skymap

    root = Path(root)
    reference_dir = Path(reference_dir)
    files = {
        "G211117": {
            "coinc.xml": reference_dir / "G211117" / "coinc.xml",
            "psd.xml.gz": reference_dir / "G211117" / "psd.xml.gz",
        },
        "G322589": {
            "coinc.xml": reference_dir / "G322589" / "coinc.xml",
            "ranking_data.xml.gz": reference_dir / "G322589" / "ranking_data.xml.gz",
        },
        "M1001": {"coinc.xml": reference_dir / "G211117" / "coinc.xml"},
        "G330001": {"coinc.xml": reference_dir / "G211117" / "coinc.xml"},
    }
    for graceid, event in SOURCE_EVENTS.items():
        folder = root / "events" / graceid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "event.json").write_text(json.dumps(event, indent=2))
        for name, source in files.get(graceid, {}).items():
            shutil.copyfile(source, folder / name)
    write_gaussian_skymap(
        root / "events" / "G322590" / "skyprobcc_cWB.fits", ra_deg=120.0, dec_deg=-30.0
    )
    o4 = root / "events" / "G330001"
    for name in ("gstlal.p_astro.json", "p_astro.json"):
        (o4 / name).write_text(json.dumps(O4_P_ASTRO))
    write_multiorder_skymap(o4 / "bayestar.multiorder.fits", 200.0, 10.0)
    write_multiorder_skymap(
        root / "events" / "G330002" / "cwb.multiorder.fits", 201.0, 11.0
    )
    for sid, superevent in SOURCE_SUPEREVENTS.items():
        folder = root / "superevents" / sid
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "superevent.json").write_text(json.dumps(superevent, indent=2))
    return root


def write_multiorder_skymap(path, ra_deg, dec_deg):
    """A multi-order (UNIQ, PROBDENSITY) map, by ligo.skymap from a flat one."""
    from builders import write_gaussian_skymap
    from ligo.skymap.io import fits

    flat = Path(path).with_suffix(".flat.fits")
    write_gaussian_skymap(flat, ra_deg=ra_deg, dec_deg=dec_deg)
    table = fits.read_sky_map(str(flat), moc=True)
    flat.unlink()
    fits.write_sky_map(str(path), table)
