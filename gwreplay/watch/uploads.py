"""Uploads of a watched store: which files have arrived, complete and valid.

The watcher's view of ``STORE/events/<GraceID>/``: the watchdog observer
(:mod:`gwreplay.watch.observer`) feeds filesystem events into
:class:`Uploads`, which
keeps one :class:`Upload` record per followed file, decides when a file is
complete (closed, renamed into place, or unchanged for ``settle_seconds``),
ignores the temporary names of the producer contract (``docs/watcher.md``)
and validates every upload once per version before it is used, as gwcelery
handles GraceDB's upload messages one file at a time.
"""

import contextlib
import logging
import os
import queue
import time
from dataclasses import dataclass

from ..errors import EventInputError
from ..ids import validate_graceid
from ..store import EVENT_FILES, load_event_json
from ..xmlguard import screen_upload
from .observer import start_observer

log = logging.getLogger("gwreplay.watch")

#: Seconds a file reported created/modified (not closed or renamed into
#: place) must stay unchanged before it counts as complete.
watch_settle_seconds = 1.0

#: Files whose content :func:`gwreplay.xmlguard.screen_upload` checks as XML.
XML_UPLOADS = ("coinc.xml", "psd.xml.gz", "ranking_data.xml.gz")

#: Every file of an event folder the watcher follows.
WATCHED_FILES = ("event.json", *EVENT_FILES)

#: :meth:`Uploads.load_event`'s answer when there is no new version to read.
UNCHANGED = object()


def is_temporary(name):
    """Names a producer writes before renaming into place: never read."""
    return name.startswith(".") or name.endswith((".tmp", ".part", "~"))


def file_signature(path):
    """(mtime_ns, size, inode): changes whenever the file is replaced or written."""
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass
class Upload:
    """What the watcher knows of one file of one event."""

    signature: tuple
    complete: bool
    changed: float
    writing: bool = False
    verdict: str = None
    checked: tuple = None


