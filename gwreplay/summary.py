"""End-of-run tables: ``alerts.csv`` (one row per superevent) and ``failures.csv``.

Both are rewritten after every run, successful or not (Snakemake's
``onsuccess``/``onerror``), from what is on disk, so they always describe the
results folder as it stands.

A job that dies without running its Python ``except`` clause (killed by the
out-of-memory killer or a batch system's limit, a crash in compiled code)
leaves no failure record. At the end of a run (``final=True``) every planned
result that is missing without a record, and is not explained by a failure
upstream, is listed too, so that no failure goes unlisted; and the
temporary files that such a job leaves beside its outputs
(:func:`gwreplay.atomic.atomic_path` names them ``.tmp-*``) are removed.
"""

import contextlib
import csv
import glob
import io
import json
import os

from .atomic import write_text
from .policies import TIMEOUT_POLICIES
from .products import SUPEREVENT_OUTPUTS, SUPEREVENT_STAGES, table

ALERT_COLUMNS = (
    "superevent_id",
    "category",
    "t_0",
    "t_start",
    "t_end",
    "gw_events",
    "preferred_event",
    "final_preferred_event",
    "group",
    "pipeline",
    "far",
    "instruments",
    "labels",
    "vetoed",
    "notice",
    "notice_time",
    "publishable",
    "status",
)
#: Columns added under the O4 policy, whose alerts.csv has a row per notice.
NOTICE_COLUMNS = ("alert_number", "alert_type", "significant")
FAILURE_COLUMNS = ("stage", "id", "file", "reason")
#: The superevent job's last output: its record of the decision.
ALERT = SUPEREVENT_OUTPUTS[-1]


def printable(text):
    """``text`` as it may be shown in a terminal line or a CSV cell.

    IDs of refused store folders are names we do not control: a control
    character would corrupt a terminal, and a byte that is not UTF-8 (kept
    by :func:`os.scandir` as a lone surrogate) would make the UTF-8
    ``failures.csv`` unwritable. Such text is shown with backslash escapes
    (``G1\\x07``, ``G1\\udcff``).
    """
    text = str(text)
    if text.isprintable():
        return text
    return text.encode("unicode_escape", "backslashreplace").decode("ascii")


def _csv(columns, rows):
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def alert_status(alert):
    """``sent``, ``vetoed`` (DQV), ``not publishable`` (FAR, detectors) or
    ``no sky map`` (the preferred event lacks the file its sky map needs)."""
    if alert.get("notice"):
        return "sent"
    if alert["vetoed"]:
        return "vetoed"
    if alert["publishable"] and alert.get("blocked"):
        return "no sky map"
    return "not publishable"


def alert_columns(plan):
    """alerts.csv's columns: O3's, then, for a sequence policy, the notice's."""
    return (
        ALERT_COLUMNS
        if plan.policy in TIMEOUT_POLICIES
        else ALERT_COLUMNS + NOTICE_COLUMNS
    )


def _event_columns(event):
    return {
        "group": event.get("group", ""),
        "pipeline": event.get("pipeline", ""),
        "far": event.get("far", ""),
        "instruments": event.get("instruments", ""),
    }


def alert_row(plan, superevent_id):
    """One alerts.csv row: the superevent, its preferred event and the outcome."""
    superevent = plan.superevents[superevent_id]
    preferred = plan.store.events.get(superevent["preferred_event"], {})
    alert = _read_json(plan.superevent_result(superevent_id, ALERT))
    row = {
        "superevent_id": superevent_id,
        "category": superevent["category"],
        "t_0": superevent["t_0"],
        "t_start": superevent["t_start"],
        "t_end": superevent["t_end"],
        "gw_events": " ".join(superevent["gw_events"]),
        "preferred_event": superevent["preferred_event"],
        "final_preferred_event": superevent["final_preferred_event"],
        **_event_columns(preferred),
    }
    if alert is None:
        row.update(
            labels="",
            vetoed="",
            notice="",
            notice_time="",
            publishable="",
            status="not done",
        )
    else:
        row.update(
            labels=" ".join(alert["labels"]),
            vetoed="true" if alert["vetoed"] else "false",
            notice=alert.get("notice", ""),
            notice_time=alert["notice_time"]
            if alert["notice_time"] is not None
            else "",
            publishable="true" if alert["publishable"] else "false",
            status=alert_status(alert),
        )
    if plan.policy in TIMEOUT_POLICIES:
        return [row]
    return notice_rows(plan, superevent_id, row, alert)


