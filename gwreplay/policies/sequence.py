"""The O4 alert sequence of one superevent, on the replay clock (gwcelery 3.0.0).

In O4 GraceDB groups the events into superevents; gwcelery only picks and
freezes the preferred event and sends the notices. :func:`alert_sequence`
replays that part for one superevent as a discrete-event simulation of
gwcelery 3.0.0's single ``superevent`` queue and the label handlers of its
orchestrator, and returns every notice the live system would have sent:

* An event is processed once, when it becomes complete (``ready``): gwcelery's
  ``superevents.handle`` acts only on the ``label_added`` message of the last
  of the ``*_READY`` labels. Events with K1 data, of the ``VTInjection``
  search, without a FAR or with a FAR above ``superevent_far_threshold`` are
  skipped there.
* ``superevents.process``: unless ``LOW_SIGNIF_LOCKED`` is on the superevent,
  the event becomes preferred when ``keyfunc`` ranks it above the preferred
  event (``_update_superevent``); a significant event adds ``ADVREQ`` and
  ``EARLY_WARNING`` (early-warning events) or ``SIGNIF_LOCKED``; a publishable
  event adds ``LOW_SIGNIF_LOCKED``.
* ``orchestrator.handle_superevent`` on those labels: ``LOW_SIGNIF_LOCKED``
  sends the less-significant preliminary for the preferred event unless
  ``SIGNIF_LOCKED`` or ``EARLY_WARNING`` is already there; ``SIGNIF_LOCKED``
  re-selects the preferred event over every event then in the superevent
  (``select_preferred_event``) and sends the significant preliminary;
  ``EARLY_WARNING`` does the same for the EarlyWarning notice unless
  ``SIGNIF_LOCKED`` is there; ``GCN_PRELIM_SENT`` and
  ``LOW_SIGNIF_PRELIM_SENT`` send a second notice of the same kind
  ``superevent_clean_up_timeout`` later, re-selected again; ``ADVOK`` sends the
  Initial notice and ``ADVNO`` the Retraction. Whether a notice goes out and
  which labels block it follow ``earlywarning_preliminary_alert``,
  ``_proceed_if_not_blocked_by``, ``_revise_and_send_second_less_significant_alert``
  and ``earlywarning_preliminary_initial_update_alert``.

On the replay clock a handler runs, to its end, at the moment of the label
that triggers it: the seconds of downloads and uploads between a label and its
notice are not modelled. RAVEN and external coincidences (``RAVEN_ALERT``,
``EM_COINC``, combined sky maps) are out of scope, and so are Update notices
(sent by hand or by PE, not by these handlers).
"""

import heapq

from ..errors import EventInputError
from ..superevents import graceid_sort_key
from . import o4

FROZEN_LABEL = o4.FROZEN_LABEL
SIGNIFICANT_LABEL = o4.SIGNIFICANT_LABEL
EARLY_WARNING_LABEL = o4.EARLY_WARNING_LABEL
#: Labels an event carries once its sky map, em_bright and p_astro are on
#: GraceDB; ``ready`` gives the moment, so all three are added together and
#: :func:`gwreplay.policies.o4.is_complete` reads the ones its group needs.
READY_LABELS = (o4.EMBRIGHT_READY, o4.PASTRO_READY, o4.SKYMAP_READY)
#: Order in which ``superevents.process`` applies the labels of one event.
LOCK_ORDER = ("ADVREQ", EARLY_WARNING_LABEL, SIGNIFICANT_LABEL, FROZEN_LABEL)
#: Uploads of this search carry ``EARLY_WARNING`` (the label gwcelery reads).
EARLY_WARNING_SEARCH = "EarlyWarning"
VT_SEARCH = "VTInjection"

#: gwcelery's internal alert types -> the notice type GraceDB names files by.
NOTICE_TYPES = {
    "earlywarning": "EarlyWarning",
    "less-significant": "Preliminary",
    "preliminary": "Preliminary",
    "initial": "Initial",
    "retraction": "Retraction",
}

