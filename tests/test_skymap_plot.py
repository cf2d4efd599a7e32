"""Tests of the sky map copy and all-sky plot (gwreplay.skymap_plot)."""

import struct

import numpy as np
import pytest

from gwreplay.errors import EventInputError
from gwreplay.skymap_plot import FIGURE_SIZE, copy_skymap, plot_skymap

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DPI = 40  # small and fast; the default (300) only scales the same drawing


@pytest.fixture(scope="module")
def skymap(tmp_path_factory):
    """A Gaussian blob at nside 32 written by ligo.skymap (flat, gzip)."""
    import healpy as hp
    from ligo.skymap.io.fits import write_sky_map

    nside = 32
    npix = hp.nside2npix(nside)
    centre = hp.ang2vec(np.deg2rad(90 - 30), np.deg2rad(150))
    vectors = np.array(hp.pix2vec(nside, np.arange(npix), nest=True)).T
    prob = np.exp((vectors @ centre - 1) / np.deg2rad(5) ** 2)
    path = tmp_path_factory.mktemp("skymap") / "bayestar.fits.gz"
    write_sky_map(
        str(path), prob / prob.sum(), nest=True, objid="S1", instruments={"H1", "L1"}
    )
    return path


def png_chunks(data):
    """[(type, payload)] of a PNG file."""
    assert data[:8] == PNG_SIGNATURE
    chunks, offset = [], 8
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks.append((kind, data[offset + 8 : offset + 8 + length]))
        offset += 12 + length
    return chunks


def test_png_is_reproducible(tmp_path, skymap):
    first, second = tmp_path / "a" / "S1.png", tmp_path / "b" / "S1.png"
    plot_skymap(skymap, first, title="S1", dpi=DPI)
    plot_skymap(skymap, second, title="S1", dpi=DPI)
    data = first.read_bytes()
    assert len(data) > 1000
    assert second.read_bytes() == data
    chunks = png_chunks(data)
    kinds = [kind for kind, _ in chunks]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    # No text chunks: nothing names the software version or a time.
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(kinds)
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (FIGURE_SIZE[0] * DPI, FIGURE_SIZE[1] * DPI)
    assert sorted(p.name for p in first.parent.iterdir()) == ["S1.png"]


def test_the_picture_depends_on_the_map(tmp_path, skymap):
    plot_skymap(skymap, tmp_path / "with.png", title="S1", dpi=DPI)
    plot_skymap(skymap, tmp_path / "other.png", title="S2", dpi=DPI)
    plot_skymap(skymap, tmp_path / "plain.png", dpi=DPI, contours=(), annotate=False)
    pictures = {
        (tmp_path / name).read_bytes()
        for name in ("with.png", "other.png", "plain.png")
    }
    assert len(pictures) == 3


def test_missing_or_broken_skymap(tmp_path):
    with pytest.raises(EventInputError, match=r"^S1: absent\.fits: sky map missing"):
        plot_skymap(tmp_path / "absent.fits", tmp_path / "x.png", event_id="S1")
    broken = tmp_path / "S2" / "broken.fits"
    broken.parent.mkdir()
    broken.write_bytes(b"SIMPLE  =" + b" " * 100)
    with pytest.raises(EventInputError, match=r"^S2: broken\.fits: cannot read"):
        plot_skymap(broken, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_copy_skymap(tmp_path, skymap):
    destination = tmp_path / "superevents" / "S1" / "bayestar.fits.gz"
    copy_skymap(skymap, destination)
    assert destination.read_bytes() == skymap.read_bytes()
    assert [p.name for p in destination.parent.iterdir()] == [destination.name]
    empty = tmp_path / "empty.fits"
    empty.touch()
    with pytest.raises(EventInputError, match=r"^G1: empty\.fits: sky map is empty"):
        copy_skymap(empty, tmp_path / "copy.fits", event_id="G1")
    with pytest.raises(EventInputError, match="missing"):
        copy_skymap(tmp_path / "absent.fits", tmp_path / "copy.fits")
    assert not (tmp_path / "copy.fits").exists()
