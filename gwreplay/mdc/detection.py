"""Simulated detection of a source by one search pipeline.

Each pipeline's candidate is an independent realisation of
``bayestar-realize-coincs`` (:mod:`ligo.skymap.tool.bayestar_realize_coincs`):
its ``simulate`` function computes, per detector, the matched-filter SNR time
series of the injected signal with Gaussian measurement error
(``--measurement-error gaussian-noise``), and we keep, as its ``main`` does,
the detectors whose SNR passes the single-detector threshold, requiring at
least ``--min-triggers`` of them. Only the significance cut differs: it is the
pipeline's upload threshold on FAR (:mod:`gwreplay.mdc.background`) instead of
a fixed network SNR.

``simulate`` seeds NumPy's legacy global generator itself; we pass it a seed
drawn from the slot's own generator and restore the global state afterwards,
so results never depend on call order or on other users of ``np.random``.
"""

import contextlib
import functools
import math
from dataclasses import dataclass, field

import lal
import lalsimulation
import numpy as np


@dataclass
class Trigger:
    """One detector's trigger: SNR, phase, arrival time and SNR time series."""

    ifo: str
    snr: float
    phase: float
    end_seconds: int
    end_nanoseconds: int
    horizon: float
    series_epoch: tuple
    series_delta_t: float
    series: np.ndarray = field(repr=False)

    @property
    def end_time(self):
        """Arrival time as a float GPS time."""
        return self.end_seconds + 1e-9 * self.end_nanoseconds

    def snr_series(self):
        """The SNR time series as a lal COMPLEX8TimeSeries named ``snr``."""
        epoch = lal.LIGOTimeGPS(*self.series_epoch)
        series = lal.CreateCOMPLEX8TimeSeries(
            "snr",
            epoch,
            0,
            self.series_delta_t,
            lal.DimensionlessUnit,
            len(self.series),
        )
        series.data.data = self.series
        return series


@dataclass
class Realization:
    """A pipeline's view of a source: its triggers above threshold."""

    triggers: list

    @property
    def network_snr(self):
        """Root-sum-square of the triggers' SNRs (as bayestar-realize-coincs)."""
        return math.sqrt(sum(trigger.snr**2 for trigger in self.triggers))

    @property
    def instruments(self):
        """Detectors that contributed a trigger, in detector order."""
        return [trigger.ifo for trigger in self.triggers]

    @property
    def end_time(self):
        """Mean arrival time of the triggers (coinc_inspiral end time)."""
        nanoseconds = np.mean(
            [t.end_seconds * 1_000_000_000 + t.end_nanoseconds for t in self.triggers]
        )
        return lal.LIGOTimeGPS(1e-9 * nanoseconds)


@functools.cache
def _detector(ifo):
    """lal detector (response, location) of a detector prefix."""
    detector = lalsimulation.DetectorPrefixToLALDetector(ifo)
    return detector.response, detector.location


@contextlib.contextmanager
def preserved_legacy_random_state():
    """Restore NumPy's legacy global random state on exit."""
    state = np.random.get_state()
    try:
        yield
    finally:
        np.random.set_state(state)


def _trigger(ifo, result):
    horizon, snr, phase, toa, series = result
    return Trigger(
        ifo=ifo,
        snr=float(snr),
        phase=float(phase),
        end_seconds=int(toa.gpsSeconds),
        end_nanoseconds=int(toa.gpsNanoSeconds),
        horizon=float(horizon),
        series_epoch=(int(series.epoch.gpsSeconds), int(series.epoch.gpsNanoSeconds)),
        series_delta_t=float(series.deltaT),
        series=np.array(series.data.data, dtype=np.complex64),
    )


def realize(sim_inspiral, seed, psds, detectors, conf, f_high=None):
    """One pipeline's realisation of ``sim_inspiral`` in ``detectors``.

    ``psds`` maps detectors to BAYESTAR PSD interpolants. Returns a
    :class:`Realization`, or None when fewer than ``mdc_min_triggers``
    detectors pass ``mdc_snr_threshold``. ``f_high`` ends the template there
    (an early-warning search: only the signal below it counts).
    """
    from ligo.skymap.tool.bayestar_realize_coincs import simulate

    responses, locations = zip(*(_detector(ifo) for ifo in detectors), strict=True)
    with preserved_legacy_random_state():
        results = simulate(
            int(seed),
            sim_inspiral,
            [psds[ifo] for ifo in detectors],
            list(responses),
            list(locations),
            "gaussian-noise",
            f_low=conf["mdc_f_low"],
            f_high=f_high,
        )
    triggers = [
        _trigger(ifo, result)
        for ifo, result in zip(detectors, results, strict=True)
        if result[1] >= conf["mdc_snr_threshold"]
    ]
    if len(triggers) < conf["mdc_min_triggers"]:
        return None
    return Realization(triggers)


def expected_network_snr(sim_inspiral, psds, detectors, conf):
    """Network SNR without measurement error (``zero-noise``), for scaling."""
    from ligo.skymap.tool.bayestar_realize_coincs import simulate

    responses, locations = zip(*(_detector(ifo) for ifo in detectors), strict=True)
    with preserved_legacy_random_state():
        results = simulate(
            0,
            sim_inspiral,
            [psds[ifo] for ifo in detectors],
            list(responses),
            list(locations),
            "zero-noise",
            f_low=conf["mdc_f_low"],
        )
    return math.sqrt(sum(result[1] ** 2 for result in results))
