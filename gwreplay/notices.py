"""The O4 notices of one superevent: its alert sequence, each notice, its
circular and sky-map plot, and the superevent's record of them.

Under the O4 policy (docs/policies.md) the superevent job replays gwcelery
3.0.0's alert sequence (:func:`gwreplay.policies.sequence.alert_sequence`)
after the state-vector check and writes it to ``sequence.json``; each notice
is then a file target of its own, ``<SID>-<N>-<Type>.json`` as GraceDB names
the Kafka alerts, built from the preferred event of that notice. The
circular and the plot are separate targets after the notice, so nothing
slower than the decision and the notice stands on the alert's path.
``alert.json`` closes the superevent: the sequence and every file made.

File names follow gwcelery 3.0.0 (``orchestrator.py``): circulars are
``<alert_type>-circular.txt`` for EarlyWarning, significant Preliminary and
Initial notices and ``retraction-circular.txt`` for Retractions (none for
less-significant alerts); GraceDB keeps every version, so the replay adds
the notice number (``preliminary-circular-2.txt``). gwcelery plots the sky
map it copies to the superevent (``bayestar.png``); here ``bayestar-<N>.png``.
"""

import json
import os

from .atomic import write_json
from .circular import write_circular, write_retraction_circular
from .errors import EventInputError
from .gwalert import write_gwalert, write_retraction_gwalert
from .o4_uploads import validate_multiorder, validate_p_astro
from .orchestrator import load_annotation
from .policies.sequence import alert_sequence
from .products import chart_name, notice_names, plot_name
from .skymap_plot import plot_skymap
from .store import SIGNOFFS
from .voevent import write_voevent
from .xmlguard import screen_skymap

#: Notice type -> gwcelery's ``alert_type`` (circular names, alert JSON).
ALERT_TYPES = {
    "EarlyWarning": "earlywarning",
    "Preliminary": "preliminary",
    "Initial": "initial",
    "Retraction": "retraction",
}


