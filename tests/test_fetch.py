"""Tests of ``gwreplay fetch`` against a local GraceDB look-alike.

The client is the real :class:`ligo.gracedb.rest.GraceDb`; the server is
``tests/gracedb_server.py`` serving real LIGO uploads (G211117, G322589) and
a cWB sky map written by ligo.skymap. Upload times travel GPS -> GraceDB's
UTC text (LAL) -> GPS (astropy, in gwreplay), so the round trip checks the
conversion against an independent leap-second table.
"""

import argparse
import base64
import calendar
import gzip
import json
import os
import shutil
import time
import types
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from gracedb_server import (
    SOURCE_EVENTS,
    build_source_store,
    gracedb_time,
    serving,
)

from gwreplay import fetch as fetch_module
from gwreplay.errors import EventInputError
from gwreplay.fetch import (
    check_service_url,
    check_upload,
    fetch,
    upload_times,
)
from gwreplay.store import load_store

#: Query covering both production superevents (2017-03-20 and 2017-08-10).
WINDOW = "gpstime: 1174052000 .. 1186437000"


# --- fixtures ----------------------------------------------------------------


@pytest.fixture(autouse=True)
def no_ambient_credentials(tmp_path, monkeypatch):
    """Keep the developer's own tokens, certificates and netrc out of the tests."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    for name in (
        "NETRC",
        "SCITOKEN_FILE",
        "BEARER_TOKEN",
        "BEARER_TOKEN_FILE",
        "X509_USER_PROXY",
        "X509_USER_CERT",
        "X509_USER_KEY",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("IGWN_AUTH_UTILS_FIND_SCITOKEN", "0")
    monkeypatch.setenv("IGWN_AUTH_UTILS_FIND_X509", "0")


@pytest.fixture(scope="session")
def source_store(reference_dir, tmp_path_factory):
    """The store the server serves (built once; copy it before changing it)."""
    return build_source_store(tmp_path_factory.mktemp("gracedb") / "src", reference_dir)


@pytest.fixture
def source_copy(source_store, tmp_path):
    """A private copy of the served store, for tests that alter it."""
    return Path(shutil.copytree(source_store, tmp_path / "src"))


@pytest.fixture
def gracedb(source_store):
    """A running server on the shared source store."""
    with serving(source_store) as server:
        yield server


@pytest.fixture
def store(tmp_path):
    return tmp_path / "store"


def gps_from_utc(*utc):
    """GPS seconds of a UTC time from 2017 to 2026: 18 leap seconds since 1980.

    Independent of LAL and astropy: Unix time minus the GPS epoch's
    (1980-01-06, Unix 315964800), plus the leap seconds between them.
    """
    return calendar.timegm((*utc, 0, 0, 0)) - 315964800 + 18


@pytest.fixture
def pauses(monkeypatch):
    """The pauses urllib3's Retry (the client's) takes, recorded, not slept.

    Only ``urllib3.util.retry``'s own clock is replaced; the client, its
    Retry and the server are the real ones.
    """
    import urllib3.util.retry

    recorded = []
    clock = types.SimpleNamespace(sleep=recorded.append, time=time.time)
    monkeypatch.setattr(urllib3.util.retry, "time", clock)
    return recorded


def run_cli(argv):
    parser = argparse.ArgumentParser()
    fetch_module.build_parser(parser)
    return fetch_module.main(parser.parse_args(argv))


def stored(store, graceid, name):
    return (Path(store) / "events" / graceid / name).read_bytes()


def served(source, graceid, name):
    return (Path(source) / "events" / graceid / name).read_bytes()


# --- fetching ----------------------------------------------------------------


def test_fetch_by_superevent_writes_a_loadable_store(gracedb, source_store, store):
    report = fetch(
        store,
        service_url=gracedb.url,
        superevent_ids=["S170810a", "S170320a"],
    )
    assert report.problems == []
    assert sorted(report.events) == ["G211117", "G322589", "G322590"]
    # Every upload arrives byte for byte.
    for graceid, name in [
        ("G211117", "coinc.xml"),
        ("G211117", "psd.xml.gz"),
        ("G322589", "coinc.xml"),
        ("G322589", "ranking_data.xml.gz"),
        ("G322590", "skyprobcc_cWB.fits"),
    ]:
        assert stored(store, graceid, name) == served(source_store, graceid, name)
    # G322589 has no PSD upload: the 404 is no error.
    assert ("G322589", "psd.xml.gz") in report.not_on_server
    assert not (store / "events" / "G322589" / "psd.xml.gz").exists()
    # The event JSON is GraceDB's, plus upload times in GPS from the log.
    event = json.loads(stored(store, "G211117", "event.json"))
    assert event["graceid"] == "G211117"
    assert event["created"] == "2017-08-10 21:40:02 UTC"
    assert gps_from_utc(2017, 8, 10, 21, 40, 2) == 1186436420
    assert event["uploads"] == [
        {"filename": "coinc.xml", "created": 1186436420.0},
        {"filename": "psd.xml.gz", "created": 1186436425.0},
    ]
    superevent = json.loads(
        (store / "superevents" / "S170320a" / "superevent.json").read_text()
    )
    assert superevent["gw_events"] == ["G322589", "G322590"]
    # gwreplay's own store reader accepts the result, with the same times.
    loaded = load_store(store)
    assert loaded.problems == []
    assert sorted(loaded.events) == ["G211117", "G322589", "G322590"]
    assert loaded.events["G322590"]["upload_times"] == {
        "skyprobcc_cWB.fits": 1174052545.0
    }
    assert loaded.events["G322589"]["created"] == 1174052520.0
    assert sorted(loaded.superevents) == ["S170320a", "S170810a"]


def test_fetch_by_query_follows_pages_and_keeps_to_production(source_store, store):
    with serving(source_store, page_size=1) as server:
        report = fetch(store, service_url=server.url, query=WINDOW)
        pages = server.paths("/api/superevents/?")
    assert report.problems == []
    assert sorted(report.superevents) == ["S170320a", "S170810a"]
    assert len(pages) == 2  # one superevent per page: the client followed "next"
    # GraceDB leaves MDC superevents out unless asked.
    assert not (store / "superevents" / "MS170810a").exists()
    assert not (store / "events" / "M1001").exists()


def test_category_selects_mdc_superevents(gracedb, store):
    argv = [str(store), "--service-url", gracedb.url, "--query", WINDOW]
    assert run_cli(argv + ["--category", "mdc"]) == 0
    assert [p.name for p in (store / "superevents").iterdir()] == ["MS170810a"]
    assert [p.name for p in (store / "events").iterdir()] == ["M1001"]
    # The pycbc MDC event has no PSD upload: tolerated.
    assert sorted(os.listdir(store / "events" / "M1001")) == ["coinc.xml", "event.json"]


def test_second_call_downloads_nothing(gracedb, store):
    fetch(store, service_url=gracedb.url, superevent_ids=["S170320a"])
    first = len(gracedb.requests)
    assert first > 0
    report = fetch(store, service_url=gracedb.url, superevent_ids=["S170320a"])
    assert gracedb.requests[first:] == []  # not even the API root
    assert report.downloaded == [] and report.events == []
    assert sorted(report.events_already_complete) == ["G322589", "G322590"]
    # By query, only the listing itself is asked for again.
    fetch(store, service_url=gracedb.url, query=WINDOW)
    again = len(gracedb.requests)
    fetch(store, service_url=gracedb.url, query=WINDOW)
    assert all(
        p == "/api/" or p.startswith("/api/superevents/?")
        for p in gracedb.requests[again:]
    )


def test_interrupted_event_resumes_with_only_the_missing_upload(gracedb, store, pauses):
    gracedb.add_fault("/api/events/G211117/files/psd.xml.gz", 502, 502, 502)
    report = fetch(
        store, service_url=gracedb.url, superevent_ids=["S170810a"], retries=2
    )
    [(graceid, name, reason)] = report.problems
    assert (graceid, name) == ("G211117", "psd.xml.gz")
    assert reason.startswith("gave up after the client's retries")
    assert "too many 502 error responses" in reason  # urllib3's own account
    assert len(gracedb.paths("/api/events/G211117/files/psd.xml.gz")) == 3
    folder = store / "events" / "G211117"
    assert not (folder / "event.json").exists()  # not complete
    assert sorted(os.listdir(folder)) == ["coinc.xml"]  # no temp file left behind
    before = len(gracedb.file_requests())
    report = fetch(store, service_url=gracedb.url, superevent_ids=["S170810a"])
    assert report.problems == []
    assert gracedb.file_requests()[before:] == [
        ("G211117", "psd.xml.gz"),
        ("G211117", "ranking_data.xml.gz"),  # gstlal's usual upload: tried, 404
    ]
    assert (folder / "event.json").exists()


# --- retries (ligo-gracedb's client and its urllib3 Retry) -------------------


def test_retries_server_errors_and_broken_downloads(
    gracedb, source_store, store, pauses
):
    psd = "/api/events/G211117/files/psd.xml.gz"
    gracedb.add_fault(psd, 502, (429, 7), 504, "truncate")
    gracedb.add_fault("/api/events/G211117/log/", 504)
    report = fetch(
        store, service_url=gracedb.url, superevent_ids=["S170810a"], backoff=0.5
    )
    assert report.problems == []
    assert len(gracedb.paths(psd)) == 5
    assert stored(store, "G211117", "psd.xml.gz") == served(
        source_store, "G211117", "psd.xml.gz"
    )
    # urllib3's back-off is factor * 2 ** (consecutive errors - 1), none after
    # the first error: log/ 504 -> no pause; psd: 502 -> none, 429 -> the
    # server's Retry-After (7 s) instead, 504 (third error) -> 0.5 * 4 = 2 s;
    # the truncated body is asked for again under a fresh Retry -> no pause.
    assert pauses == [7.0, 2.0]


def test_retry_after_is_capped_by_the_client_and_503_with_it_retried(
    gracedb, store, pauses
):
    from ligo.gracedb.client import MAX_RETRY_AFTER_SECONDS

    gracedb.add_fault("/api/events/G211117", (429, 100), (503, 2))
    report = fetch(store, service_url=gracedb.url, superevent_ids=["S170810a"])
    assert report.problems == [] and report.stopped is None
    assert MAX_RETRY_AFTER_SECONDS == 30
    assert pauses == [30.0, 2.0]
    assert gracedb.requests.count("/api/events/G211117") == 3


def test_retries_a_timed_out_request(gracedb, store, pauses):
    gracedb.add_fault("/api/events/G211117", 2.0)  # stalls past the timeout
    report = fetch(
        store, service_url=gracedb.url, superevent_ids=["S170810a"], timeout=0.3
    )
    assert report.problems == []
    assert len(gracedb.paths("/api/events/G211117")) >= 2
    assert pauses == []  # one error: urllib3 retries at once


def test_client_errors_are_not_retried(gracedb, store, pauses):
    gracedb.add_fault("/api/events/G211117", 500)
    report = fetch(store, service_url=gracedb.url, superevent_ids=["S170810a"])
    assert pauses == []
    assert gracedb.requests.count("/api/events/G211117") == 1
    assert report.problems == [
        ("G211117", "event.json", "HTTP 500 Internal Server Error")
    ]


def test_maintenance_503_stops_the_fetch_and_the_next_call_resumes(
    gracedb, store, capsys
):
    psd = "/api/events/G211117/files/psd.xml.gz"
    gracedb.add_fault(psd, 503)  # no Retry-After: GraceDB's maintenance mode
    argv = [str(store), "--service-url", gracedb.url, "--query", WINDOW, "-q"]
    assert run_cli(argv) == 5
    err = capsys.readouterr().err
    assert "HTTP 503 without Retry-After" in err
    assert "G211117: psd.xml.gz" in err
    # Asked once, not retried; nothing asked after it (S170810a is the second
    # superevent of the window, so S170320a is complete and the rest untouched).
    assert len(gracedb.paths(psd)) == 1
    assert gracedb.requests[-1] == psd
    assert (store / "events" / "G322589" / "event.json").exists()
    assert not (store / "events" / "G211117" / "event.json").exists()
    assert not (store / "superevents" / "S170810a" / "signoffs.json").exists()
    assert run_cli(argv) == 0
    assert (store / "events" / "G211117" / "event.json").exists()
    assert (store / "superevents" / "S170810a" / "signoffs.json").exists()


def test_service_url_defaults_to_ligo_gracedbs():
    from gwreplay.fetch.client import default_service_url

    # ligo-gracedb's documented default, the production server.
    assert default_service_url() == "https://gracedb.ligo.org/api/"
    parser = argparse.ArgumentParser()
    fetch_module.build_parser(parser)
    assert parser.parse_args(["s", "--superevent", "S1"]).service_url is None


# --- optional and required uploads -------------------------------------------


def test_missing_required_coinc_fails_only_that_event(source_copy, store):
    (source_copy / "events" / "G322589" / "coinc.xml").unlink()
    with serving(source_copy) as server:
        argv = [str(store), "--service-url", server.url, "--superevent", "S170320a"]
        status = run_cli(argv)
    assert status == 1
    assert not (store / "events" / "G322589" / "event.json").exists()
    assert (store / "events" / "G322590" / "event.json").exists()


# --- hostile servers ---------------------------------------------------------


def test_hostile_ids_are_refused_and_the_rest_fetched(source_copy, store, capsys):
    path = source_copy / "superevents" / "S170810a" / "superevent.json"
    superevent = json.loads(path.read_text())
    superevent["gw_events"] = ["../evil", "G211117", "G1/../../x"]
    path.write_text(json.dumps(superevent))
    event_path = source_copy / "events" / "G211117" / "event.json"
    event = json.loads(event_path.read_text())
    escape = {"N": 9, "comment": "x", "created": "2017-08-10 21:40:30 UTC"}
    escape.update(filename="../../../escape.xml", file_version=0)
    event["extra_log"] = [escape]
    event_path.write_text(json.dumps(event))
    hostile = dict(superevent, superevent_id="../x", gw_events=["G322589"])
    with serving(source_copy, extra_superevents=[hostile]) as server:
        status = run_cli([str(store), "--service-url", server.url, "--query", WINDOW])
        requested = list(server.requests)
    err = capsys.readouterr().err
    assert status == 1
    assert "refusing superevent ID '../x'" in err
    assert "refusing event ID '../evil'" in err
    assert "refusing event ID 'G1/../../x'" in err
    # The others are fetched; nothing is written outside the store.
    assert (store / "events" / "G211117" / "event.json").exists()
    assert (store / "events" / "G322589" / "event.json").exists()
    assert sorted(p.name for p in store.parent.iterdir()) == ["home", "src", "store"]
    assert not list(store.rglob("escape.xml"))
    assert not any(".." in urlsplit(p).path for p in requested)


def test_event_json_for_another_id_is_refused(source_copy, store):
    path = source_copy / "events" / "G211117" / "event.json"
    path.write_text(json.dumps(dict(json.loads(path.read_text()), graceid="G9")))
    with serving(source_copy) as server:
        report = fetch(store, service_url=server.url, superevent_ids=["S170810a"])
    assert report.problems == [
        ("G211117", "event.json", "server returned graceid 'G9' for G211117")
    ]
    assert not (store / "events" / "G211117" / "event.json").exists()


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("psd.xml.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 20, "truncated or corrupt"),
        ("coinc.xml", b"<html><body>Server error</body></html>", "not a LIGO_LW"),
        ("coinc.xml", b"<?xml version='1.0'?><LIGO_LW><Table>", "not well-formed"),
        ("skyprobcc_cWB.fits", b"SIMPLE  =" + b" " * 20 + b"T", "truncated"),
        ("skyprobcc_cWB.fits", b"GIF89a" + b"\x00" * 3000, "no FITS primary header"),
    ],
)
def test_bad_download_is_refused_and_not_kept(
    source_copy, store, name, content, reason
):
    graceid = "G322590" if name.endswith(".fits") else "G211117"
    sid = "S170320a" if graceid == "G322590" else "S170810a"
    (source_copy / "events" / graceid / name).write_bytes(content)
    with serving(source_copy) as server:
        report = fetch(store, service_url=server.url, superevent_ids=[sid])
    [(object_id, filename, message)] = report.problems
    assert (object_id, filename) == (graceid, name)
    assert reason in message
    folder = store / "events" / graceid
    assert name not in os.listdir(folder)
    assert not [n for n in os.listdir(folder) if n.startswith(".tmp")]
    assert "event.json" not in os.listdir(folder)


def test_size_limit(gracedb, store):
    report = fetch(
        store,
        service_url=gracedb.url,
        superevent_ids=["S170810a"],
        max_bytes=100_000,  # coinc.xml is 50 kB, psd.xml.gz 294 kB
    )
    assert report.problems == [
        ("G211117", "psd.xml.gz", "download exceeds the 100000-byte limit; refused")
    ]
    assert (store / "events" / "G211117" / "coinc.xml").exists()


def test_gzip_content_encoding_is_undone(source_store, store):
    """A server labelling .gz files Content-Encoding: gzip still yields a .gz file."""
    with serving(source_store, gzip_encoded={"psd.xml.gz"}) as server:
        report = fetch(store, service_url=server.url, superevent_ids=["S170810a"])
    assert report.problems == []
    data = stored(store, "G211117", "psd.xml.gz")
    assert data[:2] == b"\x1f\x8b"
    assert gzip.decompress(data) == gzip.decompress(
        served(source_store, "G211117", "psd.xml.gz")
    )


# --- checks of single uploads ------------------------------------------------


def test_reference_uploads_pass_the_checks(source_store):
    for graceid, names in {
        "G211117": ["coinc.xml", "psd.xml.gz"],
        "G322589": ["coinc.xml", "ranking_data.xml.gz"],
        "G322590": ["skyprobcc_cWB.fits"],
    }.items():
        for name in names:
            check_upload(graceid, name, source_store / "events" / graceid / name)


def test_xml_with_entities_is_refused(tmp_path):
    path = tmp_path / "coinc.xml"
    path.write_bytes(
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><LIGO_LW>&a;</LIGO_LW>'
    )
    with pytest.raises(EventInputError, match="G1: coinc.xml: XML declares a DTD"):
        check_upload("G1", "coinc.xml", path)


def test_upload_times_keep_the_newest_version_and_ignore_other_names():
    early, late = "2019-04-01 15:00:00 UTC", "2019-04-01 16:06:22 UTC"
    entries = [
        {"filename": "psd.xml.gz", "file_version": 0, "created": early},
        {"filename": "psd.xml.gz", "file_version": 1, "created": late},
        {"filename": "../../etc/passwd", "file_version": 0, "created": early},
        {"filename": "", "file_version": None, "created": early},
    ]
    assert upload_times("G1", entries) == {
        "psd.xml.gz": float(gps_from_utc(2019, 4, 1, 16, 6, 22))
    }


def test_gracedb_time_format_matches_gracedb():
    # GraceDB's reference superevent S180616h: created "2018-06-16 17:35:13 UTC".
    gps = gps_from_utc(2018, 6, 16, 17, 35, 13)
    assert gracedb_time(gps) == "2018-06-16 17:35:13 UTC"


# --- credentials -------------------------------------------------------------

USER = "replay-robot"
PASSWORD = "s3cr3t-Pa55word-do-not-log"


def test_netrc_password_is_used_but_never_logged_or_stored(
    source_store, store, tmp_path, monkeypatch, caplog, capsys
):
    netrc = tmp_path / "netrc"
    netrc.write_text(f"machine 127.0.0.1 login {USER} password {PASSWORD}\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    monkeypatch.delenv("IGWN_AUTH_UTILS_FIND_SCITOKEN")
    monkeypatch.delenv("IGWN_AUTH_UTILS_FIND_X509")
    caplog.set_level("DEBUG")  # urllib3, requests, igwn-auth-utils, gwreplay
    with serving(source_store, basic_auth=(USER, PASSWORD)) as server:
        server.add_fault("/api/events/G211117/files/psd.xml.gz", 502)
        server.add_fault("/api/events/G211117", 403)  # an auth failure message too
        argv = [str(store), "--service-url", server.url, "--auth", "netrc"]
        argv += ["--superevent", "S170810a", "--retry-backoff", "0", "-v"]
        status = run_cli(argv)
        status_again = run_cli(argv)
        authorizations = set(server.authorizations)
    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    # The password was really sent (so the check below means something)...
    assert authorizations == {f"Basic {token}"}
    assert (status, status_again) == (1, 0)
    assert "check your GraceDB credentials" in caplog.text
    # ... and appears nowhere: not in logs, output or any stored file.
    out = capsys.readouterr()
    for secret in (PASSWORD, token, "Authorization"):
        assert secret not in caplog.text
        assert secret not in out.out + out.err
    for path in store.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert PASSWORD.encode() not in data and token.encode() not in data
    # The netrc switch does not outlive the fetch.
    assert "IGWN_AUTH_UTILS_FIND_SCITOKEN" not in os.environ


def test_without_credentials_the_server_refuses(source_store, store):
    with serving(source_store, basic_auth=(USER, PASSWORD)) as server:
        report = fetch(store, service_url=server.url, superevent_ids=["S170810a"])
    [(sid, name, reason)] = report.problems
    assert (sid, name) == ("S170810a", "superevent.json")
    assert reason.startswith("HTTP 401")
    assert "credentials" in reason


@pytest.mark.parametrize(
    "url",
    [
        "https://user:secret@gracedb.ligo.org/api/",
        "http://gracedb.ligo.org/api/",
        "ftp://gracedb.ligo.org/api/",
    ],
)
def test_unsafe_service_urls_are_refused(url):
    with pytest.raises(ValueError):
        check_service_url(url)


def test_safe_service_urls_are_accepted():
    for url in (
        "https://gracedb.ligo.org/api/",
        "http://127.0.0.1:8000/api/",
        "http://localhost/api/",
    ):
        assert check_service_url(url) == url


def test_cli_refuses_bad_ids_and_category_mismatch(store, capsys):
    url = "https://gracedb.ligo.org/api/"
    assert run_cli([str(store), "--service-url", url, "--superevent", "../x"]) == 2
    assert "refusing superevent ID '../x'" in capsys.readouterr().err
    argv = [str(store), "--service-url", url, "--superevent", "S190425z"]
    status = run_cli(argv + ["--category", "mdc"])
    assert status == 2
    assert "not a mdc superevent" in capsys.readouterr().err
    assert not store.exists()


def test_server_serves_source_times_as_gracedb_text(gracedb):
    """The test server itself: the event JSON carries GraceDB's time format."""
    import requests

    event = requests.get(gracedb.url + "events/G322590", timeout=10).json()
    assert SOURCE_EVENTS["G322590"]["created"] == gps_from_utc(2017, 3, 20, 13, 41, 52)
    assert event["created"] == "2017-03-20 13:41:52 UTC"
    assert "uploads" not in event


# --- the fetched store replays -----------------------------------------------


@pytest.mark.slow
def test_fetched_store_replays_with_gwreplay_run(gracedb, store, tmp_path):
    """Fetch S170810a (the real G211117) and replay it: the alert goes out."""
    import csv

    from builders import ONE_DETECTOR_BAYESTAR, gwreplay_run

    report = fetch(store, service_url=gracedb.url, superevent_ids=["S170810a"])
    assert report.problems == []
    results = tmp_path / "results"
    status, output = gwreplay_run(store, results, ONE_DETECTOR_BAYESTAR)
    assert status == 0, output
    with open(results / "alerts.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    # O4's alerts.csv has a row per notice (docs/policies.md): all of S170810a.
    assert rows
    for row in rows:
        pair = (row["superevent_id"], row["preferred_event"])
        assert pair == ("S170810a", "G211117")
        assert row["status"] == "sent"
        assert (results / row["notice"]).exists()
