"""Detector state-vector check of a superevent, after gwcelery's ``check_vectors``.

gwcelery (``gwcelery.tasks.detchar.check_vectors``) reads the low-latency
state vectors of every detector around a superevent and labels it:

* ``DQV`` when a data-quality bit is off at any sample of the window in an
  *active* detector (one listed in the preferred event's ``instruments``);
* ``DQOK`` when every data-quality bit of every active detector is on
  throughout the window;
* neither when any active detector's state is unknown (frames missing,
  partial, or without the channel), so nothing is vetoed for lack of data;
* ``INJ`` when a hardware-injection bit (``NO_*_HW_INJ``) is off in an active
  detector.

The window is ``[t_start - pre, t_end + post)`` with ``(pre, post)`` from
``check_vector_prepost`` for the preferred event's pipeline, as gwcelery pads
it to catch glitches just outside the superevent (as in L1 before GW170817).
Pipelines that analyse gated h(t) (``uses_gatedhoft``) skip the LIGO
``DMT-DQ_VECTOR``. MDC events are not checked. Bits of a channel are read with
gwpy's :class:`~gwpy.timeseries.StateVector` from the frame files found by
``llhoft_glob``; only the files whose names (``X-TAG-<gps>-<dur>.gwf``,
LIGO-T050017) overlap the window are opened.
"""

import contextlib
import glob
import math
import os
import tempfile

import numpy as np
from igwn_segments import segment, segmentlist

from .atomic import write_json

# --------------------------------------------------------------------------
# Bit definitions (gwcelery.tasks.detchar / gwcelery.conf).
# --------------------------------------------------------------------------

#: DMT DQ vector bits (LIGO only).
dmt_dq_vector_bits = {
    "channel": "DMT-DQ_VECTOR",
    "bits": {1: "NO_OMC_DCPD_ADC_OVERFLOW", 2: "NO_DMT-ETMY_ESD_DAC_OVERFLOW"},
    "description": {
        "NO_OMC_DCPD_ADC_OVERFLOW": "OMC DCPC ADC not overflowing",
        "NO_DMT-ETMY_ESD_DAC_OVERFLOW": "ETMY ESD DAC not overflowing",
    },
}

_STATE_VECTOR_BITS = {
    0: "HOFT_OK",
    1: "OBSERVATION_INTENT",
    5: "NO_STOCH_HW_INJ",
    6: "NO_CBC_HW_INJ",
    7: "NO_BURST_HW_INJ",
    8: "NO_DETCHAR_HW_INJ",
}

_STATE_VECTOR_DESCRIPTION = {
    "HOFT_OK": "h(t) was successfully computed",
    "OBSERVATION_INTENT": '"observation intent" button is pushed',
    "NO_STOCH_HW_INJ": "No stochastic HW injection",
    "NO_CBC_HW_INJ": "No CBC HW injection",
    "NO_BURST_HW_INJ": "No burst HW injection",
    "NO_DETCHAR_HW_INJ": "No HW injections for detector characterization",
}

#: LIGO calibration state vector bits.
ligo_state_vector_bits = {
    "channel": "GDS-CALIB_STATE_VECTOR",
    "bits": dict(_STATE_VECTOR_BITS),
    "description": dict(_STATE_VECTOR_DESCRIPTION),
}

#: Virgo analysis state vector bits: LIGO's plus CAT1 data quality.
virgo_state_vector_bits = {
    "channel": "DQ_ANALYSIS_STATE_VECTOR",
    "bits": {**_STATE_VECTOR_BITS, 10: "GOOD_DATA_QUALITY_CAT1"},
    "description": {
        **_STATE_VECTOR_DESCRIPTION,
        "GOOD_DATA_QUALITY_CAT1": "Good data quality (CAT1 type)",
    },
}

#: Bit definitions by the names used in ``llhoft_channels``.
detchar_bit_definitions = {
    "dmt_dq_vector_bits": dmt_dq_vector_bits,
    "ligo_state_vector_bits": ligo_state_vector_bits,
    "virgo_state_vector_bits": virgo_state_vector_bits,
}

#: The configuration keys :func:`check_vectors` reads (besides ``store``);
#: gwcelery's values are in config/config.yaml. The bit layouts above are
#: gwcelery's code, not configuration.
CONFIG_KEYS = (
    "llhoft_glob",
    "llhoft_channels",
    "check_vector_prepost",
    "uses_gatedhoft",
)

_STATE_WORDS = {None: "unknown", False: "bad", True: "good"}


def ifo_from_channel(channel):
    """Detector prefix of a channel name: ``H1:GDS-CALIB_STATE_VECTOR`` -> ``H1``."""
    ifo = channel.split(":")[0]
    if len(ifo) != 2:
        raise ValueError(f"channel {channel!r} does not start with a detector")
    return ifo


def _per_pipeline(table, pipeline, key):
    """``table[pipeline]``, matching the pipeline name case-insensitively."""
    if pipeline in table:
        return table[pipeline]
    for name, value in table.items():
        if name.lower() == str(pipeline).lower():
            return value
    raise KeyError(f"{key} has no entry for pipeline {pipeline!r}")


