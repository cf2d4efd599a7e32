"""End to end: an O4 replay of the O4-like MDC gives O4's products and alerts.

The store (``gwreplay mdc --era O4``, 4 superevents, seed 25) holds gstlal,
PyCBC and MBTA events with their own ``<pipeline>.p_astro.json``, an
early-warning BNS (MBTA) with an ADV NO sign-off, a cWB AllSky burst and a
cWB BBH candidate with their multi-order maps, the cWB BBH candidate the
preferred event of an ADV OK superevent, and a less-significant gstlal
candidate: Preliminary, EarlyWarning, Initial and Retraction notices. Its
CBC uploads have SNRs of 8-27 (seed 4's BNS at SNR 51 cost 70 s of BAYESTAR
per upload and an order-11 map to flatten and render), and BAYESTAR
localises them on H1 and L1 (``bayestar_disabled_detectors``: V1; every CBC
upload has both): nothing here depends on how sharp the maps are, and a
third detector sharpens them at a cost (the real G211117: 67 s of BAYESTAR
and an order-11 map on three, 27 s and order 9 on two;
bench/network_cost.py). Checked against the libraries, not against gwreplay:
every notice JSON validates against igwn-gwalert-schema, its Avro form
decodes (fastavro) to the same content, both embed the bytes of the sky-map
file the notice names (BAYESTAR's or cWB's), the flattened map is what
``ligo-skymap-flatten`` makes of the multi-order one, and the carried
p_astro is the upload's.
"""

import base64
import json

import numpy as np
import pytest
from builders import gwreplay_run

from gwreplay.mdc.generate import generate_store

pytestmark = pytest.mark.slow

#: Every CBC event's results under O4 (no ranking-data p_astro in O4).
O4_EVENT_FILES = ["bayestar.fits.gz", "bayestar.multiorder.fits", "em_bright.json"]


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    root = tmp_path_factory.mktemp("o4_replay")
    store, results = root / "store", root / "results"
    generate_store(store, superevents=4, seed=25, era="O4")
    status, output = gwreplay_run(store, results, "bayestar_disabled_detectors=[V1]")
    return store, results, status, output


def events(store):
    return {
        p.parent.name: json.loads(p.read_text())
        for p in (store / "events").glob("*/event.json")
    }


def notices(results):
    for path in sorted((results / "superevents").glob("*/sequence.json")):
        sequence = json.loads(path.read_text())
        for notice in sequence["notices"]:
            yield path.parent, notice


def test_replay_completes(replay):
    _, results, status, output = replay
    assert status == 0, output
    assert (results / "failures.csv").read_text().splitlines() == [
        "stage,id,file,reason"
    ]


def test_every_cbc_event_has_the_o4_products(replay):
    from astropy.io import fits

    store, results, _, _ = replay
    cbc = [g for g, e in events(store).items() if e["group"] == "CBC"]
    assert len(cbc) >= 4
    for graceid in cbc:
        folder = results / "events" / graceid
        assert sorted(p.name for p in folder.iterdir()) == O4_EVENT_FILES
        with fits.open(folder / "bayestar.multiorder.fits") as hdus:
            assert hdus[1].header["ORDERING"] == "NUNIQ"
        em_bright = json.loads((folder / "em_bright.json").read_text())
        assert set(em_bright) == {"HasNS", "HasRemnant", "HasMassGap"}
    bursts = [g for g, e in events(store).items() if e["group"] == "Burst"]
    assert bursts and not any((results / "events" / g).exists() for g in bursts)


def highest_order(folder):
    """The finest HEALPix order of ``folder``'s BAYESTAR multi-order map."""
    from ligo.skymap import moc
    from ligo.skymap.io import read_sky_map

    table = read_sky_map(str(folder / "bayestar.multiorder.fits"), moc=True)
    return int(moc.uniq2order(table["UNIQ"]).max())


