"""Simulation of one slot: its source (if any) and the candidates it yields.

For a source, each of the slot's CBC pipelines realises it independently
(:func:`gwreplay.mdc.detection.realize`) and uploads a candidate when the
FAR of its network SNR is below ``mdc_upload_far_threshold``; cWB may find it
too (:mod:`gwreplay.mdc.bursts`). The source is drawn again until the slot's
scenario is met: at least one candidate passes ``superevent_far_threshold``
(two for a late-upload slot, plus a significant cWB candidate for a burst
slot). Draws that no pipeline finds are the MDC's missed injections; they
are not kept, so the store holds the found set.

A noise slot holds one candidate with a FAR drawn near the threshold; a CBC
noise trigger is an SNR realisation of a random template whose expected
network SNR matches that FAR, as a loud noise fluctuation would.

Upload times follow each pipeline's latency; in a late-upload slot the
loudest candidate lands ``mdc_late_upload_delay`` after the orchestrator
timeout of the first significant upload, so the preferred event at the
timeout differs from the final one.
"""

import contextlib
import functools
import logging

import numpy as np

from . import background, bursts, detection, dqplan, early_warning, o4plan, pastro, psd
from .injections import sim_inspiral_row
from .population import SOURCE_CLASSES, draw_source
from .schedule import BURST_PIPELINE

#: Draws of a source before giving up on a slot's scenario.
MAX_ATTEMPTS = 500


@contextlib.contextmanager
def quiet_bayestar():
    """Silence ligo.skymap's per-call PSD warnings while simulating."""
    logger = logging.getLogger("BAYESTAR")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@functools.lru_cache(maxsize=8)
def _interpolated_psds(detectors, models, df, f_max):
    series = psd.model_psds(detectors, dict(models), df, f_max)
    return psd.interpolated_psds(series)


def simulation_psds(conf):
    """BAYESTAR PSD interpolants of the configured detectors (cached)."""
    return _interpolated_psds(
        tuple(conf["mdc_detectors"]),
        tuple(sorted(conf["mdc_psd_models"].items())),
        conf["mdc_psd_df"],
        conf["mdc_psd_f_max"],
    )


def _seed(rng):
    """A 32-bit seed for NumPy's legacy generator (bayestar-realize-coincs)."""
    return int(rng.integers(0, 2**32 - 1))


def _cbc_far(snr, conf):
    return background.far_from_snr(
        snr, conf["mdc_cbc_snr_at_far_threshold"], conf["superevent_far_threshold"]
    )


def _template(source):
    return {key: source[key] for key in ("mass1", "mass2", "spin1z", "spin2z")}


def _cbc_candidate(rng, pipeline, realization, template, far, conf):
    snr = realization.network_snr
    return {
        "pipeline": pipeline,
        "group": "CBC",
        "realization": realization,
        "template": template,
        "template_id": int(rng.integers(0, 1_000_000)),
        "snr": snr,
        "far": far,
        "lnl": background.ln_likelihood_ratio(snr, conf["mdc_lnl_offset"]),
        "instruments": realization.instruments,
        "gpstime": float(realization.end_time),
    }


def _burst_candidate(burst):
    return {
        "pipeline": BURST_PIPELINE,
        "group": "Burst",
        "burst": burst,
        "snr": burst["snr"],
        "far": burst["far"],
        "instruments": burst["instruments"],
        "gpstime": burst["gpstime"],
    }


def _detectors(slot, conf):
    return [ifo for ifo in conf["mdc_detectors"] if ifo != slot["excluded_detector"]]


def _try_source(rng, slot, conf, psds, detectors):
    """Draw a source and its candidates; None unless the scenario is met."""
    min_mass = conf["mdc_burst_min_total_mass"] if slot["burst"] else None
    source = draw_source(rng, slot["class"], slot["t_geocent"], conf, min_mass)
    row = sim_inspiral_row(source, conf)
    candidates = []
    for pipeline in slot["pipelines"]:
        realization = detection.realize(row, _seed(rng), psds, detectors, conf)
        if realization is None:
            continue
        far = _cbc_far(realization.network_snr, conf)
        if far <= conf["mdc_upload_far_threshold"]:
            candidates.append(
                _cbc_candidate(rng, pipeline, realization, _template(source), far, conf)
            )
    threshold = conf["superevent_far_threshold"]
    significant = [c for c in candidates if c["far"] <= threshold]
    if len(significant) < (2 if slot["late"] else 1):
        return None
    if slot["burst"]:
        loudest = max(significant, key=lambda c: c["snr"])
        burst = bursts.burst_from_source(
            rng, source, loudest["snr"], loudest["instruments"], conf
        )
        if burst["far"] > threshold:
            return None
        candidates.append(_burst_candidate(burst))
    if slot.get("early_warning"):
        found = early_warning.realize(rng, slot, row, _seed(rng), psds, detectors, conf)
        if found is None:
            return None
        realization, far = found
        pipeline = slot["early_warning"]["pipeline"]
        candidate = _cbc_candidate(
            rng, pipeline, realization, _template(source), far, conf
        )
        candidates.append(early_warning.mark(candidate, slot))
    return source, candidates


