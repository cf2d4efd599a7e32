"""``gwreplay report``: the scorecard of a finished replay, against the MDC truth.

A mock-data challenge is run to answer a few questions (issue 6): are the sky
maps calibrated and how large are they, were the right candidates vetoed and
labelled, was the right preferred event chosen at the orchestrator timeout, do
p_astro and HasNS/HasRemnant agree with the true source class, and how long
after merger would each notice have gone out. This module reads a results
folder (and, when given, the MDC store's ``injections.xml`` and
``truth.json``) and writes the answers to ``RESULTS/report/``: tab-separated
tables that load with :func:`pandas.read_csv`, PNG figures
(:mod:`gwreplay.report_plots`), ``summary.json`` and one ``index.html``
linking them. The format of every file is in ``docs/report.md``.

Sky-map statistics are those of ``ligo-skymap-stats``
(``ligo/skymap/tool/ligo_skymap_stats.py``): the multi-order sky map is read
with ``read_sky_map(moc=True)`` and passed with the injection's true position
to :func:`ligo.skymap.postprocess.crossmatch.crossmatch`, whose columns keep
the tool's names (``searched_area``, ``searched_prob``, ``offset``,
``area(90)``, ...). The map scored for an injection is the one the alert
carried: the sky map of the superevent's preferred event at the orchestrator
timeout (Singer & Price 2016, PRD 93, 024013, sect. IV, for the searched-area
and P-P diagnostics).

Without a store (a replay of real observing-run data) the report still lists
areas, latencies and outcomes, and says in ``summary.json`` and on the page
what it skipped and why. Nothing in the output depends on the wall clock, so
the same results give the same report bytes.
"""

import csv
import html
import json
import math
import os
from dataclasses import dataclass, field

from .atomic import write_json, write_text
from .errors import InvalidIdError
from .ids import validate_graceid, validate_superevent_id
from .summary import alert_status

#: Credible levels (percent) whose areas, distance widths and volumes are tabulated.
report_contours = (50, 90)
#: Seconds outside a superevent's [t_start, t_end] within which an injection
#: still matches it by time (used only when truth.json does not name the G-events).
report_match_window = 1.0

#: Name of the report folder inside RESULTS.
REPORT_DIR = "report"
#: Sky-map file names gwreplay knows, in order of preference.
SKYMAP_NAMES = (
    "bayestar.multiorder.fits",
    "bayestar.fits.gz",
    "skyprobcc_cWB.fits",
    "LIB.fits.gz",
)
#: p_astro categories (gwcelery / p-astro).
P_ASTRO_CLASSES = ("BNS", "NSBH", "BBH", "Terrestrial")
#: Keys of the source classification (gwcelery's em_bright).
EM_BRIGHT_KEYS = ("HasNS", "HasRemnant", "HasMassGap")
#: DQ outcomes of gwcelery's check_vectors: DQOK, DQV, or neither (unknown).
DQ_OUTCOMES = ("DQOK", "DQV", "unknown")
#: Outcome of a truth source with no superevent (expected or found).
NO_SUPEREVENT = "no superevent"
#: Outcome of a superevent whose dq.json was not written.
NOT_DONE = "not done"


# ---------------------------------------------------------------------------
# Reading a results folder
# ---------------------------------------------------------------------------


def _read_json(path, problems):
    """The JSON at ``path``; None if absent; None and a note if malformed."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        problems.append(f"{path}: unreadable JSON ({exc})")
        return None


def _float_or_none(value):
    """A finite float from a JSON/CSV value, else None ("" and null included)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _superevent_from_csv_row(row):
    """superevent.json-like dict from an alerts.csv row (when the file is gone)."""
    info = {key: row.get(key, "") for key in ("superevent_id", "category")}
    for key in ("t_0", "t_start", "t_end"):
        info[key] = _float_or_none(row.get(key))
    info["gw_events"] = (row.get("gw_events") or "").split()
    info["preferred_event"] = row.get("preferred_event") or None
    info["final_preferred_event"] = row.get("final_preferred_event") or None
    return info


