"""Source classification of one CBC event: HasNS, HasRemnant, HasMassGap.

gwcelery's ``em_bright`` task annotated every CBC event with the probabilities
that the binary contains a neutron star (``HasNS``), that matter is left
outside the final black hole (``HasRemnant``) and that a component lies in the
3-5 Msun "mass gap" (``HasMassGap``), from the template's masses, aligned
spins and SNR. In O3 it called ``ligo.em_bright.source_classification``,
supervised classifiers trained on recovered injections (Chatterjee et al.
2020, ApJ 896, 54, arXiv:1911.00116) whose pickled models are fetched from
LIGO servers; that cannot run offline. We compute the same three quantities
the way ``ligo.em_bright`` does for parameter-estimation samples
(``source_classification_pe_from_samples``), on samples drawn around the
template with a documented measurement-error model.

Measurement-error model (:func:`sample_source_parameters`)
    The inspiral phase measures the chirp mass best, the symmetric mass ratio
    eta worse, and the aligned spins worst, and all Fisher-matrix errors scale
    as 1/SNR (Cutler & Flanagan 1994, PRD 49, 2658; Poisson & Will 1995, PRD
    52, 848). Mass ratio and spin are partially degenerate: more unequal
    masses (lower eta) mimic a larger aligned spin (Hannam et al. 2013, ApJL
    766, L14; Baird et al. 2013, PRD 87, 024035), which is why posteriors of
    near-equal-mass systems have tails to positive effective spin (Ng et al.
    2018, PRD 98, 083007). We draw, at network SNR rho and with
    ``s = SNR_REFERENCE / rho``:

    * ln Mc ~ Normal(ln Mc_t, s * 5e-4 * (Mc_t / 1.2 Msun)**(4/3)), independent;
    * eta ~ Normal(eta_t, s * 0.2 * eta_t), truncated to [ETA_MIN, 1/4];
    * an offset dchi of both aligned spins (so chi_eff moves by dchi) from its
      Normal conditional on eta, width s * 0.15 and correlation -0.9 with eta,
      truncated so that both spins stay within the Kerr bound [-1, 1].

    The widths at SNR 10 come from Fisher matrices we computed for this module
    (lalsimulation IMRPhenomD, aLIGO design noise curve
    ``SimNoisePSDaLIGOZeroDetHighPower``, 20 Hz to 2048 Hz, equal aligned
    spins, marginalised over coalescence time and phase):

    ============  ==========  =========  =========  ==============
    masses        sigma lnMc  sigma eta  sigma chi  corr(eta, chi)
    ============  ==========  =========  =========  ==============
    1.4 + 1.3     4.5e-4      0.048      0.14       -0.999
    5 + 1.4, 0.5  1.4e-3      0.050      0.09       -0.997
    8 + 1.4       1.5e-3      0.020      0.11       -0.999
    10 + 10       4.1e-3      0.074      0.26       -0.996
    30 + 25       2.4e-2      0.029      0.11       -0.68
    ============  ==========  =========  =========  ==============

    The 5 + 1.4 Msun row has spins 0.5, the others 0. The chirp-mass power
    law fits these (the inspiral cycle count alone would give 5/3, Cutler &
    Flanagan 1994; merger-dominated signals flatten it).
    The fractional eta error ~0.2 and the spin width 0.15 are typical values
    of the table. The correlation is loosened to -0.9 because a Fisher
    matrix, a linearisation, overstates how tightly samples follow the
    degeneracy at SNR ~10, where the likelihood is far from Gaussian
    (Vallisneri 2008, PRD 77, 042001).
    ``tests/test_em_bright.py`` recomputes the first and third rows. Masses are
    detector-frame template masses, as in the O3 low-latency classifier: the
    template carries no distance. This model is not the trained classifier,
    so its values can differ from those gwcelery published.

Classification of each sample (as ``ligo.em_bright``)
    * HasNS: m2 <= ``em_bright_ns_max_mass`` (3 Msun: ``ligo.em_bright``'s
      ``threshold=3.0`` and the LVK public alerts user guide).
    * HasMassGap: m1 or m2 in [3, 5] Msun (``ligo.em_bright``'s definition).
    * HasRemnant: a binary whose secondary is above the maximum NS mass is a
      BBH, with no remnant; one whose primary is at or below it is a BNS,
      counted as leaving a remnant (``ligo.em_bright.computeDiskMass`` sets
      its remnant mass to 1 "assuming BNS is always EM-Bright", and gwcelery's
      O3 point estimate used ``disk_mass > 0 or m1 < threshold``); otherwise
      the heavier object is the black hole with the sample's primary spin and
      the remnant baryon mass of Foucart, Hinderer & Nissanke 2018
      (:func:`remnant_mass`) must be positive. ``ligo.em_bright`` takes the
      NS/BH boundary of this step from its equation of state; we use the same
      ``em_bright_ns_max_mass`` as for HasNS.

The random draws are seeded with SHA-256 of the GraceID, so a rerun gives the
same file. With N samples the Monte Carlo error of a probability p is
sqrt(p (1 - p) / N), at most 0.005 for the default N = 10000.

Reading coinc.xml
    The template and the single-detector SNRs are read with igwn_ligolw into
    untyped tables (coinc_event, coinc_event_map, sngl_inspiral), which takes
    both LIGO-LW dialects (O2-era ``ilwd:char`` row IDs and newer integer
    IDs) as written and needs no ``process`` table (some O2 gstlal uploads,
    G322589, have none). :mod:`ligo.skymap.io.events` reads the same rows
    (tests/test_em_bright.py checks that both give the same template and
    SNRs for the real events), but importing it costs 1.3 s (healpy,
    astropy, matplotlib, lalinspiral) against 0.05 s of work: most of a
    classification job (docs/benchmarks.md, overhead). The network SNR is
    the root-sum-square of the single-detector SNRs. gstlal
    writes the same number into ``coinc_inspiral.snr`` (the CoincInspiral SNR
    that gwcelery passed to em_bright): for G211117, G322589 and G5351 the two
    agree to the float32 precision of the single-detector values.
"""

