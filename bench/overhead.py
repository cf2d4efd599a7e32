"""Overhead of ``gwreplay run`` over plain ``bayestar-localize-coincs``.

    .venv/bin/python -m bench.overhead --superevents 5 --seed 3 --cores 2

Generates an MDC store (``gwreplay mdc DIR --superevents N --seed S``), then,
one after the other in the same invocation:

* the baseline: ligo.skymap's own command line, ``bayestar-localize-coincs``,
  once per CBC event (it reads one coinc file per call) with
  ``OMP_NUM_THREADS=CORES``, the same waveform gwreplay uses for that
  template and ``--enable-snr-series`` (gwcelery and gwreplay use the SNR time
  series, the command line does not by default). The command line reads PSDs
  only through a ``--reference-psd`` process_params row, which the MDC's
  coinc.xml files lack (as GraceDB uploads do), so an untimed preparation step
  writes a copy of each coinc.xml with that row pointing at its psd.xml.gz
  (or at itself when the PSDs are embedded);
* ``gwreplay run STORE --results R --cores CORES``: the same sky maps plus
  everything else of the orchestrator (classification, p_astro, DQ,
  preliminary alerts with plots, VOEvents, circulars, summaries).

It prints both wall times and their ratio (goal: at most 1.10), the CPU time
of each (user + system of all child processes: less sensitive to other load
on the machine), and a per-rule breakdown of the gwreplay run. The breakdown
comes from a ``sitecustomize`` put on ``PYTHONPATH`` for the run: in each
Snakemake ``script:`` job it records the process start, the moment
``gwreplay.smk.run_job`` is entered and left, and the CPU time, so start-up
(interpreter, Snakemake's script preamble, top-level imports) and work are
told apart. Nothing in the workflow is changed for the measurement.

A changed workflow (a scratch copy, see bench/README.md) is measured with
``PYTHONPATH=COPY COPY/bench/overhead.py ... --baseline-seconds S``, which skips
the baseline and reuses the wall time ``S`` of an earlier run; ``--config
KEY=VALUE ...`` passes workflow configuration to ``gwreplay run``.

``--products`` adds a second baseline after both runs: the other sky-map
science of the O4 orchestrator by ligo.skymap's own command lines on the
baseline's maps (``ligo-skymap-flatten`` of each, and
``ligo-skymap-plot-volume`` / ``ligo-skymap-plot`` for every notice plot
gwreplay drew, at the ``--config`` dpi), CORES at a time, so that the
ratio compares the same science (BAYESTAR alone is 2/3 of O4's CPU).

Figures and interpretation: docs/benchmarks.md.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

PYTHON = sys.executable
BIN = os.path.dirname(PYTHON)

SITECUSTOMIZE = '''\
"""Benchmark probe: timings of one Snakemake script job (bench/overhead.py)."""
import os
import sys
import time

_SCRIPT = sys.argv[0] if sys.argv else ""
_LOG = os.environ.get("GWREPLAY_BENCH_JOBLOG")
if _LOG and "/.snakemake/scripts/" in _SCRIPT:
    import atexit
    import json
    import resource

    def _process_start():
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[19])  # field 22 of proc(5): start time after boot
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return time.time() - uptime + ticks / os.sysconf("SC_CLK_TCK")

    _RECORD = {"script": os.path.basename(_SCRIPT), "start": _process_start()}

    import gwreplay.smk as _smk

    _run_job = _smk.run_job

    def run_job(snakemake, func, **kwargs):
        _RECORD["rule"] = snakemake.rule
        _RECORD["key"] = kwargs.get("key")
        _RECORD["work_start"] = time.time()
        try:
            return _run_job(snakemake, func, **kwargs)
        finally:
            _RECORD["work_end"] = time.time()

    _smk.run_job = run_job

    def _dump():
        _RECORD["end"] = time.time()
        # A script that does not go through run_job: all of it counts as work.
        _RECORD.setdefault("rule", _RECORD["script"].split(".")[1])
        _RECORD.setdefault("work_start", _RECORD["start"])
        _RECORD.setdefault("work_end", _RECORD["end"])
        usage = resource.getrusage(resource.RUSAGE_SELF)
        _RECORD["cpu"] = usage.ru_utime + usage.ru_stime
        with open(_LOG, "a") as f:
            f.write(json.dumps(_RECORD) + "\\n")

    atexit.register(_dump)
'''


def children_cpu():
    """User + system CPU seconds of all waited-for child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command, env=None, **kwargs):
    """Run ``command``; return (wall seconds, child CPU seconds)."""
    cpu0, t0 = children_cpu(), time.monotonic()
    subprocess.run(command, check=True, env=env, **kwargs)
    return time.monotonic() - t0, children_cpu() - cpu0


