"""Light synthetic event stores and "already processed" results for the benchmarks.

The planning, incremental and nothing-to-do benchmarks need stores of 10^3
and 10^4 superevents. Planning a replay reads only the small ``event.json``
files and checks which uploads exist (``gwreplay.store``), so the uploads
here are placeholder files of a few bytes: nothing in a dry run opens them.
Only the one event that the incremental benchmark really processes gets a
real (cWB) sky map, written with ligo.skymap.

Superevents follow a fixed four-slot pattern, one per ``SLOT_SECONDS`` of
replay time so that they never overlap, with the per-superevent mix of an
MDC store (``gwreplay mdc``: about 2 G-events, 1.5 of them CBC):

====  ===========================================  =======================
slot  events (pipeline: uploads)                    jobs of the workflow
====  ===========================================  =======================
0     gstlal (coinc, psd, ranking data), pycbc      1 + 3 + 2 = 6
1     gstlal, MBTAOnline (coinc), spiir (coinc+psd)  1 + 3 + 2 + 2 = 8
2     CWB (skyprobcc_cWB.fits)                       1
3     pycbc, CWB                                     1 + 2 = 3
====  ===========================================  =======================

i.e. 4.5 jobs per superevent (one ``superevent`` job; bayestar and
source_classification per CBC event; p_astro_gstlal per gstlal event).
:func:`mark_processed` then makes a results folder that Snakemake
considers complete, without computing anything: it writes placeholder
outputs and runs ``snakemake --touch``, which records the same metadata
(code, params, input, software environment) as real jobs do.
"""

import glob
import json
import os
import subprocess
import sys

import numpy as np

#: GPS time of the first slot (2024-01-01 00:00:00 UTC, as ``gwreplay mdc``).
START_GPS = 1388102418.0
#: Replay seconds between superevents: far more than any superevent window.
SLOT_SECONDS = 1000.0
#: First GraceID number (``G100001``, as ``gwreplay mdc``).
FIRST_GRACEID = 100001

#: The events of each slot of the four-slot pattern.
SLOT_PATTERN = (
    ("gstlal", "pycbc"),
    ("gstlal", "MBTAOnline", "spiir"),
    ("CWB",),
    ("pycbc", "CWB"),
)
#: Uploads per pipeline (placeholders, except a new event's real sky map).
PIPELINE_FILES = {
    "gstlal": ("coinc.xml", "psd.xml.gz", "ranking_data.xml.gz"),
    "pycbc": ("coinc.xml",),
    "MBTAOnline": ("coinc.xml",),
    "spiir": ("coinc.xml", "psd.xml.gz"),
    "CWB": ("skyprobcc_cWB.fits",),
}
PLACEHOLDER = b"placeholder: benchmarks do not open this file\n"

WORKFLOW_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAKEFILE = os.path.join(WORKFLOW_DIR, "Snakefile")
DEFAULT_CONFIG = os.path.join(WORKFLOW_DIR, "config", "config.yaml")
#: A YAML file of config keys over config.yaml for every run of a bench
#: (``GWREPLAY_BENCH_CONFIGFILE``; e.g. ``orchestrator_policy: O3`` for the
#: synthetic stores' O3 names and placeholder outputs), or None.
BENCH_CONFIGFILE = os.environ.get("GWREPLAY_BENCH_CONFIGFILE") or None


def configfiles():
    """config.yaml, then the bench's own file when set."""
    return [DEFAULT_CONFIG] + (
        [os.path.abspath(BENCH_CONFIGFILE)] if BENCH_CONFIGFILE else []
    )


def event_json(graceid, pipeline, gpstime, created, far, snr):
    """GraceDB event JSON of one synthetic candidate (docs/store.md keys)."""
    instruments = "H1,L1,V1" if pipeline == "CWB" else "H1,L1"
    event = {
        "graceid": graceid,
        "pipeline": pipeline,
        "group": "Burst" if pipeline == "CWB" else "CBC",
        "search": "AllSky",
        "gpstime": gpstime,
        "far": far,
        "instruments": instruments,
        "created": created,
        "offline": False,
        "labels": [],
        "uploads": [
            {"filename": name, "created": round(created + 0.5 * (k + 1), 3)}
            for k, name in enumerate(PIPELINE_FILES[pipeline])
        ],
    }
    if pipeline == "CWB":
        event["extra_attributes"] = {
            "MultiBurst": {
                "duration": 0.2,
                "central_freq": 150.0,
                "snr": snr,
                "ifos": instruments,
            }
        }
    else:
        event["extra_attributes"] = {
            "CoincInspiral": {"snr": snr, "mchirp": 1.2, "ifos": instruments}
        }
    return event


