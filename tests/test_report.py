"""Tests of gwreplay.report: sky-map statistics, KS test, outcome tables, page.

The sky maps are tiny (nside 16) and hand-made so that every statistic has an
answer known without ligo.skymap: a map whose probability sits in one or a
few HEALPix pixels gives searched areas that are whole numbers of pixels
(4 pi / (12 nside^2) sr each) and searched probabilities that are sums of
the pixel probabilities.
"""

import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from gwreplay import report

NSIDE = 16
NPIX = 12 * NSIDE**2
#: Area of one HEALPix pixel at NSIDE, deg² (the sphere is 4 pi sr).
PIXEL_AREA = 4 * math.pi / NPIX * (180 / math.pi) ** 2
FULL_SKY = 4 * math.pi * (180 / math.pi) ** 2
HOT = 1000  # nested pixel holding the probability (base pixel 1000 // 256 = 3)


def pixel_center(ipix, nside=NSIDE):
    """(ra, dec) in radians of the centre of nested pixel ``ipix``."""
    import astropy_healpix as ah
    from astropy import units as u

    lon, lat = ah.HEALPix(nside=nside, order="nested").healpix_to_lonlat([ipix])
    return float(lon.to_value(u.rad)[0]), float(lat.to_value(u.rad)[0])


def write_pixel_map(path, pixel_probs, distance=None, objid="G1"):
    """A flat nested sky map, written by ligo.skymap, with ``pixel_probs``
    {pixel: probability}; ``distance`` = (mu, sigma) adds a distance layer."""
    from astropy.table import Table
    from ligo.skymap.io import fits

    prob = np.zeros(NPIX)
    for ipix, p in pixel_probs.items():
        prob[ipix] = p
    columns = {"PROB": prob}
    if distance is not None:
        mu, sigma = distance
        columns["DISTMU"] = np.full(NPIX, float(mu))
        columns["DISTSIGMA"] = np.full(NPIX, float(sigma))
        columns["DISTNORM"] = np.full(NPIX, 1 / radial_integral(mu, sigma, np.inf))
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.write_sky_map(str(path), Table(columns), nest=True, objid=objid)
    return path


def radial_integral(mu, sigma, upper):
    """int_0^upper r^2 N(r; mu, sigma) dr, by quadrature (the distance ansatz)."""
    value, _ = integrate.quad(
        lambda r: r**2 * stats.norm.pdf(r, mu, sigma), 0, upper, limit=200
    )
    return value


# ---------------------------------------------------------------------------
# Sky-map statistics
# ---------------------------------------------------------------------------


def test_injection_inside_the_only_pixel(tmp_path):
    path = write_pixel_map(tmp_path / "one.fits", {HOT: 1.0})
    ra, dec = pixel_center(HOT)
    row = report.skymap_statistics(path, ra, dec)
    assert row["searched_prob"] == pytest.approx(1.0, abs=1e-12)
    assert row["searched_area"] == pytest.approx(PIXEL_AREA, rel=1e-9)
    assert row["offset"] == pytest.approx(0.0, abs=1e-6)


def test_injection_outside_the_only_pixel(tmp_path):
    """Outside the pixel the whole probability is searched first: searched
    probability 1. Zero-probability pixels tie; crossmatch orders them by
    descending UNIQ, so nested pixel 0 (lowest UNIQ) is searched last and its
    searched area is unambiguous: the whole sky."""
    from astropy import units as u
    from astropy.coordinates import SkyCoord

    path = write_pixel_map(tmp_path / "one.fits", {HOT: 1.0})
    ra, dec = pixel_center(0)
    row = report.skymap_statistics(path, ra, dec)
    assert row["searched_prob"] == pytest.approx(1.0, abs=1e-12)
    assert row["searched_area"] == pytest.approx(FULL_SKY, rel=1e-9)
    hot = SkyCoord(*pixel_center(HOT), unit=u.rad)
    truth = SkyCoord(ra, dec, unit=u.rad)
    assert row["offset"] == pytest.approx(hot.separation(truth).deg, abs=1e-6)

    ra, dec = pixel_center(2000)  # another empty pixel, elsewhere in the order
    other = report.skymap_statistics(path, ra, dec)
    assert other["searched_prob"] == pytest.approx(1.0, abs=1e-12)
    assert PIXEL_AREA < other["searched_area"] <= FULL_SKY * (1 + 1e-12)


