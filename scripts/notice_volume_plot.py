"""Snakemake adapter: one O4 notice's volume plot (``ligo-skymap-plot-volume``).

The plot takes tens of seconds on its own threads, so it runs in a process
of its own; the notice's other jobs run in Snakemake's process
(gwreplay.notice_jobs). The work is gwreplay.notices'.
"""

import json
import os

from gwreplay import notices
from gwreplay.smk import run_job


def volume_plot(smk):
    """``<skymap>.volume-<N>.png``."""
    with open(smk.input.sequence, encoding="utf-8") as f:
        sequence = json.load(f)
    wanted = sequence["notices"][int(smk.wildcards.number) - 1]
    notices.write_notice_volume_plot(
        smk.output.plot, wanted["preferred_event"], smk.input.skymap, **smk.params.conf
    )


smk = snakemake  # noqa: F821 - injected by Snakemake
# The job's key: its failure record's name (rules/superevent_o4.smk).
key = os.path.splitext(os.path.basename(str(smk.log.failure)))[0]
run_job(
    smk,
    lambda: volume_plot(smk),
    key=key,
    event_id=smk.wildcards.superevent_id,
    file=os.path.basename(str(smk.output[0])),
)
