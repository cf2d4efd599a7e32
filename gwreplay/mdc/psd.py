"""Model noise PSDs of the detectors, from lalsimulation's analytic noise curves.

The PSDs are sampled the way ``bayestar-sample-model-psd`` samples them
(``--df 1 --f-max 2048``): curves given as a function of frequency are
evaluated on the grid, curves that fill a frequency series are truncated to
their nonzero samples. The same series serve three purposes: the simulated
detection (as :class:`ligo.skymap.bayestar.filter.InterpolatedPSD`, as
``bayestar-realize-coincs`` builds them), the ``psd.xml.gz`` uploads and the
PSDs embedded in coinc.xml.
"""

import functools

import lal
import lal.series
import lalsimulation
import numpy as np

PSD_FUNCTION_PREFIX = "SimNoisePSD"


def available_models():
    """Names of lalsimulation's noise curves usable as PSD models."""
    return sorted(
        name[len(PSD_FUNCTION_PREFIX) :]
        for name in dir(lalsimulation)
        if name.startswith(PSD_FUNCTION_PREFIX)
        and not name.endswith("Ptr")
        and _psd_kind(getattr(lalsimulation, name)) is not None
    )


def _psd_kind(func):
    """'function' for ``f -> S(f)`` curves, 'series' for ones filling a series."""
    doc = getattr(func, "__doc__", "") or ""
    if "(double f) -> double" in doc:
        return "function"
    if "(REAL8FrequencySeries psd, double flow) -> int" in doc:
        return "series"
    return None


@functools.lru_cache(maxsize=16)
def model_psd(model, df=1.0, f_max=2048.0):
    """Return lalsimulation's noise curve ``model`` as a REAL8FrequencySeries.

    The result is cached: treat it as read-only (:func:`stamped` copies).
    """
    from ligo.skymap.bayestar.filter import vectorize_swig_psd_func

    func = getattr(lalsimulation, PSD_FUNCTION_PREFIX + model, None)
    kind = _psd_kind(func) if func is not None else None
    if kind is None:
        raise ValueError(f"unknown PSD model {model!r}; choose from lalsimulation's")
    n = int(f_max // df)
    series = lal.CreateREAL8FrequencySeries(model, 0, 0, df, lal.SecondUnit, n)
    if kind == "function":
        frequencies = np.arange(n) * df
        series.data.data = vectorize_swig_psd_func(PSD_FUNCTION_PREFIX + model)(
            frequencies
        )
        return series
    func(series, 0.0)
    nonzero = np.flatnonzero(series.data.data)
    first, last = int(nonzero[0]), int(nonzero[-1])
    series = lal.CutREAL8FrequencySeries(series, first, last - first + 1)
    series.f0 = first * series.deltaF
    series.name = model
    return series


def model_psds(detectors, models, df=1.0, f_max=2048.0):
    """PSD series for each detector, keyed by detector prefix, in detector order."""
    missing = [ifo for ifo in detectors if ifo not in models]
    if missing:
        raise ValueError(f"no PSD model for {', '.join(missing)}")
    return {ifo: model_psd(models[ifo], df, f_max) for ifo in detectors}


def interpolated_psds(psds):
    """The PSDs as BAYESTAR's interpolants, as bayestar-realize-coincs reads them."""
    from ligo.skymap.bayestar import filter

    return {
        ifo: filter.InterpolatedPSD(filter.abscissa(psd), psd.data.data)
        for ifo, psd in psds.items()
    }


def stamped(psds, gps_seconds):
    """Copies of ``psds`` whose epoch is ``gps_seconds`` (as pipelines stamp them)."""
    out = {}
    for ifo, psd in psds.items():
        copy = lal.CutREAL8FrequencySeries(psd, 0, len(psd.data.data))
        copy.epoch = lal.LIGOTimeGPS(int(gps_seconds))
        out[ifo] = copy
    return out


def append_psds(parent, psds):
    """Append ``psds`` to LIGO_LW element ``parent`` as lal.series writes them."""
    lal.series.make_psd_xmldoc(psds, xmldoc=parent, encoding="base64")
    return parent
