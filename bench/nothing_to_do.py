"""Nothing-to-do rerun: ``gwreplay run`` on a finished replay.

    .venv/bin/python -m bench.nothing_to_do --sizes 1000
    .venv/bin/python -m bench.nothing_to_do --sizes 1000 10000 --profile

Uses the processed synthetic stores of bench/incremental.py (placeholder
outputs plus ``snakemake --touch --forceall``, so every output has the job
metadata a real run records) and times ``gwreplay run STORE --results R
--cores 2``, which must find nothing to do, ``--repeat`` times (median and
range): as is (gwreplay's stamp of the last complete run: Snakemake is not
started) and with Snakemake's default rerun triggers named as options
(Snakemake checks every job, as before the stamp existed). The fixed floor
of any run is shown too: starting the interpreter and importing Snakemake
(``python -m snakemake --version``). Goal: at most 5 s for 10^3 superevents.

``--profile`` runs the default rerun in-process under cProfile (phases and
hot spots, as bench/planning_scale.py). Figures: docs/benchmarks.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

from bench.incremental import establish_stamp, processed_store  # noqa: E402
from bench.planning_scale import profile_snakemake  # noqa: E402

PYTHON = sys.executable

#: Snakemake options of each variant (passed after ``--``). Any option makes
#: ``gwreplay run`` hand the whole workflow to Snakemake (and drop its
#: stamp); the second variant names Snakemake's default triggers, so it
#: measures Snakemake's own up-to-date check of every job.
VARIANTS = {
    "gwreplay run": [],
    "Snakemake's own check": [
        "--rerun-triggers",
        "mtime",
        "params",
        "input",
        "software-env",
        "code",
    ],
}


def timed_run(command):
    """Wall seconds and output of one command (which must succeed)."""
    env = dict(os.environ, CONDOR_CONFIG=os.devnull)
    t0 = time.monotonic()
    proc = subprocess.run(command, capture_output=True, text=True, env=env)
    wall = time.monotonic() - t0
    if proc.returncode:
        sys.exit(
            f"failed: {' '.join(command)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}"
        )
    return wall, proc.stdout + proc.stderr


def floor(repeat):
    """Median seconds of ``python -m snakemake --version``."""
    return statistics.median(
        timed_run([PYTHON, "-m", "snakemake", "--version"])[0] for _ in range(repeat)
    )


def measure(workdir, superevents, repeat):
    """Rows (superevents, variant, median, min, max) for one size."""
    store, results = processed_store(workdir, superevents)
    rows = []
    for variant, extra in VARIANTS.items():
        command = [PYTHON, "-m", "gwreplay.cli", "run", store, "--results", results]
        command += ["--cores", "2"]
        if extra:
            command += ["--", *extra]
        times = []
        for _ in range(repeat):
            wall, output = timed_run(command)
            if "Nothing to be done" not in output:
                sys.exit(f"not a nothing-to-do run ({variant}):\n{output[-2000:]}")
            times.append(wall)
        rows.append(
            (superevents, variant, statistics.median(times), min(times), max(times))
        )
    establish_stamp(store, results)
    return rows


def main():
    """Measure, print the table, optionally profile."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--workdir",
        default=os.path.join(tempfile.gettempdir(), "gwreplay-bench", "processed"),
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    rows = []
    for size in args.sizes:
        rows += measure(args.workdir, size, args.repeat)
    print(f"python -m snakemake --version (floor): {floor(args.repeat):.1f} s")
    print(
        f"{'superevents':>11} {'variant':>22} {'median s':>9} {'min s':>6} {'max s':>6}"
    )
    for superevents, variant, median, low, high in rows:
        print(f"{superevents:11d} {variant:>22} {median:9.1f} {low:6.1f} {high:6.1f}")
    if args.profile:
        for size in args.sizes:
            store, results = processed_store(args.workdir, size)
            profile_snakemake(
                store,
                results,
                ["--quiet"],
                args.top,
                title=f"the nothing-to-do rerun, {size} superevents",
            )


if __name__ == "__main__":
    main()
