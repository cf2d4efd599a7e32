"""The "stock" p_astro gwcelery 3.0.0 computes for pipelines that upload none.

In O4 the search pipelines upload their own ``<pipeline>.p_astro.json``; for
three (pipeline, search) pairs gwcelery 3.0.0 computes one itself and uploads
it under that name (``gwcelery/tasks/orchestrator.py``,
``handle_match_filter_cbc_event``, ``pipelines_stock_p_astro``): SPIIR and
PyCBC EarlyWarning, and gstlal MDC (the periodic mock-data challenge).
:data:`STOCK_P_ASTRO` is that set; :func:`computes_stock_p_astro` says which
events of a store get one.

The computation is gwcelery 3.0.0's ``tasks/p_astro.py`` ``compute_p_astro``:
the FAR/SNR ("toy model") Bayes factor of Kapadia et al. (2019), "A
self-consistent method to estimate the rate of compact binary coalescences
with a Poisson mixture model", Class. Quantum Grav. 37 045007 (2020),
doi:10.1088/1361-6382/ab5f2d, on the ``p-astro`` package. Its steps, each a
function of ``ligo.p_astro.computation`` called here as gwcelery calls it:

1. ``choose_snr`` caps the SNR of a PyCBC or SPIIR event with FAR below the
   pipeline's FAR threshold for its detector combination at the SNR threshold
   (p-astro's ``H1L1V1-pipeline-far_snr-thresholds.json``); a gstlal SNR is
   kept;
2. ``get_f_over_b``: f/b = (3 snr_star**3 / snr**4) / (far / far_star) with
   snr_star = 8.5 and far_star = 1/(30 days) (:data:`SNR_STAR`,
   :data:`FAR_STAR`, literals in gwcelery 3.0.0's function; gwcelery writes
   the same two lines inline);
3. ``evaluate_p_astro_from_bayesfac`` splits f/b over BNS, NSBH and BBH by
   mass cuts (``make_weights_from_hardcuts``, since no template weights are
   passed) with the mean Poisson counts of
   ``H1L1V1-mean_counts-1126051217-61603201.json``, whose
   ``counts_Terrestrial`` is replaced by far_star times the livetime of
   ``p_astro_livetime.json``.

The three data files are read from ``ligo.p_astro.data``, as gwcelery 3.0.0
reads them (not from gwreplay's O3 ``p_astro_*_url`` settings). These
functions of p-astro 1.0.2 use no ``np.trapz`` (only the gstlal ranking
statistic does, see :mod:`gwreplay.p_astro_compat`), so they run unchanged on
numpy 2.4.

The inputs are the event's, as gwcelery's handler takes them from the new
event: ``CoincInspiral.snr`` (:func:`gwreplay.policies.o4.get_snr`), ``far``,
``mass1`` and ``mass2`` of the first ``SingleInspiral`` row, and the
detectors in the ranking statistic (the ``SingleInspiral`` rows with a
chi-squared; :func:`gwreplay.superevents.get_instruments`, which is
gwcelery's ``get_instruments_in_ranking_statistic``). Where gwcelery's
handler or ``compute_p_astro`` would fail, so that it uploads nothing, and
where an input is unphysical, :class:`~gwreplay.errors.EventInputError` is
raised (see :func:`stock_p_astro_inputs`).
"""

import functools
import json
import math
from importlib import resources
from typing import NamedTuple

from ligo.p_astro import computation

from .atomic import write_json
from .errors import EventInputError, InvalidIdError
from .policies.o4 import UnrankableEvent, get_snr
from .products import STOCK_P_ASTRO, computes_stock_p_astro  # noqa: F401
from .products import lower_field as _lower
from .store import load_event_json
from .superevents import get_instruments

#: Threshold SNR and FAR (Hz) of the FAR/SNR Bayes factor: literals of
#: gwcelery 3.0.0's ``compute_p_astro``.
SNR_STAR = 8.5
FAR_STAR = 1 / (30 * 86400)

