"""Planning cost: dry-run time and peak memory for 10^2, 10^3, 10^4 superevents.

    .venv/bin/python -m bench.planning_scale --sizes 100 1000 10000
    .venv/bin/python -m bench.planning_scale --sizes 10000 --profile

For each size, builds a light synthetic store (bench/synthetic_store.py:
event.json files and placeholder uploads, CBC and burst events, 4.5 jobs per
superevent; a dry run opens none of the uploads) and times, under
``/usr/bin/time -v`` for the peak resident memory of the process tree:

* ``gwreplay run STORE --results EMPTY -n``, the user's dry run (Snakemake
  prints every planned job);
* the same with ``-- --quiet``: the planning alone (store, superevents, DAG
  and up-to-date checks). Snakemake then returns before its dry-run pass
  through the scheduler, which is what prints the job listing and, with
  ``--quiet rules``, still runs (so that option saves little).

Goal at 10^4 superevents: at most 60 s and 2 GiB.

``--shards days`` (``--shard-jobs 1 2``) adds the quiet dry run of the same
store in shards of whole UTC days (``gwreplay run --shards days``): one
Snakemake per shard, so the peak is one shard's process (``time -v``
reports the largest process of the tree, not the sum of two at once).

``--profile`` also runs the quiet dry run in-process under cProfile and
prints where the time goes, grouped by phase: store loading and superevent
formation (``gwreplay.plan.make_plan``), Snakefile parsing, and Snakemake's
DAG construction and up-to-date checks. Figures and analysis:
docs/benchmarks.md.
"""

import argparse
import cProfile
import io
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time

from bench.synthetic_store import (  # noqa: E402
    DEFAULT_CONFIG,
    SNAKEFILE,
    build_store,
    parse_job_count,
)

PYTHON = sys.executable


def store_for(workdir, superevents):
    """The synthetic store of ``superevents`` superevents (built once, then reused)."""
    store = os.path.join(workdir, f"store-{superevents}")
    done = os.path.join(store, ".complete")
    if not os.path.exists(done):
        shutil.rmtree(store, ignore_errors=True)
        build_store(store, superevents)
        open(done, "w").close()
    return store


