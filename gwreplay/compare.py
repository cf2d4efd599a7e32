"""``gwreplay compare``: the alerts that differ between two replays of one store.

A regression check of a pipeline change: replay the same store before and
after, then list every superevent whose alert changed beyond a tolerance:

* ``superevent``: present in one replay only;
* ``status``: sent / vetoed / not publishable / no sky map / not done
  (alerts.csv);
* ``preferred_event``: the preferred event at the orchestrator timeout;
* ``p_astro.<class>``, ``HasNS``, ``HasRemnant``, ``HasMassGap``: a
  probability that moved by more than ``--tolerance`` (default 0.1), or is
  present in one replay only;
* ``p_astro class``: the most probable p_astro category changed;
* ``area(90)``: the 90% credible areas (ligo-skymap-stats' ``area(90)``) of
  the alerts' sky maps differ by more than a factor ``--area-ratio``
  (default 1.2), or one replay has no sky map.

The table is printed (and written with ``--output FILE.csv``); the exit status
is 1 when anything differs beyond tolerance, 0 otherwise.
"""

import csv
import io
import math
import os
import sys

from .atomic import write_text
from .report import EM_BRIGHT_KEYS, P_ASTRO_CLASSES, load_results, skymap_statistics

#: Largest change of a classification probability that is not a difference.
compare_tolerance = 0.1
#: Largest ratio of 90% credible areas (larger / smaller) that is not a difference.
compare_area_ratio = 1.2
#: Columns of the difference table.
COLUMNS = ("superevent_id", "field", "a", "b", "detail")


def _value(x):
    """A cell: floats to 6 significant digits, None as ``-``."""
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.6g}"
    return str(x)


def _row(sid, name, a, b, detail=""):
    return {
        "superevent_id": sid,
        "field": name,
        "a": _value(a),
        "b": _value(b),
        "detail": detail,
    }


def _probability(document, key):
    if not document or document.get(key) is None:
        return None
    try:
        value = float(document[key])
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _most_probable(p_astro):
    known = {c: _probability(p_astro, c) for c in P_ASTRO_CLASSES}
    known = {c: v for c, v in known.items() if v is not None}
    return max(known, key=known.get) if known else None


def compare_probabilities(sid, name, a, b, tolerance):
    """A difference row when ``a`` and ``b`` differ by more than ``tolerance``
    or only one of them exists; else None."""
    if a is None and b is None:
        return None
    if a is None or b is None:
        return _row(sid, name, a, b, "present in one replay only")
    if abs(a - b) > tolerance:
        return _row(sid, name, a, b, f"|a - b| = {abs(a - b):.3g} > {tolerance:g}")
    return None


def compare_areas(sid, area_a, area_b, ratio):
    """A difference row when the 90% areas differ by more than ``ratio``."""
    if area_a is None and area_b is None:
        return None
    if area_a is None or area_b is None:
        return _row(sid, "area(90)", area_a, area_b, "sky map in one replay only")
    low, high = sorted((area_a, area_b))
    if low <= 0:
        return None if high <= 0 else _row(sid, "area(90)", area_a, area_b, "zero area")
    if high / low > ratio:
        return _row(
            sid,
            "area(90)",
            area_a,
            area_b,
            f"b / a = {area_b / area_a:.3g}, beyond a factor {ratio:g}",
        )
    return None


def _area90(tree, superevent, cache):
    """90% credible area (deg²) of the alert's sky map, or None."""
    path = tree.skymap(superevent)
    if path is None:
        return None
    if path not in cache:
        try:
            cache[path] = skymap_statistics(path, contours=(90,))["area(90)"]
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            tree.problems.append(f"{path}: unreadable sky map ({exc})")
            cache[path] = None
    return cache[path]


