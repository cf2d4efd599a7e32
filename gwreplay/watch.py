"""``gwreplay watch``: follow a store near-live and replay what arrives.

    gwreplay watch STORE --results DIR [--cores N] [--profile P] [--poll]
                   [--batch-seconds S] [--clock-offset S] [--configfile F]

The watcher is the live face of the same Snakemake workflow that
``gwreplay run`` drives in batch. It follows ``STORE/events/`` with watchdog
(inotify, or polling on network filesystems where inotify does not see
other hosts' writes) and, as gwcelery's orchestrator does on GraceDB's
LVAlert messages, reacts to each upload:

* ``psd.xml.gz`` (or ``coinc.xml`` when the pipeline embedded the PSDs in
  it) starts BAYESTAR and the source classification, ``ranking_data.xml.gz``
  starts p_astro (``handle_cbc_event``; the products per event are those of
  :func:`gwreplay.plan.event_products`);
* a new ``event.json`` feeds the superevent manager
  (:func:`gwreplay.superevents.form_superevents`, the same function the
  workflow runs at parse time);
* ``orchestrator_timeout`` is honoured in real time: a superevent's
  preliminary alert (``RESULTS/superevents/<SID>/alert.json``) is requested
  once the replay clock has passed its creation time plus the timeout, so
  the workflow, which recomputes the superevents from the ``created`` times,
  takes the preferred event as it stood then. An event that joins later
  changes nothing: the alert is requested once and never again.

Each Snakemake run asks only for the targets that the new files made
buildable, so the work per run does not grow with the number of events
already processed; the fixed cost of a run (starting Snakemake, parsing the
workflow, which loads the store) is measured by ``bench/watch_latency.py``.
Runs never overlap; what arrives during a run is batched into the next one.
The list of alerts already requested and produced is kept in
``RESULTS/watch_state.json`` (written atomically) so that a restart neither
misses nor repeats an alert. Producer contract, replay clock and figures:
``docs/watcher.md``.
"""

import contextlib
import json
import logging
import os
import queue
import signal
import subprocess
import threading
import time
from dataclasses import dataclass

from .atomic import write_json
from .errors import EventInputError, ReplayError
from .ids import validate_graceid
from .plan import event_products
from .run import (
    DEFAULT_CONFIG,
    apply_config_items,
    load_configfiles,
    snakemake_command,
    snakemake_environment,
    split_config_args,
)
from .store import BURST_SKYMAPS, EVENT_FILES, is_cbc, load_event_json
from .summary import PRODUCT_RULES, alert_status
from .superevents import CONFIG_KEYS as SUPEREVENT_KEYS
from .superevents import orchestrator_timeout
from .xmlguard import screen_upload

log = logging.getLogger("gwreplay.watch")

# --------------------------------------------------------------------------
# Defaults of the command-line options.
# --------------------------------------------------------------------------

#: Seconds during which a burst of uploads is collected into one run.
watch_batch_seconds = 1.0

#: Seconds a file reported created/modified (not closed or renamed into
#: place) must stay unchanged before it counts as complete.
watch_settle_seconds = 1.0

#: Replay-clock seconds added to ``created + orchestrator_timeout`` before an
#: alert is requested: slack for stores that receive uploads late (fed by
#: polling a server). 0 for a producer that writes uploads as they happen.
watch_grace_seconds = 0.0

#: Polling interval (s) of the polling observer (``--poll``, network filesystems).
watch_poll_seconds = 1.0

#: Seconds a stop request waits for the current Snakemake run to finish
#: before interrupting it.
watch_stop_timeout = 30.0

#: Attempts at an alert whose run ended without producing it or recording why.
ALERT_ATTEMPTS = 3

#: Snakemake options of every run. ``--force-use-threads`` runs ``run:``
#: blocks (local rules such as ``report``) in a thread of the Snakemake
#: process; otherwise Snakemake spawns a second Snakemake for each, which
#: parses the whole workflow again.
SNAKEMAKE_OPTIONS = ("--force-use-threads",)

#: Snakemake options that would rebuild finished alerts: refused.
FORCING_OPTIONS = ("--forceall", "-F", "--forcerun", "-R", "--forcetargets", "-f")

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

#: Files whose content :func:`gwreplay.xmlguard.screen_upload` checks as XML.
XML_UPLOADS = ("coinc.xml", "psd.xml.gz", "ranking_data.xml.gz")

#: Every file of an event folder the watcher follows.
WATCHED_FILES = ("event.json", *EVENT_FILES)

