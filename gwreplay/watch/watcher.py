"""The watcher's main loop: the parts of :mod:`gwreplay.watch` put together.

One :class:`Watcher` follows one store into one results folder. Its loop is
gwcelery's orchestrator on the replay clock: settle the uploads that
arrived, plan the products they made buildable
(:class:`~gwreplay.watch.targets.Targets`) and the alerts now due
(:class:`~gwreplay.watch.clock.AlertSchedule`), ask Snakemake for them
(:class:`~gwreplay.watch.runner.SnakemakeRunner`), record the outcome
(:class:`~gwreplay.watch.state.WatchState`), then wait for the next upload
or due time.
"""

import logging
import os
import time

from ..policies import follows_sequence
from .clock import AlertSchedule, watch_grace_seconds
from .notices import NoticeSchedule, followup_records
from .observer import watch_poll_seconds
from .runner import SnakemakeRunner, StopRequest, first_error, watch_stop_timeout
from .state import SequenceState, WatchState
from .targets import Targets, alert_path, failure_lookups
from .uploads import Uploads, watch_settle_seconds

log = logging.getLogger("gwreplay.watch")

#: Seconds during which a burst of uploads is collected into one run.
watch_batch_seconds = 1.0

#: O4: longest wait between looks at ``STORE/superevents/`` (sign-offs and
#: the store's superevent records, which the observer does not follow).
STORE_SUPEREVENTS_SECONDS = 1.0

#: O4 targets Snakemake schedules first (``--prioritize``).
_URGENT = ("alert", "sequence", "notice")
#: O4 targets made from a sequence the watcher has read: their run must not
#: recompute that sequence (see :func:`frozen_sequence_options`).
_FROM_SEQUENCE = ("notice", "followup", "record")
#: Snakemake's rerun triggers but the files' times and the input lists.
FROZEN_TRIGGERS = ("--rerun-triggers", "params", "software-env", "code")


def frozen_sequence_options(targets, results):
    """Snakemake options of a run whose targets all come from a read sequence.

    Such a run (notices, their plots and circulars, ``alert.json``) is
    asked for what the sequence the watcher read says. With Snakemake's
    default triggers, an upload that arrived since (a new event, a sky map)
    makes the checkpoint's inputs newer than ``sequence.json``: Snakemake
    would recompute the sequence inside that run and build the targets of
    the new one, later notices included, before they are due. So the run
    ignores the files' times and input lists (the sequence is recomputed by
    a ``sequence`` request, as the watcher makes one when inputs change),
    and an ``alert.json`` older than its ``sequence.json`` is rebuilt from
    the sequence read (``--forcerun alert``; one that is newer is left as
    it is, such as the history's on a restart).
    """
    if not targets or any(kind not in _FROM_SEQUENCE for kind, _, _ in targets):
        return []
    options = list(FROZEN_TRIGGERS)
    if any(
        kind == "record" and _stale_record(results, key) for kind, key, _ in targets
    ):
        options += ["--forcerun", "alert"]
    return options


def _stale_record(results, superevent_id):
    """Whether the superevent's ``alert.json`` exists and is older than its
    ``sequence.json`` (a missing one is built anyway)."""
    folder = os.path.join(results, "superevents", superevent_id)
    try:
        record = os.stat(os.path.join(folder, "alert.json")).st_mtime_ns
        sequence = os.stat(os.path.join(folder, "sequence.json")).st_mtime_ns
    except FileNotFoundError:
        return False
    return record < sequence


