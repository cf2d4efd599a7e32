"""The mock-data challenge generator (gwreplay.mdc), O3 era (``--era O3``).

The O4 era is tested in test_mdc_o4.py. One small store (6 superevents) is
generated per module, plus a second copy
for the reproducibility check; every other test reads them. Expected values
are worked out independently of the generator:

* state-vector words from gwcelery's bit layouts: LIGO GDS-CALIB_STATE_VECTOR
  bits 0, 1, 5, 6, 7, 8 -> 483; DMT-DQ_VECTOR bits 1, 2 -> 6; Virgo
  DQ_ANALYSIS_STATE_VECTOR 483 + bit 10 -> 1507;
* the network SNR of a coinc is the root-sum-square of its singles' SNRs;
* p-astro must call a loud gstlal candidate astrophysical and a candidate at
  the FAR threshold terrestrial (that is what the ranking data are for);
* POSIX cksum of "123456789" is 930766865 (as the ``cksum`` utility prints).
"""

import filecmp
import glob
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import pytest

from gwreplay.mdc import background, config, frames, population
from gwreplay.mdc.generate import generate_store

N_SUPEREVENTS = 6
SEED = 11
FAR_THRESHOLD = 1 / 3600
GOOD_WORDS = {
    "GDS-CALIB_STATE_VECTOR": 483,
    "DMT-DQ_VECTOR": 6,
    "DQ_ANALYSIS_STATE_VECTOR": 1507,
}
P_ASTRO_LIVETIME = 14394240  # ligo/p_astro/data/p_astro_livetime.json


@pytest.fixture(scope="module", autouse=True)
def quiet_bayestar():
    """ligo.skymap warns about PSD sampling on every read; keep the log readable."""
    logger = logging.getLogger("BAYESTAR")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """Two stores generated with the same seed (the second with two workers)."""
    first = tmp_path_factory.mktemp("mdc") / "store"
    second = tmp_path_factory.mktemp("mdc") / "store"
    generate_store(first, superevents=N_SUPEREVENTS, seed=SEED, era="O3")
    generate_store(second, superevents=N_SUPEREVENTS, seed=SEED, jobs=2, era="O3")
    return first, second


@pytest.fixture(scope="module")
def store(stores):
    return stores[0]


@pytest.fixture(scope="module")
def truth(store):
    return json.loads((store / "truth.json").read_text())


@pytest.fixture(scope="module")
def event_jsons(store):
    return {
        path.parent.name: json.loads(path.read_text())
        for path in sorted((store / "events").glob("*/event.json"))
    }


def _entries_by_kind(truth, kind):
    return [s for s in truth["sources"] if s["expected"]["dq_plan"]["kind"] == kind]


# -- reproducibility ---------------------------------------------------------------


def test_same_seed_gives_identical_bytes(stores):
    first, second = stores
    files_first = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    files_second = sorted(
        p.relative_to(second) for p in second.rglob("*") if p.is_file()
    )
    assert files_first == files_second
    assert len(files_first) > 20
    different = [
        str(rel)
        for rel in files_first
        if not filecmp.cmp(first / rel, second / rel, shallow=False)
    ]
    assert different == []


def test_sky_map_dates_come_from_the_replay_clock(store, event_jsons):
    """FITS DATE is the upload time of the file, never the wall clock."""
    from astropy.io import fits as astropy_fits
    from astropy.time import Time

    checked = 0
    for graceid, event in event_jsons.items():
        if event["pipeline"] != "CWB":
            continue
        header = astropy_fits.getheader(
            store / "events" / graceid / "skyprobcc_cWB.fits", 1
        )
        uploads = {u["filename"]: u["created"] for u in event["uploads"]}
        created = Time(header["DATE"], format="isot", scale="utc").gps
        assert created == pytest.approx(uploads["skyprobcc_cWB.fits"], abs=1.0)
        checked += 1
    assert checked


# -- the truth ---------------------------------------------------------------------


def test_truth_covers_every_event_once(store, truth, event_jsons):
    listed = [g for source in truth["sources"] for g in source["gw_events"]]
    assert sorted(listed) == sorted(event_jsons)
    assert len(listed) == len(set(listed))
    for source in truth["sources"]:
        expected = source["expected"]
        if expected["superevent"]:
            assert expected["final_preferred_event"] in source["gw_events"]
            assert expected["preferred_event_at_timeout"] in source["gw_events"]
        else:
            assert expected["final_preferred_event"] is None
    superevents = [s for s in truth["sources"] if s["expected"]["superevent"]]
    assert len(superevents) == N_SUPEREVENTS == truth["superevents"]


