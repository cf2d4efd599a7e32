"""Scoring the replayed O4 notices against the MDC truth's expected notices.

``gwreplay mdc --era O4`` writes, per truth source, the notices gwcelery
3.0.0 would send (``expected.o4.notices``: alert number, type, significance,
preferred event; :func:`gwreplay.mdc.rules.expected_o4_notices`), and an O4
replay writes the notices it sent (``RESULTS/superevents/<SID>/sequence.json``).
The report counts, per tier (significant, less-significant, and ``none`` for
a Retraction, which has no significance) and alert type, how many notices
were expected, replayed, matched, missing and extra, and lists every
mismatch per superevent (docs/report.md, "O4 notices against the truth").

A notice matches when it belongs to the superevent the report matches to the
truth source (:func:`gwreplay.report.match.match_source`) and has the same
alert number, type and significance. Numbers are compared as such: a notice
missing early shifts every later one, as it would shift the alert numbers a
subscriber sees. A notice of the right number but another type or
significance is one missing (the expected one) and one extra (the replayed
one). A matched notice with another preferred event is listed, but counted
as matched: the preferred event is the sky-map and outcome tables' concern.
"""

import csv
import json
import os

from .match import match_source

#: Alert types of gwcelery 3.0.0's notices, in the order of the table.
NOTICE_TYPES = ("EarlyWarning", "Preliminary", "Initial", "Retraction")
SIGNIFICANT, LESS_SIGNIFICANT, NO_TIER = "significant", "less-significant", "none"
#: (tier, type) rows notices.tsv always has, so that it has a fixed shape;
#: any other pair seen (e.g. a less-significant Initial) follows them.
COUNT_ROWS = (
    (SIGNIFICANT, "EarlyWarning"),
    (SIGNIFICANT, "Preliminary"),
    (SIGNIFICANT, "Initial"),
    (LESS_SIGNIFICANT, "Preliminary"),
    (NO_TIER, "Retraction"),
)
COUNT_COLUMNS = ("tier", "alert_type", "expected", "replayed", "matched")
COUNT_COLUMNS += ("missing", "extra")
MISMATCH_COLUMNS = (
    "superevent_id",
    "truth_id",
    "alert_number",
    "problem",
    "expected_type",
    "expected_tier",
    "expected_preferred_event",
    "replayed_type",
    "replayed_tier",
    "replayed_preferred_event",
)
#: Problems of :func:`compare` counted as matched.
MATCHED = ("matched", "preferred event")
NOTICES_TABLE = "notices.tsv"
MISMATCHES_TABLE = "notice_mismatches.tsv"


def tier(significant):
    """The tier of a notice's ``significant`` (True, False, None or its CSV text)."""
    if isinstance(significant, str):
        significant = {"true": True, "false": False}.get(significant.lower())
    if significant is None:
        return NO_TIER
    return SIGNIFICANT if significant else LESS_SIGNIFICANT


def _notice(raw):
    """A notice as compared here: number, type, tier, preferred event."""
    return {
        "alert_number": int(raw["alert_number"]),
        "alert_type": str(raw.get("alert_type") or ""),
        "tier": tier(raw.get("significant")),
        "preferred_event": str(raw.get("preferred_event") or ""),
    }


def _notices(raw, where, problems):
    """:func:`_notice` of each of ``raw``; None, and a note, if one is malformed."""
    try:
        return [_notice(n) for n in raw or ()]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problems.append(f"{where}: malformed notice ({exc!r}): notices not scored")
        return None


def _has_notices(source):
    """Whether truth.json gives ``source`` an O4 block with its notices."""
    o4 = source["expected"].get("o4")
    return isinstance(o4, dict) and "notices" in o4


def expected_notices(source, problems=None):
    """The notices truth.json expects for ``source``, or None when it has no
    O4 block (an O3/2018 truth) or a malformed one: then it is not scored."""
    if not _has_notices(source):
        return None
    o4 = source["expected"]["o4"]
    where = f"truth.json {source['id']}"
    return _notices(o4["notices"], where, [] if problems is None else problems)


def _csv_notices(results):
    """{sid: notices or None} from alerts.csv (the fallback when a superevent's
    folder is gone); None for a superevent whose alert was not done."""
    path = os.path.join(results, "alerts.csv")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
    except FileNotFoundError:
        return {}
    if not rows or "alert_number" not in rows[0]:
        return {}  # a 2018/O3 alerts.csv: no notice columns
    found = {}
    for row in rows:
        sid = row["superevent_id"]
        if row.get("alert_number"):
            found.setdefault(sid, []).append(row)
        elif row.get("status") != "not done":
            found.setdefault(sid, [])
    return found  # raw rows: read by _notices


def replayed_notices(tree):
    """{sid: the notices the replay sent, or None when not known}.

    Read from ``sequence.json``, else from an O4 ``alert.json`` (its
    ``notices``), else from alerts.csv. Returns (notices, whether anything
    O4 was found at all): a 2018/O3 replay has none of these.
    """
    from_csv = _csv_notices(tree.results)
    notices, any_o4 = {}, bool(from_csv)
    for sid, se in sorted(tree.superevents.items()):
        path = os.path.join(tree.results, "superevents", sid, "sequence.json")
        record = None
        try:
            with open(path, encoding="utf-8") as f:
                record = json.load(f)
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as exc:
            tree.problems.append(f"{path}: unreadable JSON ({exc})")
        if record is None and (se.alert or {}).get("policy") == "O4":
            record = se.alert
        if record is not None:
            any_o4, raw, where = True, record.get("notices"), path
        else:
            raw, where = from_csv.get(sid), f"alerts.csv {sid}"
        notices[sid] = None if raw is None else _notices(raw, where, tree.problems)
    return notices, any_o4


