"""``gwreplay report``: the command line.

``-j/--jobs`` as ligo.skymap's tools take it (``-j`` alone: every CPU);
the progress bar of the crossmatch goes to stderr and is off with
``--quiet`` or when stderr is not a terminal. The path of the page is the
only line on stdout; notes and errors go to stderr. Exit status 0, or 1 when
the results folder is missing or the report cannot be written.
"""

import json
import os
import sys

from .build import write_report


def _jobs(text):
    """A positive number of processes (argparse type)."""
    import argparse

    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return jobs


def build_parser(parser):
    """Arguments of ``gwreplay report``."""
    parser.add_argument("results", metavar="RESULTS", help="results folder of a replay")
    parser.add_argument(
        "--store",
        metavar="STORE",
        help="the replayed store: truth.json and injections.xml of an MDC "
        "(without it, outcomes and sky-map statistics are skipped)",
    )
    parser.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        nargs="?",
        const=os.cpu_count() or 1,
        default=1,
        metavar="N",
        help="processes for the crossmatch of the sky maps; -j alone: one per CPU",
    )
    parser.add_argument(
        "--quiet",
        action="store_true",
        help="no progress bar (else a bar on stderr when it is a terminal)",
    )


def _error(message):
    print(f"gwreplay report: {message}", file=sys.stderr)
    return 1


def main(args):
    """Write the report; print where it is (stdout) and what was skipped (stderr)."""
    if not os.path.isdir(args.results):
        return _error(f"{args.results}: no such results folder")
    if args.store and not os.path.isdir(args.store):
        return _error(f"{args.store}: no such store")
    try:
        report_dir = write_report(
            args.results,
            store=args.store,
            jobs=args.jobs,
            quiet=args.quiet,
        )
    except OSError as exc:
        return _error(f"cannot write the report: {exc}")
    with open(os.path.join(report_dir, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    for item in summary["skipped"]:
        print(f"gwreplay report: skipped: {item}", file=sys.stderr)
    print(os.path.join(report_dir, "index.html"))
    return 0