def notice_rows(plan, superevent_id, row, alert):
    """O4: one row per notice of the sequence (one, without a notice, when
    none was sent). A notice's row names its own preferred event, the last
    notice's that of ``final_preferred_event``."""
    notices = (alert or {}).get("notices") or []
    if not notices:
        return [dict(row, alert_number="", alert_type="", significant="")]
    final = notices[-1]["preferred_event"]
    rows = []
    for notice in notices:
        graceid = notice["preferred_event"]
        significant = notice["significant"]
        rows.append(
            dict(
                row,
                preferred_event=graceid,
                final_preferred_event=final,
                **_event_columns(plan.store.events.get(graceid, {})),
                notice=os.path.join(
                    "superevents",
                    superevent_id,
                    f"{superevent_id}-{notice['alert_number']}-{notice['alert_type']}.json",
                ),
                notice_time=notice["due"],
                status="sent",
                alert_number=notice["alert_number"],
                alert_type=notice["alert_type"],
                significant="" if significant is None else str(significant).lower(),
            )
        )
    return rows


def _unrecorded(rule, job_id, result):
    return {
        "stage": rule,
        "id": job_id,
        "file": "-",
        "reason": f"no {result} and no failure record: the job died (killed, "
        f"out of memory, crashed) or never ran; see logs/{rule}/{job_id}.log",
    }


def unrecorded_failures(plan, recorded):
    """Planned results missing at the end of a run that no record explains.

    ``recorded`` holds the ``(stage, key)`` of the failure records. A missing
    ``alert.json`` is listed only when the preferred event's results exist,
    and a missing result made from another (``made_from``) only when that
    one exists: otherwise the failure upstream is the one that explains it.
    """
    rows = []
    missing_results = set()
    by_name = table(plan.policy).by_name
    for graceid, products in sorted(plan.event_products.items()):
        for product in products:
            if os.path.exists(plan.event_result(graceid, product)):
                continue
            missing_results.add(graceid)
            spec = by_name.get(product)
            source = spec.made_from if spec else None
            if source and not os.path.exists(plan.event_result(graceid, source)):
                continue  # O4's flattened map: the missing source explains it
            rule = spec.rule if spec else product
            if (rule, graceid) not in recorded:
                rows.append(_unrecorded(rule, graceid, product))
    # O4 notice jobs' records (keys <SID>-<N>-<Type> and the like) explain
    # their superevent's missing alert.json too.
    notice_failed = {key.split("-")[0] for _, key in recorded if "-" in key}
    for sid, superevent in sorted(plan.superevents.items()):
        if (
            not os.path.exists(plan.superevent_result(sid, ALERT))
            and not recorded.intersection((stage, sid) for stage in SUPEREVENT_STAGES)
            and sid not in notice_failed
            and superevent["preferred_event"] not in missing_results
        ):
            rows.append(_unrecorded("superevent", sid, ALERT))
    return rows


def _notice_job_of(plan, key):
    """O4 notice jobs are keyed ``<SID>-<N>-<Type>`` and the like
    (gwreplay.notice_jobs): true when ``key`` is one of a planned superevent."""
    return "-" in key and key.split("-")[0] in plan.superevents


