"""Seeded generator of GraceDB-shaped event sets for the decision oracle.

Each set is what a superevent could hold in O4: events of the CBC, Burst,
Test (and now and then External) groups, from the pipelines and searches
gwcelery 3.0.0 names, with FARs spread over and placed exactly on its
thresholds, SNRs with ties, instrument sets with K1 and single detectors,
SingleInspiral tables, the completeness labels and others, offline flags.
Some combinations are ones gwcelery cannot rank (a Test event, a burst MDC
upload, aframe's EarlyWarning): the oracle must refuse them too.
"""

import math
import random

PIPELINES = {
    "CBC": ["gstlal", "pycbc", "MBTA", "spiir", "aframe"],
    "Burst": ["CWB", "oLIB", "MLy"],
    "Test": ["gstlal", "pycbc", "MBTA", "CWB"],
}
SEARCHES = {
    "CBC": ["AllSky"] * 6 + ["EarlyWarning"] * 2 + ["SSM", "MDC", "BBH"],
    "Burst": ["AllSky"] * 6 + ["BBH"] * 2 + ["MDC"],
    "Test": ["AllSky", "EarlyWarning", "MDC"],
}
INSTRUMENTS = [
    "H1,L1",
    "H1,L1,V1",
    "H1",
    "L1",
    "V1",
    "H1,V1",
    "H1,K1",
    "H1,L1,K1",
    "L1,V1,K1",
]
LABELS = [
    "SKYMAP_READY",
    "EMBRIGHT_READY",
    "PASTRO_READY",
    "EARLY_WARNING",
    "INJ",
    "RAVEN_ALERT",
    "DQV",
    "EM_READY",
]
LABEL_WEIGHTS = [0.7, 0.6, 0.6, 0.1, 0.05, 0.04, 0.05, 0.1]


def boundary_fars(settings):
    """FARs at, just below and just above every threshold / trials factor.

    For each (threshold, trials factor) pair of both tiers: the FAR whose
    product with the factor is the threshold exactly (when a float has it),
    and the neighbouring floats, where ``<=`` flips.
    """
    fars = set()
    for tier in ("significant", "preliminary"):
        thresholds = settings[f"{tier}_alert_far_threshold"]
        factors = settings[f"{tier}_alert_trials_factor"]
        for group, by_search in factors.items():
            for search, factor in by_search.items():
                threshold = thresholds.get(group, {}).get(search)
                if threshold is None:
                    continue
                far = threshold / factor
                for _ in range(4):  # walk to a far with factor * far == threshold
                    if factor * far < threshold:
                        far = math.nextafter(far, math.inf)
                    elif factor * far > threshold:
                        far = math.nextafter(far, -math.inf)
                fars.update(
                    {far, math.nextafter(far, 0.0), math.nextafter(far, math.inf)}
                )
    return sorted(fars)


def _far(rng, boundaries):
    draw = rng.random()
    if draw < 0.4:
        return rng.choice(boundaries)
    if draw < 0.45:
        return 0.0
    return 10 ** rng.uniform(-12, -3.3)


def _extra(rng, group, pipeline, instruments):
    extra = {}
    if group in ("CBC", "Test") and pipeline != "aframe" and pipeline != "CWB":
        extra["CoincInspiral"] = {"snr": rng.choice([8.0, 10.0, 12.5, 20.0, 33.3])}
        if rng.random() < 0.3:
            ifos = instruments.split(",")
            if rng.random() < 0.3:
                ifos = ifos[:1] if len(ifos) > 1 else ifos + ["V1"]
            extra["SingleInspiral"] = [
                {"ifo": ifo, "chisq": None if rng.random() < 0.3 else 1.0}
                for ifo in ifos
            ]
    elif pipeline == "CWB":
        extra["MultiBurst"] = {
            "snr": round(rng.uniform(6, 30), 2),
            "duration": 0.02,
            "central_freq": 150.0,
        }
    elif pipeline == "MLy":
        extra["MLyBurst"] = {"SNR": 9.0, "duration": 0.1, "central_freq": 200.0}
    elif pipeline == "oLIB":
        extra["LalInferenceBurst"] = {"quality_mean": 8.0, "frequency_mean": 300.0}
    return extra


def make_event(rng, number, boundaries):
    """One GraceDB-shaped event (as gwreplay's store loads it, plus labels)."""
    if rng.random() < 0.02:
        return {
            "graceid": f"E{number:06d}",
            "group": "External",
            "pipeline": "Fermi",
            "search": "GRB",
            "far": 1e-6,
            "instruments": "",
            "labels": [],
            "offline": False,
            "extra_attributes": {},
        }
    group = rng.choices(["CBC", "Burst", "Test"], weights=[0.62, 0.34, 0.04])[0]
    pipeline = rng.choice(PIPELINES[group])
    search = rng.choice(SEARCHES[group])
    if pipeline == "aframe" and rng.random() < 0.8:
        search = "AllSky"
    if pipeline != "CWB" and group == "Burst" and search == "BBH":
        search = "AllSky"
    instruments = rng.choice(INSTRUMENTS)
    labels = [
        label
        for label, weight in zip(LABELS, LABEL_WEIGHTS, strict=True)
        if rng.random() < weight
    ]
    if (
        search == "EarlyWarning"
        and rng.random() < 0.8
        and "EARLY_WARNING" not in labels
    ):
        labels.append("EARLY_WARNING")
    prefix = {"Test": "T", "Burst": "G", "CBC": "G"}[group]
    return {
        "graceid": f"{prefix}{number:06d}",
        "group": group,
        "pipeline": pipeline,
        "search": search,
        "far": _far(rng, boundaries),
        "instruments": instruments,
        "labels": sorted(labels),
        "offline": rng.random() < 0.1,
        "extra_attributes": _extra(rng, group, pipeline, instruments),
        "gpstime": 1400000000.0 + number,
    }


def event_sets(seed, count, settings):
    """``count`` event sets of 1 to 6 events each, reproducible from ``seed``."""
    rng = random.Random(seed)
    boundaries = boundary_fars(settings)
    sets, number = [], 0
    for _ in range(count):
        events = []
        for _ in range(rng.randint(1, 6)):
            number += 1
            event = make_event(rng, number, boundaries)
            if events and rng.random() < 0.15:  # a tie: same key as another
                twin = rng.choice(events)
                event = dict(twin, graceid=f"{twin['graceid'][0]}{number:06d}")
            events.append(event)
        sets.append(events)
    return sets
