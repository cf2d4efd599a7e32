"""The watcher under the O4 policy: a file target per notice, each when due.

End to end: a burst-only superevent (cWB brings its own sky map, so no
BAYESTAR) played now through ``--clock-offset``; its notices must appear in
order, each after its due time on the replay clock and never before, and a
restart must not request a notice again. Units: the notice schedule on a
fixed clock over a hand-written ``sequence.json``.

Expected notices are worked out by hand from gwcelery 3.0.0's rules (see
the comments), not taken from the code under test.
"""

import json
import os
import re
from pathlib import Path

import pytest
from test_watch import (
    GPS_EPOCH_UNIX,
    WatcherProcess,
    burst,
    gps_now,
    put,
    skymap_bytes,
    wait_replay,
)

from gwreplay import watch

#: As tests/test_watch.py: 2017-08-10, so the superevent is S170810a.
T0 = 1186437412.5
C0 = 1186437420.0
#: superevent_clean_up_timeout of these tests (gwcelery: 270 s).
CLEAN_UP = 12.0
SID = "S170810a"


def unix_time(offset, gps):
    """Unix time at which the replay clock (GPS now + offset) reads ``gps``."""
    import lal

    leap = lal.GPSLeapSeconds(int(lal.GPSTimeNow()))
    return gps - offset - leap + GPS_EPOCH_UNIX


@pytest.fixture
def config_o4(tmp_path):
    path = tmp_path / "watch.yaml"
    path.write_text(
        "orchestrator_policy: O4\n"
        f"policies: {{O4: {{superevent_clean_up_timeout: {CLEAN_UP}}}}}\n"
    )
    return path


def burst_o4(graceid, gpstime, created, far):
    """A cWB burst whose sky map is uploaded with it (complete at creation)."""
    event = burst(graceid, gpstime, created, far)
    event["uploads"] = [{"filename": "skyprobcc_cWB.fits", "created": created}]
    return event


@pytest.mark.slow
def test_notices_appear_in_order_after_due_and_survive_restart(tmp_path, config_o4):
    store, results = tmp_path / "store", tmp_path / "results"
    (store / "events").mkdir(parents=True)
    logfile = tmp_path / "watch.log"
    maps = [skymap_bytes(tmp_path, ra, dec) for ra, dec in ((120, -30), (100, 10))]
    offset = C0 - 3.0 - gps_now()
    watcher = WatcherProcess(store, results, logfile, offset, config_o4)
    watcher.wait_for(r"resumed: 0 events", 60)

    # G1 (FAR 1e-10 Hz: 3e-10 after cWB's trials factor 3, under 1/yr, so
    # significant) is complete when created: gwcelery 3.0.0 locks it
    # (SIGNIF_LOCKED) and sends significant Preliminary 1 for G1 at C0. G2
    # (FAR 1e-12) joins 1 s later; GCN_PRELIM_SENT + clean-up timeout sends
    # Preliminary 2, re-selected: G2 at C0 + CLEAN_UP.
    wait_replay(offset, C0)
    put(store, "G1", "skyprobcc_cWB.fits", maps[0])
    put(store, "G1", "event.json", burst_o4("G1", T0, C0, 1e-10))
    wait_replay(offset, C0 + 1)
    put(store, "G2", "skyprobcc_cWB.fits", maps[1])
    put(store, "G2", "event.json", burst_o4("G2", T0 + 0.01, C0 + 1, 1e-12))
    watcher.wait_for(rf"notice sent {SID}-2-Preliminary.json", 120)
    assert watcher.stop() == 0

    # While it is down, the advocates sign off (ADV OK): the Initial notice
    # is due at the sign-off's time, after the restart.
    signoff = gps_now() + offset + 8.0
    folder = store / "superevents" / SID
    folder.mkdir(parents=True)
    (folder / ".signoffs.json.tmp").write_text(
        json.dumps(
            {
                "superevent_id": SID,
                "signoffs": [{"signoff_type": "ADV", "status": "OK", "time": signoff}],
            }
        )
    )
    os.rename(folder / ".signoffs.json.tmp", folder / "signoffs.json")
    watcher = WatcherProcess(store, results, logfile, offset, config_o4)
    watcher.wait_for(r"resumed: 2 events, 1 superevents, 2 notices already sent", 60)
    watcher.wait_for(rf"alert.json of {SID} written", 180)
    assert watcher.stop() == 0
    log = watcher.log()

    sequence = json.loads((results / "superevents" / SID / "sequence.json").read_text())
    expected = [
        (1, "Preliminary", "G1", C0),
        (2, "Preliminary", "G2", C0 + CLEAN_UP),
        (3, "Initial", "G2", signoff),
    ]
    got = [
        (n["alert_number"], n["alert_type"], n["preferred_event"], n["due"])
        for n in sequence["notices"]
    ]
    assert [g[:3] for g in got] == [e[:3] for e in expected], got
    assert [g[3] for g in got] == pytest.approx([e[3] for e in expected])

    # Each notice file appears after its due time, never before, in order.
    state = json.loads((results / "watch_state.json").read_text())
    records = state["sequences"][SID]["notices"]
    appeared = []
    for number, alert_type, _, _ in expected:
        name = f"{SID}-{number}-{alert_type}.json"
        path = results / "superevents" / SID / name
        record = records[str(number)]
        assert record["status"] == "produced"
        assert record["requests"] == 1, record
        assert not record.get("content_changed"), record
        # The first version of the file: when the notice was sent.
        assert record["sha256"]
        assert f"notice sent {name}" in log
        sent_line = re.search(rf"(\S+ \S+) gwreplay watch: notice sent {name}", log)
        assert sent_line, log
        appeared.append(path.stat().st_mtime if not record["rewrites"] else None)
        assert sum(name in line for line in re.findall(r"requesting .*", log)) == 1, log
        lag = float(re.search(rf"notice sent {name}: .*?, ([-\d.]+) s after", log)[1])
        assert lag >= 0, log
    first = [t for t in appeared if t is not None]
    assert first == sorted(first)
    for (*_, due), mtime in zip(expected, appeared, strict=True):
        if mtime is not None:
            assert mtime >= unix_time(offset, due)

    # Follow-ups after their notices, and the superevent's record last.
    for name in ("preliminary-circular-1.txt", "skyprobcc_cWB-1.png"):
        assert (results / "superevents" / SID / name).exists(), name
    assert (results / "superevents" / SID / "initial-circular-3.txt").exists()
    alert = json.loads((results / "superevents" / SID / "alert.json").read_text())
    assert [n["alert_type"] for n in alert["notices"]] == [
        "Preliminary",
        "Preliminary",
        "Initial",
    ]
    # The sign-off was seen without an event: the sequence was recomputed.
    assert state["sequences"][SID]["requests"] >= 2