class Watcher:
    """Follow a store; ask Snakemake for what new uploads make buildable."""

    def __init__(
        self,
        store,
        results,
        conf,
        *,
        clock,
        batch_seconds=watch_batch_seconds,
        settle_seconds=watch_settle_seconds,
        grace_seconds=watch_grace_seconds,
        run_options=None,
        stop_timeout=watch_stop_timeout,
        warm=True,
        poll=False,
        poll_seconds=watch_poll_seconds,
    ):
        self.store = os.path.abspath(store)
        self.events_root = os.path.join(self.store, "events")
        self.results = os.path.abspath(results)
        self.clock = clock
        self.batch_seconds = batch_seconds
        self.poll = poll
        self.poll_seconds = poll_seconds
        timeout = float(conf["orchestrator_timeout"])
        self.uploads = Uploads(self.events_root, settle_seconds)
        self.targets = Targets(self.store, self.results, conf, self.uploads)
        self.schedule = AlertSchedule(clock, timeout, grace_seconds)
        self.state = WatchState(
            os.path.join(self.results, "watch_state.json"),
            store=self.store,
            results=self.results,
            timeout=timeout,
        )
        #: O4 (gwcelery 3.0.0's alert sequence) or the 2018/O3 single alert.
        self.o4 = follows_sequence(conf)
        self.sequences = SequenceState(self.state)
        self.notices = NoticeSchedule(
            clock, self.results, self.targets, self.sequences, grace_seconds
        )
        self.stop = StopRequest()
        self.runner = SnakemakeRunner(
            self.store,
            self.results,
            run_options,
            stop=self.stop,
            stop_timeout=stop_timeout,
            warm=warm,
        )

    # ---- the parts' entry points, as the tests and the CLI use them ----------

    @property
    def events(self):
        """Validated event.json of every event, by GraceID."""
        return self.targets.events

    @property
    def settle_seconds(self):
        """Seconds a file written in place must stay unchanged to count."""
        return self.uploads.settle_seconds

    @settle_seconds.setter
    def settle_seconds(self, seconds):
        self.uploads.settle_seconds = seconds

    def upload_path(self, graceid, filename):
        """An upload of one event in the store."""
        return self.uploads.path(graceid, filename)

    def touch(self, path, complete, writing=False):
        """A file was written, closed or renamed into place."""
        self.uploads.touch(path, complete, writing)

    def settle(self):
        """Files written in place that stayed unchanged count as complete."""
        self.uploads.settle()

    def verdict(self, graceid, name):
        """``None`` (absent or incomplete), ``"ok"`` or why the upload is broken."""
        return self.uploads.verdict(graceid, name)

    def refresh_event(self, graceid):
        """Reload one event.json once it is complete; drop the event if invalid."""
        self.targets.refresh_event(graceid)

    def product_inputs(self, graceid, event, product):
        """Uploads a product is made from, or the reason it must wait."""
        return self.targets.product_inputs(graceid, event, product)

    def request_stop(self, signum, frame):
        """SIGINT/SIGTERM: stop after the current run (a second one interrupts it)."""
        self.stop.request(signum, frame)

    # ---- runs --------------------------------------------------------------

    def plan(self):
        """Every target the uploads and the replay clock make due now."""
        targets = self.targets.plan_products()
        superevents = self.targets.form()
        if self.o4:
            urgent, later = self.notices.plan(superevents)
            if urgent or (later and self.notices.hold_later(superevents)):
                return targets + urgent
            return targets + later
        return targets + self.schedule.plan(
            superevents, self.state, self.targets.alert_inputs
        )

    def run(self, targets):
        """One Snakemake run for ``targets``; then record what it produced."""
        number = self.state.next_run()
        superevents = self.targets.form()
        for kind, key, inputs in targets:
            if kind == "alert":
                record = superevents[key]
                self.state.requested(key, record, self.schedule.due(record))
                self.schedule.requested(key, inputs)
            elif kind != "product":
                self._requested_o4(kind, key, inputs)
        self.state.save()
        paths = [
            path
            for kind, key, inputs in targets
            for path in self.targets.target_paths(kind, key, inputs)
        ]
        log.info(
            "run %d: requesting %d target(s): %s",
            number,
            len(paths),
            " ".join(os.path.relpath(p, self.results) for p in paths),
        )
        urgent = [
            self.targets.target_path(k, key, inputs)
            for k, key, inputs in targets
            if k in _URGENT
        ]
        status, seconds, logfile = self.runner.run(
            number,
            paths + frozen_sequence_options(targets, self.results),
            urgent,
            while_waiting=self._drain_now,
        )
        log.info(
            "run %d finished: status %d in %.2f s (log %s)%s",
            number,
            status,
            seconds,
            os.path.relpath(logfile, self.results),
            f": {first_error(logfile)}" if status else "",
        )
        touched = set()
        for kind, key, inputs in targets:
            if kind == "product":
                self._record_product(key, inputs)
            elif kind == "alert":
                self._record_alert(key, status, logfile)
            else:
                touched.add(key if isinstance(key, str) else key[0])
                self._record_o4(kind, key, inputs, status, logfile)
        for sid in sorted(touched):
            self.sequences.check_rewrites(
                sid,
                lambda record, sid=sid: alert_path(self.results, sid, record["file"]),
            )
        self.state.save()

    # ---- O4 targets ---------------------------------------------------------

    def _requested_o4(self, kind, key, inputs):
        if kind == "sequence":
            self.sequences.sequence_requested(key, inputs)
        elif kind == "notice":
            self.sequences.notice_requested(key[0], inputs["notice"], inputs["file"])
        elif kind == "followup":
            self.sequences.followups_requested(*key, inputs)
        else:
            self.sequences.record_requested(key, inputs)

    def _record_o4(self, kind, key, inputs, status, logfile):
        paths = self.targets.target_paths(kind, key, inputs)
        if kind == "sequence":
            reason = self.runner.failure(failure_lookups("sequence", key))
            self.sequences.sequence_outcome(key, paths[0], reason, status, logfile)
            return
        if kind == "record":
            reason = self.runner.failure(failure_lookups("record", key))
            self.sequences.record_outcome(key, paths[0], reason, status, logfile)
            return
        sid, number = key
        if kind == "followup":
            records = followup_records(sid, inputs)
            reason = self.runner.failure(
                failure_lookups("followup", key, None, records)
            )
            self.sequences.followups_outcome(
                sid, number, paths, reason, status, logfile
            )
            return
        notice = inputs["notice"]
        if os.path.exists(paths[0]):
            reason = None
        else:
            record = inputs["file"].removesuffix(".json")
            reason = self.runner.failure(
                failure_lookups("notice", key, notice.get("preferred_event"), [record])
            )
        sent = self.sequences.notice_outcome(
            sid, number, paths[0], self.clock, reason, status, logfile
        )
        if not sent and self.sequences.notice(sid, number)["status"] == "failed":
            self.notices.tried[key] = self.targets.notice_request(notice)

    def _drain_now(self):
        """Record the uploads that arrived, without waiting."""
        self.uploads.drain(block=False)

    def _record_product(self, key, inputs):
        self.targets.built(key, inputs)
        if not os.path.exists(self.targets.target_path("product", key)):
            reason = self.runner.failure(failure_lookups("product", key))
            log.info("failed %s/%s: %s", *key, reason or "see the run log")

    def _record_alert(self, sid, status, logfile):
        path = alert_path(self.results, sid)
        if os.path.exists(path):
            self.state.issued(sid, path, self.clock)
            return
        preferred = self.state.preferred_event(sid)
        reason = self.runner.failure(failure_lookups("alert", sid, preferred))
        self.state.not_produced(sid, reason, status, logfile)

    # ---- main loop -------------------------------------------------------

    def wait_for_work(self):
        """Block until uploads arrive (then batch them) or an alert falls due."""
        superevents = self.targets.form()
        if self.o4:
            due = self.notices.seconds_to_next_due(superevents)
            # Sign-offs and the store's superevents are looked at this often.
            due = min(due or STORE_SUPEREVENTS_SECONDS, STORE_SUPEREVENTS_SECONDS)
        else:
            due = self.schedule.seconds_to_next_due(superevents, self.state)
        limits = [x for x in (due, self.uploads.next_settle()) if x is not None]
        deadline = time.monotonic() + (min(limits) if limits else 3600.0)
        while not self.stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.uploads.drain(block=True, timeout=min(remaining, 0.25)):
                break
        # A burst of uploads: collect it, but never past an alert's due time.
        batch_end = min(deadline, time.monotonic() + self.batch_seconds)
        while not self.stop.is_set():
            remaining = batch_end - time.monotonic()
            if remaining <= 0:
                return
            self.uploads.drain(block=True, timeout=min(remaining, 0.25))

    def startup(self):
        """Resume: what the store and the results folder hold already."""
        self.state.load()
        self.uploads.scan_store()
        for graceid in self.uploads.dirty_events():
            self.targets.refresh_event(graceid, quiet=True)  # no line per event
        self.targets.resume_products()
        superevents = self.targets.form()
        if self.o4:
            self._resume_o4(superevents)
            return
        present = self.state.resume(
            superevents,
            lambda sid: alert_path(self.results, sid),
            self.schedule.due,
            self.clock,
        )
        for sid in present:
            self.schedule.announced_as(sid, superevents[sid]["preferred_event"])
        log.info(
            "resumed: %d events, %d superevents, %d alerts already issued",
            len(self.targets.events),
            len(self.targets.form()),
            self.state.produced_count(),
        )

    def _resume_o4(self, superevents):
        """O4 resume: in-flight requests are redone; sequences made by another
        run (a batch replay) from the current inputs are taken as they are."""
        self.sequences.resume()
        for sid, record in superevents.items():
            if sid in self.state.sequences:
                continue
            path = self.notices.sequence_path(sid)
            try:
                mtime = os.stat(path).st_mtime_ns
            except FileNotFoundError:
                continue
            if self.targets.sequence_inputs_written_before(record, mtime):
                entry = self.sequences.entry(sid)
                entry.update(
                    status="produced", signature=self.targets.sequence_signature(record)
                )
        self.state.save()
        sent = sum(
            1
            for entry in self.state.sequences.values()
            for notice in entry.get("notices", {}).values()
            if notice.get("status") == "produced"
        )
        log.info(
            "resumed: %d events, %d superevents, %d notices already sent",
            len(self.targets.events),
            len(superevents),
            sent,
        )

    def serve(self):
        """Follow the store until a stop is requested."""
        os.makedirs(self.events_root, exist_ok=True)
        # First, so that nothing written during the start-up scan is lost.
        self.uploads.start_observer(poll=self.poll, poll_seconds=self.poll_seconds)
        try:
            self.startup()
            while not self.stop.is_set():
                self.uploads.settle()
                targets = self.plan()
                if targets:
                    self.run(targets)
                    continue
                self.wait_for_work()
        finally:
            self.uploads.stop_observer()
            self.runner.close()
            self.state.save()
            log.info("stopped after %d run(s)", self.state.runs)
