"""The simulated sources: compact binaries uniform in comoving volume.

Each source is a BNS, NSBH or BBH with component masses and aligned spins
drawn uniformly in the configured ranges, a redshift drawn uniformly in
comoving volume of the Planck 2015 cosmology (Planck Collaboration 2016, A&A
594 A13; astropy's ``Planck15``) out to the class's distance limit, an
isotropic sky position and orientation, and the merger time of its slot.
Masses written to the injection table are detector-frame masses,
``m (1 + z)``, as the searches see them.
"""

import functools
import math

import numpy as np

SOURCE_CLASSES = ("BNS", "NSBH", "BBH")


@functools.cache
def _redshift_table(max_distance_mpc, points=512):
    """Redshifts and their comoving volumes out to luminosity distance ``max``."""
    import astropy.units as u
    from astropy.cosmology import Planck15, z_at_value

    z_max = float(z_at_value(Planck15.luminosity_distance, max_distance_mpc * u.Mpc))
    redshifts = np.linspace(0.0, z_max, points)
    volumes = Planck15.comoving_volume(redshifts).to_value(u.Mpc**3)
    return redshifts, volumes


def draw_redshift(rng, max_distance_mpc):
    """A redshift uniform in comoving volume within ``max_distance_mpc``.

    Returns ``(z, luminosity distance in Mpc)``.
    """
    import astropy.units as u
    from astropy.cosmology import Planck15

    redshifts, volumes = _redshift_table(float(max_distance_mpc))
    z = float(np.interp(rng.uniform(0.0, volumes[-1]), volumes, redshifts))
    distance = float(Planck15.luminosity_distance(z).to_value(u.Mpc))
    return z, distance


def draw_source_masses(rng, source_class, conf):
    """Source-frame component masses (heavier first) and aligned spins."""
    ns_mass = conf["mdc_ns_mass"]
    if source_class == "BNS":
        masses = rng.uniform(*ns_mass, size=2)
        spin_limits = (conf["mdc_ns_max_spin"], conf["mdc_ns_max_spin"])
    elif source_class == "NSBH":
        masses = np.array(
            [rng.uniform(*conf["mdc_nsbh_bh_mass"]), rng.uniform(*ns_mass)]
        )
        spin_limits = (conf["mdc_bh_max_spin"], conf["mdc_ns_max_spin"])
    elif source_class == "BBH":
        masses = rng.uniform(*conf["mdc_bbh_mass"], size=2)
        spin_limits = (conf["mdc_bh_max_spin"], conf["mdc_bh_max_spin"])
    else:
        raise ValueError(f"unknown source class {source_class!r}")
    order = np.argsort(masses)[::-1]
    masses = masses[order]
    spins = [rng.uniform(-limit, limit) for limit in spin_limits]
    spins = [spins[i] for i in order]
    return float(masses[0]), float(masses[1]), float(spins[0]), float(spins[1])


def draw_orientation(rng):
    """Isotropic sky position and orientation (radians)."""
    return {
        "ra": float(rng.uniform(0.0, 2 * math.pi)),
        "dec": float(math.asin(rng.uniform(-1.0, 1.0))),
        "inclination": float(math.acos(rng.uniform(-1.0, 1.0))),
        "polarization": float(rng.uniform(0.0, math.pi)),
        "coa_phase": float(rng.uniform(0.0, 2 * math.pi)),
    }


def draw_source(rng, source_class, geocent_end_time, conf, min_total_mass=None):
    """Draw one source of ``source_class`` merging at ``geocent_end_time``.

    ``min_total_mass`` (detector frame) rejects lighter draws: used for the
    sources that the burst search must see.
    """
    while True:
        mass1, mass2, spin1z, spin2z = draw_source_masses(rng, source_class, conf)
        z, distance = draw_redshift(rng, conf["mdc_max_distance"][source_class])
        if min_total_mass is None or (mass1 + mass2) * (1 + z) >= min_total_mass:
            break
    source = {
        "class": source_class,
        "mass1": mass1 * (1 + z),
        "mass2": mass2 * (1 + z),
        "source_mass1": mass1,
        "source_mass2": mass2,
        "spin1z": spin1z,
        "spin2z": spin2z,
        "redshift": z,
        "distance": distance,
        "geocent_end_time": float(geocent_end_time),
    }
    source.update(draw_orientation(rng))
    return source


def chirp_mass(mass1, mass2):
    """Chirp mass of two component masses."""
    return (mass1 * mass2) ** 0.6 / (mass1 + mass2) ** 0.2


def symmetric_mass_ratio(mass1, mass2):
    """Symmetric mass ratio eta."""
    return mass1 * mass2 / (mass1 + mass2) ** 2


def allocate_classes(n, mix):
    """Split ``n`` sources among classes by ``mix`` (largest remainder), in order."""
    total = sum(mix.get(name, 0.0) for name in SOURCE_CLASSES)
    if total <= 0:
        raise ValueError("the source mix must give some class a positive share")
    quotas = {name: n * mix.get(name, 0.0) / total for name in SOURCE_CLASSES}
    counts = {name: int(math.floor(quota)) for name, quota in quotas.items()}
    remainders = sorted(
        SOURCE_CLASSES, key=lambda name: (-(quotas[name] - counts[name]), name)
    )
    for name in remainders[: n - sum(counts.values())]:
        counts[name] += 1
    return [name for name in SOURCE_CLASSES for _ in range(counts[name])]