# --------------------------------------------------------------------------
# Units: the notice schedule on a fixed replay clock.
# --------------------------------------------------------------------------


class _FixedClock:
    def __init__(self, now):
        self.reading = now

    def now(self):
        return self.reading

    def wall_time(self, gps):
        return gps - self.reading + __import__("time").time()


def _o4_watcher(tmp_path, now):
    store = tmp_path / "store"
    (store / "events").mkdir(parents=True)
    conf = watch.load_config()
    conf["orchestrator_policy"] = "O4"
    return watch.Watcher(store, tmp_path / "results", conf, clock=_FixedClock(now))


def _arrive(watcher, graceid, name, data):
    put(watcher.store, graceid, name, data)
    watcher.touch(watcher.upload_path(graceid, name), complete=True)


def _sequence(notices):
    return {
        "superevent_id": SID,
        "policy": "O4",
        "labels": [],
        "vetoed": False,
        "notices": [
            {
                "alert_number": i + 1,
                "alert_type": kind,
                "significant": True,
                "preferred_event": graceid,
                "due": due,
                "reason": "test",
            }
            for i, (kind, graceid, due) in enumerate(notices)
        ],
    }


def _sequence_ran(watcher, signature, notices):
    """The sequence job of SID ran from ``signature`` and wrote ``notices``;
    return the superevent's results folder."""
    watcher.sequences.sequence_requested(SID, signature)
    folder = Path(watcher.results) / "superevents" / SID
    folder.mkdir(parents=True)
    (folder / "sequence.json").write_text(json.dumps(_sequence(notices)))
    watcher.sequences.sequence_outcome(SID, str(folder / "sequence.json"), None, 0, "")
    return folder


