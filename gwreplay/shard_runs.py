"""``gwreplay run`` over shards: one Snakemake run per shard that has work.

The plan is cut by :mod:`gwreplay.shards`; each shard's part is written to
``RESULTS/.gwreplay/shards/`` and a Snakemake run is started on it with
``--config replay_shard=DAY`` and, when the run is restricted to what
changed (:func:`gwreplay.stamp.outdated_targets`), only that shard's
targets. Shards run one after another in one runner process
(:mod:`gwreplay.snakemake_runner`: Snakemake's start-up paid once), or in
``--shard-jobs N`` runners at once (on a cluster, N Snakemake runs
submitting their jobs through the executor plugin; locally the cores are
divided between them). Each shard's Snakemake output goes to its own log,
``RESULTS/logs/snakemake/<time>-<DAY>.log``; one line per shard is shown.
Snakemake allows concurrent runs in one directory when their outputs are
disjoint, as the shards' are. A shard whose jobs failed does not stop the
others (each failure is recorded as in any run); an interrupt or a runner
that dies stops every shard.
"""

import contextlib
import os
import sys
from concurrent.futures import ThreadPoolExecutor

#: Shards per runner process before a fresh one takes over: Snakemake keeps
#: about 20 MiB of every run in its process (measured at 173 superevents a
#: shard, gc.collect() frees none of it), so a runner is not kept for ever.
RUNNER_SHARDS = 10
#: Snakemake's exit status when jobs failed (``--keep-going`` ran the rest):
#: the other shards still run. Any other failure (usage, interrupt) stops.
JOBS_FAILED = 1


def shard_work(plan, targets, limit):
    """``(plans, work)``: the plan of every shard to run, and
    ``{shard: targets or None}`` of those shards (None: the shard's whole
    part)."""
    from .shards import assign_shards, shard_plans, targets_by_shard

    superevent_shards, event_shards = assign_shards(plan, limit)
    if targets is None:
        plans = shard_plans(plan, superevent_shards, event_shards)
        return plans, dict.fromkeys(plans)
    work = targets_by_shard(targets, superevent_shards, event_shards)
    # Only the shards with work are cut out: 1 s for all 116 days of 10^4.
    plans = shard_plans(plan, superevent_shards, event_shards, only=set(work))
    return plans, work


def sharded_plan(store, results, kwargs):
    """``(plan, config)``: the whole plan and the run's configuration when
    ``kwargs["shards"]`` cuts it into days, else None."""
    from .plan import cached_plan
    from .run import run_config
    from .shards import sharded

    mode = kwargs.get("shards") or "auto"
    if mode == "none":
        return None
    config, _, _ = run_config(store, results, kwargs)
    plan = cached_plan(store, results, config)
    if not sharded(plan, mode, kwargs.get("shard_superevents")):
        return None
    return plan, config


def unvouched_shards(store, results, kwargs, plan, config, record):
    """Every shard with the user's extra Snakemake options (or the shards of
    the user's targets, whose folders alone get table rows): the bookkeeping
    is done here, once for the whole plan, and no stamp is written."""
    from .bookkeeping import RunBookkeeping
    from .run import read_failures

    options, targets = user_targets(results, kwargs, plan)
    books = RunBookkeeping(plan, config, targets=targets)
    books.begin()
    status = run_shards(store, results, options, plan, targets, record)
    books.end(status)
    return status, read_failures(results)


def user_targets(results, kwargs, plan):
    """``(kwargs, targets)``: the user's targets among the extra Snakemake
    arguments taken out of them, to go each to its own shard's run (None:
    the user named none, every shard runs its whole part).

    Snakemake's own parser (``snakemake.cli``) tells targets from options
    and their values. A shard's Snakemake can build only files of its
    events and superevents: any other target is a usage error, raised
    before any shard runs (a target handed to every shard fails in each).
    """
    from .run import snakemake_cli

    extra = list(kwargs.get("extra") or ())
    if not extra:
        return kwargs, None
    args, _ = snakemake_cli().get_argument_parser().parse_known_args(extra)
    if not args.targets:
        return kwargs, None
    for target in reversed(args.targets):  # positionals: the last occurrence
        del extra[len(extra) - 1 - extra[::-1].index(target)]
    targets = [planned_target(plan, target) for target in args.targets]
    return dict(kwargs, extra=extra), targets


