"""``gwreplay run``: drive the Snakemake workflow over a store.

This is more than ``snakemake --config store=STORE results=DIR``: it finds
the workflow, keeps going past failed events, and ends with a summary of
what failed (from ``RESULTS/failures.csv``) and a non-zero exit status when
anything did. Around Snakemake it records the provenance and writes the
tables, and it hands Snakemake only the targets of what changed since the
last complete run, or nothing at all when nothing did
(:mod:`gwreplay.stamp`): on a store of 10^4 superevents, Snakemake's own
checks of an unchanged replay take minutes.
"""

import csv
import os
import subprocess
import sys
import time

from .stamp import DRIVER_VARIABLE

WORKFLOW_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SNAKEFILE = os.path.join(WORKFLOW_DIR, "Snakefile")
DEFAULT_CONFIG = os.path.join(WORKFLOW_DIR, "config", "config.yaml")


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
):
    """The snakemake command line that replays ``store`` into ``results``."""
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


def snakemake_running_in(results):
    """Whether a snakemake process is working in ``results`` (from /proc)."""
    results = os.path.abspath(results)
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                args = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any("snakemake" in arg for arg in args) and results in args:
            return True
    return False


def remove_stale_lock(results, command, env=None):
    """Unlock a results folder left locked by a killed run.

    After a crash (kill -9, node failure) Snakemake's lock stays and every
    later run refuses to start. When no snakemake is working in the folder
    any more, the lock is stale: release it the way Snakemake documents,
    with ``--unlock``.
    """
    locks = os.path.join(results, ".snakemake", "locks")
    if not os.path.isdir(locks) or not os.listdir(locks):
        return
    if snakemake_running_in(results):
        return
    print(f"gwreplay: {results} was left locked by an interrupted run; unlocking")
    subprocess.call(
        [arg for arg in command if arg != "--dry-run"] + ["--unlock"],
        stdout=subprocess.DEVNULL,
        env=env,
    )


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
    """The configuration as Snakemake builds it from ``--configfile`` files."""
    import yaml

    def merge(base, update):
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(base.get(key), dict):
                merge(base[key], value)
            else:
                base[key] = value
        return base

    config = {}
    for path in configfiles:
        with open(path, encoding="utf-8") as f:
            merge(config, yaml.safe_load(f) or {})
    return config


def apply_config_items(config, items):
    """``config`` updated with ``--config key=value`` entries, values as YAML."""
    import yaml

    for item in items:
        key, _, value = item.partition("=")
        config[key] = yaml.safe_load(value)
    return config


def _run_snakemake(store, results, kwargs, *, targets=(), driven=True):
    command = snakemake_command(store, results, targets=targets, **kwargs)
    env = snakemake_environment(kwargs.get("profile"))
    if driven:
        env[DRIVER_VARIABLE] = "1"
    remove_stale_lock(results, command, env)
    return subprocess.call(command, env=env)


def replay(store, results, **kwargs):
    """Run the workflow; return (snakemake exit status, failure rows).

    With extra Snakemake options (other than ``--config`` entries), or for a
    dry run, Snakemake gets the command as given and its hooks do the
    bookkeeping. Otherwise (the usual case) see the module docstring.
    """
    from .stamp import remove_stamp

    results = os.path.abspath(results)
    os.makedirs(results, exist_ok=True)
    options, _ = split_config_args(list(kwargs.get("extra") or ()))
    if options or kwargs.get("dry_run"):
        if not kwargs.get("dry_run"):
            remove_stamp(results)
        status = _run_snakemake(store, results, kwargs, driven=False)
        return status, read_failures(results)
    return incremental_replay(store, results, **kwargs)


def incremental_replay(store, results, **kwargs):
    """Provenance, Snakemake on what changed, tables, stamp (module docstring)."""
    from .plan import cached_plan
    from .provenance import store_files, write_provenance
    from .stamp import (
        code_digest,
        config_digest,
        outdated_targets,
        read_stamp,
        store_listing,
        write_stamp,
    )
    from .summary import write_summaries

    configfiles = [DEFAULT_CONFIG]
    if kwargs.get("configfile"):
        configfiles.append(os.path.abspath(kwargs["configfile"]))
    _, items = split_config_args(list(kwargs.get("extra") or ()))
    config = apply_config_items(load_configfiles(configfiles), items)
    config.update(store=os.path.abspath(store), results=results)
    code, conf = code_digest(), config_digest(configfiles, items)
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
    write_provenance(plan, config, os.path.join(results, "provenance.json"), files)
    started = time.time()
    status = _run_snakemake(store, results, kwargs, targets=targets or ())
    # Snakemake's lock is released now: sweep only what was left before
    # this run started, not what another run may be writing.
    folders = changed = None
    if targets is not None:
        folders = {os.path.dirname(target) for target in targets}
        changed = {
            os.path.basename(folder)
            for folder in folders
            if os.path.basename(os.path.dirname(folder)) == "superevents"
        }
    write_summaries(
        plan,
        final=True,
        folders=folders,
        older_than=started,
        changed_superevents=changed,
    )
    if status == 0:
        write_stamp(results, code=code, config=conf, listing=listing, plan=plan)
    return status, read_failures(results)


def main(args):
    """Replay, then print what failed; non-zero exit when anything did."""
    status, failures = replay(
        args.store,
        args.results,
        cores=args.cores,
        profile=args.profile,
        dry_run=args.dry_run,
        configfile=args.configfile,
        extra=args.extra,
    )
    if args.dry_run:
        return status
    for row in failures:
        print(f"FAILED {row['stage']}: {row['id']}: {row['file']}: {row['reason']}")
    print(f"gwreplay: results in {os.path.abspath(args.results)}")
    if failures:
        print(f"gwreplay: {len(failures)} failure(s), listed in failures.csv")
    return 1 if status or failures else 0
