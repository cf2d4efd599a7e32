"""Computing the whole report from a results folder, and writing it.

:func:`build_report` reads the results (and the MDC store), scores them and
returns every table, the summary and the data of the figures;
:func:`write_report` writes them to ``RESULTS/report/``. Nothing in the
output depends on the wall clock, so the same results give the same bytes.
"""

import math
import os
from dataclasses import dataclass, field

from ..atomic import write_json, write_text
from . import plots
from .load import (
    DQ_OUTCOMES,
    NO_SUPEREVENT,
    NOT_DONE,
    REPORT_DIR,
    load_mdc,
    load_results,
)
from .match import injection_sources, match_source
from .page import render_html
from .stats import ks_uniform, skymap_statistics
from .tables import (
    _columns,
    _tsv,
    classification_by_class,
    classification_table,
    confusion_table,
    injection_table,
    outcome_table,
    superevent_table,
)


def _clean_for_json(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean_for_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_for_json(v) for v in value]
    return value


def _count(rows, key):
    values = [row[key] for row in rows]
    return {"n": len(values), "correct": sum(1 for v in values if v)}


def _superevent_skymaps(tree, skymap_errors):
    """{sid: {"path", "stats"}} for every superevent whose alert map is found."""
    cache = {}
    for sid, se in sorted(tree.superevents.items()):
        path = tree.skymap(se)
        if path is None:
            continue
        try:
            cache[sid] = {"path": path, "stats": skymap_statistics(path)}
        except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
            skymap_errors.append(f"{sid}: {path}: {exc}")
    return cache


@dataclass
class Report:
    """Everything the report computed, before it is written."""

    tables: dict = field(default_factory=dict)  # file name -> (rows, columns)
    frames: dict = field(default_factory=dict)  # file name -> DataFrame
    summary: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    plot_data: dict = field(default_factory=dict)  # what report_plots draws


def build_report(results, store=None):
    """Compute every table and the summary of the report (nothing written)."""
    tree = load_results(results, store)
    report = Report()
    truth, injections = load_mdc(tree.store, report.skipped)
    truth_by_sid = {}
    for source in truth or ():
        se = match_source(source, tree.superevents)
        if se is not None:
            truth_by_sid.setdefault(se.superevent_id, source)

    skymap_errors = []
    cache = _superevent_skymaps(tree, skymap_errors)
    superevents = superevent_table(tree, truth_by_sid, cache)
    report.tables["superevents.tsv"] = (
        superevents,
        _columns(superevents, ["superevent_id"]),
    )

    sources = injection_sources(truth, injections, report.skipped)
    injection_rows = injection_table(tree, sources, skymap_errors) if sources else []
    if sources:
        report.tables["injections.tsv"] = (injection_rows, _columns(injection_rows, []))
    elif injections is None:
        report.skipped.append(
            "no injections: searched areas, P-P plot and KS test skipped"
        )

    searched = [
        r["searched_prob"] for r in injection_rows if r["searched_prob"] is not None
    ]
    ks_statistic, ks_pvalue = ks_uniform(searched)

    outcome_rows = outcome_table(tree, truth) if truth is not None else []
    if truth is not None:
        report.tables["outcomes.tsv"] = (outcome_rows, _columns(outcome_rows, []))
        report.frames["dq_confusion.csv"] = confusion_table(
            [r["expected_dq"] for r in outcome_rows],
            [r["dq"] for r in outcome_rows],
            (*DQ_OUTCOMES, NO_SUPEREVENT),
            (*DQ_OUTCOMES, NOT_DONE, NO_SUPEREVENT),
        )
        report.frames["inj_confusion.csv"] = confusion_table(
            [str(r["expected_inj"]) for r in outcome_rows],
            [str(r["inj"]) for r in outcome_rows],
            ("True", "False"),
        )
    else:
        report.skipped.append(
            "no truth.json: DQ, INJ and preferred-event outcomes not scored"
        )

    classification = classification_table(tree, truth_by_sid)
    report.tables["classification.tsv"] = (
        classification,
        _columns(classification, ["superevent_id"]),
    )
    if truth is not None:
        by_class = classification_by_class(classification)
        report.tables["classification_by_class.csv"] = (
            by_class,
            ["truth_class", "quantity", "n", "mean", "median"],
        )
    else:
        report.skipped.append("no truth classes: p_astro/HasNS per class not scored")

    report.skipped.extend(f"sky map unreadable: {e}" for e in skymap_errors)
    report.skipped.extend(tree.problems)
    report.summary = _summary(
        tree,
        truth,
        injection_rows,
        outcome_rows,
        superevents,
        (ks_statistic, ks_pvalue),
    )
    report.summary["skipped"] = list(report.skipped)
    report.plot_data = {
        "searched_prob": searched,
        "ks_pvalue": ks_pvalue,
        "superevents": superevents,
        "injections": injection_rows,
    }
    return report


def _summary(tree, truth, injection_rows, outcome_rows, superevents, ks):
    statuses = [row["status"] for row in superevents]
    latencies = [row["latency"] for row in superevents if row["latency"] is not None]
    summary = {
        "superevents": len(superevents),
        "status": {s: statuses.count(s) for s in sorted(set(statuses))},
        "store": bool(tree.store),
        "truth": truth is not None,
        "injections": {
            "total": len(injection_rows),
            "with_superevent": sum(1 for r in injection_rows if r["superevent_id"]),
            "with_skymap": sum(1 for r in injection_rows if r["skymap"]),
        },
        "ks_searched_prob": {
            "n": sum(1 for r in injection_rows if r["searched_prob"] is not None),
            "statistic": ks[0],
            "pvalue": ks[1],
        },
        "latency": {
            "n": len(latencies),
            "median": _median(latencies),
            "max": max(latencies) if latencies else None,
        },
    }
    if truth is not None:
        summary["outcomes"] = {
            key: _count(outcome_rows, f"{key}_correct")
            for key in ("dq", "vetoed", "inj", "preferred", "final_preferred")
        }
        summary["outcomes"]["superevent"] = {
            "n": len(outcome_rows),
            "correct": sum(
                1
                for r in outcome_rows
                if r["expected_superevent"] == bool(r["superevent_id"])
            ),
        }
        matched = {r["superevent_id"] for r in outcome_rows if r["superevent_id"]}
        summary["unmatched_superevents"] = sorted(set(tree.superevents) - matched)
    return _clean_for_json(summary)


def _median(values):
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return 0.5 * (ordered[middle - 1] + ordered[middle])


def write_report(results, store=None):
    """Write ``RESULTS/report/`` (tables, figures, summary.json, index.html).

    ``store`` is the MDC store (truth.json, injections.xml); without it only
    what the results alone support is written. Returns the report folder.
    """
    report = build_report(results, store)
    report_dir = os.path.join(os.fspath(results), REPORT_DIR)
    os.makedirs(report_dir, exist_ok=True)
    for name, (rows, columns) in report.tables.items():
        sep = "," if name.endswith(".csv") else "\t"
        write_text(os.path.join(report_dir, name), _tsv(rows, columns, sep))
    for name, frame in report.frames.items():
        write_text(os.path.join(report_dir, name), frame.to_csv(lineterminator="\n"))
    figures = plots.write_figures(report_dir, report.plot_data, report.skipped)
    report.summary["skipped"] = list(report.skipped)
    report.summary["figures"] = sorted(figures)
    report.summary["tables"] = sorted(list(report.tables) + list(report.frames))
    write_json(os.path.join(report_dir, "summary.json"), report.summary)
    write_text(os.path.join(report_dir, "index.html"), render_html(report, figures))
    return report_dir
