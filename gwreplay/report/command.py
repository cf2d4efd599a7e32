"""``gwreplay report``: the command line."""

import json
import os

from .build import write_report


def build_parser(parser):
    """Arguments of ``gwreplay report``."""
    parser.add_argument("results", metavar="RESULTS", help="results folder of a replay")
    parser.add_argument(
        "--store",
        metavar="STORE",
        help="the replayed store: truth.json and injections.xml of an MDC",
    )


def main(args):
    """Write the report; print where it is and what was skipped."""
    if not os.path.isdir(args.results):
        print(f"gwreplay report: {args.results}: no such results folder")
        return 1
    report_dir = write_report(args.results, store=args.store)
    with open(os.path.join(report_dir, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    for item in summary["skipped"]:
        print(f"gwreplay report: skipped: {item}")
    print(os.path.join(report_dir, "index.html"))
    return 0
