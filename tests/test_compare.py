"""Tests of ``gwreplay compare`` on two results trees that differ in known ways."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from gwreplay import cli, compare

NSIDE = 16
NPIX = 12 * NSIDE**2


def write_equal_pixels_map(path, n_pixels):
    """A sky map with probability 1/n in each of n pixels (ligo.skymap writer).

    Its 90% credible area is 0.9 n pixels (greedy levels interpolated as
    ligo-skymap-stats does), so doubling n doubles the area.
    """
    from ligo.skymap.io import fits

    prob = np.zeros(NPIX)
    prob[100 : 100 + n_pixels] = 1.0 / n_pixels
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.write_sky_map(str(path), prob, nest=True)


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def superevent(results, sid, preferred, *, sent=True, has_ns=0.5, p_bns=0.9, pixels=4):
    """One superevent: folder files, the preferred event's map and annotations."""
    folder = results / "superevents" / sid
    write_json(
        folder / "superevent.json",
        {
            "superevent_id": sid,
            "t_0": 1e9,
            "t_start": 1e9 - 1,
            "t_end": 1e9 + 1,
            "created": 1e9 + 5,
            "gw_events": ["G1", "G2"],
            "preferred_event": preferred,
            "final_preferred_event": preferred,
        },
    )
    write_json(folder / "dq.json", {"labels": ["DQOK"], "vetoed": False})
    write_json(
        folder / "alert.json",
        {
            "superevent_id": sid,
            "preferred_event": preferred,
            "labels": ["DQOK"],
            "vetoed": False,
            "publishable": sent,
            "notice": f"superevents/{sid}/{sid}-1-Preliminary.xml" if sent else "",
            "notice_time": 1e9 + 30 if sent else None,
            "files": [],
        },
    )
    events = results / "events" / preferred
    write_equal_pixels_map(events / "bayestar.fits.gz", pixels)
    write_json(
        events / "source_classification.json",
        {"HasNS": has_ns, "HasRemnant": 0.1, "HasMassGap": 0.0},
    )
    write_json(
        events / "p_astro_gstlal.json",
        {"BNS": p_bns, "NSBH": 0.0, "BBH": 0.0, "Terrestrial": round(1 - p_bns, 6)},
    )


@pytest.fixture
def trees(tmp_path):
    """A and B: four superevents differing in one known way each, one alike."""
    a, b = tmp_path / "A", tmp_path / "B"
    superevent(a, "S230101a", "G11")
    superevent(b, "S230101a", "G11", sent=False)  # notice not sent in B
    superevent(a, "S230101b", "G21")
    superevent(b, "S230101b", "G22")  # preferred event changed
    superevent(a, "S230101c", "G31", has_ns=0.9)
    superevent(b, "S230101c", "G31", has_ns=0.2)  # HasNS flip
    superevent(a, "S230101d", "G41", pixels=4)
    superevent(b, "S230101d", "G41", pixels=8)  # 90% area doubled
    superevent(a, "S230101e", "G51", has_ns=0.50)
    superevent(b, "S230101e", "G51", has_ns=0.55)  # within tolerance
    return a, b


def test_known_differences(trees):
    a, b = trees
    rows = compare.compare_results(a, b)
    found = {(row["superevent_id"], row["field"]) for row in rows}
    assert found == {
        ("S230101a", "status"),
        ("S230101b", "preferred_event"),
        ("S230101c", "HasNS"),
        ("S230101d", "area(90)"),
    }
    by_key = {(row["superevent_id"], row["field"]): row for row in rows}
    assert (by_key["S230101a", "status"]["a"], by_key["S230101a", "status"]["b"]) == (
        "sent",
        "not publishable",
    )
    assert by_key["S230101b", "preferred_event"]["b"] == "G22"
    assert float(by_key["S230101c", "HasNS"]["a"]) == 0.9
    assert float(by_key["S230101c", "HasNS"]["b"]) == 0.2
    area_a = float(by_key["S230101d", "area(90)"]["a"])
    area_b = float(by_key["S230101d", "area(90)"]["b"])
    pixel_area = 4 * np.pi / NPIX * np.rad2deg(1) ** 2
    assert area_a == pytest.approx(0.9 * 4 * pixel_area, rel=1e-5)
    assert area_b / area_a == pytest.approx(2.0, rel=1e-5)


def test_tolerances_are_respected(trees):
    a, b = trees
    rows = compare.compare_results(a, b, tolerance=0.8, area_ratio=2.5)
    fields = {row["field"] for row in rows}
    assert fields == {"status", "preferred_event"}


def test_most_probable_class_flip_within_tolerance(tmp_path):
    a, b = tmp_path / "A", tmp_path / "B"
    superevent(a, "S230101a", "G1", p_bns=0.52)
    superevent(b, "S230101a", "G1", p_bns=0.48)
    rows = compare.compare_results(a, b)
    assert [(r["field"], r["a"], r["b"]) for r in rows] == [
        ("p_astro class", "BNS", "Terrestrial")
    ]


def test_superevent_in_one_replay_only(trees):
    a, b = trees
    shutil.rmtree(b / "superevents" / "S230101e")
    rows = compare.compare_results(a, b)
    assert ("S230101e", "superevent", "present", "-") in {
        (r["superevent_id"], r["field"], r["a"], r["b"]) for r in rows
    }


def test_cli_exit_status_and_csv(trees, tmp_path, capsys):
    a, b = trees
    output = tmp_path / "diff.csv"
    assert cli.main(["compare", str(a), str(b), "--output", str(output)]) == 1
    printed = capsys.readouterr().out
    assert "S230101c" in printed and "HasNS" in printed
    table = pd.read_csv(output)
    assert list(table.columns) == list(compare.COLUMNS)
    assert len(table) == 4


def test_identical_trees_exit_zero(trees, tmp_path, capsys):
    a, _ = trees
    copy = tmp_path / "A2"
    shutil.copytree(a, copy)
    output = tmp_path / "none.csv"
    assert cli.main(["compare", str(a), str(copy), "-o", str(output)]) == 0
    assert "no differences" in capsys.readouterr().out
    assert pd.read_csv(output).empty


def test_missing_folder_is_an_input_error(tmp_path):
    assert cli.main(["compare", str(tmp_path / "x"), str(tmp_path / "y")]) == 2
