"""One Python process that runs Snakemake run after run: the warm path.

``python -m gwreplay.snakemake_runner`` reads one JSON object per line on
its standard input, ``{"name": NAME, "argv": [...], "log": PATH}``, and runs
Snakemake's command line ``argv`` in this process (``snakemake.cli``'s own
``parse_args`` and ``args_to_api``, what ``python -m snakemake`` runs), its
output (and that of the jobs it starts) sent to ``PATH``. After each run it
prints one line, ``RUN_DONE NAME STATUS``, then reads the next.

Why: every Snakemake process pays about 1.5 s of interpreter start-up and
imports (Snakemake's plugin registry, pandas through the Slurm plugin)
before it plans anything, and the jobs it runs in its own threads (the O4
alert path, ``run:`` rules) import gwpy and the alert libraries again (1-3
s). Kept in one process, both are paid once per runner: by ``gwreplay run``
for its shards (:mod:`gwreplay.shard_runs`) and by the watcher for its runs
(:mod:`gwreplay.watch.runner`). Each run is still a Snakemake run of its
own, with the command line a separate process would get, so profiles and
executor plugins work as before.
"""

import contextlib
import json
import os
import sys

#: The line printed after each run: marker, name, Snakemake's status.
DONE = "RUN_DONE"


@contextlib.contextmanager
def output_to(path):
    """Send file descriptors 1 and 2 (ours and every child's) to ``path``."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w", encoding="utf-8") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_snakemake(argv):
    """Snakemake's command line in this process; its exit status.

    0 when it succeeded, 1 when it did not (failed jobs or an error), 2 for
    a usage error, as ``python -m snakemake`` exits.
    """
    from snakemake.cli import args_to_api, parse_args
    from snakemake.exceptions import print_exception

    try:
        parser, args = parse_args(argv)
        return 0 if args_to_api(args, parser) else 1
    except SystemExit as exit:  # argparse's usage errors, --help
        return exit.code if isinstance(exit.code, int) else 1
    except Exception as error:  # what snakemake.cli.main does
        print_exception(error)
        return 1


# --- the client side: gwreplay run's shards and the watcher ---------------


def start(env, *, new_session=False):
    """A runner process (this module), its requests on a pipe; ``new_session``:
    signals reach it only when sent to it (the watcher's)."""
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "gwreplay.snakemake_runner"],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        bufsize=1,
        start_new_session=new_session,
    )


def request(process, name, command, log):
    """Ask ``process`` for one run of ``command`` (``python -m snakemake ...``,
    as :func:`gwreplay.run.snakemake_command` makes it), its output to
    ``log``. BrokenPipeError when the process has died."""
    if command[1:3] != ["-m", "snakemake"]:
        raise ValueError(f"not a python -m snakemake command: {command[:3]}")
    line = json.dumps({"name": name, "argv": command[3:], "log": log})
    process.stdin.write(line + "\n")
    process.stdin.flush()


def read_status(process):
    """The exit status of the run asked for, from the process's next line;
    None when it ended without one (killed, crashed)."""
    fields = process.stdout.readline().split()
    return int(fields[2]) if len(fields) == 3 and fields[0] == DONE else None


def main():
    """Read run requests from stdin until it closes (module docstring)."""
    for line in sys.stdin:
        request = json.loads(line)
        cwd = os.getcwd()
        with output_to(request["log"]):
            status = run_snakemake(request["argv"])
        os.chdir(cwd)  # Snakemake's --directory changed it
        print(f"{DONE} {request['name']} {status}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        # Interrupted with the driver, which reports it (exit status 130).
        sys.exit(130)