def test_schedule_requests_sequence_then_each_notice_when_due(tmp_path):
    watcher = _o4_watcher(tmp_path, C0 - 1)
    _arrive(watcher, "G1", "skyprobcc_cWB.fits", skymap_bytes(tmp_path, 120, -30))
    _arrive(watcher, "G1", "event.json", burst_o4("G1", T0, C0, 1e-10))
    targets = watcher.plan()
    assert [(k, key) for k, key, _ in targets] == [("sequence", SID)]
    # The sequence job ran: the notices come from its file.
    folder = _sequence_ran(
        watcher,
        targets[0][2],
        [("Preliminary", "G1", C0), ("Preliminary", "G1", C0 + 20)],
    )
    assert watcher.plan() == []  # notice 1 not due yet
    assert watcher.notices.seconds_to_next_due(watcher.targets.form()) == pytest.approx(
        1
    )
    watcher.clock.reading = C0 + 0.1
    targets = watcher.plan()
    assert [(k, key) for k, key, _ in targets] == [("notice", (SID, 1))]
    assert watcher.targets.target_paths(*targets[0]) == [
        str(folder / f"{SID}-1-Preliminary.json")
    ]
    # Sent: never requested again; its follow-ups wait while notice 2 is
    # due within the gap, then come in a run of their own.
    watcher.sequences.notice_requested(
        SID, targets[0][2]["notice"], f"{SID}-1-Preliminary.json"
    )
    (folder / f"{SID}-1-Preliminary.json").write_text("{}")
    watcher.sequences.notice_outcome(
        SID, 1, str(folder / f"{SID}-1-Preliminary.json"), watcher.clock, None, 0, ""
    )
    watcher.clock.reading = C0 + 15
    assert watcher.plan() == []
    watcher.clock.reading = C0 + 20
    assert [(k, key) for k, key, _ in watcher.plan()] == [("notice", (SID, 2))]

    # A restart: the state says notice 1 was sent; it is not requested again.
    watcher.state.save()
    again = _o4_watcher_same(watcher)
    again.settle_seconds = 0.0
    again.startup()
    again.settle()
    planned = [(k, key) for k, key, _ in again.plan()]
    assert ("notice", (SID, 1)) not in planned
    assert ("notice", (SID, 2)) in planned


def test_sky_map_after_event_json_with_the_other_eras_name(tmp_path):
    """event.json first, then cWB's O3-named map (a store of another era):
    the notice goes out on that map, as the workflow's plan reads the folder,
    instead of waiting for cwb.multiorder.fits forever."""
    watcher = _o4_watcher(tmp_path, C0 - 1)
    _arrive(watcher, "G1", "event.json", burst_o4("G1", T0, C0, 1e-10))
    watcher.plan()
    _arrive(watcher, "G1", "skyprobcc_cWB.fits", skymap_bytes(tmp_path, 120, -30))
    targets = watcher.plan()
    assert [(k, key) for k, key, _ in targets] == [("sequence", SID)]
    _sequence_ran(watcher, targets[0][2], [("Preliminary", "G1", C0)])
    watcher.clock.reading = C0 + 0.1
    targets = watcher.plan()
    assert [(k, key) for k, key, _ in targets] == [("notice", (SID, 1))]


def _o4_watcher_same(watcher):
    conf = watch.load_config()
    conf["orchestrator_policy"] = "O4"
    return watch.Watcher(
        watcher.store, watcher.results, conf, clock=_FixedClock(watcher.clock.reading)
    )


def test_recomputed_sequence_is_compared_not_reissued(tmp_path, caplog):
    from gwreplay.watch.state import SequenceState, WatchState

    state = WatchState(
        tmp_path / "s.json", store="S", results=str(tmp_path), timeout=15
    )
    sequences = SequenceState(state)
    notice = _sequence([("Preliminary", "G1", C0)])["notices"][0]
    path = tmp_path / "n.json"
    path.write_text("{}")
    sequences.notice_requested(SID, notice, path.name)
    sequences.notice_outcome(SID, 1, str(path), _FixedClock(C0), None, 0, "")
    changed = dict(notice, preferred_event="G5")
    with caplog.at_level("INFO", logger="gwreplay.watch"):
        assert sequences.compare(SID, changed)
        assert sequences.compare(SID, changed)
    assert caplog.text.count("sent notice not re-issued") == 1
    assert sequences.notice(SID, 1)["superseded"] == ["preferred_event G1 -> G5"]
    # Snakemake rewrote the file (stale by its rules): counted, compared.
    os.utime(path, ns=(1, 1))
    sequences.check_rewrites(SID, lambda record: str(path))
    assert sequences.notice(SID, 1)["rewrites"] == 1
    assert not sequences.notice(SID, 1).get("content_changed")
    path.write_text('{"x": 1}')
    sequences.check_rewrites(SID, lambda record: str(path))
    assert sequences.notice(SID, 1)["content_changed"]
