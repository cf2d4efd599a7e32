import os

from snakemake.utils import validate

from gwreplay.ids import GRACEID_PATTERN, SUPEREVENT_ID_PATTERN
from gwreplay.plan import cached_plan, preferred_skymap
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


def bayestar_inputs(wildcards):
    """coinc.xml, and psd.xml.gz unless the pipeline embedded the PSDs."""
    inputs = {"coinc": store_file(wildcards.graceid, "coinc.xml")}
    if "psd.xml.gz" in PLAN.store.events[wildcards.graceid]["files"]:
        inputs["psd"] = store_file(wildcards.graceid, "psd.xml.gz")
    return inputs


def superevent_event_jsons(wildcards):
    """The event.json of every G-event of the superevent."""
    superevent = PLAN.superevents[wildcards.superevent_id]
    return [store_file(graceid, "event.json") for graceid in superevent["gw_events"]]


def preferred_event_id(wildcards):
    """The preferred event at orchestrator_timeout: the one the alert speaks for."""
    return PLAN.superevents[wildcards.superevent_id]["preferred_event"]


def superevent_inputs(wildcards):
    """The G-events' event.json and the preferred event's annotations.

    A superevent whose preferred event lacks its coinc.xml or sky map
    (``PLAN.blocked_alerts``) gets no sky-map input: its job records why no
    alert was made instead of failing on a file that will never come.
    """
    graceid = preferred_event_id(wildcards)
    inputs = {
        "event_json": store_file(graceid, "event.json"),
        "events": superevent_event_jsons(wildcards),
    }
    if wildcards.superevent_id in PLAN.blocked_alerts:
        return inputs
    inputs["skymap"] = preferred_skymap(PLAN, graceid)
    products = PLAN.event_products.get(graceid, [])
    if "source_classification.json" in products:
        inputs["source_classification"] = PLAN.event_result(
            graceid, "source_classification.json"
        )
    if "p_astro_gstlal.json" in products:
        inputs["p_astro"] = PLAN.event_result(graceid, "p_astro_gstlal.json")
    return inputs


def write_run_summary(final=False):
    """alerts.csv and failures.csv; ``final`` once the run's jobs are over."""
    write_summaries(PLAN, final=final)


def driven_by_gwreplay_run():
    """True when `gwreplay run` started this Snakemake (it sets the variable)."""
    return os.environ.get(DRIVER_VARIABLE) == "1"


def annotation_ready_gps(graceid, files):
    """Replay-clock time at which the annotation from ``files`` is ready.

    The last of its input files reaches GraceDB, then BAYESTAR-scale work
    takes ``replay_bayestar_seconds``: a modelled figure, not a wall-clock
    one, so that reruns give the same bytes.
    """
    upload_times = PLAN.store.events[graceid]["upload_times"]
    started = max(upload_times[name] for name in files if name in upload_times)
    return started + config["replay_bayestar_seconds"]


def forget_last_complete_run():
    """Drop `gwreplay run`'s stamp: this run is one it cannot vouch for."""
    remove_stamp(RESULTS)


def record_provenance():
    """RESULTS/provenance.json: config hash, package versions, store hashes."""
    from gwreplay.provenance import write_provenance

    write_provenance(PLAN, config, os.path.join(RESULTS, "provenance.json"))
