"""Tests of the IGWN alert (gwreplay.gwalert)."""

import base64
import copy
import datetime
import gzip
import json
from importlib import resources

import jsonschema
import numpy as np
import pytest
from builders import with_defaults

from gwreplay.atomic import dumps_json
from gwreplay.errors import EventInputError
from gwreplay.gwalert import build_gwalert, multiorder_fits_bytes, write_gwalert

build_gwalert = with_defaults(build_gwalert, "gwreplay.voevent")
write_gwalert = with_defaults(write_gwalert, "gwreplay.voevent", keys=("gracedb_host",))

EM_BRIGHT = {"HasNS": 1.0, "HasRemnant": 0.9, "HasMassGap": 0.0}
P_ASTRO = {"BNS": 0.95, "NSBH": 0.01, "BBH": 0.0, "Terrestrial": 0.04}
NSIDE = 32
GPS_EPOCH = datetime.datetime(1980, 1, 6)


def gps_to_utc(gps, leap_seconds):
    """UTC of a GPS time, given GPS - UTC in seconds (an independent reckoning)."""
    return GPS_EPOCH + datetime.timedelta(seconds=gps - leap_seconds)


@pytest.fixture(scope="module")
def skymaps(tmp_path_factory):
    """A Gaussian blob (sigma 5 deg at RA 150, Dec 30) at nside 32, written by
    ligo.skymap as flat (gzip) and as multi-order FITS."""
    import healpy as hp
    from ligo.skymap import moc
    from ligo.skymap.io.fits import write_sky_map

    directory = tmp_path_factory.mktemp("skymaps")
    npix = hp.nside2npix(NSIDE)
    centre = hp.ang2vec(np.deg2rad(90 - 30), np.deg2rad(150))
    vectors = np.array(hp.pix2vec(NSIDE, np.arange(npix), nest=True)).T
    prob = np.exp((vectors @ centre - 1) / np.deg2rad(5) ** 2)
    prob /= prob.sum()
    flat = directory / "bayestar.fits.gz"
    write_sky_map(str(flat), prob, nest=True, objid="MS220722v")
    uniq = moc.nest2uniq(np.int8(5), np.arange(npix))
    density = prob / hp.nside2pixarea(NSIDE)
    table = np.rec.fromarrays([uniq, density], names=["UNIQ", "PROBDENSITY"])
    multiorder = directory / "bayestar.multiorder.fits"
    write_sky_map(str(multiorder), table, objid="MS220722v")
    multiorder_gz = directory / "bayestar.multiorder.fits.gz"
    multiorder_gz.write_bytes(gzip.compress(multiorder.read_bytes(), mtime=0))
    return {
        "prob": prob,
        "flat": flat,
        "multiorder": multiorder,
        "multiorder_gz": multiorder_gz,
    }


def package_schema():
    """The JSON schema file as shipped by igwn-gwalert-schema 1.3.0."""
    path = resources.files("igwn_gwalert_schema") / "igwn.alerts.Alert.schema.json"
    return json.loads(path.read_text())


def assert_valid(alert):
    schema = package_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(alert)
    # date-time is only checked by jsonschema when rfc3339-validator is
    # installed: check the two timestamps ourselves.
    for value in (alert["time_created"], alert["event"]["time"]):
        assert value.endswith("Z")
        datetime.datetime.fromisoformat(value)


def build_cbc(superevent, skymap, **kwargs):
    return build_gwalert(
        superevent,
        superevent["preferred_event_data"],
        skymap,
        EM_BRIGHT,
        P_ASTRO,
        superevent["t_0"] + 10.0,
        **kwargs,
    )


def decode_skymap(alert, tmp_path):
    from ligo.skymap.io.fits import read_sky_map

    data = base64.b64decode(alert["event"]["skymap"], validate=True)
    path = tmp_path / "decoded.multiorder.fits"
    path.write_bytes(data)
    return data, read_sky_map(str(path), moc=True)


def test_cbc_alert_is_valid_and_carries_the_inputs(cbc_superevent, skymaps):
    alert = build_cbc(cbc_superevent, skymaps["multiorder"])
    assert_valid(alert)
    preferred = cbc_superevent["preferred_event_data"]
    event = alert["event"]
    assert alert["alert_type"] == "PRELIMINARY"
    assert alert["superevent_id"] == "MS220722v"
    assert alert["external_coinc"] is None
    assert alert["urls"] == {
        "gracedb": "https://gracedb.ligo.org/superevents/MS220722v/view/",
        "skymap": "https://gracedb.ligo.org/api/superevents/MS220722v/files/"
        "bayestar.multiorder.fits",
    }
    assert event["far"] == preferred["far"]
    assert event["significant"] is True
    assert event["instruments"] == ["H1", "L1"]
    assert (event["group"], event["pipeline"], event["search"]) == (
        "CBC",
        "gstlal",
        "MDC",
    )
    assert event["properties"] == EM_BRIGHT
    assert event["classification"] == P_ASTRO
    assert event["duration"] is None and event["central_frequency"] is None