@dataclass
class Superevent:
    """What a replay recorded about one superevent."""

    superevent_id: str
    info: dict
    alert: dict | None = None
    dq: dict | None = None
    csv_row: dict | None = None

    def _graceid(self, key):
        value = self.info.get(key)
        try:
            return validate_graceid(value) if value else None
        except InvalidIdError:
            return None

    @property
    def preferred_event(self):
        """Preferred event at the orchestrator timeout (the alert's event)."""
        return self._graceid("preferred_event")

    @property
    def final_preferred_event(self):
        """Preferred event once every upload is in."""
        return self._graceid("final_preferred_event")

    @property
    def gw_events(self):
        return list(self.info.get("gw_events") or ())

    def time(self, key):
        """``t_0``, ``t_start``, ``t_end`` or ``created`` as GPS float (or None)."""
        return _float_or_none(self.info.get(key))

    @property
    def labels(self):
        """DQ labels: dq.json, else alert.json, else alerts.csv."""
        for record in (self.dq, self.alert):
            if record and "labels" in record:
                return sorted(record["labels"])
        return sorted((self.csv_row or {}).get("labels", "").split())

    @property
    def dq_outcome(self):
        """DQV, DQOK, unknown (checked, neither label) or ``not done``."""
        if self.dq is None and self.alert is None:
            return NOT_DONE
        labels = self.labels
        if "DQV" in labels:
            return "DQV"
        if "DQOK" in labels:
            return "DQOK"
        return "unknown"

    @property
    def vetoed(self):
        for record in (self.dq, self.alert):
            if record and "vetoed" in record:
                return bool(record["vetoed"])
        return None

    @property
    def status(self):
        """sent, vetoed, not publishable, no sky map or not done (as alerts.csv)."""
        if self.alert is not None:
            return alert_status(self.alert)
        return (self.csv_row or {}).get("status") or NOT_DONE

    @property
    def notice_time(self):
        if self.alert is not None:
            return _float_or_none(self.alert.get("notice_time"))
        return _float_or_none((self.csv_row or {}).get("notice_time"))


@dataclass
class ResultsTree:
    """A results folder (and optionally its store), read once."""

    results: str
    store: str | None = None
    superevents: dict = field(default_factory=dict)
    problems: list = field(default_factory=list)

    def _existing(self, *parts):
        path = os.path.join(*parts)
        return path if os.path.isfile(path) else None

    def skymap(self, superevent):
        """Path of the sky map the alert of ``superevent`` carried, or None.

        The superevent's own copy when the alert went out, else the preferred
        event's map: BAYESTAR's in RESULTS/events, a pipeline upload in the store.
        """
        sid = superevent.superevent_id
        for name in SKYMAP_NAMES:
            path = self._existing(self.results, "superevents", sid, name)
            if path:
                return path
        graceid = superevent.preferred_event
        if graceid is None:
            return None
        for name in SKYMAP_NAMES:
            path = self._existing(self.results, "events", graceid, name)
            if path:
                return path
        if self.store:
            for name in SKYMAP_NAMES:
                path = self._existing(self.store, "events", graceid, name)
                if path:
                    return path
        return None

    def annotation(self, superevent, kind):
        """``source_classification`` or ``p_astro`` dict of the alert, or None."""
        names = {
            "source_classification": (
                "source_classification.json",
                "source_classification.json",
            ),
            "p_astro": ("p_astro.json", "p_astro_gstlal.json"),
        }[kind]
        sid = superevent.superevent_id
        path = self._existing(self.results, "superevents", sid, names[0])
        if path is None and superevent.preferred_event:
            path = self._existing(
                self.results, "events", superevent.preferred_event, names[1]
            )
        return _read_json(path, self.problems) if path else None


def _read_alerts_csv(results):
    path = os.path.join(results, "alerts.csv")
    try:
        with open(path, encoding="utf-8", newline="") as f:
            return {row["superevent_id"]: row for row in csv.DictReader(f)}
    except FileNotFoundError:
        return {}


