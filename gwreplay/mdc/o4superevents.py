"""O4 era: the superevents GraceDB's server forms, and the advocates' sign-offs.

In O4 GraceDB itself groups uploads into superevents. Each MDC slot is one
superevent (the slot layout keeps them apart): its ``gw_events`` are the
slot's candidates that reach the superevent manager (FAR at most
``superevent_far_threshold``; a slot with none has no superevent), it is
created with the first of them, which is its ``preferred_event`` as GraceDB
held it at creation, and ``t_0`` is that event's time. ``t_start`` and
``t_end`` span every member's time with the per-pipeline half-widths of
``policies: O4:`` (``superevent_d_t_start``/``_end``, else the default). IDs
are GraceDB's, ``S`` + ``YYMMDD`` (UTC date of ``t_0``) + letters in creation
order within the day (:func:`gwreplay.superevents.superevent_id`).

Sign-offs follow gwcelery's mock uploader (``first2years``: a random ADV OK
or NO some minutes after the event): every superevent with a candidate that
passes the significant tier of ``policies: O4:`` (which is when gwcelery asks
for an advocate with ``ADVREQ``) gets one ADV sign-off, its status drawn
from the slot's seed (:func:`gwreplay.mdc.o4plan.signoff_status`), at
``mdc_signoff_delay`` after the superevent's creation.

Files: ``STORE/superevents/<SID>/superevent.json`` (GraceDB's superevent
JSON, times in GPS seconds) and ``signoffs.json`` (the format
:mod:`gwreplay.fetch.signoffs` writes).
"""

import os

import numpy as np

from ..atomic import write_json
from ..superevents import gps_to_utc_date, graceid_sort_key, superevent_id
from . import o4plan, rules

SIGNOFF_COMMENT = (
    "MDC advocate decision (gwreplay mdc): drawn at random, as gwcelery's "
    "mock uploader does; no detector or data-quality review behind it."
)


def _half_width(policy, side, pipeline):
    for name, value in policy[f"superevent_d_t_{side}"].items():
        if name.lower() == pipeline.lower():
            return value
    return policy[f"superevent_default_d_t_{side}"]


def members(result, conf):
    """The slot's candidates in the superevent, in upload (GraceID) order."""
    passing = [c for c in result["candidates"] if rules.is_significant(c, conf)]
    return sorted(passing, key=lambda c: graceid_sort_key(c["graceid"]))


def superevent_json(sid, gw_events, conf):
    """GraceDB's superevent JSON at creation for candidates ``gw_events``."""
    policy = conf["mdc_o4_policy"]
    first = min(gw_events, key=lambda c: (c["created"], graceid_sort_key(c["graceid"])))
    t_start = min(
        c["gpstime"] - _half_width(policy, "start", c["pipeline"]) for c in gw_events
    )
    t_end = max(
        c["gpstime"] + _half_width(policy, "end", c["pipeline"]) for c in gw_events
    )
    return {
        "superevent_id": sid,
        "gw_id": None,
        "category": "Production",
        "created": first["created"],
        "submitter": "gwreplay-mdc",
        "preferred_event": first["graceid"],
        "t_start": round(t_start, 6),
        "t_0": round(first["gpstime"], 6),
        "t_end": round(t_end, 6),
        "far": first["far"],
        "gw_events": [c["graceid"] for c in gw_events],
        "em_events": [],
        "labels": [],
    }


def _is_signed(gw_events, conf):
    policy = conf["mdc_o4_policy"]
    return any(rules.o4_tiers(c, policy)[0] for c in gw_events)


def signoff_time(slot, created, conf):
    """GPS time of the slot's ADV sign-off (its own seed)."""
    rng = np.random.default_rng(np.random.SeedSequence([slot["seed"], 4]))
    return round(created + rng.uniform(*conf["mdc_signoff_delay"]), 3)


def signoffs_json(sid, signoff):
    """The ``signoffs.json`` content of one superevent."""
    entries = []
    if signoff is not None:
        entries.append(
            {
                "signoff_type": "ADV",
                "instrument": "",
                "status": signoff["status"],
                "time": signoff["time"],
                "comment": SIGNOFF_COMMENT,
            }
        )
    return {"superevent_id": sid, "signoffs": entries}


def plan_superevents(results, conf):
    """Give each result its ``o4`` superevent (or None): ID, JSON, sign-off."""
    with_superevent = []
    for result in results:
        gw_events = members(result, conf)
        result["o4"] = {"members": gw_events} if gw_events else None
        if gw_events:
            with_superevent.append(result)
    with_superevent.sort(
        key=lambda r: min(
            (c["created"], graceid_sort_key(c["graceid"])) for c in r["o4"]["members"]
        )
    )
    day_counts = {}
    signed = []
    for result in with_superevent:
        gw_events = result["o4"]["members"]
        first = min(
            gw_events, key=lambda c: (c["created"], graceid_sort_key(c["graceid"]))
        )
        day = gps_to_utc_date(first["gpstime"])
        day_counts[day] = day_counts.get(day, 0) + 1
        sid = superevent_id("production", first["gpstime"], day_counts[day])
        record = superevent_json(sid, gw_events, conf)
        result["o4"].update(superevent_id=sid, record=record, signoff=None)
        if _is_signed(gw_events, conf):
            if result["slot"].get("signoff") is None:
                result["slot"]["signoff"] = o4plan.signoff_status(result["slot"])
            signed.append(result["slot"])
            result["o4"]["signoff_slot"] = True
    o4plan.settle_signoffs(signed)
    for result in with_superevent:
        if result["o4"].pop("signoff_slot", False):
            created = result["o4"]["record"]["created"]
            result["o4"]["signoff"] = {
                "status": result["slot"]["signoff"],
                "time": signoff_time(result["slot"], created, conf),
            }


def write_superevents(store, results):
    """Write ``superevent.json`` and ``signoffs.json`` of every planned superevent."""
    for result in results:
        o4 = result.get("o4")
        if not o4:
            continue
        folder = os.path.join(store, "superevents", o4["superevent_id"])
        write_json(os.path.join(folder, "superevent.json"), o4["record"])
        write_json(
            os.path.join(folder, "signoffs.json"),
            signoffs_json(o4["superevent_id"], o4["signoff"]),
        )