#: p-astro's data files that gwcelery 3.0.0 reads (``MEAN_VALUES_DICT``,
#: ``THRESHOLDS_DICT``, ``P_ASTRO_LIVETIME`` of ``tasks/p_astro.py``).
DATA_PACKAGE = "ligo.p_astro.data"
MEAN_COUNTS_FILE = "H1L1V1-mean_counts-1126051217-61603201.json"
THRESHOLDS_FILE = "H1L1V1-pipeline-far_snr-thresholds.json"
LIVETIME_FILE = "p_astro_livetime.json"

#: The classes of the result, in p-astro's order.
CLASSES = ("BNS", "NSBH", "BBH", "Terrestrial")


class StockInputs(NamedTuple):
    """The arguments of gwcelery 3.0.0's ``compute_p_astro``, from one event."""

    snr: float
    far: float
    mass1: float
    mass2: float
    #: Lower case, as gwcelery passes it.
    pipeline: str
    #: Detectors in the ranking statistic.
    instruments: frozenset


def _refuse(event, reason):
    return EventInputError(event.get("graceid", "?"), "event.json", reason)


def _positive(event, value, what):
    """``value`` if it is a finite real number > 0 (JSON's, not a bool)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise _refuse(event, f"{what} is {value!r}, not a finite number > 0")
    return value


def _first_single(event):
    """The first SingleInspiral row (with the keys gwcelery's handler reads)."""
    extra = event.get("extra_attributes")
    singles = extra.get("SingleInspiral") if isinstance(extra, dict) else None
    if not isinstance(singles, list) or not singles:
        raise _refuse(event, "no extra_attributes.SingleInspiral rows")
    if not all(isinstance(single, dict) for single in singles):
        raise _refuse(event, "a SingleInspiral row is not an object")
    # handle_match_filter_cbc_event reads the spins (and CoincInspiral.mchirp)
    # for em_bright before it starts the p_astro task: without them it stops.
    first = singles[0]
    for key in ("mass1", "mass2", "spin1z", "spin2z"):
        if key not in first:
            raise _refuse(event, f"no {key} in the first SingleInspiral row")
    coinc = extra.get("CoincInspiral")
    if not isinstance(coinc, dict) or "mchirp" not in coinc:
        raise _refuse(event, "no extra_attributes.CoincInspiral.mchirp")
    return first


@functools.cache
def _data_file(name):
    """One JSON file of ``ligo.p_astro.data``, read once."""
    return json.loads(resources.files(DATA_PACKAGE).joinpath(name).read_text())


def _instruments(event, inputs_pipeline):
    instruments = get_instruments(event)
    if None in instruments:
        raise _refuse(event, "a SingleInspiral row with a chisq has no ifo")
    if inputs_pipeline != "gstlal":  # choose_snr reads the thresholds table
        combination = ",".join(sorted(instruments))
        if combination not in _data_file(THRESHOLDS_FILE).get(inputs_pipeline, {}):
            raise _refuse(
                event,
                f"p-astro has no FAR/SNR threshold for {inputs_pipeline} with "
                f"detectors {combination!r} in the ranking statistic",
            )
    return frozenset(instruments)


def stock_p_astro_inputs(event):
    """The :class:`StockInputs` of an event that :func:`computes_stock_p_astro`.

    Raises :class:`EventInputError` for an event that gets no stock p_astro,
    and where gwcelery 3.0.0 gets none either: a missing ``SingleInspiral``
    table (or its first row's ``mass1``, ``mass2``, ``spin1z``, ``spin2z``),
    no ``CoincInspiral.snr`` or ``mchirp``, ``far`` <= 0 (gwcelery divides by
    it), a detector combination p-astro has no FAR/SNR threshold for (PyCBC,
    SPIIR: K1, or no ``SingleInspiral`` row with a chi-squared). Also refused,
    where gwcelery would compute a number from them: an SNR or a mass that is
    not a finite number > 0. Values are passed on as the JSON has them.
    """
    if not computes_stock_p_astro(event):
        raise _refuse(
            event,
            "gwcelery 3.0.0 computes no stock p_astro for group "
            f"{event.get('group')!r}, pipeline {event.get('pipeline')!r}, "
            f"search {event.get('search')!r}",
        )
    first = _first_single(event)
    try:
        snr = get_snr(event)
    except UnrankableEvent:
        raise _refuse(event, "no extra_attributes.CoincInspiral.snr") from None
    pipeline = _lower(event, "pipeline")
    return StockInputs(
        snr=_positive(event, snr, "CoincInspiral.snr"),
        far=_positive(event, event.get("far"), "far"),
        mass1=_positive(event, first["mass1"], "SingleInspiral[0].mass1"),
        mass2=_positive(event, first["mass2"], "SingleInspiral[0].mass2"),
        pipeline=pipeline,
        instruments=_instruments(event, pipeline),
    )


def compute_stock_p_astro(inputs):
    """``{class: probability}`` of :data:`CLASSES` for :class:`StockInputs`.

    gwcelery 3.0.0's ``compute_p_astro(snr, far, mass1, mass2, pipeline,
    instruments)``, through p-astro's ``choose_snr``, ``get_f_over_b`` and
    ``evaluate_p_astro_from_bayesfac``; the values as plain floats.
    """
    snr = computation.choose_snr(
        inputs.far,
        inputs.snr,
        inputs.pipeline,
        set(inputs.instruments),
        _data_file(THRESHOLDS_FILE),
    )
    astro_bayesfac = computation.get_f_over_b(inputs.far, snr, FAR_STAR, SNR_STAR)
    mean_values = dict(_data_file(MEAN_COUNTS_FILE))
    mean_values["counts_Terrestrial"] = (
        FAR_STAR * _data_file(LIVETIME_FILE)["p_astro_livetime"]
    )
    values = computation.evaluate_p_astro_from_bayesfac(
        astro_bayesfac, mean_values, inputs.mass1, inputs.mass2
    )
    return {key: float(value) for key, value in values.items()}


def stock_p_astro(event):
    """The stock p_astro of one store event: ``{class: probability}``.

    :func:`stock_p_astro_inputs` then :func:`compute_stock_p_astro`; raises
    :class:`EventInputError` for an event without one, or whose result is not
    a finite number (an SNR or FAR so extreme that f/b overflows).
    """
    inputs = stock_p_astro_inputs(event)
    probabilities = compute_stock_p_astro(inputs)
    if not all(math.isfinite(value) for value in probabilities.values()):
        raise _refuse(
            event,
            f"p_astro {probabilities!r} is not finite (snr {inputs.snr!r}, "
            f"far {inputs.far!r})",
        )
    return probabilities


def write_stock_p_astro(graceid, event_json_path, out_path):
    """Write ``<pipeline>.p_astro.json`` of ``graceid`` to ``out_path``.

    Reads the store's ``event.json`` with :func:`gwreplay.store.load_event_json`
    and writes :func:`stock_p_astro` as canonical JSON, atomically. Returns the
    probabilities. A missing or bad ``event.json``, an event that is not
    ``graceid``, or one without a stock p_astro raises :class:`EventInputError`.
    """
    try:
        event = load_event_json(event_json_path)
    except EventInputError as exc:
        raise EventInputError(graceid, exc.filename, exc.reason) from exc
    except InvalidIdError as exc:  # the folder is not named by a GraceID
        raise EventInputError(graceid, "event.json", str(exc)) from exc
    if event["graceid"] != graceid:
        raise EventInputError(
            graceid, "event.json", f"holds event {event['graceid']!r}, not {graceid!r}"
        )
    try:
        probabilities = stock_p_astro(event)
    except EventInputError as exc:
        raise EventInputError(graceid, "event.json", exc.reason) from exc
    write_json(out_path, probabilities)
    return probabilities
