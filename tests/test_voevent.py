"""Tests of the preliminary VOEvent (gwreplay.voevent)."""

import copy

import pytest
import voeventparse as vp
from builders import with_defaults

from gwreplay.errors import EventInputError, InvalidIdError
from gwreplay.voevent import build_preliminary_voevent, write_voevent

build_preliminary_voevent = with_defaults(build_preliminary_voevent, "gwreplay.voevent")
write_voevent = with_defaults(write_voevent, "gwreplay.voevent")

EM_BRIGHT = {"HasNS": 1.0, "HasRemnant": 0.9, "HasMassGap": 0.0}
P_ASTRO = {"BNS": 0.95, "NSBH": 0.01, "BBH": 0.0, "Terrestrial": 0.04}
SKYMAP = "results/superevents/MS220722v/bayestar.multiorder.fits"

#: O2 notice params (G298048-1-Initial) and what the O4 builder calls them:
#: em_bright moved into the Properties group, the three authentication
#: flavours of the sky map URL became one ``skymap_fits``.
O2_TO_O4 = {
    "ProbHasNS": "HasNS",
    "ProbHasRemnant": "HasRemnant",
    "skymap_fits_shib": "skymap_fits",
    "skymap_fits_x509": "skymap_fits",
    "skymap_fits_basic": "skymap_fits",
}
#: O2 params GraceDB no longer writes (no PNG link, no vetting/retraction flag
#: in a non-retraction notice).
DROPPED_SINCE_O2 = {
    "Retraction",
    "Vetted",
    "skymap_png_shib",
    "skymap_png_x509",
    "skymap_png_basic",
}


def build_cbc(superevent, labels=("DQOK",), **kwargs):
    return build_preliminary_voevent(
        superevent,
        superevent["preferred_event_data"],
        list(labels),
        SKYMAP,
        EM_BRIGHT,
        P_ASTRO,
        superevent["t_0"] + 10.0,
        **kwargs,
    )


def build_burst(event, **kwargs):
    superevent = {"superevent_id": "S161122a", "t_0": event["gpstime"]}
    return build_preliminary_voevent(
        superevent,
        event,
        ["DQOK"],
        "cWB.fits.gz",
        None,
        None,
        event["gpstime"] + 60.0,
        **kwargs,
    )


def all_params(voevent):
    """{name: value} of every Param, grouped or not."""
    return {
        name: attributes["value"]
        for group in vp.get_grouped_params(voevent).values()
        for name, attributes in group.items()
    } | {
        name: attributes["value"]
        for name, attributes in vp.get_toplevel_params(voevent).items()
    }


def group_param_names(voevent, group_name):
    return set(vp.get_grouped_params(voevent).get(group_name, {}))


def param_names(root):
    return {
        element.attrib["name"]
        for element in root.iter()
        if isinstance(element.tag, str) and element.tag == "Param"
    }


def test_valid_against_voevent_2_0_schema(cbc_superevent, gracedb_burst_event):
    for data in (build_cbc(cbc_superevent), build_burst(gracedb_burst_event)):
        assert data.startswith(b"<?xml")
        assert vp.valid_as_v2_0(vp.loads(data))


def test_params_round_trip(cbc_superevent):
    preferred = cbc_superevent["preferred_event_data"]
    voevent = vp.loads(build_cbc(cbc_superevent))
    params = all_params(voevent)

    assert voevent.attrib["ivorn"] == "ivo://gwnet/LVC#MS220722v-1-Preliminary"
    assert params["Packet_Type"] == "150"
    assert params["Pkt_Ser_Num"] == "1"
    assert params["GraceID"] == "MS220722v"
    assert params["AlertType"] == "Preliminary"
    assert params["internal"] == "0"
    assert params["OpenAlert"] == "1"
    assert params["HardwareInj"] == "0"
    assert params["Significant"] == "1"
    assert params["Instruments"] == preferred["instruments"] == "H1,L1"
    assert float(params["FAR"]) == preferred["far"]
    assert params["Group"] == "CBC"
    assert params["Pipeline"] == "gstlal"
    assert params["Search"] == "MDC"
    assert params["EventPage"] == "https://gracedb.ligo.org/superevents/MS220722v/view/"
    assert params["skymap_fits"] == (
        "https://gracedb.ligo.org/api/superevents/MS220722v/files/"
        "bayestar.multiorder.fits"
    )
    for key, value in P_ASTRO.items():
        assert float(params[key]) == value
    for key, value in EM_BRIGHT.items():
        assert float(params[key]) == value
    assert group_param_names(voevent, "Classification") == set(P_ASTRO)
    assert group_param_names(voevent, "Properties") == set(EM_BRIGHT)
    assert group_param_names(voevent, "GW_SKYMAP") == {"skymap_fits"}


def test_param_names_cover_reference_notice(reference_dir, cbc_superevent):
    """Every param of the real O2 notice is present, under its O4 name."""
    reference = vp.loads((reference_dir / "notices/G298048-1-Initial.xml").read_bytes())
    expected = {
        O2_TO_O4.get(name, name)
        for name in param_names(reference)
        if name not in DROPPED_SINCE_O2
    }
    assert "HasNS" in expected and "skymap_fits" in expected
    ours = param_names(vp.loads(build_cbc(cbc_superevent)))
    assert expected <= ours, expected - ours
    assert {"Packet_Type", "Significant", *P_ASTRO} <= ours