def test_three_pixel_map_areas_and_searched_probability(tmp_path):
    """Pixels holding 0.5, 0.4, 0.1: the 50% region is one pixel, the 90% two;
    an injection in the 0.4 pixel has searched probability 0.9 in two pixels."""
    path = write_pixel_map(tmp_path / "three.fits", {HOT: 0.5, 10: 0.4, 2500: 0.1})
    ra, dec = pixel_center(10)
    row = report.skymap_statistics(path, ra, dec)
    assert row["searched_prob"] == pytest.approx(0.9, rel=1e-9)
    assert row["searched_area"] == pytest.approx(2 * PIXEL_AREA, rel=1e-9)
    assert row["area(50)"] == pytest.approx(PIXEL_AREA, rel=1e-6)
    assert row["area(90)"] == pytest.approx(2 * PIXEL_AREA, rel=1e-6)
    # Without a position: the same areas, no searched columns.
    no_position = report.skymap_statistics(path)
    assert no_position["area(90)"] == pytest.approx(2 * PIXEL_AREA, rel=1e-6)
    assert math.isnan(no_position["searched_prob"])


def test_searched_probability_of_distance(tmp_path):
    """searched_prob_dist is the marginal distance CDF at the true distance:
    for one pixel with the ansatz r^2 N(r; 100, 20), integrate it directly."""
    path = write_pixel_map(tmp_path / "dist.fits", {HOT: 1.0}, distance=(100, 20))
    ra, dec = pixel_center(HOT)
    row = report.skymap_statistics(path, ra, dec, distance=120.0)
    expected = radial_integral(100, 20, 120.0) / radial_integral(100, 20, np.inf)
    assert row["searched_prob_dist"] == pytest.approx(expected, abs=2e-3)
    assert row["searched_vol"] > 0


# ---------------------------------------------------------------------------
# KS test
# ---------------------------------------------------------------------------


def test_ks_uniform_known_sets():
    uniform = (np.arange(40) + 0.5) / 40
    statistic, pvalue = report.ks_uniform(list(uniform))
    assert pvalue > 0.1
    assert statistic == pytest.approx(0.5 / 40)
    _, pvalue = report.ks_uniform([0.0] * 10)
    assert pvalue < 0.01


def test_ks_uniform_matches_scipy_and_ignores_missing():
    values = [0.05, 0.2, 0.21, 0.6, 0.93, 0.97]
    expected = stats.kstest(values, "uniform")
    statistic, pvalue = report.ks_uniform(values + [None, float("nan")])
    assert statistic == pytest.approx(expected.statistic)
    assert pvalue == pytest.approx(expected.pvalue)
    assert report.ks_uniform([]) == (None, None)


# ---------------------------------------------------------------------------
# Hand-made results trees
# ---------------------------------------------------------------------------


