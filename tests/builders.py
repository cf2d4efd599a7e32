"""Builders shared by the tests and the benchmarks: events, stores, sky maps,
the CLI runner, and the workflow's default settings.

Benchmarks import this as ``tests.builders`` (run them as ``python -m
bench.NAME`` from the checkout); the tests' conftest re-exports it.
"""

import functools
import inspect
import json
import os
import subprocess
import sys
from pathlib import Path

from gwreplay.config import defaults, module_settings

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "data" / "reference"

#: event.json of the real O2 event G211117 (times from its coinc.xml).
G211117_EVENT = {
    "graceid": "G211117",
    "pipeline": "gstlal",
    "group": "CBC",
    "search": "AllSky",
    "gpstime": 1186436412.173834723,
    "far": 5.176954877338635e-16,
    "instruments": "H1,L1,V1",
    "created": 1186436420.0,
    "extra_attributes": {"CoincInspiral": {"snr": 15.61787480055296}},
}

#: A cWB burst 1000 s after G211117: no annotations, its own sky map.
BURST_EVENT = {
    "graceid": "G000002",
    "pipeline": "CWB",
    "group": "Burst",
    "search": "AllSky",
    "gpstime": 1186437412.5,
    "far": 1e-10,
    "instruments": "H1,L1",
    "created": 1186437420.0,
    "extra_attributes": {
        "MultiBurst": {"duration": 0.05, "central_freq": 150.0, "snr": 12.0}
    },
}


def conf(module_name, **changes):
    """The settings ``module_name`` reads, from config/config.yaml, with changes."""
    return {**module_settings(defaults(), module_name), **changes}


def with_defaults(func, module_name, keys=None):
    """``func`` with those settings of ``module_name`` that it takes (or
    ``keys``) filled in from config/config.yaml; keywords given at the call
    still win."""
    params = inspect.signature(func).parameters.values()
    takes_any = keys is None and any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params
    )
    takes = set(keys) if keys is not None else {p.name for p in params}

    @functools.wraps(func)
    def call(*args, **changes):
        settings = {
            k: v for k, v in conf(module_name).items() if takes_any or k in takes
        }
        return func(*args, **{**settings, **changes})

    return call


#: Configuration every test replay runs with: the O4 volume plot at 40 dpi
#: (2.3 s instead of 49 s at the tool's default, which tests/test_o4_skymaps
#: draws once) and the all-sky plot at 40 dpi (0.5 s instead of 1.8 s at
#: ligo-skymap-plot's 300, which tests/test_skymap_plot draws).
TEST_CONFIG = ("volume_plot_dpi=40", "skymap_plot_dpi=40")

#: ``--config`` item: BAYESTAR localises the real G211117 on H1 alone. For
#: the tests about the workflow around BAYESTAR (jobs, alerts, clusters,
#: the watcher's trigger), not about its sky maps: the whole network costs
#: 67 s of BAYESTAR and an order-11 map (29 s to flatten, 19 s per O4 volume
#: plot at 40 dpi); H1 alone 15 s and an order-6 map (0.0 s, 1.3 s):
#: bench/network_cost.py. tests/test_bayestar.py and tests/test_bad_inputs.py
#: keep the whole network, test_reproducible and test_o4_replay two
#: detectors (docs/benchmarks.md, "Session 9").
ONE_DETECTOR_DISABLED = ("L1", "V1")
ONE_DETECTOR_BAYESTAR = (
    f"bayestar_disabled_detectors=[{','.join(ONE_DETECTOR_DISABLED)}]"
)


def with_test_config(snakemake_args):
    """``snakemake_args`` with :data:`TEST_CONFIG` added to its ``--config``
    (Snakemake keeps only the last ``--config`` option given)."""
    args = list(snakemake_args)
    if "--config" not in args:
        return [*args, "--config", *TEST_CONFIG]
    at = args.index("--config") + 1
    return [*args[:at], *TEST_CONFIG, *args[at:]]


def gwreplay(*args):
    """Run the gwreplay CLI as a user would; return (exit status, output).

    ``gwreplay run`` gets :data:`TEST_CONFIG` among its Snakemake arguments.
    """
    args = list(args)
    if args and args[0] == "run":
        if "--" in args:
            at = args.index("--") + 1
            args = [*args[:at], *with_test_config(args[at:])]
        else:
            args = [*args, "--", *with_test_config([])]
    proc = subprocess.run(
        [sys.executable, "-m", "gwreplay.cli", *args], capture_output=True, text=True
    )
    return proc.returncode, proc.stdout + proc.stderr


