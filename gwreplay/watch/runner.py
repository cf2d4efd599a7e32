"""The watcher's Snakemake runs: command, child process, stop requests, failures.

Each run is a plain Snakemake run of the workflow (``gwreplay.run``'s
command line) for explicit target paths, one at a time, its output in
``RESULTS/logs/watch/run-NNNNNN.log``. While it runs the watcher keeps
recording uploads; SIGINT/SIGTERM let the run finish, then interrupt it
after the stop timeout or at a second signal. What a failed job left is
read from the workflow's failure records (``RESULTS/.failures/``, written
by ``rules/gwreplay.smk``).
"""

import contextlib
import json
import logging
import os
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
        self, store, results, run_options=None, *, stop, stop_timeout=watch_stop_timeout
    ):
        self.store = store
        self.results = results
        self.options = dict(run_options or {})
        self.stop = stop
        self.stop_timeout = stop_timeout

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
        with open(logfile, "wb") as out:
            child = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=snakemake_environment(self.options.get("profile")),
                start_new_session=True,  # our signals reach it only when we send them
            )
            status = self._wait_child(child, while_waiting)
        self._prune_logs(logdir)
        return status, time.monotonic() - start, logfile

    def _wait_child(self, child, while_waiting):
        """Wait for the run; keep recording uploads; stop it when asked to."""
        interrupted = None
        while True:
            try:
                return child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
            while_waiting()
            if not self.stop.is_set():
                continue
            if interrupted is None and self.stop.interrupt(self.stop_timeout):
                log.info("interrupting Snakemake (pid %d)", child.pid)
                self._signal_child(child, signal.SIGINT)
                interrupted = time.monotonic()
            elif interrupted is not None and time.monotonic() - interrupted > 15:
                self._signal_child(child, signal.SIGKILL)

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
