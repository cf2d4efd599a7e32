"""Early-warning candidates (O4 era): a BNS found before it merges.

An early-warning search filters the data with templates that stop at a final
frequency ``f_high`` (29-49 Hz), so it can report a binary neutron star some
seconds before the merger. We realise the slot's source once more with
``bayestar-realize-coincs``' ``simulate``, from ``mdc_early_warning_f_low``
up to ``f_high`` (ligo.skymap's ``f_high``: the template ends there): the SNR
is the part accumulated below ``f_high`` and the trigger times are the
predicted merger times, as early-warning pipelines report them. Its FAR
follows the same background model as every CBC search.

The event is uploaded ``mdc_early_warning_latency`` after the signal passes
``f_high``, that is ``tau(f_high)`` (lalsimulation's chirp-time bound) before
the merger: ``created`` comes before ``gpstime``. A slot asks for an
early-warning candidate that passes the significant EarlyWarning threshold of
``policies: O4:`` (FAR x trials factor), so its sources are drawn within
``mdc_early_warning_max_distance``.
"""

import lal
import lalsimulation

from . import background, detection
from .o4plan import EARLY_WARNING_SEARCH, threshold

#: The upload lands at least this many seconds before the merger.
MIN_LEAD_TIME = 1.0


def source_conf(slot, conf):
    """The configuration to draw the slot's source with (nearer for EW slots)."""
    if not slot.get("early_warning"):
        return conf
    distances = dict(conf["mdc_max_distance"])
    distances[slot["class"]] = min(
        distances[slot["class"]], conf["mdc_early_warning_max_distance"]
    )
    return {**conf, "mdc_max_distance": distances}


def significant_far(conf):
    """Largest FAR (Hz) of a significant EarlyWarning candidate."""
    return threshold(conf["mdc_o4_policy"], "significant", "cbc", "earlywarning")


def realize(rng, slot, row, seed, psds, detectors, conf):
    """The early-warning realisation of ``row``: (realization, far) or None.

    None when too few detectors pass the single-detector threshold or the FAR
    is not significant for the EarlyWarning search.
    """
    plan = slot["early_warning"]
    ew_conf = {**conf, "mdc_f_low": conf["mdc_early_warning_f_low"]}
    realization = detection.realize(
        row, seed, psds, detectors, ew_conf, f_high=plan["f_high"]
    )
    if realization is None:
        return None
    far = background.far_from_snr(
        realization.network_snr,
        conf["mdc_cbc_snr_at_far_threshold"],
        conf["superevent_far_threshold"],
    )
    limit = significant_far(conf)
    if limit is None or far > limit:
        return None
    return realization, far


def time_to_merger(source, f_high):
    """Seconds from ``f_high`` to the merger (chirp-time bound, detector frame)."""
    return float(
        lalsimulation.SimInspiralChirpTimeBound(
            f_high,
            source["mass1"] * lal.MSUN_SI,
            source["mass2"] * lal.MSUN_SI,
            source["spin1z"],
            source["spin2z"],
        )
    )


def set_upload_time(rng, candidate, source, conf):
    """``created`` of an early-warning candidate: before its merger time."""
    lead = time_to_merger(source, candidate["f_high"])
    created = (
        candidate["gpstime"] - lead + rng.uniform(*conf["mdc_early_warning_latency"])
    )
    candidate["created"] = round(min(created, candidate["gpstime"] - MIN_LEAD_TIME), 3)
    candidate["lead_time"] = round(candidate["gpstime"] - candidate["created"], 3)


def mark(candidate, slot):
    """Label a CBC candidate as the slot's early-warning event."""
    candidate["search"] = EARLY_WARNING_SEARCH
    candidate["f_high"] = slot["early_warning"]["f_high"]
    return candidate
