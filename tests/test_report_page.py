"""Tests of the report page: superevent sections, links, P-P series, axes, jobs.

The results trees are those of tests/test_report.py, with the files a
superevent folder holds (notices as GraceDB names them, circulars, plots)
added by hand, so that what the page must link is known in advance.
"""

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_report import (  # noqa: F401 - mdc_tree is a fixture
    HOT,
    add_superevent,
    mdc_tree,
    pixel_center,
    radial_integral,
    report_files,
    truth_source,
    write_injections,
    write_json,
    write_pixel_map,
)

from gwreplay import report
from gwreplay.report.files import classify_files
from gwreplay.report.plots import latency_limits

#: Files added to S230101a's folder: two notices (one with three formats),
#: a circular, the all-sky plot, a volume rendering and a bar chart.
EXTRA_FILES = (
    "S230101a-1-Preliminary.json",
    "S230101a-1-Preliminary.xml",
    "S230101a-2-Update.json",
    "S230101a-2-Update.xml",
    "S230101a-2-Update.avro",
    "circular.txt",
    "Update-circular.txt",
    "bayestar.png",
    "bayestar.volume.png",
    "p_astro.png",
)


def write_png(path, color):
    """A small real PNG of one colour (matplotlib's writer)."""
    import matplotlib.image

    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, np.full((8, 8, 3), color, dtype=float))


def add_superevent_files(results):
    """EXTRA_FILES in S230101a's folder (PNGs real, the rest small text)."""
    folder = results / "superevents" / "S230101a"
    for name in EXTRA_FILES:
        if name.endswith(".png"):
            write_png(folder / name, (0.2, 0.4, 0.8))
        else:
            (folder / name).write_text(f"{name}\n")
    return folder