def make_mdc(store, superevents, seed):
    """``gwreplay mdc`` store (kept between invocations with the same options)."""
    if os.path.exists(os.path.join(store, "truth.json")):
        return
    command = [PYTHON, "-m", "gwreplay.cli", "mdc", store]
    command += ["--superevents", str(superevents), "--seed", str(seed), "--overwrite"]
    subprocess.run(command, check=True)


def cbc_events(store):
    """GraceIDs of the store's events that have a coinc.xml (BAYESTAR targets)."""
    events = os.path.join(store, "events")
    return sorted(
        name
        for name in os.listdir(events)
        if os.path.exists(os.path.join(events, name, "coinc.xml"))
    )


def prepare_baseline_input(store, graceid, folder):
    """Copy coinc.xml with a ``--reference-psd`` row; return the waveform to use.

    The waveform is the one gwreplay gives BAYESTAR for this template
    (:func:`gwreplay.bayestar.choose_waveform`: o2-uberbank, with IMRPhenomD
    for heavy templates when the SEOBNRv4_ROM data file is absent).
    """
    from igwn_ligolw import lsctables
    from igwn_ligolw.utils import load_filename, write_filename
    from ligo.skymap.io.events.ligolw import ContentHandler

    from gwreplay.bayestar import choose_waveform, load_event

    source = os.path.join(store, "events", graceid)
    os.makedirs(folder, exist_ok=True)
    psd = os.path.join(source, "psd.xml.gz")
    if os.path.exists(psd):
        shutil.copy(psd, folder)
        psd_name = "psd.xml.gz"
    else:
        psd_name = "coinc.xml"
    doc = load_filename(
        os.path.join(source, "coinc.xml"), contenthandler=ContentHandler
    )
    try:
        table = lsctables.ProcessParamsTable.get_table(doc)
    except ValueError:
        table = lsctables.New(lsctables.ProcessParamsTable)
        doc.childNodes[0].appendChild(table)
    for process in lsctables.ProcessTable.get_table(doc):
        row = table.RowType()
        row.program = process.program
        row.process_id = process.process_id
        row.param = "--reference-psd"
        row.type = "lstring"
        row.value = psd_name
        table.append(row)
    write_filename(doc, os.path.join(folder, "coinc.xml"))
    event = load_event(
        graceid,
        os.path.join(source, "coinc.xml"),
        psd if os.path.exists(psd) else None,
    )
    return choose_waveform("o2-uberbank", event.template_args)


def run_baseline(store, workdir, cores):
    """``bayestar-localize-coincs`` per CBC event; return per-event and total times."""
    prepared = os.path.join(workdir, "baseline-input")
    outputs = os.path.join(workdir, "baseline-output")
    shutil.rmtree(outputs, ignore_errors=True)
    jobs = [
        (
            graceid,
            prepare_baseline_input(store, graceid, os.path.join(prepared, graceid)),
        )
        for graceid in cbc_events(store)
    ]
    env = dict(os.environ, OMP_NUM_THREADS=str(cores))
    per_event = {}
    cpu0, t0 = children_cpu(), time.monotonic()
    for graceid, waveform in jobs:
        command = [
            os.path.join(BIN, "bayestar-localize-coincs"),
            os.path.join(prepared, graceid, "coinc.xml"),
            "--waveform",
            waveform,
            "--enable-snr-series",
            "-o",
            os.path.join(outputs, graceid),
        ]
        per_event[graceid] = timed(command, env=env, stderr=subprocess.DEVNULL)[0]
    return per_event, time.monotonic() - t0, children_cpu() - cpu0


def notice_plots(results):
    """``[(kind, graceid, number)]``: every plot of a BAYESTAR map gwreplay
    drew for a notice (the baseline has no other maps): ``kind`` ``volume``
    (``bayestar.volume-N.png``) or ``allsky`` (``bayestar-N.png``), with the
    notice's preferred event from the superevent's sequence.json."""
    plots = []
    folder = os.path.join(results, "superevents")
    for sid in sorted(os.listdir(folder)):
        path = os.path.join(folder, sid, "sequence.json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            preferred = {
                n["alert_number"]: n["preferred_event"] for n in json.load(f)["notices"]
            }
        for name in sorted(os.listdir(os.path.join(folder, sid))):
            stem, _, rest = name.rpartition("-")
            number = rest.removesuffix(".png")
            if not name.endswith(".png") or not number.isdigit():
                continue
            if stem.endswith(".volume"):
                kind = "volume"
            elif stem in ("bayestar",):
                kind = "allsky"
            else:
                continue  # the em_bright and p_astro bar charts
            plots.append((kind, preferred[int(number)], int(number)))
    return plots


