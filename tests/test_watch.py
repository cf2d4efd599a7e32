"""The near-live watcher (``gwreplay watch``), as a user runs it.

The end-to-end tests start the watcher as a subprocess on an empty store,
write uploads into the store in pieces on the replay schedule (the store's
2017 ``created`` times are played now through ``--clock-offset``), restart
the watcher in the middle, stop it with SIGTERM and check that every alert
appears exactly once, with the preferred event as it stood at
``created + orchestrator_timeout``. The science runs for real: the workflow,
ligo.skymap's FITS and plotting code, and BAYESTAR for the CBC test.

Expected superevent IDs and preferred events are worked out by hand from
GraceDB's naming and gwcelery's ranking (see the comments), not taken from
the code under test.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from builders import (
    G211117_EVENT,
    ONE_DETECTOR_DISABLED,
    burst_event,
    write_gaussian_skymap,
)

from gwreplay import watch

#: GPS time of the first burst: 2017-08-10 21:56:34 UTC. (GW170814 is GPS
#: 1186741861 = 2017-08-14 10:30:43 UTC; 304449 s earlier is 3 d 12 h 34 min
#: 9 s earlier.) Every superevent below falls on 2017-08-10 UTC, so GraceDB
#: names them S170810a, b, c, d in order of creation.
T0 = 1186437412.5
#: Replay-clock time of the first upload.
C0 = 1186437420.0
#: Orchestrator timeout of these tests (the workflow gets the same value).
TIMEOUT = 6.0
#: Seconds from GPS 1980-01-06 to Unix 1970-01-01, and GPS-UTC in 2026.
GPS_EPOCH_UNIX = 315964800


def gps_now():
    """GPS now from the system clock (leap seconds from LAL)."""
    import lal

    return time.time() - GPS_EPOCH_UNIX + lal.GPSLeapSeconds(int(lal.GPSTimeNow()))


def burst(graceid, gpstime, created, far):
    """A cWB burst on two detectors; FAR <= 1/(4 * 365 d) is publishable."""
    return burst_event(graceid, gpstime, created=created, far=far)


def put(store, graceid, name, data):
    """Upload as the producer contract says: a dot-named temporary, then rename."""
    folder = Path(store) / "events" / graceid
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".{name}.tmp"
    tmp.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    os.rename(tmp, folder / name)


def skymap_bytes(tmp_path, ra, dec):
    """A Gaussian sky map written by ligo.skymap, as bytes."""
    path = tmp_path / f"skymap-{ra}-{dec}.fits"
    write_gaussian_skymap(path, ra, dec)
    return path.read_bytes()


class WatcherProcess:
    """``gwreplay watch`` as a subprocess, its log in a file."""

    def __init__(self, store, results, logfile, offset, configfile, *extra):
        self.logfile = logfile
        self.out = open(logfile, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gwreplay.cli",
                "watch",
                str(store),
                "--results",
                str(results),
                "--cores",
                "2",
                "--configfile",
                str(configfile),
                "--clock-offset",
                repr(offset),
                "--batch-seconds",
                "0.5",
                "--stop-timeout",
                "120",
                *extra,
            ],
            stdout=self.out,
            stderr=subprocess.STDOUT,
        )

    def log(self):
        return Path(self.logfile).read_text()

    def wait_for(self, pattern, timeout):
        """Wait (bounded) until the log matches ``pattern``; fail with the log."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if re.search(pattern, self.log()):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        # Stop the watcher before failing: a failed test must not leave it
        # running (and replaying) in the background.
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        pytest.fail(f"watcher log never matched {pattern!r}:\n{self.log()}")

    def stop(self, timeout=150):
        """SIGTERM; the watcher must finish its run and exit 0 in time."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.out.close()
        return status


def wait_replay(offset, gps):
    """Sleep until the replay clock (GPS now + offset) reads ``gps``."""
    delay = gps - (gps_now() + offset)
    if delay > 0:
        time.sleep(delay)


@pytest.fixture
def config(tmp_path):
    # These tests replay the O3 flow (one preliminary at the timeout, in
    # alert.json); O4's notices are tests/test_watch_o4.py's.
    path = tmp_path / "watch.yaml"
    path.write_text(f"orchestrator_policy: O3\norchestrator_timeout: {TIMEOUT}\n")
    return path


# --------------------------------------------------------------------------
# End to end, bursts: pieces, a late upload, a broken upload, a restart.
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_every_alert_exactly_once_across_late_upload_and_restart(tmp_path, config):
    store, results = tmp_path / "store", tmp_path / "results"
    (store / "events").mkdir(parents=True)
    logfile = tmp_path / "watch.log"
    maps = [skymap_bytes(tmp_path, ra, dec) for ra, dec in ((120, -30), (100, 10))]
    # The replay clock reads C0 - 3 s now: the first upload comes in 3 s.
    offset = C0 - 3.0 - gps_now()
    watcher = WatcherProcess(store, results, logfile, offset, config)
    watcher.wait_for(r"resumed: 0 events", 60)

    # S170810a: A1 opens it; A2 (1 s later, lower FAR) joins before the
    # timeout and becomes preferred (bursts rank by FAR).
    wait_replay(offset, C0)
    put(store, "G1", "skyprobcc_cWB.fits", maps[0])
    put(store, "G1", "event.json", burst("G1", T0, C0, 1e-9))
    wait_replay(offset, C0 + 1)
    put(store, "G2", "skyprobcc_cWB.fits", maps[1])
    put(store, "G2", "event.json", burst("G2", T0 + 0.01, C0 + 1, 1e-12))
    # S170810b: event.json only, for now.
    wait_replay(offset, C0 + 2)
    put(store, "G3", "event.json", burst("G3", T0 + 1000, C0 + 2, 1e-10))
    # S170810c: a broken (empty) sky map. Its alert fails, alone.
    wait_replay(offset, C0 + 3)
    put(store, "G4", "event.json", burst("G4", T0 + 2000, C0 + 3, 1e-10))
    put(store, "G4", "skyprobcc_cWB.fits", b"")

    watcher.wait_for(r"alert issued S170810a", 120)
    # S170810b is due and waits for its sky map, which is now written in
    # place, in two pieces 2.5 s apart (longer than --settle-seconds): the
    # watcher must wait for the whole file, not use the first half.
    watcher.wait_for(r"S170810b due, waiting: waiting for G3/skyprobcc_cWB", 120)
    with open(store / "events" / "G3" / "skyprobcc_cWB.fits", "wb") as f:
        f.write(maps[0][: len(maps[0]) // 2])
        f.flush()
        time.sleep(2.5)
        f.write(maps[0][len(maps[0]) // 2 :])
    first_alert = results / "superevents" / "S170810a" / "alert.json"
    mtime = first_alert.stat().st_mtime_ns
    # A late upload: G5 would be preferred (lowest FAR) had it come before
    # the timeout. It joins S170810a, whose alert must not be re-issued.
    late = gps_now() + offset
    assert late > C0 + TIMEOUT
    put(store, "G5", "skyprobcc_cWB.fits", maps[1])
    put(store, "G5", "event.json", burst("G5", T0 + 0.02, late, 1e-14))
    watcher.wait_for(r"late event G5 joined S170810a", 60)
    assert watcher.stop() == 0

    # While the watcher is down, S170810d is created and its timeout passes.
    created = gps_now() + offset
    put(store, "G6", "skyprobcc_cWB.fits", maps[1])
    put(store, "G6", "event.json", burst("G6", T0 + 3000, created, 1e-10))
    wait_replay(offset, created + TIMEOUT + 0.5)

    watcher = WatcherProcess(store, results, logfile, offset, config)
    watcher.wait_for(r"alert issued S170810d", 180)
    watcher.wait_for(r"alert issued S170810b", 180)
    watcher.wait_for(r"alert S170810c failed", 180)
    assert watcher.stop() == 0
    log = watcher.log()

    # Every alert exactly once: one "alert issued" line each, over both
    # watchers, and one request each in the state.
    issued = re.findall(r"alert issued (S\w+):", log)
    assert sorted(issued) == ["S170810a", "S170810b", "S170810d"], log
    state = json.loads((results / "watch_state.json").read_text())
    alerts = state["alerts"]
    for sid in ("S170810a", "S170810b", "S170810d"):
        assert alerts[sid]["status"] == "produced"
        assert alerts[sid]["produced"] == 1
        assert alerts[sid]["requests"] == 1
        assert (results / "superevents" / sid / f"{sid}-1-Preliminary.xml").exists()
    assert first_alert.stat().st_mtime_ns == mtime  # never rewritten
    assert alerts["S170810a"]["late_events"] == ["G5"]
    requested = re.findall(r"requesting .*", log)
    assert sum("S170810a/alert.json" in line for line in requested) == 1

    # The alert speaks for the preferred event at the timeout: G2, not G5.
    alert = json.loads(first_alert.read_text())
    assert alert["preferred_event"] == "G2"
    assert alert["notice_time"] == pytest.approx(C0 + TIMEOUT)
    assert (
        json.loads((results / "superevents" / "S170810b" / "alert.json").read_text())[
            "preferred_event"
        ]
        == "G3"
    )

    # The broken upload failed its own alert, recorded by the workflow.
    assert alerts["S170810c"]["status"] == "failed"
    assert not (results / "superevents" / "S170810c" / "alert.json").exists()
    failures = (results / "failures.csv").read_text()
    # The sky map is screened before the alert, so the failure names the
    # G-event that uploaded it.
    assert "preliminary_alert,G4,skyprobcc_cWB.fits,file is empty" in failures
    assert "rejected G4: skyprobcc_cWB.fits: file is empty" in log
    # The half-written sky map was never used: seen once, complete.
    assert "G3" not in failures
    assert log.count("seen G3/skyprobcc_cWB.fits") == 1


# --------------------------------------------------------------------------
# End to end, CBC: BAYESTAR waits for the PSD upload (real G211117 files).
# --------------------------------------------------------------------------


@pytest.mark.slow
def test_cbc_bayestar_waits_for_announced_psd(tmp_path, config, reference_dir):
    store, results = tmp_path / "store", tmp_path / "results"
    (store / "events").mkdir(parents=True)
    ref = reference_dir / "G211117"
    # BAYESTAR on H1 alone: the trigger is under test here, not the sky map.
    disabled = ", ".join(ONE_DETECTOR_DISABLED)
    config.write_text(
        config.read_text() + f"bayestar_disabled_detectors: [{disabled}]\n"
    )
    created = G211117_EVENT["created"]
    offset = created - 2.0 - gps_now()
    watcher = WatcherProcess(store, results, tmp_path / "watch.log", offset, config)
    watcher.wait_for(r"resumed: 0 events", 60)
    wait_replay(offset, created)
    put(store, "G211117", "coinc.xml", ref.joinpath("coinc.xml").read_bytes())
    event = dict(
        G211117_EVENT, uploads=[{"filename": "psd.xml.gz", "created": created + 3}]
    )
    put(store, "G211117", "event.json", event)
    wait_replay(offset, created + 3)
    put(store, "G211117", "psd.xml.gz", ref.joinpath("psd.xml.gz").read_bytes())
    watcher.wait_for(r"alert issued S170810a", 400)
    assert watcher.stop() == 0
    log = watcher.log()

    # BAYESTAR was asked for only once the PSDs it was announced with came.
    requests = [line for line in log.splitlines() if "requesting" in line]
    first_bayestar = next(
        i for i, line in enumerate(log.splitlines()) if "bayestar.fits.gz" in line
    )
    psd_seen = next(
        i
        for i, line in enumerate(log.splitlines())
        if "seen G211117/psd.xml.gz" in line
    )
    assert psd_seen < first_bayestar
    assert sum("bayestar.fits.gz" in line for line in requests) == 1
    assert len(re.findall(r"alert issued", log)) == 1
    sid = re.search(r"alert issued (S\w+)", log).group(1)
    alert = json.loads((results / "superevents" / sid / "alert.json").read_text())
    assert alert["preferred_event"] == "G211117"
    assert alert["notice"]  # publishable: FAR 5e-16 Hz, three detectors
    # Replay clock: PSD uploaded 3 s after the event, then 30 s of BAYESTAR.
    assert alert["notice_time"] == pytest.approx(created + 3 + 30)


# --------------------------------------------------------------------------
# Units: names, clock, configuration, the BAYESTAR trigger.
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, temporary",
    [
        (".event.json.tmp", True),
        (".tmp-abc.json", True),
        ("coinc.xml.tmp", True),
        ("psd.xml.gz.part", True),
        ("coinc.xml~", True),
        ("event.json", False),
        ("psd.xml.gz", False),
    ],
)
def test_temporary_names_are_never_read(name, temporary):
    assert watch.is_temporary(name) is temporary


def test_replay_clock_follows_gps_now_with_offset():
    import lal

    clock = watch.ReplayClock(offset=-1000.0)
    # lal.GPSTimeNow() truncates to whole seconds.
    assert 0 <= clock.now() + 1000.0 - float(lal.GPSTimeNow()) < 1.5
    assert clock.wall_time(clock.now() + 10.0) == pytest.approx(
        time.time() + 10, abs=0.05
    )


def test_config_follows_snakemake_order(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("orchestrator_timeout: 5\nsuperevent_d_t_start: {gstlal: 3.0}\n")
    conf = watch.load_config(path, ["--config", "orchestrator_timeout=7.5"])
    assert conf["orchestrator_timeout"] == 7.5
    # Nested keys merge, as Snakemake merges config files.
    assert conf["superevent_d_t_start"]["gstlal"] == 3.0
    assert conf["superevent_d_t_start"]["pycbc"] == 1.0
    assert watch.load_config()["orchestrator_timeout"] == 15.0  # gwcelery's


def test_forcing_options_are_refused(tmp_path):
    (tmp_path / "store" / "events").mkdir(parents=True)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "gwreplay.cli",
            "watch",
            str(tmp_path / "store"),
            "--results",
            str(tmp_path / "results"),
            "--",
            "--forcerun",
            "preliminary_alert",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "would rebuild alerts" in proc.stderr


def _watcher(tmp_path, *config):
    store = tmp_path / "store"
    (store / "events").mkdir(parents=True)
    return watch.Watcher(
        store,
        tmp_path / "results",
        watch.load_config(None, ["--config", *config] if config else []),
        clock=watch.ReplayClock(),
    )


def _arrive(watcher, graceid, name, data):
    put(watcher.store, graceid, name, data)
    watcher.touch(watcher.upload_path(graceid, name), complete=True)


@pytest.mark.parametrize(
    "policy, classification, skymap",
    [
        ("O3", "source_classification.json", "bayestar.fits.gz"),
        ("O4", "em_bright.json", "bayestar.multiorder.fits"),
    ],
)
def test_bayestar_starts_on_psd_upload_not_before(
    tmp_path, reference_dir, policy, classification, skymap
):
    watcher = _watcher(tmp_path, f"orchestrator_policy={policy}")
    ref = reference_dir / "G211117"
    _arrive(watcher, "G211117", "coinc.xml", (ref / "coinc.xml").read_bytes())
    event = dict(G211117_EVENT, uploads=[{"filename": "psd.xml.gz", "created": 1.0}])
    _arrive(watcher, "G211117", "event.json", event)
    watcher.refresh_event("G211117")
    event = watcher.events["G211117"]
    # The classification needs coinc.xml only; BAYESTAR waits for the PSDs.
    assert watcher.product_inputs("G211117", event, classification) == ["coinc.xml"]
    assert "psd.xml.gz" in watcher.product_inputs("G211117", event, skymap)
    _arrive(watcher, "G211117", "psd.xml.gz", (ref / "psd.xml.gz").read_bytes())
    assert watcher.product_inputs("G211117", event, skymap) == [
        "coinc.xml",
        "psd.xml.gz",
    ]


def test_bayestar_starts_on_coinc_when_psds_are_embedded(tmp_path, reference_dir):
    import lal
    import lal.series
    from igwn_ligolw import utils as ligolw_utils

    # A coinc document with a PSD appended, as O4 pipelines upload it.
    psd = lal.CreateREAL8FrequencySeries(
        "psd", lal.LIGOTimeGPS(0), 10.0, 1.0, lal.DimensionlessUnit, 4
    )
    psd.data.data[:] = 1e-46
    xmldoc = lal.series.make_psd_xmldoc({"H1": psd})
    path = tmp_path / "embedded.xml"
    ligolw_utils.write_filename(xmldoc, str(path))
    watcher = _watcher(tmp_path)
    event = dict(G211117_EVENT)
    _arrive(watcher, "G211117", "coinc.xml", path.read_bytes())
    assert watch.coinc_embeds_psds(path)
    assert watcher.product_inputs("G211117", event, "bayestar.fits.gz") == ["coinc.xml"]
    # The real G211117 coinc.xml carries no PSD: BAYESTAR waits for one.
    assert not watch.coinc_embeds_psds(reference_dir / "G211117" / "coinc.xml")
    _arrive(
        watcher,
        "G211117",
        "coinc.xml",
        (reference_dir / "G211117/coinc.xml").read_bytes(),
    )
    assert "waiting" in watcher.product_inputs("G211117", event, "bayestar.fits.gz")


def test_half_written_file_waits_until_unchanged(tmp_path):
    watcher = _watcher(tmp_path)
    watcher.settle_seconds = 0.3
    folder = tmp_path / "store" / "events" / "G7"
    folder.mkdir()
    path = folder / "skyprobcc_cWB.fits"
    path.write_bytes(b"SIMPLE  =")
    watcher.touch(str(path), complete=False)  # created/modified, not closed
    assert watcher.verdict("G7", "skyprobcc_cWB.fits") is None
    watcher.settle()
    assert watcher.verdict("G7", "skyprobcc_cWB.fits") is None  # too recent
    time.sleep(0.1)
    path.write_bytes(b"SIMPLE  = T" * 10)  # still being written
    watcher.settle()
    time.sleep(0.35)
    watcher.settle()
    assert watcher.verdict("G7", "skyprobcc_cWB.fits") == "ok"
    # A file inotify saw being written to waits for its close, however long.
    watcher.touch(str(path), complete=False, writing=True)
    path.write_bytes(b"SIMPLE  = T" * 20)
    watcher.touch(str(path), complete=False, writing=True)
    time.sleep(0.35)
    watcher.settle()
    assert watcher.verdict("G7", "skyprobcc_cWB.fits") is None
    watcher.touch(str(path), complete=True)  # closed
    assert watcher.verdict("G7", "skyprobcc_cWB.fits") == "ok"
    # A temporary name is never followed.
    (folder / ".x.tmp").write_bytes(b"")
    watcher.touch(str(folder / ".x.tmp"), complete=True)
    assert ("G7", ".x.tmp") not in watcher.uploads


# --------------------------------------------------------------------------
# Units of the parts: the alert schedule and the restart state.
# --------------------------------------------------------------------------


class _FixedClock:
    """A replay clock that reads ``now`` (GPS), for the schedule's units."""

    def __init__(self, now):
        self.reading = now

    def now(self):
        return self.reading


