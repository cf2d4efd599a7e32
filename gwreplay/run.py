"""``gwreplay run``: drive the Snakemake workflow over a store.

This is more than ``snakemake --config store=STORE results=DIR``: it finds
the workflow, keeps going past failed events, and ends with a summary of
what failed (from ``RESULTS/failures.csv``) and a non-zero exit status when
anything did. Around Snakemake it records the provenance and writes the
tables, and it hands Snakemake only the targets of what changed since the
last complete run, or nothing at all when nothing did
(:mod:`gwreplay.stamp`): on a store of 10^4 superevents, Snakemake's own
checks of an unchanged replay take minutes. The bookkeeping is
:class:`gwreplay.bookkeeping.RunBookkeeping`, the same code the Snakefile's
hooks run for plain ``snakemake``.

A run holds the results folder's lock (:mod:`gwreplay.lock`), so a second
run, or a watcher, on the same folder is refused, and Snakemake's output
goes to ``RESULTS/logs/snakemake/`` behind a progress bar
(:mod:`gwreplay.progress`).
"""

import csv
import os
import sys

from . import shard_runs
from .shards import MODES as SHARD_MODES
from .shards import SHARD_SUPEREVENTS
from .stamp import DRIVER_VARIABLE

WORKFLOW_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAKEFILE = os.path.join(WORKFLOW_DIR, "Snakefile")
DEFAULT_CONFIG = os.path.join(WORKFLOW_DIR, "config", "config.yaml")
#: ``gwreplay run --help``'s note on the arguments after ``--``.
EPILOG = """\
-- SNAKEMAKE_ARGS: everything after -- goes to snakemake as is, e.g.
  gwreplay run STORE --results R -- --forcerun bayestar
  gwreplay run STORE --results R -- --config orchestrator_timeout=20
Such a run is judged by Snakemake alone (the stamp is dropped), except for
--config KEY=VALUE entries, which are part of the configuration the stamp
records. Snakemake's whole output goes to RESULTS/logs/snakemake/; -v shows it.
Exit statuses: 0 ok, 1 failed jobs, 2 usage or input error, 3 results folder
in use (gwreplay unlock RESULTS when its run is gone), 130 interrupted."""


def build_parser(parser):
    """Arguments of ``gwreplay run``."""
    parser.add_argument("store", help="event store (docs/store.md)")
    parser.add_argument("--results", required=True, help="results folder")
    parser.add_argument(
        "--cores",
        help="cores for local jobs (default: all, or the profile's setting)",
    )
    parser.add_argument(
        "--profile",
        help="Snakemake profile: a name under profiles/ (slurm, htcondor) or a path",
    )
    parser.add_argument(
        "--dry-run", "-n", action="store_true", help="show what would be built"
    )
    parser.add_argument(
        "--configfile", help="YAML file of config keys overriding config/config.yaml"
    )
    parser.add_argument(
        "--shards",
        choices=SHARD_MODES,
        default="auto",
        help="one Snakemake run per shard of whole UTC days of at most "
        f"{SHARD_SUPEREVENTS} superevents (days), one for the whole store (none), "
        f"or shards above {SHARD_SUPEREVENTS} superevents (auto, the default); "
        "the results are the same bytes either way (gwreplay/shards.py)",
    )
    parser.add_argument(
        "--shard-superevents",
        type=int,
        metavar="N",
        default=SHARD_SUPEREVENTS,
        help="most superevents in a shard of several days (default: %(default)s)",
    )
    parser.add_argument(
        "--shard-jobs",
        type=int,
        metavar="N",
        default=1,
        help="shards run at once, each its own Snakemake (default: %(default)s)",
    )
    add_display_options(parser)
    parser.usage = (
        "gwreplay run STORE --results RESULTS [options] [-- SNAKEMAKE_ARGS ...]"
    )
    parser.epilog = EPILOG


def add_display_options(parser):
    """``-v/--verbose`` and ``-q/--quiet``: what is shown of Snakemake's run."""
    shown = parser.add_mutually_exclusive_group()
    shown.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="show Snakemake's job blocks instead of a progress bar",
    )
    shown.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="show nothing of Snakemake's run (its log file has everything)",
    )


def profile_path(name):
    """Resolve a profile name under ``profiles/``, or accept a path as is."""
    candidate = os.path.join(WORKFLOW_DIR, "profiles", name)
    return candidate if os.path.isdir(candidate) else name


def split_config_args(extra):
    """Separate ``--config k=v ...`` from the other extra snakemake arguments.

    Snakemake keeps only the last ``--config`` option, so the user's entries
    are merged into ours instead of replacing ``store`` and ``results``.
    """
    rest, config_items = [], []
    items = iter(extra)
    for arg in items:
        if arg == "--config":
            for item in items:
                if item.startswith("-"):
                    rest.append(item)
                    break
                config_items.append(item)
        else:
            rest.append(arg)
    return rest, config_items


