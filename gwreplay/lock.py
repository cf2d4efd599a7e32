"""One writer per results folder: the lock of ``gwreplay run`` and ``watch``.

Snakemake's own lock (``RESULTS/.snakemake/locks``) says that some run holds
the folder, not which: after a crash it stays, and the only way to tell a
stale lock from a live run on another login node of a cluster is to know
where that run was. So every run also writes ``RESULTS/.gwreplay/lock.json``:
the host, the pid and the start time of the holder's process (the kernel's,
from ``/proc/<pid>/stat``, with the boot id), the wall-clock start and the
command line. The file is created with ``O_CREAT | O_EXCL``, so of two runs
that start together exactly one gets it.

A lock is **stale** only when its holder is provably gone, and that can be
proved on the holder's own host only: the pid is not alive, or it is alive
but started at another time (the pid was reused), or the machine was
rebooted since (another boot id). Then the lock (and Snakemake's, which that
run held) is released and the new run goes on. In every other case (a live
holder here, any holder on another host, a lock file that cannot be read)
the run stops with :class:`LockedError`, whose message names the host and
pid and says how to unlock: ``gwreplay unlock RESULTS``.

``acquire(results, command)`` is the context manager for a command that
writes into a results folder; ``describe_holder(results)`` says who holds
it. The checks and the release of a stale lock happen under an ``flock`` of
``lock.guard`` beside the lock, so two runs on one host cannot both judge
the same stale lock and each take it.
"""

import contextlib
import fcntl
import json
import os
import socket
import time

from .errors import ReplayError

#: The lock, under the results folder.
LOCK = os.path.join(".gwreplay", "lock.json")
#: Serialises the check-and-release of a stale lock on one host.
GUARD = os.path.join(".gwreplay", "lock.guard")
#: Snakemake's lock files (snakemake.persistence.Persistence._lockdir).
SNAKEMAKE_LOCKS = os.path.join(".snakemake", "locks")
#: Set in the environment while a process holds the lock, so that the
#: Snakemake it starts (whose hooks take the lock for plain snakemake runs)
#: knows its parent holds it already.
HOLDER_VARIABLE = "GWREPLAY_LOCK_HOLDER"


class LockedError(ReplayError):
    """The results folder is in use by another run (or may be)."""

    def __init__(self, results, message):
        self.results = results
        super().__init__(message)


def boot_id():
    """The kernel's id of this boot (pids and start times are per boot)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def process_start(pid):
    """Start time of process ``pid`` in clock ticks since boot, or None if gone.

    Field 22 of ``/proc/<pid>/stat`` (proc(5)); the command name before it
    may hold spaces and parentheses, so the fields are counted after the
    last ``)``.
    """
    try:
        with open(f"/proc/{int(pid)}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
    except (OSError, ValueError):
        return None
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])


def holder_record(command, pid=None):
    """What the lock says of its holder: host, pid, start times, command."""
    pid = os.getpid() if pid is None else pid
    return {
        "host": socket.gethostname(),
        "pid": pid,
        "process_start": process_start(pid),
        "boot_id": boot_id(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": list(command),
    }


def holder_alive(holder):
    """True, False (provably gone), or None (cannot tell: another host).

    A holder may list ``children`` (the Snakemake it started) in the same
    shape: the run is alive while any of them is.
    """
    if holder.get("host") != socket.gethostname():
        return None
    if holder.get("boot_id") != boot_id():
        return False
    processes = [holder, *holder.get("children", ())]
    return any(
        process_start(p["pid"]) is not None
        and process_start(p["pid"]) == p.get("process_start")
        for p in processes
    )


def read_holder(results):
    """The holder recorded in ``results``' lock, None when unlocked.

    An unreadable lock file reads as ``{}``: held by someone unknown.
    """
    try:
        with open(os.path.join(results, LOCK), encoding="utf-8") as f:
            holder = json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def describe_holder(results, holder=None):
    """One sentence naming who holds ``results`` and how to unlock it.

    None when the folder is not locked.
    """
    holder = read_holder(results) if holder is None else holder
    if holder is None:
        return None
    path = os.path.join(results, LOCK)
    unlock = f"gwreplay unlock {results}"
    if not holder:
        return (
            f"{results} is locked by {path}, which cannot be read; if no run "
            f"is using the folder, unlock it with: {unlock}"
        )
    command = " ".join(holder.get("command", [])) or "?"
    where = f"pid {holder.get('pid')} on host {holder.get('host')}"
    state = {
        True: "which is running",
        None: "which cannot be checked from this host",
    }.get(holder_alive(holder), "which is gone")
    return (
        f"{results} is in use by {where} ({state}), since {holder.get('started')}: "
        f"{command}. If that run is gone (killed, or its node died), unlock "
        f"with: {unlock}"
    )


@contextlib.contextmanager
def _guard(results):
    path = os.path.join(results, GUARD)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _create(path, record):
    """Create the lock file with ``O_EXCL``: FileExistsError if held."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())


