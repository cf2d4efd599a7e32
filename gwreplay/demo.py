"""``gwreplay demo``: the embedded mock-data challenge, end to end.

Generates a small MDC store (unless one is already there), replays it
through the workflow, writes the scorecard, and prints where everything is.
This is what ``make demo`` runs on a fresh machine.
"""

import csv
import os
import time


def build_parser(parser):
    """Arguments of ``gwreplay demo``."""
    parser.add_argument("directory", help="demo folder (store/ and results/ inside)")
    from .run import add_display_options

    parser.add_argument("--superevents", type=int, default=6, help="MDC size")
    parser.add_argument("--seed", type=int, default=1, help="MDC random seed")
    parser.add_argument("--cores", default="all", help="local cores")
    add_display_options(parser)


def _generate(store, superevents, seed, quiet):
    from .mdc.generate import generate_store

    generate_store(store, superevents=superevents, seed=seed, progress=not quiet)


def sequence_lines(results):
    """One line per superevent of alerts.csv: its notices in order, or why none.

    ``S240101d: 1 Preliminary (G100008), 2 Preliminary (G100009), 3 Initial``;
    a less-significant notice is marked so; 2018 and O3 rows (one notice
    each, no ``alert_number``) read ``1 Preliminary``.
    """
    by_superevent = {}
    with open(os.path.join(results, "alerts.csv"), newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            by_superevent.setdefault(row["superevent_id"], []).append(row)
    lines = []
    for sid, rows in by_superevent.items():
        notices = []
        for row in rows:
            if row["status"] != "sent":
                continue
            number = row.get("alert_number") or "1"
            kind = row.get("alert_type") or "Preliminary"
            tier = " less-significant" if row.get("significant") == "false" else ""
            event = f" ({row['preferred_event']})" if kind != "Retraction" else ""
            notices.append(f"{number} {kind}{tier}{event}")
        lines.append(f"{sid}: {', '.join(notices) if notices else rows[0]['status']}")
    return lines


def main(args):
    """Generate, replay, report; print the paths a user looks at next."""
    from .progress import RunDisplay, output_mode
    from .report import write_report
    from .run import replay

    directory = os.path.abspath(args.directory)
    store = os.path.join(directory, "store")
    results = os.path.join(directory, "results")
    start = time.monotonic()
    if not os.path.exists(os.path.join(store, "truth.json")):
        print(
            f"gwreplay demo: generating a {args.superevents}-superevent MDC in {store}"
        )
        _generate(store, args.superevents, args.seed, args.quiet)
    print(f"gwreplay demo: replaying {store} into {results}")
    display = RunDisplay(output_mode(verbose=args.verbose, quiet=args.quiet))
    status, failures = replay(store, results, cores=args.cores, display=display)
    report_dir = write_report(results, store=store, quiet=args.quiet)
    elapsed = time.monotonic() - start
    print()
    print(f"gwreplay demo finished in {elapsed:.0f} s (snakemake exit status {status})")
    print("alert sequence per superevent (notice number, type, preferred event):")
    for line in sequence_lines(results):
        print(f"  {line}")
    superevents = os.path.join(results, "superevents", "*")
    print(f"  alerts table:   {os.path.join(results, 'alerts.csv')}")
    print(f"  notices:        {os.path.join(superevents, '*-*-*.json')}")
    print(f"  circulars:      {os.path.join(superevents, '*circular*.txt')}")
    failures_csv = os.path.join(results, "failures.csv")
    print(f"  failures:       {failures_csv} ({len(failures)} rows)")
    if display.logfile:
        print(f"  snakemake log:  {display.logfile} ({display.progress.summary()})")
    if report_dir:
        print(f"  report:         {os.path.join(report_dir, 'index.html')}")
    return 1 if status or failures else 0