def load_results(results, store=None):
    """Read every superevent of ``results`` (folders and alerts.csv rows)."""
    tree = ResultsTree(os.fspath(results), os.fspath(store) if store else None)
    rows = _read_alerts_csv(tree.results)
    folder = os.path.join(tree.results, "superevents")
    names = set(rows)
    if os.path.isdir(folder):
        names.update(os.listdir(folder))
    for name in sorted(names):
        try:
            sid = validate_superevent_id(name)
        except InvalidIdError as exc:
            if not name.startswith("."):
                tree.problems.append(f"superevents/{name}: skipped ({exc})")
            continue
        directory = os.path.join(folder, sid)
        info = _read_json(os.path.join(directory, "superevent.json"), tree.problems)
        if info is None and sid not in rows:
            continue  # a folder without a superevent (e.g. a stale log)
        if info is None:
            info = _superevent_from_csv_row(rows[sid])
        tree.superevents[sid] = Superevent(
            superevent_id=sid,
            info=info,
            alert=_read_json(os.path.join(directory, "alert.json"), tree.problems),
            dq=_read_json(os.path.join(directory, "dq.json"), tree.problems),
            csv_row=rows.get(sid),
        )
    return tree


# ---------------------------------------------------------------------------
# Reading the MDC truth and injections
# ---------------------------------------------------------------------------


def read_injections(path):
    """sim_inspiral rows of ``injections.xml`` as dicts, by simulation_id.

    Each dict has ``simulation_id``, ``geocent_end_time`` (GPS float), ``ra``
    and ``dec`` (radians: sim_inspiral's longitude and latitude), ``distance``
    (Mpc), ``mass1``, ``mass2`` and ``source``. Read with ligo.skymap's
    LIGO-LW content handler (both ID dialects) after gwreplay's XML screen.
    """
    from igwn_ligolw import lsctables
    from igwn_ligolw import utils as ligolw_utils
    from ligo.skymap.io.events.ligolw import ContentHandler

    from .xmlguard import screen_upload

    screen_upload("injections", os.fspath(path))
    xmldoc = ligolw_utils.load_filename(os.fspath(path), contenthandler=ContentHandler)
    table = lsctables.SimInspiralTable.get_table(xmldoc)
    rows = {}
    for row in table:
        simulation_id = int(row.simulation_id)
        rows[simulation_id] = {
            "simulation_id": simulation_id,
            "geocent_end_time": float(row.time_geocent),
            "ra": float(row.longitude),
            "dec": float(row.latitude),
            "distance": float(row.distance),
            "mass1": float(row.mass1),
            "mass2": float(row.mass2),
            "source": row.source or "",
        }
    return rows


def _truth_coordinates(entry):
    """(ra, dec) in radians from a truth entry: ``ra``/``dec`` are radians
    (as sim_inspiral); ``ra_deg``/``dec_deg`` are accepted as degrees."""
    if entry.get("ra_deg") is not None and entry.get("dec_deg") is not None:
        return math.radians(entry["ra_deg"]), math.radians(entry["dec_deg"])
    return _float_or_none(entry.get("ra")), _float_or_none(entry.get("dec"))


def normalise_truth_source(entry, index):
    """One truth.json source in the form the report uses (tolerant reader).

    Missing keys get neutral values: ``id`` -> ``source<index>``, ``class``
    -> "", ``gw_events`` -> [] (then matched by time), ``expected`` -> {}
    (then no outcome is scored). ``expected.superevent`` defaults to whether
    a final preferred event is expected.
    """
    ra, dec = _truth_coordinates(entry)
    expected = dict(entry.get("expected") or {})
    if expected and "superevent" not in expected:
        expected["superevent"] = bool(expected.get("final_preferred_event"))
    simulation_id = entry.get("simulation_id")
    return {
        "id": str(entry.get("id") or f"source{index:04d}"),
        "class": str(entry.get("class") or ""),
        "simulation_id": None if simulation_id is None else int(simulation_id),
        "geocent_end_time": _float_or_none(entry.get("geocent_end_time")),
        "ra": ra,
        "dec": dec,
        "distance": _float_or_none(entry.get("distance")),
        "gw_events": list(entry.get("gw_events") or ()),
        "expected": expected,
    }


