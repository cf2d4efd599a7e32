"""BAYESTAR on the real O2 event G211117, through gwreplay and directly."""

import gzip

import numpy as np
import pytest
from builders import with_defaults

from gwreplay.bayestar import localize_event, sky_map_bytes
from gwreplay.errors import EventInputError

localize_event = with_defaults(localize_event, "gwreplay.bayestar")

pytestmark = pytest.mark.slow


def area_90(path):
    """90% credible area (deg^2) and total probability of a multi-order sky map."""
    from ligo.skymap import moc
    from ligo.skymap.io import fits

    skymap = fits.read_sky_map(str(path), moc=True)
    pixel_area = moc.uniq2pixarea(skymap["UNIQ"])
    prob = pixel_area * skymap["PROBDENSITY"]
    order = np.argsort(skymap["PROBDENSITY"])[::-1]
    inside = np.cumsum(prob[order]) <= 0.9
    area_sr = pixel_area[order][inside].sum()
    return float(area_sr * (180 / np.pi) ** 2), float(prob.sum())


@pytest.fixture(scope="module")
def g211117_skymap(reference_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("bayestar") / "bayestar.fits.gz"
    written = localize_event(
        "G211117",
        reference_dir / "G211117" / "coinc.xml",
        reference_dir / "G211117" / "psd.xml.gz",
        out,
        threads=2,
        creation_gps=1186436450.0,
    )
    assert written
    return out


def test_probabilities_sum_to_one_and_object_is_graceid(g211117_skymap):
    from astropy.io import fits as afits

    area, total = area_90(g211117_skymap)
    assert total == pytest.approx(1.0, abs=1e-9)
    assert 1 < area < 41253
    header = afits.getheader(g211117_skymap, 1)
    assert header["OBJECT"] == "G211117"
    assert "RUNTIME" not in header


def test_area_equals_direct_ligo_skymap_call(reference_dir, g211117_skymap, tmp_path):
    """The same files through ligo.skymap's own API give the same 90% area."""
    import ligo.skymap
    from ligo.skymap.bayestar import localize
    from ligo.skymap.io import events, fits

    ligo.skymap.omp.num_threads = 2
    source = events.open(
        str(reference_dir / "G211117" / "coinc.xml"),
        str(reference_dir / "G211117" / "psd.xml.gz"),
    )
    (event,) = source.values()
    direct = tmp_path / "direct.fits"
    fits.write_sky_map(str(direct), localize(event), moc=True)
    ours, _ = area_90(g211117_skymap)
    theirs, _ = area_90(direct)
    assert ours == pytest.approx(theirs, rel=1e-9)


def test_gzip_header_has_no_mtime(g211117_skymap):
    data = g211117_skymap.read_bytes()
    assert data[:2] == b"\x1f\x8b"
    assert data[4:8] == b"\0\0\0\0"  # MTIME field of RFC 1952
    assert gzip.decompress(data)[:6] == b"SIMPLE"


def test_all_detectors_disabled_is_skipped(reference_dir, tmp_path):
    out = tmp_path / "bayestar.fits.gz"
    written = localize_event(
        "G211117",
        reference_dir / "G211117" / "coinc.xml",
        reference_dir / "G211117" / "psd.xml.gz",
        out,
        bayestar_disabled_detectors=["H1", "L1", "V1"],
    )
    assert written is False
    assert not out.exists()


@pytest.mark.parametrize(
    "content, reason",
    [
        (b"", "empty"),
        (b"this is not XML at all", "not a readable coinc"),
        (None, "not a readable coinc"),  # truncated half of the real file
    ],
)
def test_bad_coinc_names_event_and_file(reference_dir, tmp_path, content, reason):
    real = (reference_dir / "G211117" / "coinc.xml").read_bytes()
    coinc = tmp_path / "coinc.xml"
    coinc.write_bytes(real[: len(real) // 2] if content is None else content)
    with pytest.raises(EventInputError, match=rf"^G211117: coinc.xml: .*{reason}"):
        localize_event(
            "G211117", coinc, reference_dir / "G211117" / "psd.xml.gz", tmp_path / "o"
        )
    assert not (tmp_path / "o").exists()


def test_truncated_psd_names_psd_file(reference_dir, tmp_path):
    real = (reference_dir / "G211117" / "psd.xml.gz").read_bytes()
    psd = tmp_path / "psd.xml.gz"
    psd.write_bytes(real[: len(real) // 2])
    with pytest.raises(EventInputError, match=r"^G211117: psd.xml.gz: "):
        localize_event(
            "G211117", reference_dir / "G211117" / "coinc.xml", psd, tmp_path / "o"
        )


def test_sky_map_bytes_reproducible(g211117_skymap):
    from ligo.skymap.io import fits

    skymap = fits.read_sky_map(str(g211117_skymap), moc=True)
    assert sky_map_bytes(skymap.copy(), 1e9) == sky_map_bytes(skymap.copy(), 1e9)
