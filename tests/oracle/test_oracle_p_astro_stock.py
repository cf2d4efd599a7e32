"""gwreplay's stock p_astro against gwcelery 3.0.0's own, event by event.

On seeded GraceDB-shaped events (CBC and Test, gstlal, PyCBC, SPIIR, MBTA,
every O4 search, detector combinations with K1 and single detectors, rows
without chi-squared, FARs about PyCBC's FAR/SNR threshold, masses on the
mass cuts, missing fields), the bridge sends gwcelery 3.0.0's
``handle_match_filter_cbc_event`` a ``new`` alert and runs the real
``compute_p_astro`` on what the handler gives it (``bridge.stock_p_astro``).
gwreplay must:

* compute a stock p_astro exactly where gwcelery does, from the same
  arguments, with the same values to the bit;
* refuse (:class:`~gwreplay.errors.EventInputError`) or not select every event
  where gwcelery's handler or task fails;
* select no event where gwcelery's handler starts no p_astro task.
"""

import json
import math
import random

import pytest

from gwreplay import p_astro_stock
from gwreplay.errors import EventInputError
from gwreplay.o4_uploads import validate_p_astro
from gwreplay.store import load_event_json

SEED = 20261114
EVENTS = 400

PIPELINES = ["gstlal", "pycbc", "spiir", "MBTA"]
SEARCHES = ["AllSky", "EarlyWarning", "MDC", "SSM", "BBH", "VTInjection"]
STOCK = [("spiir", "EarlyWarning"), ("pycbc", "EarlyWarning"), ("gstlal", "MDC")]
INSTRUMENTS = [
    "H1,L1",
    "H1,L1,V1",
    "H1,V1",
    "L1,V1",
    "H1",
    "L1",
    "V1",
    "H1,K1",
    "H1,L1,K1",
]
#: PyCBC's FAR threshold of p-astro's thresholds file (two detectors or more).
PYCBC_FAR_THRESHOLD = 3.203009291289352e-10
#: Masses on and about the cuts of ``make_weights_from_hardcuts`` (3 and 5).
EDGE_MASSES = [3.0, math.nextafter(3.0, 4), 5.0, math.nextafter(5.0, 6), 4.0, 1.4]


def _far(rng):
    draw = rng.random()
    if draw < 0.15:
        return rng.choice(
            [
                PYCBC_FAR_THRESHOLD,
                math.nextafter(PYCBC_FAR_THRESHOLD, 0),
                math.nextafter(PYCBC_FAR_THRESHOLD, 1),
            ]
        )
    if draw < 0.18:
        return 0.0
    return 10 ** rng.uniform(-14, -3)


def _snr(rng):
    draw = rng.random()
    if draw < 0.1:
        return rng.choice([10, 10.0, math.nextafter(10.0, 11), 8.5])
    return rng.uniform(4, 60)


def _mass(rng):
    if rng.random() < 0.25:
        return rng.choice(EDGE_MASSES)
    return 10 ** rng.uniform(0, 2)


