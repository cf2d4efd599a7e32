"""What ``gwreplay run`` and ``demo`` show of a Snakemake run.

Snakemake prints a block per job (and the ``all`` job's block lists every
target of the store), which buries how far a replay has got. Instead, its
whole output goes to the run's log file, ``RESULTS/logs/snakemake/<UTC
time>.log``, and the terminal shows one tqdm bar: steps done of the total,
per rule, and failures so far. The figures come from Snakemake's own log
lines (snakemake 9.x, ``snakemake.logging``), not from a second scheduler:

* ``Job stats:`` table: jobs per rule, before the first job starts;
* ``N of M steps (P%) done``: steps done of the total;
* ``Finished jobid: J (Rule: NAME)``: a job of rule NAME is done;
* ``Error in rule NAME:``: a job of rule NAME failed;
* ``SomeException ...`` / ``SomeError:`` at the start of a line: Snakemake
  stopped (a DAG that cannot be built), kept with its first detail line.

Modes (:func:`output_mode`): ``progress`` (the bar; the default on a
terminal), ``plain`` (stderr is not a terminal: Snakemake's lines without the
job blocks' details, so CI logs and pipes keep what happened but not the
paths), ``verbose`` (``-v``: every line, as plain ``snakemake`` prints them)
and ``quiet`` (``--quiet``: nothing). The log file always has everything.
"""

import os
import re
import subprocess
import sys
import time
from collections import Counter

STEPS = re.compile(r"^(\d+) of (\d+) steps \(\S+%\) done")
FINISHED = re.compile(r"^Finished jobid: \d+ \(Rule: (\S+)\)")
ERROR = re.compile(r"^Error in rule (\S+):")
JOB = re.compile(r"^(?:local)?rule (\S+):$")
WORKFLOW_ERROR = re.compile(r"^[A-Z]\w*(?:Exception|Error)\b")
STATS_ROW = re.compile(r"^(\S+)\s+(\d+)$")
#: Lines of a job block that only list paths and settings (dropped in
#: ``plain`` mode): indented lines under a ``rule NAME:`` header, and the
#: shell command that --printshellcmds adds.
SHELL_COMMAND = "Shell command:"

MODES = ("progress", "plain", "verbose", "quiet")


def output_mode(*, verbose=False, quiet=False, stream=None):
    """The display mode for these options and this stderr (module docstring)."""
    stream = sys.stderr if stream is None else stream
    if quiet:
        return "quiet"
    if verbose:
        return "verbose"
    isatty = getattr(stream, "isatty", None)
    return "progress" if isatty and isatty() else "plain"


def log_path(results, shard=None):
    """A new log file name for a Snakemake run in ``results`` (of one shard:
    its runs follow each other within a second)."""
    stamp = time.strftime("%Y-%m-%dT%H%M%SZ", time.gmtime())
    name = f"{stamp}-{shard}" if shard else stamp
    return os.path.join(results, "logs", "snakemake", f"{name}.log")


