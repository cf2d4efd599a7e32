"""The filesystem observer of ``gwreplay watch``: watchdog on the store.

inotify on local filesystems; polling (``--poll``, automatic on network
filesystems and when inotify cannot start) where inotify does not see writes
made by other hosts. The observer only forwards events;
:class:`gwreplay.watch.uploads.Uploads` interprets them.
"""

import logging
import os

log = logging.getLogger("gwreplay.watch")

#: Polling interval (s) of the polling observer (``--poll``, network filesystems).
watch_poll_seconds = 1.0

#: Filesystems whose changes made on other hosts inotify cannot see.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs",
        "nfs4",
        "cifs",
        "smb3",
        "smbfs",
        "afs",
        "lustre",
        "gpfs",
        "ceph",
        "glusterfs",
        "beegfs",
        "panfs",
        "9p",
        "fuse.sshfs",
        "fuse.ceph",
        "fuse.glusterfs",
        "fuse.gcsfuse",
    }
)


def filesystem_type(path):
    """Type of the filesystem holding ``path`` (from /proc/mounts), or None."""
    path = os.path.realpath(path)
    best, fstype = "", None
    try:
        with open("/proc/mounts", encoding="utf-8") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount = fields[1].replace("\\040", " ")
                inside = path == mount or path.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best):
                    best, fstype = mount, fields[2]
    except OSError:
        return None
    return fstype


def _observer_kinds():
    """The watchdog event classes the watcher listens to."""
    from watchdog.events import (
        DirCreatedEvent,
        DirDeletedEvent,
        DirMovedEvent,
        FileClosedEvent,
        FileCreatedEvent,
        FileDeletedEvent,
        FileModifiedEvent,
        FileMovedEvent,
    )

    return [
        FileCreatedEvent,
        FileModifiedEvent,
        FileMovedEvent,
        FileClosedEvent,
        FileDeletedEvent,
        DirCreatedEvent,
        DirMovedEvent,
        DirDeletedEvent,
    ]


def start_observer(root, forward, *, poll, poll_seconds):
    """Follow ``root`` with inotify, or poll where inotify cannot see.

    Every watchdog event is handed to ``forward``. Returns the started
    observer and whether it is inotify's.
    """
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    class Forward(FileSystemEventHandler):
        def on_any_event(self, event):
            forward(event)

    kinds = _observer_kinds()
    fstype = filesystem_type(root)
    polling = poll or fstype in NETWORK_FILESYSTEMS
    why = "--poll" if poll else f"{fstype} filesystem"
    while True:
        observer = PollingObserver(timeout=poll_seconds) if polling else Observer()
        try:
            observer.schedule(Forward(), root, recursive=True, event_filter=kinds)
            observer.start()
            break
        except OSError as exc:
            if polling:
                raise
            polling, why = True, f"inotify unavailable: {exc}"
    if polling:
        log.info("following %s by polling every %g s (%s)", root, poll_seconds, why)
    else:
        log.info("following %s with inotify", root)
    return observer, not polling
