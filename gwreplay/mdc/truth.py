"""``STORE/truth.json``: what the replay of the MDC is expected to do.

One entry per slot (a source or a noise candidate) with its G-events and its
expected outcome under gwcelery's rules (:mod:`gwreplay.mdc.rules`,
:mod:`gwreplay.mdc.dqplan`). The format is documented in ``docs/mdc.md``.
"""

import math

from . import rules
from .dqplan import expected_dq


def _source_fields(source):
    """Physical parameters of an injection (None for a noise candidate)."""
    keys = (
        "geocent_end_time",
        "ra",
        "dec",
        "distance",
        "redshift",
        "mass1",
        "mass2",
        "source_mass1",
        "source_mass2",
        "spin1z",
        "spin2z",
        "inclination",
        "polarization",
        "coa_phase",
    )
    if source is None:
        return {key: None for key in keys}
    return {key: source[key] for key in keys}


def _event_summary(candidate, conf):
    return {
        "graceid": candidate["graceid"],
        "pipeline": candidate["pipeline"],
        "group": candidate["group"],
        "created": candidate["created"],
        "gpstime": round(candidate["gpstime"], 6),
        "far": candidate["far"],
        "snr": candidate["snr"],
        "instruments": ",".join(candidate["instruments"]),
        "significant": rules.is_significant(candidate, conf),
        "publishable": rules.is_publishable(candidate, conf),
    }


def slot_truth(result, conf, mdc):
    """Truth entry of one simulated slot (candidates carry their graceid)."""
    slot, source, candidates = result["slot"], result["source"], result["candidates"]
    at_timeout, final = rules.expected_preferred(candidates, conf)
    superevent = final is not None
    dq, vetoed, inj = expected_dq(result["dq_plan"], superevent, mdc)
    entry = {
        "id": f"{'src' if source else 'noise'}{slot['index']:04d}",
        "class": slot["class"],
        "simulation_id": source["simulation_id"] if source else None,
        "gw_events": sorted(c["graceid"] for c in candidates),
        "events": [_event_summary(c, conf) for c in candidates],
        "expected": {
            "superevent": superevent,
            "preferred_event_at_timeout": at_timeout["graceid"] if superevent else None,
            "final_preferred_event": final["graceid"] if superevent else None,
            "late_upload": superevent and at_timeout is not final,
            "t_0": round(final["gpstime"], 6) if superevent else None,
            "vetoed": vetoed,
            "dq": dq,
            "inj": inj,
            "dq_plan": result["dq_plan"],
        },
        "scenario": {
            "pipelines": list(slot["pipelines"]),
            "late_upload": slot["late"],
            "burst": slot["burst"],
            "excluded_detector": slot["excluded_detector"],
        },
    }
    entry.update(_source_fields(source))
    if source is None:
        entry["geocent_end_time"] = slot["t_geocent"]
    return entry


def truth_document(results, seed, n_superevents, conf, mdc):
    """The whole truth.json content."""
    sources = [slot_truth(result, conf, mdc) for result in results]
    expected = sum(1 for entry in sources if entry["expected"]["superevent"])
    if expected != n_superevents:
        raise AssertionError(
            f"planned {n_superevents} superevents but the truth has {expected}"
        )
    for entry in sources:
        for key, value in entry.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"{entry['id']}: {key} is {value}")
    return {
        "seed": seed,
        "mdc": mdc,
        "superevents": n_superevents,
        "detectors": list(conf["mdc_detectors"]),
        "psd_models": {
            ifo: conf["mdc_psd_models"][ifo] for ifo in conf["mdc_detectors"]
        },
        "start_gps": conf["mdc_start_gps"],
        "orchestrator_timeout": conf["orchestrator_timeout"],
        "superevent_far_threshold": conf["superevent_far_threshold"],
        "sources": sources,
    }
