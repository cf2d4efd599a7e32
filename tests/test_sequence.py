"""The O4 alert sequence of a superevent (gwreplay.policies.sequence).

Every expectation is derived by hand from gwcelery 3.0.0's rules with the
gwcelery 3.0.0 constants typed in below (gwcelery/conf/__init__.py), not from
the code's output. FAR thresholds per second, for the CBC AllSky search:
significant when 7 * FAR <= 1/(30 d) (FAR <= 5.5e-8), less-significant when
8 * FAR <= 8 * 2/d (FAR <= 2.3e-5); EarlyWarning: significant when
4 * FAR <= 1/(30 d), never less-significant.
"""

import pytest

from gwreplay.errors import EventInputError
from gwreplay.policies.sequence import CONFIG_KEYS, alert_sequence

DAY = 86400.0
SETTINGS = {
    "superevent_far_threshold": 1 / 3600,
    "superevent_clean_up_timeout": 270.0,
    "superevent_candidate_preference": {
        "cbc": {"allsky": 2, "earlywarning": 1, "ssm": 1, "mdc": 1},
        "burst": {"allsky": 0, "bbh": 0, "mdc": 0},
    },
    "significant_alert_far_threshold": {
        "cbc": {
            "allsky": 1 / (30 * DAY),
            "earlywarning": 1 / (30 * DAY),
            "mdc": 1 / (30 * DAY),
            "ssm": 1 / (365 * DAY),
        },
        "burst": {"allsky": 1 / (365 * DAY), "bbh": 1 / (30 * DAY)},
    },
    "significant_alert_trials_factor": {
        "cbc": {"allsky": 7, "earlywarning": 4, "mdc": 7, "ssm": 3},
        "burst": {"allsky": 3, "bbh": 7},
    },
    "preliminary_alert_trials_factor": {
        "cbc": {"allsky": 8, "earlywarning": 4, "mdc": 4, "ssm": 2},
        "burst": {"allsky": 8, "bbh": 8},
    },
    "preliminary_alert_far_threshold": {
        "cbc": {
            "allsky": 2 / DAY * 8,
            "earlywarning": -float("inf"),
            "mdc": -float("inf"),
            "ssm": -float("inf"),
        },
        "burst": {"allsky": 2 / DAY * 8, "bbh": 2 / DAY * 8},
    },
}
SIGNIFICANT = 1e-9
LESS_SIGNIFICANT = 1e-6
UNPUBLISHABLE = 1e-4  # below superevent_far_threshold, above both tiers


def cbc(graceid, created, far, snr, instruments="H1,L1", search="AllSky", **extra):
    """A gwreplay store event of a CBC pipeline."""
    return {
        "graceid": graceid,
        "group": "CBC",
        "pipeline": "gstlal",
        "search": search,
        "far": far,
        "instruments": instruments,
        "created": created,
        "gpstime": 1e9,
        "offline": False,
        "labels": [],
        "extra_attributes": {"CoincInspiral": {"snr": snr}},
        **extra,
    }


def burst(graceid, created, far):
    """A gwreplay store event of cWB."""
    return {
        "graceid": graceid,
        "group": "Burst",
        "pipeline": "CWB",
        "search": "AllSky",
        "far": far,
        "instruments": "H1,L1",
        "created": created,
        "gpstime": 1e9,
        "offline": False,
        "labels": [],
        "extra_attributes": {"MultiBurst": {"snr": 9.0}},
    }


def run(events, ready, signoffs=(), **kwargs):
    """The sequence of a superevent made of ``events``, created at the first upload."""
    superevent = {
        "superevent_id": "S230101a",
        "created": min(e["created"] for e in events),
        "t_0": 1e9,
        "t_start": 1e9 - 1,
        "t_end": 1e9 + 1,
        "gw_events": [e["graceid"] for e in events],
    }
    notices = alert_sequence(
        superevent,
        {e["graceid"]: e for e in events},
        ready=ready,
        signoffs=list(signoffs),
        **kwargs,
        **SETTINGS,
    )
    for number, notice in enumerate(notices, 1):
        assert notice["alert_number"] == number
        assert notice["reason"]
    return [
        (n["alert_type"], n["significant"], n["preferred_event"], n["due"])
        for n in notices
    ]


def test_config_keys_are_the_settings():
    assert set(CONFIG_KEYS) == set(SETTINGS)


def test_missing_setting_is_refused():
    with pytest.raises(TypeError, match="superevent_clean_up_timeout"):
        alert_sequence(
            {"superevent_id": "S1", "created": 0.0, "gw_events": []},
            {},
            ready={},
            signoffs=[],
            **{k: v for k, v in SETTINGS.items() if k != "superevent_clean_up_timeout"},
        )