def read_truth(path):
    """Sources of ``truth.json``, normalised (see :func:`normalise_truth_source`)."""
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    return [
        normalise_truth_source(entry, index)
        for index, entry in enumerate(document.get("sources", ()))
    ]


def load_mdc(store, problems):
    """(truth sources or None, injection rows or None) of ``store``."""
    truth = injections = None
    if not store:
        problems.append("no --store: truth.json and injections.xml not read")
        return truth, injections
    truth_path = os.path.join(store, "truth.json")
    if os.path.isfile(truth_path):
        try:
            truth = read_truth(truth_path)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            problems.append(f"truth.json: unreadable ({exc})")
    else:
        problems.append("store has no truth.json: outcomes not scored")
    injections_path = os.path.join(store, "injections.xml")
    if os.path.isfile(injections_path):
        try:
            injections = read_injections(injections_path)
        except Exception as exc:  # noqa: BLE001 - any parse failure is reported
            problems.append(f"injections.xml: unreadable ({exc})")
    else:
        problems.append("store has no injections.xml: no sky-map statistics")
    return truth, injections


# ---------------------------------------------------------------------------
# Matching truth to superevents
# ---------------------------------------------------------------------------


def match_by_events(source, superevents):
    """The superevent sharing G-events with ``source`` (truth gw_events).

    When several do, the one holding the expected final preferred event,
    else the one sharing most events.
    """
    wanted = set(source["gw_events"])
    if not wanted:
        return None
    overlaps = [
        (len(wanted & set(se.gw_events)), se)
        for se in superevents.values()
        if wanted & set(se.gw_events)
    ]
    if not overlaps:
        return None
    final = source["expected"].get("final_preferred_event")
    for _, se in overlaps:
        if final and final in se.gw_events:
            return se
    return max(overlaps, key=lambda item: (item[0], item[1].superevent_id))[1]


def match_by_time(gps, superevents, window=report_match_window):
    """The superevent whose [t_start - window, t_end + window] holds ``gps``.

    Nearest t_0 first when several do.
    """
    if gps is None:
        return None
    candidates = []
    for se in superevents.values():
        t_0, start, end = se.time("t_0"), se.time("t_start"), se.time("t_end")
        if t_0 is None:
            continue
        start = t_0 if start is None else start
        end = t_0 if end is None else end
        if start - window <= gps <= end + window:
            candidates.append((abs(t_0 - gps), se.superevent_id, se))
    return min(candidates)[2] if candidates else None


def match_source(source, superevents, window=report_match_window):
    """Superevent of a truth source: by its G-events, else by time."""
    if source["gw_events"]:
        return match_by_events(source, superevents)
    return match_by_time(source["geocent_end_time"], superevents, window)


def injection_sources(truth, injections, problems):
    """The injections to score: truth sources with a simulation_id (positions
    from injections.xml), or every injections.xml row when there is no truth."""
    if truth is not None:
        sources = []
        for source in truth:
            if source["simulation_id"] is None:
                continue
            row = (injections or {}).get(source["simulation_id"])
            source = dict(source)
            if row is not None:
                source.update(
                    {key: row[key] for key in ("geocent_end_time", "ra", "dec")},
                    distance=row["distance"],
                )
            elif injections is not None:
                problems.append(
                    f"{source['id']}: simulation_id {source['simulation_id']} "
                    "not in injections.xml (truth.json position used)"
                )
            sources.append(source)
        return sources
    return [
        {
            "id": f"sim{simulation_id}",
            "class": row["source"] if row["source"] in P_ASTRO_CLASSES else "",
            "simulation_id": simulation_id,
            "gw_events": [],
            "expected": {},
            **{k: row[k] for k in ("geocent_end_time", "ra", "dec", "distance")},
        }
        for simulation_id, row in sorted((injections or {}).items())
    ]


# ---------------------------------------------------------------------------
# Sky-map statistics (ligo-skymap-stats)
# ---------------------------------------------------------------------------


