"""``gwreplay fetch`` command line: arguments, summary and exit status.

Exit status: 0 everything fetched; 1 something could not be (each problem
listed on stderr); 2 invalid arguments; 3 stopped early because GraceDB is
in maintenance (run the same command again later: it resumes).
"""

import argparse
import logging
import sys

from .checks import fetch_max_bytes
from .client import AUTH_CHOICES, fetch_timeout
from .selection import CATEGORIES, fetch

#: Exit status of a fetch that GraceDB's maintenance stopped.
EXIT_STOPPED = 5


def build_parser(parser):
    """Arguments of ``gwreplay fetch``."""
    parser.formatter_class = argparse.ArgumentDefaultsHelpFormatter
    parser.add_argument("store", help="event store to fill (docs/store.md)")
    parser.add_argument(
        "--service-url",
        help="GraceDB API root, e.g. https://gracedb-playground.ligo.org/api/ "
        "(default: ligo-gracedb's own, the production GraceDB)",
    )
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--superevent",
        nargs="+",
        action="extend",
        metavar="SID",
        help="superevent IDs to fetch (S190425z ...)",
    )
    which.add_argument(
        "--query",
        help="GraceDB superevent query, e.g. 'gpstime: 1238166018 .. 1238170000'",
    )
    parser.add_argument(
        "--category",
        choices=sorted(CATEGORIES),
        help="superevent category (default: GraceDB's, i.e. production)",
    )
    parser.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        default="all",
        help="credential discovery: all (SciToken then X.509), "
        "scitoken, x509, or netrc (basic auth from ~/.netrc or $NETRC)",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        help="retries of a failing request, by the ligo-gracedb client "
        "(default: ligo-gracedb's)",
    )
    parser.add_argument(
        "--retry-backoff",
        type=float,
        help="back-off factor (s) of the client's retries: pauses of 0, 2, 4, "
        "8 ... times it (default: ligo-gracedb's)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=fetch_timeout,
        help="connect and read timeout (s) of each request",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=fetch_max_bytes,
        help="largest upload to download (bytes)",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bars")
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def main(args):
    """Run ``gwreplay fetch``; exit status as in this module's docstring."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
    try:
        report = fetch(
            args.store,
            service_url=args.service_url,
            superevent_ids=args.superevent,
            query=args.query,
            category=args.category,
            auth=args.auth,
            retries=args.max_retries,
            backoff=args.retry_backoff,
            timeout=args.timeout,
            max_bytes=args.max_bytes,
            progress=False if args.quiet else None,
        )
    except ValueError as exc:  # InvalidIdError is a ValueError too
        print(f"gwreplay fetch: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(report.superevents)} superevents, {len(report.events)} events fetched "
        f"({len(report.events_already_complete)} already complete), "
        f"{len(report.downloaded)} files downloaded "
        f"({report.bytes_downloaded} bytes), "
        f"{len(report.not_on_server)} optional files not on the server"
    )
    if report.problems:
        print(f"{len(report.problems)} problems:", file=sys.stderr)
        for object_id, filename, reason in report.problems:
            print(f"  {object_id}: {filename}: {reason}", file=sys.stderr)
    if report.stopped:
        print(f"gwreplay fetch: {report.stopped}", file=sys.stderr)
        return EXIT_STOPPED
    return 1 if report.problems else 0
