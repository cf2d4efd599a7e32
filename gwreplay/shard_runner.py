"""One Python process that runs Snakemake on shard after shard.

``python -m gwreplay.shard_runner`` reads one JSON object per line on its
standard input, ``{"shard": DAY, "argv": [...], "log": PATH}``, and runs
Snakemake's command line ``argv`` in this process (``snakemake.cli``'s own
``parse_args`` and ``args_to_api``, what ``python -m snakemake`` runs), its
output (and that of the jobs it starts) sent to ``PATH``. After each shard
it prints one line, ``SHARD_DONE DAY STATUS``, then reads the next.

Why: every Snakemake process pays about 1.5 s of interpreter start-up and
imports (Snakemake's plugin registry, pandas through the Slurm plugin)
before it plans anything; at 200 superevents a shard, that was a third of a
shard's dry run (docs/benchmarks.md). Kept in one process it is paid once
per runner. Each shard is still a Snakemake run of its own, with the same
command line a separate process would get, so profiles and executor
plugins work as for ``gwreplay run`` without shards.
"""

import contextlib
import json
import os
import sys

#: The line printed after each shard: marker, shard, Snakemake's status.
DONE = "SHARD_DONE"


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

    0 when it succeeded, 1 when it did not (failed jobs or an error), as
    ``python -m snakemake`` exits (``snakemake.cli.main``).
    """
    from snakemake.cli import args_to_api, parse_args
    from snakemake.exceptions import print_exception

    try:
        parser, args = parse_args(argv)
        return 0 if args_to_api(args, parser) else 1
    except Exception as error:  # what snakemake.cli.main does
        print_exception(error)
        return 1


def main():
    """Read shard requests from stdin until it closes (module docstring)."""
    for line in sys.stdin:
        request = json.loads(line)
        cwd = os.getcwd()
        with output_to(request["log"]):
            status = run_snakemake(request["argv"])
        os.chdir(cwd)  # Snakemake's --directory changed it
        print(f"{DONE} {request['shard']} {status}", flush=True)


if __name__ == "__main__":
    try:
        main()
    except (KeyboardInterrupt, BrokenPipeError):
        # Interrupted with the driver, which reports it (exit status 130).
        sys.exit(130)