def write_event(store, event, files=None):
    """Write one event folder: event.json and its uploads (placeholders)."""
    folder = os.path.join(store, "events", event["graceid"])
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "event.json"), "w", encoding="utf-8") as f:
        json.dump(event, f, indent=2, sort_keys=True)
    for name in PIPELINE_FILES[event["pipeline"]]:
        path = os.path.join(folder, name)
        if files and name in files:
            files[name](path)
        else:
            with open(path, "wb") as f:
                f.write(PLACEHOLDER)


def slot_events(slot, first_number):
    """The events of superevent slot ``slot``, numbered from ``first_number``."""
    t_0 = START_GPS + slot * SLOT_SECONDS + 500.0
    events = []
    for k, pipeline in enumerate(SLOT_PATTERN[slot % len(SLOT_PATTERN)]):
        events.append(
            event_json(
                f"G{first_number + k}",
                pipeline,
                gpstime=round(t_0 + 0.01 * k, 3),
                created=round(t_0 + 8.0 + 3.0 * k, 3),
                far=1e-10 / (k + 1),
                snr=12.0 - k,
            )
        )
    return events


def build_store(store, superevents):
    """Write a synthetic store of ``superevents`` superevents; return its events."""
    os.makedirs(os.path.join(store, "events"), exist_ok=True)
    number = FIRST_GRACEID
    count = 0
    for slot in range(superevents):
        for event in slot_events(slot, number):
            write_event(store, event)
            count += 1
        number += len(SLOT_PATTERN[slot % len(SLOT_PATTERN)])
    return count


def next_graceid(store):
    """The next free GraceID of a synthetic store."""
    names = os.listdir(os.path.join(store, "events"))
    return f"G{max(int(name[1:]) for name in names) + 1}"


def write_real_burst_skymap(path, graceid, gpstime, created):
    """A real cWB sky map (ligo.skymap FITS, HEALPix nside 16) for a processed event."""
    from ligo.skymap.io.fits import write_sky_map

    from gwreplay.mdc.bursts import vmf_sky_map

    prob = vmf_sky_map(1.0, 0.3, 0.2, 16)
    write_sky_map(
        path,
        np.asarray(prob),
        nest=False,
        objid=graceid,
        gps_time=gpstime,
        gps_creation_time=created,
        creator="cWB",
        origin="LIGO/Virgo/KAGRA",
        instruments={"H1", "L1", "V1"},
    )


def add_burst_event(store, slot):
    """Add one publishable cWB event in a new slot, with a real sky map.

    Its superevent needs one ``superevent`` job (DQ with no frames:
    ``unknown``; sky-map copy and plot, VOEvent, IGWN alert, circular): the
    cheapest complete alert the workflow makes.
    """
    graceid = next_graceid(store)
    t_0 = START_GPS + slot * SLOT_SECONDS + 500.0
    event = event_json(graceid, "CWB", t_0, t_0 + 30.0, 1e-12, 15.0)
    write_event(
        store,
        event,
        files={
            "skyprobcc_cWB.fits": lambda path: write_real_burst_skymap(
                path, graceid, t_0, t_0 + 30.5
            )
        },
    )
    return event


def load_config():
    """The workflow's configuration: config/config.yaml, then the bench's file."""
    from gwreplay.run import load_configfiles

    return load_configfiles(configfiles())


def planned_outputs(store, results):
    """Every output file the workflow would write for ``store``, in DAG order.

    Uses the same plan as the Snakefile (:func:`gwreplay.plan.make_plan`).
    """
    from gwreplay.plan import make_plan

    plan = make_plan(store, results, load_config())
    first = [
        plan.event_result(graceid, product)
        for graceid, products in sorted(plan.event_products.items())
        for product in products
    ]
    steps = [
        [plan.superevent_result(sid, name) for sid in sorted(plan.superevents)]
        for name in ("superevent.json", "dq.json", "alert.json")
    ]
    return [first, *steps], plan


def placeholder_alert(sid, preferred_event):
    """An ``alert.json`` like a not-publishable one, so that alerts.csv reads it."""
    return {
        "superevent_id": sid,
        "preferred_event": preferred_event,
        "labels": ["DQOK"],
        "vetoed": False,
        "publishable": False,
        "notice": "",
        "notice_time": None,
        "files": [],
    }