#: Marker of a LIGO-LW frequency series: PSDs embedded in coinc.xml.
_PSD_MARKER = b"REAL8FrequencySeries"

# Keys of the workflow configuration the watcher needs besides the
# superevent manager's (gwreplay.superevents.CONFIG_KEYS).
_OTHER_KEYS = (
    "bayestar_disabled_detectors",
    "llhoft_glob",
    "llhoft_channels",
    "check_vector_prepost",
)


# --------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------


def build_parser(parser):
    """Arguments of ``gwreplay watch``."""
    parser.add_argument("store", help="event store to follow (docs/store.md)")
    parser.add_argument("--results", required=True, help="results folder")
    parser.add_argument(
        "--cores", help="local cores (default: all; a profile sets its own)"
    )
    parser.add_argument(
        "--profile",
        help="Snakemake profile: a name under profiles/ (slurm, htcondor) or a path",
    )
    parser.add_argument(
        "--configfile", help="YAML file of config keys overriding config/config.yaml"
    )
    parser.add_argument(
        "--poll",
        action="store_true",
        help="poll the store instead of using inotify (automatic on network "
        "filesystems)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=watch_poll_seconds,
        help=f"polling interval (default {watch_poll_seconds:g} s)",
    )
    parser.add_argument(
        "--batch-seconds",
        type=float,
        default=watch_batch_seconds,
        help="collect a burst of uploads for this long into one run "
        f"(default {watch_batch_seconds:g} s)",
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=watch_settle_seconds,
        help="a file written in place counts as complete after this long "
        f"unchanged (default {watch_settle_seconds:g} s)",
    )
    parser.add_argument(
        "--clock-offset",
        type=float,
        default=0.0,
        help="replay clock = GPS now + this many seconds (default 0: live). "
        "A negative offset plays an old store now.",
    )
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=watch_grace_seconds,
        help="request an alert this long after created + orchestrator_timeout "
        f"(default {watch_grace_seconds:g} s)",
    )
    parser.add_argument(
        "--stop-timeout",
        type=float,
        default=watch_stop_timeout,
        help="on SIGINT/SIGTERM wait this long for the current run, then "
        f"interrupt it (default {watch_stop_timeout:g} s)",
    )


def main(args):
    """Follow the store until SIGINT/SIGTERM; exit 0 after a clean stop."""
    _setup_logging()
    extra = list(getattr(args, "extra", []) or [])
    forcing = [arg for arg in extra if arg.split("=")[0] in FORCING_OPTIONS]
    if forcing:
        log.error("refusing %s: it would rebuild alerts already issued", forcing)
        return 2
    if not os.path.isdir(args.store):
        log.error("%s: no such store", args.store)
        return 2
    try:
        conf = load_config(args.configfile, extra)
    except (OSError, ValueError) as exc:
        log.error("configuration: %s", exc)
        return 2
    watcher = Watcher(
        args.store,
        args.results,
        conf,
        clock=ReplayClock(args.clock_offset),
        batch_seconds=args.batch_seconds,
        settle_seconds=args.settle_seconds,
        grace_seconds=args.grace_seconds,
        run_options={
            "cores": args.cores,
            "profile": args.profile,
            "configfile": args.configfile,
            "extra": extra,
        },
        stop_timeout=args.stop_timeout,
        poll=args.poll,
        poll_seconds=args.poll_seconds,
    )
    previous = {
        signum: signal.signal(signum, watcher.request_stop)
        for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        watcher.serve()
    except ReplayError as exc:
        log.error("%s", exc)
        return 1
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _setup_logging():
    """One timestamped line per action on stderr."""
    logger = logging.getLogger("gwreplay")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s.%(msecs)03d gwreplay watch: %(message)s",
                "%Y-%m-%d %H:%M:%S",
            )
        )
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


# --------------------------------------------------------------------------
# Configuration and clock.
# --------------------------------------------------------------------------


def load_config(configfile=None, extra=()):
    """The workflow configuration the runs will see.

    ``config/config.yaml``, then ``configfile``, then ``--config key=value``
    items among ``extra`` (the arguments after ``--``), in Snakemake's order,
    so the watcher times alerts with the ``orchestrator_timeout`` the
    workflow uses.
    """
    conf = load_configfiles([DEFAULT_CONFIG, *([configfile] if configfile else [])])
    _, items = split_config_args(list(extra))
    return apply_config_items(conf, items)


#: GPS epoch (1980-01-06) in Unix seconds.
_GPS_EPOCH_UNIX = 315964800


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