def is_injection_bit(name):
    """Whether a bit flags hardware injections (gwcelery: name ends in ``_INJ``)."""
    return name.split("_")[-1] == "INJ"


# --------------------------------------------------------------------------
# Frames.
# --------------------------------------------------------------------------


def find_frames(store, detector, pattern):
    """Frame files of ``detector`` as ``[(segment, path), ...]`` sorted by time.

    Spans come from the file names (LIGO-T050017), so no file is opened here;
    files whose names do not follow the convention are ignored.
    """
    from gwpy.io.cache import file_segment

    path_glob = pattern.format(store=glob.escape(os.fspath(store)), detector=detector)
    frames = []
    for path in glob.glob(path_glob):
        try:
            span = file_segment(path)
        except ValueError:
            continue
        frames.append((segment(float(span[0]), float(span[1])), path))
    frames.sort()
    return frames


def select_frames(frames, start, end):
    """Files overlapping ``[start, end)`` and the parts of it they leave uncovered.

    Returns ``(paths, missing)`` where ``missing`` is a segmentlist (empty when
    the frames cover the window without gaps).
    """
    window = segment(start, end)
    chosen = [(span, path) for span, path in frames if span.intersects(window)]
    covered = segmentlist(span for span, _ in chosen).coalesce()
    missing = segmentlist([window]) - covered
    return [path for _, path in chosen], missing


def _describe_missing(missing):
    """Human-readable list of the uncovered intervals."""
    return ", ".join(f"[{float(a)!r}, {float(b)!r})" for a, b in missing)


# --------------------------------------------------------------------------
# One channel.
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _glob_safe(paths):
    """Yield ``paths`` in a form LALFrame can open.

    LALFrame passes file names through glob(3), so a store path containing
    ``*``, ``?`` or ``[`` would match nothing. Such files are read through
    symbolic links with plain names in a temporary directory.
    """
    if not any(char in path for path in paths for char in "*?["):
        yield list(paths)
        return
    with tempfile.TemporaryDirectory(prefix="gwreplay-frames-") as tmp:
        links = []
        for number, path in enumerate(paths):
            link = os.path.join(tmp, f"{number}.gwf")
            os.symlink(os.path.abspath(path), link)
            links.append(link)
        yield links


def _bits(bitdef):
    """gwpy's Bits of one channel's definition (``llhoft_channels``).

    gwpy is imported here, not with the module: importing gwpy imports
    gwpy.plot, SciPy's signal package and matplotlib (2.7 s), and the
    workflow imports this module's ``CONFIG_KEYS`` at every parse.
    """
    from gwpy.timeseries import Bits

    return Bits(channel=bitdef["channel"], bits=bitdef["bits"])


def check_vector(paths, channel, start, end, bitdef):
    """Check each bit of ``channel`` over ``[start, end)`` in frame files ``paths``.

    As gwcelery's ``check_vector`` with ``logic_type='all'``: a bit is good
    (True) when it is on in every sample, bad (False) when it is off in any.
    When the data cannot be read every bit is None (unknown).

    Returns ``(bits, reason)``: bit name -> True/False/None, and None or a
    sentence saying why the state is unknown.
    """
    from gwpy.timeseries import StateVector

    bits = _bits(bitdef)
    unknown = {name: None for name in bits if name is not None}
    try:
        with _glob_safe(paths) as readable:
            vector = StateVector.read(
                readable, channel, start=start, end=end, format="gwf"
            )
    except (IndexError, TypeError, ValueError, RuntimeError, OSError) as err:
        reason = " ".join(str(err).split()) or type(err).__name__
        return unknown, f"could not read {channel}: {reason}"
    # Virgo has stored its state vector as floating point (gwcelery's FIXME).
    vector = vector.astype(np.uint32)
    vector.bits = bits
    if len(vector) == 0:
        return unknown, f"no samples of {channel} in the window"
    states = {
        name: bool(np.all(series.value))
        for name, series in vector.get_bit_series().items()
    }
    return states, None


def _check_channel(channel, bitdef, frames, start, end, detector, pattern):
    """Bits and unknown-reason of one channel, after checking frame coverage."""
    if not frames:
        bits = _bits(bitdef)
        return (
            {name: None for name in bits if name is not None},
            f"no frame files for {detector} (llhoft_glob {pattern!r})",
        )
    paths, missing = select_frames(frames, start, end)
    if missing:
        bits = _bits(bitdef)
        return (
            {name: None for name in bits if name is not None},
            f"frames of {detector} do not cover {_describe_missing(missing)}",
        )
    return check_vector(paths, channel, start, end, bitdef)


def _channel_status(bits):
    """``unknown`` if any bit is unknown, ``bad`` if a DQ bit is off, else ``ok``.

    Injection bits do not make a channel bad: an injection is not bad data.
    """
    if any(value is None for value in bits.values()):
        return "unknown"
    if any(
        value is False for name, value in bits.items() if not is_injection_bit(name)
    ):
        return "bad"
    return "ok"


# --------------------------------------------------------------------------
# The superevent.
# --------------------------------------------------------------------------


