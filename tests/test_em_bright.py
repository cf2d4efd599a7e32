"""Tests of gwreplay.em_bright: HasNS, HasRemnant and HasMassGap.

Expected values come from outside the module: the Foucart, Hinderer & Nissanke
(2018) formula and the Bardeen-Press-Teukolsky ISCO worked by hand below,
ligo.em_bright's own ``computeDiskMass`` docstring example, gwcelery's O3 test
of G211117, Fisher matrices computed here with lalsimulation, and numbers
written in the text of the real coinc.xml files.
"""

import json
import math
import os
import subprocess
import sys
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from builders import with_defaults

from gwreplay import em_bright
from gwreplay.errors import EventInputError, InvalidIdError

classify = with_defaults(em_bright.classify, "gwreplay.em_bright")
classify_coinc = with_defaults(em_bright.classify_coinc, "gwreplay.em_bright")
write_source_classification = with_defaults(
    em_bright.write_source_classification, "gwreplay.em_bright"
)

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared/data/reference"

#: Values written in the coinc_inspiral rows of the files (network SNR).
G211117_COINC_SNR = 15.61787480055296
G322589_COINC_SNR = 10.47153907920779
G5351_COINC_SNR = 6.191498023378264


@pytest.fixture(scope="module")
def reference():
    """``../shared/data/reference`` beside the checkout, or skip."""
    if not REFERENCE.is_dir():
        pytest.skip("reference data ../shared/data/reference not found")
    return REFERENCE


@pytest.fixture(scope="module")
def packaged():
    """Integer-ID coincs shipped with p-astro (G322589 and G5351)."""
    pytest.importorskip("ligo.p_astro")
    folder = resources.files("ligo.p_astro.tests") / "data"
    paths = {
        "G322589": Path(str(folder / "coinc_G322589.xml")),
        "G5351": Path(str(folder / "coinc_G5351.xml")),
    }
    for path in paths.values():
        if not path.is_file():
            pytest.skip(f"p-astro test data {path} not installed")
    return paths


def coinc_file(tmp_path, data):
    """Write ``data`` (str or bytes) as ``tmp_path/coinc.xml``."""
    path = tmp_path / "coinc.xml"
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


# --- Kerr ISCO and the remnant-mass formula, by hand ---------------------------------


def test_kerr_isco_radius_by_hand():
    """BPT72 Eq. 2.21 worked by hand for chi = 0.9; textbook values at 0, +-1."""
    # Z1 = 1 + (1 - chi^2)^(1/3) [(1 + chi)^(1/3) + (1 - chi)^(1/3)]
    #    = 1 + 0.19^(1/3) (1.9^(1/3) + 0.1^(1/3))
    #    = 1 + 0.5748897 (1.2385623 + 0.4641589) = 1.9788769
    # Z2 = sqrt(3 chi^2 + Z1^2) = sqrt(2.43 + 3.9159540) = 2.5191177
    # R  = 3 + Z2 - sqrt((3 - Z1)(3 + Z1 + 2 Z2))
    #    = 5.5191177 - sqrt(1.0211231 * 10.0171122) = 5.5191177 - 3.1982346
    assert em_bright.kerr_isco_radius(0.9) == pytest.approx(2.3208831, abs=1e-6)
    np.testing.assert_allclose(
        em_bright.kerr_isco_radius([0.0, 1.0, -1.0]), [6.0, 1.0, 9.0], rtol=1e-12
    )
    with pytest.raises(ValueError):
        em_bright.kerr_isco_radius(1.01)