def test_every_scenario_is_covered(truth):
    sources = truth["sources"]
    for kind in ("veto", "inj", "other_detector", "no_frames"):
        assert _entries_by_kind(truth, kind), kind
    assert any(s["expected"]["late_upload"] for s in sources)
    assert any(
        e["pipeline"] == "CWB"
        for s in sources
        if s["class"] != "Terrestrial"
        for e in s["events"]
    )
    noise = [s for s in sources if s["class"] == "Terrestrial"]
    assert any(s["expected"]["superevent"] for s in noise)
    assert any(not s["expected"]["superevent"] for s in noise)
    assert {s["class"] for s in sources} >= {"BNS", "NSBH", "BBH", "Terrestrial"}
    dq = {s["expected"]["dq"] for s in sources if s["expected"]["superevent"]}
    assert dq == {"DQOK", "DQV", "unknown"}
    assert sum(s["expected"]["vetoed"] for s in sources) >= 1
    assert sum(s["expected"]["inj"] for s in sources) >= 1


def test_expected_preferred_events_follow_the_manager_rules(truth, event_jsons):
    """Worked from event.json alone: ignore FAR > 1/3600, CBC by SNR, bursts by FAR."""

    def publishable(event):
        trials, limit = {
            "CBC": (5.0, 1 / (60 * 86400)),
            "Burst": (4.0, 1 / (365 * 86400)),
        }[event["group"]]
        return (
            len(event["instruments"].split(",")) > 1 and trials * event["far"] <= limit
        )

    def key(event):
        if event["group"] == "CBC":
            rank = -event["extra_attributes"]["CoincInspiral"]["snr"]
        else:
            rank = event["far"]
        return (not publishable(event), event["group"] != "CBC", rank)

    for source in truth["sources"]:
        events = [event_jsons[g] for g in source["gw_events"]]
        significant = [e for e in events if e["far"] <= FAR_THRESHOLD]
        expected = source["expected"]
        assert expected["superevent"] == bool(significant)
        if not significant:
            continue
        deadline = min(e["created"] for e in significant) + 15.0
        early = [e for e in significant if e["created"] <= deadline]
        assert min(early, key=key)["graceid"] == expected["preferred_event_at_timeout"]
        assert min(significant, key=key)["graceid"] == expected["final_preferred_event"]
        first = min(e["created"] for e in significant)
        for event in significant:  # no upload lands ambiguously close to the timeout
            if event["created"] != first:
                assert abs(event["created"] - deadline) >= 1.0


def test_late_upload_is_louder_and_after_the_timeout(truth, event_jsons):
    late = [s for s in truth["sources"] if s["scenario"]["late_upload"]]
    assert late
    for source in late:
        expected = source["expected"]
        final = event_jsons[expected["final_preferred_event"]]
        early = event_jsons[expected["preferred_event_at_timeout"]]
        assert final["graceid"] != early["graceid"]
        first = min(
            event_jsons[g]["created"]
            for g in source["gw_events"]
            if event_jsons[g]["far"] <= FAR_THRESHOLD
        )
        assert final["created"] > first + 15.0
        snr = "extra_attributes"
        assert final[snr]["CoincInspiral"]["snr"] > early[snr]["CoincInspiral"]["snr"]


def test_noise_candidates_sit_near_the_far_threshold(truth, event_jsons):
    for source in truth["sources"]:
        if source["class"] != "Terrestrial":
            continue
        assert source["simulation_id"] is None and source["ra"] is None
        (graceid,) = source["gw_events"]
        far = event_jsons[graceid]["far"]
        assert 0.2 * FAR_THRESHOLD < far < 2 * FAR_THRESHOLD
        assert (far <= FAR_THRESHOLD) == source["expected"]["superevent"]


# -- event.json and uploads --------------------------------------------------------


