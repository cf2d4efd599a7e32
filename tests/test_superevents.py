"""The superevent manager replay, rule by rule against gwcelery and GraceDB.

Expected values are worked out by hand in the comments: segment arithmetic,
gwcelery's O3 publishing thresholds, GraceDB's letter suffixes and GPS->UTC
dates with the leap seconds counted explicitly.
"""

import datetime
import json
import random
import shutil
import time

import pytest
from builders import with_defaults

from gwreplay import superevents as se
from gwreplay.errors import EventInputError, InvalidIdError

form_superevents = with_defaults(se.form_superevents, "gwreplay.superevents")
superevents_for_store = with_defaults(se.superevents_for_store, "gwreplay.superevents")

# 2017-08-17 00:00:00 UTC: GW170817 (GPS 1187008882, 12:41:04 UTC) minus
# 12 h 41 min 4 s = 45664 s.
MIDNIGHT_170817 = 1187008882 - 45664
T = 1187008882.4  # GW170817


def cbc(graceid, gpstime, created, snr=10.0, far=1e-10, instruments="H1,L1", **kw):
    """A CBC event; FAR 1e-10 Hz is publishable (5 * 1e-10 <= 1/60 days)."""
    event = {
        "graceid": graceid,
        "gpstime": gpstime,
        "created": created,
        "far": far,
        "group": "CBC",
        "pipeline": "gstlal",
        "search": "AllSky",
        "instruments": instruments,
        "offline": False,
        "extra_attributes": {"CoincInspiral": {"snr": snr}},
    }
    event.update(kw)
    return event


def cwb(graceid, gpstime, created, duration=0.1, far=1e-10, instruments="H1,L1"):
    """A cWB event; FAR 1e-10 Hz is publishable (4 * 1e-10 <= 1/365 days)."""
    return {
        "graceid": graceid,
        "gpstime": gpstime,
        "created": created,
        "far": far,
        "group": "Burst",
        "pipeline": "CWB",
        "search": "AllSky",
        "instruments": instruments,
        "extra_attributes": {
            "MultiBurst": {"duration": duration, "central_freq": 100.0, "snr": 9.0}
        },
    }


def olib(graceid, gpstime, created, quality, frequency, far=1e-10):
    return {
        "graceid": graceid,
        "gpstime": gpstime,
        "created": created,
        "far": far,
        "group": "Burst",
        "pipeline": "oLIB",
        "search": "AllSky",
        "instruments": "H1,L1",
        "extra_attributes": {
            "LalInferenceBurst": {
                "quality_mean": quality,
                "frequency_mean": frequency,
                "omicron_snr_network": 8.0,
            }
        },
    }


def only(superevents):
    assert len(superevents) == 1, superevents
    return superevents[0]


# --- preferred event -------------------------------------------------------


def test_cbc_is_preferred_over_burst_whatever_the_order():
    late_cbc = form_superevents(
        [cwb("G1", T, 100.0, duration=0.5), cbc("G2", T + 0.2, 105.0, snr=8.0)]
    )
    s = only(late_cbc)
    assert s["preferred_event"] == s["final_preferred_event"] == "G2"
    assert s["t_0"] == T + 0.2  # t_0 follows the preferred event
    assert s["created"] == 100.0  # created when the burst opened it
    early_cbc = form_superevents(
        [cbc("G1", T, 100.0, snr=8.0), cwb("G2", T + 0.2, 105.0, duration=0.5)]
    )
    assert only(early_cbc)["preferred_event"] == "G1"
    assert only(early_cbc)["t_0"] == T


@pytest.mark.parametrize(
    "second_snr, preferred", [(12.0, "G2"), (9.0, "G1"), (10.0, "G1")]
)
def test_cbc_preference_by_network_snr(second_snr, preferred):
    events = [cbc("G1", T, 100.0, snr=10.0), cbc("G2", T + 0.1, 101.0, snr=second_snr)]
    assert only(form_superevents(events))["preferred_event"] == preferred


