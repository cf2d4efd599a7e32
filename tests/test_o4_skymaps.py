"""Tests of the O4 flattened sky map and volume plot (gwreplay.o4_skymaps)."""

import gzip
import io
import logging
import os
import subprocess
import sys

import numpy as np
import pytest
from builders import (
    MULTIORDER_CREATED_GPS,
    REPO,
    gaussian_multiorder,
    write_gaussian_skymap,
)

from gwreplay.errors import EventInputError
from gwreplay.o4_skymaps import flatten, plot_volume, png_text_chunk, strip_png_text

DPI = 20  # the volume rendering's cost grows as dpi squared (300 dpi: 90 s)


@pytest.fixture(scope="module")
def multiorder(tmp_path_factory):
    from ligo.skymap.io import write_sky_map

    path = tmp_path_factory.mktemp("moc") / "bayestar.multiorder.fits"
    write_sky_map(str(path), gaussian_multiorder(), moc=True)
    return path


def test_flatten_agrees_with_the_multiorder_map(tmp_path, multiorder):
    import astropy_healpix as ah
    from astropy import units as u
    from ligo.skymap import moc
    from ligo.skymap.io import read_sky_map

    out = tmp_path / "bayestar.fits.gz"
    flatten("G1", multiorder, out)
    source = read_sky_map(str(multiorder), moc=True)
    flat, meta = read_sky_map(str(out), nest=True, distances=True)
    prob, distmu = flat[0], flat[1]
    order = int(moc.uniq2order(source["UNIQ"]).max())
    assert order == 5 and len(np.unique(moc.uniq2order(source["UNIQ"]))) > 1
    assert len(prob) == ah.nside_to_npix(2**order)
    assert prob.sum() == pytest.approx(1, abs=1e-12)
    assert meta["objid"] == "G1" and meta["gps_creation_time"] == MULTIORDER_CREATED_GPS
    # At the centre of every multi-order pixel, the flat pixel there holds
    # that pixel's density times its own area, and the same distance layer.
    level, nested = moc.uniq2nest(np.asarray(source["UNIQ"]))
    ra, dec = ah.healpix_to_lonlat(nested, 2**level, order="nested")
    ipix = ah.lonlat_to_healpix(ra, dec, 2**order, order="nested")
    pixel_area = ah.nside_to_pixel_area(2**order).to_value(u.sr)
    np.testing.assert_allclose(
        prob[ipix], source["PROBDENSITY"] * pixel_area, rtol=1e-12
    )
    np.testing.assert_allclose(distmu[ipix], source["DISTMU"], rtol=1e-12)


def test_flatten_is_reproducible(tmp_path, multiorder):
    first, second = tmp_path / "a" / "bayestar.fits.gz", tmp_path / "b" / "x.fits.gz"
    flatten("G1", multiorder, first)
    flatten("G1", multiorder, second)
    data = first.read_bytes()
    assert second.read_bytes() == data
    assert data[:2] == b"\x1f\x8b" and data[4:8] == b"\0\0\0\0"  # gzip, mtime 0
    assert b"DATE    = '2011-09-14" in gzip.decompress(data)  # the input's DATE
    assert sorted(os.listdir(first.parent)) == ["bayestar.fits.gz"]
    plain = tmp_path / "bayestar.fits"
    flatten("G1", multiorder, plain)
    assert plain.read_bytes() == gzip.decompress(data)


def test_flatten_matches_the_tool(tmp_path, multiorder):
    """The FITS inside is what ligo-skymap-flatten writes, byte for byte."""
    from ligo.skymap.tool import ligo_skymap_flatten

    tool_output = tmp_path / "tool.fits"
    ligo_skymap_flatten.main([str(multiorder), str(tool_output)])
    flatten("G1", multiorder, tmp_path / "bayestar.fits.gz")
    ours = gzip.decompress((tmp_path / "bayestar.fits.gz").read_bytes())
    assert ours == tool_output.read_bytes()


