"""Snakemake adapter: one superevent, from formation to preliminary alert.

The steps of gwcelery's ``handle_superevent`` (gwreplay.dq,
gwreplay.orchestrator) run in one job; a failure is recorded under the step
that failed (``check_vectors`` or ``preliminary_alert``).
"""

import os

from gwreplay.orchestrator import preliminary_alert
from gwreplay.smk import run_job, stage, superevent_and_vectors
from gwreplay.store import load_event_json


def main(smk):
    """Write superevent.json, dq.json, then the alert (or why there is none)."""
    superevent, preferred_event, dq = superevent_and_vectors(smk)
    sid = superevent["superevent_id"]
    with stage("preliminary_alert", event_id=sid, file="alert"):
        preliminary_alert(
            superevent,
            preferred_event,
            dq,
            skymap=smk.input.get("skymap"),
            blocked=smk.params.blocked,
            out_dir=os.path.dirname(smk.output.alert),
            source_classification=smk.input.get("source_classification"),
            p_astro=smk.input.get("p_astro"),
            events=[load_event_json(path) for path in smk.input.events],
            **smk.params.alert_conf,
        )


smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: main(smk),
    key=smk.wildcards.superevent_id,
    event_id=smk.wildcards.superevent_id,
    file="superevent.json",
)
