"""``gwreplay run`` over shards: one Snakemake run per shard that has work.

The plan is cut by :mod:`gwreplay.shards`; each shard's part is written to
``RESULTS/.gwreplay/shards/`` and a Snakemake run is started on it with
``--config replay_shard=DAY`` and, when the run is restricted to what
changed (:func:`gwreplay.stamp.outdated_targets`), only that shard's
targets. Shards run one after another, or ``--shard-jobs N`` at once (on a
cluster, N Snakemake runs submitting their jobs through the executor
plugin; locally the cores are divided between them). Snakemake allows
concurrent runs in one directory when their outputs are disjoint, as the
shards' are. A shard whose jobs failed does not stop the others (each
failure is recorded as in any run); an interrupt or a usage error stops
every shard.
"""

import os
from concurrent.futures import ThreadPoolExecutor

#: Snakemake's exit status when jobs failed (``--keep-going`` ran the rest):
#: the other shards still run. Any other failure (usage, interrupt) stops.
JOBS_FAILED = 1


def shard_work(plan, targets, limit):
    """``(plans, work)``: every shard's plan, and ``{shard: targets or None}``
    of the shards to run (None: the shard's whole part)."""
    from .shards import assign_shards, shard_plans, targets_by_shard

    superevent_shards, event_shards = assign_shards(plan, limit)
    plans = shard_plans(plan, superevent_shards, event_shards)
    if targets is None:
        return plans, dict.fromkeys(plans)
    return plans, targets_by_shard(targets, superevent_shards, event_shards)


def shard_cores(kwargs, jobs):
    """Snakemake's ``--cores`` for each of ``jobs`` shards run at once.

    With a profile the profile's setting stands; locally the cores asked for
    (all by default) are shared out, at least one each.
    """
    if jobs == 1 or kwargs.get("profile"):
        return kwargs.get("cores")
    cores = kwargs.get("cores")
    total = os.cpu_count() if cores in (None, "all") else int(cores)
    return str(max(1, total // jobs))


def run_shards(store, results, kwargs, plan, targets=None, record=None):
    """Snakemake on every shard with work; the first non-zero status, or 0.

    ``targets``: what changed, each handed to its own shard's run; None:
    every shard, its whole part. ``kwargs``: :func:`gwreplay.run.replay`'s.
    """
    from .run import MAX_TARGETS, _display
    from .shards import SHARD_SUPEREVENTS, write_shard

    limit = kwargs.get("shard_superevents") or SHARD_SUPEREVENTS
    plans, work = shard_work(plan, targets, limit)
    jobs = max(1, min(int(kwargs.get("shard_jobs") or 1), len(work) or 1))
    display = _display(kwargs)
    display.shards = len(work)
    options = dict(kwargs, cores=shard_cores(kwargs, jobs))
    runs = []
    for number, shard in enumerate(sorted(work), 1):
        shard_targets = work[shard]
        if shard_targets is not None and len(shard_targets) > MAX_TARGETS:
            shard_targets = None
        write_shard(plans[shard], shard)
        runs.append((number, shard, shard_targets or ()))
    run_one = _ShardRun(store, results, options, display, len(runs), record, jobs)
    if jobs == 1:
        statuses = []
        for run in runs:
            statuses.append(run_one(run))
            if statuses[-1] not in (0, JOBS_FAILED):
                break
    else:
        with ThreadPoolExecutor(jobs) as pool:
            statuses = list(pool.map(run_one, runs))
    return next((status for status in statuses if status), 0)


class _ShardRun:
    """Runs one shard's Snakemake and prints its line when it ends.

    Shards run at once each get a display of their own that writes only
    their log (their outputs would interleave otherwise).
    """

    def __init__(self, store, results, kwargs, display, count, record, jobs):
        self.store, self.results, self.kwargs = store, results, kwargs
        self.display, self.count, self.record = display, count, record
        self.stopped = False
        self.jobs = jobs

    def __call__(self, run):
        from .progress import RunDisplay, SnakemakeProgress
        from .run import _run_snakemake

        number, shard, targets = run
        if self.stopped:
            return None
        display = self.display
        if self.jobs > 1:
            display = RunDisplay("quiet")
        display.progress = SnakemakeProgress()
        status = _run_snakemake(
            self.store,
            self.results,
            dict(self.kwargs, display=display),
            targets=targets,
            record=self.record,
            shard=shard,
        )
        if status not in (0, JOBS_FAILED):
            self.stopped = True
        if self.display.mode != "quiet":
            print(
                f"gwreplay: shard {shard} ({number} of {self.count}): "
                f"{display.progress.summary()}",
                flush=True,
            )
        self.display.logfile = display.logfile
        return status
