import os

from snakemake.utils import validate

from gwreplay.ids import GRACEID_PATTERN, SUPEREVENT_ID_PATTERN
from gwreplay.plan import alert_inputs, cached_plan
from gwreplay.clock import upload_ready_time
from gwreplay.config import module_settings
from gwreplay.products import product_uploads
from gwreplay.stamp import DRIVER_VARIABLE, remove_stamp
from gwreplay.summary import write_summaries

validate(config, schema="../schemas/config.schema.yaml")

STORE = os.path.abspath(config["store"])
RESULTS = os.path.abspath(config["results"])
PLAN = cached_plan(STORE, RESULTS, config)


wildcard_constraints:
    graceid=GRACEID_PATTERN,
    superevent_id=SUPEREVENT_ID_PATTERN,


def store_file(graceid, filename):
    """Path of one upload of one event in the store."""
    return PLAN.store.event_file(graceid, filename)


def event_inputs(product):
    """Input function for ``product``: the uploads it is made from, as
    the products table lists them for the event's files."""

    def inputs(wildcards):
        event = PLAN.store.events[wildcards.graceid]
        names = product_uploads(product, event["files"])
        return {
            name.split(".")[0]: store_file(wildcards.graceid, name) for name in names
        }

    return inputs


def superevent_inputs(wildcards):
    """The G-events' event.json and the preferred event's annotations."""
    return alert_inputs(PLAN, wildcards.superevent_id)


def driven_by_gwreplay_run():
    """True when `gwreplay run` started this Snakemake (it sets the variable)."""
    return os.environ.get(DRIVER_VARIABLE) == "1"


def annotation_ready_gps(product):
    """Params function: replay-clock time at which ``product`` of the event
    is on GraceDB (gwreplay.clock), from the uploads it is made from."""

    def ready(wildcards):
        event = PLAN.store.events[wildcards.graceid]
        names = product_uploads(product, event["files"])
        return upload_ready_time(event, names, config["replay_bayestar_seconds"])

    return ready


#: The lock record of a plain snakemake run (gwreplay.lock), while it runs.
RUN_LOCK = []


def begin_run_bookkeeping():
    """onstart: take the results folder's lock, drop the stamp, provenance.

    The bookkeeping is gwreplay.bookkeeping's, as `gwreplay run` does it.
    The lock (gwreplay.lock) names this snakemake unless the process that
    started it holds it already (`gwreplay run`, the watcher); LockedError
    stops the run when the folder is in use.
    """
    import sys

    from gwreplay import lock
    from gwreplay.bookkeeping import RunBookkeeping

    if not lock.held_by_parent(RESULTS):
        RUN_LOCK.append(lock.take(RESULTS, sys.argv, snakemake_locks=False))
    RunBookkeeping(PLAN, config, in_snakemake=True).begin()


def end_run_bookkeeping():
    """onsuccess/onerror: alerts.csv and failures.csv, then release our lock."""
    from gwreplay import lock
    from gwreplay.bookkeeping import RunBookkeeping

    try:
        RunBookkeeping(PLAN, config, in_snakemake=True).end()
    finally:
        while RUN_LOCK:
            lock.release(RESULTS, RUN_LOCK.pop())