def test_event_json_shape_and_uploads(store, event_jsons):
    from gwreplay.store import load_store

    loaded = load_store(store)
    assert loaded.problems == []
    assert sorted(loaded.events) == sorted(event_jsons)
    for graceid, event in event_jsons.items():
        assert graceid.startswith("G") and len(graceid) == 7
        assert event["search"] == "AllSky"
        folder = store / "events" / graceid
        present = sorted(p.name for p in folder.iterdir() if p.name != "event.json")
        uploads = {u["filename"]: u["created"] for u in event["uploads"]}
        assert sorted(uploads) == present
        assert all(created >= event["created"] for created in uploads.values())
        if event["group"] == "CBC":
            attributes = event["extra_attributes"]["CoincInspiral"]
            assert attributes["snr"] > 0 and attributes["mchirp"] > 0
            assert "coinc.xml" in present
            assert ("ranking_data.xml.gz" in present) == (event["pipeline"] == "gstlal")
        else:
            burst = event["extra_attributes"]["MultiBurst"]
            assert burst["duration"] > 0 and burst["central_freq"] > 0
            assert burst["snr"] > 0
            assert event["pipeline"] == "CWB" and event["group"] == "Burst"
    # Both PSD conventions occur: uploaded psd.xml.gz, and PSDs inside coinc.xml.
    with_psd_file = {
        g
        for g, e in event_jsons.items()
        if (store / "events" / g / "psd.xml.gz").exists()
    }
    cbc = {g for g, e in event_jsons.items() if e["group"] == "CBC"}
    assert with_psd_file and cbc - with_psd_file


def test_graceids_follow_upload_order(event_jsons):
    ordered = sorted(event_jsons.values(), key=lambda e: e["created"])
    numbers = [int(e["graceid"][1:]) for e in ordered]
    assert numbers == sorted(numbers)


# -- coinc.xml with ligo.skymap and p-astro ------------------------------------------


def test_every_coinc_loads_with_ligo_skymap(store, event_jsons):
    from ligo.skymap.io import events

    for graceid, event in event_jsons.items():
        if event["group"] != "CBC":
            continue
        folder = store / "events" / graceid
        psd_file = folder / "psd.xml.gz"
        if not psd_file.exists():
            psd_file = folder / "coinc.xml"
        source = events.ligolw.open(
            str(folder / "coinc.xml"), psd_file=str(psd_file), coinc_def=None
        )
        (candidate,) = source.values()
        singles = candidate.singles
        assert ",".join(s.detector for s in singles) == event["instruments"]
        network = math.sqrt(sum(s.snr**2 for s in singles))
        assert network == pytest.approx(
            event["extra_attributes"]["CoincInspiral"]["snr"]
        )
        for single in singles:
            assert single.snr >= 4.0
            assert single.psd is not None and len(single.psd.data.data) > 1000
            series = single.snr_series
            assert series is not None
            # The series peaks at the trigger's SNR and time.
            peak = np.argmax(np.abs(series.data.data))
            peak_time = float(series.epoch) + peak * series.deltaT
            assert abs(peak_time - single.time) <= 2 * series.deltaT
            assert np.abs(series.data.data).max() == pytest.approx(single.snr, rel=0.05)


def test_gstlal_candidates_read_by_p_astro(store, truth, event_jsons):
    from ligo.p_astro import computation, gstlal_utils
    from ligo.p_astro import data as p_astro_data

    from gwreplay.p_astro_compat import get_ln_f_over_b

    mean_values = json.loads(
        (
            Path(p_astro_data.__file__).parent
            / "H1L1V1-mean_counts-1126051217-61603201.json"
        ).read_text()
    )
    weights_path = (
        Path(p_astro_data.__file__).parent
        / "H1L1V1-weights-bins_686-1126051217-61603201.json"
    )
    activation_counts = json.loads(weights_path.read_text())
    classes = {g: s["class"] for s in truth["sources"] for g in s["gw_events"]}
    checked = set()
    for graceid, event in event_jsons.items():
        if event["pipeline"] != "gstlal":
            continue
        folder = store / "events" / graceid
        coinc_bytes = (folder / "coinc.xml").read_bytes()
        ranking_bytes = (folder / "ranking_data.xml.gz").read_bytes()
        likelihood, mass1, mass2, spin1z, spin2z, snr, far = (
            gstlal_utils._get_event_ln_likelihood_ratio_svd_endtime_mass(coinc_bytes)
        )
        assert far == pytest.approx(event["far"])
        assert snr == pytest.approx(event["extra_attributes"]["CoincInspiral"]["snr"])
        ln_f_over_b, lam_0 = get_ln_f_over_b(
            ranking_bytes, [likelihood], P_ASTRO_LIVETIME, 40
        )
        assert np.isfinite(ln_f_over_b).all() and lam_0 > 0
        values = computation.evaluate_p_astro_from_bayesfac(
            np.exp(ln_f_over_b[0]),
            dict(mean_values, counts_Terrestrial=lam_0),
            mass1,
            mass2,
            spin1z,
            spin2z,
            686,
            activation_counts,
        )
        if classes[graceid] == "Terrestrial":
            assert values["Terrestrial"] > 0.9
            checked.add("terrestrial")
        elif snr >= 12:
            assert values["Terrestrial"] < 0.01
            checked.add("astrophysical")
    assert checked == {"terrestrial", "astrophysical"}