#: Labels that stop a notice (``earlywarning_preliminary_alert``).
BLOCKING_LABELS = {
    "preliminary": frozenset({"ADVOK", "ADVNO"}),
    "earlywarning": frozenset({SIGNIFICANT_LABEL, "ADVOK", "ADVNO"}),
    "less-significant": frozenset(
        {EARLY_WARNING_LABEL, SIGNIFICANT_LABEL, "ADVOK", "ADVNO"}
    ),
}
#: Labels that stop the second less-significant notice
#: (``_revise_and_send_second_less_significant_alert``).
SECOND_LESS_SIGNIFICANT_BLOCKING = frozenset(
    {"ADVREQ", "ADVOK", "ADVNO", SIGNIFICANT_LABEL, EARLY_WARNING_LABEL}
)
#: Notice sent -> label that starts the second notice of that kind.
SENT_LABELS = {
    "less-significant": "LOW_SIGNIF_PRELIM_SENT",
    "preliminary": "GCN_PRELIM_SENT",
}

_OWN_KEYS = ("superevent_far_threshold", "superevent_clean_up_timeout")
#: The configuration keys :func:`alert_sequence` reads (gwcelery's names).
CONFIG_KEYS = _OWN_KEYS + tuple(o4.CONFIG_KEYS)

# Same-time order: completions (in upload order), then timers, then sign-offs.
_COMPLETE, _TIMER, _SIGNOFF = 0, 1, 2


def is_skipped(event, superevent_far_threshold):
    """Why ``superevents.handle`` never passes ``event`` on, or None.

    gwcelery 3.0.0 skips events with KAGRA (K1) data, of the VTInjection
    search, and with no FAR or a FAR above ``superevent_far_threshold``.
    """
    if o4.has_kagra(event):
        return "K1 data"
    if event.get("search") == VT_SEARCH:
        return "VTInjection search"
    if event.get("far") is None:
        return "no FAR"
    if event["far"] > superevent_far_threshold:
        return "FAR above superevent_far_threshold"
    return None


def check_signoffs(superevent, signoffs):
    """ADV sign-offs in time order, checked against the superevent.

    Each is ``{"signoff_type": "ADV", "status": "OK"|"NO", "time": GPS}``
    (``STORE/superevents/<SID>/signoffs.json``); other sign-off types are
    ignored. Raises :class:`EventInputError` naming the superevent and
    ``signoffs.json`` for a malformed entry or one dated before the superevent.
    """
    sid = superevent["superevent_id"]
    checked = []
    if not isinstance(signoffs, list):
        raise EventInputError(sid, "signoffs.json", "not a list of sign-offs")
    for number, entry in enumerate(signoffs):
        where = f"sign-off {number}"
        if not isinstance(entry, dict):
            raise EventInputError(sid, "signoffs.json", f"{where} is not an object")
        if entry.get("signoff_type") != "ADV":
            continue
        status, time = entry.get("status"), entry.get("time")
        if status not in ("OK", "NO"):
            raise EventInputError(sid, "signoffs.json", f"{where}: status {status!r}")
        if isinstance(time, bool) or not isinstance(time, (int, float)):
            raise EventInputError(sid, "signoffs.json", f"{where}: time {time!r}")
        if time < superevent["created"]:
            raise EventInputError(
                sid, "signoffs.json", f"{where} is dated before the superevent"
            )
        checked.append((float(time), number, "ADV" + status))
    return sorted(checked)


