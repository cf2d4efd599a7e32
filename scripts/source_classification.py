"""Snakemake adapter: HasNS / HasRemnant / HasMassGap of one CBC event."""

from gwreplay.em_bright import write_source_classification
from gwreplay.smk import run_job

smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: write_source_classification(
        smk.wildcards.graceid, smk.input.coinc, smk.output[0], **smk.params.conf
    ),
    key=smk.wildcards.graceid,
    event_id=smk.wildcards.graceid,
    file="coinc.xml",
)