def failure_rows(plan, final=False):
    """Every failure: plan-time problems of the store and failed jobs.

    With ``final`` (the run is over), also the jobs that died without a
    record (:func:`unrecorded_failures`).
    """
    rows = [
        {"stage": "store", "id": event_id, "file": filename, "reason": reason}
        for event_id, filename, reason in plan.store.problems
    ]
    rows += [
        {"stage": "plan", "id": event_id, "file": filename, "reason": reason}
        for event_id, filename, reason in plan.skipped
    ]
    planned = set(plan.event_products) | set(plan.superevents)
    pattern = os.path.join(plan.results, ".failures", "*", "*.json")
    recorded = set()
    for path in sorted(glob.glob(pattern)):
        record = _read_json(path)
        if record and (record["key"] in planned or _notice_job_of(plan, record["key"])):
            recorded.add((record["rule"], record["key"]))
            rows.append(
                {
                    "stage": record["rule"],
                    "id": record["event_id"],
                    "file": record["file"],
                    "reason": record["reason"],
                }
            )
    if final:
        rows += unrecorded_failures(plan, recorded)
    return rows


#: Prefix of the temporary files of :func:`gwreplay.atomic.atomic_path`.
TEMPORARY_PREFIX = ".tmp-"


def sweep_temporary_files(results, folders=None, older_than=None):
    """Remove the ``.tmp-*`` files that killed writers left in ``results``.

    Only safe once no job of the run is writing: Snakemake's lock keeps
    other runs out of the folder, and this is called when the run's jobs are
    over. Snakemake's own ``.snakemake/`` is not touched. ``folders``, when
    given, limits the sweep to the folders of the run's targets (a walk of
    the whole tree costs 2 s at 10^4 superevents); ``older_than`` (a time
    stamp) to files last written before it, for a sweep made after
    Snakemake released its lock, when another run may be writing. Returns
    the paths.
    """
    removed = []
    tops = [results] if folders is None else sorted(folders)
    walks = (entry for top in tops for entry in os.walk(top))
    for directory, subdirs, files in walks:
        if directory == results:
            subdirs[:] = [d for d in subdirs if d != ".snakemake"]
        for name in files:
            if name.startswith(TEMPORARY_PREFIX):
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    if older_than is None or os.stat(path).st_mtime < older_than:
                        os.unlink(path)
                        removed.append(path)
    return sorted(removed)


def previous_alert_rows(results, columns=ALERT_COLUMNS):
    """``{superevent_id: [rows]}`` of the alerts.csv in ``results`` (empty if
    none, or if it has other ``columns``)."""
    path = os.path.join(results, "alerts.csv")
    previous = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != tuple(columns):
                return {}
            for row in reader:
                previous.setdefault(row["superevent_id"], []).append(row)
    except (OSError, ValueError):
        return {}
    return previous


def write_summaries(
    plan, final=False, folders=None, older_than=None, changed_superevents=None
):
    """Rewrite ``alerts.csv`` and ``failures.csv`` in the results folder.

    ``final``: the run's jobs are over, so a missing result without a
    failure record is a failure of its own, and temporary files left by
    killed writers are swept (see :func:`sweep_temporary_files` for
    ``folders`` and ``older_than``). ``changed_superevents``, when given,
    are the only superevents whose alert or plan may have changed since
    alerts.csv was written (a run restricted to them by gwreplay.stamp): the
    other rows are kept from it instead of reading every alert.json again.
    """
    if final:
        sweep_temporary_files(plan.results, folders, older_than)
    columns = alert_columns(plan)
    previous = {}
    if changed_superevents is not None:
        previous = previous_alert_rows(plan.results, columns)
    rows = [
        row
        for sid in sorted(plan.superevents)
        for row in (
            previous[sid]
            if sid in previous and sid not in changed_superevents
            else alert_row(plan, sid)
        )
    ]
    write_text(os.path.join(plan.results, "alerts.csv"), _csv(columns, rows))
    failures = [
        {key: printable(value) for key, value in row.items()}
        for row in failure_rows(plan, final=final)
    ]
    write_text(
        os.path.join(plan.results, "failures.csv"), _csv(FAILURE_COLUMNS, failures)
    )
    return rows, failures
