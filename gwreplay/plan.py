"""What a replay has to build: the file targets of the orchestrator flow chart.

The plan is computed once, when Snakemake parses the workflow, from the
event store alone (the small ``event.json`` files and which uploads exist),
so the DAG is known without opening any coinc or frame file. Which event
gets which result is the products table's (:mod:`gwreplay.products`); every
superevent (from the store, or formed by the superevent manager) gets the
outputs of one ``superevent`` job plus, when not vetoed, the notice files.
"""

import contextlib
import hashlib
import json
import logging
import os
from dataclasses import dataclass, field

from . import products
from .atomic import write_text
from .clock import annotation_ready_time
from .policies import follows_sequence, manager_settings, policy_of, writes_voevent
from .provenance import sources_digest, stat_key
from .store import load_store
from .superevents import CONFIG_KEYS as SUPEREVENT_KEYS
from .superevents import form_superevents

log = logging.getLogger(__name__)

#: The settings the plan reads: the superevent manager's, BAYESTAR's
#: disabled detectors (events left with none get no sky map), the policy
#: and, for O4, the replay clock's annotation time (when events complete).
CONFIG_KEYS = (
    *SUPEREVENT_KEYS,
    "bayestar_disabled_detectors",
    "orchestrator_policy",
    "policies",
    "replay_bayestar_seconds",
    "voevent",
)


@dataclass
class Plan:
    """The targets of one replay, and what will not be built and why."""

    store: object
    results: str
    #: The orchestrator policy replayed (gwreplay.policies).
    policy: str = "O3"
    #: Whether notices get a VOEvent form (gwreplay.policies.writes_voevent).
    voevent: bool = False
    event_products: dict = field(default_factory=dict)
    superevents: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    #: Superevents whose alert cannot be built, and why: their preferred
    #: event lacks its coinc.xml or sky map. Their job still writes
    #: superevent.json and dq.json, and an alert.json that says why.
    blocked_alerts: dict = field(default_factory=dict)
    #: O4: replay-clock time at which each event is complete (its sky map,
    #: classification and p_astro on GraceDB); events that never are, absent.
    ready: dict = field(default_factory=dict)

    def event_result(self, graceid, filename):
        """Path of one result of one event."""
        return os.path.join(self.results, "events", graceid, filename)

    def superevent_result(self, superevent_id, filename):
        """Path of one result of one superevent."""
        return os.path.join(self.results, "superevents", superevent_id, filename)

    def target_owner(self, target):
        """``(kind, ID, path)`` of a target that is a file of one event or
        superevent (``RESULTS/events/<GraceID>/FILE``, kind ``events``;
        ``RESULTS/superevents/<SID>/FILE``, ``superevents``; relative to the
        results folder, where Snakemake runs), else None. The ID may be
        outside the plan."""
        path = os.path.normpath(os.path.join(self.results, target))
        parts = os.path.relpath(path, self.results).split(os.sep)
        if len(parts) == 3 and parts[0] in ("events", "superevents"):
            return parts[0], parts[1], path
        return None

    def targets(self):
        """Every file the replay builds, in a stable order."""
        paths = [
            self.event_result(graceid, product)
            for graceid, products in sorted(self.event_products.items())
            for product in products
        ]
        paths += [
            self.superevent_result(sid, products.SUPEREVENT_OUTPUTS[-1])
            for sid in sorted(self.superevents)
        ]
        return paths


def event_products(event, disabled_detectors=(), *, policy):
    """The result files one event gets (:func:`gwreplay.products.event_products`),
    with a warning when BAYESTAR must skip it, as gwcelery logs it."""
    if (
        products.is_cbc_event(event)
        and "coinc.xml" in event["files"]
        and products.all_detectors_disabled(event, disabled_detectors)
    ):
        log.warning(
            "%s: all detectors (%s) are disabled; no BAYESTAR sky map",
            event["graceid"],
            event["instruments"],
        )
    return products.event_products(event, disabled_detectors, policy=policy)


def missing_source(event, policy):
    """The upload an event's products need but the store lacks, or None.

    CBC events need coinc.xml; bursts bring their own sky map. Without it
    the event gets no annotation and, when preferred, its superevent no
    alert: the replay lists it instead of aborting on a missing input.
    """
    needed = products.alert_source_upload(event, policy=policy)
    return None if needed in event["files"] else needed


def preferred_skymap(plan, graceid):
    """Path of the sky map that the superevent's alert copies from ``graceid``."""
    where, name = products.skymap_source(plan.store.events[graceid], policy=plan.policy)
    if where == "result":
        return plan.event_result(graceid, name)
    return plan.store.event_file(graceid, name)