def contour_columns(contours=report_contours):
    """Column names of ligo-skymap-stats for the credible levels ``contours``."""
    return (
        [f"area({p:g})" for p in contours],
        [f"dist({p:g})" for p in contours],
        [f"vol({p:g})" for p in contours],
    )


def read_skymap(path):
    """The multi-order sky map at ``path`` (flat maps converted), as the tool."""
    from ligo.skymap.io import fits

    return fits.read_sky_map(os.fspath(path), moc=True)


def skymap_statistics(
    skymap, ra=None, dec=None, distance=None, contours=report_contours
):
    """ligo-skymap-stats columns of one sky map and (optionally) a true position.

    ``skymap`` is a path or a table from :func:`read_skymap`; ``ra``/``dec``
    in radians, ``distance`` in Mpc. Without a position only the credible
    areas and the header's distance moments are computed: the 3-D volume
    grid of crossmatch (pixels x 1000 distances) is built only when there is
    a true position to place in it. Areas in deg², angles in degrees,
    volumes in Mpc³, probabilities between 0 and 1.
    """
    import numpy as np
    from astropy import units as u
    from astropy.coordinates import SkyCoord
    from ligo.skymap.postprocess.crossmatch import crossmatch

    if not hasattr(skymap, "colnames"):
        skymap = read_skymap(skymap)
    coordinates = None
    if ra is not None and dec is not None:
        if distance is not None and distance > 0:
            coordinates = SkyCoord(ra * u.rad, dec * u.rad, distance * u.Mpc)
        else:
            coordinates = SkyCoord(ra * u.rad, dec * u.rad)
    else:
        skymap = skymap[["UNIQ", "PROBDENSITY"]]
    result = crossmatch(
        skymap, coordinates, contours=0.01 * np.asarray(contours, dtype=float)
    )
    area_names, dist_names, vol_names = contour_columns(contours)
    row = {
        "searched_area": result.searched_area,
        "searched_prob": result.searched_prob,
        "searched_prob_dist": result.searched_prob_dist,
        "searched_vol": result.searched_vol,
        "searched_prob_vol": result.searched_prob_vol,
        "offset": result.offset,
    }
    row.update(zip(area_names, result.contour_areas, strict=True))
    row.update(zip(dist_names, result.contour_dists, strict=True))
    row.update(zip(vol_names, result.contour_vols, strict=True))
    row["distmean"] = skymap.meta.get("distmean", np.nan)
    row["diststd"] = skymap.meta.get("diststd", np.nan)
    return {key: _float_or_nan(value) for key, value in row.items()}


def _float_or_nan(value):
    import numpy as np

    value = np.asarray(value, dtype=float)
    return float(value.item()) if value.size == 1 else float("nan")


def ks_uniform(values):
    """Kolmogorov-Smirnov test of ``values`` against U(0, 1): (statistic, p)."""
    from scipy import stats

    values = [v for v in values if v is not None and math.isfinite(v)]
    if not values:
        return None, None
    result = stats.kstest(values, "uniform")
    return float(result.statistic), float(result.pvalue)


# ---------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------


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


def injection_table(tree, sources, skymap_errors):
    """One row per injection: its superevent and ligo-skymap-stats columns."""
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
    rows = []
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
            try:
                stats = skymap_statistics(
                    path, source["ra"], source["dec"], source["distance"]
                )
            except (OSError, ValueError, KeyError, TypeError, EOFError) as exc:
                skymap_errors.append(f"{se.superevent_id}: {path}: {exc}")
            else:
                row.update(stats, skymap=_skymap_label(tree, path))
        rows.append(row)
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


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def _tsv(rows, columns, sep="\t"):
    """Rows as TSV text (pandas writer; None/NaN as empty cells)."""
    import pandas as pd

    frame = pd.DataFrame(rows, columns=columns)
    return frame.to_csv(sep=sep, index=False, lineterminator="\n")