def test_remnant_mass_by_hand_for_a_spinning_nsbh():
    """FHN18 Eq. 4 for a 5 + 1.4 Msun NSBH, chi_BH = 0.9, R_NS = 12 km."""
    # compactness C = G M / (R c^2) = 1.4 * 1.4766250 km / 12 km = 0.1722729
    # eta = 5 * 1.4 / 6.4^2 = 7 / 40.96 = 0.1708984; eta^(1/3) = 0.5549400
    # R_isco(0.9) = 2.3208830 (test above)
    # alpha (1 - 2C) / eta^(1/3) = 0.406 * 0.6554542 / 0.5549400 = 0.4795372
    # beta R_isco C / eta = 0.139 * 2.3208830 * 0.1722729 / 0.1708984 = 0.3251973
    # bracket = 0.4795372 - 0.3251973 + 0.255 = 0.4093399
    # bracket^delta = 0.4093399^1.761 = 0.2074341
    # M_b = 1.4 (1 + 0.6 C / (1 - 0.5 C)) = 1.4 * 1.1131063 = 1.5583489
    # M_rem = 0.2074341 * 1.5583489 = 0.3232546
    assert em_bright.remnant_mass(5.0, 1.4, 0.9, 12.0) == pytest.approx(
        0.3232546, rel=2e-6
    )


def test_remnant_mass_is_zero_when_the_bracket_is_negative():
    """8 + 1.4 Msun, no spin: the NS plunges whole; 5 + 1.4 needs spin."""
    # eta = 11.2 / 9.4^2 = 0.1267542; eta^(1/3) = 0.5023281
    # 0.406 * 0.6554542 / 0.5023281 - 0.139 * 6 * 0.1722729 / 0.1267542 + 0.255
    #   = 0.5297621 - 1.1334980 + 0.255 = -0.3487359 < 0
    assert em_bright.remnant_mass(8.0, 1.4, 0.0, 12.0) == 0.0
    # 5 + 1.4, chi = 0: 0.4795372 - 0.139 * 6 * 0.1722729 / 0.1708984 + 0.255
    #   = 0.4795372 - 0.8407076 + 0.255 = -0.1061704 < 0
    assert em_bright.remnant_mass(5.0, 1.4, 0.0, 12.0) == 0.0


def test_remnant_mass_matches_ligo_em_bright_docstring_example():
    """ligo.em_bright's computeDiskMass example (R_NS = 15 km, no spin).

    ``computeDiskMass([5, 6, 7], [1.0, 1.2, 1.6], 0, 0, R_ns=15000., ...)``
    returns [0.12265712, 0.04272054, 0.]; em_bright uses Breu & Rezzolla's
    baryon mass, we Lattimer & Prakash's, which differ by < 0.3% here.
    """
    result = em_bright.remnant_mass(
        np.array([5.0, 6.0, 7.0]), np.array([1.0, 1.2, 1.6]), np.zeros(3), 15.0
    )
    assert result.shape == (3,)
    np.testing.assert_allclose(result[:2], [0.12265712, 0.04272054], rtol=3e-3)
    assert result[2] == 0.0


def test_remnant_mass_refuses_unphysical_input():
    with pytest.raises(ValueError):
        em_bright.remnant_mass(5.0, 1.4, 0.9, 0.0)
    with pytest.raises(ValueError):
        em_bright.remnant_mass(5.0, -1.4, 0.9, 12.0)
    with pytest.raises(ValueError):
        em_bright.remnant_mass(5.0, 1.4, float("nan"), 12.0)


# --- the measurement-error model --------------------------------------------------