def write_json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def add_superevent(
    results,
    sid,
    gw_events,
    *,
    preferred,
    final=None,
    t_0=1e9,
    labels=("DQOK",),
    dq=True,
    notice_time=None,
    vetoed=None,
):
    """A superevent folder as the workflow writes it (superevent, dq, alert)."""
    folder = results / "superevents" / sid
    vetoed = "DQV" in labels if vetoed is None else vetoed
    write_json(
        folder / "superevent.json",
        {
            "superevent_id": sid,
            "category": "production",
            "created": t_0 + 5,
            "t_start": t_0 - 1,
            "t_0": t_0,
            "t_end": t_0 + 1,
            "gw_events": list(gw_events),
            "preferred_event": preferred,
            "final_preferred_event": final or preferred,
        },
    )
    if not dq:
        return folder
    write_json(
        folder / "dq.json",
        {"labels": sorted(labels), "vetoed": vetoed, "checked": True, "summary": ""},
    )
    sent = notice_time is not None
    write_json(
        folder / "alert.json",
        {
            "superevent_id": sid,
            "preferred_event": preferred,
            "labels": sorted(labels),
            "vetoed": vetoed,
            "publishable": True,
            "notice": f"superevents/{sid}/{sid}-1-Preliminary.xml" if sent else "",
            "notice_time": notice_time,
            "files": [],
        },
    )
    return folder


def truth_source(
    sid,
    events,
    *,
    cls="BBH",
    dq="DQOK",
    inj=False,
    preferred=None,
    superevent=True,
    simulation_id=None,
    time=1e9,
):
    """A truth.json source entry (the format of gwreplay.mdc.truth)."""
    return {
        "id": sid,
        "class": cls,
        "simulation_id": simulation_id,
        "geocent_end_time": time,
        "ra": None,
        "dec": None,
        "distance": None,
        "gw_events": list(events),
        "expected": {
            "superevent": superevent,
            "preferred_event_at_timeout": (preferred or events[0])
            if superevent
            else None,
            "final_preferred_event": (preferred or events[0]) if superevent else None,
            "vetoed": dq == "DQV",
            "dq": dq if superevent else None,
            "inj": inj,
        },
    }


@pytest.fixture
def outcome_tree(tmp_path):
    """Results and truth whose DQ/INJ/preferred-event outcomes are known."""
    results, store = tmp_path / "results", tmp_path / "store"
    add_superevent(results, "S230101a", ["G1"], preferred="G1", labels=("DQOK", "INJ"))
    add_superevent(results, "S230101b", ["G2", "G3"], preferred="G3", labels=("DQOK",))
    add_superevent(results, "S230101c", ["G4"], preferred="G4", labels=("INJ",))
    add_superevent(results, "S230101d", ["G5"], preferred="G5", dq=False)
    truth = {
        "seed": 1,
        "sources": [
            truth_source("a", ["G1"], dq="DQOK", inj=True),  # all right
            truth_source("b", ["G2", "G3"], dq="DQV", preferred="G2"),  # DQ, pref wrong
            truth_source("c", ["G4"], dq="unknown", inj=False),  # INJ wrong
            truth_source("d", ["G6"], superevent=False),  # right: no superevent
            truth_source("e", ["G5"], dq="DQOK"),  # DQ not done
        ],
    }
    write_json(store / "truth.json", truth)
    return results, store


def test_dq_confusion_table(outcome_tree):
    results, store = outcome_tree
    report_dir = Path(report.write_report(results, store=store))
    table = pd.read_csv(report_dir / "dq_confusion.csv", index_col="expected")
    assert list(table.index) == ["DQOK", "DQV", "unknown", "no superevent"]
    assert list(table.columns) == [
        "DQOK",
        "DQV",
        "unknown",
        "not done",
        "no superevent",
    ]
    expected = {
        ("DQOK", "DQOK"): 1,
        ("DQV", "DQOK"): 1,
        ("unknown", "unknown"): 1,
        ("no superevent", "no superevent"): 1,
        ("DQOK", "not done"): 1,
    }
    for row in table.index:
        for column in table.columns:
            assert table.loc[row, column] == expected.get((row, column), 0), (
                row,
                column,
            )