def time_v(command, output_path):
    """Run ``command`` under /usr/bin/time -v; return (wall s, peak RSS MiB, stdout)."""
    env = dict(os.environ, CONDOR_CONFIG=os.devnull)
    t0 = time.monotonic()
    with open(output_path, "w") as out:
        proc = subprocess.run(
            ["/usr/bin/time", "-v", *command],
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
    wall = time.monotonic() - t0
    if proc.returncode:
        sys.exit(
            f"failed ({proc.returncode}): {' '.join(command)}\n{proc.stderr[-2000:]}"
        )
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    with open(output_path) as f:
        text = f.read()
    return wall, int(match.group(1)) / 1024, text + proc.stderr


def dry_run_command(store, results, quiet, shards="none", shard_jobs=1):
    """``gwreplay run STORE --results R -n`` (``-- --quiet`` when asked), as
    one DAG or in shards of UTC days (gwreplay/shards.py)."""
    command = [PYTHON, "-m", "gwreplay.cli", "run", store, "--results", results, "-n"]
    command += ["--shards", shards, "--shard-jobs", str(shard_jobs)]
    if quiet:
        command += ["--", "--quiet"]
    return command


def measure(workdir, superevents, shards="none", shard_jobs=1):
    """Dry-run figures of one store size. Shards: the quiet dry run only
    (each shard lists its own jobs)."""
    store = store_for(workdir, superevents)
    events = len(os.listdir(os.path.join(store, "events")))
    rows = []
    for quiet in (False, True) if shards == "none" else (True,):
        results = tempfile.mkdtemp(prefix="results-", dir=workdir)
        wall, rss, text = time_v(
            dry_run_command(store, results, quiet, shards, shard_jobs),
            os.path.join(
                workdir, f"dryrun-{superevents}-{'quiet' if quiet else 'listing'}.log"
            ),
        )
        # --quiet prints no job table: count the jobs of the listing run.
        jobs = parse_job_count(text) or (rows[-1][2] if rows else 0)
        shutil.rmtree(results)
        mode = "quiet" if quiet else "listing"
        if shards != "none":
            mode = f"{shards}x{shard_jobs}"
        rows.append((superevents, events, jobs, mode, wall, rss))
    return rows


#: Phases reported from the profile: (label, file, function). Nested: the
#: Snakefile parse includes the plan, the DAG building includes the checks.
PHASES = (
    ("Snakefile parsing (workflow.include)", "workflow.py", "include"),
    ("  of which the plan (gwreplay.plan.make_plan)", "plan.py", "make_plan"),
    ("DAG building (dag.init)", "dag.py", "init"),
    ("  of which up-to-date checks (dag.update_needrun)", "dag.py", "update_needrun"),
    (
        "scheduling and running jobs (JobScheduler.schedule)",
        "job_scheduler.py",
        "schedule",
    ),
    ("onstart hook (provenance)", "Snakefile", "__onstart"),
    ("onsuccess hook (summaries)", "Snakefile", "__onsuccess"),
)


def profile_snakemake(store, results, extra=(), top=30, title="dry run"):
    """cProfile one Snakemake invocation in this process; print phases and hot spots.

    ``extra`` are further snakemake arguments (``-n``, ``--quiet``, targets,
    ``--rerun-triggers mtime``, ...). Returns {phase label: cumulative s}.
    """
    from snakemake.cli import main as snakemake_main

    os.environ.setdefault("CONDOR_CONFIG", os.devnull)
    argv = [
        "--snakefile",
        SNAKEFILE,
        "--directory",
        results,
        "--cores",
        "1",
        *extra,
        "--configfile",
        DEFAULT_CONFIG,
        "--config",
        f"store={store}",
        f"results={results}",
    ]
    profiler = cProfile.Profile()
    cwd = os.getcwd()
    try:
        profiler.runcall(snakemake_main, argv)
    except SystemExit:
        pass
    finally:
        os.chdir(cwd)
    stats = pstats.Stats(profiler)
    total = max(entry[3] for entry in stats.stats.values())
    print(f"\ncProfile of {title}: {total:.1f} s")
    phases = {}
    for label, filename, function in PHASES:
        phases[label] = sum(
            entry[3]
            for (path, _, name), entry in stats.stats.items()
            if path.endswith(filename) and name == function
        )
        print(f"  {label:58} {phases[label]:7.1f} s")
    for key in ("cumulative", "tottime"):
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats(key).print_stats(top)
        print(buffer.getvalue())
    return phases


def profile(workdir, superevents, top):
    """Profile the quiet dry run of a fresh replay of the synthetic store."""
    store = store_for(workdir, superevents)
    results = tempfile.mkdtemp(prefix="results-", dir=workdir)
    profile_snakemake(
        store,
        results,
        ["-n", "--quiet"],
        top,
        title=f"the quiet dry run, {superevents} superevents",
    )
    shutil.rmtree(results)


def main():
    """Build the stores, measure, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument(
        "--workdir",
        default=os.path.join(tempfile.gettempdir(), "gwreplay-bench", "stores"),
    )
    parser.add_argument(
        "--profile", action="store_true", help="cProfile the largest size"
    )
    parser.add_argument("--top", type=int, default=30, help="hot spots printed")
    parser.add_argument(
        "--shards",
        nargs="+",
        default=["none"],
        choices=["none", "days"],
        help="one DAG and/or shards of UTC days (quiet dry run only)",
    )
    parser.add_argument("--shard-jobs", type=int, nargs="+", default=[1])
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rows = []
    for size in args.sizes:
        for shards in args.shards:
            for jobs in args.shard_jobs if shards != "none" else [1]:
                rows += measure(args.workdir, size, shards, jobs)
    header = ("superevents", "events", "jobs", "output", "wall s", "peak MiB")
    print("{:>11} {:>7} {:>7} {:>8} {:>8} {:>9}".format(*header))
    for superevents, events, jobs, mode, wall, rss in rows:
        print(
            f"{superevents:11d} {events:7d} {jobs:7d} {mode:>8} {wall:8.1f} {rss:9.0f}"
        )
    if args.profile:
        profile(args.workdir, max(args.sizes), args.top)


if __name__ == "__main__":
    main()