def load_signoffs(superevent_id, path):
    """The ADV sign-off entries of ``STORE/superevents/<SID>/signoffs.json``.

    ``None`` (no file) gives none. Raises :class:`EventInputError` naming
    the superevent and the file when it is not JSON, not an object with a
    ``signoffs`` list, or names another superevent; the entries themselves
    are checked by :func:`gwreplay.policies.sequence.check_signoffs`.
    """
    if path is None:
        return []
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise EventInputError(superevent_id, SIGNOFFS, f"unreadable: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("signoffs"), list):
        raise EventInputError(
            superevent_id, SIGNOFFS, "not an object with a 'signoffs' list"
        )
    named = data.get("superevent_id", superevent_id)
    if named != superevent_id:
        raise EventInputError(
            superevent_id, SIGNOFFS, f"names another superevent: {named!r}"
        )
    return data["signoffs"]


def has_circular(notice):
    """gwcelery drafts a circular for every notice but less-significant ones."""
    return notice["significant"] is not False


def circular_name(notice):
    """``preliminary-circular-2.txt``: gwcelery's name plus the notice number."""
    alert_type = ALERT_TYPES[notice["alert_type"]]
    return f"{alert_type}-circular-{notice['alert_number']}.txt"


def plot_file(notice, skymap_name):
    """``bayestar-<N>.png``: the all-sky plot of the notice's sky map."""
    return plot_name(skymap_name).replace(".png", f"-{notice['alert_number']}.png")


def volume_file(notice, skymap_name):
    """``bayestar.volume-<N>.png``: the volume rendering of the notice's map."""
    stem = plot_name(skymap_name, "volume")[: -len(".png")]
    return f"{stem}-{notice['alert_number']}.png"


def chart_file(notice, annotation_name):
    """``em_bright-<N>.png``, ``gstlal.p_astro-<N>.png``: a bar chart of what
    the notice carries, named after its JSON as gwcelery names it."""
    stem = chart_name(annotation_name)[: -len(".png")]
    return f"{stem}-{notice['alert_number']}.png"


def notice_json(superevent_id, notice):
    """The notice's IGWN alert file name, ``<SID>-<N>-<Type>.json``."""
    return notice_names(superevent_id, notice["alert_number"], notice["alert_type"])[1]


def notice_xml(superevent_id, notice):
    """The notice's VOEvent file name, ``<SID>-<N>-<Type>.xml``."""
    return notice_names(superevent_id, notice["alert_number"], notice["alert_type"])[0]


def write_notice_voevent(
    path,
    superevent,
    notice,
    preferred_event,
    labels,
    *,
    skymap,
    source_classification,
    p_astro,
    voevent_role,
    gracedb_host,
):
    """The VOEvent form of a Preliminary notice (``voevent: true`` under O4).

    The same builder as 2018 and O3 (:mod:`gwreplay.voevent`), with the
    notice's number as ``Pkt_Ser_Num`` and its significance.
    """
    graceid = preferred_event["graceid"]
    return write_voevent(
        path,
        dict(superevent, t_0=preferred_event["gpstime"]),
        preferred_event,
        labels,
        skymap,
        load_annotation(graceid, source_classification)
        if source_classification
        else None,
        validate_p_astro(graceid, p_astro) if p_astro else None,
        notice["due"],
        significant=bool(notice["significant"]),
        voevent_role=voevent_role,
        gracedb_host=gracedb_host,
        pkt_ser_num=notice["alert_number"],
    )


def notice_avro(superevent_id, notice):
    """The notice's Avro file name, ``<SID>-<N>-<Type>.avro``."""
    return notice_json(superevent_id, notice)[: -len(".json")] + ".avro"


def replay_sequence(superevent, events, dq, *, ready, signoffs_path, settings):
    """The superevent's O4 notices after its state-vector check (``dq``).

    ``events``: store dicts of its G-events; ``ready``: replay-clock time at
    which each is complete; ``settings``: ``policies: O4:``. Returns the
    content of ``sequence.json``.
    """
    sid = superevent["superevent_id"]
    signoffs = load_signoffs(sid, signoffs_path)
    notices = alert_sequence(
        superevent,
        {event["graceid"]: event for event in events},
        ready=ready,
        signoffs=signoffs,
        dq_labels=dq["labels"],
        **settings,
    )
    return {
        "superevent_id": sid,
        "policy": "O4",
        "labels": sorted(dq["labels"]),
        "vetoed": bool(dq["vetoed"]),
        "notices": notices,
    }


def write_notice(path, avro_path, superevent, notice, preferred_event, **kwargs):
    """Write one notice as the IGWN alert JSON (:func:`write_notice_json`) and
    its Avro form (:mod:`gwreplay.avro_alert`), the same content."""
    from .avro_alert import write_avro_alert

    alert = write_notice_json(path, superevent, notice, preferred_event, **kwargs)
    write_avro_alert(avro_path, alert, alert_number=notice["alert_number"])
    return alert


def write_notice_json(
    path,
    superevent,
    notice,
    preferred_event,
    *,
    skymap=None,
    source_classification=None,
    p_astro=None,
    gracedb_host,
):
    """Write one notice's IGWN alert JSON (the sky map embedded).

    The superevent's ``t_0`` is its preferred event's time at that notice,
    as GraceDB updates it when the preferred event changes. A Retraction
    carries no event. ``p_astro`` (the pipeline's upload, or gstlal's
    computed one) is checked first: not JSON, a class missing, a negative or
    NaN entry, or a sum off 1 by more than 1e-3 fail this notice, named.
    """
    if notice["alert_type"] == "Retraction":
        return write_retraction_gwalert(
            path, superevent, notice["due"], gracedb_host=gracedb_host
        )
    graceid = preferred_event["graceid"]
    check_skymap(graceid, skymap)
    probabilities = validate_p_astro(graceid, p_astro) if p_astro else None
    return write_gwalert(
        path,
        dict(superevent, t_0=preferred_event["gpstime"]),
        preferred_event,
        skymap,
        load_annotation(graceid, source_classification)
        if source_classification
        else None,
        probabilities,
        notice["due"],
        significant=bool(notice["significant"]),
        alert_type=ALERT_TYPES[notice["alert_type"]],
        gracedb_host=gracedb_host,
    )


def write_notice_circular(
    path,
    superevent,
    notice,
    preferred_event,
    notice_paths,
    labels,
    *,
    events,
    gracedb_host,
):
    """The circular of one notice, from the notices sent up to it.

    ligo-followup-advocate composes it (``compose`` or, for a Retraction,
    ``compose_retraction``) over a read-only stand-in for GraceDB.
    """
    known = {e["graceid"]: e for e in events if e["created"] <= notice["due"]}
    known[preferred_event["graceid"]] = preferred_event
    write = (
        write_retraction_circular
        if notice["alert_type"] == "Retraction"
        else write_circular
    )
    return write(
        path,
        dict(superevent, gw_events=sorted(known)),
        preferred_event,
        {os.path.basename(p): p for p in notice_paths},
        labels,
        events=known,
        gracedb_host=gracedb_host,
    )


def check_skymap(graceid, skymap):
    """The header screen of every sky map (:func:`screen_skymap`) and, for a
    multi-order one (O4: BAYESTAR's, a pipeline's upload), its UNIQ indices
    and orders (:func:`gwreplay.o4_uploads.validate_multiorder`): a bad map
    fails the notice, named."""
    screen_skymap(graceid, skymap)
    if os.fspath(skymap).endswith(".multiorder.fits"):
        validate_multiorder(graceid, skymap)


def write_notice_plot(path, superevent_id, graceid, skymap, *, skymap_plot_dpi):
    """The all-sky plot of the notice's sky map (ligo-skymap-plot's figure),
    after the same checks as the notice (a bad map fails, named)."""
    check_skymap(graceid, skymap)
    plot_skymap(skymap, path, event_id=superevent_id, dpi=skymap_plot_dpi)


def write_notice_volume_plot(path, graceid, skymap, *, volume_plot_dpi):
    """The volume rendering of the notice's 3-D sky map
    (:func:`gwreplay.o4_skymaps.plot_volume`, ligo-skymap-plot-volume)."""
    from .o4_skymaps import plot_volume

    plot_volume(graceid, skymap, path, dpi=volume_plot_dpi)


def write_notice_chart(path, graceid, annotation):
    """The bar chart of the em_bright or p_astro JSON the notice carries
    (:mod:`gwreplay.o4_charts`, checked first)."""
    from .o4_charts import plot_em_bright, plot_p_astro

    name = os.path.basename(annotation)
    draw = plot_p_astro if name.endswith("p_astro.json") else plot_em_bright
    draw(graceid, annotation, path)


def alert_record(sequence, files):
    """``alert.json`` of an O4 superevent: the sequence and its files.

    ``notice`` and ``notice_time`` are those of the first notice, as the
    O3 record holds its single preliminary.
    """
    sid = sequence["superevent_id"]
    notices = sequence["notices"]
    first = notices[0] if notices else None
    return {
        "superevent_id": sid,
        "policy": sequence["policy"],
        "preferred_event": first["preferred_event"] if first else "",
        "labels": sequence["labels"],
        "vetoed": sequence["vetoed"],
        "publishable": bool(notices),
        "notice": os.path.join("superevents", sid, notice_json(sid, first))
        if first
        else "",
        "notice_time": first["due"] if first else None,
        "notices": notices,
        "files": sorted(files),
    }


def write_alert_record(path, sequence, files):
    """Write :func:`alert_record` atomically; the superevent's target."""
    record = alert_record(sequence, files)
    write_json(path, record)
    return record
