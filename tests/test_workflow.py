"""End to end: the real workflow (snakemake + every science library) on a small store.

One CBC event (the real O2 event G211117, localised on H1 alone:
builders.ONE_DETECTOR_BAYESTAR), one cWB burst and one CBC event whose
coinc.xml is empty. The run must finish the good events, fail the bad
one with a message naming it and the file, list it in failures.csv, and a
rerun without the bad event must find nothing to do.
"""

import csv
import json
import shutil

import pytest
from builders import (
    BURST_EVENT,
    G211117_EVENT,
    ONE_DETECTOR_BAYESTAR,
    gwreplay_run,
    write_event,
    write_gaussian_skymap,
)

pytestmark = pytest.mark.slow

BROKEN_EVENT = dict(
    G211117_EVENT, graceid="G000003", gpstime=1186438412.0, created=1186438420.0
)


def run(store, results, *config):
    """``gwreplay run`` with BAYESTAR on one detector and ``config`` items."""
    return gwreplay_run(store, results, ONE_DETECTOR_BAYESTAR, *config)


def replay_store(reference_dir, root, *config):
    """Write the store under ``root``, replay it with the ``--config`` items
    ``config``; return (store, results, status, output)."""
    store, results = root / "store", root / "results"
    ref = reference_dir / "G211117"
    write_event(
        store,
        dict(
            G211117_EVENT, uploads=[{"filename": "psd.xml.gz", "created": 1186436425.0}]
        ),
        {"coinc.xml": ref / "coinc.xml", "psd.xml.gz": ref / "psd.xml.gz"},
    )
    folder = write_event(store, BURST_EVENT)
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 120.0, -30.0)
    write_event(
        store, BROKEN_EVENT, {"coinc.xml": b"", "psd.xml.gz": ref / "psd.xml.gz"}
    )
    status, output = run(store, results, *config)
    return store, results, status, output


@pytest.fixture(scope="module")
def replay(reference_dir, tmp_path_factory):
    """The store replayed under the default policy."""
    return replay_store(reference_dir, tmp_path_factory.mktemp("workflow"))


@pytest.fixture(scope="module")
def replay_o3(reference_dir, tmp_path_factory):
    """The store replayed under O3."""
    # test_alerts_table_and_notices checks O3's outputs (VOEvent, circular.txt).
    root = tmp_path_factory.mktemp("workflow_o3")
    return replay_store(reference_dir, root, "orchestrator_policy=O3")


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_bad_event_fails_alone_with_named_file(replay):
    _, results, status, output = replay
    assert status != 0
    assert "G000003: coinc.xml: file is empty" in output
    failures = read_csv(results / "failures.csv")
    assert {(r["stage"], r["id"], r["file"]) for r in failures} >= {
        ("bayestar", "G000003", "coinc.xml"),
        ("em_bright", "G000003", "coinc.xml"),
    }
    assert all(r["id"] == "G000003" for r in failures)


def test_cbc_event_annotations(replay):
    """O4 (gwcelery 3.0.0) names: the multi-order map, its flat copy, em_bright."""
    from astropy.io import fits

    _, results, _, _ = replay
    event_dir = results / "events" / "G211117"
    with fits.open(event_dir / "bayestar.multiorder.fits") as hdus:
        assert hdus[1].header["ORDERING"] == "NUNIQ"
    with fits.open(event_dir / "bayestar.fits.gz") as hdus:
        assert hdus[1].header["ORDERING"] == "NESTED"
    classification = json.loads((event_dir / "em_bright.json").read_text())
    assert set(classification) == {"HasNS", "HasRemnant", "HasMassGap"}
    assert sorted(p.name for p in event_dir.iterdir()) == [
        "bayestar.fits.gz",
        "bayestar.multiorder.fits",
        "em_bright.json",
    ]  # gwcelery 3.0.0 computes no gstlal p_astro for an AllSky event
    assert not (results / "events" / "G000002").exists()  # bursts get nothing


def test_cbc_event_annotations_o3(replay_o3):
    _, results, _, _ = replay_o3
    event_dir = results / "events" / "G211117"
    assert sorted(p.name for p in event_dir.iterdir()) == [
        "bayestar.fits.gz",
        "source_classification.json",
    ]  # no ranking data: no p_astro_gstlal.json


def test_alerts_table_and_notices(replay_o3):
    import voeventparse

    from gwreplay.gwalert import validate_gwalert

    _, results, _, _ = replay_o3
    rows = {r["preferred_event"]: r for r in read_csv(results / "alerts.csv")}
    assert set(rows) == {"G211117", "G000002", "G000003"}
    for graceid in ("G211117", "G000002"):
        row = rows[graceid]
        assert row["status"] == "sent"
        assert row["vetoed"] == "false"
        notice = results / row["notice"]
        with open(notice, "rb") as f:
            assert voeventparse.valid_as_v2_0(voeventparse.load(f))
        alert = json.loads(notice.with_suffix(".json").read_text())
        validate_gwalert(alert)
        circular = (notice.parent / "circular.txt").read_text()
        assert row["superevent_id"] in circular
    assert rows["G000003"]["status"] == "not done"
    assert rows["G211117"]["pipeline"] == "gstlal"
    # Replay clock: psd uploaded at +5 s after the event, then 30 s of BAYESTAR.
    assert float(rows["G211117"]["notice_time"]) == pytest.approx(1186436425.0 + 30.0)
    skymap_dir = results / "superevents" / rows["G000002"]["superevent_id"]
    assert (skymap_dir / "skyprobcc_cWB.fits").exists()
    assert (skymap_dir / "skyprobcc_cWB.png").exists()


def test_rerun_without_bad_event_has_nothing_to_do(replay):
    store, results, _, _ = replay
    shutil.rmtree(store / "events" / "G000003")
    before = {p: p.stat().st_mtime_ns for p in results.rglob("*.fits.gz")}
    status, output = run(store, results)
    assert status == 0, output
    assert "Nothing to be done" in output
    assert before == {p: p.stat().st_mtime_ns for p in results.rglob("*.fits.gz")}
    assert read_csv(results / "failures.csv") == []
