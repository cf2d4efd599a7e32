"""The watcher's Snakemake runs: command, child process, stop requests, failures.

Each run is a plain Snakemake run of the workflow (``gwreplay.run``'s
command line) for explicit target paths, one at a time, its output in
``RESULTS/logs/watch/run-NNNNNN.log``. By default the runs happen in one
long-lived process (:mod:`gwreplay.snakemake_runner`, replaced every
:data:`WARM_RUNS` runs or when it dies), so that neither Snakemake's
start-up nor the imports of the jobs it runs in its threads are paid per
run; ``--cold`` starts a Snakemake process per run instead. While it
runs the watcher keeps recording uploads; SIGINT/SIGTERM let the run
finish, then interrupt it after the stop timeout or at a second signal.
What a failed job left is read from the workflow's failure records
(``RESULTS/.failures/``, written by ``gwreplay.smk``).
"""

import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import threading
import time

from ..run import snakemake_command, snakemake_environment

log = logging.getLogger("gwreplay.watch")

#: Seconds a stop request waits for the current Snakemake run to finish
#: before interrupting it.
watch_stop_timeout = 30.0

#: Snakemake options of every run. ``--force-use-threads`` runs ``run:``
#: blocks (local rules such as ``report``) in a thread of the Snakemake
#: process; otherwise Snakemake spawns a second Snakemake for each, which
#: parses the whole workflow again.
SNAKEMAKE_OPTIONS = ("--force-use-threads",)

#: Snakemake options that would rebuild finished alerts: refused.
FORCING_OPTIONS = ("--forceall", "-F", "--forcerun", "-R", "--forcetargets", "-f")

#: Run logs kept in ``RESULTS/logs/watch/``.
KEEP_LOGS = 200

#: Runs of one warm Snakemake process before a fresh one takes over:
#: Snakemake keeps some memory of every run in its process.
WARM_RUNS = 100


def first_error(logfile):
    """The first error line of a Snakemake log, for the run's log line."""
    with contextlib.suppress(OSError):
        with open(logfile, encoding="utf-8", errors="replace") as f:
            for line in f:
                if "Error" in line or "Exception" in line:
                    return line.strip()[:300]
    return "see the run log"


class StopRequest:
    """A stop asked for by SIGINT/SIGTERM: after the current run, or at once."""

    def __init__(self):
        self.event = threading.Event()
        self.signals = 0
        self.time = None  # time.monotonic() of the first request

    def request(self, signum, frame):
        """Signal handler."""
        self.signals += 1
        if self.time is None:
            self.time = time.monotonic()
        self.event.set()
        log.info(
            "%s received: stopping%s",
            signal.Signals(signum).name,
            "" if self.signals == 1 else " now",
        )

    def is_set(self):
        """Whether a stop was requested."""
        return self.event.is_set()

    def interrupt(self, timeout):
        """Whether to interrupt the run now: a second signal, or ``timeout`` passed."""
        waited = time.monotonic() - self.time
        return self.signals > 1 or waited > timeout