def test_inj_and_preferred_event_outcomes(outcome_tree):
    results, store = outcome_tree
    report_dir = Path(report.write_report(results, store=store))
    inj = pd.read_csv(report_dir / "inj_confusion.csv", index_col="expected")
    assert inj.loc[True, "True"] == 1  # a
    assert inj.loc[False, "True"] == 1  # c: INJ label not expected
    assert inj.loc[False, "False"] == 3  # b, d, e
    outcomes = pd.read_csv(report_dir / "outcomes.tsv", sep="\t", index_col="truth_id")
    assert not outcomes.loc["b", "preferred_correct"]
    assert outcomes.loc["b", "preferred_event"] == "G3"
    assert outcomes.loc["a", "preferred_correct"]
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["outcomes"]["dq"] == {"n": 5, "correct": 3}
    assert summary["outcomes"]["inj"] == {"n": 5, "correct": 4}
    assert summary["outcomes"]["preferred"] == {"n": 5, "correct": 4}
    assert summary["outcomes"]["superevent"] == {"n": 5, "correct": 5}


def write_injections(path, rows):
    """A sim_inspiral table with igwn_ligolw: rows of (id, t, ra, dec, dist)."""
    import lal
    from igwn_ligolw import ligolw, lsctables
    from igwn_ligolw import utils as ligolw_utils

    columns = [
        "simulation_id",
        "geocent_end_time",
        "geocent_end_time_ns",
        "longitude",
        "latitude",
        "distance",
        "mass1",
        "mass2",
        "source",
    ]
    table = lsctables.SimInspiralTable.new(columns=columns)
    for simulation_id, gps, ra, dec, distance in rows:
        row = table.RowType()
        row.simulation_id = simulation_id
        row.time_geocent = lal.LIGOTimeGPS(gps)
        row.longitude, row.latitude, row.distance = ra, dec, distance
        row.mass1 = row.mass2 = 1.4
        row.source = "BNS"
        table.append(row)
    xmldoc = ligolw.Document()
    xmldoc.appendChild(ligolw.LIGO_LW()).appendChild(table)
    path.parent.mkdir(parents=True, exist_ok=True)
    ligolw_utils.write_filename(xmldoc, str(path))


@pytest.fixture
def mdc_tree(tmp_path):
    """Two injections (one in the map's pixel, one outside), a noise event,
    notices with known latencies and known classifications."""
    results, store = tmp_path / "results", tmp_path / "store"
    inside, outside = pixel_center(HOT), pixel_center(0)
    t1, t2, t3 = 1_000_000_000.0, 1_000_010_000.0, 1_000_020_000.0
    add_superevent(
        results, "S230101a", ["G1"], preferred="G1", t_0=t1, notice_time=t1 + 20
    )
    add_superevent(
        results, "S230101b", ["G2"], preferred="G2", t_0=t2, notice_time=t2 + 45
    )
    add_superevent(
        results, "S230101c", ["G3"], preferred="G3", t_0=t3, notice_time=t3 + 30
    )
    # S230101a sent its alert: the sky-map copy is in the superevent folder.
    write_pixel_map(results / "superevents/S230101a/bayestar.fits.gz", {HOT: 1.0})
    write_pixel_map(results / "events/G2/bayestar.fits.gz", {HOT: 1.0})
    write_pixel_map(
        results / "events/G3/bayestar.fits.gz", {HOT: 0.5, 10: 0.4, 2500: 0.1}
    )
    classifications = {
        "S230101a": (
            {"HasNS": 0.9, "HasRemnant": 0.8},
            {"BNS": 0.9, "Terrestrial": 0.1},
        ),
        "S230101b": (
            {"HasNS": 0.7, "HasRemnant": 0.2},
            {"BNS": 0.3, "Terrestrial": 0.7},
        ),
        "S230101c": (
            {"HasNS": 0.0, "HasRemnant": 0.0},
            {"BNS": 0.1, "Terrestrial": 0.9},
        ),
    }
    for sid, (em_bright, p_astro) in classifications.items():
        write_json(
            results / "superevents" / sid / "source_classification.json", em_bright
        )
        write_json(results / "superevents" / sid / "p_astro.json", p_astro)
    write_injections(
        store / "injections.xml",
        [(0, t1 + 0.01, *inside, 100.0), (1, t2 + 0.01, *outside, 200.0)],
    )
    truth = {
        "sources": [
            truth_source("src0", ["G1"], cls="BNS", simulation_id=0, time=t1),
            truth_source("src1", ["G2"], cls="BNS", simulation_id=1, time=t2),
            truth_source("noise2", ["G3"], cls="Terrestrial", time=t3),
        ]
    }
    write_json(store / "truth.json", truth)
    return results, store


