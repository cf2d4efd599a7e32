"""The report's tables: one row per superevent, injection or truth source.

Each function returns plain rows (dicts); :func:`tsv` writes them with
pandas so that they load back with :func:`pandas.read_csv` (docs/report.md).
"""

import os

from .load import (
    DQ_OUTCOMES,
    EM_BRIGHT_KEYS,
    NO_SUPEREVENT,
    P_ASTRO_CLASSES,
    _float_or_none,
)
from .match import match_source
from .stats import contour_columns, map_statistics


def _skymap_label(tree, path):
    """A sky-map path as written in tables: relative to RESULTS (or the store)."""
    if path is None:
        return ""
    for base, prefix in ((tree.results, ""), (tree.store, "STORE/")):
        if base:
            relative = os.path.relpath(os.path.abspath(path), os.path.abspath(base))
            if not relative.startswith(os.pardir):
                return prefix + relative
    return os.path.basename(path)


def superevent_table(tree, truth_by_sid, skymap_cache):
    """One row per superevent: outcome, latency, sky-map areas, truth class."""
    area_names = contour_columns()[0]
    rows = []
    for sid, se in sorted(tree.superevents.items()):
        t_0, created, notice = se.time("t_0"), se.time("created"), se.notice_time
        source = truth_by_sid.get(sid)
        row = {
            "superevent_id": sid,
            "category": se.info.get("category", ""),
            "t_0": t_0,
            "created": created,
            "preferred_event": se.preferred_event or "",
            "final_preferred_event": se.final_preferred_event or "",
            "labels": " ".join(se.labels),
            "dq": se.dq_outcome,
            "status": se.status,
            "notice_time": notice,
            "latency": notice - t_0 if notice is not None and t_0 is not None else None,
            "truth_id": source["id"] if source else "",
            "truth_class": source["class"] if source else "",
        }
        stats = skymap_cache.get(sid)
        row["skymap"] = _skymap_label(tree, stats["path"]) if stats else ""
        for name in area_names + ["distmean", "diststd"]:
            row[name] = stats["stats"][name] if stats else None
        rows.append(row)
    return rows


def injection_table(tree, sources, skymap_errors, *, jobs=1, quiet=False):
    """One row per injection: its superevent and ligo-skymap-stats columns.

    The crossmatch of every injection with its alert's sky map runs through
    :func:`map_statistics` (progress bar, ``jobs`` processes).
    """
    area_names, dist_names, vol_names = contour_columns()
    stat_names = [
        "searched_area",
        "searched_prob",
        "searched_prob_dist",
        "searched_vol",
        "searched_prob_vol",
        "offset",
        *area_names,
        *dist_names,
        *vol_names,
        "distmean",
        "diststd",
    ]
    rows, scored = [], []
    for source in sources:
        se = match_source(source, tree.superevents)
        row = {
            "simulation_id": source["simulation_id"],
            "truth_id": source["id"],
            "class": source["class"],
            "geocent_end_time": source["geocent_end_time"],
            "ra": source["ra"],
            "dec": source["dec"],
            "distance": source["distance"],
            "superevent_id": se.superevent_id if se else "",
            "preferred_event": (se.preferred_event or "") if se else "",
            "status": se.status if se else NO_SUPEREVENT,
            "skymap": "",
        }
        row.update(dict.fromkeys(stat_names))
        path = tree.skymap(se) if se else None
        if path is not None and source["ra"] is not None:
            scored.append((row, se.superevent_id, path))
        rows.append(row)
    tasks = [(path, row["ra"], row["dec"], row["distance"]) for row, _, path in scored]
    results = map_statistics(tasks, jobs=jobs, quiet=quiet, desc="injections")
    for (row, sid, path), (stats, error) in zip(scored, results, strict=True):
        if error is None:
            row.update(stats, skymap=_skymap_label(tree, path))
        else:
            skymap_errors.append(f"{sid}: {path}: {error}")
    return rows


def _expected_dq(expected):
    if not expected.get("superevent"):
        return NO_SUPEREVENT
    dq = expected.get("dq")
    return dq if dq in DQ_OUTCOMES else "unknown"


