"""Snakemake adapter: one O4 notice, its circular, plots and charts, or alert.json.

The rules of rules/superevent_o4.smk share this script; the work is
gwreplay.notices'.
"""

import json
import os

from gwreplay import notices
from gwreplay.notice_plan import notice_of
from gwreplay.smk import run_job
from gwreplay.store import load_event_json


def _sequence(smk):
    with open(smk.input.sequence, encoding="utf-8") as f:
        return json.load(f)


def notice(smk):
    """``<SID>-<N>-<Type>.json``."""
    sequence = _sequence(smk)
    wanted = notice_of(sequence, smk.wildcards.number, smk.wildcards.alert_type)
    superevent = _superevent(smk)
    preferred = (
        load_event_json(smk.input.event_json)
        if "event_json" in smk.input.keys()
        else None
    )
    notices.write_notice(
        smk.output.notice,
        smk.output.avro,
        superevent,
        wanted,
        preferred,
        skymap=smk.input.get("skymap"),
        source_classification=smk.input.get("source_classification"),
        p_astro=smk.input.get("p_astro"),
        gracedb_host=smk.params.gracedb_host,
    )


def voevent(smk):
    """``<SID>-<N>-Preliminary.xml`` (``voevent: true``)."""
    sequence = _sequence(smk)
    wanted = notice_of(sequence, smk.wildcards.number, "Preliminary")
    notices.write_notice_voevent(
        smk.output.voevent,
        _superevent(smk),
        wanted,
        load_event_json(smk.input.event_json),
        sequence["labels"],
        skymap=smk.input.skymap,
        source_classification=smk.input.get("source_classification"),
        p_astro=smk.input.get("p_astro"),
        voevent_role=smk.params.voevent_role,
        gracedb_host=smk.params.gracedb_host,
    )


def _superevent(smk):
    path = os.path.join(os.path.dirname(smk.input.sequence), "superevent.json")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def circular(smk):
    """``<alert_type>-circular-<N>.txt``."""
    sequence = _sequence(smk)
    wanted = sequence["notices"][int(smk.wildcards.number) - 1]
    notices.write_notice_circular(
        smk.output.circular,
        _superevent(smk),
        wanted,
        load_event_json(smk.input.event_json),
        list(smk.input.notices),
        sequence["labels"],
        events=[load_event_json(path) for path in smk.input.events],
        gracedb_host=smk.params.gracedb_host,
    )


def plot(smk):
    """``<skymap>-<N>.png``."""
    sequence = _sequence(smk)
    wanted = sequence["notices"][int(smk.wildcards.number) - 1]
    notices.write_notice_plot(
        smk.output.plot,
        smk.wildcards.superevent_id,
        wanted["preferred_event"],
        smk.input.skymap,
    )


def volume_plot(smk):
    """``<skymap>.volume-<N>.png``."""
    sequence = _sequence(smk)
    wanted = sequence["notices"][int(smk.wildcards.number) - 1]
    notices.write_notice_volume_plot(
        smk.output.plot, wanted["preferred_event"], smk.input.skymap, **smk.params.conf
    )


def chart(smk):
    """``em_bright-<N>.png``, ``<pipeline>.p_astro-<N>.png``."""
    sequence = _sequence(smk)
    wanted = sequence["notices"][int(smk.wildcards.number) - 1]
    notices.write_notice_chart(
        smk.output.plot, wanted["preferred_event"], smk.input.annotation
    )


def alert(smk):
    """``alert.json``: the sequence and every file made."""
    notices.write_alert_record(
        smk.output.alert,
        _sequence(smk),
        [os.path.basename(path) for path in smk.input.files],
    )


STEPS = {
    "notice": notice,
    "notice_voevent": voevent,
    "notice_circular": circular,
    "notice_plot": plot,
    "notice_volume_plot": volume_plot,
    "notice_chart": chart,
    "alert": alert,
}

smk = snakemake  # noqa: F821 - injected by Snakemake
# The job's key: its failure record's name (rules/superevent_o4.smk).
key = os.path.splitext(os.path.basename(str(smk.log.failure)))[0]
run_job(
    smk,
    lambda: STEPS[smk.rule](smk),
    key=key,
    event_id=smk.wildcards.superevent_id,
    file=os.path.basename(str(smk.output[0])),
)
