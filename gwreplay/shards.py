"""Shards: a replay cut into runs of whole UTC days, each a Snakemake run of
its own DAG.

One Snakemake DAG of a whole observing run is out of reach: planning costs
about 1.1 ms per job (1.6 ms at 10^5 superevents), and under the O4 policy
Snakemake updates the DAG's checkpoint dependencies after every superevent's
checkpoint, so a fresh run grows like N^2 (docs/benchmarks.md, "Checkpoints
at scale"). ``gwreplay run`` therefore cuts a store of more than
:data:`SHARD_SUPEREVENTS` superevents (or any store, with ``--shards days``)
into shards of consecutive UTC days, each closed before the day that would
take it above :data:`SHARD_SUPEREVENTS` superevents (a busier day is a shard
of its own), and runs Snakemake once per shard that has work, on that
shard's part of the plan (``--config replay_shard=DAY``, the shard's first
day: ``rules/common.smk`` then reads ``RESULTS/.gwreplay/shards/DAY.json``
instead of the whole plan). Every shard costs a Snakemake start (about 1.5
s) on top of its DAG, hence days grouped rather than one run per day.

A superevent belongs to the day in its GraceDB ID (``S240101a``: the UTC date
of its ``t_0`` when GraceDB created it, :func:`gwreplay.superevents.superevent_id`),
and so do all its G-events, even one on the other side of midnight; an event
in no superevent belongs to the UTC day of its own ``gpstime``. Superevents
are formed (or read from the store) over the whole store before it is cut, so
every job's inputs are in its own shard, and a shard's plan is the whole plan
restricted to its events and superevents: the same jobs with the same inputs
and params, hence the same bytes as an unsharded run. What covers the whole
store (``provenance.json``, ``alerts.csv``, ``failures.csv``, the stamp) is
written once, by ``gwreplay run``, from the whole plan.
"""

import json
import os
import re
from collections import defaultdict

from .atomic import write_text

#: The setting ``gwreplay run`` gives each shard's Snakemake run.
CONFIG_KEYS = ("replay_shard",)
#: Where a shard's plan is kept, under the results folder.
SHARD_DIR = os.path.join(".gwreplay", "shards")
#: Most superevents in a shard of several days, and the size above which
#: ``--shards auto`` cuts a store. A fresh O4 replay of 1000 superevents took
#: 86.8 s in shards of at most 100 against 132.3 s in shards of at most 200
#: (the checkpoints' cost grows faster than N), and a dry run of 10^4 96.2 s
#: against 89.8 s (each shard's parse and DAG setup): docs/benchmarks.md.
SHARD_SUPEREVENTS = 100
#: ``--shards`` choices.
MODES = ("auto", "days", "none")

_DAY_RE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
#: A superevent ID (gwreplay.ids.SUPEREVENT_ID_PATTERN) with its date's parts.
_SID_DATE_RE = re.compile(r"\A[MT]?S([0-9]{2})([0-9]{2})([0-9]{2})[a-z]{1,4}\Z")


def validate_day(day):
    """Return ``day`` if it is a shard name (``YYYY-MM-DD``); else raise.

    Shard names become file names under the results folder.
    """
    if not isinstance(day, str) or not _DAY_RE.match(day):
        raise ValueError(f"refusing shard {day!r}: not a UTC day (YYYY-MM-DD)")
    return day


def superevent_day(superevent_id):
    """The UTC day in a superevent's GraceDB ID (``S240101a`` -> ``2024-01-01``).

    GraceDB's IDs carry two-digit years; gravitational-wave superevents start
    in 2000 or later, as ``gwcelery`` assumes.
    """
    match = _SID_DATE_RE.match(superevent_id)
    if not match:
        raise ValueError(f"{superevent_id!r} is not a superevent ID")
    year, month, day = match.groups()
    return f"20{year}-{month}-{day}"


def event_day(event):
    """The UTC day of an event's ``gpstime``, with leap seconds (via LAL)."""
    from .superevents import gps_to_utc_date

    return gps_to_utc_date(event["gpstime"]).isoformat()


def assign_days(plan):
    """``(superevent days, event days)``: the shard of every planned
    superevent and of every event of the store (module docstring)."""
    superevents, events = {}, {}
    for sid, superevent in plan.superevents.items():
        day = superevents[sid] = superevent_day(sid)
        for graceid in superevent["gw_events"]:
            events.setdefault(graceid, day)
    for graceid, event in plan.store.events.items():
        if graceid not in events:
            events[graceid] = event_day(event)
    return superevents, events