@pytest.mark.parametrize("second_far, preferred", [(1e-11, "G2"), (1e-9 / 4, "G1")])
def test_burst_preference_by_lower_far(second_far, preferred):
    # Both FARs are publishable: 4 * 2.5e-10 = 1e-9 <= 1/(365 * 86400) = 3.2e-8.
    events = [
        cwb("G1", T, 100.0, duration=0.5, far=1e-10),
        cwb("G2", T + 0.1, 101.0, duration=0.5, far=second_far),
    ]
    assert only(form_superevents(events))["preferred_event"] == preferred


def test_publishable_event_beats_louder_unpublishable_one():
    # should_publish needs two or more detectors: a single-detector CBC with a
    # higher SNR loses to a two-detector CBC.
    events = [
        cbc("G1", T, 100.0, snr=8.0, instruments="H1,L1"),
        cbc("G2", T + 0.1, 101.0, snr=30.0, instruments="H1"),
    ]
    assert only(form_superevents(events))["preferred_event"] == "G1"
    # CBC threshold: 5 * far <= 1/(60 * 86400) -> far <= 3.86e-8 Hz. A CBC at
    # 1e-5 Hz (still below the 1/3600 superevent threshold) is not publishable,
    # so a publishable burst is preferred to it.
    events = [
        cbc("G1", T, 100.0, snr=20.0, far=1e-5),
        cwb("G2", T + 0.1, 101.0, duration=0.5, far=1e-10),
    ]
    assert only(form_superevents(events))["preferred_event"] == "G2"


def test_single_inspiral_records_without_chisq_do_not_count_as_detectors():
    singles = [{"ifo": "H1", "chisq": 1.1}, {"ifo": "L1", "chisq": None}]
    extra = {"CoincInspiral": {"snr": 30.0}, "SingleInspiral": singles}
    assert se.get_instruments({"extra_attributes": extra}) == {"H1"}
    events = [
        cbc("G1", T, 100.0, snr=8.0),
        cbc("G2", T + 0.1, 101.0, extra_attributes=extra),
    ]
    assert only(form_superevents(events))["preferred_event"] == "G1"


def test_offline_event_is_not_publishable():
    events = [cbc("G1", T, 100.0, snr=8.0), cbc("G2", T, 101.0, snr=20, offline=True)]
    assert only(form_superevents(events))["preferred_event"] == "G1"


# --- windows ---------------------------------------------------------------


def test_window_grows_with_each_event():
    # G1: [999, 1001]. G2: [1000.5, 1002.5] overlaps -> window [999, 1002.5].
    # G3: [1002.2, 1004.2] overlaps only the grown window -> [999, 1004.2].
    events = [
        cbc("G1", 1e9 + 1000.0, 10.0, snr=12.0),
        cbc("G2", 1e9 + 1001.5, 11.0, snr=11.0),
        cbc("G3", 1e9 + 1003.2, 12.0, snr=10.0),
    ]
    s = only(form_superevents(events))
    assert s["gw_events"] == ["G1", "G2", "G3"]
    assert s["t_start"] == pytest.approx(1e9 + 999.0)
    assert s["t_end"] == pytest.approx(1e9 + 1004.2)
    assert s["t_0"] == 1e9 + 1000.0


def test_touching_windows_do_not_intersect():
    # [999, 1001] and [1001, 1003] share only an end point (ligo.segments).
    events = [cbc("G1", 1e9 + 1000.0, 10.0), cbc("G2", 1e9 + 1002.0, 11.0)]
    assert [s["gw_events"] for s in form_superevents(events)] == [["G1"], ["G2"]]