def test_injection_table_matches_truth_and_injections(mdc_tree):
    results, store = mdc_tree
    report_dir = Path(report.write_report(results, store=store))
    table = pd.read_csv(
        report_dir / "injections.tsv", sep="\t", index_col="simulation_id"
    )
    assert table.loc[0, "superevent_id"] == "S230101a"
    assert table.loc[0, "skymap"] == "superevents/S230101a/bayestar.fits.gz"
    assert table.loc[0, "searched_area"] == pytest.approx(PIXEL_AREA, rel=1e-6)
    assert table.loc[1, "skymap"] == "events/G2/bayestar.fits.gz"
    assert table.loc[1, "searched_prob"] == pytest.approx(1.0)
    assert table.loc[1, "searched_area"] == pytest.approx(FULL_SKY, rel=1e-6)
    # injections.xml stores longitude as real_4: compare in single precision.
    assert table.loc[0, "ra"] == pytest.approx(pixel_center(HOT)[0], rel=1e-6)
    summary = json.loads((report_dir / "summary.json").read_text())
    ks = stats.kstest([1.0, 1.0], "uniform")
    assert summary["ks_searched_prob"]["pvalue"] == pytest.approx(ks.pvalue)


def test_latency_and_areas_per_superevent(mdc_tree):
    results, store = mdc_tree
    report_dir = Path(report.write_report(results, store=store))
    table = pd.read_csv(
        report_dir / "superevents.tsv", sep="\t", index_col="superevent_id"
    )
    assert table["latency"].to_dict() == {
        "S230101a": pytest.approx(20),
        "S230101b": pytest.approx(45),
        "S230101c": pytest.approx(30),
    }
    assert table.loc["S230101c", "area(90)"] == pytest.approx(2 * PIXEL_AREA, rel=1e-6)
    assert table.loc["S230101c", "area(50)"] == pytest.approx(PIXEL_AREA, rel=1e-6)
    assert table.loc["S230101c", "truth_class"] == "Terrestrial"
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["latency"] == {"n": 3, "median": 30.0, "max": 45.0}


def test_classification_per_class(mdc_tree):
    results, store = mdc_tree
    report_dir = Path(report.write_report(results, store=store))
    table = pd.read_csv(report_dir / "classification_by_class.csv")
    table = table.set_index(["truth_class", "quantity"])
    assert table.loc[("BNS", "HasNS"), "mean"] == pytest.approx(0.8)
    assert table.loc[("BNS", "HasNS"), "n"] == 2
    assert table.loc[("BNS", "HasRemnant"), "median"] == pytest.approx(0.5)
    assert table.loc[("BNS", "p_astro_BNS"), "mean"] == pytest.approx(0.6)
    # the most probable class was right for one BNS (0.9) and wrong for the other
    assert table.loc[("BNS", "p_astro_correct"), "mean"] == pytest.approx(0.5)
    assert table.loc[("Terrestrial", "p_astro_Terrestrial"), "median"] == pytest.approx(
        0.9
    )


def report_files(report_dir):
    """{path relative to the report folder: bytes} of every file in it."""
    return {
        str(p.relative_to(report_dir)): p.read_bytes()
        for p in Path(report_dir).rglob("*")
        if p.is_file()
    }


