"""Configuration of the mock-data challenge (MDC) generator, with defaults.

Keys shared with gwcelery keep gwcelery's names and take their values from
the workflow's ``config/config.yaml`` (:data:`GWCELERY_KEYS`, the one home
of those defaults); the others are specific to the generator and start with
``mdc_``. Every function of :mod:`gwreplay.mdc` takes a plain ``conf`` dict;
:func:`make_conf` fills in whatever the caller leaves out.
"""

import copy

from ..config import defaults, settings

#: Eras of ``gwreplay mdc --era`` (docs/mdc.md): ``O3`` is the store of
#: gwcelery 2.x's replays, ``O4`` adds what gwcelery 3.0.0 reads.
ERAS = ("O3", "O4")
DEFAULT_ERA = "O4"

#: The ``policies: O4:`` settings of config/config.yaml the O4 truth follows.
O4_POLICY_KEYS = (
    "superevent_far_threshold",
    "superevent_clean_up_timeout",
    "superevent_candidate_preference",
    "significant_alert_far_threshold",
    "significant_alert_trials_factor",
    "preliminary_alert_far_threshold",
    "preliminary_alert_trials_factor",
    "superevent_d_t_start",
    "superevent_d_t_end",
    "superevent_default_d_t_start",
    "superevent_default_d_t_end",
)

#: gwcelery's settings the generator follows, so that the truth it writes
#: is what the replay's orchestrator decides with its default configuration.
GWCELERY_KEYS = (
    "orchestrator_timeout",
    "superevent_far_threshold",
    "preliminary_alert_far_threshold",
    "preliminary_alert_trials_factor",
    "llhoft_channels",
)

