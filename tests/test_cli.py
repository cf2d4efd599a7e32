"""The gwreplay command line: ligo.skymap's conventions, exit statuses, locks."""

import json
import subprocess
import sys
import tomllib

import pytest
from builders import REPO, burst_event, write_event, write_gaussian_skymap

from gwreplay import cli, lock


def run_cli(*args):
    """(exit status, stdout, stderr) of ``gwreplay ARGS`` as a user runs it."""
    proc = subprocess.run(
        [sys.executable, "-m", "gwreplay.cli", *args], capture_output=True, text=True
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_version_is_the_packages():
    with open(REPO / "pyproject.toml", "rb") as f:
        expected = tomllib.load(f)["project"]["version"]
    status, out, _ = run_cli("--version")
    assert (status, out.strip()) == (0, f"gwreplay {expected}")
    status, out, _ = run_cli("run", "--version")
    assert (status, out.strip()) == (0, f"gwreplay {expected}")


@pytest.mark.parametrize("command", sorted(cli.COMMANDS))
def test_every_command_has_loglevel_and_shows_defaults(command):
    status, out, err = run_cli(command, "--help")
    assert status == 0, err
    assert "-l CRITICAL|ERROR|WARNING|INFO|DEBUG|NOTSET, --loglevel" in out
    assert "(default: INFO)" in out
    assert "--version" in out


def test_run_help_explains_snakemake_args_and_display():
    _, out, _ = run_cli("run", "--help")
    assert "[-- SNAKEMAKE_ARGS ...]" in out
    assert "-v, --verbose" in out and "-q, --quiet" in out
    assert "gwreplay unlock RESULTS" in out


def test_usage_errors_go_to_stderr_with_status_2():
    status, out, err = run_cli("run")
    assert status == cli.EXIT_USAGE == 2
    assert out == "" and "--results" in err
    status, _, err = run_cli("mdc", "S", "--loglevel", "LOUD")
    assert status == 2 and "unknown log level 'LOUD'" in err
    status, out, err = run_cli("run", "no-such-store", "--results", "/nonexistent/r")
    assert status != 0 and "Traceback" not in out + err


def test_loglevel_names_and_numbers():
    assert cli.loglevel("debug") == 10 and cli.loglevel("15") == 15


def test_a_command_that_cannot_be_imported_fails_loudly(monkeypatch, capsys):
    monkeypatch.setitem(
        cli.COMMANDS, "broken", ("gwreplay.no_such_module", "a broken command")
    )
    assert cli.main(["broken", "x"]) == cli.EXIT_BROKEN == 4
    err = capsys.readouterr().err
    assert "'broken' command (gwreplay.no_such_module) cannot be imported" in err
    assert "ModuleNotFoundError: No module named 'gwreplay.no_such_module'" in err


@pytest.fixture
def live_holder(tmp_path):
    """A results folder whose lock is held by a live process of this host."""
    results = tmp_path / "results"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from gwreplay import lock\n"
            "with lock.acquire(sys.argv[1], ['gwreplay', 'watch']):\n"
            "    print('held', flush=True); time.sleep(600)",
            str(results),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    yield results, proc
    proc.kill()
    proc.wait()


def test_second_run_on_a_folder_in_use_is_refused(live_holder, tmp_path):
    results, proc = live_holder
    status, out, err = run_cli("run", str(tmp_path), "--results", str(results))
    assert status == cli.EXIT_LOCKED == 3
    assert f"pid {proc.pid} on host" in err and "gwreplay watch" in err
    assert f"gwreplay unlock {results}" in err
    status, _, err = run_cli("unlock", str(results))
    assert status == 3 and "which is running" in err
    # once the holder is gone the next run would release the lock itself;
    # unlock does it on request
    proc.kill()
    proc.wait()
    status, out, _ = run_cli("unlock", str(results))
    assert status == 0 and f"pid {proc.pid}" in out
    assert not (results / lock.LOCK).exists()


def test_plain_snakemake_runs_record_themselves(live_holder):
    """The Snakefile's onstart takes the same lock: refused while in use."""
    results, proc = live_holder
    store = results.parent / "store"
    folder = write_event(store, burst_event("G900100", 1187000000.0))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 120.0, -30.0)
    holder = json.loads((results / lock.LOCK).read_text())
    proc_run = subprocess.run(
        [sys.executable, "-m", "snakemake", "--cores", "1", "--directory"]
        + [str(results), "--snakefile", str(REPO / "Snakefile")]
        + ["--configfile", str(REPO / "config" / "config.yaml")]
        + ["--config", f"store={store}", f"results={results}"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    output = proc_run.stdout + proc_run.stderr
    assert proc_run.returncode != 0, output
    assert f"pid {holder['pid']} on host" in output
    assert not (results / "superevents").exists()  # no job ran
    assert json.loads((results / lock.LOCK).read_text()) == holder
