"""gwreplay's O4 decisions on hand-worked cases (no gwcelery needed).

The expectations are worked out by hand from gwcelery 3.0.0's configuration
(1/30 d = 3.858e-7 Hz, trials factor 7 for CBC AllSky significant alerts;
2/d x 8 = 1.852e-4 Hz, factor 8, for less-significant ones; factor 4 and
-inf for EarlyWarning), so they hold even where the oracle is absent.
"""

import pytest

from gwreplay.policies import DEFAULT_POLICY, POLICIES, o4

READY = ["EMBRIGHT_READY", "PASTRO_READY", "SKYMAP_READY"]


@pytest.fixture(scope="module")
def settings(o4_settings):
    return {key: o4_settings[key] for key in o4.CONFIG_KEYS}


def cbc(graceid="G1", far=1e-8, snr=10.0, instruments="H1,L1", **changes):
    event = {
        "graceid": graceid,
        "group": "CBC",
        "pipeline": "gstlal",
        "search": "AllSky",
        "far": far,
        "instruments": instruments,
        "labels": list(READY),
        "offline": False,
        "extra_attributes": {"CoincInspiral": {"snr": snr}},
    }
    event.update(changes)
    return event


def test_policy_names():
    assert POLICIES == ("2018", "O3", "O4") and DEFAULT_POLICY == "O4"


@pytest.mark.parametrize(
    ("far", "significant", "less_significant"),
    [
        (1e-8, True, True),  # 7e-8 <= 3.858e-7
        (6e-8, False, True),  # 4.2e-7 > 3.858e-7; 4.8e-7 <= 1.852e-4
        (2.5e-5, False, False),  # 2.0e-4 > 1.852e-4
    ],
)
def test_two_tiers_of_cbc_allsky(settings, far, significant, less_significant):
    event = cbc(far=far)
    assert o4.should_publish(event, significant=True, **settings) is significant
    assert o4.should_publish(event, significant=False, **settings) is less_significant


def test_offline_injection_and_raven(settings):
    assert not o4.should_publish(cbc(offline=True), significant=False, **settings)
    assert not o4.should_publish(
        cbc(labels=READY + ["INJ"]), significant=False, **settings
    )
    loud_far = cbc(far=1e-3, labels=READY + ["RAVEN_ALERT"])
    assert o4.should_publish(loud_far, significant=True, **settings)


def test_early_warning_has_no_less_significant_tier(settings):
    quiet = cbc(search="EarlyWarning", far=1e-6)  # 4e-6 > 3.858e-7; tier 2 is -inf
    loud = cbc(search="EarlyWarning", far=1e-8, labels=READY + ["EARLY_WARNING"])
    assert not o4.should_publish(quiet, significant=False, **settings)
    assert o4.should_publish(loud, significant=False, **settings)
    assert o4.lock_labels(loud, **settings) == {
        "ADVREQ",
        "EARLY_WARNING",
        "LOW_SIGNIF_LOCKED",
    }


def test_completeness_per_group_and_search():
    assert o4.is_complete(cbc())
    assert not o4.is_complete(cbc(labels=["SKYMAP_READY", "EMBRIGHT_READY"]))
    assert o4.is_complete(cbc(search="SSM", labels=["SKYMAP_READY", "EMBRIGHT_READY"]))
    burst = {"group": "Burst", "pipeline": "CWB", "search": "AllSky"}
    assert o4.is_complete(dict(burst, labels=["SKYMAP_READY"]))
    assert not o4.is_complete(dict(burst, search="BBH", labels=["SKYMAP_READY"]))
    with pytest.raises(o4.UnrankableEvent, match="group .test."):
        o4.is_complete(
            {
                "graceid": "T1",
                "group": "Test",
                "pipeline": "gstlal",
                "search": "AllSky",
                "labels": READY,
            }
        )


def test_keyfunc_tuple_and_ranking(settings):
    key = o4.keyfunc(cbc(far=6e-8, snr=11.0, instruments="H1,L1,V1"), **settings)
    # complete; significant tier (True, False); less-significant (True, True);
    # CBC AllSky preference 2; three detectors; SNR.
    assert key == (True, True, False, True, True, 2, 3, 11.0)
    events = [
        cbc("G1", snr=30.0, labels=["SKYMAP_READY"]),  # loudest, incomplete
        cbc("G2", snr=9.0, instruments="H1"),
        cbc("G3", snr=8.0, instruments="H1,L1"),  # more detectors beat SNR
        cbc("G4", snr=20.0, far=6e-8),  # less-significant only
    ]
    assert o4.select_preferred_event(events, **settings)["graceid"] == "G3"


def test_kagra_and_singleinspiral_instruments():
    event = cbc(instruments="H1,L1")
    event["extra_attributes"]["SingleInspiral"] = [
        {"ifo": "H1", "chisq": 1.0},
        {"ifo": "K1", "chisq": None},  # counted in O4, unlike O3
    ]
    assert o4.get_instruments(event) == {"H1", "K1"}
    assert o4.has_kagra(event) and not o4.has_kagra(cbc())
