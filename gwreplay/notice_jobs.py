"""The O4 superevent's sub-second jobs, run in Snakemake's own process.

gwcelery 3.0.0's superevent handler and its alert tasks (the state-vector
check and alert sequence, each notice, its VOEvent, circular, all-sky plot
and bar charts, and ``alert.json``) are ``run:`` rules of
rules/superevent_o4.smk. `gwreplay run` and the watcher pass
``--force-use-threads``, so Snakemake runs them in a thread of its own
process: a job costs its work, not an interpreter's start-up and the
alert libraries' imports (1.5 s or more each; issue 15). Only the volume
plot (``ligo-skymap-plot-volume``, tens of seconds on its own threads)
stays a script job in a process of its own.

The work is gwreplay.notices' (which the workflow's parse imports anyway,
through gwreplay.notice_plan); the science libraries are imported inside
the functions that use them, at the first job, so that parsing stays fast.
"""

import json
import os
import threading

from . import notices
from .atomic import write_json
from .notice_plan import notice_of
from .products import SEQUENCE
from .smk import run_local_job, stage, superevent_and_vectors
from .store import load_event_json

#: matplotlib's rcParams are one per process and the plots set them in a
#: context (gwreplay.skymap_plot, gwreplay.o4_charts): one plot at a time,
#: so that side-by-side jobs draw the bytes a process of their own would.
PLOT_LOCK = threading.Lock()


def sequence(smk):
    """superevent.json, dq.json, then sequence.json (gwcelery 3.0.0's
    ``superevents.handle`` and ``orchestrator``, docs/policies.md)."""
    superevent, _, dq = superevent_and_vectors(smk)
    sid = superevent["superevent_id"]
    with stage("alert_sequence", event_id=sid, file=SEQUENCE):
        replayed = notices.replay_sequence(
            superevent,
            [load_event_json(path) for path in smk.input.events],
            dq,
            ready=smk.params.ready,
            signoffs_path=smk.input.get("signoffs"),
            settings=smk.params.settings,
        )
        write_json(smk.output.sequence, replayed)


def _sequence(smk):
    """The superevent's sequence.json, as its checkpoint wrote it."""
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
    """superevent.json, beside sequence.json."""
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
        **smk.params.conf,
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
    "superevent": sequence,
    "notice": notice,
    "notice_voevent": voevent,
    "notice_circular": circular,
    "notice_plot": plot,
    "notice_chart": chart,
    "alert": alert,
}

#: The steps that draw with matplotlib (:data:`PLOT_LOCK`).
PLOTTING = frozenset({"notice_plot", "notice_chart"})


def run_step(smk):
    """Run the job of rule ``smk.rule`` in this thread (a ``run:`` block).

    Its failure record is named after its log (``RESULTS/.failures/<rule>/
    <key>.json``) and blames the superevent and the job's first output.
    """
    step = STEPS[smk.rule]
    key = os.path.splitext(os.path.basename(str(smk.log.failure)))[0]

    def work():
        if smk.rule in PLOTTING:
            with PLOT_LOCK:
                step(smk)
        else:
            step(smk)

    run_local_job(
        smk,
        work,
        key=key,
        event_id=smk.wildcards.superevent_id,
        file=os.path.basename(str(smk.output[0])),
    )