# --------------------------------------------------------------------------
# Files of the store.
# --------------------------------------------------------------------------


def is_temporary(name):
    """Names a producer writes before renaming into place: never read."""
    return name.startswith(".") or name.endswith((".tmp", ".part", "~"))


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


def coinc_embeds_psds(path):
    """Whether a coinc.xml carries the PSDs (O4 pipelines upload them inside)."""
    tail = b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if _PSD_MARKER in tail + chunk:
                return True
            tail = chunk[-len(_PSD_MARKER) :]
    return False


@dataclass
class Upload:
    """What the watcher knows of one file of one event."""

    signature: tuple
    complete: bool
    changed: float
    writing: bool = False
    verdict: str = None
    checked: tuple = None


def _first_error(logfile):
    """The first error line of a Snakemake log, for the run's log line."""
    with contextlib.suppress(OSError):
        with open(logfile, encoding="utf-8", errors="replace") as f:
            for line in f:
                if "Error" in line or "Exception" in line:
                    return line.strip()[:300]
    return "see the run log"


def _signature(path):
    """(mtime_ns, size, inode): changes whenever the file is replaced or written."""
    st = os.stat(path)
    return (st.st_mtime_ns, st.st_size, st.st_ino)


# --------------------------------------------------------------------------
# The watcher.
# --------------------------------------------------------------------------


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
        poll=False,
        poll_seconds=watch_poll_seconds,
    ):
        self.store = os.path.abspath(store)
        self.events_root = os.path.join(self.store, "events")
        self.results = os.path.abspath(results)
        self.conf = conf
        self.timeout = float(conf.get("orchestrator_timeout", orchestrator_timeout))
        self.clock = clock
        self.batch_seconds = batch_seconds
        self.settle_seconds = settle_seconds
        self.grace_seconds = grace_seconds
        self.run_options = dict(run_options or {})
        self.stop_timeout = stop_timeout
        self.poll = poll
        self.poll_seconds = poll_seconds
        self.state_path = os.path.join(self.results, "watch_state.json")

        self.queue = queue.Queue()
        self.uploads = {}  # (graceid, filename) -> Upload
        self.pending = set()  # keys of uploads not yet complete
        self.events = {}  # graceid -> validated event.json
        self.dirty = set()  # graceids whose products may have become buildable
        self.requested = {}  # (graceid, product) -> input signature last requested
        self.superevents = {}  # sid -> manager record, latest formation
        self.formation_stale = True
        self.announced = {}  # sid -> preferred event last logged
        self.waiting = {}  # sid -> reason last logged
        self.alerts = {}  # sid -> state record (see save_state)
        self.alert_inputs_tried = {}  # sid -> input signature of its last request
        self.runs = 0
        self.observer = None
        self.inotify = False
        self.stop_requested = threading.Event()
        self.stop_time = None
        self.signals = 0
        self.quiet = False
        self.run_seconds = []

    # ---- state ---------------------------------------------------------

    def load_state(self):
        """Alerts requested or produced before a restart."""
        try:
            with open(self.state_path, encoding="utf-8") as f:
                state = json.load(f)
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            raise ReplayError(f"{self.state_path}: unreadable state: {exc}") from exc
        try:
            self.alerts = {sid: dict(rec) for sid, rec in state["alerts"].items()}
            self.runs = int(state.get("runs", 0))
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise ReplayError(f"{self.state_path}: malformed state: {exc}") from exc

    def save_state(self):
        """``RESULTS/watch_state.json``, atomically; replay-clock times only."""
        write_json(
            self.state_path,
            {
                "store": self.store,
                "results": self.results,
                "orchestrator_timeout": self.timeout,
                "runs": self.runs,
                "alerts": self.alerts,
            },
        )

    # ---- paths ---------------------------------------------------------

    def alert_path(self, sid, filename="alert.json"):
        """A result of one superevent."""
        return os.path.join(self.results, "superevents", sid, filename)

    def product_path(self, graceid, product):
        """A result of one event."""
        return os.path.join(self.results, "events", graceid, product)

    def upload_path(self, graceid, filename):
        """An upload of one event in the store."""
        return os.path.join(self.events_root, graceid, filename)

    def _key(self, path):
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

    # ---- filesystem events ----------------------------------------------

    def start_observer(self):
        """Follow STORE/events/ with inotify, or poll where inotify cannot see."""
        from watchdog.events import (
            DirCreatedEvent,
            DirDeletedEvent,
            DirMovedEvent,
            FileClosedEvent,
            FileCreatedEvent,
            FileDeletedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileSystemEventHandler,
        )
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        forward = self.queue.put

        class Forward(FileSystemEventHandler):
            def on_any_event(self, event):
                forward(event)

        kinds = [
            FileCreatedEvent,
            FileModifiedEvent,
            FileMovedEvent,
            FileClosedEvent,
            FileDeletedEvent,
            DirCreatedEvent,
            DirMovedEvent,
            DirDeletedEvent,
        ]
        fstype = filesystem_type(self.events_root)
        polling = self.poll or fstype in NETWORK_FILESYSTEMS
        why = "--poll" if self.poll else f"{fstype} filesystem"
        while True:
            if polling:
                observer = PollingObserver(timeout=self.poll_seconds)
            else:
                observer = Observer()
            try:
                observer.schedule(
                    Forward(), self.events_root, recursive=True, event_filter=kinds
                )
                observer.start()
                break
            except OSError as exc:
                if polling:
                    raise
                polling, why = True, f"inotify unavailable: {exc}"
        self.observer = observer
        self.inotify = not polling
        if polling:
            log.info(
                "following %s by polling every %g s (%s)",
                self.events_root,
                self.poll_seconds,
                why,
            )
        else:
            log.info("following %s with inotify", self.events_root)

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
        key = self._key(path)
        if key is None:
            return
        try:
            signature = _signature(path)
        except FileNotFoundError:
            self.forget(path)
            return
        known = self.uploads.get(key)
        if known is not None and known.signature == signature:
            if complete and not known.complete:
                self._complete(key, known)
            known.writing = known.writing or writing
            return
        upload = Upload(signature, False, time.monotonic(), writing=writing)
        self.uploads[key] = upload
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
        key = self._key(path)
        if key is None or key not in self.uploads:
            return
        del self.uploads[key]
        self.pending.discard(key)
        self.dirty.add(key[0])
        log.info("removed %s/%s", *key)

    def settle(self):
        """Files that appeared without a close (polling; renamed in from
        elsewhere) count as complete once unchanged for a while. A file
        inotify saw being written waits for its close."""
        now = time.monotonic()
        for key in sorted(self.pending):
            upload = self.uploads[key]
            if upload.writing:
                continue
            try:
                signature = _signature(self.upload_path(*key))
            except FileNotFoundError:
                self.forget(self.upload_path(*key))
                continue
            if signature != upload.signature:
                upload.signature, upload.changed = signature, now
            elif now - upload.changed >= self.settle_seconds:
                self._complete(key, upload)

    def next_settle(self):
        """Seconds until the next pending file may be complete, or None."""
        changed = [
            self.uploads[k].changed for k in self.pending if not self.uploads[k].writing
        ]
        if not changed:
            return None
        return max(0.0, min(changed) + self.settle_seconds - time.monotonic())

    # ---- validation ------------------------------------------------------

    def verdict(self, graceid, name):
        """``None`` (absent or incomplete), ``"ok"`` or the reason it is broken.

        Uploads are validated before use, once per version of the file:
        XML through :func:`gwreplay.xmlguard.screen_upload`, sky maps for
        emptiness and gzip integrity. A complete but broken file is still
        handed to the workflow, whose job fails that event alone and lists it
        in ``failures.csv``, exactly as a batch replay would.
        """
        upload = self.uploads.get((graceid, name))
        if upload is None or not upload.complete:
            return None
        if upload.checked != upload.signature:
            path = self.upload_path(graceid, name)
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

    def refresh_event(self, graceid):
        """Reload one event.json once it is complete; drop the event if invalid."""
        upload = self.uploads.get((graceid, "event.json"))
        if upload is None:
            if self.events.pop(graceid, None) is not None:
                self.formation_stale = True
            return
        if not upload.complete or upload.checked == upload.signature:
            return
        upload.checked = upload.signature
        try:
            event = load_event_json(self.upload_path(graceid, "event.json"))
        except (EventInputError, ValueError) as exc:
            upload.verdict = str(exc)
            log.info("rejected %s", exc)
            if self.events.pop(graceid, None) is not None:
                self.formation_stale = True
            return
        upload.verdict = "ok"
        known = graceid in self.events
        self.events[graceid] = event
        self.formation_stale = True
        if self.quiet:
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

    # ---- what is buildable -------------------------------------------------

    def product_inputs(self, graceid, event, product):
        """Uploads a product is made from, or the reason it must wait.

        As ``handle_cbc_event``: BAYESTAR starts on ``psd.xml.gz``, or on
        ``coinc.xml`` alone when the pipeline embedded the PSDs and
        announced no separate PSD upload.
        """
        coinc = self.verdict(graceid, "coinc.xml")
        if coinc is None:
            return "waiting for coinc.xml"
        if product == "source_classification.json":
            return ["coinc.xml"]
        if product == "p_astro_gstlal.json":
            if self.verdict(graceid, "ranking_data.xml.gz") is None:
                return "waiting for ranking_data.xml.gz"
            return ["coinc.xml", "ranking_data.xml.gz"]
        if (graceid, "psd.xml.gz") in self.uploads:
            if self.verdict(graceid, "psd.xml.gz") is None:
                return "waiting for psd.xml.gz"
            return ["coinc.xml", "psd.xml.gz"]
        announced = {entry.get("filename") for entry in event.get("uploads") or ()}
        if "psd.xml.gz" in announced:
            return "waiting for psd.xml.gz"
        if coinc != "ok" or coinc_embeds_psds(self.upload_path(graceid, "coinc.xml")):
            return ["coinc.xml"]
        return "waiting for psd.xml.gz (coinc.xml has no PSDs)"

    def products_of(self, event):
        """The annotations the workflow makes for one event."""
        return event_products(event, self.conf.get("bayestar_disabled_detectors", []))

    def input_signature(self, graceid, names):
        """Signature of the uploads a target is made from."""
        return [[name, list(self.uploads[(graceid, name)].signature)] for name in names]

    def plan_products(self, targets):
        """Annotations of the events touched since the last run."""
        for graceid in sorted(self.dirty):
            self.refresh_event(graceid)
        for graceid in sorted(self.dirty):
            event = self.events.get(graceid)
            if event is None:
                continue
            event = dict(event, files=self._present(graceid))
            for product in self.products_of(event):
                if self._unchanged(graceid, product):
                    continue  # built (or failed) from these very uploads
                inputs = self.product_inputs(graceid, event, product)
                if isinstance(inputs, str):
                    continue
                signature = self.input_signature(graceid, inputs)
                if self.requested.get((graceid, product)) == signature:
                    continue
                targets.append(("product", (graceid, product), signature))
        self.dirty.clear()

    def _input_names(self, graceid, product):
        """The uploads a product is made from, by presence alone (no validation)."""
        if product == "source_classification.json":
            return ["coinc.xml"]
        if product == "p_astro_gstlal.json":
            return ["coinc.xml", "ranking_data.xml.gz"]
        if (graceid, "psd.xml.gz") in self.uploads:
            return ["coinc.xml", "psd.xml.gz"]
        return ["coinc.xml"]

    def _unchanged(self, graceid, product):
        """Whether a product was already asked for from the current uploads.

        Checked before any validation, so that a restart over a store of
        thousands of finished events reads none of their files.
        """
        names = self._input_names(graceid, product)
        uploads = [self.uploads.get((graceid, name)) for name in names]
        if any(upload is None or not upload.complete for upload in uploads):
            return False
        signature = self.input_signature(graceid, names)
        return self.requested.get((graceid, product)) == signature

    def _present(self, graceid):
        """Uploads of one event now in the store (as the workflow's plan sees them)."""
        return sorted(
            name
            for name in EVENT_FILES
            if (graceid, name) in self.uploads
            or os.path.exists(self.upload_path(graceid, name))
        )

    def form(self):
        """The superevents, as the workflow will form them at parse time."""
        from .superevents import form_superevents, load_store_superevents

        if not self.formation_stale:
            return self.superevents
        self.formation_stale = False
        supplied = []
        if os.path.isdir(os.path.join(self.store, "superevents")):
            try:
                supplied = load_store_superevents(self.store)
            except (EventInputError, ValueError) as exc:
                log.info("rejected store superevents: %s", exc)
        if supplied:
            records = supplied
        else:
            conf = {key: self.conf[key] for key in SUPEREVENT_KEYS if key in self.conf}
            events = dict(self.events)
            while True:
                try:
                    records = form_superevents(list(events.values()), **conf)
                    break
                except EventInputError as exc:
                    # The workflow's parse fails on this event too; listed.
                    log.info("rejected %s (superevent manager)", exc)
                    if events.pop(exc.event_id, None) is None:
                        records = []
                        break
        self.superevents = {record["superevent_id"]: record for record in records}
        return self.superevents

    def alert_inputs(self, record):
        """The preferred event's inputs of an alert, or the reason it must wait."""
        graceid = record["preferred_event"]
        event = self.events.get(graceid)
        if event is None:
            return f"preferred event {graceid} not in the store"
        names = []
        if is_cbc(event):
            event = dict(event, files=self._present(graceid))
            products = self.products_of(event)
            if not products:
                return f"waiting for {graceid}/coinc.xml"
            for product in products:
                inputs = self.product_inputs(graceid, event, product)
                if isinstance(inputs, str):
                    return f"{graceid}: {inputs}"
                names += inputs
        else:
            skymap = BURST_SKYMAPS[event["pipeline"]]
            if self.verdict(graceid, skymap) is None:
                return f"waiting for {graceid}/{skymap}"
            names.append(skymap)
        signature = self.input_signature(graceid, sorted(set(names)))
        return [graceid, signature, record["gw_events"]]

    def frames_ready(self, record):
        """Whether the state-vector check can run now and give its final answer.

        True for MDC events (not checked) and when the frame stream of every
        configured detector has passed the end of the check window (or the
        detector has no frames at all): frames never arrive for times already
        passed, so the answer cannot change.
        """
        event = self.events[record["preferred_event"]]
        if event.get("search") == "MDC":
            return True
        from .dq import find_frames, ifo_from_channel

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

    def plan_superevents(self, targets):
        """The alerts due now, with what each needs (preferred event, sky map)."""
        now = self.clock.now()
        alerted = {
            record["preferred_event"]: sid
            for sid, record in self.alerts.items()
            if record["status"] in ("requested", "produced")
        }
        for sid, record in self.form().items():
            due = record["created"] + self.timeout
            done = self.alerts.get(sid)
            if done is not None and done["status"] in ("produced", "requested"):
                self._note_late(sid, record, done)
                continue
            self._announce(sid, record, due, now)
            if now < due + self.grace_seconds:
                continue
            other = alerted.get(record["preferred_event"])
            if other is not None and other != sid:
                self._wait(sid, f"its preferred event already alerted as {other}")
                continue
            inputs = self.alert_inputs(record)
            if isinstance(inputs, str):
                self._wait(sid, inputs)
                continue
            if done is not None and done["status"] == "failed":
                if self.alert_inputs_tried.get(sid) == inputs:
                    continue
            targets.append(("alert", sid, inputs))

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

    def _note_late(self, sid, record, done):
        """Record (and log once) each event that joined after the alert."""
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

    # ---- runs ------------------------------------------------------------

    def target_path(self, kind, key):
        """The file Snakemake is asked for."""
        if kind == "product":
            return self.product_path(*key)
        return self.alert_path(key)

    def run(self, targets):
        """One Snakemake run for ``targets``; then record what it produced."""
        self.runs += 1
        number = self.runs
        for kind, key, inputs in targets:
            if kind == "alert":
                record = self.superevents[key]
                entry = self.alerts.setdefault(
                    key, {"requests": 0, "attempts": 0, "produced": 0}
                )
                entry.update(
                    status="requested",
                    preferred_event=record["preferred_event"],
                    gw_events=record["gw_events"],
                    due_gps=record["created"] + self.timeout,
                )
                self.alert_inputs_tried[key] = inputs
                entry["requests"] += 1
                entry["attempts"] += 1
                self.waiting.pop(key, None)
        self.save_state()
        paths = [self.target_path(kind, key) for kind, key, _ in targets]
        log.info(
            "run %d: requesting %d target(s): %s",
            number,
            len(paths),
            " ".join(os.path.relpath(p, self.results) for p in paths),
        )
        urgent = [self.target_path(k, key) for k, key, _ in targets if k == "alert"]
        status, seconds, logfile = self._snakemake(number, paths, urgent)
        self.run_seconds.append(seconds)
        log.info(
            "run %d finished: status %d in %.2f s (log %s)%s",
            number,
            status,
            seconds,
            os.path.relpath(logfile, self.results),
            f": {_first_error(logfile)}" if status else "",
        )
        for kind, key, inputs in targets:
            if kind == "product":
                self.requested[key] = inputs
                if not os.path.exists(self.target_path(kind, key)):
                    reason = self._failure([PRODUCT_RULES[key[1]]], [key[0]])
                    log.info("failed %s/%s: %s", *key, reason or "see the run log")
            else:
                self._record_alert(key, status, logfile)
        self.save_state()

    def _record_alert(self, sid, status, logfile):
        entry = self.alerts[sid]
        path = self.alert_path(sid)
        if os.path.exists(path):
            self._issued(sid, entry, path)
            return
        reason = self._failure(["superevent"], [sid]) or self._failure(
            PRODUCT_RULES.values(), [entry["preferred_event"]]
        )
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

    def _issued(self, sid, entry, path):
        """Log the alert that just appeared; count it."""
        with open(path, encoding="utf-8") as f:
            alert = json.load(f)
        entry.update(status="produced", produced=entry.get("produced", 0) + 1)
        entry.pop("reason", None)
        appeared = os.stat(path).st_mtime
        lag = appeared - self.clock.wall_time(entry["due_gps"])
        outcome = "notice sent" if alert.get("notice") else alert_status(alert)
        log.info(
            "alert issued %s: preferred %s, %s, %.2f s after due",
            sid,
            alert.get("preferred_event"),
            outcome,
            lag,
        )

    def _failure(self, rules, keys):
        """The failure record (gwreplay.smk) a job of ``rules`` left, as one line."""
        for rule in rules:
            for key in keys:
                path = os.path.join(self.results, ".failures", rule, f"{key}.json")
                with contextlib.suppress(OSError, ValueError, KeyError):
                    with open(path, encoding="utf-8") as f:
                        record = json.load(f)
                    return (
                        f"{record['rule']}: {record['event_id']}: "
                        f"{record['file']}: {record['reason']}"
                    )
        return None

    def bayestar_threads(self):
        """Snakemake options giving BAYESTAR every core of a local run.

        The workflow's default (``bayestar_threads: 1``) suits batch
        replays, where several BAYESTAR jobs run side by side; the watcher
        usually has one event to localise, as soon as possible, so it gives
        that job all its cores. Threads are no rerun trigger. A profile sets
        its own (``set-threads``).
        """
        options = self.run_options
        if options.get("profile"):
            return []
        cores = str(options.get("cores") or "")
        threads = int(cores) if cores.isdigit() else (os.cpu_count() or 1)
        return ["--set-threads", f"bayestar={threads}"]

    def _snakemake(self, number, paths, urgent=()):
        """Run Snakemake for ``paths``; honour stop requests meanwhile.

        ``urgent`` targets (alerts) and everything they need are scheduled
        before the rest (Snakemake's ``--prioritize``).
        """
        options = self.run_options
        priority = ["--prioritize", *urgent] if urgent else []
        command = snakemake_command(
            self.store,
            self.results,
            cores=options.get("cores"),
            profile=options.get("profile"),
            configfile=options.get("configfile"),
            extra=[
                *paths,
                *SNAKEMAKE_OPTIONS,
                *self.bayestar_threads(),
                *priority,
                *options.get("extra", []),
            ],
        )
        logdir = os.path.join(self.results, "logs", "watch")
        os.makedirs(logdir, exist_ok=True)
        logfile = os.path.join(logdir, f"run-{number:06d}.log")
        start = time.monotonic()
        with open(logfile, "wb") as out:
            child = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=snakemake_environment(options.get("profile")),
                start_new_session=True,  # our signals reach it only when we send them
            )
            status = self._wait_child(child)
        self._prune_logs(logdir)
        return status, time.monotonic() - start, logfile

    def _wait_child(self, child):
        """Wait for the run; keep recording uploads; stop it when asked to."""
        interrupted = None
        while True:
            try:
                return child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                pass
            self.drain(block=False)
            if not self.stop_requested.is_set():
                continue
            waited = time.monotonic() - self.stop_time
            if interrupted is None and (self.signals > 1 or waited > self.stop_timeout):
                log.info("interrupting Snakemake (pid %d)", child.pid)
                self._signal_child(child, signal.SIGINT)
                interrupted = time.monotonic()
            elif interrupted is not None and time.monotonic() - interrupted > 15:
                self._signal_child(child, signal.SIGKILL)

    @staticmethod
    def _signal_child(child, signum):
        """Signal the run's process group (Snakemake and its jobs)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signum)

    @staticmethod
    def _prune_logs(logdir, keep=200):
        """Keep the last ``keep`` run logs."""
        names = sorted(n for n in os.listdir(logdir) if n.startswith("run-"))
        for name in names[:-keep]:
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(logdir, name))

    # ---- main loop -------------------------------------------------------

    def expected_run_seconds(self):
        """Typical duration of a recent run (median of the last five)."""
        recent = sorted(self.run_seconds[-5:])
        return recent[len(recent) // 2] if recent else 10.0

    def request_stop(self, signum, frame):
        """SIGINT/SIGTERM: stop after the current run (a second one interrupts it)."""
        self.signals += 1
        if self.stop_time is None:
            self.stop_time = time.monotonic()
        self.stop_requested.set()
        log.info(
            "%s received: stopping%s",
            signal.Signals(signum).name,
            "" if self.signals == 1 else " now",
        )

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

    def seconds_to_next_due(self):
        """Seconds until the next alert falls due, or None."""
        now = self.clock.now()
        dues = [
            record["created"] + self.timeout + self.grace_seconds - now
            for sid, record in self.superevents.items()
            if self.alerts.get(sid, {}).get("status") not in ("produced", "requested")
            and sid not in self.waiting
        ]
        future = [d for d in dues if d > 0]
        return min(future) if future else None

    def wait_for_work(self):
        """Block until uploads arrive (then batch them) or an alert falls due."""
        limits = [
            x for x in (self.seconds_to_next_due(), self.next_settle()) if x is not None
        ]
        deadline = time.monotonic() + (min(limits) if limits else 3600.0)
        while not self.stop_requested.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            if self.drain(block=True, timeout=min(remaining, 0.25)):
                break
        # A burst of uploads: collect it, but never past an alert's due time.
        batch_end = min(deadline, time.monotonic() + self.batch_seconds)
        while not self.stop_requested.is_set():
            remaining = batch_end - time.monotonic()
            if remaining <= 0:
                return
            self.drain(block=True, timeout=min(remaining, 0.25))

    def startup(self):
        """Resume: what the store and the results folder hold already."""
        self.load_state()
        now = time.time()
        for entry in sorted(os.scandir(self.events_root), key=lambda e: e.name):
            if entry.is_dir(follow_symlinks=False):
                for item in os.scandir(entry.path):
                    key = self._key(item.path)
                    if key is None:
                        continue
                    with contextlib.suppress(FileNotFoundError):
                        signature = _signature(item.path)
                        recent = now - signature[0] / 1e9 < self.settle_seconds
                        upload = Upload(signature, not recent, time.monotonic())
                        self.uploads[key] = upload
                        if recent:
                            self.pending.add(key)
                        self.dirty.add(key[0])
        self.quiet = True  # no "new event" line per stored event
        for graceid in sorted(self.dirty):
            self.refresh_event(graceid)
        self.quiet = False
        self._resume_products()
        self._resume_alerts()
        log.info(
            "resumed: %d events, %d superevents, %d alerts already issued",
            len(self.events),
            len(self.form()),
            sum(1 for a in self.alerts.values() if a["status"] == "produced"),
        )

    def _resume_products(self):
        """Products built after their uploads last changed are not asked for again."""
        for graceid, event in self.events.items():
            event = dict(event, files=self._present(graceid))
            for product in self.products_of(event):
                path = self.product_path(graceid, product)
                names = self._input_names(graceid, product)
                uploads = [self.uploads.get((graceid, name)) for name in names]
                if any(u is None or not u.complete for u in uploads):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    built = os.stat(path).st_mtime_ns
                    if all(u.signature[0] <= built for u in uploads):
                        self.requested[(graceid, product)] = self.input_signature(
                            graceid, names
                        )

    def _resume_alerts(self):
        """Alerts present in RESULTS count as produced; in-flight ones are redone."""
        for sid, record in self.form().items():
            entry = self.alerts.get(sid)
            path = self.alert_path(sid)
            if os.path.exists(path):
                if entry is None:
                    self.alerts[sid] = {
                        "status": "produced",
                        "preferred_event": record["preferred_event"],
                        "gw_events": record["gw_events"],
                        "due_gps": record["created"] + self.timeout,
                        "requests": 0,
                        "attempts": 0,
                        "produced": 1,
                    }
                elif entry["status"] != "produced":
                    self._issued(sid, entry, path)
                self.announced[sid] = record["preferred_event"]
            elif entry is not None and entry["status"] == "requested":
                entry["status"] = "retry"  # the run was stopped before it ended
            elif entry is not None and entry["status"] == "produced":
                log.info("alert %s was issued before; its alert.json is gone", sid)
        self.save_state()

    def serve(self):
        """Follow the store until a stop is requested."""
        os.makedirs(self.events_root, exist_ok=True)
        self.start_observer()  # first, so nothing written during the scan is lost
        try:
            self.startup()
            while not self.stop_requested.is_set():
                self.settle()
                targets = []
                self.plan_products(targets)
                self.plan_superevents(targets)
                if targets:
                    self.run(targets)
                    continue
                self.wait_for_work()
        finally:
            self.observer.stop()
            self.observer.join(timeout=10)
            self.save_state()
            log.info("stopped after %d run(s)", self.runs)