def config_value(config, key):
    """``key``'s value among ``--config KEY=VALUE`` items, or None."""
    for item in config:
        name, _, value = item.partition("=")
        if name == key and value not in ("", "null"):
            return value
    return None


def run_products_baseline(workdir, results, config, cores):
    """After :func:`run_baseline`: the rest of the sky-map science by the
    command lines gwcelery's tasks wrap, on the baseline's own maps:
    ``ligo-skymap-flatten`` of every map (gwreplay's
    ``flatten_skymap``), and for each notice plot gwreplay drew (read from
    its ``results``) ``ligo-skymap-plot-volume --annotate`` or
    ``ligo-skymap-plot --annotate --contour 50 90`` at the same dpi,
    ``cores`` commands at a time (each tool is single-threaded; gwreplay
    runs as many jobs at once). Returns (wall, CPU)."""
    outputs = os.path.join(workdir, "baseline-output")
    flat = os.path.join(workdir, "baseline-flat")
    shutil.rmtree(flat, ignore_errors=True)
    os.makedirs(flat)

    def skymap(graceid):
        (name,) = [n for n in os.listdir(os.path.join(outputs, graceid))]
        return os.path.join(outputs, graceid, name)

    def dpi(key):
        value = config_value(config, key)
        return ["--dpi", value] if value else []

    commands = [
        ["ligo-skymap-flatten", skymap(g), os.path.join(flat, f"{g}.fits.gz")]
        for g in sorted(os.listdir(outputs))
    ]
    for kind, graceid, number in notice_plots(results):
        png = os.path.join(flat, f"{graceid}-{kind}-{number}.png")
        # The input first: --contour takes every number after it.
        if kind == "volume":
            command = ["ligo-skymap-plot-volume", skymap(graceid), "--annotate"]
            key = "volume_plot_dpi"
        else:
            command = ["ligo-skymap-plot", skymap(graceid), "--annotate"]
            command += ["--contour", "50", "90"]
            key = "skymap_plot_dpi"
        commands.append([*command, "-o", png, *dpi(key)])
    env = dict(os.environ, MPLBACKEND="agg", OMP_NUM_THREADS="1")

    def run(command):
        tool, *arguments = command
        subprocess.run(
            [os.path.join(BIN, tool), *arguments],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    cpu0, t0 = children_cpu(), time.monotonic()
    with ThreadPoolExecutor(cores) as pool:
        list(pool.map(run, commands))
    return time.monotonic() - t0, children_cpu() - cpu0


def run_gwreplay(store, workdir, cores, config=()):
    """``gwreplay run`` with the job probe; return wall, CPU and job records."""
    results = os.path.join(workdir, "results")
    shutil.rmtree(results, ignore_errors=True)
    probe = tempfile.mkdtemp(prefix="probe-", dir=workdir)
    with open(os.path.join(probe, "sitecustomize.py"), "w") as f:
        f.write(SITECUSTOMIZE)
    joblog = os.path.join(workdir, "jobs.jsonl")
    if os.path.exists(joblog):
        os.unlink(joblog)
    env = dict(os.environ, GWREPLAY_BENCH_JOBLOG=joblog)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [probe, env.get("PYTHONPATH")]))
    env.pop("OMP_NUM_THREADS", None)
    command = [PYTHON, "-m", "gwreplay.cli", "run", store, "--results", results]
    command += ["--cores", str(cores)]
    if config:
        command += ["--", "--config", *config]
    start = time.time()
    with open(os.path.join(workdir, "gwreplay-run.log"), "w") as log:
        wall, cpu = timed(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    with open(joblog) as f:
        jobs = [json.loads(line) for line in f]
    shutil.rmtree(probe)
    return wall, cpu, jobs, start


def rule_breakdown(jobs):
    """Per rule: jobs, total wall, start-up share, work, CPU."""
    rules = defaultdict(lambda: defaultdict(float))
    for job in jobs:
        row = rules[job.get("rule", job["script"])]
        row["jobs"] += 1
        row["wall"] += job["end"] - job["start"]
        row["startup"] += job["work_start"] - job["start"]
        row["work"] += job["work_end"] - job["work_start"]
        row["cpu"] += job["cpu"]
    return rules


def busy_seconds(jobs):
    """Seconds during which at least one script job was running."""
    intervals = sorted((job["start"], job["end"]) for job in jobs)
    busy, current_start, current_end = 0.0, None, None
    for start, end in intervals:
        if current_end is None or start > current_end:
            if current_end is not None:
                busy += current_end - current_start
            current_start, current_end = start, end
        else:
            current_end = max(current_end, end)
    if current_end is not None:
        busy += current_end - current_start
    return busy


def report(baseline, gwreplay, cores):
    """Print the figures."""
    per_event, base_wall, base_cpu = baseline
    wall, cpu, jobs, start = gwreplay
    maps = sum(1 for job in jobs if job.get("rule") == "bayestar")
    print(f"CBC events (BAYESTAR sky maps): {maps}; cores: {cores}")
    rows = (
        ("baseline bayestar-localize-coincs", base_wall, base_cpu, "s"),
        ("gwreplay run (whole orchestrator)", wall, cpu, "s"),
        ("ratio gwreplay / baseline", wall / base_wall, cpu / base_cpu, ""),
    )
    for label, row_wall, row_cpu, unit in rows:
        print(f"{label:34} wall {row_wall:7.3f} {unit:1}  CPU {row_cpu:7.3f} {unit}")
    print()
    header = ("rule", "jobs", "wall s", "start-up s", "work s", "CPU s")
    print("{:24} {:>4} {:>8} {:>10} {:>8} {:>8}".format(*header))
    rules = rule_breakdown(jobs)
    for name, row in sorted(rules.items(), key=lambda item: -item[1]["wall"]):
        figures = (row["wall"], row["startup"], row["work"], row["cpu"])
        print(
            "{:24} {:4d} {:8.1f} {:10.1f} {:8.1f} {:8.1f}".format(
                name, int(row["jobs"]), *figures
            )
        )
    first = min(job["start"] for job in jobs)
    last = max(job["end"] for job in jobs)
    busy = busy_seconds(jobs)
    print()
    print(f"snakemake start-up to first job: {first - start:6.1f} s")
    print(f"last job to exit (hooks, summary): {start + wall - last:6.1f} s")
    print(f"no script job running in between: {last - first - busy:6.1f} s")
    bayestar = {
        job["key"]: job["end"] - job["start"]
        for job in jobs
        if job.get("rule") == "bayestar"
    }
    print()
    print(f"{'event':10} {'baseline s':>10} {'gwreplay bayestar job s':>24}")
    for graceid, seconds in sorted(per_event.items()):
        job_seconds = bayestar.get(graceid, float("nan"))
        print(f"{graceid:10} {seconds:10.1f} {job_seconds:24.1f}")
    print(
        f"{'total':10} {sum(per_event.values()):10.1f} {sum(bayestar.values()):24.1f}"
    )


def main():
    """Generate the store, run both, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superevents", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument(
        "--workdir",
        default=os.path.join(tempfile.gettempdir(), "gwreplay-bench", "overhead"),
    )
    parser.add_argument(
        "--order",
        choices=("baseline-first", "gwreplay-first"),
        default="baseline-first",
        help="which of the two runs goes first",
    )
    parser.add_argument(
        "--config",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="workflow config for the gwreplay run (e.g. bayestar_threads=1)",
    )
    parser.add_argument(
        "--products",
        action="store_true",
        help="also time the baseline's flattening and notice plots (the same "
        "plots gwreplay drew, by ligo.skymap's command lines), after both runs",
    )
    parser.add_argument(
        "--baseline-seconds",
        type=float,
        help="skip the baseline and use this wall time from an earlier run",
    )
    args = parser.parse_args()
    store = os.path.join(args.workdir, f"mdc-{args.superevents}-{args.seed}")
    os.makedirs(args.workdir, exist_ok=True)
    make_mdc(store, args.superevents, args.seed)
    runs = {
        "baseline": lambda: run_baseline(store, args.workdir, args.cores),
        "gwreplay": lambda: run_gwreplay(store, args.workdir, args.cores, args.config),
    }
    order = ["baseline", "gwreplay"]
    if args.order == "gwreplay-first":
        order.reverse()
    if args.baseline_seconds:
        order.remove("baseline")
    figures = {name: runs[name]() for name in order}
    baseline = figures.get("baseline") or ({}, args.baseline_seconds, float("nan"))
    gwreplay = figures["gwreplay"]
    report(baseline, gwreplay, args.cores)
    if args.products and "baseline" in figures:
        results = os.path.join(args.workdir, "results")
        wall, cpu = run_products_baseline(
            args.workdir, results, args.config, args.cores
        )
        per_event, base_wall, base_cpu = baseline
        total_wall, total_cpu = base_wall + wall, base_cpu + cpu
        print()
        print(f"{'baseline sky-map products (flatten, plots)':44} wall {wall:7.1f} s")
        print(
            f"{'baseline, BAYESTAR and products':44} wall {total_wall:7.1f} s"
            f"  CPU {total_cpu:7.1f} s"
        )
        print(
            f"{'ratio gwreplay / that baseline':44} wall "
            f"{gwreplay[0] / total_wall:7.3f}    CPU {gwreplay[1] / total_cpu:7.3f}"
        )


if __name__ == "__main__":
    main()