def test_one_significant_event():
    # Complete at 130: SIGNIF_LOCKED -> preliminary; GCN_PRELIM_SENT -> 270 s later.
    events = [cbc("G1", 100.0, SIGNIFICANT, 10.0)]
    assert run(events, {"G1": 130.0}) == [
        ("Preliminary", True, "G1", 130.0),
        ("Preliminary", True, "G1", 400.0),
    ]


def test_louder_event_complete_before_the_lock_becomes_preferred():
    events = [
        cbc("G1", 100.0, SIGNIFICANT, 10.0),
        cbc("G2", 105.0, SIGNIFICANT, 12.0),
    ]
    # G2 completes first (130): it outranks incomplete G1 and locks.
    assert run(events, {"G1": 140.0, "G2": 130.0}) == [
        ("Preliminary", True, "G2", 130.0),
        ("Preliminary", True, "G2", 400.0),
    ]


def test_louder_event_after_the_lock_waits_for_the_second_preliminary():
    events = [
        cbc("G1", 100.0, SIGNIFICANT, 10.0),
        cbc("G2", 150.0, SIGNIFICANT, 12.0),
    ]
    # G2 completes at 180, after LOW_SIGNIF_LOCKED (130): the preferred event
    # stays G1 until the clean-up at 130 + 270 re-selects over both.
    assert run(events, {"G1": 130.0, "G2": 180.0}) == [
        ("Preliminary", True, "G1", 130.0),
        ("Preliminary", True, "G2", 400.0),
    ]


def test_incomplete_louder_event_loses_at_the_lock():
    events = [
        cbc("G1", 100.0, SIGNIFICANT, 10.0),
        cbc("G2", 120.0, SIGNIFICANT, 12.0),
    ]
    # At 130 G2 is uploaded but not complete: completeness ranks first.
    assert run(events, {"G1": 130.0, "G2": 160.0}) == [
        ("Preliminary", True, "G1", 130.0),
        ("Preliminary", True, "G2", 400.0),
    ]


def test_less_significant_only():
    # LOW_SIGNIF_LOCKED -> less-significant; LOW_SIGNIF_PRELIM_SENT -> second at +270.
    events = [cbc("G1", 100.0, LESS_SIGNIFICANT, 8.0)]
    assert run(events, {"G1": 130.0}) == [
        ("Preliminary", False, "G1", 130.0),
        ("Preliminary", False, "G1", 400.0),
    ]


def test_less_significant_burst():
    # cWB AllSky: 8 * 1e-6 <= 16/d but 3 * 1e-6 > 1/(365 d).
    assert run([burst("G1", 100.0, LESS_SIGNIFICANT)], {"G1": 101.0}) == [
        ("Preliminary", False, "G1", 101.0),
        ("Preliminary", False, "G1", 371.0),
    ]


def test_significant_event_after_a_less_significant_one():
    events = [
        cbc("G1", 100.0, LESS_SIGNIFICANT, 8.0),
        cbc("G2", 200.0, SIGNIFICANT, 9.0),
    ]
    # 130: less-significant for G1. 230: G2 significant -> ADVREQ and
    # SIGNIF_LOCKED, re-selected -> G2. 400: the second less-significant is
    # blocked (ADVREQ, SIGNIF_LOCKED). 500: second significant preliminary.
    assert run(events, {"G1": 130.0, "G2": 230.0}) == [
        ("Preliminary", False, "G1", 130.0),
        ("Preliminary", True, "G2", 230.0),
        ("Preliminary", True, "G2", 500.0),
    ]


def test_unpublishable_and_offline_events_send_nothing():
    assert run([cbc("G1", 100.0, UNPUBLISHABLE, 8.0)], {"G1": 130.0}) == []
    offline = cbc("G1", 100.0, SIGNIFICANT, 8.0, offline=True)
    assert run([offline], {"G1": 130.0}) == []
    injection = cbc("G1", 100.0, SIGNIFICANT, 8.0, labels=["INJ"])
    assert run([injection], {"G1": 130.0}) == []


def test_incomplete_event_sends_nothing():
    assert run([cbc("G1", 100.0, SIGNIFICANT, 10.0)], {}) == []


def test_early_warning_then_full_bandwidth():
    events = [
        cbc("G1", 90.0, SIGNIFICANT, 9.0, search="EarlyWarning"),
        cbc("G2", 100.0, SIGNIFICANT, 12.0),
    ]
    # 95: EARLY_WARNING -> EarlyWarning notice (no second one: no sent label).
    # 130: SIGNIF_LOCKED, re-selected: AllSky (preference 2) over EarlyWarning (1).
    assert run(events, {"G1": 95.0, "G2": 130.0}) == [
        ("EarlyWarning", True, "G1", 95.0),
        ("Preliminary", True, "G2", 130.0),
        ("Preliminary", True, "G2", 400.0),
    ]


