"""A fresh O4 replay's wall time against the number of superevents.

    python -m bench.checkpoint_scale --sizes 50 100 200 --policies O4 O3
    python -m bench.checkpoint_scale --sizes 1000 --policies O4 --shards days

Under O4 every superevent is a Snakemake checkpoint (``sequence.json``:
which notices exist is known only once it has run), and Snakemake
re-evaluates the jobs that depend on checkpoints after each one finishes
("Updating checkpoint dependencies"). This script measures what that costs
in one DAG: a store of N cWB bursts, one per superevent, 1000 s apart,
each with a real multi-order sky map and a FAR above the less-significant
threshold (a superevent with no notice: the checkpoint and ``alert.json``
only), replayed from scratch with ``gwreplay run --cores 2``. For O3 the
same store gives one ``superevent`` job per superevent, no checkpoint.

``--shards days`` replays the store in shards of whole UTC days instead
(``gwreplay run --shards days``, gwreplay/shards.py): the bursts being 1000
s apart, a day holds 86 or 87 superevents, and a shard at most
``--shard-superevents`` (default 100: one day).

It prints, per policy, shard mode and size, the wall time, the time per superevent and
the load average at the start. The stores are built once per size under
``--workdir``. Figures: docs/benchmarks.md.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
from tests import builders  # noqa: E402 - the tests' event builders

#: Below the superevent threshold (1/h), above the less-significant one.
FAR = 2.5e-4
FIRST_GPS = 1186000000.0


def write_store(store, count):
    """``count`` bursts with their multi-order map, both eras' names."""
    from ligo.skymap.io import fits

    os.makedirs(os.path.dirname(store), exist_ok=True)
    skymap = os.path.join(os.path.dirname(store), "skymap.multiorder.fits")
    fits.write_sky_map(skymap, builders.gaussian_multiorder(120, -30, 5), moc=True)
    for i in range(count):
        graceid = f"G{3000000 + i}"
        folder = os.path.join(store, "events", graceid)
        os.makedirs(folder)
        gpstime = FIRST_GPS + 1000.0 * i
        event = builders.burst_event(graceid, gpstime, created=gpstime + 8, far=FAR)
        shutil.copy(skymap, os.path.join(folder, "cwb.multiorder.fits"))
        shutil.copy(skymap, os.path.join(folder, "skyprobcc_cWB.fits"))
        with open(os.path.join(folder, "event.json"), "w") as f:
            json.dump(event, f)


def replay(store, results, policy, shards="none", shard_superevents=None):
    """Wall seconds of a fresh ``gwreplay run`` under ``policy``, as one DAG
    (``shards="none"``) or in shards of whole UTC days (``days``)."""
    shutil.rmtree(results, ignore_errors=True)
    command = [sys.executable, "-m", "gwreplay.cli", "run", store]
    command += ["--results", results, "--cores", "2", "--shards", shards]
    if shard_superevents:
        command += ["--shard-superevents", str(shard_superevents)]
    command += ["--", "--config", f"orchestrator_policy={policy}"]
    start = time.monotonic()
    subprocess.run(
        command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--policies", nargs="+", default=["O4", "O3"])
    parser.add_argument(
        "--shards",
        nargs="+",
        default=["none"],
        choices=["none", "days"],
        help="one DAG (none) and/or shards of whole UTC days (days; 86.4 "
        "superevents a day at 1000 s apart)",
    )
    parser.add_argument("--shard-superevents", type=int, default=None)
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    workdir = args.workdir or tempfile.mkdtemp(prefix="checkpoint-scale-")
    print("policy  shards  superevents    wall   per superevent  load")
    for size in args.sizes:
        store = os.path.join(workdir, f"store-{size}")
        if not os.path.isdir(store):
            write_store(store, size)
        for policy in args.policies:
            for shards in args.shards:
                load = os.getloadavg()[0]
                results = os.path.join(workdir, f"results-{size}-{policy}-{shards}")
                wall = replay(store, results, policy, shards, args.shard_superevents)
                print(
                    f"{policy:6s}  {shards:6s}  {size:11d}  {wall:6.1f} s  "
                    f"{wall / size:8.3f} s  {load:.2f}"
                )
                sys.stdout.flush()
    print(f"working files in {workdir}")


if __name__ == "__main__":
    main()
