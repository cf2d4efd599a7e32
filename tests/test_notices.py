"""One O4 notice's files and inputs (gwreplay.notices): sign-offs, plots, circulars.

ligo-followup-advocate and ligo.skymap are the real ones; the expected texts
are the library's own template words, not gwreplay's output.
"""

import json

import pytest
from builders import write_gaussian_skymap

from gwreplay import notices
from gwreplay.errors import EventInputError

SUPEREVENT = {
    "superevent_id": "S240101a",
    "created": 1388102900.0,
    "t_0": 1388102883.3,
    "t_start": 1388102882.3,
    "t_end": 1388102884.3,
    "gw_events": ["G100001"],
    "category": "Production",
}


def test_signoffs_for_another_superevent_fail_named(tmp_path):
    path = tmp_path / "signoffs.json"
    path.write_text(json.dumps({"superevent_id": "S240101b", "signoffs": []}))
    with pytest.raises(EventInputError) as info:
        notices.load_signoffs("S240101a", str(path))
    assert (info.value.event_id, info.value.filename) == ("S240101a", "signoffs.json")
    assert "S240101b" in info.value.reason


@pytest.mark.parametrize("text", ["{not json", "[]", '{"signoffs": {}}'])
def test_malformed_signoffs_fail_named(tmp_path, text):
    path = tmp_path / "signoffs.json"
    path.write_text(text)
    with pytest.raises(EventInputError) as info:
        notices.load_signoffs("S240101a", str(path))
    assert (info.value.event_id, info.value.filename) == ("S240101a", "signoffs.json")


def test_no_signoffs_file_means_none():
    assert notices.load_signoffs("S240101a", None) == []


def test_plot_refuses_a_bad_sky_map_before_drawing(tmp_path):
    bad = tmp_path / "bayestar.fits.gz"
    bad.write_bytes(b"SIMPLE  =                    T" + b" " * 2850)
    png = tmp_path / "bayestar-1.png"
    with pytest.raises(EventInputError) as info:
        notices.write_notice_plot(
            str(png), "S240101a", "G100001", str(bad), skymap_plot_dpi=None
        )
    assert (info.value.event_id, info.value.filename) == ("G100001", bad.name)
    assert not png.exists()


def test_plot_of_a_good_sky_map(tmp_path):
    skymap = tmp_path / "bayestar.fits.gz"
    write_gaussian_skymap(skymap, 120.0, -30.0, nside=16)
    png = tmp_path / "bayestar-1.png"
    notices.write_notice_plot(
        str(png), "S240101a", "G100001", str(skymap), skymap_plot_dpi=None
    )
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from PIL import Image

    with Image.open(png) as image:  # null: ligo-skymap-plot's 300 dpi, 8 x 6 in
        assert image.size == (2400, 1800)


def test_retraction_circular_is_followup_advocates(tmp_path):
    event = {
        "graceid": "G100001",
        "group": "CBC",
        "pipeline": "gstlal",
        "search": "AllSky",
        "gpstime": 1388102883.3,
        "created": 1388102893.0,
        "far": 1e-10,
        "instruments": "H1,L1",
        "extra_attributes": {},
    }
    notice = {
        "alert_number": 3,
        "alert_type": "Retraction",
        "significant": None,
        "preferred_event": "G100001",
        "due": 1388103400.0,
    }
    path = tmp_path / notices.circular_name(notice)
    text = notices.write_notice_circular(
        str(path),
        SUPEREVENT,
        notice,
        event,
        [],
        ["ADVNO"],
        events=[event],
        gracedb_host="gracedb.ligo.org",
    )
    assert path.name == "retraction-circular-3.txt"
    assert path.read_text() == text + "\n"
    assert "S240101a" in text and "Retraction" in text
    # retraction.jinja2's own sentence (ligo-followup-advocate).
    assert "S240101a is no longer considered to be a candidate of interest" in text


def test_bad_signoffs_fail_their_superevent_alone(tmp_path):
    """O4 replay of two burst superevents (no BAYESTAR): one's signoffs.json is
    not JSON. failures.csv names it and the file, with no 'job died' row;
    the other superevent's notices are all made."""
    import csv

    from builders import burst_event, gwreplay, write_event

    store, results = tmp_path / "store", tmp_path / "results"
    skymap = tmp_path / "skyprobcc_cWB.fits"
    write_gaussian_skymap(skymap, 30.0, 10.0, nside=16)
    for graceid, gpstime in (("G100001", 1388102883.0), ("G100002", 1388106883.0)):
        write_event(
            store, burst_event(graceid, gpstime), {"skyprobcc_cWB.fits": skymap}
        )
    # The superevent manager names them by UTC day of t_0 and creation order.
    bad, good = "S240101a", "S240101b"
    folder = store / "superevents" / bad
    folder.mkdir(parents=True)
    (folder / "signoffs.json").write_text("{not json")
    status, output = gwreplay("run", str(store), "--results", str(results), "-q")
    assert status != 0
    with open(results / "failures.csv", newline="") as f:
        failures = list(csv.DictReader(f))
    assert [(r["stage"], r["id"], r["file"]) for r in failures] == [
        ("alert_sequence", bad, "signoffs.json")
    ], failures
    record = json.loads((results / "superevents" / good / "alert.json").read_text())
    assert record["notices"], record
    assert not (results / "superevents" / bad / "alert.json").exists()
    for name in record["files"]:
        assert (results / "superevents" / good / name).exists(), name
