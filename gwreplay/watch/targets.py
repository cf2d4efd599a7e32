"""What the watcher may ask Snakemake for: products and alerts, and from what.

Everything that encodes *which product needs which uploads* lives here, as
gwcelery's ``orchestrator.handle_cbc_event`` starts each annotation on its
upload: BAYESTAR on ``psd.xml.gz`` (or on ``coinc.xml`` alone when the
pipeline embedded the PSDs), the source classification on ``coinc.xml``,
gstlal's p_astro on ``ranking_data.xml.gz``. Which products an event gets
is :func:`gwreplay.plan.event_products` (the workflow's plan) and the
superevents are :func:`gwreplay.superevents.form_superevents` (or the
store's own), so the watcher and a batch replay agree on both. A target is
a tuple ``(kind, key, inputs)``: ``("product", (graceid, product),
signature)`` or ``("alert", sid, [preferred, signature, gw_events])``; under
the O4 policy (:mod:`gwreplay.watch.notices`) ``("sequence", sid,
signature)``, ``("notice", (sid, number), request)``, ``("followup", (sid,
number), names)`` and ``("record", sid, sequence_mtime)``.
"""

import json
import logging
import os

from .. import notice_plan
from ..errors import EventInputError
from ..plan import Plan, event_products
from ..policies import manager_settings, policy_of
from ..products import (
    EVENT_RULES,
    EVENT_UPLOADS,
    SEQUENCE,
    alert_source_upload,
    is_cbc_event,
    product_uploads,
    rules_making,
    table,
)
from ..store import SIGNOFFS, Store
from ..superevents import CONFIG_KEYS as SUPEREVENT_KEYS
from .uploads import UNCHANGED, file_signature

log = logging.getLogger("gwreplay.watch")

#: The O4 jobs that follow a notice (rules/superevent_o4.smk).
FOLLOWUP_RULES = (
    "notice_circular",
    "notice_plot",
    "notice_volume_plot",
    "notice_chart",
)

#: Marker of a LIGO-LW frequency series: PSDs embedded in coinc.xml.
_PSD_MARKER = b"REAL8FrequencySeries"


def coinc_embeds_psds(path):
    """Whether a coinc.xml carries the PSDs (O4 pipelines upload them inside)."""
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if _PSD_MARKER in tail + chunk:
                return True
            tail = chunk[-len(_PSD_MARKER) :]
    return False


def product_path(results, graceid, product):
    """A result of one event."""
    return os.path.join(results, "events", graceid, product)


def alert_path(results, sid, filename="alert.json"):
    """A result of one superevent."""
    return os.path.join(results, "superevents", sid, filename)


def failure_lookups(kind, key, preferred=None, records=()):
    """Where the failure record of a target that was not made may be.

    ``(rules, ids)`` pairs, in the order they are consulted: a product's
    own rule; for an alert the superevent job (which names the step that
    failed), then the preferred event's annotations. O4: the ``superevent``
    checkpoint for a sequence; for a notice its ``notice`` job (``records``:
    ``<SID>-<N>-<Type>``), then the preferred event's annotations; the
    ``notice_circular`` and ``notice_plot`` jobs (``records``) for its
    follow-ups; the ``alert`` job for the superevent's record.
    """
    if kind == "product":
        return [(rules_making(key[1]), [key[0]])]
    annotations = (list(EVENT_RULES), [preferred] if preferred else [])
    if kind == "sequence":
        return [(["superevent"], [key])]
    if kind == "notice":
        return [(["notice"], list(records)), annotations]
    if kind == "followup":
        return [(list(FOLLOWUP_RULES), list(records))]
    if kind == "record":
        return [(["alert"], [key])]
    return [(["superevent"], [key]), annotations]


def _stat(path):
    """``file_signature`` of ``path`` as a list, or None when it is absent."""
    try:
        return list(file_signature(path))
    except OSError:
        return None


