"""Tests of the checks of O4 pipeline uploads (gwreplay.o4_uploads)."""

import json

import numpy as np
import pytest
from builders import write_gaussian_skymap

from gwreplay.errors import EventInputError
from gwreplay.o4_uploads import (
    validate_em_bright,
    validate_multiorder,
    validate_p_astro,
)

GOOD_P_ASTRO = {"BNS": 0.6, "NSBH": 0.2, "BBH": 0.15, "Terrestrial": 0.05}


def write_text(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_p_astro_accepted(tmp_path):
    path = write_text(tmp_path, "gstlal.p_astro.json", json.dumps(GOOD_P_ASTRO))
    assert validate_p_astro("G1", path) == GOOD_P_ASTRO
    # Rounding as pipelines print it: within 1e-3 of 1.
    nearly = {**GOOD_P_ASTRO, "Terrestrial": 0.0505}
    path.write_text(json.dumps(nearly))
    assert validate_p_astro("G1", path)["Terrestrial"] == 0.0505


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{BNS: 1}", r"not valid JSON"),
        ('{"BNS": 0.6, "NSBH": 0.2, "BBH": 0.2}', r"missing classes: Terrestrial"),
        (
            '{"BNS": 1.1, "NSBH": 0, "BBH": 0, "Terrestrial": -0.1}',
            r"Terrestrial is -0\.1, not >= 0",
        ),
        ('{"BNS": NaN, "NSBH": 0, "BBH": 0, "Terrestrial": 1}', r"NaN is not a JSON"),
        ('{"BNS": 0, "NSBH": 0, "BBH": 0, "Terrestrial": Infinity}', r"Infinity"),
        ('{"BNS": 0, "NSBH": 0, "BBH": 0, "Terrestrial": 1e999}', r"inf, not finite"),
        (
            '{"BNS": 0.6, "NSBH": 0.2, "BBH": 0.14, "Terrestrial": 0.05}',
            r"probabilities sum to 0\.99, not 1",
        ),
        ('{"BNS": 0, "NSBH": 0, "BBH": 0, "Terrestrial": 0}', r"sum to 0, not 1"),
        (
            '{"BNS": 0, "NSBH": 0, "BBH": 0, "Terrestrial": 1, "MassGap": 0}',
            r"unexpected classes: 'MassGap'",
        ),
        ('{"BNS": 0, "NSBH": 0, "BBH": 0, "Terrestrial": true}', r"True, not a num"),
        ('{"BNS": 0, "NSBH": 0, "BBH": "1", "Terrestrial": 0}', r"'1', not a number"),
        ('{"BNS": 0, "NSBH": 0, "BBH": 1, "BBH": 0, "Terrestrial": 0}', r"duplicate"),
        ("[0.1, 0.9]", r"expected a JSON object, found list"),
        ("", r"file is empty"),
    ],
)
def test_p_astro_refused(tmp_path, text, reason):
    path = write_text(tmp_path, "mbta.p_astro.json", text)
    with pytest.raises(EventInputError, match=r"^G7: mbta\.p_astro\.json: " + ".*"):
        validate_p_astro("G7", path)
    with pytest.raises(EventInputError, match=reason):
        validate_p_astro("G7", path)


def test_p_astro_missing_or_not_text(tmp_path):
    with pytest.raises(EventInputError, match=r"^G1: p_astro\.json: file missing$"):
        validate_p_astro("G1", tmp_path / "p_astro.json")
    path = tmp_path / "p_astro.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(EventInputError, match=r"not UTF-8"):
        validate_p_astro("G1", path)


def test_em_bright(tmp_path):
    allsky = {"HasNS": 0.9, "HasRemnant": 0.5, "HasMassGap": 0.0}
    path = write_text(tmp_path, "em_bright.json", json.dumps(allsky))
    assert validate_em_bright("S1", path) == allsky
    ssm = {"HasSSM": 0.52, "HasNS": 0.92, "HasMassGap": 0.08}
    path.write_text(json.dumps(ssm))
    assert validate_em_bright("S1", path) == ssm
    path.write_text(json.dumps({**allsky, "HasNS": 1.5}))
    with pytest.raises(EventInputError, match=r"HasNS is 1\.5, not in \[0, 1\]"):
        validate_em_bright("S1", path)
    path.write_text(json.dumps({"HasNS": 0.5}))
    with pytest.raises(EventInputError, match=r"missing classes: HasMassGap"):
        validate_em_bright("S1", path)


# -- multi-order sky maps ---------------------------------------------------


def uniform_table(order=1):
    """A uniform map with every pixel of one order: UNIQ 4**(order+1)..."""
    from astropy.table import Table

    npix = 12 * 4**order
    uniq = np.arange(npix, dtype=np.int64) + 4 ** (order + 1)
    return Table({"UNIQ": uniq, "PROBDENSITY": np.full(npix, 1 / (4 * np.pi))})


