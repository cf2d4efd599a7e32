"""The superevent handler of gwcelery's orchestrator, after the state-vector check.

gwcelery's ``orchestrator.handle_superevent`` waits ``orchestrator_timeout``
after a superevent is created, takes the preferred event as it stands then,
checks the detector state vectors and, unless the superevent is vetoed (DQV),
copies the preferred event's sky map and annotations to the superevent,
sends the preliminary notice and drafts the GCN Circular. This module does the
last part for one superevent, from files, on the replay clock.

Every product is written atomically and ``alert.json`` last: it is the
record that the alert is complete, and the Snakemake target of the step.
"""

import contextlib
import json
import os

from . import skymap_plot
from .atomic import write_json
from .circular import write_circular
from .clock import events_known_at, notice_time
from .errors import EventInputError
from .gwalert import write_gwalert
from .policies import voevent_wanted
from .products import ALERT_COPIES, CIRCULAR, notice_names, plot_name
from .skymap_plot import copy_skymap, plot_skymap
from .superevents import should_publish
from .voevent import write_voevent
from .xmlguard import screen_skymap

#: The settings :func:`preliminary_alert` takes (values: config/config.yaml).
CONFIG_KEYS = (
    "orchestrator_policy",
    "orchestrator_timeout",
    "replay_bayestar_seconds",
    "voevent_role",
    "gracedb_host",
    "voevent",
    "preliminary_alert_far_threshold",
    "preliminary_alert_trials_factor",
    *skymap_plot.CONFIG_KEYS,
)


def load_annotation(event_id, path):
    """An annotation's JSON (classification, p_astro) of ``event_id``; a file
    that is missing or not JSON fails naming the event and the file."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise EventInputError(event_id, os.path.basename(path), str(exc)) from exc


def _remove_stale_products(out_dir, superevent_id):
    """A superevent that is now vetoed must not keep an alert from an earlier run."""
    names = [*ALERT_COPIES, *notice_names(superevent_id)]
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(out_dir, name))


def preliminary_alert(
    superevent,
    preferred_event,
    dq,
    *,
    skymap,
    out_dir,
    blocked="",
    source_classification=None,
    p_astro=None,
    events=(),
    orchestrator_policy,
    orchestrator_timeout,
    replay_bayestar_seconds,
    voevent_role,
    gracedb_host,
    voevent,
    preliminary_alert_far_threshold,
    preliminary_alert_trials_factor,
    skymap_plot_dpi,
):
    """Write the preliminary alert of one superevent, or record why there is none.

    As gwcelery, no notice goes out when the state vectors veto the superevent
    (DQV) or when its preferred event is not publishable (FAR above the alert
    threshold after the trials factor, or a single detector). Nor when the
    preferred event lacks the file its sky map comes from (``blocked``, the
    reason; gwcelery's alert would fail on the download): the record says
    so. Returns the alert record, also written to ``out_dir/alert.json``.
    """
    sid = superevent["superevent_id"]
    record = {
        "superevent_id": sid,
        "preferred_event": preferred_event["graceid"],
        "labels": sorted(dq["labels"]),
        "vetoed": bool(dq["vetoed"]),
        "publishable": should_publish(
            preferred_event,
            preliminary_alert_far_threshold=preliminary_alert_far_threshold,
            preliminary_alert_trials_factor=preliminary_alert_trials_factor,
        ),
        "notice": "",
        "notice_time": None,
        "files": [],
    }
    if blocked:
        record["blocked"] = blocked
    # The 2018 flow chart sends every non-vetoed superevent's notice: there
    # was no publishability test (docs/policies.md).
    gated = str(orchestrator_policy) != "2018"
    if record["vetoed"] or (gated and not record["publishable"]) or blocked:
        _remove_stale_products(out_dir, sid)
        write_json(os.path.join(out_dir, "alert.json"), record)
        return record

    when = notice_time(
        superevent,
        preferred_event,
        orchestrator_timeout=orchestrator_timeout,
        replay_bayestar_seconds=replay_bayestar_seconds,
    )
    screen_skymap(preferred_event["graceid"], skymap)
    files = {}
    skymap_name = os.path.basename(skymap)
    files[skymap_name] = os.path.join(out_dir, skymap_name)
    copy_skymap(skymap, files[skymap_name], event_id=sid)
    png = os.path.join(out_dir, plot_name(skymap_name))
    plot_skymap(files[skymap_name], png, event_id=sid, dpi=skymap_plot_dpi)
    files[os.path.basename(png)] = png

    classification = probabilities = None
    if source_classification:
        classification = load_annotation(
            preferred_event["graceid"], source_classification
        )
        files["source_classification.json"] = os.path.join(
            out_dir, "source_classification.json"
        )
        write_json(files["source_classification.json"], classification)
    if p_astro:
        probabilities = load_annotation(preferred_event["graceid"], p_astro)
        files["p_astro.json"] = os.path.join(out_dir, "p_astro.json")
        write_json(files["p_astro.json"], probabilities)

    common = dict(
        superevent=superevent,
        preferred_event=preferred_event,
        skymap_path=files[skymap_name],
        source_classification=classification,
        p_astro=probabilities,
        notice_time=when,
    )
    xml_name, json_name = notice_names(sid)
    with_voevent = voevent_wanted(voevent, orchestrator_policy)
    if with_voevent:
        files[xml_name] = os.path.join(out_dir, xml_name)
        write_voevent(
            files[xml_name],
            labels=record["labels"],
            layout="2018" if str(orchestrator_policy) == "2018" else "O3",
            voevent_role=voevent_role,
            gracedb_host=gracedb_host,
            **common,
        )
    files[json_name] = os.path.join(out_dir, json_name)
    write_gwalert(files[json_name], gracedb_host=gracedb_host, **common)

    known = events_known_at(events, when)
    known[preferred_event["graceid"]] = preferred_event
    circular = os.path.join(out_dir, CIRCULAR)
    write_circular(
        circular,
        dict(superevent, gw_events=sorted(known)),
        preferred_event,
        files,
        record["labels"],
        events=known,
        gracedb_host=gracedb_host,
    )
    files[CIRCULAR] = circular

    record.update(
        notice=os.path.join(
            "superevents", sid, xml_name if with_voevent else json_name
        ),
        notice_time=when,
        files=sorted(files),
    )
    write_json(os.path.join(out_dir, "alert.json"), record)
    return record
