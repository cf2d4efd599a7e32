"""Glue between Snakemake jobs and the package: logging and failure records.

Every script in ``scripts/`` is a thin adapter that calls :func:`run_job`.
A job that fails on bad input exits with one line naming the event and the
file, and leaves a failure record under ``RESULTS/.failures/`` so that the
end-of-run summary (``failures.csv``) lists it; a later successful run of the
same job removes the record.
"""

import contextlib
import logging
import os
import sys
import threading
import traceback

from .atomic import write_json
from .errors import EventInputError, ReplayError

log = logging.getLogger("gwreplay")


def _setup_logging(logfile):
    handlers = [logging.StreamHandler(sys.stderr)]
    if logfile:
        os.makedirs(os.path.dirname(logfile) or ".", exist_ok=True)
        handlers.append(logging.FileHandler(logfile, mode="w"))
    logging.basicConfig(
        level=logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
        handlers=handlers,
        force=True,
    )


@contextlib.contextmanager
def stage(name, *, event_id, file="-"):
    """Blame a failure inside the block on step ``name`` of a multi-step job.

    A job that runs several flow-chart steps (the ``superevent`` rule) records
    its failure under the step that failed, as a job per step would.
    """
    try:
        yield
    except BaseException as exc:
        if not hasattr(exc, "gwreplay_stage"):
            exc.gwreplay_stage = (name, event_id, file)
        raise


def _record_failure(snakemake, exc, *, key, event_id, file):
    """Write the failure record of ``exc``; return the one-line message."""
    rule, event_id, file = getattr(
        exc, "gwreplay_stage", (snakemake.rule, event_id, file)
    )
    if isinstance(exc, EventInputError):
        blamed_id, blamed_file, reason = exc.event_id, exc.filename, exc.reason
    else:
        blamed_id, blamed_file = event_id, file
        reason = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, ReplayError):
            log.error("%s", traceback.format_exc())
    write_json(
        snakemake.log.failure,
        {
            "rule": rule,
            "key": key,
            "event_id": blamed_id,
            "file": blamed_file,
            "reason": reason,
        },
    )
    log.error("%s failed: %s: %s: %s", rule, blamed_id, blamed_file, reason)
    return f"gwreplay: {rule}: {blamed_id}: {blamed_file}: {reason}"


def _clear_failure(snakemake):
    with contextlib.suppress(FileNotFoundError):
        os.unlink(snakemake.log.failure)


def run_job(snakemake, func, *, key, event_id, file="-"):
    """Run ``func()`` for one job of ``snakemake.rule``; record any failure.

    The rule declares two logs: ``main`` (the job's log) and ``failure``
    (``RESULTS/.failures/<rule>/<key>.json``, written only when the job
    fails; its ``rule`` field names the step, see :func:`stage`). ``key``
    identifies the job (GraceID or superevent ID); ``event_id`` and ``file``
    name what is blamed when the error does not say it itself.
    """
    _setup_logging(snakemake.log.main)
    try:
        func()
    except BaseException as exc:  # noqa: BLE001 - every failure must be recorded
        sys.exit(_record_failure(snakemake, exc, key=key, event_id=event_id, file=file))
    _clear_failure(snakemake)


class LocalJobError(ReplayError):
    """An in-process job failed; the message names the event and the file."""


class _ThisThread(logging.Filter):
    """Pass only the records of the thread that made the filter."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()

    def filter(self, record):
        return record.thread == self.thread


@contextlib.contextmanager
def _thread_log(logfile):
    """The records of this thread, at INFO and above, go to ``logfile``.

    Jobs run in threads of one Snakemake process side by side; each job's
    log holds its own thread's records only.
    """
    os.makedirs(os.path.dirname(logfile) or ".", exist_ok=True)
    handler = logging.FileHandler(logfile, mode="w")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_ThisThread())
    root = logging.getLogger()
    log.setLevel(logging.INFO)
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


def run_local_job(snakemake, func, *, key, event_id, file="-"):
    """:func:`run_job` for a ``run:`` rule, in a thread of Snakemake's process.

    Sub-second steps (the O4 notice and what follows it) run in the
    Snakemake process itself (``--force-use-threads``, which `gwreplay run`
    and the watcher pass): no interpreter start-up and no imports per job
    (issue 15). ``snakemake`` is the run block's namespace (``rule``,
    ``input``, ``output``, ``params``, ``wildcards``, ``log``). A failure is
    recorded as :func:`run_job` records it and raised as
    :class:`LocalJobError`, which fails that job only.
    """
    with _thread_log(snakemake.log.main):
        try:
            func()
        except BaseException as exc:  # noqa: BLE001 - every failure must be recorded
            message = _record_failure(
                snakemake, exc, key=key, event_id=event_id, file=file
            )
            raise LocalJobError(message) from exc
    _clear_failure(snakemake)


def superevent_and_vectors(smk):
    """First steps of both superevent jobs (O3's and O4's): write
    superevent.json, then the state-vector check's dq.json under its own
    stage. Returns the superevent, its preferred event and the check."""
    from .dq import check_vectors, write_dq
    from .store import load_event_json

    superevent = smk.params.superevent
    write_json(smk.output.superevent, superevent)
    preferred_event = load_event_json(smk.input.event_json)
    with stage("check_vectors", event_id=superevent["superevent_id"], file="frames"):
        dq = check_vectors(
            superevent, preferred_event, store=smk.params.store, **smk.params.dq_conf
        )
        write_dq(smk.output.dq, dq)
    return superevent, preferred_event, dq
