"""The watcher's replay clock, and when each superevent's alert falls due.

As gwcelery's orchestrator (2018 flow chart; ``orchestrator_timeout``,
15 s in gwcelery's configuration), a superevent's preliminary alert is due
``orchestrator_timeout`` after its creation. The watcher requests it once
the replay clock has passed that time plus ``--grace-seconds``, and only
once; the workflow then takes the preferred event as it stood at the due
time (``docs/watcher.md``, "The replay clock and the orchestrator timeout").
"""

import logging
import time

log = logging.getLogger("gwreplay.watch")

#: Replay-clock seconds added to ``created + orchestrator_timeout`` before an
#: alert is requested: slack for stores that receive uploads late (fed by
#: polling a server). 0 for a producer that writes uploads as they happen.
watch_grace_seconds = 0.0

#: GPS epoch (1980-01-06) in Unix seconds.
_GPS_EPOCH_UNIX = 315964800

#: Alert statuses (:mod:`gwreplay.watch.state`) that are never requested again.
_SETTLED = ("produced", "requested")


class ReplayClock:
    """The replay clock: GPS now, shifted by ``offset`` seconds.

    The replay clock of a live store is the GPS ``created`` time of its
    uploads, so by default (``offset`` 0) it is GPS now. ``lal.GPSTimeNow``
    has whole-second resolution; the clock takes its leap seconds from it
    once and follows the system clock to the millisecond.
    """

    def __init__(self, offset=0.0):
        import lal

        self.offset = float(offset)
        now = lal.GPSTimeNow()
        self.leap_seconds = int(lal.GPSLeapSeconds(int(now)))

    def now(self):
        """Replay-clock time, GPS seconds."""
        return time.time() - _GPS_EPOCH_UNIX + self.leap_seconds + self.offset

    def wall_time(self, gps):
        """Unix time at which the replay clock reads ``gps``."""
        return gps - self.now() + time.time()


class AlertSchedule:
    """Which superevents' alerts are due on the replay clock, and what they wait for.

    Keeps what was last logged per superevent (its preferred event, the
    reason it waits) so that each change is logged once, and the inputs of
    each alert's last request so that a failed alert is retried only when
    its preferred event's uploads changed.
    """

    def __init__(self, clock, timeout, grace_seconds=watch_grace_seconds):
        self.clock = clock
        self.timeout = timeout
        self.grace_seconds = grace_seconds
        self.announced = {}  # sid -> preferred event last logged
        self.waiting = {}  # sid -> reason last logged
        self.tried = {}  # sid -> input signature of its last request

    def due(self, record):
        """Replay-clock time at which a superevent's alert falls due."""
        return record["created"] + self.timeout

    def plan(self, superevents, state, alert_inputs):
        """Targets: the alerts due now, with what each needs.

        ``state`` (:class:`gwreplay.watch.state.WatchState`) says which
        alerts were requested or produced already; ``alert_inputs`` gives a
        superevent's inputs, or the reason it must wait.
        """
        now = self.clock.now()
        alerted = state.alerted_events()
        targets = []
        for sid, record in superevents.items():
            due = self.due(record)
            status = state.status(sid)
            if status in _SETTLED:
                state.note_late(sid, record)
                continue
            self._announce(sid, record, due, now)
            if now < due + self.grace_seconds:
                continue
            other = alerted.get(record["preferred_event"])
            if other is not None and other != sid:
                self._wait(sid, f"its preferred event already alerted as {other}")
                continue
            inputs = alert_inputs(record)
            if isinstance(inputs, str):
                self._wait(sid, inputs)
                continue
            if status == "failed" and self.tried.get(sid) == inputs:
                continue
            targets.append(("alert", sid, inputs))
        return targets

    def requested(self, sid, inputs):
        """An alert is requested from ``inputs``: it no longer waits."""
        self.tried[sid] = inputs
        self.waiting.pop(sid, None)

    def announced_as(self, sid, preferred):
        """A superevent already known with this preferred event (resume)."""
        self.announced[sid] = preferred

    def seconds_to_next_due(self, superevents, state):
        """Seconds until the next alert falls due, or None."""
        now = self.clock.now()
        dues = [
            record["created"] + self.timeout + self.grace_seconds - now
            for sid, record in superevents.items()
            if state.status(sid) not in _SETTLED and sid not in self.waiting
        ]
        future = [d for d in dues if d > 0]
        return min(future) if future else None

    def _announce(self, sid, record, due, now):
        preferred = record["preferred_event"]
        if self.announced.get(sid) == preferred:
            return
        verb = "opened" if sid not in self.announced else "now prefers"
        self.announced[sid] = preferred
        log.info(
            "superevent %s %s %s; alert due at GPS %.3f (%s)",
            sid,
            verb,
            preferred,
            due,
            f"in {due - now:.1f} s" if due > now else f"{now - due:.1f} s ago",
        )

    def _wait(self, sid, reason):
        if self.waiting.get(sid) != reason:
            self.waiting[sid] = reason
            log.info("alert %s due, waiting: %s", sid, reason)