def test_html_links_every_image_and_table_and_is_reproducible(mdc_tree):
    results, store = mdc_tree
    report_dir = Path(report.write_report(results, store=store))
    page = (report_dir / "index.html").read_text()
    pngs = sorted(p.name for p in (report_dir / "figures").glob("*.png"))
    assert pngs == ["area90_cdf.png", "latency.png", "pp_plot.png"]
    images = set(re.findall(r'<img src="([^"]+)"', page))
    assert {f"figures/{png}" for png in pngs} <= images
    links = set(re.findall(r'<a href="([^"]+)"', page))
    tables = {
        p.name for p in report_dir.iterdir() if p.suffix in {".tsv", ".csv", ".json"}
    }
    assert tables <= links
    for png in pngs:  # real PNGs, without the matplotlib version stamp
        data = (report_dir / "figures" / png).read_bytes()
        assert data.startswith(b"\x89PNG") and b"Software" not in data
    first = report_files(report_dir)
    report.write_report(results, store=store)
    assert report_files(report_dir) == first


def test_report_without_store_says_what_it_skipped(mdc_tree):
    results, _ = mdc_tree
    report_dir = Path(report.write_report(results))
    names = {p.name for p in report_dir.iterdir()}
    assert {
        "superevents.tsv",
        "classification.tsv",
        "summary.json",
        "index.html",
    } <= names
    assert "injections.tsv" not in names and "dq_confusion.csv" not in names
    figures = {p.name for p in (report_dir / "figures").iterdir()}
    assert figures == {"latency.png", "area90_cdf.png"}
    summary = json.loads((report_dir / "summary.json").read_text())
    assert not summary["truth"]
    assert any("truth" in item for item in summary["skipped"])
    assert any("P-P plot" in item for item in summary["skipped"])
    page = (report_dir / "index.html").read_text()
    assert "Skipped" in page
    table = pd.read_csv(
        report_dir / "superevents.tsv", sep="\t", index_col="superevent_id"
    )
    # G3's map is only in RESULTS/events: still found without a store.
    assert table.loc["S230101c", "area(90)"] == pytest.approx(2 * PIXEL_AREA, rel=1e-6)


def test_match_by_time_when_truth_names_no_events(tmp_path):
    results = tmp_path / "results"
    add_superevent(results, "S230101a", ["G1"], preferred="G1", t_0=1000.0)
    add_superevent(results, "S230101b", ["G2"], preferred="G2", t_0=1003.0)
    tree = report.load_results(results)
    source = report.normalise_truth_source({"geocent_end_time": 1002.6}, 0)
    assert report.match_source(source, tree.superevents).superevent_id == "S230101b"
    source = report.normalise_truth_source({"geocent_end_time": 1010.0}, 0)
    assert report.match_source(source, tree.superevents) is None


def test_cli_report(mdc_tree, capsys):
    """The page's path is the only line on stdout; errors go to stderr."""
    from gwreplay import cli

    results, store = mdc_tree
    assert cli.main(["report", str(results), "--store", str(store), "--quiet"]) == 0
    out = capsys.readouterr()
    assert out.out == f"{results / 'report' / 'index.html'}\n"
    assert cli.main(["report", str(results / "missing")]) == 1
    out = capsys.readouterr()
    assert out.out == ""
    assert "missing: no such results folder" in out.err
    assert cli.main(["report", str(results), "--store", str(store / "nope")]) == 1
    assert "no such store" in capsys.readouterr().err


def test_malformed_file_is_reported_not_fatal(mdc_tree):
    results, store = mdc_tree
    (results / "superevents/S230101b/dq.json").write_text("{not json")
    report_dir = Path(report.write_report(results, store=store))
    summary = json.loads((report_dir / "summary.json").read_text())
    assert any("S230101b/dq.json" in item for item in summary["skipped"])
    table = pd.read_csv(
        report_dir / "superevents.tsv", sep="\t", index_col="superevent_id"
    )
    # the labels still come from alert.json
    assert table.loc["S230101b", "dq"] == "DQOK"
