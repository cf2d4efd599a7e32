"""Reading a replay's results folder and an MDC store's truth and injections.

The results are read as the workflow writes them (``superevent.json``,
``dq.json``, ``alert.json`` per superevent, ``alerts.csv`` when a folder is
gone); the truth is ``truth.json`` of :mod:`gwreplay.mdc` and the
``sim_inspiral`` table of ``injections.xml`` (docs/report.md, "Truth and
injection files").
"""

import csv
import json
import math
import os
from dataclasses import dataclass, field

from ..errors import InvalidIdError
from ..ids import validate_graceid, validate_superevent_id
from ..products import BURST_SKYMAPS, O4_SKYMAPS, STOCK_P_ASTRO, pipeline_p_astro
from ..summary import alert_status

#: Name of the report folder inside RESULTS.
REPORT_DIR = "report"
#: Sky-map file names gwreplay knows, in order of preference.
SKYMAP_NAMES = (
    "bayestar.multiorder.fits",
    "bayestar.fits.gz",
    *O4_SKYMAPS.values(),
    *BURST_SKYMAPS.values(),
)
#: Where an alert's annotations are, in order of preference: the copy in the
#: superevent's folder (2018, O3), then the preferred event's result (O3
#: name, O4 name), then the pipeline's own upload (O4).
ANNOTATION_NAMES = {
    "source_classification": (
        "source_classification.json",
        ("source_classification.json", "em_bright.json"),
    ),
    "p_astro": ("p_astro.json", ("p_astro_gstlal.json",)),
}
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

    def _first(self, root, graceid, names):
        for name in names:
            path = self._existing(root, "events", graceid, name)
            if path:
                return path
        return None

    def _pipeline_p_astro(self, graceid):
        """O4: the stock p_astro gwcelery computed, else the pipeline's upload
        (:func:`gwreplay.products.pipeline_p_astro`)."""
        stock = [f"{pipeline}.p_astro.json" for pipeline, _ in sorted(STOCK_P_ASTRO)]
        path = self._first(self.results, graceid, stock)
        if path or not self.store:
            return path
        folder = os.path.join(self.store, "events", graceid)
        try:
            with open(os.path.join(folder, "event.json"), encoding="utf-8") as f:
                event = dict(json.load(f), files=os.listdir(folder))
            event.setdefault("search", "AllSky")
            name = pipeline_p_astro(event)
        except (OSError, ValueError, KeyError, TypeError):
            return None
        return os.path.join(folder, name) if name else None

    def annotation(self, superevent, kind):
        """``source_classification`` or ``p_astro`` dict of the alert, or None."""
        copy, results_names = ANNOTATION_NAMES[kind]
        sid = superevent.superevent_id
        path = self._existing(self.results, "superevents", sid, copy)
        graceid = superevent.preferred_event
        if path is None and graceid:
            path = self._first(self.results, graceid, results_names)
        if path is None and graceid and kind == "p_astro":
            path = self._pipeline_p_astro(graceid)
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

    from ..xmlguard import screen_upload

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
