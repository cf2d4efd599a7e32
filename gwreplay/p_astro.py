"""gstlal p_astro of one event, as gwcelery computed it in O3.

gwcelery's O3 task ``gwcelery/tasks/p_astro_gstlal.py`` (``compute_p_astro``)
read the event's ``coinc.xml`` and ``ranking_data.xml.gz`` and called the
``p-astro`` package (Kapadia et al. 2020, CQG 37 045007, arXiv:1903.06881):

1. ``gstlal_utils._get_event_ln_likelihood_ratio_svd_endtime_mass`` takes the
   event's ln likelihood ratio, template masses and spins, SNR and FAR from
   the coinc;
2. ``gstlal_utils._get_ln_f_over_b`` turns the ranking-statistic PDFs of
   ``ranking_data.xml.gz`` into the event's foreground/background density
   ratio ln(f/b) and the expected number of terrestrial triggers ``lam_0``
   above the threshold, with ``livetime = p_astro_livetime`` and
   ``extinct_zerowise_elems=40``;
3. ``computation.evaluate_p_astro_from_bayesfac`` splits f/b over the source
   categories with the template weights (``p_astro_weights_url``; the number
   of bins is read from that file's name) and the mean Poisson counts
   (``p_astro_url``, whose ``counts_Terrestrial`` is replaced by ``lam_0``).

When step 2 raised ``ValueError`` (NaN or infinite PDF ratios, or no zero-lag
counts as in O2-era ranking data), gwcelery logged it and fell back to
``gwcelery/tasks/p_astro_other.py`` (``compute_p_astro``): the "toy model"
Bayes factor f/b = (3 snr_star**3 / snr**4) / (far / far_star) with
snr_star = 8.5 and far_star = 1/(30 days), ``choose_snr`` with the FAR/SNR
thresholds of ``p_astro_thresh_url`` (which leaves a gstlal SNR unchanged),
``lam_0 = far_star * p_astro_livetime``, and mass-cut weights. We do the same
with the same p-astro functions and the data files p-astro ships in
``ligo/p_astro/data/`` (the very files gwcelery's URLs pointed to).

Two LIGO-LW dialects reach us. O2-era uploads use ``ilwd:char`` row IDs, which
igwn_ligolw's table classes (and therefore p-astro) refuse; we convert them in
memory with igwn_ligolw's own :func:`igwn_ligolw.utils.ilwd.strip_ilwdchar`,
exactly as its ``igwn_ligolw_no_ilwdchar`` script does, and hand p-astro the
converted bytes. Newer integer-ID files go to p-astro untouched.

The JSON written holds only the category probabilities; which method gave
them is logged (and returned by :func:`estimate_p_astro_gstlal`).
"""

import io
import json
import logging
import math
import os
import re
import warnings
from importlib import resources
from typing import NamedTuple

import numpy as np
from igwn_ligolw import ligolw
from igwn_ligolw import utils as ligolw_utils
from igwn_ligolw.utils import ilwd

from .atomic import write_json
from .errors import EventInputError
from .ids import validate_graceid
from .p_astro_compat import get_ln_f_over_b, load_untyped
from .xmlguard import screen_upload

with warnings.catch_warnings():
    # p-astro 1.0.2 imports the deprecated igwn_ligolw.param module.
    warnings.filterwarnings(
        "ignore", message="igwn_ligolw.param module is deprecated", category=UserWarning
    )
    from ligo.p_astro import computation as p_astro_computation
    from ligo.p_astro import gstlal_utils as p_astro_gstlal_utils

log = logging.getLogger(__name__)

# --- configuration (gwcelery's key names; O3 values in config/config.yaml) ----

#: The settings :func:`compute_p_astro_gstlal` takes.
CONFIG_KEYS = (
    "p_astro_livetime",
    "p_astro_url",
    "p_astro_weights_url",
    "p_astro_thresh_url",
    "p_astro_gstlal_extinct_zerowise_elems",
    "p_astro_snr_star",
    "p_astro_far_star",
)

PACKAGED_MEAN_COUNTS = "H1L1V1-mean_counts-1126051217-61603201.json"
PACKAGED_WEIGHTS = "H1L1V1-weights-bins_686-1126051217-61603201.json"
PACKAGED_THRESHOLDS = "H1L1V1-pipeline-far_snr-thresholds.json"

#: p_astro from gstlal's ranking-statistic PDFs (gwcelery ``p_astro_gstlal``).
METHOD_RANKING_STATISTIC = "ranking_statistic"
#: p_astro from the FAR/SNR approximation (gwcelery ``p_astro_other``).
METHOD_FAR_SNR = "far_snr"

