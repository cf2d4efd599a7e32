"""``gwreplay fetch`` command line: arguments and exit status."""

import logging
import sys

from .checks import fetch_max_bytes
from .client import (
    AUTH_CHOICES,
    RetryPolicy,
    fetch_max_retries,
    fetch_retry_backoff,
    fetch_timeout,
)
from .fetcher import CATEGORIES, fetch


def build_parser(parser):
    """Arguments of ``gwreplay fetch``."""
    parser.add_argument("store", help="event store to fill (docs/store.md)")
    parser.add_argument(
        "--service-url",
        required=True,
        help="GraceDB API root, e.g. https://gracedb.ligo.org/api/",
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
        help="credential discovery: all (SciToken then X.509; default), "
        "scitoken, x509, or netrc (basic auth from ~/.netrc or $NETRC)",
    )
    parser.add_argument(
        "--max-retries",
        type=int,
        default=fetch_max_retries,
        help=f"retries of a failing request (default {fetch_max_retries})",
    )
    parser.add_argument(
        "--retry-backoff",
        type=float,
        default=fetch_retry_backoff,
        help="first pause (s) between retries, then doubling "
        f"(default {fetch_retry_backoff})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=fetch_timeout,
        help=f"timeout (s) of each request (default {fetch_timeout})",
    )
    parser.add_argument(
        "--max-bytes",
        type=int,
        default=fetch_max_bytes,
        help="largest upload to download (bytes)",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="debug logging")


def main(args):
    """Run ``gwreplay fetch``; exit status 1 if anything could not be fetched."""
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.DEBUG if args.verbose else logging.INFO,
            format="%(levelname)s %(name)s: %(message)s",
        )
    policy = RetryPolicy(max_retries=args.max_retries, backoff=args.retry_backoff)
    try:
        report = fetch(
            args.store,
            service_url=args.service_url,
            superevent_ids=args.superevent,
            query=args.query,
            category=args.category,
            auth=args.auth,
            policy=policy,
            timeout=args.timeout,
            max_bytes=args.max_bytes,
        )
    except ValueError as exc:  # InvalidIdError is a ValueError too
        print(f"gwreplay fetch: {exc}", file=sys.stderr)
        return 2
    print(
        f"{len(report.superevents)} superevents, {len(report.events)} events fetched "
        f"({len(report.events_already_complete)} already complete), "
        f"{len(report.downloaded)} files downloaded, "
        f"{len(report.not_on_server)} optional files not on the server"
    )
    if report.problems:
        print(f"{len(report.problems)} problems:", file=sys.stderr)
        for object_id, filename, reason in report.problems:
            print(f"  {object_id}: {filename}: {reason}", file=sys.stderr)
        return 1
    return 0
