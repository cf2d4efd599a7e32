"""The event store loader: validation, upload times, refused IDs."""

import json

import pytest
from builders import G211117_EVENT, gwreplay, write_event

from gwreplay.errors import InvalidIdError
from gwreplay.ids import validate_graceid, validate_superevent_id
from gwreplay.store import iso_to_gps, load_store


def test_valid_event_is_loaded_with_upload_times(tmp_path):
    event = dict(
        G211117_EVENT, uploads=[{"filename": "psd.xml.gz", "created": 1186436430.5}]
    )
    write_event(tmp_path, event, {"coinc.xml": b"<x/>", "psd.xml.gz": b"x"})
    store = load_store(tmp_path)
    assert store.problems == []
    loaded = store.events["G211117"]
    assert loaded["files"] == ["coinc.xml", "psd.xml.gz"]
    assert loaded["upload_times"] == {
        "coinc.xml": 1186436420.0,
        "psd.xml.gz": 1186436430.5,
    }


def test_iso_created_is_converted_with_leap_seconds():
    # GW170817: 2017-08-17 12:41:04.4 UTC is GPS 1187008882.4 (18 leap seconds).
    assert iso_to_gps("2017-08-17 12:41:04.4 UTC") == pytest.approx(1187008882.4)
    assert iso_to_gps("2017-08-17T12:41:04.4Z") == pytest.approx(1187008882.4)


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"far": None}, "key 'far' has type NoneType"),
        ({"gpstime": "soon"}, "key 'gpstime' has type str"),
        ({"pipeline": "nopipe"}, "unknown pipeline 'nopipe'"),
        ({"group": "Nope"}, "unknown group 'Nope'"),
        ({"graceid": "G999999"}, "does not match its folder"),
        ({"created": "not a date"}, "bad upload time"),
        ({"far": float("nan")}, "key 'far' is nan"),
    ],
)
def test_invalid_event_json_is_a_named_problem(tmp_path, change, reason):
    write_event(tmp_path, dict(G211117_EVENT, graceid="G000001"))
    bad = dict(G211117_EVENT, **change)
    folder = write_event(tmp_path, dict(G211117_EVENT))
    (folder / "event.json").write_text(json.dumps(bad))
    store = load_store(tmp_path)
    assert list(store.events) == ["G000001"]
    ((event_id, filename, message),) = store.problems
    assert (event_id, filename) == ("G211117", "event.json")
    assert reason in message


def test_missing_key_and_not_utf8(tmp_path):
    event = dict(G211117_EVENT)
    del event["instruments"]
    write_event(tmp_path, event)
    folder = write_event(tmp_path, dict(G211117_EVENT, graceid="G000002"))
    (folder / "event.json").write_bytes(b'{"graceid": "G000002", "x": "\xff"}')
    problems = {p[0]: p[2] for p in load_store(tmp_path).problems}
    assert "missing key 'instruments'" in problems["G211117"]
    assert "not UTF-8" in problems["G000002"]


@pytest.mark.parametrize(
    "name", ["..x", "a b", "G1\x07", "g123", "G1.json", "S190425z"]
)
def test_folder_that_is_not_a_graceid_is_refused(tmp_path, name):
    (tmp_path / "events" / name).mkdir(parents=True)
    store = load_store(tmp_path)
    assert store.events == {}
    ((event_id, _, message),) = store.problems
    assert event_id == name
    assert "not a GraceDB event ID" in message


@pytest.mark.parametrize("bad", ["../x", "G1/2", "G 1", "", "G1\n", None, 12])
def test_graceid_validation(bad):
    with pytest.raises(InvalidIdError):
        validate_graceid(bad)


@pytest.mark.parametrize("good", ["G211117", "M12345", "T1", "GA1"])
def test_graceid_validation_accepts(good):
    assert validate_graceid(good) == good


@pytest.mark.parametrize("bad", ["S190425", "../S190425z", "S190425Z", "XS190425z"])
def test_superevent_id_validation(bad):
    with pytest.raises(InvalidIdError):
        validate_superevent_id(bad)


@pytest.mark.parametrize("good", ["S190425z", "MS220722v", "TS230101abc", "S170817a"])
def test_superevent_id_validation_accepts(good):
    assert validate_superevent_id(good) == good


def test_gwreplay_run_on_a_folder_that_is_not_a_store(tmp_path):
    """A wrong store path is one clear line and exit status 2, no traceback."""
    (tmp_path / "not-a-store").mkdir()
    status, output = gwreplay(
        "run", str(tmp_path / "not-a-store"), "--results", str(tmp_path / "r")
    )
    assert status == 2
    assert "not-a-store: not an event store (no events/ folder)" in output
    assert "Traceback" not in output