def release_snakemake_locks(results):
    """Remove Snakemake's lock files, as ``snakemake --unlock`` does."""
    locks = os.path.join(results, SNAKEMAKE_LOCKS)
    for name in os.listdir(locks) if os.path.isdir(locks) else ():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(locks, name))


def snakemake_locked(results):
    """Whether Snakemake's lock files are present in ``results``."""
    locks = os.path.join(results, SNAKEMAKE_LOCKS)
    return os.path.isdir(locks) and bool(os.listdir(locks))


def take(results, command, pid=None, *, snakemake_locks=True):
    """Take the lock of ``results`` for process ``pid``; return its record.

    A stale lock (holder provably gone on this host) is released first,
    with Snakemake's. Raises :class:`LockedError` otherwise, and when only
    Snakemake's lock is there: its holder is unknown (a run of another
    host, or of a gwreplay without this lock). ``snakemake_locks=False``:
    called from inside a Snakemake run (the Snakefile's ``onstart``), whose
    own lock files are there and must stay.
    """
    results = os.path.abspath(results)
    path = os.path.join(results, LOCK)
    record = holder_record(command, pid)
    with _guard(results):
        holder = read_holder(results)
        if holder is not None:
            if holder and holder_alive(holder) is False:
                os.unlink(path)
                if snakemake_locks:
                    release_snakemake_locks(results)
            else:
                raise LockedError(results, describe_holder(results, holder))
        elif snakemake_locks and snakemake_locked(results):
            raise LockedError(
                results,
                f"{results} is locked by Snakemake ({SNAKEMAKE_LOCKS}) and no "
                "run recorded itself there: it may be a snakemake running "
                "on another host. If no run is using the folder, unlock with: "
                f"gwreplay unlock {results}",
            )
        _create(path, record)
    return record


def release(results, record):
    """Remove the lock of ``results`` if it is still the one ``record`` took."""
    path = os.path.join(os.path.abspath(results), LOCK)
    holder = read_holder(results)
    if holder and all(
        holder.get(key) == record[key] for key in ("host", "pid", "process_start")
    ):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def add_child(results, record, pid):
    """Record process ``pid`` (the Snakemake a run started) in the lock."""
    record.setdefault("children", []).append(
        {"pid": pid, "process_start": process_start(pid)}
    )
    from .atomic import write_json

    write_json(os.path.join(os.path.abspath(results), LOCK), record)


@contextlib.contextmanager
def acquire(results, command):
    """Hold the lock of ``results`` for this process (see the module docstring).

    Yields the lock record; raises :class:`LockedError` when the folder is in
    use. While held, :data:`HOLDER_VARIABLE` names this process to children.
    """
    os.makedirs(results, exist_ok=True)
    record = take(results, command)
    previous = os.environ.get(HOLDER_VARIABLE)
    os.environ[HOLDER_VARIABLE] = str(os.getpid())
    try:
        yield record
    finally:
        if previous is None:
            os.environ.pop(HOLDER_VARIABLE, None)
        else:
            os.environ[HOLDER_VARIABLE] = previous
        release(results, record)


def held_by_parent(results):
    """True when the lock of ``results`` is held by the process that started us."""
    holder = read_holder(results)
    return bool(holder) and str(holder.get("pid")) == os.environ.get(HOLDER_VARIABLE)


def unlock(results):
    """``gwreplay unlock``: remove our lock and Snakemake's from ``results``.

    Refused (LockedError) while the holder provably runs on this host.
    Returns the holder that was removed (None when there was none).
    """
    results = os.path.abspath(results)
    with _guard(results):
        holder = read_holder(results)
        if holder and holder_alive(holder):
            raise LockedError(results, describe_holder(results, holder))
        with contextlib.suppress(FileNotFoundError):
            os.unlink(os.path.join(results, LOCK))
        release_snakemake_locks(results)
    return holder


def build_parser(parser):
    """Arguments of ``gwreplay unlock``."""
    parser.add_argument("results", help="results folder to unlock")


def main(args):
    """Unlock a results folder whose run is gone; exit 3 while it runs here."""
    import sys

    if not os.path.isdir(args.results):
        print(f"gwreplay unlock: {args.results}: no such folder", file=sys.stderr)
        return 2
    holder = unlock(args.results)
    who = f"pid {holder.get('pid')} on {holder.get('host')}" if holder else "no run"
    print(f"gwreplay unlock: {os.path.abspath(args.results)} unlocked (held by {who})")
    return 0