def test_flattened_map_is_ligo_skymap_flattens(replay, tmp_path):
    from ligo.skymap.io import read_sky_map
    from ligo.skymap.tool import ligo_skymap_flatten

    store, results, _, _ = replay
    cbc = [g for g, e in events(store).items() if e["group"] == "CBC"]
    # The map of least resolution: its flat form (what this test reads twice)
    # is the smallest; every event's map was flattened by the replay anyway.
    graceid = min(cbc, key=lambda g: (highest_order(results / "events" / g), g))
    folder = results / "events" / graceid
    tool = tmp_path / "flat.fits"
    ligo_skymap_flatten.main([str(folder / "bayestar.multiorder.fits"), str(tool)])
    ours, ours_meta = read_sky_map(str(folder / "bayestar.fits.gz"), distances=True)
    theirs, theirs_meta = read_sky_map(str(tool), distances=True)
    assert len(ours) == len(theirs) == 4  # PROB and the three distance layers
    for column, other in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(column, other)
    assert ours_meta["nest"] and theirs_meta["nest"]


def test_notices_validate_decode_and_embed_their_sky_map(replay):
    from gwreplay.avro_alert import read_avro_alert
    from gwreplay.gwalert import validate_gwalert

    store, results, _, _ = replay
    seen, groups = set(), set()
    for folder, notice in notices(results):
        sid, stem = folder.name, f"{folder.name}-{notice['alert_number']}"
        stem = f"{stem}-{notice['alert_type']}"
        alert = json.loads((folder / f"{stem}.json").read_text())
        validate_gwalert(alert)
        record = read_avro_alert(folder / f"{stem}.avro")
        assert record["superevent_id"] == alert["superevent_id"] == sid
        assert record["alert_type"] == alert["alert_type"]
        seen.add(notice["alert_type"])
        if notice["alert_type"] == "Retraction":
            assert alert["event"] is None and record["event"] is None
            continue
        embedded = base64.b64decode(alert["event"]["skymap"], validate=True)
        assert record["event"]["skymap"] == embedded
        for key, value in alert["event"].items():
            if key != "skymap":
                assert record["event"][key] == value, key
        graceid = notice["preferred_event"]
        name = alert["urls"]["skymap"].rsplit("/", 1)[1]
        event = events(store)[graceid]
        groups.add(event["group"])
        if event["group"] == "CBC":
            assert name == "bayestar.multiorder.fits"
            source = results / "events" / graceid / name
        else:
            assert name == "cwb.multiorder.fits"
            source = store / "events" / graceid / name
        assert embedded == source.read_bytes()
    assert {"EarlyWarning", "Initial", "Preliminary", "Retraction"} <= seen
    assert {"CBC", "Burst"} <= groups  # both kinds of sky map were embedded


def test_notices_carry_the_pipelines_p_astro(replay):
    store, results, _, _ = replay
    carried = 0
    for folder, notice in notices(results):
        if notice["alert_type"] == "Retraction":
            continue
        stem = f"{folder.name}-{notice['alert_number']}-{notice['alert_type']}"
        alert = json.loads((folder / f"{stem}.json").read_text())
        graceid = notice["preferred_event"]
        event = events(store)[graceid]
        upload = (
            store / "events" / graceid / f"{event['pipeline'].lower()}.p_astro.json"
        )
        classification = alert["event"]["classification"]
        if event["group"] == "Burst" and event["search"] != "BBH":
            assert classification == {}
            continue
        assert classification == json.loads(upload.read_text())
        carried += 1
    assert carried >= 3


def test_plots_and_charts_of_each_notice(replay):
    store, results, _, _ = replay
    for folder, notice in notices(results):
        number = notice["alert_number"]
        if notice["alert_type"] == "Retraction":
            assert not list(folder.glob(f"*-{number}.png"))
            continue
        event = events(store)[notice["preferred_event"]]
        pngs = sorted(p.name for p in folder.glob(f"*-{number}.png"))
        pipeline = event["pipeline"].lower()
        if event["group"] == "CBC":
            assert pngs == [
                f"bayestar-{number}.png",
                f"bayestar.volume-{number}.png",
                f"em_bright-{number}.png",
                f"{pipeline}.p_astro-{number}.png",
            ]
        elif event["search"] == "BBH":
            assert pngs == [f"cwb-{number}.png", f"cwb.p_astro-{number}.png"]
        else:
            assert pngs == [f"cwb-{number}.png"]
        for name in pngs:
            assert (folder / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_o3_names_in_an_o4_replay(replay):
    _, results, _, _ = replay
    o3_names = {"source_classification.json", "p_astro_gstlal.json", "circular.txt"}
    assert not [p for p in results.rglob("*") if p.name in o3_names]
