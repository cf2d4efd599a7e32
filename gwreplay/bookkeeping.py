"""One home for a run's bookkeeping: provenance, tables and the stamp.

Every replay, however started, records the same things around Snakemake's
jobs: ``provenance.json`` before (:mod:`gwreplay.provenance`), ``alerts.csv``
and ``failures.csv`` after (:func:`gwreplay.summary.write_summaries`), and
the completion stamp (:mod:`gwreplay.stamp`): replaced after a ``gwreplay
run`` that ended without error, dropped before any run it cannot vouch for.
``gwreplay run`` calls :class:`RunBookkeeping` itself (it knows what changed
and hands Snakemake only that), and the Snakefile's ``onstart``,
``onsuccess`` and ``onerror`` hooks call it for every other run (plain
``snakemake``, the watcher's runs, ``gwreplay run`` with extra Snakemake
options): one code path, two callers.
"""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Stamp:
    """What a vouched-for run's stamp records (:func:`gwreplay.stamp.write_stamp`)."""

    code: str
    config: str
    listing: dict


def file_targets(plan, targets):
    """Absolute paths of a run's ``targets`` when each is a file of one event
    or superevent (:meth:`gwreplay.plan.Plan.target_owner`: the watcher's
    runs, a user's ``-- TARGET``), else None (none given, or a rule name:
    the tables are rewritten whole)."""
    owners = [plan.target_owner(target) for target in targets or ()]
    if not owners or None in owners:
        return None
    return sorted(path for _, _, path in owners)


class RunBookkeeping:
    """Bookkeeping of one run of ``plan`` with ``config``.

    ``stamp``: the run's :class:`Stamp` when ``gwreplay run`` vouches for
    it (then the stamp is written after a run without error); None for a
    run the stamp cannot vouch for (the last stamp is dropped at
    :meth:`begin`). ``targets``: the targets handed to Snakemake when the
    run is restricted to what changed, None for the whole workflow.
    ``in_snakemake``: called from the Snakefile's hooks, while Snakemake
    still holds its lock, so every temporary file left is a dead writer's;
    from ``gwreplay run``, after the lock is released, only files older
    than the run's start are swept.
    """

    def __init__(self, plan, config, *, stamp=None, targets=None, in_snakemake=False):
        self.plan = plan
        self.config = config
        self.stamp = stamp
        self.targets = targets
        self.in_snakemake = in_snakemake
        self.started = None

    def begin(self, files=None):
        """Before Snakemake's jobs: drop an unvouched stamp, write provenance.

        ``files``: :func:`gwreplay.provenance.store_files` of the store when
        the caller has listed it already.
        """
        import time

        from .provenance import write_provenance
        from .stamp import remove_stamp

        if self.stamp is None:
            remove_stamp(self.plan.results)
        path = os.path.join(self.plan.results, "provenance.json")
        write_provenance(self.plan, self.config, path, files)
        self.started = time.time()

    def end(self, status=0):
        """After Snakemake's jobs: the tables, then the stamp if vouched and ok.

        A run restricted to some targets rewrites only their folders' rows
        and sweeps only what was left before it started: another run may be
        writing elsewhere once Snakemake's lock is released.
        """
        from .stamp import write_stamp
        from .summary import write_summaries

        folders = changed = None
        older_than = None if self.in_snakemake else self.started
        if self.targets is not None:
            folders = {os.path.dirname(target) for target in self.targets}
            changed = {
                os.path.basename(folder)
                for folder in folders
                if os.path.basename(os.path.dirname(folder)) == "superevents"
            }
        write_summaries(
            self.plan,
            final=True,
            folders=folders,
            older_than=older_than,
            changed_superevents=changed,
        )
        if self.stamp is not None and status == 0:
            write_stamp(
                self.plan.results,
                code=self.stamp.code,
                config=self.stamp.config,
                listing=self.stamp.listing,
                plan=self.plan,
            )