#: Categories of p-astro 1.0.2 (no MassGap: its ``evaluate_p_astro_from_bayesfac``
#: has no Bayes factor for one, and the shipped mean counts have none).
MEAN_COUNT_KEYS = ("counts_BNS", "counts_NSBH", "counts_BBH", "counts_Terrestrial")

_RANKING_PDF_NAME = "gstlal_inspiral_likelihood:gstlal_inspiral_rankingstatpdf"


class PAstroResult(NamedTuple):
    """Category probabilities, the method that gave them, and why it was chosen."""

    probabilities: dict
    method: str
    fallback_reason: str | None = None


class CoincSummary(NamedTuple):
    """What p-astro reads from a gstlal coinc.xml, in p-astro's order."""

    ln_likelihood_ratio: float
    mass1: float
    mass2: float
    spin1z: float
    spin2z: float
    snr: float
    far: float


# --- reading the uploads -----------------------------------------------------


def _has_ilwdchar_ids(xmldoc):
    """True if any table of ``xmldoc`` has an O2-era ``ilwd:char`` column."""
    return any(
        column.Type == "ilwd:char"
        for column in xmldoc.getElementsByTagName(ligolw.Column.tagName)
    )


def read_modern_ligolw(graceid, path):
    """Screen ``path``, parse it, and return ``(xmldoc, bytes p-astro can read)``.

    The document is parsed with generic tables (an untyped content handler,
    :func:`gwreplay.p_astro_compat.load_untyped`, as ``igwn_ligolw_no_ilwdchar``
    needs them) so that an O2-era file with ``ilwd:char`` IDs loads at all.
    Such a file is converted with :func:`igwn_ligolw.utils.ilwd.strip_ilwdchar`
    and re-serialised; a file with integer IDs is returned byte for byte. Any
    failure raises :class:`EventInputError` naming the event and the file.
    """
    name = os.path.basename(path)
    screen_upload(graceid, path)
    with open(path, "rb") as f:
        data = f.read()
    try:
        xmldoc = load_untyped(data)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad upload
        raise EventInputError(
            graceid, name, f"not a readable LIGO-LW document: {exc}"
        ) from exc
    if not _has_ilwdchar_ids(xmldoc):
        return xmldoc, data
    try:
        ilwd.strip_ilwdchar(xmldoc)
        buffer = io.BytesIO()
        ligolw_utils.write_fileobj(xmldoc, buffer)
    except Exception as exc:  # noqa: BLE001
        raise EventInputError(
            graceid, name, f"cannot convert ilwd:char IDs to integers: {exc}"
        ) from exc
    log.info("%s: %s: converted ilwd:char row IDs to integers", graceid, name)
    return xmldoc, buffer.getvalue()


def _count_rows(xmldoc, table_name):
    """Number of rows of table ``table_name`` in ``xmldoc`` (None if absent)."""
    tables = [
        table
        for table in xmldoc.getElementsByTagName(ligolw.Table.tagName)
        if table.Name == table_name
    ]
    return sum(len(table) for table in tables) if tables else None


def _check_coinc_tables(graceid, name, xmldoc):
    """A gstlal coinc.xml holds one coinc_event, one coinc_inspiral and singles."""
    for table_name, wanted in (("coinc_event", 1), ("coinc_inspiral", 1)):
        rows = _count_rows(xmldoc, table_name)
        if rows is None:
            raise EventInputError(graceid, name, f"no {table_name} table")
        if rows != wanted:
            raise EventInputError(
                graceid, name, f"expected {wanted} {table_name} row, found {rows}"
            )
    if not _count_rows(xmldoc, "sngl_inspiral"):
        raise EventInputError(graceid, name, "no sngl_inspiral rows")


def read_coinc(graceid, coinc_path):
    """The event's ln L, template masses and spins, SNR and FAR, via p-astro.

    Uses ``gstlal_utils._get_event_ln_likelihood_ratio_svd_endtime_mass``, as
    gwcelery did, after checking the tables it unpacks so that a broken coinc
    is reported as such rather than as a p-astro traceback.
    """
    name = os.path.basename(coinc_path)
    xmldoc, coinc_bytes = read_modern_ligolw(graceid, coinc_path)
    _check_coinc_tables(graceid, name, xmldoc)
    try:
        values = p_astro_gstlal_utils._get_event_ln_likelihood_ratio_svd_endtime_mass(
            coinc_bytes
        )
        summary = CoincSummary(*(float(value) for value in values))
    except Exception as exc:  # noqa: BLE001 - p-astro raises assorted errors
        raise EventInputError(
            graceid, name, f"p-astro cannot read the event: {exc!r}"
        ) from exc
    for field, value in summary._asdict().items():
        if not math.isfinite(value):
            raise EventInputError(graceid, name, f"{field} is {value!r}")
    for field in ("mass1", "mass2", "snr"):
        if getattr(summary, field) <= 0:
            raise EventInputError(
                graceid, name, f"{field} is {getattr(summary, field)!r}, not positive"
            )
    if summary.far < 0:
        raise EventInputError(graceid, name, f"combined_far {summary.far!r} < 0")
    return summary