def sharded(plan, mode, limit=None):
    """Whether ``mode`` (:data:`MODES`) cuts this plan into shards of at
    most ``limit`` superevents (default :data:`SHARD_SUPEREVENTS`)."""
    if mode not in MODES:
        raise ValueError(f"unknown shard mode {mode!r}; choose from {MODES}")
    if mode == "auto":
        return len(plan.superevents) > (limit or SHARD_SUPEREVENTS)
    return mode == "days"


def group_days(superevent_days, event_days, limit=SHARD_SUPEREVENTS):
    """``{day: shard}``: each day with work mapped to its shard's first day.

    Consecutive days with work share a shard while it holds at most
    ``limit`` superevents.
    """
    counts = defaultdict(int)
    for day in superevent_days.values():
        counts[day] += 1
    shards, first, total = {}, None, 0
    for day in sorted(set(event_days.values()) | set(counts)):
        if first is None or total + counts[day] > limit:
            first, total = day, 0
        shards[day] = first
        total += counts[day]
    return shards


def assign_shards(plan, limit=SHARD_SUPEREVENTS):
    """``(superevent shards, event shards)``: :func:`assign_days`, each day
    replaced by its shard (:func:`group_days`)."""
    superevent_days, event_days = assign_days(plan)
    shards = group_days(superevent_days, event_days, limit)
    return (
        {sid: shards[day] for sid, day in superevent_days.items()},
        {graceid: shards[day] for graceid, day in event_days.items()},
    )


def shard_plans(plan, superevent_shards, event_shards, only=None):
    """``{shard: plan}``: the whole plan cut into shards (:func:`assign_shards`),
    each restricted to its own events and superevents (:func:`restricted`);
    ``only``: just these shards."""
    members = defaultdict(lambda: (set(), set()))
    for sid, shard in superevent_shards.items():
        members[shard][0].add(sid)
    for graceid, shard in event_shards.items():
        members[shard][1].add(graceid)
    return {
        shard: restricted(plan, sids, graceids)
        for shard, (sids, graceids) in sorted(members.items())
        if only is None or shard in only
    }


def restricted(plan, superevent_ids, graceids):
    """``plan`` with only these superevents and events (and their records)."""
    from .plan import Plan
    from .store import Store

    store = plan.store
    keep = {
        sid: plan.superevents[sid] for sid in plan.superevents if sid in superevent_ids
    }
    return Plan(
        store=Store(
            root=store.root,
            events={g: e for g, e in store.events.items() if g in graceids},
            superevents={
                s: v for s, v in store.superevents.items() if s in superevent_ids
            },
            signoffs={s: v for s, v in store.signoffs.items() if s in superevent_ids},
        ),
        results=plan.results,
        policy=plan.policy,
        voevent=plan.voevent,
        event_products={g: p for g, p in plan.event_products.items() if g in graceids},
        superevents=keep,
        blocked_alerts={
            s: r for s, r in plan.blocked_alerts.items() if s in superevent_ids
        },
        ready={g: t for g, t in plan.ready.items() if g in graceids},
    )


def shard_path(results, day):
    """Path of one shard's plan under ``results``."""
    return os.path.join(results, SHARD_DIR, f"{validate_day(day)}.json")


def write_shard(plan, day):
    """Write one shard's plan, for the Snakemake run of that day to read."""
    from .plan import plan_to_json

    path = shard_path(plan.results, day)
    # Key order kept, as in the whole plan's cache (gwreplay.plan.cached_plan).
    write_text(path, json.dumps({"day": day, "plan": plan_to_json(plan)}))
    return path


def read_shard(results, day):
    """The plan of one shard, as :func:`write_shard` left it.

    Only ``gwreplay run`` sets ``replay_shard``, right after writing the
    file; a missing one is a usage error, not a reason to plan the store.
    """
    from .plan import plan_from_json

    path = shard_path(results, day)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"{path}: no plan of shard {day}: replay_shard is set by "
            "`gwreplay run --shards` only"
        ) from None
    return plan_from_json(data["plan"])


def targets_by_shard(targets, superevent_shards, event_shards):
    """``{shard: targets}``: targets (``RESULTS/events/<GraceID>/...`` or
    ``RESULTS/superevents/<SID>/...``) sorted into the shards of their folders."""
    days = defaultdict(list)
    for target in targets:
        folder = os.path.basename(os.path.dirname(target))
        kind = os.path.basename(os.path.dirname(os.path.dirname(target)))
        day = (superevent_shards if kind == "superevents" else event_shards)[folder]
        days[day].append(target)
    return dict(days)