DEFAULTS = {
    **settings(defaults(), GWCELERY_KEYS),
    # -- time line ---------------------------------------------------------
    # GPS time of the start of the MDC (2024-01-01T00:00:00 UTC).
    "mdc_start_gps": 1388102418.0,
    # Seconds between consecutive candidates, so superevents never overlap.
    "mdc_spacing": 1000.0,
    # -- population --------------------------------------------------------
    # Share of BNS, NSBH and BBH among the sources.
    "mdc_mix": {"BNS": 0.4, "NSBH": 0.2, "BBH": 0.4},
    # Largest luminosity distance (Mpc) per class: sources are uniform in
    # comoving volume out to it, chosen so that most are found at design
    # sensitivity.
    "mdc_max_distance": {"BNS": 220.0, "NSBH": 450.0, "BBH": 1800.0},
    # Source-frame component mass ranges (solar masses), uniform.
    "mdc_ns_mass": [1.1, 2.0],
    "mdc_nsbh_bh_mass": [5.0, 20.0],
    "mdc_bbh_mass": [7.0, 60.0],
    # Largest |aligned spin| of neutron stars and of black holes.
    "mdc_ns_max_spin": 0.05,
    "mdc_bh_max_spin": 0.5,
    # Waveform of the injections and low-frequency cutoff (Hz).
    "mdc_waveform": "IMRPhenomD",
    "mdc_f_low": 30.0,
    # -- detectors ---------------------------------------------------------
    "mdc_detectors": ["H1", "L1", "V1"],
    # lalsimulation analytic noise curve (SimNoisePSD<name>) per detector.
    "mdc_psd_models": {
        "H1": "aLIGOZeroDetHighPower",
        "L1": "aLIGOZeroDetHighPower",
        "V1": "AdVDesignSensitivityP1200087",
    },
    # Frequency step and maximum frequency (Hz) of the PSD files, as
    # bayestar-sample-model-psd's defaults.
    "mdc_psd_df": 1.0,
    "mdc_psd_f_max": 2048.0,
    # -- searches ----------------------------------------------------------
    # Single-detector SNR threshold and minimum number of triggers, as
    # bayestar-realize-coincs' defaults.
    "mdc_snr_threshold": 4.0,
    "mdc_min_triggers": 2,
    # Network SNR of a CBC search at which FAR = superevent_far_threshold.
    "mdc_cbc_snr_at_far_threshold": 9.0,
    # Coherent network SNR of cWB at which FAR = superevent_far_threshold.
    "mdc_burst_snr_at_far_threshold": 8.5,
    # Pipelines upload candidates up to this FAR (Hz), so some are ignored.
    "mdc_upload_far_threshold": 2 / 3600,
    # ln L = rho^2 / 2 - offset: the likelihood ratio of a candidate.
    "mdc_lnl_offset": 32.0,
    # CBC pipelines that a source is searched by, and how many (weights for
    # 1, 2, 3 pipelines).
    "mdc_cbc_pipelines": ["gstlal", "pycbc", "MBTAOnline", "spiir"],
    "mdc_pipeline_count_weights": [0.3, 0.4, 0.3],
    # Upload latency (s after the merger) per pipeline: uniform [low, high].
    "mdc_pipeline_latency": {
        "gstlal": [6.0, 14.0],
        "pycbc": [8.0, 20.0],
        "MBTAOnline": [5.0, 12.0],
        "spiir": [4.0, 10.0],
        "CWB": [20.0, 60.0],
    },
    # Pipelines that put their PSDs inside coinc.xml (others upload psd.xml.gz).
    "mdc_psd_in_coinc": {
        "gstlal": False,
        "pycbc": True,
        "MBTAOnline": True,
        "spiir": False,
    },
    # Delay (s) of each later file of an event after the event itself.
    "mdc_file_delay": [0.2, 3.0],
    # Share of sources with a louder upload after the orchestrator timeout,
    # and how long after the timeout it lands (s, uniform).
    "mdc_late_upload_fraction": 0.2,
    "mdc_late_upload_delay": [5.0, 40.0],
    # No upload lands within this many seconds of the timeout (no ties).
    "mdc_timeout_guard": 1.0,
    # -- bursts ------------------------------------------------------------
    # Share of BBH sources also found by cWB, and their least detector-frame
    # total mass (solar masses).
    "mdc_burst_fraction": 0.5,
    "mdc_burst_min_total_mass": 40.0,
    # cWB coherent SNR = efficiency x CBC network SNR + unit Gaussian noise.
    "mdc_burst_snr_efficiency": 0.85,
    # 1-sigma width (deg) of a cWB sky map at coherent SNR 10 (scales as 1/SNR).
    "mdc_burst_sky_sigma_deg": 8.0,
    "mdc_burst_skymap_nside": 64,
    # -- noise -------------------------------------------------------------
    # Terrestrial candidates: shares of superevents that are noise (FAR just
    # below the threshold) and of extra noise uploads just above it.
    "mdc_noise_fraction": 0.06,
    "mdc_subthreshold_noise_fraction": 0.03,
    # FAR of noise candidates, in units of superevent_far_threshold.
    "mdc_noise_far_below": [0.3, 0.95],
    "mdc_noise_far_above": [1.1, 1.9],
    # -- data quality --------------------------------------------------------
    # Shares of superevents (at least one each) with a bad DQ bit in an active
    # detector, a CBC hardware injection, a bad bit in a detector that did not
    # take part, and no frames at all.
    "mdc_dq_fractions": {
        "veto": 0.05,
        "inj": 0.03,
        "other_detector": 0.03,
        "no_frames": 0.02,
    },
    # Frames cover [t - pad, t + pad] around every candidate (s); enough for
    # the superevent window (1 s) plus check_vector_prepost (2 s).
    "mdc_frame_pad": 4.0,
    # -- gstlal ranking data -------------------------------------------------
    # Seconds of background in ranking_data.xml.gz (p-astro's p_astro_livetime).
    "mdc_ranking_livetime": 14394240.0,
    # -- O4 era (--era O4; the O3 era reads none of these) -------------------
    # gwcelery 3.0.0's settings (config/config.yaml, policies: O4:).
    "mdc_o4_policy": settings(defaults()["policies"]["O4"], O4_POLICY_KEYS),
    # GraceDB pipeline names that changed for O4 (gwcelery 3.0.0: "MBTA").
    "mdc_o4_pipeline_names": {"MBTAOnline": "MBTA"},
    # Share of BNS sources (at least one when there is a BNS) that an
    # EarlyWarning search finds before the merger, the EarlyWarning
    # pipelines, their low-frequency cutoff and final frequencies (Hz; the
    # template stops there, so the event is uploaded before the merger),
    # the upload latency after the final frequency (s) and the farthest
    # such source (Mpc: early warning sees nearby binaries only).
    "mdc_early_warning_fraction": 0.3,
    "mdc_early_warning_pipelines": ["gstlal", "MBTA", "spiir", "pycbc"],
    "mdc_early_warning_f_low": 10.0,
    "mdc_early_warning_f_high": [29.0, 32.0, 38.0, 49.0],
    "mdc_early_warning_latency": [2.0, 5.0],
    "mdc_early_warning_max_distance": 100.0,
    # FAR band of the less-significant noise candidates, as fractions of the
    # way (in log FAR) from the significant to the less-significant limit of
    # CBC AllSky, so they stay clear of both thresholds.
    "mdc_less_significant_band": [0.2, 0.8],
    # ADV sign-off (as gwcelery's first2years mock uploader): seconds after
    # the superevent's creation, uniform; late enough to follow the second
    # preliminary (superevent_clean_up_timeout after the first).
    "mdc_signoff_delay": [420.0, 900.0],
    # p_astro model of the pipelines' <pipeline>.p_astro.json (docs/mdc.md):
    # rate (Hz) of astrophysical candidates above network SNR 4 sqrt(2), and
    # the share of p_astro given to the class of the template.
    "mdc_p_astro_signal_rate": 1.0 / 86400.0,
    "mdc_p_astro_class_share": 0.9,
}


def make_conf(conf=None, **overrides):
    """Return a full configuration: the defaults, updated by ``conf`` and overrides.

    Unknown keys are refused so that a typo does not silently fall back to a
    default.
    """
    full = copy.deepcopy(DEFAULTS)
    for source in (conf or {}), overrides:
        for key, value in source.items():
            if key not in full:
                raise KeyError(f"unknown MDC configuration key {key!r}")
            full[key] = copy.deepcopy(value)
    return full
