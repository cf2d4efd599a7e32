"""The results folder's lock (gwreplay.lock): one writer, stale locks proved.

Holders are real processes (a sleeping ``python`` child); a lock of another
host or of a reused pid is written by hand, as such a run would leave it.
"""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from gwreplay import lock

SLEEPER = "import time; time.sleep(600)"


@pytest.fixture
def sleeper():
    """A live process that is not us; killed at the end."""
    proc = subprocess.Popen([sys.executable, "-c", SLEEPER])
    yield proc
    proc.kill()
    proc.wait()


def write_lock(results, **holder):
    path = results / lock.LOCK
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(holder))
    return path


def holder_of(pid, **changes):
    """A lock record for ``pid`` as :func:`lock.holder_record` writes it."""
    return dict(lock.holder_record(["gwreplay", "run", "S"], pid=pid), **changes)


def test_process_start_is_the_kernels_and_none_when_gone(sleeper):
    with open(f"/proc/{sleeper.pid}/stat") as f:
        expected = int(f.read().rsplit(")", 1)[1].split()[19])
    assert lock.process_start(sleeper.pid) == expected
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert lock.process_start(dead.pid) is None


def test_live_holder_on_this_host_is_refused_with_host_pid_and_unlock(
    tmp_path, sleeper
):
    write_lock(tmp_path, **holder_of(sleeper.pid))
    with pytest.raises(lock.LockedError) as caught:
        lock.take(tmp_path, ["gwreplay", "run"])
    message = str(caught.value)
    assert f"pid {sleeper.pid} on host {socket.gethostname()}" in message
    assert "which is running" in message
    assert f"gwreplay unlock {tmp_path}" in message
    # unlock refuses too while the holder provably runs here
    with pytest.raises(lock.LockedError):
        lock.unlock(tmp_path)


def test_dead_holder_is_released_with_snakemakes_lock(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_lock(tmp_path, **dict(holder_of(os.getpid()), pid=dead.pid))
    locks = tmp_path / lock.SNAKEMAKE_LOCKS
    locks.mkdir(parents=True)
    (locks / "0.output.lock").write_text("x\n")
    record = lock.take(tmp_path, ["gwreplay", "run"])
    assert record["pid"] == os.getpid()
    assert json.loads((tmp_path / lock.LOCK).read_text())["pid"] == os.getpid()
    assert list(locks.iterdir()) == []


def test_holder_on_another_host_is_refused_even_if_the_pid_lives_here(
    tmp_path, sleeper
):
    write_lock(tmp_path, **holder_of(sleeper.pid, host="login-node-2.example"))
    with pytest.raises(lock.LockedError) as caught:
        lock.take(tmp_path, ["gwreplay", "run"])
    assert f"pid {sleeper.pid} on host login-node-2.example" in str(caught.value)
    assert "cannot be checked from this host" in str(caught.value)
    # the user, who knows that run is gone, may unlock from here
    assert lock.unlock(tmp_path)["host"] == "login-node-2.example"
    assert not (tmp_path / lock.LOCK).exists()


def test_reused_pid_is_a_stale_lock(tmp_path, sleeper):
    start = lock.process_start(sleeper.pid)
    write_lock(tmp_path, **holder_of(sleeper.pid, process_start=start - 1))
    record = lock.take(tmp_path, ["gwreplay", "run"])
    assert record["pid"] == os.getpid()


def test_snakemake_lock_without_a_recorded_holder_is_refused(tmp_path):
    locks = tmp_path / lock.SNAKEMAKE_LOCKS
    locks.mkdir(parents=True)
    (locks / "0.input.lock").write_text("x\n")
    with pytest.raises(lock.LockedError, match="locked by Snakemake"):
        lock.take(tmp_path, ["gwreplay", "run"])
    # from inside Snakemake (its onstart hook) its own locks are expected
    lock.take(tmp_path, ["snakemake"], snakemake_locks=False)


def test_unreadable_lock_is_held_by_someone_unknown(tmp_path):
    path = write_lock(tmp_path)
    path.write_text("{not json")
    with pytest.raises(lock.LockedError, match="cannot be read"):
        lock.take(tmp_path, ["gwreplay", "run"])


def test_acquire_releases_on_exit_and_tells_children(tmp_path):
    with lock.acquire(tmp_path, ["gwreplay", "watch"]) as record:
        assert os.environ[lock.HOLDER_VARIABLE] == str(os.getpid())
        assert lock.held_by_parent(tmp_path)
        assert "which is running" in lock.describe_holder(tmp_path)
        assert record["command"] == ["gwreplay", "watch"]
    assert lock.read_holder(tmp_path) is None
    assert lock.describe_holder(tmp_path) is None
    assert lock.HOLDER_VARIABLE not in os.environ


CONTENDER = textwrap.dedent(
    """
    import os, sys, time
    from gwreplay import lock
    results, go = sys.argv[1], sys.argv[2]
    while not os.path.exists(go):
        time.sleep(0.001)
    try:
        lock.take(results, ["contender"])
    except lock.LockedError:
        print("refused", flush=True)
    else:
        print("won", flush=True)
        time.sleep(5)
    """
)


def test_concurrent_acquisition_has_one_winner(tmp_path):
    results, go = tmp_path / "results", tmp_path / "go"
    results.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", CONTENDER, str(results), str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    go.touch()
    outcomes = sorted(proc.stdout.readline().strip() for proc in procs)
    for proc in procs:
        proc.kill()
        proc.wait()
    assert outcomes == ["refused", "won"]
