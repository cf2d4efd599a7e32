"""gwcelery 3.0.0's own alert sequence of superevents, for the oracle test.

Runs under the oracle environment's python (gwcelery==3.0.0), never under
gwreplay's: ``python sequence_bridge.py < cases.json > notices.json``. Each
case is one superevent (``superevent``, ``events`` by GraceID, ``ready``,
``signoffs``, ``dq_labels``, as gwreplay's ``alert_sequence`` takes them); the
answer is, per case, the notices gwcelery sent.

gwcelery runs its own code: ``superevents.handle`` (and through it
``process``) on the ``label_added`` message that makes an event complete,
``orchestrator.handle_superevent`` on every message about the superevent,
and everything they start, down to ``alerts.send`` and its
``_create_base_alert_dict``, with gwcelery's own configuration. What is
replaced is what talks to the outside:

* the bodies of the ``gwcelery.tasks.gracedb`` task wrappers, by
  :class:`GraceDb`, an in-memory GraceDB that holds the superevent (labels,
  preferred event, file log) and its events, and sends a ``label_added``
  message for every new label;
* the Celery plumbing: tasks run eagerly, in this process; a countdown
  (``superevent_clean_up_timeout``, the EarlyWarning DQR timer) goes on a
  replay clock instead of a broker;
* the Kafka streams: a recorder takes the alert gwcelery would write;
* tasks that read or draw things no notice decision reads, whose bodies
  are replaced: ``detchar.check_vectors`` (frames: it applies the case's
  ``dq_labels`` as gwcelery labels its results), ``detchar.omegascan``,
  ``skymaps.annotate_fits`` (plots), ``circulars.create_*_circular``
  (ligo-followup-advocate reading GraceDB) and
  ``rrt_utils.check_high_profile``.
"""

import heapq
import json
import sys

from celery import canvas, signals
from celery.app.task import Task
from gwcelery import app
from gwcelery.tasks import (
    alerts,
    circulars,
    detchar,
    gracedb,
    orchestrator,
    rrt_utils,
    skymaps,
    superevents,
)

READY_LABELS = ("EMBRIGHT_READY", "PASTRO_READY", "SKYMAP_READY")
NOTICE_TYPES = {
    "EARLYWARNING": "EarlyWarning",
    "PRELIMINARY": "Preliminary",
    "INITIAL": "Initial",
    "RETRACTION": "Retraction",
}


class Clock:
    """The replay clock: actions at GPS times, messages drained in between."""

    def __init__(self):
        self.now = 0.0
        self.queue = []
        self.messages = []

    def at(self, time, phase, action):
        """Run ``action()`` at ``time``; ``phase`` orders actions of one moment."""
        heapq.heappush(self.queue, (time, phase, len(self.queue), action))

    def run(self):
        """Every action in time order, each followed by the messages it sent."""
        while self.queue:
            self.now, _, _, action = heapq.heappop(self.queue)
            action()
            while self.messages:
                handler, message = self.messages.pop(0)
                handler(message)


CLOCK = Clock()


