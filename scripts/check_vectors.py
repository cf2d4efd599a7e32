"""Snakemake adapter: state-vector check of one superevent (gwreplay.dq)."""

import json

from gwreplay.dq import check_vectors, write_dq
from gwreplay.smk import run_job
from gwreplay.store import load_event_json


def main(smk):
    """Check the preferred event's detectors over the superevent's window."""
    with open(smk.input.superevent, encoding="utf-8") as f:
        superevent = json.load(f)
    preferred_event = load_event_json(smk.input.event_json)
    result = check_vectors(
        superevent, preferred_event, store=smk.params.store, **smk.params.conf
    )
    write_dq(smk.output[0], result)


smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: main(smk),
    key=smk.wildcards.superevent_id,
    event_id=smk.wildcards.superevent_id,
    file="frames",
)