def snakemake_command(
    store,
    results,
    *,
    cores=None,
    profile=None,
    dry_run=False,
    configfile=None,
    extra=(),
    targets=(),
    shard=None,
):
    """The snakemake command line that replays ``store`` into ``results``
    (or, with ``shard``, that UTC day's part of it: :mod:`gwreplay.shards`)."""
    rest, config_items = split_config_args(list(extra))
    command = [
        sys.executable,
        "-m",
        "snakemake",
        *rest,
        "--snakefile",
        SNAKEFILE,
        # Snakemake's own state (.snakemake/) lives with the results, so
        # replays of different stores never lock each other out.
        "--directory",
        os.path.abspath(results),
        "--keep-going",
        "--rerun-incomplete",
        # Run `run:` blocks (local rules such as `report`) in threads of this
        # process instead of a second Snakemake that parses everything again.
        "--force-use-threads",
        "--printshellcmds",
    ]
    if cores is not None or not profile:
        # A profile sets its own cores; --cores would override it.
        command += ["--cores", str(cores or "all")]
    if profile:
        command += ["--profile", profile_path(profile)]
    if dry_run:
        command.append("--dry-run")
    command += ["--configfile", DEFAULT_CONFIG]
    if configfile:
        command.append(os.path.abspath(configfile))
    command += [
        "--config",
        f"store={os.path.abspath(store)}",
        f"results={os.path.abspath(results)}",
        *config_items,
    ]
    if shard:
        command.append(f"replay_shard={shard}")
    if targets:
        command += ["--", *targets]
    return command


def snakemake_environment(profile):
    """The environment of the snakemake process.

    The HTCondor executor plugin warns on import when no HTCondor
    configuration exists; outside HTCondor runs, point it at an empty one.
    """
    env = dict(os.environ)
    if profile != "htcondor" and not os.path.exists("/etc/condor/condor_config"):
        env.setdefault("CONDOR_CONFIG", os.devnull)
    return env


def read_failures(results):
    """Rows of ``RESULTS/failures.csv`` (empty when there is none)."""
    path = os.path.join(results, "failures.csv")
    if not os.path.exists(path):
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


#: Above this many outdated targets, Snakemake gets the whole workflow: the
#: DAG is then mostly to be built anyway, and a command line has a limit.
MAX_TARGETS = 500


def load_configfiles(configfiles):
    """The configuration as Snakemake builds it from ``--configfile`` files.

    Snakemake's own loader and merge (``snakemake.common.configfile`` and
    ``snakemake.utils.update_config``, as ``Workflow.configfile`` does).
    """
    from snakemake.common.configfile import load_configfile
    from snakemake.utils import update_config

    config = {}
    for path in configfiles:
        update_config(config, load_configfile(path))
    return config


def apply_config_items(config, items):
    """``config`` updated with ``--config key=value`` entries, as Snakemake reads them.

    ``snakemake.cli.parse_config`` (imported only when there are entries:
    it costs a second).
    """
    if items:
        from snakemake.utils import update_config

        update_config(config, snakemake_cli().parse_config(items))
    return config


def snakemake_cli():
    """``snakemake.cli``, for Snakemake's own reading of its command line.

    It loads the HTCondor plugin, which warns without a configuration (as
    :func:`snakemake_environment` says).
    """
    if not os.path.exists("/etc/condor/condor_config"):
        os.environ.setdefault("CONDOR_CONFIG", os.devnull)
    import snakemake.cli

    return snakemake.cli


def _display(kwargs):
    from .progress import RunDisplay

    return kwargs.get("display") or RunDisplay("plain")


#: Options of ``gwreplay run`` for the shards' driver, not for Snakemake.
SHARD_OPTIONS = ("display", "shards", "shard_superevents", "shard_jobs")


def _run_snakemake(store, results, kwargs, *, targets=(), driven=True, record=None):
    """Snakemake over ``store``; its output shown by the run's display."""
    from .lock import add_child
    from .progress import log_path

    options = {k: v for k, v in kwargs.items() if k not in SHARD_OPTIONS}
    command = snakemake_command(store, results, targets=targets, **options)
    env = snakemake_environment(kwargs.get("profile"))
    if driven:
        env[DRIVER_VARIABLE] = "1"
    display = _display(kwargs)
    if record is not None:
        display.on_start = lambda child: add_child(results, record, child.pid)
    logfile = None if kwargs.get("dry_run") else log_path(results)
    return display.run(command, env, logfile)


