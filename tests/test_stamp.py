"""The cached plan and the completion stamp: reruns that do only what changed.

Unit tests of :mod:`gwreplay.stamp` and :func:`gwreplay.plan.cached_plan`,
then the real workflow on a small burst store: a rerun with nothing new
does not start Snakemake, a new or changed event rebuilds its own results
only, and the results equal those of a replay from scratch.
"""

import json
import os
import re

import pytest
from builders import burst_event, gwreplay, write_event, write_gaussian_skymap

from gwreplay import plan as plan_module
from gwreplay.plan import cached_plan, make_plan, plan_to_json
from gwreplay.run import DEFAULT_CONFIG, load_configfiles
from gwreplay.stamp import (
    STAMP,
    SUPEREVENT_OUTPUTS,
    code_digest,
    outdated_targets,
    read_stamp,
    store_listing,
    write_stamp,
)

T0 = 1187000000.0


def burst_store(store, offsets=(0, 2000)):
    """Bursts far enough apart to be superevents of their own."""
    for number, offset in enumerate(offsets):
        add_burst(store, f"G90010{number}", T0 + offset)


def add_burst(store, graceid, gpstime, ra=120.0):
    folder = write_event(store, burst_event(graceid, gpstime))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", ra, -30.0)
    return folder


@pytest.fixture
def config(tmp_path):
    conf = load_configfiles([DEFAULT_CONFIG])
    conf.update(store=str(tmp_path / "store"), results=str(tmp_path / "results"))
    return conf


def test_cached_plan_equals_the_plan_and_follows_the_store(
    tmp_path, config, monkeypatch
):
    store, results = tmp_path / "store", tmp_path / "results"
    burst_store(store)
    planned = cached_plan(store, results, config)
    assert plan_to_json(planned) == plan_to_json(make_plan(store, results, config))
    assert (results / plan_module.PLAN_CACHE).exists()

    def no_planning(*args):
        raise AssertionError("the cached plan should have been used")

    monkeypatch.setattr(plan_module, "make_plan", no_planning)
    again = cached_plan(store, results, config)
    # Equal, key order included: Snakemake compares the superevent records
    # (rule params) by their text.
    assert repr(plan_to_json(again)) == repr(plan_to_json(planned))
    monkeypatch.undo()
    # A new event, and an event.json rewritten in place, each re-plan.
    add_burst(store, "G900200", T0 + 4000)
    grown = cached_plan(store, results, config)
    assert "G900200" in grown.store.events
    path = store / "events" / "G900100" / "event.json"
    path.write_text(json.dumps(burst_event("G900100", T0, far=1e-3)))
    assert cached_plan(store, results, config).store.events["G900100"]["far"] == 1e-3
    # So does a change of a configuration key the plan reads.
    changed = dict(config, superevent_far_threshold=1e-20)
    assert cached_plan(store, results, changed).superevents == {}


def test_a_replan_reads_only_the_changed_event_folders(tmp_path, config, monkeypatch):
    from gwreplay import store as store_module

    store, results = tmp_path / "store", tmp_path / "results"
    burst_store(store, offsets=(0, 2000, 4000))
    cached_plan(store, results, config)
    read = []
    real = store_module._read_event

    def counting(root, graceid):
        read.append(graceid)
        return real(root, graceid)

    monkeypatch.setattr(store_module, "_read_event", counting)
    add_burst(store, "G900200", T0 + 6000)
    # An upload renamed into an old event's folder changes that folder too.
    os.rename(
        store / "events" / "G900101" / "skyprobcc_cWB.fits",
        store / "events" / "G900101" / "cwb.multiorder.fits",
    )
    grown = cached_plan(store, results, config)
    assert sorted(read) == ["G900101", "G900200"]
    fresh = make_plan(store, results, config)
    assert repr(plan_to_json(grown)) == repr(plan_to_json(fresh))
    assert grown.store.events["G900101"]["files"] == ["cwb.multiorder.fits"]


def finished(plan, notices=()):
    """Placeholder files for every planned result, as after a complete run.

    Under O4 (the default policy) the superevent checkpoint also writes
    sequence.json: here a sequence of ``notices`` (none by default).
    """
    paths = plan.targets() + [
        plan.superevent_result(sid, name)
        for sid in plan.superevents
        for name in SUPEREVENT_OUTPUTS
    ]
    for path in paths:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("{}")
    if plan.policy == "O4":
        for sid in plan.superevents:
            sequence = {"superevent_id": sid, "notices": list(notices)}
            with open(plan.superevent_result(sid, "sequence.json"), "w") as f:
                json.dump(sequence, f)