def test_flatten_refuses_bad_input(tmp_path, multiorder):
    flat = tmp_path / "flat.fits"
    write_gaussian_skymap(flat, 10, 20, nside=8)
    with pytest.raises(EventInputError, match=r"^G1: flat\.fits: ORDERING is"):
        flatten("G1", flat, tmp_path / "out.fits.gz")
    with pytest.raises(EventInputError, match=r"finest order 5 is above 4"):
        flatten("G1", multiorder, tmp_path / "out.fits.gz", max_order=4)
    assert not (tmp_path / "out.fits.gz").exists()


def png_size(data):
    from PIL import Image

    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.size, np.asarray(image.convert("RGB"))


def test_volume_plot(tmp_path, multiorder):
    import matplotlib
    from matplotlib import pyplot as plt

    rc_before = dict(matplotlib.rcParams)
    root = logging.getLogger()
    logging_before = (root.level, list(root.handlers))
    figures_before = plt.get_fignums()
    first, second = tmp_path / "a" / "volume.png", tmp_path / "b" / "volume.png"
    plot_volume("G1", multiorder, first, dpi=DPI)
    plot_volume("G1", multiorder, second, dpi=DPI)
    data = first.read_bytes()
    assert second.read_bytes() == data
    assert not {b"tEXt", b"iTXt", b"zTXt", b"tIME"} & set(chunk_types(data))
    size, pixels = png_size(data)
    assert size == (round(3.5 * DPI), round(3.5 * DPI))
    colours = np.unique(pixels.reshape(-1, 3), axis=0)
    assert len(colours) > 20  # a picture, not a blank canvas
    # The process is left as it was.
    rc_after = dict(matplotlib.rcParams)
    assert {k: v for k, v in rc_after.items() if k != "backend"} == {
        k: v for k, v in rc_before.items() if k != "backend"
    }
    assert (root.level, list(root.handlers)) == logging_before
    assert plt.get_fignums() == figures_before
    assert sorted(os.listdir(first.parent)) == ["volume.png"]


def chunk_types(data):
    types, offset = [], 8
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4], "big")
        types.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return types


SUBPROCESS_PLOT = """
import sys
from gwreplay.o4_skymaps import plot_volume
plot_volume("G1", sys.argv[1], sys.argv[2], dpi=int(sys.argv[3]))
"""


def test_volume_plot_does_not_depend_on_the_hash_seed(tmp_path, multiorder):
    """The annotation lists a set of instruments: its order must not follow
    the process's string hashing (seeds 1 and 3 order H1, L1, V1 apart)."""
    outputs = []
    for seed in ("1", "3"):
        out = tmp_path / f"seed{seed}.png"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-c", SUBPROCESS_PLOT, str(multiorder), str(out), "30"],
            check=True,
            cwd=REPO,
            env=env,
            capture_output=True,
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_volume_plot_needs_distances(tmp_path):
    flat = tmp_path / "G2" / "cwb.fits"
    flat.parent.mkdir()
    write_gaussian_skymap(flat, 10, 20, nside=8)
    with pytest.raises(EventInputError, match=r"^G2: cwb\.fits: no distance layers"):
        plot_volume("G2", flat, tmp_path / "volume.png", dpi=DPI)
    with pytest.raises(EventInputError, match=r"sky map missing"):
        plot_volume("G2", tmp_path / "absent.fits", tmp_path / "volume.png", dpi=DPI)
    assert not (tmp_path / "volume.png").exists()


def test_strip_png_text():
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (3, 2), "red").save(buffer, format="png")
    plain = buffer.getvalue()
    stamped = plain[:33] + png_text_chunk("Software", "ligo.skymap 2.5.4") + plain[33:]
    assert stamped != plain
    assert strip_png_text(stamped) == plain
    assert strip_png_text(plain) == plain
    with pytest.raises(ValueError, match="not a PNG"):
        strip_png_text(b"GIF89a")
