"""``gwreplay report``: the scorecard of a finished replay, against the MDC truth.

A mock-data challenge is run to answer a few questions (issue 6): are the sky
maps calibrated and how large are they, were the right candidates vetoed and
labelled, was the right preferred event chosen at the orchestrator timeout, do
p_astro and HasNS/HasRemnant agree with the true source class, and how long
after merger would each notice have gone out. This module reads a results
folder (and, when given, the MDC store's ``injections.xml`` and
``truth.json``) and writes the answers to ``RESULTS/report/``: tab-separated
tables that load with :func:`pandas.read_csv`, PNG figures
(:mod:`gwreplay.report.plots`), ``summary.json`` and one ``index.html``
linking them. The format of every file is in ``docs/report.md``.

Sky-map statistics are those of ``ligo-skymap-stats``
(``ligo/skymap/tool/ligo_skymap_stats.py``): the multi-order sky map is read
with ``read_sky_map(moc=True)`` and passed with the injection's true position
to :func:`ligo.skymap.postprocess.crossmatch.crossmatch`, whose columns keep
the tool's names (``searched_area``, ``searched_prob``, ``offset``,
``area(90)``, ...). The map scored for an injection is the one the alert
carried: the sky map of the superevent's preferred event at the orchestrator
timeout (Singer & Price 2016, PRD 93, 024013, sect. IV, for the searched-area
and P-P diagnostics).

Without a store (a replay of real observing-run data) the report still lists
areas, latencies and outcomes, and says in ``summary.json`` and on the page
what it skipped and why. Nothing in the output depends on the wall clock, so
the same results give the same report bytes.
"""

from .build import build_report, write_report
from .command import build_parser, main
from .load import (
    EM_BRIGHT_KEYS,
    P_ASTRO_CLASSES,
    load_results,
    normalise_truth_source,
    read_injections,
    read_truth,
)
from .match import match_source
from .stats import ks_uniform, skymap_statistics
from .tables import confusion_table

__all__ = [
    "EM_BRIGHT_KEYS",
    "P_ASTRO_CLASSES",
    "build_parser",
    "build_report",
    "confusion_table",
    "ks_uniform",
    "load_results",
    "main",
    "match_source",
    "normalise_truth_source",
    "read_injections",
    "read_truth",
    "skymap_statistics",
    "write_report",
]