def fisher_widths(mass1, mass2, snr=10.0):
    """Fisher-matrix sigma(ln Mc), sigma(eta), sigma(chi), corr(eta, chi).

    IMRPhenomD with equal aligned spins chi, aLIGO design noise, 20-2048 Hz,
    coalescence time and phase marginalised: what the module's calibration
    table quotes.
    """
    import lal
    import lalsimulation

    df, f_low, f_high = 0.25, 20.0, 2048.0
    freqs = np.arange(0.0, f_high + df, df)
    band = freqs >= f_low
    psd = np.array([lalsimulation.SimNoisePSDaLIGOZeroDetHighPower(f) for f in freqs])

    def waveform(ln_mchirp, eta, chi):
        m1, m2 = em_bright.component_masses(math.exp(ln_mchirp), eta)
        hp, _ = lalsimulation.SimInspiralChooseFDWaveform(
            float(m1) * lal.MSUN_SI,
            float(m2) * lal.MSUN_SI,
            0.0,
            0.0,
            chi,
            0.0,
            0.0,
            chi,
            1e8 * lal.PC_SI,
            0.0,
            0.0,
            0.0,
            0.0,
            0.0,
            df,
            f_low,
            f_high,
            f_low,
            None,
            lalsimulation.IMRPhenomD,
        )
        return hp.data.data[: len(freqs)]

    def inner(a, b):
        return 4 * df * np.real(np.sum(a[band] * np.conj(b[band]) / psd[band]))

    eta = mass1 * mass2 / (mass1 + mass2) ** 2
    x0 = np.array([math.log((mass1 * mass2) ** 0.6 / (mass1 + mass2) ** 0.2), eta, 0])
    h0 = waveform(*x0)
    scale = snr / math.sqrt(inner(h0, h0))
    derivatives = []
    for i, step in enumerate((1e-6, 1e-5, 1e-4)):
        up, down = x0.copy(), x0.copy()
        up[i] += step
        down[i] -= step
        derivatives.append((waveform(*up) - waveform(*down)) / (2 * step) * scale)
    derivatives += [2j * np.pi * freqs * h0 * scale, 1j * h0 * scale]
    fisher = np.array([[inner(a, b) for b in derivatives] for a in derivatives])
    cov = np.linalg.inv(fisher)
    sigma = np.sqrt(np.diag(cov))
    return sigma[0], sigma[1], sigma[2], cov[1, 2] / (sigma[1] * sigma[2])


@pytest.mark.parametrize("mass1, mass2", [(1.4, 1.3), (8.0, 1.4)])
def test_widths_agree_with_a_fisher_matrix(mass1, mass2):
    """Model widths at SNR 10 within a factor 2 of a Fisher matrix; same sign."""
    fisher = fisher_widths(mass1, mass2)
    model = em_bright.measurement_widths(
        float(em_bright.chirp_mass(mass1, mass2)),
        float(em_bright.symmetric_mass_ratio(mass1, mass2)),
        10.0,
    )
    for ours, theirs in zip(model, fisher[:3], strict=True):
        assert 0.5 < ours / theirs < 2.0
    assert fisher[3] < -0.9  # the mass-ratio/spin degeneracy
    assert em_bright.ETA_CHI_CORRELATION < 0


def draw(template, snr=12.0, seed=1, num_samples=20000):
    return em_bright.sample_source_parameters(
        *template, snr, np.random.default_rng(seed), num_samples
    )


def test_samples_are_physical_and_centred_on_the_template():
    samples = draw((5.0, 1.4, 0.9, 0.0))
    m1, m2, chi1, chi2 = samples
    assert len(m1) == 20000
    assert np.all(m1 >= m2) and np.all(m2 > 0)
    assert np.all(np.abs(chi1) <= 1) and np.all(np.abs(chi2) <= 1)
    eta = em_bright.symmetric_mass_ratio(m1, m2)
    assert np.all(eta <= 0.25) and np.all(eta >= em_bright.ETA_MIN)
    mchirp = em_bright.chirp_mass(m1, m2)
    assert np.median(mchirp) == pytest.approx(em_bright.chirp_mass(5.0, 1.4), rel=1e-3)
    assert np.median(eta) == pytest.approx(7 / 40.96, rel=0.02)


def test_errors_scale_as_one_over_snr_and_chirp_mass_is_tightest():
    """Cutler & Flanagan 1994: sigma ~ 1/SNR; chirp mass far better than eta."""
    for template in ((8.0, 1.4, 0.0, 0.0), (1.4, 1.3, 0.0, 0.0)):
        low, high = draw(template, snr=10.0), draw(template, snr=40.0)
        spread = [
            np.std(np.log(em_bright.chirp_mass(s.mass1, s.mass2))) for s in (low, high)
        ]
        assert spread[0] / spread[1] == pytest.approx(4.0, rel=0.05)
        eta = em_bright.symmetric_mass_ratio(low.mass1, low.mass2)
        assert np.std(np.log(eta)) > 10 * spread[0]