class GraceDb:
    """One superevent and its events, as GraceDB holds them on the replay clock."""

    def __init__(self, case):
        self.superevent = case["superevent"]
        self.sid = self.superevent["superevent_id"]
        self.events = case["events"]
        self.ready = case["ready"]
        self.dq_labels = set(case["dq_labels"])
        self.labels = []
        self.log = []
        self.order = sorted(
            self.superevent["gw_events"],
            key=lambda g: (self.events[g]["created"], int(g.lstrip("GMT"))),
        )
        self.preferred = self.order[0]
        self.t_0 = self.events[self.preferred]["gpstime"]

    def event(self, graceid):
        """``get_event``: store labels, EARLY_WARNING, READY labels once complete."""
        event = dict(self.events[graceid])
        labels = set(event.get("labels") or ())
        if event.get("search") == "EarlyWarning":
            labels.add("EARLY_WARNING")
        if graceid in self.ready and self.ready[graceid] <= CLOCK.now:
            labels.update(READY_LABELS)
        event.update(
            labels=sorted(labels),
            offline=bool(event.get("offline", False)),
            superevent=self.sid,
            processing_status="active",
            links={"self": f"https://gracedb.invalid/api/events/{graceid}"},
        )
        return event

    def snapshot(self):
        """``get_superevent``: the superevent as GraceDB serialises it now."""
        preferred = self.event(self.preferred)
        return {
            "superevent_id": self.sid,
            "category": "Production",
            "labels": list(self.labels),
            "preferred_event": self.preferred,
            "preferred_event_data": preferred,
            "gw_events": list(self.superevent["gw_events"]),
            "t_start": self.superevent["t_start"],
            "t_0": self.t_0,
            "t_end": self.superevent["t_end"],
            "far": preferred["far"],
            "em_type": None,
            "time_coinc_far": None,
            "space_coinc_far": None,
            "links": {"self": f"https://gracedb.invalid/api/superevents/{self.sid}/"},
        }

    def message(self, alert_type, data):
        """Queue an igwn-alert message about the superevent for the orchestrator."""
        alert = {
            "uid": self.sid,
            "alert_type": alert_type,
            "data": data,
            "object": self.snapshot(),
        }
        CLOCK.messages.append((orchestrator.handle_superevent, alert))

    # ---- the task wrappers of gwcelery.tasks.gracedb ----------------------

    def create_label(self, label, graceid):
        if graceid == self.sid and label not in self.labels:
            self.labels.append(label)
            self.message("label_added", {"name": label})

    def remove_label(self, label, graceid):
        if graceid == self.sid and label in self.labels:
            self.labels.remove(label)

    def get_labels(self, graceid):
        if graceid == self.sid:
            return set(self.labels)
        return set(self.event(graceid)["labels"])

    def get_superevent(self, graceid):
        return self.snapshot()

    def get_event(self, graceid):
        return self.event(graceid)

    def get_events(self, query, **kwargs):
        return [
            self.event(g) for g in self.order if self.events[g]["created"] <= CLOCK.now
        ]

    def update_superevent(
        self,
        superevent_id,
        t_start=None,
        t_end=None,
        t_0=None,
        preferred_event=None,
        **kwargs,
    ):
        if preferred_event is not None:
            self.preferred = preferred_event
        if t_0 is not None:
            self.t_0 = t_0

    def upload(self, filecontents, filename, graceid, message, tags=()):
        if filename:
            version = sum(1 for entry in self.log if entry["filename"] == filename)
            self.log.append(
                {
                    "filename": filename,
                    "file_version": version,
                    "tag_names": list(tags),
                    "comment": message,
                }
            )

    def download(self, filename, graceid):
        return b"{}" if filename.split(",")[0].endswith(".json") else b"FITS"

    def get_log(self, graceid):
        return list(self.log)

    def nothing(self, *args, **kwargs):
        """``expose``, ``create_tag``, ``add_pipeline_preferred_event``."""


GRACEDB = None
NOTICES = []
FAILURES = []


def _record_failure(sender=None, exception=None, **kwargs):
    """A task of gwcelery that raised: kept for the answer."""
    FAILURES.append(f"{sender.name}: {type(exception).__name__}: {exception}")


def _install_gracedb():
    """Point every gracedb task wrapper's body at the current :data:`GRACEDB`."""
    names = (
        "create_label",
        "remove_label",
        "get_labels",
        "get_superevent",
        "get_event",
        "get_events",
        "update_superevent",
        "upload",
        "download",
        "get_log",
    )
    for name in names:
        getattr(gracedb, name).run = lambda *a, _name=name, **k: getattr(
            GRACEDB, _name
        )(*a, **k)
    for name in ("expose", "create_tag", "add_pipeline_preferred_event"):
        getattr(gracedb, name).run = lambda *a, **k: None


def _countdown(signature, options):
    """The countdown a canvas is applied with, wherever Celery keeps it."""
    countdown = options.get("countdown") or signature.options.get("countdown")
    if not countdown and isinstance(signature, canvas._chain) and signature.tasks:
        countdown = signature.tasks[0].options.get("countdown")
    return countdown


def _deferring(original):
    """Wrap a canvas ``apply_async``: a countdown goes on the replay clock."""

    def apply_async(self, *args, **options):
        countdown = _countdown(self, options)
        if countdown:
            options.pop("countdown", None)
            released = self.clone()
            released.options.pop("countdown", None)
            CLOCK.at(
                CLOCK.now + countdown, 1, lambda: original(released, *args, **options)
            )
            return None
        return original(self, *args, **options)

    return apply_async


def _install_celery():
    """Eager tasks; countdowns on :data:`CLOCK` (the Celery plumbing)."""
    app.conf.task_always_eager = True
    # A failing task ends its chain and no more, as on a worker.
    app.conf.task_eager_propagates = False
    signals.task_failure.connect(_record_failure, weak=False)
    for cls in (canvas.Signature, canvas._chain, canvas.group, canvas._chord):
        if "apply_async" in vars(cls):
            cls.apply_async = _deferring(vars(cls)["apply_async"])
    original = Task.apply_async

    def task_apply_async(self, args=None, kwargs=None, **options):
        if options.get("countdown"):
            countdown = options.pop("countdown")
            CLOCK.at(
                CLOCK.now + countdown,
                1,
                lambda: original(self, args, kwargs, **options),
            )
            return None
        return original(self, args, kwargs, **options)

    Task.apply_async = task_apply_async


