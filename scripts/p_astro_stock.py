"""Snakemake adapter: gwcelery 3.0.0's stock p_astro (gwreplay.p_astro_stock)."""

from gwreplay.p_astro_stock import write_stock_p_astro
from gwreplay.smk import run_job

smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: write_stock_p_astro(
        smk.wildcards.graceid, smk.input.event_json, smk.output[0]
    ),
    key=smk.wildcards.graceid,
    event_id=smk.wildcards.graceid,
    file="event.json",
)