@pytest.mark.parametrize("duration, joins", [(3.0, True), (2.0, False)])
def test_cwb_window_is_plus_minus_duration(duration, joins):
    # cWB at 1000, duration d: [1000 - d, 1000 + d]; CBC at 1003.5: [1002.5, 1004.5].
    events = [
        cwb("G1", 1e9 + 1000.0, 10.0, duration=duration),
        cbc("G2", 1e9 + 1003.5, 11.0),
    ]
    assert len(form_superevents(events)) == (1 if joins else 2)


@pytest.mark.parametrize("cbc_time, joins", [(1003.0, True), (1003.6, False)])
def test_olib_window_is_quality_over_frequency(cbc_time, joins):
    # 10 / 4 = 2.5 s: [997.5, 1002.5]; CBC at 1003.0 -> [1002, 1004] overlaps,
    # at 1003.6 -> [1002.6, 1004.6] does not.
    events = [
        olib("G1", 1e9 + 1000.0, 10.0, 10.0, 4.0),
        cbc("G2", 1e9 + cbc_time, 11.0),
    ]
    assert len(form_superevents(events)) == (1 if joins else 2)


def test_superevent_farther_than_query_window_is_not_matched():
    # A 150-s cWB event opens [850, 1150] with t_0 = 1000. GraceDB's query
    # only returns superevents with t_0 within 100 s of the new event.
    far_away = [
        cwb("G1", 1e9 + 1000.0, 10.0, duration=150.0),
        cbc("G2", 1e9 + 1120, 11),
    ]
    assert len(form_superevents(far_away)) == 2
    near = [cwb("G1", 1e9 + 1000.0, 10.0, duration=150.0), cbc("G2", 1e9 + 1090, 11)]
    assert len(form_superevents(near)) == 1


def test_event_joins_the_newest_intersecting_superevent():
    # G1 [999, 1001] and G2 [1001.5, 1003.5] open two superevents; a cWB event
    # [1000.25 - 2, 1000.25 + 2] hits both and joins the newer one (G2's).
    events = [
        cbc("G1", 1e9 + 1000.0, 10.0),
        cbc("G2", 1e9 + 1002.5, 11.0),
        cwb("G3", 1e9 + 1000.25, 12.0, duration=2.0),
    ]
    first, second = form_superevents(events)
    assert first["gw_events"] == ["G1"]
    assert second["gw_events"] == ["G2", "G3"]
    assert second["t_start"] == pytest.approx(1e9 + 998.25)


# --- timing ----------------------------------------------------------------


def test_late_upload_becomes_final_but_not_preferred():
    # Opened at created = 100; the orchestrator reads it at 100 + 15 = 115.
    events = [
        cbc("G1", T, 100.0, snr=10.0),
        cbc("G2", T + 0.5, 120.0, snr=25.0),  # uploaded after the timeout
    ]
    s = only(form_superevents(events))
    assert s["preferred_event"] == "G1"
    assert s["final_preferred_event"] == "G2"
    assert s["t_0"] == T  # the snapshot's t_0 is G1's time
    assert s["t_end"] == pytest.approx(T + 1.0)  # G2's growth came too late
    assert s["gw_events"] == ["G1", "G2"]


@pytest.mark.parametrize("created, preferred", [(115.0, "G2"), (115.001, "G1")])
def test_upload_at_the_timeout_still_counts(created, preferred):
    events = [cbc("G1", T, 100.0, snr=10.0), cbc("G2", T + 0.5, created, snr=25.0)]
    s = only(form_superevents(events, orchestrator_timeout=15.0))
    assert s["preferred_event"] == preferred


def test_uploads_are_processed_in_created_order_not_list_order():
    events = [cbc("G2", T + 0.5, 101.0, snr=25.0), cbc("G1", T, 100.0, snr=10.0)]
    s = only(form_superevents(events))
    assert s["created"] == 100.0
    assert s["preferred_event"] == "G2"


