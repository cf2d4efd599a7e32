"""Incremental cost: one new event added to a store of processed superevents.

    .venv/bin/python -m bench.incremental --sizes 1000 10000
    GWREPLAY_BENCH_CONFIGFILE=bench/o3.yaml \
        .venv/bin/python -m bench.incremental --sizes 10000 --modes all

For each size N: a synthetic store of N superevents (bench/synthetic_store.py)
is marked processed (placeholder outputs, then ``snakemake --touch
--forceall``, which records job metadata as real jobs do; a dry run then
finds nothing to do), and one new publishable cWB event with a real sky map
is added in a new slot. Its superevent needs one job, ``superevent``
(superevent.json, the DQ check with no frames: ``unknown``, then the alert:
sky-map copy and plot, VOEvent, IGWN alert, circular). Before the first
measurement one ``gwreplay run`` over the processed store leaves the stamp
of a complete run (gwreplay.stamp), as after any finished replay.

Two ways of processing it are timed, each from the same starting state:

* ``all``: ``gwreplay run STORE --results R --cores 2``, as a user rerunning
  the batch would (gwreplay run hands Snakemake the targets of what changed);
* ``targets``: ``gwreplay run ... -- RESULTS/superevents/<SID>/alert.json``,
  the new superevent's target given explicitly, as ``gwreplay watch`` asks
  (a plain Snakemake run: its hooks write provenance and tables).

"Beyond its own compute" is the wall time minus the time during which one of
its script jobs was running (probe: see bench/overhead.py); the jobs' own
start-up (interpreter, imports) is shown separately. Goal: at most 3 s, flat
in N. Figures and analysis: docs/benchmarks.md.
"""

import argparse
import base64
import contextlib
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from bench.overhead import SITECUSTOMIZE, busy_seconds  # noqa: E402
from bench.synthetic_store import (  # noqa: E402
    BENCH_CONFIGFILE,
    add_burst_event,
    build_store,
    dry_run_jobs,
    load_config,
    mark_processed,
)

PYTHON = sys.executable


def bench_configfile():
    """``--configfile`` of the bench's own config file, if any (synthetic_store)."""
    return ["--configfile", BENCH_CONFIGFILE] if BENCH_CONFIGFILE else []


def processed_store(workdir, superevents):
    """A synthetic store of ``superevents`` and a results folder marked complete.

    Built once and reused: each measurement adds its event in place and
    removes it afterwards (:func:`remove_new_event`). Snakemake keys its job
    metadata by absolute output path, so a copy elsewhere would lose it.
    """
    root = os.path.join(workdir, f"processed-{superevents}")
    store = os.path.join(root, "store")
    results = os.path.join(root, "results")
    done = os.path.join(root, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(root, ignore_errors=True)
        build_store(store, superevents)
        t0 = time.monotonic()
        outputs = mark_processed(store, results)
        print(
            f"[{superevents}] marked {outputs} outputs processed "
            f"in {time.monotonic() - t0:.0f} s",
            flush=True,
        )
        pending = dry_run_jobs(store, results)
        if pending:
            sys.exit(f"snakemake still wants {pending} jobs after --touch")
        t0 = time.monotonic()
        establish_stamp(store, results)
        print(
            f"[{superevents}] first gwreplay run (nothing to do, judged by "
            f"Snakemake) in {time.monotonic() - t0:.1f} s",
            flush=True,
        )
        open(done, "w").close()
    from gwreplay.stamp import read_stamp

    if read_stamp(results) is None:  # a plain Snakemake run (targets mode) drops it
        establish_stamp(store, results)
    return store, results


def establish_stamp(store, results):
    """One ``gwreplay run`` over the finished results: it writes the stamp."""
    from gwreplay.stamp import read_stamp

    command = [PYTHON, "-m", "gwreplay.cli", "run", store, "--results", results]
    command += bench_configfile()
    subprocess.run(command + ["--cores", "2"], check=True, capture_output=True)
    if read_stamp(results) is None:
        sys.exit("gwreplay run left no stamp")


def remove_new_event(store, results, graceid, sid):
    """Undo one measurement: the event, its superevent's results and records."""
    shutil.rmtree(os.path.join(store, "events", graceid), ignore_errors=True)
    folder = os.path.join(results, "superevents", sid)
    outputs = []
    if os.path.isdir(folder):
        outputs = [os.path.join(folder, name) for name in os.listdir(folder)]
    shutil.rmtree(folder, ignore_errors=True)
    for pattern in ("logs/*/{}.log", ".failures/*/{}.json"):
        for path in glob.glob(os.path.join(results, pattern.format(sid))):
            os.unlink(path)
    metadata = os.path.join(results, ".snakemake", "metadata")
    for path in outputs:
        record = base64.urlsafe_b64encode(path.encode()).decode()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(metadata, record))


