"""What a replay has to build: the file targets of the orchestrator flow chart.

The plan is computed once, when Snakemake parses the workflow, from the
event store alone (the small ``event.json`` files and which uploads exist),
so the DAG is known without opening any coinc or frame file:

* every CBC event with a coinc.xml gets ``bayestar.fits.gz`` and
  ``source_classification.json`` (gwcelery's ``handle_cbc_event`` on the
  ``psd.xml.gz`` upload, or coinc.xml when PSDs are embedded in it);
* every gstlal event that also has ``ranking_data.xml.gz`` gets
  ``p_astro_gstlal.json``;
* burst events get nothing: they upload their own sky maps;
* every superevent (from the store, or formed by the superevent manager)
  gets ``superevent.json``, ``dq.json`` and ``alert.json`` plus, when not
  vetoed, the preliminary notice files.
"""

import logging
import os
from dataclasses import dataclass, field

from .store import BURST_SKYMAPS, is_cbc, load_store

log = logging.getLogger(__name__)


@dataclass
class Plan:
    """The targets of one replay, and what will not be built and why."""

    store: object
    results: str
    event_products: dict = field(default_factory=dict)
    superevents: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    #: Superevents whose alert cannot be built: their preferred event lacks
    #: its coinc.xml or sky map. They still get superevent.json and dq.json.
    blocked_alerts: set = field(default_factory=set)

    def event_result(self, graceid, filename):
        """Path of one result of one event."""
        return os.path.join(self.results, "events", graceid, filename)

    def superevent_result(self, superevent_id, filename):
        """Path of one result of one superevent."""
        return os.path.join(self.results, "superevents", superevent_id, filename)

    def targets(self):
        """Every file the replay builds, in a stable order."""
        paths = [
            self.event_result(graceid, product)
            for graceid, products in sorted(self.event_products.items())
            for product in products
        ]
        paths += [
            self.superevent_result(
                sid, "dq.json" if sid in self.blocked_alerts else "alert.json"
            )
            for sid in sorted(self.superevents)
        ]
        return paths


def event_products(event, disabled_detectors=()):
    """The result files one event gets, following ``handle_cbc_event``."""
    if not is_cbc(event) or "coinc.xml" not in event["files"]:
        return []
    products = []
    instruments = {
        ifo.strip() for ifo in event["instruments"].split(",") if ifo.strip()
    }
    if instruments and not instruments - set(disabled_detectors):
        log.warning(
            "%s: all detectors (%s) are disabled; no BAYESTAR sky map",
            event["graceid"],
            event["instruments"],
        )
    else:
        products.append("bayestar.fits.gz")
    products.append("source_classification.json")
    if event["pipeline"] == "gstlal" and "ranking_data.xml.gz" in event["files"]:
        products.append("p_astro_gstlal.json")
    return products


def missing_source(event):
    """The upload an event's products need but the store lacks, or None.

    CBC events need coinc.xml; bursts bring their own sky map. Without it
    the event gets no annotation and, when preferred, its superevent no
    alert: the replay lists it instead of aborting on a missing input.
    """
    needed = "coinc.xml" if is_cbc(event) else BURST_SKYMAPS[event["pipeline"]]
    return None if needed in event["files"] else needed


def preferred_skymap(plan, graceid):
    """Path of the sky map that the superevent's alert copies from ``graceid``."""
    event = plan.store.events[graceid]
    if is_cbc(event):
        return plan.event_result(graceid, "bayestar.fits.gz")
    return plan.store.event_file(graceid, BURST_SKYMAPS[event["pipeline"]])


def make_plan(store_root, results, config):
    """Load the store and decide every target of the replay."""
    from .superevents import CONFIG_KEYS, form_superevents

    store = load_store(store_root)
    plan = Plan(store=store, results=os.path.abspath(results))
    disabled = config.get("bayestar_disabled_detectors", [])
    for graceid, event in store.events.items():
        if is_cbc(event) and missing_source(event):
            plan.skipped.append(
                (graceid, "coinc.xml", "file is missing: no annotations")
            )
        products = event_products(event, disabled)
        if products:
            plan.event_products[graceid] = products
    if store.superevents:
        superevents = store.superevents.values()
    else:
        conf = {key: config[key] for key in CONFIG_KEYS if key in config}
        superevents = form_superevents(list(store.events.values()), **conf)
    for superevent in superevents:
        sid = superevent["superevent_id"]
        missing = [g for g in superevent["gw_events"] if g not in store.events]
        if superevent["preferred_event"] in missing:
            plan.skipped.append(
                (sid, "superevent.json", f"preferred event not in the store: {missing}")
            )
            continue
        preferred = store.events[superevent["preferred_event"]]
        lacking = missing_source(preferred)
        if lacking:
            plan.blocked_alerts.add(sid)
            if not is_cbc(preferred):
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
    return plan