class _Replay:
    """State of one superevent on GraceDB and gwcelery's queue, replayed."""

    def __init__(self, superevent, events, ready, dq_labels, settings):
        self.superevent = superevent
        self.events = events
        self.ready = ready
        self.dq_labels = frozenset(dq_labels)
        self.settings = settings
        self.ranking = {key: settings[key] for key in o4.CONFIG_KEYS}
        self.labels = set()
        self.queue = []
        self.notices = []
        self.skymap_copied = False
        self.now = superevent["created"]
        self.preferred = min(
            superevent["gw_events"],
            key=lambda g: (events[g]["created"], graceid_sort_key(g)),
        )

    # ---- GraceDB: events and labels as they stand at ``now`` -------------

    def view(self, graceid):
        """The event as ``gracedb.get_event`` returns it at ``now``.

        Store labels, ``EARLY_WARNING`` on EarlyWarning-search uploads (as
        the pipelines upload them), the ``*_READY`` labels once complete.
        """
        event = self.events[graceid]
        labels = set(event.get("labels") or ())
        if event.get("search") == EARLY_WARNING_SEARCH:
            labels.add(EARLY_WARNING_LABEL)
        if graceid in self.ready and self.ready[graceid] <= self.now:
            labels.update(READY_LABELS)
        return dict(
            event, labels=sorted(labels), offline=bool(event.get("offline", False))
        )

    def known_events(self):
        """``gracedb.get_events`` of the superevent: the events uploaded so far."""
        return [
            self.view(g)
            for g in sorted(self.superevent["gw_events"], key=graceid_sort_key)
            if self.events[g]["created"] <= self.now
        ]

    def keyfunc(self, event):
        """``superevents.keyfunc`` with this run's settings."""
        return o4.keyfunc(event, **self.ranking)

    def should_publish(self, event, significant):
        """``superevents.should_publish`` with this run's settings."""
        return o4.should_publish(event, significant=significant, **self.ranking)

    def add_label(self, label, reason):
        """``gracedb.create_label``: a label already applied sends no message."""
        if label in self.labels:
            return
        self.labels.add(label)
        self.on_label(label, frozenset(self.labels), self.preferred, reason)

    def schedule(self, time, phase, action, *args):
        """Run ``action(*args)`` at ``time`` (a Celery countdown, a completion)."""
        heapq.heappush(self.queue, (time, phase, len(self.queue), action, args))

    # ---- gwcelery.tasks.superevents ---------------------------------------

    def process(self, graceid):
        """``superevents.process`` of a complete event (via ``handle``)."""
        event = self.view(graceid)
        if is_skipped(event, self.settings["superevent_far_threshold"]):
            return
        if FROZEN_LABEL not in self.labels:
            preferred = self.view(self.preferred)
            if self.keyfunc(event) > self.keyfunc(preferred):
                self.preferred = graceid
        locks = o4.lock_labels(event, **self.ranking)
        for label in LOCK_ORDER:
            if label == "ADVREQ" and label in locks:
                self.labels.add(label)  # its handler opens a chat channel only
            elif label in locks:
                self.add_label(label, f"{graceid} complete ({label})")

    # ---- gwcelery.tasks.orchestrator --------------------------------------

    def on_label(self, label, labels, preferred, reason):
        """``orchestrator.handle_superevent`` for one ``label_added`` message.

        ``labels`` and ``preferred`` are the superevent in the message.
        """
        if label == FROZEN_LABEL:
            if not labels & {SIGNIFICANT_LABEL, EARLY_WARNING_LABEL}:
                event = self.check_vectors(self.view(preferred))
                self.alert(event, "less-significant", f"{label}: {reason}")
        elif label in (SIGNIFICANT_LABEL, EARLY_WARNING_LABEL):
            if label == EARLY_WARNING_LABEL and SIGNIFICANT_LABEL in labels:
                return
            if FROZEN_LABEL not in labels:
                self.add_label(FROZEN_LABEL, f"{label} applied")
            event = self.reselect()
            if label == SIGNIFICANT_LABEL:
                self.alert(
                    self.check_vectors(event), "preliminary", f"{label}: {reason}"
                )
            else:
                self.alert(event, "earlywarning", f"{label}: {reason}")
        elif label in ("GCN_PRELIM_SENT", "LOW_SIGNIF_PRELIM_SENT"):
            delay = self.settings["superevent_clean_up_timeout"]
            self.schedule(self.now + delay, _TIMER, self.second_alert, label)
        elif label == "ADVOK" and self.skymap_copied:
            # Without a sky map in the superevent's log gwcelery 3.0.0's
            # alerts.send fails (json.loads of a list): no Initial notice.
            self.send("initial", preferred, f"ADVOK: {reason}")
        elif label == "ADVNO":
            self.send("retraction", preferred, f"ADVNO: {reason}")

    def second_alert(self, sent_label):
        """Second preliminary, ``superevent_clean_up_timeout`` after the first.

        ``GCN_PRELIM_SENT`` branch of ``handle_superevent`` and
        ``_revise_and_send_second_less_significant_alert``; neither checks
        the state vectors again.
        """
        if sent_label == "LOW_SIGNIF_PRELIM_SENT":
            if self.labels & SECOND_LESS_SIGNIFICANT_BLOCKING:
                return
            alert_type = "less-significant"
        else:
            alert_type = "preliminary"
        reason = f"{sent_label} + superevent_clean_up_timeout"
        self.alert(self.reselect(), alert_type, reason)

    def reselect(self):
        """``select_preferred_event`` over the superevent's events, made preferred."""
        event = o4.select_preferred_event(self.known_events(), **self.ranking)
        self.preferred = event["graceid"]
        return event

    def check_vectors(self, event):
        """``detchar.check_vectors``: the check's DQV/INJ on superevent and event."""
        found = self.dq_labels & {"DQV", "INJ"}
        self.labels.update(found)
        return dict(event, labels=sorted(set(event["labels"]) | found))

    def alert(self, event, alert_type, reason):
        """``earlywarning_preliminary_alert``: publishable and not blocked -> send."""
        self.skymap_copied = True  # copied to the superevent before the checks
        significant = alert_type != "less-significant"
        if not self.should_publish(event, significant):
            return
        if not {"DQV", "INJ"}.isdisjoint(event["labels"]):
            return
        if self.labels & BLOCKING_LABELS[alert_type]:
            return
        self.send(alert_type, self.preferred, reason)

    def send(self, alert_type, preferred, reason):
        """``earlywarning_preliminary_initial_update_alert`` / ``retraction_alert``."""
        if alert_type != "retraction" and "INJ" in self.labels:
            return
        self.notices.append(
            {
                "alert_number": len(self.notices) + 1,
                "alert_type": NOTICE_TYPES[alert_type],
                "significant": (
                    None
                    if alert_type == "retraction"
                    else alert_type != "less-significant"
                ),
                "preferred_event": preferred,
                "due": self.now,
                "reason": reason,
            }
        )
        if alert_type in SENT_LABELS:
            self.add_label(SENT_LABELS[alert_type], f"{alert_type} sent")

    def run(self, signoffs):
        """Replay every completion, timer and sign-off in time order."""
        self.labels.update(self.dq_labels & {"DQV", "INJ"})  # check at creation
        created = self.superevent["created"]
        order = sorted(
            self.superevent["gw_events"],
            key=lambda g: (self.events[g]["created"], graceid_sort_key(g)),
        )
        for graceid in order:
            if graceid in self.ready:
                when = max(
                    self.ready[graceid], self.events[graceid]["created"], created
                )
                self.schedule(when, _COMPLETE, self.process, graceid)
        for time, _, label in signoffs:
            self.schedule(time, _SIGNOFF, self.add_label, label, f"sign-off at {time}")
        while self.queue:
            self.now, _, _, action, args = heapq.heappop(self.queue)
            action(*args)
        return self.notices


