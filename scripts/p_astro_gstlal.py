"""Snakemake adapter: p_astro of one gstlal event (gwreplay.p_astro)."""

from gwreplay.p_astro import write_p_astro
from gwreplay.smk import run_job

smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: write_p_astro(
        smk.wildcards.graceid,
        smk.input.coinc,
        smk.input.ranking_data,
        smk.output[0],
        **smk.params.conf,
    ),
    key=smk.wildcards.graceid,
    event_id=smk.wildcards.graceid,
    file="ranking_data.xml.gz",
)
