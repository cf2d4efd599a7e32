"""Snakemake adapter: one superevent's state-vector check and O4 alert sequence.

gwreplay.dq checks the state vectors; gwreplay.notices replays gwcelery
3.0.0's alert sequence; a failure is recorded under the step that failed.
"""

from gwreplay.atomic import write_json
from gwreplay.notices import replay_sequence
from gwreplay.products import SEQUENCE
from gwreplay.smk import run_job, stage, superevent_and_vectors
from gwreplay.store import load_event_json


def main(smk):
    """Write superevent.json, dq.json, then sequence.json."""
    superevent, _, dq = superevent_and_vectors(smk)
    sid = superevent["superevent_id"]
    with stage("alert_sequence", event_id=sid, file=SEQUENCE):
        sequence = replay_sequence(
            superevent,
            [load_event_json(path) for path in smk.input.events],
            dq,
            ready=smk.params.ready,
            signoffs_path=smk.input.get("signoffs"),
            settings=smk.params.settings,
        )
        write_json(smk.output.sequence, sequence)


smk = snakemake  # noqa: F821 - injected by Snakemake
run_job(
    smk,
    lambda: main(smk),
    key=smk.wildcards.superevent_id,
    event_id=smk.wildcards.superevent_id,
    file="superevent.json",
)