def alert_sequence(superevent, events, *, ready, signoffs, dq_labels=(), **settings):
    """Every notice gwcelery 3.0.0 would send for ``superevent``, in order.

    ``superevent``: GraceDB record (``superevent_id``, ``created``,
    ``gw_events``, GPS times). ``events``: store dicts by GraceID (at least
    those in ``gw_events``). ``ready[graceid]``: replay-clock GPS time at
    which the event is complete; an event missing from it never is.
    ``signoffs``: the superevent's ``signoffs.json`` entries. ``dq_labels``:
    what the state-vector check finds (``DQV``, ``INJ``). ``settings``: the
    keys of :data:`CONFIG_KEYS`, gwcelery's names and meanings.

    Returns dicts with ``alert_number``, ``alert_type`` (EarlyWarning,
    Preliminary, Initial, Retraction), ``significant`` (None for a
    Retraction, which carries no event), ``preferred_event``, ``due`` (GPS)
    and ``reason``. Raises :class:`EventInputError` for bad sign-offs.
    """
    missing = [key for key in CONFIG_KEYS if key not in settings]
    if missing:
        raise TypeError(f"alert_sequence() missing settings: {', '.join(missing)}")
    checked = check_signoffs(superevent, signoffs)
    replay = _Replay(superevent, events, ready, dq_labels, settings)
    return replay.run(checked)