def planned_target(plan, target):
    """``target`` as an absolute path, checked to be a file of a planned
    event or superevent (:meth:`gwreplay.plan.Plan.target_owner`)."""
    from .errors import UsageError

    owner = plan.target_owner(target)
    if owner is None:
        raise UsageError(
            f"{target}: a sharded replay builds only files of events and "
            "superevents (RESULTS/events/<GraceID>/FILE, "
            "RESULTS/superevents/<SID>/FILE); run with --shards none for others"
        )
    kind, owner_id, path = owner
    planned = plan.store.events if kind == "events" else plan.superevents
    if owner_id not in planned:
        raise UsageError(
            f"{target}: no {kind[:-1]} {owner_id} in the plan of {plan.store.root}"
        )
    return path


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
    The runs happen in ``--shard-jobs`` runner processes
    (:mod:`gwreplay.snakemake_runner`), each taking the next shard when done.
    """
    from .run import MAX_TARGETS, _display
    from .shards import SHARD_SUPEREVENTS, write_shard

    limit = kwargs.get("shard_superevents") or SHARD_SUPEREVENTS
    plans, work = shard_work(plan, targets, limit)
    jobs = max(1, min(int(kwargs.get("shard_jobs") or 1), len(work) or 1))
    display = _display(kwargs)
    display.shards = len(work)
    options = dict(kwargs, cores=shard_cores(kwargs, jobs))
    queue = []
    for number, shard in enumerate(sorted(work), 1):
        shard_targets = work[shard]
        if shard_targets is not None and len(shard_targets) > MAX_TARGETS:
            shard_targets = None
        write_shard(plans[shard], shard)
        queue.append((number, shard, shard_targets or ()))
    pool = _Runners(store, results, options, display, len(queue), record)
    threads = ThreadPoolExecutor(jobs)
    try:
        futures = [threads.submit(pool.drain, queue) for _ in range(jobs)]
        statuses = [future.result() for future in futures]
    except BaseException:  # Ctrl-C: no runner takes another shard
        pool.stopped = True
        raise
    finally:
        threads.shutdown(wait=True)
    return next((status for status in statuses if status), 0)


class _Runners:
    """Runner processes taking shards from one queue, and their lines.

    A runner whose Snakemake failed for another reason than failed jobs, or
    that died, stops every runner from taking another shard.
    """

    def __init__(self, store, results, kwargs, display, count, record):
        import threading

        self.store, self.results, self.kwargs = store, results, kwargs
        self.display, self.count, self.record = display, count, record
        self.lock = threading.Lock()
        self.stopped = False

    def _next(self, queue):
        with self.lock:
            return None if self.stopped or not queue else queue.pop(0)

    def drain(self, queue):
        """Feed shards to runners (:data:`RUNNER_SHARDS` each) until none is
        left; the worst status."""
        worst, runner = 0, None
        try:
            for count, item in enumerate(iter(lambda: self._next(queue), None)):
                if count % RUNNER_SHARDS == 0:
                    self._close(runner)
                    runner = self._start()
                status = self._run(runner, *item)
                worst = worst or status
                if status not in (0, JOBS_FAILED):
                    with self.lock:
                        self.stopped = True
        finally:
            self._close(runner)
        return worst

    def _start(self):
        from .lock import add_child
        from .run import snakemake_environment
        from .snakemake_runner import start
        from .stamp import DRIVER_VARIABLE

        env = snakemake_environment(self.kwargs.get("profile"))
        env[DRIVER_VARIABLE] = "1"
        runner = start(env)
        if self.record is not None:
            add_child(self.results, self.record, runner.pid)
        return runner

    @staticmethod
    def _close(runner):
        if runner is not None:
            runner.stdin.close()
            runner.wait()

    def _run(self, runner, number, shard, targets):
        from .progress import log_path
        from .run import SHARD_OPTIONS, snakemake_command
        from .snakemake_runner import read_status, request

        options = {k: v for k, v in self.kwargs.items() if k not in SHARD_OPTIONS}
        command = snakemake_command(
            self.store, self.results, targets=targets, shard=shard, **options
        )
        log = log_path(self.results, shard)
        request(runner, shard, command, log)
        status = read_status(runner)
        if status is None:  # the runner died: stop every shard
            status = runner.wait() or 130
        self._report(number, shard, log, status)
        return status

    def _report(self, number, shard, log, status):
        """The shard's line (and, with ``-v``, its Snakemake output); why
        its Snakemake stopped, when no job failed."""
        from .progress import SnakemakeProgress

        progress = SnakemakeProgress()
        text = ""
        with contextlib.suppress(OSError):
            with open(log, encoding="utf-8", errors="replace") as f:
                text = f.read()
        for line in text.splitlines():
            progress.feed(line)
        with self.lock:
            self.display.logfile = log
            if self.display.mode == "verbose":
                self.display.stream.write(text)
            if self.display.mode != "quiet":
                print(
                    f"gwreplay: shard {shard} ({number} of {self.count}): "
                    f"{progress.summary()}",
                    flush=True,
                )
            stopped = progress.stopped(status)
            if stopped:
                print(
                    f"gwreplay: shard {shard}: {stopped} (log: {log})",
                    file=sys.stderr,
                    flush=True,
                )