def make_event(rng, number):
    """One event as GraceDB gives it (labels, offline, processing_status)."""
    if rng.random() < 0.6:
        pipeline, search = rng.choice(STOCK)
    else:
        pipeline, search = rng.choice(PIPELINES), rng.choice(SEARCHES)
    group = "Test" if rng.random() < 0.08 else "CBC"
    instruments = rng.choice(INSTRUMENTS)
    m1, m2 = sorted((_mass(rng), _mass(rng)), reverse=True)
    singles = [
        {
            "ifo": ifo,
            "chisq": None if rng.random() < 0.15 else rng.uniform(0.5, 2),
            "mass1": m1,
            "mass2": m2,
            "spin1z": rng.uniform(-0.5, 0.5),
            "spin2z": rng.uniform(-0.05, 0.05),
            "snr": rng.uniform(4, 20),
        }
        for ifo in instruments.split(",")
    ]
    extra = {
        "CoincInspiral": {"snr": _snr(rng), "mchirp": 1.2, "combined_far": 1e-9},
        "SingleInspiral": singles,
    }
    draw = rng.random()  # now and then, what gwcelery's handler cannot read
    if draw < 0.03:
        del extra["SingleInspiral"]
    elif draw < 0.05:
        extra["SingleInspiral"] = []
    elif draw < 0.07:
        del singles[0][rng.choice(["mass1", "mass2", "spin1z", "spin2z"])]
    elif draw < 0.09:
        del extra["CoincInspiral"]["mchirp"]
    elif draw < 0.10:
        del singles[0]["ifo"]
    prefix = {"Test": "T", "CBC": "M" if search == "MDC" else "G"}[group]
    return {
        "graceid": f"{prefix}{number:06d}",
        "group": group,
        "pipeline": pipeline,
        "search": search,
        "far": _far(rng),
        "gpstime": 1400000000.0 + number,
        "created": 1400000010.0 + number,
        "instruments": instruments,
        "labels": [],
        "offline": False,
        "processing_status": "reserved" if rng.random() < 0.03 else "production",
        "extra_attributes": extra,
    }


@pytest.fixture(scope="module")
def events():
    rng = random.Random(SEED)
    return [make_event(rng, number) for number in range(1, EVENTS + 1)]


@pytest.fixture(scope="module")
def theirs(gwcelery, events):
    return gwcelery.call("stock_p_astro", [[event] for event in events])


def _ours(event, folder):
    """gwreplay's answer: ("none",), ("refused", why) or ("ok", inputs, values)."""
    path = folder / "events" / event["graceid"] / "event.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(event))
    out = folder / "out" / f"{event['graceid']}.p_astro.json"
    loaded = load_event_json(path)
    if not p_astro_stock.computes_stock_p_astro(loaded):
        return ("none",)
    try:
        inputs = p_astro_stock.stock_p_astro_inputs(loaded)
        written = p_astro_stock.write_stock_p_astro(event["graceid"], path, out)
    except EventInputError as exc:
        return ("refused", str(exc))
    on_disk = json.loads(out.read_text())
    assert on_disk == written
    validate_p_astro(event["graceid"], out)  # as an O4 notice will read it
    args = [*inputs[:-1], sorted(inputs.instruments)]
    return ("ok", args, on_disk)


def _bits(values):
    return {key: float(value).hex() for key, value in values.items()}


def test_events_cover_every_outcome(theirs):
    """The seeded events give gwcelery's three outcomes, each many times."""
    outcomes = [
        "error" if "error" in answer else ("none" if answer["ok"] is None else "ok")
        for answer in theirs
    ]
    assert min(outcomes.count(kind) for kind in ("ok", "none", "error")) >= 30
    capped = [
        answer["ok"]
        for answer in theirs
        if answer.get("ok")
        and answer["ok"]["args"][4] == "pycbc"
        and answer["ok"]["args"][1] < PYCBC_FAR_THRESHOLD
        and answer["ok"]["args"][0] > 10
    ]
    assert len(capped) >= 5, "too few events where choose_snr caps the SNR"


def test_stock_p_astro_is_gwcelerys(theirs, events, tmp_path):
    mismatches = []
    for event, answer in zip(events, theirs, strict=True):
        ours = _ours(event, tmp_path)
        if "error" in answer:
            ok = ours[0] in ("none", "refused")
        elif answer["ok"] is None:
            ok = ours[0] == "none"
        else:
            expected = answer["ok"]
            ok = (
                ours[0] == "ok"
                and ours[1] == expected["args"]
                and list(ours[2]) == sorted(expected["p_astro"])
                and _bits(ours[2]) == _bits(expected["p_astro"])
            )
        if not ok:
            mismatches.append({"event": event, "gwcelery": answer, "gwreplay": ours})
    shown = "\n".join(json.dumps(m, sort_keys=True)[:2000] for m in mismatches[:3])
    assert not mismatches, (
        f"{len(mismatches)} of {len(events)} events differ from gwcelery 3.0.0, "
        f"e.g.:\n{shown}"
    )
