"""Coherent WaveBurst (cWB) candidates and their ``skyprobcc_cWB.fits`` sky maps.

cWB finds heavy binaries as short, band-limited bursts. For a source we
model its coherent network SNR as a fixed share of the CBC network SNR plus
unit Gaussian noise, its FAR with the same background shape as the CBC
searches (:mod:`gwreplay.mdc.background`) at its own SNR scale, its duration
as the chirp time from 32 Hz (lalsimulation's ``SimInspiralChirpTimeBound``)
and its central frequency near the innermost stable circular orbit,
``f_ISCO = c^3 / (6^1.5 pi G M)``.

The sky map is a von Mises-Fisher blob on a RING-ordered HEALPix grid with
width ``sigma = mdc_burst_sky_sigma_deg * 10 / SNR``, centred on a point offset
from the true position by an angle drawn from the blob's own distribution,
restricted to its 80% credible cap so that the truth lies within the map's
90% credible region (which the MDC checks). Files are written with
:func:`ligo.skymap.io.fits.write_sky_map` with the upload time of the replay
clock as the creation date, never the wall clock.
"""

import math

import lal
import lalsimulation
import numpy as np

from ..atomic import atomic_path
from . import background

#: Frequency (Hz) from which the burst duration is counted.
BURST_F_START = 32.0
#: Credible level of the cap within which the map centre is offset from truth.
CENTRE_OFFSET_LEVEL = 0.8


def f_isco(total_mass):
    """GW frequency (Hz) at the innermost stable circular orbit of mass ``M``."""
    return lal.C_SI**3 / (6**1.5 * math.pi * lal.G_SI * total_mass * lal.MSUN_SI)


def burst_duration(mass1, mass2, spin1z, spin2z):
    """Seconds the signal spends above :data:`BURST_F_START` (chirp time bound)."""
    duration = lalsimulation.SimInspiralChirpTimeBound(
        BURST_F_START, mass1 * lal.MSUN_SI, mass2 * lal.MSUN_SI, spin1z, spin2z
    )
    return float(min(max(duration, 0.02), 2.0))


def burst_far(snr, conf):
    """FAR (Hz) of a cWB candidate of coherent SNR ``snr``."""
    return background.far_from_snr(
        snr, conf["mdc_burst_snr_at_far_threshold"], conf["superevent_far_threshold"]
    )


def sky_sigma(snr, conf):
    """1-sigma width (radians) of the sky map of a burst of SNR ``snr``."""
    return math.radians(conf["mdc_burst_sky_sigma_deg"]) * 10.0 / max(snr, 1.0)


def burst_from_source(rng, source, cbc_network_snr, instruments, conf):
    """Parameters of cWB's candidate for ``source`` (dict), or its non-detection.

    Returns a dict with snr, far, gpstime, duration, central_freq, bandwidth,
    instruments and the sky-map centre and width.
    """
    snr = conf["mdc_burst_snr_efficiency"] * cbc_network_snr + rng.normal()
    total_mass = source["mass1"] + source["mass2"]
    duration = burst_duration(
        source["mass1"], source["mass2"], source["spin1z"], source["spin2z"]
    ) * rng.uniform(0.8, 1.2)
    central_freq = 1.2 * f_isco(total_mass) * rng.uniform(0.9, 1.1)
    sigma = sky_sigma(snr, conf)
    ra, dec = offset_direction(rng, source["ra"], source["dec"], sigma)
    return {
        "snr": float(snr),
        "far": burst_far(snr, conf),
        "gpstime": source["geocent_end_time"] + rng.uniform(-0.01, 0.01),
        "duration": float(duration),
        "central_freq": float(central_freq),
        "bandwidth": float(central_freq * rng.uniform(0.3, 0.8)),
        "instruments": list(instruments),
        "sky_ra": ra,
        "sky_dec": dec,
        "sky_sigma": sigma,
    }


def noise_burst(rng, gpstime, far, instruments, conf):
    """A terrestrial cWB candidate (a glitch) of false-alarm rate ``far``."""
    snr = background.snr_from_far(
        far, conf["mdc_burst_snr_at_far_threshold"], conf["superevent_far_threshold"]
    )
    central_freq = float(math.exp(rng.uniform(math.log(40.0), math.log(500.0))))
    sigma = sky_sigma(snr, conf)
    return {
        "snr": float(snr),
        "far": float(far),
        "gpstime": float(gpstime),
        "duration": float(rng.uniform(0.02, 0.3)),
        "central_freq": central_freq,
        "bandwidth": float(central_freq * rng.uniform(0.3, 0.8)),
        "instruments": list(instruments),
        "sky_ra": float(rng.uniform(0.0, 2 * math.pi)),
        "sky_dec": float(math.asin(rng.uniform(-1.0, 1.0))),
        "sky_sigma": sigma,
    }


def _unit_vector(ra, dec):
    return np.array(
        [math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)]
    )