def test_lower_mass_ratio_goes_with_higher_spin():
    """Hannam et al. 2013: unequal masses mimic aligned spin (negative corr.)."""
    samples = draw((8.0, 1.4, 0.0, 0.0))
    eta = em_bright.symmetric_mass_ratio(samples.mass1, samples.mass2)
    assert np.corrcoef(eta, samples.spin1z)[0, 1] < -0.5


def test_spins_at_the_kerr_bound_stay_within_it():
    samples = draw((5.0, 1.4, 1.0, -1.0))
    assert np.all(samples.spin1z == 1.0) and np.all(samples.spin2z == -1.0)
    samples = draw((5.0, 1.4, 0.99, 0.0))
    assert np.all(np.abs(samples.spin1z) <= 1.0)


# --- classification pins --------------------------------------------------------------


def test_bns_has_ns_and_remnant():
    result = classify(1.4, 1.3, 0.0, 0.0, 12.0, seed_key="G1")
    assert result["HasNS"] > 0.9
    assert result["HasRemnant"] > 0.9
    assert result["HasMassGap"] < 0.1


def test_bbh_has_neither():
    result = classify(30.0, 25.0, 0.0, 0.0, 12.0, seed_key="G1")
    assert result["HasNS"] < 0.01
    assert result["HasRemnant"] < 0.01
    assert result["HasMassGap"] < 0.01


def test_heavy_nonspinning_nsbh_has_ns_but_no_remnant():
    result = classify(8.0, 1.4, 0.0, 0.0, 12.0, seed_key="G1")
    assert result["HasNS"] > 0.9
    assert result["HasRemnant"] < 0.1


def test_light_rapidly_spinning_nsbh_has_a_remnant():
    result = classify(5.0, 1.4, 0.9, 0.0, 12.0, seed_key="G1")
    assert result["HasRemnant"] > 0.5
    # Without spin the same binary leaves (almost) nothing: hand value above.
    assert (
        classify(5.0, 1.4, 0.0, 0.0, 12.0, seed_key="G1")["HasRemnant"]
        < result["HasRemnant"] - 0.5
    )


def test_mass_gap_primary():
    result = classify(4.0, 1.4, 0.0, 0.0, 12.0, seed_key="G1")
    assert result["HasMassGap"] > 0.5


def test_g211117_as_gwcelerys_o3_test():
    """gwcelery's O3 test_classify_gstlal: HasNS and HasRemnant ~1 (abs 1e-3)."""
    result = classify(1.355607, 1.279483, 0.0, 0.0, 15.6178, seed_key="G211117")
    assert result["HasNS"] == pytest.approx(1.0, abs=1e-3)
    assert result["HasRemnant"] == pytest.approx(1.0, abs=1e-3)


def test_bns_convention_follows_the_maximum_ns_mass():
    """ligo.em_bright: both components below the maximum NS mass -> remnant.

    With a 50 Msun "NS" every sample of an 8 + 1.4 template (m1 < 43 Msun at
    eta >= ETA_MIN) counts as a BNS, so the bare FHN18 value 0 no longer applies.
    """
    conf = {"em_bright_ns_max_mass": 50.0}
    result = classify(8.0, 1.4, 0.0, 0.0, 12.0, seed_key="G1", **conf)
    assert result["HasRemnant"] == 1.0


def test_output_is_plain_rounded_probabilities():
    result = classify(5.0, 1.4, 0.3, 0.0, 8.0, seed_key="G1")
    assert set(result) == {"HasNS", "HasRemnant", "HasMassGap"}
    for value in result.values():
        assert type(value) is float and 0.0 <= value <= 1.0
        assert value == round(value, 4)


def test_template_order_does_not_matter():
    one = classify(5.0, 1.4, 0.9, 0.1, 12.0, seed_key="G1")
    two = classify(1.4, 5.0, 0.1, 0.9, 12.0, seed_key="G1")
    assert one == two


# --- reproducibility ------------------------------------------------------------------


