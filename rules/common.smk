import os
from types import SimpleNamespace

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from gwreplay.ids import GRACEID_PATTERN, SUPEREVENT_ID_PATTERN
from gwreplay import notice_plan
from gwreplay.notice_jobs import run_step
from gwreplay.plan import alert_inputs, cached_plan
from gwreplay.dq import CONFIG_KEYS as DQ_KEYS
from gwreplay.policies import follows_sequence, overlaid_settings, sequence_settings
from gwreplay.clock import upload_ready_time
from gwreplay.config import module_settings
from gwreplay.shards import read_shard
from gwreplay.products import SEQUENCE, SKYMAP_STEMS, STOCK_P_ASTRO, product_uploads
from gwreplay.stamp import DRIVER_VARIABLE, remove_stamp
from gwreplay.summary import write_summaries

validate(config, schema="../schemas/config.schema.yaml")

STORE = os.path.abspath(config["store"])
RESULTS = os.path.abspath(config["results"])
# One UTC day's part of the plan when `gwreplay run` replays in shards.
PLAN = (
    read_shard(RESULTS, config["replay_shard"])
    if config.get("replay_shard")
    else cached_plan(STORE, RESULTS, config)
)
#: Wildcard patterns: the pipelines whose p_astro gwcelery computes, and the
#: stems of every sky map a notice may plot (gwreplay.products).
STOCK_P_ASTRO_PIPELINES = sorted({pipeline for pipeline, _ in STOCK_P_ASTRO})
SKYMAP_STEM = "|".join(SKYMAP_STEMS)


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
        names = product_uploads(product, event["files"], policy=PLAN.policy)
        return {
            name.split(".")[0]: store_file(wildcards.graceid, name) for name in names
        }

    return inputs


def superevent_inputs(wildcards):
    """The G-events' event.json and the preferred event's annotations."""
    return alert_inputs(PLAN, wildcards.superevent_id)


# --- O4: the alert sequence and its notices (rules/superevent_o4.smk) -----


def sequence_inputs(wildcards):
    """The superevent's G-events and its sign-offs (gwreplay.notice_plan)."""
    return notice_plan.sequence_inputs(PLAN, wildcards.superevent_id)


def sequence_ready(wildcards):
    """Params function: when each of the superevent's events is complete."""
    return notice_plan.sequence_ready(PLAN, wildcards.superevent_id)


def sequence_of(superevent_id):
    """The superevent's sequence.json, once its checkpoint job has run."""
    import json

    job = checkpoints.superevent.get(superevent_id=superevent_id)
    with open(job.output.sequence, encoding="utf-8") as f:
        return json.load(f)


def notice_inputs(wildcards):
    """A notice needs the sequence and its preferred event's products."""
    sequence = sequence_of(wildcards.superevent_id)
    notice = notice_plan.notice_of(sequence, wildcards.number, wildcards.alert_type)
    return dict(
        sequence=PLAN.superevent_result(wildcards.superevent_id, SEQUENCE),
        **notice_plan.notice_inputs(PLAN, notice),
    )


def voevent_inputs(wildcards):
    """A Preliminary notice's VOEvent: what its JSON is made from, and the JSON."""
    sequence = sequence_of(wildcards.superevent_id)
    notice = notice_plan.notice_of(sequence, wildcards.number, "Preliminary")
    return dict(
        sequence=PLAN.superevent_result(wildcards.superevent_id, SEQUENCE),
        notice=notice_plan.notice_json_path(PLAN, wildcards.superevent_id, notice),
        **notice_plan.notice_inputs(PLAN, notice),
    )


def circular_inputs(wildcards):
    """A circular needs the notices sent up to it and the events."""
    sequence = sequence_of(wildcards.superevent_id)
    return dict(
        sequence=PLAN.superevent_result(wildcards.superevent_id, SEQUENCE),
        **notice_plan.circular_inputs(
            PLAN, wildcards.superevent_id, sequence, wildcards.number
        ),
    )


def plot_inputs(wildcards):
    """A notice's plot needs the sky map of its preferred event."""
    sequence = sequence_of(wildcards.superevent_id)
    notice = sequence["notices"][int(wildcards.number) - 1]
    return {
        "sequence": PLAN.superevent_result(wildcards.superevent_id, SEQUENCE),
        "skymap": notice_plan.plot_skymap_input(PLAN, notice),
    }


def volume_plot_inputs(wildcards):
    """A notice's volume plot needs the (3-D) sky map of its preferred event."""
    sequence = sequence_of(wildcards.superevent_id)
    notice = sequence["notices"][int(wildcards.number) - 1]
    return {
        "sequence": PLAN.superevent_result(wildcards.superevent_id, SEQUENCE),
        "skymap": notice_plan.plot_skymap_input(PLAN, notice),
    }


def chart_inputs(wildcards):
    """A notice's bar chart needs the em_bright or p_astro the notice carries."""
    sequence = sequence_of(wildcards.superevent_id)
    notice = sequence["notices"][int(wildcards.number) - 1]
    return {
        "sequence": PLAN.superevent_result(wildcards.superevent_id, SEQUENCE),
        "annotation": notice_plan.chart_input(PLAN, notice, wildcards.chart),
    }


def alert_record_inputs(wildcards):
    """alert.json waits for every file of every notice of the superevent."""
    sid = wildcards.superevent_id
    sequence = sequence_of(sid)
    return {
        "sequence": PLAN.superevent_result(sid, SEQUENCE),
        "files": notice_plan.alert_record_inputs(PLAN, sid, sequence),
    }


def driven_by_gwreplay_run():
    """True when `gwreplay run` started this Snakemake (it sets the variable)."""
    return os.environ.get(DRIVER_VARIABLE) == "1"


def annotation_ready_gps(product):
    """Params function: replay-clock time at which ``product`` of the event
    is on GraceDB (gwreplay.clock), from the uploads it is made from."""

    def ready(wildcards):
        event = PLAN.store.events[wildcards.graceid]
        names = product_uploads(product, event["files"], policy=PLAN.policy)
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

    if config.get("replay_shard"):
        raise WorkflowError(
            "replay_shard is set by `gwreplay run` for the shards it drives; "
            "run a whole store without it"
        )
    if not lock.held_by_parent(RESULTS):
        RUN_LOCK.append(lock.take(RESULTS, sys.argv, snakemake_locks=False))
    RunBookkeeping(PLAN, config, in_snakemake=True).begin()


def end_run_bookkeeping():
    """onsuccess/onerror: alerts.csv and failures.csv, then release our lock.

    A run of files of some events and superevents (the watcher's) re-reads
    only their alert rows, as `gwreplay run` does for what changed.
    """
    from gwreplay import lock
    from gwreplay.bookkeeping import RunBookkeeping, file_targets

    targets = file_targets(PLAN, workflow.dag_settings.targets)
    try:
        RunBookkeeping(PLAN, config, targets=targets, in_snakemake=True).end()
    finally:
        while RUN_LOCK:
            lock.release(RESULTS, RUN_LOCK.pop())
