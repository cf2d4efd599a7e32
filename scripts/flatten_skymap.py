"""Snakemake adapter: O4's flattened ``bayestar.fits.gz`` (gwreplay.o4_skymaps)."""

from gwreplay.o4_skymaps import flatten
from gwreplay.smk import run_job

smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: flatten(smk.wildcards.graceid, smk.input.multiorder, smk.output[0]),
    key=smk.wildcards.graceid,
    event_id=smk.wildcards.graceid,
    file="bayestar.multiorder.fits",
)
