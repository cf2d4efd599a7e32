"""O4: when each notice of a superevent's sequence falls due, and what it waits for.

Under the O4 policy (``gwreplay.policies.follows_sequence``) the workflow
computes a superevent's alert sequence in a checkpoint (``sequence.json``,
gwcelery 3.0.0's notices on the replay clock) and makes each notice a file
target of its own (``rules/superevent_o4.smk``). :class:`NoticeSchedule`
plans, on the replay clock:

* ``("sequence", sid, signature)``: ``sequence.json`` when the superevent
  appears and again whenever what it is computed from changes (an event
  joins or is replaced, its ``signoffs.json`` appears or changes); the
  superevent's notices are not planned in the same run, since their numbers
  and types come from the file;
* ``("notice", (sid, number), request)``: the notice's IGWN alert JSON once
  the replay clock has passed its ``due`` time (+ ``--grace-seconds``) and
  its preferred event's products exist; requested once;
* ``("followup", (sid, number), names)``: its circular and sky-map plot, in
  a later run than any notice, so that they never delay one;
* ``("record", sid, sequence_mtime)``: ``alert.json`` once every notice of
  the sequence is due, sent and followed up.

What was sent is :class:`gwreplay.watch.state.SequenceState`'s.
"""

import json
import logging
import os

from .. import notices
from ..products import SEQUENCE
from .clock import watch_grace_seconds
from .targets import alert_path

log = logging.getLogger("gwreplay.watch")

#: Follow-ups (circulars, plots, alert.json) are not started when a notice
#: falls due within this many seconds: their run (a plot takes seconds)
#: would delay it.
FOLLOWUP_GAP_SECONDS = 10.0

_SENT = ("produced", "requested")
_DONE = ("produced", "failed")


def followup_records(sid, names):
    """Failure-record keys of a notice's circular and plot jobs."""
    keys = []
    for name in names:
        stem, _, number = name.rsplit(".", 1)[0].rpartition("-")
        kind = stem.removesuffix("-circular") if name.endswith(".txt") else stem
        keys.append(f"{sid}-{kind}-{number}")
    return keys


