"""gwreplay's IGWN alert against gwcelery 3.0.0's ``alerts._create_base_alert_dict``.

Field by field, for every field both produce, on CBC and burst preferred
events of several pipelines and searches and the alert types gwreplay
writes. :data:`INTENDED_DIFFERENCES` lists what differs on purpose.
"""

import json

import numpy as np
import pytest

from gwreplay.gwalert import build_gwalert

HOST = "gracedb.ligo.org"
SID = "S240101ab"
T_0 = 1388102418.123456
EM_BRIGHT = {"HasNS": 1.0, "HasRemnant": 0.25, "HasMassGap": 0.0}
P_ASTRO = {"BNS": 0.9, "NSBH": 0.05, "BBH": 0.0, "Terrestrial": 0.05}

#: Fields where gwreplay's alert and gwcelery's base dict differ on purpose.
INTENDED_DIFFERENCES = {
    # gwcelery stamps Time.now(); a replay stamps its own clock (reproducible).
    "time_created": "replay clock instead of the wall clock",
    # gwcelery's _send adds the sky map after the base dict is made ...
    "event.skymap": "added by gwcelery's alerts._send, not the base dict",
    # ... and drops this placeholder then.
    "event.skymap_filename": "placeholder gwcelery's _send replaces by skymap",
    # ligo-followup-advocate reads it to name the sky map in the Circular.
    "urls.skymap": "gwreplay's addition for the Circular",
}

EVENTS = {
    "gstlal": {
        "graceid": "G1",
        "group": "CBC",
        "pipeline": "gstlal",
        "search": "AllSky",
        "far": 1.1e-10,
        "instruments": "V1,H1,L1",
        "extra_attributes": {"CoincInspiral": {"snr": 12.0}},
    },
    "pycbc_ew": {
        "graceid": "G2",
        "group": "CBC",
        "pipeline": "pycbc",
        "search": "EarlyWarning",
        "far": 3e-9,
        "instruments": "L1,H1",
        "extra_attributes": {"CoincInspiral": {"snr": 9.0}},
    },
    "cwb": {
        "graceid": "G3",
        "group": "Burst",
        "pipeline": "CWB",
        "search": "AllSky",
        "far": 2e-9,
        "instruments": "H1,L1",
        "extra_attributes": {
            "MultiBurst": {"snr": 10.0, "duration": 0.023, "central_freq": 153.5}
        },
    },
    "cwb_bbh": {
        "graceid": "G4",
        "group": "Burst",
        "pipeline": "CWB",
        "search": "BBH",
        "far": 2e-9,
        "instruments": "H1,L1",
        "extra_attributes": {
            "MultiBurst": {"snr": 10.0, "duration": 0.1, "central_freq": 60.0}
        },
    },
    "mly": {
        "graceid": "G5",
        "group": "Burst",
        "pipeline": "MLy",
        "search": "AllSky",
        "far": 5e-9,
        "instruments": "H1,L1",
        "extra_attributes": {
            "MLyBurst": {"SNR": 9.0, "duration": 0.2, "central_freq": 220.0}
        },
    },
}
#: gwcelery's alert type -> (gwreplay's alert_type, significant).
ALERT_TYPES = {
    "preliminary": ("preliminary", True),
    "less-significant": ("preliminary", False),
    "initial": ("initial", True),
}


@pytest.fixture(scope="module")
def skymap(tmp_path_factory):
    """A uniform multi-order sky map at order 0, written by ligo.skymap."""
    from ligo.skymap import moc
    from ligo.skymap.io.fits import write_sky_map

    path = tmp_path_factory.mktemp("skymap") / "bayestar.multiorder.fits"
    uniq = moc.nest2uniq(np.int8(0), np.arange(12))
    table = np.rec.fromarrays(
        [uniq, np.full(12, 1 / (4 * np.pi))], names=["UNIQ", "PROBDENSITY"]
    )
    write_sky_map(str(path), table, objid=SID)
    return path


def _is_cbc_notice(event):
    return event["group"] == "CBC" or event.get("search") == "BBH"


def _flatten(alert, prefix=""):
    flat = {}
    for key, value in alert.items():
        if isinstance(value, dict) and key == "event":
            flat.update(_flatten(value, prefix=f"{key}."))
        elif isinstance(value, dict) and key == "urls":
            flat.update(_flatten(value, prefix=f"{key}."))
        else:
            flat[prefix + key] = value
    return flat


def test_alert_fields_equal_gwcelerys(gwcelery, skymap):
    cases, ours = [], []
    for name, event in EVENTS.items():
        cbc = _is_cbc_notice(event)
        classification = (
            [json.dumps(EM_BRIGHT), json.dumps(P_ASTRO)] if cbc else [None, None]
        )
        superevent = {
            "superevent_id": SID,
            "t_0": T_0,
            "far": event["far"],
            "links": {"self": f"https://{HOST}/api/superevents/{SID}/"},
            "preferred_event_data": event,
        }
        for theirs_type, (our_type, significant) in ALERT_TYPES.items():
            cases.append((name, theirs_type, [classification, superevent, theirs_type]))
            ours.append(
                build_gwalert(
                    superevent,
                    event,
                    skymap,
                    EM_BRIGHT if cbc else None,
                    P_ASTRO if cbc else None,
                    T_0 + 30,
                    significant=significant,
                    alert_type=our_type,
                    gracedb_host=HOST,
                )
            )
    theirs = gwcelery.call("create_base_alert_dict", [case[2] for case in cases])
    problems = []
    for (name, alert_type, _), answer, alert in zip(cases, theirs, ours, strict=True):
        assert "ok" in answer, (name, alert_type, answer)
        a, b = _flatten(answer["ok"]), _flatten(alert)
        for field in sorted(set(a) | set(b)):
            if field in INTENDED_DIFFERENCES:
                continue
            if a.get(field, "<absent>") != b.get(field, "<absent>"):
                problems.append((name, alert_type, field, a.get(field), b.get(field)))
        # The intended differences are real: each is absent from one side or differs.
        differing = {
            f
            for f in INTENDED_DIFFERENCES
            if a.get(f, "<absent>") != b.get(f, "<absent>")
        }
        assert differing == set(INTENDED_DIFFERENCES), (name, alert_type)
    assert not problems, problems