def test_times_are_utc_from_the_replay_clock(cbc_superevent, skymaps):
    """GPS - UTC was 18 s in 2022; time_created truncates to whole seconds."""
    alert = build_gwalert(
        cbc_superevent,
        cbc_superevent["preferred_event_data"],
        skymaps["multiorder"],
        EM_BRIGHT,
        P_ASTRO,
        1342562265.75,
    )
    t_0 = gps_to_utc(cbc_superevent["t_0"], 18)
    assert alert["event"]["time"] == t_0.isoformat(timespec="milliseconds") + "Z"
    assert alert["event"]["time"] == "2022-07-22T21:57:12.382Z"
    created = gps_to_utc(1342562265.75, 18).replace(microsecond=0)
    assert alert["time_created"] == created.isoformat() + "Z"


def test_burst_alert(gracedb_burst_event, skymaps):
    superevent = {"superevent_id": "S161122a", "t_0": gracedb_burst_event["gpstime"]}
    alert = build_gwalert(
        superevent,
        gracedb_burst_event,
        skymaps["flat"],
        None,
        None,
        gracedb_burst_event["gpstime"] + 60.0,
        skymap_filename="cWB.multiorder.fits",
    )
    assert_valid(alert)
    event = alert["event"]
    multiburst = gracedb_burst_event["extra_attributes"]["MultiBurst"]
    assert event["group"] == "Burst" and event["pipeline"] == "cwb"
    assert event["duration"] == multiburst["duration"]
    assert event["central_frequency"] == multiburst["central_freq"]
    assert event["properties"] == {} and event["classification"] == {}
    assert alert["urls"]["skymap"].endswith("/S161122a/files/cWB.multiorder.fits")


def test_cwb_bbh_search_is_announced_as_cbc(gracedb_burst_event, skymaps):
    event = dict(gracedb_burst_event, search="BBH")
    superevent = {"superevent_id": "S161122a", "t_0": event["gpstime"]}
    alert = build_gwalert(
        superevent, event, skymaps["flat"], None, P_ASTRO, event["gpstime"] + 60
    )
    assert_valid(alert)
    assert alert["event"]["group"] == "CBC"
    assert alert["event"]["classification"] == P_ASTRO


def test_multiorder_skymap_is_passed_through(cbc_superevent, skymaps, tmp_path):
    alert = build_cbc(cbc_superevent, skymaps["multiorder"])
    data, decoded = decode_skymap(alert, tmp_path)
    assert data == skymaps["multiorder"].read_bytes()
    assert decoded.meta["objid"] == "MS220722v"
    gz_alert = build_cbc(cbc_superevent, skymaps["multiorder_gz"])
    assert gz_alert["event"]["skymap"] == alert["event"]["skymap"]


def test_flat_skymap_is_converted_to_the_same_sky_map(
    cbc_superevent, skymaps, tmp_path
):
    from ligo.skymap.bayestar import rasterize

    alert = build_cbc(cbc_superevent, skymaps["flat"])
    data, decoded = decode_skymap(alert, tmp_path)
    assert data[:6] == b"SIMPLE"  # FITS, not gzip
    assert "UNIQ" in decoded.colnames
    flat = rasterize(decoded, order=5)  # back to nside 32, NESTED
    np.testing.assert_allclose(flat["PROB"], skymaps["prob"], rtol=1e-12, atol=0)
    assert decoded.meta["objid"] == "MS220722v"


def test_less_significant_alert(cbc_superevent, skymaps):
    alert = build_cbc(cbc_superevent, skymaps["multiorder"], significant=False)
    assert alert["alert_type"] == "PRELIMINARY"
    assert alert["event"]["significant"] is False


def test_write_is_canonical_and_reproducible(cbc_superevent, skymaps, tmp_path):
    path = tmp_path / "MS220722v-1-Preliminary.json"
    args = (
        cbc_superevent,
        cbc_superevent["preferred_event_data"],
        skymaps["flat"],
        EM_BRIGHT,
        P_ASTRO,
        cbc_superevent["t_0"] + 10.0,
    )
    alert = write_gwalert(path, *args)
    first = path.read_bytes()
    assert first.decode() == dumps_json(alert)
    assert list(json.loads(first)) == sorted(alert)
    write_gwalert(path, *copy.deepcopy(args))
    assert path.read_bytes() == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_bad_skymaps_name_the_superevent(cbc_superevent, tmp_path, skymaps):
    empty = tmp_path / "empty.fits"
    empty.touch()
    with pytest.raises(EventInputError, match=r"^MS220722v: empty\.fits: .*empty"):
        build_cbc(cbc_superevent, empty)
    with pytest.raises(EventInputError, match="missing"):
        build_cbc(cbc_superevent, tmp_path / "absent.fits")
    truncated = tmp_path / "truncated.fits.gz"
    truncated.write_bytes(skymaps["flat"].read_bytes()[:500])
    with pytest.raises(EventInputError, match=r"truncated\.fits\.gz"):
        multiorder_fits_bytes(truncated, "MS220722v")
    not_fits = tmp_path / "junk.fits"
    not_fits.write_bytes(b"hello world" * 100)
    with pytest.raises(EventInputError, match=r"junk\.fits"):
        build_cbc(cbc_superevent, not_fits)


def test_bad_classification_is_refused(cbc_superevent, skymaps):
    with pytest.raises(EventInputError, match=r"p_astro\.json: BNS"):
        build_gwalert(
            cbc_superevent,
            cbc_superevent["preferred_event_data"],
            skymaps["multiorder"],
            EM_BRIGHT,
            dict(P_ASTRO, BNS="lots"),
            0.0,
        )