def test_ties_in_created_are_broken_by_numeric_graceid():
    # Same upload time: G9 is processed before G10 (numerically), so G9's
    # superevent is the day's first even though G10 is earlier in GPS time.
    events = [
        cbc("G10", MIDNIGHT_170817 + 100.0, 500.0),
        cbc("G9", MIDNIGHT_170817 + 5000.0, 500.0),
    ]
    result = {s["gw_events"][0]: s["superevent_id"] for s in form_superevents(events)}
    assert result == {"G9": "S170817a", "G10": "S170817b"}
    same_time = [cbc("G10", T, 500.0, snr=20.0), cbc("G9", T, 500.0, snr=10.0)]
    s = only(form_superevents(same_time))
    assert s["gw_events"] == ["G9", "G10"]
    assert s["preferred_event"] == "G10"


def test_result_does_not_depend_on_input_order():
    events = [
        cbc(f"G{i}", 1e9 + 3.0 * i, 50.0 + i % 7, snr=5 + i % 11) for i in range(60)
    ]
    reference = json.dumps(form_superevents(events), sort_keys=True)
    shuffled = list(events)
    random.Random(1).shuffle(shuffled)
    assert json.dumps(form_superevents(shuffled), sort_keys=True) == reference


# --- selection -------------------------------------------------------------


def test_far_threshold():
    events = [
        cbc("G1", T, 100.0, far=1 / 3000),  # above 1/3600: skipped
        cbc("G2", T + 50, 101.0, far=1 / 3600),  # equal: kept
        {**cbc("G3", T + 90, 102.0), "far": None},  # no FAR: skipped
    ]
    assert [s["gw_events"] for s in form_superevents(events)] == [["G2"]]
    assert form_superevents(events[:1], superevent_far_threshold=1e-3) != []


def test_categories_are_kept_apart():
    events = [
        cbc("G1", T, 100.0),
        cbc("M1", T, 100.0, search="MDC"),
        cbc("T1", T, 100.0, group="Test"),
    ]
    records = {s["category"]: s for s in form_superevents(events)}
    assert {c: s["superevent_id"] for c, s in records.items()} == {
        "production": "S170817a",
        "mdc": "MS170817a",
        "test": "TS170817a",
    }
    assert {c: s["gw_events"] for c, s in records.items()} == {
        "production": ["G1"],
        "mdc": ["M1"],
        "test": ["T1"],
    }


def test_category_rules():
    assert se.get_category({"graceid": "G1", "group": "CBC", "search": "AllSky"}) == (
        "production"
    )
    assert se.get_category({"graceid": "M1", "group": "CBC", "search": "MDC"}) == "mdc"
    assert se.get_category({"graceid": "T1", "group": "Test"}) == "test"
    # GraceDB: a Test-group event is a test event even when its search is MDC.
    assert (
        se.get_category({"graceid": "T2", "group": "Test", "search": "MDC"}) == "test"
    )


# --- IDs -------------------------------------------------------------------


def test_letter_suffixes_count_in_bijective_base_26():
    assert [se.int_to_letters(n) for n in (1, 2, 26, 27, 28, 52, 53)] == [
        "a",
        "b",
        "z",
        "aa",
        "ab",
        "az",
        "ba",
    ]
    # 702 = 26 * 26 + 26 -> "zz"; 703 = 26**2 + 26 + 1 -> "aaa".
    assert se.int_to_letters(702) == "zz"
    assert se.int_to_letters(703) == "aaa"
    with pytest.raises(ValueError):
        se.int_to_letters(0)


def test_suffix_rolls_over_past_z():
    # 28 separate superevents on 2017-08-17, created in time order.
    events = [cbc(f"G{i}", MIDNIGHT_170817 + 100.0 * i, 10.0 + i) for i in range(1, 29)]
    ids = [s["superevent_id"] for s in form_superevents(events)]
    assert ids[0] == "S170817a"
    assert ids[25] == "S170817z"
    assert ids[26:] == ["S170817aa", "S170817ab"]
    assert len(set(ids)) == 28