def test_same_graceid_same_result_different_graceid_different_draws():
    template = (5.0, 1.4, 0.3, 0.0, 8.0)
    first = classify(*template, seed_key="G1234")
    assert classify(*template, seed_key="G1234") == first
    other = classify(*template, seed_key="G1235")
    assert other != first
    a = draw(template[:4], seed=em_bright.seed_from_key("G1234"))
    b = draw(template[:4], seed=em_bright.seed_from_key("G1234"))
    c = draw(template[:4], seed=em_bright.seed_from_key("G1235"))
    np.testing.assert_array_equal(a.mass1, b.mass1)
    assert not np.any(a.mass1 == c.mass1)


def test_result_does_not_depend_on_python_hash_seed():
    code = (
        "from gwreplay import em_bright; from gwreplay.config import *;"
        "conf = module_settings(defaults(), 'gwreplay.em_bright');"
        "print(em_bright.classify(5.0, 1.4, 0.3, 0.0, 8.0, seed_key='G1234', **conf))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(outputs) == 1
    assert outputs.pop().strip() == str(
        classify(5.0, 1.4, 0.3, 0.0, 8.0, seed_key="G1234")
    )


# --- real coinc.xml files, both dialects ----------------------------------------------


def read_with_ligo_skymap(path):
    """Template and network SNR as ligo.skymap.io.events reads them: an
    independent reader of the same rows (it needs a process table)."""
    from ligo.skymap.io import events

    (event,) = events.ligolw.open(str(path), psd_file=None, coinc_def=None).values()
    snr = sum(single.snr**2 for single in event.singles) ** 0.5
    return tuple(
        float(event.template_args[key])
        for key in ("mass1", "mass2", "spin1z", "spin2z")
    ) + (snr,)


def test_o2_coinc_with_process_table(reference):
    """G211117: ilwd:char IDs; ligo.skymap's reader gives the same values."""
    path = reference / "G211117/coinc.xml"
    template = em_bright.read_template("G211117", path)
    assert tuple(template) == pytest.approx(read_with_ligo_skymap(path), rel=1e-12)
    assert template[:4] == (1.355607, 1.279483, 0.0, 0.0)
    assert template.snr == pytest.approx(G211117_COINC_SNR, rel=1e-7)
    result = classify_coinc("G211117", reference / "G211117/coinc.xml")
    assert result["HasNS"] > 0.99 and result["HasRemnant"] > 0.99


def test_o2_coinc_without_process_table(reference, packaged):
    """G322589: no process table; both ID dialects give the same values."""
    old = em_bright.read_template("G322589", reference / "G322589/coinc.xml")
    new = em_bright.read_template("G322589", packaged["G322589"])
    assert old == new
    assert old.mass1 == pytest.approx(2.779922, rel=1e-7)
    assert old.mass2 == pytest.approx(1.0019457, rel=1e-7)
    assert old.spin1z == pytest.approx(-0.98678845, rel=1e-7)
    assert old.snr == pytest.approx(G322589_COINC_SNR, rel=1e-7)
    assert classify_coinc("G322589", reference / "G322589/coinc.xml") == classify_coinc(
        "G322589", packaged["G322589"]
    )


def test_integer_id_coinc(packaged):
    """G5351 (p-astro test data): integer IDs; ligo.skymap's reader agrees."""
    template = em_bright.read_template("G5351", packaged["G5351"])
    assert tuple(template) == pytest.approx(
        read_with_ligo_skymap(packaged["G5351"]), rel=1e-12
    )
    assert template.mass1 == pytest.approx(1.0603096, rel=1e-7)
    assert template.mass2 == pytest.approx(1.0097878, rel=1e-7)
    assert template.snr == pytest.approx(G5351_COINC_SNR, rel=1e-7)
    result = classify_coinc("G5351", packaged["G5351"])
    assert result["HasNS"] > 0.99


def test_write_source_classification(reference, tmp_path):
    out = tmp_path / "events/G211117/source_classification.json"
    returned = write_source_classification(
        "G211117", reference / "G211117/coinc.xml", out
    )
    first = out.read_bytes()
    assert json.loads(first) == returned
    assert list(json.loads(first)) == sorted(returned)
    write_source_classification("G211117", reference / "G211117/coinc.xml", out)
    assert out.read_bytes() == first
    assert [p.name for p in out.parent.iterdir()] == [out.name]


# --- bad input ------------------------------------------------------------------------


def g211117_text(reference):
    return (reference / "G211117/coinc.xml").read_text()


def one_replacement(text, old, new):
    assert text.count(old) == 1
    return text.replace(old, new)


def bad_inputs(reference):
    text = g211117_text(reference)
    no_coinc = one_replacement(
        text,
        '"coinc_event:coinc_event_id:612854","H1,L1,V1",3,"process:process_id:496",'
        '"coinc_definer:coinc_def_id:0","time_slide:time_slide_id:1",'
        "1.772450465900933e+24",
        "",
    )
    return {
        "empty": ("", "empty"),
        "not xml": ("this is not XML\n", "not a readable LIGO-LW"),
        "truncated": (text[: len(text) // 2], "not a readable LIGO-LW"),
        "no coinc_event": (no_coinc, "coinc_event"),
        "nan snr": (one_replacement(text, "9.7139359", "nan"), "H1 SNR is nan"),
        "negative snr": (
            one_replacement(text, "9.7139359", "-9.7139359"),
            "H1 SNR is -9.71",
        ),
        "negative mass": (
            text.replace("1.279483", "-1.279483"),
            "mass2 is -1.279483, not a positive number",
        ),
    }


@pytest.mark.parametrize(
    "case",
    [
        "empty",
        "not xml",
        "truncated",
        "no coinc_event",
        "nan snr",
        "negative snr",
        "negative mass",
    ],
)
def test_bad_coinc_names_event_and_file(reference, tmp_path, case):
    data, reason = bad_inputs(reference)[case]
    path = coinc_file(tmp_path, data)
    with pytest.raises(EventInputError) as info:
        write_source_classification("G211117", path, tmp_path / "out.json")
    assert info.value.event_id == "G211117"
    assert info.value.filename == "coinc.xml"
    assert str(info.value).startswith("G211117: coinc.xml: ")
    assert reason in info.value.reason
    assert not (tmp_path / "out.json").exists()


def test_bad_coinc_without_process_table(reference, tmp_path):
    """The igwn_ligolw path refuses a coinc with no coinc_event row too."""
    text = (reference / "G322589/coinc.xml").read_text()
    text = one_replacement(
        text,
        '"coinc_definer:coinc_def_id:0","coinc_event:coinc_event_id:952893","H1,L1",'
        '21.64835420480954,2,"process:process_id:22733","time_slide:time_slide_id:0"',
        "",
    )
    with pytest.raises(EventInputError, match="G322589: coinc.xml: .*coinc_event"):
        classify_coinc("G322589", coinc_file(tmp_path, text))


def test_spin_beyond_the_kerr_bound(packaged, tmp_path):
    text = packaged["G5351"].read_text().replace("0.0075823488", "1.5")
    with pytest.raises(EventInputError, match="G5351: coinc.xml: spin1z is 1.5"):
        classify_coinc("G5351", coinc_file(tmp_path, text))


def test_missing_file_and_bad_ids(tmp_path, reference):
    with pytest.raises(EventInputError, match="G1: coinc.xml: file is missing"):
        classify_coinc("G1", tmp_path / "coinc.xml")
    with pytest.raises(InvalidIdError):
        classify_coinc("../G1", reference / "G211117/coinc.xml")


def test_bad_configuration_is_not_blamed_on_the_event(reference):
    path = reference / "G211117/coinc.xml"
    with pytest.raises(ValueError, match="em_bright_ns_radius"):
        classify_coinc("G211117", path, em_bright_ns_radius=0.0)
    with pytest.raises(ValueError, match="em_bright_num_samples"):
        classify_coinc("G211117", path, em_bright_num_samples=0)
    with pytest.raises(TypeError):
        classify_coinc("G211117", path, em_bright_unknown=1)