import hashlib
import logging
import math
import os
from typing import NamedTuple

import numpy as np

from .atomic import write_json
from .errors import EventInputError
from .ids import validate_graceid
from .xmlguard import screen_upload

log = logging.getLogger(__name__)

# --- configuration (values and their sources: config/config.yaml) ---------------

#: The settings :func:`classify` and :func:`classify_coinc` take.
CONFIG_KEYS = ("em_bright_ns_max_mass", "em_bright_ns_radius", "em_bright_num_samples")

# --- measurement-error model (see the module docstring) ------------------------

#: Network SNR at which the widths below apply; widths scale as 1/SNR.
SNR_REFERENCE = 10.0
#: Width of ln(chirp mass) at SNR_REFERENCE for a chirp mass of MCHIRP_REFERENCE.
SIGMA_LN_MCHIRP_REFERENCE = 5e-4
#: Chirp mass (Msun) at which SIGMA_LN_MCHIRP_REFERENCE applies.
MCHIRP_REFERENCE = 1.2
#: Power of chirp mass by which the ln(chirp mass) width grows.
MCHIRP_WIDTH_EXPONENT = 4.0 / 3.0
#: Width of eta as a fraction of the template's eta at SNR_REFERENCE.
FRACTIONAL_ETA_WIDTH_REFERENCE = 0.2
#: Width of the aligned-spin (effective spin) offset at SNR_REFERENCE.
SIGMA_CHI_EFF_REFERENCE = 0.15
#: Correlation of the eta and effective-spin errors (mass-ratio/spin degeneracy).
ETA_CHI_CORRELATION = -0.9
#: Smallest eta drawn (mass ratio 1:98); a floor that keeps masses finite.
ETA_MIN = 0.01
#: Largest eta: equal masses.
ETA_MAX = 0.25
#: The mass gap between the heaviest NS and the lightest BH, in Msun.
MASS_GAP = (3.0, 5.0)

# --- Foucart, Hinderer & Nissanke 2018, PRD 98, 081501(R), Eq. (4) -----------

FHN18_ALPHA = 0.406
FHN18_BETA = 0.139
FHN18_GAMMA = 0.255
FHN18_DELTA = 1.761

#: Decimal places kept in the JSON (the resolution of 10000 samples).
PROBABILITY_DECIMALS = 4


class Template(NamedTuple):
    """What the classification needs from coinc.xml."""

    mass1: float
    mass2: float
    spin1z: float
    spin2z: float
    snr: float


