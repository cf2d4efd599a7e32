"""The warm path: Snakemake run after run in one long-lived process.

The watcher's runs (and ``gwreplay run``'s shards) go to
``python -m gwreplay.snakemake_runner``; these tests check that one process
serves several runs, each with its own log and status, and that the
watcher starts a fresh one when it has died.
"""

import json
import os
import signal
import subprocess
import sys

from builders import burst_event, write_event, write_gaussian_skymap

from gwreplay.run import snakemake_command
from gwreplay.snakemake_runner import DONE
from gwreplay.watch.runner import SnakemakeRunner, StopRequest


def small_store(root):
    store = root / "store"
    folder = write_event(store, burst_event("G900001", 1187000000.0))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 10.0, 20.0)
    return store


def test_one_process_serves_run_after_run(tmp_path):
    store, results = small_store(tmp_path), tmp_path / "results"
    runner = subprocess.Popen(
        [sys.executable, "-m", "gwreplay.snakemake_runner"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, CONDOR_CONFIG=os.devnull),
    )
    lines = []
    for name, extra in (("first", ["-n"]), ("second", ["--no-such-option"])):
        command = snakemake_command(store, results, cores=1, extra=extra)
        log = tmp_path / f"{name}.log"
        request = {"name": name, "argv": command[3:], "log": str(log)}
        runner.stdin.write(json.dumps(request) + "\n")
        runner.stdin.flush()
        lines.append(runner.stdout.readline().split())
    runner.stdin.close()
    assert runner.wait(timeout=60) == 0
    # A dry run succeeds; an unknown option is Snakemake's usage error, and
    # the process still answers (and exits when its input closes).
    assert lines == [[DONE, "first", "0"], [DONE, "second", "2"]]
    assert "This was a dry-run" in (tmp_path / "first.log").read_text()
    assert "no-such-option" in (tmp_path / "second.log").read_text()


def test_the_watcher_keeps_its_snakemake_warm_and_replaces_a_dead_one(tmp_path):
    store, results = small_store(tmp_path), tmp_path / "results"
    runner = SnakemakeRunner(str(store), str(results), {"cores": 1}, stop=StopRequest())
    try:
        target = str(results / "superevents")  # no such target: Snakemake says so
        status, _, log = runner.run(1, ["-n"], while_waiting=lambda: None)
        assert status == 0, open(log).read()
        first = runner._process.pid
        status, _, _ = runner.run(2, ["-n"], while_waiting=lambda: None)
        assert status == 0 and runner._process.pid == first
        status, _, log = runner.run(3, [target], while_waiting=lambda: None)
        assert status == 1
        assert (
            "MissingRuleException" in open(log).read() or "No rule" in open(log).read()
        )
        assert runner._process.pid == first
        os.killpg(first, signal.SIGKILL)
        runner._process.wait()
        status, _, log = runner.run(4, ["-n"], while_waiting=lambda: None)
        assert status == 0, open(log).read()
        assert runner._process.pid != first
    finally:
        runner.close()
    assert runner._process is None


def test_runs_from_a_read_sequence_do_not_recompute_it(tmp_path):
    from gwreplay.watch.watcher import FROZEN_TRIGGERS, frozen_sequence_options

    notice = ("notice", ("S1", 1), {"file": "S1-1-Preliminary.json"})
    record = ("record", "S1", 123)
    sequence = ("sequence", "S1", {})
    assert frozen_sequence_options([notice], tmp_path) == list(FROZEN_TRIGGERS)
    # A run that asks for a sequence recomputes it, as Snakemake decides.
    assert frozen_sequence_options([notice, sequence], tmp_path) == []
    assert frozen_sequence_options([("product", ("G1", "x"), None)], tmp_path) == []
    assert frozen_sequence_options([record], tmp_path) == list(FROZEN_TRIGGERS)
    folder = tmp_path / "superevents" / "S1"
    folder.mkdir(parents=True)
    (folder / "alert.json").write_text("{}")
    (folder / "sequence.json").write_text("{}")
    os.utime(folder / "alert.json", ns=(2, 2))
    os.utime(folder / "sequence.json", ns=(1, 1))
    # Newer than its sequence (a restart's history): left as it is.
    assert frozen_sequence_options([record], tmp_path) == list(FROZEN_TRIGGERS)
    os.utime(folder / "sequence.json", ns=(3, 3))
    assert frozen_sequence_options([record], tmp_path)[-2:] == ["--forcerun", "alert"]
