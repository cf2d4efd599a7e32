"""gstlal ranking data (``ranking_data.xml.gz``) built from the background model.

gstlal uploads, with each candidate, the probability densities of its
ranking statistic ln L under noise and signal and the histogram of zero-lag
(candidate) ln L, as ``lal.rate.BinnedLnPDF`` objects inside a LIGO_LW element
named ``gstlal_inspiral_likelihood:gstlal_inspiral_rankingstatpdf`` with a
``segments`` parameter (gstlal ``far.RankingStatPDF.to_xml``; read back by
``ligo.p_astro.gstlal_utils``). We build the three densities on gstlal's
binning (``ATanBins(0, 110, 6000)``) from :mod:`gwreplay.mdc.background`:

* noise: the chi-square(4) background with its glitch tail, integrated over
  each bin, scaled to the expected number of background coincidences in the
  livetime (so p-astro's FAR at ln L equals the model FAR);
* signal: the uniform-in-volume density ``y^-2.5``;
* zero lag: a Poisson draw of the noise counts thinned by gstlal's clustering
  ("extinction"), modelled as p-astro models it: survival probability
  ``exp(-rate * ccdf^m)`` with ``ccdf`` the noise survival fraction.

p-astro then finds loud candidates astrophysical and candidates near the FAR
threshold terrestrial, as gstlal's real ranking data does.
"""

import numpy as np
from igwn_ligolw import ligolw
from lal import rate

from ..atomic import gzip_bytes
from . import background, ligolw_out

#: gstlal's binning of ln L (far.RankingStatPDF).
LNL_BINS = (0.0, 110.0, 6000)
#: Name of the LIGO_LW element p-astro looks for.
RANKING_PDF_NAME = "gstlal_inspiral_likelihood:gstlal_inspiral_rankingstatpdf"
#: Extinction model: exponent m and y = rho^2/2 at which survival is 1/e.
EXTINCTION_EXPONENT = 2.0
EXTINCTION_Y = background.Y_MIN + 8.0


def _bin_edges_in_y(bins, offset):
    """Lower and upper bin edges in ``y = lnL + offset``, clipped to the support."""
    lower = np.clip(bins[0].lower() + offset, background.Y_MIN, np.inf)
    upper = np.clip(bins[0].upper() + offset, background.Y_MIN, np.inf)
    return lower, upper


def _integrate(survival, lower, upper):
    """Integral of a density over each bin from its survival function."""
    top = np.array([survival(y) if np.isfinite(y) else 0.0 for y in upper])
    bottom = np.array([survival(y) for y in lower])
    return np.clip(bottom - top, 0.0, None)


def noise_counts(bins, conf):
    """Expected background coincidences per bin over the ranking livetime."""
    lower, upper = _bin_edges_in_y(bins, conf["mdc_lnl_offset"])
    y_threshold = 0.5 * conf["mdc_cbc_snr_at_far_threshold"] ** 2
    rate_per_survival = conf["superevent_far_threshold"] / background.noise_survival(
        y_threshold
    )
    expected = rate_per_survival * conf["mdc_ranking_livetime"]
    return expected * _integrate(background.noise_survival, lower, upper)


def signal_counts(bins, conf):
    """Signal probability per bin (sums to 1)."""
    lower, upper = _bin_edges_in_y(bins, conf["mdc_lnl_offset"])
    counts = _integrate(background.signal_survival, lower, upper)
    return counts / counts.sum()


def extinction_survival(noise):
    """gstlal's clustering survival probability per bin (p-astro's model)."""
    ccdf = noise[::-1].cumsum()[::-1]
    ccdf = ccdf / ccdf[0]
    reference = background.noise_survival(EXTINCTION_Y) / background.noise_survival(
        background.Y_MIN
    )
    rate_eff = reference**-EXTINCTION_EXPONENT
    return np.exp(-rate_eff * ccdf**EXTINCTION_EXPONENT)


def ranking_stat_pdfs(conf, rng):
    """The noise, signal and zero-lag ``BinnedLnPDF`` objects."""
    bins = rate.NDBins((rate.ATanBins(*LNL_BINS),))
    noise = noise_counts(bins, conf)
    pdfs = {}
    for name, array in (
        ("noise_lr_lnpdf", noise),
        ("signal_lr_lnpdf", signal_counts(bins, conf)),
        (
            "zero_lag_lr_lnpdf",
            rng.poisson(noise * extinction_survival(noise)).astype(float),
        ),
    ):
        pdf = rate.BinnedLnPDF(bins)
        pdf.array[:] = array
        pdf.normalize()
        pdfs[name] = pdf
    return pdfs


def ranking_data_document(conf, rng):
    """The ranking-data LIGO-LW document (process row, PDFs, segments)."""
    xmldoc, root = ligolw_out.new_document()
    start = conf["mdc_start_gps"] - conf["mdc_ranking_livetime"]
    ligolw_out.append_process(
        root,
        "gstlal_inspiral_calc_rank_pdfs",
        start,
        "gstlalcbc",
        ifos=conf["mdc_detectors"],
    )
    element = root.appendChild(ligolw.LIGO_LW({"Name": RANKING_PDF_NAME}))
    for name, pdf in ranking_stat_pdfs(conf, rng).items():
        element.appendChild(pdf.to_xml(name))
    segments = f"{start:.1f}:{conf['mdc_start_gps']:.1f}"
    element.appendChild(ligolw.Param.from_pyvalue("segments", segments))
    return xmldoc


def ranking_data_bytes(conf, rng):
    """``ranking_data.xml.gz`` content (gzip with mtime 0)."""
    return gzip_bytes(ligolw_out.to_bytes(ranking_data_document(conf, rng)))