def _overall_state(active_dq_states):
    """gwcelery's ``overall_dq_active_state``: None, False or True."""
    values = list(active_dq_states.values())
    if not values or None in values:
        return None
    if False in values:
        return False
    return True


def _dq_summary(overall, dq_states, pre, post, gate_msg):
    """gwcelery's (O3) data-quality log message, word for word."""
    goods = ", ".join(k for k, v in dq_states.items() if v is True)
    bads = ", ".join(k for k, v in dq_states.items() if v is False)
    unknowns = ", ".join(k for k, v in dq_states.items() if v is None)
    return (
        f"detector state for active instruments is {_STATE_WORDS[overall]}."
        f" For all instruments, bits good ({goods}), bad ({bads}),"
        f" unknown({unknowns})"
        f" within -{pre}/+{post} seconds of superevent{gate_msg}"
    )


def _injection_summary(inj_states, pre, post):
    """gwcelery's (O3) hardware-injection log message, word for word."""
    found = [k for k, v in inj_states.items() if v is False]
    if found:
        text = (
            f"Looking across all ifos, {', '.join(found)} is False."
            " No other HW injections found"
        )
    elif inj_states and all(inj_states.values()):
        text = "No HW injections found"
    else:
        text = "Injection state unknown"
    return f"{text} within -{pre}/+{post} seconds of superevent"


def check_vectors(
    superevent,
    preferred_event,
    *,
    store,
    llhoft_glob,
    llhoft_channels,
    check_vector_prepost,
    uses_gatedhoft,
    detchar_bit_definitions=detchar_bit_definitions,
):
    """Data-quality check of a superevent: the content of its ``dq.json``.

    Parameters
    ----------
    superevent : dict
        Needs ``t_start`` and ``t_end`` (GPS seconds).
    preferred_event : dict
        GraceDB event JSON: ``graceid``, ``pipeline``, ``instruments``,
        ``search``.
    store : str or path
        Event store, substituted for ``{store}`` in ``llhoft_glob``.

    Returns
    -------
    dict
        ``labels`` (sorted subset of DQOK, DQV, INJ), ``vetoed`` (DQV),
        ``checked`` (False for MDC events), ``window`` ([start, end] GPS),
        ``channels`` (per channel: ``status`` ok/bad/unknown, ``active``,
        ``bits`` name -> true/false/null, ``reason`` for unknown states),
        ``summary`` (gwcelery's data-quality message) and
        ``injection_summary`` (gwcelery's injection message).
    """
    pipeline = preferred_event.get("pipeline")
    pre, post = _per_pipeline(check_vector_prepost, pipeline, "check_vector_prepost")
    start = float(superevent["t_start"]) - pre
    end = float(superevent["t_end"]) + post
    if not (math.isfinite(start) and math.isfinite(end) and start < end):
        raise ValueError(f"bad check window [{start}, {end})")
    result = {
        "labels": [],
        "vetoed": False,
        "checked": False,
        "window": [start, end],
        "channels": {},
    }
    if preferred_event.get("search") == "MDC":
        graceid = preferred_event.get("graceid")
        result["summary"] = f"Skipping detchar checks because {graceid} is an MDC"
        result["injection_summary"] = result["summary"]
        return result

    instruments = set(str(preferred_event.get("instruments") or "").split(","))
    gated = bool(_per_pipeline(uses_gatedhoft, pipeline, "uses_gatedhoft"))
    channels = [
        (channel, bitname)
        for channel, bitname in llhoft_channels.items()
        if not (gated and channel[3:] == "DMT-DQ_VECTOR")
    ]
    frames = {}
    states = {}
    for channel, bitname in channels:
        detector = ifo_from_channel(channel)
        if detector not in frames:
            frames[detector] = find_frames(store, detector, llhoft_glob)
        bits, reason = _check_channel(
            channel,
            detchar_bit_definitions[bitname],
            frames[detector],
            start,
            end,
            detector,
            llhoft_glob,
        )
        result["channels"][channel] = {
            "status": _channel_status(bits),
            "active": detector in instruments,
            "bits": bits,
            "reason": reason,
        }
        states.update({f"{detector}:{name}": value for name, value in bits.items()})

    dq_states = {k: v for k, v in states.items() if not is_injection_bit(k)}
    inj_states = {k: v for k, v in states.items() if is_injection_bit(k)}
    active_dq = {k: v for k, v in dq_states.items() if k[:2] in instruments}
    active_inj = {k: v for k, v in inj_states.items() if k[:2] in instruments}

    overall = _overall_state(active_dq)
    labels = {True: ["DQOK"], False: ["DQV"], None: []}[overall]
    if False in active_inj.values():
        labels.append("INJ")
    gate_msg = (
        f". Pipeline {pipeline} uses gated h(t), LIGO DMT-DQ_VECTOR not checked."
        if gated
        else ""
    )
    result.update(
        labels=sorted(labels),
        vetoed=overall is False,
        checked=True,
        summary=_dq_summary(overall, dq_states, pre, post, gate_msg),
        injection_summary=_injection_summary(inj_states, pre, post),
    )
    return result


def write_dq(path, result):
    """Write a :func:`check_vectors` result atomically as canonical JSON."""
    write_json(path, result)
