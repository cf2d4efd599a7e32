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


def _o4_event_fields(candidate, conf):
    """What the O4 truth adds to an event summary."""
    significant, less = rules.o4_tiers(candidate, conf["mdc_o4_policy"])
    fields = {
        "search": candidate["search"],
        "o4_significant": significant,
        "o4_less_significant": less,
        "complete": rules.ready_time(candidate),
    }
    if "lead_time" in candidate:
        fields["lead_time"] = candidate["lead_time"]
    return fields


def _o4_expected(result, conf, dq):
    """The O4 block of a slot's ``expected``: superevent, sign-off, notices."""
    o4 = result.get("o4")
    if not o4:
        return {
            "superevent_id": None,
            "created": None,
            "preferred_event_at_creation": None,
            "gw_events": [],
            "signoff": None,
            "notices": [],
        }
    record = o4["record"]
    notices = rules.expected_o4_notices(o4["members"], conf, dq, o4["signoff"])
    return {
        "superevent_id": o4["superevent_id"],
        "created": record["created"],
        "preferred_event_at_creation": record["preferred_event"],
        "gw_events": list(record["gw_events"]),
        "signoff": o4["signoff"],
        "notices": [dict(n, alert_number=i) for i, n in enumerate(notices, 1)],
    }


def _event_summary(candidate, conf):
    if "search" in candidate:
        return {
            **_o3_event_summary(candidate, conf),
            **_o4_event_fields(candidate, conf),
        }
    return _o3_event_summary(candidate, conf)


def _o3_event_summary(candidate, conf):
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
    if slot.get("era") == "O4":
        entry["expected"]["o4"] = _o4_expected(result, conf, "INJ" if inj else dq)
        entry["scenario"]["early_warning"] = slot["early_warning"]
        entry["scenario"]["less_significant"] = slot["less_significant"]
    entry.update(_source_fields(source))
    if source is None:
        entry["geocent_end_time"] = slot["t_geocent"]
    return entry


def truth_document(results, seed, n_superevents, conf, mdc, era="O3"):
    """The whole truth.json content (O4: with ``era`` and the O4 blocks)."""
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
    extra = {}
    if era == "O4":
        extra = {
            "era": era,
            "superevent_clean_up_timeout": conf["mdc_o4_policy"][
                "superevent_clean_up_timeout"
            ],
        }
    return {
        **extra,
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