class Targets:
    """The events, superevents and products of a watched store.

    ``uploads`` (:class:`gwreplay.watch.uploads.Uploads`) answers which
    files are present, complete and valid; this class keeps the validated
    events, the latest superevent formation and, per product, the input
    signature it was last requested from.
    """

    def __init__(self, store, results, conf, uploads):
        self.store = store
        self.results = results
        self.conf = conf
        self.uploads = uploads
        self.events = {}  # graceid -> validated event.json
        self.superevents = {}  # sid -> manager record, latest formation
        self.stale = True  # whether the events changed since the formation
        self.requested = {}  # (graceid, product) -> input signature last requested
        self.signoffs = {}  # sid -> STORE/superevents/<SID>/signoffs.json
        self.store_superevents = None  # stats of STORE/superevents/, last formation

    @property
    def policy(self):
        """The orchestrator policy replayed (``orchestrator_policy``)."""
        return policy_of(self.conf)

    def target_path(self, kind, key, inputs=None):
        """The file Snakemake is asked for (the first, for follow-ups)."""
        return self.target_paths(kind, key, inputs)[0]

    def target_paths(self, kind, key, inputs=None):
        """The files Snakemake is asked for, for one target."""
        if kind == "product":
            return [product_path(self.results, *key)]
        if kind == "sequence":
            return [alert_path(self.results, key, SEQUENCE)]
        if kind == "notice":
            return [alert_path(self.results, key[0], inputs["file"])]
        if kind == "followup":
            return [alert_path(self.results, key[0], name) for name in inputs]
        return [alert_path(self.results, key)]

    def refresh_event(self, graceid, quiet=False):
        """Reload one event.json once it is complete; drop the event if invalid."""
        event = self.uploads.load_event(graceid)
        if event is UNCHANGED:
            return
        if event is None:
            if self.events.pop(graceid, None) is not None:
                self.stale = True
            return
        known = graceid in self.events
        self.events[graceid] = event
        self.stale = True
        if quiet:
            return
        log.info(
            "event %s %s: %s %s, created GPS %.3f, FAR %.3g Hz",
            graceid,
            "updated" if known else "new",
            event["group"],
            event["pipeline"],
            event["created"],
            event["far"],
        )

    # ---- products of events ----------------------------------------------

    def product_inputs(self, graceid, event, product):
        """Uploads a product is made from, or the reason it must wait.

        The products table says which uploads it needs and may use. As
        ``handle_cbc_event``: BAYESTAR starts on ``psd.xml.gz``, or on
        ``coinc.xml`` alone when the pipeline embedded the PSDs and
        announced no separate PSD upload.
        """
        spec = table(self.policy).by_name[product]
        for name in spec.needs:
            if self.uploads.verdict(graceid, name) is None:
                return f"waiting for {name}"
        names = list(spec.needs)
        announced = {entry.get("filename") for entry in event.get("uploads") or ()}
        for name in spec.may_use:
            if (graceid, name) in self.uploads:
                if self.uploads.verdict(graceid, name) is None:
                    return f"waiting for {name}"
                names.append(name)
            elif name in announced:
                return f"waiting for {name}"
            elif name in spec.embedded:
                host = spec.embedded[name]
                verdict = self.uploads.verdict(graceid, host)
                path = self.uploads.path(graceid, host)
                if verdict == "ok" and not coinc_embeds_psds(path):
                    return f"waiting for {name} ({host} has no PSDs)"
        return names

    def _input_names(self, graceid, product):
        """The uploads a product is made from, by presence alone (no validation)."""
        present = {name for name in EVENT_UPLOADS if (graceid, name) in self.uploads}
        return product_uploads(product, present, policy=self.policy)

    def products_of(self, graceid, event):
        """The annotations the workflow makes for one event, as its plan sees it."""
        event = dict(event, files=self.uploads.present(graceid))
        disabled = self.conf.get("bayestar_disabled_detectors", [])
        return event, event_products(event, disabled, policy=self.policy)

    def plan_products(self):
        """Targets: annotations of the events touched since the last plan."""
        dirty = self.uploads.take_dirty()
        for graceid in dirty:
            self.refresh_event(graceid)
        targets = []
        for graceid in dirty:
            event = self.events.get(graceid)
            if event is None:
                continue
            event, products = self.products_of(graceid, event)
            for product in products:
                if self._unchanged(graceid, product):
                    continue  # built (or failed) from these very uploads
                inputs = self.product_inputs(graceid, event, product)
                if isinstance(inputs, str):
                    continue
                signature = self.uploads.signatures(graceid, inputs)
                if self.requested.get((graceid, product)) == signature:
                    continue
                targets.append(("product", (graceid, product), signature))
        return targets

    def _unchanged(self, graceid, product):
        """Whether a product was already asked for from the current uploads.

        Checked before any validation, so that a restart over a store of
        thousands of finished events reads none of their files.
        """
        names = self._input_names(graceid, product)
        if not all(self.uploads.complete(graceid, name) for name in names):
            return False
        signature = self.uploads.signatures(graceid, names)
        return self.requested.get((graceid, product)) == signature

    def built(self, key, signature):
        """A product was requested from these uploads (built or failed)."""
        self.requested[key] = signature

    def resume_products(self):
        """Products built after their uploads last changed are not asked for again."""
        for graceid, event in self.events.items():
            for product in self.products_of(graceid, event)[1]:
                path = product_path(self.results, graceid, product)
                names = self._input_names(graceid, product)
                if not all(self.uploads.complete(graceid, name) for name in names):
                    continue
                try:
                    built = os.stat(path).st_mtime_ns
                except FileNotFoundError:
                    continue
                if self.uploads.written_before(graceid, names, built):
                    self.requested[(graceid, product)] = self.uploads.signatures(
                        graceid, names
                    )

    # ---- superevents and their alerts ---------------------------------------

    def form(self):
        """The superevents, as the workflow will form them at parse time."""
        stats = self._store_superevents_stats()
        if stats != self.store_superevents:
            self.store_superevents = stats
            self.stale = True
        if not self.stale:
            return self.superevents
        self.stale = False
        supplied = self._read_store_superevents()
        if supplied:
            records = [
                dict(r, gw_events=[g for g in r["gw_events"] if g in self.events])
                for r in supplied
                if r["preferred_event"] in self.events
            ]
        else:
            conf = manager_settings(
                self.conf, [key for key in SUPEREVENT_KEYS if key in self.conf]
            )
            records = self._form_from_events(conf)
        self.superevents = {record["superevent_id"]: record for record in records}
        return self.superevents

    def _store_superevents_stats(self):
        """Stats of ``STORE/superevents/``: its folders, records and sign-offs.

        A new or replaced ``superevent.json`` or ``signoffs.json`` changes
        them (the folder's mtime moves when a file is renamed into it). A
        stat per folder and file, each time the watcher plans.
        """
        top = os.path.join(self.store, "superevents")
        stats = [_stat(top)]
        if stats[0] is None:
            return stats
        with os.scandir(top) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                stats.append(
                    [
                        entry.name,
                        _stat(entry.path),
                        _stat(os.path.join(entry.path, "superevent.json")),
                        _stat(os.path.join(entry.path, SIGNOFFS)),
                    ]
                )
        return stats

    def _read_store_superevents(self):
        """The store's own superevents and sign-offs, as the workflow's plan reads them.

        :func:`gwreplay.store.load_store`'s reading: a folder that holds only
        ``signoffs.json`` gives sign-offs for a superevent the manager forms.
        """
        from ..store import _read_superevents

        problems, self.signoffs = [], {}
        supplied = _read_superevents(self.store, problems, self.signoffs)
        for problem in problems:
            log.info("rejected store superevent %s: %s: %s", *problem)
        return sorted(supplied.values(), key=lambda r: r["created"])

    def _form_from_events(self, conf):
        """The superevent manager's records; an event it rejects is left out.

        As the workflow's plan: the policy's windows, and (2018 flow chart)
        no publishability test in the ranking.
        """
        from ..superevents import form_superevents

        events = dict(self.events)
        publishable_first = policy_of(self.conf) != "2018"
        while True:
            try:
                return form_superevents(
                    list(events.values()), **conf, publishable_first=publishable_first
                )
            except EventInputError as exc:
                # The workflow's parse fails on this event too; listed.
                log.info("rejected %s (superevent manager)", exc)
                if events.pop(exc.event_id, None) is None:
                    return []

    def alert_inputs(self, record):
        """The preferred event's inputs of an alert, or the reason it must wait."""
        graceid = record["preferred_event"]
        event = self.events.get(graceid)
        if event is None:
            return f"preferred event {graceid} not in the store"
        names = []
        if is_cbc_event(event):
            event, products = self.products_of(graceid, event)
            if not products:
                return f"waiting for {graceid}/coinc.xml"
            for product in products:
                inputs = self.product_inputs(graceid, event, product)
                if isinstance(inputs, str):
                    return f"{graceid}: {inputs}"
                names += inputs
        else:
            skymap = self._own_skymap(graceid, event)
            if self.uploads.verdict(graceid, skymap) is None:
                return f"waiting for {graceid}/{skymap}"
            names.append(skymap)
        signature = self.uploads.signatures(graceid, sorted(set(names)))
        return [graceid, signature, record["gw_events"]]

    def _own_skymap(self, graceid, event):
        """The upload an event's alert needs, from the uploads present now.

        ``event["files"]`` is the folder as it was when event.json was read;
        a sky map uploaded after it decides which era's name is used
        (``products.own_skymap``), as the workflow's plan sees the folder.
        """
        event = dict(event, files=self.uploads.present(graceid))
        return alert_source_upload(event, policy=self.policy)

    # ---- O4: the alert sequence and its notices -----------------------------

    def sequence_signature(self, record):
        """What the superevent's ``sequence.json`` is computed from.

        The checkpoint's parameters (the superevent record; the events'
        completion times, from their event.json) and inputs (the G-events'
        event.json, the sign-offs): a change makes Snakemake rerun it. An
        event completes only once the upload its sky map comes from is in
        the store (``plan.ready_times``), so its arrival counts too.
        """
        events = [
            [
                g,
                list(self.uploads.records[(g, "event.json")].signature),
                self.uploads.complete(g, self._own_skymap(g, self.events[g])),
            ]
            for g in sorted(record["gw_events"])
            if g in self.events
        ]
        signoffs = self.signoffs.get(record["superevent_id"])
        return [
            json.dumps(record, sort_keys=True),
            events,
            _stat(signoffs) if signoffs else None,
        ]

    def sequence_inputs_written_before(self, record, mtime_ns):
        """Whether the sequence's inputs are all older than ``mtime_ns`` (resume)."""
        paths = [self.uploads.path(g, "event.json") for g in record["gw_events"]]
        signoffs = self.signoffs.get(record["superevent_id"])
        for path in [*paths, *([signoffs] if signoffs else [])]:
            stat = _stat(path)
            if stat is not None and stat[0] > mtime_ns:
                return False
        return True

    def plan_of(self, graceids):
        """A :class:`gwreplay.plan.Plan` of just these events, as the watcher
        sees them, for :mod:`gwreplay.notice_plan`'s questions."""
        events, products = {}, {}
        for graceid in graceids:
            events[graceid], products[graceid] = self.products_of(
                graceid, self.events[graceid]
            )
        return Plan(
            store=Store(root=self.store, events=events),
            results=self.results,
            policy=policy_of(self.conf),
            event_products=products,
        )

    def notice_request(self, notice):
        """A due notice's inputs signature, or the reason it must wait.

        The preferred event's uploads must have arrived (as for an O3 alert)
        and the products the notice copies (``notice_plan.notice_inputs``)
        must exist, or have been requested and failed: a notice is never
        held up behind its own annotations' jobs, and a failed annotation
        fails the notice in its own job, which records why.
        """
        if notice["alert_type"] == "Retraction":
            return ["", []]
        graceid = notice["preferred_event"]
        inputs = self.alert_inputs({"preferred_event": graceid, "gw_events": []})
        if isinstance(inputs, str):
            return inputs
        plan = self.plan_of([graceid])
        results = os.path.join(self.results, "")
        for path in notice_plan.notice_inputs(plan, notice).values():
            if not path.startswith(results) or os.path.exists(path):
                continue
            product = os.path.basename(path)
            if (graceid, product) not in self.requested:
                return f"waiting for {graceid}/{product}"
        return inputs[:2]

    def followup_names(self, sid, notice):
        """The notice's circular and plot (``notice_plan.notice_outputs``)."""
        graceids = (
            [] if notice["alert_type"] == "Retraction" else [notice["preferred_event"]]
        )
        if any(g not in self.events for g in graceids):
            return []
        record = self.superevents.get(sid)
        members = [g for g in (record or {}).get("gw_events", []) if g in self.events]
        plan = self.plan_of(sorted(set(graceids) | set(members)))
        if record is not None:
            plan.superevents[sid] = record
        names = notice_plan.notice_outputs(plan, sid, notice)
        # The notice job's own files (its JSON, and any other form of it
        # under the same stem) are not follow-ups.
        stem = names[0].rsplit(".", 1)[0] + "."
        return [name for name in names if not name.startswith(stem)]

    def frames_ready(self, record):
        """Whether the state-vector check can run now and give its final answer.

        True for MDC events (not checked) and when the frame stream of every
        configured detector has passed the end of the check window (or the
        detector has no frames at all): frames never arrive for times already
        passed, so the answer cannot change. Unused since the watcher stopped
        requesting ``dq.json`` early (one ``superevent`` job builds it).
        """
        event = self.events[record["preferred_event"]]
        if event.get("search") == "MDC":
            return True
        from ..dq import find_frames, ifo_from_channel

        prepost = self.conf.get("check_vector_prepost", {}).get(event["pipeline"])
        if not prepost:
            return False
        end = float(record["t_end"]) + float(prepost[1])
        detectors = {ifo_from_channel(c) for c in self.conf.get("llhoft_channels", {})}
        for detector in sorted(detectors):
            frames = find_frames(self.store, detector, self.conf["llhoft_glob"])
            if frames and max(float(span[1]) for span, _ in frames) < end:
                return False
        return True
