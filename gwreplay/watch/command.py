"""``gwreplay watch`` on the command line: arguments, configuration, logging.

    gwreplay watch STORE --results DIR [--cores N] [--profile P] [--poll]
                   [--batch-seconds S] [--clock-offset S] [--configfile F]

:func:`build_parser` and :func:`main` are what ``gwreplay.cli`` calls
(re-exported by :mod:`gwreplay.watch`); the option defaults are those of the
parts that use them.
"""

import logging
import os
import signal

from ..errors import ReplayError
from ..run import (
    DEFAULT_CONFIG,
    apply_config_items,
    load_configfiles,
    split_config_args,
)
from .clock import ReplayClock, watch_grace_seconds
from .observer import watch_poll_seconds
from .runner import FORCING_OPTIONS, watch_stop_timeout
from .uploads import watch_settle_seconds
from .watcher import Watcher, watch_batch_seconds

log = logging.getLogger("gwreplay.watch")


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
    parser.add_argument(
        "--cold",
        action="store_true",
        help="start a Snakemake process per run instead of keeping one warm "
        "(its start-up and its jobs' imports paid every run)",
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
        warm=not args.cold,
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