def _noise_cbc(rng, slot, conf, psds, detectors, far):
    """A CBC noise trigger: a random template realised at the SNR of ``far``."""
    snr = background.snr_from_far(
        far, conf["mdc_cbc_snr_at_far_threshold"], conf["superevent_far_threshold"]
    )
    template_class = SOURCE_CLASSES[int(rng.integers(len(SOURCE_CLASSES)))]
    for _ in range(MAX_ATTEMPTS):
        fake = draw_source(rng, template_class, slot["t_geocent"], conf)
        row = sim_inspiral_row(fake, conf)
        expected = detection.expected_network_snr(row, psds, detectors, conf)
        row.distance = fake["distance"] * expected / snr
        realization = detection.realize(row, _seed(rng), psds, detectors, conf)
        if realization is not None:
            candidate = _cbc_candidate(
                rng, slot["pipelines"][0], realization, _template(fake), far, conf
            )
            candidate["lnl"] = background.ln_likelihood_ratio(
                snr, conf["mdc_lnl_offset"]
            )
            return candidate
    raise RuntimeError(f"slot {slot['index']}: no noise trigger after many draws")


def _noise_candidate(rng, slot, conf, psds, detectors):
    threshold = conf["superevent_far_threshold"]
    far_range = conf[
        "mdc_noise_far_below" if slot["significant"] else "mdc_noise_far_above"
    ]
    if slot.get("less_significant"):
        far = o4plan.less_significant_far(rng, conf)
    else:
        far = float(rng.uniform(*far_range)) * threshold
    if slot["pipelines"][0] == BURST_PIPELINE:
        gpstime = slot["t_geocent"]
        return _burst_candidate(bursts.noise_burst(rng, gpstime, far, detectors, conf))
    return _noise_cbc(rng, slot, conf, psds, detectors, far)


def _latency(rng, pipeline, conf):
    low, high = conf["mdc_pipeline_latency"][pipeline]
    return float(rng.uniform(low, high))


def _significant(candidates, conf):
    return [c for c in candidates if c["far"] <= conf["superevent_far_threshold"]]


def assign_upload_times(rng, slot, candidates, conf):
    """Set each candidate's ``created`` (GPS, ms) from its pipeline's latency.

    In a late-upload slot the loudest significant CBC candidate arrives after
    the orchestrator timeout; no significant upload lands within
    ``mdc_timeout_guard`` of the timeout, so the state at the timeout is
    unambiguous.
    """
    for candidate in candidates:
        candidate["created"] = slot["t_geocent"] + _latency(
            rng, candidate["pipeline"], conf
        )
    significant = _significant(candidates, conf)
    timeout = conf["orchestrator_timeout"]
    if slot["late"]:
        cbc = [c for c in significant if c["group"] == "CBC"]
        loudest = max(cbc, key=lambda c: c["snr"])
        first = min(c["created"] for c in significant if c is not loudest)
        loudest["created"] = (
            first + timeout + rng.uniform(*conf["mdc_late_upload_delay"])
        )
    if significant:
        first = min(c["created"] for c in significant)
        deadline = first + timeout
        guard = conf["mdc_timeout_guard"]
        for candidate in significant:
            if abs(candidate["created"] - deadline) < guard:
                candidate["created"] = deadline + guard
    for candidate in candidates:
        candidate["created"] = round(candidate["created"], 3)


def assign_file_times(rng, candidates, conf):
    """Upload time of each file of each candidate (``uploads`` in event.json)."""
    for candidate in candidates:
        created = candidate["created"]
        files = {}
        if candidate["group"] == "CBC":
            files["coinc.xml"] = created
            if not conf["mdc_psd_in_coinc"].get(candidate["pipeline"], False):
                files["psd.xml.gz"] = None
            if candidate["pipeline"] == "gstlal":
                files["ranking_data.xml.gz"] = None
        else:
            files["skyprobcc_cWB.fits"] = None
        for name in sorted(files):
            if files[name] is None:
                files[name] = round(created + rng.uniform(*conf["mdc_file_delay"]), 3)
        candidate["uploads"] = files


def finish_o4(rng, slot, source, candidates, conf):
    """O4 era: each candidate's search, early-warning upload times, O4 files."""
    for candidate in candidates:
        if candidate.get("search") == o4plan.EARLY_WARNING_SEARCH:
            early_warning.set_upload_time(rng, candidate, source, conf)
        elif candidate["group"] == "Burst":
            candidate["search"] = slot["burst_search"]
        else:
            candidate["search"] = "AllSky"


def simulate_slot(slot, conf):
    """Simulate one slot: ``{"slot", "source", "candidates", "dq_plan"}``.

    Depends only on the slot (its seed) and ``conf``, so slots may run in
    parallel processes.
    """
    rng = np.random.default_rng(np.random.SeedSequence(slot["seed"]))
    detectors = _detectors(slot, conf)
    with quiet_bayestar():
        psds = simulation_psds(conf)
        if slot["kind"] == "source":
            source_conf = early_warning.source_conf(slot, conf)
            for _ in range(MAX_ATTEMPTS):
                found = _try_source(rng, slot, source_conf, psds, detectors)
                if found is not None:
                    break
            else:
                raise RuntimeError(
                    f"slot {slot['index']}: no {slot['class']} source met its "
                    f"scenario in {MAX_ATTEMPTS} draws; widen mdc_max_distance"
                )
            source, candidates = found
        else:
            source, candidates = (
                None,
                [_noise_candidate(rng, slot, conf, psds, detectors)],
            )
    regular = [c for c in candidates if c.get("search") != o4plan.EARLY_WARNING_SEARCH]
    assign_upload_times(rng, slot, regular, conf)
    o4 = slot.get("era") == "O4"
    if o4:
        finish_o4(rng, slot, source, candidates, conf)
    assign_file_times(rng, candidates, conf)
    if o4:
        pastro.add_o4_uploads(rng, candidates, conf)
    plan = dqplan.plan_dq(rng, slot, candidates, conf)
    return {"slot": slot, "source": source, "candidates": candidates, "dq_plan": plan}
