"""``gwreplay fetch`` of an O4 superevent: sign-offs, pipeline p_astro, multi-order
maps, strict JSON screening, progress bars.

Against the local GraceDB look-alike (``tests/gracedb_server.py``) with the
real ligo-gracedb client. S230601a's sign-off history is written by hand in
the server's source store; the expected ``signoffs.json`` below is derived
from it independently (the GPS times are those of the label log entries).
"""

# ruff: noqa: F811 - the fixtures imported from test_fetch are redefined as
# test parameters, as pytest means them to be.

import json

import pytest
from gracedb_server import O4_P_ASTRO
from test_fetch import (  # noqa: F401 - fixtures
    gracedb,
    no_ambient_credentials,
    run_cli,
    served,
    source_copy,
    source_store,
    store,
    stored,
)

from gwreplay.errors import EventInputError
from gwreplay.fetch import check_upload, fetch, signoff_record


def test_o4_superevent_brings_its_uploads_and_signoffs(gracedb, source_store, store):
    report = fetch(store, service_url=gracedb.url, superevent_ids=["S230601a"])
    assert report.problems == []
    folder = store / "events" / "G330001"
    names = sorted(p.name for p in folder.iterdir())
    # bayestar.multiorder.fits is listed in the log and served, but not fetched.
    assert names == ["coinc.xml", "event.json", "gstlal.p_astro.json", "p_astro.json"]
    assert not any(
        p == ("G330001", "bayestar.multiorder.fits") for p in report.downloaded
    )
    assert ("G330001", "bayestar.multiorder.fits") not in gracedb.file_requests()
    assert json.loads(stored(store, "G330001", "p_astro.json")) == O4_P_ASTRO
    assert stored(store, "G330002", "cwb.multiorder.fits") == served(
        source_store, "G330002", "cwb.multiorder.fits"
    )
    event = json.loads(stored(store, "G330001", "event.json"))
    # In the order of gwreplay.fetch.uploads.FETCHED_FILES.
    assert event["uploads"] == [
        {"filename": "coinc.xml", "created": 1369612830.0},
        {"filename": "p_astro.json", "created": 1369612840.0},
        {"filename": "gstlal.p_astro.json", "created": 1369612835.0},
    ]
    signoffs = json.loads(
        (store / "superevents" / "S230601a" / "signoffs.json").read_text()
    )
    # ADVOK label without a record (dated by its log entry), then the
    # advocate's NO sign-off (dated by the ADVNO entry); the H1 operator
    # sign-off and the ADVREQ label are no ADV decision.
    assert signoffs == {
        "superevent_id": "S230601a",
        "signoffs": [
            {
                "signoff_type": "ADV",
                "instrument": "",
                "status": "OK",
                "time": 1369613000.0,
                "comment": "",
            },
            {
                "signoff_type": "ADV",
                "instrument": "",
                "status": "NO",
                "time": 1369613500.0,
                "comment": "glitch in L1",
            },
        ],
    }


def test_superevent_without_signoffs_gets_an_empty_list(gracedb, store):
    assert (
        fetch(store, service_url=gracedb.url, superevent_ids=["S170810a"]).problems
        == []
    )
    path = store / "superevents" / "S170810a" / "signoffs.json"
    assert json.loads(path.read_text()) == {"superevent_id": "S170810a", "signoffs": []}


def test_signoff_record_rules():
    log = [
        {"comment": "Applied label: ADVOK", "created": "2023-06-01 00:05:00 UTC"},
        {"comment": "Removed label: ADVOK", "created": "2023-06-01 00:06:00 UTC"},
        {"comment": "Applied label: ADVNO", "created": "2023-06-01 00:07:00 UTC"},
    ]
    # 2023-06-01 00:00:00 UTC is GPS 1369612818 (18 leap seconds).
    ok_time, no_time = 1369612818.0 + 300, 1369612818.0 + 420
    records = [{"signoff_type": "advocate", "status": "OKAY", "comment": "fine"}]
    record = signoff_record("S1", records, [{"name": "ADVNO"}], log)
    assert [(e["status"], e["time"], e["comment"]) for e in record["signoffs"]] == [
        ("OK", ok_time, "fine"),
        ("NO", no_time, ""),
    ]
    with pytest.raises(EventInputError, match="ADV OK decision with no time"):
        signoff_record("S1", records, [], [])
    with pytest.raises(EventInputError, match="status 'MAYBE'"):
        signoff_record("S1", [{"signoff_type": "ADV", "status": "MAYBE"}], [], log)


def test_undatable_signoff_is_a_problem_and_retried_next_time(source_copy, store):
    from gracedb_server import serving

    path = source_copy / "superevents" / "S230601a" / "superevent.json"
    data = json.loads(path.read_text())
    path.write_text(json.dumps(dict(data, label_log=[])))
    with serving(source_copy) as server:
        report = fetch(store, service_url=server.url, superevent_ids=["S230601a"])
    [(sid, name, reason)] = report.problems
    assert (sid, name) == ("S230601a", "signoffs.json")
    assert "no time" in reason
    assert not (store / "superevents" / "S230601a" / "signoffs.json").exists()
    assert (store / "events" / "G330001" / "event.json").exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b'{"BNS": NaN}', "not valid JSON"),
        (b"[0.5, 0.5]", "not a JSON object"),
        (b'{"BNS": 1.0', "not valid JSON"),
        (b"\xff\xfe{}", "not valid JSON"),
    ],
)
def test_bad_json_upload_is_refused(tmp_path, content, reason):
    path = tmp_path / "p_astro.json"
    path.write_bytes(content)
    with pytest.raises(EventInputError, match=reason):
        check_upload("G1", "p_astro.json", path)


def test_json_size_limit(tmp_path):
    path = tmp_path / "p_astro.json"
    path.write_text(json.dumps(O4_P_ASTRO))
    with pytest.raises(EventInputError, match="limit"):
        check_upload("G1", "p_astro.json", path, limit=10)


def test_bad_p_astro_download_is_not_kept(source_copy, store):
    from gracedb_server import serving

    (source_copy / "events" / "G330001" / "p_astro.json").write_text("<html>")
    with serving(source_copy) as server:
        report = fetch(store, service_url=server.url, superevent_ids=["S230601a"])
    [(graceid, name, reason)] = report.problems
    assert (graceid, name) == ("G330001", "p_astro.json")
    assert "not valid JSON" in reason
    assert not (store / "events" / "G330001" / "p_astro.json").exists()
    assert not (store / "events" / "G330001" / "event.json").exists()


def test_progress_bars_count_superevents_and_bytes(gracedb, store, capsys):
    ids = ["S170810a", "S170320a"]
    report = fetch(store, service_url=gracedb.url, superevent_ids=ids, progress=True)
    err = capsys.readouterr().err
    assert "superevents: 100%" in err and "2/2" in err
    assert "downloaded" in err
    uploads = [
        p
        for p in (store / "events").rglob("*")
        if p.is_file() and p.name != "event.json"
    ]
    assert report.bytes_downloaded == sum(p.stat().st_size for p in uploads)


def test_no_bars_off_a_terminal_or_with_quiet(gracedb, store, capsys):
    argv = [str(store), "--service-url", gracedb.url, "--superevent", "S170810a"]
    assert run_cli(argv) == 0  # stderr is captured: not a terminal
    assert "superevents:" not in capsys.readouterr().err
    assert run_cli(argv + ["--quiet"]) == 0
    assert "superevents:" not in capsys.readouterr().err