class SourceSamples(NamedTuple):
    """Drawn source parameters, arrays of equal length, with mass1 >= mass2."""

    mass1: np.ndarray
    mass2: np.ndarray
    spin1z: np.ndarray
    spin2z: np.ndarray


class MeasurementWidths(NamedTuple):
    """Standard deviations of the measurement-error model at one SNR."""

    ln_mchirp: float
    eta: float
    chi_eff: float


# --- binary kinematics ---------------------------------------------------------


def chirp_mass(mass1, mass2):
    """Chirp mass (m1 m2)^(3/5) / (m1 + m2)^(1/5)."""
    mass1, mass2 = np.asarray(mass1, float), np.asarray(mass2, float)
    return (mass1 * mass2) ** 0.6 / (mass1 + mass2) ** 0.2


def symmetric_mass_ratio(mass1, mass2):
    """Symmetric mass ratio eta = m1 m2 / (m1 + m2)^2, at most 1/4."""
    mass1, mass2 = np.asarray(mass1, float), np.asarray(mass2, float)
    return mass1 * mass2 / (mass1 + mass2) ** 2


def component_masses(mchirp, eta):
    """Masses (m1 >= m2) with chirp mass ``mchirp`` and symmetric ratio ``eta``."""
    mchirp, eta = np.asarray(mchirp, float), np.asarray(eta, float)
    total = mchirp * eta**-0.6
    spread = np.sqrt(np.clip(1.0 - 4.0 * eta, 0.0, None))
    return 0.5 * total * (1.0 + spread), 0.5 * total * (1.0 - spread)


# --- remnant mass ----------------------------------------------------------------


def ns_compactness(m_ns, r_ns_km):
    """NS compactness C = G M / (R c^2), with G Msun / c^2 from LAL (MRSUN_SI)."""
    import lal

    return np.asarray(m_ns, float) * lal.MRSUN_SI / (np.asarray(r_ns_km, float) * 1e3)


def ns_baryon_mass(m_ns, compactness):
    """Baryon mass of a NS of gravitational mass ``m_ns``, Lattimer & Prakash 2001.

    M_b = M (1 + 0.6 C / (1 - 0.5 C)): Lattimer & Prakash 2001, ApJ 550, 426,
    binding-energy fit. (ligo.em_bright and lalsimulation use the quadratic of
    Breu & Rezzolla 2016, MNRAS 459, 646, instead; the two differ by less than
    0.5% for C < 0.2, and HasRemnant does not depend on the baryon mass.)
    """
    compactness = np.asarray(compactness, float)
    return np.asarray(m_ns, float) * (
        1.0 + 0.6 * compactness / (1.0 - 0.5 * compactness)
    )


def kerr_isco_radius(chi):
    """ISCO radius of a Kerr BH in units of its mass (Bardeen, Press & Teukolsky 1972).

    Prograde orbits for chi > 0, retrograde for chi < 0: 6 for chi = 0, 1 for
    chi = 1, 9 for chi = -1 (BPT72, ApJ 178, 347, Eq. 2.21). Evaluated by
    lalsimulation's ``SimNSBH_rKerrISCO``.
    """
    import lalsimulation

    chi = np.asarray(chi, float)
    if np.any(~(np.abs(chi) <= 1.0)):
        raise ValueError("black-hole spin must be within [-1, 1]")
    return np.vectorize(lalsimulation.SimNSBH_rKerrISCO, otypes=[float])(chi)


def remnant_mass(m_bh, m_ns, chi_bh, r_ns_km):
    """Baryon mass (Msun) left outside the BH after a NSBH merger; vectorised.

    Foucart, Hinderer & Nissanke 2018, PRD 98, 081501(R), arXiv:1807.00011,
    Eq. (4)::

        M_rem / M_NS^b = [max(alpha (1 - 2 rho) / eta^(1/3)
                              - beta R_isco rho / eta + gamma, 0)]^delta

    with alpha = 0.406, beta = 0.139, gamma = 0.255, delta = 1.761, rho the NS
    compactness (as in ligo.em_bright's ``computeDiskMass``), eta the
    symmetric mass ratio, R_isco the ISCO radius of the BH (aligned spin
    ``chi_bh``) in units of its mass (:func:`kerr_isco_radius`) and M_NS^b the
    NS baryon mass (:func:`ns_baryon_mass`). ``r_ns_km`` is the NS radius.
    """
    m_bh, m_ns = np.asarray(m_bh, float), np.asarray(m_ns, float)
    r_ns_km = np.asarray(r_ns_km, float)
    if np.any(~(m_bh > 0)) or np.any(~(m_ns > 0)) or np.any(~(r_ns_km > 0)):
        raise ValueError("masses and NS radius must be positive numbers")
    rho = ns_compactness(m_ns, r_ns_km)
    eta = symmetric_mass_ratio(m_bh, m_ns)
    bracket = (
        FHN18_ALPHA * (1.0 - 2.0 * rho) / np.cbrt(eta)
        - FHN18_BETA * kerr_isco_radius(chi_bh) * rho / eta
        + FHN18_GAMMA
    )
    return np.maximum(bracket, 0.0) ** FHN18_DELTA * ns_baryon_mass(m_ns, rho)