def test_suffixes_follow_creation_order_not_t0():
    # The later signal is uploaded first, so it gets "a".
    events = [
        cbc("G1", MIDNIGHT_170817 + 40000.0, 10.0),
        cbc("G2", MIDNIGHT_170817 + 20000.0, 20.0),
    ]
    ids = {s["gw_events"][0]: s["superevent_id"] for s in form_superevents(events)}
    assert ids == {"G1": "S170817a", "G2": "S170817b"}


def test_id_date_is_fixed_when_the_superevent_is_created():
    # Opened at 2017-08-16 23:59:59.5 UTC; a louder event at 00:00:00.3 the
    # next day takes over t_0, but the ID keeps the opening date.
    events = [
        cbc("G1", MIDNIGHT_170817 - 0.5, 10.0, snr=9.0),
        cbc("G2", MIDNIGHT_170817 + 0.3, 11.0, snr=15.0),
        cbc("G3", MIDNIGHT_170817 + 3600.0, 12.0),
    ]
    first, second = form_superevents(events)
    assert first["superevent_id"] == "S170816a"
    assert first["t_0"] == MIDNIGHT_170817 + 0.3
    assert second["superevent_id"] == "S170817a"


def _utc_by_hand(gps, leap_seconds):
    """GPS -> UTC from the GPS epoch, subtracting the leap seconds given."""
    epoch = datetime.datetime(1980, 1, 6)
    return epoch + datetime.timedelta(seconds=gps - leap_seconds)


def test_gw170817_date():
    # GPS - UTC = 18 s since 2017-01-01.
    assert _utc_by_hand(T, 18).strftime("%y%m%d") == "170817"
    assert only(form_superevents([cbc("G1", T, T + 30)]))["superevent_id"] == (
        "S170817a"
    )


@pytest.mark.parametrize(
    "gps, expected",
    [
        (1167264010.0, "S161231a"),  # 2016-12-31 23:59:53 UTC (GPS-UTC = 17 s)
        (1167264017.5, "S161231a"),  # inside the leap second 23:59:60
        (1167264018.0, "S170101a"),  # 2017-01-01 00:00:00 UTC (GPS-UTC = 18 s)
    ],
)
def test_dates_count_leap_seconds(gps, expected):
    # Ignoring the leap second would already put 1167264010 on 2017-01-01:
    assert _utc_by_hand(1167264010.0, 0).date() > datetime.date(2016, 12, 31)
    assert _utc_by_hand(1167264010.0, 17).strftime("%y%m%d") == "161231"
    s = only(form_superevents([cbc("G1", gps, gps + 20)]))
    assert s["superevent_id"] == expected


# --- input handling --------------------------------------------------------


def test_created_may_be_an_iso_utc_string():
    # 2017-08-17 12:41:34 UTC = GPS 1187008882 + 30 (18 leap seconds).
    s = only(form_superevents([cbc("G1", T, "2017-08-17 12:41:34 UTC")]))
    assert s["created"] == pytest.approx(1187008912.0)


def test_malformed_event_names_event_and_file():
    broken = cwb("G5", T, 100.0)
    del broken["extra_attributes"]["MultiBurst"]["duration"]
    with pytest.raises(EventInputError) as err:
        form_superevents([broken])
    assert (
        str(err.value) == "G5: event.json: missing extra_attributes.MultiBurst.duration"
    )
    with pytest.raises(InvalidIdError):
        form_superevents([cbc("../G1", T, 100.0)])


def test_output_is_json_serialisable_with_graceDB_keys():
    s = only(form_superevents([cbc("G1", T, 100.0)]))
    assert set(s) == {
        "superevent_id",
        "category",
        "created",
        "t_start",
        "t_0",
        "t_end",
        "gw_events",
        "preferred_event",
        "final_preferred_event",
    }
    assert json.loads(json.dumps(s, allow_nan=False)) == s


# --- superevents supplied by the store -------------------------------------


def _store_superevent(store, sid, data):
    folder = store / "superevents" / sid
    folder.mkdir(parents=True)
    (folder / "superevent.json").write_text(json.dumps(data))


