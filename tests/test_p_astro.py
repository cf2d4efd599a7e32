"""Tests of gwreplay.p_astro: gstlal p_astro with the real p-astro package.

Two real inputs for the same event, G322589 (a gstlal BNS-like trigger of
March 2017, m1 = 2.78, m2 = 1.00):

* p-astro's own copy under ``ligo/p_astro/tests/data/``: an integer-ID coinc
  and O3 ranking data, for which p-astro's tests require BNS ~ 1;
* the O2-era upload in ``../shared/data/reference/G322589/`` with
  ``ilwd:char`` IDs and ranking data without zero-lag counts, which must go
  through gwcelery's FAR/SNR fallback.
"""

import gzip
import json
import logging
import re
from importlib import resources
from pathlib import Path

import pytest
from builders import conf, with_defaults

from gwreplay import p_astro
from gwreplay.atomic import dumps_json
from gwreplay.errors import EventInputError

estimate_p_astro_gstlal = with_defaults(
    p_astro.estimate_p_astro_gstlal, "gwreplay.p_astro"
)
compute_p_astro_gstlal = with_defaults(
    p_astro.compute_p_astro_gstlal, "gwreplay.p_astro"
)
write_p_astro = with_defaults(p_astro.write_p_astro, "gwreplay.p_astro")

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared/data/reference"
CATEGORIES = {"BNS", "NSBH", "BBH", "Terrestrial"}

#: Values written in the text of G322589's coinc.xml (coinc_inspiral row).
G322589_SNR = 10.47153907920779
G322589_FAR = 1.828671888312737e-07


@pytest.fixture(scope="module")
def o2_event():
    """The O2-era G322589 upload (ilwd:char IDs) from ../shared/data/reference."""
    folder = REFERENCE / "G322589"
    if not folder.is_dir():
        pytest.skip("reference data ../shared/data/reference not found")
    return {"coinc": folder / "coinc.xml", "ranking": folder / "ranking_data.xml.gz"}


def assert_probabilities(probabilities):
    """Exactly the four categories, plain floats in [0, 1], summing to 1."""
    assert set(probabilities) == CATEGORIES
    for value in probabilities.values():
        assert type(value) is float
        assert 0.0 <= value <= 1.0
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-12)


# --- the two methods on real data -------------------------------------------------


def test_packaged_g322589_is_a_bns_by_ranking_statistic(packaged, caplog):
    """p-astro's test_compute_p_astro_1: G322589 with O3 ranking data is BNS."""
    with caplog.at_level(logging.INFO, logger="gwreplay.p_astro"):
        result = estimate_p_astro_gstlal(
            "G322589", packaged["coinc"], packaged["ranking"]
        )
    assert result.method == p_astro.METHOD_RANKING_STATISTIC
    assert result.fallback_reason is None
    assert_probabilities(result.probabilities)
    assert result.probabilities["BNS"] > 0.99
    assert result.probabilities["Terrestrial"] < 0.01
    assert "p_astro method: ranking_statistic" in caplog.text


def test_packaged_g5351_has_a_sizeable_terrestrial_probability(packaged):
    """p-astro's test_compute_p_astro_2: FAR 1.9e-6 gives P(Terrestrial) > 0.25."""
    result = estimate_p_astro_gstlal(
        "G5351", packaged["coinc_G5351"], packaged["ranking"]
    )
    assert result.method == p_astro.METHOD_RANKING_STATISTIC
    assert_probabilities(result.probabilities)
    assert result.probabilities["Terrestrial"] > 0.25