# --- drawing samples around the template -------------------------------------------


def measurement_widths(mchirp, eta, snr):
    """Widths of the measurement-error model for a template at network SNR ``snr``."""
    scale = SNR_REFERENCE / snr
    return MeasurementWidths(
        ln_mchirp=scale
        * SIGMA_LN_MCHIRP_REFERENCE
        * (mchirp / MCHIRP_REFERENCE) ** MCHIRP_WIDTH_EXPONENT,
        eta=scale * FRACTIONAL_ETA_WIDTH_REFERENCE * eta,
        chi_eff=scale * SIGMA_CHI_EFF_REFERENCE,
    )


def _truncated_normal(uniform, mean, sigma, lower, upper):
    """Map uniform deviates to a Normal(mean, sigma) truncated to [lower, upper]."""
    from scipy.stats import truncnorm

    return truncnorm.ppf(
        uniform, (lower - mean) / sigma, (upper - mean) / sigma, loc=mean, scale=sigma
    )


def _check_template(mass1, mass2, spin1z, spin2z, snr):
    """Raise ValueError unless the template is physical and the SNR positive."""
    for name, value in (("mass1", mass1), ("mass2", mass2), ("snr", snr)):
        if not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} is {value!r}, not a positive number")
    for name, value in (("spin1z", spin1z), ("spin2z", spin2z)):
        if not (math.isfinite(value) and abs(value) <= 1):
            raise ValueError(f"{name} is {value!r}, outside the Kerr bound [-1, 1]")


def sample_source_parameters(mass1, mass2, spin1z, spin2z, snr, rng, num_samples):
    """Draw ``num_samples`` source parameters around a template (module docstring).

    ``rng`` is a :class:`numpy.random.Generator`; the draws consume it in a
    fixed order, so the same generator state gives the same samples. Returns
    :class:`SourceSamples` with m1 >= m2, eta in [ETA_MIN, 1/4] and both
    aligned spins within [-1, 1].
    """
    mass1, mass2, spin1z, spin2z, snr = map(float, (mass1, mass2, spin1z, spin2z, snr))
    _check_template(mass1, mass2, spin1z, spin2z, snr)
    num_samples = int(num_samples)
    if num_samples < 1:
        raise ValueError(f"num_samples is {num_samples}, must be at least 1")
    mchirp_t = float(chirp_mass(mass1, mass2))
    eta_t = float(symmetric_mass_ratio(mass1, mass2))
    widths = measurement_widths(mchirp_t, eta_t, snr)

    mchirp = mchirp_t * np.exp(widths.ln_mchirp * rng.standard_normal(num_samples))
    eta = _truncated_normal(
        rng.random(num_samples), eta_t, widths.eta, ETA_MIN, ETA_MAX
    )
    # Spin offset given eta: bivariate-normal conditional, kept within the
    # Kerr bound for both components.
    r = ETA_CHI_CORRELATION
    uniform = rng.random(num_samples)
    lower, upper = -1.0 - min(spin1z, spin2z), 1.0 - max(spin1z, spin2z)
    if upper > lower:
        dchi = _truncated_normal(
            uniform,
            r * widths.chi_eff * (eta - eta_t) / widths.eta,
            widths.chi_eff * math.sqrt(1.0 - r * r),
            lower,
            upper,
        )
    else:  # spins of +1 and -1: no offset keeps both within the bound
        dchi = np.zeros(num_samples)
    m1, m2 = component_masses(mchirp, eta)
    # The clip only removes rounding (1 ulp) beyond the bound.
    return SourceSamples(
        m1,
        m2,
        np.clip(spin1z + dchi, -1.0, 1.0),
        np.clip(spin2z + dchi, -1.0, 1.0),
    )


