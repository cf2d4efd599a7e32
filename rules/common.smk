import os

from snakemake.utils import validate

from gwreplay.ids import GRACEID_PATTERN, SUPEREVENT_ID_PATTERN
from gwreplay.plan import make_plan, preferred_skymap
from gwreplay.summary import write_summaries

validate(config, schema="../schemas/config.schema.yaml")

STORE = os.path.abspath(config["store"])
RESULTS = os.path.abspath(config["results"])
PLAN = make_plan(STORE, RESULTS, config)


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


def preliminary_alert_inputs(wildcards):
    """The superevent, its DQ verdict and the preferred event's annotations."""
    graceid = preferred_event_id(wildcards)
    inputs = {
        "superevent": f"{RESULTS}/superevents/{wildcards.superevent_id}/superevent.json",
        "dq": f"{RESULTS}/superevents/{wildcards.superevent_id}/dq.json",
        "event_json": store_file(graceid, "event.json"),
        "events": superevent_event_jsons(wildcards),
        "skymap": preferred_skymap(PLAN, graceid),
    }
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


def main_run():
    """True in the process that plans a real run (not a job, not a dry run)."""
    return workflow.is_main_process and not workflow.dryrun


def annotation_ready_gps(graceid, files):
    """Replay-clock time at which the annotation from ``files`` is ready.

    The last of its input files reaches GraceDB, then BAYESTAR-scale work
    takes ``replay_bayestar_seconds``: a modelled figure, not a wall-clock
    one, so that reruns give the same bytes.
    """
    upload_times = PLAN.store.events[graceid]["upload_times"]
    started = max(upload_times[name] for name in files if name in upload_times)
    return started + config["replay_bayestar_seconds"]


def record_provenance():
    """RESULTS/provenance.json: config hash, package versions, store hashes."""
    from gwreplay.provenance import write_provenance

    write_provenance(PLAN, config, os.path.join(RESULTS, "provenance.json"))