def read_ranking_data(graceid, ranking_data_path):
    """Return ranking_data.xml.gz as bytes p-astro can read, after checking it.

    The document must hold gstlal's ``gstlal_inspiral_rankingstatpdf`` (noise,
    signal and zero-lag ln L PDFs and the segments); we parse it with
    p-astro's own ``_parse_likelihood_control_doc`` so that a document of the
    wrong kind (a coinc passed as ranking data, say) is refused here instead
    of being mistaken for the ``ValueError`` on which gwcelery falls back.
    """
    name = os.path.basename(ranking_data_path)
    xmldoc, ranking_bytes = read_modern_ligolw(graceid, ranking_data_path)
    found = [
        element
        for element in xmldoc.getElementsByTagName(ligolw.LIGO_LW.tagName)
        if element.hasAttribute("Name") and element.Name == _RANKING_PDF_NAME
    ]
    if len(found) != 1:
        raise EventInputError(
            graceid,
            name,
            f"not gstlal ranking data: expected one LIGO_LW {_RANKING_PDF_NAME!r}, "
            f"found {len(found)}",
        )
    try:
        p_astro_gstlal_utils._parse_likelihood_control_doc(xmldoc)
    except Exception as exc:  # noqa: BLE001
        raise EventInputError(
            graceid, name, f"malformed ranking-statistic PDFs: {exc!r}"
        ) from exc
    return ranking_bytes


# --- the packaged (or configured) p-astro data files ----------------------------


def _load_json(path, packaged_name):
    """Load the JSON at ``path``, or p-astro's shipped file when ``path`` is None."""
    if path is None:
        source = resources.files("ligo.p_astro.data") / packaged_name
        return json.loads(source.read_text())
    with open(path) as f:
        return json.load(f)


def load_mean_counts(path=None):
    """Mean Poisson counts per category (gwcelery ``read_mean_values``)."""
    mean_values = _load_json(path, PACKAGED_MEAN_COUNTS)
    if sorted(mean_values) != sorted(MEAN_COUNT_KEYS):
        raise ValueError(
            f"mean counts file {path or PACKAGED_MEAN_COUNTS}: keys "
            f"{sorted(mean_values)}, expected {sorted(MEAN_COUNT_KEYS)}"
        )
    return {key: float(value) for key, value in mean_values.items()}


def weights_bin_count(path=None):
    """Number of template bins, read from the weights file name as gwcelery did."""
    filename = os.path.basename(path) if path is not None else PACKAGED_WEIGHTS
    match = re.search(r"bins_([0-9]+)", filename)
    if not match:
        raise ValueError(f"weights file name {filename!r} has no 'bins_<N>'")
    return int(match.group(1))


# --- the two methods -----------------------------------------------------------


def _plain_probabilities(p_astro_values):
    """p-astro's category values as plain Python floats, checked to be in [0, 1]."""
    probabilities = {key: float(value) for key, value in p_astro_values.items()}
    for key, value in probabilities.items():
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"p_astro[{key!r}] = {value!r} is not a probability")
    return probabilities


def ranking_statistic_p_astro(
    coinc,
    ranking_bytes,
    *,
    livetime,
    extinct_zerowise_elems,
    mean_values,
    weights,
    num_bins,
):
    """p_astro from gstlal's ranking-statistic PDFs (gwcelery ``p_astro_gstlal``).

    Raises ``ValueError`` where p-astro does (NaN/inf PDF ratios, no zero-lag
    counts): the caller then falls back as gwcelery did.
    """
    # log(0) and 0/0 in the PDFs are what p-astro's own NaN/inf checks report.
    # p-astro's np.trapz (gone in numpy 2.4) is numpy.trapezoid here, locally.
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_f_over_b, lam_0 = get_ln_f_over_b(
            ranking_bytes,
            np.array([coinc.ln_likelihood_ratio]),
            livetime,
            extinct_zerowise_elems=extinct_zerowise_elems,
        )
    mean_values = dict(mean_values, counts_Terrestrial=lam_0)
    return _plain_probabilities(
        p_astro_computation.evaluate_p_astro_from_bayesfac(
            np.exp(ln_f_over_b[0]),
            mean_values,
            coinc.mass1,
            coinc.mass2,
            coinc.spin1z,
            coinc.spin2z,
            num_bins,
            weights,
        )
    )