def test_ranking_data_extends_to_very_loud_events(store, event_jsons):
    """ln f/b stays finite far beyond the bins' centre, as p-astro requires."""
    from gwreplay.p_astro_compat import get_ln_f_over_b

    graceid = next(g for g, e in event_jsons.items() if e["pipeline"] == "gstlal")
    ranking_bytes = (store / "events" / graceid / "ranking_data.xml.gz").read_bytes()
    ln_f_over_b, _ = get_ln_f_over_b(
        ranking_bytes, [20.0, 100.0, 1000.0, 10000.0], P_ASTRO_LIVETIME, 40
    )
    assert np.all(np.isfinite(ln_f_over_b))
    assert np.all(np.diff(ln_f_over_b) > 0)


# -- injections ----------------------------------------------------------------------


def test_injection_table_matches_truth(store, truth):
    from igwn_ligolw import lsctables
    from igwn_ligolw import utils as ligolw_utils

    xmldoc = ligolw_utils.load_filename(str(store / "injections.xml"))
    rows = lsctables.SimInspiralTable.get_table(xmldoc)
    sources = [s for s in truth["sources"] if s["simulation_id"] is not None]
    assert len(rows) == len(sources)
    by_id = {int(row.simulation_id): row for row in rows}
    for source in sources:
        row = by_id[source["simulation_id"]]
        assert float(row.time_geocent) == pytest.approx(
            source["geocent_end_time"], abs=1e-6
        )
        assert row.longitude == pytest.approx(source["ra"])
        assert row.latitude == pytest.approx(source["dec"])
        assert row.distance == pytest.approx(source["distance"], rel=1e-6)
        assert row.mass1 == pytest.approx(source["mass1"], rel=1e-6)
        assert row.mass1 == pytest.approx(
            source["source_mass1"] * (1 + source["redshift"]), rel=1e-6
        )
        limit = config.DEFAULTS["mdc_max_distance"][source["class"]]
        assert 0 < source["distance"] <= limit * (1 + 1e-9)


def test_candidates_arrive_after_their_merger(truth, event_jsons):
    for source in truth["sources"]:
        for graceid in source["gw_events"]:
            event = event_jsons[graceid]
            assert abs(event["gpstime"] - source["geocent_end_time"]) < 0.05
            assert event["created"] > source["geocent_end_time"]


# -- frames --------------------------------------------------------------------------


def _planned_frames(store, entry, ifo):
    plan = entry["expected"]["dq_plan"]
    name = f"{ifo[0]}-{ifo}_llhoft-{plan['frame_start']}-{plan['frame_duration']}.gwf"
    return store / "frames" / ifo / name


def test_frames_hold_planned_bad_bits_exactly(store, truth):
    from gwpy.timeseries import StateVector

    checked_bad = 0
    for entry in truth["sources"]:
        plan = entry["expected"]["dq_plan"]
        if not plan["frames"]:
            continue
        for ifo in truth["detectors"]:
            path = _planned_frames(store, entry, ifo)
            assert path.exists(), path
            channels = [
                c for c in config.DEFAULTS["llhoft_channels"] if c.startswith(ifo + ":")
            ]
            for channel in channels:
                vector = StateVector.read(str(path), channel)
                assert vector.sample_rate.value == 16
                assert float(vector.t0.value) == plan["frame_start"]
                good = GOOD_WORDS[channel.split(":")[1]]
                times = vector.times.value
                expected = np.full(len(vector), good, dtype=np.int64)
                for bad in plan["bad_bits"]:
                    if bad["channel"] == channel:
                        inside = (times >= bad["start"]) & (times < bad["end"])
                        assert inside.any()
                        expected[inside] &= ~(1 << bad["bit"])
                        checked_bad += 1
                np.testing.assert_array_equal(vector.value.astype(np.int64), expected)
    assert checked_bad >= 3


