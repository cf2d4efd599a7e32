"""The ``gwreplay`` command line.

Subcommands are thin: each lives in its own module, exposing
``build_parser(parser)`` and ``main(args)``, and is imported only when used
so that ``gwreplay --help`` stays fast.
"""

import argparse
import importlib
import sys

from .errors import StoreError

COMMANDS = {
    "run": ("gwreplay.run", "replay a store through the Snakemake workflow"),
    "mdc": ("gwreplay.mdc.command", "generate a mock-data challenge store"),
    "demo": ("gwreplay.demo", "generate the embedded MDC, replay it, report"),
    "report": ("gwreplay.report", "MDC scorecard of a finished replay"),
    "compare": ("gwreplay.compare", "alerts that differ between two replays"),
    "watch": ("gwreplay.watch", "follow a store near-live and replay what arrives"),
    "fetch": ("gwreplay.fetch", "fill a store from a GraceDB server"),
}


def build_parser():
    """The top-level parser with one subparser per available command."""
    parser = argparse.ArgumentParser(
        prog="gwreplay",
        description="Offline, reproducible replay of the LVK alert orchestrator.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and exc.name.startswith("gwreplay"):
                continue  # command not part of this installation
            raise
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.build_parser(sub)
        sub.set_defaults(main=module.main)
    return parser


def main(argv=None):
    """Entry point of the ``gwreplay`` console script."""
    argv = sys.argv[1:] if argv is None else argv
    extra = []
    if "--" in argv:
        split = argv.index("--")
        argv, extra = argv[:split], argv[split + 1 :]
    args = build_parser().parse_args(argv)
    args.extra = extra
    try:
        return args.main(args)
    except StoreError as exc:
        print(f"gwreplay: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
