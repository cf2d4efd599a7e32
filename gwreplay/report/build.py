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
from . import notices, plots
from .files import superevent_files
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
from .stats import ks_uniform, map_statistics
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


def _superevent_skymaps(tree, skymap_errors, *, jobs=1, quiet=False):
    """{sid: {"path", "stats"}} for every superevent whose alert map is found.

    Areas only (no true position), through :func:`map_statistics`.
    """
    found = [(sid, tree.skymap(se)) for sid, se in sorted(tree.superevents.items())]
    found = [(sid, path) for sid, path in found if path is not None]
    tasks = [(path, None, None, None) for _, path in found]
    results = map_statistics(tasks, jobs=jobs, quiet=quiet, desc="sky maps")
    cache = {}
    for (sid, path), (stats, error) in zip(found, results, strict=True):
        if error is None:
            cache[sid] = {"path": path, "stats": stats}
        else:
            skymap_errors.append(f"{sid}: {path}: {error}")
    return cache


@dataclass
class Report:
    """Everything the report computed, before it is written."""

    tables: dict = field(default_factory=dict)  # file name -> (rows, columns)
    frames: dict = field(default_factory=dict)  # file name -> DataFrame
    summary: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)
    plot_data: dict = field(default_factory=dict)  # what plots.write_figures draws
    #: (superevents.tsv row, files.SupereventFiles) per superevent, for the page.
    superevents: list = field(default_factory=list)


def _truth_by_superevent(tree, truth):
    """{sid: the first truth source matched to it}."""
    truth_by_sid = {}
    for source in truth or ():
        se = match_source(source, tree.superevents)
        if se is not None:
            truth_by_sid.setdefault(se.superevent_id, source)
    return truth_by_sid


def _add_outcomes(report, tree, truth):
    """outcomes.tsv and the DQ and INJ confusion tables; their rows."""
    if truth is None:
        report.skipped.append(
            "no truth.json: DQ, INJ and preferred-event outcomes not scored"
        )
        return []
    outcome_rows = outcome_table(tree, truth)
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
    return outcome_rows


def _add_classification(report, tree, truth, truth_by_sid):
    """classification.tsv and, with truth, classification_by_class.csv."""
    classification = classification_table(tree, truth_by_sid)
    report.tables["classification.tsv"] = (
        classification,
        _columns(classification, ["superevent_id"]),
    )
    if truth is None:
        report.skipped.append("no truth classes: p_astro/HasNS per class not scored")
        return
    report.tables["classification_by_class.csv"] = (
        classification_by_class(classification),
        ["truth_class", "quantity", "n", "mean", "median"],
    )


def _add_notices(report, tree, truth):
    """notices.tsv and notice_mismatches.tsv (O4 notices against the truth,
    :mod:`gwreplay.report.notices`); returns summary.json's ``notices``."""
    counts, mismatches, summary = notices.score_notices(tree, truth)
    if counts is None:
        report.skipped.append(summary["reason"])
    else:
        report.tables[notices.NOTICES_TABLE] = (counts, list(notices.COUNT_COLUMNS))
        report.tables[notices.MISMATCHES_TABLE] = (
            mismatches,
            list(notices.MISMATCH_COLUMNS),
        )
    return summary


def _finite(value):
    return value is not None and math.isfinite(value)


def _searched(injection_rows):
    """{column: finite values} of the searched probabilities (sky, distance,
    volume) of the injections, and {column: KS test against U(0, 1)}."""
    values = {
        key: [r[key] for r in injection_rows if _finite(r[key])]
        for key in plots.PP_SERIES
    }
    return values, {key: ks_uniform(v) for key, v in values.items()}