def test_no_frames_for_the_no_frames_candidate(store, truth):
    (entry, *_) = _entries_by_kind(truth, "no_frames")
    t = entry["geocent_end_time"]
    for ifo in truth["detectors"]:
        for path in glob.glob(str(store / "frames" / ifo / "*.gwf")):
            start, duration = os.path.basename(path)[:-4].split("-")[-2:]
            assert not (int(start) <= t < int(start) + int(duration))


def test_bad_bits_are_where_gwcelery_would_look(truth, event_jsons):
    """Veto/INJ bits sit in an active detector; the other-detector bit does not."""
    for kind in ("veto", "inj", "other_detector"):
        for entry in _entries_by_kind(truth, kind):
            (bad,) = entry["expected"]["dq_plan"]["bad_bits"]
            preferred = [
                entry["expected"]["preferred_event_at_timeout"],
                entry["expected"]["final_preferred_event"],
            ]
            active = [set(event_jsons[g]["instruments"].split(",")) for g in preferred]
            if kind == "other_detector":
                for graceid in entry["gw_events"]:
                    assert bad["ifo"] not in event_jsons[graceid]["instruments"]
                assert bad["bit_name"] == "OBSERVATION_INTENT"
            else:
                assert all(bad["ifo"] in ifos for ifos in active)
                t_0 = event_jsons[preferred[1]]["gpstime"]
                assert bad["start"] <= t_0 - 0.5 and bad["end"] >= t_0 + 0.5
                assert bad["bit_name"].endswith("_INJ") == (kind == "inj")


def test_frames_have_valid_checksums(store):
    import lalframe

    paths = sorted(store.glob("frames/*/*.gwf"))
    assert paths
    for path in paths:
        stream = lalframe.FrameUFrFileOpen(str(path), "r")
        assert lalframe.FrameUFileCksumValid(stream) == 1


def test_posix_cksum_matches_the_cksum_utility():
    # ``printf 123456789 | cksum`` -> 930766865; ``printf '' | cksum`` -> 4294967295
    assert frames.posix_cksum(b"123456789") == 930766865
    assert frames.posix_cksum(b"") == 4294967295


# -- cWB sky maps --------------------------------------------------------------------


def test_cwb_sky_maps_contain_the_truth(store, truth, event_jsons):
    import astropy_healpix as ah
    from astropy import units as u
    from ligo.skymap.io import fits
    from ligo.skymap.postprocess import find_greedy_credible_levels

    checked = 0
    for entry in truth["sources"]:
        for graceid in entry["gw_events"]:
            if event_jsons[graceid]["pipeline"] != "CWB":
                continue
            prob, meta = fits.read_sky_map(
                str(store / "events" / graceid / "skyprobcc_cWB.fits"), nest=True
            )
            assert prob.sum() == pytest.approx(1.0)
            assert meta["objid"] == graceid
            if entry["ra"] is None:
                continue
            nside = ah.npix_to_nside(len(prob))
            pixel = ah.lonlat_to_healpix(
                entry["ra"] * u.rad, entry["dec"] * u.rad, nside, order="nested"
            )
            level = find_greedy_credible_levels(prob)[pixel]
            assert level <= 0.9
            checked += 1
    assert checked >= 1


# -- the model -----------------------------------------------------------------------


def test_far_model_is_the_gaussian_chi_square_background():
    """Near threshold FAR ratios follow chi-square(4) survival of rho^2."""
    from scipy.stats import chi2

    far = background.far_from_snr(9.0, 9.0, FAR_THRESHOLD)
    assert far == pytest.approx(FAR_THRESHOLD)
    ratio = background.far_from_snr(10.0, 9.0, FAR_THRESHOLD) / far
    assert ratio == pytest.approx(chi2.sf(100.0, 4) / chi2.sf(81.0, 4), rel=1e-3)
    snr = background.snr_from_far(0.5 * FAR_THRESHOLD, 9.0, FAR_THRESHOLD)
    assert background.far_from_snr(snr, 9.0, FAR_THRESHOLD) == pytest.approx(
        0.5 * FAR_THRESHOLD
    )


def test_distances_are_uniform_in_comoving_volume():
    from astropy import units as u
    from astropy.cosmology import Planck15
    from scipy.stats import kstest

    rng = np.random.default_rng(3)
    limit = 1800.0
    draws = [population.draw_redshift(rng, limit)[0] for _ in range(2000)]
    z_max = max(draws)
    assert Planck15.luminosity_distance(z_max).to_value(u.Mpc) <= limit
    from astropy.cosmology import z_at_value

    z_limit = z_at_value(Planck15.luminosity_distance, limit * u.Mpc)
    v_max = Planck15.comoving_volume(z_limit).to_value(u.Mpc**3)
    fractions = Planck15.comoving_volume(np.array(draws)).to_value(u.Mpc**3) / v_max
    assert kstest(fractions, "uniform").pvalue > 0.01


