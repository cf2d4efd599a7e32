"""Byte-identical reruns, and the provenance record that makes them checkable.

Two replays from scratch of the same store, into two different results
folders, must write the same bytes in every output file: FITS headers (no
creation date from the wall clock), JSON key order, XML dates, PNG metadata,
gzip headers, and no absolute path of either folder. The store holds the
real CBC event G211117 (BAYESTAR, on H1 and L1: an order-9 map, 27 s
where the whole network's order-11 map takes 66 s and 30 s to flatten;
source classification and, with the real gstlal ranking data of G322589,
p_astro), a cWB burst over the real H1 frame
file (state vectors are read), a cWB sky map without any date in its header,
and an oLIB burst with a gzipped sky map.

Not outputs, and so not compared: ``logs/`` (job logs carry wall-clock
durations), ``.snakemake/`` (Snakemake's state), ``.failures/`` (failure
records, none here) and the provenance digest cache.
"""

import csv
import hashlib
import io
import json
import os
import shutil
import sys

import pytest
import yaml
from builders import (
    G211117_EVENT,
    REPO,
    burst_event,
    gwreplay_run,
    write_event,
    write_gaussian_skymap,
)

from gwreplay.plan import make_plan
from gwreplay.provenance import CACHE_NAME, write_provenance

pytestmark = pytest.mark.slow

FRAME = "llhoft/H1/H-H1_O2_llhoft-1216577976-4.gwf"
#: Bookkeeping, not outputs: Snakemake's and gwreplay's own (the plan cache
#: and the stamp hold the results path and file stats).
NOT_OUTPUTS = (".snakemake", ".gwreplay", "logs", ".failures")
#: BAYESTAR on two of G211117's three detectors (see the module docstring).
TWO_DETECTORS = "bayestar_disabled_detectors=[V1]"


def build_store(store, reference):
    ref = reference / "G211117"
    write_event(
        store,
        dict(
            G211117_EVENT,
            uploads=[{"filename": "psd.xml.gz", "created": 1186436425.0}],
        ),
        {
            "coinc.xml": ref / "coinc.xml",
            "psd.xml.gz": ref / "psd.xml.gz",
            "ranking_data.xml.gz": reference / "G322589" / "ranking_data.xml.gz",
        },
    )
    (store / "frames" / "H1").mkdir(parents=True)
    shutil.copy(reference / FRAME, store / "frames" / "H1")
    folder = write_event(store, burst_event("G700001", 1216577978.0))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 100.0, 20.0)
    # A sky map with no DATE in its header: nothing may fill it from the clock.
    folder = write_event(store, burst_event("G700002", 1216590000.0))
    write_undated_skymap(folder / "skyprobcc_cWB.fits")
    folder = write_event(store, burst_event("G700003", 1216600000.0, "oLIB"))
    write_gaussian_skymap(folder / "LIB.fits", 300.0, -60.0)
    data = (folder / "LIB.fits").read_bytes()
    import gzip

    (folder / "LIB.fits.gz").write_bytes(gzip.compress(data))
    (folder / "LIB.fits").unlink()


def write_undated_skymap(path):
    """A flat sky map whose header has no DATE, DATE-OBS or creator."""
    from astropy.io import fits

    write_gaussian_skymap(path, 200.0, 0.0)
    with fits.open(path) as hdus:
        for key in ("DATE", "DATE-OBS", "MJD-OBS", "CREATOR", "OBJECT"):
            hdus[1].header.remove(key, ignore_missing=True)
        hdus.writeto(path, overwrite=True)


def outputs(results):
    """{relative path: bytes} of every output file under ``results``."""
    files = {}
    for path in sorted(results.rglob("*")):
        relative = path.relative_to(results)
        if not path.is_file() or relative.parts[0] in NOT_OUTPUTS:
            continue
        if relative.name == CACHE_NAME:
            continue
        files[relative.as_posix()] = path.read_bytes()
    return files


