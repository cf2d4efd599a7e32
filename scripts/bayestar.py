"""Snakemake adapter: BAYESTAR sky map of one CBC event (gwreplay.bayestar)."""

from gwreplay.bayestar import localize_event
from gwreplay.errors import ReplayError
from gwreplay.smk import run_job


def main(smk):
    """Localise, and fail the job if gwcelery would have skipped the event."""
    graceid = smk.wildcards.graceid
    written = localize_event(
        graceid,
        smk.input.coinc,
        smk.input.get("psd"),
        smk.output[0],
        threads=smk.threads,
        creation_gps=smk.params.creation_gps,
        **smk.params.conf,
    )
    if not written:
        raise ReplayError(f"{graceid}: all detectors disabled; no sky map")


smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: main(smk),
    key=smk.wildcards.graceid,
    event_id=smk.wildcards.graceid,
    file="coinc.xml",
)