class SnakemakeProgress:
    """Counts read from Snakemake's log lines, one :meth:`feed` at a time."""

    def __init__(self):
        self.totals = {}
        self.done = Counter()
        self.failed = Counter()
        self.steps = self.total = 0
        self.error = None
        self._in_stats = self._in_error = False

    def feed(self, line):
        """Update the counts from one line; True when they changed."""
        line = line.rstrip("\n")
        if line.startswith("Job stats:"):
            self._in_stats, self.totals = True, {}
            return False
        if self._in_stats:
            return self._feed_stats(line)
        if self._in_error:
            return self._feed_error(line)
        for pattern, counter in ((FINISHED, self.done), (ERROR, self.failed)):
            match = pattern.match(line)
            if match:
                counter[match.group(1)] += 1
                return True
        match = STEPS.match(line)
        if match:
            self.steps, self.total = int(match.group(1)), int(match.group(2))
            return True
        if self.error is None and WORKFLOW_ERROR.match(line):
            self.error, self._in_error = line.rstrip(":"), True
        return False

    def _feed_error(self, line):
        """The first detail under an error's headline (Snakemake's ``Error:``
        label skipped): ``KeyError: 'S1'``, ``No rule to produce ...``."""
        detail = line.strip()
        if detail and detail != "Error:":
            self.error += f": {detail}"
            self._in_error = False
        return False

    def _feed_stats(self, line):
        match = STATS_ROW.match(line.strip())
        if match and match.group(1) == "total":
            self._in_stats = False
            self.total = int(match.group(2))
            return True
        if match:
            self.totals[match.group(1)] = int(match.group(2))
        elif line.strip() and not line.startswith(("job", "---")):
            self._in_stats = False
        return False

    def per_rule(self):
        """``bayestar 1/2, superevent 3/3`` (rules in the order of the stats)."""
        rules = list(self.totals) + sorted(set(self.done) - set(self.totals))
        return ", ".join(
            f"{rule} {self.done[rule]}/{self.totals.get(rule, '?')}" for rule in rules
        )

    def summary(self):
        """One line: steps done of the total, per rule, failures."""
        failed = sum(self.failed.values())
        text = f"{self.steps} of {self.total} steps done"
        if self.totals:
            text += f" ({self.per_rule()})"
        return f"{text}, {failed} failed"

    def stopped(self, status):
        """Why Snakemake exited ``status`` with no failed job, or None."""
        if not status or self.failed:
            return None
        return self.error or f"Snakemake exited with status {status}"


class PlainFilter:
    """Snakemake's lines without the job blocks' details (``plain`` mode)."""

    def __init__(self):
        self._in_job = False

    def keep(self, line):
        """Whether ``line`` is shown in ``plain`` mode."""
        if JOB.match(line.rstrip("\n")):
            self._in_job = True
            return True
        if line.startswith((" ", "\t")):
            return not self._in_job
        self._in_job = False
        return not line.startswith(SHELL_COMMAND)


class RunDisplay:
    """Shows one Snakemake run in a mode; keeps its log file and its counts."""

    def __init__(self, mode="plain", stream=None):
        if mode not in MODES:
            raise ValueError(f"unknown display mode {mode!r}")
        self.mode = mode
        self.stream = sys.stderr if stream is None else stream
        self.progress = SnakemakeProgress()
        self.logfile = None
        self.shards = 0  # set by a sharded run (gwreplay.shard_runs)

    def run(self, command, env, logfile=None):
        """Run ``command``, its output to ``logfile`` and the display; its status.

        Without ``logfile`` (dry runs) the output is only displayed.
        """
        self.logfile = logfile
        if logfile:
            os.makedirs(os.path.dirname(logfile), exist_ok=True)
        with open(logfile or os.devnull, "w", encoding="utf-8") as log:
            child = subprocess.Popen(
                command,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
            )
            self.on_start(child)
            try:
                self._pump(child.stdout, log)
            except KeyboardInterrupt:
                child.wait()  # Ctrl-C reached Snakemake too: let it stop its jobs
                raise
            return child.wait()

    def on_start(self, child):
        """Called with the Snakemake process once started (the lock records it)."""

    def _pump(self, lines, log):
        bar, plain = self._bar(), PlainFilter()
        try:
            for line in lines:
                log.write(line)
                changed = self.progress.feed(line)
                if self.mode == "verbose" or (
                    self.mode == "plain" and plain.keep(line)
                ):
                    self.stream.write(line)
                    self.stream.flush()
                elif bar is not None:
                    self._update(bar, line, changed)
        finally:
            if bar is not None:
                bar.close()

    def _bar(self):
        if self.mode != "progress":
            return None
        from tqdm.auto import tqdm

        return tqdm(total=0, unit="step", desc="snakemake", file=self.stream)

    def _update(self, bar, line, changed):
        if ERROR.match(line):
            bar.write(line.rstrip("\n"), file=self.stream)
        if not changed:
            return
        progress = self.progress
        bar.total = max(progress.total, progress.steps)
        bar.n = progress.steps
        bar.set_postfix_str(
            f"{progress.per_rule()}; failed {sum(progress.failed.values())}",
            refresh=False,
        )
        bar.refresh()