class SnakemakeRunner:
    """Run the workflow for some targets; honour stop requests meanwhile."""

    def __init__(
        self,
        store,
        results,
        run_options=None,
        *,
        stop,
        stop_timeout=watch_stop_timeout,
        warm=True,
    ):
        self.store = store
        self.results = results
        self.options = dict(run_options or {})
        self.stop = stop
        self.stop_timeout = stop_timeout
        self.warm = warm
        self._process = None
        self._runs = 0

    def bayestar_threads(self):
        """Snakemake options giving BAYESTAR every core of a local run.

        The workflow's default (``bayestar_threads: 1``) suits batch
        replays, where several BAYESTAR jobs run side by side; the watcher
        usually has one event to localise, as soon as possible, so it gives
        that job all its cores. Threads are no rerun trigger. A profile sets
        its own (``set-threads``).
        """
        if self.options.get("profile"):
            return []
        cores = str(self.options.get("cores") or "")
        threads = int(cores) if cores.isdigit() else (os.cpu_count() or 1)
        return ["--set-threads", f"bayestar={threads}"]

    def command(self, paths, urgent=()):
        """The Snakemake command line for ``paths``.

        ``urgent`` targets (alerts) and everything they need are scheduled
        before the rest (Snakemake's ``--prioritize``).
        """
        options = self.options
        priority = ["--prioritize", *urgent] if urgent else []
        return snakemake_command(
            self.store,
            self.results,
            cores=options.get("cores"),
            profile=options.get("profile"),
            configfile=options.get("configfile"),
            extra=[
                *paths,
                *SNAKEMAKE_OPTIONS,
                *self.bayestar_threads(),
                *priority,
                *options.get("extra", []),
            ],
        )

    def run(self, number, paths, urgent=(), *, while_waiting):
        """Run number ``number``; ``while_waiting()`` is called every 0.1 s.

        Returns the exit status, the duration (s) and the run's log file.
        """
        command = self.command(paths, urgent)
        logdir = os.path.join(self.results, "logs", "watch")
        os.makedirs(logdir, exist_ok=True)
        logfile = os.path.join(logdir, f"run-{number:06d}.log")
        start = time.monotonic()
        if self.warm:
            status = self._run_warm(number, command, logfile, while_waiting)
        else:
            with open(logfile, "wb") as out:
                child = subprocess.Popen(
                    command,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env=snakemake_environment(self.options.get("profile")),
                    start_new_session=True,  # our signals reach it only when sent
                )
                status = self._wait_child(child, while_waiting)
        self._prune_logs(logdir)
        return status, time.monotonic() - start, logfile

    def _warm_process(self):
        """The long-lived Snakemake process, started (again) when needed."""
        from ..snakemake_runner import start

        if self._process is not None and (
            self._process.poll() is not None or self._runs >= WARM_RUNS
        ):
            self.close()
        if self._process is None:
            env = snakemake_environment(self.options.get("profile"))
            self._process = start(env, new_session=True)
            self._runs = 0
        return self._process

    def _run_warm(self, number, command, logfile, while_waiting):
        """One run in the warm process; its status (as a process's would be)."""
        from ..snakemake_runner import request

        process = self._warm_process()
        try:
            request(process, f"run-{number:06d}", command, logfile)
        except BrokenPipeError:  # it died since: start another
            self.close()
            process = self._warm_process()
            request(process, f"run-{number:06d}", command, logfile)
        self._runs += 1
        return self._wait_warm(process, while_waiting)

    def _wait_warm(self, process, while_waiting):
        """Wait for the warm process's line; as :meth:`_wait_child` meanwhile."""
        from ..snakemake_runner import read_status

        interrupted = None
        while True:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                status = read_status(process)
                if status is not None:
                    return status
                status = process.wait()  # no line: it died (killed, crashed)
                self._process = None
                return status or 1
            while_waiting()
            interrupted = self._stop_if_asked(process, interrupted)

    def close(self):
        """End the warm process (it exits when its input closes)."""
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            self._signal_child(process, signal.SIGKILL)
            process.wait()

    def _wait_child(self, child, while_waiting):
        """Wait for the run; keep recording uploads; stop it when asked to."""
        interrupted = None
        while True:
            try:
                return child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
            while_waiting()
            interrupted = self._stop_if_asked(child, interrupted)

    def _stop_if_asked(self, child, interrupted):
        """After a stop request: SIGINT the run's process group once the stop
        timeout has passed (or at a second signal), SIGKILL 15 s later.
        Returns when it was interrupted (None: not yet)."""
        if not self.stop.is_set():
            return interrupted
        if interrupted is None and self.stop.interrupt(self.stop_timeout):
            log.info("interrupting Snakemake (pid %d)", child.pid)
            self._signal_child(child, signal.SIGINT)
            return time.monotonic()
        if interrupted is not None and time.monotonic() - interrupted > 15:
            self._signal_child(child, signal.SIGKILL)
        return interrupted

    def failure(self, lookups):
        """The first failure record a job left, as one line, or None.

        ``lookups`` are ``(rules, ids)`` pairs
        (:func:`gwreplay.watch.targets.failure_lookups`).
        """
        for rules, keys in lookups:
            for rule in rules:
                for key in keys:
                    reason = self._read_failure(rule, key)
                    if reason is not None:
                        return reason
        return None

    def _read_failure(self, rule, key):
        """The failure record (gwreplay.smk) of one job, as one line, or None."""
        path = os.path.join(self.results, ".failures", rule, f"{key}.json")
        with contextlib.suppress(OSError, ValueError, KeyError):
            with open(path, encoding="utf-8") as f:
                record = json.load(f)
            return (
                f"{record['rule']}: {record['event_id']}: "
                f"{record['file']}: {record['reason']}"
            )
        return None

    @staticmethod
    def _signal_child(child, signum):
        """Signal the run's process group (Snakemake and its jobs)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)

    @staticmethod
    def _prune_logs(logdir, keep=KEEP_LOGS):
        """Keep the last ``keep`` run logs."""
        names = sorted(n for n in os.listdir(logdir) if n.startswith("run-"))
        for name in names[:-keep]:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(logdir, name))