def _columns(rows, fallback):
    return list(rows[0]) if rows else list(fallback)


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
    from . import report_plots

    report = build_report(results, store)
    report_dir = os.path.join(os.fspath(results), REPORT_DIR)
    os.makedirs(report_dir, exist_ok=True)
    for name, (rows, columns) in report.tables.items():
        sep = "," if name.endswith(".csv") else "\t"
        write_text(os.path.join(report_dir, name), _tsv(rows, columns, sep))
    for name, frame in report.frames.items():
        write_text(os.path.join(report_dir, name), frame.to_csv(lineterminator="\n"))
    figures = report_plots.write_figures(report_dir, report.plot_data, report.skipped)
    report.summary["skipped"] = list(report.skipped)
    report.summary["figures"] = sorted(figures)
    report.summary["tables"] = sorted(list(report.tables) + list(report.frames))
    write_json(os.path.join(report_dir, "summary.json"), report.summary)
    write_text(os.path.join(report_dir, "index.html"), render_html(report, figures))
    return report_dir


# ---------------------------------------------------------------------------
# HTML page
# ---------------------------------------------------------------------------

#: What each table holds, shown on the page next to its link.
TABLE_CAPTIONS = {
    "superevents.tsv": "one row per superevent: outcome, latency, 50%/90% areas",
    "injections.tsv": "one row per injection: ligo-skymap-stats columns",
    "outcomes.tsv": "one row per truth source: expected vs got",
    "dq_confusion.csv": "DQ outcome, expected (rows) vs got (columns)",
    "inj_confusion.csv": "INJ label, expected (rows) vs got (columns)",
    "classification.tsv": "p_astro and source classification per superevent",
    "classification_by_class.csv": "mean and median per true class",
    "summary.json": "the figures of this page, machine-readable",
}
#: Tables with at most this many rows are also shown on the page.
INLINE_MAX_ROWS = 50
#: Columns of superevents.tsv shown on the page.
INLINE_SUPEREVENT_COLUMNS = (
    "superevent_id",
    "preferred_event",
    "truth_class",
    "dq",
    "labels",
    "status",
    "latency",
    "area(90)",
)
#: Wording of the outcome counts of summary.json on the page.
OUTCOME_WORDS = {
    "superevent": "superevent formed (or not) as expected",
    "dq": "DQ outcome as expected",
    "vetoed": "vetoed as expected",
    "inj": "INJ label as expected",
    "preferred": "preferred event at the orchestrator timeout as expected",
    "final_preferred": "final preferred event as expected",
}


def _html_table(frame, index=False):
    return frame.to_html(index=index, na_rep="", float_format=lambda x: f"{x:.4g}")


def _summary_items(summary):
    """The summary.json figures as sentences."""
    items = [f"superevents: {summary['superevents']}"]
    items += [f"{status}: {n}" for status, n in summary["status"].items()]
    injections = summary["injections"]
    if injections["total"]:
        items.append(
            f"injections: {injections['total']}, matched to a superevent: "
            f"{injections['with_superevent']}, "
            f"with a sky map: {injections['with_skymap']}"
        )
    ks = summary["ks_searched_prob"]
    if ks["pvalue"] is not None:
        items.append(
            f"KS test of searched probability against U(0,1): n = {ks['n']}, "
            f"D = {ks['statistic']:.3f}, p = {ks['pvalue']:.3g}"
        )
    latency = summary["latency"]
    if latency["n"]:
        items.append(
            f"alert latency (notice_time - t_0): median {latency['median']:.1f} s, "
            f"max {latency['max']:.1f} s over {latency['n']} notices"
        )
    outcomes = summary.get("outcomes", {})
    for key, words in OUTCOME_WORDS.items():
        if key in outcomes:
            counts = outcomes[key]
            items.append(f"{words}: {counts['correct']} / {counts['n']}")
    return items


def _frame(report, name):
    import pandas as pd

    if name in report.frames:
        return report.frames[name]
    if name in report.tables:
        rows, columns = report.tables[name]
        return pd.DataFrame(rows, columns=columns)
    return None


