"""Where BAYESTAR's CPU time goes, inside the workflow and outside it.

    python -m bench.bayestar_cost --superevents 3 --seed 3 --events 4 --repeat 3

Issue 15: in ``bench/overhead.py`` the workflow's BAYESTAR jobs took more
CPU than the whole ``bayestar-localize-coincs`` baseline. This script takes
the workflow apart. On the CBC events of one MDC store
(``gwreplay mdc DIR --superevents N --seed S``) it localises every event,
one process per event, in these ways, each measured with the per-process
``rusage`` of ``os.wait4``:

* ``cli``: ``bayestar-localize-coincs`` (the baseline of bench/overhead.py:
  a coinc.xml copy with a ``--reference-psd`` row, ``--enable-snr-series``,
  gwreplay's waveform) with ``OMP_NUM_THREADS=1``, one event at a time;
* ``gwreplay``: ``gwreplay.bayestar.localize_event``, as the ``bayestar``
  rule calls it (threads 1, the configuration's defaults), one at a time;
* ``cli-pairs`` and ``gwreplay-pairs``: the same, two processes at once,
  as ``--cores 2`` runs the workflow's BAYESTAR jobs.

For each way it prints, per event and in sum, CPU seconds of the process
and, for gwreplay, how much of it is imports and reading (before
``ligo.skymap.bayestar.localize``), the localisation itself and writing.
Rounds alternate the ways (``--repeat``) and the median per event is
reported, with the load average at the start of each round.

Figures and interpretation: docs/benchmarks.md.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.overhead import cbc_events, make_mdc, prepare_baseline_input

PYTHON = sys.executable
BIN = os.path.dirname(PYTHON)

#: One gwreplay BAYESTAR job's work, with its phases timed (CPU of this
#: process, ``time.process_time``), printed as one JSON line.
GWREPLAY_JOB = """
import json, sys, time
t0 = time.process_time()
from gwreplay import bayestar
from gwreplay.config import module_settings
import yaml
with open(sys.argv[5]) as f:
    config = yaml.safe_load(f)
conf = module_settings(config, "gwreplay.bayestar")
bayestar.set_threads(1)
event = bayestar.load_event(sys.argv[1], sys.argv[2], sys.argv[3] or None,
                            conf["bayestar_disabled_detectors"])
t1 = time.process_time()
skymap = bayestar.localize(event, sys.argv[1], waveform=conf["bayestar_waveform"],
                           f_low=conf["bayestar_f_low"])
t2 = time.process_time()
data = bayestar.sky_map_bytes(skymap, None, compress=False)
open(sys.argv[4], "wb").write(data)
t3 = time.process_time()
print(json.dumps({"setup": t1 - t0, "localize": t2 - t1, "write": t3 - t2}))
"""


def spawn(command, env):
    """Start ``command``; its output is kept for the phases."""
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def reap(procs):
    """Wait for ``procs``; return {pid: (cpu seconds, stdout)}."""
    done = {}
    outputs = {p.pid: p for p in procs}
    while len(done) < len(procs):
        pid, status, usage = os.wait4(-1, 0)
        if pid not in outputs:
            continue
        proc = outputs[pid]
        proc.returncode = os.waitstatus_to_exitcode(status)
        text = proc.stdout.read()
        if proc.returncode:
            raise SystemExit(f"{proc.args!r} exited with {proc.returncode}")
        done[pid] = (usage.ru_utime + usage.ru_stime, text)
    return done


def commands(way, store, prepared, outdir, config):
    """(graceid, command) for each CBC event, in ``way``."""
    result = []
    for graceid, waveform in prepared:
        if way.startswith("cli"):
            command = [
                os.path.join(BIN, "bayestar-localize-coincs"),
                os.path.join(outdir, "input", graceid, "coinc.xml"),
                "--waveform",
                waveform,
                "--enable-snr-series",
                "-o",
                os.path.join(outdir, way, graceid),
            ]
        else:
            folder = os.path.join(store, "events", graceid)
            psd = os.path.join(folder, "psd.xml.gz")
            os.makedirs(os.path.join(outdir, way), exist_ok=True)
            command = [
                PYTHON,
                "-c",
                GWREPLAY_JOB,
                graceid,
                os.path.join(folder, "coinc.xml"),
                psd if os.path.exists(psd) else "",
                os.path.join(outdir, way, f"{graceid}.multiorder.fits"),
                config,
            ]
        result.append((graceid, command))
    return result


def run_way(way, jobs, width):
    """Run ``jobs`` ``width`` at a time; return wall and {graceid: (cpu, phases)}."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    per_event = {}
    t0 = time.monotonic()
    for start in range(0, len(jobs), width):
        batch = jobs[start : start + width]
        procs = {spawn(command, env): graceid for graceid, command in batch}
        finished = reap(list(procs))
        for proc, graceid in procs.items():
            cpu, text = finished[proc.pid]
            phases = json.loads(text.splitlines()[-1]) if way[0] == "g" else {}
            per_event[graceid] = (cpu, phases)
    return time.monotonic() - t0, per_event


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superevents", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--ways", nargs="+", default=["cli", "gwreplay", "cli-pairs", "gwreplay-pairs"]
    )
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--events", type=int, default=None, help="first N CBC events")
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="bayestar-cost-")
    store = os.path.join(workdir, "store")
    make_mdc(store, args.superevents, args.seed)
    prepared = [
        (g, prepare_baseline_input(store, g, os.path.join(workdir, "input", g)))
        for g in cbc_events(store)[: args.events]
    ]
    config = os.path.join(
        os.path.dirname(os.path.dirname(__file__)), "config", "config.yaml"
    )
    rounds = {way: [] for way in args.ways}
    walls = {way: [] for way in args.ways}
    loads = []
    for _ in range(args.repeat):
        loads.append(os.getloadavg()[0])
        for way in args.ways:
            width = 2 if way.endswith("pairs") else 1
            jobs = commands(way, store, prepared, workdir, config)
            wall, per_event = run_way(way, jobs, width)
            walls[way].append(wall)
            rounds[way].append(per_event)
            cpu = sum(c for c, _ in per_event.values())
            print(f"round {len(walls[way])} {way}: wall {wall:.1f} s, CPU {cpu:.1f} s")
            sys.stdout.flush()
    print(f"store: {store}, {len(prepared)} CBC events; load at each round: {loads}")
    print("way                  wall      CPU   setup  localize  write")
    for way in args.ways:
        cpu = statistics.median(sum(c for c, _ in r.values()) for r in rounds[way])
        phases = {}
        for name in ("setup", "localize", "write"):
            values = [sum(p.get(name, 0.0) for _, p in r.values()) for r in rounds[way]]
            phases[name] = (
                statistics.median(values) if way.startswith("gwreplay") else None
            )
        fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
        print(
            f"{way:16s} {statistics.median(walls[way]):8.1f} {cpu:8.1f} "
            f"{fmt(phases['setup']):>7s} {fmt(phases['localize']):>9s} "
            f"{fmt(phases['write']):>6s}"
        )
    print("per event, median CPU seconds:")
    for graceid, _ in prepared:
        row = " ".join(
            f"{way}={statistics.median(r[graceid][0] for r in rounds[way]):.1f}"
            for way in args.ways
        )
        print(f"  {graceid}: {row}")


if __name__ == "__main__":
    main()
