"""``STORE/superevents/<SID>/signoffs.json``: the advocates' decisions, dated.

The O4 orchestrator (gwcelery 3.0.0, ``orchestrator.py``: the ``ADVOK`` and
``ADVNO`` label handlers) sends an Initial notice on ADVOK and a Retraction
on ADVNO. GraceDB records the decision twice: as a sign-off (``GET
superevents/<SID>/signoffs/``: ``signoff_type`` ADV, ``status`` OK or NO,
``comment``) and as the label it applies. Sign-off records carry no time,
so the time is that of the label's log entry ("Applied label: ADVOK", as
GraceDB's superevent log writes it), just as upload times are taken from
the event log. A label with no sign-off record behind it (applied by hand
or by a script) is a decision too, dated by its log entry.

The file (the store contract; ``docs/orun_replay.md``)::

    {"superevent_id": "S190425z",
     "signoffs": [{"signoff_type": "ADV", "instrument": "", "status": "OK",
                   "time": 1240215503.0, "comment": "..."}]}

one entry per ADV decision, sorted by time.
"""

import re

from ..errors import EventInputError
from ..store import normalise_time

FILENAME = "signoffs.json"

#: ADV sign-off status -> the label GraceDB applies with it.
ADV_LABELS = {"OK": "ADVOK", "NO": "ADVNO"}

#: GraceDB's display names of sign-off codes (ligo-gracedb's
#: ``signoff_types`` and ``signoff_statuses`` maps), back to the codes.
_CODES = {"advocate": "ADV", "okay": "OK", "not okay": "NO"}

_APPLIED = re.compile(r"^\s*(?:applied|added)\s+label:?\s*([A-Za-z0-9_]+)", re.I)


def _code(value):
    text = str(value or "").strip()
    return _CODES.get(text.lower(), text)


def label_times(sid, log_entries):
    """GPS time at which each label was last applied, from the superevent log."""
    times = {}
    for entry in log_entries:
        if not isinstance(entry, dict):
            continue
        match = _APPLIED.match(str(entry.get("comment") or ""))
        if not match:
            continue
        try:
            created = normalise_time(entry["created"])
        except (KeyError, TypeError, ValueError) as exc:
            raise EventInputError(
                sid, FILENAME, f"log entry for label {match[1]} has no time: {exc}"
            ) from exc
        times[match[1]] = max(created, times.get(match[1], created))
    return times


def label_names(labels):
    """Label names from GraceDB's label list (objects with ``name``, or names)."""
    names = set()
    for label in labels:
        names.add(str(label.get("name") if isinstance(label, dict) else label))
    return names


def _entry(sid, status, when, instrument="", comment=""):
    if when is None:
        raise EventInputError(
            sid,
            FILENAME,
            f"ADV {status} decision with no time: no log entry applies "
            f"{ADV_LABELS[status]}",
        )
    return {
        "signoff_type": "ADV",
        "instrument": str(instrument or ""),
        "status": status,
        "time": normalise_time(when),
        "comment": str(comment or ""),
    }


def signoff_record(sid, signoffs, labels, log_entries):
    """The ``signoffs.json`` content from GraceDB's sign-offs, labels and log.

    Operator (``OP``) sign-offs are left out: the orchestrator acts on the
    advocates' decision only. Raises :class:`EventInputError` for a decision
    that cannot be dated or has a status other than OK or NO.
    """
    times = label_times(sid, log_entries)
    entries, dated = [], set()
    for signoff in signoffs:
        if not isinstance(signoff, dict) or _code(signoff.get("signoff_type")) != "ADV":
            continue
        status = _code(signoff.get("status"))
        if status not in ADV_LABELS:
            raise EventInputError(
                sid, FILENAME, f"ADV sign-off with status {signoff.get('status')!r}"
            )
        when = signoff.get("created") or times.get(ADV_LABELS[status])
        instrument, comment = signoff.get("instrument"), signoff.get("comment")
        entries.append(_entry(sid, status, when, instrument, comment))
        dated.add(ADV_LABELS[status])
    for status, label in ADV_LABELS.items():
        if label in label_names(labels) and label not in dated:
            entries.append(_entry(sid, status, times.get(label)))
    entries.sort(key=lambda entry: (entry["time"], entry["status"]))
    return {"superevent_id": sid, "signoffs": entries}
