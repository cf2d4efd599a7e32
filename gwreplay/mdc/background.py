"""Significance model of the simulated searches: FAR and ln L from the SNR.

One model serves every CBC pipeline and gstlal's ranking data, so that the
FAR a pipeline reports, the likelihood ratio in its coinc.xml and the
background in ``ranking_data.xml.gz`` tell the same story.

Noise. For a coincidence of two detectors in Gaussian noise the squared
network SNR is chi-square distributed with four degrees of freedom (a complex
SNR per detector), so with ``y = rho^2 / 2`` the density is ``y exp(-y)`` and
the survival function ``(1 + y) exp(-y)``. Real backgrounds also have a
power-law tail from glitches; we add ``eta y^-6`` (survival ``eta y^-5 / 5``)
with ``eta`` small enough to matter only above ``rho ~ 12``. The tail keeps
the noise density positive (and ln f/b finite, which p-astro checks) for
arbitrarily loud events. The rate is normalised so that
``FAR(rho_threshold) = superevent_far_threshold``.

Signal. Sources uniform in volume have ``p(rho) ~ rho^-4`` (Schutz 2011,
CQG 28 125023), hence ``p(y) ~ y^-2.5``.

Ranking statistic. gstlal's ln L grows as ``rho^2 / 2`` for loud signals; we
take ``ln L = y - mdc_lnl_offset`` so that ln L is about 20 at network SNR 10,
as for real gstlal candidates (e.g. G322589: SNR 10.5, ln L 21.6).
"""

import math

from scipy import optimize

#: Smallest y = rho^2 / 2 of a coincidence: two detectors at SNR 4.
Y_MIN = 16.0
#: Weight of the glitch tail ``eta y^-6``: equals the Gaussian term at y ~ 80.
GLITCH_ETA = 1e-21


def noise_density(y):
    """Background density in ``y = rho^2 / 2`` (unnormalised)."""
    return y * math.exp(-y) + GLITCH_ETA * y**-6


def noise_survival(y):
    """Integral of :func:`noise_density` from ``y`` to infinity."""
    return (1.0 + y) * math.exp(-y) + GLITCH_ETA * y**-5 / 5.0


def signal_survival(y):
    """Integral of the signal density ``y^-2.5`` from ``y`` to infinity."""
    return y**-1.5 / 1.5


def far_from_snr(snr, snr_at_threshold, far_threshold):
    """False-alarm rate (Hz) of a candidate of network SNR ``snr``.

    ``FAR(snr_at_threshold) = far_threshold``; the FAR falls with the noise
    survival function above it.
    """
    y = max(0.5 * snr**2, Y_MIN)
    y_threshold = 0.5 * snr_at_threshold**2
    return far_threshold * noise_survival(y) / noise_survival(y_threshold)


def snr_from_far(far, snr_at_threshold, far_threshold):
    """Network SNR at which :func:`far_from_snr` equals ``far`` (its inverse)."""
    target = math.log(far / far_threshold)

    def excess(snr):
        return (
            math.log(far_from_snr(snr, snr_at_threshold, far_threshold) / far_threshold)
            - target
        )

    return optimize.brentq(excess, math.sqrt(2 * Y_MIN), 1e3, xtol=1e-10)


def ln_likelihood_ratio(snr, offset):
    """gstlal-like ranking statistic ln L of a candidate of network SNR ``snr``."""
    return 0.5 * snr**2 - offset