def test_file_targets_are_files_of_events_and_superevents(tmp_path, config):
    from gwreplay.bookkeeping import file_targets

    results = tmp_path / "results"
    burst_store(tmp_path / "store")
    plan = make_plan(tmp_path / "store", results, config)
    alert = str(results / "superevents" / "S1" / "alert.json")
    # Relative targets are the results folder's, where Snakemake runs.
    assert file_targets(plan, ["events/G1/em_bright.json", alert]) == [
        str(results / "events" / "G1" / "em_bright.json"),
        alert,
    ]
    assert file_targets(plan, []) is None
    assert file_targets(plan, [alert, "all"]) is None  # a rule: every row
    assert file_targets(plan, ["superevents/S1"]) is None  # a folder
    assert file_targets(plan, ["../elsewhere/superevents/S1/alert.json"]) is None
    assert plan.target_owner(alert) == ("superevents", "S1", alert)


def test_outdated_targets(tmp_path, config):
    store, results = tmp_path / "store", tmp_path / "results"
    burst_store(store)
    plan = make_plan(store, results, config)
    code = code_digest()
    listing = store_listing(store)
    assert outdated_targets(plan, None, code=code, config="c", listing=listing) is None
    finished(plan)
    write_stamp(results, code=code, config="c", listing=listing, plan=plan)
    stamp = read_stamp(results)
    assert outdated_targets(plan, stamp, code=code, config="c", listing=listing) == []
    # Code or configuration changed: Snakemake must judge everything.
    assert outdated_targets(plan, stamp, code="x", config="c", listing=listing) is None
    assert outdated_targets(plan, stamp, code=code, config="x", listing=listing) is None
    # A missing result is rebuilt; so is the alert of a changed event.
    first, second = sorted(plan.superevents)
    os.unlink(plan.superevent_result(first, "alert.json"))
    skymap = store / "events" / "G900101" / "skyprobcc_cWB.fits"
    write_gaussian_skymap(skymap, 10.0, 10.0)
    listing = store_listing(store)
    assert outdated_targets(plan, stamp, code=code, config="c", listing=listing) == [
        plan.superevent_result(first, "alert.json"),
        plan.superevent_result(second, "alert.json"),
    ]
    # A new event joining no superevent of the stamp: only its own results.
    add_burst(store, "G900102", T0 + 4000)
    grown = make_plan(store, results, config)
    finished(plan)
    write_stamp(results, code=code, config="c", listing=listing, plan=plan)
    (new_sid,) = set(grown.superevents) - set(plan.superevents)
    assert outdated_targets(
        grown, read_stamp(results), code=code, config="c", listing=store_listing(store)
    ) == [grown.superevent_result(new_sid, "alert.json")]
    # Any missing output of a superevent's job brings its target back.
    os.unlink(plan.superevent_result(first, "dq.json"))
    assert outdated_targets(
        grown, read_stamp(results), code=code, config="c", listing=store_listing(store)
    ) == sorted(grown.superevent_result(sid, "alert.json") for sid in (first, new_sid))


def test_outdated_targets_o4_sequence_and_notices(tmp_path, config):
    """O4: sequence.json and each file of each notice it lists are outputs
    of the superevent too, though Snakemake only learns of the notices once
    the checkpoint has run."""
    store, results = tmp_path / "store", tmp_path / "results"
    burst_store(store, offsets=(0,))
    plan = make_plan(store, results, dict(config, orchestrator_policy="O4"))
    (sid,) = plan.superevents
    # One significant Preliminary of the cWB burst: its alert JSON and Avro,
    # its circular, and its plot of the burst's own sky map.
    notice = {
        "alert_number": 1,
        "alert_type": "Preliminary",
        "preferred_event": "G900100",
        "significant": True,
        # After the burst's creation: its circular can be composed.
        "due": plan.store.events["G900100"]["created"] + 60.0,
    }
    names = (
        f"{sid}-1-Preliminary.json",
        f"{sid}-1-Preliminary.avro",
        "preliminary-circular-1.txt",
        "skyprobcc_cWB-1.png",
    )
    finished(plan, [notice])
    for name in names:
        with open(plan.superevent_result(sid, name), "w") as f:
            f.write("{}")
    code, listing = code_digest(), store_listing(store)
    write_stamp(results, code=code, config="c", listing=listing, plan=plan)
    stamp = read_stamp(results)
    target = [plan.superevent_result(sid, "alert.json")]
    assert outdated_targets(plan, stamp, code=code, config="c", listing=listing) == []
    for name in (*names, "sequence.json"):
        path = plan.superevent_result(sid, name)
        data = open(path).read()
        os.unlink(path)
        assert (
            outdated_targets(plan, stamp, code=code, config="c", listing=listing)
            == target
        ), name
        with open(path, "w") as f:
            f.write(data)


