"""The inputs and outputs of the O4 notice targets, from the plan and a sequence.

The superevent's alert sequence (``sequence.json``, a Snakemake checkpoint)
decides which notices exist; these functions say, for one notice, what
files it is made from and what files it makes (:mod:`gwreplay.notices`), so
that ``rules/common.smk``'s input functions and the watcher ask one place.
"""

from . import notices, products
from .plan import alert_inputs_of, preferred_skymap


def sequence_inputs(plan, superevent_id):
    """The superevent job's inputs: its G-events' event.json, its sign-offs."""
    superevent = plan.superevents[superevent_id]
    inputs = {
        "event_json": plan.store.event_file(
            superevent["preferred_event"], "event.json"
        ),
        "events": [
            plan.store.event_file(g, "event.json") for g in superevent["gw_events"]
        ],
    }
    if superevent_id in plan.store.signoffs:
        inputs["signoffs"] = plan.store.signoffs[superevent_id]
    return inputs


def sequence_ready(plan, superevent_id):
    """``{graceid: ready GPS}`` of the superevent's events that complete."""
    return {
        g: plan.ready[g]
        for g in plan.superevents[superevent_id]["gw_events"]
        if g in plan.ready
    }


def notice_of(sequence, number, alert_type):
    """Notice ``number`` of the sequence, checked to be of ``alert_type``."""
    found = [n for n in sequence["notices"] if n["alert_number"] == int(number)]
    if not found or found[0]["alert_type"] != alert_type:
        raise ValueError(
            f"{sequence['superevent_id']}: no notice {number} of type {alert_type}"
        )
    return found[0]


def skymap_name(plan, notice):
    """File name of the sky map the notice carries (None for a Retraction)."""
    if notice["alert_type"] == "Retraction":
        return None
    return products.skymap_source(plan.store.events[notice["preferred_event"]])[1]


def notice_inputs(plan, notice):
    """What one notice is made from: its preferred event and its products."""
    if notice["alert_type"] == "Retraction":
        return {}
    graceid = notice["preferred_event"]
    inputs = alert_inputs_of(plan, graceid)
    upload = products.pipeline_p_astro(plan.store.events[graceid])
    if upload:  # O4 pipelines upload their own p_astro: the notice carries it
        inputs["p_astro"] = plan.store.event_file(graceid, upload)
    return inputs


def notice_json_path(plan, superevent_id, notice):
    """Path of the notice's alert JSON."""
    return plan.superevent_result(
        superevent_id, notices.notice_json(superevent_id, notice)
    )


def circular_inputs(plan, superevent_id, sequence, number):
    """A circular is composed from the notices sent up to it, and the events."""
    sent = [n for n in sequence["notices"] if n["alert_number"] <= int(number)]
    superevent = plan.superevents[superevent_id]
    notice = sent[-1]
    graceid = notice["preferred_event"]
    return {
        "notices": [notice_json_path(plan, superevent_id, n) for n in sent],
        "event_json": plan.store.event_file(graceid, "event.json"),
        "events": [
            plan.store.event_file(g, "event.json") for g in superevent["gw_events"]
        ],
    }


def notice_outputs(plan, superevent_id, notice):
    """Every file one notice makes (names in the superevent's folder)."""
    names = [
        notices.notice_json(superevent_id, notice),
        notices.notice_avro(superevent_id, notice),
    ]
    if plan.voevent and notice["alert_type"] == "Preliminary":
        names.append(notices.notice_xml(superevent_id, notice))
    if notices.has_circular(notice):
        names.append(notices.circular_name(notice))
    skymap = skymap_name(plan, notice)
    if skymap:
        names.append(notices.plot_file(notice, skymap))
    return names


def alert_record_inputs(plan, superevent_id, sequence):
    """``alert.json`` waits for every file of every notice."""
    return [
        plan.superevent_result(superevent_id, name)
        for notice in sequence["notices"]
        for name in notice_outputs(plan, superevent_id, notice)
    ]


def plot_skymap_input(plan, notice):
    """The sky map the notice's plot draws."""
    return preferred_skymap(plan, notice["preferred_event"])
