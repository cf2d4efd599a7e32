"""The watcher's restart state: every alert requested, in ``watch_state.json``.

``RESULTS/watch_state.json`` (written atomically, replay-clock times only)
lists per superevent the alert's status (``requested``, ``produced``,
``retry``, ``failed``), preferred event, events at the time, due time, how
many times it was requested and produced, the events that joined later and
the reason of a failure. With it a restarted watcher neither misses nor
repeats an alert: an ``alert.json`` present counts as produced, and one
requested by a run that was stopped is requested again
(``docs/watcher.md``, "Runs, batches, restarts").
"""

import json
import logging
import os
import time

from ..atomic import write_json
from ..errors import ReplayError
from ..summary import alert_status

log = logging.getLogger("gwreplay.watch")

#: Attempts at an alert whose run ended without producing it or recording why.
ALERT_ATTEMPTS = 3


class WatchState:
    """The alerts of one results folder, and the number of runs so far."""

    def __init__(self, path, *, store, results, timeout):
        self.path = path
        self.store = store
        self.results = results
        self.timeout = timeout
        self.alerts = {}  # sid -> state record
        self.sequences = {}  # O4: sid -> sequence, notices (SequenceState)
        self.runs = 0

    def load(self):
        """Alerts requested or produced before a restart."""
        try:
            with open(self.path, encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ReplayError(f"{self.path}: unreadable state: {exc}") from exc
        try:
            self.alerts = {sid: dict(rec) for sid, rec in state["alerts"].items()}
            self.sequences = dict(state.get("sequences") or {})
            self.runs = int(state.get("runs", 0))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ReplayError(f"{self.path}: malformed state: {exc}") from exc

    def save(self):
        """``RESULTS/watch_state.json``, atomically; replay-clock times only."""
        write_json(
            self.path,
            {
                "store": self.store,
                "results": self.results,
                "orchestrator_timeout": self.timeout,
                "runs": self.runs,
                "alerts": self.alerts,
                "sequences": self.sequences,
            },
        )

    # ---- queries -----------------------------------------------------------

    def status(self, sid):
        """Status of a superevent's alert, or None if never requested."""
        return self.alerts.get(sid, {}).get("status")

    def preferred_event(self, sid):
        """The preferred event an alert was requested for."""
        return self.alerts[sid]["preferred_event"]

    def alerted_events(self):
        """Preferred event -> superevent, for alerts requested or produced."""
        return {
            record["preferred_event"]: sid
            for sid, record in self.alerts.items()
            if record["status"] in ("requested", "produced")
        }

    def produced_count(self):
        """How many alerts were issued."""
        return sum(1 for a in self.alerts.values() if a["status"] == "produced")

    # ---- transitions -------------------------------------------------------

    def next_run(self):
        """Count one more Snakemake run; its number."""
        self.runs += 1
        return self.runs

    def requested(self, sid, record, due):
        """An alert is requested for the superevent as ``record`` has it."""
        entry = self.alerts.setdefault(
            sid, {"requests": 0, "attempts": 0, "produced": 0}
        )
        entry.update(
            status="requested",
            preferred_event=record["preferred_event"],
            gw_events=record["gw_events"],
            due_gps=due,
        )
        entry["requests"] += 1
        entry["attempts"] += 1

    def note_late(self, sid, record):
        """Record (and log once) each event that joined after the alert."""
        done = self.alerts[sid]
        late = done.get("late_events", [])
        for graceid in record["gw_events"]:
            if graceid in done["gw_events"] or graceid in late:
                continue
            late = done["late_events"] = [*late, graceid]
            log.info(
                "late event %s joined %s after its alert; alert not re-issued",
                graceid,
                sid,
            )

    def issued(self, sid, path, clock):
        """Log the alert that just appeared at ``path``; count it."""
        entry = self.alerts[sid]
        with open(path, encoding="utf-8") as f:
            alert = json.load(f)
        entry.update(status="produced", produced=entry.get("produced", 0) + 1)
        entry.pop("reason", None)
        appeared = os.stat(path).st_mtime
        lag = appeared - clock.wall_time(entry["due_gps"])
        outcome = "notice sent" if alert.get("notice") else alert_status(alert)
        log.info(
            "alert issued %s: preferred %s, %s, %.2f s after due",
            sid,
            alert.get("preferred_event"),
            outcome,
            lag,
        )

    def not_produced(self, sid, reason, status, logfile):
        """A run ended without the alert: retry it, or record why it failed.

        Without a failure record (``reason`` None: the run was interrupted,
        or Snakemake failed before any job) it is tried again, up to
        :data:`ALERT_ATTEMPTS` times.
        """
        _not_produced(self.alerts[sid], f"alert {sid}", reason, status, logfile, self)

    def resume(self, superevents, alert_path, due, clock):
        """Alerts present in RESULTS count as produced; in-flight ones are redone.

        ``alert_path(sid)`` is where an alert would be, ``due(record)`` its
        due time. Returns the superevents whose alert is present.
        """
        present = []
        for sid, record in superevents.items():
            entry = self.alerts.get(sid)
            path = alert_path(sid)
            if os.path.exists(path):
                if entry is None:
                    self.alerts[sid] = {
                        "status": "produced",
                        "preferred_event": record["preferred_event"],
                        "gw_events": record["gw_events"],
                        "due_gps": due(record),
                        "requests": 0,
                        "attempts": 0,
                        "produced": 1,
                    }
                elif entry["status"] != "produced":
                    self.issued(sid, path, clock)
                present.append(sid)
            elif entry is not None and entry["status"] == "requested":
                entry["status"] = "retry"  # the run was stopped before it ended
            elif entry is not None and entry["status"] == "produced":
                log.info("alert %s was issued before; its alert.json is gone", sid)
        self.save()
        return present


#: The fields of a notice that say what was sent (the rest is bookkeeping).
NOTICE_FIELDS = ("alert_type", "significant", "preferred_event", "due")


def file_digest(path):
    """SHA-256 of a file's bytes."""
    import hashlib

    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class SequenceState:
    """O4: each superevent's sequence, every notice sent and its follow-ups.

    Kept under ``sequences`` in ``watch_state.json`` beside the O3
    ``alerts``. Per superevent: the sequence's status and the signature of
    what it was computed from (``Targets.sequence_signature``);
    per notice number: what was sent (type, significance, preferred event,
    due time), its status, how often it was requested and produced, the
    file's digest and mtime, how often Snakemake rewrote it and what a
    recomputed sequence changed in it; the status of its circular and plot;
    and of ``alert.json``, the superevent's record.
    """

    def __init__(self, state):
        self.state = state  # the WatchState whose file holds these records
        self.requested_ns = {}  # sid -> wall time (ns) of the sequence's request

    @property
    def sequences(self):
        return self.state.sequences

    def entry(self, sid):
        """The superevent's record (created empty)."""
        return self.sequences.setdefault(
            sid, {"status": None, "requests": 0, "attempts": 0, "notices": {}}
        )

    def notice(self, sid, number):
        """The record of notice ``number`` of ``sid``, or None."""
        return self.sequences.get(sid, {}).get("notices", {}).get(str(number))

    # ---- the sequence ------------------------------------------------------

    def sequence_requested(self, sid, signature):
        entry = self.entry(sid)
        if entry.get("signature") != signature:
            entry["attempts"] = 0
        entry.update(status="requested", signature=signature)
        self.requested_ns[sid] = time.time_ns()
        entry["requests"] += 1
        entry["attempts"] += 1

    def sequence_outcome(self, sid, path, reason, status, logfile):
        """After a run: ``sequence.json`` made (newer than the request), or not."""
        entry = self.entry(sid)
        made = os.path.exists(path) and (
            status == 0 or os.stat(path).st_mtime_ns >= self.requested_ns.get(sid, 0)
        )
        if made:
            entry["status"] = "produced"
            entry.pop("reason", None)
            return True
        _not_produced(entry, f"sequence {sid}", reason, status, logfile, self.state)
        return False

    # ---- notices -----------------------------------------------------------

    def notice_requested(self, sid, notice, filename):
        entry = self.entry(sid)
        record = entry["notices"].setdefault(
            str(notice["alert_number"]),
            {"requests": 0, "attempts": 0, "produced": 0, "rewrites": 0},
        )
        record.update(
            status="requested",
            file=filename,
            **{k: notice[k] for k in NOTICE_FIELDS if k != "due"},
            due_gps=notice["due"],
        )
        record["requests"] += 1
        record["attempts"] += 1

    def notice_outcome(self, sid, number, path, clock, reason, status, logfile):
        """After a run: the notice was sent (its file exists), or not."""
        record = self.notice(sid, number)
        if os.path.exists(path):
            self._sent(sid, record, path, clock)
            return True
        _not_produced(
            record, f"notice {record['file']}", reason, status, logfile, self.state
        )
        return False

    def _sent(self, sid, record, path, clock, adopted=False):
        record.update(status="produced", produced=record.get("produced", 0) + 1)
        record.pop("reason", None)
        record["sha256"] = file_digest(path)
        record["mtime_ns"] = os.stat(path).st_mtime_ns
        lag = os.stat(path).st_mtime - clock.wall_time(record["due_gps"])
        log.info(
            "notice %s %s: %s%s, %.2f s after due",
            "found" if adopted else "sent",
            record["file"],
            f"preferred {record['preferred_event']}"
            if record.get("preferred_event")
            else "retraction",
            "" if record.get("significant") is not False else ", less significant",
            lag,
        )

    def adopt_notice(self, sid, notice, filename, path, clock):
        """A notice file present that this watcher did not request (resume)."""
        self.notice_requested(sid, notice, filename)
        record = self.notice(sid, notice["alert_number"])
        record.update(requests=0, attempts=0)
        self._sent(sid, record, path, clock, adopted=True)

    def compare(self, sid, notice):
        """A recomputed sequence against what was sent under that number.

        The live system never takes back a notice: a difference is recorded
        (``superseded``) and logged once; the notice is not requested again.
        """
        record = self.notice(sid, notice["alert_number"])
        sent = {k: record.get(k) for k in NOTICE_FIELDS if k != "due"}
        sent["due"] = record.get("due_gps")
        now = {k: notice.get(k) for k in NOTICE_FIELDS}
        if sent == now:
            return False
        change = ", ".join(
            f"{k} {sent[k]} -> {now[k]}" for k in now if sent[k] != now[k]
        )
        superseded = record.setdefault("superseded", [])
        if change not in superseded:
            superseded.append(change)
            log.info(
                "notice %s-%s: the recomputed sequence differs (%s); "
                "sent notice not re-issued",
                sid,
                notice["alert_number"],
                change,
            )
        return True

    def check_rewrites(self, sid, path_of):
        """Notices Snakemake rewrote (stale by its rules): count, compare content.

        ``path_of(record)`` is a notice's path. A rewrite with the same bytes
        is only counted; one with other bytes is logged and recorded
        (``content_changed``): the replay's file now differs from what was
        sent, as the batch replay of the finished store would have it.
        """
        for record in self.sequences.get(sid, {}).get("notices", {}).values():
            if record.get("status") != "produced":
                continue
            path = path_of(record)
            try:
                mtime = os.stat(path).st_mtime_ns
            except FileNotFoundError:
                continue
            if mtime == record.get("mtime_ns"):
                continue
            digest = file_digest(path)
            record["mtime_ns"] = mtime
            record["rewrites"] = record.get("rewrites", 0) + 1
            if digest != record.get("sha256"):
                record["content_changed"] = True
                record["sha256"] = digest
                log.info(
                    "notice %s rewritten by Snakemake with other content "
                    "(its inputs changed after it was sent)",
                    record["file"],
                )
            else:
                log.info(
                    "notice %s rewritten by Snakemake, same content", record["file"]
                )

    # ---- follow-ups and the superevent's record ---------------------------

    def followups_requested(self, sid, number, names):
        record = self.notice(sid, number)
        follow = record.setdefault("followups", {"attempts": 0})
        follow.update(status="requested", files=list(names))
        follow["attempts"] += 1

    def followups_outcome(self, sid, number, paths, reason, status, logfile):
        record = self.notice(sid, number)
        follow = record["followups"]
        if all(os.path.exists(p) for p in paths):
            follow["status"] = "produced"
            follow.pop("reason", None)
            return True
        what = f"circular/plot of {record['file']}"
        _not_produced(follow, what, reason, status, logfile, self.state)
        return False

    def record_requested(self, sid, sequence_mtime):
        entry = self.entry(sid)
        record = entry.setdefault("record", {"attempts": 0})
        if record.get("sequence_mtime_ns") != sequence_mtime:
            record["attempts"] = 0
        record.update(status="requested", sequence_mtime_ns=sequence_mtime)
        record["attempts"] += 1

    def record_outcome(self, sid, path, reason, status, logfile):
        record = self.entry(sid)["record"]
        if os.path.exists(path):
            record["status"] = "produced"
            record.pop("reason", None)
            log.info("alert.json of %s written", sid)
            return True
        _not_produced(
            record, f"alert.json of {sid}", reason, status, logfile, self.state
        )
        return False

    # ---- restart -----------------------------------------------------------

    def resume(self):
        """In-flight requests of a stopped run are made again."""
        for entry in self.sequences.values():
            items = [entry, entry.get("record") or {}]
            for record in entry.get("notices", {}).values():
                items += [record, record.get("followups") or {}]
            for item in items:
                if item.get("status") == "requested":
                    item["status"] = "retry"


def _not_produced(record, what, reason, status, logfile, state):
    """A run ended without the file: retry (no failure record), or failed."""
    if reason is None and record.get("attempts", 0) < ALERT_ATTEMPTS:
        record["status"] = "retry"
        log.info(
            "%s not produced (run status %d); will retry (%s)",
            what,
            status,
            os.path.relpath(logfile, state.results),
        )
        return
    record.update(status="failed", reason=reason or f"run status {status}")
    log.info("%s failed: %s", what, record["reason"])