def compare_superevent(sid, tree_a, tree_b, *, tolerance, area_ratio, cache):
    """The difference rows of one superevent present in both replays."""
    a, b = tree_a.superevents[sid], tree_b.superevents[sid]
    rows = []
    if a.status != b.status:
        rows.append(_row(sid, "status", a.status, b.status))
    if a.preferred_event != b.preferred_event:
        rows.append(_row(sid, "preferred_event", a.preferred_event, b.preferred_event))

    p_a = tree_a.annotation(a, "p_astro")
    p_b = tree_b.annotation(b, "p_astro")
    for category in P_ASTRO_CLASSES:
        rows.append(
            compare_probabilities(
                sid,
                f"p_astro.{category}",
                _probability(p_a, category),
                _probability(p_b, category),
                tolerance,
            )
        )
    top_a, top_b = _most_probable(p_a), _most_probable(p_b)
    if top_a and top_b and top_a != top_b:
        rows.append(
            _row(sid, "p_astro class", top_a, top_b, "most probable class changed")
        )

    em_a = tree_a.annotation(a, "source_classification")
    em_b = tree_b.annotation(b, "source_classification")
    for key in EM_BRIGHT_KEYS:
        rows.append(
            compare_probabilities(
                sid, key, _probability(em_a, key), _probability(em_b, key), tolerance
            )
        )
    rows.append(
        compare_areas(
            sid, _area90(tree_a, a, cache), _area90(tree_b, b, cache), area_ratio
        )
    )
    return [row for row in rows if row is not None]


def compare_results(
    results_a,
    results_b,
    *,
    tolerance=compare_tolerance,
    area_ratio=compare_area_ratio,
    store=None,
    problems=None,
):
    """Every difference beyond tolerance between two replays, as table rows.

    ``store`` (optional) lets burst sky maps of alerts that were not sent be
    found in the store. Rows are sorted by superevent and field order.
    Unreadable files are noted in ``problems`` (a list) when given.
    """
    tree_a = load_results(results_a, store)
    tree_b = load_results(results_b, store)
    cache = {}
    rows = []
    for sid in sorted(set(tree_a.superevents) | set(tree_b.superevents)):
        if sid not in tree_b.superevents:
            rows.append(_row(sid, "superevent", "present", None, "only in A"))
        elif sid not in tree_a.superevents:
            rows.append(_row(sid, "superevent", None, "present", "only in B"))
        else:
            rows += compare_superevent(
                sid,
                tree_a,
                tree_b,
                tolerance=tolerance,
                area_ratio=area_ratio,
                cache=cache,
            )
    if problems is not None:
        problems += [f"A: {p}" for p in tree_a.problems]
        problems += [f"B: {p}" for p in tree_b.problems]
    return rows


def format_table(rows):
    """Rows as a fixed-width text table with a header line."""
    widths = {c: max([len(c)] + [len(row[c]) for row in rows]) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS).rstrip()]
    for row in rows:
        lines.append("  ".join(row[c].ljust(widths[c]) for c in COLUMNS).rstrip())
    return "\n".join(lines)


def table_csv(rows):
    """Rows as CSV text (the ``--output`` file)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def build_parser(parser):
    """Arguments of ``gwreplay compare``."""
    parser.add_argument("results_a", metavar="RESULTS_A", help="first replay")
    parser.add_argument("results_b", metavar="RESULTS_B", help="second replay")
    parser.add_argument(
        "--tolerance",
        type=float,
        default=compare_tolerance,
        help="largest change of p_astro/HasNS/HasRemnant/HasMassGap that is "
        f"not a difference (default {compare_tolerance:g})",
    )
    parser.add_argument(
        "--area-ratio",
        type=float,
        default=compare_area_ratio,
        help="largest ratio of 90%% credible areas that is not a difference "
        f"(default {compare_area_ratio:g})",
    )
    parser.add_argument("--store", help="the replayed store (burst sky maps)")
    parser.add_argument("--output", "-o", metavar="FILE.csv", help="also write a CSV")


def main(args):
    """Print the differences; exit 1 if there are any, 0 if none, 2 on bad input."""
    for path in (args.results_a, args.results_b):
        if not os.path.isdir(path):
            print(f"gwreplay compare: {path}: no such results folder", file=sys.stderr)
            return 2
    if args.tolerance < 0 or args.area_ratio < 1:
        print(
            "gwreplay compare: --tolerance must be >= 0 and --area-ratio >= 1",
            file=sys.stderr,
        )
        return 2
    problems = []
    rows = compare_results(
        args.results_a,
        args.results_b,
        tolerance=args.tolerance,
        area_ratio=args.area_ratio,
        store=args.store,
        problems=problems,
    )
    for problem in problems:
        print(f"gwreplay compare: warning: {problem}", file=sys.stderr)
    if args.output:
        write_text(args.output, table_csv(rows))
    if rows:
        print(format_table(rows))
        print(f"gwreplay compare: {len(rows)} difference(s) beyond tolerance")
        return 1
    print("gwreplay compare: no differences beyond tolerance")
    return 0
