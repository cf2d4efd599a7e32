"""The MDC's time line: one slot per candidate, each with its scenario.

A slot is a stretch of ``mdc_spacing`` seconds holding one candidate: an
astrophysical source, a significant noise candidate (FAR just below
``superevent_far_threshold``, so it forms a superevent) or a sub-threshold
one (ignored by the superevent manager). Candidates sit near the middle of
their slot, so superevents never overlap.

The slot plan fixes, before anything is simulated, which scenario each slot
exercises: the source class and searching pipelines, a louder upload after
the orchestrator timeout, a cWB detection, and the data-quality branch
(a vetoing bad bit, a hardware injection, a bad bit in a detector that did
not take part, or no frames at all). Every scenario gets at least one slot
when there are enough superevents (six or more with the default fractions),
so even the small default MDC covers every branch.

Each slot also gets its own seed: everything random about a slot is drawn
from a generator seeded by it, so slots can be simulated in any order or in
parallel and the store stays the same.
"""

import math

import numpy as np

from .population import allocate_classes

BURST_PIPELINE = "CWB"
DQ_KINDS = ("veto", "inj", "other_detector", "no_frames")


def slot_counts(n_superevents, conf):
    """Numbers of sources, significant and sub-threshold noise candidates."""
    if n_superevents < 1:
        raise ValueError("an MDC needs at least one superevent")
    if n_superevents < 4:
        n_noise = min(1, n_superevents - 1)
    else:
        n_noise = max(2, round(conf["mdc_noise_fraction"] * n_superevents))
    n_subthreshold = max(
        1, round(conf["mdc_subthreshold_noise_fraction"] * n_superevents)
    )
    return n_superevents - n_noise, n_noise, n_subthreshold


def _choose(rng, candidates, count):
    """``count`` distinct items of ``candidates`` (all of them if fewer)."""
    candidates = list(candidates)
    count = min(count, len(candidates))
    if count <= 0:
        return []
    picks = rng.choice(len(candidates), size=count, replace=False)
    return [candidates[i] for i in sorted(picks)]


def _source_slot(rng, source_class, conf):
    weights = np.asarray(conf["mdc_pipeline_count_weights"], dtype=float)
    count = 1 + int(rng.choice(len(weights), p=weights / weights.sum()))
    pipelines = conf["mdc_cbc_pipelines"]
    count = min(count, len(pipelines))
    return {
        "kind": "source",
        "class": source_class,
        "significant": True,
        "pipelines": _choose(rng, pipelines, count),
        "late": False,
        "burst": False,
    }


def _mark_late(rng, sources, conf):
    """Give a share of sources (at least one) a louder upload after the timeout."""
    pipelines = conf["mdc_cbc_pipelines"]
    if len(pipelines) < 2:
        return
    count = max(1, round(conf["mdc_late_upload_fraction"] * len(sources)))
    for slot in _choose(rng, sources, count):
        slot["late"] = True
        if len(slot["pipelines"]) < 2:
            extra = [p for p in pipelines if p not in slot["pipelines"]]
            slot["pipelines"] = sorted(
                slot["pipelines"] + _choose(rng, extra, 1), key=pipelines.index
            )


def _mark_bursts(rng, sources, conf):
    """Let cWB see a share of the BBH sources (at least one when there is a BBH)."""
    bbh = [slot for slot in sources if slot["class"] == "BBH"]
    if not bbh or conf["mdc_burst_fraction"] <= 0:
        return
    count = max(1, math.ceil(conf["mdc_burst_fraction"] * len(bbh)))
    for slot in _choose(rng, bbh, count):
        slot["burst"] = True


def _ensure_gstlal(sources, conf):
    """Make sure some source is found by gstlal (whose uploads carry ranking data)."""
    pipelines = conf["mdc_cbc_pipelines"]
    if "gstlal" not in pipelines or not sources:
        return
    if any("gstlal" in slot["pipelines"] for slot in sources):
        return
    slot = next((s for s in sources if s["late"]), sources[0])
    slot["pipelines"] = sorted(["gstlal"] + slot["pipelines"][1:], key=pipelines.index)


def _noise_slots(rng, n_noise, n_subthreshold, conf):
    """Noise candidates: the first significant one from gstlal, the second cWB."""
    choices = list(conf["mdc_cbc_pipelines"]) + [BURST_PIPELINE]
    slots = []
    for i in range(n_noise + n_subthreshold):
        significant = i < n_noise
        if significant and i == 0 and "gstlal" in choices:
            pipeline = "gstlal"
        elif significant and i == 1:
            pipeline = BURST_PIPELINE
        else:
            pipeline = choices[int(rng.integers(len(choices)))]
        slots.append(
            {
                "kind": "noise",
                "class": "Terrestrial",
                "significant": significant,
                "pipelines": [pipeline],
                "late": False,
                "burst": pipeline == BURST_PIPELINE,
            }
        )
    return slots


def _assign_dq(rng, slots, n_superevents, conf):
    """Give each DQ branch its share of superevent slots (at least one each)."""
    detectors = conf["mdc_detectors"]
    for slot in slots:
        slot["dq"] = "clean"
        slot["excluded_detector"] = None
    eligible = [slot for slot in slots if slot["significant"]]
    order = [eligible[i] for i in rng.permutation(len(eligible))]
    for kind in DQ_KINDS:
        if kind == "other_detector" and len(detectors) < 3:
            continue  # the remaining detectors could not form a coincidence
        count = max(1, round(conf["mdc_dq_fractions"][kind] * n_superevents))
        while count and order:
            slot = order.pop()
            slot["dq"] = kind
            if kind == "other_detector":
                slot["excluded_detector"] = detectors[int(rng.integers(len(detectors)))]
            count -= 1


def plan_slots(n_superevents, seed, conf):
    """The list of slots of an MDC of ``n_superevents`` superevents.

    Each slot is a dict: kind ("source" or "noise"), class, significant,
    pipelines, late, burst, dq, excluded_detector, index, t_geocent, seed.
    """
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    n_sources, n_noise, n_subthreshold = slot_counts(n_superevents, conf)
    classes = allocate_classes(n_sources, conf["mdc_mix"])
    classes = [classes[i] for i in rng.permutation(len(classes))]
    sources = [_source_slot(rng, source_class, conf) for source_class in classes]
    _mark_late(rng, sources, conf)
    _mark_bursts(rng, sources, conf)
    _ensure_gstlal(sources, conf)
    slots = sources + _noise_slots(rng, n_noise, n_subthreshold, conf)
    _assign_dq(rng, slots, n_superevents, conf)
    slots = [slots[i] for i in rng.permutation(len(slots))]
    spacing = conf["mdc_spacing"]
    for index, slot in enumerate(slots):
        slot["index"] = index
        offset = spacing * (index + 0.5 + rng.uniform(-0.25, 0.25))
        slot["t_geocent"] = round(conf["mdc_start_gps"] + offset, 3)
        slot["seed"] = int(rng.integers(2**63))
    return slots