def outcome_table(tree, truth):
    """One row per truth source with an expected outcome: expected vs got."""
    rows = []
    for source in truth:
        expected = source["expected"]
        if not expected:
            continue
        se = match_source(source, tree.superevents)
        got_inj = "INJ" in se.labels if se else False
        row = {
            "truth_id": source["id"],
            "class": source["class"],
            "expected_superevent": bool(expected.get("superevent")),
            "superevent_id": se.superevent_id if se else "",
            "status": se.status if se else NO_SUPEREVENT,
            "expected_dq": _expected_dq(expected),
            "dq": se.dq_outcome if se else NO_SUPEREVENT,
            "expected_vetoed": bool(expected.get("vetoed")),
            "vetoed": bool(se.vetoed) if se else False,
            "expected_inj": bool(expected.get("inj")),
            "inj": got_inj,
            "expected_preferred_event": expected.get("preferred_event_at_timeout")
            or "",
            "preferred_event": (se.preferred_event or "") if se else "",
            "expected_final_preferred_event": expected.get("final_preferred_event")
            or "",
            "final_preferred_event": (se.final_preferred_event or "") if se else "",
        }
        row["dq_correct"] = row["expected_dq"] == row["dq"]
        row["vetoed_correct"] = row["expected_vetoed"] == row["vetoed"]
        row["inj_correct"] = row["expected_inj"] == row["inj"]
        row["preferred_correct"] = (
            row["expected_preferred_event"] == row["preferred_event"]
        )
        row["final_preferred_correct"] = (
            row["expected_final_preferred_event"] == row["final_preferred_event"]
        )
        rows.append(row)
    return rows


def confusion_table(expected, got, categories, got_categories=None):
    """Counts of (expected, got) pairs, every category in rows and columns.

    Returns a DataFrame indexed by the expected outcome (index name
    ``expected``), rows in the order of ``categories`` and columns in that of
    ``got_categories`` (default: the same), each followed by any other value
    seen (sorted), so that a table always has the same shape.
    """
    import pandas as pd

    got_categories = categories if got_categories is None else got_categories
    rows = list(categories) + sorted(set(expected) - set(categories))
    columns = list(got_categories) + sorted(set(got) - set(got_categories))
    table = pd.DataFrame(0, index=rows, columns=columns, dtype="int64")
    for want, have in zip(expected, got, strict=True):
        table.loc[want, have] += 1
    table.index.name = "expected"
    return table


def classification_table(tree, truth_by_sid):
    """One row per superevent: p_astro and source classification of its alert."""
    rows = []
    for sid, se in sorted(tree.superevents.items()):
        source = truth_by_sid.get(sid)
        p_astro = tree.annotation(se, "p_astro") or {}
        em_bright = tree.annotation(se, "source_classification") or {}
        row = {
            "superevent_id": sid,
            "preferred_event": se.preferred_event or "",
            "truth_class": source["class"] if source else "",
        }
        probabilities = {c: _float_or_none(p_astro.get(c)) for c in P_ASTRO_CLASSES}
        for name, value in probabilities.items():
            row[f"p_astro_{name}"] = value
        known = {k: v for k, v in probabilities.items() if v is not None}
        row["p_astro_class"] = max(known, key=known.get) if known else ""
        row["p_astro_correct"] = (
            row["p_astro_class"] == row["truth_class"]
            if known and row["truth_class"]
            else None
        )
        for key in EM_BRIGHT_KEYS:
            row[key] = _float_or_none(em_bright.get(key))
        rows.append(row)
    return rows


def classification_by_class(rows):
    """Per truth class: n, mean and median of each p_astro and em_bright value."""
    import pandas as pd

    quantities = [f"p_astro_{c}" for c in P_ASTRO_CLASSES]
    quantities += list(EM_BRIGHT_KEYS) + ["p_astro_correct"]
    frame = pd.DataFrame(rows, columns=["truth_class", *quantities])
    out = []
    for truth_class in sorted(set(frame["truth_class"]) - {""}):
        group = frame[frame["truth_class"] == truth_class]
        for quantity in quantities:
            values = pd.to_numeric(group[quantity], errors="coerce").dropna()
            out.append(
                {
                    "truth_class": truth_class,
                    "quantity": quantity,
                    "n": int(values.size),
                    "mean": float(values.mean()) if values.size else None,
                    "median": float(values.median()) if values.size else None,
                }
            )
    return out


def _tsv(rows, columns, sep="\t"):
    """Rows as TSV text (pandas writer; None/NaN as empty cells)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    return frame.to_csv(sep=sep, index=False, lineterminator="\n")


def _columns(rows, fallback):
    return list(rows[0]) if rows else list(fallback)