class Uploads:
    """The followed files of ``events_root``, by ``(graceid, filename)``.

    ``dirty`` collects the events whose files changed since the targets
    were last planned; the filesystem events wait in a queue until the
    watcher drains it (between runs, and while a run is going).
    """

    def __init__(self, events_root, settle_seconds=watch_settle_seconds):
        self.events_root = events_root
        self.settle_seconds = settle_seconds
        self.records = {}  # (graceid, filename) -> Upload
        self.pending = set()  # keys of uploads not yet complete
        self.dirty = set()  # graceids whose products may have become buildable
        self.queue = queue.Queue()
        self.observer = None
        self.inotify = False

    def __contains__(self, key):
        """Whether ``(graceid, filename)`` is a followed file now present."""
        return key in self.records

    def path(self, graceid, filename):
        """An upload of one event in the store."""
        return os.path.join(self.events_root, graceid, filename)

    def key(self, path):
        """(graceid, filename) of a followed store file, else None."""
        rel = os.path.relpath(path, self.events_root)
        parts = rel.split(os.sep)
        if len(parts) != 2 or any(is_temporary(part) for part in parts):
            return None
        graceid, name = parts
        if name not in WATCHED_FILES:
            return None
        try:
            validate_graceid(graceid)
        except ValueError:
            return None
        return graceid, name

    # ---- following the store -------------------------------------------

    def start_observer(self, *, poll, poll_seconds):
        """Start the observer; its events wait in the queue until drained."""
        self.observer, self.inotify = start_observer(
            self.events_root, self.queue.put, poll=poll, poll_seconds=poll_seconds
        )

    def stop_observer(self):
        """Stop the observer (at most 10 s for its thread to end)."""
        self.observer.stop()
        self.observer.join(timeout=10)

    def drain(self, block, timeout=None):
        """Apply queued filesystem events; optionally wait for the first one."""
        try:
            event = self.queue.get(block=block, timeout=timeout)
        except queue.Empty:
            return False
        self.apply(event)
        while True:
            try:
                self.apply(self.queue.get_nowait())
            except queue.Empty:
                return True

    def scan_store(self):
        """Every followed file already in the store (start-up).

        A file written within the last ``settle_seconds`` may still be
        growing: it waits to settle like any other.
        """
        now = time.time()
        for entry in sorted(os.scandir(self.events_root), key=lambda e: e.name):
            if not entry.is_dir(follow_symlinks=False):
                continue
            for item in os.scandir(entry.path):
                key = self.key(item.path)
                if key is None:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    signature = file_signature(item.path)
                    recent = now - signature[0] / 1e9 < self.settle_seconds
                    self.records[key] = Upload(signature, not recent, time.monotonic())
                    if recent:
                        self.pending.add(key)
                    self.dirty.add(key[0])

    def apply(self, event):
        """Record one watchdog event."""
        kind = event.event_type
        if event.is_directory:
            if kind in ("created", "moved"):
                path = event.dest_path if kind == "moved" else event.src_path
                self.scan_folder(path, complete=kind == "moved")
            return
        if kind == "moved":
            self.forget(event.src_path)
            self.touch(event.dest_path, complete=True)
        elif kind == "closed":
            self.touch(event.src_path, complete=True)
        elif kind in ("created", "modified"):
            # inotify reports every write and the close after the last one:
            # a file seen written to is complete when closed, not before.
            writing = kind == "modified" and self.inotify
            self.touch(event.src_path, complete=False, writing=writing)
        elif kind == "deleted":
            self.forget(event.src_path)

    def scan_folder(self, folder, complete):
        """Every followed file of one event folder (a folder created or moved in)."""
        with contextlib.suppress(OSError):
            for entry in os.scandir(folder):
                if entry.is_file(follow_symlinks=False):
                    self.touch(entry.path, complete=complete)

    def touch(self, path, complete, writing=False):
        """A file was written, closed or renamed into place."""
        key = self.key(path)
        if key is None:
            return
        try:
            signature = file_signature(path)
        except FileNotFoundError:
            self.forget(path)
            return
        known = self.records.get(key)
        if known is not None and known.signature == signature:
            if complete and not known.complete:
                self._complete(key, known)
            known.writing = known.writing or writing
            return
        upload = Upload(signature, False, time.monotonic(), writing=writing)
        self.records[key] = upload
        if complete:
            self._complete(key, upload)
        else:
            self.pending.add(key)

    def _complete(self, key, upload):
        upload.complete = True
        self.pending.discard(key)
        self.dirty.add(key[0])
        log.info("seen %s/%s", *key)

    def forget(self, path):
        """A file was removed (or renamed away)."""
        key = self.key(path)
        if key is None or key not in self.records:
            return
        del self.records[key]
        self.pending.discard(key)
        self.dirty.add(key[0])
        log.info("removed %s/%s", *key)

    # ---- settling --------------------------------------------------------

    def settle(self):
        """Files that appeared without a close (polling; renamed in from
        elsewhere) count as complete once unchanged for a while. A file
        inotify saw being written waits for its close."""
        now = time.monotonic()
        for key in sorted(self.pending):
            upload = self.records[key]
            if upload.writing:
                continue
            try:
                signature = file_signature(self.path(*key))
            except FileNotFoundError:
                self.forget(self.path(*key))
                continue
            if signature != upload.signature:
                upload.signature, upload.changed = signature, now
            elif now - upload.changed >= self.settle_seconds:
                self._complete(key, upload)

    def next_settle(self):
        """Seconds until the next pending file may be complete, or None."""
        changed = [
            self.records[k].changed for k in self.pending if not self.records[k].writing
        ]
        if not changed:
            return None
        return max(0.0, min(changed) + self.settle_seconds - time.monotonic())

    # ---- what the planner asks ---------------------------------------------

    def dirty_events(self):
        """The events whose files changed since the last :meth:`take_dirty`."""
        return sorted(self.dirty)

    def take_dirty(self):
        """The events whose files changed, sorted; the set starts afresh."""
        graceids = sorted(self.dirty)
        self.dirty.clear()
        return graceids

    def complete(self, graceid, name):
        """Whether the upload is present and complete (not validated)."""
        upload = self.records.get((graceid, name))
        return upload is not None and upload.complete

    def signatures(self, graceid, names):
        """Signature of the uploads a target is made from (all present)."""
        return [[name, list(self.records[(graceid, name)].signature)] for name in names]

    def written_before(self, graceid, names, mtime_ns):
        """Whether every one of these uploads was last written by ``mtime_ns``."""
        return all(self.records[(graceid, n)].signature[0] <= mtime_ns for n in names)

    def present(self, graceid):
        """Uploads of one event now in the store (as the workflow's plan sees them)."""
        return sorted(
            name
            for name in EVENT_FILES
            if (graceid, name) in self.records
            or os.path.exists(self.path(graceid, name))
        )

    # ---- validation ------------------------------------------------------

    def verdict(self, graceid, name):
        """``None`` (absent or incomplete), ``"ok"`` or the reason it is broken.

        Uploads are validated before use, once per version of the file:
        XML through :func:`gwreplay.xmlguard.screen_upload`, sky maps for
        emptiness and gzip integrity. A complete but broken file is still
        handed to the workflow, whose job fails that event alone and lists it
        in ``failures.csv``, exactly as a batch replay would.
        """
        upload = self.records.get((graceid, name))
        if upload is None or not upload.complete:
            return None
        if upload.checked != upload.signature:
            path = self.path(graceid, name)
            try:
                screen_upload(graceid, path, xml=name in XML_UPLOADS)
                upload.verdict = "ok"
            except EventInputError as exc:
                upload.verdict = exc.reason
                log.info("rejected %s (its job will fail and be listed)", exc)
            except OSError as exc:
                return None if isinstance(exc, FileNotFoundError) else str(exc)
            upload.checked = upload.signature
        return upload.verdict

    def load_event(self, graceid):
        """The validated ``event.json`` of one event, read once per version.

        ``None`` when it is absent or invalid (the workflow lists an invalid
        one in ``failures.csv`` as a store problem), :data:`UNCHANGED` when
        it is incomplete or this version was read already.
        """
        upload = self.records.get((graceid, "event.json"))
        if upload is None:
            return None
        if not upload.complete or upload.checked == upload.signature:
            return UNCHANGED
        upload.checked = upload.signature
        try:
            event = load_event_json(self.path(graceid, "event.json"))
        except (EventInputError, ValueError) as exc:
            upload.verdict = str(exc)
            log.info("rejected %s", exc)
            return None
        upload.verdict = "ok"
        return event
