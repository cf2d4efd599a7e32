"""The ``gwreplay`` command line.

Subcommands are thin: each lives in its own module, exposing
``build_parser(parser)`` and ``main(args)``. Only the module of the command
being run is imported (``gwreplay --help`` and ``gwreplay run`` do not pay
for the report's imports), and a module that cannot be imported fails that
command loudly: the ImportError is shown and the exit status is
:data:`EXIT_BROKEN`, never a silently missing command.

Every subcommand gets ligo.skymap's command-line conventions
(``ligo.skymap.tool.ArgumentParser``): ``--version``, ``-l/--loglevel``
(a level name or number, default INFO) and defaults shown in ``--help``.
They are added here, through ``parents`` and ``formatter_class``, so the
subcommands' own parsers need not repeat them.

Exit statuses (README, "Exit statuses"): see the ``EXIT_*`` constants.
"""

import argparse
import importlib
import logging
import sys
import traceback

from .errors import StoreError, UsageError

#: Everything went as asked.
EXIT_OK = 0
#: The command ran, but something in it failed (failed replay jobs, alerts
#: that differ, uploads that could not be fetched).
EXIT_FAILURES = 1
#: Usage or input error: bad options (argparse), a store that is not one.
EXIT_USAGE = 2
#: The results folder is in use by another run (gwreplay.lock).
EXIT_LOCKED = 3
#: A subcommand's module cannot be imported: a broken installation.
EXIT_BROKEN = 4
#: Interrupted (Ctrl-C), as shells report SIGINT.
EXIT_INTERRUPTED = 130

COMMANDS = {
    "run": ("gwreplay.run", "replay a store through the Snakemake workflow"),
    "mdc": ("gwreplay.mdc.command", "generate a mock-data challenge store"),
    "demo": ("gwreplay.demo", "generate the embedded MDC, replay it, report"),
    "report": ("gwreplay.report", "MDC scorecard of a finished replay"),
    "compare": ("gwreplay.compare", "alerts that differ between two replays"),
    "watch": ("gwreplay.watch", "follow a store near-live and replay what arrives"),
    "fetch": ("gwreplay.fetch", "fill a store from a GraceDB server"),
    "unlock": ("gwreplay.lock", "release a results folder whose run is gone"),
}

#: ligo.skymap.tool's log format (``loglevel_type``).
LOG_FORMAT = "%(asctime)s %(levelname)s %(message)s"


class HelpFormatter(
    argparse.RawDescriptionHelpFormatter, argparse.ArgumentDefaultsHelpFormatter
):
    """ligo.skymap.tool.HelpFormatter: descriptions as written, defaults shown."""


def version_string():
    """``gwreplay <version>`` from the installed distribution's metadata."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"gwreplay {version('gwreplay')}"
    except PackageNotFoundError:
        return "gwreplay (not installed)"


def loglevel(value):
    """A logging level from a name (any case) or a number, as ligo.skymap reads it."""
    try:
        return int(value)
    except ValueError:
        name = value.upper()
        if name not in logging.getLevelNamesMapping():
            raise argparse.ArgumentTypeError(f"unknown log level {value!r}") from None
        return logging.getLevelNamesMapping()[name]


def common_options():
    """The options every subcommand has (a parent parser)."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--version", action="version", version=version_string())
    parent.add_argument(
        "-l",
        "--loglevel",
        type=loglevel,
        default="INFO",
        metavar="|".join(logging._levelToName.values()),
        help="logging level",
    )
    return parent


def command_name(argv):
    """The subcommand named in ``argv`` (its first non-option word), or None."""
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def build_parser(selected=None):
    """The top-level parser; ``selected``: the one command to import and build.

    The other commands are listed with their help text only.
    """
    parser = argparse.ArgumentParser(
        prog="gwreplay",
        description="Offline, reproducible replay of the LVK alert orchestrator.",
        epilog="Exit statuses: 0 ok, 1 failures in the replay (or differences, "
        "fetch errors), 2 usage or input error, 3 results folder in use, "
        "4 a command cannot be imported, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=version_string())
    subparsers = parser.add_subparsers(dest="command", required=True)
    parent = common_options()
    for name, (module_name, help_text) in COMMANDS.items():
        sub = subparsers.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[parent],
            formatter_class=HelpFormatter,
        )
        if name == selected:
            module = importlib.import_module(module_name)
            module.build_parser(sub)
            sub.set_defaults(main=module.main)
    return parser


def configure_logging(level, command):
    """Root logging at ``level``, on stderr in ligo.skymap's format.

    ``watch`` and ``fetch`` set up their own handlers; for them only the
    level is set, so their lines are not printed twice.
    """
    root = logging.getLogger()
    root.setLevel(level)
    if command not in ("watch", "fetch") and not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        root.addHandler(handler)


def main(argv=None):
    """Entry point of the ``gwreplay`` console script; returns the exit status."""
    from .lock import LockedError

    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1 :]
    selected = command_name(argv)
    try:
        parser = build_parser(selected)
    except ImportError:
        module_name = COMMANDS[selected][0]
        print(
            f"gwreplay: the {selected!r} command ({module_name}) cannot be "
            "imported; the installation is broken:",
            file=sys.stderr,
        )
        traceback.print_exc()
        return EXIT_BROKEN
    args = parser.parse_args(argv)
    args.extra = extra
    configure_logging(args.loglevel, args.command)
    try:
        return args.main(args)
    except (StoreError, UsageError) as exc:
        print(f"gwreplay: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except LockedError as exc:
        print(f"gwreplay: {exc}", file=sys.stderr)
        return EXIT_LOCKED
    except KeyboardInterrupt:
        print("gwreplay: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
