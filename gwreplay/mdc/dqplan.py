"""Data-quality plan of a slot: which state-vector bits to clear, and when.

gwcelery's ``check_vectors`` labels a superevent ``DQV`` when a data-quality
bit (one not named ``*_INJ``) is off anywhere in the checked window in a
detector of the preferred event's ``instruments``, ``INJ`` when a
hardware-injection bit is off there, and ``DQOK`` when all is well; with no
frames the state is unknown. The window is the superevent's
``[t_start - pre, t_end + post]`` (``check_vector_prepost``), which always
contains ``t +/- 0.5 s`` around the merger. The plans:

* ``clean``: every bit on;
* ``veto``: a DQ bit (HOFT_OK, OBSERVATION_INTENT or Virgo's CAT1 bit) off for
  ``t +/- 0.5 s`` in a detector active in both the preferred event at the
  timeout and the final one;
* ``inj``: NO_CBC_HW_INJ off for ``t +/- 1 s`` in such a detector;
* ``other_detector``: OBSERVATION_INTENT off for the whole frame in the
  detector that the slot's searches did not use (it was not observing);
* ``no_frames``: no frame file at all for the candidate.

Windows are snapped outwards to the 16 Hz sample grid.
"""

import math

from . import frames, rules

VETO_BITS = {
    "ligo_state_vector_bits": ("HOFT_OK", "OBSERVATION_INTENT"),
    "virgo_state_vector_bits": (
        "HOFT_OK",
        "OBSERVATION_INTENT",
        "GOOD_DATA_QUALITY_CAT1",
    ),
}
INJECTION_BIT = "NO_CBC_HW_INJ"
NOT_OBSERVING_BIT = "OBSERVATION_INTENT"


def snap_window(start, end):
    """``[start, end)`` widened to whole samples of the 16 Hz state vectors."""
    rate = frames.SAMPLE_RATE
    return math.floor(start * rate) / rate, math.ceil(end * rate) / rate


def _active_detectors(candidates, conf, era=None):
    """Detectors in both expected preferred events (sorted), or the final's.

    O4 era: the preferred event is chosen again at each notice, so the
    detectors of every candidate that reaches the superevent manager, when
    they share one.
    """
    if era == "O4":
        passing = [c for c in candidates if rules.is_significant(c, conf)]
        common = set.intersection(*(set(c["instruments"]) for c in passing))
        if common:
            return sorted(common)
    at_timeout, final = rules.expected_preferred(candidates, conf)
    if final is None:
        return []
    common = set(final["instruments"]) & set(at_timeout["instruments"])
    return sorted(common or final["instruments"])


def _state_vector_layout(ifo, conf):
    """Name of the bit layout of ``ifo``'s calibration/analysis state vector."""
    for channel, layout in sorted(conf["llhoft_channels"].items()):
        if channel.split(":")[0] == ifo and layout in VETO_BITS:
            return layout
    raise KeyError(f"no state vector configured for {ifo}")


def _bad_bit(ifo, bit_name, start, end, conf):
    channel, bit = frames.find_bit(ifo, bit_name, conf["llhoft_channels"])
    start, end = snap_window(start, end)
    return {
        "ifo": ifo,
        "channel": channel,
        "bit": bit,
        "bit_name": bit_name,
        "start": start,
        "end": end,
    }


def plan_dq(rng, slot, candidates, conf):
    """The slot's DQ plan: kind, frame span, whether frames exist, bad bits."""
    kind = slot["dq"]
    t = slot["t_geocent"]
    frame_start, frame_duration = frames.frame_span(t, conf["mdc_frame_pad"])
    plan = {
        "kind": kind,
        "frames": kind != "no_frames",
        "frame_start": frame_start,
        "frame_duration": frame_duration,
        "bad_bits": [],
    }
    if kind in ("veto", "inj"):
        active = _active_detectors(candidates, conf, slot.get("era"))
        ifo = active[int(rng.integers(len(active)))]
        if kind == "veto":
            choices = VETO_BITS[_state_vector_layout(ifo, conf)]
            bit_name = choices[int(rng.integers(len(choices)))]
            plan["bad_bits"].append(_bad_bit(ifo, bit_name, t - 0.5, t + 0.5, conf))
        else:
            plan["bad_bits"].append(
                _bad_bit(ifo, INJECTION_BIT, t - 1.0, t + 1.0, conf)
            )
    elif kind == "other_detector":
        ifo = slot["excluded_detector"]
        plan["bad_bits"].append(
            _bad_bit(
                ifo,
                NOT_OBSERVING_BIT,
                frame_start,
                frame_start + frame_duration,
                conf,
            )
        )
    return plan


def expected_dq(plan, superevent, mdc):
    """Expected ``(dq, vetoed, inj)`` of a slot's superevent under its plan.

    ``dq`` is ``DQOK``, ``DQV`` or ``unknown``; ``skipped`` for MDC events
    (gwcelery skips the check when ``search == "MDC"``); None without a
    superevent.
    """
    if not superevent:
        return None, False, False
    if mdc:
        return "skipped", False, False
    kind = plan["kind"]
    if kind == "no_frames":
        return "unknown", False, False
    if kind == "veto":
        return "DQV", True, False
    return "DQOK", False, kind == "inj"
