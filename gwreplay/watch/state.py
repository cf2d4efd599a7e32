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
        entry = self.alerts[sid]
        if reason is None and entry["attempts"] < ALERT_ATTEMPTS:
            entry["status"] = "retry"
            log.info(
                "alert %s not produced (run status %d); will retry (%s)",
                sid,
                status,
                os.path.relpath(logfile, self.results),
            )
            return
        entry.update(status="failed", reason=reason or f"run status {status}")
        log.info("alert %s failed: %s", sid, entry["reason"])

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