class Recorder:
    """The Kafka stream: records what gwcelery writes."""

    class serialization_model:
        def __init__(self, content):
            self.content = content

        def serialize(self):
            return {"content": json.dumps(self.content, default=str).encode()}

    def get_payload_content(self, payload):
        return payload.content

    def write(self, payload):
        NOTICES[-1]["payload"] = payload.content


def _install_outside():
    """Kafka recorder; bodies of the tasks that read frames or draw or compose."""
    app.conf["kafka_alert_config"] = {
        "recorder": {
            "url": "kafka://recorder",
            "suffix": "json",
            "skymap_encoder": lambda b: None,
        }
    }
    app.conf["kafka_streams"] = {"recorder": Recorder()}
    send = alerts.send.run

    def recording_send(skymap_and_classification, superevent, alert_type, **kw):
        NOTICES.append(
            {"preferred_event": superevent["preferred_event"], "due": CLOCK.now}
        )
        return send(skymap_and_classification, superevent, alert_type, **kw)

    alerts.send.run = recording_send

    def check_vectors(event, graceid, start, end):
        found = sorted(GRACEDB.dq_labels & {"DQV", "INJ"})
        for label in found:
            gracedb.create_label(label, graceid)
        return dict(event, labels=list(event.get("labels", [])) + found)

    detchar.check_vectors.run = check_vectors
    detchar.omegascan.run = lambda *a, **k: None
    skymaps.annotate_fits.run = lambda *a, **k: None
    rrt_utils.check_high_profile.run = lambda *a, **k: None
    for name in (
        "create_initial_circular",
        "create_retraction_circular",
        "create_emcoinc_circular",
    ):
        getattr(circulars, name).run = lambda *a, **k: "circular"


def _complete(graceid):
    """The last ``*_READY`` label lands on the event: ``superevents.handle``."""
    event = GRACEDB.event(graceid)
    superevents.handle(
        {
            "alert_type": "label_added",
            "uid": graceid,
            "data": {"name": "SKYMAP_READY"},
            "object": event,
        }
    )


def replay(case):
    """gwcelery's notices for one case, as plain dicts."""
    global GRACEDB
    GRACEDB = GraceDb(case)
    del NOTICES[:], FAILURES[:]
    CLOCK.__init__()
    created = case["superevent"]["created"]
    CLOCK.now = created
    CLOCK.at(created, -1, lambda: GRACEDB.message("new", {}))
    for graceid in GRACEDB.order[1:]:
        when = GRACEDB.events[graceid]["created"]
        data = {
            "t_start": case["superevent"]["t_start"],
            "t_end": case["superevent"]["t_end"],
        }
        CLOCK.at(when, -1, lambda d=data: GRACEDB.message("event_added", d))
    for graceid in GRACEDB.order:
        if graceid in GRACEDB.ready:
            when = max(
                GRACEDB.ready[graceid], GRACEDB.events[graceid]["created"], created
            )
            CLOCK.at(when, 0, lambda g=graceid: _complete(g))
    for signoff in sorted(case["signoffs"], key=lambda s: s["time"]):
        if signoff.get("signoff_type") == "ADV":
            label = "ADV" + signoff["status"]
            CLOCK.at(
                signoff["time"],
                2,
                lambda lab=label: gracedb.create_label(lab, GRACEDB.sid),
            )
    CLOCK.run()
    answer = []
    sent = [notice for notice in NOTICES if "payload" in notice]
    for number, notice in enumerate(sent, 1):
        payload = notice["payload"]
        answer.append(
            {
                "alert_number": number,
                "alert_type": NOTICE_TYPES[payload["alert_type"]],
                "significant": (payload["event"] or {}).get("significant"),
                "preferred_event": notice["preferred_event"],
                "due": notice["due"],
            }
        )
    return {"notices": answer, "failures": list(FAILURES)}


def main():
    """Cases (JSON) on stdin -> gwcelery's notices per case (JSON) on stdout."""
    cases = json.load(sys.stdin)
    _install_gracedb()
    _install_celery()
    _install_outside()
    json.dump([replay(case) for case in cases], sys.stdout)


if __name__ == "__main__":
    main()