def test_o2_upload_falls_back_to_far_snr(o2_event, caplog):
    """No zero-lag counts in O2 ranking data: gwcelery's FAR/SNR estimate is used.

    Expected values from Kapadia et al. (2020) toy model, by hand: f/b =
    (3 rho*^3 / rho^4) (FAR* / FAR) with rho* = 8.5, FAR* = 1/30 d; the event
    falls in the BNS mass bin (both masses <= 3) of 3 bins, so
    P(BNS) = 3 L_BNS f/b / (3 L_BNS f/b + FAR* T) with L_BNS = 2.1105 and
    T = 14394240 s.
    """
    with caplog.at_level(logging.INFO, logger="gwreplay.p_astro"):
        result = estimate_p_astro_gstlal(
            "G322589", o2_event["coinc"], o2_event["ranking"]
        )
    assert result.method == p_astro.METHOD_FAR_SNR
    assert "zero-lag counts are all zero" in result.fallback_reason
    assert "using the FAR/SNR approximation" in caplog.text
    assert "p_astro method: far_snr" in caplog.text
    assert_probabilities(result.probabilities)

    far_star = 1 / (30 * 86400)
    f_over_b = 3 * 8.5**3 / G322589_SNR**4 * far_star / G322589_FAR
    bns = 3 * 2.11050326523 * f_over_b
    terrestrial = far_star * 14394240
    assert result.probabilities["BNS"] == pytest.approx(
        bns / (bns + terrestrial), rel=1e-9
    )
    assert result.probabilities["Terrestrial"] == pytest.approx(
        terrestrial / (bns + terrestrial), rel=1e-9
    )
    assert result.probabilities["NSBH"] == result.probabilities["BBH"] == 0.0


def test_far_snr_fallback_constants(o2_event):
    """snr_star is honoured; far_star cancels, as f/b and Lambda_0 both scale with it.

    In the toy model f/b is proportional to FAR* and the terrestrial count is
    FAR* T, so the probabilities cannot depend on FAR*.
    """
    args = ("G322589", o2_event["coinc"], o2_event["ranking"])
    default = compute_p_astro_gstlal(*args)
    higher_snr_star = compute_p_astro_gstlal(*args, p_astro_snr_star=9.0)
    other_far_star = compute_p_astro_gstlal(*args, p_astro_far_star=1 / (300 * 86400))
    assert higher_snr_star["BNS"] > default["BNS"]
    assert other_far_star["BNS"] == pytest.approx(default["BNS"], rel=1e-12)


# --- both LIGO-LW dialects ----------------------------------------------------------


def test_o2_coinc_converts_to_p_astros_integer_id_copy(o2_event, packaged):
    """strip_ilwdchar of the O2 upload gives p-astro's integer-ID file exactly."""
    xmldoc, converted = p_astro.read_modern_ligolw("G322589", o2_event["coinc"])
    assert b"ilwd:char" in o2_event["coinc"].read_bytes()
    assert b"ilwd:char" not in converted
    assert converted == packaged["coinc"].read_bytes()


def test_integer_id_file_is_passed_through_unchanged(packaged):
    """A newer-dialect file reaches p-astro byte for byte."""
    _, data = p_astro.read_modern_ligolw("G322589", packaged["coinc"])
    assert data == packaged["coinc"].read_bytes()


def test_both_dialects_of_the_coinc_read_the_same(o2_event, packaged):
    """The ilwd:char and integer-ID coincs of G322589 give the same event values."""
    old = p_astro.read_coinc("G322589", o2_event["coinc"])
    new = p_astro.read_coinc("G322589", packaged["coinc"])
    assert old == new
    assert old.snr == G322589_SNR
    assert old.far == G322589_FAR
    assert old.ln_likelihood_ratio == pytest.approx(21.65, abs=0.01)
    assert old.mass1 == pytest.approx(2.78, abs=0.01)
    assert old.mass2 == pytest.approx(1.00, abs=0.01)


def test_o2_coinc_with_o3_ranking_data_uses_ranking_statistic(o2_event, packaged):
    """An ilwd:char coinc with integer-ID ranking data: same answer as all-integer."""
    mixed = estimate_p_astro_gstlal("G322589", o2_event["coinc"], packaged["ranking"])
    modern = estimate_p_astro_gstlal("G322589", packaged["coinc"], packaged["ranking"])
    assert mixed.method == p_astro.METHOD_RANKING_STATISTIC
    assert mixed.probabilities == modern.probabilities


# --- output file ------------------------------------------------------------------