# --- the real workflow ---------------------------------------------------------


def superevent_files(results):
    """``{relative path: bytes}`` of every superevent result."""
    top = results / "superevents"
    return {
        str(p.relative_to(top)): p.read_bytes() for p in top.rglob("*") if p.is_file()
    }


def mtimes(results):
    return {p: p.stat().st_mtime_ns for p in (results / "superevents").rglob("*.json")}


@pytest.mark.slow
def test_reruns_do_only_what_changed(tmp_path):
    store, results = tmp_path / "store", tmp_path / "results"
    burst_store(store)
    status, output = gwreplay("run", str(store), "--results", str(results))
    assert status == 0, output
    assert read_stamp(results) is not None
    assert len(list((results / "superevents").iterdir())) == 2

    # Nothing changed: Snakemake is not even started.
    before = mtimes(results)
    status, output = gwreplay("run", str(store), "--results", str(results))
    assert status == 0, output
    assert "gwreplay: Nothing to be done" in output
    assert "Building DAG" not in output
    assert mtimes(results) == before

    # A new event: its superevent's job runs, and no other. (A rule under
    # O3, a checkpoint under the O4 default.)
    add_burst(store, "G900102", T0 + 4000, ra=200.0)
    status, output = gwreplay("run", str(store), "--results", str(results))
    assert status == 0, output
    ran = re.findall(r"^(local)?(rule|checkpoint) superevent:$", output, re.M)
    assert len(ran) == 1, output
    after = mtimes(results)
    assert {p: after[p] for p in before} == before
    assert len(after) > len(before)

    # A changed sky map: that superevent's alert is rebuilt.
    write_gaussian_skymap(
        store / "events" / "G900100" / "skyprobcc_cWB.fits", 300.0, 40.0
    )
    status, output = gwreplay("run", str(store), "--results", str(results))
    assert status == 0, output
    changed = {p.parent for p, t in mtimes(results).items() if after.get(p) != t}
    assert len(changed) == 1, changed
    (folder,) = changed
    assert json.loads((folder / "alert.json").read_text())["preferred_event"] == (
        "G900100"
    )

    # What the reruns built equals a replay from scratch, byte for byte.
    fresh = tmp_path / "fresh"
    status, output = gwreplay("run", str(store), "--results", str(fresh))
    assert status == 0, output
    assert superevent_files(results) == superevent_files(fresh)
    assert (results / "alerts.csv").read_bytes() == (fresh / "alerts.csv").read_bytes()


@pytest.mark.slow
def test_a_run_outside_gwreplay_run_drops_the_stamp(tmp_path):
    """The stamp cannot vouch for a run it did not see (here --forcerun)."""
    store, results = tmp_path / "store", tmp_path / "results"
    burst_store(store, offsets=(0,))
    status, output = gwreplay("run", str(store), "--results", str(results))
    assert status == 0, output
    assert (results / STAMP).exists()
    status, output = gwreplay(
        "run", str(store), "--results", str(results), "--", "--forcerun", "superevent"
    )
    assert status == 0, output
    assert not (results / STAMP).exists()
    # The next run is Snakemake's to judge; then the stamp is back.
    status, output = gwreplay("run", str(store), "--results", str(results))
    assert status == 0, output
    assert "Nothing to be done" in output and (results / STAMP).exists()
    # --config entries are part of the configuration the stamp records: a new
    # one is judged by Snakemake, the same one again by the stamp.
    config = ["--", "--config", "orchestrator_timeout=15.0"]
    status, output = gwreplay("run", str(store), "--results", str(results), *config)
    assert status == 0, output
    assert "gwreplay: Nothing to be done" not in output
    status, output = gwreplay("run", str(store), "--results", str(results), *config)
    assert status == 0, output
    assert "gwreplay: Nothing to be done" in output