def test_early_warning_after_significant_is_skipped():
    events = [
        cbc("G1", 100.0, SIGNIFICANT, 12.0),
        cbc("G2", 90.0, SIGNIFICANT, 9.0, search="EarlyWarning"),
    ]
    assert run(events, {"G1": 130.0, "G2": 150.0}) == [
        ("Preliminary", True, "G1", 130.0),
        ("Preliminary", True, "G1", 400.0),
    ]


def test_advok_sends_initial():
    events = [cbc("G1", 100.0, SIGNIFICANT, 10.0)]
    signoffs = [{"signoff_type": "ADV", "status": "OK", "time": 1000.0}]
    assert run(events, {"G1": 130.0}, signoffs) == [
        ("Preliminary", True, "G1", 130.0),
        ("Preliminary", True, "G1", 400.0),
        ("Initial", True, "G1", 1000.0),
    ]


def test_advno_sends_retraction_and_blocks_the_second_preliminary():
    events = [cbc("G1", 100.0, SIGNIFICANT, 10.0)]
    signoffs = [
        {"signoff_type": "ADV", "status": "NO", "time": 300.0},
        {"signoff_type": "ADV", "status": "NO", "time": 900.0},  # label already on
        {"signoff_type": "OPERATOR", "status": "OK", "time": 200.0},  # not ADV
    ]
    assert run(events, {"G1": 130.0}, signoffs) == [
        ("Preliminary", True, "G1", 130.0),
        ("Retraction", None, "G1", 300.0),
    ]


def test_k1_events_are_never_processed():
    assert run([cbc("G1", 100.0, SIGNIFICANT, 10.0, "H1,K1")], {"G1": 130.0}) == []


def test_k1_event_is_still_among_the_events_reselected():
    # superevents.handle skips G2, but select_preferred_event reads every
    # event of the superevent: at 130 G2 is complete and has three detectors.
    events = [
        cbc("G1", 100.0, SIGNIFICANT, 10.0),
        cbc("G2", 105.0, SIGNIFICANT, 8.0, "H1,K1,L1"),
    ]
    assert run(events, {"G1": 130.0, "G2": 120.0}) == [
        ("Preliminary", True, "G2", 130.0),
        ("Preliminary", True, "G2", 400.0),
    ]


def test_state_vector_veto_blocks_only_the_checked_notices():
    events = [cbc("G1", 100.0, SIGNIFICANT, 10.0)]
    assert run(events, {"G1": 130.0}, dq_labels={"DQV"}) == []
    # The EarlyWarning branch runs no state-vector check.
    ew = [cbc("G1", 90.0, SIGNIFICANT, 9.0, search="EarlyWarning")]
    assert run(ew, {"G1": 95.0}, dq_labels={"DQV"}) == [
        ("EarlyWarning", True, "G1", 95.0)
    ]
    # INJ on the superevent stops every notice but a retraction.
    signoffs = [{"signoff_type": "ADV", "status": "NO", "time": 500.0}]
    assert run(ew, {"G1": 95.0}, signoffs, dq_labels={"INJ"}) == [
        ("Retraction", None, "G1", 500.0)
    ]


@pytest.mark.parametrize(
    ("signoffs", "reason"),
    [
        ({"status": "OK"}, "not a list"),
        (["OK"], "sign-off 0 is not an object"),
        ([{"signoff_type": "ADV", "status": "MAYBE", "time": 500.0}], "status"),
        ([{"signoff_type": "ADV", "status": "OK", "time": "soon"}], "time"),
        ([{"signoff_type": "ADV", "status": "OK", "time": 50.0}], "before"),
    ],
)
def test_bad_signoffs_name_the_superevent_and_file(signoffs, reason):
    superevent = {"superevent_id": "S230101a", "created": 100.0, "gw_events": []}
    with pytest.raises(EventInputError, match=reason) as caught:
        alert_sequence(superevent, {}, ready={}, signoffs=signoffs, **SETTINGS)
    assert (caught.value.event_id, caught.value.filename) == (
        "S230101a",
        "signoffs.json",
    )


def test_advok_needs_a_sky_map_on_the_superevent():
    # earlywarning_preliminary_alert copies the sky map before it decides;
    # with none copied, gwcelery 3.0.0's alerts.send fails: no Initial.
    ok = [{"signoff_type": "ADV", "status": "OK", "time": 1000.0}]
    quiet = [cbc("G1", 100.0, UNPUBLISHABLE, 8.0)]
    assert run(quiet, {"G1": 130.0}, ok) == []
    # A vetoed superevent sends no preliminary but has its sky map copied.
    vetoed = [cbc("G1", 100.0, SIGNIFICANT, 10.0)]
    assert run(vetoed, {"G1": 130.0}, ok, dq_labels={"DQV"}) == [
        ("Initial", True, "G1", 1000.0)
    ]