def build_report(results, store=None, *, jobs=1, quiet=False):
    """Compute every table and the summary of the report (nothing written).

    ``jobs`` processes run the crossmatch of the sky maps, with a progress
    bar on stderr unless ``quiet`` (:func:`~gwreplay.report.stats.map_statistics`).
    """
    tree = load_results(results, store)
    report = Report()
    truth, injections = load_mdc(tree.store, report.skipped)
    truth_by_sid = _truth_by_superevent(tree, truth)

    skymap_errors = []
    cache = _superevent_skymaps(tree, skymap_errors, jobs=jobs, quiet=quiet)
    superevents = superevent_table(tree, truth_by_sid, cache)
    report.tables["superevents.tsv"] = (
        superevents,
        _columns(superevents, ["superevent_id"]),
    )
    report.superevents = [
        (row, superevent_files(tree.results, row["superevent_id"]))
        for row in superevents
    ]

    sources = injection_sources(truth, injections, report.skipped)
    injection_rows = []
    if sources:
        injection_rows = injection_table(
            tree, sources, skymap_errors, jobs=jobs, quiet=quiet
        )
        report.tables["injections.tsv"] = (injection_rows, _columns(injection_rows, []))
    elif injections is None:
        report.skipped.append(
            "no injections: searched areas, P-P plot and KS test skipped"
        )
    searched, ks = _searched(injection_rows)

    outcome_rows = _add_outcomes(report, tree, truth)
    _add_classification(report, tree, truth, truth_by_sid)
    notice_summary = _add_notices(report, tree, truth)

    report.skipped.extend(f"sky map unreadable: {e}" for e in skymap_errors)
    report.skipped.extend(tree.problems)
    report.summary = _summary(
        tree, truth, injection_rows, outcome_rows, superevents, searched, ks
    )
    report.summary["notices"] = notice_summary
    report.summary["skipped"] = list(report.skipped)
    report.plot_data = {
        **searched,
        "ks_pvalues": {key: result[1] for key, result in ks.items()},
        "superevents": superevents,
        "injections": injection_rows,
    }
    return report


def _ks_summary(searched, ks):
    """summary.json entries ``ks_<column>``: n, D and p of each KS test."""
    return {
        f"ks_{key}": {
            "n": len(searched[key]),
            "statistic": ks[key][0],
            "pvalue": ks[key][1],
        }
        for key in plots.PP_SERIES
    }


def _outcome_summary(tree, outcome_rows):
    """summary.json ``outcomes`` and ``unmatched_superevents``."""
    outcomes = {
        key: _count(outcome_rows, f"{key}_correct")
        for key in ("dq", "vetoed", "inj", "preferred", "final_preferred")
    }
    outcomes["superevent"] = {
        "n": len(outcome_rows),
        "correct": sum(
            1
            for r in outcome_rows
            if r["expected_superevent"] == bool(r["superevent_id"])
        ),
    }
    matched = {r["superevent_id"] for r in outcome_rows if r["superevent_id"]}
    return {
        "outcomes": outcomes,
        "unmatched_superevents": sorted(set(tree.superevents) - matched),
    }


def _summary(tree, truth, injection_rows, outcome_rows, superevents, searched, ks):
    """summary.json: counts, KS tests, latency and (with truth) outcomes."""
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
        **_ks_summary(searched, ks),
        "latency": {
            "n": len(latencies),
            "median": _median(latencies),
            "max": max(latencies) if latencies else None,
        },
    }
    if truth is not None:
        summary.update(_outcome_summary(tree, outcome_rows))
    return _clean_for_json(summary)


def _median(values):
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return 0.5 * (ordered[middle - 1] + ordered[middle])


def _remove_stale_figures(report_dir, figures):
    """Remove the PNGs of an earlier report that this one did not draw."""
    folder = os.path.join(report_dir, plots.FIGURES_DIR)
    for name in sorted(os.listdir(folder)):
        if name.endswith(".png") and f"{plots.FIGURES_DIR}/{name}" not in figures:
            os.remove(os.path.join(folder, name))


def write_report(results, store=None, *, jobs=1, quiet=False):
    """Write ``RESULTS/report/`` (tables, figures, summary.json, index.html).

    ``store`` is the MDC store (truth.json, injections.xml); without it only
    what the results alone support is written. ``jobs`` and ``quiet`` as for
    :func:`build_report`. Returns the report folder.
    """
    report = build_report(results, store, jobs=jobs, quiet=quiet)
    report_dir = os.path.join(os.fspath(results), REPORT_DIR)
    os.makedirs(report_dir, exist_ok=True)
    for name, (rows, columns) in report.tables.items():
        sep = "," if name.endswith(".csv") else "\t"
        write_text(os.path.join(report_dir, name), _tsv(rows, columns, sep))
    for name, frame in report.frames.items():
        write_text(os.path.join(report_dir, name), frame.to_csv(lineterminator="\n"))
    figures = plots.write_figures(report_dir, report.plot_data, report.skipped)
    _remove_stale_figures(report_dir, figures)
    report.summary["skipped"] = list(report.skipped)
    report.summary["figures"] = sorted(figures)
    report.summary["tables"] = sorted(list(report.tables) + list(report.frames))
    write_json(os.path.join(report_dir, "summary.json"), report.summary)
    write_text(os.path.join(report_dir, "index.html"), render_html(report, figures))
    return report_dir