def offset_direction(rng, ra, dec, sigma, level=CENTRE_OFFSET_LEVEL):
    """A direction offset from (ra, dec) by a vMF-distributed angle within ``level``."""
    kappa = 1.0 / sigma**2
    u = rng.uniform(0.0, level)
    cos_theta = 1.0 + math.log1p(-u * -math.expm1(-2.0 * kappa)) / kappa
    theta = math.acos(max(-1.0, min(1.0, cos_theta)))
    phi = rng.uniform(0.0, 2 * math.pi)
    centre = _unit_vector(ra, dec)
    helper = np.array([0.0, 0.0, 1.0]) if abs(centre[2]) < 0.9 else np.eye(3)[0]
    east = np.cross(helper, centre)
    east /= np.linalg.norm(east)
    north = np.cross(centre, east)
    moved = math.cos(theta) * centre + math.sin(theta) * (
        math.cos(phi) * east + math.sin(phi) * north
    )
    new_ra = math.atan2(moved[1], moved[0]) % (2 * math.pi)
    new_dec = math.asin(max(-1.0, min(1.0, moved[2])))
    return float(new_ra), float(new_dec)


def vmf_sky_map(ra, dec, sigma, nside):
    """RING-ordered HEALPix probabilities of a vMF blob centred on (ra, dec)."""
    import astropy.units as u
    from astropy_healpix import HEALPix

    grid = HEALPix(nside=nside, order="ring")
    lon, lat = grid.healpix_to_lonlat(np.arange(grid.npix))
    lon = lon.to_value(u.rad)
    lat = lat.to_value(u.rad)
    centre = _unit_vector(ra, dec)
    cosine = (
        np.cos(lat) * np.cos(lon) * centre[0]
        + np.cos(lat) * np.sin(lon) * centre[1]
        + np.sin(lat) * centre[2]
    )
    prob = np.exp((cosine - 1.0) / sigma**2)
    return prob / prob.sum()


def write_burst_sky_map(path, graceid, burst, created, conf):
    """Write cWB's ``skyprobcc_cWB.fits`` for ``burst`` atomically."""
    from ligo.skymap.io.fits import write_sky_map

    prob = vmf_sky_map(
        burst["sky_ra"],
        burst["sky_dec"],
        burst["sky_sigma"],
        conf["mdc_burst_skymap_nside"],
    )
    with atomic_path(path) as tmp:
        write_sky_map(
            tmp,
            prob,
            nest=False,
            objid=graceid,
            gps_time=burst["gpstime"],
            gps_creation_time=created,
            creator="cWB",
            origin="LIGO/Virgo/KAGRA",
            instruments=set(burst["instruments"]),
        )


def write_multiorder_sky_map(path, graceid, burst, created, conf):
    """Write the O4 ``cwb.multiorder.fits``: the same map as a multi-order table.

    Every pixel at the order of ``mdc_burst_skymap_nside`` (NESTED UNIQ
    indices ``4 nside^2 + ipix``, PROBDENSITY per steradian), which is a valid
    multi-order sky map (ligo.skymap's ``io.write_sky_map`` of a moc table).
    """
    import astropy.units as u
    from astropy.table import Table
    from astropy_healpix import HEALPix
    from ligo.skymap.io.fits import write_sky_map

    nside = conf["mdc_burst_skymap_nside"]
    prob = vmf_sky_map(burst["sky_ra"], burst["sky_dec"], burst["sky_sigma"], nside)
    grid = HEALPix(nside=nside, order="nested")
    nested = np.arange(grid.npix)
    ring = grid.nested_to_ring(nested)
    table = Table(
        {
            "UNIQ": 4 * nside**2 + nested,
            "PROBDENSITY": prob[ring] / grid.pixel_area.to_value(u.sr) / u.sr,
        }
    )
    with atomic_path(path) as tmp:
        write_sky_map(
            tmp,
            table,
            objid=graceid,
            gps_time=burst["gpstime"],
            gps_creation_time=created,
            creator="cWB",
            origin="LIGO/Virgo/KAGRA",
            instruments=set(burst["instruments"]),
        )


def multiburst_attributes(burst):
    """GraceDB ``extra_attributes.MultiBurst`` of a cWB candidate."""
    start = burst["gpstime"] - 0.5 * burst["duration"]
    start_seconds = math.floor(start)
    return {
        "MultiBurst": {
            "duration": round(burst["duration"], 6),
            "central_freq": round(burst["central_freq"], 6),
            "bandwidth": round(burst["bandwidth"], 6),
            "snr": round(burst["snr"], 6),
            "start_time": int(start_seconds),
            "start_time_ns": int((start - start_seconds) * 1e9),
            "ifos": ",".join(burst["instruments"]),
            "ligo_axis_ra": round(math.degrees(burst["sky_ra"]), 6),
            "ligo_axis_dec": round(math.degrees(burst["sky_dec"]), 6),
            "false_alarm_rate": None,
            "confidence": None,
        }
    }