class Links(HTMLParser):
    """Every href and src of a page, and every id."""

    def __init__(self):
        super().__init__()
        self.links, self.ids, self.images = [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "id" in attrs:
            self.ids.add(attrs["id"])
        for key in ("href", "src"):
            if attrs.get(key):
                self.links.append(attrs[key])
        if tag == "img":
            self.images.append(attrs["src"])


def parse_page(path):
    parser = Links()
    parser.feed(Path(path).read_text())
    return parser


def test_classify_files_finds_notices_by_pattern():
    names = [
        "S1-2-Update.json",
        "S1-1-Preliminary.xml",
        "S1-1-Preliminary.json",
        "S1-1-EarlyWarning.json",
        "S1-3-Retraction.avro",
        "S2-1-Preliminary.json",  # another superevent's notice
        "S1-x-Preliminary.json",  # not a number
        "S1-1-Nonsense.json",  # not a notice type
        "Initial-circular.txt",
        "bayestar.multiorder.fits",
        "bayestar.fits.gz",
        "bayestar.png",
        "bayestar.volume.png",
        "em_bright.png",
        "dq.json",
        "p_astro.json",
    ]
    found = classify_files("S1", names)
    assert [(n.number, n.type) for n in found.notices] == [
        (1, "EarlyWarning"),
        (1, "Preliminary"),
        (2, "Update"),
        (3, "Retraction"),
    ]
    assert found.notices[1].files == {
        "json": "S1-1-Preliminary.json",
        "xml": "S1-1-Preliminary.xml",
    }
    assert found.circulars == ["Initial-circular.txt"]
    assert found.skymaps == ["bayestar.fits.gz", "bayestar.multiorder.fits"]
    assert found.skymap_plots == ["bayestar.png"]
    assert found.volume_plots == ["bayestar.volume.png"]
    assert found.other_plots == ["em_bright.png"]
    assert found.records == ["dq.json"]
    assert found.other_files == ["S1-1-Nonsense.json", "S1-x-Preliminary.json"] + [
        "S2-1-Preliminary.json",
        "p_astro.json",
    ]


def test_o4_notice_plots_are_sorted_without_a_map_beside_them():
    """O4 superevent folders hold per-notice plots and no sky map."""
    names = [
        "bayestar-2.png",
        "bayestar.volume-2.png",
        "cwb-1.png",
        "em_bright-2.png",
        "gstlal.p_astro-2.png",
    ]
    found = classify_files("S1", names)
    assert found.skymap_plots == ["bayestar-2.png", "cwb-1.png"]
    assert found.volume_plots == ["bayestar.volume-2.png"]
    assert found.other_plots == ["em_bright-2.png", "gstlal.p_astro-2.png"]


def test_page_links_every_file_of_a_superevent(mdc_tree):  # noqa: F811
    results, store = mdc_tree
    folder = add_superevent_files(results)
    report_dir = Path(report.write_report(results, store=store, quiet=True))
    page = parse_page(report_dir / "index.html")
    assert {"S230101a", "S230101b", "S230101c"} <= page.ids
    linked = {
        (report_dir / unquote(urlsplit(href).path)).resolve()
        for href in page.links
        if not href.startswith(("#", "data:"))  # data: the page's empty icon
    }
    every_file = {p.resolve() for p in folder.iterdir() if p.is_file()}
    assert every_file <= linked
    for path in linked:
        assert path.is_file(), path
    for href in page.links:
        if href.startswith("#"):
            assert href[1:] in page.ids
    # the all-sky plot is shown; the volume rendering and bar chart only linked
    assert "../superevents/S230101a/bayestar.png" in page.images
    assert not any("volume" in src or "p_astro" in src for src in page.images)
    text = (report_dir / "index.html").read_text()
    assert "notice 2 Update" in text
    assert '<table class="sortable">' in text
    assert "http://" not in text and "https://" not in text


def test_latency_axis_holds_every_point():
    """10% of the span above the highest point; below 0 only when needed."""
    assert latency_limits([20.0, 45.0, 30.0]) == pytest.approx((0.0, 49.5))
    assert latency_limits([-10.0, 30.0]) == pytest.approx((-14.0, 34.0))
    assert latency_limits([0.0]) == pytest.approx((0.0, 0.1))


@pytest.fixture
def distance_tree(tmp_path):
    """Two BNS injections in a one-pixel map with the distance ansatz
    r^2 N(r; 100, 20): their searched_prob_dist are marginal distance CDFs."""
    results, store = tmp_path / "results", tmp_path / "store"
    inside = pixel_center(HOT)
    times = (1_000_000_000.0, 1_000_010_000.0)
    superevents = zip(("S230101a", "S230101b"), ("G1", "G2"), times, strict=True)
    for sid, graceid, t_0 in superevents:
        add_superevent(results, sid, [graceid], preferred=graceid, t_0=t_0)
        write_pixel_map(
            results / "events" / graceid / "bayestar.fits.gz",
            {HOT: 1.0},
            distance=(100, 20),
        )
    write_injections(
        store / "injections.xml",
        [(0, times[0], *inside, 120.0), (1, times[1], *inside, 80.0)],
    )
    sources = [
        truth_source("s0", ["G1"], cls="BNS", simulation_id=0, time=times[0]),
        truth_source("s1", ["G2"], cls="BNS", simulation_id=1, time=times[1]),
    ]
    write_json(store / "truth.json", {"sources": sources})
    return results, store


def test_distance_and_volume_series_are_scored(distance_tree):
    results, store = distance_tree
    report_dir = Path(report.write_report(results, store=store, quiet=True))
    summary = json.loads((report_dir / "summary.json").read_text())
    expected = [
        radial_integral(100, 20, r) / radial_integral(100, 20, np.inf)
        for r in (120.0, 80.0)
    ]
    ks = stats.kstest(expected, "uniform")
    assert summary["ks_searched_prob_dist"]["n"] == 2
    assert summary["ks_searched_prob_dist"]["statistic"] == pytest.approx(
        ks.statistic, abs=3e-3
    )
    assert summary["ks_searched_prob_vol"]["n"] == 2
    vol = pd.read_csv(report_dir / "injections.tsv", sep="\t")["searched_prob_vol"]
    assert all(0 <= v <= 1 for v in vol)
    assert "figures/pp_plot.png" in summary["figures"]
    page = (report_dir / "index.html").read_text()
    assert "searched probability of distance" in page
    assert "searched probability of volume" in page


def test_parallel_crossmatch_gives_the_same_bytes(distance_tree, tmp_path):
    """-j 2 (ligo.skymap's process pool) writes what -j 1 writes."""
    results, store = distance_tree
    serial = report_files(report.write_report(results, store, jobs=1, quiet=True))
    parallel = report_files(report.write_report(results, store, jobs=2, quiet=True))
    assert serial == parallel