def test_burst_has_no_cbc_classification(gracedb_burst_event):
    voevent = vp.loads(build_burst(gracedb_burst_event))
    names = param_names(voevent)
    assert not names & {"ProbHasNS", "ProbHasRemnant", *EM_BRIGHT, *P_ASTRO}
    # GraceDB appends both groups to every notice, empty for a burst.
    assert group_param_names(voevent, "Classification") == set()
    assert group_param_names(voevent, "Properties") == set()
    params = all_params(voevent)
    multiburst = gracedb_burst_event["extra_attributes"]["MultiBurst"]
    assert float(params["CentralFreq"]) == multiburst["central_freq"]
    assert float(params["Duration"]) == multiburst["duration"]
    assert params["Group"] == "Burst" and params["Pipeline"] == "cwb"
    assert "Search" not in params  # the reference event has no search


def test_event_time_in_utc_with_leap_seconds(reference_dir, cbc_superevent):
    """ISOTime is UTC: pinned to G298048's notice (GPS - UTC = 18 s in 2017)
    and to GW150914's published time (GPS - UTC = 17 s in 2015)."""
    reference = vp.loads((reference_dir / "notices/G298048-1-Initial.xml").read_bytes())
    reference_time = vp.get_event_time_as_utc(reference).isoformat()
    assert reference_time == "2017-08-17T12:41:04.445710+00:00"
    for gpstime, utc in (
        (1187008882.44571, "2017-08-17T12:41:04.445710Z"),
        (1126259462.4, "2015-09-14T09:50:45.400000Z"),
    ):
        superevent = copy.deepcopy(cbc_superevent)
        superevent["preferred_event_data"]["gpstime"] = gpstime
        voevent = vp.loads(build_cbc(superevent))
        where = voevent.WhereWhen.ObsDataLocation.ObservationLocation
        assert str(where.AstroCoords.Time.TimeInstant.ISOTime) == utc
        # LVK notices carry no sky position: the sky map is the localisation.
        assert where.AstroCoords.find("Position2D") is None


def test_who_date_is_the_notice_time(reference_dir, cbc_superevent):
    """G298048's notice was dated 13:08:15 UTC, 1630.5543 s after the event."""
    superevent = copy.deepcopy(cbc_superevent)
    superevent["preferred_event_data"]["gpstime"] = 1187008882.4457
    data = build_preliminary_voevent(
        superevent,
        superevent["preferred_event_data"],
        [],
        SKYMAP,
        EM_BRIGHT,
        P_ASTRO,
        1187008882.4457 + 1630.5543,
    )
    assert str(vp.loads(data).Who.Date) == "2017-08-17T13:08:15Z"
    assert b"voevent-parse" not in data  # no library version banner


def test_role_default_test_and_configurable(cbc_superevent):
    assert vp.loads(build_cbc(cbc_superevent)).attrib["role"] == "test"
    observation = build_cbc(cbc_superevent, voevent_role="observation")
    assert vp.loads(observation).attrib["role"] == "observation"
    with pytest.raises(ValueError):
        build_cbc(cbc_superevent, voevent_role="real")


def test_configured_host_ivorn_and_serial_number(cbc_superevent):
    data = build_cbc(
        cbc_superevent,
        gracedb_host="gracedb-test.ligo.org",
        voevent_ivorn_base="ivo://example/replay#",
        pkt_ser_num=2,
        significant=False,
    )
    voevent = vp.loads(data)
    params = all_params(voevent)
    assert voevent.attrib["ivorn"] == "ivo://example/replay#MS220722v-2-Preliminary"
    assert params["Pkt_Ser_Num"] == "2"
    assert params["Significant"] == "0"
    assert params["EventPage"].startswith("https://gracedb-test.ligo.org/")
    with pytest.raises(ValueError):
        build_cbc(cbc_superevent, voevent_ivorn_base="gwnet/LVC")


def test_hardware_injection_label(cbc_superevent):
    params = all_params(vp.loads(build_cbc(cbc_superevent, labels=["DQOK", "INJ"])))
    assert params["HardwareInj"] == "1"


def test_two_builds_are_byte_identical(tmp_path, cbc_superevent):
    first = build_cbc(cbc_superevent)
    assert build_cbc(copy.deepcopy(cbc_superevent)) == first
    path = tmp_path / "MS220722v-1-Preliminary.xml"
    written = write_voevent(
        path,
        cbc_superevent,
        cbc_superevent["preferred_event_data"],
        ["DQOK"],
        SKYMAP,
        EM_BRIGHT,
        P_ASTRO,
        cbc_superevent["t_0"] + 10.0,
    )
    assert path.read_bytes() == written == first
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_bad_inputs_name_the_event(cbc_superevent):
    superevent = copy.deepcopy(cbc_superevent)
    del superevent["preferred_event_data"]["instruments"]
    with pytest.raises(EventInputError, match=r"^M252714: event\.json: .*instruments"):
        build_cbc(superevent)

    with pytest.raises(EventInputError, match=r"p_astro\.json: BNS = 1\.5"):
        build_preliminary_voevent(
            cbc_superevent,
            cbc_superevent["preferred_event_data"],
            [],
            SKYMAP,
            EM_BRIGHT,
            dict(P_ASTRO, BNS=1.5),
            0.0,
        )

    superevent = copy.deepcopy(cbc_superevent)
    superevent["superevent_id"] = "../S1"
    with pytest.raises(InvalidIdError):
        build_cbc(superevent)