# -- the O3 era is the store of the code before the O4 era ---------------------------

#: The last commit before the O4 era; its O3 store is the reference.
O3_REFERENCE_COMMIT = "027059b"


def _file_hashes(root):
    import hashlib

    return {
        str(path.relative_to(root)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(Path(root).rglob("*"))
        if path.is_file()
    }


def test_o3_era_is_byte_identical_to_the_reference_commit(stores, tmp_path):
    """--era O3 writes, file for file, what the code of 027059b writes.

    The reference code is taken from git (``git archive``) and run in a
    subprocess with this interpreter; skipped where the repository or that
    commit is not available (a shallow clone, a source tarball).
    """
    import shutil
    import subprocess
    import sys

    repo = Path(__file__).resolve().parent.parent
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    archive = subprocess.run(
        ["git", "-C", str(repo), "archive", O3_REFERENCE_COMMIT, "gwreplay", "config"],
        capture_output=True,
    )
    if archive.returncode != 0:
        pytest.skip(f"commit {O3_REFERENCE_COMMIT} not available: {archive.stderr!r}")
    code = tmp_path / "reference"
    code.mkdir()
    subprocess.run(["tar", "-x", "-C", str(code)], input=archive.stdout, check=True)
    reference = tmp_path / "store"
    script = (
        "import logging, sys; logging.getLogger('BAYESTAR').setLevel(logging.ERROR); "
        "from gwreplay.mdc.generate import generate_store; "
        f"generate_store(sys.argv[1], superevents={N_SUPEREVENTS}, seed={SEED})"
    )
    env = {**os.environ, "PYTHONPATH": str(code)}
    subprocess.run(
        [sys.executable, "-c", script, str(reference)], check=True, env=env, cwd=code
    )
    assert _file_hashes(stores[0]) == _file_hashes(reference)


# -- the command line ----------------------------------------------------------------


def test_command_line_mdc_mode(tmp_path):
    import argparse

    from gwreplay.mdc import command

    parser = argparse.ArgumentParser()
    command.build_parser(parser)
    out = tmp_path / "mdc"
    args = parser.parse_args(
        [
            str(out),
            *("--superevents", "2", "--seed", "5", "--mdc", "--mix", "bns=1"),
            *("--era", "O3"),
        ]
    )
    assert command.main(args) == 0
    truth = json.loads((out / "truth.json").read_text())
    graceids = [g for s in truth["sources"] for g in s["gw_events"]]
    assert graceids and all(g.startswith("M") for g in graceids)
    for graceid in graceids:
        event = json.loads((out / "events" / graceid / "event.json").read_text())
        assert event["search"] == "MDC"
    for source in truth["sources"]:
        if source["expected"]["superevent"]:
            assert source["expected"]["dq"] == "skipped"
            assert not source["expected"]["vetoed"]
        if source["class"] != "Terrestrial":
            assert source["class"] == "BNS"
    # A second run into the same store is refused rather than mixed in.
    assert command.main(args) == 1


@pytest.mark.parametrize(
    "text, error",
    [("bns=1,foo=2", "bad --mix item"), ("bns=0", "no class"), ("bns=-1", "negative")],
)
def test_bad_mix_is_refused(text, error):
    from gwreplay.mdc import command

    with pytest.raises(ValueError, match=error):
        command.parse_mix(text)


def test_psd_option():
    from gwreplay.mdc import command

    assert command.parse_psd("aLIGOZeroDetHighPower", ["H1", "L1"]) == {
        "H1": "aLIGOZeroDetHighPower",
        "L1": "aLIGOZeroDetHighPower",
    }
    assert command.parse_psd("V1=AdVDesignSensitivityP1200087", ["H1", "V1"]) == {
        "V1": "AdVDesignSensitivityP1200087"
    }
    with pytest.raises(ValueError, match="unknown PSD model"):
        command.parse_psd("NoSuchCurve", ["H1"])


def test_unknown_config_key_is_refused():
    with pytest.raises(KeyError, match="mdc_spacingg"):
        config.make_conf(mdc_spacingg=10)