def alert_inputs(plan, superevent_id):
    """The superevent job's inputs: the G-events' event.json and the
    preferred event's sky map and annotations.

    A superevent whose preferred event lacks its coinc.xml or sky map
    (``plan.blocked_alerts``) gets no sky-map input: its job records why no
    alert was made instead of failing on a file that will never come.
    """
    superevent = plan.superevents[superevent_id]
    graceid = superevent["preferred_event"]
    inputs = {
        "event_json": plan.store.event_file(graceid, "event.json"),
        "events": [
            plan.store.event_file(g, "event.json") for g in superevent["gw_events"]
        ],
    }
    if superevent_id in plan.blocked_alerts:
        return inputs
    return dict(inputs, **alert_inputs_of(plan, graceid))


def alert_inputs_of(plan, graceid):
    """An alert's inputs from its preferred event ``graceid``: the event's
    JSON, its sky map and the annotations the alert copies."""
    inputs = {
        "event_json": plan.store.event_file(graceid, "event.json"),
        "skymap": preferred_skymap(plan, graceid),
    }
    annotations = products.alert_annotations(
        plan.event_products.get(graceid, []), policy=plan.policy
    )
    for key, name in annotations.items():
        inputs[key] = plan.event_result(graceid, name)
    return inputs


def ready_times(plan, replay_bayestar_seconds):
    """When each event is complete on the replay clock (O4 policy).

    An event is complete once the products it needs exist: the last of its
    uploads plus the modelled annotation time (:mod:`gwreplay.clock`); one
    lacking the upload its sky map comes from never is.
    """
    return {
        graceid: annotation_ready_time(event, replay_bayestar_seconds)
        for graceid, event in plan.store.events.items()
        if missing_source(event, plan.policy) is None
    }


def make_plan(store_root, results, config, known_events=None):
    """Load the store and decide every target of the replay (``known_events``:
    :func:`gwreplay.store.load_store`'s ``known``)."""
    store = load_store(store_root, known_events)
    plan = Plan(
        store=store,
        results=os.path.abspath(results),
        policy=policy_of(config),
        voevent=writes_voevent(config),
    )
    disabled = config["bayestar_disabled_detectors"]
    for graceid, event in store.events.items():
        if products.is_cbc_event(event) and missing_source(event, plan.policy):
            plan.skipped.append(
                (graceid, "coinc.xml", "file is missing: no annotations")
            )
        names = event_products(event, disabled, policy=plan.policy)
        if names:
            plan.event_products[graceid] = names
    if store.superevents:
        superevents = store.superevents.values()
    else:
        conf = manager_settings(config, SUPEREVENT_KEYS)
        superevents = form_superevents(
            list(store.events.values()),
            **conf,
            # The 2018 flow chart ranks without a publishability test.
            publishable_first=plan.policy != "2018",
        )
    for superevent in superevents:
        sid = superevent["superevent_id"]
        missing = [g for g in superevent["gw_events"] if g not in store.events]
        if superevent["preferred_event"] in missing:
            plan.skipped.append(
                (sid, "superevent.json", f"preferred event not in the store: {missing}")
            )
            continue
        preferred = store.events[superevent["preferred_event"]]
        lacking = missing_source(preferred, plan.policy)
        if lacking:
            plan.blocked_alerts[sid] = (
                f"{preferred['graceid']}: {lacking}: file is missing"
            )
            if not products.is_cbc_event(preferred):
                plan.skipped.append(
                    (
                        preferred["graceid"],
                        lacking,
                        f"file is missing: no alert for {sid}",
                    )
                )
        superevent = dict(
            superevent,
            gw_events=[g for g in superevent["gw_events"] if g not in missing],
        )
        plan.superevents[sid] = superevent
    if follows_sequence(config):
        plan.ready = ready_times(plan, config["replay_bayestar_seconds"])
    for sid in sorted(set(store.signoffs) - set(plan.superevents)):
        plan.skipped.append((sid, "signoffs.json", "names an unknown superevent"))
    return plan


#: Where :func:`cached_plan` keeps the plan, under the results folder.
PLAN_CACHE = os.path.join(".gwreplay", "plan.json")
#: Version of the cache layout; a cache of another version is ignored.
PLAN_CACHE_VERSION = 4


def _stat_key(path):
    try:
        return stat_key(os.stat(path))
    except OSError:
        return None


def store_stats(store_root):
    """``{"events": {GraceID: stats}, "superevents": {SID: stats}}`` and the
    two folders' own stats: each folder's stat (its mtime moves when an
    upload is added, removed or renamed into place) and its record's
    (``event.json``, ``superevent.json``). Two stats per event."""
    stats = {}
    for sub, name in (("events", "event.json"), ("superevents", "superevent.json")):
        top = os.path.join(store_root, sub)
        entries = stats[sub] = {"": _stat_key(top)}
        if os.path.isdir(top):
            for entry in os.scandir(top):
                entries[entry.name] = [
                    _stat_key(entry.path),
                    _stat_key(os.path.join(entry.path, name)),
                ]
    return stats


