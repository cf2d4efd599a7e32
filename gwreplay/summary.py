"""End-of-run tables: ``alerts.csv`` (one row per superevent) and ``failures.csv``.

Both are rewritten after every run, successful or not (Snakemake's
``onsuccess``/``onerror``), from what is on disk, so they always describe the
results folder as it stands.
"""

import csv
import glob
import io
import json
import os

from .atomic import write_text

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
FAILURE_COLUMNS = ("stage", "id", "file", "reason")


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
    """``sent``, ``vetoed`` (DQV) or ``not publishable`` (FAR, detectors)."""
    if alert.get("notice"):
        return "sent"
    return "vetoed" if alert["vetoed"] else "not publishable"


def alert_row(plan, superevent_id):
    """One alerts.csv row: the superevent, its preferred event and the outcome."""
    superevent = plan.superevents[superevent_id]
    preferred = plan.store.events.get(superevent["preferred_event"], {})
    alert = _read_json(plan.superevent_result(superevent_id, "alert.json"))
    row = {
        "superevent_id": superevent_id,
        "category": superevent["category"],
        "t_0": superevent["t_0"],
        "t_start": superevent["t_start"],
        "t_end": superevent["t_end"],
        "gw_events": " ".join(superevent["gw_events"]),
        "preferred_event": superevent["preferred_event"],
        "final_preferred_event": superevent["final_preferred_event"],
        "group": preferred.get("group", ""),
        "pipeline": preferred.get("pipeline", ""),
        "far": preferred.get("far", ""),
        "instruments": preferred.get("instruments", ""),
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
    return row


def failure_rows(plan):
    """Every failure: plan-time problems of the store and failed jobs."""
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
    for path in sorted(glob.glob(pattern)):
        record = _read_json(path)
        if record and record["key"] in planned:
            rows.append(
                {
                    "stage": record["rule"],
                    "id": record["event_id"],
                    "file": record["file"],
                    "reason": record["reason"],
                }
            )
    return rows


def write_summaries(plan):
    """Rewrite ``alerts.csv`` and ``failures.csv`` in the results folder."""
    rows = [alert_row(plan, sid) for sid in sorted(plan.superevents)]
    write_text(os.path.join(plan.results, "alerts.csv"), _csv(ALERT_COLUMNS, rows))
    failures = failure_rows(plan)
    write_text(
        os.path.join(plan.results, "failures.csv"), _csv(FAILURE_COLUMNS, failures)
    )
    return rows, failures
