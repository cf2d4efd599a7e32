"""The inputs and outputs of the O4 notice targets, from the plan and a sequence.

The superevent's alert sequence (``sequence.json``, a Snakemake checkpoint)
decides which notices exist; these functions say, for one notice, what
files it is made from and what files it makes (:mod:`gwreplay.notices`), so
that ``rules/common.smk``'s input functions and the watcher ask one place.
"""

import os

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
    event = plan.store.events[notice["preferred_event"]]
    return products.skymap_source(event, policy=plan.policy)[1]


def notice_inputs(plan, notice):
    """What one notice is made from: its preferred event and its products."""
    if notice["alert_type"] == "Retraction":
        return {}
    graceid = notice["preferred_event"]
    inputs = alert_inputs_of(plan, graceid)
    upload = products.pipeline_p_astro(plan.store.events[graceid])
    # O4 pipelines upload their own p_astro: the notice carries it, unless
    # gwcelery computed one (products.STOCK_P_ASTRO).
    if upload and "p_astro" not in inputs:
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
    if notices.has_circular(notice) and has_post_merger_event(
        plan, superevent_id, notice
    ):
        names.append(notices.circular_name(notice))
    skymap = skymap_name(plan, notice)
    if skymap:
        names.append(notices.plot_file(notice, skymap))
    if has_volume_plot(plan, notice):
        names.append(notices.volume_file(notice, skymap))
    for path in charted_inputs(plan, notice).values():
        names.append(notices.chart_file(notice, os.path.basename(path)))
    return names


def members(plan, superevent_id):
    """The superevent's G-events the plan knows of (none when it knows not
    the superevent: the watcher's plan of one event)."""
    return plan.superevents.get(superevent_id, {}).get("gw_events", [])


def has_post_merger_event(plan, superevent_id, notice):
    """Whether ligo-followup-advocate can compose the notice's circular.

    Its ``compose`` refuses a superevent whose events are all early-warning
    ones ("no post-merger events"): gwcelery 3.0.0's circular task then
    fails and no circular is uploaded. The events are those the circular
    job sees, created by the notice's time; a Retraction's circular
    (``compose_retraction``) needs none.
    """
    if notice["alert_type"] == "Retraction":
        return True
    events = plan.store.events
    return any(
        events[g]["created"] <= notice["due"]
        and str(events[g]["search"]).lower() != "earlywarning"
        for g in [
            *members(plan, superevent_id),
            notice["preferred_event"],
        ]
        if g in events
    )


def has_volume_plot(plan, notice):
    """O4 draws a volume rendering of a 3-D sky map: BAYESTAR's (gwcelery
    3.0.0 ``skymaps.annotate_fits_volume`` checks for distance layers; the
    replay plans it for BAYESTAR's maps, which always have them, and not for
    uploaded ones, whose header it does not read when planning)."""
    if plan.policy != "O4" or notice["alert_type"] == "Retraction":
        return False
    event = plan.store.events[notice["preferred_event"]]
    return products.skymap_source(event, policy=plan.policy)[0] == "result"


def charted_inputs(plan, notice):
    """``{input name: path}`` of the em_bright and p_astro a notice carries,
    each drawn as a bar chart under O4 (gwcelery 3.0.0 ``em_bright.plot``,
    ``p_astro.plot``)."""
    if plan.policy != "O4":
        return {}
    inputs = notice_inputs(plan, notice)
    return {
        key: inputs[key]
        for key in ("source_classification", "p_astro")
        if key in inputs
    }


def chart_input(plan, notice, chart):
    """The JSON a notice's chart ``chart`` (``em_bright``, ``gstlal.p_astro``)
    draws; ValueError when the notice carries none of that name."""
    for path in charted_inputs(plan, notice).values():
        if products.chart_name(os.path.basename(path)) == f"{chart}.png":
            return path
    raise ValueError(
        f"notice {notice['alert_number']} of {notice['preferred_event']}: no {chart}"
    )


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