def gwreplay_run(store, results, *config, cores=2):
    """``gwreplay run STORE --results RESULTS --cores N`` with the ``--config``
    items ``config`` (and :data:`TEST_CONFIG`); (exit status, output)."""
    args = ["run", str(store), "--results", str(results), "--cores", str(cores)]
    return gwreplay(*args, *(["--", "--config", *config] if config else []))


def burst_event(graceid, gpstime, pipeline="CWB", **changes):
    """A significant burst event.json (FAR 1e-10 Hz) of ``pipeline`` (CWB, oLIB)."""
    extra = {
        "CWB": {"MultiBurst": {"duration": 0.05, "central_freq": 150.0, "snr": 12.0}},
        "oLIB": {"LalInferenceBurst": {"quality_mean": 10.0, "frequency_mean": 200.0}},
    }[pipeline]
    return dict(
        {
            "graceid": graceid,
            "pipeline": pipeline,
            "group": "Burst",
            "search": "AllSky",
            "gpstime": gpstime,
            "far": 1e-10,
            "instruments": "H1,L1",
            "created": gpstime + 10.0,
            "extra_attributes": extra,
        },
        **changes,
    )


def write_event(store, event, files=None):
    """Write an event folder: event.json and ``files`` {name: path or bytes}."""
    folder = Path(store) / "events" / event["graceid"]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "event.json").write_text(json.dumps(event, indent=2))
    for name, source in (files or {}).items():
        data = source if isinstance(source, bytes) else Path(source).read_bytes()
        (folder / name).write_bytes(data)
    return folder


def write_gaussian_skymap(path, ra_deg, dec_deg, sigma_deg=5.0, nside=64):
    """A flat-resolution sky map with a Gaussian blob, written by ligo.skymap."""
    import astropy_healpix as ah
    import numpy as np
    from astropy import units as u
    from ligo.skymap.io import fits

    hpx = ah.HEALPix(nside=nside, order="nested")
    lon, lat = hpx.healpix_to_lonlat(np.arange(hpx.npix))
    center_lon, center_lat = np.deg2rad(ra_deg), np.deg2rad(dec_deg)
    cos_sep = np.sin(lat.to_value(u.rad)) * np.sin(center_lat) + np.cos(
        lat.to_value(u.rad)
    ) * np.cos(center_lat) * np.cos(lon.to_value(u.rad) - center_lon)
    prob = np.exp((cos_sep - 1) / np.deg2rad(sigma_deg) ** 2)
    prob /= prob.sum()
    fits.write_sky_map(
        os.fspath(path),
        prob,
        nest=True,
        objid="burst",
        gps_time=1e9,
        gps_creation_time=1e9,
        creator="gwreplay-tests",
    )


#: Creation time stamped in :func:`gaussian_multiorder` maps.
MULTIORDER_CREATED_GPS = 1e9 + 60


def gaussian_multiorder(ra=150.0, dec=30.0, sigma=8.0, top_nside=4, rounds=3):
    """A multi-order map (orders 2..5) with distance layers, by ligo.skymap."""
    import numpy as np
    from ligo.skymap import distance, moc

    centre = np.deg2rad([ra, dec])

    def density(radec):
        ra_, dec_ = radec.T
        cos_sep = np.sin(dec_) * np.sin(centre[1]) + np.cos(dec_) * np.cos(
            centre[1]
        ) * np.cos(ra_ - centre[0])
        return np.exp((cos_sep - 1) / np.deg2rad(sigma) ** 2)

    table = moc.bayestar_adaptive_grid(density, top_nside=top_nside, rounds=rounds)
    prob = table["PROBDENSITY"] * moc.uniq2pixarea(table["UNIQ"])
    table["PROBDENSITY"] /= prob.sum()
    # Distance varies over the sky, so that the layers' agreement means something.
    mean = 150 + 100 * np.arange(len(table)) / len(table)
    mu, sigma_, norm = distance.moments_to_parameters(mean, 0.2 * mean)
    table["DISTMU"], table["DISTSIGMA"], table["DISTNORM"] = mu, sigma_, norm
    table.meta.update(
        objid="G1",
        instruments={"H1", "L1", "V1"},
        gps_time=1e9,
        gps_creation_time=MULTIORDER_CREATED_GPS,
        distmean=200.0,
        diststd=40.0,
    )
    return table
