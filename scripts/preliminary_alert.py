"""Snakemake adapter: preliminary alert of one superevent (gwreplay.orchestrator)."""

import json
import os

from gwreplay.orchestrator import preliminary_alert
from gwreplay.smk import run_job
from gwreplay.store import load_event_json


def main(smk):
    """Load the superevent, its DQ verdict and events; write the alert."""
    with open(smk.input.superevent, encoding="utf-8") as f:
        superevent = json.load(f)
    with open(smk.input.dq, encoding="utf-8") as f:
        dq = json.load(f)
    preliminary_alert(
        superevent,
        load_event_json(smk.input.event_json),
        dq,
        skymap=smk.input.skymap,
        out_dir=os.path.dirname(smk.output[0]),
        source_classification=smk.input.get("source_classification"),
        p_astro=smk.input.get("p_astro"),
        events=[load_event_json(path) for path in smk.input.events],
        **smk.params.conf,
    )


smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: main(smk),
    key=smk.wildcards.superevent_id,
    event_id=smk.wildcards.superevent_id,
    file="alert",
)