def _inline_sections(report):
    """(heading, html) of the tables shown on the page."""
    sections = []
    superevents = _frame(report, "superevents.tsv")
    if superevents is not None and 0 < len(superevents) <= INLINE_MAX_ROWS:
        sections.append(
            ("Superevents", _html_table(superevents[list(INLINE_SUPEREVENT_COLUMNS)]))
        )
    for name in ("dq_confusion.csv", "inj_confusion.csv"):
        frame = _frame(report, name)
        if frame is not None:
            sections.append((TABLE_CAPTIONS[name], _html_table(frame, index=True)))
    outcomes = _frame(report, "outcomes.tsv")
    if outcomes is not None and len(outcomes):
        checks = [c for c in outcomes.columns if c.endswith("_correct")]
        wrong = outcomes[~outcomes[checks].all(axis=1)]
        if len(wrong) == 0:
            body = "<p>Every outcome agrees with truth.json.</p>"
        elif len(wrong) <= INLINE_MAX_ROWS:
            body = _html_table(wrong)
        else:
            body = f"<p>{len(wrong)} truth sources: see outcomes.tsv.</p>"
        sections.append(("Outcomes that differ from truth.json", body))
    by_class = _frame(report, "classification_by_class.csv")
    if by_class is not None and len(by_class):
        pivot = by_class.pivot(
            index="quantity", columns="truth_class", values=["mean", "median"]
        )
        pivot = pivot.swaplevel(axis=1).sort_index(axis=1)
        sections.append(
            (
                "p_astro and source classification per true class",
                _html_table(pivot, True),
            )
        )
    return sections


def render_html(report, figures):
    """The page: summary, figures, linked tables, small tables inline, skips.

    Everything is relative links to files beside it; no date or version is
    written, so the page is byte-for-byte reproducible.
    """
    esc = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>gwreplay report</title>",
        "<style>body{font-family:sans-serif;max-width:72em;margin:auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #999;padding:2px 6px}"
        "img{max-width:100%}</style>",
        "</head><body>",
        "<h1>gwreplay report</h1>",
        "<h2>Summary</h2><ul>",
    ]
    parts += [f"<li>{esc(item)}</li>" for item in _summary_items(report.summary)]
    parts.append("</ul>")
    if figures:
        parts.append("<h2>Figures</h2>")
        for name, caption in figures.items():
            parts.append(
                f'<figure><a href="{esc(name)}"><img src="{esc(name)}" '
                f'alt="{esc(caption)}"></a><figcaption>{esc(caption)}</figcaption>'
                "</figure>"
            )
    names = sorted(list(report.tables) + list(report.frames)) + ["summary.json"]
    parts.append("<h2>Tables</h2><ul>")
    for name in names:
        caption = TABLE_CAPTIONS.get(name, "")
        parts.append(f'<li><a href="{esc(name)}">{esc(name)}</a>: {esc(caption)}</li>')
    parts.append("</ul>")
    for heading, body in _inline_sections(report):
        parts += [f"<h3>{esc(heading)}</h3>", body]
    if report.skipped:
        parts.append("<h2>Skipped</h2><ul>")
        parts += [f"<li>{esc(item)}</li>" for item in report.skipped]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def build_parser(parser):
    """Arguments of ``gwreplay report``."""
    parser.add_argument("results", metavar="RESULTS", help="results folder of a replay")
    parser.add_argument(
        "--store",
        metavar="STORE",
        help="the replayed store: truth.json and injections.xml of an MDC",
    )


def main(args):
    """Write the report; print where it is and what was skipped."""
    if not os.path.isdir(args.results):
        print(f"gwreplay report: {args.results}: no such results folder")
        return 1
    report_dir = write_report(args.results, store=args.store)
    with open(os.path.join(report_dir, "summary.json"), encoding="utf-8") as f:
        summary = json.load(f)
    for item in summary["skipped"]:
        print(f"gwreplay report: skipped: {item}")
    print(os.path.join(report_dir, "index.html"))
    return 0


__all__ = [
    "build_parser",
    "build_report",
    "confusion_table",
    "ks_uniform",
    "load_results",
    "main",
    "read_injections",
    "read_truth",
    "skymap_statistics",
    "write_report",
]