def test_store_superevent_from_gracedb_json(tmp_path, reference_dir):
    source = reference_dir / "gracedb" / "superevent_S180616h.json"
    folder = tmp_path / "superevents" / "S180616h"
    folder.mkdir(parents=True)
    shutil.copy(source, folder / "superevent.json")
    record = only(se.load_store_superevents(tmp_path))
    # created "2018-06-16 17:35:13 UTC": 18 leap seconds since the GPS epoch.
    created = (
        datetime.datetime(2018, 6, 16, 17, 35, 13) - datetime.datetime(1980, 1, 6)
    ).total_seconds() + 18
    assert record == {
        "superevent_id": "S180616h",
        "category": "production",
        "created": created,
        "t_start": 1213205522.24,
        "t_0": 1213205532.24,
        "t_end": 1213205542.24,
        "gw_events": ["M4634"],
        "preferred_event": "M4634",
        "final_preferred_event": "M4634",
    }
    # The store's superevents replace the manager's.
    assert superevents_for_store(tmp_path, [cbc("G1", T, 100.0)]) == [record]


def test_store_without_superevents_uses_the_manager(tmp_path):
    assert se.load_store_superevents(tmp_path) == []
    result = superevents_for_store(
        tmp_path, [cbc("G1", T, 100.0)], orchestrator_timeout=15.0, unrelated_key=1
    )
    assert only(result)["superevent_id"] == "S170817a"


@pytest.mark.parametrize(
    "folder, data, error, message",
    [
        (
            "S180616a",
            {"superevent_id": "S180616b"},
            EventInputError,
            "superevent_id 'S180616b' != folder 'S180616a'",
        ),
        ("S18061", {"superevent_id": "S18061"}, InvalidIdError, "refusing"),
        (
            "MS180616a",
            {"superevent_id": "MS180616a", "category": "Production"},
            EventInputError,
            "does not match the ID prefix",
        ),
        (
            "S180616a",
            {"superevent_id": "S180616a", "preferred_event": "G1/../x"},
            EventInputError,
            "refusing event ID",
        ),
    ],
)
def test_bad_store_superevents_are_refused(tmp_path, folder, data, error, message):
    base = {
        "preferred_event": "G1",
        "gw_events": ["G1"],
        "t_start": 1.0,
        "t_0": 2.0,
        "t_end": 3.0,
        "created": 4.0,
    }
    _store_superevent(tmp_path, folder, {**base, **data})
    with pytest.raises(error, match=message.replace("(", r"\(")):
        se.load_store_superevents(tmp_path)


def test_unreadable_store_superevent(tmp_path):
    folder = tmp_path / "superevents" / "S180616a"
    folder.mkdir(parents=True)
    (folder / "superevent.json").write_text("{not json")
    with pytest.raises(
        EventInputError, match=r"^S180616a: superevent.json: unreadable"
    ):
        se.load_store_superevents(tmp_path)


# --- scale -----------------------------------------------------------------


def test_ten_thousand_events():
    # 5000 signals 10 s apart, each seen by gstlal and then by cWB 3 s later.
    events = []
    for k in range(5000):
        t = 1e9 + 10.0 * k
        events.append(cbc(f"G{2 * k + 1}", t, t + 5.0, snr=10.0))
        events.append(cwb(f"G{2 * k + 2}", t + 0.05, t + 8.0, duration=0.2))
    random.Random(2).shuffle(events)
    start = time.perf_counter()
    result = form_superevents(events)
    elapsed = time.perf_counter() - start
    assert len(result) == 5000
    assert all(len(s["gw_events"]) == 2 for s in result)
    assert all(s["preferred_event"] == s["gw_events"][0] for s in result)  # CBC
    assert len({s["superevent_id"] for s in result}) == 5000
    assert elapsed < 30.0  # about a second on one core; generous for CI
