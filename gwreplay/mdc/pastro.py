"""O4 uploads of the pipelines: ``<pipeline>.p_astro.json`` and burst maps.

In O4 every CBC pipeline uploads its own source classification,
``<pipeline>.p_astro.json`` with the pipeline's name in lower case, which
gwcelery 3.0.0 passes on in the alerts (``orchestrator``:
``alert_pipeline + '.p_astro.json'``), except the EarlyWarning searches of
spiir and PyCBC, whose p_astro gwcelery computes itself
(``pipelines_stock_p_astro``). cWB's BBH search uploads ``cwb.p_astro.json``
and every cWB event ``cwb.multiorder.fits``.

The p_astro model, one for all pipelines, from the background model of
:mod:`gwreplay.mdc.background` (``y = rho^2 / 2``):

* background rate density ``b(y) = F n(y) / S(y_F)``: the FAR model's
  derivative, with ``n`` the noise density, ``S`` its survival function and
  ``F = superevent_far_threshold`` at ``y_F`` (the search's SNR at that FAR);
* foreground rate density ``f(y) = R 1.5 Y_MIN^1.5 y^-2.5``, sources uniform
  in volume (``p(rho) ~ rho^-4``) at ``R = mdc_p_astro_signal_rate`` above
  ``Y_MIN`` (two detectors at SNR 4);
* ``p_astro = f / (f + b)``, ``Terrestrial = 1 - p_astro``; the class of the
  template (BNS: both masses below 3, NSBH: the lighter one, else BBH; cWB:
  BBH) gets ``mdc_p_astro_class_share`` of p_astro, the other two classes
  half the rest each.

So a candidate at the FAR threshold is terrestrial (p_astro ~ 1e-3) and one
at network SNR 11 astrophysical (~ 0.99).
"""

import math

from . import background

#: (pipeline, search) whose p_astro gwcelery 3.0.0 computes (no upload).
STOCK_P_ASTRO = {("spiir", "earlywarning"), ("pycbc", "earlywarning")}
#: Largest mass (solar masses, detector frame) counted as a neutron star.
NS_MAX_MASS = 3.0
CLASSES = ("BBH", "BNS", "NSBH")


def p_astro_filename(candidate):
    """Name of the candidate's own p_astro upload, or None."""
    pipeline, search = candidate["pipeline"].lower(), candidate["search"].lower()
    if candidate["group"] == "CBC":
        return (
            None if (pipeline, search) in STOCK_P_ASTRO else f"{pipeline}.p_astro.json"
        )
    if (pipeline, search) == ("cwb", "bbh"):
        return "cwb.p_astro.json"
    return None


def multiorder_filename(candidate):
    """Name of a burst candidate's multi-order sky map, or None."""
    if candidate["group"] == "Burst":
        return f"{candidate['pipeline'].lower()}.multiorder.fits"
    return None


def template_class(candidate):
    """BNS, NSBH or BBH from the candidate's template (cWB: BBH)."""
    template = candidate.get("template")
    if template is None:
        return "BBH"
    light = sum(mass < NS_MAX_MASS for mass in (template["mass1"], template["mass2"]))
    return {2: "BNS", 1: "NSBH"}.get(light, "BBH")


def astrophysical_probability(snr, snr_at_threshold, conf):
    """``f / (f + b)`` of the model at network SNR ``snr``."""
    y = max(0.5 * snr**2, background.Y_MIN)
    y_threshold = 0.5 * snr_at_threshold**2
    noise = (
        conf["superevent_far_threshold"]
        * background.noise_density(y)
        / background.noise_survival(y_threshold)
    )
    signal = conf["mdc_p_astro_signal_rate"] * 1.5 * background.Y_MIN**1.5 * y**-2.5
    return signal / (signal + noise)


def p_astro(candidate, conf):
    """The candidate's p_astro dict (BBH, BNS, NSBH, Terrestrial; sums to 1)."""
    scale = (
        conf["mdc_cbc_snr_at_far_threshold"]
        if candidate["group"] == "CBC"
        else conf["mdc_burst_snr_at_far_threshold"]
    )
    astro = astrophysical_probability(candidate["snr"], scale, conf)
    share = conf["mdc_p_astro_class_share"]
    best = template_class(candidate)
    values = {
        name: astro * (share if name == best else 0.5 * (1.0 - share))
        for name in CLASSES
    }
    values["Terrestrial"] = 1.0 - astro
    if not all(math.isfinite(v) and v >= 0 for v in values.values()):
        raise ValueError(f"p_astro of {candidate.get('graceid')}: {values}")
    return values


def add_o4_uploads(rng, candidates, conf):
    """Add the O4 uploads (p_astro, multi-order map) to each ``uploads`` log."""
    for candidate in candidates:
        for name in (p_astro_filename(candidate), multiorder_filename(candidate)):
            if name is not None:
                delay = rng.uniform(*conf["mdc_file_delay"])
                candidate["uploads"][name] = round(candidate["created"] + delay, 3)