# --- classification ------------------------------------------------------------


def _template_in_order(mass1, mass2, spin1z, spin2z):
    """Swap the components so that mass1 >= mass2, each keeping its spin."""
    if mass2 > mass1:
        return mass2, mass1, spin2z, spin1z
    return mass1, mass2, spin1z, spin2z


def source_properties(samples, *, ns_max_mass, ns_radius):
    """Fractions of ``samples`` that have a NS, a remnant, a mass-gap component."""
    m1, m2, chi1 = samples.mass1, samples.mass2, samples.spin1z
    has_ns = m2 <= ns_max_mass
    bns = m1 <= ns_max_mass
    nsbh = has_ns & ~bns
    has_remnant = bns.copy()
    if np.any(nsbh):
        has_remnant[nsbh] = remnant_mass(m1[nsbh], m2[nsbh], chi1[nsbh], ns_radius) > 0
    low, high = MASS_GAP
    has_mass_gap = ((m1 >= low) & (m1 <= high)) | ((m2 >= low) & (m2 <= high))
    return {
        "HasNS": float(np.mean(has_ns)),
        "HasRemnant": float(np.mean(has_remnant)),
        "HasMassGap": float(np.mean(has_mass_gap)),
    }


def seed_from_key(key):
    """A stable integer seed from ``key`` (SHA-256; never Python's salted hash())."""
    return int.from_bytes(hashlib.sha256(str(key).encode("utf-8")).digest(), "big")


def _check_config(ns_max_mass, ns_radius, num_samples):
    """Raise ValueError for a configuration no classification can use."""
    for key, value in (
        ("em_bright_ns_max_mass", ns_max_mass),
        ("em_bright_ns_radius", ns_radius),
    ):
        if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
            raise ValueError(f"{key} is {value!r}, not a positive number")
    if isinstance(num_samples, bool) or not isinstance(num_samples, int | np.integer):
        raise ValueError(f"em_bright_num_samples is {num_samples!r}, not an integer")
    if num_samples < 1:
        raise ValueError(f"em_bright_num_samples is {num_samples}, must be at least 1")


def classify(
    mass1,
    mass2,
    spin1z,
    spin2z,
    snr,
    *,
    seed_key,
    em_bright_ns_max_mass,
    em_bright_ns_radius,
    em_bright_num_samples,
):
    """HasNS, HasRemnant and HasMassGap of a template at network SNR ``snr``.

    Draws ``em_bright_num_samples`` samples (:func:`sample_source_parameters`)
    from a generator seeded by ``seed_key`` (the GraceID) and returns the
    fractions as plain floats rounded to PROBABILITY_DECIMALS places. Raises
    ValueError for an unphysical template, SNR or configuration.
    """
    _check_config(em_bright_ns_max_mass, em_bright_ns_radius, em_bright_num_samples)
    mass1, mass2, spin1z, spin2z = _template_in_order(
        *(float(value) for value in (mass1, mass2, spin1z, spin2z))
    )
    rng = np.random.default_rng(seed_from_key(seed_key))
    samples = sample_source_parameters(
        mass1, mass2, spin1z, spin2z, snr, rng, em_bright_num_samples
    )
    properties = source_properties(
        samples,
        ns_max_mass=float(em_bright_ns_max_mass),
        ns_radius=float(em_bright_ns_radius),
    )
    return {
        key: round(value, PROBABILITY_DECIMALS) for key, value in properties.items()
    }


# --- reading coinc.xml -------------------------------------------------------------


def _load_untyped(graceid, name, coinc_path):
    """Parse ``coinc_path`` with igwn_ligolw, every table as an untyped Table.

    Untyped tables accept both ID dialects as they are written and never
    refuse a document for lacking a table.
    """
    from igwn_ligolw import ligolw
    from igwn_ligolw import utils as ligolw_utils

    class UntypedTable(ligolw.Table):
        TableByName = {}

    class UntypedContentHandler(ligolw.LIGOLWContentHandler):
        def startTable(self, parent, attrs):  # noqa: N802 - igwn_ligolw's name
            return UntypedTable(attrs)

    try:
        return ligolw_utils.load_filename(
            os.fspath(coinc_path), contenthandler=UntypedContentHandler
        )
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad upload
        raise EventInputError(
            graceid, name, f"not a readable LIGO-LW document: {exc}"
        ) from exc