def _superevent(sid, created, preferred):
    return {
        "superevent_id": sid,
        "created": created,
        "preferred_event": preferred,
        "gw_events": [preferred],
    }


def test_alert_falls_due_at_created_plus_timeout_plus_grace(tmp_path):
    from gwreplay.watch.clock import AlertSchedule
    from gwreplay.watch.state import WatchState

    clock = _FixedClock(1000.0 + 15.0 + 2.0 - 0.5)  # half a second before due
    schedule = AlertSchedule(clock, 15.0, grace_seconds=2.0)
    state = WatchState(
        tmp_path / "s.json", store="S", results=str(tmp_path), timeout=15.0
    )
    record = _superevent("S1", 1000.0, "G1")
    assert schedule.due(record) == 1015.0
    ready = lambda record: ["G1", [], ["G1"]]  # noqa: E731
    assert schedule.plan({"S1": record}, state, ready) == []
    assert schedule.seconds_to_next_due({"S1": record}, state) == pytest.approx(0.5)
    clock.reading = 1017.0
    assert schedule.plan({"S1": record}, state, ready) == [
        ("alert", "S1", ["G1", [], ["G1"]])
    ]
    # Requested once: never planned again, and no longer counted as due.
    state.requested("S1", record, schedule.due(record))
    assert schedule.plan({"S1": record}, state, ready) == []
    assert schedule.seconds_to_next_due({"S1": record}, state) is None


def test_alert_without_failure_record_is_retried_three_times(tmp_path):
    from gwreplay.watch.state import WatchState

    state = WatchState(
        tmp_path / "s.json", store="S", results=str(tmp_path), timeout=15.0
    )
    record = _superevent("S1", 1000.0, "G1")
    statuses = []
    for _ in range(3):
        state.requested("S1", record, 1015.0)
        state.not_produced("S1", None, 1, str(tmp_path / "run.log"))
        statuses.append(state.status("S1"))
    assert statuses == ["retry", "retry", "failed"]
    state.save()
    saved = json.loads((tmp_path / "s.json").read_text())["alerts"]["S1"]
    assert saved["reason"] == "run status 1"
    assert saved["requests"] == saved["attempts"] == 3