def write_placeholder_outputs(store, results):
    """Create every planned output, in DAG order (so each is newer than its inputs)."""
    steps, plan = planned_outputs(store, results)
    for step in steps:
        for path in step:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8") as f:
                if path.endswith("alert.json"):
                    sid = os.path.basename(os.path.dirname(path))
                    preferred = plan.superevents[sid]["preferred_event"]
                    json.dump(placeholder_alert(sid, preferred), f)
                else:
                    f.write("{}\n")
    return sum(len(step) for step in steps)


#: Runs snakemake with its --touch executor's 0.1 s pause per job removed
#: (it only keeps output mtimes apart on coarse filesystems; the outputs were
#: written in DAG order), so that marking 10^4 superevents as processed takes
#: minutes, not hours. Used for set-up only, never timed.
TOUCH_LAUNCHER = (
    "import sys\n"
    "import snakemake.executors.touch as touch\n"
    "touch.Executor.SLEEPING_TIME = 0\n"
    "from snakemake.cli import main\n"
    "sys.argv[0] = 'snakemake'\n"
    "sys.exit(main())\n"
)

#: Superevents per ``snakemake --touch`` invocation. Snakemake's scheduler
#: costs O(ready jobs) per scheduling round (it stats the inputs of every
#: ready job), so one invocation over 10^3 superevents takes about 800 s and
#: one over 10^4 would take days; chunks keep each round small.
TOUCH_CHUNK = 200


def chunk_targets(plan, superevent_ids):
    """The outputs of some superevents and of all their events' annotations."""
    targets = []
    for sid in superevent_ids:
        targets.append(plan.superevent_result(sid, "alert.json"))
        for graceid in plan.superevents[sid]["gw_events"]:
            targets += [
                plan.event_result(graceid, product)
                for product in plan.event_products.get(graceid, [])
            ]
    return targets


def snakemake_call(launcher, store, results, *options):
    """Run one Snakemake over ``store`` on one core; return its stdout."""
    command = [
        sys.executable,
        *launcher,
        "--snakefile",
        SNAKEFILE,
        "--directory",
        os.path.abspath(results),
        "--cores",
        "1",
        *options,
        "--configfile",
        *configfiles(),
        "--config",
        f"store={os.path.abspath(store)}",
        f"results={os.path.abspath(results)}",
    ]
    env = dict(os.environ, CONDOR_CONFIG=os.devnull)
    proc = subprocess.run(command, env=env, capture_output=True, text=True)
    if proc.returncode:
        raise RuntimeError(f"snakemake failed:\n{proc.stderr[-3000:]}")
    return proc.stdout


def snakemake_touch(store, results, targets):
    """``snakemake --touch --forceall`` for ``targets``: records job metadata."""
    snakemake_call(
        ["-c", TOUCH_LAUNCHER],
        store,
        results,
        "--touch",
        # Every job, so that each output gets its metadata record.
        "--forceall",
        "--quiet",
        "--scheduler",
        "greedy",
        "--scheduler-subsample",
        "100",
        *targets,
    )


def mark_processed(store, results, chunk=TOUCH_CHUNK):
    """Make ``results`` look like a finished replay of ``store``; return #outputs."""
    count = write_placeholder_outputs(store, results)
    _, plan = planned_outputs(store, results)
    superevent_ids = sorted(plan.superevents)
    for start in range(0, len(superevent_ids), chunk):
        snakemake_touch(
            store, results, chunk_targets(plan, superevent_ids[start : start + chunk])
        )
    drop_touched_failure_records(results)
    return count


def drop_touched_failure_records(results):
    """Remove the empty failure records ``--touch`` made of each job's
    ``failure`` log: a real job writes one only when it fails
    (gwreplay.smk.run_job), and 45,000 empty ones at 10^4 superevents cost
    every run's failures table 1.4 s that a real replay does not pay."""
    for path in glob.glob(os.path.join(results, ".failures", "*", "*.json")):
        if os.path.getsize(path) == 0:
            os.unlink(path)


def dry_run_jobs(store, results):
    """Jobs ``snakemake -n`` would run now (0 when the results are complete)."""
    out = snakemake_call(["-m", "snakemake"], store, results, "-n", "--quiet", "rules")
    return parse_job_count(out)


def parse_job_count(text):
    """Total from Snakemake's job-stats table (``total  N``); 0 if none."""
    for line in text.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == "total" and fields[1].isdigit():
            return int(fields[1])
    return 0


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("store")
    parser.add_argument("--superevents", type=int, default=100)
    parser.add_argument("--processed", metavar="RESULTS")
    args = parser.parse_args()
    print(build_store(args.store, args.superevents), "events")
    if args.processed:
        print(mark_processed(args.store, args.processed), "outputs marked processed")