def replay(store, results, **kwargs):
    """Run the workflow; return (snakemake exit status, failure rows).

    With extra Snakemake options (other than ``--config`` entries), or for a
    dry run, Snakemake gets the command as given and its hooks do the
    bookkeeping. Otherwise (the usual case) see the module docstring.
    ``display``: a :class:`gwreplay.progress.RunDisplay` for Snakemake's
    output (default: its ``plain`` mode). A run that writes holds the
    results folder's lock (:mod:`gwreplay.lock`): LockedError when in use.
    """
    from .lock import acquire
    from .stamp import remove_stamp

    results = os.path.abspath(results)
    os.makedirs(results, exist_ok=True)
    options, _ = split_config_args(list(kwargs.get("extra") or ()))
    if kwargs.get("dry_run"):
        sharded = shard_runs.sharded_plan(store, results, kwargs)
        if sharded is not None:
            plan = sharded[0]
            options, targets = shard_runs.user_targets(results, kwargs, plan)
            return shard_runs.run_shards(store, results, options, plan, targets), []
        status = _run_snakemake(store, results, kwargs, driven=False)
        return status, read_failures(results)
    with acquire(results, ["gwreplay", "run", *sys.argv[1:]]) as record:
        if options:
            remove_stamp(results)
            sharded = shard_runs.sharded_plan(store, results, kwargs)
            if sharded is not None:
                return shard_runs.unvouched_shards(
                    store, results, kwargs, *sharded, record
                )
            status = _run_snakemake(store, results, kwargs, driven=False, record=record)
            return status, read_failures(results)
        return incremental_replay(store, results, record=record, **kwargs)


def run_config(store, results, kwargs):
    """``(config, config files, --config entries)`` of the run, as Snakemake
    will build its configuration."""
    configfiles = [DEFAULT_CONFIG]
    if kwargs.get("configfile"):
        configfiles.append(os.path.abspath(kwargs["configfile"]))
    _, items = split_config_args(list(kwargs.get("extra") or ()))
    config = apply_config_items(load_configfiles(configfiles), items)
    config.update(store=os.path.abspath(store), results=os.path.abspath(results))
    return config, configfiles, items


def incremental_replay(store, results, record=None, **kwargs):
    """Provenance, Snakemake on what changed, tables, stamp (module docstring).

    ``record``: the lock record of this run, to which the Snakemake started
    is added.
    """
    from .bookkeeping import RunBookkeeping, Stamp
    from .plan import cached_plan
    from .provenance import store_files
    from .shards import sharded
    from .stamp import (
        code_digest,
        config_files_digest,
        outdated_targets,
        read_stamp,
        store_listing,
    )

    config, configfiles, items = run_config(store, results, kwargs)
    code, conf = code_digest(), config_files_digest(configfiles, items)
    plan = cached_plan(store, results, config)
    files = store_files(plan.store.root)
    listing = store_listing(store, files)
    targets = outdated_targets(
        plan, read_stamp(results), code=code, config=conf, listing=listing
    )
    if targets == []:
        print(
            "gwreplay: Nothing to be done: the store, the configuration and "
            "the workflow are as at the last complete run"
        )
        return 0, read_failures(results)
    if targets is not None and len(targets) > MAX_TARGETS:
        targets = None
    books = RunBookkeeping(
        plan, config, stamp=Stamp(code, conf, listing), targets=targets
    )
    books.begin(files)
    if sharded(plan, kwargs.get("shards") or "auto", kwargs.get("shard_superevents")):
        status = shard_runs.run_shards(store, results, kwargs, plan, targets, record)
    else:
        status = _run_snakemake(
            store, results, kwargs, targets=targets or (), record=record
        )
    books.end(status)
    return status, read_failures(results)


def print_outcome(results, status, failures, display):
    """The lines after a run: failures, where the results and the log are,
    and why Snakemake stopped when it failed with nothing in failures.csv
    (a DAG it could not build: its error would otherwise be in the log
    only)."""
    for row in failures:
        print(f"FAILED {row['stage']}: {row['id']}: {row['file']}: {row['reason']}")
    results = os.path.abspath(results)
    print(f"gwreplay: results in {results}")
    if display.shards:
        print(
            f"gwreplay: {display.shards} shard(s); Snakemake's logs in "
            f"{os.path.dirname(display.logfile)}"
        )
    elif display.logfile:
        print(
            f"gwreplay: {display.progress.summary()}; Snakemake's log: "
            f"{display.logfile}"
        )
    if failures:
        print(f"gwreplay: {len(failures)} failure(s), listed in failures.csv")
    elif status:
        if display.shards:
            reason = "see the shard lines above"
        else:
            reason = display.progress.stopped(status) or "see Snakemake's log"
        print(
            f"gwreplay: Snakemake stopped with exit status {status} and "
            f"failures.csv lists nothing: {reason}",
            file=sys.stderr,
        )


def main(args):
    """Replay, then print what failed; non-zero exit when anything did."""
    from .progress import RunDisplay, output_mode

    display = RunDisplay(
        "verbose"
        if args.dry_run
        else output_mode(verbose=args.verbose, quiet=args.quiet)
    )
    status, failures = replay(
        args.store,
        args.results,
        cores=args.cores,
        profile=args.profile,
        dry_run=args.dry_run,
        configfile=args.configfile,
        extra=args.extra,
        display=display,
        shards=args.shards,
        shard_superevents=args.shard_superevents,
        shard_jobs=args.shard_jobs,
    )
    if args.dry_run:
        return status
    print_outcome(args.results, status, failures, display)
    return 1 if status or failures else 0