def _tables(xmldoc, table_name):
    """The tables of ``xmldoc`` named ``table_name``."""
    from igwn_ligolw import ligolw

    return [
        table
        for table in xmldoc.getElementsByTagName(ligolw.Table.tagName)
        if table.Name == table_name
    ]


def _rows(graceid, name, xmldoc, table_name):
    """All rows of the tables named ``table_name``; refuse a missing table."""
    tables = _tables(xmldoc, table_name)
    if not tables:
        raise EventInputError(graceid, name, f"no {table_name} table")
    return [row for table in tables for row in table]


def _template_from_tables(graceid, name, xmldoc):
    """Template and single-detector SNRs read from the tables with igwn_ligolw."""
    coincs = _rows(graceid, name, xmldoc, "coinc_event")
    if len(coincs) != 1:
        raise EventInputError(
            graceid, name, f"expected one coinc_event, found {len(coincs)}"
        )
    coinc_event_id = coincs[0].coinc_event_id
    event_ids = [
        row.event_id
        for row in _rows(graceid, name, xmldoc, "coinc_event_map")
        if row.coinc_event_id == coinc_event_id and row.table_name == "sngl_inspiral"
    ]
    singles_by_id = {
        row.event_id: row for row in _rows(graceid, name, xmldoc, "sngl_inspiral")
    }
    missing = [event_id for event_id in event_ids if event_id not in singles_by_id]
    if missing:
        raise EventInputError(
            graceid, name, f"coinc_event_map names missing sngl_inspiral rows {missing}"
        )
    singles = [singles_by_id[event_id] for event_id in event_ids]
    if not singles:
        raise EventInputError(graceid, name, "the coinc_event has no sngl_inspiral")
    first = singles[0]
    template = {
        key: getattr(first, key) for key in ("mass1", "mass2", "spin1z", "spin2z")
    }
    return template, [(row.ifo, row.snr) for row in singles]


def network_snr(graceid, name, singles):
    """Root-sum-square of single-detector SNRs ``[(detector, snr), ...]``."""
    squares = 0.0
    for detector, snr in singles:
        snr = float(snr) if snr is not None else math.nan
        if not (math.isfinite(snr) and snr >= 0):
            raise EventInputError(
                graceid, name, f"{detector} SNR is {snr!r}, not a non-negative number"
            )
        squares += snr * snr
    if not squares > 0:
        raise EventInputError(graceid, name, "network SNR is 0")
    return math.sqrt(squares)


def read_template(graceid, coinc_path):
    """Template masses, aligned spins and network SNR of the event in coinc.xml.

    Raises :class:`EventInputError` naming the event and the file for an
    empty, non-XML, truncated or incomplete document and for a NaN, negative
    or unphysical value.
    """
    name = os.path.basename(coinc_path)
    screen_upload(graceid, coinc_path)
    xmldoc = _load_untyped(graceid, name, coinc_path)
    template, singles = _template_from_tables(graceid, name, xmldoc)
    try:
        template = {key: float(value) for key, value in template.items()}
    except (TypeError, ValueError) as exc:
        raise EventInputError(
            graceid, name, f"template value not a number: {exc}"
        ) from exc
    result = Template(snr=network_snr(graceid, name, singles), **template)
    try:
        _check_template(*result)
    except ValueError as exc:
        raise EventInputError(graceid, name, str(exc)) from exc
    return result


def classify_coinc(graceid, coinc_path, **conf):
    """HasNS, HasRemnant and HasMassGap of the event in ``coinc_path``.

    ``conf`` holds the CONFIG_KEYS; the draws are seeded by ``graceid``.
    A bad file raises :class:`EventInputError`; a bad configuration ValueError.
    """
    validate_graceid(graceid)
    template = read_template(graceid, coinc_path)
    return classify(*template, seed_key=graceid, **conf)


def write_source_classification(graceid, coinc_path, out_path, **conf):
    """Classify the event of ``coinc_path``; write canonical JSON atomically."""
    properties = classify_coinc(graceid, coinc_path, **conf)
    write_json(out_path, properties)
    log.info("%s: source classification %s", graceid, properties)
    return properties