def write_moc(path, table):
    from ligo.skymap.io import write_sky_map

    write_sky_map(str(path), table, moc=True)
    return path


def test_multiorder_accepted(tmp_path):
    from ligo.skymap import moc

    def density(radec):
        return np.exp(-np.square(radec[:, 1] - 0.5) / 0.01)

    table = moc.bayestar_adaptive_grid(density, top_nside=4, rounds=3)
    path = write_moc(tmp_path / "bayestar.multiorder.fits", table)
    read = validate_multiorder("G1", path)
    assert len(np.unique(moc.uniq2order(read["UNIQ"]))) > 1  # truly multi-order
    np.testing.assert_array_equal(np.sort(read["UNIQ"]), np.sort(table["UNIQ"]))
    path = write_moc(tmp_path / "cwb.multiorder.fits", uniform_table())
    assert len(validate_multiorder("G1", path)) == 48


def test_flat_map_is_not_multiorder(tmp_path):
    path = tmp_path / "flat.fits"
    write_gaussian_skymap(path, 10, 20, nside=8)
    with pytest.raises(EventInputError, match=r"ORDERING is 'NESTED', not 'NUNIQ'"):
        validate_multiorder("G1", path)


def test_not_fits(tmp_path):
    path = tmp_path / "bayestar.multiorder.fits"
    path.write_bytes(b"SIMPLE  = T" + b" " * 200)
    with pytest.raises(EventInputError, match=r"^G1: bayestar\.multiorder\.fits: "):
        validate_multiorder("G1", path)
    with pytest.raises(EventInputError, match=r"file missing"):
        validate_multiorder("G1", tmp_path / "absent.multiorder.fits")


def replace_uniq(table, index, value):
    table = table.copy()
    table["UNIQ"][index] = value
    return table


@pytest.mark.parametrize("uniq", [0, 3])
def test_uniq_below_four(tmp_path, uniq):
    path = write_moc(tmp_path / "m.fits", replace_uniq(uniform_table(), 5, uniq))
    with pytest.raises(EventInputError, match=rf"UNIQ {uniq} < 4 is not a HEALPix"):
        validate_multiorder("G1", path)


def test_order_thirty(tmp_path):
    path = write_moc(tmp_path / "m.fits", replace_uniq(uniform_table(), 5, 4**31))
    with pytest.raises(EventInputError, match=r"has order 30, above 29"):
        validate_multiorder("G1", path)
    # Order 29, the finest, passes the order check (the map then fails to tile).
    path = write_moc(tmp_path / "m.fits", replace_uniq(uniform_table(), 5, 4**31 - 1))
    with pytest.raises(EventInputError, match=r"overlap|gap"):
        validate_multiorder("G1", path)


def test_overlapping_pixels(tmp_path):
    from astropy.table import vstack

    table = uniform_table()
    child = uniform_table(order=2)[:1]  # UNIQ 64: the first quarter of UNIQ 16
    path = write_moc(tmp_path / "m.fits", vstack([table, child]))
    with pytest.raises(EventInputError, match=r"pixels overlap: UNIQ 16 and 64"):
        validate_multiorder("G1", path)
    duplicate = vstack([table, table[7:8]])
    path = write_moc(tmp_path / "m.fits", duplicate)
    with pytest.raises(EventInputError, match=r"pixels overlap: UNIQ 23 and 23"):
        validate_multiorder("G1", path)


@pytest.mark.parametrize(
    ("drop", "where"),
    [(7, "after UNIQ 22"), (0, "before the first pixel"), (47, "after the last")],
)
def test_missing_pixel_range(tmp_path, drop, where):
    table = uniform_table()
    table.remove_row(drop)
    path = write_moc(tmp_path / "m.fits", table)
    with pytest.raises(EventInputError, match=rf"do not cover the sky: a gap {where}"):
        validate_multiorder("G1", path)


@pytest.mark.parametrize(
    ("value", "reason"),
    [(np.nan, r"nan at UNIQ 21, not finite"), (-1.0, r"-1\.0 at UNIQ 21, negative")],
)
def test_bad_probdensity(tmp_path, value, reason):
    table = uniform_table()
    table["PROBDENSITY"][5] = value
    path = write_moc(tmp_path / "m.fits", table)
    with pytest.raises(EventInputError, match=rf"PROBDENSITY is {reason}"):
        validate_multiorder("G1", path)
    table["PROBDENSITY"] = 0.0
    path = write_moc(tmp_path / "m.fits", table)
    with pytest.raises(EventInputError, match=r"holds no probability"):
        validate_multiorder("G1", path)