def replay(store, results):
    status, output = gwreplay_run(store, results, TWO_DETECTORS)
    assert status == 0, output
    return outputs(results)


@pytest.fixture(scope="module")
def two_replays(reference_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("reproducible")
    store = root / "store"
    build_store(store, reference_dir)
    first = replay(store, root / "first")
    second = replay(store, root / "elsewhere" / "second")
    return root, first, second


def test_every_output_is_byte_identical(two_replays):
    root, first, second = two_replays
    assert sorted(first) == sorted(second)
    differing = [name for name in first if first[name] != second[name]]
    assert differing == []


def test_the_comparison_covers_every_kind_of_output(two_replays):
    """So that the test above cannot pass on an empty or partial replay.

    The default (O4) policy: each of the four superevents is significant
    (the bursts' FAR 1e-10 Hz times the burst trials factor 3, G211117's
    5e-16 Hz times 7, are below 1/(365 d) and 1/(30 d)) and none has an ADV
    sign-off, so gwcelery 3.0.0 sends it two Preliminary notices: one at
    once, one after superevent_clean_up_timeout. Each notice is an alert
    JSON, its Avro, a circular draft and a plot of its sky map (with, for
    BAYESTAR's, its volume rendering and the em_bright chart).
    """
    _, first, _ = two_replays
    names = set(first)
    # O4's products (gwcelery 3.0.0 computes no p_astro for gstlal AllSky).
    assert {n for n in names if n.startswith("events/")} == {
        "events/G211117/bayestar.fits.gz",
        "events/G211117/bayestar.multiorder.fits",
        "events/G211117/em_bright.json",
    }
    rows = list(csv.DictReader(io.StringIO(first["alerts.csv"].decode())))
    assert len(rows) == 8
    assert all(row["status"] == "sent" for row in rows)
    assert all(row["alert_type"] == "Preliminary" for row in rows)
    assert all(row["significant"] == "true" for row in rows)
    superevents = {row["superevent_id"] for row in rows}
    assert len(superevents) == 4
    for sid in superevents:
        numbers = sorted(r["alert_number"] for r in rows if r["superevent_id"] == sid)
        assert numbers == ["1", "2"], sid
        folder = f"superevents/{sid}/"
        for name in ("superevent.json", "dq.json", "sequence.json", "alert.json"):
            assert folder + name in names
        for number in (1, 2):
            for suffix in ("json", "avro"):
                assert f"{folder}{sid}-{number}-Preliminary.{suffix}" in names
            assert f"{folder}preliminary-circular-{number}.txt" in names
            plots = sorted(
                n[len(folder) :]
                for n in names
                if n.startswith(folder) and n.endswith(f"-{number}.png")
            )
            # The CBC superevent's: BAYESTAR's map, its volume rendering and
            # the em_bright chart; a burst's: its own map.
            assert plots in (
                [
                    f"bayestar-{number}.png",
                    f"bayestar.volume-{number}.png",
                    f"em_bright-{number}.png",
                ],
                [f"skyprobcc_cWB-{number}.png"],
                [f"LIB-{number}.png"],
            ), plots
    assert sum(name.endswith("/bayestar.volume-2.png") for name in names) == 1


def test_no_results_path_leaks_into_outputs(two_replays):
    root, first, _ = two_replays
    for name, data in first.items():
        assert str(root).encode() not in data, name


def load_config():
    with open(REPO / "config" / "config.yaml") as f:
        return yaml.safe_load(f)


def test_provenance_is_reproducible_and_true(two_replays, tmp_path):
    """provenance.json: the same bytes for two results folders; digests that
    hashlib computes independently; the config hash of the canonical JSON."""
    root, _, _ = two_replays
    store = root / "store"
    config = dict(load_config(), store=str(store))
    paths = []
    for name in ("a", "b"):
        results = tmp_path / name
        plan = make_plan(store, results, dict(config, results=str(results)))
        path = results / "provenance.json"
        write_provenance(plan, dict(config, results=str(results)), path)
        paths.append(path)
    data = paths[0].read_bytes()
    assert data == paths[1].read_bytes()
    record = json.loads(data)

    settings = {k: v for k, v in config.items() if k not in ("store", "results")}
    canonical = json.dumps(settings, indent=2, sort_keys=True) + "\n"
    assert record["config_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    files = record["store"]["files"]
    expected = sorted(
        p.relative_to(store).as_posix()
        for folder in ("events", "superevents")
        for p in (store / folder).rglob("*")
        if p.is_file()
    )
    assert sorted(files) == expected and len(expected) == 10
    for name, entry in files.items():
        content = (store / name).read_bytes()
        assert entry == {
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
        }
    assert record["packages"]["ligo.skymap"] == "2.5.4"
    assert record["packages"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert str(root).encode() not in data


def test_provenance_cache_notices_a_changed_file(tmp_path, reference_dir):
    """A file rewritten with other bytes of the same size is hashed again;
    a file too large to be read is listed with its size and not read."""
    store = tmp_path / "store"
    folder = write_event(store, burst_event("G700001", 1216577978.0))
    write_gaussian_skymap(folder / "skyprobcc_cWB.fits", 100.0, 20.0)
    with open(folder / "LIB.fits.gz", "wb") as f:
        f.truncate(300 * 1024**2)  # sparse, above the 256 MiB read limit
    config = dict(load_config(), store=str(store), results=str(tmp_path / "r"))
    path = tmp_path / "r" / "provenance.json"
    plan = make_plan(store, tmp_path / "r", config)
    first = write_provenance(plan, config, path)
    assert (tmp_path / "r" / CACHE_NAME).exists()
    assert first["store"]["files"]["events/G700001/LIB.fits.gz"]["sha256"] is None
    skymap = folder / "skyprobcc_cWB.fits"
    data = bytearray(skymap.read_bytes())
    data[-1] ^= 0xFF
    skymap.write_bytes(bytes(data))
    second = write_provenance(plan, config, path)
    entry = second["store"]["files"]["events/G700001/skyprobcc_cWB.fits"]
    assert entry["sha256"] == hashlib.sha256(bytes(data)).hexdigest()
    assert (
        entry["sha256"]
        != first["store"]["files"]["events/G700001/skyprobcc_cWB.fits"]["sha256"]
    )
    os.unlink(tmp_path / "r" / CACHE_NAME)
    assert write_provenance(plan, config, path) == second


def load_bench():
    """bench/crash_rerun.py, the crash-and-rerun harness, as a module."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "crash_rerun", REPO / "bench" / "crash_rerun.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kill_9_then_rerun_gives_the_same_bytes(reference_dir, tmp_path):
    """Two kill -9 of a burst-only replay (a third and two thirds of the way
    through): every file left under its final name is whole, and the rerun
    ends with the uninterrupted run's bytes. bench/crash_rerun.py runs more
    trials, with BAYESTAR."""
    bench = load_bench()
    store, reference = tmp_path / "store", tmp_path / "reference"
    bench.build_store(store, bursts=2)
    status, duration, output = bench.run(store, reference)
    assert status == 0, output
    assert len(bench.output_files(reference)[0]) >= 15
    for number, fraction in enumerate((1 / 3, 2 / 3)):
        results = tmp_path / f"trial{number}"
        # On a busy machine a trial can finish before its kill (the
        # reference run took longer): start it again, killed earlier.
        delay = fraction * duration
        while not bench.run_and_kill(store, results, delay):
            assert delay > 1.0, "every trial finished before it was killed"
            shutil.rmtree(results)
            delay /= 2
        after_kill, present, _ = bench.check_after_kill(results, reference)
        assert after_kill == []
        status, _, output, _ = bench.rerun(store, results)
        assert status == 0, output
        final, expected, _ = bench.compare_results(results, reference)
        assert final == [] and expected >= 15