def far_snr_p_astro(coinc, *, livetime, snr_star, far_star, mean_values, thresholds):
    """p_astro from the FAR/SNR toy model (gwcelery ``p_astro_other``).

    f/b = (3 snr_star**3 / snr**4) / (far / far_star) (``get_f_over_b``);
    the terrestrial count is ``far_star * livetime``; categories by mass cuts.
    gwcelery called ``choose_snr`` with pipeline ``"gstlal"`` and no
    instruments, which keeps the event's SNR.
    """
    if coinc.far <= 0:
        raise ValueError(f"combined_far is {coinc.far!r}; FAR/SNR needs FAR > 0")
    snr = p_astro_computation.choose_snr(
        coinc.far, coinc.snr, "gstlal", None, thresholds
    )
    astro_bayesfac = p_astro_computation.get_f_over_b(
        coinc.far, snr, far_star, snr_star
    )
    mean_values = dict(mean_values, counts_Terrestrial=far_star * livetime)
    return _plain_probabilities(
        p_astro_computation.evaluate_p_astro_from_bayesfac(
            astro_bayesfac, mean_values, coinc.mass1, coinc.mass2
        )
    )


# --- public API --------------------------------------------------------------


def estimate_p_astro_gstlal(
    graceid,
    coinc_path,
    ranking_data_path,
    *,
    p_astro_livetime,
    p_astro_url,
    p_astro_weights_url,
    p_astro_thresh_url,
    p_astro_gstlal_extinct_zerowise_elems,
    p_astro_snr_star,
    p_astro_far_star,
):
    """p_astro of a gstlal event with the method used, as a :class:`PAstroResult`.

    Tries the ranking-statistic method; on p-astro's ``ValueError`` falls back
    to the FAR/SNR approximation, logging why (gwcelery O3
    ``p_astro_gstlal.compute_p_astro``). Bad uploads raise
    :class:`EventInputError` naming the event and the file.
    """
    validate_graceid(graceid)
    if not p_astro_livetime > 0:
        raise ValueError(f"p_astro_livetime must be positive, not {p_astro_livetime}")
    coinc = read_coinc(graceid, coinc_path)
    ranking_bytes = read_ranking_data(graceid, ranking_data_path)
    mean_values = load_mean_counts(p_astro_url)
    weights = _load_json(p_astro_weights_url, PACKAGED_WEIGHTS)
    num_bins = weights_bin_count(p_astro_weights_url)
    thresholds = _load_json(p_astro_thresh_url, PACKAGED_THRESHOLDS)
    try:
        probabilities = ranking_statistic_p_astro(
            coinc,
            ranking_bytes,
            livetime=p_astro_livetime,
            extinct_zerowise_elems=p_astro_gstlal_extinct_zerowise_elems,
            mean_values=mean_values,
            weights=weights,
            num_bins=num_bins,
        )
    except ValueError as exc:
        reason = f"{type(exc).__name__}: {exc}"
        log.warning(
            "%s: ranking-statistic p_astro failed (%s); using the FAR/SNR "
            "approximation, as gwcelery did",
            graceid,
            reason,
        )
    except Exception as exc:  # noqa: BLE001 - gwcelery's task failed here too
        raise EventInputError(
            graceid,
            os.path.basename(ranking_data_path),
            f"p-astro refused the ranking-statistic PDFs: {exc!r}",
        ) from exc
    else:
        log.info("%s: p_astro method: %s", graceid, METHOD_RANKING_STATISTIC)
        return PAstroResult(probabilities, METHOD_RANKING_STATISTIC)

    try:
        probabilities = far_snr_p_astro(
            coinc,
            livetime=p_astro_livetime,
            snr_star=p_astro_snr_star,
            far_star=p_astro_far_star,
            mean_values=mean_values,
            thresholds=thresholds,
        )
    except ValueError as exc:
        raise EventInputError(
            graceid, os.path.basename(coinc_path), f"FAR/SNR p_astro: {exc}"
        ) from exc
    log.info("%s: p_astro method: %s", graceid, METHOD_FAR_SNR)
    return PAstroResult(probabilities, METHOD_FAR_SNR, reason)


def compute_p_astro_gstlal(graceid, coinc_path, ranking_data_path, **conf):
    """Category probabilities {BNS, NSBH, BBH, Terrestrial} of a gstlal event.

    ``conf`` holds any of :data:`CONFIG_KEYS`; see :func:`estimate_p_astro_gstlal`.
    """
    return estimate_p_astro_gstlal(
        graceid, coinc_path, ranking_data_path, **conf
    ).probabilities


def write_p_astro(graceid, coinc_path, ranking_data_path, out_path, **conf):
    """Compute p_astro and write it atomically as canonical JSON to ``out_path``.

    This is ``RESULTS/events/<GraceID>/p_astro_gstlal.json``; returns the dict.
    """
    probabilities = compute_p_astro_gstlal(
        graceid, coinc_path, ranking_data_path, **conf
    )
    write_json(out_path, probabilities)
    return probabilities
