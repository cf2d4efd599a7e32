"""Where ``gwreplay run`` spends its own time around Snakemake, step by step.

    .venv/bin/python -m bench.run_phases --superevents 10000

On the processed synthetic store of bench/incremental.py (built there if
missing), with one new cWB event added as in that benchmark, times each
bookkeeping step of ``gwreplay.run.incremental_replay`` in the order it
runs them, in this process (best of ``--repeat``; the steps that cache,
the plan and the provenance digests, are shown cold and warm): what a run
with one new event costs besides Snakemake's own start-up, DAG and jobs.
Snakemake is not run, so the new event's results are not made; the event
is removed at the end. Figures: docs/benchmarks.md.
"""

import argparse
import os
import tempfile
import time

from bench.incremental import new_superevent_id, processed_store, remove_new_event  # noqa: E402
from bench.synthetic_store import add_burst_event  # noqa: E402


def timed(label, func, repeat=1):
    """Run ``func`` ``repeat`` times; print and return (best seconds, result)."""
    best, result = None, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = func()
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    print(f"{label:<46} {best:6.2f} s", flush=True)
    return best, result


def phases(store, results, repeat):
    """Time the steps of ``incremental_replay`` (Snakemake left out)."""
    from gwreplay import plan as plan_module
    from gwreplay.provenance import store_files, write_provenance
    from gwreplay.run import DEFAULT_CONFIG, load_configfiles
    from gwreplay.stamp import (
        code_digest,
        config_files_digest,
        outdated_targets,
        read_stamp,
        store_listing,
        write_stamp,
    )
    from gwreplay.summary import write_summaries

    total = 0.0
    seconds, config = timed("configuration", lambda: load_configfiles([DEFAULT_CONFIG]))
    config.update(store=os.path.abspath(store), results=os.path.abspath(results))
    total += seconds
    seconds, code = timed("code digest", code_digest, repeat)
    total += seconds
    conf = config_files_digest([DEFAULT_CONFIG], [])
    cache = os.path.join(results, plan_module.PLAN_CACHE)
    os.unlink(cache)  # the new event invalidates the cached plan
    seconds, plan = timed(
        "plan (store changed: planned, cache written)",
        lambda: plan_module.cached_plan(store, results, config),
    )
    total += seconds
    timed(
        "  plan again (cache read; each Snakemake parse)",
        lambda: plan_module.cached_plan(store, results, config),
        repeat,
    )
    seconds, files = timed(
        "store listing (stat of every file)",
        lambda: store_files(plan.store.root),
        repeat,
    )
    total += seconds
    seconds, listing = timed("  by folder", lambda: store_listing(store, files), repeat)
    total += seconds
    seconds, stamp = timed("read the stamp", lambda: read_stamp(results), repeat)
    total += seconds
    seconds, targets = timed(
        "outdated targets",
        lambda: outdated_targets(plan, stamp, code=code, config=conf, listing=listing),
        repeat,
    )
    total += seconds
    path = os.path.join(results, "provenance.json")
    seconds, _ = timed(
        "provenance.json (digests cached)",
        lambda: write_provenance(plan, config, path, files),
        repeat,
    )
    total += seconds
    changed = {os.path.basename(os.path.dirname(t)) for t in targets}
    seconds, _ = timed(
        "alerts.csv, failures.csv, sweep",
        lambda: write_summaries(
            plan,
            final=True,
            folders={os.path.dirname(t) for t in targets},
            older_than=time.time(),
            changed_superevents=changed,
        ),
        repeat,
    )
    total += seconds
    seconds, _ = timed(
        "stamp",
        lambda: write_stamp(
            results, code=code, config=conf, listing=listing, plan=plan
        ),
        repeat,
    )
    total += seconds
    label = f"total (plan cold, the rest best of {repeat})"
    print(f"{label:<46} {total:6.2f} s")
    print(f"outdated targets: {len(targets)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--superevents", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--workdir",
        default=os.path.join(tempfile.gettempdir(), "gwreplay-bench", "processed"),
    )
    args = parser.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    store, results = processed_store(args.workdir, args.superevents)
    event = add_burst_event(store, slot=args.superevents)
    sid = new_superevent_id(store, results, event["graceid"])
    try:
        phases(store, results, args.repeat)
    finally:
        remove_new_event(store, results, event["graceid"], sid)


if __name__ == "__main__":
    main()