def compare(expected, replayed):
    """[(alert_number, problem, expected notice, replayed notice)] of one
    superevent, by alert number; problem is ``matched``, ``preferred event``
    (matched, another preferred event), ``differs``, ``missing`` or ``extra``."""
    want = {n["alert_number"]: n for n in expected}
    have = {n["alert_number"]: n for n in replayed}
    pairs = []
    for number in sorted(set(want) | set(have)):
        a, b = want.get(number), have.get(number)
        if b is None:
            problem = "missing"
        elif a is None:
            problem = "extra"
        elif (a["alert_type"], a["tier"]) != (b["alert_type"], b["tier"]):
            problem = "differs"
        elif a["preferred_event"] != b["preferred_event"]:
            problem = "preferred event"
        else:
            problem = "matched"
        pairs.append((number, problem, a, b))
    return pairs


def _pairs_to_score(tree, truth, replayed):
    """[(sid, truth_id, expected, replayed)]: each O4 truth source with its
    matched superevent's notices, then the superevents no source explains.

    When several sources match one superevent, its notices go to the first
    one (truth order) that expects any, else to the first; the others get
    none (their expected notices are missing).
    """
    scored = [(s, expected_notices(s, tree.problems)) for s in truth]
    scored = [(s, notices) for s, notices in scored if notices is not None]
    matched = [(s, n, match_source(s, tree.superevents)) for s, n in scored]
    owner = {}  # sid -> (index in matched, expected notices)
    for index, (_, notices, se) in enumerate(matched):
        if se is None:
            continue
        sid = se.superevent_id
        if sid not in owner or (notices and not owner[sid][1]):
            owner[sid] = (index, notices)
    out = []
    for index, (source, notices, se) in enumerate(matched):
        sid = se.superevent_id if se else ""
        mine = sid and owner[sid][0] == index
        out.append(
            (sid, source["id"], notices, (replayed.get(sid) or []) if mine else [])
        )
    for sid in sorted(set(replayed) - set(owner)):
        out.append((sid, "", [], replayed[sid] or []))
    return out


def _mismatch_row(sid, truth_id, number, problem, a, b):
    row = {"superevent_id": sid, "truth_id": truth_id, "alert_number": number}
    row["problem"] = problem
    for prefix, notice in (("expected", a), ("replayed", b)):
        notice = notice or {}
        row[f"{prefix}_type"] = notice.get("alert_type", "")
        row[f"{prefix}_tier"] = notice.get("tier", "")
        row[f"{prefix}_preferred_event"] = notice.get("preferred_event", "")
    return row


def _add(counts, notice, column):
    """Count ``notice`` (if any) in ``column`` of its (tier, type) row."""
    if notice is not None:
        row = counts.setdefault((notice["tier"], notice["alert_type"]), {})
        row[column] = row.get(column, 0) + 1


def _count_rows(counts):
    """notices.tsv rows: COUNT_ROWS, other pairs seen, then the total."""
    keys = list(COUNT_ROWS) + sorted(set(counts) - set(COUNT_ROWS))
    rows = []
    for key in keys:
        c = counts.get(key, {})
        rows.append(
            {"tier": key[0], "alert_type": key[1]}
            | {name: c.get(name, 0) for name in COUNT_COLUMNS[2:]}
        )
    total = {"tier": "all", "alert_type": "all"}
    total |= {name: sum(r[name] for r in rows) for name in COUNT_COLUMNS[2:]}
    return [*rows, total]


def score_notices(tree, truth):
    """Score the replayed notices of ``tree`` against ``truth`` (sources).

    Returns ``(counts, mismatches, summary)``: the rows of notices.tsv and
    notice_mismatches.tsv and summary.json's ``notices``. When they cannot be
    scored (no truth, a truth without notices, a 2018/O3 replay), the rows
    are None and the summary says why: ``{"scored": False, "reason": ...}``.
    """

    def unscored(reason):
        return None, None, {"scored": False, "reason": reason}

    if truth is None:
        return unscored("no truth.json: notices not scored")
    if not any(_has_notices(s) for s in truth):
        return unscored(
            "truth.json has no expected O4 notices (an O3/2018 MDC): notices not scored"
        )
    replayed, any_o4 = replayed_notices(tree)
    if not any_o4:
        return unscored(
            "no sequence.json in the results (a 2018/O3 replay): notices not scored"
        )
    counts, mismatches = {}, []
    for sid, truth_id, expected, got in _pairs_to_score(tree, truth, replayed):
        note = f"{sid}: no readable sequence.json: its notices count as missing"
        if sid and replayed.get(sid) is None and note not in tree.problems:
            tree.problems.append(note)
        for number, problem, a, b in compare(expected, got):
            _add(counts, a, "expected")
            _add(counts, b, "replayed")
            if problem in MATCHED:
                _add(counts, a, "matched")
            else:
                _add(counts, a, "missing")
                _add(counts, b, "extra")
            if problem != "matched":
                mismatches.append(_mismatch_row(sid, truth_id, number, problem, a, b))
    rows = _count_rows(counts)
    summary = {"scored": True, **{k: rows[-1][k] for k in COUNT_COLUMNS[2:]}}
    summary["superevents_with_mismatch"] = sorted(
        {r["superevent_id"] for r in mismatches} - {""}
    )
    return rows, mismatches, summary