class NoticeSchedule:
    """The O4 targets due now: sequences, notices, their follow-ups, records."""

    def __init__(
        self,
        clock,
        results,
        targets,
        sequences,
        grace_seconds=watch_grace_seconds,
        followup_gap=FOLLOWUP_GAP_SECONDS,
    ):
        self.clock = clock
        self.results = results
        self.targets = targets
        self.state = sequences  # SequenceState
        self.grace_seconds = grace_seconds
        self.followup_gap = followup_gap
        self.cache = {}  # sid -> (mtime_ns, sequence)
        self.announced = {}  # sid -> mtime_ns of the sequence last logged
        self.waiting = {}  # (sid, number) -> reason last logged
        self.tried = {}  # (sid, number) -> request of a failed notice

    def sequence_path(self, sid):
        return alert_path(self.results, sid, SEQUENCE)

    def read(self, sid):
        """``(sequence, mtime_ns)`` of the superevent, or ``(None, None)``."""
        path = self.sequence_path(sid)
        try:
            mtime = os.stat(path).st_mtime_ns
        except FileNotFoundError:
            return None, None
        cached = self.cache.get(sid)
        if cached and cached[0] == mtime:
            return cached[1], mtime
        try:
            with open(path, encoding="utf-8") as f:
                sequence = json.load(f)
        except (OSError, ValueError):
            return None, None
        self.cache[sid] = (mtime, sequence)
        return sequence, mtime

    # ---- planning ------------------------------------------------------------

    def plan(self, superevents):
        """``(urgent, later)`` targets: sequences and notices; follow-ups, records."""
        now = self.clock.now()
        urgent, later = [], []
        for sid, record in superevents.items():
            entry = self.state.sequences.get(sid) or {}
            signature = self.targets.sequence_signature(record)
            status = entry.get("status")
            if entry.get("signature") != signature or status in (None, "retry"):
                urgent.append(("sequence", sid, signature))
                continue
            if status != "produced":
                continue  # failed from these very inputs
            sequence, mtime = self.read(sid)
            if sequence is None:
                log.info("%s of %s is gone; requested again", SEQUENCE, sid)
                urgent.append(("sequence", sid, signature))
                continue
            self._announce(sid, sequence, mtime, now)
            complete = True
            for notice in sequence["notices"]:
                target, done = self._plan_notice(sid, notice, now)
                complete = complete and done
                if target is not None:
                    (urgent if target[0] == "notice" else later).append(target)
            if complete:
                kept = entry.get("record") or {}
                same = kept.get("sequence_mtime_ns") == mtime
                if not same or kept.get("status") in (None, "retry"):
                    later.append(("record", sid, mtime))
        return urgent, later

    def _plan_notice(self, sid, notice, now):
        """``(target or None, whether the notice and its follow-ups are done)``."""
        number = notice["alert_number"]
        sent = self.state.notice(sid, number)
        status = sent and sent.get("status")
        if status in _SENT:
            self.state.compare(sid, notice)
            if status == "requested":
                return None, False
            return self._followups(sid, notice, sent)
        if now < notice["due"] + self.grace_seconds:
            return None, False
        filename = notices.notice_json(sid, notice)
        path = alert_path(self.results, sid, filename)
        if sent is None and os.path.exists(path):
            self.state.adopt_notice(sid, notice, filename, path, self.clock)
            return None, False
        request = self.targets.notice_request(notice)
        if isinstance(request, str):
            self._wait(sid, number, request)
            return None, False
        if status == "failed" and self.tried.get((sid, number)) == request:
            return None, True  # failed from these very inputs: nothing to wait for
        self.waiting.pop((sid, number), None)
        return ("notice", (sid, number), {"file": filename, "notice": notice}), False

    def _followups(self, sid, notice, sent):
        """The circular and plot of a sent notice, unless done."""
        follow = sent.get("followups") or {}
        if follow.get("status") in _DONE:
            return None, True
        if follow.get("status") == "requested":
            return None, False
        names = self.targets.followup_names(sid, notice)
        paths = [alert_path(self.results, sid, name) for name in names]
        if not follow and all(os.path.exists(p) for p in paths):
            sent["followups"] = {"status": "produced", "files": names, "attempts": 0}
            return None, True
        return ("followup", (sid, notice["alert_number"]), names), False

    def hold_later(self, superevents):
        """Whether follow-ups must wait: a notice falls due within the gap."""
        due = self.seconds_to_next_due(superevents)
        return due is not None and due < self.followup_gap

    def seconds_to_next_due(self, superevents):
        """Seconds until the next notice not yet requested falls due, or None."""
        now = self.clock.now()
        dues = []
        for sid in superevents:
            sequence = self.cache.get(sid, (None, None))[1]
            if sequence is None:
                continue
            for notice in sequence["notices"]:
                number = notice["alert_number"]
                sent = self.state.notice(sid, number)
                if sent and sent.get("status") in (*_SENT, "failed"):
                    continue
                if (sid, number) not in self.waiting:
                    dues.append(notice["due"] + self.grace_seconds - now)
        future = [d for d in dues if d > 0]
        return min(future) if future else None

    # ---- log -----------------------------------------------------------------

    def _announce(self, sid, sequence, mtime, now):
        if self.announced.get(sid) == mtime:
            return
        self.announced[sid] = mtime
        parts = [
            f"{n['alert_number']} {n['alert_type']}"
            + (f" {n['preferred_event']}" if n["alert_type"] != "Retraction" else "")
            + (
                f" in {n['due'] - now:.1f} s"
                if n["due"] > now
                else f" {now - n['due']:.1f} s ago"
            )
            for n in sequence["notices"]
        ]
        log.info(
            "sequence %s: %d notice(s)%s",
            sid,
            len(parts),
            f": {'; '.join(parts)}" if parts else "",
        )

    def _wait(self, sid, number, reason):
        if self.waiting.get((sid, number)) != reason:
            self.waiting[(sid, number)] = reason
            log.info("notice %s-%d due, waiting: %s", sid, number, reason)