def test_write_p_astro_is_canonical_and_reproducible(packaged, tmp_path):
    """Two runs write byte-identical canonical JSON holding only probabilities."""
    first = tmp_path / "a" / "p_astro_gstlal.json"
    second = tmp_path / "b" / "p_astro_gstlal.json"
    for out in (first, second):
        returned = write_p_astro("G322589", packaged["coinc"], packaged["ranking"], out)
    text = first.read_text()
    assert first.read_bytes() == second.read_bytes()
    written = json.loads(text)
    assert written == returned
    assert text == dumps_json(written)
    assert list(json.loads(text)) == sorted(CATEGORIES)
    assert_probabilities(written)
    assert [p.name for p in first.parent.iterdir()] == ["p_astro_gstlal.json"]


def test_write_p_astro_fallback_is_reproducible(o2_event, tmp_path):
    """The FAR/SNR path writes the same bytes twice too."""
    outs = [tmp_path / f"{i}.json" for i in range(2)]
    for out in outs:
        write_p_astro("G322589", o2_event["coinc"], o2_event["ranking"], out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    assert_probabilities(json.loads(outs[0].read_text()))


# --- configuration ----------------------------------------------------------------


def test_defaults_are_gwcelerys_o3_values():
    """Livetime as in p-astro's data/p_astro_livetime.json; 686 template bins."""
    shipped = json.loads(
        (resources.files("ligo.p_astro.data") / "p_astro_livetime.json").read_text()
    )
    defaults = conf("gwreplay.p_astro")
    assert defaults["p_astro_livetime"] == shipped["p_astro_livetime"]
    assert p_astro.weights_bin_count() == 686
    assert defaults["p_astro_far_star"] == 1 / 2592000
    assert defaults["p_astro_snr_star"] == 8.5
    assert set(p_astro.load_mean_counts()) == set(p_astro.MEAN_COUNT_KEYS)


def test_unknown_config_key_is_refused(packaged):
    with pytest.raises(TypeError):
        compute_p_astro_gstlal(
            "G322589", packaged["coinc"], packaged["ranking"], p_astro_livtime=1
        )


def test_configured_mean_counts_file_is_used(packaged, tmp_path):
    """p_astro_url points at a local mean-counts file instead of p-astro's copy."""
    counts = tmp_path / "mean_counts.json"
    counts.write_text(
        json.dumps(
            {
                "counts_BNS": 1e-9,
                "counts_NSBH": 2.77,
                "counts_BBH": 10.46,
                "counts_Terrestrial": 3923,
            }
        )
    )
    result = compute_p_astro_gstlal(
        "G322589", packaged["coinc"], packaged["ranking"], p_astro_url=str(counts)
    )
    assert result["BNS"] < 0.5


# --- bad input --------------------------------------------------------------------


def _assert_blames(excinfo, graceid, filename):
    error = excinfo.value
    assert error.event_id == graceid
    assert error.filename == filename
    assert str(error).startswith(f"{graceid}: {filename}: ")


def _without_table(text, table):
    pattern = rf'<Table Name="{table}:table">.*?</Table>\s*'
    stripped, count = re.subn(pattern, "", text, flags=re.S)
    assert count == 1
    return stripped


def _bad_coincs(o2_event, packaged):
    """name -> (bytes of a broken coinc.xml, fragment of the expected reason)."""
    modern = packaged["coinc"].read_text()
    unreadable = "not a readable LIGO-LW document"
    return {
        "empty": (b"", "empty"),
        "not XML": (b"this is not a LIGO-LW document\n", unreadable),
        "truncated": (packaged["coinc"].read_bytes()[:1500], unreadable),
        "truncated O2": (o2_event["coinc"].read_bytes()[:2000], unreadable),
        "no coinc_inspiral": (
            _without_table(modern, "coinc_inspiral").encode(),
            "no coinc_inspiral table",
        ),
        "no coinc_inspiral O2": (
            _without_table(o2_event["coinc"].read_text(), "coinc_inspiral").encode(),
            "no coinc_inspiral table",
        ),
        "no sngl_inspiral": (
            _without_table(modern, "sngl_inspiral").encode(),
            "no sngl_inspiral rows",
        ),
        "ranking data as coinc": (
            gzip.decompress(packaged["ranking"].read_bytes()),
            "no coinc_event table",
        ),
    }


def test_every_bad_coinc_is_an_event_input_error(o2_event, packaged, tmp_path):
    for case, (data, reason) in _bad_coincs(o2_event, packaged).items():
        coinc = tmp_path / case.replace(" ", "_") / "coinc.xml"
        coinc.parent.mkdir()
        coinc.write_bytes(data)
        with pytest.raises(EventInputError, match=reason) as excinfo:
            compute_p_astro_gstlal("G322589", coinc, packaged["ranking"])
        _assert_blames(excinfo, "G322589", "coinc.xml")


def _bad_ranking_data(o2_event, packaged):
    """name -> (bytes of a broken ranking_data.xml.gz, fragment of the reason)."""
    xml = gzip.decompress(packaged["ranking"].read_bytes())
    unreadable = "not a readable LIGO-LW document"
    wrong_kind = "not gstlal ranking data"
    return {
        "empty": (b"", "file is empty"),
        "empty gzip": (gzip.compress(b""), "empty after decompression"),
        "not XML": (gzip.compress(b"not XML at all"), unreadable),
        "truncated gzip": (packaged["ranking"].read_bytes()[:5000], "truncated"),
        "truncated XML": (gzip.compress(xml[: len(xml) // 2]), unreadable),
        "coinc as ranking data": (packaged["coinc"].read_bytes(), wrong_kind),
        "O2 coinc as ranking data": (o2_event["coinc"].read_bytes(), wrong_kind),
        "no zero-lag PDF": (
            gzip.compress(
                xml.replace(b"zero_lag_lr_lnpdf:pylal_rate_binnedarray", b"other:x")
            ),
            "malformed ranking-statistic PDFs",
        ),
    }


def test_every_bad_ranking_data_is_an_event_input_error(o2_event, packaged, tmp_path):
    for case, (data, reason) in _bad_ranking_data(o2_event, packaged).items():
        ranking = tmp_path / case.replace(" ", "_") / "ranking_data.xml.gz"
        ranking.parent.mkdir()
        ranking.write_bytes(data)
        with pytest.raises(EventInputError, match=reason) as excinfo:
            compute_p_astro_gstlal("G322589", packaged["coinc"], ranking)
        _assert_blames(excinfo, "G322589", "ranking_data.xml.gz")


def test_missing_files_are_event_input_errors(packaged, tmp_path):
    with pytest.raises(EventInputError, match="missing") as excinfo:
        compute_p_astro_gstlal("G322589", tmp_path / "coinc.xml", packaged["ranking"])
    _assert_blames(excinfo, "G322589", "coinc.xml")
    with pytest.raises(EventInputError, match="missing") as excinfo:
        compute_p_astro_gstlal(
            "G322589", packaged["coinc"], tmp_path / "ranking_data.xml.gz"
        )
    _assert_blames(excinfo, "G322589", "ranking_data.xml.gz")


def test_zero_far_cannot_use_the_fallback(o2_event, tmp_path):
    """A coinc with FAR 0 and no usable ranking data has no FAR/SNR estimate."""
    text = o2_event["coinc"].read_text()
    assert text.count(repr(G322589_FAR)) == 1
    coinc = tmp_path / "coinc.xml"
    coinc.write_text(text.replace(repr(G322589_FAR), "0"))
    with pytest.raises(EventInputError, match="FAR > 0") as excinfo:
        compute_p_astro_gstlal("G322589", coinc, o2_event["ranking"])
    _assert_blames(excinfo, "G322589", "coinc.xml")


def test_write_p_astro_leaves_no_file_on_error(packaged, tmp_path):
    bad = tmp_path / "in" / "ranking_data.xml.gz"
    bad.parent.mkdir()
    bad.write_bytes(b"")
    out = tmp_path / "out" / "p_astro_gstlal.json"
    with pytest.raises(EventInputError):
        write_p_astro("G322589", packaged["coinc"], bad, out)
    assert not out.exists()


def test_unsafe_event_id_is_refused(packaged, tmp_path):
    with pytest.raises(ValueError):
        write_p_astro(
            "../G1", packaged["coinc"], packaged["ranking"], tmp_path / "x.json"
        )