def new_superevent_id(store, results, graceid):
    """The superevent the manager forms for ``graceid`` (same plan as the workflow)."""
    from gwreplay.plan import make_plan

    plan = make_plan(store, results, load_config())
    for sid, superevent in plan.superevents.items():
        if graceid in superevent["gw_events"]:
            return sid
    raise RuntimeError(f"{graceid} formed no superevent")


def probed_run(store, results, workdir, extra=()):
    """``gwreplay run`` with the job probe; return (wall, job records)."""
    probe = tempfile.mkdtemp(prefix="probe-", dir=workdir)
    with open(os.path.join(probe, "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE)
    joblog = os.path.join(probe, "jobs.jsonl")
    env = dict(os.environ, GWREPLAY_BENCH_JOBLOG=joblog)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [probe, env.get("PYTHONPATH")]))
    command = [PYTHON, "-m", "gwreplay.cli", "run", store, "--results", results]
    command += ["--cores", "2", *bench_configfile()]
    if extra:
        command += ["--", *extra]
    log = os.path.join(workdir, "run.log")
    t0 = time.monotonic()
    with open(log, "w") as out:
        status = subprocess.call(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    wall = time.monotonic() - t0
    if status:
        sys.exit(f"gwreplay run failed ({status}); see {log}")
    jobs = []
    if os.path.exists(joblog):
        with open(joblog) as f:
            jobs = [json.loads(line) for line in f]
    shutil.rmtree(probe)
    return wall, jobs


def measure(workdir, superevents, mode):
    """Add the new event to the processed store and process it in ``mode``."""
    store, results = processed_store(workdir, superevents)
    event = add_burst_event(store, slot=superevents)
    sid = new_superevent_id(store, results, event["graceid"])
    try:
        alert = os.path.join(results, "superevents", sid, "alert.json")
        extra = [alert] if mode == "targets" else []
        wall, jobs = probed_run(store, results, workdir, extra)
        if not os.path.exists(alert):
            sys.exit(f"{alert} was not produced")
        with open(alert) as f:
            notice = json.load(f)["notice"]
    finally:
        remove_new_event(store, results, event["graceid"], sid)
    busy = busy_seconds(jobs) if jobs else 0.0
    startup = sum(job["work_start"] - job["start"] for job in jobs)
    return {
        "superevents": superevents,
        "mode": mode,
        "wall": wall,
        "jobs": busy,
        "job_startup": startup,
        "beyond": wall - busy,
        "rules": sorted(job["rule"] for job in jobs),
        "notice": bool(notice),
    }


def profile(workdir, superevents, top):
    """cProfile a targets-mode run in-process (with gwreplay run's options)."""
    from planning_scale import profile_snakemake

    store, results = processed_store(workdir, superevents)
    event = add_burst_event(store, slot=superevents)
    sid = new_superevent_id(store, results, event["graceid"])
    alert = os.path.join(results, "superevents", sid, "alert.json")
    try:
        profile_snakemake(
            store,
            results,
            [alert, "--keep-going", "--rerun-incomplete", "--force-use-threads"],
            top,
            title=f"processing one new event, {superevents} superevents (targets)",
        )
    finally:
        remove_new_event(store, results, event["graceid"], sid)


def main():
    """Measure each size and mode; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--modes", nargs="+", default=["all", "targets"])
    parser.add_argument(
        "--workdir",
        default=os.path.join(tempfile.gettempdir(), "gwreplay-bench", "processed"),
    )
    parser.add_argument("--profile", action="store_true", help="cProfile targets mode")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    if args.profile:
        for size in args.sizes:
            profile(args.workdir, size, args.top)
        return
    rows = [
        measure(args.workdir, size, mode) for size in args.sizes for mode in args.modes
    ]
    print(
        f"{'superevents':>11} {'mode':>8} {'wall s':>7} {'its jobs s':>10} "
        f"{'(start-up s)':>12} {'beyond s':>9}  script jobs"
    )
    for row in rows:
        print(
            f"{row['superevents']:11d} {row['mode']:>8} {row['wall']:7.1f} "
            f"{row['jobs']:10.1f} {row['job_startup']:12.1f} {row['beyond']:9.1f}  "
            f"{' '.join(row['rules'])}{'' if row['notice'] else ' (no notice!)'}"
        )


if __name__ == "__main__":
    main()