def plan_key(store_root, results, config, stats=None, sources=None):
    """What the plan depends on, cheaply: no file is read but the sources.

    The plan reads each event's ``event.json`` and looks up which uploads
    exist; so the key holds :func:`store_stats` (``stats``, when the caller
    has them), the configuration keys the plan reads and gwreplay's sources
    (:func:`sources_code_digest`, ``sources`` when the caller has it).
    """
    store_root = os.path.abspath(store_root)
    material = {
        "version": PLAN_CACHE_VERSION,
        "store": store_root,
        "results": os.path.abspath(results),
        "config": {key: config.get(key) for key in CONFIG_KEYS},
        # A new version of gwreplay must re-plan.
        "sources": sources_code_digest() if sources is None else sources,
        "folders": store_stats(store_root) if stats is None else stats,
    }
    encoded = json.dumps(material, sort_keys=True, default=str).encode(
        "utf-8", "surrogateescape"
    )
    return hashlib.sha256(encoded).hexdigest()


def sources_code_digest():
    """Digest of gwreplay's own sources: what reads and plans the store."""
    package = os.path.dirname(os.path.abspath(__file__))
    return sources_digest(os.path.dirname(package), ["gwreplay"], (".py",))


def unchanged_events(cached, store_root, stats, sources):
    """``{GraceID: event}`` of the cached plan's events whose folder and
    ``event.json`` have the same stats now, when the cache was made from
    the same store by the same sources (else empty): a store that gained
    one event is then read for that event only."""
    if cached.get("store") != store_root or cached.get("sources") != sources:
        return {}
    before = cached.get("events_stats", {})
    now = stats["events"]
    return {
        graceid: event
        for graceid, event in cached["plan"]["store"]["events"].items()
        if before.get(graceid) == now.get(graceid) is not None
    }


def plan_to_json(plan):
    """The plan as JSON-able data (tuples become lists)."""
    store = plan.store
    return {
        "store": {
            "root": store.root,
            "events": store.events,
            "superevents": store.superevents,
            "problems": [list(p) for p in store.problems],
            "signoffs": store.signoffs,
        },
        "results": plan.results,
        "policy": plan.policy,
        "voevent": plan.voevent,
        "ready": plan.ready,
        "event_products": plan.event_products,
        "superevents": plan.superevents,
        "skipped": [list(s) for s in plan.skipped],
        "blocked_alerts": plan.blocked_alerts,
    }


def plan_from_json(data):
    """Inverse of :func:`plan_to_json`."""
    from .store import Store

    raw = data["store"]
    store = Store(
        root=raw["root"],
        events=raw["events"],
        superevents=raw["superevents"],
        problems=[tuple(p) for p in raw["problems"]],
        signoffs=raw["signoffs"],
    )
    return Plan(
        store=store,
        results=data["results"],
        policy=data["policy"],
        voevent=data["voevent"],
        ready=data["ready"],
        event_products=data["event_products"],
        superevents=data["superevents"],
        skipped=[tuple(s) for s in data["skipped"]],
        blocked_alerts=data["blocked_alerts"],
    )


def cached_plan(store_root, results, config):
    """:func:`make_plan`, reused while :func:`plan_key` is unchanged.

    Snakemake parses the workflow once per run and, on clusters, once per
    job: at 10^4 superevents planning takes 1.8 s, reading the cache 0.4 s.
    When the key has changed, the events whose folders have not
    (:func:`unchanged_events`) are taken from the cache, not read again.
    The cache (``RESULTS/.gwreplay/plan.json``) is only a copy of what
    :func:`make_plan` returns for the same key, so it can be deleted at any
    time.
    """
    store_root = os.path.abspath(store_root)
    stats, sources = store_stats(store_root), sources_code_digest()
    key = plan_key(store_root, results, config, stats, sources)
    path = os.path.join(os.path.abspath(results), PLAN_CACHE)
    known = {}
    try:
        with open(path, encoding="utf-8") as f:
            cached = json.load(f)
        if cached.get("key") == key:
            return plan_from_json(cached["plan"])
        known = unchanged_events(cached, store_root, stats, sources)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    plan = make_plan(store_root, results, config, known_events=known)
    cache = {
        "key": key,
        "store": store_root,
        "sources": sources,
        "events_stats": stats["events"],
        "plan": plan_to_json(plan),
    }
    with contextlib.suppress(OSError):
        # Key order kept: Snakemake compares rule params (the superevent
        # records) by their text, so a reordered record reruns the job.
        write_text(path, json.dumps(cache))
    return plan
