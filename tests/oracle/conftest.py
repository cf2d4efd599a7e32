"""The ``gwcelery`` fixture: gwcelery 3.0.0's own functions, as the test oracle.

gwcelery runs in its own environment (``make oracle``; docs/policies.md),
under ``GWREPLAY_ORACLE_PYTHON`` or the default path below. The fixture
starts :mod:`bridge` there once per session and sends it one batch per
:meth:`Oracle.call`. When the environment is absent, the fixture builds it
with ``make oracle`` (at the default path only; a python named by
``GWREPLAY_ORACLE_PYTHON`` is never built over); only if that fails, or the
named python is absent, are the oracle tests skipped.
"""

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BRIDGE = Path(__file__).with_name("bridge.py")
DEFAULT_VENV = Path.home() / ".cache" / "gwreplay" / "oracle-gwcelery-3.0.0"
#: Seconds for the bridge's start (it imports every gwcelery task module).
START_TIMEOUT = 300


def oracle_python():
    """Path of the oracle's python (it may not exist yet)."""
    configured = os.environ.get("GWREPLAY_ORACLE_PYTHON")
    return Path(configured) if configured else DEFAULT_VENV / "bin" / "python"


def _build(python):
    """Build the oracle with ``make oracle``; None or why it failed."""
    venv = python.parent.parent
    try:
        done = subprocess.run(
            ["make", "-C", str(REPO), "oracle", f"ORACLE_VENV={venv}"],
            capture_output=True,
            text=True,
            timeout=1800,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"make oracle failed: {exc}"
    if done.returncode or not python.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        return "make oracle failed: " + " | ".join(tail)
    return None


class Oracle:
    """One bridge process answering batches of calls to gwcelery's functions."""

    def __init__(self, python):
        self.process = subprocess.Popen(
            [str(python), str(BRIDGE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            cwd=str(BRIDGE.parent),
        )
        ready = json.loads(self.process.stdout.readline() or "{}")
        self.version = ready.get("ready")
        if self.version != "3.0.0":
            self.close()
            raise RuntimeError(f"the oracle is not gwcelery 3.0.0: {ready!r}")

    def call(self, function_name, list_of_args):
        """gwcelery's ``function_name`` on each argument list, in one batch.

        Returns one ``{"ok": result}`` or ``{"error": "Type: message"}`` per
        argument list, in order.
        """
        request = {"function": function_name, "args": list(list_of_args)}
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the gwcelery bridge ended; run it by hand to see why")
        return json.loads(line)

    def close(self):
        """End the bridge (closing its input ends its loop)."""
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def gwcelery():
    """gwcelery 3.0.0 behind :meth:`Oracle.call`; skipped only if unbuildable."""
    python = oracle_python()
    if not python.exists():
        if (
            "GWREPLAY_ORACLE_PYTHON" in os.environ
        ):  # never build over a path we were given
            pytest.skip(
                f"gwcelery 3.0.0 oracle {python} (GWREPLAY_ORACLE_PYTHON) absent"
            )
        why = _build(python)
        if why:
            pytest.skip(f"gwcelery 3.0.0 oracle at {python} absent and {why}")
    oracle = Oracle(python)
    yield oracle
    oracle.close()


@pytest.fixture(scope="session")
def o4_settings():
    """The ``policies: O4:`` block of config/config.yaml."""
    import yaml

    with open(REPO / "config" / "config.yaml") as f:
        return yaml.safe_load(f)["policies"]["O4"]
